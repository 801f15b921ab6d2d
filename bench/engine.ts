/**
 * Suite "engine": what the backend's execution engine costs per task, beside
 * dask.distributed from the same run. A whole backend runs in this process (the
 * API on a socket over SQLite and filesystem blobs, the engine, the local-process
 * runner); the pipelines of bench/engine-pipelines.ts are registered from their
 * bundle through the API, and every execution is created through the API
 * (`POST .../executions`), so each figure includes the state the engine persists
 * in SQLite for every node and attempt. Trivial tasks (x + 1), nothing cached.
 *
 * - Wide graph on warm workers: repeat -> map(inc) over n -> total (n + 2 task
 *   runs), and the same fan-out as 1,000 task nodes; per task = wall / tasks.
 *   Peer: Dask's fan-out (src, n incs, sum) with one client.get.
 * - Dependent hops on warm workers: a chain of 50 incs; per hop = wall / 50.
 *   Peer: the same chain with one client.get.
 * - Trivial tasks/s: the wide map's tasks over its wall time (the goal's row), and
 *   the three-task workflows below counted in tasks (no goal).
 * - Three-task workflows/s: 400 executions of inc -> inc -> inc created at once,
 *   timed until the last one ends. Peer: 400 three-task chains through
 *   client.submit, timed until all are gathered.
 * - Process per attempt: a one-task workflow on the process runner (a fresh
 *   `node` running the task runtime per attempt), end to end, beside a bare
 *   `node -e 0` spawned and awaited in the same run.
 *
 * The Dask peer is a LocalCluster with as many single-threaded worker processes as
 * Petrel has warm workers (PETREL_BENCH_WARM_WORKERS, default 2: one per core here).
 *
 * @example
 * ```sh
 * node dist/bench/index.js engine --quick            # n=500, 100 workflows, 3 reps (~25 s)
 * node dist/bench/index.js engine                    # n=2000, 400 workflows, 5 reps (~85 s)
 * # where the backend's time goes (the engine runs in the bench process):
 * PETREL_BENCH_NO_RESPAWN=1 node --cpu-prof --cpu-prof-dir=/tmp/petrel-prof dist/bench/index.js engine --quick --no-peer
 * node dist/bench/cpu-profile.js /tmp/petrel-prof/*.cpuprofile
 * ```
 */
import { spawn } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { buildBundle, type Bundle, type LiteralMap } from "../kernel/index.js";
import { createTestBackend, loadLiterals, type ExecutionRecord, type ManualClock, type TestBackend } from "../backend/index.js";
import { createEngine, type Engine } from "../backend/engine/index.js";
import { createLocalProcessRunner, type LocalProcessRunnerOptions } from "../backend/plugins/index.js";
import { runDaskPeer, peerSample, type PeerOutput } from "./dask-peer.js";
import { CHAIN_HOPS, WIDE_NODES, chain, chain3, inc, one, repeat, total, wideMap, wideNodes } from "./engine-pipelines.js";
import { DIRECTION, measure, progress, type BenchOptions, type Row, type Suite, type SuiteResult } from "./harness.js";

/** Goals of issue 5. */
export const GOAL_MS_PER_WIDE_TASK = 0.5;
export const GOAL_MS_PER_HOP = 2;
export const GOAL_PROCESS_RATIO = 1.3;
export const GOAL_TASKS_PER_S = 2_000;
export const GOAL_WORKFLOWS_PER_S = 200;

/** Warm workers (and Dask worker processes): one per core on the 2-core machines this runs on. */
const WARM_WORKERS = Number(process.env.PETREL_BENCH_WARM_WORKERS ?? 2);
const PROJECT = "bench";
const DOMAIN = "development";
const SUITE = "engine";

/** The repository root (from dist/bench/ or bench/): the bundle is built from the .ts source. */
const ROOT = fileURLToPath(new URL(import.meta.url.includes("/dist/") ? "../../" : "../", import.meta.url));
const PIPELINES = join(ROOT, "bench", "engine-pipelines.ts");

const int = (n: number) => ({ kind: "int" as const, value: String(n) });

/** Sizes per run mode. */
interface Sizes {
  /** Instances of the wide map. */
  wide: number;
  /** Three-task executions created at once. */
  workflows: number;
  reps: number;
  /** One-task executions timed on the process runner (and `node -e 0` spawns). */
  processReps: number;
}

const FULL: Sizes = { wide: 2_000, workflows: 400, reps: 5, processReps: 15 };
const QUICK: Sizes = { wide: 500, workflows: 100, reps: 3, processReps: 5 };

// ---- a backend that runs executions ------------------------------------------------------

