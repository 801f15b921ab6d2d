// The local-process runner against a real backend on a socket: each attempt a real
// `node` process running the built runtime, which fetches its bundle and inputs
// through the API with a node token and reports its outcome there. Covers Arrow
// data in and out, user errors, timeouts, memory limits, missing packages, exits
// without a report, 100 MB of output, abort, admission, re-attaching after a
// restart, and reporting across a backend outage.
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { tableFromIPC } from "apache-arrow";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { BlobRef } from "../../kernel/index.js";
import { createLocalProcessRunner, type LocalProcessRunnerOptions, type RunnerEvent, type TaskRunner } from "../../backend/plugins/index.js";
import type { AttemptAssignment } from "../../kernel/runtime/index.js";
import { eventually, float, int, PROJECT_ROOT, projectDir, removeTempDirs, str } from "../runtime/helpers.js";
import { startProxy, startRunnerBackend, type RunnerBackend } from "./runner-backend.js";

let rb: RunnerBackend;
let project: string;
beforeAll(async () => {
  if (!existsSync(join(PROJECT_ROOT, "dist", "kernel", "runtime", "main.js"))) throw new Error("dist/kernel/runtime/main.js does not exist: run `npm run build` first (npm test does).");
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

interface Harness {
  runner: TaskRunner;
  events: RunnerEvent[];
  exitOf(a: AttemptAssignment): Promise<Extract<RunnerEvent, { type: "exit" }>["exit"]>;
}

function harness(options: LocalProcessRunnerOptions = {}): Harness {
  const runner = createLocalProcessRunner({ cwd: project, logDir: join(project, "logs"), pollMs: 50, killGraceMs: 500, ...options });
  runners.push(runner);
  const events: RunnerEvent[] = [];
  runner.onEvent((e) => events.push(e));
  const same = (x: AttemptAssignment, y: AttemptAssignment) => x.execution.name === y.execution.name && x.node === y.node && x.attempt === y.attempt;
  return {
    runner,
    events,
    exitOf: (a) => eventually(`the exit of ${a.node} in ${a.execution.name}`, () => events.find((e): e is Extract<RunnerEvent, { type: "exit" }> => e.type === "exit" && same(e.assignment, a))?.exit, 30_000),
  };
}

const logOf = (h: { info?: Record<string, string> }) => readFileSync(h.info!.log!, "utf8");

describe("process per attempt", () => {
  it("runs a task on an Arrow DataFrame through the API, reports SUCCEEDED, and exits 0", async () => {
    const { runner, exitOf } = harness();
    const request = await rb.request("scale", { df: await rb.arrowInput(), factor: float(3) });
    const handle = await runner.launch(request);
    expect(handle).toMatchObject({ kind: "local-process", id: expect.stringMatching(/^\d+$/), info: { mode: "process", log: expect.stringMatching(/logs\/demo\/development\/e\d+\/scale\/0\.log$/) } });
    expect(await exitOf(request.assignment)).toMatchObject({ reason: "exited", exitCode: 0 });
    const outcome = rb.reportOf(request.assignment);
    expect(outcome?.phase).toBe("SUCCEEDED");
    const outputs = (outcome as { outputs: Record<string, { blob: BlobRef }> }).outputs;
    expect(outputs.rows).toEqual(int(3));
    const ref = outputs.df!.blob;
    expect(await rb.backend.store.getProjectBlob("demo", ref.hash)).toMatchObject({ size: ref.size });
    const bytes = new Uint8Array(await (await rb.backend.request(`/projects/demo/blobs/${ref.hash}`)).arrayBuffer());
    expect([...tableFromIPC(bytes).getChild("x")!.toArray()]).toEqual([4.5, 7.5, 10.5]);
  });

  it("reports a user error with the user's stack, and logs it", async () => {
    const { runner, exitOf } = harness();
    const request = await rb.request("boom", { what: str("the loader") });
    const handle = await runner.launch(request);
    expect(await exitOf(request.assignment)).toMatchObject({ exitCode: 0 });
    const outcome = rb.reportOf(request.assignment);
    expect(outcome).toMatchObject({ phase: "FAILED", error: { kind: "user", code: "USER_ERROR", retryable: true, message: "boom: the loader went wrong in user code" } });
    expect((outcome as { error: { stack: string } }).error.stack).toMatch(/at explode \(/);
    expect(logOf(handle)).toContain("[petrel] attempt 0 of node boom FAILED (user error USER_ERROR, retryable): boom: the loader went wrong");
  });

  it("reports TIMED_OUT for an attempt past the assignment's timeout", async () => {
    const { runner, exitOf } = harness();
    const request = await rb.request("sleepy", { ms: int(30_000) });
    request.assignment.timeoutMs = 300;
    await runner.launch(request);
    expect(await exitOf(request.assignment)).toMatchObject({ exitCode: 0 });
    expect(rb.reportOf(request.assignment)).toMatchObject({ phase: "TIMED_OUT", error: { code: "TASK_TIMEOUT" } });
  });

  it("fails non-retryably, naming the package, when the project lacks one the bundle imports", async () => {
    const bare = projectDir([]);
    const { runner, exitOf } = harness({ cwd: bare, logDir: join(bare, "logs") });
    const request = await rb.request("add", { a: int(1), b: int(2) });
    await runner.launch(request);
    expect(await exitOf(request.assignment)).toMatchObject({ exitCode: 0 });
    const outcome = rb.reportOf(request.assignment);
    expect(outcome).toMatchObject({ phase: "FAILED", error: { kind: "user", code: "PACKAGE_MISMATCH", retryable: false } });
    expect((outcome as { error: { message: string } }).error.message).toContain("npm install apache-arrow@21.2.0");
  });

  it("kills an attempt over its memory limit: reason oom, naming the limit and the resident set", async () => {
    const { runner, exitOf } = harness();
    const request = await rb.request("hog", { mb: int(1024) }, { spec: { resources: { limits: { mem: "200Mi" } } } });
    await runner.launch(request);
    const exit = await exitOf(request.assignment);
    expect(exit).toMatchObject({ reason: "oom", signal: "SIGKILL" });
    expect(exit.message).toMatch(/the attempt used more memory than its limit 200Mi \(200 MiB\): process \d+ had a resident set of \d+(\.\d)? MiB and was killed/);
    expect(rb.reportOf(request.assignment)).toBeUndefined();
  });

  it("reports an exit without an outcome, quoting the end of the log", async () => {
    const { runner, exitOf } = harness();
    const request = await rb.request("quit", { code: int(7) });
    await runner.launch(request);
    const exit = await exitOf(request.assignment);
    expect(exit).toMatchObject({ reason: "exited", exitCode: 7 });
    expect(exit.message).toMatch(/^the runtime process \d+ exited with code 7; its log ends with: quitting with exit code 7/);
    expect(rb.reportOf(request.assignment)).toBeUndefined();
  });

  it("keeps 10 MiB and the tail of a task printing 100 MB, and the attempt still succeeds", async () => {
    const { runner, exitOf } = harness();
    const request = await rb.request("chatty", { mb: int(100) });
    const handle = await runner.launch(request);
    expect(await exitOf(request.assignment)).toMatchObject({ exitCode: 0 });
    expect(rb.reportOf(request.assignment)).toEqual({ phase: "SUCCEEDED", outputs: { printed: int(100) } });
    const size = statSync(handle.info!.log!).size;
    expect(size).toBeGreaterThanOrEqual(10 * 1024 * 1024);
    expect(size).toBeLessThan(10 * 1024 * 1024 + 128 * 1024);
    const tail = logOf(handle).slice(-70 * 1024);
    expect(tail).toMatch(/\[petrel\] log capped at 10485760 bytes: \d+ bytes dropped; the last 65536 bytes follow/);
    expect(tail.trimEnd().endsWith("the last line of chatty")).toBe(true);
  });

  it("aborts an attempt: SIGTERM to its process group, then the exit with reason aborted", async () => {
    const { runner, exitOf } = harness();
    const request = await rb.request("sleepy", { ms: int(60_000) });
    const handle = await runner.launch(request);
    await eventually("the task to start", () => existsSync(handle.info!.log!) && logOf(handle).includes("sleeping"));
    const started = Date.now();
    await runner.abort(request.assignment, handle, "terminated by the user");
    const exit = await exitOf(request.assignment);
    expect(exit).toMatchObject({ reason: "aborted", message: "the attempt was aborted: terminated by the user" });
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(rb.reportOf(request.assignment)).toBeUndefined();
  });

  it("admits attempts in order within maxConcurrentAttempts; launch resolves while queued", async () => {
    const { runner, exitOf, events } = harness({ maxConcurrentAttempts: 1 });
    const first = await rb.request("sleepy", { ms: int(300) });
    const second = await rb.request("add", { a: int(2), b: int(3) });
    const third = await rb.request("add", { a: int(4), b: int(5) });
    const h1 = await runner.launch(first);
    const h2 = await runner.launch(second);
    const h3 = await runner.launch(third);
    expect(h1.id).toMatch(/^\d+$/);
    expect([h2.id, h3.id]).toEqual(["queued", "queued"]);
    await runner.abort(third.assignment, h3, "no longer needed");
    expect(await exitOf(third.assignment)).toMatchObject({ reason: "aborted", message: "the attempt was aborted: no longer needed (before it started)" });
    await exitOf(second.assignment);
    expect(events.filter((e) => e.type === "exit").map((e) => e.assignment.execution.name)).toEqual([third, first, second].map((r) => r.assignment.execution.name));
    expect(rb.reportOf(second.assignment)).toEqual({ phase: "SUCCEEDED", outputs: { sum: int(5) } });
  });

  it("re-attaches to a running attempt after a restart, and only to that attempt", async () => {
    const before = harness();
    const request = await rb.request("sleepy", { ms: int(1_500) });
    const handle = await before.runner.launch(request);
    await before.runner.close(); // the backend goes away; the process runs on

    const after = harness();
    const other = { ...request.assignment, attempt: 1 };
    expect(await after.runner.reattach(other, handle)).toBe(false);
    expect(await after.runner.reattach(request.assignment, { ...handle, id: "999999999" })).toBe(false);
    expect(await after.runner.reattach(request.assignment, handle)).toBe(true);
    const exit = await after.exitOf(request.assignment);
    expect(exit.reason).toBe("exited");
    expect(rb.reportOf(request.assignment)).toEqual({ phase: "SUCCEEDED", outputs: { slept: int(1_500) } });
    expect(await after.runner.reattach(request.assignment, handle)).toBe(false);
  });

  it("re-attaches to an attempt whose handle was recorded while it was queued, by its marker", async () => {
    const before = harness({ maxConcurrentAttempts: 1 });
    const first = await rb.request("sleepy", { ms: int(200) });
    const second = await rb.request("sleepy", { ms: int(1_500) });
    await before.runner.launch(first);
    const queued = await before.runner.launch(second);
    expect(queued.id).toBe("queued");
    await eventually("the second attempt to start", () => existsSync(queued.info!.log!) && logOf(queued).includes("sleeping"));
    await before.runner.close();

    const after = harness();
    expect(await after.runner.reattach(second.assignment, queued)).toBe(true);
    expect(await after.exitOf(second.assignment)).toMatchObject({ reason: "exited" });
    expect(rb.reportOf(second.assignment)).toEqual({ phase: "SUCCEEDED", outputs: { slept: int(1_500) } });
  });

  it("streams a log: whole, as a tail, and followed until the attempt ends", async () => {
    const { runner } = harness();
    const request = await rb.request("sleepy", { ms: int(800) });
    const handle = await runner.launch(request);
    const followed: string[] = [];
    for await (const chunk of runner.logs(request.assignment, handle, { follow: true })) followed.push(Buffer.from(chunk).toString());
    expect(followed.join("")).toBe("sleeping 800 ms\n");
    expect(rb.reportOf(request.assignment)?.phase).toBe("SUCCEEDED");
    const tail: string[] = [];
    for await (const chunk of runner.logs(request.assignment, handle, { tailBytes: 7 })) tail.push(Buffer.from(chunk).toString());
    expect(tail.join("")).toBe("800 ms\n");
  });

  it("keeps reporting while the backend is down, and reports once it is back", async () => {
    const proxy = await startProxy(rb.url);
    try {
      const { runner, exitOf } = harness();
      const request = await rb.request("sleepy", { ms: int(1_000) }, { endpoint: proxy.url });
      const handle = await runner.launch(request);
      await eventually("the task to start", () => existsSync(handle.info!.log!) && logOf(handle).includes("sleeping"));
      await proxy.stop();
      await new Promise((r) => setTimeout(r, 2_500));
      expect(rb.reportOf(request.assignment)).toBeUndefined();
      const back = Date.now();
      await proxy.start();
      expect(await exitOf(request.assignment)).toMatchObject({ exitCode: 0 });
      expect(rb.reportOf(request.assignment)).toEqual({ phase: "SUCCEEDED", outputs: { slept: int(1_000) } });
      expect(rb.reports.find((r) => r.key.execution.name === request.assignment.execution.name)!.at).toBeGreaterThanOrEqual(back);
    } finally {
      await proxy.close();
    }
  });

  it("exits 3 when it cannot report before its deadline", async () => {
    const proxy = await startProxy(rb.url);
    try {
      const { runner, exitOf } = harness({ env: { PETREL_REPORT_DEADLINE_MS: "1000" } });
      const request = await rb.request("sleepy", { ms: int(500) }, { endpoint: proxy.url });
      const handle = await runner.launch(request);
      await eventually("the task to start", () => existsSync(handle.info!.log!) && logOf(handle).includes("sleeping"));
      await proxy.stop();
      const exit = await exitOf(request.assignment);
      expect(exit).toMatchObject({ reason: "exited", exitCode: 3 });
      expect(exit.message).toContain("could not report its outcome to the backend (exit code 3)");
      expect(logOf(handle)).toMatch(/\[petrel\] could not report the outcome: reporting the outcome of attempt 0 of node sleepy: gave up after \d+ tries/);
    } finally {
      await proxy.close();
    }
  });
});
