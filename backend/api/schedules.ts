/**
 * Schedules as the API shows them: a launch plan's schedule with its next runs
 * and the recorded outcome of its past ticks (with their executions' phases),
 * and the scheduled launch plans of a domain. The scheduler (backend/scheduler)
 * writes what is read here.
 */
import { scheduleTicks, type LaunchPlanSpec, type Schedule } from "../../kernel/index.js";
import type { EntityRecord, MetadataStore, PageRequest, ScheduleRunRecord, ScheduleStateRecord } from "../store/index.js";
import type { ApiDeps } from "./context.js";
import { notFound } from "./errors.js";
import { iso } from "./http.js";

/** Next runs shown by default, and at most. */
export const DEFAULT_NEXT_RUNS = 5;
export const MAX_NEXT_RUNS = 100;

/** The key of a launch plan's schedule. */
const keyOf = (record: EntityRecord) => ({ project: record.id.project, domain: record.id.domain, launchPlan: record.id.name });

/**
 * The next `n` ticks of an active launch plan's schedule after `now` (none when
 * it has no schedule). The state decides where a fixed rate's grid starts; a
 * launch plan the scheduler has not seen yet counts from `now`.
 */
export function upcomingTicks(record: EntityRecord, state: ScheduleStateRecord | undefined, now: number, n: number): number[] {
  const schedule = (record.spec as LaunchPlanSpec).schedule;
  if (!schedule) return [];
  const anchored = state !== undefined && state.version === record.id.version;
  return scheduleTicks(schedule, anchored ? { after: Math.max(state.lastTick, now), anchor: state.anchor } : { after: now, anchor: now }, n);
}

/** The next `n` runs of the active version of a launch plan (epoch ms); [] when none is active or it has no schedule. */
export async function nextScheduledRuns(store: MetadataStore, project: string, domain: string, name: string, now: number, n = DEFAULT_NEXT_RUNS): Promise<number[]> {
  const active = await store.getActiveLaunchPlan(project, domain, name);
  if (!active) return [];
  return upcomingTicks(active, await store.getScheduleState(keyOf(active)), now, n);
}

/** One recorded tick, with its execution's phase when it fired. */
function runView(run: ScheduleRunRecord, phase: string | undefined): Record<string, unknown> {
  return {
    scheduledTime: iso(run.tick),
    outcome: run.outcome,
    version: run.version,
    ...(run.execution !== undefined ? { execution: run.execution } : {}),
    ...(phase !== undefined ? { phase } : {}),
    ...(run.reason !== undefined ? { reason: run.reason } : {}),
    recordedAt: iso(run.recordedAt),
  };
}

/** The schedule of a launch plan name: its active version's schedule, next runs and a page of past runs. 404 when no version exists. */
export async function launchPlanScheduleView(
  deps: ApiDeps,
  project: string,
  domain: string,
  name: string,
  options: { next: number; page: PageRequest },
): Promise<Record<string, unknown>> {
  const { store } = deps;
  const active = await store.getActiveLaunchPlan(project, domain, name);
  if (!active && !(await store.latestEntity("launch_plan", project, domain, name))) throw notFound(`launch plan ${name}`);
  const key = { project, domain, launchPlan: name };
  const state = await store.getScheduleState(key);
  const runs = await store.listScheduleRuns(key, options.page);
  const phases = await Promise.all(
    runs.items.map(async (r) => (r.execution !== undefined ? (await store.getExecution({ project, domain, name: r.execution }))?.phase : undefined)),
  );
  const schedule: Schedule | null = (active?.spec as LaunchPlanSpec | undefined)?.schedule ?? null;
  return {
    launchPlan: name,
    activeVersion: active?.id.version ?? null,
    schedule,
    ...(state ? { anchoredAt: iso(state.anchor), lastTick: iso(state.lastTick) } : {}),
    nextRuns: active ? upcomingTicks(active, state, deps.clock.now(), options.next).map(iso) : [],
    pastRuns: runs.items.map((r, i) => runView(r, phases[i])),
    ...(runs.next ? { next: runs.next } : {}),
  };
}

/** The active launch plans of a domain that have a schedule, by name, each with its next run. */
export async function listSchedulesView(deps: ApiDeps, project: string, domain: string): Promise<Record<string, unknown>> {
  const { store } = deps;
  const now = deps.clock.now();
  const active = (await store.listActiveLaunchPlans({ project, domain })).filter((r) => (r.spec as LaunchPlanSpec).schedule !== undefined);
  active.sort((a, b) => (a.id.name < b.id.name ? -1 : a.id.name > b.id.name ? 1 : 0));
  const items = await Promise.all(
    active.map(async (record) => {
      const state = await store.getScheduleState(keyOf(record));
      const [next] = upcomingTicks(record, state, now, 1);
      return {
        launchPlan: record.id.name,
        version: record.id.version,
        schedule: (record.spec as LaunchPlanSpec).schedule,
        nextRun: next !== undefined ? iso(next) : null,
        ...(state ? { lastTick: iso(state.lastTick) } : {}),
      };
    }),
  );
  return { items };
}
