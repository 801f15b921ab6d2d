import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, describe, expect, it, onTestFinished } from "vitest";
import { createFileBlobStore, openCatalog } from "../../backend/index.js";
import { computeCacheKey, task } from "../../kernel/index.js";
import { dropSchemas, newSchema, POSTGRES_URL, postgresUnavailable } from "../backend/postgres.js";
import { catalogContract } from "./catalog.contract.js";

const unavailable = await postgresUnavailable();

if (unavailable) {
  describe.skip(`Catalog contract: PostgreSQL — skipped: ${unavailable}`, () => {
    it("needs PostgreSQL", () => undefined);
  });
} else {
  // One schema for the file, emptied before each test.
  const schema = newSchema();
  const admin = new pg.Client({ connectionString: POSTGRES_URL });
  await admin.connect();
  afterAll(async () => {
    await admin.end();
    await dropSchemas();
  });
  let migrated = false;
  catalogContract("PostgreSQL", async () => {
    if (migrated) await admin.query(`DELETE FROM "${schema}".petrel_catalog_entries; DELETE FROM "${schema}".petrel_catalog_reservations;`);
    migrated = true;
    return {
      open: (options) => openCatalog({ kind: "postgres", url: POSTGRES_URL, schema }, options),
      elapse: async (clock, ms) => void clock.advance(ms),
      ttlMs: 30_000,
    };
  });

  describe("PostgreSQL catalog", () => {
    it("reports a failing database as CATALOG_UNAVAILABLE, never as a miss", async () => {
      const own = newSchema();
      const catalog = await openCatalog({ kind: "postgres", url: POSTGRES_URL, schema: own });
      try {
        const key = computeCacheKey(task({ name: "t", inputs: {}, outputs: {}, cache: true }, () => ({})).spec, {});
        const dir = mkdtempSync(join(tmpdir(), "petrel-catalog-blobs-"));
        const blobs = createFileBlobStore({ root: dir });
        onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
        // Working first (so keyv's lazy table setup is done and cannot recreate the table), then broken.
        expect((await catalog.lookup({ project: "alpha", domain: "development" }, key, blobs)).status).toBe("MISS");
        await admin.query(`DROP TABLE "${own}".petrel_catalog_entries`);
        await expect(catalog.lookup({ project: "alpha", domain: "development" }, key, blobs)).rejects.toMatchObject({
          name: "CatalogError",
          code: "CATALOG_UNAVAILABLE",
          message: expect.stringContaining(`catalog (postgres postgres://`) as unknown,
        });
      } finally {
        await catalog.close();
      }
    });

    it("lets catalogs on one database open and close independently", async () => {
      const a = await openCatalog({ kind: "postgres", url: POSTGRES_URL, schema });
      const b = await openCatalog({ kind: "postgres", url: POSTGRES_URL, schema });
      await a.close();
      expect(await b.reserve({ project: "alpha", domain: "development" }, "k-independent", "o", 1000)).toEqual({ acquired: true });
      await b.close();
    });
  });
}
