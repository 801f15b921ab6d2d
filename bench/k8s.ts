/**
 * Suite "k8s": how fast pods can be launched against a real Kubernetes API
 * server (v1.20.2 kube-apiserver + kube-scheduler from test/k8s/cluster.ts, with
 * the fake kubelet running each pod's command as a local process).
 *
 * - Pod creates/s through @kubernetes/client-node: N pods created with
 *   `createNamespacedPod` at a fixed concurrency, timed until every create has
 *   returned (each pod then exists in etcd). The pods name a scheduler nobody
 *   runs, so only the API server works. Peer: the same creates as raw HTTPS
 *   POSTs (one keep-alive agent, no client library) in the same run: the ratio
 *   is what the client library costs. The issue's goal (>= 50 launches/s) is
 *   checked on this row.
 * - Pod launches/s end to end: N pods created the same way, scheduled by
 *   kube-scheduler and started by the fake kubelet (`true`), timed until every
 *   pod has finished. Peer: N `true` processes spawned directly at the same
 *   concurrency: the floor of what the node agent itself must do.
 * - Runner overhead per node: a chain of 20 dependent trivial tasks (x + 1, so
 *   every node waits for the one before) run through the engine on the
 *   kubernetes-pod runner (a pod per attempt; the fake kubelet runs the runtime
 *   entry as a process) and, as the peer, on the local-process runner (a process
 *   per attempt) in the same run; ms per node = wall / 20. The goal row is what
 *   the pod path adds per node beyond pod start: k8s per node − local per node −
 *   median pod start (created → Running, watched), i.e. the runner's own API
 *   round trips, watch latency and bookkeeping.
 *
 * Skipped with a note when the Kubernetes binaries are not built
 * (`bash test/k8s/build-kube.sh`).
 *
 * @example
 * ```sh
 * node dist/bench/index.js k8s --quick    # N=100, 2 reps
 * node dist/bench/index.js k8s            # N=200, 3 reps
 * ```
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { CoreV1Api, type V1Pod } from "@kubernetes/client-node";
import { createTestBackend, type ExecutionRecord, type ManualClock } from "../backend/index.js";
import { createEngine } from "../backend/engine/index.js";
import { createKubernetesPodRunner, createLocalProcessRunner, type TaskRunner } from "../backend/plugins/index.js";
import { buildBundle } from "../kernel/index.js";
import { kubeBinaries, startCluster, type TestCluster } from "../test/k8s/cluster.js";
import { DIRECTION, measure, median, progress, type BenchOptions, type Row, type Suite, type SuiteResult } from "./harness.js";
import { CHAIN_NODES, chain20, inc } from "./k8s-pipelines.js";

/** The issue's goals: pod launches per second against the API server, and the runner's own cost per node beyond pod start. */
export const GOAL_LAUNCHES_PER_S = 50;
export const GOAL_OVERHEAD_MS_PER_NODE = 100;
/** Creates in flight at once, as a runner launching a wide graph would have. */
export const CONCURRENCY = 16;
const NAMESPACE = "bench";
const name = "k8s";
/** The repository root (from dist/bench/ or bench/): the bundle is built from the .ts source, the runtime runs from dist/. */
const ROOT = fileURLToPath(new URL(import.meta.url.includes("/dist/") ? "../../" : "../", import.meta.url));
const RUNTIME_MAIN = join(ROOT, "dist", "kernel", "runtime", "main.js");
const PROJECT = "bench";
const DOMAIN = "development";

/** A pod running `true`; `scheduler` "none" keeps it off every node. */
function benchPod(podName: string, run: string, scheduler?: string): V1Pod {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: podName, namespace: NAMESPACE, labels: { "petrel.dev/bench": run } },
    spec: {
      restartPolicy: "Never",
      ...(scheduler ? { schedulerName: scheduler } : {}),
      containers: [{ name: "main", image: "petrel/bench:1", command: ["true"], resources: { requests: { cpu: "10m", memory: "16Mi" } } }],
    },
  };
}

