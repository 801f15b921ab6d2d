// Opening catalogs: configuration errors and unreachable servers fail with a
// CatalogError that names what was wrong and never shows a password.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { openCatalog } from "../../backend/index.js";

describe("openCatalog", () => {
  it("creates the SQLite file's directory", async () => {
    const dir = mkdtempSync(join(tmpdir(), "petrel-catalog-"));
    try {
      const catalog = await openCatalog({ kind: "sqlite", path: join(dir, "a", "b", "catalog.sqlite") });
      expect(catalog.kind).toBe("sqlite");
      await catalog.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("rejects an unknown kind, a bad schema or prefix, and an unreachable server with a CatalogError", async () => {
    await expect(openCatalog({ kind: "mysql" } as never)).rejects.toMatchObject({ code: "CATALOG_CONFIG", message: expect.stringContaining("unknown kind \"mysql\"") as unknown });
    await expect(openCatalog({ kind: "postgres", url: "postgres://u@127.0.0.1/x", schema: "Bad-Schema" })).rejects.toMatchObject({ code: "CATALOG_CONFIG", details: { field: "schema" } });
    await expect(openCatalog({ kind: "redis", url: "redis://127.0.0.1:6379", prefix: "a*" })).rejects.toMatchObject({ code: "CATALOG_CONFIG", details: { field: "prefix" } });
    await expect(openCatalog({ kind: "redis", url: "http://u:pw@x" })).rejects.toMatchObject({ code: "CATALOG_CONFIG", message: expect.not.stringContaining("pw") as unknown });
    // Port 1 refuses at once: the error names the server, without the password.
    const down = openCatalog({ kind: "postgres", url: "postgres://u:secret@127.0.0.1:1/x" });
    await expect(down).rejects.toMatchObject({ code: "CATALOG_UNAVAILABLE" });
    await expect(down).rejects.toThrow(/cannot open PostgreSQL at postgres:\/\/u:\*\*\*@127\.0\.0\.1:1\/x/);
    await expect(openCatalog({ kind: "redis", url: "redis://:secret@127.0.0.1:1" })).rejects.toThrow(/cannot reach Redis at redis:\/\/:\*\*\*@127\.0\.0\.1:1/);
  });
});
