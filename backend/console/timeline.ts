/**
 * The Gantt timeline of an execution: one row per node, one bar per attempt from
 * its start to its end (to now while it runs), coloured by the attempt's phase.
 * Nodes that ran no attempt of their own (subworkflows, maps, cache hits) show
 * their own span.
 */
import type { AttemptView, NodeView } from "./client.js";
import { html, type SafeHtml } from "./html.js";
import { duration, ms, phaseClass } from "./layout.js";

/** Rows drawn at most; the node table lists every node. */
export const MAX_TIMELINE_ROWS = 150;

const WIDTH = 900;
const LABEL_WIDTH = 210;
const RIGHT = 24;
const ROW = 22;
const TOP = 26;
const STEPS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1e3, 2e3, 5e3, 10e3, 15e3, 30e3, 60e3, 120e3, 300e3, 600e3, 900e3, 1800e3, 3600e3, 7200e3, 14400e3, 21600e3, 43200e3, 86400e3];

interface Bar {
  start: number;
  end: number;
  phase: string;
  title: string;
  own: boolean;
}

interface Row {
  id: string;
  first: number;
  bars: Bar[];
}

const tickLabel = (t: number, step: number) => (step < 1000 ? `${Math.round(t)} ms` : step < 60_000 ? `${Math.round(t / 1000)} s` : step < 3_600_000 ? `${Math.round(t / 60_000)} min` : `${Math.round(t / 3_600_000)} h`);

/** The timeline SVG of nodes (with their attempts), at time `now` (epoch ms). */
export function renderTimeline(nodes: readonly NodeView[], now: number): SafeHtml {
  const rows: Row[] = [];
  for (const n of nodes) {
    const attempts = Array.isArray(n.attempts) ? (n.attempts as AttemptView[]) : [];
    const bars: Bar[] = [];
    for (const a of attempts) {
      const start = ms(a.startedAt);
      if (start === undefined) continue;
      const end = ms(a.endedAt) ?? now;
      bars.push({ start, end, phase: a.phase, own: true, title: `${n.nodeId} attempt ${a.attempt}: ${a.phase}, ${a.endedAt ? duration(end - start) : "running"}` });
    }
    const start = ms(n.startedAt);
    if (bars.length === 0 && start !== undefined) {
      const end = ms(n.endedAt) ?? now;
      const what = n.cache?.status === "HIT" ? "served from the cache" : "no attempts of its own";
      bars.push({ start, end, phase: n.phase, own: false, title: `${n.nodeId}: ${n.phase} (${what}), ${n.endedAt ? duration(end - start) : "running"}` });
    }
    if (bars.length > 0) rows.push({ id: n.nodeId, first: Math.min(...bars.map((b) => b.start)), bars });
  }
  if (rows.length === 0) return html`<p class="muted">No node has started yet.</p>`;
  rows.sort((a, b) => a.first - b.first || (a.id < b.id ? -1 : 1));
  const shown = rows.slice(0, MAX_TIMELINE_ROWS);
  const t0 = Math.min(...shown.map((r) => r.first));
  const t1 = Math.max(t0 + 1, ...shown.flatMap((r) => r.bars.map((b) => b.end)));
  const plot = WIDTH - LABEL_WIDTH - RIGHT;
  const x = (t: number) => Math.round((LABEL_WIDTH + ((t - t0) / (t1 - t0)) * plot) * 10) / 10;
  const step = STEPS.find((s) => (t1 - t0) / s <= 8) ?? STEPS[STEPS.length - 1]!;
  const ticks: number[] = [];
  for (let t = 0; t <= t1 - t0; t += step) ticks.push(t);
  const height = TOP + shown.length * ROW + 8;
  return html`<div class="scroll"><svg class="timeline" role="img" aria-labelledby="timeline-title timeline-desc" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" xmlns="http://www.w3.org/2000/svg">
<title id="timeline-title">Timeline of node attempts</title>
<desc id="timeline-desc">${shown.length} nodes over ${duration(t1 - t0)}; the node table below lists the same attempts.</desc>
${ticks.map((t) => html`<line class="grid" x1="${x(t0 + t)}" x2="${x(t0 + t)}" y1="${TOP - 6}" y2="${height - 4}"></line><text class="axis" x="${x(t0 + t) + 3}" y="${TOP - 10}">${tickLabel(t, step)}</text>`)}
${shown.map((r, i) => {
  const y = TOP + i * ROW;
  const label = r.id.length > 30 ? `${r.id.slice(0, 29)}…` : r.id;
  return html`<g><text x="6" y="${y + 15}">${label}</text>${r.bars.map((b) => {
    const bx = x(b.start);
    const w = Math.max(2, x(b.end) - bx);
    return html`<rect class="bar ${phaseClass(b.phase)}" x="${bx}" y="${y + (b.own ? 4 : 8)}" width="${w.toFixed(1)}" height="${b.own ? 14 : 6}" rx="2"><title>${b.title}</title></rect>`;
  })}</g>`;
})}
</svg></div>
${rows.length > shown.length ? html`<p class="muted">The first ${shown.length} of ${rows.length} nodes are drawn; the table lists all.</p>` : ""}`;
}
