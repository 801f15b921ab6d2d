// Notebook tasks end to end: notebooks/report.ipynb runs as the task `report` of the
// workflow `reporting` (notebooks/examples/report.ts) locally, from a bundle in a
// fresh node process with no notebook file around, and on the backend; small
// notebooks made here cover the value kinds, the HTML page, and every bad input.
// Each headless notebook run starts the kernel engine in its own process (~2 s).
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { DataFrame } from "danfojs-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  buildBundle,
  fileSources,
  isNotebookTaskError,
  literalHash,
  notebookTask,
  t,
  type AnyTask,
  type NotebookInfo,
  type LiteralMap,
  type NotebookTaskError,
  type TypeMap,
} from "../../kernel/index.js";
import { failure } from "../local/failure.js";
import { nightlyReport, report, reporting } from "../../notebooks/examples/report.js";
import { createNotebook, createProjectDir, PROJECT_ROOT } from "../bundle/notebook.js";
import { DOMAIN, PROJECT, registerBundle, startEngineBackend, type EngineBackend } from "../engine/harness.js";

const ENTRY = join(PROJECT_ROOT, "notebooks", "examples", "report.ts");
const RUN_AT = "2024-05-01T02:00:00.000Z";
const ROWS = 500;
const SEED = 7;
const CHILD_TIMEOUT_MS = 60_000;

const dirs: string[] = [];
function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}
afterAll(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

beforeAll(() => {
  if (!existsSync(join(PROJECT_ROOT, "dist", "kernel", "jupyter", "notebook-task.js"))) {
    throw new Error("dist/kernel/jupyter/notebook-task.js does not exist: run `npm run build` first (npm test does).");
  }
});

/** A notebook's cells, for fixtures: code (optionally tagged) and markdown. */
type FixtureCell = { code: string; tags?: string[] } | { markdown: string };

/** Writes a TypeScript notebook for the petrel kernel. */
function writeNotebook(dir: string, name: string, cells: FixtureCell[]): string {
  const nb = {
    cells: cells.map((c) =>
      "code" in c
        ? { cell_type: "code", execution_count: null, metadata: c.tags ? { tags: c.tags } : {}, outputs: [], source: c.code }
        : { cell_type: "markdown", metadata: {}, source: c.markdown },
    ),
    metadata: { kernelspec: { name: "petrel", display_name: "TypeScript (Petrel)", language: "typescript" } },
    nbformat: 4,
    nbformat_minor: 4,
  };
  const file = join(dir, name);
  writeFileSync(file, JSON.stringify(nb, null, 1));
  return file;
}

/** What the report notebook computes, recomputed here: the average order value and the orders and revenue by region. */
function expectedReport(rows: number, seed: number): { summary: number; table: { region: string[]; orders: number[]; revenue: number[] } } {
  let a = seed >>> 0;
  const rand = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let r = Math.imul(a ^ (a >>> 15), 1 | a);
    r = (r + Math.imul(r ^ (r >>> 7), 61 | r)) ^ r;
    return ((r ^ (r >>> 14)) >>> 0) / 4294967296;
  };
  const regions = ["north", "south", "east", "west"];
  const totals = new Map<string, [number, number]>();
  let revenue = 0;
  for (let i = 0; i < rows; i++) {
    const region = regions[Math.floor(rand() * regions.length)]!;
    const amount = 5 + Math.floor(rand() * 496);
    const tot = totals.get(region) ?? [0, 0];
    totals.set(region, [tot[0] + 1, tot[1] + amount]);
    revenue += amount;
  }
  const sorted = [...totals].sort(([x], [y]) => (x < y ? -1 : 1));
  return {
    summary: Math.round((revenue / rows) * 100) / 100,
    table: { region: sorted.map(([r]) => r), orders: sorted.map(([, [n]]) => n), revenue: sorted.map(([, [, s]]) => s) },
  };
}

const hashes = (map: LiteralMap, names: string[]) => Object.fromEntries(names.map((k) => [k, literalHash(map[k]!)]));