/** A backend in this process with an engine, the bench pipelines registered. */
export interface EngineBench {
  backend: TestBackend;
  engine: Engine;
  /** Creates an execution of a workflow and returns its name. */
  execute(workflow: string, inputs: LiteralMap): Promise<string>;
  /** Waits for an execution to end; throws unless it SUCCEEDED. */
  wait(name: string): Promise<ExecutionRecord>;
  /** Creates an execution and waits for it to succeed. */
  run(workflow: string, inputs: LiteralMap): Promise<ExecutionRecord>;
  outputs(record: ExecutionRecord): Promise<LiteralMap>;
  close(): Promise<void>;
}

const bundles = new Map<string, Bundle>();
/**
 * The pipelines' bundle: all of them for warm workers (each loads it once), only
 * `one` for a process per attempt, since every runtime process evaluates the whole
 * bundle (the 1,000-node workflow alone takes ~25 ms to define).
 */
function pipelinesBundle(warm: boolean): Bundle {
  const key = warm ? "all" : "one";
  let b = bundles.get(key);
  if (!b) {
    b = buildBundle(warm ? { inc, repeat, total, wideMap, wideNodes, chain, chain3, one } : { inc, one }, { entry: PIPELINES });
    bundles.set(key, b);
  }
  return b;
}

/**
 * Starts a backend with an engine on warm workers (`warm` > 0) or a process per
 * attempt; also for profiling one shape alone (e.g. `execArgv: ["--cpu-prof"]` for runtimes).
 */
export async function startEngineBench(warm: number, runnerOptions: Pick<LocalProcessRunnerOptions, "execArgv"> = {}): Promise<EngineBench> {
  // Real time: attempt spans are stored as the engine sees them.
  const clock: ManualClock = { now: () => Date.now(), advance: () => Date.now(), set: () => undefined };
  const backend = await createTestBackend({ listen: true, clock });
  const runner = createLocalProcessRunner({
    logDir: join(backend.dir, "logs"),
    ...runnerOptions,
    ...(warm > 0 ? { warm: { workers: warm, blobRoot: join(backend.dir, "blobs") } } : {}),
  });
  const engine = createEngine({ deps: backend.deps, runner, endpoint: () => backend.url! });
  backend.deps.engine = engine;
  try {
    await backend.createProject(PROJECT);
    await engine.start();
    await registerBundle(backend, PROJECT, DOMAIN, pipelinesBundle(warm > 0));
  } catch (e) {
    await engine.close();
    await backend.close();
    throw e;
  }
  const base = `/projects/${PROJECT}/domains/${DOMAIN}`;
  const key = (name: string) => ({ project: PROJECT, domain: DOMAIN, name });
  const eb: EngineBench = {
    backend,
    engine,
    async execute(workflow, inputs) {
      const res = await backend.request(`${base}/executions`, { method: "POST", json: { workflow: { name: workflow }, inputs } });
      const text = await res.text();
      if (res.status !== 201) throw new Error(`creating an execution of ${workflow}: ${res.status} ${text}`);
      return (JSON.parse(text) as { name: string }).name;
    },
    async wait(name) {
      const done = await engine.wait(key(name));
      if (done.phase !== "SUCCEEDED") throw new Error(`execution ${name} ended ${done.phase}: ${done.error?.message ?? "(no error)"}`);
      return done;
    },
    async run(workflow, inputs) {
      return eb.wait(await eb.execute(workflow, inputs));
    },
    outputs: async (record) => (record.outputs ? loadLiterals(backend.deps, record.outputs) : {}),
    async close() {
      await engine.close();
      await backend.close();
    },
  };
  return eb;
}

/** Uploads a bundle and registers everything it defines in one request, under version = its hash (as test/engine/harness.ts does). */
async function registerBundle(backend: TestBackend, project: string, domain: string, b: Bundle): Promise<string> {
  const put = await backend.request(`/projects/${project}/bundles/${b.hash}`, { method: "PUT", body: b.bytes() });
  if (put.status >= 300) throw new Error(`uploading bundle ${b.hash}: ${put.status} ${await put.text()}`);
  const res = await backend.request(`/projects/${project}/domains/${domain}/bundles/${b.hash}/register`, { method: "POST" });
  const text = await res.text();
  if (res.status !== 201) throw new Error(`registering bundle ${b.hash}: ${res.status} ${text}`);
  return (JSON.parse(text) as { version: string }).version;
}

/** Checks an int output of a finished execution. */
async function expectInt(eb: EngineBench, record: ExecutionRecord, output: string, expected: number): Promise<void> {
  const lit = (await eb.outputs(record))[output];
  const got = lit?.kind === "int" ? Number(lit.value) : undefined;
  if (got !== expected) throw new Error(`execution ${record.key.name}: output ${output} is ${JSON.stringify(lit)}, expected ${expected}`);
}

/** Spawns `node -e 0` and resolves when it exits. */
function bareNode(): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["-e", "0"], { stdio: "ignore" });
    child.once("error", reject);
    child.once("exit", (code) => (code === 0 ? resolve() : reject(new Error(`node -e 0 exited with ${code}`))));
  });
}

