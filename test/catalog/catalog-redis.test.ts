import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "@keyv/redis";
import { afterAll, describe, expect, it, onTestFinished } from "vitest";
import { createFileBlobStore, openCatalog } from "../../backend/index.js";
import { computeCacheKey, t, task } from "../../kernel/index.js";
import { dropPrefixes, newPrefix, REDIS_URL, redisUnavailable } from "../backend/redis.js";
import { catalogContract } from "./catalog.contract.js";

const unavailable = await redisUnavailable();

if (unavailable) {
  describe.skip(`Catalog contract: Redis — skipped: ${unavailable}`, () => {
    it("needs Redis", () => undefined);
  });
} else {
  afterAll(() => dropPrefixes());
  // A prefix per test keeps tests apart without flushing anything else on the server.
  catalogContract("Redis", async () => {
    const prefix = newPrefix();
    return {
      open: (options) => openCatalog({ kind: "redis", url: REDIS_URL, prefix }, options),
      // Redis expires reservations by its own clock: let real time pass.
      elapse: (_clock, ms) => new Promise((resolve) => setTimeout(resolve, ms)),
      ttlMs: 600,
    };
  });

  it("keeps every key it writes under its prefix", async () => {
    const prefix = newPrefix();
    const catalog = await openCatalog({ kind: "redis", url: REDIS_URL, prefix });
    const client = createClient({ url: REDIS_URL });
    await client.connect();
    try {
      const scope = { project: "redis_prefix_probe", domain: "development" };
      const key = computeCacheKey(task({ name: "probe", inputs: {}, outputs: { y: t.int() }, cache: true }, () => ({ y: 1 })).spec, {});
      await catalog.store(scope, key, { parts: key.parts, outputs: { y: { kind: "int", value: "1" } }, createdAt: "2025-01-01T00:00:00Z", producedBy: { execution: "e", node: "n" } });
      await catalog.reserve(scope, key.key, "o", 60_000);
      expect((await client.keys(`${prefix}:*`)).sort()).toEqual([
        `${prefix}:redis_prefix_probe/development/entry/${key.key}`,
        `${prefix}:redis_prefix_probe/development/latest/probe`,
        `${prefix}:redis_prefix_probe/development/reservation/${key.key}`,
      ]);
      expect(await client.keys("*redis_prefix_probe*")).toHaveLength(3);
      const dir = mkdtempSync(join(tmpdir(), "petrel-catalog-blobs-"));
      onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
      expect((await catalog.lookup(scope, key, createFileBlobStore({ root: dir }))).status).toBe("HIT");
    } finally {
      await client.close();
      await catalog.close();
    }
  });
}
