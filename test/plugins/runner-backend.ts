/**
 * A real backend on a socket for the runner suites, with the fixtures' bundle
 * registered and a stand-in for the engine that records what runtimes report
 * (outcomes and checkpoints). `request()` prepares one attempt the way the engine
 * does — the node's record with its task and inputs, a node token — and returns
 * the LaunchRequest a runner receives.
 */
import { createServer, connect, type Server, type Socket } from "node:net";
import { join } from "node:path";
import type { BlobRef, Literal, LiteralMap, TaskSpec } from "../../kernel/index.js";
import type { AttemptAssignment, AttemptOutcome } from "../../kernel/runtime/index.js";
import { createTestBackend, type TestBackend } from "../../backend/index.js";
import type { AttemptKey } from "../../backend/api/index.js";
import type { LaunchRequest } from "../../backend/plugins/index.js";
import { arrowInput, assignmentFor, fixturesBundle, float, int, str } from "../runtime/helpers.js";
import { createFsBlobStore } from "../../kernel/index.js";

export const PROJECT = "demo";
export const DOMAIN = "development";

export interface RunnerBackend {
  backend: TestBackend;
  url: string;
  blobRoot: string;
  reports: { key: AttemptKey; outcome: AttemptOutcome; at: number }[];
  checkpoints: { key: AttemptKey; checkpoint: BlobRef }[];
  /** Prepares attempt `attempt` of node `task` in a fresh execution; `spec` overrides parts of the task's spec. */
  request(task: string, inputs: LiteralMap, options?: { attempt?: number; spec?: Partial<TaskSpec>; endpoint?: string }): Promise<LaunchRequest>;
  /** The report of an attempt, once it arrives. */
  reportOf(assignment: AttemptAssignment): AttemptOutcome | undefined;
  /** An Arrow table (x = 1.5, 2.5, 3.5) uploaded to the project. */
  arrowInput(): Promise<Literal>;
  close(): Promise<void>;
}

export async function startRunnerBackend(): Promise<RunnerBackend> {
  const backend = await createTestBackend({ listen: true });
  const bundle = fixturesBundle();
  const reports: RunnerBackend["reports"] = [];
  const checkpoints: RunnerBackend["checkpoints"] = [];
  backend.deps.engine = {
    created() {},
    terminated() {},
    heartbeat: () => true,
    async reportOutcome(key, outcome) {
      reports.push({ key, outcome, at: Date.now() });
      return backend.store.getNodeExecution(key.execution, key.node);
    },
    async recordCheckpoint(key, checkpoint) {
      checkpoints.push({ key, checkpoint });
    },
    logs: { read: async () => undefined },
  };
  await backend.createProject(PROJECT);
  const ok = async (res: Promise<Response>, what: string) => {
    const r = await res;
    if (r.status >= 300) throw new Error(`${what}: ${r.status} ${await r.text()}`);
    return r;
  };
  await ok(backend.request(`/projects/${PROJECT}/bundles/${bundle.hash}`, { method: "PUT", body: bundle.bytes() }), "uploading the bundle");
  const base = `/projects/${PROJECT}/domains/${DOMAIN}`;
  for (const spec of bundle.manifest.specs.tasks) {
    await ok(backend.request(`${base}/tasks/${spec.name}/versions/${bundle.hash}`, { method: "PUT", json: { spec, bundle: bundle.hash } }), `registering task ${spec.name}`);
  }
  for (const spec of bundle.manifest.specs.workflows) {
    await ok(backend.request(`${base}/workflows/${spec.name}/versions/${bundle.hash}`, { method: "PUT", json: { spec, bundle: bundle.hash } }), `registering workflow ${spec.name}`);
  }
  const blobRoot = join(backend.dir, "blobs");
  const upload = async (literal: Literal): Promise<Literal> => {
    if (literal.kind !== "blob") return literal;
    const bytes = createFsBlobStore(blobRoot).get(literal.blob);
    await ok(backend.request(`/projects/${PROJECT}/blobs/${literal.blob.hash}`, { method: "PUT", body: bytes }), "uploading an input blob");
    return literal;
  };
  const df = await upload(arrowInput(createFsBlobStore(blobRoot)));
  let executions = 0;

  return {
    backend,
    url: backend.url!,
    blobRoot,
    reports,
    checkpoints,
    async request(task, inputs, options = {}) {
      const name = `e${++executions}`;
      const suiteInputs = { a: int(1), b: int(2), df, factor: float(1), text: str("x"), n: int(1) };
      await ok(backend.request(`${base}/executions`, { method: "POST", json: { name, workflow: { name: "suite" }, inputs: suiteInputs } }), "creating an execution");
      const attempt = options.attempt ?? 0;
      const assignment: AttemptAssignment = { ...assignmentFor(task, bundle.hash, { attempt, maxAttempts: attempt + 1 }), execution: { project: PROJECT, domain: DOMAIN, name } };
      const key = assignment.execution;
      const now = backend.clock.now();
      for (const literal of Object.values(inputs)) await upload(literal);
      await backend.store.putNodeExecution({ execution: key, nodeId: task, phase: "RUNNING", inputs: { inline: inputs }, target: assignment.task, attempts: attempt + 1, createdAt: now, updatedAt: now });
      const { token } = await backend.store.createNodeToken({ execution: key, node: task, createdBy: "runner tests" });
      const spec = bundle.manifest.specs.tasks.find((s) => s.name === task);
      if (!spec) throw new Error(`no task ${task} in the fixtures`);
      return { assignment, task: { ...spec, ...options.spec }, inputs, endpoint: options.endpoint ?? backend.url!, token: () => Promise.resolve(token) };
    },
    reportOf(assignment) {
      return reports.find((r) => r.key.execution.name === assignment.execution.name && r.key.node === assignment.node && r.key.attempt === assignment.attempt)?.outcome;
    },
    arrowInput: async () => df,
    close: () => backend.close(),
  };
}

/** A TCP proxy in front of the backend that can be taken down and brought back on the same port: a backend restart, as runtimes see it. */
export interface Proxy {
  url: string;
  stop(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
}

export async function startProxy(target: string): Promise<Proxy> {
  const { hostname, port: targetPort } = new URL(target);
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let port = 0;
  const listen = () =>
    new Promise<void>((resolve, reject) => {
      const s = createServer((client) => {
        const upstream = connect(Number(targetPort), hostname);
        sockets.add(client);
        sockets.add(upstream);
        client.pipe(upstream).pipe(client);
        const drop = () => {
          client.destroy();
          upstream.destroy();
          sockets.delete(client);
          sockets.delete(upstream);
        };
        client.on("error", drop).on("close", drop);
        upstream.on("error", drop).on("close", drop);
      });
      s.once("error", reject);
      s.listen(port, "127.0.0.1", () => {
        port = (s.address() as { port: number }).port;
        server = s;
        resolve();
      });
    });
  const stop = () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      sockets.clear();
      if (!server) return resolve();
      server.close(() => resolve());
      server = undefined;
    });
  await listen();
  return { url: `http://127.0.0.1:${port}`, stop, start: listen, close: stop };
}
