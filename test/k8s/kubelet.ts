/**
 * A node agent that plays the kubelet for the test control plane, since nothing
 * here runs containers: it registers its Node objects (Ready, 127.0.0.1, its
 * HTTPS port) and keeps their leases fresh, watches the pods bound to them and
 * runs each pod's first container's `command` + `args` as a local process, and
 * reports phases, container states, exit codes and logs through the API server
 * the way the kubelet does.
 *
 * Emulated: env (value, secretKeyRef, configMapKeyRef, fieldRef, resourceFieldRef,
 * envFrom, `$(VAR)` expansion), restartPolicy (restarts with a short back-off),
 * activeDeadlineSeconds, the memory limit (the process tree's RSS, polled),
 * graceful deletion (SIGTERM, the grace period, SIGKILL, then the final delete),
 * CreateContainerConfigError for missing Secrets/ConfigMaps (retried, so creating
 * the Secret later starts the pod), ErrImagePull/ImagePullBackOff for images in
 * `missingImages`, and `GET /containerLogs/...` so `kubectl logs` works
 * through the API server. Not emulated: volumes, init containers, other
 * containers than the first, probes, log timestamps.
 *
 * @example
 * ```ts
 * const cluster = await startCluster();
 * // ... create a pod bound to "petrel-node-1"; then, from the test:
 * cluster.kubelet.running();                 // ["my-pod"]
 * await cluster.kubelet.evict("default/my-pod");
 * ```
 */
import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, statSync, readSync } from "node:fs";
import { createServer, type Server } from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { constants } from "node:os";
import { join } from "node:path";
import { isKubeApiError, kubeMicroTime, kubeTime, PATCH, type KubeHttp, type KubeObject, type Reflector } from "./api.js";
import { trackGroup, untrackGroup } from "./procs.js";

/** A node the fake kubelet registers and runs pods for. */
export interface TestNode {
  name: string;
  /** Allocatable CPU, e.g. "4". */
  cpu: string;
  /** Allocatable memory, e.g. "8Gi". */
  memory: string;
  /** Most pods the scheduler places on it. */
  pods: number;
}

/** A pod named by `"namespace/name"`, `"name"` (namespace "default") or any object with `metadata`. */
export type PodRef = string | { metadata?: { name?: string; namespace?: string } };

/** Options of `startFakeKubelet()`. */
export interface FakeKubeletOptions {
  http: KubeHttp;
  nodes: TestNode[];
  /** Root of the pods' working directories and logs; processes run inside it. */
  dir: string;
  /** The kubelet API's serving certificate. */
  tls: { cert: string; key: string };
  /** What pods see as KUBERNETES_SERVICE_HOST / _PORT. */
  apiServer: { host: string; port: number };
}

/** How often the memory limit is checked. */
export const MEMORY_POLL_MS = 50;
/** How often node leases are renewed and heartbeats sent (the kubelet's default is 10 s). */
export const HEARTBEAT_MS = 10_000;
/** Lease duration the node advertises (the kubelet's default). */
export const LEASE_SECONDS = 40;
/** Back-off before restarting a container (doubled per restart, capped): short, for tests. */
export const RESTART_BACKOFF_MS = 500;
export const MAX_RESTART_BACKOFF_MS = 5_000;
/** How often a pod stuck on a missing Secret/ConfigMap or image is retried. */
export const RETRY_MS = 1_000;
/** Grace before SIGKILL when a node shutdown terminates a pod. */
export const SHUTDOWN_GRACE_MS = 1_000;
/** Default message of `evict()`: what the eviction manager writes. */
export const EVICTION_MESSAGE = "The node was low on resource: memory. Container main was using 1Gi, which exceeds its request of 0. ";

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    secretKeyRef?: { name: string; key: string; optional?: boolean };
    configMapKeyRef?: { name: string; key: string; optional?: boolean };
    fieldRef?: { fieldPath: string };
    resourceFieldRef?: { resource: string; divisor?: string };
  };
}

interface Container {
  name: string;
  image?: string;
  command?: string[];
  args?: string[];
  env?: EnvVar[];
  envFrom?: { prefix?: string; secretRef?: { name: string; optional?: boolean }; configMapRef?: { name: string; optional?: boolean } }[];
  resources?: { limits?: Record<string, string>; requests?: Record<string, string> };
}

interface Condition {
  type: string;
  status: string;
  lastTransitionTime?: string | null;
  reason?: string;
  message?: string;
}

interface Pod extends KubeObject {
  spec: {
    nodeName?: string;
    containers: Container[];
    restartPolicy?: string;
    activeDeadlineSeconds?: number;
    terminationGracePeriodSeconds?: number;
    serviceAccountName?: string;
  };
  status?: { phase?: string; conditions?: Condition[] };
}

