/**
 * Suite "cache": the price of a cache hit once its key is known, and the price
 * of knowing the key. Hits are `LocalCache#lookup(key, blobs)` on a warm SQLite
 * cache holding 10,000 entries, in random key order; the peer is a prepared
 * better-sqlite3 SELECT of the same rows on its own connection. Key computation
 * is timed for an int input and for a 1e6-row DataFrame input, whose literal is
 * a blob reference (the content hash of its IPC bytes is taken once, when the
 * DataFrame became a literal: that cost is shown on its own).
 */
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import {
  computeCacheKey,
  createFsBlobStore,
  createTypeEngine,
  encodeIPC,
  openLocalStore,
  sha256,
  stableStringify,
  t,
  task,
  type CacheKey,
  type LiteralMap,
} from "../kernel/index.js";
import { arrowTableByHand, makeColumns, ROWS } from "./data.js";
import { DIRECTION, measure, measureLoop, progress, type BenchOptions, type Row, type Suite, type SuiteResult } from "./harness.js";

/** Entries in the warm cache. */
export const ENTRIES = 10_000;
/** The goal: one hit, key already computed, in µs. */
export const GOAL_HIT_US = 50;
/** keyv's namespace in openLocalStore and its key layout (`<namespace>:entry:<key>`). */
const KEYV_PREFIX = "petrel:";

const cachedInc = task(
  { name: "cached_inc", inputs: { x: t.int() }, outputs: { y: t.int() }, cache: { version: "bench-1" } },
  ({ x }) => ({ y: x + 1 }),
);
const cachedSummary = task(
  { name: "cached_summary", inputs: { df: t.dataframe() }, outputs: { out: t.dataframe() }, cache: { version: "bench-1" } },
  ({ df }) => ({ out: df }),
);

const intInputs = (i: number): LiteralMap => ({ x: { kind: "int", value: String(i) } });

/** A fixed pseudo-random permutation, so every run reads the keys in the same scattered order. */
function permutation(n: number): number[] {
  const p = Array.from({ length: n }, (_, i) => i);
  let seed = 0x9e3779b9;
  for (let i = n - 1; i > 0; i--) {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    const j = seed % (i + 1);
    [p[i], p[j]] = [p[j]!, p[i]!];
  }
  return p;
}

