/**
 * The blob store's contract: content-addressed bytes, streamed in and out.
 * Every key is a `sha256:<hex>` hash, so no caller-supplied string ever becomes
 * a path or an object key; writes hash the bytes as they stream and store
 * nothing unless the hash matches.
 */
import type { Readable } from "node:stream";
import { errorGuard, PetrelError } from "../../kernel/index.js";

/** What an upload reads: a stream of chunks (a Node Readable, a request body) or a list of buffers. */
export type BlobBody = AsyncIterable<Uint8Array> | Iterable<Uint8Array>;

/** Options of one upload. */
export interface BlobPutOptions {
  /** Reject (and store nothing) once more than this many bytes arrive. */
  maxBytes?: number;
  /** The declared length (Content-Length); a different length is rejected. */
  expectedSize?: number;
}

/** The outcome of an upload: `created` is false when the content was already stored. */
export interface BlobPutResult {
  hash: string;
  size: number;
  created: boolean;
}

/** A byte range, both ends inclusive (HTTP Range semantics). */
export interface ByteRange {
  start: number;
  end: number;
}

/** A blob being read. */
export interface BlobReadResult {
  /** Size of the whole blob. */
  size: number;
  /** The range served, when one was asked for. */
  range?: ByteRange;
  body: Readable;
}

/** Content-addressed blob storage: local files or an S3-compatible bucket. */
export interface BlobStore {
  readonly kind: "fs" | "s3";
  /**
   * Streams `body` into the store under `hash`, hashing as it goes. Bytes that do
   * not hash to `hash`, exceed `maxBytes` or differ from `expectedSize` are
   * rejected with {@link BlobStoreError} and nothing is stored.
   */
  put(hash: string, body: BlobBody, options?: BlobPutOptions): Promise<BlobPutResult>;
  /** Streams a blob (or a range of it); `undefined` when absent. */
  get(hash: string, range?: ByteRange): Promise<BlobReadResult | undefined>;
  /** The blob's size, or `undefined` when absent. */
  stat(hash: string): Promise<{ size: number } | undefined>;
  /**
   * Where the blob's bytes sit on this machine's filesystem (file stores only), so
   * a client on the same host can read them directly instead of over HTTP.
   */
  localPath?(hash: string): string;
  /** Removes a blob; false when it was absent. */
  delete(hash: string): Promise<boolean>;
  close(): Promise<void>;
}

/** A blob store refused a key or an upload. */
export class BlobStoreError extends PetrelError {
  override name = "BlobStoreError";
}
/** Guard for BlobStoreError across realms. */
export const isBlobStoreError = errorGuard<BlobStoreError>("BlobStoreError");

/** Stable codes of {@link BlobStoreError}. */
export const BLOB_ERRORS = {
  /** The key is not `sha256:<64 hex>` (paths, `..`, absolute names are never keys). */
  INVALID_KEY: "BLOB_INVALID_KEY",
  /** The bytes do not hash to the declared key. */
  INTEGRITY: "BLOB_INTEGRITY",
  /** More bytes than allowed. */
  TOO_LARGE: "BLOB_TOO_LARGE",
  /** A different number of bytes than declared. */
  SIZE_MISMATCH: "BLOB_SIZE_MISMATCH",
  /** A range outside the blob. */
  BAD_RANGE: "BLOB_BAD_RANGE",
  /** A store option (directory, bucket, prefix) is invalid. */
  CONFIG: "BLOB_CONFIG",
} as const;

/** The only form a blob key takes. */
export const BLOB_HASH_PATTERN = /^sha256:[0-9a-f]{64}$/;

/** The hex digest of a valid key; throws INVALID_KEY naming the key otherwise. */
export function blobHex(hash: string, field = "hash"): string {
  if (typeof hash !== "string" || !BLOB_HASH_PATTERN.test(hash)) {
    const shown = typeof hash === "string" ? JSON.stringify(hash.length > 80 ? `${hash.slice(0, 80)}…` : hash) : String(hash);
    const why = typeof hash === "string" && (hash.includes("..") || hash.startsWith("/") || hash.includes("\\")) ? " (paths are never blob keys)" : "";
    throw new BlobStoreError(BLOB_ERRORS.INVALID_KEY, `${field}: ${shown} is not a blob key; expected sha256:<64 lowercase hex>${why}`, { field, hash });
  }
  return hash.slice("sha256:".length);
}

/** Checks a range against a blob's size; throws BAD_RANGE otherwise. */
export function checkRange(range: ByteRange | undefined, size: number): void {
  if (!range) return;
  const ok = Number.isSafeInteger(range.start) && Number.isSafeInteger(range.end) && range.start >= 0 && range.end >= range.start && range.start < size;
  if (!ok) {
    throw new BlobStoreError(BLOB_ERRORS.BAD_RANGE, `range ${range.start}-${range.end} is outside the blob's ${size} bytes`, { ...range, size });
  }
}