/** Runs `n` jobs with at most `limit` in flight. */
async function pool(n: number, limit: number, job: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < n) await job(next++);
  };
  await Promise.all(Array.from({ length: Math.min(limit, n) }, worker));
}

async function deleteRun(cluster: TestCluster, run: string): Promise<void> {
  const selector = encodeURIComponent(`petrel.dev/bench=${run}`);
  await cluster.http.request("DELETE", `/api/v1/namespaces/${NAMESPACE}/pods?labelSelector=${selector}`);
  // bound pods that are done are deleted at once; wait until none is left
  for (let i = 0; i < 200; i++) {
    const list = await cluster.http.request<{ items: unknown[] }>("GET", `/api/v1/namespaces/${NAMESPACE}/pods?labelSelector=${selector}`);
    if (list.items.length === 0) return;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Resolves when every pod labelled `run` has reached Succeeded or Failed. */
async function allFinished(cluster: TestCluster, run: string, n: number): Promise<void> {
  const selector = encodeURIComponent(`petrel.dev/bench=${run}`);
  for (;;) {
    const list = await cluster.http.request<{ items: { status?: { phase?: string } }[] }>("GET", `/api/v1/namespaces/${NAMESPACE}/pods?labelSelector=${selector}`);
    const done = list.items.filter((p) => p.status?.phase === "Succeeded" || p.status?.phase === "Failed").length;
    if (done >= n) return;
    await new Promise((r) => setTimeout(r, 20));
  }
}

function spawnTrue(): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn("true", [], { stdio: "ignore" });
    child.once("error", reject);
    child.once("exit", () => resolve());
  });
}

/** An engine on `runner` with chain20 registered; `run()` times one execution (ms). */
async function startChain(runner: TaskRunner, label: string): Promise<{ run(): Promise<number>; close(): Promise<void> }> {
  // Real time: attempt spans are stored as the engine sees them.
  const clock: ManualClock = { now: () => Date.now(), advance: () => Date.now(), set: () => undefined };
  const backend = await createTestBackend({ listen: true, clock });
  const engine = createEngine({ deps: backend.deps, runner, endpoint: () => backend.url! });
  backend.deps.engine = engine;
  const close = async () => {
    await engine.close();
    await backend.close();
  };
  const ok = async (res: Response, what: string) => {
    if (res.status >= 300) throw new Error(`${what}: ${res.status} ${await res.text()}`);
    return res;
  };
  const base = `/projects/${PROJECT}/domains/${DOMAIN}`;
  try {
    await backend.createProject(PROJECT);
    await engine.start();
    const bundle = buildBundle({ inc, chain20 }, { entry: join(ROOT, "bench", "k8s-pipelines.ts") });
    await ok(await backend.request(`/projects/${PROJECT}/bundles/${bundle.hash}`, { method: "PUT", body: bundle.bytes() }), "uploading the bundle");
    await ok(await backend.request(`${base}/bundles/${bundle.hash}/register`, { method: "POST" }), "registering the bundle");
  } catch (e) {
    await close();
    throw e;
  }
  return {
    async run() {
      const start = performance.now();
      const res = await ok(
        await backend.request(`${base}/executions`, { method: "POST", json: { workflow: { name: "chain20" }, inputs: { x: { kind: "int", value: "0" } } } }),
        "creating an execution",
      );
      const { name: execution } = (await res.json()) as { name: string };
      const done: ExecutionRecord = await engine.wait({ project: PROJECT, domain: DOMAIN, name: execution });
      if (done.phase !== "SUCCEEDED") throw new Error(`chain20 on ${label} ended ${done.phase}: ${done.error?.message ?? "(no error)"}`);
      const ms = performance.now() - start;
      progress(name, `chain of ${CHAIN_NODES} on ${label}: ${ms.toFixed(0)} ms`);
      return ms;
    },
    close,
  };
}

