/**
 * The notebook-task runner: a small `node` entry that a notebook task's function
 * spawns (`node dist/kernel/jupyter/notebook-task.js request.json`) to run one
 * notebook headless through the Petrel kernel's own engine, so no process ever
 * nests a kernel session in another, whoever calls the task (a script, a local run
 * in a Jupyter kernel, the backend's runtime).
 *
 * It reads the request (see `NotebookRunRequest`), converts the inputs from their
 * literals, injects a cell declaring them right after the `parameters` cell,
 * collects what the notebook `record`s (converted to literals at once, blobs in
 * the shared store), runs every code cell, and writes the executed notebook, its
 * HTML rendering and the result (`NotebookRunResult`). A failing cell is a result,
 * not a crash; a crash (exit code other than 0, no result) is the runner's own.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { INJECTED_PARAMETERS_TAG, NOTEBOOK_TASK_ERRORS, NotebookTaskError, setRecordSink } from "../dsl/index.js";
import type { NotebookRunRequest, NotebookRunResult } from "../dsl/index.js";
import type { LiteralMap, LiteralType } from "../model/index.js";
import { createFsBlobStore, createTypeEngine, type ValueHints } from "../types/index.js";
import { readNotebook, runNotebook, type NotebookCell } from "./headless.js";
import { renderNotebookHtml } from "./notebook-html.js";

/** Where the injected cell finds inputs that have no literal form (DataFrames): `globalThis[NOTEBOOK_INPUTS_KEY][name]`. */
export const NOTEBOOK_INPUTS_KEY = Symbol.for("petrel.notebook.inputs");
/** The injected cell's id, for notebooks whose cells carry ids (nbformat 4.5). */
const INJECTED_CELL_ID = "petrel-injected-parameters";
/** Input values shown in the page's subtitle are cut to this many characters. */
const MAX_SUBTITLE_VALUE_CHARS = 40;

/** Runs the notebook a request describes, in this process; see the module comment. */
export async function runNotebookTask(request: NotebookRunRequest): Promise<NotebookRunResult> {
  const started = Date.now();
  const where = `notebook task ${request.task}`;
  const blobs = createFsBlobStore(request.blobDir);
  const engine = createTypeEngine();
  const values: Record<string, unknown> = {};
  for (const [name, input] of Object.entries(request.inputs)) {
    values[name] = engine.toValue(input.literal, input.type, { blobs, where: `input ${name} of ${where}`, hints: input.hints });
  }

  const notebook = readNotebook(request.notebook);
  const p = request.parametersCell;
  const injected: NotebookCell & { id?: string } = {
    cell_type: "code",
    metadata: { tags: [INJECTED_PARAMETERS_TAG] },
    source: injectedSource(request, values),
    outputs: [],
    execution_count: null,
  };
  if (notebook.cells.some((c) => typeof (c as { id?: unknown }).id === "string")) injected.id = INJECTED_CELL_ID;
  notebook.cells.splice(p + 1, 0, injected);
  writeFileSync(request.notebook, JSON.stringify(notebook, null, 1));

  const outputs: LiteralMap = {};
  const declared = Object.keys(request.outputs);
  (globalThis as Record<symbol, unknown>)[NOTEBOOK_INPUTS_KEY] = values;
  const restore = setRecordSink({
    record(name, value) {
      const type = request.outputs[name];
      if (!type) {
        throw new NotebookTaskError(
          NOTEBOOK_TASK_ERRORS.UNDECLARED_OUTPUT,
          `record(${JSON.stringify(name)}, …): ${name} is not a declared output of ${where} (declared: ${declared.join(", ") || "none"})`,
          { task: request.task, output: name },
        );
      }
      outputs[name] = engine.toLiteral(value, type, { blobs, where: `output ${name} of ${where}` });
    },
  });
  let run: Awaited<ReturnType<typeof runNotebook>>;
  try {
    run = await runNotebook(request.notebook, { cwd: request.cwd, allowErrors: false });
  } finally {
    restore();
  }
  run.close();

  const executed = run.notebook;
  executed.metadata = { ...(executed.metadata ?? {}), petrel: { task: request.task, notebook: request.label } };
  writeFileSync(request.executedNotebook, `${JSON.stringify(executed, null, 1)}\n`);
  const subtitle = `Notebook task ${request.task}${Object.keys(values).length ? ` · ${Object.entries(values).map(([k, v]) => `${k} = ${shortValue(v)}`).join(", ")}` : ""}`;
  writeFileSync(request.html, renderNotebookHtml(executed, { title: request.label, subtitle }));

  const result: NotebookRunResult = {
    outputs,
    missing: [],
    cellsRun: executed.cells.filter((c) => c.cell_type === "code" && typeof c.execution_count === "number").length,
    durationMs: Date.now() - started,
  };
  if (run.error) {
    const index = run.error.cell;
    result.error = {
      cell: index > p + 1 ? index - 1 : index,
      injected: index === p + 1,
      ...(typeof executed.cells[index]?.execution_count === "number" ? { executionCount: executed.cells[index]!.execution_count! } : {}),
      ename: run.error.ename,
      evalue: run.error.evalue,
      traceback: run.error.traceback,
    };
  } else {
    result.missing = declared.filter((name) => !(name in outputs));
  }
  return result;
}