type ContainerState =
  | { waiting: { reason: string; message?: string } }
  | { running: { startedAt: string } }
  | { terminated: { exitCode: number; reason: string; message?: string; startedAt: string; finishedAt: string; containerID?: string } };

/** Why the agent killed a process: how its exit is reported. */
interface KillCause {
  /** The container's terminated reason. */
  reason: "OOMKilled" | "Error";
  /** Pod-level phase Failed with this reason and message (no restart). */
  pod?: { reason: string; message: string };
}

/** One pod this agent runs. */
interface Run {
  key: string;
  namespace: string;
  name: string;
  uid: string;
  pod: Pod;
  container: Container;
  dir: string;
  phase: "Pending" | "Running" | "Succeeded" | "Failed";
  podReason?: string;
  podMessage?: string;
  state: ContainerState;
  lastState?: ContainerState;
  restarts: number;
  startTime: string;
  containerID?: string;
  child?: ChildProcess;
  /** Resolves when the current process has exited (and its exit is recorded). */
  exited?: Promise<void>;
  cause?: KillCause;
  memoryLimit?: number;
  /** One log file per attempt. */
  logs: string[];
  done: boolean;
  deleting: boolean;
  timers: Set<NodeJS.Timeout>;
  /** Latest status waiting to be sent, and the send in flight. */
  dirty: boolean;
  sending?: Promise<void>;
  /** The status last sent (JSON). */
  sent?: string;
  transitions: Map<string, { status: string; time: string }>;
}

/** A missing Secret/ConfigMap or key: the container cannot be configured. */
class ConfigError extends Error {}

/** The kubelet stand-in. Create it with `startFakeKubelet()`. */
export class FakeKubelet {
  /** Images that "cannot be pulled": pods using them wait with ErrImagePull, then ImagePullBackOff, in turn every RETRY_MS until the image is removed from the set. */
  readonly missingImages = new Set<string>();
  /** The kubelet API's HTTPS port, advertised in each Node's daemonEndpoints. */
  port = 0;

  private readonly runs = new Map<string, Run>();
  /** namespace/name → the latest run, for logs and the test hooks. */
  private readonly byName = new Map<string, Run>();
  private readonly reflectors: Reflector[] = [];
  private readonly server: Server;
  private heartbeat?: NodeJS.Timeout;
  private memoryPoll?: NodeJS.Timeout;
  private stopped = false;
  private registeredAt?: string;
  private readonly errors: unknown[] = [];

  constructor(private readonly options: FakeKubeletOptions) {
    this.server = createServer({ cert: options.tls.cert, key: options.tls.key }, (req, res) => this.serve(req, res));
  }

