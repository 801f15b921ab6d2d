/**
 * Suite "runtime": what running a task outside the backend's process costs.
 *
 * - Process per attempt: a bare `node -e 0` is the peer. Beside it, the runtime
 *   entry starting and exiting (`node dist/kernel/runtime/main.js` with no
 *   assignment: its own imports only), importing the kernel a bundle binds to
 *   (`petrel`: Arrow, the type engine, the local engine), and a whole trivial
 *   attempt launched by the local-process runner against a backend on a socket:
 *   spawn, fetch bundle (cached on disk after the first) and inputs over HTTP,
 *   load, run, report the outcome, exit.
 * - Warm workers: the runner's round trip per trivial task on one worker (launch →
 *   outcome event, one at a time), and the per-task overhead on a wide graph
 *   (thousands of attempts launched at once on two workers: total time / tasks).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createTestBackend, type TestBackend } from "../backend/index.js";
import { createLocalProcessRunner, type LaunchRequest, type RunnerEvent, type TaskRunner } from "../backend/plugins/index.js";
import { buildBundle, createFsBlobStore, type AttemptAssignment, type Bundle, type TaskSpec } from "../kernel/index.js";
import { DIRECTION, measure, progress, summarize, type BenchOptions, type Row, type Suite, type SuiteResult } from "./harness.js";
import { inc } from "./runtime-task.js";

/** Goals from the issue: process-per-attempt overhead within 1.3x a bare node, warm per-task overhead. */
export const GOAL_PROCESS_RATIO = 1.3;
export const GOAL_WARM_MS_PER_TASK = 0.5;
const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const MAIN = join(ROOT, "dist", "kernel", "runtime", "main.js");
const name = "runtime";

/** Median wall time (ms) of spawning `node args` to its exit, `reps` times after one warm-up. */
function spawnTimes(args: string[], reps: number, label: string, env: NodeJS.ProcessEnv = process.env) {
  const samples: number[] = [];
  for (let i = 0; i <= reps; i++) {
    const start = performance.now();
    spawnSync(process.execPath, args, { cwd: ROOT, env, stdio: "ignore" });
    if (i > 0) samples.push(performance.now() - start);
  }
  const s = summarize(samples);
  progress(name, `${label}: median ${s.median.toFixed(1)} ms`);
  return s;
}

const spec = (): TaskSpec => bundleOf().manifest.specs.tasks[0]!;
let bundle: Bundle | undefined;
function bundleOf(): Bundle {
  return (bundle ??= buildBundle([inc], { entry: join(ROOT, "bench", "runtime-task.ts") }));
}

/** A backend on a socket that accepts outcomes (what the engine would do with them is not measured). */
async function backendWithBundle(): Promise<{ backend: TestBackend; request(i: number): Promise<LaunchRequest> }> {
  const backend = await createTestBackend({ listen: true });
  backend.deps.engine = {
    created() {},
    terminated() {},
    heartbeat: () => true,
    reportOutcome: (key) => backend.store.getNodeExecution(key.execution, key.node),
    recordCheckpoint: async () => {},
    logs: { read: async () => undefined },
  };
  const b = bundleOf();
  await backend.createProject("bench");
  const base = "/projects/bench/domains/development";
  await backend.request(`/projects/bench/bundles/${b.hash}`, { method: "PUT", body: b.bytes() });
  await backend.request(`${base}/tasks/inc/versions/${b.hash}`, { method: "PUT", json: { spec: spec(), bundle: b.hash } });
  const wf = {
    name: "one",
    interface: { inputs: { x: { type: { kind: "int" } } }, outputs: { y: { type: { kind: "int" } } } },
    nodes: [{ kind: "task", id: "inc", target: { resourceType: "task", name: "inc" }, inputs: { x: { kind: "input", name: "x" } }, upstream: [], metadata: { name: "inc" }, outputs: { y: { kind: "int" } } }],
    outputs: { y: { kind: "output", node: "inc", output: "y" } },
    failurePolicy: "fail_immediately",
  };
  await backend.request(`${base}/workflows/one/versions/v1`, { method: "PUT", json: { spec: wf } });
  return {
    backend,
    async request(i) {
      const execution = { project: "bench", domain: "development", name: `e${i}` };
      await backend.request(`${base}/executions`, { method: "POST", json: { name: execution.name, workflow: { name: "one" }, inputs: { x: { kind: "int", value: "1" } } } });
      const assignment: AttemptAssignment = { execution, node: "inc", attempt: 0, maxAttempts: 1, task: { resourceType: "task", project: "bench", domain: "development", name: "inc", version: b.hash }, bundle: b.hash };
      const now = backend.clock.now();
      const inputs = { x: { kind: "int" as const, value: String(i) } };
      await backend.store.putNodeExecution({ execution, nodeId: "inc", phase: "RUNNING", inputs: { inline: inputs }, target: assignment.task, attempts: 1, createdAt: now, updatedAt: now });
      const { token } = await backend.store.createNodeToken({ execution, node: "inc" });
      return { assignment, task: spec(), inputs, endpoint: backend.url!, token: () => Promise.resolve(token) };
    },
  };
}

