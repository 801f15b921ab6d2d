// The BlobStore contract: the filesystem and S3 implementations run this same
// suite through their own test files.
import { randomBytes } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { sha256 } from "../../kernel/index.js";
import { isBlobStoreError, type BlobStore } from "../../backend/index.js";

/** How a contract run gets a store, and lists what it holds (blobs and any leftovers of failed uploads). */
export interface BlobHarness {
  store: BlobStore;
  /** Everything stored, including temp files: a rejected upload must leave nothing here. */
  contents(): Promise<string[]>;
  /** Above this many bytes the implementation uploads in parts (S3 multipart); undefined when it does not. */
  partSize?: number;
}

async function readAll(body: AsyncIterable<Uint8Array | string>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of body) chunks.push(Buffer.from(c));
  return Buffer.concat(chunks);
}

async function* chunked(bytes: Uint8Array, size: number, failAfter?: number): AsyncIterable<Uint8Array> {
  for (let i = 0, n = 0; i < bytes.byteLength; i += size, n++) {
    if (failAfter !== undefined && n === failAfter) throw new Error("client went away");
    yield bytes.subarray(i, Math.min(bytes.byteLength, i + size));
  }
}

const codeOf = async (p: Promise<unknown>) => {
  const error = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  return isBlobStoreError(error) ? error.code : error;
};

