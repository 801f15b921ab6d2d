/**
 * How soon V8 optimizes the compiler's code, and the notebook's.
 *
 * V8 optimizes a function once it has spent an "interrupt budget" of bytecode. The
 * TypeScript compiler runs for a millisecond or two per cell, through thousands of
 * functions called a few times each, so under V8's default budget it keeps finding
 * new compiler functions to optimize for hundreds of cells. Measured with
 * `--trace-opt`, in process: 1–5 ms of TurboFan work per cell over the first 500
 * cells (giant functions such as `createTypeChecker` alone take 0.8 s), on V8's
 * background threads. On a 2-core machine that work takes the CPU from the cell and
 * from the notebook client, and the optimized code arrives too late to pay it back.
 *
 * So the compiler runs under a budget 16 times V8's (its TurboFan work falls to about
 * 0.25 ms per cell), and the notebook's own code runs under the budget the process
 * started with (`--interrupt-budget` in the kernelspec: V8's default, written out at
 * install so the kernel knows what to restore). A process started without that flag
 * keeps V8's tiering for everything.
 */
import { spawnSync } from "node:child_process";
import { setFlagsFromString } from "node:v8";

/** How many times the notebook's budget the compiler runs under. */
const COMPILER_BUDGET_FACTOR = 16;
const BUDGET_FLAG = /^--interrupt[-_]budget=(\d+)$/;

/** Runs compiler work under the compiler's budget. */
export type Tiering = <T>(work: () => T) => T;

/** The budget the process was started with (`--interrupt-budget=N` among its flags), if it was given one. */
export function startBudget(execArgv: readonly string[] = process.execArgv): number | undefined {
  for (const arg of [...execArgv].reverse()) {
    const m = BUDGET_FLAG.exec(arg);
    if (m) return Number(m[1]);
  }
  return undefined;
}

/** Runs `work` under the compiler's budget and puts the notebook's back; without a known budget, just runs it. */
export function compilerTiering(budget: number | undefined = startBudget()): Tiering {
  if (!budget) return (work) => work();
  const compiler = `--interrupt-budget=${budget * COMPILER_BUDGET_FACTOR}`;
  const notebook = `--interrupt-budget=${budget}`;
  return (work) => {
    setFlagsFromString(compiler);
    try {
      return work();
    } finally {
      setFlagsFromString(notebook);
    }
  };
}

/** V8's default budget in `node`, as `node --v8-options` states it. */
export function defaultBudget(node: string = process.execPath): number | undefined {
  const out = spawnSync(node, ["--v8-options"], { encoding: "utf8", timeout: 30_000 });
  const m = /default: --interrupt-budget=(\d+)/.exec(out.stdout ?? "");
  return m ? Number(m[1]) : undefined;
}
