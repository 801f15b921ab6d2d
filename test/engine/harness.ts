/**
 * A backend that runs executions, for the engine's tests: the test backend
 * listening on a socket, the local-process runner (processes or warm workers),
 * the SQLite catalog, and the engine wired to the API. Pipelines come from one
 * bundle built from fixtures/pipelines.ts and registered through the API.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "vitest";
import { buildBundle, type Bundle, type Literal, type LiteralMap } from "../../kernel/index.js";
import { loadLiterals } from "../../backend/api/index.js";
import * as pipelines from "./fixtures/pipelines.js";
import { openCatalog, type Catalog } from "../../backend/catalog/index.js";
import { createEngine, type Engine, type EngineOptions } from "../../backend/engine/index.js";
import { createLocalProcessRunner } from "../../backend/plugins/index.js";
import type { TaskRunner } from "../../backend/plugins/index.js";
import { createTestBackend, type ExecutionRecord, type ManualClock, type MetadataStore, type NodeExecutionRecord, type TestBackend } from "../../backend/index.js";

export const PROJECT = "demo";
export const DOMAIN = "development";
export const FIXTURES = join(import.meta.dirname, "fixtures", "pipelines.ts");

export const int = (n: number): Literal => ({ kind: "int", value: String(n) });
export const bool = (b: boolean): Literal => ({ kind: "bool", value: b });
export const str = (s: string): Literal => ({ kind: "string", value: s });
export const list = (items: Literal[]): Literal => ({ kind: "list", items });

let built: Bundle | undefined;
/** The fixtures' bundle, holding every entity they export (built once per test file). */
export function fixturesBundle(): Bundle {
  return (built ??= buildBundle(pipelines, { entry: FIXTURES }));
}

/** Options of {@link startEngineBackend}. */
export interface EngineBackendOptions {
  /** Warm workers instead of a process per attempt. */
  warm?: number;
  /** A store to use instead of a temp SQLite file. */
  store?: MetadataStore;
  engine?: Partial<Omit<EngineOptions, "deps" | "runner" | "endpoint" | "catalog">>;
  /** No catalog at all. */
  noCatalog?: boolean;
  /**
   * Another runner than the local-process one (e.g. kubernetes-pod), made once the
   * backend exists; it must pass `PETREL_TEST_MARKS: marksDir` on to its runtimes.
   */
  runner?: (context: { backend: TestBackend; marksDir: string }) => TaskRunner;
}

/** A backend with an engine. */
export interface EngineBackend {
  backend: TestBackend;
  engine: Engine;
  runner: TaskRunner;
  catalog: Catalog | undefined;
  /** Where fixture tasks leave their marks (see `marks()`). */
  marksDir: string;
  /** Registers the fixtures' bundle: every task, workflow and launch plan, version = bundle hash. */
  register(): Promise<string>;
  /** Creates an execution of a workflow (or launch plan) and returns its name. */
  execute(target: { workflow: string } | { launchPlan: string }, inputs: LiteralMap, extra?: Record<string, unknown>): Promise<string>;
  /** Waits for an execution to end. */
  wait(name: string): Promise<ExecutionRecord>;
  /** The execution's nodes by id. */
  nodes(name: string): Promise<Record<string, NodeExecutionRecord>>;
  outputs(name: string): Promise<LiteralMap>;
  /** Marks left by fixture tasks, in order. */
  marks(): string[];
  close(): Promise<void>;
}

/** Starts a backend with an engine (and the fixtures registered when `register()` is called). */
export async function startEngineBackend(options: EngineBackendOptions = {}): Promise<EngineBackend> {
  // Real time: attempt spans and timeouts are what the tests look at.
  const clock: ManualClock = { now: () => Date.now(), advance: () => Date.now(), set: () => undefined };
  const backend = await createTestBackend({ listen: true, clock, ...(options.store ? { store: options.store } : {}) });
  const marksDir = mkdtempSync(join(tmpdir(), "petrel-marks-"));
  process.env.PETREL_TEST_MARKS = marksDir;
  const runner =
    options.runner?.({ backend, marksDir }) ??
    createLocalProcessRunner({
      logDir: join(backend.dir, "logs"),
      ...(options.warm ? { warm: { workers: options.warm, blobRoot: join(backend.dir, "blobs") } } : {}),
      // Fast heartbeats, so a silent runtime is noticed within a test.
      env: { PETREL_TEST_MARKS: marksDir, PETREL_HEARTBEAT_MS: "100" },
    });
  const catalog = options.noCatalog ? undefined : await openCatalog({ kind: "sqlite", path: join(backend.dir, "catalog.sqlite") });
  const engine = createEngine({
    deps: backend.deps,
    runner,
    endpoint: () => backend.url!,
    ...(catalog ? { catalog } : {}),
    retryBackoffMs: 10,
    ...options.engine,
  });
  backend.deps.engine = engine;
  await backend.createProject(PROJECT);
  await engine.start();
  const base = `/projects/${PROJECT}/domains/${DOMAIN}`;
  const eb: EngineBackend = {
    backend,
    engine,
    runner,
    catalog,
    marksDir,
    register: () => registerBundle(backend, PROJECT, DOMAIN, fixturesBundle()),
    async execute(target, inputs, extra = {}) {
      const ref = "workflow" in target ? { workflow: { name: target.workflow } } : { launchPlan: { name: target.launchPlan } };
      const res = await backend.request(`${base}/executions`, { method: "POST", json: { ...ref, inputs, ...extra } });
      const text = await res.text();
      expect(`${res.status} ${text}`).toMatch(/^201 /);
      return (JSON.parse(text) as { name: string }).name;
    },
    wait: (name) => eb.engine.wait({ project: PROJECT, domain: DOMAIN, name }),
    async nodes(name) {
      const list = await backend.store.listNodeExecutions({ project: PROJECT, domain: DOMAIN, name });
      return Object.fromEntries(list.map((n) => [n.nodeId, n]));
    },
    async outputs(name) {
      const e = await backend.store.getExecution({ project: PROJECT, domain: DOMAIN, name });
      return e?.outputs ? loadLiterals(backend.deps, e.outputs) : {};
    },
    marks() {
      try {
        return readFileSync(join(marksDir, "marks.log"), "utf8").split("\n").filter(Boolean);
      } catch {
        return [];
      }
    },
    async close() {
      await eb.engine.close();
      await catalog?.close();
      await backend.close();
      rmSync(marksDir, { recursive: true, force: true });
    },
  };
  return eb;
}

/** Uploads a bundle and registers everything it defines (one request), under version = its hash. */
export async function registerBundle(backend: Pick<TestBackend, "request">, project: string, domain: string, bundle: Bundle): Promise<string> {
  const put = await backend.request(`/projects/${project}/bundles/${bundle.hash}`, { method: "PUT", body: bundle.bytes() });
  expect(put.status, await put.clone().text()).toBeLessThan(300);
  const res = await backend.request(`/projects/${project}/domains/${domain}/bundles/${bundle.hash}/register`, { method: "POST" });
  expect(res.status, await res.clone().text()).toBe(201);
  return ((await res.json()) as { version: string }).version;
}

/** A temp directory removed by the caller. */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  mkdirSync(dir, { recursive: true });
  return dir;
}
