/**
 * Blob access for the type engine. Conversions are synchronous (a trivial task must
 * not pay for promise hops), so a store exposes synchronous reads of blobs that are
 * local; remote runtimes prefetch a literal's blobs before converting it.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { BlobFormat, BlobRef } from "../model/index.js";
import { BlobNotFoundError } from "./errors.js";
import { sha256 } from "./hash.js";

/** Content-addressed blob storage the type engine reads and writes synchronously. */
export interface BlobAccess {
  /** Stores bytes (a no-op when the content is already present) and returns their reference. */
  put(bytes: Uint8Array, format: BlobFormat, filename?: string): BlobRef;
  /** The bytes of a blob; throws BlobNotFoundError when absent. */
  get(ref: BlobRef): Uint8Array;
  /** Whether the content is present. */
  has(hash: string): boolean;
  /** Where files and directories are materialized for tasks that receive paths. */
  readonly workDir: string;
}

/** Blobs kept in memory: for tests and for runs that persist nothing. */
export function createMemoryBlobStore(workDir: string): BlobAccess {
  const blobs = new Map<string, Uint8Array>();
  return {
    workDir,
    put(bytes, format, filename) {
      const hash = sha256(bytes);
      if (!blobs.has(hash)) blobs.set(hash, bytes);
      return { hash, size: bytes.byteLength, format, ...(filename ? { filename } : {}) };
    },
    get(ref) {
      const bytes = blobs.get(ref.hash);
      if (!bytes) throw new BlobNotFoundError(ref.hash, "the in-memory blob store");
      return bytes;
    },
    has: (hash) => blobs.has(hash),
  };
}

/** Blobs recently written or read stay in memory, up to this many bytes. */
const DEFAULT_MEMORY_BYTES = 256 * 1024 * 1024;

/**
 * Blobs on the local filesystem at `<dir>/sha256/<2 hex>/<hex>`, written atomically
 * (temp file + rename) so a crash never leaves a truncated blob under its hash.
 */
export function createFsBlobStore(dir: string, options: { memoryBytes?: number } = {}): BlobAccess {
  const limit = options.memoryBytes ?? DEFAULT_MEMORY_BYTES;
  const recent = new Map<string, Uint8Array>();
  let recentBytes = 0;
  const remember = (hash: string, bytes: Uint8Array) => {
    if (bytes.byteLength > limit) return;
    recent.delete(hash);
    recent.set(hash, bytes);
    recentBytes += bytes.byteLength;
    for (const [k, v] of recent) {
      if (recentBytes <= limit) break;
      recent.delete(k);
      recentBytes -= v.byteLength;
    }
  };
  const pathOf = (hash: string) => {
    const hex = hash.slice("sha256:".length);
    return join(dir, "sha256", hex.slice(0, 2), hex);
  };
  return {
    workDir: join(dir, "work"),
    put(bytes, format, filename) {
      const hash = sha256(bytes);
      const path = pathOf(hash);
      if (!recent.has(hash) && !existsSync(path)) {
        mkdirSync(join(path, ".."), { recursive: true });
        const tmp = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
        writeFileSync(tmp, bytes);
        renameSync(tmp, path);
      }
      remember(hash, bytes);
      return { hash, size: bytes.byteLength, format, ...(filename ? { filename } : {}) };
    },
    get(ref) {
      const hit = recent.get(ref.hash);
      if (hit) return hit;
      let bytes: Uint8Array;
      try {
        bytes = readFileSync(pathOf(ref.hash));
      } catch {
        throw new BlobNotFoundError(ref.hash, dir);
      }
      // A blob edited or truncated on disk must never be served under its old hash.
      if (sha256(bytes) !== ref.hash) throw new BlobNotFoundError(ref.hash, `${dir} (content on disk does not match its hash)`);
      remember(ref.hash, bytes);
      return bytes;
    },
    // Durable presence: a blob deleted from disk is gone, even if this process still holds its bytes.
    has: (hash) => existsSync(pathOf(hash)),
  };
}