// ---- the suite ----------------------------------------------------------------------------

interface WarmFigures {
  wideMapMs: number[];
  wideNodesMs: number[];
  chainMs: number[];
  workflowsMs: number[];
}

async function warmFigures(sizes: Sizes): Promise<WarmFigures> {
  progress(SUITE, `warm workers: starting a backend with ${WARM_WORKERS} workers and registering the pipelines`);
  const eb = await startEngineBench(WARM_WORKERS);
  try {
    // Correctness once, outside the timings (also loads the bundle in every worker).
    await expectInt(eb, await eb.run("wide_map", { x: int(0), n: int(sizes.wide) }), "sum", 2 * sizes.wide);
    await expectInt(eb, await eb.run("wide_nodes", { x: int(0) }), "sum", 2 * WIDE_NODES);
    await expectInt(eb, await eb.run("chain", { x: int(0) }), "y", CHAIN_HOPS);
    await expectInt(eb, await eb.run("chain3", { x: int(1) }), "y", 4);

    const wideMapS = await measure(SUITE, () => eb.run("wide_map", { x: int(0), n: int(sizes.wide) }), { label: `wide map(inc) n=${sizes.wide}`, reps: sizes.reps });
    const wideNodesS = await measure(SUITE, () => eb.run("wide_nodes", { x: int(0) }), { label: `wide ${WIDE_NODES} task nodes`, reps: sizes.reps });
    const chainS = await measure(SUITE, () => eb.run("chain", { x: int(0) }), { label: `chain of ${CHAIN_HOPS}`, reps: sizes.reps });
    const workflowsS = await measure(
      SUITE,
      async () => {
        const names = await Promise.all(Array.from({ length: sizes.workflows }, (_, i) => eb.execute("chain3", { x: int(i) })));
        await Promise.all(names.map((n) => eb.wait(n)));
      },
      { label: `${sizes.workflows} chain3 executions at once`, reps: sizes.reps },
    );
    return { wideMapMs: wideMapS.samples, wideNodesMs: wideNodesS.samples, chainMs: chainS.samples, workflowsMs: workflowsS.samples };
  } finally {
    await eb.close();
  }
}

interface ProcessFigures {
  attemptMs: number[];
  nodeMs: number[];
}

async function processFigures(sizes: Sizes): Promise<ProcessFigures> {
  progress(SUITE, "process per attempt: starting a backend with the process runner");
  const eb = await startEngineBench(0);
  try {
    await expectInt(eb, await eb.run("one", { x: int(41) }), "y", 42);
    // Interleaved, so both see the same machine: a one-task execution, then a bare node.
    const attemptMs: number[] = [];
    const nodeMs: number[] = [];
    for (let i = -1; i < sizes.processReps; i++) {
      const a = await measure(SUITE, () => eb.run("one", { x: int(i) }), { label: "one-task execution, process runner", reps: 1, warmup: 0 });
      const b = await measure(SUITE, bareNode, { label: "bare node -e 0", reps: 1, warmup: 0 });
      if (i < 0) continue; // warm-up
      attemptMs.push(a.median);
      nodeMs.push(b.median);
    }
    return { attemptMs, nodeMs };
  } finally {
    await eb.close();
  }
}

const med = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const list = (xs: readonly number[]) => xs.map((v) => v.toFixed(0)).join(", ");

