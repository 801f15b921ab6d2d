/**
 * Values on the client side: inputs are converted to literals with the same type
 * engine tasks use (checked against the interface before anything is sent, their
 * DataFrames and files uploaded as blobs); literals come back as values, their blobs
 * downloaded on request. DataFrames are never downloaded until asked for.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  blobsOf,
  createMemoryBlobStore,
  createTypeEngine,
  isPetrelError,
  type BlobAccess,
  type BlobRef,
  type Literal,
  type LiteralMap,
  type LiteralType,
  type Variable,
} from "../kernel/index.js";
import { REMOTE_ERRORS, RemoteError } from "./errors.js";

const engine = createTypeEngine();
let workDir: string | undefined;
/** Where files and directories that come back are materialized. */
function filesDir(): string {
  return (workDir ??= mkdtempSync(join(tmpdir(), "petrel-remote-")));
}

/** How an output is handed over. */
export interface ValueOptions {
  /** DataFrames as danfo DataFrames (default) or Arrow tables. */
  as?: "danfo" | "arrow";
}

/**
 * Converts caller values to literals against an interface's inputs: unknown names
 * and values of the wrong type are RemoteErrors (INVALID_INPUTS) naming the input
 * and both types; omitted inputs are left to the server (launch plan and workflow
 * defaults). Returns the literals and the blobs to upload first.
 */
export function encodeInputs(values: Record<string, unknown>, inputs: Record<string, Variable>, where: string): { literals: LiteralMap; blobs: Map<string, Uint8Array> } {
  if (typeof values !== "object" || values === null || Array.isArray(values)) {
    throw new RemoteError(REMOTE_ERRORS.INVALID_INPUTS, `inputs of ${where} must be an object of input names to values`);
  }
  const store = createMemoryBlobStore(filesDir());
  const literals: LiteralMap = {};
  for (const [name, value] of Object.entries(values)) {
    const variable = Object.hasOwn(inputs, name) ? inputs[name] : undefined;
    if (!variable) {
      throw new RemoteError(REMOTE_ERRORS.INVALID_INPUTS, `${where} has no input ${JSON.stringify(name)} (inputs: ${Object.keys(inputs).join(", ") || "none"})`);
    }
    if (value === undefined) continue;
    try {
      literals[name] = engine.toLiteral(value, variable.type, { blobs: store, where: `input ${name} of ${where}` });
    } catch (e) {
      if (!isPetrelError(e)) throw e;
      throw new RemoteError(REMOTE_ERRORS.INVALID_INPUTS, e.message, { details: e.details, cause: e });
    }
  }
  const blobs = new Map<string, Uint8Array>();
  for (const literal of Object.values(literals)) for (const ref of blobsOf(literal)) blobs.set(ref.hash, store.get(ref));
  return { literals, blobs };
}

/** A literal's type when the interface does not say: read off the literal itself. */
export function typeOfLiteral(literal: Literal): LiteralType {
  switch (literal.kind) {
    case "list":
      return { kind: "list", items: literal.items[0] ? typeOfLiteral(literal.items[0]) : { kind: "none" } };
    case "map":
      return { kind: "struct", fields: Object.fromEntries(Object.entries(literal.entries).map(([k, v]) => [k, typeOfLiteral(v)])) };
    case "union":
      return typeOfLiteral(literal.value);
    case "blob":
      return literal.blob.format === "arrow" ? { kind: "dataframe" } : literal.blob.format === "dir" ? { kind: "dir" } : { kind: "file" };
    default:
      return { kind: literal.kind };
  }
}

/**
 * Converts a literal to the value tasks would receive: DataFrames as danfo (or
 * Arrow with `as: "arrow"`), files and directories as local paths. `fetch`
 * downloads a blob; every blob the literal holds is fetched first.
 */
export async function decodeLiteral(
  literal: Literal,
  type: LiteralType | undefined,
  fetch: (ref: BlobRef) => Promise<Uint8Array>,
  where: string,
  options: ValueOptions = {},
): Promise<unknown> {
  let value = literal;
  if (!type && value.kind === "union") value = value.value;
  const store: BlobAccess = createMemoryBlobStore(filesDir());
  for (const ref of blobsOf(value)) {
    if (!store.has(ref.hash)) store.put(await fetch(ref), ref.format, ref.filename);
  }
  const hints = options.as ? dataframeHints(type ?? typeOfLiteral(value), options.as) : undefined;
  try {
    return engine.toValue(value, type ?? typeOfLiteral(value), { blobs: store, where, ...(hints ? { hints } : {}) });
  } catch (e) {
    if (!isPetrelError(e)) throw e;
    throw new RemoteError(REMOTE_ERRORS.INVALID_REQUEST, `${where}: ${e.message}`, { cause: e });
  }
}

/** Value hints asking for every DataFrame inside `type` in one format. */
function dataframeHints(type: LiteralType, as: "danfo" | "arrow"): Record<string, unknown> {
  switch (type.kind) {
    case "dataframe":
      return { dataframe: as };
    case "list":
      return { items: dataframeHints(type.items, as) };
    case "map":
      return { values: dataframeHints(type.values, as) };
    case "optional":
      return dataframeHints(type.type, as);
    case "struct":
      return { fields: Object.fromEntries(Object.entries(type.fields).map(([k, v]) => [k, dataframeHints(v, as)])) };
    case "union":
      return { variants: type.variants.map((v) => dataframeHints(v, as)) };
    default:
      return {};
  }
}
