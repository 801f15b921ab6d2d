// The kubernetes-pod runner against a fake API server (nock, no cluster): the pod
// it generates for a task (schema-validated with kubernetes-models), names and
// labels, how it creates pods (namespaces, anchors, rate limit, backpressure) and
// every API error it handles (409, 410, 429, 500, 403, 422), how it reads pod
// status into runner exits, abort, logs, re-attach and orphans — and the engine
// failing a node whose pod the cluster rejects, at once and with its message.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { KubeConfig, type V1ContainerStatus, type V1Pod, type V1PodStatus } from "@kubernetes/client-node";
import { Pod } from "kubernetes-models/v1";
import nock from "nock";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { TaskSpec } from "../../kernel/index.js";
import { RUNTIME_ENV, attemptId, type AttemptAssignment } from "../../kernel/runtime/index.js";
import {
  buildPod,
  compileKubernetesPodOptions,
  createKubernetesPodRunner,
  labelValue,
  namespaceFor,
  podNameFor,
  type AttemptExit,
  type KubernetesPodRunner,
  type KubernetesPodRunnerOptions,
  type RunnerEvent,
} from "../../backend/plugins/index.js";
import { createTestBackend } from "../../backend/index.js";
import { createEngine } from "../../backend/engine/index.js";
import { fixturesBundle, registerBundle } from "../engine/harness.js";

const SERVER = "http://k8s.test";
const JSON_HEADERS = { "Content-Type": "application/json" };
const NS = "petrel-demo-development";
/** A pod list request (not a watch). */
const LIST = /\/pods\?(?!.*watch=true)/;
/** A pod watch request. */
const WATCH = /\/pods\?.*watch=true/;
/** A pod as JSON (dates as strings), for schema validation. */
const asJson = (pod: V1Pod) => JSON.parse(JSON.stringify(pod)) as never;

// ---- a fake API server ---------------------------------------------------------------------

interface Fault {
  method: string;
  path: RegExp;
  status: number;
  body: unknown;
  headers: Record<string, string>;
  times: number;
}

type Reply = [number, unknown, Record<string, string>];

const statusBody = (code: number, reason: string, message: string) => ({ kind: "Status", apiVersion: "v1", status: "Failure", code, reason, message });

/** Just enough of the Kubernetes API for the runner, in memory, with faults to inject. */
class FakeCluster {
  readonly pods = new Map<string, V1Pod>();
  readonly namespaces = new Set<string>();
  readonly configMaps = new Map<string, { metadata: { name: string; namespace: string; uid: string } }>();
  readonly requests: { method: string; path: string; at: number }[] = [];
  readonly creates: { at: number; pod: V1Pod }[] = [];
  readonly logs = new Map<string, string>();
  /** Schedule created pods (set nodeName) this long after creation; undefined: never by itself. */
  scheduleAfterMs: number | undefined = 5;
  maxPending = 0;
  private rv = 100;
  private uid = 0;
  private readonly watches: { namespace: string; stream: PassThrough }[] = [];
  private readonly faults: Fault[] = [];

  constructor() {
    const scope = nock(SERVER).persist();
    for (const method of ["get", "post", "delete", "patch", "put"] as const) {
      scope[method](() => true).reply((uri: string, body: unknown) => this.handle(method.toUpperCase(), uri, body) as never);
    }
  }

  /** The next `times` requests matching fail with this status. */
  fail(method: string, path: RegExp, status: number, message: string, options: { times?: number; reason?: string; headers?: Record<string, string> } = {}): void {
    this.faults.push({ method, path, status, body: statusBody(status, options.reason ?? "Failure", message), headers: { ...JSON_HEADERS, ...options.headers }, times: options.times ?? 1 });
  }

  count(method: string, path: RegExp): number {
    return this.requests.filter((r) => r.method === method && path.test(r.path)).length;
  }

  pod(namespace: string, name: string): V1Pod | undefined {
    return this.pods.get(`${namespace}/${name}`);
  }

  /** Puts a pod in place as if created earlier (by a runner before a crash). */
  seed(pod: V1Pod): V1Pod {
    const ns = pod.metadata!.namespace!;
    this.namespaces.add(ns);
    const stored: V1Pod = { ...structuredClone(pod), metadata: { ...structuredClone(pod.metadata!), uid: `uid-${++this.uid}`, resourceVersion: String(++this.rv), creationTimestamp: new Date() } };
    stored.status ??= { phase: "Pending" };
    this.pods.set(`${ns}/${pod.metadata!.name}`, stored);
    return stored;
  }

  /** Changes a pod's status (and spec) as the kubelet or scheduler would, and tells the watchers. */
  update(namespace: string, name: string, change: (pod: V1Pod) => void): void {
    const pod = this.pod(namespace, name);
    if (!pod) throw new Error(`no pod ${namespace}/${name}`);
    change(pod);
    pod.metadata!.resourceVersion = String(++this.rv);
    this.emit("MODIFIED", pod);
  }

  /** Deletes a pod as `kubectl delete` would: deletionTimestamp, the container killed, then gone. */
  deleteByOthers(namespace: string, name: string): void {
    this.update(namespace, name, (p) => (p.metadata!.deletionTimestamp = new Date()));
    this.update(namespace, name, (p) => (p.status = { phase: "Failed", containerStatuses: [terminated(143, "Error")] }));
    const pod = this.pod(namespace, name)!;
    this.pods.delete(`${namespace}/${name}`);
    pod.metadata!.resourceVersion = String(++this.rv);
    this.emit("DELETED", pod);
  }

  /** Ends every watch stream with a 410 Gone event (the resourceVersion is too old). */
  expireWatches(): void {
    for (const w of this.watches.splice(0)) {
      w.stream.write(`${JSON.stringify({ type: "ERROR", object: statusBody(410, "Expired", "too old resource version") })}\n`);
      w.stream.end();
    }
  }

  /** Ends every watch without a word (a dropped connection). */
  dropWatches(): void {
    for (const w of this.watches.splice(0)) w.stream.end();
  }

