// The bundle builder on notebook cells and files: what ships, what does not, the
// hash, and the errors. Cells run in-process through a minimal notebook that
// records them the way the Petrel kernel does (test/bundle/notebook.ts).
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import {
  BUNDLE_ERRORS,
  buildBundle,
  cellFileName,
  codeClosure,
  createCellSources,
  decodeBundle,
  isBundleError,
  loadBundle,
  type AnyTask,
  type AnyWorkflow,
  type BundleError,
} from "../../kernel/index.js";
import { PROJECT_ROOT, createNotebook, type Notebook } from "./notebook.js";

const open: Notebook[] = [];
afterEach(() => {
  for (const nb of open.splice(0)) nb.close();
});

async function notebook(cells: readonly string[], packages: readonly string[] = []): Promise<Notebook> {
  const nb = createNotebook({ packages });
  open.push(nb);
  await nb.runAll(cells);
  return nb;
}

const IMPORTS = `import { task, workflow, launchPlan, t } from "petrel";`;
const HELPERS = `const FACTOR = 2;\nfunction scale(x: number): number { return x * FACTOR; }`;
const DOUBLE = `const double = task({ name: "double", inputs: { x: t.int() }, outputs: { y: t.int() }, cache: true }, ({ x }) => ({ y: scale(x) }));`;
const WF = `const wf = workflow({ name: "wf", inputs: { x: t.int() }, outputs: { y: t.int() } }, ({ x }) => ({ y: double({ x }).y }));`;

/** The BundleError `fn` throws. */
function bundleError(fn: () => unknown): BundleError {
  try {
    fn();
  } catch (e) {
    if (isBundleError(e)) return e;
    throw e;
  }
  throw new Error("expected a BundleError, nothing was thrown");
}