export const cacheSuite: Suite = {
  name: "cache",
  title: `cache: hit latency on a warm SQLite cache of ${ENTRIES.toLocaleString("en")} entries, and key computation`,
  async run(options: BenchOptions): Promise<SuiteResult> {
    const name = "cache";
    const reps = options.quick ? 3 : 7;
    const notes: string[] = [];
    const rows: Row[] = [];
    const dir = mkdtempSync(join(tmpdir(), "petrel-bench-cache-"));
    try {
      const { cache, blobs } = openLocalStore(dir);
      const spec = cachedInc.spec;

      progress(name, `populating ${ENTRIES} entries in ${dir}`);
      const keys: CacheKey[] = [];
      for (let i = 0; i < ENTRIES; i++) {
        const key = computeCacheKey(spec, intInputs(i));
        keys.push(key);
        await cache.store(key, {
          parts: key.parts,
          outputs: { y: { kind: "int", value: String(i + 1) } },
          createdAt: new Date().toISOString(),
          producedBy: { run: "bench", node: `cached_inc-${i}` },
        });
      }
      const order = permutation(ENTRIES).map((i) => keys[i]!);
      const first = await cache.lookup(order[0]!, blobs);
      if (first.status !== "HIT") throw new Error(`expected a hit, got ${first.status}: ${first.reason}`);

      const hit = await measureLoop(name, ENTRIES, (i) => cache.lookup(order[i]!, blobs), {
        label: `petrel LocalCache#lookup x${ENTRIES}`,
        reps,
        async: true,
      });

      // The DataFrame: a blob-backed output, looked up with a fresh blob store as a new process would.
      progress(name, `encoding a ${ROWS}-row DataFrame to Arrow IPC`);
      const table = arrowTableByHand(makeColumns());
      const ipc = encodeIPC(table);
      const hashMs = await measure(name, () => sha256(ipc), { label: `sha256 of ${(ipc.byteLength / 1e6).toFixed(1)} MB IPC`, reps });
      const engine = createTypeEngine();
      const toLiteralMs = await measure(
        name,
        () => engine.toLiteral(table, { kind: "dataframe" }, { blobs, where: "bench" }),
        { label: "type engine toLiteral(Arrow Table) = encodeIPC + sha256 + put", reps: options.quick ? 2 : 3 },
      );
      const dfLiteral = engine.toLiteral(table, { kind: "dataframe" }, { blobs, where: "bench" });
      const dfKey = computeCacheKey(cachedSummary.spec, { df: dfLiteral });
      await cache.store(dfKey, {
        parts: dfKey.parts,
        outputs: { out: dfLiteral },
        createdAt: new Date().toISOString(),
        producedBy: { run: "bench", node: "cached_summary" },
      });
      const freshBlobs = createFsBlobStore(join(dir, "blobs"));
      const dfHit = await cache.lookup(dfKey, freshBlobs);
      if (dfHit.status !== "HIT") throw new Error(`expected a DataFrame hit, got ${dfHit.status}: ${dfHit.reason}`);
      const blobHit = await measureLoop(name, ENTRIES, () => cache.lookup(dfKey, freshBlobs), {
        label: `petrel lookup of a DataFrame-output entry x${ENTRIES}`,
        reps,
        async: true,
      });

      // Key computation.
      const intKey = await measureLoop(name, ENTRIES, (i) => computeCacheKey(spec, intInputs(i)), {
        label: `computeCacheKey(int input) x${ENTRIES}`,
        reps,
      });
      const dfInputs = { df: dfLiteral };
      const dfKeyTime = await measureLoop(name, ENTRIES, () => computeCacheKey(cachedSummary.spec, dfInputs), {
        label: `computeCacheKey(DataFrame blob ref) x${ENTRIES}`,
        reps,
      });
      const parts = stableStringify(keys[0]!.parts);
      const oneHash = await measureLoop(name, ENTRIES, () => createHash("sha256").update(parts).digest("hex"), {
        label: `one sha256 of the key parts JSON x${ENTRIES}`,
        reps,
      });

      // The peer: the same rows through a prepared statement on its own connection.
      let rawGet: number | undefined;
      let rawParse: number | undefined;
      if (options.peer) {
        const db = new Database(join(dir, "cache.sqlite"), { readonly: true });
        try {
          const select = db.prepare<[string], { value: string }>("SELECT value FROM keyv WHERE key = ?");
          const stored = order.map((k) => `${KEYV_PREFIX}entry:${k.key}`);
          if (!select.get(stored[0]!)) throw new Error(`no row for ${stored[0]}: keyv's key layout changed`);
          rawGet = (await measureLoop(name, ENTRIES, (i) => select.get(stored[i]!), { label: `peer prepared SELECT x${ENTRIES}`, reps })).median;
          rawParse = (
            await measureLoop(name, ENTRIES, (i) => JSON.parse(select.get(stored[i]!)!.value) as unknown, {
              label: `peer prepared SELECT + JSON.parse x${ENTRIES}`,
              reps,
            })
          ).median;
        } finally {
          db.close();
        }
      }

      const goal = { value: GOAL_HIT_US, direction: DIRECTION.lower };
      rows.push(
        { metric: "hit, int output", unit: "µs", petrel: hit.median, peerName: "better-sqlite3 prepared SELECT", ...(rawGet !== undefined ? { peer: rawGet } : {}), goal },
        { metric: "hit, int output", unit: "µs", petrel: hit.median, peerName: "prepared SELECT + JSON.parse", ...(rawParse !== undefined ? { peer: rawParse } : {}), goal },
        {
          metric: "hit, DataFrame output (blob check)",
          unit: "µs",
          petrel: blobHit.median,
          peerName: "prepared SELECT + JSON.parse",
          ...(rawParse !== undefined ? { peer: rawParse } : {}),
          goal,
          note: "a fresh fs blob store, as in a new process: the hit checks the blob file exists",
        },
        { metric: "computeCacheKey, int input", unit: "µs", petrel: intKey.median, peerName: "one sha256 of the parts JSON", peer: oneHash.median },
        { metric: "computeCacheKey, 1e6-row DataFrame ref", unit: "µs", petrel: dfKeyTime.median, peerName: "one sha256 of the parts JSON", peer: oneHash.median },
        { metric: `sha256 of the DataFrame's IPC bytes`, unit: "ms", petrel: hashMs.median, note: "paid once, when the DataFrame becomes a literal" },
        { metric: "toLiteral(DataFrame): encode + hash + put", unit: "ms", petrel: toLiteralMs.median, note: "the whole cost of a DataFrame output before its key exists" },
      );
      notes.push(
        `hits: median over ${reps} loops of ${ENTRIES} awaited lookups in a fixed random order; keyv ${KEYV_PREFIX}entry:<key> rows, WAL, synchronous=NORMAL`,
        `DataFrame IPC: ${(ipc.byteLength / 1e6).toFixed(1)} MB`,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    progress(name, "done");
    return { title: this.title, rows, notes };
  },
};