/** The executed notebook a failed run keeps and names in its message (its work directory is removed with the test's). */
function keptNotebook(message: string): { cells: { cell_type: string; outputs?: { output_type: string; evalue?: string }[] }[] } {
  const file = /the executed notebook: (\S+?\.ipynb)/.exec(message)?.[1];
  expect(file, message).toBeDefined();
  dirs.push(dirname(dirname(file!)));
  return JSON.parse(readFileSync(file!, "utf8")) as ReturnType<typeof keptNotebook>;
}

function definitionError(define: () => unknown): NotebookTaskError {
  try {
    define();
  } catch (e) {
    if (isNotebookTaskError(e)) return e;
    throw e;
  }
  throw new Error("expected the definition to fail");
}

/** The local run of `reporting` the bundle tests compare against. */
let localOutputs: LiteralMap;

describe("the reporting workflow run locally", () => {
  it("gives the recorded outputs typed, the executed notebook with the injected parameters, and its HTML; a rerun hits the cache", async () => {
    const cacheDir = tempDir("petrel-nbtask-cache-");
    const run = await reporting.run({ runAt: new Date(RUN_AT), rows: ROWS, seed: SEED }, { cacheDir });
    localOutputs = run.record.outputs!;
    const expected = expectedReport(ROWS, SEED);

    expect(run.outputs.summary).toBe(expected.summary);
    const table = run.outputs.table;
    expect(table).toBeInstanceOf(DataFrame);
    expect(table.columns).toEqual(["region", "orders", "revenue"]);
    expect({ region: table["region"].values, orders: table["orders"].values, revenue: table["revenue"].values }).toEqual(expected.table);

    const executed = JSON.parse(readFileSync(run.outputs.notebook, "utf8")) as { cells: { cell_type: string; source: string; metadata: { tags?: string[] }; outputs?: { output_type: string }[] }[] };
    const code = executed.cells.filter((c) => c.cell_type === "code");
    const params = code.findIndex((c) => c.metadata.tags?.includes("parameters"));
    const injected = code[params + 1]!;
    expect(injected.metadata.tags).toEqual(["injected-parameters"]);
    expect(injected.source).toContain(`const rows: number = ${ROWS};`);
    expect(injected.source).toContain(`const seed: number = ${SEED};`);
    expect(injected.source).toContain(`const runAt: Date = new Date("${RUN_AT}");`);
    // Every cell after the parameters ran and has its outputs (tables, the summary, the recordings).
    for (const c of code.slice(params + 2)) expect(c.outputs!.length).toBeGreaterThan(0);
    expect(JSON.stringify(code.at(-1)!.outputs)).toContain(`recorded summary = ${expected.summary}`);

    const html = readFileSync(run.outputs.html, "utf8");
    expect(html).toMatch(/^<!DOCTYPE html>/);
    expect(html).toContain("<h1>Nightly sales report</h1>");
    expect(html).toContain('<table class="dataframe petrel-table">');
    expect(html).toContain(`<td>${expected.table.revenue[0]}</td>`);
    expect(html).toContain("parameters injected for this run");
    expect(html).not.toMatch(/<(script|link)\b/); // self-contained and inert

    const again = await reporting.run({ runAt: new Date(RUN_AT), rows: ROWS, seed: SEED }, { cacheDir });
    expect(run.nodes.report!.cache.status).toBe("POPULATED");
    expect(again.nodes.report!.cache.status).toBe("HIT");
    expect(hashes(again.record.outputs!, ["summary", "table"])).toEqual(hashes(localOutputs, ["summary", "table"]));
  }, 90_000);

  it("is scheduled nightly by the launch plan nightly_report, with the scheduled time as runAt", () => {
    expect(nightlyReport.spec).toMatchObject({ workflow: { name: "reporting" }, schedule: { kind: "cron", expression: "0 2 * * *", kickoffTimeInput: "runAt" } });
  });
});

