/**
 * Inputs and outputs for people: scalars as values, lists and maps as lists and
 * tables, files as download links, DataFrames as a page of rows decoded from the
 * Arrow slice the data API returns (only the rows shown are read).
 */
import { tableFromIPC, type Table } from "apache-arrow";
import { typeToString, type Literal, type LiteralMap, type LiteralType } from "../../kernel/index.js";
import type { ConsoleApi } from "./client.js";
import { html, queryString, type SafeHtml } from "./html.js";
import { duration } from "./layout.js";

/** Rows per DataFrame page, by default and at most. */
export const DEFAULT_PREVIEW_ROWS = 20;
export const MAX_PREVIEW_ROWS = 500;
/** Items of a list or map shown before "and n more". */
const MAX_ITEMS = 50;
/** Characters of a string shown. */
const MAX_TEXT = 20_000;
/** Characters of one DataFrame cell shown. */
const MAX_CELL = 200;
const MAX_DEPTH = 5;

/** How blob links are made. */
export interface ValueContext {
  /** The download URL of a blob of the project. */
  blobHref(hash: string, filename: string | undefined): string;
}

const bytes = (n: number) => (n < 1024 ? `${n} B` : n < 1024 ** 2 ? `${(n / 1024).toFixed(1)} KiB` : n < 1024 ** 3 ? `${(n / 1024 ** 2).toFixed(1)} MiB` : `${(n / 1024 ** 3).toFixed(2)} GiB`);

/** A byte count for people. */
export function formatBytes(n: number): string {
  return bytes(n);
}

function text(value: string): SafeHtml {
  const shown = value.length > MAX_TEXT ? value.slice(0, MAX_TEXT) : value;
  const more = value.length > shown.length ? html`<p class="muted">… ${value.length - shown.length} more characters</p>` : "";
  if (shown.includes("\n") || shown.length > 120) return html`<pre>${shown}</pre>${more}`;
  return html`<span class="mono">${JSON.stringify(shown)}</span>${more}`;
}

/** One literal as HTML. */
export function renderLiteral(literal: Literal, ctx: ValueContext, depth = 0): SafeHtml {
  if (depth > MAX_DEPTH) return html`<span class="muted">(nested too deep to show)</span>`;
  switch (literal.kind) {
    case "none":
      return html`<span class="muted">none</span>`;
    case "int":
    case "float":
      return html`<span class="mono">${String(literal.value)}</span>`;
    case "bool":
      return html`<span class="mono">${String(literal.value)}</span>`;
    case "string":
      return text(literal.value);
    case "datetime":
      return html`<time class="mono" datetime="${literal.value}">${literal.value}</time>`;
    case "duration":
      return html`<span class="mono">${duration(literal.value)}</span> <span class="muted">(${literal.value} ms)</span>`;
    case "json": {
      const json = JSON.stringify(literal.value, null, 2) ?? "null";
      return html`<pre>${json.length > MAX_TEXT ? `${json.slice(0, MAX_TEXT)}\n…` : json}</pre>`;
    }
    case "list": {
      if (literal.items.length === 0) return html`<span class="muted">empty list</span>`;
      const shown = literal.items.slice(0, MAX_ITEMS);
      return html`<ol class="value-list" start="0">${shown.map((item) => html`<li>${renderLiteral(item, ctx, depth + 1)}</li>`)}</ol>${
        literal.items.length > shown.length ? html`<p class="muted">… and ${literal.items.length - shown.length} more items</p>` : ""
      }`;
    }
    case "map": {
      const entries = Object.entries(literal.entries);
      if (entries.length === 0) return html`<span class="muted">empty map</span>`;
      const shown = entries.slice(0, MAX_ITEMS);
      return html`<table><tbody>${shown.map(([k, v]) => html`<tr><th scope="row">${k}</th><td>${renderLiteral(v, ctx, depth + 1)}</td></tr>`)}</tbody></table>${
        entries.length > shown.length ? html`<p class="muted">… and ${entries.length - shown.length} more entries</p>` : ""
      }`;
    }
    case "union":
      return html`${renderLiteral(literal.value, ctx, depth + 1)} <span class="muted">(variant ${literal.variant})</span>`;
    case "blob": {
      const b = literal.blob;
      const what = b.format === "arrow" ? "DataFrame (Arrow IPC)" : b.format === "dir" ? "directory" : (b.filename ?? "file");
      return html`<a href="${ctx.blobHref(b.hash, b.filename ?? (b.format === "arrow" ? "dataframe.arrow" : undefined))}" download="">Download ${what}</a> <span class="muted">${bytes(b.size)} · <span class="mono">${b.hash.slice(0, 19)}…</span></span>`;
    }
  }
}

