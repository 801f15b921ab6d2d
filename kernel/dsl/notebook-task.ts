/**
 * `notebookTask()`: a Jupyter notebook as a typed task. Many teams' pipelines are
 * notebooks; this runs one as a node of a workflow, locally or on the backend, with
 * the same cache, retries and typed outputs as any task, papermill style:
 *
 * - The notebook (nbformat 4, TypeScript cells for the `petrel` kernel) has one code
 *   cell tagged `parameters` that assigns the defaults (`const rows = 1000;`), so it
 *   runs standalone in Jupyter. A run injects a cell right after it (tagged
 *   `injected-parameters`) that declares every input again with the run's value,
 *   with the keyword the parameters cell uses and a type annotation:
 *   `const rows: number = 500;`, `const runAt: Date = new Date("…");`. Scalars,
 *   lists, maps, structs and JSON become TypeScript literals; `t.file()` and
 *   `t.dir()` inputs become the local path (a string literal); a DataFrame (or any
 *   value holding one) is handed over loaded, as the task would receive it (danfo,
 *   or Arrow with `as: "arrow"`), through `globalThis[Symbol.for("petrel.notebook.inputs")]`.
 * - The notebook reports its outputs with `petrel.record(name, value)`, typed like
 *   task outputs. Recording an undeclared name fails the cell; a declared output
 *   that is never recorded fails the attempt, naming it.
 * - Every notebook task also outputs `notebook` (the executed .ipynb, outputs
 *   included) and `html` (a self-contained HTML rendering of it): `t.file()`s.
 * - The notebook runs headless in a child `node` process (the Petrel kernel's own
 *   engine, no Jupyter server), so a notebook task runs the same from a script, from
 *   a workflow run inside a Jupyter kernel, or in the backend's runtime process.
 *
 * Checked when the task is defined, not at 3 a.m.: the file exists and is a
 * notebook, it has a `parameters` cell, every input is assigned there (an input the
 * cell does not assign is an error, not a warning: the notebook could not run
 * standalone, or the name is a typo), every `record("name", …)` with a literal name
 * names a declared output, and, unless some call computes its name, every declared
 * output is recorded somewhere.
 *
 * Cache version (with `cache: true`): a hash of the code cells' sources (never their
 * outputs), which cell holds the parameters, and the interface. Re-running a notebook
 * whose code did not change hits the cache; editing a code cell misses it.
 *
 * @example
 * ```ts
 * import { notebookTask, t } from "petrel";
 *
 * const report = notebookTask({
 *   name: "report",
 *   path: "../report.ipynb",                 // relative to this file
 *   inputs: { rows: t.int(), seed: t.int() },
 *   outputs: { summary: t.float(), table: t.dataframe() },
 *   cache: true,
 * });
 * const run = await report.run({ rows: 500, seed: 7 });
 * run.outputs.table;    // the DataFrame the notebook recorded
 * run.outputs.html;     // the executed notebook as a page
 * ```
 */
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, extname, isAbsolute, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { errorGuard, PetrelError, stableStringify, type Literal, type LiteralMap, type LiteralType, type TypedInterface } from "../model/index.js";
import { bundleAssetPath, callerSite, declaredVariables, findRecordCalls, type BundleAsset, type CallSite, type DeclarationKeyword } from "../bundle/index.js";
import type { TaskContext } from "../local/index.js";
import { createFsBlobStore, createTypeEngine, sha256, type TypeEngine, type ValueHints } from "../types/index.js";
import { COMPILE_ERRORS, WorkflowCompileError } from "./errors.js";
import { checkName, compileInterface } from "./scope.js";
import { t, type FilePath, type Type, type TypeMap } from "./t.js";
import { task, hintsOf, type Task, type TaskFunction, type TaskOptions } from "./task.js";

/** The outputs every notebook task adds: the executed notebook and its HTML rendering. */
export type NotebookFiles = { notebook: Type<FilePath>; html: Type<FilePath> };

