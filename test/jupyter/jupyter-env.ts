// The environment the Jupyter protocol suites run in: Debian's Jupyter clients for
// /usr/bin/python3, and the kernelspec installed from the built CLI into a fresh
// prefix, with a notebook folder that has no node_modules (as users' folders).
import { execFile, spawnSync, type SpawnSyncReturns } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { kernelSpec, type NotebookOutput } from "../../kernel/jupyter/index.js";

/** Debian installs the Jupyter clients for this interpreter, not for whatever python3 is first on PATH. */
export const PYTHON = "/usr/bin/python3";
const MODULES = ["jupyter_client", "nbclient", "nbformat", "jupyter_kernel_test"];
/** What enables the suites. */
export const APT_HINT =
  "apt-get install -y jupyter-server jupyter-console python3-jupyter-client python3-nbclient python3-nbformat python3-jupyter-kernel-test";

export const PROJECT_ROOT = fileURLToPath(new URL("../..", import.meta.url));
const HERE = fileURLToPath(new URL(".", import.meta.url));
const CLI = join(PROJECT_ROOT, "dist", "cli", "kernel.js");

/** Whether /usr/bin/python3 has every client the suites use. */
export function jupyterAvailable(): boolean {
  const r = spawnSync(PYTHON, ["-c", `import ${MODULES.join(", ")}`], { stdio: "ignore" });
  return r.status === 0;
}

/** In CI the suites must run: a missing client fails them instead of skipping. */
export const IN_CI = process.env.CI === "true" || process.env.CI === "1";

/** A kernelspec prefix and a notebook folder, and the environment pointing Jupyter at them. */
export function installKernel(): { env: NodeJS.ProcessEnv; notebookDir: string } {
  const root = mkdtempSync(join(tmpdir(), "petrel-jupyter-"));
  const prefix = join(root, "prefix");
  const notebookDir = join(root, "notebook");
  mkdirSync(notebookDir);
  const r = spawnSync(process.execPath, [CLI, "kernel", "install", "--prefix", prefix], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`petrel kernel install failed (is dist/ built? npm run build): ${r.stderr}${r.stdout}`);
  const share = join(prefix, "share", "jupyter");
  const tslabTs = createRequire(createRequire(join(PROJECT_ROOT, "package.json")).resolve("tslab")).resolve("@tslab/typescript-for-tslab/package.json");
  return {
    notebookDir,
    env: {
      ...process.env,
      JUPYTER_PATH: share,
      JUPYTER_DATA_DIR: share,
      JUPYTER_RUNTIME_DIR: join(root, "runtime"),
      PETREL_NOTEBOOK_DIR: notebookDir,
      PETREL_HOME: join(root, "petrel-home"),
      PETREL_TYPESCRIPT_VERSION: (JSON.parse(readFileSync(tslabTs, "utf8")) as { version: string }).version,
      PETREL_NODE_VERSION: process.versions.node,
      PYTHONDONTWRITEBYTECODE: "1",
    },
  };
}

/** Runs `python3 -m unittest -v <module>` from this folder; resolves with its exit code and output. */
export function runUnittest(module: string, env: NodeJS.ProcessEnv, timeoutMs: number): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(PYTHON, ["-m", "unittest", "-v", module], { cwd: HERE, env, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
      resolve({ code, output: `${stdout}${stderr}` });
    });
  });
}

/** Writes an nbformat 4 notebook whose code cells are `sources`. */
export function writeNotebook(file: string, sources: readonly string[]): void {
  const cells = sources.map((source) => ({ cell_type: "code", metadata: {}, outputs: [], execution_count: null, source }));
  writeFileSync(file, JSON.stringify({ nbformat: 4, nbformat_minor: 5, metadata: {}, cells }));
}

/** What a cell showed as its value: the text/plain of its execute_result, if it has one. */
export function resultText(outputs: readonly NotebookOutput[]): string | undefined {
  const result = outputs.find((o) => o.output_type === "execute_result");
  return result ? String((result.data as Record<string, unknown>)["text/plain"]) : undefined;
}

/** The Node flags the kernelspec starts the kernel with. */
export function kernelNodeFlags(): string[] {
  return kernelSpec().argv.filter((a) => a.startsWith("--") && a !== "--connection-file");
}

/**
 * Runs a notebook with the built kernel's `runNotebook` in a child Node started with
 * `flags`; it exits non-zero if a cell failed, and its stdout ends with the last cell's
 * text/plain value.
 */
export function runNotebookInNode(notebook: string, flags: readonly string[]): SpawnSyncReturns<string> {
  const index = join(PROJECT_ROOT, "dist", "kernel", "jupyter", "index.js");
  if (!existsSync(index)) throw new Error("dist/ does not exist: run `npm run build` first (npm test does).");
  const script = join(dirname(notebook), "run-notebook.mjs");
  writeFileSync(
    script,
    `import { runNotebook } from ${JSON.stringify(index)};
const run = await runNotebook(process.argv[2]);
const result = run.notebook.cells.at(-1).outputs.find((o) => o.output_type === "execute_result");
run.close();
if (run.error) throw new Error(run.error.evalue);
console.log(result?.data?.["text/plain"] ?? "");
`,
  );
  return spawnSync(process.execPath, [...flags, script, notebook], { encoding: "utf8", timeout: 240_000, maxBuffer: 64 * 1024 * 1024 });
}
