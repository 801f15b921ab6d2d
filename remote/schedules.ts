/**
 * Schedules through the client: what `petrel schedule` and `%petrel schedule`
 * do. A launch plan version is immutable, so putting one on another schedule
 * registers a new version (same workflow version, same inputs, the new schedule;
 * the version derived from the old one and the schedule) and, when asked,
 * activates it, which moves the schedule without a double fire.
 */
import { sha256, stableStringify, type Identifier, type LaunchPlanSpec, type Schedule } from "../kernel/index.js";
import type { Http } from "./http.js";

/** A launch plan's schedule as the API shows it. */
export interface ScheduleView {
  launchPlan: string;
  activeVersion: string | null;
  schedule: Schedule | null;
  /** ISO times. */
  nextRuns: string[];
  pastRuns: { scheduledTime: string; outcome: string; version: string; execution?: string; phase?: string; reason?: string }[];
  next?: string;
}

/** The scheduled launch plans of a domain. */
export interface ScheduleList {
  items: { launchPlan: string; version: string; schedule: Schedule; nextRun: string | null; lastTick?: string }[];
}

/** What `setSchedule` did. */
export interface ScheduleChange {
  launchPlan: string;
  version: string;
  from: string;
  schedule: Schedule;
  activated: boolean;
  previousActiveVersion?: string | null;
  nextRuns?: string[];
}

/** Keeps derived versions well inside the API's 128 characters. */
const MAX_BASE_VERSION_CHARS = 100;
/** The suffix a derived version carries: `-s` and 8 hex digits of the schedule's hash. */
const DERIVED_SUFFIX = /-s[0-9a-f]{8}$/;

/** The new version's name: the old one (without an earlier derived suffix) and a hash of the schedule. */
export function derivedVersion(from: string, schedule: Schedule): string {
  const stem = from.replace(DERIVED_SUFFIX, "").slice(0, MAX_BASE_VERSION_CHARS);
  return `${stem}-s${sha256(stableStringify(schedule)).slice("sha256:".length, "sha256:".length + 8)}`;
}

/** A schedule in a few words: "cron 0 6 * * * (Europe/Paris)", "every 5m". */
export function describeSchedule(schedule: Schedule | null | undefined): string {
  if (!schedule) return "none";
  const when = schedule.kind === "cron" ? `cron ${schedule.expression}${schedule.timezone ? ` (${schedule.timezone})` : " (UTC)"}` : `every ${describeMs(schedule.everyMs)}`;
  const policy = [
    schedule.catchUp !== undefined ? `catch-up ${schedule.catchUp}${schedule.catchUp === "all" && schedule.catchUpLimit !== undefined ? ` (max ${schedule.catchUpLimit})` : ""}` : "",
    schedule.concurrency === "skip" ? "skip while running" : "",
    schedule.kickoffTimeInput !== undefined ? `kickoff time -> ${schedule.kickoffTimeInput}` : "",
  ].filter(Boolean);
  return policy.length ? `${when}; ${policy.join(", ")}` : when;
}

function describeMs(ms: number): string {
  const units: [number, string][] = [
    [86_400_000, "d"],
    [3_600_000, "h"],
    [60_000, "m"],
    [1_000, "s"],
  ];
  let rest = ms;
  let out = "";
  for (const [size, unit] of units) {
    if (rest >= size) {
      out += `${Math.floor(rest / size)}${unit}`;
      rest %= size;
    }
  }
  return rest > 0 || out === "" ? `${out}${rest}ms` : out;
}

interface EntityJson {
  id: Identifier;
  spec: LaunchPlanSpec;
  bundle?: string;
  references?: Identifier[];
}

const seg = encodeURIComponent;

/** The schedule operations of one project and domain. */
export class Schedules {
  constructor(
    private readonly http: Http,
    private readonly base: string,
    private readonly fetchLaunchPlan: (name: string, version?: string) => Promise<EntityJson>,
  ) {}

  /**
   * Puts a launch plan (version `from`, default its active version, else its newest) on `schedule`: a new
   * version with everything else unchanged, activated when `activate` is set.
   * Policy fields the new schedule leaves out (catch-up, concurrency, kickoff
   * input) are kept from the old one.
   */
  async set(name: string, schedule: Schedule, options: { version?: string; from?: string; activate?: boolean } = {}): Promise<ScheduleChange> {
    const current = await this.fetchLaunchPlan(name, options.from);
    const old = current.spec.schedule;
    const merged: Schedule = {
      ...(old?.kickoffTimeInput !== undefined ? { kickoffTimeInput: old.kickoffTimeInput } : {}),
      ...(old?.catchUp !== undefined ? { catchUp: old.catchUp } : {}),
      ...(old?.catchUpLimit !== undefined ? { catchUpLimit: old.catchUpLimit } : {}),
      ...(old?.concurrency !== undefined ? { concurrency: old.concurrency } : {}),
      ...schedule,
    };
    // The same workflow version the old launch plan pinned, whatever has been registered since.
    const pinned = current.references?.find((r) => r.resourceType === "workflow");
    const spec: LaunchPlanSpec = { ...current.spec, ...(pinned ? { workflow: { resourceType: "workflow", name: pinned.name, version: pinned.version } } : {}), schedule: merged };
    const version = options.version ?? derivedVersion(current.id.version, merged);
    const path = `${this.base}/launch-plans/${seg(name)}/versions/${seg(version)}`;
    await this.http.call("PUT", path, { body: { spec, ...(current.bundle !== undefined ? { bundle: current.bundle } : {}) } });
    const change: ScheduleChange = { launchPlan: name, version, from: current.id.version, schedule: merged, activated: options.activate === true };
    if (options.activate) {
      change.previousActiveVersion = (await this.http.call<{ previousActiveVersion: string | null }>("POST", `${path}/activate`)).previousActiveVersion;
      change.nextRuns = (await this.show(name, { next: 3, limit: 1 })).nextRuns;
    }
    return change;
  }

  /** Activates a launch plan version (its schedule starts; the previous version's stops) and returns the schedule. */
  async activate(name: string, version: string): Promise<ScheduleView> {
    await this.http.call("POST", `${this.base}/launch-plans/${seg(name)}/versions/${seg(version)}/activate`, { idempotent: true });
    return this.show(name, { next: 3, limit: 5 });
  }

  /** A launch plan's schedule: the active version, the next runs, past ticks with their executions. */
  show(name: string, options: { next?: number; limit?: number; cursor?: string } = {}): Promise<ScheduleView> {
    return this.http.call<ScheduleView>("GET", `${this.base}/launch-plans/${seg(name)}/schedule`, {
      query: { n: options.next ?? 5, limit: options.limit ?? 20, cursor: options.cursor },
    });
  }

  /** The active launch plans of the domain that have a schedule, with their next run. */
  list(): Promise<ScheduleList> {
    return this.http.call<ScheduleList>("GET", `${this.base}/schedules`);
  }
}
