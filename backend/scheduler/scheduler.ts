/**
 * The scheduler: on every pass, for each active launch plan with a schedule,
 * the ticks that fell due since the last one considered are planned (catch-up
 * policy), each tick's outcome is claimed in the store (the first claim stands),
 * fired ticks become executions with a name derived from the tick, and the
 * schedule's state moves past the tick. Every step is idempotent, so any number
 * of schedulers on one database, or one that dies halfway through a tick and
 * starts again, fire each tick exactly once.
 */
import {
  isAssignable,
  nextScheduleTick,
  schedulePolicy,
  type Identifier,
  type LaunchPlanSpec,
  type Literal,
  type LiteralType,
  type Schedule,
  type WorkflowSpec,
} from "../../kernel/index.js";
import { API_ERRORS, createExecution, isApiError, nextScheduledRuns, DEFAULT_NEXT_RUNS, type ApiDeps, type Principal } from "../api/index.js";
import type { Clock } from "../clock.js";
import type { EntityRecord, ScheduleKey, ScheduleOutcome, ScheduleRunRecord } from "../store/index.js";
import { SCHEDULE_LABELS, scheduledExecutionName } from "./names.js";
import { planTicks } from "./plan.js";

/** How often a running scheduler looks for due ticks. */
export const DEFAULT_SCHEDULER_POLL_MS = 1_000;
/** How late a tick may fire under catch-up `none` and still count as on time. */
export const DEFAULT_MISFIRE_GRACE_MS = 60_000;
/** A launch plan whose pass keeps failing is retried at most this far apart (a broken one does not flood the log). */
export const MAX_SCHEDULER_RETRY_MS = 60_000;
/** Who scheduled executions are created by. */
export const SCHEDULER_PRINCIPAL = "scheduler";

/** Options of {@link createScheduler}. */
export interface SchedulerOptions {
  /** The API's services: the store, blobs, settings, and the engine that runs what fires. */
  deps: ApiDeps;
  /** Default: `deps.clock`. */
  clock?: Clock;
  /** Milliseconds between passes once started (default {@link DEFAULT_SCHEDULER_POLL_MS}). */
  pollMs?: number;
  /** Under catch-up `none`, a tick this late (ms) or less still fires (default {@link DEFAULT_MISFIRE_GRACE_MS}). */
  misfireGraceMs?: number;
  /** Where a pass's failures go (default: console.error); a failing launch plan never stops the others. */
  onError?: (error: unknown, launchPlan?: Identifier) => void;
}

/** One tick a pass handled. */
export interface FiredTick {
  /** The launch plan version the tick belongs to. */
  launchPlan: Identifier;
  /** The scheduled time (epoch ms). */
  scheduledTime: number;
  /** The recorded outcome (which may be another scheduler's, recorded first). */
  outcome: ScheduleOutcome;
  /** The execution of a fired tick. */
  execution?: string;
  /** Whether this pass recorded the outcome. */
  recorded: boolean;
  /** Whether this pass created the execution. */
  created: boolean;
  /** Why it was skipped, missed or failed. */
  reason?: string;
}

/** A running (or startable) scheduler. */
export interface Scheduler {
  /** Starts passes every `pollMs` (the first at once). Starting a started scheduler does nothing. */
  start(): void;
  /** Stops the passes and waits for the one under way. */
  stop(): Promise<void>;
  /** Runs one pass now (after any under way) and resolves with the ticks it handled. */
  tick(): Promise<FiredTick[]>;
  /** The next `n` runs (epoch ms) of a launch plan's active version. */
  nextRuns(launchPlan: Pick<Identifier, "project" | "domain" | "name">, n?: number): Promise<number[]>;
}

const PRINCIPAL: Principal = { kind: "admin", name: SCHEDULER_PRINCIPAL, grants: [] };
const UNFINISHED = ["QUEUED", "RUNNING"] as const;

/** The literal a kickoff input of `type` takes for the ISO time `iso`, or undefined when none fits. */
function kickoffLiteral(type: LiteralType, iso: string): Literal | undefined {
  switch (type.kind) {
    case "datetime":
      return { kind: "datetime", value: iso };
    case "optional":
      return kickoffLiteral(type.type, iso);
    case "json":
      return { kind: "json", value: iso };
    case "union": {
      const variant = type.variants.findIndex((v) => isAssignable({ kind: "datetime" }, v));
      const value = variant >= 0 ? kickoffLiteral(type.variants[variant]!, iso) : undefined;
      return value && { kind: "union", variant, value };
    }
    default:
      return undefined;
  }
}

