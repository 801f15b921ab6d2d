/**
 * The blob store: content-addressed bytes (bundles, DataFrames as Arrow IPC,
 * files, large literal maps) on the local filesystem or in an S3-compatible
 * bucket, streamed and integrity-checked.
 *
 * @example
 * ```ts
 * import { createFileBlobStore } from "petrel/backend";
 * import { sha256 } from "petrel";
 * const blobs = createFileBlobStore({ root: "/tmp/petrel-blobs" });
 * const bytes = new TextEncoder().encode("hello");
 * await blobs.put(sha256(bytes), [bytes]);           // { created: true, size: 5 }
 * await blobs.put(sha256("other"), [bytes]);         // throws BlobStoreError BLOB_INTEGRITY, stores nothing
 * ```
 */
export * from "./types.js";
export { createFileBlobStore, type FileBlobStoreOptions } from "./fs.js";
export { createS3BlobStore, parseS3Url, normalizePrefix, DEFAULT_S3_PART_SIZE, type S3BlobStoreOptions } from "./s3.js";
