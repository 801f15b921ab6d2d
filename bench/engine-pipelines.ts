/**
 * The pipelines the "engine" suite registers on a backend, from one bundle built
 * from this file: trivial tasks (x + 1) in the shapes whose overhead the suite
 * times. Nothing is cached (tasks default to `cache: false`), so every node runs.
 */
import { map, t, task, workflow } from "../kernel/index.js";

/** Task nodes in `wide_nodes` (a workflow's shape is fixed when it is defined). */
export const WIDE_NODES = 1_000;
/** Dependent tasks in `chain`. */
export const CHAIN_HOPS = 50;

export const inc = task({ name: "inc", inputs: { x: t.int() }, outputs: { y: t.int() } }, ({ x }) => ({ y: x + 1 }));

export const repeat = task({ name: "repeat", inputs: { x: t.int(), n: t.int() }, outputs: { xs: t.list(t.int()) } }, ({ x, n }) => ({
  xs: new Array<number>(n).fill(x + 1),
}));

export const total = task({ name: "total", inputs: { xs: t.list(t.int()) }, outputs: { sum: t.int() } }, ({ xs }) => ({
  sum: xs.reduce((a, b) => a + b, 0),
}));

/** Dask's fan-out as one map node: repeat (n copies of x + 1) -> map(inc) -> total; n + 2 task runs, sum = n (x + 2). */
export const wideMap = workflow({ name: "wide_map", inputs: { x: t.int(), n: t.int() }, outputs: { sum: t.int() } }, ({ x, n }) => {
  const xs = repeat({ x, n }).xs;
  const ys = map(inc)({ x: xs }).y;
  return total({ xs: ys });
});

/** The same fan-out as WIDE_NODES task nodes: inc -> WIDE_NODES x inc -> total; sum = WIDE_NODES (x + 2). */
export const wideNodes = workflow({ name: "wide_nodes", inputs: { x: t.int() }, outputs: { sum: t.int() } }, ({ x }) => {
  const src = inc({ x }).y;
  const ys = [];
  for (let i = 0; i < WIDE_NODES; i++) ys.push(inc({ x: src }).y);
  return total({ xs: ys });
});

/** x -> inc -> inc -> ... (CHAIN_HOPS tasks, each waiting for the one before); y = x + CHAIN_HOPS. */
export const chain = workflow({ name: "chain", inputs: { x: t.int() }, outputs: { y: t.int() } }, ({ x }) => {
  let h = x;
  for (let i = 0; i < CHAIN_HOPS; i++) h = inc({ x: h }).y;
  return { y: h };
});

/** Three dependent tasks: the workflow the throughput figure counts; y = x + 3. */
export const chain3 = workflow({ name: "chain3", inputs: { x: t.int() }, outputs: { y: t.int() } }, ({ x }) => {
  const a = inc({ x });
  const b = inc({ x: a.y });
  return inc({ x: b.y });
});

/** One task: what a process per attempt costs, whole. */
export const one = workflow({ name: "one", inputs: { x: t.int() }, outputs: { y: t.int() } }, ({ x }) => inc({ x }));
