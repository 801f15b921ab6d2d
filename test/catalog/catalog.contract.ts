// The Catalog contract: every kind (SQLite, PostgreSQL, Redis) runs this same
// suite through its own test file, which supplies how to open catalogs on one
// fresh store and how reservation time passes for that kind.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  awaitReservation,
  createFileBlobStore,
  createManualClock,
  isCatalogError,
  type BlobStore,
  type Catalog,
  type CatalogEntry,
  type Clock,
  type ManualClock,
} from "../../backend/index.js";
import { computeCacheKey, sha256, t, task, type CacheKey, type LiteralMap } from "../../kernel/index.js";

/** How a contract run opens catalogs; `setup` runs before each test and gives a fresh, empty store. */
export interface CatalogHarness {
  /** Opens one more catalog on the store: another process or backend instance. */
  open(options: { clock: Clock; blobs?: BlobStore }): Promise<Catalog>;
  /** Lets `ms` pass for reservations: the manual clock for SQL kinds, real time where the server expires keys. */
  elapse(clock: ManualClock, ms: number): Promise<void>;
  /** A reservation lifetime `elapse` can test reliably. */
  ttlMs: number;
  /** Runs after each test. */
  teardown?(): Promise<void>;
}

const scope = { project: "alpha", domain: "development" };
const int = (n: number) => ({ kind: "int", value: String(n) }) as const;

/** A cacheable task whose spec (and so whose keys) the tests control through `version`. */
const addTask = (version = "1") =>
  task({ name: "add", inputs: { x: t.int() }, outputs: { y: t.int() }, cache: { version } }, ({ x }) => ({ y: x + 1 }));

const entryFor = (key: CacheKey, outputs: LiteralMap, execution = "exec-1", node = "n0"): CatalogEntry => ({
  parts: key.parts,
  outputs,
  createdAt: "2025-01-01T00:00:00.000Z",
  producedBy: { execution, node },
});