  /** Listens, registers the nodes, and starts watching their pods. */
  async start(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(0, "127.0.0.1", () => resolve());
    });
    this.port = (this.server.address() as AddressInfo).port;
    mkdirSync(join(this.options.dir, "pods"), { recursive: true });
    await Promise.all(this.options.nodes.map((n) => this.registerNode(n)));
    for (const node of this.options.nodes) {
      const path = `/api/v1/pods?fieldSelector=${encodeURIComponent(`spec.nodeName=${node.name}`)}`;
      this.reflectors.push(
        this.options.http.reflect<Pod>(path, (e) => this.onPod(e.type, e.object), (e) => this.errors.push(e)),
      );
    }
    await Promise.all(this.reflectors.map((r) => r.synced));
    this.heartbeat = setInterval(() => void this.renewNodes(), HEARTBEAT_MS);
    this.heartbeat.unref();
    this.memoryPoll = setInterval(() => this.checkMemory(), MEMORY_POLL_MS);
    this.memoryPoll.unref();
  }

  /** Names of the pods whose process is running now. */
  running(): string[] {
    return [...this.runs.values()].filter((r) => r.child && r.child.exitCode === null && r.child.signalCode === null).map((r) => r.name);
  }

  /** The log file of a pod's current (or last) attempt, if it has started. */
  logPath(pod: PodRef): string | undefined {
    const run = this.byName.get(refKey(pod));
    return run?.logs.at(-1);
  }

  /** SIGKILLs the pod's process; its container is reported terminated, exit code 137, reason Error. */
  async kill(pod: PodRef): Promise<void> {
    const run = this.mustFind(pod);
    await this.killRun(run, { reason: "Error" }, 0);
  }

  /** Kills the pod as the eviction manager does: phase Failed, reason Evicted. */
  async evict(pod: PodRef, message = EVICTION_MESSAGE): Promise<void> {
    const run = this.mustFind(pod);
    await this.killRun(run, { reason: "Error", pod: { reason: "Evicted", message } }, 0);
  }

  /**
   * Terminates the pod as graceful node shutdown does: SIGTERM, SIGKILL after
   * SHUTDOWN_GRACE_MS, phase Failed with reason "Terminated" (the kubelet's
   * node-shutdown reason; "NodeShutdown" is what it gives pods it refuses to
   * admit during a shutdown) unless another `reason` is given.
   */
  async shutdown(pod: PodRef, reason = "Terminated"): Promise<void> {
    const run = this.mustFind(pod);
    await this.killRun(run, { reason: "Error", pod: { reason, message: "Pod was terminated in response to imminent node shutdown." } }, SHUTDOWN_GRACE_MS);
  }

  /** Watch errors seen so far (the watch retries on its own). */
  watchErrors(): unknown[] {
    return [...this.errors];
  }

  /** Stops watching, kills every process and closes the HTTPS server. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const r of this.reflectors) r.stop();
    clearInterval(this.heartbeat);
    clearInterval(this.memoryPoll);
    const exits: Promise<void>[] = [];
    for (const run of this.runs.values()) {
      for (const t of run.timers) clearTimeout(t);
      if (run.child?.pid !== undefined && run.exited) {
        killGroup(run.child.pid, "SIGKILL");
        exits.push(run.exited);
      }
    }
    await Promise.all(exits);
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  // ---- nodes ----

  private nodeStatus(node: TestNode, now: string) {
    const resources = { cpu: node.cpu, memory: node.memory, pods: String(node.pods), "ephemeral-storage": "100Gi" };
    // conditions never change here: they have been true since registration
    const since = this.registeredAt ?? now;
    const condition = (type: string, status: string, reason: string, message: string) => ({ type, status, reason, message, lastHeartbeatTime: now, lastTransitionTime: since });
    return {
      capacity: resources,
      allocatable: resources,
      conditions: [
        condition("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
        condition("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
        condition("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
        condition("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
      ],
      addresses: [
        { type: "InternalIP", address: "127.0.0.1" },
        { type: "Hostname", address: node.name },
      ],
      daemonEndpoints: { kubeletEndpoint: { Port: this.port } },
      nodeInfo: {
        machineID: "",
        systemUUID: "",
        bootID: "",
        kernelVersion: "",
        osImage: "petrel fake kubelet",
        containerRuntimeVersion: "fake://1.0.0",
        kubeletVersion: "v1.20.2",
        kubeProxyVersion: "v1.20.2",
        operatingSystem: "linux",
        architecture: "amd64",
      },
    };
  }

  private async registerNode(node: TestNode): Promise<void> {
    const http = this.options.http;
    const now = kubeTime();
    this.registeredAt ??= now;
    const body = {
      apiVersion: "v1",
      kind: "Node",
      metadata: { name: node.name, labels: { "kubernetes.io/hostname": node.name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64" } },
      spec: {},
      status: this.nodeStatus(node, now),
    };
    await http.request("POST", "/api/v1/nodes", body);
    // The TaintNodesByCondition admission plugin taints new nodes not-ready;
    // the node lifecycle controller (not running here) removes it once Ready.
    await http.request("PATCH", `/api/v1/nodes/${node.name}`, { spec: { taints: null } }, PATCH.merge);
    await http.request("POST", "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases", {
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      metadata: { name: node.name, namespace: "kube-node-lease" },
      spec: { holderIdentity: node.name, leaseDurationSeconds: LEASE_SECONDS, renewTime: kubeMicroTime() },
    });
  }

  private async renewNodes(): Promise<void> {
    const http = this.options.http;
    for (const node of this.options.nodes) {
      try {
        await http.request("PATCH", `/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/${node.name}`, { spec: { renewTime: kubeMicroTime() } }, PATCH.merge);
        await http.request("PATCH", `/api/v1/nodes/${node.name}/status`, { status: { conditions: this.nodeStatus(node, kubeTime()).conditions } }, PATCH.strategic);
      } catch (e) {
        if (!this.stopped) this.errors.push(e);
      }
    }
  }

  // ---- pods ----

  private mustFind(pod: PodRef): Run {
    const run = this.byName.get(refKey(pod));
    if (!run) throw new Error(`fake kubelet: no pod ${refKey(pod)} on this node`);
    return run;
  }

  private onPod(type: string, pod: Pod): void {
    if (this.stopped) return;
    const uid = pod.metadata.uid!;
    let run = this.runs.get(uid);
    if (type === "DELETED") {
      if (run) {
        // deleted without waiting for us (grace 0 / force): kill at once
        run.deleting = true;
        if (run.child?.pid !== undefined && !run.done) killGroup(run.child.pid, "SIGKILL");
        this.forget(run);
      }
      return;
    }
    if (run) run.pod = pod;
    if (pod.metadata.deletionTimestamp) {
      if (!run) {
        void this.confirmDeletion(pod.metadata.namespace!, pod.metadata.name, uid);
        return;
      }
      if (!run.deleting) void this.delete(run);
      return;
    }
    if (run || pod.status?.phase === "Succeeded" || pod.status?.phase === "Failed") return;
    run = this.newRun(pod);
    void this.launch(run);
  }

  private newRun(pod: Pod): Run {
    const namespace = pod.metadata.namespace!;
    const name = pod.metadata.name;
    const uid = pod.metadata.uid!;
    const dir = join(this.options.dir, "pods", `${namespace}_${name}_${uid}`);
    mkdirSync(dir, { recursive: true });
    const container = pod.spec.containers[0]!;
    const limit = container.resources?.limits?.memory;
    const run: Run = {
      key: `${namespace}/${name}`,
      namespace,
      name,
      uid,
      pod,
      container,
      dir,
      phase: "Pending",
      state: { waiting: { reason: "ContainerCreating" } },
      restarts: 0,
      startTime: kubeTime(),
      memoryLimit: limit === undefined ? undefined : parseQuantity(limit),
      logs: [],
      done: false,
      deleting: false,
      timers: new Set(),
      dirty: false,
      transitions: new Map(),
    };
    this.runs.set(uid, run);
    this.byName.set(run.key, run);
    const deadline = pod.spec.activeDeadlineSeconds;
    if (deadline !== undefined) {
      this.after(run, deadline * 1000, () => {
        void this.killRun(run, { reason: "Error", pod: { reason: "DeadlineExceeded", message: "Pod was active on the node longer than the specified deadline" } }, 0);
      });
    }
    return run;
  }

  private forget(run: Run): void {
    for (const t of run.timers) clearTimeout(t);
    run.timers.clear();
    this.runs.delete(run.uid);
    if (this.byName.get(run.key) === run) this.byName.delete(run.key);
  }

  private after(run: Run, ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      run.timers.delete(t);
      if (!this.stopped && !run.deleting) fn();
    }, ms);
    run.timers.add(t);
  }

  /** Pulls (pretends to), configures and starts the container, or waits and retries. */
  private async launch(run: Run): Promise<void> {
    if (this.stopped || run.deleting || run.done) return;
    const image = run.container.image ?? "";
    if (this.missingImages.has(image)) {
      const alreadyFailed = "waiting" in run.state && run.state.waiting.reason === "ErrImagePull";
      run.state = alreadyFailed
        ? { waiting: { reason: "ImagePullBackOff", message: `Back-off pulling image "${image}"` } }
        : { waiting: { reason: "ErrImagePull", message: `rpc error: code = NotFound desc = failed to pull and unpack image "${image}": failed to resolve reference "${image}": not found` } };
      this.report(run);
      this.after(run, RETRY_MS, () => void this.launch(run));
      return;
    }
    let env: Record<string, string>;
    try {
      env = await this.environment(run);
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      run.state = { waiting: { reason: "CreateContainerConfigError", message: e.message } };
      this.report(run);
      this.after(run, RETRY_MS, () => void this.launch(run));
      return;
    }
    if (this.stopped || run.deleting || run.done) return;
    this.spawnContainer(run, env);
  }

  private spawnContainer(run: Run, env: Record<string, string>): void {
    const c = run.container;
    const expand = (s: string) => expandVars(s, env);
    const argv = [...(c.command ?? []), ...(c.args ?? [])].map(expand);
    if (argv.length === 0) {
      run.state = { waiting: { reason: "CreateContainerError", message: "fake kubelet: the container has no command or args to run (images are not run)" } };
      this.report(run);
      return;
    }
    const logPath = join(run.dir, `${c.name}-${run.restarts}.log`);
    run.logs.push(logPath);
    const fd = openSync(logPath, "a");
    const child = spawn(argv[0]!, argv.slice(1), { cwd: run.dir, env, stdio: ["ignore", fd, fd], detached: true });
    closeSync(fd);
    run.child = child;
    run.cause = undefined;
    const startedAt = kubeTime();
    run.containerID = `fake://${run.uid}-${run.restarts}`;
    run.exited = new Promise<void>((resolve) => {
      let settled = false;
      child.once("spawn", () => {
        if (child.pid !== undefined) trackGroup(child.pid);
        run.phase = "Running";
        run.state = { running: { startedAt } };
        this.report(run);
      });
      child.once("error", (e) => {
        if (settled || child.pid !== undefined) return;
        settled = true;
        // exec failed: the runtime reports it as a terminated container
        this.exitedWith(run, { exitCode: 128, reason: "StartError", message: e.message, startedAt, finishedAt: kubeTime() });
        resolve();
      });
      child.once("exit", (code, signal) => {
        if (settled) return;
        settled = true;
        if (child.pid !== undefined) {
          // whatever the container left behind in its group dies with it
          killGroup(child.pid, "SIGKILL");
          untrackGroup(child.pid);
        }
        const exitCode = code ?? 128 + (signal ? (constants.signals[signal] ?? 0) : 0);
        const reason = run.cause?.reason ?? (exitCode === 0 ? "Completed" : "Error");
        this.exitedWith(run, { exitCode, reason, startedAt, finishedAt: kubeTime() });
        resolve();
      });
    });
  }

  /** Records a container exit and decides: restart, or the pod's final phase. */
  private exitedWith(run: Run, terminated: { exitCode: number; reason: string; message?: string; startedAt: string; finishedAt: string }): void {
    const state: ContainerState = { terminated: { ...terminated, containerID: run.containerID } };
    const cause = run.cause;
    const policy = run.pod.spec.restartPolicy ?? "Always";
    const restart = !cause?.pod && !run.deleting && !this.stopped && (policy === "Always" || (policy === "OnFailure" && terminated.exitCode !== 0));
    if (restart) {
      const backoff = Math.min(RESTART_BACKOFF_MS * 2 ** run.restarts, MAX_RESTART_BACKOFF_MS);
      run.lastState = state;
      run.state = { waiting: { reason: "CrashLoopBackOff", message: `back-off ${Math.round(backoff / 1000)}s restarting failed container=${run.container.name} pod=${run.name}_${run.namespace}(${run.uid})` } };
      run.phase = "Running";
      this.report(run);
      this.after(run, backoff, () => {
        run.restarts++;
        void this.launch(run);
      });
      return;
    }
    run.state = state;
    run.done = true;
    if (cause?.pod) {
      run.phase = "Failed";
      run.podReason = cause.pod.reason;
      run.podMessage = cause.pod.message;
    } else run.phase = terminated.exitCode === 0 ? "Succeeded" : "Failed";
    for (const t of run.timers) clearTimeout(t);
    run.timers.clear();
    this.report(run);
  }

  /** Kills the pod's process (SIGTERM first when `graceMs` > 0) and records why. */
  private async killRun(run: Run, cause: KillCause, graceMs: number): Promise<void> {
    if (run.done) return;
    run.cause = cause;
    const child = run.child;
    if (child?.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      const pid = child.pid;
      if (graceMs > 0) {
        killGroup(pid, "SIGTERM");
        const t = setTimeout(() => killGroup(pid, "SIGKILL"), graceMs);
        await run.exited;
        clearTimeout(t);
      } else {
        killGroup(pid, "SIGKILL");
        await run.exited;
      }
      return;
    }
    // nothing running (waiting for config, an image or a restart): fail the pod as is
    if (cause.pod) {
      run.done = true;
      run.phase = "Failed";
      run.podReason = cause.pod.reason;
      run.podMessage = cause.pod.message;
      for (const t of run.timers) clearTimeout(t);
      run.timers.clear();
      this.report(run);
    }
  }

  /** Graceful deletion: SIGTERM, the grace period, SIGKILL, the last status, then the final delete. */
  private async delete(run: Run): Promise<void> {
    run.deleting = true;
    for (const t of run.timers) clearTimeout(t);
    run.timers.clear();
    const grace = run.pod.metadata.deletionGracePeriodSeconds ?? run.pod.spec.terminationGracePeriodSeconds ?? 30;
    if (!run.done) await this.killRun(run, { reason: "Error" }, grace * 1000);
    if (!run.done) {
      // it never ran: report it terminated
      run.done = true;
      run.phase = "Failed";
    }
    await this.flush(run);
    await this.confirmDeletion(run.namespace, run.name, run.uid);
    this.forget(run);
  }

  private async confirmDeletion(namespace: string, name: string, uid: string): Promise<void> {
    try {
      await this.options.http.request("DELETE", `/api/v1/namespaces/${namespace}/pods/${name}`, { apiVersion: "v1", kind: "DeleteOptions", gracePeriodSeconds: 0, preconditions: { uid } });
    } catch (e) {
      if (!(isKubeApiError(e) && (e.status === 404 || e.status === 409))) this.errors.push(e);
    }
  }

  // ---- environment ----

  private async environment(run: Run): Promise<Record<string, string>> {
    const { namespace } = run;
    const c = run.container;
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? "/usr/local/bin:/usr/bin:/bin",
      HOME: run.dir,
      HOSTNAME: run.name,
      KUBERNETES_SERVICE_HOST: this.options.apiServer.host,
      KUBERNETES_SERVICE_PORT: String(this.options.apiServer.port),
      KUBERNETES_SERVICE_PORT_HTTPS: String(this.options.apiServer.port),
    };
    const cache = new Map<string, Promise<Record<string, string> | undefined>>();
    const data = (kind: "secret" | "configmap", name: string) => {
      const k = `${kind}/${name}`;
      let p = cache.get(k);
      if (!p) {
        p = this.readData(kind, namespace, name);
        cache.set(k, p);
      }
      return p;
    };
    const missing = (kind: "secret" | "configmap", name: string) => new ConfigError(`${kind} "${name}" not found`);
    for (const from of c.envFrom ?? []) {
      const ref = from.secretRef ?? from.configMapRef;
      if (!ref) continue;
      const kind = from.secretRef ? "secret" : "configmap";
      const values = await data(kind, ref.name);
      if (!values) {
        if (ref.optional) continue;
        throw missing(kind, ref.name);
      }
      for (const [k, v] of Object.entries(values)) env[`${from.prefix ?? ""}${k}`] = v;
    }
    for (const e of c.env ?? []) {
      const from = e.valueFrom;
      if (!from) {
        env[e.name] = expandVars(e.value ?? "", env);
        continue;
      }
      const keyRef = from.secretKeyRef ?? from.configMapKeyRef;
      if (keyRef) {
        const kind = from.secretKeyRef ? "secret" : "configmap";
        const values = await data(kind, keyRef.name);
        if (!values) {
          if (keyRef.optional) continue;
          throw missing(kind, keyRef.name);
        }
        const v = values[keyRef.key];
        if (v === undefined) {
          if (keyRef.optional) continue;
          throw new ConfigError(`couldn't find key ${keyRef.key} in ${kind === "secret" ? "Secret" : "ConfigMap"} ${namespace}/${keyRef.name}`);
        }
        env[e.name] = v;
      } else if (from.fieldRef) env[e.name] = fieldValue(run.pod, from.fieldRef.fieldPath);
      else if (from.resourceFieldRef) env[e.name] = this.resourceValue(run, from.resourceFieldRef.resource, from.resourceFieldRef.divisor);
    }
    return env;
  }

  private async readData(kind: "secret" | "configmap", namespace: string, name: string): Promise<Record<string, string> | undefined> {
    try {
      const obj = await this.options.http.request<{ data?: Record<string, string>; binaryData?: Record<string, string> }>(
        "GET",
        `/api/v1/namespaces/${namespace}/${kind === "secret" ? "secrets" : "configmaps"}/${name}`,
      );
      const out: Record<string, string> = {};
      for (const [k, v] of Object.entries(obj.data ?? {})) out[k] = kind === "secret" ? Buffer.from(v, "base64").toString("utf8") : v;
      for (const [k, v] of Object.entries(obj.binaryData ?? {})) out[k] = Buffer.from(v, "base64").toString("utf8");
      return out;
    } catch (e) {
      if (isKubeApiError(e) && e.status === 404) return undefined;
      throw e;
    }
  }

  private resourceValue(run: Run, resource: string, divisor = "1"): string {
    const [kind, name] = resource.split(".") as [string, string];
    const r = run.container.resources;
    const node = this.options.nodes.find((n) => n.name === run.pod.spec.nodeName);
    const fallback = name === "cpu" ? node?.cpu : name === "memory" ? node?.memory : undefined;
    const text = (kind === "limits" ? r?.limits?.[name] : (r?.requests?.[name] ?? r?.limits?.[name])) ?? (kind === "limits" ? fallback : "0") ?? "0";
    return String(Math.ceil(parseQuantity(text) / parseQuantity(divisor)));
  }

  // ---- memory ----

  private checkMemory(): void {
    for (const run of this.runs.values()) {
      const pid = run.child?.pid;
      if (run.memoryLimit === undefined || pid === undefined || run.cause || run.child!.exitCode !== null || run.child!.signalCode !== null) continue;
      if (treeRss(pid) > run.memoryLimit) {
        run.cause = { reason: "OOMKilled" };
        killGroup(pid, "SIGKILL");
      }
    }
  }

  // ---- status ----

  /** Sends the run's status now or right after the send in flight (only the latest is sent). */
  private report(run: Run): void {
    run.dirty = true;
    if (run.sending) return;
    // Cleared asynchronously: a loop with nothing new to send finishes synchronously,
    // and clearing inside it would run before this assignment and leave a settled
    // promise behind forever (no status sent again, flush() spinning).
    run.sending = this.sendLoop(run).finally(() => {
      run.sending = undefined;
      if (run.dirty && !this.stopped) this.report(run);
    });
  }

  private async flush(run: Run): Promise<void> {
    while (run.sending) await run.sending;
  }

  private async sendLoop(run: Run): Promise<void> {
    while (run.dirty && !this.stopped) {
      run.dirty = false;
      const status = JSON.stringify(this.status(run));
      // retries of a waiting container report the same status: send it once
      if (status === run.sent) continue;
      try {
        await this.options.http.request(
          "PATCH",
          `/api/v1/namespaces/${run.namespace}/pods/${run.name}/status`,
          `{"metadata":{"uid":${JSON.stringify(run.uid)}},"status":${status}}`,
          PATCH.merge,
        );
        run.sent = status;
      } catch (e) {
        if (!(isKubeApiError(e) && (e.status === 404 || e.status === 409))) this.errors.push(e);
      }
    }
  }

  private condition(run: Run, type: string, status: string, reason?: string, message?: string): Condition {
    const now = kubeTime();
    const prev = run.transitions.get(type);
    const time = prev && prev.status === status ? prev.time : now;
    run.transitions.set(type, { status, time });
    return { type, status, lastTransitionTime: time, ...(reason ? { reason } : {}), ...(message ? { message } : {}) };
  }

  private status(run: Run) {
    const c = run.container;
    const running = "running" in run.state;
    const notReady = run.done ? "PodCompleted" : "ContainersNotReady";
    const notReadyMessage = run.done ? undefined : `containers with unready status: [${c.name}]`;
    const scheduled = run.pod.status?.conditions?.find((x) => x.type === "PodScheduled");
    const conditions = [
      this.condition(run, "Initialized", "True"),
      running ? this.condition(run, "Ready", "True") : this.condition(run, "Ready", "False", notReady, notReadyMessage),
      running ? this.condition(run, "ContainersReady", "True") : this.condition(run, "ContainersReady", "False", notReady, notReadyMessage),
      scheduled ?? { type: "PodScheduled", status: "True", lastTransitionTime: run.startTime },
    ];
    return {
      phase: run.phase,
      reason: run.podReason ?? null,
      message: run.podMessage ?? null,
      conditions,
      hostIP: "127.0.0.1",
      podIP: "127.0.0.1",
      podIPs: [{ ip: "127.0.0.1" }],
      startTime: run.startTime,
      containerStatuses: [
        {
          name: c.name,
          image: c.image ?? "",
          imageID: run.containerID ? `fake://${c.image ?? ""}` : "",
          ...(run.containerID ? { containerID: run.containerID } : {}),
          ready: running,
          started: running,
          restartCount: run.restarts,
          state: run.state,
          lastState: run.lastState ?? {},
        },
      ],
    };
  }

  // ---- kubelet API (logs) ----

  private serve(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? "/", "https://kubelet");
    const parts = url.pathname.split("/").filter(Boolean).map(decodeURIComponent);
    if (req.method === "GET" && parts[0] === "healthz") {
      res.end("ok");
      return;
    }
    if (req.method !== "GET" || parts[0] !== "containerLogs" || parts.length !== 4) {
      res.writeHead(404, { "content-type": "text/plain" }).end("404 page not found\n");
      return;
    }
    const [, namespace, name, container] = parts as [string, string, string, string];
    const run = this.byName.get(`${namespace}/${name}`);
    const fail = (status: number, message: string) => res.writeHead(status, { "content-type": "text/plain" }).end(message);
    if (!run) return void fail(404, `pod "${name}" in namespace "${namespace}" not found`);
    if (container !== run.container.name) return void fail(400, `container "${container}" in pod "${name}" is not available`);
    const previous = url.searchParams.get("previous") === "true";
    const index = previous ? run.logs.length - 2 : run.logs.length - 1;
    const path = run.logs[index];
    if (!path) {
      if (previous) return void fail(400, `previous terminated container "${container}" in pod "${name}" not found`);
      const waiting = "waiting" in run.state ? run.state.waiting.reason : "ContainerCreating";
      return void fail(400, `container "${container}" in pod "${name}" is waiting to start: ${waiting}`);
    }
    const tailLines = url.searchParams.has("tailLines") ? Number(url.searchParams.get("tailLines")) : undefined;
    const limitBytes = url.searchParams.has("limitBytes") ? Number(url.searchParams.get("limitBytes")) : Infinity;
    const follow = url.searchParams.get("follow") === "true" && !previous && index === run.logs.length - 1;
    res.writeHead(200, { "content-type": "text/plain" });
    void streamLog(res, path, {
      tailLines,
      limitBytes,
      // follow until this attempt's process has exited
      live: follow ? () => run.logs.length - 1 === index && !!run.child && run.child.exitCode === null && run.child.signalCode === null && !this.stopped : undefined,
    });
  }
}

