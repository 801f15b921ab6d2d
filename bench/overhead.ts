/**
 * Suite "overhead": what the local engine adds per task, with tasks that do
 * nothing but x + 1, so scheduling, literal conversion and records are all that
 * is measured. Two shapes of 10,000 tasks: a chain (every task waits for the
 * previous one) and a fan-out/fan-in (one source, 10,000 parallel tasks, one
 * sink summing their list). The peer runs the same graphs as raw Dask graph
 * dicts on the threaded and synchronous schedulers, and the fan-out on an
 * in-process dask.distributed LocalCluster (at a smaller n: ~2 ms per task).
 */
import { map, t, task, workflow } from "../kernel/index.js";
import { runDaskPeer, peerSample, type PeerOutput } from "./dask-peer.js";
import { DIRECTION, measure, progress, type BenchOptions, type Row, type Suite, type SuiteResult } from "./harness.js";

/** Tasks in each graph shape. */
export const TASKS = 10_000;
/** The goal: local engine overhead per trivial task. */
export const GOAL_US_PER_TASK = 10;
/** Fan-out size on dask.distributed, where one task costs milliseconds. */
const DISTRIBUTED_TASKS = 1_000;
const MAX_PARALLELISM = 64;

const inc = task({ name: "inc", inputs: { x: t.int() }, outputs: { y: t.int() } }, ({ x }) => ({ y: x + 1 }));
const total = task({ name: "total", inputs: { xs: t.list(t.int()) }, outputs: { sum: t.int() } }, ({ xs }) => ({
  sum: xs.reduce((a, b) => a + b, 0),
}));
const repeat = task({ name: "repeat", inputs: { x: t.int(), n: t.int() }, outputs: { xs: t.list(t.int()) } }, ({ x, n }) => ({
  xs: new Array<number>(n).fill(x + 1),
}));

/** x -> inc -> inc -> ... (n tasks). */
export function chainWorkflow(n: number) {
  return workflow({ name: "chain", inputs: { x: t.int() }, outputs: { y: t.int() } }, ({ x }) => {
    let h = x;
    for (let i = 0; i < n; i++) h = inc({ x: h }).y;
    return { y: h };
  });
}

/** One source, n parallel incs of its output, one sink summing their list: n + 2 task nodes. */
export function fanOutWorkflow(n: number) {
  return workflow({ name: "fanout", inputs: { x: t.int() }, outputs: { sum: t.int() } }, ({ x }) => {
    const src = inc({ x }).y;
    const ys = [];
    for (let i = 0; i < n; i++) ys.push(inc({ x: src }).y);
    return { sum: total({ xs: ys }).sum };
  });
}

/** The same fan-out as one map node: source list of n (a workflow input) -> map(inc) -> sink (n + 2 task executions). */
export function mappedFanOutWorkflow() {
  return workflow({ name: "mapped_fanout", inputs: { x: t.int(), n: t.int() }, outputs: { sum: t.int() } }, ({ x, n: count }) => {
    const xs = repeat({ x, n: count }).xs;
    const ys = map(inc)({ x: xs }).y;
    return { sum: total({ xs: ys }).sum };
  });
}

const perTaskUs = (ms: number, tasks: number) => (ms * 1000) / tasks;