export function catalogContract(name: string, setup: () => Promise<CatalogHarness>): void {
  describe(`Catalog contract: ${name}`, () => {
    let harness: CatalogHarness;
    let clock: ManualClock;
    let catalog: Catalog;
    let blobs: BlobStore;
    let blobDir: string;
    const opened: Catalog[] = [];
    const open = async () => {
      const c = await harness.open({ clock, blobs });
      opened.push(c);
      return c;
    };

    beforeEach(async () => {
      harness = await setup();
      clock = createManualClock("2025-01-01T00:00:00Z");
      blobDir = mkdtempSync(join(tmpdir(), "petrel-catalog-blobs-"));
      blobs = createFileBlobStore({ root: blobDir });
      catalog = await open();
    });
    afterEach(async () => {
      for (const c of opened.splice(0)) await c.close();
      await blobs.close();
      rmSync(blobDir, { recursive: true, force: true });
      await harness.teardown?.();
    });

    describe("entries", () => {
      it("serves a result stored by one execution as a HIT to another execution on another instance", async () => {
        const key = computeCacheKey(addTask().spec, { x: int(1) });
        await catalog.store(scope, key, entryFor(key, { y: int(2) }, "exec-1", "add"));
        const other = await open();
        const again = computeCacheKey(addTask().spec, { x: int(1) });
        expect(again.key).toBe(key.key);
        const found = await other.lookup(scope, again, blobs);
        expect(found).toMatchObject({ status: "HIT", entry: { outputs: { y: int(2) }, producedBy: { execution: "exec-1", node: "add" } } });
        expect(found.reason).toContain("execution exec-1 node add");
      });

      it("keeps projects and domains apart", async () => {
        const key = computeCacheKey(addTask().spec, { x: int(1) });
        await catalog.store(scope, key, entryFor(key, { y: int(2) }));
        expect((await catalog.lookup({ ...scope, project: "beta" }, key, blobs)).status).toBe("MISS");
        expect((await catalog.lookup({ ...scope, domain: "production" }, key, blobs)).status).toBe("MISS");
      });

      it("explains a miss against the task's latest entry", async () => {
        const key1 = computeCacheKey(addTask().spec, { x: int(1) });
        expect(await catalog.lookup(scope, key1, blobs)).toEqual({ status: "MISS", reason: "no cached result for task add yet" });
        await catalog.store(scope, key1, entryFor(key1, { y: int(2) }));
        const key2 = computeCacheKey(addTask().spec, { x: int(2) });
        expect((await catalog.lookup(scope, key2, blobs)).reason).toMatch(/^latest cached result for add differs: input x \(\w+ -> \w+\) changed$/);
        const v2 = computeCacheKey(addTask("2").spec, { x: int(1) });
        expect((await catalog.lookup(scope, v2, blobs)).reason).toContain("code changed (cache version 1 -> 2)");
      });

      it("misses, naming the blob, once a cached output's blob is gone from the blob store", async () => {
        const bytes = new TextEncoder().encode("arrow bytes");
        const hash = sha256(bytes);
        await blobs.put(hash, [bytes]);
        const key = computeCacheKey(addTask().spec, { x: int(3) });
        const outputs: LiteralMap = {
          y: int(4),
          df: { kind: "list", items: [{ kind: "blob", blob: { hash, size: bytes.length, format: "arrow" } }] },
        };
        await catalog.store(scope, key, entryFor(key, outputs));
        expect((await catalog.lookup(scope, key, blobs)).status).toBe("HIT");
        await blobs.delete(hash);
        const found = await catalog.lookup(scope, key, blobs);
        expect(found).toEqual({ status: "MISS", reason: `cached outputs refer to blob ${hash}, which is no longer in the blob store` });
      });

      it("replaces an entry stored again under the same key (overwrite-cache)", async () => {
        const key = computeCacheKey(addTask().spec, { x: int(1) });
        await catalog.store(scope, key, entryFor(key, { y: int(2) }, "exec-1"));
        await catalog.store(scope, key, entryFor(key, { y: int(20) }, "exec-2"));
        expect(await catalog.lookup(scope, key, blobs)).toMatchObject({ status: "HIT", entry: { outputs: { y: int(20) }, producedBy: { execution: "exec-2" } } });
      });

      it("finds an entry stored under the key a local run computed: the local engine and the catalog key alike", async () => {
        const cacheDir = mkdtempSync(join(tmpdir(), "petrel-catalog-local-"));
        try {
          const add = addTask("local");
          const local = await add.run({ x: 41 }, { cacheDir });
          const record = local.nodes.add!;
          expect(record.cache.status).toBe("POPULATED");
          const key = computeCacheKey(add.spec, record.inputs!);
          expect(key.key).toBe(record.cache.key);
          await catalog.store(scope, key, entryFor(key, record.outputs!, local.id, "add"));
          const backendKey = computeCacheKey(addTask("local").spec, { x: int(41) });
          expect(await catalog.lookup(scope, backendKey, blobs)).toMatchObject({ status: "HIT", entry: { outputs: { y: int(42) } } });
        } finally {
          rmSync(cacheDir, { recursive: true, force: true });
        }
      });

      it("rejects malformed scopes, keys and entries with a CatalogError and stores nothing", async () => {
        const key = computeCacheKey(addTask().spec, { x: int(1) });
        const other = computeCacheKey(addTask().spec, { x: int(9) });
        const codeOf = (p: Promise<unknown>) =>
          p.then(
            () => "resolved",
            (e: unknown) => (isCatalogError(e) ? `${e.code} ${String(e.details.field)}` : String(e)),
          );
        expect(await codeOf(catalog.store({ project: "../x", domain: "development" }, key, entryFor(key, {})))).toBe("CATALOG_INVALID_INPUT scope.project");
        expect(await codeOf(catalog.store(scope, key, entryFor(other, {})))).toBe("CATALOG_INVALID_INPUT entry.parts");
        expect(await codeOf(catalog.store(scope, key, { ...entryFor(key, {}), createdAt: "yesterday" }))).toBe("CATALOG_INVALID_INPUT entry.createdAt");
        expect(await codeOf(catalog.store(scope, key, { ...entryFor(key, {}), outputs: { y: 3 } as unknown as LiteralMap }))).toBe("CATALOG_INVALID_INPUT entry");
        expect(await codeOf(catalog.lookup(scope, { key: "", parts: key.parts }, blobs))).toBe("CATALOG_INVALID_INPUT key.key");
        expect(await codeOf(catalog.reserve(scope, key.key, "o", 0))).toBe("CATALOG_INVALID_INPUT ttlMs");
        expect(await codeOf(catalog.reserve(scope, key.key, "", 1000))).toBe("CATALOG_INVALID_INPUT owner");
        expect((await catalog.lookup(scope, key, blobs)).status).toBe("MISS");
      });

      it("refuses calls after close", async () => {
        const c = await harness.open({ clock });
        await c.close();
        await c.close();
        const key = computeCacheKey(addTask().spec, { x: int(1) });
        await expect(c.lookup(scope, key, blobs)).rejects.toMatchObject({ name: "CatalogError", code: "CATALOG_CLOSED" });
      });
    });

    describe("reservations", () => {
      const key = "sha256:reservation-key";

      it("gives a key to exactly one of 10 catalogs reserving it at once", async () => {
        const catalogs = await Promise.all(Array.from({ length: 10 }, () => open()));
        const results = await Promise.all(catalogs.map((c, i) => c.reserve(scope, key, `owner-${i}`, harness.ttlMs)));
        const winners = results.flatMap((r, i) => (r.acquired ? [`owner-${i}`] : []));
        expect(winners).toHaveLength(1);
        for (const r of results) {
          if (!r.acquired) expect(r.owner).toBe(winners[0]);
        }
      });

      it("tells a refused owner who holds the key and until when; the holder reserving again extends it", async () => {
        expect(await catalog.reserve(scope, key, "a", harness.ttlMs)).toEqual({ acquired: true });
        const refused = await catalog.reserve(scope, key, "b", harness.ttlMs);
        expect(refused).toMatchObject({ acquired: false, owner: "a" });
        if (!refused.acquired) {
          expect(refused.expiresAt).toBeGreaterThan(clock.now());
          expect(refused.expiresAt).toBeLessThanOrEqual(clock.now() + harness.ttlMs);
        }
        await harness.elapse(clock, harness.ttlMs * 0.6);
        expect(await catalog.reserve(scope, key, "a", harness.ttlMs)).toEqual({ acquired: true });
        await harness.elapse(clock, harness.ttlMs * 0.6);
        expect(await catalog.reserve(scope, key, "b", harness.ttlMs)).toMatchObject({ acquired: false, owner: "a" });
      });

      it("keeps a reservation alive through heartbeats", async () => {
        await catalog.reserve(scope, key, "a", harness.ttlMs);
        await harness.elapse(clock, harness.ttlMs * 0.6);
        expect(await catalog.heartbeat(scope, key, "a", harness.ttlMs)).toBe(true);
        await harness.elapse(clock, harness.ttlMs * 0.6);
        expect(await catalog.reserve(scope, key, "b", harness.ttlMs)).toMatchObject({ acquired: false, owner: "a" });
        expect(await catalog.heartbeat(scope, key, "b", harness.ttlMs)).toBe(false);
      });

      it("lets another owner take an expired reservation; the old owner's heartbeat then reports it lost", async () => {
        await catalog.reserve(scope, key, "a", harness.ttlMs);
        await harness.elapse(clock, harness.ttlMs * 1.3);
        const other = await open();
        expect(await other.reserve(scope, key, "b", harness.ttlMs)).toEqual({ acquired: true });
        expect(await catalog.heartbeat(scope, key, "a", harness.ttlMs)).toBe(false);
        expect(await catalog.reserve(scope, key, "a", harness.ttlMs)).toMatchObject({ acquired: false, owner: "b" });
      });

      it("reports a heartbeat after expiry as lost even when nobody took over", async () => {
        await catalog.reserve(scope, key, "a", harness.ttlMs);
        await harness.elapse(clock, harness.ttlMs * 1.3);
        expect(await catalog.heartbeat(scope, key, "a", harness.ttlMs)).toBe(false);
      });

      it("ignores a release by anyone but the owner", async () => {
        await catalog.reserve(scope, key, "a", harness.ttlMs);
        await catalog.release(scope, key, "b");
        expect(await catalog.reserve(scope, key, "b", harness.ttlMs)).toMatchObject({ acquired: false, owner: "a" });
        await catalog.release(scope, key, "a");
        expect(await catalog.reserve(scope, key, "b", harness.ttlMs)).toEqual({ acquired: true });
      });

      it("keeps reservations of different projects, domains and keys apart", async () => {
        await catalog.reserve(scope, key, "a", harness.ttlMs);
        expect(await catalog.reserve({ ...scope, project: "beta" }, key, "b", harness.ttlMs)).toEqual({ acquired: true });
        expect(await catalog.reserve({ ...scope, domain: "staging" }, key, "b", harness.ttlMs)).toEqual({ acquired: true });
        expect(await catalog.reserve(scope, `${key}-2`, "b", harness.ttlMs)).toEqual({ acquired: true });
      });
    });

    describe("awaitReservation", () => {
      const cacheKey = () => computeCacheKey(addTask().spec, { x: int(7) });

      it("reserves at once when the key is free and not cached", async () => {
        const got = await awaitReservation(catalog, scope, cacheKey(), "b", { blobs, ttlMs: harness.ttlMs, pollMs: 5 });
        expect(got).toEqual({ status: "reserved", reason: "no cached result for task add yet" });
        expect(await catalog.reserve(scope, cacheKey().key, "c", harness.ttlMs)).toMatchObject({ acquired: false, owner: "b" });
      });

      it("returns the HIT once the owner stores its entry, leaving no reservation behind", async () => {
        const key = cacheKey();
        const owner = await open();
        expect(await owner.reserve(scope, key.key, "a", harness.ttlMs)).toEqual({ acquired: true });
        const waiting = awaitReservation(catalog, scope, key, "b", { blobs, ttlMs: harness.ttlMs, pollMs: 5 });
        await new Promise((r) => setTimeout(r, 30));
        await owner.store(scope, key, entryFor(key, { y: int(8) }, "exec-a", "add"));
        await owner.release(scope, key.key, "a");
        const got = await waiting;
        expect(got).toMatchObject({ status: "HIT", entry: { outputs: { y: int(8) }, producedBy: { execution: "exec-a" } } });
        expect(await catalog.reserve(scope, key.key, "c", harness.ttlMs)).toEqual({ acquired: true });
      });

      it("takes the reservation once the owner releases without storing", async () => {
        const key = cacheKey();
        await catalog.reserve(scope, key.key, "a", harness.ttlMs);
        const waiting = awaitReservation(await open(), scope, key, "b", { blobs, ttlMs: harness.ttlMs, pollMs: 5 });
        await new Promise((r) => setTimeout(r, 30));
        await catalog.release(scope, key.key, "a");
        expect(await waiting).toMatchObject({ status: "reserved" });
      });

      it("takes the reservation once the owner's expires", async () => {
        const key = cacheKey();
        await catalog.reserve(scope, key.key, "a", harness.ttlMs);
        const waiting = awaitReservation(await open(), scope, key, "b", { blobs, ttlMs: harness.ttlMs, pollMs: 5 });
        await harness.elapse(clock, harness.ttlMs * 1.3);
        expect(await waiting).toMatchObject({ status: "reserved" });
        expect(await catalog.heartbeat(scope, key.key, "a", harness.ttlMs)).toBe(false);
      });

      it("stops waiting when its signal aborts", async () => {
        const key = cacheKey();
        await catalog.reserve(scope, key.key, "a", harness.ttlMs);
        const controller = new AbortController();
        const waiting = awaitReservation(catalog, scope, key, "b", { blobs, ttlMs: harness.ttlMs, pollMs: 5, signal: controller.signal });
        controller.abort(new Error("execution terminated"));
        await expect(waiting).rejects.toThrow("execution terminated");
      });

      it("is what catalog.acquire does, with HITs checked against the blob store the catalog was opened with", async () => {
        const bytes = new TextEncoder().encode("model weights");
        const hash = sha256(bytes);
        const key = cacheKey();
        const outputs: LiteralMap = { y: { kind: "blob", blob: { hash, size: bytes.length, format: "file" } } };
        await catalog.store(scope, key, entryFor(key, outputs));
        // The blob is not there yet: no HIT, so the caller gets the reservation and the reason.
        expect(await catalog.acquire(scope, key, "b", { ttlMs: harness.ttlMs, pollMs: 5 })).toEqual({
          status: "reserved",
          reason: `cached outputs refer to blob ${hash}, which is no longer in the blob store`,
        });
        await catalog.release(scope, key.key, "b");
        await blobs.put(hash, [bytes]);
        expect(await catalog.acquire(scope, key, "b", { ttlMs: harness.ttlMs, pollMs: 5 })).toMatchObject({ status: "HIT", entry: { outputs } });
        const bare = await harness.open({ clock });
        opened.push(bare);
        await expect(bare.acquire(scope, key, "b", { ttlMs: harness.ttlMs })).rejects.toMatchObject({ code: "CATALOG_INVALID_INPUT", details: { field: "blobs" } });
        expect(await bare.acquire(scope, key, "b", { ttlMs: harness.ttlMs, blobs })).toMatchObject({ status: "HIT" });
      });

      it("computes a key once among 10 executions: one reserves, the other 9 get its entry", async () => {
        const key = cacheKey();
        let computed = 0;
        const execution = async (i: number) => {
          const c = await open();
          const got = await awaitReservation(c, scope, key, `exec-${i}`, { blobs, ttlMs: harness.ttlMs, pollMs: 5 });
          if (got.status === "HIT") return "HIT";
          computed++;
          await new Promise((r) => setTimeout(r, 20));
          await c.store(scope, key, entryFor(key, { y: int(8) }, `exec-${i}`, "add"));
          await c.release(scope, key.key, `exec-${i}`);
          return "computed";
        };
        const outcomes = await Promise.all(Array.from({ length: 10 }, (_, i) => execution(i)));
        expect(computed).toBe(1);
        expect(outcomes.filter((o) => o === "HIT")).toHaveLength(9);
      });
    });
  });
}