describe("what a bundle holds", () => {
  it("ships the latest definition of each name across cells", async () => {
    const nb = await notebook([IMPORTS, HELPERS, DOUBLE, `const FACTOR = 3;`, WF]);
    const bundle = buildBundle({ wf: nb.locals.wf }, { sources: nb.cells });
    expect(bundle.code).toContain("const FACTOR = 3;");
    expect(bundle.code).not.toContain("FACTOR = 2");
    expect(bundle.manifest.declarations).toEqual(["FACTOR", "scale", "double", "wf"]);
    expect(bundle.sources.find((s) => s.name === "FACTOR")).toMatchObject({ label: "cell [4]", line: 1 });
    const loaded = await loadBundle(bundle, { dir: join(nb.dir, ".petrel", "bundles") });
    expect((await loaded.workflows.get("wf")!.run({ x: 5 }, { cache: false })).outputs).toEqual({ y: 15 });
  });

  it("never ships or re-runs the cells' side effects", async () => {
    const nb = await notebook([
      IMPORTS,
      HELPERS,
      DOUBLE,
      WF,
      `console.log("printed by a cell");\n(globalThis as any).__petrelSideEffects = ((globalThis as any).__petrelSideEffects ?? 0) + 1;`,
      `const result = await wf.run({ x: 1 }, { cache: false });\nresult.outputs.y;`,
    ]);
    const counter = () => (globalThis as { __petrelSideEffects?: number }).__petrelSideEffects;
    const before = counter();
    const bundle = buildBundle({ wf: nb.locals.wf }, { sources: nb.cells });
    expect(bundle.code).not.toMatch(/console\.log|__petrelSideEffects|await|result/);
    await loadBundle(bundle, { dir: join(nb.dir, ".petrel", "bundles") });
    expect(counter()).toBe(before);
  });

  it("holds exactly the helpers, constants, classes and enums needed, transitively, with types erased", async () => {
    const nb = await notebook([
      IMPORTS,
      `interface Options { k: number }\ntype Pair = [number, number];\nenum Mode { Add, Mul }`,
      `const DEFAULTS: Options = { k: 3 } as const;\nconst UNUSED = { big: "not needed" };`,
      `class Scaler {\n  constructor(private readonly k: number) {}\n  apply(x: number, mode: Mode): number { return mode === Mode.Mul ? x * this.k : x + this.k; }\n}`,
      `function make(): Scaler { return new Scaler(DEFAULTS.k); }\nfunction unrelated(p: Pair): number { return p[0]; }`,
      `const apply = task({ name: "apply", inputs: { x: t.int() }, outputs: { y: t.int() } }, ({ x }) => ({ y: make().apply(x, Mode.Mul) }));`,
    ]);
    const bundle = buildBundle({ apply: nb.locals.apply }, { sources: nb.cells });
    expect([...bundle.manifest.declarations].sort()).toEqual(["DEFAULTS", "Mode", "Scaler", "apply", "make"]);
    expect(bundle.code).not.toMatch(/interface|Pair|UNUSED|unrelated|: number/);
    // Dependencies come first: DEFAULTS and Scaler before make, make before apply.
    const at = (name: string) => bundle.manifest.declarations.indexOf(name);
    expect(at("DEFAULTS")).toBeLessThan(at("make"));
    expect(at("Scaler")).toBeLessThan(at("make"));
    expect(at("make")).toBeLessThan(at("apply"));
    expect(bundle.manifest).toMatchObject({ exports: { apply: { kind: "task", name: "apply" } }, entities: { tasks: ["apply"] } });
    const loaded = await loadBundle(bundle, { dir: join(nb.dir, ".petrel", "bundles") });
    expect((await loaded.tasks.get("apply")!.run({ x: 4 }, { cache: false })).outputs).toEqual({ y: 12 });
  });

  it("inlines relatively imported files, renaming clashes, and keeps npm imports with their installed versions", async () => {
    const nb = createNotebook({ packages: ["danfojs-node"] });
    open.push(nb);
    mkdirSync(join(nb.dir, "lib"));
    writeFileSync(join(nb.dir, "lib", "inner.ts"), `export function round(x: number): number { return Math.round(x * 10) / 10; }\n`);
    writeFileSync(
      join(nb.dir, "lib", "stats.ts"),
      `import { round } from "./inner.js";\nexport { round as roundTenth } from "./inner.js";\nexport const LIMIT = 100;\nexport function mean(xs: number[]): number { return round(xs.reduce((a, b) => a + b, 0) / xs.length); }\nexport function unused(): void {}\n`,
    );
    await nb.runAll([
      IMPORTS,
      `import { DataFrame } from "danfojs-node";\nimport { mean, LIMIT } from "./lib/stats.js";\nimport * as stats from "./lib/stats.js";`,
      `function round(x: number): number { return Math.round(x); }`,
      `const avg = task({ name: "avg", inputs: { n: t.int() }, outputs: { m: t.float(), r: t.int(), cols: t.int() } }, ({ n }) => ({\n  m: Math.min(mean([n, n + 1]), LIMIT),\n  r: round(stats.roundTenth(n + 0.44)),\n  cols: new DataFrame({ a: [n] }).shape[1]!,\n}));`,
    ]);
    const bundle = buildBundle({ avg: nb.locals.avg }, { sources: nb.cells });
    const danfo = JSON.parse(readFileSync(join(PROJECT_ROOT, "node_modules", "danfojs-node", "package.json"), "utf8")) as { version: string };
    const petrel = JSON.parse(readFileSync(join(PROJECT_ROOT, "package.json"), "utf8")) as { version: string };
    expect(bundle.manifest.packages).toEqual({ "danfojs-node": danfo.version, petrel: petrel.version });
    expect(bundle.manifest.files).toEqual(["lib/inner.ts", "lib/stats.ts"]);
    expect(bundle.code).toContain(`import { DataFrame } from "danfojs-node";`);
    expect(bundle.code).not.toMatch(/from "\.\/|unused/);
    // The cell's round keeps its name; the file's is renamed where it is declared and used.
    expect(bundle.code).toContain("function round(x) { return Math.round(x); }");
    expect(bundle.code).toContain("function round$1(x)");
    expect(bundle.code).toMatch(/return round\$1\(xs\.reduce/);
    const loaded = await loadBundle(bundle, { dir: join(nb.dir, ".petrel", "bundles") });
    expect((await loaded.tasks.get("avg")!.run({ n: 3 }, { cache: false })).outputs).toEqual({ m: 3.5, r: 3, cols: 1 });
  });

  it("builds the same way from a .ts file, mapping imports of Petrel's own sources to petrel", async () => {
    const { training } = await import("../../notebooks/examples/training.js");
    const bundle = buildBundle([training], { entry: join(PROJECT_ROOT, "notebooks/examples/training.ts") });
    expect(bundle.code).toContain(`import { map, t, task, workflow } from "petrel";`);
    expect(bundle.code).not.toContain("kernel/index");
    expect(bundle.manifest.files).toEqual(["training.ts"]);
    expect(bundle.manifest.entities).toEqual({ tasks: ["clean", "generate", "pick", "summarize", "train"], workflows: ["training"], launchPlans: [] });
    expect(bundle.manifest.specs.tasks.map((s) => s.cache.version)).toEqual(
      bundle.manifest.entities.tasks.map((name) => (training.entities.tasks.get(name) as AnyTask).spec.cache.version),
    );
    // Without sources or entry, the file the tasks were defined in.
    expect(buildBundle([training]).hash).toBe(bundle.hash);
  });

  it("bundles a launch plan with its workflow and tasks", async () => {
    const nb = await notebook([IMPORTS, HELPERS, DOUBLE, WF, `const nightly = launchPlan({ name: "nightly", workflow: wf, defaults: { x: 4 }, schedule: { cron: "0 3 * * *" } });`]);
    const bundle = buildBundle([nb.locals.nightly as never], { sources: nb.cells });
    expect(bundle.manifest.exports).toEqual({ nightly: { kind: "launch_plan", name: "nightly" } });
    expect(bundle.manifest.entities).toEqual({ tasks: ["double"], workflows: ["wf"], launchPlans: ["nightly"] });
    expect(bundle.manifest.specs.launchPlans[0]).toMatchObject({ name: "nightly", schedule: { kind: "cron", expression: "0 3 * * *" } });
    const loaded = await loadBundle(bundle, { dir: join(nb.dir, ".petrel", "bundles") });
    expect((await loaded.launchPlans.get("nightly")!.run({}, { cache: false })).outputs).toEqual({ y: 8 });
  });

  it("follows helpers across cells in the cache version too, latest definition first", async () => {
    const nb = await notebook([IMPORTS, HELPERS, DOUBLE]);
    const double = nb.locals.double as AnyTask;
    const closure = codeClosure(double.fn as never, double.site);
    expect(closure.declarations).toEqual([`${cellFileName(2, nb.dir)}#scale`, `${cellFileName(2, nb.dir)}#FACTOR`]);
    expect(double.spec.cache.version).toBe(closure.hash);
    await nb.run(`const FACTOR = 4;`);
    expect(codeClosure(double.fn as never, double.site).declarations).toContain(`${cellFileName(4, nb.dir)}#FACTOR`);
  });

  it("records the version of the code it ships when a helper changed after the task's spec was compiled", async () => {
    const nb = await notebook([IMPORTS, HELPERS, DOUBLE, WF, `double.spec.cache.version;`, `const FACTOR = 7;`]);
    const double = nb.locals.double as AnyTask;
    const bundle = buildBundle({ wf: nb.locals.wf }, { sources: nb.cells });
    expect(bundle.code).toContain("const FACTOR = 7;");
    const shipped = bundle.manifest.specs.tasks[0]!.cache.version;
    expect(shipped).not.toBe(double.spec.cache.version); // compiled while FACTOR was 2
    expect(shipped).toBe(codeClosure(double.fn as never, double.site).hash);
  });

  it("follows names through nested scopes: a helper shadowed in one function and used free in another ships", async () => {
    const nb = await notebook([
      IMPORTS,
      `const offset = 1;
class Base { base(): number { return offset; } }
class Derived extends Base {}`,
      `function norm(x: number): number { return x / 2; }`,
      `const calc = task({ name: "calc", inputs: { x: t.int() }, outputs: { y: t.float() } }, ({ x }) => {
  const local = (norm: number) => norm + 1;
  outer: for (const i of [1]) { if (i) break outer; }
  try { throw new Error("x"); } catch (offset) { void offset; }
  return { y: local(norm(x)) + new Derived().base() };
});`,
    ]);
    const bundle = buildBundle({ calc: nb.locals.calc }, { sources: nb.cells });
    expect([...bundle.manifest.declarations].sort()).toEqual(["Base", "Derived", "calc", "norm", "offset"]);
    const loaded = await loadBundle(bundle, { dir: join(nb.dir, ".petrel", "bundles") });
    expect((await loaded.tasks.get("calc")!.run({ x: 4 }, { cache: false })).outputs).toEqual({ y: 4 });
  });
});

describe("the bundle hash", () => {
  const build = async (cells: readonly string[]) => {
    const nb = await notebook(cells);
    return buildBundle({ wf: nb.locals.wf }, { sources: nb.cells });
  };

  it("is the same when built twice from unchanged cells", async () => {
    const nb = await notebook([IMPORTS, HELPERS, DOUBLE, WF]);
    const a = buildBundle({ wf: nb.locals.wf }, { sources: nb.cells });
    const b = buildBundle({ wf: nb.locals.wf }, { sources: nb.cells });
    expect(b.hash).toBe(a.hash);
    expect(a.hash).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(decodeBundle(a.bytes(), a.hash)).toMatchObject({ code: a.code, manifest: a.manifest });
  });

  it("ignores unrelated cells and re-runs of unchanged cells, and changes with a helper", async () => {
    const base = await build([IMPORTS, HELPERS, DOUBLE, WF]);
    const unrelated = await build([IMPORTS, `const notes = "anything";\nconsole.log(notes);`, HELPERS, `function other() { return 1; }`, DOUBLE, WF]);
    const rerun = await build([IMPORTS, HELPERS, DOUBLE, HELPERS, WF]);
    const helper = await build([IMPORTS, HELPERS.replace("x * FACTOR", "x * FACTOR + 1"), DOUBLE, WF]);
    const constant = await build([IMPORTS, HELPERS, DOUBLE, WF, `const FACTOR = 5;`]);
    expect(unrelated.hash).toBe(base.hash);
    expect(rerun.hash).toBe(base.hash);
    expect(helper.hash).not.toBe(base.hash);
    expect(constant.hash).not.toBe(base.hash);
    // The task's cache version follows the helper as well, so the manifest differs, not only the code.
    expect(helper.manifest.specs.tasks[0]!.cache.version).not.toBe(base.manifest.specs.tasks[0]!.cache.version);
  });
});

describe("bad input", () => {
  it("names a requested name that is not defined", async () => {
    const nb = await notebook([IMPORTS, HELPERS, DOUBLE, WF]);
    const e = bundleError(() => buildBundle({ trainig: undefined }, { sources: nb.cells }));
    expect(e).toMatchObject({ code: BUNDLE_ERRORS.UNDEFINED_NAME, declaration: "trainig" });
    expect(e.message).toContain("trainig is not defined");
    expect(bundleError(() => buildBundle({ scale: nb.locals.scale }, { sources: nb.cells }))).toMatchObject({
      code: BUNDLE_ERRORS.NOT_AN_ENTITY,
      declaration: "scale",
    });
  });

  it("names a name the closure uses that nothing defines, and who uses it", async () => {
    const nb = await notebook([IMPORTS, `const broken = task({ name: "broken", inputs: {}, outputs: {} }, () => { helpr(); return {}; });`]);
    const e = bundleError(() => buildBundle({ broken: nb.locals.broken }, { sources: nb.cells }));
    expect(e).toMatchObject({ code: BUNDLE_ERRORS.UNDEFINED_NAME, declaration: "helpr", file: "cell [2]", path: ["broken", "helpr"] });
    expect(e.message).toMatch(/^helpr is not defined: broken \(cell \[2\], line 1\) uses it/);
  });

  it("refuses a closure that reaches a value computed in the session, naming the declaration and why", async () => {
    const nb = await notebook([
      IMPORTS,
      `async function readRows(): Promise<number[]> { return [1, 2, 3]; }\nconst rows = await readRows();`,
      `function total(): number { return rows.reduce((a, b) => a + b, 0); }`,
      `const sum = task({ name: "sum", inputs: {}, outputs: { n: t.int() } }, () => ({ n: total() }));`,
    ]);
    const e = bundleError(() => buildBundle({ sum: nb.locals.sum }, { sources: nb.cells }));
    expect(e).toMatchObject({ code: BUNDLE_ERRORS.UNSHIPPABLE, declaration: "rows", file: "cell [2]", line: 2, path: ["sum", "total", "rows"] });
    expect(e.reason).toMatch(/await \(await readRows\(\)\)/);
    expect(e.message).toMatch(/^rows \(cell \[2\], line 2\) cannot be shipped: its value comes from await/);
  });

  it("refuses live objects such as a server or socket, unless the declaration is marked @ship", async () => {
    const cells = [
      IMPORTS,
      `import { createServer } from "node:net";\nconst server = createServer();`,
      `const cache = new Map<string, number>([["a", 1]]);\nconst started = new Date();`,
      `const uses = task({ name: "uses", inputs: {}, outputs: { n: t.int() } }, () => ({ n: cache.size + (server ? 1 : 0) }));`,
    ];
    const nb = await notebook(cells);
    const e = bundleError(() => buildBundle({ uses: nb.locals.uses }, { sources: nb.cells }));
    expect(e).toMatchObject({ code: BUNDLE_ERRORS.UNSHIPPABLE, declaration: "server" });
    expect(e.reason).toContain("the result of calling createServer(...)");

    const marked = await notebook([cells[0]!, `import { createServer } from "node:net";\n/** @ship */\nconst server = createServer();`, cells[2]!, cells[3]!]);
    const bundle = buildBundle({ uses: marked.locals.uses }, { sources: marked.cells });
    expect(bundle.code).toContain("const server = createServer();");
    expect(bundle.code).toContain(`import { createServer } from "node:net";`);
    expect(bundle.manifest.packages).toEqual({ petrel: expect.any(String) }); // built-ins are not packages

    const dated = await notebook([IMPORTS, `const started = new Date();`, `const when = task({ name: "when", inputs: {}, outputs: { n: t.int() } }, () => ({ n: started.getTime() }));`]);
    expect(bundleError(() => buildBundle({ when: dated.locals.when }, { sources: dated.cells })).reason).toMatch(/new Date\(\) is the time the bundle loads/);
  });

  it("refuses an entity that a later cell redefined under a workflow that still uses the old one", async () => {
    const nb = await notebook([IMPORTS, HELPERS, DOUBLE, WF, DOUBLE.replace("scale(x)", "scale(x) + 1")]);
    const e = bundleError(() => buildBundle({ wf: nb.locals.wf }, { sources: nb.cells }));
    expect(e).toMatchObject({ code: BUNDLE_ERRORS.STALE_ENTITY, declaration: "double", file: "cell [5]" });
  });

  it("says which import does not exist", async () => {
    const cells = createCellSources({ dir: PROJECT_ROOT });
    cells.add(1, `import { task, t } from "petrel";\nimport { gone } from "./no-such-file.js";`);
    cells.add(2, `const x = task({ name: "x", inputs: {}, outputs: {} }, () => { gone(); return {}; });`);
    const fake = { kind: "task", name: "x", spec: {} } as unknown as AnyWorkflow;
    expect(bundleError(() => buildBundle({ x: fake }, { sources: cells }))).toMatchObject({ code: BUNDLE_ERRORS.UNRESOLVED_IMPORT });
  });

  it("refuses corrupted bytes and a wrong expected hash", async () => {
    const nb = await notebook([IMPORTS, HELPERS, DOUBLE, WF]);
    const bundle = buildBundle({ wf: nb.locals.wf }, { sources: nb.cells });
    const bytes = bundle.bytes();
    bytes[10] ^= 1;
    await expect(loadBundle(bytes, { expectedHash: bundle.hash })).rejects.toMatchObject({ code: BUNDLE_ERRORS.INVALID_BUNDLE });
    await expect(loadBundle(new TextEncoder().encode("{}"))).rejects.toMatchObject({ code: BUNDLE_ERRORS.INVALID_BUNDLE });
  });
});
