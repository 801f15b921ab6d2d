/**
 * A real Kubernetes control plane for tests: etcd, kube-apiserver and
 * kube-scheduler v1.20.2 on 127.0.0.1 (built once by test/k8s/build-kube.sh and
 * cached), plus a fake kubelet that runs pods as local processes. Ready in a few
 * seconds; `stop()` kills everything and removes its directory.
 *
 * What it is not: there is no kube-controller-manager (controllers.ts does the
 * service-account, token and namespace chores), no container runtime, no
 * networking. Pods run their first container's command on this machine.
 *
 * @example
 * ```ts
 * import { CoreV1Api } from "@kubernetes/client-node";
 * import { kubeBinaries, startCluster } from "./cluster.js";
 *
 * const cluster = await startCluster();             // needs kubeBinaries()
 * const core = cluster.kubeConfig.makeApiClient(CoreV1Api);
 * await core.createNamespacedPod({ namespace: "default", body: pod });
 * await cluster.waitForPod("default", "p", (p) => p.status?.phase === "Succeeded");
 * await cluster.stop();
 * ```
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { homedir, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { KubeConfig, KubernetesObjectApi, type KubernetesObject } from "@kubernetes/client-node";
import { isKubeApiError, KubeHttp, type KubeObject } from "./api.js";
import { selfSignedCert, serviceAccountKeys } from "./certs.js";
import { startControllers, type Controllers } from "./controllers.js";
import { startFakeKubelet, type FakeKubelet, type TestNode } from "./kubelet.js";
import { startDaemon, startWatchdog, type Daemon } from "./procs.js";

export type { TestNode } from "./kubelet.js";
export { FakeKubelet } from "./kubelet.js";

/** The Kubernetes version the binaries are built from. */
export const KUBE_VERSION = "1.20.2";
/** The node a cluster gets when `startCluster()` is given none. */
export const DEFAULT_NODE: TestNode = { name: "petrel-node-1", cpu: "4", memory: "8Gi", pods: 110 };
/** How long the control plane may take to become ready. */
export const START_TIMEOUT_MS = 60_000;

/** A running test cluster. */
export interface TestCluster {
  /** `https://127.0.0.1:<port>` */
  server: string;
  /** A kubeconfig file (CA data and a bearer token) for @kubernetes/client-node or kubectl. */
  kubeconfigPath: string;
  /** Loaded from `kubeconfigPath`. */
  kubeConfig: KubeConfig;
  /** An admin bearer token (group system:masters). */
  token: string;
  /** The API server's certificate (its own CA). */
  ca: string;
  /** The node agent playing the kubelet for every node. */
  kubelet: FakeKubelet;
  /** A raw JSON client with the admin token (any verb, any patch type, watches). */
  http: KubeHttp;
  /** The node objects registered. */
  nodes: TestNode[];
  /** The cluster's directory (logs of etcd, kube-apiserver, kube-scheduler, the pods). */
  dir: string;
  /** Creates a namespace and returns once pods can be admitted in it (its default ServiceAccount has a token). */
  createNamespace(name: string): Promise<void>;
  /** Polls a pod until `predicate` holds; rejects with the pod's last status after `timeoutMs`. */
  waitForPod(namespace: string, name: string, predicate: (pod: PodView) => boolean, timeoutMs?: number): Promise<PodView>;
  /** Kills everything and removes `dir`. */
  stop(): Promise<void>;
}

/** The parts of a pod `waitForPod` predicates look at, as the API returns them (times are strings). */
export interface PodView extends KubeObject {
  spec: { nodeName?: string; [key: string]: unknown };
  status?: {
    phase?: string;
    reason?: string;
    message?: string;
    conditions?: { type: string; status: string; reason?: string; message?: string }[];
    containerStatuses?: {
      name: string;
      restartCount: number;
      state?: {
        waiting?: { reason?: string; message?: string };
        running?: { startedAt?: string };
        terminated?: { exitCode: number; reason?: string; message?: string; startedAt?: string; finishedAt?: string };
      };
    }[];
  };
}

