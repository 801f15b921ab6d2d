/**
 * When a schedule ticks: the times of a cron or fixed-rate schedule after a
 * given instant, and its catch-up and concurrency settings with their defaults.
 * Pure computation, shared by the backend's scheduler (what is due) and its API
 * (what comes next).
 *
 * @example
 * ```ts
 * const hourly: Schedule = { kind: "cron", expression: "@hourly" };
 * scheduleTicks(hourly, { after: Date.parse("2025-01-01T09:30:00Z"), anchor: 0 }, 2).map((t) => new Date(t).toISOString());
 * // ["2025-01-01T10:00:00.000Z", "2025-01-01T11:00:00.000Z"]
 * ```
 */
import { nextCronTick, parseCron, type CronExpression } from "./cron.js";
import type { Schedule, ScheduleCatchUp, ScheduleConcurrency } from "./specs.js";

/** Missed ticks: by default only the latest one fires. */
export const DEFAULT_CATCH_UP: ScheduleCatchUp = "latest";
/** With catch-up `all`, at most this many missed ticks fire by default. */
export const DEFAULT_CATCH_UP_LIMIT = 100;
/** The most missed ticks a schedule may ask to fire after downtime. */
export const MAX_CATCH_UP_LIMIT = 10_000;
/** By default a tick fires even while the previous scheduled execution runs. */
export const DEFAULT_SCHEDULE_CONCURRENCY: ScheduleConcurrency = "allow";

/** A schedule's policy with every default applied. */
export interface ResolvedSchedulePolicy {
  catchUp: ScheduleCatchUp;
  catchUpLimit: number;
  concurrency: ScheduleConcurrency;
}

/** The schedule's catch-up and concurrency settings, defaults filled in. */
export function schedulePolicy(schedule: Schedule): ResolvedSchedulePolicy {
  return {
    catchUp: schedule.catchUp ?? DEFAULT_CATCH_UP,
    catchUpLimit: schedule.catchUpLimit ?? DEFAULT_CATCH_UP_LIMIT,
    concurrency: schedule.concurrency ?? DEFAULT_SCHEDULE_CONCURRENCY,
  };
}

/**
 * Where a schedule's ticks are counted from: `after`, the instant they must be
 * strictly later than, and `anchor`, where a fixed rate's grid starts (it ticks
 * at anchor + k·everyMs, k ≥ 1; cron ignores it).
 */
export interface TickOrigin {
  after: number;
  anchor: number;
}

const parsed = new Map<string, CronExpression>();
function cronOf(expression: string): CronExpression {
  let cron = parsed.get(expression);
  if (!cron) {
    cron = parseCron(expression);
    if (parsed.size >= 1_000) parsed.clear();
    parsed.set(expression, cron);
  }
  return cron;
}

/** The first tick strictly after `origin.after`, or undefined when a cron expression never fires again. */
export function nextScheduleTick(schedule: Schedule, origin: TickOrigin): number | undefined {
  if (schedule.kind === "cron") return nextCronTick(cronOf(schedule.expression), origin.after, schedule.timezone);
  const every = schedule.everyMs;
  // Ticks are whole milliseconds; k counts periods from the anchor, starting at 1.
  let k = Math.max(1, Math.floor((origin.after - origin.anchor) / every) + 1);
  let tick = origin.anchor + Math.round(k * every);
  while (tick <= origin.after) tick = origin.anchor + Math.round(++k * every);
  return tick;
}

/** The next `n` ticks strictly after `origin.after`, oldest first. */
export function scheduleTicks(schedule: Schedule, origin: TickOrigin, n: number): number[] {
  const out: number[] = [];
  let after = origin.after;
  while (out.length < n) {
    const tick = nextScheduleTick(schedule, { after, anchor: origin.anchor });
    if (tick === undefined) break;
    out.push(tick);
    after = tick;
  }
  return out;
}

/** The ticks in (after, until], as far as a caller keeps them: the most recent `keep`, and how many there were in all. */
export interface DueTicks {
  /** The most recent due ticks, oldest first (at most `keep`). */
  recent: number[];
  /** How many ticks fell due in all (≥ recent.length). */
  total: number;
}

/**
 * The ticks in (origin.after, until], keeping the `keep` most recent. A fixed
 * rate is counted arithmetically; a cron expression is walked tick by tick.
 */
export function dueScheduleTicks(schedule: Schedule, origin: TickOrigin, until: number, keep: number): DueTicks {
  if (until <= origin.after) return { recent: [], total: 0 };
  if (schedule.kind === "rate") {
    const first = nextScheduleTick(schedule, origin)!;
    if (first > until) return { recent: [], total: 0 };
    const every = schedule.everyMs;
    const kFirst = Math.round((first - origin.anchor) / every);
    let kLast = Math.floor((until - origin.anchor) / every);
    while (origin.anchor + Math.round(kLast * every) > until) kLast--;
    const total = kLast - kFirst + 1;
    const recent: number[] = [];
    for (let k = Math.max(kFirst, kLast - keep + 1); k <= kLast; k++) recent.push(origin.anchor + Math.round(k * every));
    return { recent, total };
  }
  const recent: number[] = [];
  let total = 0;
  let after = origin.after;
  for (;;) {
    const tick = nextScheduleTick(schedule, { after, anchor: origin.anchor });
    if (tick === undefined || tick > until) break;
    total++;
    recent.push(tick);
    if (recent.length > keep) recent.shift();
    after = tick;
  }
  return { recent, total };
}
