// The local-process runner in warm-worker mode against a real backend: attempts go
// to runtime workers kept alive between attempts (one process, the bundle loaded
// once), outcomes come back as events, logs are what the worker printed for the
// attempt, and a worker that dies, runs out of memory or is aborted is replaced.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createLocalProcessRunner, type RunnerEvent, type TaskRunner } from "../../backend/plugins/index.js";
import type { AttemptAssignment, AttemptOutcome } from "../../kernel/runtime/index.js";
import type { LiteralMap } from "../../kernel/index.js";
import { eventually, int, PROJECT_ROOT, projectDir, removeTempDirs, str } from "../runtime/helpers.js";
import { startRunnerBackend, type RunnerBackend } from "./runner-backend.js";

let rb: RunnerBackend;
let project: string;
beforeAll(async () => {
  if (!existsSync(join(PROJECT_ROOT, "dist", "kernel", "runtime", "worker.js"))) throw new Error("dist/kernel/runtime/worker.js does not exist: run `npm run build` first (npm test does).");
  rb = await startRunnerBackend();
  project = projectDir();
});
afterAll(async () => {
  await rb.close();
  removeTempDirs();
});

const runners: TaskRunner[] = [];
afterEach(async () => {
  for (const r of runners.splice(0)) await r.close();
});

const same = (x: AttemptAssignment, y: AttemptAssignment) => x.execution.name === y.execution.name && x.node === y.node && x.attempt === y.attempt;

function warmRunner(workers = 1) {
  const runner = createLocalProcessRunner({ cwd: project, logDir: join(project, "logs"), pollMs: 50, killGraceMs: 500, warm: { workers, blobRoot: rb.blobRoot } });
  runners.push(runner);
  const events: RunnerEvent[] = [];
  runner.onEvent((e) => events.push(e));
  const eventOf = (a: AttemptAssignment) => eventually(`an event for ${a.node} in ${a.execution.name}`, () => events.find((e) => same(e.assignment, a)), 30_000);
  const outcomeOf = async (a: AttemptAssignment): Promise<AttemptOutcome> => {
    const event = await eventOf(a);
    if (event.type !== "outcome") throw new Error(`expected an outcome, got ${JSON.stringify(event)}`);
    return event.outcome;
  };
  return { runner, events, eventOf, outcomeOf };
}

const outputsOf = (o: AttemptOutcome): LiteralMap => {
  if (o.phase !== "SUCCEEDED") throw new Error(JSON.stringify(o.error));
  return o.outputs;
};