export const engineSuite: Suite = {
  name: SUITE,
  title: `engine: backend execution overhead per task (SQLite state, ${WARM_WORKERS} warm workers or a process per attempt), trivial tasks, no cache`,
  async run(options: BenchOptions): Promise<SuiteResult> {
    const sizes = options.quick ? QUICK : FULL;
    const notes: string[] = [];
    const warm = await warmFigures(sizes);
    const proc = await processFigures(sizes);

    let peer: PeerOutput | undefined;
    if (options.peer) {
      try {
        peer = await runDaskPeer(SUITE, [
          "engine",
          "--n",
          String(sizes.wide),
          "--chain",
          String(CHAIN_HOPS),
          "--workflows",
          String(sizes.workflows),
          "--reps",
          String(sizes.reps),
          "--processes",
          "--workers",
          String(WARM_WORKERS),
        ]);
      } catch (e) {
        notes.push(`Dask peer unavailable: ${(e as Error).message}`);
      }
    } else notes.push("peer skipped (--no-peer)");

    const dist = "dask.distributed LocalCluster";
    const fan = peerSample(peer, "fanout");
    const chainPeer = peerSample(peer, "chain");
    const wfPeer = peerSample(peer, "workflows");
    const wideTasks = sizes.wide + 2;
    const wideMapMs = med(warm.wideMapMs);
    const wideNodesMs = med(warm.wideNodesMs);
    const chainMs = med(warm.chainMs);
    const workflowsMs = med(warm.workflowsMs);
    const attemptMs = med(proc.attemptMs);
    const nodeMs = med(proc.nodeMs);
    const peerOr = (name: string, value: number | undefined) => (value !== undefined ? { peerName: name, peer: value } : { peerName: `${name} (n/a)` });

    const rows: Row[] = [
      {
        metric: `wide graph, map(inc) n=${sizes.wide}, per task`,
        unit: "ms",
        petrel: wideMapMs / wideTasks,
        ...peerOr(dist, fan ? fan.median_ms / (fan.n ?? wideTasks) : undefined),
        goal: { value: GOAL_MS_PER_WIDE_TASK, direction: DIRECTION.lower },
        note: `${wideTasks} task runs (repeat, ${sizes.wide} x inc, total); peer: the same fan-out as one graph, client.get`,
      },
      {
        metric: `wide graph, ${WIDE_NODES} task nodes, per task`,
        unit: "ms",
        petrel: wideNodesMs / (WIDE_NODES + 2),
        ...peerOr(dist, fan ? fan.median_ms / (fan.n ?? wideTasks) : undefined),
        goal: { value: GOAL_MS_PER_WIDE_TASK, direction: DIRECTION.lower },
        note: `inc -> ${WIDE_NODES} x inc -> total as task nodes (${WIDE_NODES + 2} runs); peer: fan-out at n=${sizes.wide}`,
      },
      {
        metric: `chain of ${CHAIN_HOPS}, per dependent hop`,
        unit: "ms",
        petrel: chainMs / CHAIN_HOPS,
        ...peerOr(dist, chainPeer ? chainPeer.median_ms / (chainPeer.n ?? CHAIN_HOPS) : undefined),
        goal: { value: GOAL_MS_PER_HOP, direction: DIRECTION.lower },
        note: "whole execution (create, start, 50 hops, outputs) / 50",
      },
      {
        metric: `trivial tasks/s, map(inc) n=${sizes.wide}`,
        unit: "tasks/s",
        petrel: (wideTasks / wideMapMs) * 1000,
        ...peerOr(dist, fan ? ((fan.n ?? wideTasks) / fan.median_ms) * 1000 : undefined),
        goal: { value: GOAL_TASKS_PER_S, direction: DIRECTION.higher },
      },
      {
        metric: `trivial tasks/s, ${sizes.workflows} chain3 executions`,
        unit: "tasks/s",
        petrel: ((3 * sizes.workflows) / workflowsMs) * 1000,
        ...peerOr(dist, wfPeer ? ((3 * (wfPeer.n ?? sizes.workflows)) / wfPeer.median_ms) * 1000 : undefined),
        note: "the workflows/s run below counted in tasks (each execution also pays its own create, start and end)",
      },
      {
        metric: `three-task workflows/s, ${sizes.workflows} at once`,
        unit: "wf/s",
        petrel: (sizes.workflows / workflowsMs) * 1000,
        ...peerOr(dist, wfPeer ? ((wfPeer.n ?? sizes.workflows) / wfPeer.median_ms) * 1000 : undefined),
        goal: { value: GOAL_WORKFLOWS_PER_S, direction: DIRECTION.higher },
        note: "created through the API at once, timed until the last ends; peer: client.submit x3 per chain, gather",
      },
      {
        metric: "process per attempt: one-task execution",
        unit: "ms",
        petrel: attemptMs,
        peerName: "bare node -e 0 (spawn to exit)",
        peer: nodeMs,
        goal: { value: GOAL_PROCESS_RATIO * nodeMs, direction: DIRECTION.lower },
        note: `goal = ${GOAL_PROCESS_RATIO} x node -e 0 from this run; the execution end to end (API create -> SUCCEEDED), its one attempt a fresh node process`,
      },
    ];
    notes.push(
      `petrel: medians of ${sizes.reps} runs after 1 warm-up; backend in this process (API on 127.0.0.1, SQLite store, fs blobs), executions created with in-process API requests, ${WARM_WORKERS} warm workers`,
      `petrel run times (ms): wide map ${list(warm.wideMapMs)}; wide nodes ${list(warm.wideNodesMs)}; chain ${list(warm.chainMs)}; ${sizes.workflows} chain3 ${list(warm.workflowsMs)}`,
      `process per attempt (ms, ${sizes.processReps} interleaved pairs): execution ${list(proc.attemptMs)}; node -e 0 ${list(proc.nodeMs)}`,
    );
    if (peer) notes.push(`dask ${String(peer.dask)}, distributed ${String(peer.distributed)} on Python ${String(peer.python)}, LocalCluster(${String(peer.cluster)}): medians of ${sizes.reps} runs after 1 warm-up`);
    progress(SUITE, "done");
    return { title: this.title, rows, notes };
  },
};
