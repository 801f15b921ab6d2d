/**
 * The measuring kit shared by every suite: repeated timings with warm-up and
 * median, result rows with goals, progress lines on stderr, and the table.
 *
 * Figures are medians over repetitions; warm-up runs are discarded. Between
 * repetitions the heap is collected when `global.gc` is exposed (index.ts
 * re-spawns node with --expose-gc), so one repetition does not pay for the
 * garbage of the one before.
 */
import { performance } from "node:perf_hooks";

/** What "better" means for a figure. */
export const DIRECTION = { lower: "lower", higher: "higher" } as const;
export type Direction = (typeof DIRECTION)[keyof typeof DIRECTION];

/** A target a figure must meet. */
export interface Goal {
  /** Petrel's figure must be `<=` (lower is better) or `>=` (higher is better) this. */
  value: number;
  direction: Direction;
}

/** One line of a suite's table. */
export interface Row {
  metric: string;
  unit: string;
  petrel: number;
  /** Name of the peer this row compares with (omitted: no peer). */
  peerName?: string;
  peer?: number;
  goal?: Goal;
  note?: string;
}

/** A suite's result: its rows and free-form notes printed below the table. */
export interface SuiteResult {
  title: string;
  rows: Row[];
  notes: string[];
}

/** Command-line switches every suite honours. */
export interface BenchOptions {
  /** Run the Python/Dask or raw-library peers (off with --no-peer, e.g. when profiling). */
  peer: boolean;
  /** Fewer repetitions (--quick), for a smoke run. */
  quick: boolean;
}

/** A benchmark suite. */
export interface Suite {
  name: string;
  title: string;
  run(options: BenchOptions): Promise<SuiteResult>;
}

/** Options of `measure()`. */
export interface MeasureOptions {
  /** Discarded runs before the measured ones (default 1). */
  warmup?: number;
  /** Measured runs (default 5). */
  reps?: number;
  /** Printed with each progress line. */
  label: string;
}

/** Timings of one measured operation, in milliseconds. */
export interface Sample {
  median: number;
  min: number;
  max: number;
  samples: number[];
}

/** Collects garbage if node runs with --expose-gc; a no-op otherwise. */
export function collectGarbage(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc) gc();
}

/** Whether repetitions are separated by a full collection. */
export function gcExposed(): boolean {
  return typeof (globalThis as { gc?: unknown }).gc === "function";
}

/** A progress line on stderr, so stdout keeps only the tables. */
export function progress(suite: string, message: string): void {
  process.stderr.write(`[${suite}] ${message}\n`);
}

/** Median of a non-empty list. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Summarizes raw timings (ms). */
export function summarize(samples: number[]): Sample {
  return { median: median(samples), min: Math.min(...samples), max: Math.max(...samples), samples };
}

/**
 * Times `fn` (ms per call) `warmup + reps` times, collecting garbage before
 * each call, and returns the measured timings. `fn` may be async.
 */
export async function measure(suite: string, fn: () => unknown, options: MeasureOptions): Promise<Sample> {
  const warmup = options.warmup ?? 1;
  const reps = options.reps ?? 5;
  const samples: number[] = [];
  for (let i = 0; i < warmup + reps; i++) {
    collectGarbage();
    const start = performance.now();
    await fn();
    const ms = performance.now() - start;
    const measured = i >= warmup;
    if (measured) samples.push(ms);
    progress(suite, `${options.label}: ${measured ? `rep ${i - warmup + 1}/${reps}` : `warm-up ${i + 1}/${warmup}`} ${formatMs(ms)}`);
  }
  return summarize(samples);
}

/**
 * Times a tight loop of `iterations` synchronous or awaited calls and returns
 * the median per-call time (µs) over `reps` loops. For operations of a few
 * microseconds, where one timer read per call would dominate.
 */
export async function measureLoop(
  suite: string,
  iterations: number,
  body: (i: number) => unknown,
  options: MeasureOptions & { async?: boolean },
): Promise<Sample> {
  const loop = options.async
    ? async () => {
        for (let i = 0; i < iterations; i++) await body(i);
      }
    : () => {
        for (let i = 0; i < iterations; i++) body(i);
      };
  const s = await measure(suite, loop, options);
  const perCall = s.samples.map((ms) => (ms * 1000) / iterations);
  return summarize(perCall);
}

function formatMs(ms: number): string {
  return ms >= 100 ? `${ms.toFixed(0)} ms` : `${ms.toFixed(2)} ms`;
}

/** A figure with a sensible number of digits. */
export function formatNumber(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a >= 100) return v.toFixed(0);
  if (a >= 10) return v.toFixed(1);
  if (a >= 1) return v.toFixed(2);
  return v.toPrecision(2);
}

/** PASS, MISS, or "" without a goal. */
export function verdict(row: Row): "PASS" | "MISS" | "" {
  if (!row.goal) return "";
  const ok = row.goal.direction === DIRECTION.lower ? row.petrel <= row.goal.value : row.petrel >= row.goal.value;
  return ok ? "PASS" : "MISS";
}

/** The suite's table as text: Petrel, the peer, the ratio, the goal and the verdict per row. */
export function renderTable(result: SuiteResult): string {
  const header = ["metric", "petrel", "peer", "peer figure", "petrel/peer", "goal", "result"];
  const lines = result.rows.map((r) => [
    r.metric,
    `${formatNumber(r.petrel)} ${r.unit}`,
    r.peerName ?? "-",
    r.peer === undefined ? "-" : `${formatNumber(r.peer)} ${r.unit}`,
    r.peer === undefined || r.peer === 0 ? "-" : `${formatNumber(r.petrel / r.peer)}x`,
    r.goal ? `${r.goal.direction === DIRECTION.lower ? "<=" : ">="} ${formatNumber(r.goal.value)} ${r.unit}` : "-",
    verdict(r) || "-",
  ]);
  const widths = header.map((h, j) => Math.max(h.length, ...lines.map((l) => l[j]!.length)));
  const fmt = (cells: string[]) => cells.map((c, j) => (j === 0 || j === 2 ? c.padEnd(widths[j]!) : c.padStart(widths[j]!))).join("  ");
  const out = [`== ${result.title}`, fmt(header), widths.map((w) => "-".repeat(w)).join("  "), ...lines.map(fmt)];
  const footnotes = result.rows.filter((r) => r.note).map((r) => `  * ${r.metric}: ${r.note}`);
  out.push(...footnotes, ...result.notes.map((n) => `  - ${n}`));
  return out.join("\n");
}
