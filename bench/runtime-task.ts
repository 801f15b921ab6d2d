/** The trivial task the runtime suite runs in processes and warm workers: x + 1. */
import { t, task } from "../kernel/index.js";

export const inc = task({ name: "inc", inputs: { x: t.int() }, outputs: { y: t.int() } }, ({ x }) => ({ y: x + 1 }));
