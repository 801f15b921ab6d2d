import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { createFileBlobStore, isBlobStoreError } from "../../backend/index.js";
import { sha256 } from "../../kernel/index.js";
import { blobStoreContract } from "./blobs.contract.js";

/** Every file under `root`, relative to it. */
function files(root: string): string[] {
  return readdirSync(root, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => relative(root, join(e.parentPath, e.name)))
    .sort();
}

const roots = new Map<object, string>();

blobStoreContract(
  "filesystem",
  async () => {
    const root = mkdtempSync(join(tmpdir(), "petrel-blobs-"));
    const store = createFileBlobStore({ root });
    const h = { store, contents: async () => files(root) };
    roots.set(h, root);
    return h;
  },
  async (h) => {
    await h.store.close();
    rmSync(roots.get(h)!, { recursive: true, force: true });
  },
);

describe("filesystem blob store", () => {
  it("lays blobs out as <root>/sha256/<2 hex>/<hex>", async () => {
    const root = mkdtempSync(join(tmpdir(), "petrel-blobs-"));
    try {
      const store = createFileBlobStore({ root });
      const hash = sha256("layout");
      await store.put(hash, [Buffer.from("layout")]);
      const hex = hash.slice(7);
      expect(files(root)).toEqual([join("sha256", hex.slice(0, 2), hex)]);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it("refuses an empty root", () => {
    let error: unknown;
    try {
      createFileBlobStore({ root: "" });
    } catch (e) {
      error = e;
    }
    expect(isBlobStoreError(error) && error.code).toBe("BLOB_CONFIG");
  });
});
