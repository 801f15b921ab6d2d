/**
 * Live progress of a local run: one display, updated in place as nodes start,
 * retry and finish (phase, attempt, cache status, duration), ending with the run's
 * summary and node table.
 */
import type { NodeRecord, RunEvent, RunRecord } from "../local/index.js";
import type { DisplayHandle } from "./display.js";
import { escapeHtml } from "./mime.js";
import { formatDuration, runTableHtml, textTable } from "./render-table.js";

/** Updates are sent at most this often while a run goes on. */
export const PROGRESS_INTERVAL_MS = 100;

interface Row {
  phase: string;
  attempt: number;
  cache: string;
  durationMs?: number;
  note: string;
}

/** The progress display of one run. */
export class RunProgress {
  private readonly rows = new Map<string, Row>();
  private readonly started = performance.now();
  private timer: NodeJS.Timeout | undefined;
  private done = false;

  constructor(
    private readonly name: string,
    nodes: readonly string[],
    private readonly handle: DisplayHandle,
  ) {
    for (const id of nodes) this.rows.set(id, { phase: "PENDING", attempt: 0, cache: "", note: "" });
    this.render();
  }

  /** Feeds one engine event (pass as `onEvent`). */
  onEvent(event: RunEvent): void {
    const n = event.node;
    const row = this.row(n);
    row.phase = event.type === "attempt-failed" ? "RETRYING" : n.phase;
    row.attempt = Math.max(row.attempt, n.attempts.length, event.type === "attempt-failed" ? event.attempt.attempt : 0);
    if (n.kind === "task" || n.kind === "map") row.cache = n.cache.status;
    if (n.durationMs !== undefined) row.durationMs = n.durationMs;
    if (event.type === "attempt-failed") {
      row.note = `attempt ${event.attempt.attempt} failed: ${firstLine(event.attempt.error?.message ?? "")}${event.retryInMs !== undefined ? `; retry in ${formatDuration(event.retryInMs)}` : ""}`;
    } else {
      row.note = n.error ? `${n.error.code}: ${firstLine(n.error.message)}` : (n.cache.reason ?? "");
    }
    this.schedule();
  }

  /** Shows the final state: the run's own record when there is one, else the last known rows. */
  finish(record: RunRecord | undefined, error?: unknown): void {
    this.done = true;
    clearTimeout(this.timer);
    if (!record) {
      this.render(error ? `failed: ${firstLine(error instanceof Error ? error.message : String(error))}` : undefined);
      return;
    }
    const cached = countNodes(record, (n) => n.cache.status === "HIT");
    const total = countNodes(record, () => true);
    const summary = `${record.workflow} ${record.phase} in ${formatDuration(record.durationMs ?? 0)}: ${total} task${total === 1 ? "" : "s"}, ${cached} from cache (run ${record.id})`;
    this.handle.data({ "text/html": `<div><b>${escapeHtml(summary)}</b></div>\n${runTableHtml(record)}`, "text/plain": summary });
  }

  private row(n: NodeRecord): Row {
    let row = this.rows.get(n.id);
    if (!row) {
      row = { phase: "PENDING", attempt: 0, cache: "", note: "" };
      this.rows.set(n.id, row);
    }
    return row;
  }

  private schedule(): void {
    if (this.done || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (!this.done) this.render();
    }, PROGRESS_INTERVAL_MS);
  }

  private render(status?: string): void {
    const rows = [...this.rows];
    const finished = rows.filter(([, r]) => ["SUCCEEDED", "FAILED", "SKIPPED", "TIMED_OUT", "ABORTED"].includes(r.phase)).length;
    const header = `${this.name}: ${status ?? `running, ${finished}/${rows.length} nodes done`} (${formatDuration(performance.now() - this.started)})`;
    const cells = rows.map(([id, r]) => [id, r.phase, r.attempt ? String(r.attempt) : "", r.cache, r.durationMs !== undefined ? formatDuration(r.durationMs) : "", r.note]);
    const columns = ["node", "phase", "attempt", "cache", "time", "note"];
    const html = `<table class="petrel-progress">\n<caption>${escapeHtml(header)}</caption>\n<thead><tr>${columns
      .map((c) => `<th>${c}</th>`)
      .join("")}</tr></thead>\n<tbody>\n${cells.map((r) => `<tr>${r.map((c) => `<td>${escapeHtml(c)}</td>`).join("")}</tr>`).join("\n")}\n</tbody>\n</table>`;
    this.handle.data({ "text/html": html, "text/plain": `${header}\n${textTable(columns, cells)}` });
  }
}

function countNodes(record: RunRecord, test: (n: NodeRecord) => boolean): number {
  let count = 0;
  const visit = (n: NodeRecord) => {
    if (n.kind === "task" && test(n)) count++;
    for (const c of n.children ?? []) visit(c);
    for (const c of Object.values(n.run?.nodes ?? {})) visit(c);
  };
  for (const n of Object.values(record.nodes)) visit(n);
  return count;
}

function firstLine(s: string): string {
  const line = s.split("\n")[0] ?? "";
  return line.length > 120 ? `${line.slice(0, 117)}...` : line;
}
