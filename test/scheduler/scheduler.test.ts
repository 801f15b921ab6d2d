// The native scheduler: cron and fixed-rate launch plans fire once per tick —
// across a restart in the middle of a tick and with two schedulers on one
// PostgreSQL — catch up after downtime as their policy says, skip while the
// previous run still runs, hand the scheduled time to the kickoff input, stop on
// deactivation and move to a new version without firing a tick twice. Most
// cases drive the scheduler with tick() and a manual clock and look at the
// execution records (no engine); one runs real executions on a real clock.
import { afterAll, afterEach, describe, expect, it } from "vitest";
import {
  createManualClock,
  createPostgresStore,
  createScheduler,
  createTestBackend,
  scheduledExecutionName,
  SCHEDULE_LABELS,
  type ExecutionRecord,
  type FiredTick,
  type MetadataStore,
  type Scheduler,
  type TestBackend,
} from "../../backend/index.js";
import type { LaunchPlanSpec, Schedule, TaskSpec, WorkflowSpec } from "../../kernel/index.js";
import { addTask, int, nightlyPlan, pipelineWorkflow } from "../backend/fixtures.js";
import { dropSchemas, newSchema, POSTGRES_URL, postgresUnavailable } from "../backend/postgres.js";
import { startEngineBackend, type EngineBackend } from "../engine/harness.js";

const PROJECT = "demo";
const DOMAIN = "development";
const DEV = `/projects/${PROJECT}/domains/${DOMAIN}`;
const at = (hhmm: string) => `2025-01-01T${hhmm}:00Z`;
const ms = (hhmm: string) => Date.parse(at(hhmm));

/** stamp(at: datetime, n: int) -> out: int: a task whose workflow takes the kickoff time. */
function stampTask(): TaskSpec {
  return {
    ...addTask(),
    name: "stamp",
    interface: { inputs: { at: { type: { kind: "datetime" } }, n: { type: { kind: "int" } } }, outputs: { out: { type: { kind: "int" } } } },
  };
}

function stampedWorkflow(): WorkflowSpec {
  return {
    name: "stamped",
    interface: {
      inputs: { at: { type: { kind: "datetime" } }, n: { type: { kind: "int" }, default: int(1) } },
      outputs: { out: { type: { kind: "int" } } },
    },
    nodes: [
      {
        kind: "task",
        id: "stamp",
        target: { resourceType: "task", name: "stamp" },
        inputs: { at: { kind: "input", name: "at" }, n: { kind: "input", name: "n" } },
        upstream: [],
        metadata: { name: "stamp" },
        outputs: { out: { kind: "int" } },
      },
    ],
    outputs: { out: { kind: "output", node: "stamp", output: "out" } },
    failurePolicy: "fail_immediately",
  };
}

const backends: TestBackend[] = [];
const extraStores: MetadataStore[] = [];
const schedulers: Scheduler[] = [];
afterEach(async () => {
  for (const s of schedulers.splice(0)) await s.stop();
  for (const b of backends.splice(0)) await b.close();
  for (const s of extraStores.splice(0)) await s.close();
});
afterAll(async () => dropSchemas());

async function ok(res: Promise<Response>, status = 201): Promise<Record<string, unknown>> {
  const r = await res;
  const text = await r.text();
  expect(`${r.status} ${text}`.slice(0, 400)).toMatch(new RegExp(`^${status} `));
  return JSON.parse(text) as Record<string, unknown>;
}

/** A backend at `start` with the pipeline and stamped workflows registered. */
async function backendAt(start: string, options: { store?: MetadataStore; minScheduleRateMs?: number } = {}): Promise<TestBackend> {
  const backend = await createTestBackend({ clock: start, ...options });
  backends.push(backend);
  await backend.createProject(PROJECT);
  for (const [path, spec] of [
    [`${DEV}/tasks/add/versions/v1`, addTask()],
    [`${DEV}/tasks/stamp/versions/v1`, stampTask()],
    [`${DEV}/workflows/pipeline/versions/v1`, pipelineWorkflow()],
    [`${DEV}/workflows/stamped/versions/v1`, stampedWorkflow()],
  ] as const) {
    await ok(backend.request(path, { method: "PUT", json: { spec } }));
  }
  return backend;
}

