/**
 * Literal maps at rest: inline in the metadata store when small, as a JSON blob
 * (content-addressed, claimed by the project) when large, so a node with a
 * thousand-element list input does not bloat every row read of its execution.
 */
import { blobsOf, sha256, type LiteralMap } from "../../kernel/index.js";
import type { StoredLiterals } from "../store/index.js";
import type { ApiDeps } from "./context.js";
import { API_ERRORS, ApiError, badRequest } from "./errors.js";

/** Stores a literal map inline or as a blob, as its size decides. */
export async function storeLiterals(deps: ApiDeps, project: string, map: LiteralMap, by: string): Promise<StoredLiterals> {
  const text = JSON.stringify(map);
  if (Buffer.byteLength(text) <= deps.settings.inlineLiteralBytes) return { inline: map };
  const bytes = Buffer.from(text);
  const hash = sha256(bytes);
  await deps.blobs.put(hash, [bytes], { expectedSize: bytes.byteLength });
  await deps.store.addProjectBlob({ project, hash, size: bytes.byteLength, kind: "literals", createdAt: deps.clock.now(), createdBy: by });
  return { blob: { hash, size: bytes.byteLength } };
}

/** The literal map behind a stored value. */
export async function loadLiterals(deps: ApiDeps, stored: StoredLiterals): Promise<LiteralMap> {
  if ("inline" in stored) return stored.inline;
  const read = await deps.blobs.get(stored.blob.hash);
  if (!read) throw new ApiError(500, API_ERRORS.INTERNAL, `literal blob ${stored.blob.hash} is missing from the blob store`);
  const chunks: Buffer[] = [];
  for await (const chunk of read.body) chunks.push(chunk as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString("utf8")) as LiteralMap;
}

/** A blob's file name is shown to people and used when a task materializes the file: one plain path segment. */
function checkFilename(filename: string | undefined, field: string): void {
  if (filename === undefined) return;
  if (filename === "." || filename === ".." || /[/\\\0]/.test(filename) || /[\x00-\x1f\x7f]/.test(filename)) {
    throw badRequest(field, `${JSON.stringify(filename)} is not a plain file name (no "/", "\\", "..", control characters)`, API_ERRORS.INVALID_INPUTS);
  }
}

/**
 * Every blob a literal map refers to must be one the project holds, with the
 * size it claims, and a plain file name.
 */
export async function checkBlobRefs(deps: ApiDeps, project: string, map: LiteralMap, base: string): Promise<void> {
  for (const [name, literal] of Object.entries(map)) {
    for (const ref of blobsOf(literal)) {
      checkFilename(ref.filename, `${base}.${name}`);
      const held = await deps.store.getProjectBlob(project, ref.hash);
      if (!held) {
        throw badRequest(`${base}.${name}`, `blob ${ref.hash} has not been uploaded to project ${project}`, API_ERRORS.UNKNOWN_REFERENCE);
      }
      if (held.size !== ref.size) {
        throw badRequest(`${base}.${name}`, `blob ${ref.hash} has ${held.size} bytes, the literal says ${ref.size}`, API_ERRORS.INVALID_INPUTS);
      }
    }
  }
}
