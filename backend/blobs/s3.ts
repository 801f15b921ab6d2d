/**
 * Blobs in an S3-compatible bucket under `<prefix>sha256/<2 hex>/<hex>`. Uploads
 * stream with bounded memory: a blob that fits in one part is buffered, hashed
 * and sent with one PutObject only if its hash matches; a larger one goes up as
 * a multipart upload whose parts are hashed on the way and which is completed
 * only if the whole hash matches (otherwise aborted), so nothing is ever visible
 * under a hash its bytes do not have.
 */
import type { Readable } from "node:stream";
import type { S3Client, S3ClientConfig } from "@aws-sdk/client-s3";
import { BLOB_ERRORS, BlobStoreError, blobHex, checkRange, type BlobBody, type BlobPutOptions, type BlobPutResult, type BlobReadResult, type BlobStore, type ByteRange } from "./types.js";
import { StreamVerifier, bytesOf } from "./verify.js";

/** Options of {@link createS3BlobStore}. */
export interface S3BlobStoreOptions {
  bucket: string;
  /** Key prefix, e.g. `petrel/` (a trailing slash is added when missing). */
  prefix?: string;
  /** A configured client; otherwise one is made from `endpoint`, `region` and the AWS environment. */
  client?: S3Client;
  endpoint?: string;
  region?: string;
  /** Path-style URLs (`endpoint/bucket/key`), which S3-compatible servers usually need. Default: true when `endpoint` is set. */
  forcePathStyle?: boolean;
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** Multipart part size in bytes (default 8 MiB; S3's minimum is 5 MiB). */
  partSize?: number;
}

/** Part size of multipart uploads: also the most one upload buffers in memory. */
export const DEFAULT_S3_PART_SIZE = 8 * 1024 * 1024;
const MIN_PART_SIZE = 5 * 1024 * 1024;
const BUCKET_PATTERN = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** Checks a key prefix: relative, no `..` or empty segments; returns it with a trailing slash (or ""). */
export function normalizePrefix(prefix: string | undefined): string {
  if (prefix === undefined || prefix === "" || prefix === "/") return "";
  const trimmed = prefix.endsWith("/") ? prefix.slice(0, -1) : prefix;
  const segments = trimmed.split("/");
  if (trimmed.startsWith("/") || segments.some((s) => s === "" || s === "." || s === ".." || /[\0-\x1f\\]/.test(s))) {
    throw new BlobStoreError(BLOB_ERRORS.CONFIG, `blobs: prefix ${JSON.stringify(prefix)} must be a relative path without "..", "." or empty segments`, {
      field: "prefix",
    });
  }
  return `${trimmed}/`;
}

/** The SDK, loaded on first use: a server on local blobs never pays for it at startup. */
type Sdk = typeof import("@aws-sdk/client-s3");
let sdkPromise: Promise<Sdk> | undefined;
const loadSdk = (): Promise<Sdk> => (sdkPromise ??= import("@aws-sdk/client-s3"));

const isNotFound = (error: unknown) => {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e.name === "NotFound" || e.name === "NoSuchKey" || e.$metadata?.httpStatusCode === 404;
};

/**
 * A blob store in an S3-compatible bucket. Credentials come from `credentials`
 * or the usual AWS variables (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, ...).
 *
 * @example
 * ```ts
 * const blobs = createS3BlobStore({ bucket: "ml", prefix: "petrel/", endpoint: "http://127.0.0.1:9000" });
 * ```
 */
export function createS3BlobStore(options: S3BlobStoreOptions): BlobStore {
  if (!BUCKET_PATTERN.test(options.bucket)) {
    throw new BlobStoreError(BLOB_ERRORS.CONFIG, `blobs: ${JSON.stringify(options.bucket)} is not a valid bucket name`, { field: "bucket" });
  }
  const prefix = normalizePrefix(options.prefix);
  const partSize = Math.max(options.partSize ?? DEFAULT_S3_PART_SIZE, MIN_PART_SIZE);
  const ownsClient = !options.client;
  const config: S3ClientConfig = {
    region: options.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? "us-east-1",
    forcePathStyle: options.forcePathStyle ?? options.endpoint !== undefined,
    // S3-compatible servers vary in their support of the SDK's default CRC trailers; our own sha256 check is stronger anyway.
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
  };
  if (options.endpoint) config.endpoint = options.endpoint;
  if (options.credentials) config.credentials = options.credentials;
  let clientPromise: Promise<S3Client> | undefined;
  const sdkClient = (): Promise<S3Client> => (clientPromise ??= options.client ? Promise.resolve(options.client) : loadSdk().then((sdk) => new sdk.S3Client(config)));
  /** Runs `fn` with the SDK and the client, once they are loaded. */
  const withSdk = async <T>(fn: (sdk: Sdk, client: S3Client) => Promise<T>): Promise<T> => {
    const [sdk, client] = await Promise.all([loadSdk(), sdkClient()]);
    return fn(sdk, client);
  };
  const Bucket = options.bucket;
  const keyOf = (hash: string) => {
    const hex = blobHex(hash);
    return `${prefix}sha256/${hex.slice(0, 2)}/${hex}`;
  };

  const head = async (Key: string): Promise<number | undefined> => {
    try {
      return (await withSdk((s, c) => c.send(new s.HeadObjectCommand({ Bucket, Key })))).ContentLength ?? 0;
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  };

  return {
    kind: "s3",

    async put(hash: string, body: BlobBody, opts: BlobPutOptions = {}): Promise<BlobPutResult> {
      const Key = keyOf(hash);
      const verifier = new StreamVerifier(hash, opts);
      if ((await head(Key)) !== undefined) {
        // Already stored: the bytes still have to be what the caller claims.
        for await (const chunk of bytesOf(body)) verifier.update(chunk);
        verifier.finish();
        return { hash, size: verifier.size, created: false };
      }
      let buffered: Uint8Array[] = [];
      let bufferedBytes = 0;
      let uploadId: string | undefined;
      const parts: { ETag: string; PartNumber: number }[] = [];
      const flushPart = async () => {
        if (uploadId === undefined) {
          uploadId = (await withSdk((s, c) => c.send(new s.CreateMultipartUploadCommand({ Bucket, Key })))).UploadId;
          if (!uploadId) throw new Error("S3 did not return an upload id");
        }
        const PartNumber = parts.length + 1;
        const Body = Buffer.concat(buffered, bufferedBytes);
        buffered = [];
        bufferedBytes = 0;
        const { ETag } = await withSdk((s, c) => c.send(new s.UploadPartCommand({ Bucket, Key, UploadId: uploadId, PartNumber, Body, ContentLength: Body.byteLength })));
        parts.push({ ETag: ETag ?? "", PartNumber });
      };
      try {
        for await (const chunk of bytesOf(body)) {
          verifier.update(chunk);
          buffered.push(chunk);
          bufferedBytes += chunk.byteLength;
          if (bufferedBytes >= partSize) await flushPart();
        }
        verifier.finish();
        if (uploadId === undefined) {
          const Body = Buffer.concat(buffered, bufferedBytes);
          await withSdk((s, c) => c.send(new s.PutObjectCommand({ Bucket, Key, Body, ContentLength: Body.byteLength, ContentType: "application/octet-stream" })));
        } else {
          if (bufferedBytes > 0) await flushPart();
          await withSdk((s, c) => c.send(new s.CompleteMultipartUploadCommand({ Bucket, Key, UploadId: uploadId, MultipartUpload: { Parts: parts } })));
        }
        return { hash, size: verifier.size, created: true };
      } catch (error) {
        if (uploadId !== undefined) {
          // Best effort: the parts are invisible either way, since the upload is never completed.
          await withSdk((s, c) => c.send(new s.AbortMultipartUploadCommand({ Bucket, Key, UploadId: uploadId }))).catch(() => undefined);
        }
        throw error;
      }
    },

    async get(hash: string, range?: ByteRange): Promise<BlobReadResult | undefined> {
      const Key = keyOf(hash);
      let size: number | undefined;
      if (range) {
        size = await head(Key);
        if (size === undefined) return undefined;
        checkRange(range, size);
      }
      try {
        const out = await withSdk((s, c) => c.send(new s.GetObjectCommand({ Bucket, Key, ...(range ? { Range: `bytes=${range.start}-${range.end}` } : {}) })));
        const body = out.Body as Readable | undefined;
        if (!body) return undefined;
        if (!range) return { size: out.ContentLength ?? 0, body };
        const end = Math.min(range.end, size! - 1);
        return { size: size!, range: { start: range.start, end }, body };
      } catch (error) {
        if (isNotFound(error)) return undefined;
        throw error;
      }
    },

    async stat(hash: string) {
      const size = await head(keyOf(hash));
      return size === undefined ? undefined : { size };
    },

    async delete(hash: string): Promise<boolean> {
      const Key = keyOf(hash);
      if ((await head(Key)) === undefined) return false;
      await withSdk((s, c) => c.send(new s.DeleteObjectCommand({ Bucket, Key })));
      return true;
    },

    async close() {
      if (ownsClient && clientPromise) (await clientPromise).destroy();
    },
  };
}

/** Parses `s3://bucket/prefix` into bucket and prefix. */
export function parseS3Url(url: string): { bucket: string; prefix: string } {
  const m = /^s3:\/\/([^/]+)(?:\/(.*))?$/.exec(url);
  if (!m) throw new BlobStoreError(BLOB_ERRORS.CONFIG, `blobs: expected s3://bucket/prefix, got ${JSON.stringify(url)}`, { field: "blobs" });
  return { bucket: m[1]!, prefix: normalizePrefix(m[2]) };
}

