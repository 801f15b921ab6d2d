// The built package, consumed the three ways users consume it: an ES module
// script, a CommonJS script and a tslab notebook. Each consumer lives in a
// fresh directory whose node_modules/petrel links to this project, and runs in
// its own `node` process, so nothing from vitest's module graph leaks in.
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterEach, beforeAll, describe, expect, it } from "vitest";

const PROJECT_ROOT = fileURLToPath(new URL("../..", import.meta.url));
const BUILT_ENTRY = join(PROJECT_ROOT, "dist", "kernel", "index.js");
const CHILD_TIMEOUT_MS = 25_000;

/** The same two-node workflow in every consumer; it must yield y = 4. */
const PIPELINE = `
const add = task(
  { name: "add", inputs: { a: t.int(), b: t.int() }, outputs: { sum: t.int() } },
  async ({ a, b }) => ({ sum: a + b }),
);
const wf = workflow({ name: "wf", inputs: { x: t.int() }, outputs: { y: t.int() } }, ({ x }) => {
  const s = add({ a: x, b: 1 });
  return { y: add({ a: s.sum, b: 2 }).sum };
});
`;

const ESM_SCRIPT = `
import { task, workflow, t } from "petrel";
${PIPELINE}
const run = await wf.run({ x: 1 }, { cache: false });
console.log(JSON.stringify({ y: run.outputs.y }));
`;

// No top-level await in CommonJS; require() of the ES module build works on
// Node >= 20.19 as long as nothing in its graph uses top-level await.
const CJS_SCRIPT = `
const { task, workflow, t } = require("petrel");
${PIPELINE}
(async () => {
  const run = await wf.run({ x: 1 }, { cache: false });
  console.log(JSON.stringify({ y: run.outputs.y }));
})().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
`;

// Wires tslab's converter and executor the way tslab's own kernel does
// (tslab/dist/main.js startKernel), minus the ZeroMQ server. Both use the
// working directory as the notebook's root, as a kernel started there would.
const TSLAB_SCRIPT = `
const { createRequire } = require("node:module");
const { format } = require("node:util");
const projectRequire = createRequire(require("node:path").join(process.argv[2], "package.json"));
const { createConverter } = projectRequire("tslab/dist/converter.js");
const { createExecutor } = projectRequire("tslab/dist/executor.js");

const cells = [
  ${JSON.stringify(`import { task, workflow, t } from "petrel";\n${PIPELINE}`)},
  "const run = await wf.run({ x: 1 }, { cache: false });\\nrun.outputs.y",
];

(async () => {
  const node = createConverter({ isJS: false, isBrowser: false });
  const convs = {
    node,
    get browser() { throw new Error("browser cells are not used here"); },
    close: () => node.close(),
  };
  // What the kernel would send to the notebook as output and as errors.
  const printed = [];
  const errors = [];
  const executor = createExecutor(process.cwd(), convs, {
    log: (...args) => printed.push(format(...args)),
    error: (...args) => errors.push(format(...args)),
  });
  try {
    const ok = [];
    for (const cell of cells) ok.push(await executor.execute(cell));
    console.log(JSON.stringify({ ok, printed, errors, y: executor.locals.run?.outputs?.y }));
  } finally {
    executor.close();
  }
})().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
`;

const consumers: string[] = [];

/** A fresh directory with node_modules/petrel linked to this project. */
function createConsumer(fileName: string, source: string): string {
  const dir = mkdtempSync(join(tmpdir(), "petrel-consumer-"));
  consumers.push(dir);
  mkdirSync(join(dir, "node_modules"));
  symlinkSync(PROJECT_ROOT, join(dir, "node_modules", "petrel"), "dir");
  writeFileSync(join(dir, fileName), source);
  return dir;
}

/** Runs `node fileName ...args` in dir and returns its stdout's last line. */
async function runNode(dir: string, fileName: string, args: string[] = []): Promise<string> {
  try {
    const { stdout } = await promisify(execFile)(process.execPath, [fileName, ...args], {
      cwd: dir,
      timeout: CHILD_TIMEOUT_MS,
    });
    return stdout.trim().split("\n").at(-1) ?? "";
  } catch (error) {
    const { stdout = "", stderr = "" } = error as { stdout?: string; stderr?: string };
    throw new Error(`node ${fileName} failed in ${dir}\n--- stdout\n${stdout}\n--- stderr\n${stderr}`);
  }
}

describe("the built package", () => {
  beforeAll(() => {
    if (!existsSync(BUILT_ENTRY)) {
      throw new Error(`${BUILT_ENTRY} does not exist: run \`npm run build\` first (npm test does).`);
    }
  });

  afterEach(() => {
    // rmSync removes the node_modules/petrel symlink itself, never its target.
    for (const dir of consumers.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it("imports into an ES module script and runs a workflow", async () => {
    const dir = createConsumer("main.mjs", ESM_SCRIPT);
    expect(JSON.parse(await runNode(dir, "main.mjs"))).toEqual({ y: 4 });
  });

  it("requires from a CommonJS script and runs a workflow", async () => {
    const dir = createConsumer("main.cjs", CJS_SCRIPT);
    expect(JSON.parse(await runNode(dir, "main.cjs"))).toEqual({ y: 4 });
  });

  it("runs a workflow defined and executed in tslab notebook cells", async () => {
    const dir = createConsumer("kernel.cjs", TSLAB_SCRIPT);
    expect(JSON.parse(await runNode(dir, "kernel.cjs", [PROJECT_ROOT]))).toEqual({
      ok: [true, true],
      printed: ["4"],
      errors: [],
      y: 4,
    });
  });
});