/**
 * The injected cell: every input declared again with the run's value, with the
 * keyword the parameters cell uses and a type annotation (so `const rows = 1000`
 * there does not make `rows` the literal type 1000 here). Values with a TypeScript
 * literal form are written out; DataFrames are read from `NOTEBOOK_INPUTS_KEY`.
 */
export function injectedSource(request: Pick<NotebookRunRequest, "task" | "inputs">, values: Record<string, unknown>): string {
  const lines = [`// Parameters injected by Petrel for this run of notebook task ${request.task}.`];
  for (const [name, input] of Object.entries(request.inputs)) {
    const annotation = tsType(input.type, input.hints, true);
    const head = `${input.keyword} ${name}${annotation ? `: ${annotation}` : ""} = `;
    lines.push(
      holdsDataFrame(input.type)
        ? `${head}(globalThis as any)[Symbol.for("petrel.notebook.inputs")][${JSON.stringify(name)}];`
        : `${head}${tsExpression(values[name])};`,
    );
  }
  return lines.join("\n");
}

function holdsDataFrame(type: LiteralType): boolean {
  switch (type.kind) {
    case "dataframe":
      return true;
    case "list":
      return holdsDataFrame(type.items);
    case "map":
      return holdsDataFrame(type.values);
    case "struct":
      return Object.values(type.fields).some(holdsDataFrame);
    case "optional":
      return holdsDataFrame(type.type);
    case "union":
      return type.variants.some(holdsDataFrame);
    default:
      return false;
  }
}

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;
const propertyName = (key: string): string => (IDENTIFIER.test(key) && key !== "__proto__" ? key : JSON.stringify(key));

/** A value as a TypeScript expression (JSON-like values, bigints, non-finite numbers, Dates). */
export function tsExpression(value: unknown): string {
  if (value === null || value === undefined) return "null";
  if (typeof value === "number") {
    if (Number.isNaN(value)) return "NaN";
    if (!Number.isFinite(value)) return value > 0 ? "Infinity" : "-Infinity";
    return Object.is(value, -0) ? "-0" : String(value);
  }
  if (typeof value === "bigint") return `${value}n`;
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "boolean") return String(value);
  if (value instanceof Date) return `new Date(${JSON.stringify(value.toISOString())})`;
  if (Array.isArray(value)) return `[${value.map(tsExpression).join(", ")}]`;
  if (value instanceof Map) return tsExpression(Object.fromEntries(value));
  if (typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>).map(([k, v]) =>
      k === "__proto__" ? `["__proto__"]: ${tsExpression(v)}` : `${propertyName(k)}: ${tsExpression(v)}`,
    );
    return entries.length ? `{ ${entries.join(", ")} }` : "{}";
  }
  throw new TypeError(`cannot write ${typeof value} as a TypeScript literal`);
}

/** The TypeScript type of values of `type`; undefined (infer) for top-level JSON, `any` for nested JSON. */
export function tsType(type: LiteralType, hints: ValueHints = {}, top = false): string | undefined {
  const inner = (t: LiteralType, h: ValueHints | undefined): string => {
    const s = tsType(t, h ?? {}) ?? "any";
    return /[|&]/.test(s) ? `(${s})` : s;
  };
  switch (type.kind) {
    case "int":
    case "float":
    case "duration":
      return "number";
    case "string":
      return "string";
    case "bool":
      return "boolean";
    case "datetime":
      return "Date";
    case "none":
      return "null";
    case "json":
      return top ? undefined : "any";
    case "enum":
      return type.values.map((v) => JSON.stringify(v)).join(" | ");
    case "list":
      return `${inner(type.items, hints.items)}[]`;
    case "map":
      return `Record<string, ${tsType(type.values, hints.values ?? {}) ?? "any"}>`;
    case "struct":
      return `{ ${Object.entries(type.fields)
        .map(([k, v]) => `${propertyName(k)}: ${tsType(v, hints.fields?.[k] ?? {}) ?? "any"}`)
        .join("; ")} }`;
    case "optional": {
      const t = tsType(type.type, hints);
      return t === undefined ? undefined : `${t} | null`;
    }
    case "union": {
      const parts = type.variants.map((v, i) => tsType(v, hints.variants?.[i] ?? {}));
      return parts.some((x) => x === undefined) ? undefined : parts.join(" | ");
    }
    case "dataframe":
      return hints.dataframe === "arrow" ? 'import("petrel").ArrowTable' : 'import("petrel").DanfoDataFrame';
    case "file":
    case "dir":
      return "string";
  }
}

function shortValue(v: unknown): string {
  let s: string;
  try {
    s = v instanceof Date ? v.toISOString() : typeof v === "object" && v !== null && !Array.isArray(v) && !(v.constructor === Object) ? (v.constructor?.name ?? "object") : tsExpression(v);
  } catch {
    s = typeof v;
  }
  return s.length > MAX_SUBTITLE_VALUE_CHARS ? `${s.slice(0, MAX_SUBTITLE_VALUE_CHARS - 1)}…` : s;
}

async function main(requestFile: string | undefined): Promise<void> {
  if (!requestFile) {
    process.stderr.write("usage: node notebook-task.js <request.json>\n");
    process.exit(2);
  }
  const request = JSON.parse(readFileSync(requestFile, "utf8")) as NotebookRunRequest;
  const result = await runNotebookTask(request);
  writeFileSync(request.result, JSON.stringify(result));
  // The kernel engine keeps handles (compiler watchers, timers the notebook left): the run is over.
  process.exit(0);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv[2]).catch((e: unknown) => {
    process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  });
}