export const overheadSuite: Suite = {
  name: "overhead",
  title: `overhead: per-task overhead of trivial tasks (x+1), ${TASKS.toLocaleString("en")} tasks, local engine, cache off`,
  async run(options: BenchOptions): Promise<SuiteResult> {
    const name = "overhead";
    const reps = options.quick ? 3 : 7;
    const runOpts = { cache: false, maxParallelism: MAX_PARALLELISM };
    const notes: string[] = [];

    const chain = chainWorkflow(TASKS);
    const chainMs = await measure(
      name,
      async () => {
        const run = await chain.run({ x: 0 }, runOpts);
        if (run.outputs.y !== TASKS) throw new Error(`chain returned ${run.outputs.y}, expected ${TASKS}`);
      },
      { label: "petrel chain", reps, warmup: 2 },
    );

    const fan = fanOutWorkflow(TASKS);
    const fanMs = await measure(
      name,
      async () => {
        const run = await fan.run({ x: 0 }, runOpts);
        if (run.outputs.sum !== 2 * TASKS) throw new Error(`fan-out returned ${run.outputs.sum}, expected ${2 * TASKS}`);
      },
      { label: "petrel fan-out", reps, warmup: 2 },
    );

    const mapped = mappedFanOutWorkflow();
    const mappedMs = await measure(
      name,
      async () => {
        const run = await mapped.run({ x: 0, n: TASKS }, runOpts);
        if (run.outputs.sum !== 2 * TASKS) throw new Error(`mapped fan-out returned ${run.outputs.sum}, expected ${2 * TASKS}`);
      },
      { label: "petrel fan-out via map()", reps, warmup: 2 },
    );

    let peer: PeerOutput | undefined;
    if (options.peer) {
      try {
        peer = await runDaskPeer(name, [
          "overhead",
          "--n",
          String(TASKS),
          "--reps",
          String(options.quick ? 3 : 5),
          "--distributed-n",
          String(options.quick ? 0 : DISTRIBUTED_TASKS),
        ]);
      } catch (e) {
        notes.push(`Dask peer unavailable: ${(e as Error).message}`);
      }
    } else notes.push("peer skipped (--no-peer)");

    const goal = { value: GOAL_US_PER_TASK, direction: DIRECTION.lower };
    const chainUs = perTaskUs(chainMs.median, TASKS);
    const fanUs = perTaskUs(fanMs.median, TASKS + 2);
    const mappedUs = perTaskUs(mappedMs.median, TASKS + 2);
    const rows: Row[] = [];
    const peerRow = (metric: string, petrel: number, peerName: string, sampleName: string, tasks: number, note?: string) => {
      const s = peerSample(peer, sampleName);
      rows.push({
        metric,
        unit: "µs/task",
        petrel,
        goal,
        ...(s ? { peerName, peer: perTaskUs(s.median_ms, s.n !== undefined ? s.n + 2 : tasks) } : { peerName: `${peerName} (n/a)` }),
        ...(note ? { note } : {}),
      });
    };
    peerRow("chain 10k", chainUs, "dask threaded.get", "chain_threaded", TASKS);
    peerRow("chain 10k", chainUs, "dask get_sync", "chain_sync", TASKS);
    peerRow("fan-out/fan-in 10k", fanUs, "dask threaded.get", "fanout_threaded", TASKS + 2);
    peerRow("fan-out/fan-in 10k", fanUs, "dask get_sync", "fanout_sync", TASKS + 2);
    const dist = peerSample(peer, "distributed");
    peerRow(
      "fan-out/fan-in 10k",
      fanUs,
      "distributed LocalCluster(processes=False)",
      "distributed",
      DISTRIBUTED_TASKS + 2,
      dist ? `dask.distributed ${dist.version ?? ""} timed at n=${dist.n} (1 worker, 2 threads): ~ms per task, 10k would take too long` : undefined,
    );
    peerRow("fan-out/fan-in 10k via map()", mappedUs, "dask threaded.get", "fanout_threaded", TASKS + 2, "one map node of 10k instances instead of 10k task nodes");
    rows.push({ metric: "chain 10k, whole run", unit: "ms", petrel: chainMs.median });
    rows.push({ metric: "fan-out/fan-in 10k, whole run", unit: "ms", petrel: fanMs.median });
    notes.push(
      `petrel: median of ${reps} runs after 2 warm-ups, wf.run({x: 0}, { cache: false, maxParallelism: ${MAX_PARALLELISM} }); per task = run time / tasks (fan-out: ${TASKS + 2})`,
      `petrel run times (ms): chain ${chainMs.samples.map((v) => v.toFixed(0)).join(", ")}; fan-out ${fanMs.samples.map((v) => v.toFixed(0)).join(", ")}; map ${mappedMs.samples.map((v) => v.toFixed(0)).join(", ")}`,
    );
    if (peer) notes.push(`dask ${String(peer.dask)} on Python ${String(peer.python)}: raw graph dicts, medians of 5 runs after 1 warm-up`);
    progress(name, "done");
    return { title: this.title, rows, notes };
  },
};