describe("a notebook task's values and pages", () => {
  it("takes lists, structs, files and a DataFrame as inputs, records typed outputs, and escapes what cells print in its HTML", async () => {
    const dir = tempDir("petrel-nbtask-kinds-");
    const file = writeNotebook(dir, "kinds.ipynb", [
      { markdown: "# Kinds\nEvery kind of *input*, and `code`." },
      { code: 'import * as petrel from "petrel";\nimport * as dfd from "danfojs-node";\nimport { readFileSync } from "node:fs";' },
      {
        code: 'let scores = [1, 2];\nconst options = { label: "x", weight: 1 };\nconst notes = "notes.txt";\nconst raw = new dfd.DataFrame({ a: [1] });\nconst level: "low" | "high" = "low";\nconst when = new Date();',
        tags: ["parameters"],
      },
      {
        code: [
          'scores = scores.map((s) => s * 2);',
          'console.log("<script>alert(1)</script>");',
          'const text = readFileSync(notes, "utf8");',
          'const doubled = raw.mul(2) as dfd.DataFrame;',
          'petrel.record("total", scores.reduce((a, b) => a + b, 0) * options.weight);',
          'petrel.record("label", `${options.label}:${level}:${when.toISOString()}:${text.trim()}`);',
          'petrel.record("doubled", doubled);',
          'petrel.record("shape", { rows: raw.shape[0], cols: raw.shape[1] });',
        ].join("\n"),
      },
    ]);
    const kinds = notebookTask({
      name: "kinds",
      path: file,
      inputs: {
        scores: t.list(t.int()),
        options: t.struct({ label: t.string(), weight: t.float() }),
        notes: t.file(),
        raw: t.dataframe(),
        level: t.enum(["low", "high"]),
        when: t.datetime(),
      },
      outputs: { total: t.float(), label: t.string(), doubled: t.dataframe(), shape: t.struct({ rows: t.int(), cols: t.int() }) },
    });
    expect(kinds.spec.interface.outputs.notebook!.type).toEqual({ kind: "file", format: "ipynb" });
    const notes = join(dir, "input.txt");
    writeFileSync(notes, "hello\n");
    const run = await kinds.run(
      {
        scores: [3, 4],
        options: { label: "run", weight: 0.5 },
        notes,
        raw: new DataFrame({ a: [1, 2, 3], b: [10, 20, 30] }),
        level: "high",
        when: new Date("2024-02-03T04:05:06Z"),
      },
      { cache: false },
    );
    expect(run.outputs.total).toBe(7);
    expect(run.outputs.label).toBe("run:high:2024-02-03T04:05:06.000Z:hello");
    expect(run.outputs.shape).toEqual({ rows: 3, cols: 2 });
    expect(run.outputs.doubled["b"].values).toEqual([20, 40, 60]);

    const injected = (JSON.parse(readFileSync(run.outputs.notebook, "utf8")) as { cells: { source: string }[] }).cells[3]!.source;
    expect(injected).toContain("let scores: number[] = [3, 4];"); // the parameters cell's keyword: reassignable
    expect(injected).toContain('const options: { label: string; weight: number } = { label: "run", weight: 0.5 };');
    expect(injected).toContain('const level: "low" | "high" = "high";');
    expect(injected).toMatch(/const raw: import\("petrel"\)\.DanfoDataFrame = \(globalThis as any\)\[Symbol\.for\("petrel\.notebook\.inputs"\)\]\["raw"\];/);

    const html = readFileSync(run.outputs.html, "utf8");
    expect(html).toContain("&#60;script&#62;alert(1)&#60;/script&#62;");
    expect(html).not.toContain("<script>");
    expect(html).toContain("<p>Every kind of <em>input</em>, and <code>code</code>.</p>");
  }, 60_000);
});

