/**
 * Blobs as files: `<root>/sha256/<2 hex>/<hex>`. An upload streams into a temp
 * file under `<root>/tmp`, hashing as it goes, and is renamed into place only
 * when its hash matches, so a reader never sees a partial or wrong blob under a
 * hash, and a rejected upload leaves nothing behind.
 */
import { randomUUID } from "node:crypto";
import { createReadStream, mkdirSync } from "node:fs";
import { mkdir, open, rename, rm, stat, unlink } from "node:fs/promises";
import { isAbsolute, join, resolve } from "node:path";
import { BLOB_ERRORS, BlobStoreError, blobHex, checkRange, type BlobBody, type BlobPutOptions, type BlobPutResult, type BlobReadResult, type BlobStore, type ByteRange } from "./types.js";
import { StreamVerifier, bytesOf } from "./verify.js";

/** Options of {@link createFileBlobStore}. */
export interface FileBlobStoreOptions {
  /** The root directory (created when missing). */
  root: string;
  /** Flush each blob to disk before it becomes visible (default true). */
  durable?: boolean;
}

/**
 * A blob store on the local filesystem.
 *
 * @example
 * ```ts
 * const blobs = createFileBlobStore({ root: "/var/lib/petrel/blobs" });
 * await blobs.put(sha256(bytes), [bytes]);
 * ```
 */
export function createFileBlobStore(options: FileBlobStoreOptions): BlobStore {
  if (typeof options.root !== "string" || options.root === "") {
    throw new BlobStoreError(BLOB_ERRORS.CONFIG, "blobs: the root directory must be a non-empty path", { field: "root" });
  }
  const root = isAbsolute(options.root) ? options.root : resolve(options.root);
  const tmpDir = join(root, "tmp");
  mkdirSync(tmpDir, { recursive: true });
  const durable = options.durable ?? true;
  const pathOf = (hash: string) => {
    const hex = blobHex(hash);
    return join(root, "sha256", hex.slice(0, 2), hex);
  };
  const sizeOf = async (path: string) => {
    try {
      return (await stat(path)).size;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw error;
    }
  };

  return {
    kind: "fs",

    async put(hash: string, body: BlobBody, opts: BlobPutOptions = {}): Promise<BlobPutResult> {
      const target = pathOf(hash);
      const verifier = new StreamVerifier(hash, opts);
      const tmp = join(tmpDir, `${randomUUID()}.part`);
      const file = await open(tmp, "wx");
      let closed = false;
      try {
        for await (const chunk of bytesOf(body)) {
          verifier.update(chunk);
          let written = 0;
          while (written < chunk.byteLength) {
            written += (await file.write(chunk, written, chunk.byteLength - written)).bytesWritten;
          }
        }
        verifier.finish();
        if (durable) await file.datasync();
        await file.close();
        closed = true;
        if ((await sizeOf(target)) !== undefined) {
          await unlink(tmp);
          return { hash, size: verifier.size, created: false };
        }
        await mkdir(join(target, ".."), { recursive: true });
        await rename(tmp, target);
        return { hash, size: verifier.size, created: true };
      } catch (error) {
        if (!closed) await file.close().catch(() => undefined);
        await rm(tmp, { force: true });
        throw error;
      }
    },

    async get(hash: string, range?: ByteRange): Promise<BlobReadResult | undefined> {
      const path = pathOf(hash);
      const size = await sizeOf(path);
      if (size === undefined) return undefined;
      checkRange(range, size);
      const end = range ? Math.min(range.end, size - 1) : undefined;
      const body = createReadStream(path, range ? { start: range.start, end, highWaterMark: 1 << 20 } : { highWaterMark: 1 << 20 });
      return range ? { size, range: { start: range.start, end: end! }, body } : { size, body };
    },

    localPath: (hash: string) => pathOf(hash),

    async stat(hash: string) {
      const size = await sizeOf(pathOf(hash));
      return size === undefined ? undefined : { size };
    },

    async delete(hash: string): Promise<boolean> {
      try {
        await unlink(pathOf(hash));
        return true;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "ENOENT") return false;
        throw error;
      }
    },

    async close() {},
  };
}
