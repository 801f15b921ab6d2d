/**
 * Tables for notebooks: DataFrames (danfo and Arrow) and run records, each as an
 * escaped HTML table plus a text/plain rendering of the same rows.
 */
import { inspect } from "node:util";
import type { NodeRecord, RunRecord } from "../local/index.js";
import { escapeHtml, type MimeBundle } from "./mime.js";

/** Rows of a DataFrame shown in a notebook. */
export const MAX_TABLE_ROWS = 20;
/** Characters of one cell shown. */
const MAX_CELL_CHARS = 80;

/** A table ready to render: column names, the first rows, and the full size. */
export interface TableView {
  kind: string;
  columns: string[];
  /** Column types, shown under the names. */
  types?: string[];
  index: string[];
  rows: unknown[][];
  totalRows: number;
}

/** One value as table text. */
export function cellText(value: unknown): string {
  let text: string;
  if (value === null || value === undefined) text = String(value);
  else if (typeof value === "string") text = value;
  else if (typeof value === "bigint" || typeof value === "number" || typeof value === "boolean") text = String(value);
  else if (value instanceof Date) text = Number.isNaN(value.getTime()) ? "Invalid Date" : value.toISOString();
  else if (typeof (value as { toJSON?: unknown }).toJSON === "function") text = safeJson((value as { toJSON(): unknown }).toJSON());
  else if (ArrayBuffer.isView(value)) text = `[${Array.from(value as unknown as ArrayLike<unknown>, (v) => String(v)).join(", ")}]`;
  else text = inspect(value, { depth: 2, breakLength: Number.POSITIVE_INFINITY });
  return text.length > MAX_CELL_CHARS ? `${text.slice(0, MAX_CELL_CHARS - 1)}…` : text;
}

/** The first rows of a danfo DataFrame (checked with `isDanfoDataFrame` first). */
export function danfoView(df: unknown): TableView {
  const frame = df as { $columns: string[]; $index: unknown[]; $data: unknown[][]; $dtypes?: string[] };
  return {
    kind: "DataFrame",
    columns: frame.$columns.map(String),
    ...(Array.isArray(frame.$dtypes) ? { types: frame.$dtypes.map(String) } : {}),
    index: frame.$index.slice(0, MAX_TABLE_ROWS).map(String),
    rows: frame.$data.slice(0, MAX_TABLE_ROWS),
    totalRows: frame.$data.length,
  };
}

/** The first rows of an Arrow Table (checked with `isArrowTable` first). */
export function arrowView(table: unknown): TableView {
  const t = table as {
    numRows: number;
    schema: { fields: { name: string; type: unknown }[] };
    getChildAt(i: number): { get(row: number): unknown } | null;
  };
  const n = Math.min(t.numRows, MAX_TABLE_ROWS);
  const columns = t.schema.fields.map((_f, i) => t.getChildAt(i));
  const rows: unknown[][] = [];
  for (let r = 0; r < n; r++) rows.push(columns.map((c) => c?.get(r)));
  return {
    kind: "Arrow Table",
    columns: t.schema.fields.map((f) => f.name),
    types: t.schema.fields.map((f) => String(f.type)),
    index: Array.from({ length: n }, (_, i) => String(i)),
    rows,
    totalRows: t.numRows,
  };
}

/** A table view as HTML plus text/plain. */
export function renderTable(view: TableView): MimeBundle {
  const caption = `${view.kind}: ${view.totalRows} row${view.totalRows === 1 ? "" : "s"} × ${view.columns.length} column${view.columns.length === 1 ? "" : "s"}${
    view.totalRows > view.rows.length ? ` (first ${view.rows.length} shown)` : ""
  }`;
  const texts = view.rows.map((row) => row.map(cellText));
  const head = view.columns
    .map((c, i) => `<th title="${escapeHtml(view.types?.[i] ?? "")}">${escapeHtml(c)}</th>`)
    .join("");
  const body = texts
    .map((row, r) => `<tr><th>${escapeHtml(view.index[r] ?? "")}</th>${row.map((c) => `<td>${escapeHtml(c)}</td>`).join("")}</tr>`)
    .join("\n");
  const html = `<table class="dataframe petrel-table">\n<caption>${escapeHtml(caption)}</caption>\n<thead><tr><th></th>${head}</tr></thead>\n<tbody>\n${body}\n</tbody>\n</table>`;
  const text = [caption, textTable(["", ...view.columns], texts.map((row, r) => [view.index[r] ?? "", ...row]))].join("\n");
  return { "text/html": html, "text/plain": text };
}

/** A run's nodes as an HTML table (text/plain comes from the run's own rendering). */
export function runTableHtml(record: RunRecord): string {
  const rows: string[] = [];
  const add = (n: NodeRecord, depth: number) => {
    const note = n.error ? `${n.error.code}: ${n.error.message.split("\n")[0] ?? ""}` : (n.cache.reason ?? "");
    rows.push(
      `<tr><td style="padding-left:${depth * 1.2 + 0.3}em">${escapeHtml(n.id)}</td><td>${escapeHtml(n.phase)}</td><td>${
        n.kind === "task" || n.kind === "map" ? escapeHtml(n.cache.status) : ""
      }</td><td>${n.attempts.length || ""}</td><td>${n.durationMs !== undefined ? escapeHtml(formatDuration(n.durationMs)) : ""}</td><td>${escapeHtml(note)}</td></tr>`,
    );
    for (const c of n.children ?? []) add(c, depth + 1);
    for (const c of Object.values(n.run?.nodes ?? {})) add(c, depth + 1);
  };
  for (const n of Object.values(record.nodes)) add(n, 0);
  const caption = `${record.workflow} ${record.phase} in ${formatDuration(record.durationMs ?? 0)} (run ${record.id})`;
  return `<table class="petrel-run">\n<caption>${escapeHtml(caption)}</caption>\n<thead><tr><th>node</th><th>phase</th><th>cache</th><th>attempts</th><th>time</th><th>note</th></tr></thead>\n<tbody>\n${rows.join("\n")}\n</tbody>\n</table>`;
}

/** A duration as people read it. */
export function formatDuration(ms: number): string {
  if (ms < 1) return `${(ms * 1000).toFixed(0)}µs`;
  if (ms < 1000) return `${ms.toFixed(ms < 10 ? 1 : 0)}ms`;
  return `${(ms / 1000).toFixed(2)}s`;
}

/** Rows as aligned text columns. */
export function textTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join("  ")
      .trimEnd();
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v)) ?? String(value);
  } catch {
    return String(value);
  }
}