  get watchCount(): number {
    return this.watches.length;
  }

  close(): void {
    for (const w of this.watches.splice(0)) w.stream.end();
  }

  private emit(type: string, pod: V1Pod): void {
    const line = `${JSON.stringify({ type, object: pod })}\n`;
    for (const w of this.watches) if (w.namespace === pod.metadata!.namespace) w.stream.write(line);
  }

  private pendingNow(): number {
    return [...this.pods.values()].filter((p) => !p.spec?.nodeName && (p.status?.phase ?? "Pending") === "Pending").length;
  }

  private handle(method: string, uri: string, raw: unknown): Reply {
    const url = new URL(uri, SERVER);
    const path = url.pathname;
    this.requests.push({ method, path: `${path}${url.search}`, at: Date.now() });
    const fault = this.faults.find((f) => f.method === method && f.path.test(`${path}${url.search}`) && f.times > 0);
    if (fault) {
      fault.times--;
      return [fault.status, fault.body, fault.headers];
    }
    const body = (typeof raw === "string" && raw !== "" ? JSON.parse(raw) : raw) as Record<string, unknown> | undefined;
    const ok = (status: number, value: unknown): Reply => [status, value, JSON_HEADERS];
    const notFound = (what: string): Reply => ok(404, statusBody(404, "NotFound", `${what} not found`));
    let m: RegExpExecArray | null;
    if ((m = /^\/api\/v1\/namespaces\/([^/]+)$/.exec(path)) && method === "GET") {
      return this.namespaces.has(m[1]!) ? ok(200, { kind: "Namespace", apiVersion: "v1", metadata: { name: m[1] } }) : notFound(`namespaces "${m[1]}"`);
    }
    if (path === "/api/v1/namespaces" && method === "POST") {
      const name = (body!.metadata as { name: string }).name;
      if (this.namespaces.has(name)) return ok(409, statusBody(409, "AlreadyExists", `namespaces "${name}" already exists`));
      this.namespaces.add(name);
      return ok(201, { kind: "Namespace", apiVersion: "v1", ...body });
    }
    if ((m = /^\/api\/v1\/namespaces\/([^/]+)\/configmaps(?:\/([^/]+))?$/.exec(path))) {
      const [, ns, name] = m as unknown as [string, string, string | undefined];
      if (method === "POST") {
        const meta = body!.metadata as { name: string };
        const key = `${ns}/${meta.name}`;
        if (this.configMaps.has(key)) return ok(409, statusBody(409, "AlreadyExists", `configmaps "${meta.name}" already exists`));
        const cm = { ...body, metadata: { ...meta, namespace: ns, uid: `uid-${++this.uid}` } };
        this.configMaps.set(key, cm as never);
        return ok(201, cm);
      }
      const cm = this.configMaps.get(`${ns}/${name}`);
      if (!cm) return notFound(`configmaps "${name}"`);
      if (method === "DELETE") this.configMaps.delete(`${ns}/${name}`);
      return ok(200, cm);
    }
    if ((m = /^\/api\/v1\/namespaces\/([^/]+)\/pods$/.exec(path))) {
      const ns = m[1]!;
      if (method === "GET" && url.searchParams.get("watch") === "true") {
        const stream = new PassThrough();
        this.watches.push({ namespace: ns, stream });
        // The first bytes open the response (a watch answers at once, with its headers).
        stream.write(`${JSON.stringify({ type: "BOOKMARK", object: { kind: "Pod", apiVersion: "v1", metadata: { resourceVersion: String(this.rv) } } })}\n`);
        return [200, stream, JSON_HEADERS];
      }
      if (method === "GET") {
        const items = [...this.pods.values()].filter((p) => p.metadata!.namespace === ns);
        return ok(200, { kind: "PodList", apiVersion: "v1", metadata: { resourceVersion: String(this.rv) }, items });
      }
      if (method === "POST") {
        if (!this.namespaces.has(ns)) return notFound(`namespaces "${ns}"`);
        const pod = body as V1Pod;
        const key = `${ns}/${pod.metadata!.name}`;
        if (this.pods.has(key)) return ok(409, statusBody(409, "AlreadyExists", `pods "${pod.metadata!.name}" already exists`));
        const stored = this.seed({ ...pod, metadata: { ...pod.metadata!, namespace: ns } });
        this.creates.push({ at: Date.now(), pod: stored });
        this.maxPending = Math.max(this.maxPending, this.pendingNow());
        this.emit("ADDED", stored);
        if (this.scheduleAfterMs !== undefined) {
          setTimeout(() => {
            if (this.pods.get(key) === stored) this.update(ns, pod.metadata!.name!, (p) => (p.spec!.nodeName = "node-1"));
          }, this.scheduleAfterMs);
        }
        return ok(201, stored);
      }
    }
    if ((m = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)(\/log)?$/.exec(path))) {
      const [, ns, name, log] = m as unknown as [string, string, string, string | undefined];
      const key = `${ns}/${name}`;
      const pod = this.pods.get(key);
      if (!pod) return notFound(`pods "${name}"`);
      if (log) {
        let text = this.logs.get(key) ?? "";
        const tail = Number(url.searchParams.get("tailLines") ?? 0);
        if (tail > 0) text = text.split(/(?<=\n)/).slice(-tail).join("");
        return [200, text, { "Content-Type": "text/plain" }];
      }
      if (method === "DELETE") {
        this.pods.delete(key);
        pod.metadata!.resourceVersion = String(++this.rv);
        this.emit("DELETED", pod);
      }
      return ok(200, pod);
    }
    return ok(404, statusBody(404, "NotFound", `the fake cluster does not serve ${method} ${path}`));
  }
}

// ---- helpers ------------------------------------------------------------------------------

function kubeConfig(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: "fake", server: SERVER, skipTLSVerify: true }],
    users: [{ name: "runner", token: "test-token" }],
    contexts: [{ name: "fake", cluster: "fake", user: "runner" }],
    currentContext: "fake",
  });
  return kc;
}