describe("warm workers", () => {
  it("run attempt after attempt in one worker process, the bundle loaded once, outcomes as events", async () => {
    const { runner, events, outcomeOf } = warmRunner();
    expect(runner.capabilities).toEqual({ reattach: false, memoryLimits: true, reportsOutcomes: true });
    const results: LiteralMap[] = [];
    for (const tag of ["a", "b", "c"]) {
      const request = await rb.request("whoami", { tag: str(tag) });
      const handle = await runner.launch(request);
      expect(handle.info).toMatchObject({ mode: "warm" });
      results.push(outputsOf(await outcomeOf(request.assignment)));
    }
    const pid = results[0]!.pid;
    expect(results).toEqual(["a", "b", "c"].map((tag, i) => ({ pid, calls: int(i + 1), tag: str(tag) })));
    expect(events.every((e) => e.type === "outcome")).toBe(true);
    expect(rb.reports).not.toContainEqual(expect.objectContaining({ key: expect.objectContaining({ node: "whoami" }) }));
  });

  it("keep what a worker printed for an attempt as its log, and no file for an attempt that printed nothing", async () => {
    const { runner, outcomeOf } = warmRunner();
    const chat = await rb.request("chat", { who: str("ops") });
    const chatHandle = await runner.launch(chat);
    outputsOf(await outcomeOf(chat.assignment));
    const text: string[] = [];
    for await (const chunk of runner.logs(chat.assignment, chatHandle)) text.push(Buffer.from(chunk).toString());
    expect(text.join("")).toBe("hello from ctx.log to ops\nhello from console.log to ops\na warning on stderr for ops\n");

    const quiet = await rb.request("add", { a: int(1), b: int(1) });
    const quietHandle = await runner.launch(quiet);
    expect(outputsOf(await outcomeOf(quiet.assignment))).toEqual({ sum: int(2) });
    expect(existsSync(quietHandle.info!.log!)).toBe(false);
  });

  it("report a worker that dies mid-attempt as lost, and replace it", async () => {
    const { runner, eventOf, outcomeOf } = warmRunner();
    const before = await rb.request("whoami", { tag: str("before") });
    await runner.launch(before);
    const firstPid = outputsOf(await outcomeOf(before.assignment)).pid;
    const quit = await rb.request("quit", { code: int(9) });
    await runner.launch(quit);
    const event = await eventOf(quit.assignment);
    expect(event).toMatchObject({ type: "exit", exit: { reason: "lost", exitCode: 9 } });
    expect((event as { exit: { message: string } }).exit.message).toMatch(/^warm worker \d+ exited with code 9 while running the attempt; its output ends with: quitting with exit code 9/);
    const after = await rb.request("whoami", { tag: str("after") });
    await runner.launch(after);
    expect(outputsOf(await outcomeOf(after.assignment)).pid).not.toEqual(firstPid);
  });

  it("kill a worker over the attempt's memory limit (reason oom) and replace it", async () => {
    const { runner, eventOf, outcomeOf } = warmRunner();
    const hog = await rb.request("hog", { mb: int(1024) }, { spec: { resources: { limits: { mem: "200Mi" } } } });
    await runner.launch(hog);
    const event = await eventOf(hog.assignment);
    expect(event).toMatchObject({ type: "exit", exit: { reason: "oom" } });
    expect((event as { exit: { message: string } }).exit.message).toContain("more memory than its limit 200Mi");
    const next = await rb.request("add", { a: int(2), b: int(2) });
    await runner.launch(next);
    expect(outputsOf(await outcomeOf(next.assignment))).toEqual({ sum: int(4) });
  });

  it("abort a running attempt (exit reason aborted) and a queued one, then carry on", async () => {
    const { runner, eventOf, outcomeOf } = warmRunner();
    const long = await rb.request("sleepy", { ms: int(60_000) });
    const queued = await rb.request("add", { a: int(1), b: int(2) });
    const longHandle = await runner.launch(long);
    const queuedHandle = await runner.launch(queued);
    expect(queuedHandle.id).toBe("queued");
    await runner.abort(queued.assignment, queuedHandle, "not needed");
    expect(await eventOf(queued.assignment)).toMatchObject({ type: "exit", exit: { reason: "aborted", message: "the attempt was aborted: not needed (before it started)" } });
    await eventually("the long task to start", async () => {
      let text = "";
      for await (const chunk of runner.logs(long.assignment, longHandle)) text += Buffer.from(chunk).toString();
      return text.includes("sleeping");
    });
    await runner.abort(long.assignment, longHandle, "terminated");
    expect(await eventOf(long.assignment)).toMatchObject({ type: "exit", exit: { reason: "aborted", message: "the attempt was aborted: terminated" } });
    const next = await rb.request("add", { a: int(3), b: int(4) });
    await runner.launch(next);
    expect(outputsOf(await outcomeOf(next.assignment))).toEqual({ sum: int(7) });
  });

  it("record a checkpoint through the API before reporting the attempt", async () => {
    const { runner, outcomeOf } = warmRunner();
    const request = await rb.request("resume", { label: str("warm") });
    await runner.launch(request);
    const outcome = await outcomeOf(request.assignment);
    expect(outcome).toMatchObject({ phase: "FAILED", error: { message: "failing after the checkpoint, to be resumed" } });
    const recorded = rb.checkpoints.find((c) => c.key.execution.name === request.assignment.execution.name);
    expect(recorded?.checkpoint).toMatchObject({ format: "file", filename: "checkpoint" });
    expect(await rb.backend.store.getProjectBlob("demo", recorded!.checkpoint.hash)).toBeDefined();
  });

  it("never re-attach after a restart", async () => {
    const { runner } = warmRunner();
    const request = await rb.request("add", { a: int(1), b: int(1) });
    const handle = await runner.launch(request);
    expect(await runner.reattach(request.assignment, handle)).toBe(false);
  });
});