/** Options of `startCluster()`. */
export interface ClusterOptions {
  /** Nodes to register (default: one, DEFAULT_NODE). */
  nodes?: TestNode[];
}

const CACHE_DIR = process.env.PETREL_KUBE_CACHE ?? join(homedir(), ".cache", "petrel", `kube-${KUBE_VERSION}`);

/** test/k8s/build-kube.sh, found from this file whether it runs from source or from dist/. */
function buildScript(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const candidate = join(dir, "test", "k8s", "build-kube.sh");
    if (existsSync(candidate)) return candidate;
    if (existsSync(join(dir, "build-kube.sh"))) return join(dir, "build-kube.sh");
    dir = dirname(dir);
  }
  throw new Error("test/k8s/build-kube.sh not found");
}

function onPath(cmd: string): boolean {
  return (process.env.PATH ?? "").split(":").some((d) => d && existsSync(join(d, cmd)));
}

/** The directory of kube-apiserver and kube-scheduler when they are built and etcd is installed; else undefined. */
export function kubeBinaries(): string | undefined {
  const ok = existsSync(join(CACHE_DIR, "kube-apiserver")) && existsSync(join(CACHE_DIR, "kube-scheduler")) && onPath("etcd") && onPath("openssl");
  return ok ? CACHE_DIR : undefined;
}

/** Builds the binaries if needed (build-kube.sh: ~8 min on 2 cores the first time) and returns their directory. */
export function ensureKubeBinaries(): string {
  const existing = kubeBinaries();
  if (existing) return existing;
  const out = execFileSync("bash", [buildScript()], { env: { ...process.env, PETREL_KUBE_CACHE: CACHE_DIR }, stdio: ["ignore", "pipe", "inherit"], encoding: "utf8" });
  const dir = out.trim().split("\n").at(-1)!;
  if (!kubeBinaries()) throw new Error(`build-kube.sh finished but the binaries are not in ${dir}`);
  return dir;
}

/** A free TCP port on 127.0.0.1 (closed again; a small race we accept in tests). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

async function waitUntil(what: string, check: () => Promise<boolean>, daemons: Daemon[], timeoutMs = START_TIMEOUT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const dead = daemons.find((d) => d.child.exitCode !== null || d.child.signalCode !== null);
    if (dead) throw new Error(`${dead.name} exited while waiting for ${what}:\n${dead.tail()}`);
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}:\n${daemons.map((d) => `--- ${d.name}\n${d.tail(10)}`).join("\n")}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function kubeconfigYaml(server: string, ca: string, token: string): string {
  const caData = Buffer.from(ca).toString("base64");
  return `apiVersion: v1
kind: Config
clusters:
- name: petrel-test
  cluster:
    server: ${server}
    certificate-authority-data: ${caData}
users:
- name: admin
  user:
    token: ${token}
contexts:
- name: petrel-test
  context:
    cluster: petrel-test
    user: admin
    namespace: default
current-context: petrel-test
`;
}

/**
 * Starts etcd, kube-apiserver, kube-scheduler, the controllers and the fake
 * kubelet, and registers the nodes. Needs `kubeBinaries()`.
 */