/**
 * Creates a scheduler over the API's services. In production `start()` it beside
 * the engine; in tests drive it with `tick()` and a manual clock.
 *
 * @example
 * ```ts
 * import { createScheduler, createTestBackend } from "petrel/backend";
 * const backend = await createTestBackend({ clock: "2025-01-01T09:30:00Z" });
 * const scheduler = createScheduler({ deps: backend.deps });
 * // ... register and activate a launch plan with schedule { kind: "cron", expression: "@hourly" }
 * backend.clock.set("2025-01-01T10:00:00Z");
 * const fired = await scheduler.tick(); // one execution, named s-…, for 10:00
 * ```
 */
export function createScheduler(options: SchedulerOptions): Scheduler {
  const { deps } = options;
  const { store } = deps;
  const clock = options.clock ?? deps.clock;
  const pollMs = options.pollMs ?? DEFAULT_SCHEDULER_POLL_MS;
  const graceMs = options.misfireGraceMs ?? DEFAULT_MISFIRE_GRACE_MS;
  const report = options.onError ?? ((error: unknown, lp?: Identifier) => console.error(`petrel scheduler${lp ? ` (launch plan ${lp.name}@${lp.version} in ${lp.project}/${lp.domain})` : ""}:`, error));

  /**
   * When each schedule next falls due, as of its last pass: until then a pass
   * reads nothing for it. Safe across schedulers and activations, because those
   * only ever move a schedule's next tick later, or (a new version) change the key.
   */
  let nextDue = new Map<string, { version: string; at: number }>();
  /** Consecutive failed passes per schedule, for the retry backoff. */
  const failures = new Map<string, number>();

  const keyOf = (lp: EntityRecord): ScheduleKey => ({ project: lp.id.project, domain: lp.id.domain, launchPlan: lp.id.name });
  const cacheKey = (k: ScheduleKey) => `${k.project}\u0000${k.domain}\u0000${k.launchPlan}`;

  /** Whether an earlier scheduled execution of the launch plan is still queued or running. */
  async function previousRunning(key: ScheduleKey): Promise<boolean> {
    const page = await store.listExecutions(
      { project: key.project, domain: key.domain, launchPlan: key.launchPlan, phases: [...UNFINISHED], labels: [{ key: SCHEDULE_LABELS.scheduledTime }] },
      { limit: 1 },
    );
    return page.items.length > 0;
  }

  /** The kickoff input's value for a tick; undefined when the schedule has no kickoff input. */
  async function kickoffInputs(lp: EntityRecord, schedule: Schedule, tick: number): Promise<Record<string, Literal>> {
    const input = schedule.kickoffTimeInput;
    if (input === undefined) return {};
    const wfId = lp.references.find((r) => r.resourceType === "workflow");
    const wf = wfId && (await store.getEntity(wfId));
    const type = wf && Object.hasOwn((wf.spec as WorkflowSpec).interface.inputs, input) ? (wf.spec as WorkflowSpec).interface.inputs[input]!.type : { kind: "datetime" as const };
    const literal = kickoffLiteral(type, new Date(tick).toISOString());
    return literal ? { [input]: literal } : {};
  }

  /**
   * Creates the execution of a tick whose recorded outcome is `fired`; taken
   * already (another scheduler, or this one before a restart) counts as done.
   * A request the API refuses for good (4xx) turns the tick into `failed`;
   * anything else throws, and the tick is tried again on the next pass.
   */
  async function fire(lp: EntityRecord, schedule: Schedule, run: ScheduleRunRecord): Promise<{ created: boolean; failed?: string }> {
    const key: ScheduleKey = { project: run.project, domain: run.domain, launchPlan: run.launchPlan };
    const name = run.execution ?? scheduledExecutionName(key, run.tick);
    // A tick recorded under another version (just replaced) fires as that version, with its kickoff input.
    const plan = (run.version === lp.id.version ? lp : await store.getEntity({ ...lp.id, version: run.version })) ?? lp;
    const planSchedule = (plan.spec as LaunchPlanSpec).schedule ?? schedule;
    try {
      await createExecution(
        deps,
        PRINCIPAL,
        run.project,
        run.domain,
        {
          name,
          launchPlan: { name: run.launchPlan, version: run.version },
          inputs: await kickoffInputs(plan, planSchedule, run.tick),
          labels: { [SCHEDULE_LABELS.scheduledTime]: new Date(run.tick).toISOString(), [SCHEDULE_LABELS.launchPlan]: run.launchPlan },
        },
        { mode: "schedule" },
      );
      return { created: true };
    } catch (error) {
      if (isApiError(error) && error.code === API_ERRORS.ALREADY_EXISTS) return { created: false };
      if (isApiError(error) && error.status < 500) {
        await store.updateScheduleRun(key, run.tick, { outcome: "failed", reason: error.message });
        report(error, { ...lp.id, version: run.version });
        return { created: false, failed: error.message };
      }
      throw error;
    }
  }

  /** One launch plan's due ticks, oldest first, each appended to `out` once handled. */
  async function runLaunchPlan(lp: EntityRecord, now: number, out: FiredTick[]): Promise<void> {
    const schedule = (lp.spec as LaunchPlanSpec).schedule;
    if (!schedule) return;
    const key = keyOf(lp);
    const cached = nextDue.get(cacheKey(key));
    if (cached && cached.version === lp.id.version && now < cached.at) return;
    let state = await store.getScheduleState(key);
    if (!state || state.version !== lp.id.version) state = await store.ensureScheduleState(key, lp.id.version, now);
    const plan = planTicks(schedule, state, now, graceMs);
    const concurrency = schedulePolicy(schedule).concurrency;
    for (const planned of plan.ticks) {
      let outcome: ScheduleOutcome = planned.action === "fire" ? "fired" : "missed";
      let reason = planned.reason;
      if (outcome === "fired" && concurrency === "skip" && (await previousRunning(key))) {
        outcome = "skipped";
        reason = "concurrency skip: the previous scheduled execution was still running";
      }
      const claim = await store.claimScheduleRun({
        ...key,
        tick: planned.tick,
        version: lp.id.version,
        outcome,
        ...(outcome === "fired" ? { execution: scheduledExecutionName(key, planned.tick) } : {}),
        ...(reason !== undefined ? { reason } : {}),
        recordedAt: now,
      });
      const run = claim.run;
      const result: FiredTick = {
        launchPlan: { ...lp.id, version: run.version },
        scheduledTime: run.tick,
        outcome: run.outcome,
        recorded: claim.claimed,
        created: false,
        ...(run.execution !== undefined ? { execution: run.execution } : {}),
        ...(run.reason !== undefined ? { reason: run.reason } : {}),
      };
      if (run.outcome === "fired") {
        const fired = await fire(lp, schedule, run);
        result.created = fired.created;
        if (fired.failed !== undefined) {
          result.outcome = "failed";
          result.reason = fired.failed;
        }
      }
      out.push(result);
      await store.advanceScheduleState(key, planned.tick, now);
    }
    const last = plan.ticks.length > 0 ? plan.ticks[plan.ticks.length - 1]!.tick : state.lastTick;
    const next = nextScheduleTick(schedule, { after: Math.max(last, now), anchor: state.anchor });
    nextDue.set(cacheKey(key), { version: lp.id.version, at: next ?? Number.POSITIVE_INFINITY });
  }

  async function pass(): Promise<FiredTick[]> {
    const now = clock.now();
    const out: FiredTick[] = [];
    let active: EntityRecord[];
    try {
      active = await store.listActiveLaunchPlans();
    } catch (error) {
      report(error);
      return out;
    }
    const seen = new Map<string, { version: string; at: number }>();
    for (const lp of active) {
      const key = cacheKey(keyOf(lp));
      try {
        await runLaunchPlan(lp, now, out);
        failures.delete(key);
      } catch (error) {
        // Not advanced: a later pass takes the tick up again (the claim recorded for it stands), sooner for a passing fault.
        const n = (failures.get(key) ?? 0) + 1;
        failures.set(key, n);
        nextDue.set(key, { version: lp.id.version, at: now + Math.min(MAX_SCHEDULER_RETRY_MS, pollMs * 2 ** (n - 1)) });
        report(error, lp.id);
      }
      const cached = nextDue.get(key);
      if (cached) seen.set(key, cached);
    }
    nextDue = seen;
    for (const key of failures.keys()) if (!seen.has(key)) failures.delete(key);
    return out;
  }

  let chain: Promise<unknown> = Promise.resolve();
  let timer: NodeJS.Timeout | undefined;
  /** Bumped by every start and stop: a pass of an earlier run never schedules another. */
  let generation = 0;
  let running = false;

  const tick = (): Promise<FiredTick[]> => {
    const result = chain.then(pass);
    chain = result.catch(() => undefined);
    return result;
  };

  const loop = (delay: number, run: number) => {
    timer = setTimeout(() => {
      timer = undefined;
      tick()
        .catch((error: unknown) => report(error))
        .finally(() => {
          if (running && run === generation) loop(pollMs, run);
        });
    }, delay);
    // The HTTP server keeps a backend alive; a scheduler alone must not.
    timer.unref();
  };

  return {
    start() {
      if (running) return;
      running = true;
      loop(0, ++generation);
    },
    async stop() {
      running = false;
      generation++;
      if (timer) clearTimeout(timer);
      timer = undefined;
      await chain;
    },
    tick,
    nextRuns(launchPlan, n = DEFAULT_NEXT_RUNS) {
      return nextScheduledRuns(store, launchPlan.project, launchPlan.domain, launchPlan.name, clock.now(), n);
    },
  };
}
