// The engine end to end: executions created through the API run every node in
// its own process (the local-process runner), with state in SQLite, and end as
// the workflow says: fan-out, retries on two budgets, timeouts, terminate,
// failure policies, map success ratios, branches, subworkflows, child launch
// plans, recovery with checkpoints, the shared catalog and its serialization.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { join } from "node:path";
import { computeCacheKey, literalHash, type TaskSpec } from "../../kernel/index.js";
import { createEngine } from "../../backend/engine/index.js";
import { createLocalProcessRunner } from "../../backend/plugins/index.js";
import { bool, DOMAIN, fixturesBundle, int, list, PROJECT, startEngineBackend, str, type EngineBackend } from "./harness.js";

let eb: EngineBackend;
// Silence long enough to be sure (a task busy writing 100 MB of logs heartbeats late), short enough for a test.
const ENGINE_OPTIONS = { systemRetries: 1, timeoutGraceMs: 2_000, heartbeatTimeoutMs: 3_000 };
beforeAll(async () => {
  eb = await startEngineBackend({ engine: ENGINE_OPTIONS });
  await eb.register();
}, 60_000);
afterAll(async () => eb?.close());

const run = async (workflow: string, inputs: Record<string, ReturnType<typeof int>>, extra?: Record<string, unknown>) => {
  const name = await eb.execute({ workflow }, inputs, extra);
  return { name, record: await eb.wait(name), nodes: await eb.nodes(name) };
};
const ints = (xs: number[]) => list(xs.map(int));