/** Output names a notebook task adds; a declared output cannot use them. */
export const NOTEBOOK_OUTPUTS = ["notebook", "html"] as const;

/** The tag of the cell holding the defaults (papermill's). */
export const PARAMETERS_TAG = "parameters";
/** The tag of the cell a run injects after it. */
export const INJECTED_PARAMETERS_TAG = "injected-parameters";

/** Options of `notebookTask()`: a task's options, plus where the notebook is. */
export interface NotebookTaskOptions<I extends TypeMap, O extends TypeMap> extends TaskOptions<I, O> {
  /**
   * The notebook (.ipynb): absolute, a `file:` URL, or relative to the file that
   * defines the task (in a notebook cell: the notebook's folder).
   */
  path: string | URL;
}

/** What a notebook task knows of its notebook. */
export interface NotebookInfo {
  /** The notebook's absolute path (in a loaded bundle: the shipped copy). */
  readonly path: string;
  /** Index (0-based, among all cells) of the cell tagged `parameters`. */
  readonly parametersCell: number;
  /** `sha256:` of the code cells' sources: what the cache version and the staleness check follow. */
  readonly codeHash: string;
  /** How the parameters cell declares each input. */
  readonly parameters: Readonly<Record<string, DeclarationKeyword>>;
}

/** A notebook task: a task whose outputs also hold `notebook` and `html`. */
export type NotebookTask<I extends TypeMap, O extends TypeMap> = Task<I, O & NotebookFiles> & {
  readonly notebook: NotebookInfo;
  /** The notebook's text as defined (outputs cleared): what a bundle ships. */
  readonly assets: readonly BundleAsset[];
};

/** Stable codes of NotebookTaskError. */
export const NOTEBOOK_TASK_ERRORS = {
  /** The notebook file does not exist. */
  NOTEBOOK_NOT_FOUND: "NOTEBOOK_NOT_FOUND",
  /** The file is not an nbformat 4 notebook, or not a TypeScript one. */
  NOT_A_NOTEBOOK: "NOT_A_NOTEBOOK",
  /** No code cell is tagged `parameters`. */
  NO_PARAMETERS_CELL: "NO_PARAMETERS_CELL",
  /** An input the parameters cell does not assign. */
  UNASSIGNED_INPUT: "UNASSIGNED_INPUT",
  /** `record` of a name that is not a declared output (at definition or at run time). */
  UNDECLARED_OUTPUT: "UNDECLARED_OUTPUT",
  /** A declared output no `record` call in the notebook names (definition). */
  OUTPUT_NEVER_RECORDED: "OUTPUT_NEVER_RECORDED",
  /** A declared output named `notebook` or `html`. */
  RESERVED_OUTPUT: "RESERVED_OUTPUT",
  /** The notebook's code changed since the task was defined. */
  NOTEBOOK_CHANGED: "NOTEBOOK_CHANGED",
  /** A cell failed: the message carries the notebook's own error and the cell. */
  NOTEBOOK_FAILED: "NOTEBOOK_FAILED",
  /** The notebook ran to the end without recording a declared output. */
  OUTPUT_NOT_RECORDED: "OUTPUT_NOT_RECORDED",
  /** The runner process could not run the notebook (crashed, not built). */
  RUNNER_FAILED: "RUNNER_FAILED",
} as const;

/** A NotebookTaskError code. */
export type NotebookTaskErrorCode = (typeof NOTEBOOK_TASK_ERRORS)[keyof typeof NOTEBOOK_TASK_ERRORS];

/** Structured fields of a NotebookTaskError. */
export interface NotebookTaskErrorFields {
  task?: string;
  /** The notebook file. */
  file?: string;
  /** 1-based position of the cell among all cells of the notebook. */
  cell?: number;
  input?: string;
  output?: string;
}

/**
 * A notebook task is invalid (at definition: missing file, no parameters cell, an
 * undeclared `record` name, …) or its notebook failed (at run time: a cell threw, an
 * output was never recorded). The message names the notebook, the cell and the name.
 */
