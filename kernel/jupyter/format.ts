/**
 * How values look in a notebook: a MIME bundle per value. Any object with a
 * `[Symbol.for("Jupyter.display")]()` method renders as the bundle it returns (the
 * open protocol of Deno's kernel, so libraries that support it work here); danfo
 * DataFrames and Arrow tables render as tables; Petrel workflows as their DAG; run
 * results as their node table; anything else as `util.inspect` text.
 */
import { inspect } from "node:util";
import { PartialRun } from "../dsl/index.js";
import type { RunRecord } from "../local/index.js";
import type { WorkflowSpec } from "../model/index.js";
import { isArrowTable, isDanfoDataFrame } from "../types/index.js";
import type { MimeBundle } from "./mime.js";
import { renderWorkflow } from "./render-dag.js";
import { arrowView, danfoView, renderTable, runTableHtml } from "./render-table.js";

/** The display protocol's method key. */
export const JUPYTER_DISPLAY = Symbol.for("Jupyter.display");

/** How deep `text/plain` renderings of plain objects go. */
const INSPECT_DEPTH = 4;

/** The value as `text/plain`, as Node's REPL shows it. */
export function plainText(value: unknown): string {
  return inspect(value, { depth: INSPECT_DEPTH, maxArrayLength: 100, maxStringLength: 10_000, breakLength: 100 });
}

/** The MIME bundle of a value; a promise only when its own display method returns one. */
export function toMimeBundle(value: unknown): MimeBundle | Promise<MimeBundle> {
  if (hasDisplayMethod(value)) {
    const bundle = value[JUPYTER_DISPLAY]();
    return isPromiseLike(bundle) ? Promise.resolve(bundle).then((b) => completeBundle(b, value)) : completeBundle(bundle, value);
  }
  if (isDanfoDataFrame(value)) return renderTable(danfoView(value));
  if (isArrowTable(value)) return renderTable(arrowView(value));
  if (isWorkflow(value)) return renderWorkflow(value.spec);
  if (isRun(value)) return { "text/html": runTableHtml(value.record), "text/plain": String(value) };
  return { "text/plain": plainText(value) };
}

/** An empty bundle means "show nothing" (a display handle as a cell's last expression). */
function completeBundle(bundle: unknown, value: unknown): MimeBundle {
  if (typeof bundle !== "object" || bundle === null) return { "text/plain": plainText(value) };
  if (Object.keys(bundle).length === 0) return {};
  const out: MimeBundle = { ...(bundle as MimeBundle) };
  out["text/plain"] ??= plainText(value);
  return out;
}

function hasDisplayMethod(value: unknown): value is { [JUPYTER_DISPLAY]: () => unknown } {
  return (typeof value === "object" || typeof value === "function") && value !== null && typeof (value as Record<symbol, unknown>)[JUPYTER_DISPLAY] === "function";
}

function isPromiseLike(x: unknown): x is PromiseLike<unknown> {
  return typeof x === "object" && x !== null && typeof (x as { then?: unknown }).then === "function";
}

/** A Petrel workflow (or anything shaped like one: `kind: "workflow"` and a spec with nodes). */
export function isWorkflow(value: unknown): value is { kind: "workflow"; spec: WorkflowSpec } {
  if ((typeof value !== "object" && typeof value !== "function") || value === null) return false;
  const v = value as { kind?: unknown; spec?: { nodes?: unknown; name?: unknown } };
  return v.kind === "workflow" && typeof v.spec === "object" && v.spec !== null && Array.isArray(v.spec.nodes) && typeof v.spec.name === "string";
}

/** A local run's result (`WorkflowRun`, or the `PartialRun` of a failed one). */
export function isRun(value: unknown): value is { record: RunRecord } {
  if (value instanceof PartialRun) return true;
  if (typeof value !== "object" || value === null) return false;
  const record = (value as { record?: Partial<RunRecord> }).record;
  return typeof record === "object" && record !== null && typeof record.workflow === "string" && typeof record.nodes === "object";
}
