/**
 * `record(name, value)`: how a notebook run as a notebook task reports its outputs.
 * While a notebook task runs the notebook, each call hands the value to the run
 * (checked against the declared outputs and converted right away, so a wrong name
 * or type fails the cell that recorded it); anywhere else (the notebook opened in
 * Jupyter, a script) it only shows `recorded <name> = <value>`, so the notebook
 * still runs standalone.
 *
 * @example
 * ```ts
 * import * as petrel from "petrel";
 * petrel.record("summary", total);
 * petrel.record("table", byRegion); // a danfo DataFrame or an Arrow table
 * ```
 */
import { inspect } from "node:util";
import { isArrowTable, isDanfoDataFrame } from "../types/index.js";

/** Receives recorded values: installed by the notebook-task runner while it runs a notebook. */
export interface RecordSink {
  /** Takes one recorded value; throws (failing the recording cell) for an undeclared name or a value that does not fit. */
  record(name: string, value: unknown): void;
}

/**
 * The sink lives on `globalThis` under a registered symbol, not in a module
 * variable: notebook cells and the runner then share it even when they hold
 * different copies of this module.
 */
const SINK_KEY = Symbol.for("petrel.record.sink");
/** Text renderings of recorded values are cut to this many characters. */
const MAX_SHOWN_CHARS = 200;

type SinkHolder = { [SINK_KEY]?: RecordSink };

/** Routes `record` calls to `sink` (the notebook-task runner); returns a function that restores the previous sink. */
export function setRecordSink(sink: RecordSink | undefined): () => void {
  const holder = globalThis as SinkHolder;
  const previous = holder[SINK_KEY];
  holder[SINK_KEY] = sink;
  return () => {
    holder[SINK_KEY] = previous;
  };
}

/**
 * Records an output of the notebook task running this notebook; outside a
 * notebook task, only shows `recorded <name> = <value>`.
 *
 * @throws NotebookTaskError (inside a notebook task) when `name` is not a declared
 *   output, or TypeMismatchError when the value does not fit the output's type.
 */
export function record(name: string, value: unknown): void {
  if (typeof name !== "string" || name === "") {
    throw new TypeError(`record(name, value): name must be a non-empty string, got ${inspect(name)}`);
  }
  (globalThis as SinkHolder)[SINK_KEY]?.record(name, value);
  show(`recorded ${name} = ${describeRecorded(value)}`);
}

/** A short rendering of a recorded value: DataFrames by their shape, anything else as Node prints it, cut. */
function describeRecorded(value: unknown): string {
  if (isDanfoDataFrame(value)) {
    const df = value as { shape: [number, number]; columns: string[] };
    return `DataFrame (${df.shape[0]} rows × ${df.shape[1]} columns: ${df.columns.join(", ")})`;
  }
  if (typeof value === "object" && value !== null && isArrowTable(value)) {
    return `Arrow table (${value.numRows} rows × ${value.numCols} columns: ${value.schema.fields.map((f) => f.name).join(", ")})`;
  }
  const text = inspect(value, { depth: 2, breakLength: Infinity, maxArrayLength: 20, maxStringLength: MAX_SHOWN_CHARS });
  return text.length > MAX_SHOWN_CHARS ? `${text.slice(0, MAX_SHOWN_CHARS - 1)}…` : text;
}

/** Through the kernel's `display` when there is one (a Jupyter kernel, a notebook task), else the console. */
function show(text: string): void {
  const display = (globalThis as { display?: { text?: (t: string) => unknown } }).display;
  if (typeof display?.text === "function") display.text(text);
  else console.log(text);
}
