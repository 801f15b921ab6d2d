// `petrel schedule`, driven through its commander object against a backend on a
// socket: scheduling registers a new launch plan version (same workflow version
// and inputs) and activates it; list and show read the schedule API; failures
// exit 2 (usage), 3 (not found) or 4 (auth).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestBackend, type TestBackend } from "../../backend/index.js";
import { scheduleCommand } from "../../cli/schedule.js";
import { derivedVersion } from "../../remote/index.js";
import { addTask, int, nightlyPlan, pipelineWorkflow } from "../backend/fixtures.js";

const DEV = "/projects/demo/domains/development";
let backend: TestBackend;
let connection: string[];

beforeAll(async () => {
  backend = await createTestBackend({ listen: true, clock: "2025-01-01T09:30:00Z" });
  await backend.createProject("demo");
  for (const [path, spec] of [
    [`${DEV}/tasks/add/versions/v1`, addTask()],
    [`${DEV}/workflows/pipeline/versions/v1`, pipelineWorkflow()],
    [`${DEV}/launch-plans/nightly/versions/v1`, nightlyPlan({ schedule: { kind: "cron", expression: "0 6 * * *", concurrency: "skip" } })],
  ] as const) {
    const res = await backend.request(path, { method: "PUT", json: { spec } });
    expect(res.status, await res.text()).toBe(201);
  }
  // A newer workflow version: the rescheduled launch plan must keep running v1.
  await backend.request(`${DEV}/workflows/pipeline/versions/v2`, { method: "PUT", json: { spec: pipelineWorkflow({ description: "newer" }) } });
  connection = ["--endpoint", backend.url!, "--token", backend.adminToken, "--project", "demo", "--domain", "development"];
});
afterAll(async () => backend?.close());

/** Runs `petrel schedule <args>` in-process; resolves with its exit code and output. */
async function petrelSchedule(...args: string[]): Promise<{ code: number | undefined; out: string; err: string }> {
  let code: number | undefined;
  let out = "";
  let err = "";
  const command = scheduleCommand({ exit: (c) => void (code ??= c), out: (t) => void (out += t), err: (t) => void (err += t) });
  await command.parseAsync(args, { from: "user" }).catch(() => undefined);
  return { code, out, err };
}

describe("petrel schedule", () => {
  it("registers a new version with the schedule, same workflow version and inputs, and activates it", async () => {
    const { code, out, err } = await petrelSchedule("nightly", "--every", "5m", "--catch-up", "none", "--activate", "--json", ...connection);
    expect(err).toBe("");
    expect(code).toBe(0);
    const doc = JSON.parse(out) as { version: string; from: string; schedule: unknown; activated: boolean; previousActiveVersion: string | null; nextRuns: string[] };
    // The policy not given on the command line is kept from the old schedule.
    const schedule = { kind: "rate", everyMs: 300_000, catchUp: "none", concurrency: "skip" };
    expect(doc).toMatchObject({ from: "v1", schedule, activated: true, previousActiveVersion: null });
    expect(doc.version).toBe(derivedVersion("v1", schedule as never));
    expect(doc.version).toMatch(/^v1-s[0-9a-f]{8}$/);
    expect(doc.nextRuns).toEqual(["2025-01-01T09:35:00.000Z", "2025-01-01T09:40:00.000Z", "2025-01-01T09:45:00.000Z"]);

    const stored = (await (await backend.request(`${DEV}/launch-plans/nightly/versions/${doc.version}`)).json()) as { spec: { workflow: unknown; fixedInputs: unknown; defaultInputs: unknown }; active: boolean; references: unknown[] };
    expect(stored).toMatchObject({
      active: true,
      spec: { workflow: { resourceType: "workflow", name: "pipeline", version: "v1" }, fixedInputs: { x: int(10) }, defaultInputs: { y: int(5) } },
      references: [{ resourceType: "workflow", name: "pipeline", version: "v1" }],
    });

    // Scheduling again from the derived version replaces its suffix rather than growing the version.
    const again = await petrelSchedule("nightly", "--cron", "0 * * * *", "--timezone", "Europe/Paris", "--activate", ...connection);
    expect(again.code).toBe(0);
    expect(again.out).toContain("cron 0 * * * * (Europe/Paris)");
    expect(again.out).toMatch(new RegExp(`activated \\(replacing ${doc.version}\\)`));
    expect(again.out).toMatch(/registered from v1-s[0-9a-f]{8}/);
  });

  it("lists the scheduled launch plans and shows one schedule's next and past runs", async () => {
    const list = await petrelSchedule("list", "--json", ...connection);
    expect(list.code).toBe(0);
    const items = (JSON.parse(list.out) as { items: { launchPlan: string; schedule: { kind: string }; nextRun: string }[] }).items;
    expect(items).toEqual([expect.objectContaining({ launchPlan: "nightly", schedule: expect.objectContaining({ kind: "cron" }), nextRun: "2025-01-01T10:00:00.000Z" })]);
    const text = await petrelSchedule("list", ...connection);
    expect(text.out).toMatch(/^LAUNCH PLAN\s+VERSION\s+SCHEDULE\s+NEXT RUN\nnightly\s+v1-s[0-9a-f]{8}\s+cron 0 \* \* \* \* \(Europe\/Paris\)/);

    const show = await petrelSchedule("show", "nightly", "--next", "2", ...connection);
    expect(show.code).toBe(0);
    expect(show.out).toContain("next runs: 2025-01-01 10:00:00Z, 2025-01-01 11:00:00Z");
    expect(show.out).toContain("past runs: none");
  });

  it("exits 2 on usage errors and bad schedules, 3 for an unknown launch plan, 4 for a bad token", async () => {
    const badCron = await petrelSchedule("nightly", "--cron", "0 25 * * *", ...connection);
    expect([badCron.code, badCron.err]).toEqual([2, expect.stringContaining("hour value 25 is out of range")]);
    const neither = await petrelSchedule("nightly", ...connection);
    expect([neither.code, neither.err]).toEqual([2, expect.stringContaining("give exactly one of --cron")]);
    const badEvery = await petrelSchedule("nightly", "--every", "soon", ...connection);
    expect([badEvery.code, badEvery.err]).toEqual([2, expect.stringContaining('invalid duration "soon"')]);
    const tooFast = await petrelSchedule("nightly", "--every", "10s", ...connection);
    expect([tooFast.code, tooFast.err]).toEqual([2, expect.stringContaining("below this server's minimum of 1m")]);
    const badPolicy = await petrelSchedule("nightly", "--every", "5m", "--catch-up", "some", ...connection);
    expect(badPolicy.code).toBe(2);
    const unknownOption = await petrelSchedule("list", "--bogus", ...connection);
    expect([unknownOption.code, unknownOption.err]).toEqual([2, expect.stringContaining("unknown option '--bogus'")]);
    const ghost = await petrelSchedule("ghost", "--every", "5m", ...connection);
    expect(ghost.code).toBe(3);
    const ghostShow = await petrelSchedule("show", "ghost", ...connection);
    expect(ghostShow.code).toBe(3);
    const denied = await petrelSchedule("list", ...connection.slice(0, 2), "--token", "petrel_nope", ...connection.slice(4));
    expect(denied.code).toBe(4);
  });
});
