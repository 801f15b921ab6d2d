/**
 * A scheduled notebook pipeline end to end (issue 8): notebooks/report.ipynb is a
 * notebook task in the `reporting` workflow; its launch plan `nightly_report`
 * (cron 0 2 * * *, the tick's time as `runAt`) is registered from its bundle and
 * activated through the client; the scheduler fires it (its clock a day ahead, so
 * a 02:00 tick is due), the engine runs the notebook in a runtime process, and
 * `remote.fetchExecution` brings back the recorded outputs and the executed
 * notebook with its rendered outputs.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createScheduler, type Scheduler } from "../../backend/index.js";
import { Remote } from "../../remote/index.js";
import { nightlyReport, reporting } from "../../notebooks/examples/report.js";
import { PROJECT, startEngineBackend, type EngineBackend } from "../engine/harness.js";

const ENTRY = join(import.meta.dirname, "..", "..", "notebooks", "examples", "report.ts");
const DAY = 24 * 3600 * 1000;

describe("a scheduled notebook pipeline", () => {
  let eb: EngineBackend;
  let scheduler: Scheduler;
  let remote: Remote;

  beforeAll(async () => {
    eb = await startEngineBackend();
    remote = new Remote({ endpoint: eb.backend.url!, project: PROJECT, token: eb.backend.adminToken });
    // The scheduler's clock runs a day ahead: the next 02:00 tick after activation is already due.
    scheduler = createScheduler({ deps: eb.backend.deps, clock: { now: () => Date.now() + DAY + 3600_000 } });
  });
  afterAll(async () => {
    await scheduler?.stop();
    await eb?.close();
  });

  it("fires, runs the notebook, and its recorded outputs and executed notebook come back", async () => {
    const registered = await remote.register([reporting, nightlyReport], { entry: ENTRY });
    expect(registered.entities.map((e) => `${e.id.resourceType}/${e.id.name}`)).toEqual(expect.arrayContaining(["task/report", "workflow/reporting", "launch_plan/nightly_report"]));
    const schedule = await remote.schedules().activate("nightly_report", registered.version);
    expect(schedule.activeVersion).toBe(registered.version);
    expect(schedule.nextRuns[0]).toMatch(/T02:00:00(\.000)?Z$/);

    const fired = await scheduler.tick();
    expect(fired.length).toBe(1);
    const page = await remote.listExecutions({ launchPlan: "nightly_report" });
    expect(page.items).toHaveLength(1);
    const execution = await remote.wait(page.items[0]!.name, { timeoutMs: 120_000 });
    expect(execution.phase, execution.toString()).toBe("SUCCEEDED");

    // The kickoff input is the scheduled tick, 02:00 UTC.
    const runAt = (await execution.inputs.get("runAt")) as Date;
    expect(runAt.toISOString()).toMatch(/T02:00:00\.000Z$/);
    expect(execution.labels["petrel.dev/scheduled-time"]).toBe(runAt.toISOString());

    // The recorded outputs, typed.
    expect(typeof (await execution.outputs.get("summary"))).toBe("number");
    const table = await execution.outputs.dataframe("table");
    expect((await table.head(3)).numRows).toBeGreaterThan(0);
    // The executed notebook: its injected parameters cell and rendered outputs.
    const notebook = JSON.parse(readFileSync((await execution.outputs.get("notebook")) as string, "utf8")) as {
      cells: { cell_type: string; source: string | string[]; metadata: { tags?: string[] }; outputs?: { output_type: string }[] }[];
    };
    const injected = notebook.cells.find((c) => c.metadata.tags?.includes("injected-parameters"));
    expect([injected?.source].flat().join("")).toContain(runAt.toISOString());
    expect(notebook.cells.some((c) => (c.outputs ?? []).some((o) => o.output_type === "display_data" || o.output_type === "execute_result"))).toBe(true);
    const html = readFileSync((await execution.outputs.get("html")) as string, "utf8");
    expect(html).toMatch(/<table/);

    // The schedule shows the tick as fired, with its execution.
    const after = await remote.schedules().show("nightly_report");
    expect(after.pastRuns[0]).toMatchObject({ outcome: "fired", execution: execution.name, phase: "SUCCEEDED" });
  }, 180_000);
});
