import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createS3BlobStore, isBlobStoreError, parseS3Url } from "../../backend/index.js";
import { sha256 } from "../../kernel/index.js";
import { blobStoreContract } from "./blobs.contract.js";
import { startS3, TEST_BUCKET, type TestS3 } from "./s3.js";

/** S3's smallest part size, so the multi-part path runs on a few MB. */
const PART_SIZE = 5 * 1024 * 1024;

let s3: TestS3;
beforeAll(async () => {
  s3 = await startS3();
});
afterAll(async () => s3.close());

let run = 0;
blobStoreContract(
  "S3 (s3rver)",
  async () => {
    // A fresh prefix per test: the bucket is shared, the contents are not.
    const prefix = `run-${run++}/`;
    const store = createS3BlobStore({ bucket: TEST_BUCKET, prefix, endpoint: s3.endpoint, credentials: s3.credentials, partSize: PART_SIZE });
    return { store, contents: () => s3.keys(prefix), partSize: PART_SIZE };
  },
  async (h) => h.store.close(),
);

describe("S3 blob store", () => {
  it("keeps blobs under <prefix>sha256/<2 hex>/<hex>", async () => {
    const store = createS3BlobStore({ client: s3.client, bucket: TEST_BUCKET, prefix: "layout" });
    const hash = sha256("layout");
    await store.put(hash, [Buffer.from("layout")]);
    const hex = hash.slice(7);
    expect(await s3.keys("layout/")).toEqual([`layout/sha256/${hex.slice(0, 2)}/${hex}`]);
  });

  it.each(["../up", "/abs", "a//b", "a/./b"])("refuses the prefix %j", (prefix) => {
    let error: unknown;
    try {
      createS3BlobStore({ client: s3.client, bucket: TEST_BUCKET, prefix });
    } catch (e) {
      error = e;
    }
    expect(isBlobStoreError(error) && error.code).toBe("BLOB_CONFIG");
  });

  it("parses s3://bucket/prefix", () => {
    expect(parseS3Url("s3://ml-data/petrel/prod")).toEqual({ bucket: "ml-data", prefix: "petrel/prod/" });
    expect(parseS3Url("s3://ml-data")).toEqual({ bucket: "ml-data", prefix: "" });
  });
});