export async function startCluster(options: ClusterOptions = {}): Promise<TestCluster> {
  const bin = kubeBinaries();
  if (!bin) throw new Error("kube-apiserver/kube-scheduler are not built: run `bash test/k8s/build-kube.sh` (or call ensureKubeBinaries())");
  const nodes = options.nodes ?? [DEFAULT_NODE];
  const dir = mkdtempSync(join(tmpdir(), "petrel-k8s-"));
  const watchdog = startWatchdog(dir);
  const daemons: Daemon[] = [];
  let kubelet: FakeKubelet | undefined;
  let controllers: Controllers | undefined;
  let http: KubeHttp | undefined;
  const stop = async () => {
    controllers?.stop();
    await kubelet?.stop();
    http?.close();
    // nothing of the cluster outlives it, so there is nothing to shut down cleanly
    await Promise.all(daemons.map((d) => d.stop(0)));
    watchdog.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const pki = join(dir, "pki");
    mkdirSync(pki);
    const serving = selfSignedCert(pki, "apiserver");
    const kubeletCert = selfSignedCert(pki, "kubelet");
    const sa = serviceAccountKeys(pki);
    const token = `petrel-admin-${Math.random().toString(36).slice(2)}`;
    writeFileSync(join(pki, "tokens.csv"), `${token},admin,admin-uid,"system:masters"\n`);

    const [etcdClient, etcdPeer, apiPort, schedulerPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
    const etcdUrl = `http://127.0.0.1:${etcdClient}`;
    const etcd = startDaemon(
      "etcd",
      "etcd",
      [
        "--name=petrel",
        `--data-dir=${join(dir, "etcd")}`,
        `--listen-client-urls=${etcdUrl}`,
        `--advertise-client-urls=${etcdUrl}`,
        `--listen-peer-urls=http://127.0.0.1:${etcdPeer}`,
        `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeer}`,
        `--initial-cluster=petrel=http://127.0.0.1:${etcdPeer}`,
        "--unsafe-no-fsync",
        // one member: elect itself in ~0.1 s instead of ~1 s
        "--heartbeat-interval=20",
        "--election-timeout=100",
        "--log-level=warn",
      ],
      { cwd: dir, logPath: join(dir, "etcd.log") },
    );
    daemons.push(etcd);
    await waitUntil("etcd", async () => (await fetch(`${etcdUrl}/health`)).ok, daemons);

    const server = `https://127.0.0.1:${apiPort}`;
    const apiserver = startDaemon(
      "kube-apiserver",
      join(bin, "kube-apiserver"),
      [
        `--etcd-servers=${etcdUrl}`,
        "--bind-address=127.0.0.1",
        "--advertise-address=127.0.0.1",
        `--secure-port=${apiPort}`,
        "--insecure-port=0",
        `--cert-dir=${join(dir, "apiserver-certs")}`,
        `--tls-cert-file=${serving.certPath}`,
        `--tls-private-key-file=${serving.keyPath}`,
        `--token-auth-file=${join(pki, "tokens.csv")}`,
        "--authorization-mode=RBAC",
        `--service-account-key-file=${sa.publicKeyPath}`,
        `--service-account-signing-key-file=${sa.privateKeyPath}`,
        "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
        "--service-cluster-ip-range=10.96.0.0/16",
        "--kubelet-preferred-address-types=InternalIP",
        // the "kubernetes" Service cannot point at a loopback address; nothing here needs it
        "--endpoint-reconciler-type=none",
        "--allow-privileged=true",
        "--profiling=false",
        "--v=0",
      ],
      { cwd: dir, logPath: join(dir, "kube-apiserver.log") },
    );
    daemons.push(apiserver);
    http = new KubeHttp({ server, token, ca: serving.cert });
    const api = http;
    await waitUntil("kube-apiserver /readyz", async () => (await api.open("GET", "/readyz")).statusCode === 200, daemons);

    const kubeconfigPath = join(dir, "kubeconfig");
    writeFileSync(kubeconfigPath, kubeconfigYaml(server, serving.cert, token), { mode: 0o600 });
    const scheduler = startDaemon(
      "kube-scheduler",
      join(bin, "kube-scheduler"),
      [
        `--kubeconfig=${kubeconfigPath}`,
        `--authentication-kubeconfig=${kubeconfigPath}`,
        `--authorization-kubeconfig=${kubeconfigPath}`,
        "--leader-elect=false",
        "--bind-address=127.0.0.1",
        `--secure-port=${schedulerPort}`,
        `--cert-dir=${join(dir, "scheduler-certs")}`,
        "--port=0",
        "--v=0",
      ],
      { cwd: dir, logPath: join(dir, "kube-scheduler.log") },
    );
    daemons.push(scheduler);

    controllers = await startControllers(api, { signingKey: sa.privateKey, ca: serving.cert });
    kubelet = await startFakeKubelet({
      http: api,
      nodes,
      dir,
      tls: { cert: kubeletCert.cert, key: kubeletCert.key },
      apiServer: { host: "127.0.0.1", port: apiPort },
    });
    await controllers.ensureNamespace("default");
    await waitUntil("kube-scheduler /healthz", async () => (await fetchInsecure(`https://127.0.0.1:${schedulerPort}/healthz`)) === 200, daemons);

    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromFile(kubeconfigPath);
    const ctl = controllers;
    return {
      server,
      kubeconfigPath,
      kubeConfig,
      token,
      ca: serving.cert,
      kubelet,
      http: api,
      nodes,
      dir,
      createNamespace: (name) => ctl.ensureNamespace(name),
      waitForPod: (namespace, name, predicate, timeoutMs) => waitForPod(api, namespace, name, predicate, timeoutMs),
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}

/** GET over HTTPS without verifying the certificate (the scheduler's self-signed one); resolves to the status. */
async function fetchInsecure(url: string): Promise<number> {
  const { request } = await import("node:https");
  return new Promise((resolve, reject) => {
    const req = request(url, { rejectUnauthorized: false }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on("error", reject);
    req.end();
  });
}

/** Default wait of `waitForPod`. */
export const WAIT_TIMEOUT_MS = 20_000;

async function waitForPod(http: KubeHttp, namespace: string, name: string, predicate: (pod: PodView) => boolean, timeoutMs = WAIT_TIMEOUT_MS): Promise<PodView> {
  const deadline = Date.now() + timeoutMs;
  let last: PodView | undefined;
  for (;;) {
    try {
      last = await http.request<PodView>("GET", `/api/v1/namespaces/${namespace}/pods/${name}`);
      if (predicate(last)) return last;
    } catch (e) {
      if (!(isKubeApiError(e) && e.status === 404)) throw e;
      last = undefined;
    }
    if (Date.now() > deadline) throw new Error(`pod ${namespace}/${name}: condition not met within ${timeoutMs} ms; last status: ${JSON.stringify(last?.status ?? "not found")}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Whether a pod object is gone (404). */
export async function podGone(cluster: TestCluster, namespace: string, name: string): Promise<boolean> {
  try {
    await cluster.http.request("GET", `/api/v1/namespaces/${namespace}/pods/${name}`);
    return false;
  } catch (e) {
    if (isKubeApiError(e) && e.status === 404) return true;
    throw e;
  }
}

/**
 * Server-side dry-run create of any manifest (`dryRun: "All"`, the API chosen by
 * its apiVersion and kind): resolves with what the server would store, rejects
 * with an Error carrying the API server's own message (admission and validation
 * included).
 */
export async function dryRunApply<T extends KubernetesObject>(cluster: TestCluster, manifest: T): Promise<T> {
  const client = KubernetesObjectApi.makeApiClient(cluster.kubeConfig);
  try {
    // a namespaced kind without a namespace gets the kubeconfig's ("default")
    return await client.create(structuredClone(manifest), undefined, "All");
  } catch (e) {
    throw new Error(apiMessage(e), { cause: e });
  }
}

/** The API server's message in a @kubernetes/client-node ApiException (its body is the Status JSON). */
export function apiMessage(e: unknown): string {
  const body = (e as { body?: unknown }).body;
  if (typeof body === "string") {
    try {
      const parsed = JSON.parse(body) as { message?: string };
      if (parsed.message) return parsed.message;
    } catch {
      return body;
    }
  }
  if (body && typeof body === "object" && "message" in body) return String((body as { message: unknown }).message);
  return e instanceof Error ? e.message : String(e);
}