export function blobStoreContract(name: string, open: () => Promise<BlobHarness>, close: (h: BlobHarness) => Promise<void>): void {
  describe(`BlobStore contract: ${name}`, () => {
    let h: BlobHarness;
    let store: BlobStore;
    beforeEach(async () => {
      h = await open();
      store = h.store;
    });
    afterEach(async () => close(h));

    it("stores bytes under their hash, streamed in chunks, and reads them back", async () => {
      const bytes = randomBytes(300_000);
      const hash = sha256(bytes);
      expect(await store.put(hash, chunked(bytes, 7_777))).toEqual({ hash, size: bytes.byteLength, created: true });
      expect(await store.stat(hash)).toEqual({ size: bytes.byteLength });
      const read = await store.get(hash);
      expect(read?.size).toBe(bytes.byteLength);
      expect((await readAll(read!.body)).equals(bytes)).toBe(true);
    });

    it("accepts the same content again without storing it twice", async () => {
      const bytes = Buffer.from("hello petrel");
      const hash = sha256(bytes);
      await store.put(hash, [bytes]);
      const before = await h.contents();
      expect(await store.put(hash, [bytes])).toEqual({ hash, size: bytes.byteLength, created: false });
      const [a, b] = await Promise.all([store.put(hash, [bytes]), store.put(hash, [bytes])]);
      expect([a.created, b.created]).toEqual([false, false]);
      expect(await h.contents()).toEqual(before);
    });

    it("stores an empty blob", async () => {
      const hash = sha256(new Uint8Array());
      expect(await store.put(hash, [])).toEqual({ hash, size: 0, created: true });
      expect((await readAll((await store.get(hash))!.body)).byteLength).toBe(0);
    });

    it("rejects bytes that do not match the declared hash and stores nothing", async () => {
      const bytes = randomBytes(1_000);
      const wrong = sha256("something else");
      expect(await codeOf(store.put(wrong, chunked(bytes, 100)))).toBe("BLOB_INTEGRITY");
      expect(await store.stat(wrong)).toBeUndefined();
      expect(await store.get(wrong)).toBeUndefined();
      expect(await h.contents()).toEqual([]);
    });

    it("rejects mismatching bytes of a large (multi-part) upload and stores nothing", async () => {
      const bytes = randomBytes((h.partSize ?? 1 << 20) + 123_456);
      const wrong = sha256(Buffer.concat([bytes, Buffer.from("!")]));
      expect(await codeOf(store.put(wrong, chunked(bytes, 1 << 16)))).toBe("BLOB_INTEGRITY");
      expect(await store.stat(wrong)).toBeUndefined();
      expect(await h.contents()).toEqual([]);
      // The same bytes under their own hash go through.
      const hash = sha256(bytes);
      expect(await store.put(hash, chunked(bytes, 1 << 16))).toMatchObject({ created: true, size: bytes.byteLength });
      expect((await readAll((await store.get(hash))!.body)).equals(bytes)).toBe(true);
    });

    it("keeps the stored blob intact when someone uploads wrong bytes under its hash", async () => {
      const bytes = Buffer.from("the real content");
      const hash = sha256(bytes);
      await store.put(hash, [bytes]);
      expect(await codeOf(store.put(hash, [Buffer.from("forged content!!")]))).toBe("BLOB_INTEGRITY");
      expect((await readAll((await store.get(hash))!.body)).toString()).toBe("the real content");
    });

    it("rejects uploads over the size limit, or of a different size than declared, storing nothing", async () => {
      const bytes = randomBytes(10_000);
      const hash = sha256(bytes);
      expect(await codeOf(store.put(hash, chunked(bytes, 1_000), { maxBytes: 9_999 }))).toBe("BLOB_TOO_LARGE");
      expect(await codeOf(store.put(hash, chunked(bytes, 1_000), { expectedSize: 9_000 }))).toBe("BLOB_SIZE_MISMATCH");
      expect(await codeOf(store.put(hash, chunked(bytes, 1_000), { expectedSize: 11_000 }))).toBe("BLOB_SIZE_MISMATCH");
      expect(await codeOf(store.put(hash, [], { expectedSize: 20_000, maxBytes: 10_000 }))).toBe("BLOB_TOO_LARGE");
      expect(await h.contents()).toEqual([]);
      expect(await store.put(hash, chunked(bytes, 1_000), { maxBytes: 10_000, expectedSize: 10_000 })).toMatchObject({ created: true });
    });

    it("stores nothing when the upload stream fails midway", async () => {
      const bytes = randomBytes(50_000);
      await expect(store.put(sha256(bytes), chunked(bytes, 10_000, 3))).rejects.toThrow("client went away");
      expect(await h.contents()).toEqual([]);
    });

    it("serves byte ranges", async () => {
      const bytes = Buffer.from("0123456789");
      const hash = sha256(bytes);
      await store.put(hash, [bytes]);
      const mid = await store.get(hash, { start: 2, end: 5 });
      expect(mid).toMatchObject({ size: 10, range: { start: 2, end: 5 } });
      expect((await readAll(mid!.body)).toString()).toBe("2345");
      const tail = await store.get(hash, { start: 7, end: 100 });
      expect((await readAll(tail!.body)).toString()).toBe("789");
      expect(await codeOf(store.get(hash, { start: 10, end: 12 }))).toBe("BLOB_BAD_RANGE");
    });

    it.each(["../etc/passwd", "/etc/passwd", "sha256:../../x", `sha256:${"A".repeat(64)}`, `sha256:${"a".repeat(63)}`, "a".repeat(64), `sha256:${"a".repeat(64)}/..`])(
      "rejects %j as a key on every operation",
      async (key) => {
        expect(await codeOf(store.put(key, [Buffer.from("x")]))).toBe("BLOB_INVALID_KEY");
        expect(await codeOf(store.get(key))).toBe("BLOB_INVALID_KEY");
        expect(await codeOf(store.stat(key))).toBe("BLOB_INVALID_KEY");
        expect(await codeOf(store.delete(key))).toBe("BLOB_INVALID_KEY");
        expect(await h.contents()).toEqual([]);
      },
    );

    it("deletes a blob, and says when there was none", async () => {
      const bytes = Buffer.from("bye");
      const hash = sha256(bytes);
      await store.put(hash, [bytes]);
      expect(await store.delete(hash)).toBe(true);
      expect(await store.delete(hash)).toBe(false);
      expect(await store.stat(hash)).toBeUndefined();
    });
  });
}