/** Registers a launch plan version of the pipeline (x fixed) with `schedule`, and activates it. */
async function schedulePlan(backend: TestBackend, name: string, schedule: Schedule, options: { version?: string; spec?: Partial<LaunchPlanSpec>; activate?: boolean } = {}) {
  const version = options.version ?? "v1";
  const path = `${DEV}/launch-plans/${name}/versions/${version}`;
  await ok(backend.request(path, { method: "PUT", json: { spec: nightlyPlan({ name, schedule, ...options.spec }) } }));
  if (options.activate !== false) await ok(backend.request(`${path}/activate`, { method: "POST" }), 200);
}

function schedulerOf(backend: TestBackend, extra: Partial<Parameters<typeof createScheduler>[0]> = {}): Scheduler & { errors: unknown[] } {
  const errors: unknown[] = [];
  const scheduler = createScheduler({ deps: backend.deps, onError: (e) => errors.push(e), ...extra });
  schedulers.push(scheduler);
  return Object.assign(scheduler, { errors });
}

/** The executions of a launch plan, oldest first. */
async function executionsOf(backend: TestBackend, launchPlan: string, store: MetadataStore = backend.store): Promise<ExecutionRecord[]> {
  const page = await store.listExecutions({ project: PROJECT, domain: DOMAIN, launchPlan }, { limit: 1000 });
  return page.items.reverse();
}

const scheduledTimes = (executions: ExecutionRecord[]) => executions.map((e) => e.labels[SCHEDULE_LABELS.scheduledTime]);
const fired = (ticks: FiredTick[], launchPlan?: string) => ticks.filter((t) => t.outcome === "fired" && (launchPlan === undefined || t.launchPlan.name === launchPlan));
const iso = (hhmm: string) => new Date(ms(hhmm)).toISOString();