/** Times each pod of `namespace` from its creation to Running, as a watcher sees them. */
function watchPodStarts(cluster: TestCluster, namespace: string): { starts: number[]; stop(): void } {
  const seen = new Map<string, number>();
  const starts: number[] = [];
  const reflector = cluster.http.reflect<{ metadata: { name: string; uid?: string }; status?: { phase?: string } }>(`/api/v1/namespaces/${namespace}/pods`, (e) => {
    const uid = e.object.metadata.uid ?? e.object.metadata.name;
    const now = performance.now();
    if (!seen.has(uid)) seen.set(uid, now);
    if (e.object.status?.phase === "Running" || e.object.status?.phase === "Succeeded") {
      const created = seen.get(uid);
      if (created !== undefined && created >= 0) {
        starts.push(now - created);
        seen.set(uid, -1);
      }
    }
  });
  return { starts, stop: () => reflector.stop() };
}

export const k8sSuite: Suite = {
  name,
  title: "k8s: pod launches against a real kube-apiserver v1.20.2 (fake kubelet runs pods as processes)",
  async run(options: BenchOptions): Promise<SuiteResult> {
    const rows: Row[] = [];
    const notes: string[] = [];
    if (!kubeBinaries()) {
      notes.push("skipped: kube-apiserver/kube-scheduler are not built; `bash test/k8s/build-kube.sh` builds them once (~8 min)");
      return { title: this.title, rows, notes };
    }
    const n = options.quick ? 100 : 200;
    const reps = options.quick ? 2 : 3;
    const t0 = performance.now();
    // room for every pod of a run on one node
    const cluster = await startCluster({ nodes: [{ name: "petrel-node-1", cpu: "64", memory: "256Gi", pods: 1000 }] });
    const startMs = performance.now() - t0;
    progress(name, `cluster ready in ${startMs.toFixed(0)} ms`);
    try {
      await cluster.createNamespace(NAMESPACE);
      const core = cluster.kubeConfig.makeApiClient(CoreV1Api);
      let seq = 0;

      const viaClient = async (scheduler?: string) => {
        const run = `r${seq++}`;
        await pool(n, CONCURRENCY, (i) => core.createNamespacedPod({ namespace: NAMESPACE, body: benchPod(`${run}-${i}`, run, scheduler) }));
        return run;
      };
      const viaRaw = async () => {
        const run = `r${seq++}`;
        await pool(n, CONCURRENCY, (i) => cluster.http.request("POST", `/api/v1/namespaces/${NAMESPACE}/pods`, benchPod(`${run}-${i}`, run, "none")));
        return run;
      };
      const timed = async (label: string, create: () => Promise<string>, finish?: (run: string) => Promise<void>) => {
        const runs: string[] = [];
        const sample = await measure(
          name,
          async () => {
            const run = await create();
            runs.push(run);
            if (finish) await finish(run);
          },
          { label, reps, warmup: 1 },
        );
        // cleanup is not timed: the next repetition starts from an empty namespace
        for (const run of runs.splice(0)) await deleteRun(cluster, run);
        return sample;
      };
      const perSecond = (ms: number) => (n * 1000) / ms;

      const creates = await timed(`create ${n} pods via client`, () => viaClient("none"));
      const raw = options.peer ? await timed(`create ${n} pods via raw HTTPS`, viaRaw) : undefined;
      rows.push({
        metric: `pod creates/s (N=${n}, ${CONCURRENCY} in flight, @kubernetes/client-node)`,
        unit: "pods/s",
        petrel: perSecond(creates.median),
        ...(raw ? { peerName: "raw HTTPS POST (keep-alive)", peer: perSecond(raw.median) } : {}),
        goal: { value: GOAL_LAUNCHES_PER_S, direction: DIRECTION.higher },
      });

      const launches = await timed(`launch ${n} pods (scheduled + run)`, () => viaClient(), (run) => allFinished(cluster, run, n));
      const spawned = options.peer
        ? await measure(name, () => pool(n, CONCURRENCY, spawnTrue), { label: `spawn ${n} x true`, reps, warmup: 1 })
        : undefined;
      rows.push({
        metric: `pod launches/s end to end (created → scheduled → run → Succeeded)`,
        unit: "pods/s",
        petrel: perSecond(launches.median),
        ...(spawned ? { peerName: `spawn \`true\` directly, ${CONCURRENCY} in flight`, peer: perSecond(spawned.median) } : {}),
      });

      // the runner: a chain through the engine, a pod per node vs a process per node
      const chainReps = options.quick ? 2 : 3;
      const home = mkdtempSync(join(tmpdir(), "petrel-bench-k8s-"));
      const errors: string[] = [];
      try {
        const podNamespace = `petrel-${PROJECT}-${DOMAIN}`;
        const watcher = watchPodStarts(cluster, podNamespace);
        const pods = createKubernetesPodRunner({
          kubeConfig: cluster.kubeConfig,
          image: "petrel/runtime:bench",
          runtimeCommand: [process.execPath, RUNTIME_MAIN],
          podHome: join(home, "pod-home"),
          logDir: join(home, "pod-logs"),
          onError: (e, context) => errors.push(`${context}: ${e instanceof Error ? e.message : String(e)}`),
        });
        // the namespace and its default ServiceAccount first, as kube-controller-manager would have made it long before
        await cluster.createNamespace(podNamespace);
        const onPods = await startChain(pods, "kubernetes-pod");
        let local: Awaited<ReturnType<typeof startChain>> | undefined;
        // alternate the two, so a change in the machine's load hits both alike
        const podMs: number[] = [];
        const localMs: number[] = [];
        try {
          if (options.peer) local = await startChain(createLocalProcessRunner({ logDir: join(home, "local-logs") }), "local-process");
          for (let i = 0; i <= chainReps; i++) {
            const p = await onPods.run();
            const l = local ? await local.run() : undefined;
            if (i === 0) continue; // warm-up
            podMs.push(p / CHAIN_NODES);
            if (l !== undefined) localMs.push(l / CHAIN_NODES);
          }
        } catch (e) {
          // a failed execution is a finding, not a reason to lose the other rows
          notes.push(`chain on the runners failed: ${e instanceof Error ? e.message : String(e)}`);
        } finally {
          watcher.stop();
          await onPods.close();
          await local?.close();
        }
        const podStart = watcher.starts.length > 0 ? median(watcher.starts) : NaN;
        if (podMs.length > 0) {
          rows.push({
            metric: `chain of ${CHAIN_NODES}: ms per node, a pod per attempt`,
            unit: "ms",
            petrel: median(podMs),
            ...(localMs.length > 0 ? { peerName: "local-process runner (a process per attempt)", peer: median(localMs) } : {}),
          });
        }
        if (podMs.length > 0 && localMs.length > 0) {
          rows.push({
            metric: "kubernetes-pod overhead per node beyond pod start",
            unit: "ms",
            petrel: median(podMs) - median(localMs) - podStart,
            goal: { value: GOAL_OVERHEAD_MS_PER_NODE, direction: DIRECTION.lower },
            note: `pod start (created → Running, median of ${watcher.starts.length}) = ${podStart.toFixed(0)} ms, subtracted with the local-process time per node`,
          });
        }
      } finally {
        rmSync(home, { recursive: true, force: true });
      }
      if (errors.length > 0) notes.push(`runner errors: ${errors.slice(0, 3).join("; ")}${errors.length > 3 ? ` (+${errors.length - 3} more)` : ""}`);

      rows.push({ metric: "test cluster start (etcd + apiserver + scheduler + node)", unit: "ms", petrel: startMs });
      notes.push(
        "creates/s: pods name a scheduler nobody runs, so only kube-apiserver + etcd (--unsafe-no-fsync) work; @kubernetes/client-node 1.4.0 makes a new https.Agent per request (a TLS handshake per call), the raw peer keeps connections alive",
        "launches/s: includes kube-scheduler binding (its default 50 QPS to the API) and the fake kubelet's watch, process spawn and status patches per pod; all on this machine's cores",
        "pod start here is the fake kubelet's (watch → spawn → status), far quicker than a real kubelet's sandbox + container start",
      );
    } finally {
      await cluster.stop();
    }
    return { title: this.title, rows, notes };
  },
};
