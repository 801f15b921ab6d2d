// The kubernetes-pod runner end to end: the engine runs executions on a real
// kube-apiserver + kube-scheduler (v1.20.2) whose fake kubelet runs each pod's
// command (the runtime entry of dist/) as a local process. The example workflow
// gives its local run's output hashes; pods killed, deleted, OOMKilled or evicted
// mid-run are retried as system errors; a restarted backend re-attaches to its
// running pods; a full node queues pods instead of failing them; what the cluster
// refuses fails only its own node, with the cluster's reason, and leaves no pod;
// logs are read through the API server while and after a task runs.
import { rmSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { blobsOf, buildBundle, literalHash, openLocalStore, type LiteralMap, type NodeRecord, type RunRecord } from "../../kernel/index.js";
import { loadLiterals } from "../../backend/api/index.js";
import { createEngine, type EngineOptions } from "../../backend/engine/index.js";
import { createKubernetesPodRunner, podNameFor, type KubernetesPodRunner } from "../../backend/plugins/index.js";
import type { ExecutionKey, NodeAttemptRecord, TestBackend } from "../../backend/index.js";
import { training } from "../../notebooks/examples/training.js";
import { DOMAIN, PROJECT, int, list, registerBundle, startEngineBackend, str, tempDir, type EngineBackend } from "../engine/harness.js";
import { PATCH } from "./api.js";
import { kubeBinaries, podGone, startCluster, type PodView, type TestCluster } from "./cluster.js";
import { badInputs, CHATTY_LINES, chattyFlow, crowd, MISSING_IMAGE, MISSING_SECRET } from "./fixtures/pipelines.js";

const CI = process.env.CI === "true";
const enabled = CI || kubeBinaries() !== undefined;
const title = enabled
  ? "the kubernetes-pod runner on a real kube-apiserver and kube-scheduler with the fake kubelet"
  : "kubernetes-pod runner end to end (skipped: kube-apiserver not built; `bash test/k8s/build-kube.sh` enables it)";
/** The cluster and the backend, when the binaries are already built. */
const START_TIMEOUT_MS = 120_000;
/** Generous: the machine is shared, and every attempt is a pod that starts a Node process. */
const TEST_TIMEOUT_MS = 120_000;
const WAIT = { timeout: 60_000, interval: 100 };

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const RUNTIME_MAIN = join(ROOT, "dist", "kernel", "runtime", "main.js");
const FIXTURES = join(import.meta.dirname, "fixtures", "pipelines.ts");
/** The runner's default namespace template, for the harness's project and domain. */
const NS = `petrel-${PROJECT}-${DOMAIN}`;
const MANAGED = "app.kubernetes.io/managed-by=petrel";
/** One node with two CPUs: two one-CPU tasks fill it. */
const NODE = { name: "petrel-node-1", cpu: "2", memory: "8Gi", pods: 110 };
/** Engine settings: one system retry is all these tests need (and keeps the OOM case short). */
const ENGINE: Partial<EngineOptions> = { systemRetries: 1, retryBackoffMs: 10 };

describe.skipIf(!enabled)(title, () => {
  let cluster: TestCluster;
  let eb: EngineBackend;
  /**
   * PETREL_HOME of the pods: inside the repository, so the bundles written there
   * resolve its node_modules (danfojs-node). One outside the install (the runner's
   * default /tmp/petrel) fails the example's tasks with PACKAGE_MISMATCH.
   */
  const podHome = join(ROOT, ".petrel", `k8s-runner-test-${process.pid}`);
  const runnerErrors: string[] = [];
  const dirs: string[] = [podHome];

  function newRunner(backend: TestBackend, marksDir: string): KubernetesPodRunner {
    return createKubernetesPodRunner({
      kubeConfig: cluster.kubeConfig,
      image: "petrel/runtime:test",
      runtimeCommand: [process.execPath, RUNTIME_MAIN],
      podHome,
      logDir: join(backend.dir, "pod-logs"),
      imagePullGraceMs: 2_000,
      env: { PETREL_TEST_MARKS: marksDir },
      onError: (e, context) => runnerErrors.push(`${context}: ${e instanceof Error ? e.message : String(e)}`),
    });
  }

  beforeAll(async () => {
    cluster = await startCluster({ nodes: [NODE] });
    // The example's `clean` task asks for a GPU: the node advertises one, as a device plugin would make its kubelet do.
    await cluster.http.request(
      "PATCH",
      `/api/v1/nodes/${NODE.name}/status`,
      { status: { capacity: { "nvidia.com/gpu": "1" }, allocatable: { "nvidia.com/gpu": "1" } } },
      PATCH.strategic,
    );
    eb = await startEngineBackend({ runner: ({ backend, marksDir }) => newRunner(backend, marksDir), engine: ENGINE });
    await eb.register();
    await registerBundle(eb.backend, PROJECT, DOMAIN, buildBundle([crowd, badInputs, chattyFlow], { entry: FIXTURES }));
  }, START_TIMEOUT_MS);

  // Every test leaves the namespace as it found it: each pod the runner made is gone once its attempt has ended.
  afterEach(async () => {
    await expect.poll(async () => (await managedPods()).map((p) => p.metadata.name), WAIT).toEqual([]);
  });

  afterAll(async () => {
    await eb?.close();
    await cluster?.stop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
    if (runnerErrors.length > 0) console.warn(`kubernetes-pod runner errors:\n${runnerErrors.join("\n")}`);
  });

  const key = (name: string): ExecutionKey => ({ project: PROJECT, domain: DOMAIN, name });
  const podOf = (name: string, node: string, attempt = 0) => podNameFor({ execution: key(name), node, attempt });
  const attemptsOf = (name: string, node: string): Promise<NodeAttemptRecord[]> => eb.backend.store.listNodeAttempts(key(name), node);
  /** The pods the runner made that still exist: all of them, or those of one execution. */
  async function managedPods(execution?: string): Promise<PodView[]> {
    const selector = encodeURIComponent(execution ? `${MANAGED},petrel.dev/execution=${execution}` : MANAGED);
    return (await cluster.http.request<{ items: PodView[] }>("GET", `/api/v1/namespaces/${NS}/pods?labelSelector=${selector}`)).items;
  }
  const untilMark = (mark: string) => expect.poll(() => eb.marks().includes(mark), WAIT).toBe(true);
  /** Why an execution failed, for assertion messages. */
  const why = async (name: string) => JSON.stringify({ nodes: await eb.nodes(name), runnerErrors });

  it("runs the example workflow with the same output hashes as its local run", async () => {
    const hashes = (map: LiteralMap) => Object.fromEntries(Object.entries(map).map(([k, v]) => [k, literalHash(v)]));
    const cacheDir = tempDir("petrel-k8s-training-");
    dirs.push(cacheDir);
    const local = await training.run({ rows: 2_000 }, { cacheDir });
    await registerBundle(eb.backend, PROJECT, DOMAIN, buildBundle([training], { entry: join(ROOT, "notebooks", "examples", "training.ts") }));
    // Whatever blobs the local inputs refer to go up first (none for plain ints, but the check is the same).
    const blobs = openLocalStore(cacheDir).blobs;
    for (const literal of Object.values(local.record.inputs)) {
      for (const ref of blobsOf(literal)) {
        const res = await eb.backend.request(`/projects/${PROJECT}/blobs/${ref.hash}`, { method: "PUT", body: blobs.get(ref) });
        expect(res.status, await res.clone().text()).toBeLessThan(300);
      }
    }

    const name = await eb.execute({ workflow: "training" }, local.record.inputs);
    const record = await eb.wait(name);
    expect(record.phase, await why(name)).toBe("SUCCEEDED");
    expect(hashes(await eb.outputs(name))).toEqual(hashes(local.record.outputs!));
    // Node by node, map instances included.
    const localNodes: Record<string, Record<string, string>> = {};
    const visit = (n: NodeRecord) => {
      if (n.kind === "task" && n.outputs) localNodes[n.id] = hashes(n.outputs);
      for (const c of n.children ?? []) visit(c);
    };
    for (const n of Object.values((local.record as RunRecord).nodes)) visit(n);
    const nodes = await eb.nodes(name);
    const remote: Record<string, Record<string, string>> = {};
    for (const id of Object.keys(localNodes)) remote[id] = hashes(nodes[id]?.outputs ? await loadLiterals(eb.backend.deps, nodes[id].outputs) : {});
    expect(remote).toEqual(localNodes);
    // Each task ran in a pod of the cluster.
    const clean = await attemptsOf(name, "clean");
    expect(clean.map((a) => a.runner)).toEqual([{ kind: "kubernetes-pod", id: `${NS}/${podOf(name, "clean")}`, info: { namespace: NS, pod: podOf(name, "clean") } }]);
  }, TEST_TIMEOUT_MS);

  it("retries a pod deleted through the API mid-run as a system error", async () => {
    const name = await eb.execute({ workflow: "steady_flow" }, { x: int(21), ms: int(3_000) });
    await untilMark("steady:21");
    await cluster.http.request("DELETE", `/api/v1/namespaces/${NS}/pods/${podOf(name, "steady")}`);
    const record = await eb.wait(name);
    expect(record.phase, await why(name)).toBe("SUCCEEDED");
    expect(await eb.outputs(name)).toEqual({ y: int(212) });
    const attempts = await attemptsOf(name, "steady");
    expect(attempts.map((a) => a.phase)).toEqual(["FAILED", "SUCCEEDED"]);
    expect(attempts[0]!.error).toMatchObject({ kind: "system", code: "ATTEMPT_LOST", message: expect.stringContaining("deleted by someone other than petrel") });
    expect(attempts[1]!.runner?.id).toBe(`${NS}/${podOf(name, "steady", 1)}`);
  }, TEST_TIMEOUT_MS);

  it("retries a pod whose process the node kills (SIGKILL) mid-run as a system error", async () => {
    const name = await eb.execute({ workflow: "steady_flow" }, { x: int(22), ms: int(3_000) });
    await untilMark("steady:22");
    await cluster.kubelet.kill(`${NS}/${podOf(name, "steady")}`);
    const record = await eb.wait(name);
    expect(record.phase, await why(name)).toBe("SUCCEEDED");
    const attempts = await attemptsOf(name, "steady");
    expect(attempts.map((a) => a.phase)).toEqual(["FAILED", "SUCCEEDED"]);
    expect(attempts[0]!.error).toMatchObject({ kind: "system", code: "ATTEMPT_LOST", message: expect.stringContaining("exit code 137") });
  }, TEST_TIMEOUT_MS);

  it("fails an attempt that outgrows its memory limit as a system OOM_KILLED error, retried", async () => {
    // The same task under the same limit (200Mi) runs fine when it does not allocate: the runtime itself fits.
    const ok = await eb.execute({ workflow: "misbehave_flow" }, { how: str("nothing") });
    expect((await eb.wait(ok)).phase, await why(ok)).toBe("SUCCEEDED");

    const name = await eb.execute({ workflow: "misbehave_flow" }, { how: str("oom") });
    const record = await eb.wait(name);
    expect(record.phase).toBe("FAILED");
    const attempts = await attemptsOf(name, "misbehave");
    // Once plus the one system retry: the task OOMs every time.
    expect(attempts.map((a) => a.phase)).toEqual(["FAILED", "FAILED"]);
    for (const a of attempts) {
      expect(a.error).toMatchObject({ kind: "system", code: "OOM_KILLED", retryable: true, message: expect.stringMatching(/OOMKilled.*200Mi/) });
    }
    expect(record.error?.message).toContain("OOMKilled");
  }, TEST_TIMEOUT_MS);

  it("retries an evicted pod as a system error", async () => {
    const name = await eb.execute({ workflow: "steady_flow" }, { x: int(31), ms: int(3_000) });
    await untilMark("steady:31");
    await cluster.kubelet.evict(`${NS}/${podOf(name, "steady")}`, "The node was low on resource: memory.");
    const record = await eb.wait(name);
    expect(record.phase, await why(name)).toBe("SUCCEEDED");
    expect(await eb.outputs(name)).toEqual({ y: int(312) });
    const attempts = await attemptsOf(name, "steady");
    expect(attempts.map((a) => a.phase)).toEqual(["FAILED", "SUCCEEDED"]);
    expect(attempts[0]!.error).toMatchObject({ kind: "system", code: "ATTEMPT_LOST", message: expect.stringContaining("Evicted: The node was low on resource: memory.") });
  }, TEST_TIMEOUT_MS);

  it("re-attaches to a running pod after a backend restart instead of launching it again", async () => {
    const name = await eb.execute({ workflow: "steady_flow" }, { x: int(41), ms: int(5_000) });
    await untilMark("steady:41");
    const pod = podOf(name, "steady");
    // The backend goes down: its engine and runner stop, the pod runs on.
    await eb.engine.close();
    expect(cluster.kubelet.running()).toContain(pod);
    // ...and comes back on the same store and cluster.
    const runner = newRunner(eb.backend, eb.marksDir);
    const engine = createEngine({ deps: eb.backend.deps, runner, endpoint: () => eb.backend.url!, ...(eb.catalog ? { catalog: eb.catalog } : {}), ...ENGINE });
    eb.backend.deps.engine = engine;
    eb.engine = engine;
    eb.runner = runner;
    await engine.start();

    const record = await eb.wait(name);
    expect(record.phase, await why(name)).toBe("SUCCEEDED");
    expect(await eb.outputs(name)).toEqual({ y: int(412) });
    const attempts = await attemptsOf(name, "steady");
    expect(attempts.map((a) => [a.attempt, a.phase, a.runner?.id])).toEqual([[0, "SUCCEEDED", `${NS}/${pod}`]]);
    // The task's code ran once: the pod was re-attached, not relaunched.
    expect(eb.marks().filter((m) => m === "steady:41")).toHaveLength(1);
  }, TEST_TIMEOUT_MS);

  it("queues pods on a full node instead of failing them", async () => {
    const n = 6;
    const name = await eb.execute({ workflow: "crowd" }, { ms: list(Array.from({ length: n }, () => int(1_500))) });
    // Watch the execution's pods while it runs: how many run at once, and whether any waited unschedulable.
    let maxRunning = 0;
    let unschedulable = 0;
    const seen = new Set<string>();
    let done = false;
    const watching = (async () => {
      while (!done) {
        const pods = await managedPods(name);
        for (const p of pods) seen.add(p.metadata.name);
        maxRunning = Math.max(maxRunning, pods.filter((p) => p.status?.phase === "Running").length);
        if (pods.some((p) => p.status?.conditions?.some((c) => c.type === "PodScheduled" && c.status === "False" && c.reason === "Unschedulable"))) unschedulable++;
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    const record = await eb.wait(name).finally(() => (done = true));
    await watching;
    expect(record.phase, await why(name)).toBe("SUCCEEDED");
    expect(await eb.outputs(name)).toEqual({ ms: list(Array.from({ length: n }, () => int(1_500))) });
    expect(unschedulable, "no pod was seen waiting Unschedulable").toBeGreaterThan(0);
    expect(maxRunning).toBeLessThanOrEqual(2);
    expect(seen.size).toBe(n);
    // Every instance ran once and succeeded: waiting for the node cost no attempt.
    const nodes = Object.values(await eb.nodes(name)).filter((node) => node.nodeId.startsWith("map-busy["));
    expect(nodes).toHaveLength(n);
    expect(nodes.map((node) => [node.phase, node.attempts])).toEqual(Array.from({ length: n }, () => ["SUCCEEDED", 1]));
  }, TEST_TIMEOUT_MS);

  it("fails only the nodes the cluster refuses, with its reasons, and leaves no pod behind", async () => {
    cluster.kubelet.missingImages.add(MISSING_IMAGE);
    const name = await eb.execute({ workflow: "bad_inputs" }, { ms: int(1_000) });
    const record = await eb.wait(name);
    expect(record.phase).toBe("FAILED");
    const nodes = await eb.nodes(name);
    // The independent node ran to the end.
    expect(nodes.fine?.phase, await why(name)).toBe("SUCCEEDED");
    // A spec the API server refuses: at once, with its validation message, no retry.
    expect(nodes.over_limit).toMatchObject({
      phase: "FAILED",
      attempts: 1,
      error: { kind: "user", code: "POD_REJECTED", retryable: false, message: expect.stringMatching(/422 Invalid: .*must be less than or equal to memory limit/) },
    });
    // An image that cannot be pulled, past the grace period, with the kubelet's reason.
    expect(nodes.no_image).toMatchObject({ phase: "FAILED", attempts: 1, error: { kind: "user", code: "POD_REJECTED", message: expect.stringMatching(/could not be pulled .*\((ErrImagePull|ImagePullBackOff)/) } });
    expect(nodes.no_image?.error?.message).toContain(MISSING_IMAGE);
    // A Secret that does not exist.
    expect(nodes.no_secret).toMatchObject({
      phase: "FAILED",
      attempts: 1,
      error: { kind: "user", code: "POD_REJECTED", message: expect.stringContaining(`CreateContainerConfigError: secret "${MISSING_SECRET}" not found`) },
    });
    await expect.poll(async () => (await managedPods(name)).map((p) => p.metadata.name), WAIT).toEqual([]);
  }, TEST_TIMEOUT_MS);

  it("serves a task's log through the API server while it runs and after its pod is gone", async () => {
    const name = await eb.execute({ workflow: "chatty_flow" }, { tag: str("hello-k8s") });
    const logsPath = `/projects/${PROJECT}/domains/${DOMAIN}/executions/${name}/nodes/chatty/attempts/0/logs`;
    const readLog = async (query = "") => {
      const res = await eb.backend.request(`${logsPath}${query}`);
      return `${res.status} ${await res.text()}`;
    };
    // Followed from the start: streamed until the container ends.
    await expect.poll(async () => (await eb.nodes(name)).chatty?.attempts ?? 0, WAIT).toBe(1);
    const followed = readLog("?follow=true");
    // Read while it runs: the first lines are there, the task is not done.
    await expect.poll(() => readLog(), WAIT).toMatch(/^200 [^]*hello-k8s line 1\n/);
    expect((await eb.nodes(name)).chatty?.phase).toBe("RUNNING");

    const record = await eb.wait(name);
    expect(record.phase, await why(name)).toBe("SUCCEEDED");
    const all = Array.from({ length: CHATTY_LINES }, (_, i) => `hello-k8s line ${i}\n`).join("");
    expect(await followed).toContain(all);
    // Its pod deleted, the log is the copy the runner saved.
    await expect.poll(() => podGone(cluster, NS, podOf(name, "chatty")), WAIT).toBe(true);
    expect(await readLog()).toContain(all);
    expect(await readLog("?tail=20")).toMatch(/^200 [^]{0,20}$/);
  }, TEST_TIMEOUT_MS);
});