export class NotebookTaskError extends PetrelError {
  override name = "NotebookTaskError";
  declare readonly code: NotebookTaskErrorCode;
  readonly task?: string;
  readonly file?: string;
  readonly cell?: number;
  readonly input?: string;
  readonly output?: string;

  constructor(code: NotebookTaskErrorCode, message: string, fields: NotebookTaskErrorFields = {}, options?: { cause?: unknown }) {
    super(code, message, { ...fields }, options);
    Object.assign(this, fields);
  }
}

/** Guard for NotebookTaskError across realms. */
export const isNotebookTaskError = errorGuard<NotebookTaskError>("NotebookTaskError");

/** One input as the runner receives it. */
export interface NotebookRunInput {
  type: LiteralType;
  hints: ValueHints;
  literal: Literal;
  /** How the parameters cell declares it; the injected cell uses the same keyword. */
  keyword: DeclarationKeyword;
}

/** What the runner process (`kernel/jupyter/notebook-task.ts`) is asked to do: its request file. */
export interface NotebookRunRequest {
  task: string;
  /** The notebook's file name, for messages and the page title. */
  label: string;
  /** The notebook to run (a copy the runner may rewrite). */
  notebook: string;
  /** The folder cells run in: the notebook's. */
  cwd: string;
  parametersCell: number;
  inputs: Record<string, NotebookRunInput>;
  /** The declared outputs `record` may set. */
  outputs: Record<string, LiteralType>;
  /** A filesystem blob store shared with the caller: inputs' and recorded values' blobs. */
  blobDir: string;
  /** Where to write the executed notebook, its HTML and the result. */
  executedNotebook: string;
  html: string;
  result: string;
}

/** What the runner process reports: its result file. */
export interface NotebookRunResult {
  /** Recorded outputs, as literals (blobs in `blobDir`). */
  outputs: LiteralMap;
  /** Declared outputs never recorded. */
  missing: string[];
  /** The failing cell, when one failed: `cell` is its index among the notebook's cells (not counting the injected one). */
  error?: { cell: number; injected: boolean; executionCount?: number; ename: string; evalue: string; traceback: string[] };
  /** Code cells run (the injected one included). */
  cellsRun: number;
  durationMs: number;
}

/** Work directories of successful runs are removed this long after (the engine reads the output files first). */
const CLEANUP_DELAY_MS = 60_000;
/** The runner's stderr kept for error messages. */
const MAX_STDERR_CHARS = 20_000;
/** Languages a notebook may declare: the kernel runs TypeScript (and JavaScript). */
const KERNEL_LANGUAGES = ["typescript", "javascript", "ts", "js"];

/** An nbformat 4 cell, as far as notebook tasks read it. */
interface Cell {
  cell_type: string;
  source: string | string[];
  metadata?: Record<string, unknown>;
  outputs?: unknown[];
  execution_count?: number | null;
  id?: string;
}
interface Notebook {
  cells: Cell[];
  metadata?: Record<string, unknown>;
  nbformat: number;
  nbformat_minor: number;
}

const sourceOf = (cell: Cell): string => (Array.isArray(cell.source) ? cell.source.join("") : typeof cell.source === "string" ? cell.source : "");