describe("bundles of notebook tasks", () => {
  it("ship the notebook: the same sources give the same hash, a changed notebook another", () => {
    const a = buildBundle([reporting], { entry: ENTRY });
    const b = buildBundle([reporting], { entry: ENTRY });
    expect(a.hash).toBe(b.hash);
    expect(a.manifest.entityAssets).toEqual({ report: ["../report.ipynb"] });
    expect(JSON.parse(a.manifest.assets!["../report.ipynb"]!)).toMatchObject({ nbformat: 4 });
    expect(a.manifest.specs.tasks[0]!.cache.version).toBe(report.spec.cache.version);

    const dir = tempDir("petrel-nbtask-hash-");
    const cells: FixtureCell[] = [
      { code: 'import * as petrel from "petrel";\nconst n = 1;', tags: ["parameters"] },
      { code: 'petrel.record("m", n + 1);' },
    ];
    const source = join(dir, "tiny.ts");
    const text = 'import { notebookTask, t } from "petrel";\nexport const tiny = notebookTask({ name: "tiny", path: "./tiny.ipynb", inputs: { n: t.int() }, outputs: { m: t.int() }, cache: true });\n';
    const define = () => notebookTask({ name: "tiny", path: join(dir, "tiny.ipynb"), inputs: { n: t.int() }, outputs: { m: t.int() }, cache: true });
    const build = (task: ReturnType<typeof define>) => buildBundle([task], { sources: fileSources(source, text), root: dir });

    writeNotebook(dir, "tiny.ipynb", cells);
    const first = define();
    const base = build(first);
    expect(build(define()).hash).toBe(base.hash);
    expect(base.manifest.entityAssets).toEqual({ tiny: ["tiny.ipynb"] });

    // Outputs saved by Jupyter are not code: same cache version, same bundle.
    const withOutputs = JSON.parse(readFileSync(join(dir, "tiny.ipynb"), "utf8")) as { cells: { outputs: unknown[]; execution_count: number | null }[] };
    withOutputs.cells[1]!.outputs = [{ output_type: "stream", name: "stdout", text: "2\n" }];
    withOutputs.cells[1]!.execution_count = 2;
    writeFileSync(join(dir, "tiny.ipynb"), JSON.stringify(withOutputs));
    const saved = define();
    expect(saved.spec.cache.version).toBe(first.spec.cache.version);
    expect(build(saved).hash).toBe(base.hash);

    writeNotebook(dir, "tiny.ipynb", [cells[0]!, { code: 'petrel.record("m", n + 2);' }]);
    const edited = define();
    expect(edited.spec.cache.version).not.toBe(first.spec.cache.version);
    expect(build(edited).hash).not.toBe(base.hash);
  });

  it("defined in a notebook cell, find the notebook in the notebook's folder and ship from the cells", async () => {
    const nb = createNotebook();
    try {
      writeNotebook(nb.dir, "tiny.ipynb", [{ code: 'import * as petrel from "petrel";\nconst n = 1;', tags: ["parameters"] }, { code: 'petrel.record("m", n + 1);' }]);
      await nb.runAll([
        'import { notebookTask, t } from "petrel";',
        'const tiny = notebookTask({ name: "tiny", path: "tiny.ipynb", inputs: { n: t.int() }, outputs: { m: t.int() }, cache: true });',
      ]);
      const tiny = nb.locals.tiny as AnyTask & { notebook: NotebookInfo };
      expect(tiny.notebook.path).toBe(join(nb.dir, "tiny.ipynb"));
      const bundle = buildBundle({ tiny }, { sources: nb.cells });
      expect(bundle.manifest.entityAssets).toEqual({ tiny: ["tiny.ipynb"] });
      expect(bundle.manifest.specs.tasks[0]!.cache.version).toBe(tiny.spec.cache.version);
      expect(String(bundle)).toMatch(/assets: tiny\.ipynb \(\d+\.\d kB\)/);
    } finally {
      nb.close();
    }
  });

  it("load in a fresh node process without the notebook file and give the local run's output hashes", async () => {
    expect(localOutputs, "the local run's test must run first").toBeDefined();
    const bundle = buildBundle([reporting], { entry: ENTRY });
    const project = createProjectDir([], "petrel-nbtask-child-");
    dirs.push(project);
    writeFileSync(join(project, "app.bundle"), bundle.bytes());
    writeFileSync(
      join(project, "load.mjs"),
      `
import { readFileSync } from "node:fs";
import { literalHash, loadBundle } from "petrel";
const bundle = await loadBundle(readFileSync("app.bundle"));
const run = await bundle.workflows.get("reporting").run({ runAt: ${JSON.stringify(RUN_AT)}, rows: ${ROWS} }, { cacheDir: ".cache" });
console.log(JSON.stringify({
  hash: bundle.hash,
  notebook: bundle.tasks.get("report").notebook.path,
  outputs: Object.fromEntries(Object.entries(run.record.outputs).map(([k, v]) => [k, literalHash(v)])),
  html: readFileSync(run.outputs.html, "utf8").includes("petrel-table"),
}));
`,
    );
    let stdout: string;
    try {
      ({ stdout } = await promisify(execFile)(process.execPath, ["load.mjs"], { cwd: project, timeout: CHILD_TIMEOUT_MS }));
    } catch (error) {
      const { stdout: out = "", stderr = "" } = error as { stdout?: string; stderr?: string };
      throw new Error(`node load.mjs failed in ${project}\n--- stdout\n${out}\n--- stderr\n${stderr}`);
    }
    const child = JSON.parse(stdout.trim().split("\n").at(-1)!) as { hash: string; notebook: string; outputs: Record<string, string>; html: boolean };
    expect(child.hash).toBe(bundle.hash);
    // The shipped copy, written beside the loaded module: not notebooks/report.ipynb.
    expect(child.notebook.startsWith(join(project, ".petrel", "bundles"))).toBe(true);
    expect(child.notebook.endsWith("report.ipynb")).toBe(true);
    expect({ summary: child.outputs.summary, table: child.outputs.table }).toEqual(hashes(localOutputs, ["summary", "table"]));
    expect(child.html).toBe(true);
  }, 90_000);

  describe("on the backend", () => {
    let eb: EngineBackend;
    beforeAll(async () => {
      eb = await startEngineBackend({ noCatalog: true });
    }, 60_000);
    afterAll(async () => {
      await eb?.close();
    });

    it("run reporting as registered, with the recorded outputs and the executed notebook and HTML as files", async () => {
      expect(localOutputs, "the local run's test must run first").toBeDefined();
      await registerBundle(eb.backend, PROJECT, DOMAIN, buildBundle([reporting], { entry: ENTRY }));
      const name = await eb.execute({ workflow: "reporting" }, { runAt: { kind: "datetime", value: RUN_AT }, rows: { kind: "int", value: String(ROWS) } });
      const record = await eb.wait(name);
      expect(record.phase, JSON.stringify(record.error)).toBe("SUCCEEDED");
      const outputs = await eb.outputs(name);
      expect(hashes(outputs, ["summary", "table"])).toEqual(hashes(localOutputs, ["summary", "table"]));
      expect(outputs.summary).toEqual({ kind: "float", value: expectedReport(ROWS, SEED).summary });
      for (const [output, filename] of [["notebook", "report.ipynb"], ["html", "report.html"]] as const) {
        const literal = outputs[output]!;
        expect(literal).toMatchObject({ kind: "blob", blob: { format: "file", filename } });
      }
      const html = outputs.html as { kind: "blob"; blob: { hash: string } };
      const read = await eb.backend.deps.blobs.get(html.blob.hash);
      const chunks: Buffer[] = [];
      for await (const chunk of read!.body) chunks.push(chunk as Buffer);
      expect(Buffer.concat(chunks).toString("utf8")).toContain('<table class="dataframe petrel-table">');
    }, 120_000);
  });
});

