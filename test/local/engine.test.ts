import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  launchPlan,
  map,
  NonRetryableError,
  t,
  task,
  when,
  workflow,
} from "../../kernel/index.js";
import { failure } from "./failure.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const tempDir = () => mkdtempSync(join(tmpdir(), "petrel-local-"));

const nap = task(
  { name: "nap", inputs: { ms: t.int() }, outputs: { slept: t.int() } },
  async ({ ms }) => {
    await sleep(ms);
    return { slept: ms };
  },
);

describe("parallel execution", () => {
  const twoNaps = workflow(
    { name: "two_naps", inputs: { ms: t.int() }, outputs: { a: t.int(), b: t.int() } },
    ({ ms }) => ({ a: nap({ ms }).slept, b: nap({ ms }).slept }),
  );

  it("runs two independent 200 ms tasks in parallel, well under 400 ms", async () => {
    const started = performance.now();
    const run = await twoNaps.run({ ms: 200 }, { cache: false });
    const elapsed = performance.now() - started;
    expect(run.outputs).toEqual({ a: 200, b: 200 });
    expect(elapsed).toBeLessThan(350);
    const [a, b] = [run.nodes.nap!, run.nodes["nap-2"]!];
    // They overlapped in time.
    expect(a.startedAt!).toBeLessThan(b.endedAt!);
    expect(b.startedAt!).toBeLessThan(a.endedAt!);
  });

  it("serializes them when maxParallelism is 1", async () => {
    const started = performance.now();
    await twoNaps.run({ ms: 100 }, { cache: false, maxParallelism: 1 });
    expect(performance.now() - started).toBeGreaterThanOrEqual(195);
  });

  it("starts a dependent as soon as its inputs are ready, not after unrelated nodes", async () => {
    const wf = workflow(
      { name: "eager", inputs: {}, outputs: { fast: t.int(), slow: t.int() } },
      () => {
        const quick = nap({ ms: 10 });
        const slow = nap({ ms: 300 });
        return { fast: nap({ ms: quick.slept }).slept, slow: slow.slept };
      },
    );
    const run = await wf.run({}, { cache: false });
    expect(run.nodes["nap-3"]!.endedAt!).toBeLessThan(run.nodes["nap-2"]!.endedAt!);
  });
});

describe("retries", () => {
  it("retries a failing task and records every attempt with its error", async () => {
    let calls = 0;
    const flaky = task({ name: "flaky", inputs: {}, outputs: { n: t.int() }, retries: 2 }, () => {
      calls++;
      if (calls < 3) throw new Error(`boom ${calls}`);
      return { n: calls };
    });
    const run = await flaky.run({}, { cache: false, retryBackoffMs: 1 });
    expect(run.outputs.n).toBe(3);
    const attempts = run.nodes.flaky!.attempts;
    expect(attempts.map((a) => a.phase)).toEqual(["FAILED", "FAILED", "SUCCEEDED"]);
    expect(attempts[0]!.error).toMatchObject({ kind: "user", code: "USER_ERROR", message: "boom 1", retryable: true });
    expect(attempts[0]!.error!.stack).toContain("boom 1");
  });

  it("fails after the retry budget with the task's own message and the attempt count", async () => {
    const always = task({ name: "always_fails", inputs: {}, outputs: {}, retries: 1 }, () => {
      throw new TypeError("bad data in row 7");
    });
    const err = await failure(always.run({}, { cache: false, retryBackoffMs: 1 }));
    expect(err.code).toBe("EXECUTION_FAILED");
    expect(err.node).toBe("always_fails");
    expect(err.message).toContain("bad data in row 7");
    expect(err.failure).toMatchObject({ kind: "user", message: "bad data in row 7 (after 2 attempts)" });
    expect(err.cause).toBeInstanceOf(TypeError);
  });

  it("does not retry a NonRetryableError", async () => {
    let calls = 0;
    const strict = task({ name: "strict", inputs: {}, outputs: {}, retries: 5 }, () => {
      calls++;
      throw new NonRetryableError("input is unusable");
    });
    const err = await failure(strict.run({}, { cache: false, retryBackoffMs: 1 }));
    expect(calls).toBe(1);
    expect(err.failure).toMatchObject({ code: "NON_RETRYABLE", retryable: false });
  });
});

