// A bundle loads in a fresh `node` process with no notebook or source file around,
// and its workflow's local run there gives the same output hashes as in the
// session that built it, with the same cache versions: a result cached there is a
// hit in the bundle. The child imports the built package (dist/) from a project
// directory whose node_modules links petrel and the packages the bundle needs.
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { buildBundle, literalHash, type AnyTask, type AnyWorkflow, type Bundle, type NodeRecord, type RunRecord } from "../../kernel/index.js";
import { PROJECT_ROOT, createNotebook, createProjectDir, type Notebook } from "./notebook.js";

const CHILD_TIMEOUT_MS = 25_000;

/** Loads the bundle, then runs the workflow once per cache directory; prints versions, output hashes and cache statuses. */
const LOADER = `
import { readFileSync } from "node:fs";
import { literalHash, loadBundle } from "petrel";

const [bundleFile, name, inputs, ...cacheDirs] = process.argv.slice(2);
const bundle = await loadBundle(readFileSync(bundleFile));
const wf = bundle.workflows.get(name);
const statuses = (nodes) => Object.fromEntries(Object.values(nodes).flatMap((n) =>
  n.kind === "task" ? [[n.id, n.cache.status]] : n.kind === "map" ? (n.children ?? []).map((c) => [c.id, c.cache.status]) : []));
const runs = [];
for (const cacheDir of cacheDirs) {
  const run = await wf.run(JSON.parse(inputs), { cacheDir });
  runs.push({
    outputs: Object.fromEntries(Object.entries(run.record.outputs).map(([k, v]) => [k, literalHash(v)])),
    cache: statuses(run.record.nodes),
  });
}
console.log(JSON.stringify({
  hash: bundle.hash,
  versions: Object.fromEntries([...bundle.tasks].map(([n, t]) => [n, t.spec.cache.version])),
  runs,
}));
`;

interface ChildReport {
  hash: string;
  versions: Record<string, string>;
  runs: { outputs: Record<string, string>; cache: Record<string, string> }[];
}

