/**
 * The native scheduler: cron and fixed-rate launch plans. Every active launch
 * plan with a schedule fires an execution per tick, named after the tick
 * (`s-<hash>`), so a tick fires exactly once however many schedulers share the
 * database and however often they restart. The schedule's state belongs to the
 * launch plan's name: activating a new version moves the schedule without firing
 * a tick twice, deactivating stops it. Missed ticks (downtime) follow the
 * schedule's `catchUp` (none, latest, all up to `catchUpLimit`), and
 * `concurrency: "skip"` skips a tick while the previous run still runs. Every
 * outcome is recorded and served at GET .../launch-plans/{name}/schedule.
 *
 * @example
 * ```ts
 * import { createScheduler, createTestBackend } from "petrel/backend";
 *
 * const backend = await createTestBackend({ clock: "2025-01-01T09:30:00Z" });
 * const scheduler = createScheduler({ deps: backend.deps });
 * // register a workflow and a launch plan with schedule { kind: "cron", expression: "@hourly" }, activate it
 * backend.clock.set("2025-01-01T10:00:00Z");
 * const [fired] = await scheduler.tick();        // { outcome: "fired", execution: "s-…", scheduledTime: 10:00 }
 * await scheduler.nextRuns({ project: "demo", domain: "development", name: "hourly" }, 3);
 *
 * // In a server: start it beside the engine, stop it on close.
 * scheduler.start();
 * await scheduler.stop();
 * ```
 */
export {
  createScheduler,
  DEFAULT_MISFIRE_GRACE_MS,
  DEFAULT_SCHEDULER_POLL_MS,
  SCHEDULER_PRINCIPAL,
  type FiredTick,
  type Scheduler,
  type SchedulerOptions,
} from "./scheduler.js";
export { SCHEDULE_LABELS, scheduledExecutionName } from "./names.js";
export { planTicks, type PlannedTick, type TickPlan } from "./plan.js";