/** Starts a fake kubelet for `options.nodes`: HTTPS server, Node objects, pod watches. */
export async function startFakeKubelet(options: FakeKubeletOptions): Promise<FakeKubelet> {
  const kubelet = new FakeKubelet(options);
  await kubelet.start();
  return kubelet;
}

/** Follow-mode poll interval for a log file. */
const LOG_POLL_MS = 50;

async function streamLog(res: ServerResponse, path: string, options: { tailLines?: number; limitBytes: number; live?: () => boolean }): Promise<void> {
  let closed = false;
  res.once("close", () => (closed = true));
  let budget = options.limitBytes;
  const write = (buf: Buffer) => {
    if (budget <= 0) return;
    const out = buf.length > budget ? buf.subarray(0, budget) : buf;
    budget -= out.length;
    res.write(out);
  };
  let offset = 0;
  const initial = existsSync(path) ? readFileSync(path) : Buffer.alloc(0);
  offset = initial.length;
  write(options.tailLines === undefined ? initial : tail(initial, options.tailLines));
  while (options.live && !closed && budget > 0) {
    const alive = options.live();
    const size = existsSync(path) ? statSync(path).size : 0;
    if (size > offset) {
      const fd = openSync(path, "r");
      const buf = Buffer.alloc(size - offset);
      readSync(fd, buf, 0, buf.length, offset);
      closeSync(fd);
      offset = size;
      write(buf);
    } else if (!alive) break;
    await new Promise((r) => setTimeout(r, LOG_POLL_MS));
  }
  res.end();
}