/** Resolves each attempt's first event, by node and execution. */
function eventWaiter(runner: TaskRunner) {
  const waiting = new Map<string, (e: RunnerEvent) => void>();
  const key = (a: AttemptAssignment) => `${a.execution.name}/${a.node}`;
  runner.onEvent((e) => {
    const k = key(e.assignment);
    const resolve = waiting.get(k);
    if (resolve) {
      waiting.delete(k);
      resolve(e);
    }
  });
  return (a: AttemptAssignment) => new Promise<RunnerEvent>((resolve) => waiting.set(key(a), resolve));
}

export const runtimeSuite: Suite = {
  name,
  title: "runtime: running a trivial task (x+1) outside the backend, a process per attempt and on warm workers",
  async run(options: BenchOptions): Promise<SuiteResult> {
    const reps = options.quick ? 5 : 15;
    const notes: string[] = [];
    const rows: Row[] = [];
    const home = mkdtempSync(join(tmpdir(), "petrel-bench-runtime-"));
    try {
      const bare = spawnTimes(["-e", "0"], reps, "node -e 0");
      const entry = spawnTimes([MAIN], reps, "runtime entry, no assignment");
      const kernel = spawnTimes(["--input-type=module", "-e", `await import(${JSON.stringify(join(ROOT, "dist", "kernel", "index.js"))})`], reps, "import petrel (the kernel)");
      const ratioGoal = { value: bare.median * GOAL_PROCESS_RATIO, direction: DIRECTION.lower };
      rows.push({ metric: "runtime entry start+exit (no work)", unit: "ms", petrel: entry.median, peerName: "node -e 0", peer: bare.median, goal: ratioGoal });
      rows.push({ metric: "node + import petrel (what a bundle loads)", unit: "ms", petrel: kernel.median, peerName: "node -e 0", peer: bare.median });

      // A whole attempt through the runner and the API.
      const { backend, request } = await backendWithBundle();
      let n = 0;
      try {
        const runner = createLocalProcessRunner({ cwd: ROOT, home, logDir: join(home, "logs") });
        const next = eventWaiter(runner);
        const attempt = async () => {
          const r = await request(++n);
          const done = next(r.assignment);
          await runner.launch(r);
          const event = await done;
          if (event.type !== "exit" || event.exit.exitCode !== 0) throw new Error(`attempt failed: ${JSON.stringify(event)}`);
        };
        const whole = await measure(name, attempt, { label: "process per attempt, whole trivial attempt", reps, warmup: 1 });
        rows.push({
          metric: "process per attempt: whole attempt",
          unit: "ms",
          petrel: whole.median,
          peerName: "node -e 0",
          peer: bare.median,
          goal: ratioGoal,
          note: "spawn, fetch bundle (disk-cached) and inputs over HTTP, load the bundle (imports petrel), run, report, exit",
        });
        await runner.close();

        // Warm workers: bundle in the blob root, inputs inline.
        const blobRoot = join(backend.dir, "blobs");
        createFsBlobStore(blobRoot).put(bundleOf().bytes(), "file");
        const base = await request(++n);
        const warmRequest = (i: number): LaunchRequest => ({ ...base, assignment: { ...base.assignment, node: `n${i}` }, inputs: { x: { kind: "int", value: String(i) } } });
        for (const workers of [1, 2]) {
          const warm = createLocalProcessRunner({ cwd: ROOT, home, logDir: join(home, "logs"), warm: { workers, blobRoot } });
          const wait = eventWaiter(warm);
          let i = 0;
          const one = async () => {
            const r = warmRequest(++i);
            const done = wait(r.assignment);
            await warm.launch(r);
            const e = await done;
            if (e.type !== "outcome" || e.outcome.phase !== "SUCCEEDED") throw new Error(`warm attempt failed: ${JSON.stringify(e)}`);
          };
          await one(); // workers ready, bundle loaded
          await one();
          if (workers === 1) {
            const sequential = options.quick ? 300 : 1_000;
            const s = await measure(name, async () => {
              for (let k = 0; k < sequential; k++) await one();
            }, { label: `warm, 1 worker, ${sequential} tasks one at a time`, reps: 3, warmup: 1 });
            rows.push({ metric: "warm worker round trip, one task at a time", unit: "ms/task", petrel: s.median / sequential, note: "launch -> IPC -> run -> IPC -> outcome event, 1 worker" });
          } else {
            const wide = options.quick ? 2_000 : 10_000;
            const s = await measure(name, async () => {
              const all: Promise<RunnerEvent>[] = [];
              for (let k = 0; k < wide; k++) {
                const r = warmRequest(++i);
                all.push(wait(r.assignment));
                await warm.launch(r);
              }
              await Promise.all(all);
            }, { label: `warm, 2 workers, ${wide} tasks at once`, reps: 3, warmup: 1 });
            rows.push({
              metric: `warm workers, wide graph (${wide.toLocaleString("en")} tasks, 2 workers)`,
              unit: "ms/task",
              petrel: s.median / wide,
              goal: { value: GOAL_WARM_MS_PER_TASK, direction: DIRECTION.lower },
              note: "all launched at once, queued for 2 workers; total time / tasks",
            });
          }
          await warm.close();
        }
      } finally {
        await backend.close();
      }
      notes.push(
        `spawn medians of ${reps} after one warm-up (ms): node -e 0 ${bare.median.toFixed(1)}, runtime entry ${entry.median.toFixed(1)}, node + import petrel ${kernel.median.toFixed(1)}`,
        "the goal of the process rows is 1.3x node -e 0, from the same run",
      );
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
    progress(name, "done");
    return { title: this.title, rows, notes };
  },
};
