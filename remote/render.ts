/**
 * How remote things look in a notebook and a terminal: an execution as a header,
 * its node table and its DAG; DataFrame previews as tables.
 */
import type { Table } from "apache-arrow";
import { arrowView, escapeHtml, formatDuration, renderDagSvg, renderTable, textTable } from "../kernel/jupyter/index.js";
import type { WorkflowSpec } from "../kernel/index.js";

/** A row of an execution's node table. */
export interface NodeRow {
  id: string;
  phase: string;
  cache: string;
  attempts: number;
  durationMs: number | undefined;
  note: string;
}

/** What an execution's rendering shows. */
export interface ExecutionSummary {
  title: string;
  phase: string;
  durationMs: number | undefined;
  url: string;
  nodes: NodeRow[];
  spec: WorkflowSpec | undefined;
}

const PHASE_COLOURS: Record<string, string> = {
  SUCCEEDED: "#1a7f37",
  FAILED: "#cf222e",
  TIMED_OUT: "#cf222e",
  ABORTED: "#6e7781",
  RUNNING: "#0969da",
  QUEUED: "#9a6700",
  SKIPPED: "#6e7781",
};

/** A DataFrame preview as HTML. */
export function tableHtml(table: Table, label: string): string {
  return `<div><b>${escapeHtml(label)}</b></div>\n${renderTable(arrowView(table))["text/html"]}`;
}

/** A DataFrame preview as text. */
export function tableText(table: Table): string {
  return renderTable(arrowView(table))["text/plain"] as string;
}

const durationText = (ms: number | undefined) => (ms === undefined ? "" : formatDuration(ms));

/** The node table as aligned text. */
export function nodeTableText(nodes: readonly NodeRow[]): string {
  return textTable(
    ["node", "phase", "cache", "attempts", "time", "note"],
    nodes.map((n) => [n.id, n.phase, n.cache, n.attempts ? String(n.attempts) : "", durationText(n.durationMs), n.note]),
  );
}

/** An execution as a MIME bundle: header, node table, DAG. */
export function executionBundle(s: ExecutionSummary): Record<string, string> {
  const head = `${s.title}: ${s.phase}${s.durationMs !== undefined ? ` in ${formatDuration(s.durationMs)}` : ""}`;
  const rows = s.nodes
    .map(
      (n) =>
        `<tr><td>${escapeHtml(n.id)}</td><td style="color:${PHASE_COLOURS[n.phase] ?? "inherit"}">${escapeHtml(n.phase)}</td><td>${escapeHtml(n.cache)}</td><td>${
          n.attempts || ""
        }</td><td>${escapeHtml(durationText(n.durationMs))}</td><td>${escapeHtml(n.note)}</td></tr>`,
    )
    .join("\n");
  const html = [
    `<div><b style="color:${PHASE_COLOURS[s.phase] ?? "inherit"}">${escapeHtml(head)}</b> <a href="${escapeHtml(s.url)}" target="_blank">console</a></div>`,
    `<table class="petrel-run">\n<thead><tr><th>node</th><th>phase</th><th>cache</th><th>attempts</th><th>time</th><th>note</th></tr></thead>\n<tbody>\n${rows}\n</tbody>\n</table>`,
    s.spec ? renderDagSvg(s.spec) : "",
  ].join("\n");
  return { "text/html": html, "text/plain": `${head}\n${s.url}\n${nodeTableText(s.nodes)}` };
}
