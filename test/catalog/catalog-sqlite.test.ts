import { execFile } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import Database from "better-sqlite3";
import { createFileBlobStore, openCatalog } from "../../backend/index.js";
import { computeCacheKey, task } from "../../kernel/index.js";
import { catalogContract } from "./catalog.contract.js";

const run = promisify(execFile);

catalogContract("SQLite", async () => {
  const dir = mkdtempSync(join(tmpdir(), "petrel-catalog-"));
  const path = join(dir, "catalog.sqlite");
  return {
    open: (options) => openCatalog({ kind: "sqlite", path }, options),
    elapse: async (clock, ms) => void clock.advance(ms),
    ttlMs: 30_000,
    teardown: async () => rmSync(dir, { recursive: true, force: true }),
  };
});

describe("SQLite catalog", () => {
  it("reports a failing database as CATALOG_UNAVAILABLE, never as a miss", async () => {
    const dir = mkdtempSync(join(tmpdir(), "petrel-catalog-"));
    const path = join(dir, "catalog.sqlite");
    const catalog = await openCatalog({ kind: "sqlite", path });
    try {
      const db = new Database(path);
      db.exec("DROP TABLE catalog_entries");
      db.close();
      const key = computeCacheKey(task({ name: "t", inputs: {}, outputs: {}, cache: true }, () => ({})).spec, {});
      await expect(catalog.lookup({ project: "alpha", domain: "development" }, key, createFileBlobStore({ root: dir }))).rejects.toMatchObject({
        name: "CatalogError",
        code: "CATALOG_UNAVAILABLE",
        message: expect.stringContaining("no such table") as unknown,
      });
    } finally {
      await catalog.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("SQLite catalog across processes", () => {
  const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
  const DIST = join(ROOT, "dist/backend/catalog/index.js");

  it("gives each key to exactly one of several processes racing over the same file", async () => {
    if (!existsSync(DIST)) throw new Error("dist/backend/catalog/index.js is missing: run `npm run build` first");
    const dir = mkdtempSync(join(tmpdir(), "petrel-catalog-procs-"));
    try {
      const path = join(dir, "catalog.sqlite");
      const keys = 2_000;
      const processes = 4;
      const ready = join(dir, "ready");
      mkdirSync(ready);
      // Each process waits until all have loaded (a file each in ready/), then reserves every key as fast as it can.
      const script = `
        const { readdirSync, writeFileSync } = await import("node:fs");
        const { openCatalog } = await import(${JSON.stringify(pathToFileURL(DIST).href)});
        const catalog = await openCatalog({ kind: "sqlite", path: ${JSON.stringify(path)} });
        writeFileSync(${JSON.stringify(ready)} + "/" + process.pid, "");
        while (readdirSync(${JSON.stringify(ready)}).length < ${processes}) await new Promise((r) => setTimeout(r, 1));
        // A random order per process, so that processes meet on free keys instead of one running ahead of the rest.
        const order = Array.from({ length: ${keys} }, (_, k) => k).sort(() => Math.random() - 0.5);
        const won = [];
        for (const k of order) {
          const r = await catalog.reserve({ project: "alpha", domain: "development" }, "key-" + k, "pid-" + process.pid, 60000);
          if (r.acquired) won.push(k);
        }
        await catalog.close();
        console.log(JSON.stringify(won));`;
      const procs = Array.from({ length: processes }, () => run(process.execPath, ["--input-type=module", "-e", script], { cwd: dir }));
      const won = (await Promise.all(procs)).map((p) => JSON.parse(p.stdout) as number[]);
      const all = won.flat().sort((a, b) => a - b);
      expect(all).toEqual(Array.from({ length: keys }, (_, k) => k));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
