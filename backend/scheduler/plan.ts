/**
 * Which due ticks fire: the catch-up policy applied to the ticks that fell due
 * since the last one considered. Pure, so the policy can be read (and tested)
 * apart from the store.
 */
import { dueScheduleTicks, schedulePolicy, type Schedule } from "../../kernel/index.js";
import type { ScheduleStateRecord } from "../store/index.js";

/** A due tick and whether the policy fires it (`missed`: dropped by catch-up). */
export interface PlannedTick {
  tick: number;
  action: "fire" | "missed";
  /** Why a missed tick was dropped. */
  reason?: string;
}

/** The ticks of one pass, oldest first, and how many older due ticks were dropped without a record. */
export interface TickPlan {
  ticks: PlannedTick[];
  unrecorded: number;
}

/**
 * The ticks in (state.lastTick, now], and which of them fire:
 * - `none`: only the latest, and only while it is at most `graceMs` late; any
 *   earlier ones were missed while no scheduler ran;
 * - `latest`: the latest, however late;
 * - `all`: the `catchUpLimit` most recent.
 * The rest are missed; only the most recent `catchUpLimit` of those are
 * returned (to be recorded), the older ones are counted in `unrecorded`.
 */
export function planTicks(schedule: Schedule, state: Pick<ScheduleStateRecord, "lastTick" | "anchor">, now: number, graceMs: number): TickPlan {
  const policy = schedulePolicy(schedule);
  const due = dueScheduleTicks(schedule, { after: state.lastTick, anchor: state.anchor }, now, policy.catchUpLimit);
  const latest = due.recent[due.recent.length - 1];
  const ticks = due.recent.map((tick): PlannedTick => {
    switch (policy.catchUp) {
      case "all":
        return { tick, action: "fire" };
      case "latest":
        return tick === latest ? { tick, action: "fire" } : { tick, action: "missed", reason: "catch-up latest: a later tick was also due" };
      case "none":
        if (tick !== latest) return { tick, action: "missed", reason: "catch-up none: missed while no scheduler ran" };
        return now - tick <= graceMs ? { tick, action: "fire" } : { tick, action: "missed", reason: `catch-up none: ${now - tick} ms late (grace ${graceMs} ms)` };
    }
  });
  return { ticks, unrecorded: due.total - due.recent.length };
}