/** The store, failing with an "injected crash" on the `nth` call of `method`. */
function crashingStore(store: MetadataStore, method: keyof MetadataStore, nth: number): MetadataStore {
  let calls = 0;
  return new Proxy(store, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof value !== "function") return value;
      if (prop !== method) return value.bind(target);
      return async (...args: unknown[]) => {
        if (++calls === nth) throw new Error(`injected crash in ${String(method)}`);
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

describe("a cron launch plan", () => {
  it("fires once per tick, named after the tick, with the kickoff time as an input and the schedule's labels", async () => {
    const backend = await backendAt(at("09:30"));
    const path = `${DEV}/launch-plans/stamped/versions/v1`;
    const spec: LaunchPlanSpec = {
      name: "stamped",
      workflow: { resourceType: "workflow", name: "stamped" },
      defaultInputs: {},
      fixedInputs: {},
      schedule: { kind: "cron", expression: "@hourly", kickoffTimeInput: "at" },
      labels: { team: "ml" },
    };
    await ok(backend.request(path, { method: "PUT", json: { spec } }));
    await ok(backend.request(`${path}/activate`, { method: "POST" }), 200);
    const scheduler = schedulerOf(backend);

    expect(await scheduler.tick()).toEqual([]);
    backend.clock.set(at("10:00"));
    const [first, ...none] = await scheduler.tick();
    expect(none).toEqual([]);
    const key = { project: PROJECT, domain: DOMAIN, launchPlan: "stamped" };
    expect(first).toMatchObject({ outcome: "fired", scheduledTime: ms("10:00"), execution: scheduledExecutionName(key, ms("10:00")), recorded: true, created: true });
    expect(first!.execution).toMatch(/^s-[0-9a-f]{20}$/);
    // The same tick again, by this scheduler or another: nothing new.
    expect(await scheduler.tick()).toEqual([]);
    expect(await schedulerOf(backend).tick()).toEqual([]);

    const [execution] = await executionsOf(backend, "stamped");
    expect(execution).toMatchObject({
      key: { name: first!.execution },
      mode: "schedule",
      createdBy: "scheduler",
      launchPlan: { name: "stamped", version: "v1" },
      inputs: { inline: { at: { kind: "datetime", value: "2025-01-01T10:00:00.000Z" }, n: int(1) } },
      labels: { team: "ml", [SCHEDULE_LABELS.scheduledTime]: "2025-01-01T10:00:00.000Z", [SCHEDULE_LABELS.launchPlan]: "stamped" },
    });

    // Just before the next tick nothing fires; a little after it, it does.
    backend.clock.set(ms("11:00") - 1);
    expect(await scheduler.tick()).toEqual([]);
    backend.clock.set(ms("11:00") + 400);
    expect(fired(await scheduler.tick()).map((t) => t.scheduledTime)).toEqual([ms("11:00")]);
    expect(scheduledTimes(await executionsOf(backend, "stamped"))).toEqual([iso("10:00"), iso("11:00")]);
    expect((await scheduler.nextRuns({ project: PROJECT, domain: DOMAIN, name: "stamped" }, 3)).map((t) => new Date(t).toISOString())).toEqual([
      iso("12:00"),
      iso("13:00"),
      iso("14:00"),
    ]);

    // The API shows the schedule, its next runs and past runs (with their executions' phases).
    const view = await ok(backend.request(`${DEV}/launch-plans/stamped/schedule?n=2`), 200);
    expect(view).toMatchObject({
      launchPlan: "stamped",
      activeVersion: "v1",
      schedule: spec.schedule,
      nextRuns: [iso("12:00"), iso("13:00")],
      pastRuns: [
        { scheduledTime: iso("11:00"), outcome: "fired", version: "v1", phase: "QUEUED" },
        { scheduledTime: iso("10:00"), outcome: "fired", version: "v1", execution: first!.execution, phase: "QUEUED" },
      ],
    });
    const list = await ok(backend.request(`${DEV}/schedules`), 200);
    expect(list).toEqual({ items: [{ launchPlan: "stamped", version: "v1", schedule: spec.schedule, nextRun: iso("12:00"), lastTick: iso("11:00") }] });
    expect(scheduler.errors).toEqual([]);
  });

  it("fires each tick exactly once across schedulers that crash in the middle of a tick", async () => {
    const backend = await backendAt(at("09:30"));
    await schedulePlan(backend, "hourly", { kind: "cron", expression: "0 * * * *", catchUp: "all" });
    backend.clock.set(at("12:30")); // 10:00, 11:00 and 12:00 are due

    // The first scheduler creates 10:00's execution, records 11:00 as fired, and dies creating its execution.
    const first = schedulerOf(backend, { deps: { ...backend.deps, store: crashingStore(backend.store, "createExecution", 2) } });
    expect(fired(await first.tick()).map((t) => t.scheduledTime)).toEqual([ms("10:00")]);
    expect(String(first.errors[0])).toContain("injected crash in createExecution");
    expect(scheduledTimes(await executionsOf(backend, "hourly"))).toEqual([iso("10:00")]);

    // The second creates 11:00's execution and dies before recording that the tick is done.
    const second = schedulerOf(backend, { deps: { ...backend.deps, store: crashingStore(backend.store, "advanceScheduleState", 1) } });
    expect((await second.tick()).map((t) => [t.scheduledTime, t.outcome, t.recorded, t.created])).toEqual([[ms("11:00"), "fired", false, true]]);
    expect(String(second.errors[0])).toContain("injected crash in advanceScheduleState");
    expect(scheduledTimes(await executionsOf(backend, "hourly"))).toEqual([iso("10:00"), iso("11:00")]);

    // The third finds 11:00 done (its execution exists) and fires 12:00.
    const third = schedulerOf(backend);
    const ticks = await third.tick();
    expect(ticks.map((t) => [t.scheduledTime, t.outcome, t.recorded, t.created])).toEqual([
      [ms("11:00"), "fired", false, false],
      [ms("12:00"), "fired", true, true],
    ]);
    const executions = await executionsOf(backend, "hourly");
    expect(scheduledTimes(executions)).toEqual([iso("10:00"), iso("11:00"), iso("12:00")]);
    expect(new Set(executions.map((e) => e.key.name)).size).toBe(3);
    expect(third.errors).toEqual([]);
    expect(await third.tick()).toEqual([]);
  });
});

describe("two schedulers on one PostgreSQL database", async () => {
  const unavailable = await postgresUnavailable();
  it.skipIf(unavailable !== undefined)(`fire exactly one execution per tick while they tick concurrently${unavailable ? ` — skipped: ${unavailable}` : ""}`, async () => {
    const schema = newSchema();
    const clockStart = at("09:30");
    const clock = createManualClock(clockStart);
    // Two connection pools to one schema, as two servers would have.
    const store1 = await createPostgresStore({ url: POSTGRES_URL, schema, clock });
    const store2 = await createPostgresStore({ url: POSTGRES_URL, schema, clock });
    extraStores.push(store2);
    const backend = await createTestBackend({ clock, store: store1 });
    backends.push(backend);
    await backend.createProject(PROJECT);
    await ok(backend.request(`${DEV}/tasks/add/versions/v1`, { method: "PUT", json: { spec: addTask() } }));
    await ok(backend.request(`${DEV}/workflows/pipeline/versions/v1`, { method: "PUT", json: { spec: pipelineWorkflow() } }));
    await schedulePlan(backend, "quarterly", { kind: "cron", expression: "*/15 * * * *", catchUp: "all" });
    await schedulePlan(backend, "rated", { kind: "rate", everyMs: 10 * 60_000, catchUp: "all" });

    const a = schedulerOf(backend, { deps: { ...backend.deps, store: store1 } });
    const b = schedulerOf(backend, { deps: { ...backend.deps, store: store2 } });
    const all: FiredTick[] = [];
    // Four hours in uneven steps (3, 6, 9 minutes), each ticked by both schedulers at once, twice.
    for (let i = 0; i < 40; i++) {
      backend.clock.advance(((i % 3) + 1) * 3 * 60_000);
      for (const ticks of await Promise.all([a.tick(), b.tick(), b.tick(), a.tick()])) all.push(...ticks);
    }
    const elapsed = backend.clock.now() - Date.parse(clockStart);
    const expected = { quarterly: Math.floor(elapsed / (15 * 60_000)), rated: Math.floor(elapsed / (10 * 60_000)) };
    for (const [name, count] of Object.entries(expected)) {
      const executions = await executionsOf(backend, name, store2);
      expect(executions, name).toHaveLength(count);
      expect(new Set(scheduledTimes(executions)).size, name).toBe(count);
      expect(all.filter((t) => t.launchPlan.name === name && t.created), name).toHaveLength(count);
      expect(all.filter((t) => t.launchPlan.name === name && t.recorded), name).toHaveLength(count);
      const runs = await store1.listScheduleRuns({ project: PROJECT, domain: DOMAIN, launchPlan: name }, { limit: 1000 });
      expect(runs.items.map((r) => r.outcome), name).toEqual(Array(count).fill("fired"));
    }
    // They did race: ticks the other scheduler had recorded first.
    expect(all.filter((t) => !t.recorded).length).toBeGreaterThan(0);
    expect([...a.errors, ...b.errors]).toEqual([]);
  });
});

describe("catch-up after a 3-hour outage of an hourly schedule", () => {
  it("fires none, the latest, or all (up to the limit) of the missed ticks, then ticks as usual", async () => {
    const backend = await backendAt(at("09:30"));
    const policies: Record<string, Partial<Schedule>> = {
      none: { catchUp: "none" },
      latest: {},
      all: { catchUp: "all" },
      capped: { catchUp: "all", catchUpLimit: 2 },
    };
    for (const [name, policy] of Object.entries(policies)) await schedulePlan(backend, name, { kind: "cron", expression: "@hourly", ...policy } as Schedule);
    const scheduler = schedulerOf(backend);
    const firedBy = (ticks: FiredTick[]) => Object.fromEntries(Object.keys(policies).map((name) => [name, fired(ticks, name).map((t) => new Date(t.scheduledTime).toISOString().slice(11, 16))]));

    backend.clock.set(at("10:00"));
    expect(firedBy(await scheduler.tick())).toEqual({ none: ["10:00"], latest: ["10:00"], all: ["10:00"], capped: ["10:00"] });

    // Nothing runs from 10:00 to 13:30: 11:00, 12:00 and 13:00 are missed.
    backend.clock.set(at("13:30"));
    const after = await scheduler.tick();
    expect(firedBy(after)).toEqual({ none: [], latest: ["13:00"], all: ["11:00", "12:00", "13:00"], capped: ["12:00", "13:00"] });
    const outcomes = (name: string) => after.filter((t) => t.launchPlan.name === name).map((t) => t.outcome);
    expect(outcomes("none")).toEqual(["missed", "missed", "missed"]);
    expect(outcomes("latest")).toEqual(["missed", "missed", "fired"]);
    // Only `catchUpLimit` missed ticks are considered; the older ones are dropped without a record.
    expect(outcomes("capped")).toEqual(["fired", "fired"]);

    backend.clock.set(at("14:00"));
    expect(firedBy(await scheduler.tick())).toEqual({ none: ["14:00"], latest: ["14:00"], all: ["14:00"], capped: ["14:00"] });
    const counts = Object.fromEntries(await Promise.all(Object.keys(policies).map(async (name) => [name, (await executionsOf(backend, name)).length])));
    expect(counts).toEqual({ none: 2, latest: 3, all: 5, capped: 4 });

    // Under `none`, a tick found a little late (within the grace) still fires.
    backend.clock.set(ms("15:00") + 30_000);
    expect(fired(await scheduler.tick(), "none")).toHaveLength(1);
    expect(scheduler.errors).toEqual([]);
  });
});

describe("concurrency skip", () => {
  it("records a tick as skipped while the previous scheduled execution is queued or running", async () => {
    const backend = await backendAt(at("09:30"));
    await schedulePlan(backend, "exclusive", { kind: "cron", expression: "@hourly", concurrency: "skip" });
    const scheduler = schedulerOf(backend);
    const step = async (hhmm: string) => {
      backend.clock.set(at(hhmm));
      return (await scheduler.tick()).map((t) => t.outcome);
    };
    expect(await step("10:00")).toEqual(["fired"]);
    const [first] = await executionsOf(backend, "exclusive");
    expect(await step("11:00")).toEqual(["skipped"]); // still QUEUED
    await backend.store.updateExecution(first!.key, { phase: "RUNNING", updatedAt: backend.clock.now() });
    expect(await step("12:00")).toEqual(["skipped"]);
    await backend.store.updateExecution(first!.key, { phase: "SUCCEEDED", updatedAt: backend.clock.now() });
    expect(await step("13:00")).toEqual(["fired"]);
    expect(scheduledTimes(await executionsOf(backend, "exclusive"))).toEqual([iso("10:00"), iso("13:00")]);

    const view = (await ok(backend.request(`${DEV}/launch-plans/exclusive/schedule`), 200)) as { pastRuns: { scheduledTime: string; outcome: string; phase?: string; reason?: string }[] };
    expect(view.pastRuns.map((r) => [r.scheduledTime.slice(11, 16), r.outcome, r.phase ?? null])).toEqual([
      ["13:00", "fired", "QUEUED"],
      ["12:00", "skipped", null],
      ["11:00", "skipped", null],
      ["10:00", "fired", "SUCCEEDED"],
    ]);
    expect(view.pastRuns[1]!.reason).toContain("previous scheduled execution was still running");
  });
});

describe("activation", () => {
  it("stops firing on deactivation, and moves to a new version without firing a tick twice", async () => {
    const backend = await backendAt(at("09:30"));
    const hourly: Schedule = { kind: "cron", expression: "@hourly" };
    await schedulePlan(backend, "nightly", hourly);
    const scheduler = schedulerOf(backend);
    const step = async (when: string | number) => {
      backend.clock.set(typeof when === "number" ? when : at(when));
      return fired(await scheduler.tick()).map((t) => `${new Date(t.scheduledTime).toISOString().slice(11, 16)}@${t.launchPlan.version}`);
    };
    expect(await step("10:00")).toEqual(["10:00@v1"]);

    // Version 2 (another default, the same schedule) replaces it at the very instant of the tick v1 fired.
    await schedulePlan(backend, "nightly", hourly, { version: "v2", spec: { defaultInputs: { y: int(9) } } });
    expect(await step("10:00")).toEqual([]);
    expect(await step("11:00")).toEqual(["11:00@v2"]);
    // And a version with another schedule takes over from its activation on.
    backend.clock.set(at("11:10"));
    await schedulePlan(backend, "nightly", { kind: "cron", expression: "*/30 * * * *" }, { version: "v3" });
    expect(await step("11:30")).toEqual(["11:30@v3"]);

    // Deactivated: nothing fires; activated again: only ticks after the activation.
    await ok(backend.request(`${DEV}/launch-plans/nightly/versions/v3/deactivate`, { method: "POST" }), 200);
    expect(await step("12:00")).toEqual([]);
    expect(await step("13:45")).toEqual([]);
    await ok(backend.request(`${DEV}/launch-plans/nightly/versions/v2/activate`, { method: "POST" }), 200);
    expect(await step("13:50")).toEqual([]);
    expect(await step("14:00")).toEqual(["14:00@v2"]);

    const executions = await executionsOf(backend, "nightly");
    expect(executions.map((e) => `${e.labels[SCHEDULE_LABELS.scheduledTime]!.slice(11, 16)}@${e.launchPlan!.version}`)).toEqual(["10:00@v1", "11:00@v2", "11:30@v3", "14:00@v2"]);
    expect(executions[1]!.inputs).toEqual({ inline: { x: int(10), y: int(9), note: { kind: "none" } } });
    expect(scheduler.errors).toEqual([]);
  });
});

describe("a fixed-rate launch plan", () => {
  it("ticks every `everyMs` from its activation, and refuses a rate below the server's minimum", async () => {
    const backend = await backendAt(at("09:30"), { minScheduleRateMs: 1_000 });
    const refused = await backend.request(`${DEV}/launch-plans/fast/versions/v1`, { method: "PUT", json: { spec: nightlyPlan({ name: "fast", schedule: { kind: "rate", everyMs: 500 } }) } });
    const error = ((await refused.json()) as { error: { code: string; field: string; message: string } }).error;
    expect([refused.status, error.code, error.field]).toEqual([400, "INVALID_SCHEDULE", "spec.schedule.everyMs"]);
    expect(error.message).toContain("minimum of 1s");

    backend.clock.set(ms("09:30") + 7_000);
    await schedulePlan(backend, "fast", { kind: "rate", everyMs: 20 * 60_000 });
    const scheduler = schedulerOf(backend);
    backend.clock.set(at("10:30"));
    // Activated at 09:30:07: ticks at 09:50:07 and 10:10:07 fell due; catch-up latest fires the second.
    const ticks = await scheduler.tick();
    expect(ticks.map((t) => [new Date(t.scheduledTime).toISOString().slice(11, 19), t.outcome])).toEqual([
      ["09:50:07", "missed"],
      ["10:10:07", "fired"],
    ]);
    expect((await scheduler.nextRuns({ project: PROJECT, domain: DOMAIN, name: "fast" }, 2)).map((t) => new Date(t).toISOString().slice(11, 19))).toEqual(["10:30:07", "10:50:07"]);
  });

  describe("on a real clock with an engine", () => {
    let eb: EngineBackend | undefined;
    afterAll(async () => eb?.close());

    it("fires every second and its executions succeed", async () => {
      eb = await startEngineBackend();
      eb.backend.settings.minScheduleRateMs = 1_000;
      const version = await eb.register();
      const path = `${DEV}/launch-plans/every_second/versions/v1`;
      const spec: LaunchPlanSpec = {
        name: "every_second",
        workflow: { resourceType: "workflow", name: "add_flow", version },
        defaultInputs: {},
        fixedInputs: { a: int(1), b: int(2) },
        // Every tick fires even when a pass runs late on a busy machine.
        schedule: { kind: "rate", everyMs: 1_000, catchUp: "all" },
        labels: {},
      };
      await ok(eb.backend.request(path, { method: "PUT", json: { spec } }));
      await ok(eb.backend.request(`${path}/activate`, { method: "POST" }), 200);
      const errors: unknown[] = [];
      const scheduler = createScheduler({ deps: eb.backend.deps, pollMs: 100, onError: (e) => errors.push(e) });
      scheduler.start();
      await new Promise((r) => setTimeout(r, 3_600));
      await scheduler.stop();
      const executions = (await eb.backend.store.listExecutions({ project: PROJECT, domain: DOMAIN, launchPlan: "every_second" }, { limit: 100 })).items;
      expect(executions.length).toBeGreaterThanOrEqual(3);
      expect(executions.length).toBeLessThanOrEqual(4);
      for (const e of executions) {
        const done = await eb.wait(e.key.name);
        expect(done.phase, JSON.stringify(done.error)).toBe("SUCCEEDED");
        expect(await eb.outputs(e.key.name)).toEqual({ sum: int(3) });
      }
      const times = executions.map((e) => Date.parse(e.labels[SCHEDULE_LABELS.scheduledTime]!)).sort();
      for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBe(1_000);
      expect(errors).toEqual([]);
    }, 60_000);
  });
});