describe("bad input", () => {
  let dir: string;
  beforeAll(() => {
    dir = tempDir("petrel-nbtask-bad-");
  });
  const ok: FixtureCell[] = [
    { code: 'import * as petrel from "petrel";' },
    { code: "const rows = 10;", tags: ["parameters"] },
    { code: 'petrel.record("total", rows * 2);' },
  ];
  const define = (path: string, outputs: TypeMap = { total: t.int() }) => () => notebookTask({ name: "bad", path, inputs: { rows: t.int() }, outputs });

  it("a notebook without a parameters cell is an error at definition, naming the file", () => {
    const file = writeNotebook(dir, "no-params.ipynb", [{ code: "const rows = 10;" }, { code: 'import { record } from "petrel";\nrecord("total", rows);' }]);
    const e = definitionError(define(file));
    expect(e.code).toBe("NO_PARAMETERS_CELL");
    expect(e.message).toContain('no-params.ipynb has no code cell tagged "parameters"');
    expect(e.file).toBe(file);
  });

  it("recording a name that is not a declared output is an error at definition, naming the file, the cell and the name", () => {
    const file = writeNotebook(dir, "undeclared.ipynb", [...ok, { markdown: "more" }, { code: 'import { record as save } from "petrel";\nconst x = 1;\nsave("totl", x);' }]);
    const e = definitionError(define(file));
    expect(e.code).toBe("UNDECLARED_OUTPUT");
    expect(e.message).toBe('notebook task bad: undeclared.ipynb, cell 5, line 3: record("totl", …) records an output the task does not declare (declared outputs: total)');
    expect({ cell: e.cell, output: e.output }).toEqual({ cell: 5, output: "totl" });
  });

  it("an input the parameters cell does not assign, an output never recorded, a reserved output name and a missing file are errors at definition", () => {
    const file = writeNotebook(dir, "ok.ipynb", ok);
    const unassigned = definitionError(() => notebookTask({ name: "bad", path: file, inputs: { rows: t.int(), seed: t.int() }, outputs: { total: t.int() } }));
    expect(unassigned.code).toBe("UNASSIGNED_INPUT");
    expect(unassigned.message).toContain("input seed has no assignment in the parameters cell (cell 2 of ok.ipynb), which declares rows");

    const never = definitionError(define(file, { total: t.int(), mean: t.float() }));
    expect(never.code).toBe("OUTPUT_NEVER_RECORDED");
    expect(never.message).toContain("ok.ipynb never records declared output mean");

    const reserved = definitionError(define(file, { total: t.int(), html: t.string() }));
    expect(reserved.code).toBe("RESERVED_OUTPUT");

    const missing = definitionError(define(join(dir, "nowhere.ipynb")));
    expect(missing.code).toBe("NOTEBOOK_NOT_FOUND");
    expect(missing.message).toContain(join(dir, "nowhere.ipynb"));

    writeFileSync(join(dir, "notes.ipynb"), "# not json");
    expect(definitionError(define(join(dir, "notes.ipynb"))).code).toBe("NOT_A_NOTEBOOK");
  });

  it("a declared output the notebook never records fails the run, naming it", async () => {
    const file = writeNotebook(dir, "sometimes.ipynb", [ok[0]!, ok[1]!, { code: 'if (rows > 100) petrel.record("total", rows);' }]);
    const err = await failure(define(file)().run({ rows: 5 }, { cache: false }));
    expect(err.failure.code).toBe("OUTPUT_NOT_RECORDED");
    expect(err.failure.retryable).toBe(false);
    expect(err.failure.message).toContain("sometimes.ipynb ran to the end without recording output total (declared: total)");
    expect(keptNotebook(err.failure.message).cells).toHaveLength(4);
  }, 60_000);

  it("a cell that throws fails the run with the notebook's own error and the cell", async () => {
    const file = writeNotebook(dir, "throws.ipynb", [
      ...ok.slice(0, 2),
      { markdown: "next" },
      { code: 'function check(n: number) {\n  if (n < 100) throw new RangeError(`rows must be at least 100, got ${n}`);\n}\ncheck(rows);' },
      ok[2]!,
    ]);
    const err = await failure(define(file)().run({ rows: 5 }, { cache: false }));
    expect(err.failure.code).toBe("NOTEBOOK_FAILED");
    expect(err.failure.message).toMatch(/throws\.ipynb failed in cell 4 \[\d+\]: RangeError: rows must be at least 100, got 5/);
    expect(err.failure.stack).toContain("at check (cell [");
    // The kept notebook holds the injected cell and the error where it happened (cell 4 is the 5th cell once injected).
    const failed = keptNotebook(err.failure.message).cells[4]!;
    expect(failed.outputs).toEqual([expect.objectContaining({ output_type: "error", evalue: "rows must be at least 100, got 5" })]);
  }, 60_000);

  it("recording an undeclared name computed at run time fails that cell, naming the declared outputs", async () => {
    const file = writeNotebook(dir, "computed.ipynb", [...ok, { code: 'for (const name of ["extra"]) petrel.record(name, 1);' }]);
    const err = await failure(define(file)().run({ rows: 5 }, { cache: false }));
    expect(err.failure.message).toContain("failed in cell 4");
    expect(err.failure.message).toContain('record("extra", …): extra is not a declared output of notebook task bad (declared: total)');
    keptNotebook(err.failure.message);
  }, 60_000);

  it("a notebook whose code changed since the definition is an error at run time, before anything runs", async () => {
    const file = writeNotebook(dir, "edited.ipynb", ok);
    const task = define(file)();
    writeNotebook(dir, "edited.ipynb", [...ok.slice(0, 2), { code: 'petrel.record("total", rows * 3);' }]);
    const err = await failure(task.run({ rows: 5 }, { cache: false }));
    expect(err.failure.code).toBe("NOTEBOOK_CHANGED");
    expect(err.failure.message).toContain("changed since the task was defined");
  });
});