/** Where a DataFrame preview's page links go. */
export interface PreviewLinks {
  /** The full page showing this preview at `offset`. */
  page(offset: number, limit: number): string;
  /** The fragment alone (for paging without reloading). */
  fragment(offset: number, limit: number): string;
}

/** The element id of a preview. */
export function previewId(side: string, name: string): string {
  return `preview-${side}-${Buffer.from(name).toString("hex")}`;
}

function cell(value: unknown): { text: string; numeric: boolean; missing: boolean } {
  if (value === null || value === undefined) return { text: "null", numeric: false, missing: true };
  if (typeof value === "number" || typeof value === "bigint") return { text: String(value), numeric: true, missing: false };
  if (typeof value === "boolean") return { text: String(value), numeric: false, missing: false };
  if (value instanceof Date) return { text: value.toISOString(), numeric: false, missing: false };
  if (typeof value === "string") return { text: value.length > MAX_CELL ? `${value.slice(0, MAX_CELL)}…` : value, numeric: false, missing: false };
  let s: string;
  try {
    const plain = typeof (value as { toJSON?: () => unknown }).toJSON === "function" ? (value as { toJSON: () => unknown }).toJSON() : value;
    s = JSON.stringify(plain, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v)) ?? String(value);
  } catch {
    s = String(value);
  }
  return { text: s.length > MAX_CELL ? `${s.slice(0, MAX_CELL)}…` : s, numeric: false, missing: false };
}

/**
 * A page of a DataFrame output or input: rows `[offset, offset + limit)` read
 * through the data API's Arrow slice (one more row is asked for, to know whether
 * a next page exists).
 */
export async function renderDataFramePreview(
  api: ConsoleApi,
  blobPath: string,
  side: string,
  name: string,
  offset: number,
  limit: number,
  links: PreviewLinks,
): Promise<SafeHtml> {
  const id = previewId(side, name);
  let table: Table;
  try {
    const res = await api.raw(`${blobPath}${queryString([["offset", String(offset)], ["limit", String(limit + 1)]])}`);
    table = tableFromIPC(new Uint8Array(await res.arrayBuffer()));
  } catch (error) {
    return html`<section class="df-preview" id="${id}"><p class="notice bad">The preview of ${name} could not be read: ${(error as Error).message}</p></section>`;
  }
  const fields = table.schema.fields;
  const rows = Math.min(limit, table.numRows);
  const more = table.numRows > limit;
  const columns = fields.map((_, i) => table.getChildAt(i));
  const body: SafeHtml[] = [];
  for (let r = 0; r < rows; r++) {
    body.push(
      html`<tr><th scope="row">${offset + r}</th>${columns.map((col) => {
        const c = cell(col?.get(r));
        return html`<td class="${c.numeric ? "num" : ""}${c.missing ? " muted" : ""}">${c.text}</td>`;
      })}</tr>`,
    );
  }
  const caption = rows === 0 ? (offset === 0 ? `${name}: no rows` : `${name}: no rows from ${offset} on`) : `${name}: rows ${offset} to ${offset + rows - 1}${more ? " (more follow)" : " (the last)"}`;
  const prev = Math.max(0, offset - limit);
  const pager = (to: number, label: string) =>
    html`<a href="${links.page(to, limit)}" data-preview-url="${links.fragment(to, limit)}" data-preview-target="${id}">${label}</a>`;
  return html`<section class="df-preview" id="${id}">
<div class="scroll"><table class="df"><caption>${caption}</caption>
<thead><tr><th scope="col">row</th>${fields.map((f) => html`<th scope="col">${f.name} <span class="muted">${String(f.type)}</span></th>`)}</tr></thead>
<tbody>${body}</tbody></table></div>
<nav class="pager" aria-label="Pages of ${name}">${offset > 0 ? pager(prev, "Previous rows") : ""}${more ? pager(offset + rows, "Next rows") : ""}</nav>
</section>`;
}

/** Declared types of a side of an interface, for the column "type". */
export function typeText(types: Record<string, { type: LiteralType }> | undefined, name: string): string {
  const v = types?.[name];
  return v ? typeToString(v.type) : "";
}

/** Names in declared order first, then any others. */
export function orderedNames(map: LiteralMap, declared: Record<string, unknown> | undefined): string[] {
  const names = Object.keys(declared ?? {}).filter((n) => Object.hasOwn(map, n));
  for (const n of Object.keys(map)) if (!names.includes(n)) names.push(n);
  return names;
}
