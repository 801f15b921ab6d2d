/**
 * Literal: a value in transit. Small values travel inline as JSON; DataFrames,
 * files and directories travel as content-addressed blob references, so a
 * literal's hash never depends on where its bytes are stored.
 */

/** Blob formats: Arrow IPC stream for DataFrames, raw bytes for files, a tar-like manifest for dirs. */
export type BlobFormat = "arrow" | "file" | "dir";

/** A content-addressed reference to bytes held by a blob store. */
export interface BlobRef {
  /** `sha256:<hex>` of the bytes: the identity of the blob in every store. */
  hash: string;
  /** Byte length. */
  size: number;
  format: BlobFormat;
  /** Original file name, for files; shown to people, not part of the hash. */
  filename?: string;
}

/** A value in transit between nodes. */
export type Literal =
  | { kind: "none" }
  | { kind: "int"; value: string } // decimal string: int64 without losing precision in JSON
  | { kind: "float"; value: number | "NaN" | "Infinity" | "-Infinity" }
  | { kind: "string"; value: string }
  | { kind: "bool"; value: boolean }
  | { kind: "datetime"; value: string } // ISO-8601, UTC
  | { kind: "duration"; value: number } // milliseconds
  | { kind: "json"; value: unknown }
  | { kind: "list"; items: Literal[] }
  | { kind: "map"; entries: Record<string, Literal> } // maps and structs
  | { kind: "union"; variant: number; value: Literal }
  | { kind: "blob"; blob: BlobRef };

/** A named set of literals: the inputs or outputs of a node. */
export type LiteralMap = Record<string, Literal>;

/** Every blob a literal refers to, depth first. */
export function blobsOf(literal: Literal, into: BlobRef[] = []): BlobRef[] {
  switch (literal.kind) {
    case "blob":
      into.push(literal.blob);
      break;
    case "list":
      for (const item of literal.items) blobsOf(item, into);
      break;
    case "map":
      for (const v of Object.values(literal.entries)) blobsOf(v, into);
      break;
    case "union":
      blobsOf(literal.value, into);
      break;
    default:
      break;
  }
  return into;
}
