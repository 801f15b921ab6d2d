/** What a task's resources mean to the local-process runner. */
import type { TaskSpec } from "../../kernel/index.js";
import { formatBytes, parseMemory, parseQuantity } from "./quantity.js";

/** A memory limit, as given and in bytes. */
export interface MemoryLimit {
  text: string;
  bytes: number;
}

/** The share of a memory limit given to V8's old space (the rest: Buffers and Arrow data, code, stacks). */
const HEAP_SHARE = 0.75;
/** V8 cannot run a runtime in less heap than this. */
const MIN_HEAP_MB = 32;

/** The task's memory limit (`resources.limits.mem`), if any. */
export function memoryLimitOf(task: TaskSpec): MemoryLimit | undefined {
  const text = task.resources.limits?.mem;
  return text === undefined ? undefined : memoryLimit(text, `task ${task.name}: resources.limits.mem`);
}

/** A memory limit from its quantity (`"256Mi"`). */
export function memoryLimit(text: string, field: string): MemoryLimit {
  return { text, bytes: parseMemory(text, field) };
}

/** The CPUs an attempt claims for admission: its request, else its limit, else none (only the attempt count applies). */
export function cpuClaimOf(task: TaskSpec): number {
  const text = task.resources.requests?.cpu ?? task.resources.limits?.cpu;
  return text === undefined ? 0 : parseQuantity(text, `task ${task.name}: resources cpu`);
}

/** `--max-old-space-size` for a memory limit: most of it, so a JS-heavy task fails with a heap error before the RSS watchdog kills it. */
export function heapFlagOf(limit: MemoryLimit): string {
  return `--max-old-space-size=${Math.max(MIN_HEAP_MB, Math.floor((limit.bytes / 2 ** 20) * HEAP_SHARE))}`;
}

/** The message of an attempt killed over its limit. */
export function overLimitMessage(limit: MemoryLimit, rss: number, pid: number): string {
  return `the attempt used more memory than its limit ${limit.text} (${formatBytes(limit.bytes)}): process ${pid} had a resident set of ${formatBytes(rss)} and was killed`;
}

/** True when a log's end shows V8 giving up for lack of heap. */
export function isHeapExhaustion(logTail: string): boolean {
  return /heap out of memory|Reached heap limit|Allocation failed - JavaScript heap/.test(logTail);
}
