/** Plain-text rendering of run records: the node table people read in a terminal. */
import type { NodeRecord, RunRecord } from "../local/index.js";

const COLUMNS = ["node", "phase", "cache", "attempts", "time", "note"] as const;

/** A table of a run's nodes: phase, cache status, attempts, duration and the cache or error reason. */
export function renderRunTable(record: RunRecord): string {
  const rows: string[][] = [];
  const add = (n: NodeRecord, indent: string) => {
    rows.push([
      `${indent}${n.id}`,
      n.phase,
      n.kind === "task" || n.kind === "map" ? n.cache.status : "",
      n.attempts.length > 0 ? String(n.attempts.length) : "",
      n.durationMs !== undefined ? formatMs(n.durationMs) : "",
      n.error ? `${n.error.code}: ${firstLine(n.error.message)}` : (n.cache.reason ?? ""),
    ]);
    for (const c of n.children ?? []) add(c, `${indent}  `);
    for (const c of Object.values(n.run?.nodes ?? {})) add(c, `${indent}  `);
  };
  for (const n of Object.values(record.nodes)) add(n, "");
  const widths = COLUMNS.map((c, i) => Math.max(c.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  const header = `${record.workflow} ${record.phase} in ${formatMs(record.durationMs ?? 0)} (run ${record.id})`;
  return [header, line(COLUMNS), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}

function formatMs(ms: number): string {
  if (ms < 1) return `${(ms * 1000).toFixed(0)}µs`;
  if (ms < 1000) return `${ms.toFixed(ms < 10 ? 1 : 0)}ms`;
  return `${(ms / 1000).toFixed(2)}s`;
}

function firstLine(s: string): string {
  const line = s.split("\n")[0] ?? "";
  return line.length > 120 ? `${line.slice(0, 117)}...` : line;
}
