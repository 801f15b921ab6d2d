/** The workflow the "k8s" suite runs on both runners: a chain of CHAIN_NODES trivial tasks (x + 1). */
import { t, task, workflow } from "../kernel/index.js";

/** Dependent task nodes in `chain20`. */
export const CHAIN_NODES = 20;

export const inc = task({ name: "inc", inputs: { x: t.int() }, outputs: { y: t.int() } }, ({ x }) => ({ y: x + 1 }));

/** x -> inc -> inc -> ... (CHAIN_NODES tasks, each waiting for the one before); y = x + CHAIN_NODES. */
export const chain20 = workflow({ name: "chain20", inputs: { x: t.int() }, outputs: { y: t.int() } }, ({ x }) => {
  let h = x;
  for (let i = 0; i < CHAIN_NODES; i++) h = inc({ x: h }).y;
  return { y: h };
});