describe("timeouts", () => {
  it("times an attempt out, aborts its signal, and retries it", async () => {
    let sawAbort = false;
    const slowFirst = task(
      { name: "slow_first", inputs: {}, outputs: { attempt: t.int() }, timeout: "100ms", retries: 1 },
      async (_, ctx) => {
        if (ctx.attempt === 1) {
          await new Promise<void>((resolve) => ctx.signal.addEventListener("abort", () => resolve()));
          sawAbort = ctx.signal.aborted;
          await sleep(1000);
        }
        return { attempt: ctx.attempt };
      },
    );
    const started = performance.now();
    const run = await slowFirst.run({}, { cache: false, retryBackoffMs: 1 });
    expect(performance.now() - started).toBeLessThan(800);
    expect(sawAbort).toBe(true);
    expect(run.outputs.attempt).toBe(2);
    expect(run.nodes.slow_first!.attempts[0]).toMatchObject({ phase: "TIMED_OUT", error: { code: "TASK_TIMEOUT" } });
  });

  it("marks the node TIMED_OUT when every attempt times out", async () => {
    const stuck = task({ name: "stuck", inputs: {}, outputs: {}, timeout: 50 }, () => sleep(500).then(() => ({})));
    const err = await failure(stuck.run({}, { cache: false }));
    expect(err.failure.code).toBe("TASK_TIMEOUT");
    expect((err.run as { nodes: Record<string, { phase: string }> }).nodes.stuck!.phase).toBe("TIMED_OUT");
  });
});

describe("checkpoints", () => {
  it("hands the previous attempt's checkpoint to the next attempt", async () => {
    const seen: (string | undefined)[] = [];
    const resumable = task({ name: "resumable", inputs: {}, outputs: { resumedFrom: t.string() }, retries: 2 }, async (_, ctx) => {
      const previous = await ctx.checkpoint.readText();
      seen.push(previous);
      await ctx.checkpoint.write(`epoch-${ctx.attempt * 10}`);
      if (ctx.attempt < 3) throw new Error("preempted");
      return { resumedFrom: previous ?? "start" };
    });
    const run = await resumable.run({}, { cache: false, retryBackoffMs: 1 });
    expect(seen).toEqual([undefined, "epoch-10", "epoch-20"]);
    expect(run.outputs.resumedFrom).toBe("epoch-20");
  });
});

describe("value semantics", () => {
  const produce = task({ name: "produce", inputs: {}, outputs: { xs: t.list(t.int()), cfg: t.json() } }, () => ({
    xs: [1, 2, 3],
    cfg: { depth: 3, tags: ["a"] },
  }));
  const vandal = task({ name: "vandal", inputs: { xs: t.list(t.int()), cfg: t.json() }, outputs: { n: t.int() } }, ({ xs, cfg }) => {
    xs.push(99);
    xs[0] = -1;
    (cfg as { depth: number }).depth = 0;
    return { n: xs.length };
  });
  const reader = task({ name: "reader", inputs: { xs: t.list(t.int()), cfg: t.json() }, outputs: { sum: t.int(), depth: t.int() } }, async ({ xs, cfg }) => {
    await sleep(20);
    return { sum: xs.reduce((a, b) => a + b, 0), depth: (cfg as { depth: number }).depth };
  });

  it("keeps a task's mutation of its input from reaching any other node", async () => {
    const wf = workflow({ name: "isolation", inputs: {}, outputs: { n: t.int(), sum: t.int(), depth: t.int() } }, () => {
      const p = produce({});
      const v = vandal({ xs: p.xs, cfg: p.cfg });
      const r = reader({ xs: p.xs, cfg: p.cfg });
      return { n: v.n, sum: r.sum, depth: r.depth };
    });
    const run = await wf.run({}, { cache: false });
    expect(run.outputs).toEqual({ n: 4, sum: 6, depth: 3 });
    expect(run.value("produce", "xs")).toEqual([1, 2, 3]);
  });

  it("keeps outputs independent of objects the task keeps and mutates later", async () => {
    const kept: number[] = [1];
    const leaky = task({ name: "leaky", inputs: {}, outputs: { xs: t.list(t.int()) } }, () => ({ xs: kept }));
    const run = await leaky.run({}, { cache: false });
    kept.push(2);
    expect(run.value("leaky", "xs")).toEqual([1]);
  });
});