/** Defines a task that runs a notebook; see the module comment. */
export function notebookTask<I extends TypeMap, O extends TypeMap>(options: NotebookTaskOptions<I, O>): NotebookTask<I, O> {
  const site = callerSite();
  if (typeof options !== "object" || options === null) {
    throw new WorkflowCompileError(COMPILE_ERRORS.INVALID_OPTION, "notebookTask(): the argument must be an options object");
  }
  const name = checkName(options.name, "notebookTask()");
  const where = `notebook task ${name}`;
  const { path: requested, ...taskOptions } = options;
  const inputs = (options.inputs ?? {}) as I;
  const outputs = (options.outputs ?? {}) as O;
  for (const reserved of NOTEBOOK_OUTPUTS) {
    if (typeof outputs === "object" && outputs !== null && reserved in outputs) {
      throw new NotebookTaskError(
        NOTEBOOK_TASK_ERRORS.RESERVED_OUTPUT,
        `${where}: output ${reserved} is reserved: every notebook task outputs the executed notebook as "notebook" and its HTML as "html"; name yours differently`,
        { task: name, output: reserved },
      );
    }
  }
  const allOutputs = { ...outputs, notebook: t.file({ format: "ipynb" }), html: t.file({ format: "html" }) } as O & NotebookFiles;
  const iface = compileInterface(inputs, allOutputs, where);
  const file = resolveNotebookPath(requested, site, name, where);
  const definition = readDefinition(file, name, where, inputs, outputs);
  const cacheOptions = options.cache === true ? {} : options.cache === false || options.cache === undefined ? undefined : options.cache;
  const cache = cacheOptions
    ? { ...cacheOptions, version: cacheOptions.version ?? notebookVersion(definition, iface) }
    : false;
  const info: NotebookInfo = {
    path: file,
    parametersCell: definition.parametersCell,
    codeHash: definition.codeHash,
    parameters: definition.parameters,
  };
  const run = createRunner(name, info, iface, hintsOf(inputs), definition.text);
  const fn = ((values: Record<string, unknown>, ctx: TaskContext) => run(values, ctx)) as unknown as TaskFunction<I, O & NotebookFiles>;
  const defined = task<I, O & NotebookFiles>(
    {
      ...(taskOptions as TaskOptions<I, O>),
      outputs: allOutputs,
      cache,
      description: options.description ?? `Runs the notebook ${basename(file)}`,
    },
    fn,
  );
  Object.defineProperty(defined, "notebook", { value: Object.freeze(info), enumerable: true });
  Object.defineProperty(defined, "assets", { value: Object.freeze([Object.freeze({ path: file, text: definition.text })]), enumerable: true });
  return defined as NotebookTask<I, O>;
}

// ---- definition ----

/** Where the notebook is: a bundle's shipped copy, an absolute path, or relative to the defining file (or its source, for compiled files). */
function resolveNotebookPath(path: unknown, site: CallSite | undefined, name: string, where: string): string {
  let p: string;
  if (path instanceof URL) {
    p = fileURLToPath(path);
  } else if (typeof path === "string" && path.startsWith("file:")) {
    p = fileURLToPath(path);
  } else if (typeof path === "string" && path.trim() !== "") {
    p = path;
  } else {
    throw new WorkflowCompileError(COMPILE_ERRORS.INVALID_OPTION, `${where}: path must name the notebook (.ipynb), got ${JSON.stringify(path)}`);
  }
  const shipped = bundleAssetPath(site?.file, name, p);
  if (shipped) return shipped;
  if (isAbsolute(p)) return p;
  if (!site) return resolve(p);
  const candidates = [resolve(dirname(site.file), p)];
  const source = sourceMapSource(site.file);
  if (source) candidates.push(resolve(dirname(source), p));
  return candidates.find((c) => existsSync(c)) ?? candidates[0]!;
}

/** The original source of a compiled file (`dist/x.js` -> `x.ts`), from its source map: relative paths mean the same from either. */
function sourceMapSource(file: string): string | undefined {
  try {
    const map = JSON.parse(readFileSync(`${file}.map`, "utf8")) as { sources?: string[]; sourceRoot?: string };
    const first = map.sources?.[0];
    return first ? resolve(dirname(file), map.sourceRoot ?? "", first) : undefined;
  } catch {
    return undefined;
  }
}

interface Definition {
  /** The notebook as shipped and run: outputs and execution counts cleared. */
  text: string;
  parametersCell: number;
  codeHash: string;
  parameters: Record<string, DeclarationKeyword>;
}