/** The last `n` lines of `buf` (a final line without a newline counts). */
function tail(buf: Buffer, n: number): Buffer {
  if (n <= 0) return Buffer.alloc(0);
  let end = buf.length;
  if (end > 0 && buf[end - 1] === 0x0a) end--;
  let pos = end;
  for (let seen = 0; pos > 0; ) {
    const nl = buf.lastIndexOf(0x0a, pos - 1);
    if (nl < 0) return buf;
    seen++;
    if (seen === n) return buf.subarray(nl + 1);
    pos = nl;
  }
  return buf;
}

function refKey(pod: PodRef): string {
  if (typeof pod === "string") return pod.includes("/") ? pod : `default/${pod}`;
  return `${pod.metadata?.namespace ?? "default"}/${pod.metadata?.name ?? ""}`;
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

/** `$(VAR)` expanded from `env`, `$$` an escaped `$`; unknown references stay as written. */
export function expandVars(text: string, env: Record<string, string>): string {
  return text.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (m, name: string | undefined) => (name === undefined ? "$" : (env[name] ?? m)));
}

function fieldValue(pod: Pod, path: string): string {
  const m = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(path);
  if (m) return pod.metadata[m[1] as "labels" | "annotations"]?.[m[2]!] ?? "";
  switch (path) {
    case "metadata.name":
      return pod.metadata.name;
    case "metadata.namespace":
      return pod.metadata.namespace ?? "";
    case "metadata.uid":
      return pod.metadata.uid ?? "";
    case "spec.nodeName":
      return pod.spec.nodeName ?? "";
    case "spec.serviceAccountName":
      return pod.spec.serviceAccountName ?? "";
    case "status.hostIP":
    case "status.podIP":
    case "status.podIPs":
      return "127.0.0.1";
    default:
      return "";
  }
}