describe("failure policy", () => {
  const bad = task({ name: "bad", inputs: {}, outputs: { x: t.int() } }, () => {
    throw new Error("nope");
  });

  it("skips the failed node's dependents and stops at once by default", async () => {
    const wf = workflow({ name: "stop_at_once", inputs: {}, outputs: { y: t.int() } }, () => {
      const b = bad({});
      nap({ ms: 5 }).after(b);
      return { y: nap({ ms: b.x }).slept };
    });
    const err = await failure(wf.run({}, { cache: false }));
    const nodes = (err.run as { nodes: Record<string, { phase: string }> }).nodes;
    expect(nodes.bad!.phase).toBe("FAILED");
    expect(nodes.nap!.phase).toBe("SKIPPED");
    expect(nodes["nap-2"]!.phase).toBe("SKIPPED");
  });

  it("finishes independent nodes first with fail_after_executable_nodes_complete", async () => {
    const wf = workflow(
      { name: "finish_others", inputs: {}, outputs: { y: t.int() }, failurePolicy: "fail_after_executable_nodes_complete" },
      () => {
        const b = bad({});
        const slow = nap({ ms: 50 });
        nap({ ms: slow.slept });
        return { y: nap({ ms: b.x }).slept };
      },
    );
    const err = await failure(wf.run({}, { cache: false }));
    const nodes = (err.run as { nodes: Record<string, { phase: string }> }).nodes;
    expect(nodes.nap!.phase).toBe("SUCCEEDED");
    expect(nodes["nap-2"]!.phase).toBe("SUCCEEDED");
    expect(nodes["nap-3"]!.phase).toBe("SKIPPED");
  });
});

describe("map, branches, subworkflows and launch plans", () => {
  const square = task({ name: "square", inputs: { x: t.int(), offset: t.int() }, outputs: { y: t.int() } }, ({ x, offset }) => {
    if (x < 0) throw new NonRetryableError(`negative ${x}`);
    return { y: x * x + offset };
  });

  it("maps a task over a list, broadcasting scalar inputs, with bounded concurrency", async () => {
    let running = 0;
    let peak = 0;
    const tracked = task({ name: "tracked", inputs: { x: t.int() }, outputs: { y: t.int() } }, async ({ x }) => {
      running++;
      peak = Math.max(peak, running);
      await sleep(10);
      running--;
      return { y: x };
    });
    const wf = workflow({ name: "mapped", inputs: { xs: t.list(t.int()) }, outputs: { ys: t.list(t.int()), zs: t.list(t.int()) } }, ({ xs }) => ({
      ys: map(square)({ x: xs, offset: 1 }).y,
      zs: map(tracked, { concurrency: 2 })({ x: xs }).y,
    }));
    const run = await wf.run({ xs: [1, 2, 3, 4, 5] }, { cache: false });
    expect(run.outputs.ys).toEqual([2, 5, 10, 17, 26]);
    expect(run.outputs.zs).toEqual([1, 2, 3, 4, 5]);
    expect(peak).toBe(2);
    expect(run.nodes["map-square"]!.children!.map((c) => c.id)).toEqual([0, 1, 2, 3, 4].map((i) => `map-square[${i}]`));
  });

  it("yields null for failed instances above the minimum success ratio, and fails below it", async () => {
    const lenient = workflow({ name: "lenient", inputs: { xs: t.list(t.int()) }, outputs: { ys: t.list(t.optional(t.int())) } }, ({ xs }) => ({
      ys: map(square, { minSuccessRatio: 0.5 })({ x: xs, offset: 0 }).y,
    }));
    expect((await lenient.run({ xs: [1, -2, 3] }, { cache: false })).outputs.ys).toEqual([1, null, 9]);
    const err = await failure(lenient.run({ xs: [-1, -2, 3] }, { cache: false }));
    expect(err.failure.code).toBe("MAP_MIN_SUCCESS_RATIO");
    expect(err.failure.message).toContain("1 of 3 instances succeeded");
  });

  it("runs only the branch case whose condition holds", async () => {
    const calls: string[] = [];
    const hi = task({ name: "hi", inputs: { x: t.int() }, outputs: { label: t.string() } }, ({ x }) => {
      calls.push("hi");
      return { label: `high ${x}` };
    });
    const lo = task({ name: "lo", inputs: { x: t.int() }, outputs: { label: t.string() } }, ({ x }) => {
      calls.push("lo");
      return { label: `low ${x}` };
    });
    const wf = workflow({ name: "branchy", inputs: { x: t.int() }, outputs: { label: t.string() } }, ({ x }) => ({
      label: when(x.gt(10)).then(() => hi({ x })).otherwise(() => lo({ x })).label,
    }));
    expect((await wf.run({ x: 50 }, { cache: false })).outputs.label).toBe("high 50");
    expect((await wf.run({ x: 5 }, { cache: false })).outputs.label).toBe("low 5");
    expect(calls).toEqual(["hi", "lo"]);
  });

  it("fails with the branch's message when no case matches", async () => {
    const hi = task({ name: "only_hi", inputs: { x: t.int() }, outputs: {} }, () => ({}));
    const wf = workflow({ name: "strict_branch", inputs: { x: t.int() }, outputs: {} }, ({ x }) => {
      when(x.gt(10)).then(() => hi({ x })).fail("x must be above 10");
      return {};
    });
    const err = await failure(wf.run({ x: 1 }, { cache: false }));
    expect(err.failure).toMatchObject({ code: "BRANCH_NO_MATCH", message: "x must be above 10" });
  });

  it("runs subworkflows and launch plans as nodes, with the plan's fixed inputs", async () => {
    const inner = workflow({ name: "inner", inputs: { x: t.int(), offset: t.int() }, outputs: { y: t.int() } }, ({ x, offset }) => ({
      y: square({ x, offset }).y,
    }));
    const plan = launchPlan({ name: "inner_plus_100", workflow: inner, fixed: { offset: 100 } });
    const outer = workflow({ name: "outer", inputs: { x: t.int() }, outputs: { a: t.int(), b: t.int() } }, ({ x }) => ({
      a: inner({ x, offset: 0 }).y,
      b: plan({ x }).y,
    }));
    const run = await outer.run({ x: 3 }, { cache: false });
    expect(run.outputs).toEqual({ a: 9, b: 109 });
    expect(run.nodes.inner!.run!.nodes.square!.phase).toBe("SUCCEEDED");
    expect((await plan.run({ x: 2 }, { cache: false })).outputs.y).toBe(104);
  });

  it("applies workflow input defaults", async () => {
    const wf = workflow({ name: "defaults", inputs: { x: t.int(), offset: t.int().default(7) }, outputs: { y: t.int() } }, ({ x, offset }) => ({
      y: square({ x, offset }).y,
    }));
    expect((await wf.run({ x: 2 }, { cache: false })).outputs.y).toBe(11);
  });
});