const dirs: string[] = [];
const notebooks: Notebook[] = [];
afterEach(() => {
  for (const nb of notebooks.splice(0)) nb.close();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}

/** Writes the bundle into a fresh project and runs the loader there in its own `node`. */
async function runInFreshProcess(bundle: Bundle, workflow: string, inputs: object, cacheDirs: string[], packages: string[]): Promise<ChildReport> {
  const dir = createProjectDir(packages, "petrel-bundle-child-");
  dirs.push(dir);
  writeFileSync(join(dir, "app.bundle"), bundle.bytes());
  writeFileSync(join(dir, "load.mjs"), LOADER);
  try {
    const { stdout } = await promisify(execFile)(process.execPath, ["load.mjs", "app.bundle", workflow, JSON.stringify(inputs), ...cacheDirs], {
      cwd: dir,
      timeout: CHILD_TIMEOUT_MS,
    });
    return JSON.parse(stdout.trim().split("\n").at(-1)!) as ChildReport;
  } catch (error) {
    const { stdout = "", stderr = "" } = error as { stdout?: string; stderr?: string };
    throw new Error(`node load.mjs failed in ${dir}\n--- stdout\n${stdout}\n--- stderr\n${stderr}`);
  }
}

function outputHashes(record: RunRecord): Record<string, string> {
  return Object.fromEntries(Object.entries(record.outputs ?? {}).map(([k, v]) => [k, literalHash(v)]));
}

function taskNodes(record: RunRecord): NodeRecord[] {
  return Object.values(record.nodes).flatMap((n) => (n.kind === "task" ? [n] : n.kind === "map" ? (n.children ?? []) : []));
}

function versionsOf(tasks: Iterable<unknown>): Record<string, string> {
  return Object.fromEntries([...tasks].map((t) => [(t as AnyTask).name, (t as AnyTask).spec.cache.version]));
}

describe("a bundle in a fresh node process", () => {
  beforeAll(() => {
    if (!existsSync(join(PROJECT_ROOT, "dist", "kernel", "index.js"))) {
      throw new Error("dist/kernel/index.js does not exist: run `npm run build` first (npm test does).");
    }
  });

  it("runs notebooks/examples/training.ts's workflow to the same output hashes, hitting the source run's cache", async () => {
    const { training } = await import("../../notebooks/examples/training.js");
    const bundle = buildBundle([training], { entry: join(PROJECT_ROOT, "notebooks", "examples", "training.ts") });
    const inputs = { rows: 2_000 };
    const sourceCache = tempDir("petrel-bundle-cache-");
    const local = await training.run(inputs, { cacheDir: sourceCache });

    const child = await runInFreshProcess(bundle, "training", inputs, [tempDir("petrel-bundle-cache-"), sourceCache], ["danfojs-node"]);

    expect(child.hash).toBe(bundle.hash);
    expect(child.versions).toEqual(versionsOf(training.entities.tasks.values()));
    const [fresh, shared] = child.runs;
    expect(fresh!.outputs).toEqual(outputHashes(local.record));
    expect(Object.values(fresh!.cache).every((s) => s === "POPULATED")).toBe(true);
    expect(shared!.outputs).toEqual(outputHashes(local.record));
    expect(shared!.cache).toEqual(Object.fromEntries(taskNodes(local.record).map((n) => [n.id, "HIT"])));
  });

  it("runs a workflow built from notebook cells to the same output hashes, hitting the notebook's cache", async () => {
    const nb = createNotebook();
    notebooks.push(nb);
    await nb.runAll([
      `import { task, workflow, map, t } from "petrel";`,
      `const OFFSET = 10;\nfunction shift(xs: number[]): number[] { return xs.map((x) => x + OFFSET); }`,
      `const shifted = task({ name: "shifted", inputs: { xs: t.list(t.int()) }, outputs: { ys: t.list(t.int()) }, cache: true }, ({ xs }) => ({ ys: shift(xs) }));`,
      `const square = task({ name: "square", inputs: { x: t.int() }, outputs: { y: t.int() }, cache: true }, ({ x }) => ({ y: x * x }));`,
      `const total = task({ name: "total", inputs: { ys: t.list(t.int()) }, outputs: { sum: t.int(), label: t.string() }, cache: true },\n  ({ ys }) => ({ sum: ys.reduce((a, b) => a + b, 0), label: \`\${ys.length} squares\` }));`,
      `const pipeline = workflow({ name: "pipeline", inputs: { xs: t.list(t.int()) }, outputs: { sum: t.int(), label: t.string() } }, ({ xs }) => {\n  const { ys } = shifted({ xs });\n  const squares = map(square)({ x: ys });\n  const { sum, label } = total({ ys: squares.y });\n  return { sum, label };\n});`,
      `const run = await pipeline.run({ xs: [1, 2, 3] }, { cache: false });\nconsole.log(run.outputs);`,
    ]);
    const pipeline = nb.locals.pipeline as AnyWorkflow;
    const bundle = buildBundle({ pipeline }, { sources: nb.cells });
    expect(bundle.code).not.toContain("console.log");
    const inputs = { xs: [1, 2, 3] };
    const notebookCache = join(nb.dir, ".petrel");
    const local = await pipeline.run(inputs, { cacheDir: notebookCache });
    expect(local.outputs).toEqual({ sum: 11 * 11 + 12 * 12 + 13 * 13, label: "3 squares" });

    const child = await runInFreshProcess(bundle, "pipeline", inputs, [tempDir("petrel-bundle-cache-"), notebookCache], []);

    expect(child.versions).toEqual(versionsOf(pipeline.entities.tasks.values()));
    expect(child.runs[0]!.outputs).toEqual(outputHashes(local.record));
    expect(child.runs[1]!.outputs).toEqual(outputHashes(local.record));
    expect(Object.values(child.runs[1]!.cache)).toEqual(taskNodes(local.record).map(() => "HIT"));
  });
});
