/** Content hashing: a literal's hash depends on its content (blob bytes), never on storage paths. */
import { createHash } from "node:crypto";
import { stableStringify, type Literal } from "../model/index.js";

/** `sha256:<hex>` of bytes or a string. */
export function sha256(data: Uint8Array | string): string {
  return `sha256:${createHash("sha256").update(data).digest("hex")}`;
}

/**
 * The content hash of a literal. Blobs contribute only their content hash and format
 * (not file names or locations), so equal data hashes equal wherever it is stored.
 */
export function literalHash(literal: Literal): string {
  return sha256(stableStringify(hashView(literal)));
}

function hashView(literal: Literal): unknown {
  switch (literal.kind) {
    case "blob":
      return { kind: "blob", hash: literal.blob.hash, format: literal.blob.format };
    case "list":
      return { kind: "list", items: literal.items.map(hashView) };
    case "map":
      return {
        kind: "map",
        entries: Object.fromEntries(Object.entries(literal.entries).map(([k, v]) => [k, hashView(v)])),
      };
    case "union":
      return { kind: "union", variant: literal.variant, value: hashView(literal.value) };
    default:
      return literal;
  }
}