describe("bad input", () => {
  it("rejects an unknown input name at run time, naming it", async () => {
    await expect(nap.run({ ms: 1, msec: 2 } as never, { cache: false })).rejects.toMatchObject({
      code: "TYPE_MISMATCH",
      message: expect.stringContaining('unknown input "msec"'),
    });
  });

  it("rejects NaN where an int is declared", async () => {
    await expect(nap.run({ ms: Number.NaN }, { cache: false })).rejects.toMatchObject({
      code: "TYPE_MISMATCH",
      message: "input ms of workflow nap: expected int, got NaN (NaN is not an integer)",
    });
  });

  it("fails a task that returns the wrong shape, without retrying it", async () => {
    let calls = 0;
    const wrong = task({ name: "wrong_shape", inputs: {}, outputs: { n: t.int() }, retries: 3 }, () => {
      calls++;
      return 42 as never;
    });
    const err = await failure(wrong.run({}, { cache: false }));
    expect(calls).toBe(1);
    expect(err.failure).toMatchObject({ code: "OUTPUT_SHAPE", retryable: false });
    expect(err.failure.message).toContain("task wrong_shape (node wrong_shape): returned a number (42)");
  });

  it("fails a task whose output value does not fit its type, naming the output", async () => {
    const wrong = task({ name: "wrong_type", inputs: {}, outputs: { n: t.int() } }, () => ({ n: "seven" }) as never);
    const err = await failure(wrong.run({}, { cache: false }));
    expect(err.failure.code).toBe("TYPE_MISMATCH");
    expect(err.failure.message).toBe('output n of task wrong_type: expected int, got "seven" (string)');
  });

  it("rejects unknown and missing outputs", async () => {
    const extra = task({ name: "extra", inputs: {}, outputs: { n: t.int() } }, () => ({ n: 1, m: 2 }) as never);
    expect((await failure(extra.run({}, { cache: false }))).failure.message).toContain("returned unknown output m");
    const missing = task({ name: "missing", inputs: {}, outputs: { n: t.int() } }, () => ({}) as never);
    expect((await failure(missing.run({}, { cache: false }))).failure.message).toContain("did not return output n (int)");
  });
});

describe("run records", () => {
  it("records every node's inputs, outputs, timings, attempts and cache status", async () => {
    const cacheDir = tempDir();
    const double = task({ name: "double", inputs: { x: t.int() }, outputs: { y: t.int() }, cache: true }, ({ x }) => ({ y: 2 * x }));
    const wf = workflow({ name: "recorded", inputs: { x: t.int() }, outputs: { y: t.int() } }, ({ x }) => ({ y: double({ x }).y }));
    const run = await wf.run({ x: 21 }, { cacheDir });
    const node = run.nodes.double!;
    expect(node).toMatchObject({
      phase: "SUCCEEDED",
      inputs: { x: { kind: "int", value: "21" } },
      outputs: { y: { kind: "int", value: "42" } },
      cache: { status: "POPULATED", reason: "no cached result for task double yet" },
    });
    expect(node.attempts).toHaveLength(1);
    expect(node.durationMs).toBeGreaterThanOrEqual(0);
    expect(run.value("double", "x", { from: "inputs" })).toBe(21);
    expect(String(run)).toMatch(/double\s+SUCCEEDED\s+POPULATED/);
  });
});