/** Reads and checks the notebook against the interface; see the module comment for what is checked. */
function readDefinition(file: string, task: string, where: string, inputs: TypeMap, outputs: TypeMap): Definition {
  const label = basename(file);
  const fail = (code: NotebookTaskErrorCode, message: string, fields: NotebookTaskErrorFields = {}): never => {
    throw new NotebookTaskError(code, `${where}: ${message}`, { task, file, ...fields });
  };
  const nb = parseNotebook(file, (code, message) => fail(code, message));
  const params = nb.cells.findIndex((c) => c.cell_type === "code" && cellTags(c).includes(PARAMETERS_TAG));
  if (params < 0) {
    fail(
      NOTEBOOK_TASK_ERRORS.NO_PARAMETERS_CELL,
      `${label} has no code cell tagged "${PARAMETERS_TAG}": tag the cell that assigns the inputs' defaults (JupyterLab: the property inspector, Cell Tags), so each run can set them (${file})`,
    );
  }
  const declared = declaredVariables(sourceOf(nb.cells[params]!));
  const parameters: Record<string, DeclarationKeyword> = {};
  for (const input of Object.keys(inputs)) {
    const keyword = declared.get(input);
    if (!keyword) {
      fail(
        NOTEBOOK_TASK_ERRORS.UNASSIGNED_INPUT,
        `input ${input} has no assignment in the parameters cell (cell ${params + 1} of ${label}), which declares ${[...declared.keys()].join(", ") || "nothing"}; add a default such as \`const ${input} = …;\` so the notebook also runs on its own`,
        { cell: params + 1, input },
      );
    }
    parameters[input] = keyword!;
  }
  const declaredOutputs = Object.keys(outputs);
  const codeCells = nb.cells.map((c, i) => ({ c, i })).filter(({ c }) => c.cell_type === "code");
  const calls = findRecordCalls(codeCells.map(({ c }) => sourceOf(c)));
  for (const call of calls) {
    if (call.name === undefined || declaredOutputs.includes(call.name)) continue;
    const cell = codeCells[call.cell]!.i + 1;
    const reserved = (NOTEBOOK_OUTPUTS as readonly string[]).includes(call.name);
    fail(
      NOTEBOOK_TASK_ERRORS.UNDECLARED_OUTPUT,
      `${label}, cell ${cell}, line ${call.line}: record(${JSON.stringify(call.name)}, …) ${reserved ? "uses a name reserved for the task's own outputs" : "records an output the task does not declare"} (declared outputs: ${declaredOutputs.join(", ") || "none"})`,
      { cell, output: call.name },
    );
  }
  if (calls.every((c) => c.name !== undefined)) {
    const never = declaredOutputs.filter((o) => !calls.some((c) => c.name === o));
    if (never.length > 0) {
      fail(
        NOTEBOOK_TASK_ERRORS.OUTPUT_NEVER_RECORDED,
        `${label} never records declared output${never.length > 1 ? "s" : ""} ${never.join(", ")}: add petrel.record(${JSON.stringify(never[0])}, value) to a cell, or drop the output`,
        { output: never[0]! },
      );
    }
  }
  const cleared = clearOutputs(nb);
  return {
    text: `${JSON.stringify(cleared, null, 1)}\n`,
    parametersCell: params,
    codeHash: codeHash(cleared),
    parameters,
  };
}

