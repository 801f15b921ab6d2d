import { execFile } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { tableFromArrays } from "apache-arrow";
import { DataFrame } from "danfojs-node";
import { beforeAll, describe, expect, it } from "vitest";
import { isExecutionFailedError, map, t, task, workflow } from "../../kernel/index.js";

const run = promisify(execFile);
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const tempDir = () => mkdtempSync(join(tmpdir(), "petrel-cache-"));

describe("cache keys follow content", () => {
  it("hits on equal danfo DataFrames built independently", async () => {
    const cacheDir = tempDir();
    let calls = 0;
    const rows = task(
      { name: "rows", inputs: { df: t.dataframe() }, outputs: { n: t.int() }, cache: true },
      ({ df }) => {
        calls++;
        return { n: df.shape[0] };
      },
    );
    const make = () => new DataFrame({ age: [31, 17, 45], name: ["ann", "bo", "cy"], score: [0.5, 1.5, 2.5] });
    const first = await rows.run({ df: make() }, { cacheDir });
    const second = await rows.run({ df: make() }, { cacheDir });
    expect(first.nodes.rows!.cache.status).toBe("POPULATED");
    expect(second.nodes.rows!.cache.status).toBe("HIT");
    expect(second.outputs.n).toBe(3);
    expect(calls).toBe(1);
    const changed = await rows.run({ df: new DataFrame({ age: [31, 17, 46], name: ["ann", "bo", "cy"], score: [0.5, 1.5, 2.5] }) }, { cacheDir });
    expect(changed.nodes.rows!.cache).toMatchObject({ status: "POPULATED" });
    expect(changed.nodes.rows!.cache.reason).toMatch(/input df \(\w+ -> \w+\) changed/);
  });

  it("hits on equal Arrow tables built independently, however they are chunked", async () => {
    const cacheDir = tempDir();
    const cols = task(
      { name: "cols", inputs: { df: t.dataframe({ as: "arrow" }) }, outputs: { n: t.int() }, cache: true },
      ({ df }) => ({ n: df.numCols }),
    );
    const a = tableFromArrays({ x: Float64Array.from([1, 2, 3, 4]), y: ["a", "b", "c", "d"] });
    const b = tableFromArrays({ x: Float64Array.from([1, 2]), y: ["a", "b"] }).concat(
      tableFromArrays({ x: Float64Array.from([3, 4]), y: ["c", "d"] }),
    );
    expect(b.batches.length).toBe(2);
    await cols.run({ df: a }, { cacheDir });
    const second = await cols.run({ df: b }, { cacheDir });
    expect(second.nodes.cols!.cache.status).toBe("HIT");
  });

  it("leaves ignored inputs out of the key", async () => {
    const cacheDir = tempDir();
    const seeded = task(
      { name: "seeded", inputs: { x: t.int(), seed: t.int() }, outputs: { y: t.int() }, cache: { ignoreInputs: ["seed"] } },
      ({ x }) => ({ y: x }),
    );
    await seeded.run({ x: 1, seed: 1 }, { cacheDir });
    expect((await seeded.run({ x: 1, seed: 2 }, { cacheDir })).nodes.seeded!.cache.status).toBe("HIT");
  });

  it("uses an explicit cache version instead of the code hash", async () => {
    const cacheDir = tempDir();
    const v1 = task({ name: "versioned", inputs: {}, outputs: { v: t.int() }, cache: { version: "1" } }, () => ({ v: 1 }));
    const v1again = task({ name: "versioned", inputs: {}, outputs: { v: t.int() }, cache: { version: "1" } }, () => ({ v: 100 }));
    const v2 = task({ name: "versioned", inputs: {}, outputs: { v: t.int() }, cache: { version: "2" } }, () => ({ v: 2 }));
    await v1.run({}, { cacheDir });
    expect((await v1again.run({}, { cacheDir })).outputs.v).toBe(1);
    const r2 = await v2.run({}, { cacheDir });
    expect(r2.outputs.v).toBe(2);
    expect(r2.nodes.versioned!.cache.reason).toContain("code changed (cache version 1 -> 2)");
  });

  it("recomputes and replaces an entry when overwriteCache is set", async () => {
    const cacheDir = tempDir();
    let n = 0;
    const counter = task({ name: "counter", inputs: {}, outputs: { n: t.int() }, cache: { version: "v" } }, () => ({ n: ++n }));
    await counter.run({}, { cacheDir });
    const over = await counter.run({}, { cacheDir, overwriteCache: true });
    expect(over.nodes.counter!.cache).toMatchObject({ status: "POPULATED", reason: "overwriteCache was requested for this run" });
    expect((await counter.run({}, { cacheDir })).outputs.n).toBe(2);
  });

  it("summarizes a map node's cache status from its instances", async () => {
    const cacheDir = tempDir();
    const sq = task({ name: "sq", inputs: { x: t.int() }, outputs: { y: t.int() }, cache: { version: "1" } }, ({ x }) => ({ y: x * x }));
    const wf = workflow({ name: "squares", inputs: { xs: t.list(t.int()) }, outputs: { ys: t.list(t.int()) } }, ({ xs }) => ({
      ys: map(sq)({ x: xs }).y,
    }));
    expect((await wf.run({ xs: [1, 2] }, { cacheDir })).nodes["map-sq"]!.cache).toEqual({
      status: "POPULATED",
      reason: "all 2 instances POPULATED",
    });
    expect((await wf.run({ xs: [1, 2, 3] }, { cacheDir })).nodes["map-sq"]!.cache).toEqual({
      status: "POPULATED",
      reason: "2 HIT, 1 POPULATED",
    });
    expect((await wf.run({ xs: [3, 2, 1] }, { cacheDir })).nodes["map-sq"]!.cache.status).toBe("HIT");
  });

  it("marks tasks without cache: true as DISABLED", async () => {
    const plain = task({ name: "plain", inputs: {}, outputs: {} }, () => ({}));
    expect((await plain.run({}, { cacheDir: tempDir() })).nodes.plain!.cache).toMatchObject({ status: "DISABLED" });
  });
});