const DECIMAL: Record<string, number> = { n: 1e-9, u: 1e-6, m: 1e-3, "": 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18 };
const BINARY: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60 };

/** A resource quantity's value ("64Mi" → 67108864, "500m" → 0.5); the API server has validated it. */
function parseQuantity(text: string): number {
  const m = /^([+-]?[0-9.]+)(?:[eE]([+-]?[0-9]+)|([a-zA-Z]+))?$/.exec(text.trim());
  if (!m) return NaN;
  if (m[2]) return Number(m[1]) * 10 ** Number(m[2]);
  return Number(m[1]) * (BINARY[m[3] ?? ""] ?? DECIMAL[m[3] ?? ""] ?? NaN);
}

/** Resident memory (bytes) of `pid` and all its descendants. */
function treeRss(pid: number): number {
  let total = 0;
  const stack = [pid];
  while (stack.length > 0) {
    const p = stack.pop()!;
    try {
      const status = readFileSync(`/proc/${p}/status`, "utf8");
      const m = /VmRSS:\s+(\d+) kB/.exec(status);
      if (m) total += Number(m[1]) * 1024;
      for (const task of readdirSync(`/proc/${p}/task`)) {
        const children = readFileSync(`/proc/${p}/task/${task}/children`, "utf8").trim();
        if (children) for (const c of children.split(/\s+/)) stack.push(Number(c));
      }
    } catch {
      // exited meanwhile
    }
  }
  return total;
}