/** Parses an .ipynb file; `fail` reports a missing file or one that is not a TypeScript nbformat 4 notebook. */
function parseNotebook(file: string, fail: (code: NotebookTaskErrorCode, message: string) => never): Notebook {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return fail(NOTEBOOK_TASK_ERRORS.NOTEBOOK_NOT_FOUND, code === "ENOENT" ? `notebook ${file} does not exist` : `cannot read notebook ${file}: ${(e as Error).message}`);
  }
  let nb: Partial<Notebook>;
  try {
    nb = JSON.parse(text) as Partial<Notebook>;
  } catch (e) {
    return fail(NOTEBOOK_TASK_ERRORS.NOT_A_NOTEBOOK, `${file} is not a notebook: it is not JSON (${(e as Error).message})`);
  }
  if (typeof nb !== "object" || nb === null || !Array.isArray(nb.cells) || nb.nbformat !== 4) {
    return fail(NOTEBOOK_TASK_ERRORS.NOT_A_NOTEBOOK, `${file} is not an nbformat 4 notebook (it needs a "cells" list and "nbformat": 4)`);
  }
  const meta = (nb.metadata ?? {}) as { kernelspec?: { language?: unknown }; language_info?: { name?: unknown } };
  const language = meta.kernelspec?.language ?? meta.language_info?.name;
  if (typeof language === "string" && !KERNEL_LANGUAGES.includes(language.toLowerCase())) {
    return fail(NOTEBOOK_TASK_ERRORS.NOT_A_NOTEBOOK, `${file} is a ${language} notebook; notebook tasks run TypeScript notebooks for the petrel kernel`);
  }
  return nb as Notebook;
}

function cellTags(cell: Cell): string[] {
  const tags = cell.metadata?.tags;
  return Array.isArray(tags) ? tags.filter((x): x is string => typeof x === "string") : [];
}

/** The notebook without outputs and execution counts: what ships and runs (outputs are the run's to make). */
function clearOutputs(nb: Notebook): Notebook {
  return {
    ...nb,
    cells: nb.cells.map((c) => (c.cell_type === "code" ? { ...c, outputs: [], execution_count: null } : c)),
  };
}

/** A hash of the code cells' sources, in order: what defines the notebook's behaviour. */
function codeHash(nb: Notebook): string {
  return sha256(stableStringify(nb.cells.filter((c) => c.cell_type === "code").map((c) => sourceOf(c))));
}

/** The default cache version: the code, where the parameters go, and the interface. */
function notebookVersion(definition: Definition, iface: TypedInterface): string {
  return sha256(stableStringify({ notebookTask: 1, code: definition.codeHash, parametersCell: definition.parametersCell, interface: iface }));
}

// ---- running ----

let runnerEntry: string | undefined;
/** The runner's compiled entry: next to this module in dist/, or dist/ of the package when running from sources. */
function findRunner(): string {
  if (runnerEntry) return runnerEntry;
  for (const candidate of ["../jupyter/notebook-task.js", "../../dist/kernel/jupyter/notebook-task.js"]) {
    const file = fileURLToPath(new URL(candidate, import.meta.url));
    if (existsSync(file)) return (runnerEntry = file);
  }
  throw new NotebookTaskError(
    NOTEBOOK_TASK_ERRORS.RUNNER_FAILED,
    `the notebook runner (dist/kernel/jupyter/notebook-task.js) is missing next to ${fileURLToPath(import.meta.url)}: build Petrel (npm run build)`,
  );
}

/** Work directories to remove when the process exits, if their timer has not yet. */
const pendingCleanups = new Set<string>();
let exitHook = false;
function scheduleCleanup(dir: string): void {
  pendingCleanups.add(dir);
  if (!exitHook) {
    exitHook = true;
    process.once("exit", () => {
      for (const d of pendingCleanups) rmSync(d, { recursive: true, force: true });
    });
  }
  setTimeout(() => {
    pendingCleanups.delete(dir);
    rmSync(dir, { recursive: true, force: true });
  }, CLEANUP_DELAY_MS).unref();
}

let engine: TypeEngine | undefined;