describe("the cache never serves a failed, invalid or vanished result", () => {
  it("writes no entry for a failed or invalid output", async () => {
    const cacheDir = tempDir();
    let fail = true;
    const sometimes = task({ name: "sometimes", inputs: {}, outputs: { n: t.int() }, cache: { version: "1" } }, () =>
      fail ? ({ n: Number.NaN } as { n: number }) : { n: 1 },
    );
    await expect(sometimes.run({}, { cacheDir })).rejects.toSatisfy(isExecutionFailedError);
    fail = false;
    const ok = await sometimes.run({}, { cacheDir });
    expect(ok.nodes.sometimes!.cache).toMatchObject({ status: "POPULATED", reason: "no cached result for task sometimes yet" });
  });

  it("misses, saying why, when a cached output's blob is gone", async () => {
    const cacheDir = tempDir();
    const frame = task({ name: "frame", inputs: {}, outputs: { df: t.dataframe({ as: "arrow" }) }, cache: { version: "1" } }, () => ({
      df: tableFromArrays({ x: Float64Array.from([1, 2]) }),
    }));
    await frame.run({}, { cacheDir });
    const blobDir = join(cacheDir, "blobs", "sha256");
    for (const d of readdirSync(blobDir)) rmSync(join(blobDir, d), { recursive: true });
    const again = await frame.run({}, { cacheDir });
    expect(again.nodes.frame!.cache.status).toBe("POPULATED");
    expect(again.nodes.frame!.cache.reason).toMatch(/refer to blob sha256:\w+, which is no longer stored/);
    expect(again.outputs.df.numRows).toBe(2);
  });
});

/**
 * The default cache version is the hash of the task's code closure. These runs are
 * real processes against the built package, editing the source between runs as a
 * user would.
 */
describe("code-closure cache versions", () => {
  let dir: string;
  const cacheDir = () => join(dir, ".petrel");
  const write = (helper: string, unrelated: string, lib: string) => {
    writeFileSync(join(dir, "lib.mjs"), `export function scale(x) { return ${lib}; }\n`);
    writeFileSync(
      join(dir, "pipeline.mjs"),
      `import { task, t } from "petrel";
import { scale } from "./lib.mjs";
function normalize(x) { return ${helper}; }
function unrelated() { return ${unrelated}; }
const step = task({ name: "step", inputs: { x: t.int() }, outputs: { y: t.int() }, cache: true },
  ({ x }) => ({ y: scale(normalize(x)) }));
const run = await step.run({ x: 5 }, { cacheDir: ${JSON.stringify(join(dir, ".petrel"))} });
console.log(JSON.stringify({ y: run.outputs.y, cache: run.nodes.step.cache, unrelated: typeof unrelated }));
`,
    );
  };
  const go = async () => JSON.parse((await run(process.execPath, [join(dir, "pipeline.mjs")], { cwd: dir })).stdout) as {
    y: number;
    cache: { status: string; reason?: string };
  };

  beforeAll(() => {
    if (!existsSync(join(ROOT, "dist/kernel/index.js"))) throw new Error("dist/kernel/index.js is missing: run `npm run build` first");
    dir = mkdtempSync(join(tmpdir(), "petrel-closure-"));
    mkdirSync(join(dir, "node_modules"));
    symlinkSync(ROOT, join(dir, "node_modules", "petrel"), "dir");
  });

  it("hits when nothing changed, misses when a called helper changes, and ignores unrelated code", async () => {
    write("x + 1", "1", "x * 2");
    expect(await go()).toMatchObject({ y: 12, cache: { status: "POPULATED" } });
    expect(await go()).toMatchObject({ y: 12, cache: { status: "HIT" } });

    write("x + 1", "2", "x * 2"); // unrelated function edited
    expect(await go()).toMatchObject({ y: 12, cache: { status: "HIT" } });

    write("x + 2", "2", "x * 2"); // helper called by the task edited
    const changed = await go();
    expect(changed).toMatchObject({ y: 14, cache: { status: "POPULATED" } });
    expect(changed.cache.reason).toContain("code changed");

    write("x + 2", "2", "x * 3"); // helper in an imported module edited
    expect(await go()).toMatchObject({ y: 21, cache: { status: "POPULATED", reason: expect.stringContaining("code changed") } });
    expect(cacheDir()).toContain(dir);
  }, 60_000);
});