describe("the engine", () => {
  it("fans a map out in parallel and adds the results", async () => {
    const { record, nodes, name } = await run("fanout", { xs: ints([1, 2, 3, 4, 5, 6]) });
    expect(record.phase, JSON.stringify(record.error)).toBe("SUCCEEDED");
    expect(await eb.outputs(name)).toEqual({ sum: int(91) });
    const instances = Object.keys(nodes).filter((id) => /\[\d+\]$/.test(id));
    expect(instances).toHaveLength(6);
    expect(instances.every((id) => nodes[id]!.phase === "SUCCEEDED")).toBe(true);
    // Four at a time: the instances overlapped in time.
    const spans = instances.map((id) => [nodes[id]!.startedAt!, nodes[id]!.endedAt!] as const);
    expect(spans.some(([s], i) => spans.some(([s2, e2], j) => i !== j && s2 <= s && s < e2))).toBe(true);
  });

  it("runs at most maxParallelism attempts of an execution at once", async () => {
    const { record, nodes } = await run("fanout", { xs: ints([1, 2, 3, 4]) }, { maxParallelism: 1 });
    expect(record.phase).toBe("SUCCEEDED");
    // Attempt spans: an attempt holds its slot from start to outcome.
    const attempts = await Promise.all(
      Object.values(nodes)
        .filter((n) => /\[\d+\]$/.test(n.nodeId))
        .map(async (n) => (await eb.backend.store.listNodeAttempts(n.execution, n.nodeId))[0]!),
    );
    const spans = attempts.map((a) => [a.startedAt!, a.endedAt!] as const).sort((a, b) => a[0] - b[0]);
    expect(spans).toHaveLength(4);
    for (let i = 1; i < spans.length; i++) expect(spans[i]![0]).toBeGreaterThanOrEqual(spans[i - 1]![1]);
  });

  it("keeps a map going when enough instances succeed, and fails it below the ratio", async () => {
    const ok = await run("fanout", { xs: ints([1, -2, 3, 4]) });
    expect(ok.record.phase).toBe("SUCCEEDED");
    expect(await eb.outputs(ok.name)).toEqual({ sum: int(26) });
    const failedInstance = Object.values(ok.nodes).find((n) => n.phase === "FAILED")!;
    expect(failedInstance.error).toMatchObject({ kind: "user", message: expect.stringContaining("negative number here: -2") });

    const bad = await run("fanout", { xs: ints([-1, -2, -3, 4]) });
    expect(bad.record.phase).toBe("FAILED");
    expect(bad.record.error).toMatchObject({ code: "MAP_MIN_SUCCESS_RATIO", message: expect.stringContaining("1 of 4 instances succeeded, below the minimum success ratio 0.5") });
  });

  it("retries user errors `retries` times and records every attempt", async () => {
    const ok = await run("flaky_flow", { failures: int(2) });
    expect(ok.record.phase).toBe("SUCCEEDED");
    expect(await eb.outputs(ok.name)).toEqual({ attempts: int(3) });
    const node = Object.values(ok.nodes).find((n) => n.target?.name === "flaky")!;
    expect(node.attempts).toBe(3);
    const attempts = await eb.backend.store.listNodeAttempts(node.execution, node.nodeId);
    expect(attempts.map((a) => a.phase)).toEqual(["FAILED", "FAILED", "SUCCEEDED"]);
    expect(attempts[0]!.error).toMatchObject({ kind: "user", message: "flaky failure on attempt 1" });
    // The user's own frames, none of Petrel's.
    expect(attempts[0]!.error!.stack).toMatch(/^Error: flaky failure on attempt 1\n\s+at /);
    expect(attempts[0]!.error!.stack).not.toMatch(/kernel\/(local|runtime)/);

    const out = await run("flaky_flow", { failures: int(3) });
    expect(out.record.phase).toBe("FAILED");
    expect(out.record.error!.message).toContain("flaky failure on attempt 3 (after 3 attempts)");
  });

  it("retries system errors on their own budget", async () => {
    const { record, nodes } = await run("misbehave_flow", { how: str("oom") });
    expect(record.phase).toBe("FAILED");
    const node = Object.values(nodes).find((n) => n.target?.name === "misbehave")!;
    // misbehave has no user retries; the OOM kills are system errors with 1 retry.
    expect(node.attempts).toBe(2);
    expect(node.error).toMatchObject({ kind: "system", code: "OOM_KILLED", message: expect.stringMatching(/200Mi/) });
  }, 60_000);

  it("times an attempt out", async () => {
    const { record, nodes } = await run("sleepy_flow", { ms: int(20_000) });
    expect(record.phase).toBe("TIMED_OUT");
    const node = Object.values(nodes).find((n) => n.target?.name === "sleepy")!;
    expect(node.phase).toBe("TIMED_OUT");
    expect(node.error!.code).toBe("TASK_TIMEOUT");
  }, 30_000);

  it("terminates an execution: its running attempt is killed and it ends ABORTED", async () => {
    const name = await eb.execute({ workflow: "misbehave_flow" }, { how: str("hang") });
    const key = { project: PROJECT, domain: DOMAIN, name };
    // Wait until the attempt runs.
    for (let i = 0; i < 200; i++) {
      const nodes = await eb.backend.store.listNodeExecutions(key);
      if (nodes.some((n) => n.phase === "RUNNING" && n.attempts > 0)) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const res = await eb.backend.request(`/projects/${PROJECT}/domains/${DOMAIN}/executions/${name}/terminate`, { method: "POST", json: { cause: "enough" } });
    expect(res.status).toBe(200);
    const record = await eb.wait(name);
    expect(record.phase).toBe("ABORTED");
    const node = Object.values(await eb.nodes(name)).find((n) => n.target?.name === "misbehave")!;
    expect(node.phase).toBe("ABORTED");
    const attempts = await eb.backend.store.listNodeAttempts(key, node.nodeId);
    expect(attempts.at(-1)!.phase).toBe("ABORTED");
    const pid = Number(attempts.at(-1)!.runner!.id);
    await new Promise((r) => setTimeout(r, 500));
    expect(() => process.kill(pid, 0)).toThrow();
  }, 30_000);

  it("fails immediately, or after the executable nodes complete, as the workflow says", async () => {
    const fast = await run("fail_fast", { ms: int(1_500) });
    expect(fast.record.phase).toBe("FAILED");
    expect(fast.record.error!.message).toContain("boom: fast");
    expect(eb.marks()).not.toContain("slow_ok");
    const late = await run("fail_late", { ms: int(300) });
    expect(late.record.phase).toBe("FAILED");
    expect(late.record.error!.message).toContain("boom: late");
    expect(Object.values(late.nodes).find((n) => n.target?.name === "slow_ok")!.phase).toBe("SUCCEEDED");
  }, 30_000);

  it("takes the branch the condition chooses", async () => {
    const big = await run("decide", { x: int(20) });
    expect(await eb.outputs(big.name)).toEqual({ y: int(10) });
    const small = await run("decide", { x: int(3) });
    expect(await eb.outputs(small.name)).toEqual({ y: int(6) });
    expect(Object.values(small.nodes).some((n) => n.target?.name === "twice")).toBe(true);
    expect(Object.values(small.nodes).some((n) => n.target?.name === "half")).toBe(false);
  });

  it("runs a subworkflow's nodes inline, under the subworkflow node's id", async () => {
    const { record, name, nodes } = await run("outer", { a: int(4) });
    expect(record.phase).toBe("SUCCEEDED");
    expect(await eb.outputs(name)).toEqual({ y: int(10) });
    const sub = Object.values(nodes).find((n) => n.target?.resourceType === "workflow")!;
    expect(Object.keys(nodes).some((id) => id.startsWith(`${sub.nodeId}.`))).toBe(true);
  });

  it("launches a launch plan as a child execution and uses its outputs", async () => {
    const { record, name, nodes } = await run("parent", { a: int(1) });
    expect(record.phase, JSON.stringify(record.error)).toBe("SUCCEEDED");
    expect(await eb.outputs(name)).toEqual({ y: int(202) });
    const lpNode = Object.values(nodes).find((n) => n.child !== undefined)!;
    const child = await eb.backend.store.getExecution({ project: PROJECT, domain: DOMAIN, name: lpNode.child! });
    expect(child).toMatchObject({ phase: "SUCCEEDED", parent: { execution: name, node: lpNode.nodeId }, launchPlan: { name: "add_plan" } });
  });

  it("recovers a failed execution: succeeded nodes are not rerun, the failed one resumes from its checkpoint", async () => {
    const first = await run("recoverable", { a: int(41), failOnce: bool(true) });
    expect(first.record.phase).toBe("FAILED");
    const res = await eb.backend.request(`/projects/${PROJECT}/domains/${DOMAIN}/executions/${first.name}/recover`, { method: "POST", json: {} });
    expect(res.status).toBe(201);
    const recovered = (await res.json()) as { name: string };
    const record = await eb.wait(recovered.name);
    expect(record.phase, JSON.stringify(record.error)).toBe("SUCCEEDED");
    const outputs = await eb.outputs(recovered.name);
    expect(outputs.sum).toEqual(int(42));
    expect(Number((outputs.resumedFrom as { value: string }).value)).toBeGreaterThan(0);
    expect(eb.marks().filter((m) => m === "add:41+1")).toHaveLength(1);
    const nodes = await eb.nodes(recovered.name);
    expect(Object.values(nodes).find((n) => n.target?.name === "add")!.cache).toMatchObject({ status: "HIT", reason: expect.stringContaining(`recovered`) });
  });

  it("recovers onto a newer version whose inputs fit, reusing only the nodes whose code did not change", async () => {
    const first = await run("recoverable", { a: int(9), failOnce: bool(true) });
    expect(first.record.phase).toBe("FAILED");
    // Version v2: add unchanged, resumable with new code (its cache version), the workflow re-compiled against them.
    const specs = fixturesBundle().manifest.specs;
    const base = `/projects/${PROJECT}/domains/${DOMAIN}`;
    const put = async (kind: string, name: string, spec: unknown) => {
      const res = await eb.backend.request(`${base}/${kind}/${name}/versions/v2`, { method: "PUT", json: { spec, bundle: fixturesBundle().hash } });
      expect(res.status, await res.clone().text()).toBeLessThan(300);
    };
    const resumable = specs.tasks.find((t) => t.name === "resumable")!;
    await put("tasks", "add", specs.tasks.find((t) => t.name === "add"));
    await put("tasks", "resumable", { ...resumable, cache: { ...resumable.cache, version: "changed-code" } });
    await put("workflows", "recoverable", specs.workflows.find((w) => w.name === "recoverable"));

    const recover = (json: unknown) => eb.backend.request(`${base}/executions/${first.name}/recover`, { method: "POST", json });
    const res = await recover({ version: "v2" });
    expect(res.status, await res.clone().text()).toBe(201);
    const { name } = (await res.json()) as { name: string };
    const record = await eb.wait(name);
    expect(record.phase, JSON.stringify(record.error)).toBe("SUCCEEDED");
    expect(record.workflow.version).toBe("v2");
    const nodes = Object.values(await eb.nodes(name));
    expect(nodes.find((n) => n.target?.name === "add")!.cache).toMatchObject({ reason: expect.stringContaining("recovered") });
    expect(nodes.find((n) => n.target?.name === "resumable")!.attempts).toBe(1);
    expect(eb.marks().filter((m) => m === "add:9+1")).toHaveLength(1);

    // A version whose inputs do not fit is refused, naming why.
    const recoverable = specs.workflows.find((w) => w.name === "recoverable")!;
    const misfit = { ...recoverable, interface: { ...recoverable.interface, inputs: { ...recoverable.interface.inputs, extra: { type: { kind: "int" } } } } };
    const registered = await eb.backend.request(`${base}/workflows/recoverable/versions/v3`, { method: "PUT", json: { spec: misfit } });
    expect(registered.status, await registered.clone().text()).toBe(201);
    const refused = await recover({ version: "v3" });
    expect(refused.status).toBe(409);
    expect(await refused.text()).toContain("new input extra has no default");
  });

  it("shares cached results across executions, keyed exactly as the local engine keys them", async () => {
    const a = await run("add_flow", { a: int(7), b: int(8) });
    const b = await run("add_flow", { a: int(7), b: int(8) });
    const nodeA = Object.values(a.nodes)[0]!;
    const nodeB = Object.values(b.nodes)[0]!;
    expect(nodeA.cache!.status).toBe("POPULATED");
    expect(nodeB.cache).toMatchObject({ status: "HIT", key: nodeA.cache!.key });
    expect(eb.marks().filter((m) => m === "add:7+8")).toHaveLength(1);
    const spec = (await eb.backend.store.getEntity(nodeA.target!))!.spec as TaskSpec;
    expect(computeCacheKey(spec, { a: int(7), b: int(8) }).key).toBe(nodeA.cache!.key);
    const c = await run("add_flow", { a: int(7), b: int(8) }, { overwriteCache: true });
    expect(Object.values(c.nodes)[0]!.cache).toMatchObject({ status: "POPULATED", reason: expect.stringContaining("overwriteCache") });
    expect(literalHash((await eb.outputs(c.name)).sum!)).toBe(literalHash(int(15)));
  });

  it("computes one cache key once while ten executions want it", async () => {
    const names = await Promise.all(Array.from({ length: 10 }, () => eb.execute({ workflow: "slow_add_flow" }, { a: int(2), b: int(3) })));
    const records = await Promise.all(names.map((n) => eb.wait(n)));
    expect(records.every((r) => r.phase === "SUCCEEDED")).toBe(true);
    expect(eb.marks().filter((m) => m === "slow_add:2+3")).toHaveLength(1);
    for (const n of names) expect(await eb.outputs(n)).toEqual({ sum: int(5) });
  }, 60_000);
});

describe("restarts", () => {
  it("a closed engine writes nothing more; the next one re-attaches to the running attempt and finishes the execution", async () => {
    const name = await eb.execute({ workflow: "sleepy_flow" }, { ms: int(700) });
    const key = { project: PROJECT, domain: DOMAIN, name };
    for (let i = 0; i < 200; i++) {
      const nodes = await eb.backend.store.listNodeExecutions(key);
      const attempts = nodes[0] ? await eb.backend.store.listNodeAttempts(key, nodes[0].nodeId) : [];
      if (attempts[0]?.runner && attempts[0].runner.id !== "queued") break;
      await new Promise((r) => setTimeout(r, 25));
    }
    await eb.engine.close();
    await new Promise((r) => setTimeout(r, 100));
    expect((await eb.backend.store.getExecution(key))!.phase).toBe("RUNNING");

    const runner = createLocalProcessRunner({ logDir: join(eb.backend.dir, "logs"), env: { PETREL_TEST_MARKS: eb.marksDir, PETREL_HEARTBEAT_MS: "100" } });
    const engine = createEngine({
      deps: eb.backend.deps,
      runner,
      endpoint: () => eb.backend.url!,
      ...(eb.catalog ? { catalog: eb.catalog } : {}),
      retryBackoffMs: 10,
      ...ENGINE_OPTIONS,
    });
    eb.backend.deps.engine = engine;
    eb.engine = engine;
    eb.runner = runner;
    await engine.start();
    const record = await engine.wait(key);
    expect(record.phase, JSON.stringify(record.error)).toBe("SUCCEEDED");
    const node = (await eb.backend.store.listNodeExecutions(key))[0]!;
    // The attempt that was running when the first engine closed is the one that finished.
    expect(node.attempts).toBe(1);
    expect(await eb.outputs(name)).toEqual({ slept: int(700) });
  }, 30_000);
});

describe("heartbeats", () => {
  it("an attempt whose runtime stops heartbeating is declared lost, stopped and retried on the system budget", async () => {
    const name = await eb.execute({ workflow: "misbehave_flow" }, { how: str("hang") });
    const key = { project: PROJECT, domain: DOMAIN, name };
    const attemptsOf = async () => {
      const node = (await eb.backend.store.listNodeExecutions(key))[0];
      return node ? eb.backend.store.listNodeAttempts(key, node.nodeId) : [];
    };
    let pid: number | undefined;
    for (let i = 0; i < 200 && pid === undefined; i++) {
      const id = (await attemptsOf())[0]?.runner?.id;
      if (id !== undefined && id !== "queued") pid = Number(id);
      else await new Promise((r) => setTimeout(r, 25));
    }
    await new Promise((r) => setTimeout(r, 1_000)); // it loads, and heartbeats
    process.kill(pid!, "SIGSTOP"); // alive as a process, silent as a runtime
    for (let i = 0; i < 200 && (await attemptsOf()).length < 2; i++) await new Promise((r) => setTimeout(r, 50));
    const [first] = await attemptsOf();
    expect(first!.error).toMatchObject({ kind: "system", code: "ATTEMPT_LOST", message: expect.stringContaining("no heartbeat from attempt 0") });
    const res = await eb.backend.request(`/projects/${PROJECT}/domains/${DOMAIN}/executions/${name}/terminate`, { method: "POST", json: { cause: "done" } });
    expect(res.status).toBe(200);
    expect((await eb.wait(name)).phase).toBe("ABORTED");
    try {
      process.kill(pid!, "SIGKILL");
    } catch {
      // already gone: the runner killed it
    }
  }, 30_000);
});

describe("bad task behaviour", () => {
  it("a task that exits without reporting fails with a clear message", async () => {
    const { record, nodes } = await run("misbehave_flow", { how: str("exit") });
    expect(record.phase).toBe("FAILED");
    expect(Object.values(nodes)[0]!.error).toMatchObject({ code: "EXITED_WITHOUT_REPORTING", message: expect.stringContaining("exit code 3") });
  });

  it("outputs of the wrong type fail the node, naming the output", async () => {
    const { record } = await run("misbehave_flow", { how: str("wrong-type") });
    expect(record.phase).toBe("FAILED");
    // The runtime's type engine refuses it before anything is uploaded; the engine's own output check backs it up.
    expect(record.error).toMatchObject({ kind: "user", code: "TYPE_MISMATCH", retryable: false, message: expect.stringContaining("output n of task misbehave: expected int") });
  });

  it("a reported outcome whose outputs do not fit the interface fails the node on the engine's own check", async () => {
    const name = await eb.execute({ workflow: "misbehave_flow" }, { how: str("hang") });
    const key = { project: PROJECT, domain: DOMAIN, name };
    let node: Awaited<ReturnType<typeof eb.backend.store.listNodeExecutions>>[number] | undefined;
    let pid = Number.NaN;
    for (let i = 0; i < 200 && Number.isNaN(pid); i++) {
      node = (await eb.backend.store.listNodeExecutions(key))[0];
      pid = node ? Number((await eb.backend.store.listNodeAttempts(key, node.nodeId))[0]?.runner?.id) : Number.NaN;
      if (Number.isNaN(pid)) await new Promise((r) => setTimeout(r, 25));
    }
    // What a runtime with a broken type engine would send: its node token, a string for an int output.
    const { token } = await eb.backend.store.createNodeToken({ execution: key, node: node!.nodeId });
    const res = await eb.backend.request(`/projects/${PROJECT}/domains/${DOMAIN}/executions/${name}/nodes/${encodeURIComponent(node!.nodeId)}/attempts/0/outcome`, {
      method: "POST",
      token,
      json: { phase: "SUCCEEDED", outputs: { n: str("seven") } },
    });
    expect(res.status, await res.clone().text()).toBe(200);
    const record = await eb.wait(name);
    expect(record.phase).toBe("FAILED");
    expect(record.error).toMatchObject({ kind: "user", code: "OUTPUTS_INVALID", retryable: false, message: expect.stringContaining("outputs.n") });
    process.kill(-pid, "SIGKILL"); // the hanging task itself never reported
  });

  it("100 MB of logs are capped, and the execution carries on", async () => {
    const { record, name, nodes } = await run("misbehave_flow", { how: str("logs") });
    expect(record.phase, JSON.stringify(record.error)).toBe("SUCCEEDED");
    const node = Object.values(nodes)[0]!;
    const res = await eb.backend.request(`/projects/${PROJECT}/domains/${DOMAIN}/executions/${name}/nodes/${encodeURIComponent(node.nodeId)}/attempts/0/logs`);
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text.length).toBeGreaterThan(1_000_000);
    expect(text.length).toBeLessThan(20 * 1024 * 1024);
    const tail = await eb.backend.request(`/projects/${PROJECT}/domains/${DOMAIN}/executions/${name}/nodes/${encodeURIComponent(node.nodeId)}/attempts/0/logs?tail=100`);
    expect((await tail.text()).length).toBeLessThanOrEqual(100);
  }, 60_000);
});