/** The task's function: runs the notebook in a child process and turns what it recorded back into values. */
function createRunner(
  name: string,
  info: NotebookInfo,
  iface: TypedInterface,
  inputHints: Record<string, ValueHints>,
  text: string,
): (values: Record<string, unknown>, ctx: TaskContext) => Promise<Record<string, unknown>> {
  const label = basename(info.path);
  const where = `notebook task ${name}`;
  const recorded = Object.fromEntries(Object.entries(iface.outputs).filter(([k]) => !(NOTEBOOK_OUTPUTS as readonly string[]).includes(k)).map(([k, v]) => [k, v.type]));
  return async (values, ctx) => {
    checkUnchanged(name, info, where);
    const work = mkdtempSync(join(tmpdir(), "petrel-notebook-"));
    let keep = false;
    try {
      const blobDir = join(work, "blobs");
      const blobs = createFsBlobStore(blobDir);
      const types = (engine ??= createTypeEngine());
      const inputs: Record<string, NotebookRunInput> = {};
      for (const [k, v] of Object.entries(iface.inputs)) {
        const hints = inputHints[k] ?? {};
        const literal = types.toLiteral(values[k] ?? null, v.type, { blobs, where: `input ${k} of ${where}`, hints });
        inputs[k] = { type: v.type, hints, literal, keyword: info.parameters[k] ?? "const" };
      }
      const stem = basename(label, extname(label)) || "notebook";
      mkdirSync(join(work, "source"));
      mkdirSync(join(work, "out"));
      const request: NotebookRunRequest = {
        task: name,
        label,
        notebook: join(work, "source", label),
        cwd: dirname(info.path),
        parametersCell: info.parametersCell,
        inputs,
        outputs: recorded,
        blobDir,
        executedNotebook: join(work, "out", `${stem}.ipynb`),
        html: join(work, "out", `${stem}.html`),
        result: join(work, "result.json"),
      };
      writeFileSync(request.notebook, text);
      const requestFile = join(work, "request.json");
      writeFileSync(requestFile, JSON.stringify(request));
      const { code, signal, stderr } = await spawnRunner(requestFile, request.cwd, ctx);
      let result: NotebookRunResult;
      try {
        result = JSON.parse(readFileSync(request.result, "utf8")) as NotebookRunResult;
      } catch {
        keep = true;
        throw systemFailure(
          new NotebookTaskError(
            NOTEBOOK_TASK_ERRORS.RUNNER_FAILED,
            `${where}: the notebook runner for ${label} ${signal ? `was killed (${signal})` : `exited with code ${String(code)}`} before reporting a result${stderr.trim() ? `:\n${stderr.trim()}` : ""}`,
            { task: name, file: info.path },
          ),
        );
      }
      if (result.error) {
        keep = true;
        throw notebookFailure(result.error, name, info, where, request.executedNotebook);
      }
      if (result.missing.length > 0) {
        keep = true;
        const missing = result.missing;
        throw nonRetryable(
          new NotebookTaskError(
            NOTEBOOK_TASK_ERRORS.OUTPUT_NOT_RECORDED,
            `${where}: ${label} ran to the end without recording output${missing.length > 1 ? "s" : ""} ${missing.join(", ")} (declared: ${Object.keys(recorded).join(", ")}); call petrel.record(${JSON.stringify(missing[0])}, value) on every path through the notebook (the executed notebook: ${request.executedNotebook})`,
            { task: name, file: info.path, output: missing[0]! },
          ),
        );
      }
      ctx.log(`ran ${label}: ${result.cellsRun} code cells in ${(result.durationMs / 1000).toFixed(1)} s`);
      const out: Record<string, unknown> = {};
      for (const [k, type] of Object.entries(recorded)) {
        // Arrow tables: handed on as the bytes the notebook recorded, with no danfo round trip.
        out[k] = types.toValue(result.outputs[k]!, type, { blobs, where: `output ${k} of ${where}`, hints: arrowHints(type) });
      }
      out.notebook = request.executedNotebook;
      out.html = request.html;
      return out;
    } finally {
      // Failed runs keep their executed notebook for people to read (the messages give its path), not their data.
      if (keep) rmSync(join(work, "blobs"), { recursive: true, force: true });
      else scheduleCleanup(work);
    }
  };
}