function taskSpec(overrides: Partial<TaskSpec> = {}): TaskSpec {
  return {
    name: "train",
    interface: { inputs: {}, outputs: {} },
    cache: { enabled: false, version: "v1", versionSource: "explicit", ignoredInputs: [], serialize: false },
    retries: 0,
    resources: {},
    env: {},
    secrets: [],
    interruptible: false,
    ...overrides,
  };
}

const BUNDLE = `sha256:${"ab".repeat(32)}`;
let executions = 0;
function assignment(overrides: Partial<AttemptAssignment> = {}): AttemptAssignment {
  return {
    execution: { project: "demo", domain: "development", name: `e${++executions}` },
    node: "train",
    attempt: 0,
    maxAttempts: 1,
    task: { resourceType: "task", project: "demo", domain: "development", name: "train", version: "v1" },
    bundle: BUNDLE,
    ...overrides,
  };
}

function terminated(exitCode: number, reason: string, message?: string): V1ContainerStatus {
  return { name: "task", image: "img", imageID: "", ready: false, restartCount: 0, state: { terminated: { exitCode, reason, ...(message ? { message } : {}) } } };
}
function waiting(reason: string, message: string): V1ContainerStatus {
  return { name: "task", image: "img", imageID: "", ready: false, restartCount: 0, state: { waiting: { reason, message } } };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until<T>(what: string, check: () => T | undefined | false, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

interface Harness {
  cluster: FakeCluster;
  runner: KubernetesPodRunner;
  events: RunnerEvent[];
  errors: { error: unknown; context: string }[];
  launch(a: AttemptAssignment, task?: TaskSpec): Promise<{ namespace: string; pod: string; id: string }>;
  exitOf(a: AttemptAssignment, timeoutMs?: number): Promise<AttemptExit>;
}

let cluster: FakeCluster;
const runners: KubernetesPodRunner[] = [];
const dirs: string[] = [];

function harness(options: KubernetesPodRunnerOptions = {}): Harness {
  const events: RunnerEvent[] = [];
  const errors: Harness["errors"] = [];
  const runner = createKubernetesPodRunner({ kubeConfig: kubeConfig(), image: "petrel/runtime:test", onError: (error, context) => errors.push({ error, context }), ...options });
  runners.push(runner);
  runner.onEvent((e) => events.push(e));
  return {
    cluster,
    runner,
    events,
    errors,
    async launch(a, task = taskSpec()) {
      const handle = await runner.launch({ assignment: a, task, inputs: {}, endpoint: "http://petrel.petrel.svc:8470", token: async () => "node-token-1" });
      return { namespace: handle.info!.namespace!, pod: handle.info!.pod!, id: handle.id };
    },
    async exitOf(a, timeoutMs = 5_000) {
      const id = attemptId(a);
      const e = await until(`the exit of ${id}`, () => events.find((x) => x.type === "exit" && attemptId(x.assignment) === id), timeoutMs);
      return (e as Extract<RunnerEvent, { type: "exit" }>).exit;
    },
  };
}

/** Launches an attempt and waits for its pod to exist. */
async function launched(h: Harness, a: AttemptAssignment, task?: TaskSpec) {
  const where = await h.launch(a, task);
  await until(`pod ${where.id}`, () => cluster.pod(where.namespace, where.pod));
  await until(`the watch of ${where.namespace}`, () => cluster.watchCount > 0);
  return where;
}

beforeAll(() => {
  nock.enableNetConnect();
});
afterEach(async () => {
  for (const r of runners.splice(0)) await r.close();
  cluster?.close();
  nock.cleanAll();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
afterAll(() => {
  nock.restore();
});
const freshCluster = () => (cluster = new FakeCluster());

// ---- the pod ------------------------------------------------------------------------------

describe("the pod of an attempt", () => {
  const options = compileKubernetesPodOptions({
    kubeConfig: kubeConfig(),
    image: "registry.example.com/petrel-runtime:1",
    env: { SHARED: "everyone", OVERRIDDEN: "runner" },
    serviceAccountName: "tasks",
    interruptible: { tolerations: [{ key: "spot", operator: "Exists", effect: "NoSchedule" }], nodeSelector: { "node.kubernetes.io/lifecycle": "spot" } },
  });
  const task = taskSpec({
    resources: { requests: { cpu: "500m", mem: "256Mi", ephemeralStorage: "1Gi" }, limits: { cpu: "2", mem: "1Gi", gpu: "1", storage: "2Gi" } },
    env: { OVERRIDDEN: "task", [RUNTIME_ENV.token]: "the task cannot set this" },
    secrets: ["db-credentials", "s3"],
    timeoutMs: 90_500,
    interruptible: true,
  });
  const podOf = (a: AttemptAssignment, t = task) => buildPod({ assignment: a, task: t }, { namespace: NS, name: podNameFor(a), endpoint: "http://petrel:8470", token: "tok" }, options);

  it("runs the runtime with the task's resources, env, secrets and deadline, and validates against the Pod schema", () => {
    const a = assignment({ maxAttempts: 3, timeoutMs: 90_500 });
    const pod = podOf(a);
    expect(() => new Pod(pod as never).validate()).not.toThrow();
    expect(pod.spec).toMatchObject({ restartPolicy: "Never", activeDeadlineSeconds: 91 + 30, serviceAccountName: "tasks", automountServiceAccountToken: true, enableServiceLinks: false });
    const c = pod.spec!.containers[0]!;
    expect(c.image).toBe("registry.example.com/petrel-runtime:1");
    expect(c.command).toEqual(["node", "/opt/petrel/dist/kernel/runtime/main.js"]);
    expect(c.resources).toEqual({
      requests: { cpu: "500m", memory: "256Mi", "ephemeral-storage": "1Gi", "nvidia.com/gpu": "1" },
      limits: { cpu: "2", memory: "1Gi", "ephemeral-storage": "2Gi", "nvidia.com/gpu": "1" },
    });
    expect(c.envFrom).toEqual([{ secretRef: { name: "db-credentials" } }, { secretRef: { name: "s3" } }]);
    const env = Object.fromEntries(c.env!.map((e) => [e.name, e.value]));
    expect(env).toMatchObject({ SHARED: "everyone", OVERRIDDEN: "task", [RUNTIME_ENV.endpoint]: "http://petrel:8470", [RUNTIME_ENV.token]: "tok", [RUNTIME_ENV.home]: "/opt/petrel/.petrel" });
    // The protocol's variables come last, so a task cannot redirect its own report.
    expect(c.env!.filter((e) => e.name === RUNTIME_ENV.token)).toHaveLength(1);
    expect(JSON.parse(env[RUNTIME_ENV.assignment]!)).toEqual(a);
    expect(pod.spec!.volumes).toEqual([{ name: "petrel-home", emptyDir: {} }]);
  });

  it("places interruptible tasks on spot capacity, except their last attempt", () => {
    const first = podOf(assignment({ attempt: 0, maxAttempts: 3 }));
    expect(first.spec!.tolerations).toEqual([{ key: "spot", operator: "Exists", effect: "NoSchedule" }]);
    expect(first.spec!.nodeSelector).toEqual({ "node.kubernetes.io/lifecycle": "spot" });
    expect(first.metadata!.labels!["petrel.dev/interruptible"]).toBe("true");
    const last = podOf(assignment({ attempt: 2, maxAttempts: 3 }));
    expect(last.spec!.tolerations).toBeUndefined();
    expect(last.spec!.nodeSelector).toBeUndefined();
    expect(last.metadata!.labels!["petrel.dev/interruptible"]).toBeUndefined();
    const steady = podOf(assignment({ maxAttempts: 3 }), taskSpec());
    expect(steady.spec!.tolerations).toBeUndefined();
    expect(steady.spec!.activeDeadlineSeconds).toBeUndefined();
    expect(steady.spec!.containers[0]!.resources).toBeUndefined();
    for (const pod of [first, last, steady]) expect(() => new Pod(pod as never).validate()).not.toThrow();
  });

  it("labels pods with sanitized values and keeps the exact ones in annotations", () => {
    const a = assignment({ execution: { project: "demo", domain: "development", name: "Run_2024-06-01T12:00" }, node: "sub/fit[3]", attempt: 1, maxAttempts: 2 });
    const pod = podOf(a);
    expect(() => new Pod(pod as never).validate()).not.toThrow();
    const labels = pod.metadata!.labels!;
    expect(labels).toMatchObject({ "app.kubernetes.io/managed-by": "petrel", "petrel.dev/project": "demo", "petrel.dev/attempt": "1" });
    for (const value of Object.values(labels)) expect(value).toMatch(/^(?=.{0,63}$)([A-Za-z0-9]([A-Za-z0-9_.-]*[A-Za-z0-9])?)?$/);
    expect(labels["petrel.dev/node"]).toMatch(/^sub_fit_3-[0-9a-f]{6}$/);
    expect(pod.metadata!.annotations).toMatchObject({ "petrel.dev/node": "sub/fit[3]", "petrel.dev/execution": "Run_2024-06-01T12:00", "petrel.dev/attempt-id": attemptId(a) });
    expect(labelValue("x".repeat(100))).toHaveLength(63);
    expect(labelValue("ok.value_1")).toBe("ok.value_1");
    expect(labelValue("-a-")).not.toBe(labelValue("a"));
  });

  it("names pods deterministically, uniquely and within 63 DNS-1123 characters", () => {
    const a = assignment({ node: "fit[3]" });
    expect(podNameFor(a)).toBe(podNameFor({ ...a }));
    expect(podNameFor(a)).not.toBe(podNameFor({ ...a, node: "fit_3" }));
    expect(podNameFor(a)).not.toBe(podNameFor({ ...a, attempt: 1 }));
    const long = podNameFor({ ...a, node: `a/${"Very_Long-Node.Name".repeat(10)}` });
    for (const name of [podNameFor(a), long]) expect(name).toMatch(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/);
    expect(long.length).toBeLessThanOrEqual(63);
  });

  it("fills the namespace template with the project and domain, as a DNS-1123 label", () => {
    expect(namespaceFor("petrel-{project}-{domain}", "demo", "development")).toBe("petrel-demo-development");
    expect(namespaceFor("ml-{project}-{domain}", "My_Project", "Prod")).toBe("ml-my-project-prod");
    expect(namespaceFor("team-a", "x", "y")).toBe("team-a");
    const long = namespaceFor("petrel-{project}-{domain}", "p".repeat(60), "development");
    expect(long.length).toBeLessThanOrEqual(63);
    expect(long).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
    expect(long).not.toBe(namespaceFor("petrel-{project}-{domain}", "p".repeat(60), "production"));
  });
});

// ---- creating pods ------------------------------------------------------------------------

describe("creating pods", () => {
  it("creates the namespace, the execution's anchor and the pod that it owns", async () => {
    freshCluster();
    const h = harness();
    const a = assignment();
    const where = await h.launch(a);
    expect(where).toEqual({ namespace: NS, pod: podNameFor(a), id: `${NS}/${podNameFor(a)}` });
    const pod = await until("the pod", () => cluster.pod(NS, where.pod));
    expect(cluster.namespaces.has(NS)).toBe(true);
    const anchor = [...cluster.configMaps.values()][0]!;
    expect(pod.metadata!.ownerReferences).toEqual([{ apiVersion: "v1", kind: "ConfigMap", name: anchor.metadata.name, uid: anchor.metadata.uid, controller: false, blockOwnerDeletion: false }]);
    expect(() => new Pod(asJson(pod)).validate()).not.toThrow();
    // A second attempt of the same execution shares the anchor.
    await h.launch({ ...a, node: "eval" });
    await until("the second pod", () => cluster.creates.length === 2);
    expect(cluster.configMaps.size).toBe(1);
    expect(cluster.count("POST", /^\/api\/v1\/namespaces$/)).toBe(1);
  });

  it("adopts the pod it finds on 409 AlreadyExists when it runs the same attempt", async () => {
    freshCluster();
    const a = assignment();
    const h = harness();
    // The pod a runner made before the backend crashed.
    const before = buildPod({ assignment: a, task: taskSpec() }, { namespace: NS, name: podNameFor(a), endpoint: "http://x", token: "t" }, compileKubernetesPodOptions({ kubeConfig: kubeConfig() }));
    cluster.seed(before);
    cluster.update(NS, podNameFor(a), (p) => (p.status = { phase: "Running" }));
    await h.launch(a);
    await until("the 409", () => cluster.count("GET", new RegExp(`/pods/${podNameFor(a)}$`)) > 0);
    expect(cluster.count("POST", /\/pods$/)).toBe(1);
    cluster.update(NS, podNameFor(a), (p) => (p.status = { phase: "Failed", containerStatuses: [terminated(1, "Error", "Traceback: boom")] }));
    expect(await h.exitOf(a)).toMatchObject({ reason: "exited", exitCode: 1, message: expect.stringContaining("Traceback: boom") });
  });

  it("refuses a same-named pod of another attempt", async () => {
    freshCluster();
    const a = assignment();
    const h = harness();
    const other = buildPod({ assignment: { ...a, attempt: 7 }, task: taskSpec() }, { namespace: NS, name: podNameFor(a), endpoint: "http://x", token: "t" }, compileKubernetesPodOptions({ kubeConfig: kubeConfig() }));
    cluster.seed(other);
    await h.launch(a);
    expect(await h.exitOf(a)).toMatchObject({ reason: "rejected", message: expect.stringContaining("does not belong to attempt") });
  });

  it("backs off on 429, 500 and a missing default ServiceAccount, then creates the pod", async () => {
    freshCluster();
    cluster.fail("POST", /\/pods$/, 429, "Too many requests, please try again later.", { times: 2, reason: "TooManyRequests", headers: { "Retry-After": "0" } });
    cluster.fail("POST", /\/pods$/, 500, "etcdserver: request timed out", { times: 1, reason: "InternalError" });
    // A namespace just made has no default ServiceAccount for a moment.
    cluster.fail("POST", /\/pods$/, 403, `pods "x" is forbidden: error looking up service account ${NS}/default: serviceaccount "default" not found`, { times: 1, reason: "Forbidden" });
    const h = harness();
    const a = assignment();
    const where = await h.launch(a);
    await until("the pod after the retries", () => cluster.pod(where.namespace, where.pod), 8_000);
    expect(cluster.count("POST", /\/pods$/)).toBe(5);
    expect(h.events).toEqual([]);
  });

  it("fails the node with the cluster's message when it may not create the namespace, leaving no pod", async () => {
    freshCluster();
    cluster.fail("POST", /^\/api\/v1\/namespaces$/, 403, 'namespaces is forbidden: User "system:serviceaccount:petrel:petrel-backend" cannot create resource "namespaces" in API group "" at the cluster scope', { reason: "Forbidden" });
    const h = harness();
    const a = assignment();
    await h.launch(a);
    const exit = await h.exitOf(a);
    expect(exit.reason).toBe("rejected");
    expect(exit.message).toContain(`namespace ${NS} does not exist and the cluster refused to create it`);
    expect(exit.message).toContain('cannot create resource "namespaces"');
    expect(cluster.pods.size).toBe(0);
    expect(cluster.count("POST", /\/pods$/)).toBe(0);
  });

  it("waits out a ResourceQuota's 403 up to the unschedulable deadline, then fails with the quota's message", async () => {
    freshCluster();
    cluster.namespaces.add(NS);
    const quota = 'pods "x" is forbidden: exceeded quota: compute-resources, requested: limits.cpu=4, used: limits.cpu=8, limited: limits.cpu=8';
    cluster.fail("POST", /\/pods$/, 403, quota, { times: 100, reason: "Forbidden" });
    const h = harness({ unschedulableDeadlineMs: 600 });
    const a = assignment();
    await h.launch(a);
    const exit = await h.exitOf(a);
    expect(exit).toMatchObject({ reason: "lost", message: expect.stringContaining("exceeded quota: compute-resources") });
    expect(cluster.count("POST", /\/pods$/)).toBeGreaterThan(1);
    expect(cluster.pods.size).toBe(0);
  });

  it("rejects a pod spec the API server refuses (422), without retrying and with its message", async () => {
    freshCluster();
    const invalid = 'Pod "x" is invalid: spec.containers[0].resources.requests[cpu]: Invalid value: "2 cores": must be a quantity';
    cluster.fail("POST", /\/pods$/, 422, invalid, { reason: "Invalid" });
    const h = harness();
    const a = assignment();
    await h.launch(a, taskSpec({ resources: { requests: { cpu: "2 cores" } } }));
    const exit = await h.exitOf(a);
    expect(exit.reason).toBe("rejected");
    expect(exit.message).toContain("422 Invalid");
    expect(exit.message).toContain('Invalid value: "2 cores": must be a quantity');
    expect(cluster.count("POST", /\/pods$/)).toBe(1);
    expect(cluster.pods.size).toBe(0);
  });

  it("creates 200 pods at maxCreatesPerSecond, never more than maxPendingPods unscheduled at once", async () => {
    freshCluster();
    cluster.scheduleAfterMs = 30;
    const h = harness({ maxCreatesPerSecond: 50, maxPendingPods: 20 });
    const started = Date.now();
    const as = Array.from({ length: 200 }, (_, i) => assignment({ node: `n${i}` }));
    // Every launch resolves at once: the rest wait in the runner's queue, not in the engine.
    await Promise.all(as.map((a) => h.launch(a)));
    expect(Date.now() - started).toBeLessThan(1_000);
    await until("200 pods", () => cluster.creates.length === 200, 10_000);
    const times = cluster.creates.map((c) => c.at);
    // 50 at once, then 150 more at 50 a second.
    expect(Math.max(...times) - started).toBeGreaterThanOrEqual(2_900);
    // The token bucket's bound: in any window of W seconds, at most 50 (the burst) + 50·W creates (+10: arrival times jitter on a loaded machine).
    for (const w of [0.5, 1, 2]) for (const t of times) expect(times.filter((x) => x >= t && x < t + w * 1_000).length).toBeLessThanOrEqual(50 + 50 * w + 10);
    expect(cluster.maxPending).toBeLessThanOrEqual(20);
    // Created in the order they were launched.
    expect(cluster.creates.map((c) => c.pod.metadata!.annotations!["petrel.dev/node"])).toEqual(as.map((a) => a.node));
  }, 15_000);

  it("queues launches while maxPendingPods pods wait to be scheduled", async () => {
    freshCluster();
    cluster.scheduleAfterMs = undefined;
    const h = harness({ maxPendingPods: 2 });
    const as = [assignment(), assignment(), assignment()];
    for (const a of as) await h.launch(a);
    await until("two pods", () => cluster.creates.length === 2);
    await sleep(100);
    expect(cluster.creates).toHaveLength(2);
    const first = cluster.creates[0]!.pod.metadata!.name!;
    cluster.update(NS, first, (p) => {
      p.spec!.nodeName = "node-1";
      p.status = { phase: "Running" };
    });
    await until("the third pod once one is scheduled", () => cluster.creates.length === 3);
    // Aborting a queued attempt: it never gets a pod.
    const queued = assignment();
    await h.launch(queued);
    await h.runner.abort(queued, { kind: "kubernetes-pod", id: `${NS}/${podNameFor(queued)}` }, "terminated by alice");
    expect(await h.exitOf(queued)).toMatchObject({ reason: "aborted", message: expect.stringContaining("before its pod was created") });
  });
});

// ---- watching pods ------------------------------------------------------------------------

describe("what a pod's status means", () => {
  const cases: [string, (p: V1Pod) => void, Partial<AttemptExit>][] = [
    ["exit code 0 (the runtime reported first)", (p) => (p.status = { phase: "Succeeded", containerStatuses: [terminated(0, "Completed")] }), { reason: "exited", exitCode: 0 }],
    ["exit code 1: a user error", (p) => (p.status = { phase: "Failed", containerStatuses: [terminated(1, "Error", "Error: boom\n    at task.ts:3")] }), { reason: "exited", exitCode: 1, message: expect.stringContaining("Error: boom") as never }],
    ["OOMKilled", (p) => (p.status = { phase: "Failed", containerStatuses: [terminated(137, "OOMKilled")] }), { reason: "oom", exitCode: 137, message: expect.stringContaining("its limit 1Gi") as never }],
    ["Evicted", (p) => (p.status = { phase: "Failed", reason: "Evicted", message: "The node was low on resource: memory." }), { reason: "lost", message: expect.stringContaining("Evicted: The node was low on resource: memory.") as never }],
    ["preempted", (p) => (p.status = { phase: "Failed", conditions: [{ type: "DisruptionTarget", status: "True", reason: "PreemptionByScheduler", message: "preempted by a higher-priority pod" }], containerStatuses: [terminated(137, "Error")] }), { reason: "lost", message: expect.stringContaining("PreemptionByScheduler") as never }],
    ["node shutdown", (p) => (p.status = { phase: "Failed", reason: "Terminated", message: "Pod was terminated in response to imminent node shutdown." }), { reason: "lost" }],
    ["DeadlineExceeded", (p) => (p.status = { phase: "Failed", reason: "DeadlineExceeded", message: "Pod was active on the node longer than the specified deadline" }), { reason: "timeout", message: expect.stringContaining("activeDeadlineSeconds") as never }],
    ["a command the image does not have", (p) => (p.status = { phase: "Failed", containerStatuses: [terminated(128, "StartError", 'exec: "node": executable file not found in $PATH')] }), { reason: "rejected", message: expect.stringContaining("executable file not found") as never }],
    ["a runtime that could not report (exit 3)", (p) => (p.status = { phase: "Failed", containerStatuses: [terminated(3, "Error")] }), { reason: "lost", exitCode: 3 }],
  ];
  it.each(cases)("%s", async (_title, change, expected) => {
    freshCluster();
    const h = harness();
    const a = assignment();
    const where = await launched(h, a, taskSpec({ resources: { limits: { mem: "1Gi" } } }));
    cluster.update(where.namespace, where.pod, change);
    expect(await h.exitOf(a)).toMatchObject(expected);
    // Its outcome recorded, the pod goes.
    await until("the pod's deletion", () => !cluster.pod(where.namespace, where.pod));
  });

  it("reads a pod deleted by someone else as lost", async () => {
    freshCluster();
    const h = harness();
    const a = assignment();
    const where = await launched(h, a);
    cluster.update(where.namespace, where.pod, (p) => (p.status = { phase: "Running" }));
    cluster.deleteByOthers(where.namespace, where.pod);
    expect(await h.exitOf(a)).toMatchObject({ reason: "lost", message: expect.stringContaining("deleted by someone other than petrel") });
  });

  it("fails an image that cannot be pulled past the grace period as rejected, with the cluster's reason, and deletes the pod", async () => {
    freshCluster();
    const h = harness({ imagePullGraceMs: 300 });
    const a = assignment();
    const where = await launched(h, a, taskSpec({ image: "registry.example.com/nope:1" }));
    cluster.update(where.namespace, where.pod, (p) => (p.status = { phase: "Pending", containerStatuses: [waiting("ErrImagePull", 'failed to pull image "registry.example.com/nope:1": not found')] }));
    cluster.update(where.namespace, where.pod, (p) => (p.status = { phase: "Pending", containerStatuses: [waiting("ImagePullBackOff", 'Back-off pulling image "registry.example.com/nope:1"')] }));
    await sleep(100);
    expect(h.events).toEqual([]);
    const exit = await h.exitOf(a);
    expect(exit.reason).toBe("rejected");
    expect(exit.message).toContain("registry.example.com/nope:1");
    expect(exit.message).toContain("ImagePullBackOff");
    await until("the pod's deletion", () => !cluster.pod(where.namespace, where.pod));
  });

  it("fails a pod whose Secret is missing past the grace period, naming the Secret", async () => {
    freshCluster();
    const h = harness({ imagePullGraceMs: 200 });
    const a = assignment();
    const where = await launched(h, a, taskSpec({ secrets: ["db-credentials"] }));
    cluster.update(where.namespace, where.pod, (p) => (p.status = { phase: "Pending", containerStatuses: [waiting("CreateContainerConfigError", 'secret "db-credentials" not found')] }));
    expect(await h.exitOf(a)).toMatchObject({ reason: "rejected", message: expect.stringContaining('CreateContainerConfigError: secret "db-credentials" not found') });
  });

  it("fails a pod that stays unschedulable past the deadline as lost, with the scheduler's message", async () => {
    freshCluster();
    cluster.scheduleAfterMs = undefined;
    const h = harness({ unschedulableDeadlineMs: 300 });
    const a = assignment();
    const where = await launched(h, a);
    cluster.update(where.namespace, where.pod, (p) => (p.status = { phase: "Pending", conditions: [{ type: "PodScheduled", status: "False", reason: "Unschedulable", message: "0/3 nodes are available: 3 Insufficient nvidia.com/gpu." }] }));
    expect(await h.exitOf(a)).toMatchObject({ reason: "lost", message: expect.stringContaining("0/3 nodes are available: 3 Insufficient nvidia.com/gpu.") });
    await until("the pod's deletion", () => !cluster.pod(where.namespace, where.pod));
  });

  it("relists on 410 Gone and sees what happened meanwhile", async () => {
    freshCluster();
    const h = harness();
    const a = assignment();
    const where = await launched(h, a, taskSpec({ resources: { limits: { mem: "512Mi" } } }));
    const lists = cluster.count("GET", LIST);
    // The pod ends while the watch is gone: no MODIFIED event reaches the runner.
    cluster.dropWatches();
    const pod = cluster.pod(where.namespace, where.pod)!;
    pod.status = { phase: "Failed", containerStatuses: [terminated(137, "OOMKilled")] };
    pod.metadata!.resourceVersion = "99999";
    cluster.fail("GET", /watch=true/, 410, "too old resource version: 101 (99999)", { reason: "Expired" });
    expect(await h.exitOf(a)).toMatchObject({ reason: "oom" });
    expect(cluster.count("GET", LIST)).toBeGreaterThan(lists);
  });

  it("relists after a 410 ERROR event on an open watch and goes on watching", async () => {
    freshCluster();
    const h = harness();
    const a = assignment();
    const where = await launched(h, a);
    cluster.expireWatches();
    await until("a new watch", () => cluster.watchCount > 0);
    cluster.update(where.namespace, where.pod, (p) => (p.status = { phase: "Failed", containerStatuses: [terminated(2, "Error")] }));
    expect(await h.exitOf(a)).toMatchObject({ reason: "exited", exitCode: 2 });
    expect(h.errors).toEqual([]);
  });

  it("keeps pods with deletePods: false", async () => {
    freshCluster();
    const h = harness({ deletePods: false });
    const a = assignment();
    const where = await launched(h, a);
    cluster.update(where.namespace, where.pod, (p) => (p.status = { phase: "Succeeded", containerStatuses: [terminated(0, "Completed")] }));
    await h.exitOf(a);
    await sleep(100);
    expect(cluster.pod(where.namespace, where.pod)).toBeDefined();
    expect(cluster.count("DELETE", /\/pods\//)).toBe(0);
  });
});

// ---- abort, logs, re-attach, orphans ------------------------------------------------------

describe("abort, logs, re-attach and orphans", () => {
  it("aborts by deleting the pod with a short grace period", async () => {
    freshCluster();
    const h = harness();
    const a = assignment();
    const where = await launched(h, a);
    await h.runner.abort(a, { kind: "kubernetes-pod", id: where.id, info: { namespace: where.namespace, pod: where.pod } }, "terminated by alice");
    expect(await h.exitOf(a)).toEqual({ reason: "aborted", message: "the attempt was aborted: terminated by alice" });
    expect(cluster.pod(where.namespace, where.pod)).toBeUndefined();
    expect(cluster.requests.find((r) => r.method === "DELETE" && r.path.includes(where.pod))!.path).toMatch(new RegExp(`^/api/v1/namespaces/${NS}/pods/${where.pod}\\?.*gracePeriodSeconds=5`));
  });

  it("reads logs whole, as a tail and followed, and keeps them after the pod is deleted", async () => {
    freshCluster();
    const logDir = mkdtempSync(join(tmpdir(), "petrel-k8s-logs-"));
    dirs.push(logDir);
    const h = harness({ logDir });
    const a = assignment();
    const where = await launched(h, a);
    const key = `${where.namespace}/${where.pod}`;
    cluster.logs.set(key, "line one\nline two\nline three\n");
    const handle = { kind: "kubernetes-pod", id: where.id, info: { namespace: where.namespace, pod: where.pod } };
    const read = async (options = {}) => {
      const chunks: Buffer[] = [];
      for await (const c of h.runner.logs(a, handle, options)) chunks.push(Buffer.from(c));
      return Buffer.concat(chunks).toString();
    };
    expect(await read()).toBe("line one\nline two\nline three\n");
    expect(await read({ tailBytes: 11 })).toBe("line three\n");
    expect(await read({ follow: true })).toBe("line one\nline two\nline three\n");
    cluster.update(where.namespace, where.pod, (p) => (p.status = { phase: "Succeeded", containerStatuses: [terminated(0, "Completed")] }));
    await h.exitOf(a);
    await until("the pod's deletion", () => !cluster.pod(where.namespace, where.pod));
    const saved = join(logDir, "demo", "development", a.execution.name, "train", "0.log");
    expect(readFileSync(saved, "utf8")).toBe("line one\nline two\nline three\n");
    expect(await read()).toBe("line one\nline two\nline three\n");
    expect(await read({ tailBytes: 11 })).toBe("line three\n");
  });

  it("re-attaches to a running pod after a restart and goes on watching it; a missing pod is not re-attached", async () => {
    freshCluster();
    const first = harness();
    const a = assignment();
    const where = await launched(first, a);
    cluster.update(where.namespace, where.pod, (p) => (p.status = { phase: "Running" }));
    await first.runner.close();
    // close() leaves pods running.
    expect(cluster.pod(where.namespace, where.pod)).toBeDefined();
    const second = harness();
    const watches = cluster.count("GET", WATCH);
    const handle = { kind: "kubernetes-pod", id: where.id, info: { namespace: where.namespace, pod: where.pod } };
    expect(await second.runner.reattach(a, handle)).toBe(true);
    expect(await second.runner.reattach({ ...a, attempt: 5 }, handle)).toBe(false); // not its attempt
    expect(await second.runner.reattach(assignment(), { kind: "kubernetes-pod", id: `${NS}/gone`, info: { namespace: NS, pod: "gone" } })).toBe(false);
    await until("the new runner's watch", () => cluster.count("GET", WATCH) > watches);
    cluster.update(where.namespace, where.pod, (p) => (p.status = { phase: "Failed", containerStatuses: [terminated(137, "OOMKilled")] }));
    expect(await second.exitOf(a)).toMatchObject({ reason: "oom" });
    expect(first.events).toEqual([]);
  });

  it("reconcile() deletes ended pods nobody claims and leaves running ones within the grace period", async () => {
    freshCluster();
    const h = harness();
    const mine = assignment();
    await launched(h, mine);
    const opts = compileKubernetesPodOptions({ kubeConfig: kubeConfig() });
    const orphan = (a: AttemptAssignment, status: V1PodStatus) => {
      cluster.seed(buildPod({ assignment: a, task: taskSpec() }, { namespace: NS, name: podNameFor(a), endpoint: "http://x", token: "t" }, opts));
      cluster.update(NS, podNameFor(a), (p) => (p.status = status));
      return `${NS}/${podNameFor(a)}`;
    };
    const ended = orphan(assignment(), { phase: "Succeeded", containerStatuses: [terminated(0, "Completed")] });
    const running = orphan(assignment(), { phase: "Running" });
    // The runner learns of them from its watch.
    await sleep(200);
    const report = await h.runner.reconcile();
    expect(report.deleted).toEqual([ended]);
    expect(report.kept).toEqual([running]);
    expect(report.tracked).toEqual([`${NS}/${podNameFor(mine)}`]);
    expect(cluster.pods.has(ended)).toBe(false);
    expect(cluster.pods.has(running)).toBe(true);
  });

  it("deletes pods nobody claims once the orphan grace period has passed", async () => {
    freshCluster();
    const h = harness({ orphanGraceMs: 300 });
    const stray = assignment();
    cluster.seed(buildPod({ assignment: stray, task: taskSpec() }, { namespace: NS, name: podNameFor(stray), endpoint: "http://x", token: "t" }, compileKubernetesPodOptions({ kubeConfig: kubeConfig() })));
    cluster.update(NS, podNameFor(stray), (p) => (p.status = { phase: "Running" }));
    const mine = assignment();
    const where = await launched(h, mine);
    await until("the stray pod's deletion", () => !cluster.pod(NS, podNameFor(stray)), 3_000);
    expect(cluster.pod(where.namespace, where.pod)).toBeDefined();
  });

  it("deletes an execution's anchor once none of its attempts has run for anchorIdleMs", async () => {
    freshCluster();
    const h = harness({ anchorIdleMs: 200 });
    const a = assignment();
    const where = await launched(h, a);
    expect(cluster.configMaps.size).toBe(1);
    cluster.update(where.namespace, where.pod, (p) => (p.status = { phase: "Succeeded", containerStatuses: [terminated(0, "Completed")] }));
    await h.exitOf(a);
    await until("the anchor's deletion", () => cluster.configMaps.size === 0, 3_000);
    // The execution's next attempt makes a new one.
    const next = { ...a, node: "eval" };
    const again = await launched(h, next);
    expect(cluster.configMaps.size).toBe(1);
    expect(cluster.pod(again.namespace, again.pod)!.metadata!.ownerReferences![0]!.uid).toBe([...cluster.configMaps.values()][0]!.metadata.uid);
  });
});

// ---- through the engine -------------------------------------------------------------------

describe("the engine with the kubernetes-pod runner", () => {
  it("fails a node whose pod the cluster rejects at once (no retries), with the cluster's message", async () => {
    freshCluster();
    const invalid = 'Pod "x" is invalid: spec.containers[0].image: Required value';
    cluster.fail("POST", /\/pods$/, 422, invalid, { reason: "Invalid", times: 10 });
    const backend = await createTestBackend({ listen: true });
    const runner = createKubernetesPodRunner({ kubeConfig: kubeConfig(), onError: () => undefined });
    runners.push(runner);
    const engine = createEngine({ deps: backend.deps, runner, endpoint: () => backend.url!, retryBackoffMs: 10 });
    backend.deps.engine = engine;
    try {
      await backend.createProject("demo");
      await engine.start();
      await registerBundle(backend, "demo", "development", fixturesBundle());
      // flaky has retries: 2, yet a rejected pod is not retried.
      const res = await backend.request("/projects/demo/domains/development/executions", { method: "POST", json: { workflow: { name: "flaky_flow" }, inputs: { failures: { kind: "int", value: "0" } } } });
      expect(res.status).toBe(201);
      const { name } = (await res.json()) as { name: string };
      const record = await engine.wait({ project: "demo", domain: "development", name });
      expect(record.phase).toBe("FAILED");
      const [node] = (await backend.store.listNodeExecutions({ project: "demo", domain: "development", name })).filter((n) => n.target?.name === "flaky");
      expect(node!.attempts).toBe(1);
      expect(node!.error).toMatchObject({ kind: "user", code: "POD_REJECTED", retryable: false, message: expect.stringContaining("spec.containers[0].image: Required value") });
      expect(cluster.pods.size).toBe(0);
    } finally {
      await engine.close();
      await backend.close();
    }
  }, 20_000);
});
