/** What the scheduler writes on the executions it creates: a name derived from the tick, and labels. */
import { createHash } from "node:crypto";
import type { ScheduleKey } from "../store/index.js";

/** Labels on every scheduled execution. */
export const SCHEDULE_LABELS = {
  /** The tick's scheduled time, ISO-8601 UTC. */
  scheduledTime: "petrel.dev/scheduled-time",
  /** The launch plan's name. */
  launchPlan: "petrel.dev/launch-plan",
} as const;

/** Hex digits of the hash in a scheduled execution's name: 80 bits. */
const NAME_HASH_CHARS = 20;

/**
 * The execution name of one tick: `s-` and a hash of project, domain, launch
 * plan name and scheduled time. The same tick always gets the same name, and the
 * store refuses a second execution under a taken name, so however many
 * schedulers race on a tick (or one restarts halfway through it) it fires once.
 *
 * @example
 * ```ts
 * scheduledExecutionName({ project: "demo", domain: "development", launchPlan: "nightly" }, Date.parse("2025-01-01T06:00:00Z"));
 * // "s-" + 20 hex digits, the same on every call
 * ```
 */
export function scheduledExecutionName(key: ScheduleKey, tick: number): string {
  const text = `${key.project}/${key.domain}/${key.launchPlan}/${new Date(tick).toISOString()}`;
  return `s-${createHash("sha256").update(text).digest("hex").slice(0, NAME_HASH_CHARS)}`;
}