/** The notebook on disk must still have the code the task was defined with (its cache version says so). */
function checkUnchanged(name: string, info: NotebookInfo, where: string): void {
  const nb = parseNotebook(info.path, (code, message) => {
    throw nonRetryable(new NotebookTaskError(code, `${where}: ${message}`, { task: name, file: info.path }));
  });
  if (codeHash(nb) !== info.codeHash) {
    throw nonRetryable(
      new NotebookTaskError(
        NOTEBOOK_TASK_ERRORS.NOTEBOOK_CHANGED,
        `${where}: the code of ${info.path} changed since the task was defined; define it again (re-run its cell, or re-import its module) so its cache version follows the new code`,
        { task: name, file: info.path },
      ),
    );
  }
}

interface RunnerExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
}

function spawnRunner(requestFile: string, cwd: string, ctx: TaskContext): Promise<RunnerExit> {
  const entry = findRunner();
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [entry, requestFile], { cwd, stdio: ["ignore", "pipe", "pipe"], env: process.env });
    let stderr = "";
    const keep = (chunk: Buffer) => {
      stderr = (stderr + chunk.toString("utf8")).slice(-MAX_STDERR_CHARS);
    };
    child.stdout.on("data", keep);
    child.stderr.on("data", keep);
    const onAbort = () => child.kill("SIGKILL");
    const signal = ctx.signal;
    if (signal.aborted) onAbort();
    else signal.addEventListener("abort", onAbort, { once: true });
    child.on("error", (e) => {
      signal.removeEventListener("abort", onAbort);
      reject(systemFailure(new NotebookTaskError(NOTEBOOK_TASK_ERRORS.RUNNER_FAILED, `cannot start the notebook runner: ${e.message}`, {}, { cause: e })));
    });
    child.on("close", (code, sig) => {
      signal.removeEventListener("abort", onAbort);
      resolvePromise({ code, signal: sig, stderr });
    });
  });
}

/** A failed cell as the attempt's error: the notebook's own error and traceback, the cell, and where the executed notebook is. */
function notebookFailure(error: NonNullable<NotebookRunResult["error"]>, name: string, info: NotebookInfo, where: string, executed: string): NotebookTaskError {
  const label = basename(info.path);
  const cell = error.cell + 1;
  const at = error.injected ? `the injected parameters cell (after cell ${info.parametersCell + 1})` : `cell ${cell}${error.executionCount !== undefined ? ` [${error.executionCount}]` : ""}`;
  const traceback = stripAnsi(error.traceback.join("\n")).trim();
  const e = new NotebookTaskError(
    NOTEBOOK_TASK_ERRORS.NOTEBOOK_FAILED,
    `${where}: ${label} failed in ${at}: ${error.ename}: ${error.evalue} (the executed notebook: ${executed})`,
    { task: name, file: info.path, cell },
  );
  // The notebook's traceback, not this runner's frames, is what people need to see.
  e.stack = `${e.name}: ${e.message}\n${traceback}`;
  return e;
}

function stripAnsi(text: string): string {
  return text.replace(/\u001b\[[0-9;?]*[A-Za-z]/g, "");
}

/** Hints that hand every DataFrame in a type over as an Arrow table. */
function arrowHints(type: LiteralType): ValueHints {
  switch (type.kind) {
    case "dataframe":
      return { dataframe: "arrow" };
    case "list":
      return { items: arrowHints(type.items) };
    case "map":
      return { values: arrowHints(type.values) };
    case "struct":
      return { fields: Object.fromEntries(Object.entries(type.fields).map(([k, v]) => [k, arrowHints(v)])) };
    case "optional":
      return arrowHints(type.type);
    case "union":
      return { variants: type.variants.map(arrowHints) };
    default:
      return {};
  }
}

/** Same failure on every attempt: not worth retrying (the local engine reads this flag). */
function nonRetryable<E extends object>(e: E): E {
  (e as { petrelRetryable?: boolean }).petrelRetryable = false;
  return e;
}

/** Infrastructure, not the notebook: a system failure, retried on its own budget. */
function systemFailure<E extends object>(e: E): E {
  (e as { petrelSystem?: boolean }).petrelSystem = true;
  return e;
}
