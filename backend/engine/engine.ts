/**
 * The engine: runs every execution the API creates, resumes every unfinished one
 * when the backend starts, and is what runtimes and runners report to. Its state
 * lives in the store; what it keeps in memory (live attempts, entity specs) is
 * rebuilt from the store after a restart.
 */
import type { BlobRef, Identifier } from "../../kernel/index.js";
import type { AttemptOutcome } from "../../kernel/index.js";
import { ApiError, API_ERRORS, type AttemptKey, type EngineHooks, type LogSource } from "../api/index.js";
import type { RunnerEvent, TaskRunner } from "../plugins/types.js";
import type { EntityRecord, ExecutionKey, ExecutionRecord, MetadataStore, NodeExecutionRecord } from "../store/index.js";
import { ExecutionRun, staleAttempt } from "./execution.js";
import type { Catalog } from "../catalog/index.js";
import type { EngineOptions } from "./types.js";

/** What an execution run needs from its engine. */
export interface EngineContext extends Required<Pick<EngineOptions, "deps" | "runner" | "endpoint" | "maxParallelism" | "systemRetries" | "retryBackoffMs" | "maxRetryBackoffMs" | "reservationTtlMs" | "timeoutGraceMs" | "heartbeatTimeoutMs">> {
  catalog: Catalog | undefined;
  onError(error: unknown, where: string): void;
  /** Whether the engine was closed: runs stop where they are, writing nothing more. */
  closed(): boolean;
  /** A registered entity (immutable, so cached). */
  entity(id: Identifier): Promise<EntityRecord>;
  /** Runs (or joins) an execution and resolves with its final record. */
  runToEnd(record: ExecutionRecord): Promise<ExecutionRecord>;
  /** Terminates a child execution. */
  terminateChild(key: ExecutionKey, reason: string): void;
}

/** The store, refusing every write once `closed()` holds (reads go on). */
function writesUntil(store: MetadataStore, closed: () => boolean): MetadataStore {
  const reads = /^(get|list|authenticate|counts|schemaVersion)/;
  return new Proxy(store, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof value !== "function") return value;
      const method = value as (...args: unknown[]) => unknown;
      if (typeof prop === "string" && reads.test(prop)) return method.bind(target);
      return (...args: unknown[]) => (closed() ? Promise.reject(new Error("the engine is closed: nothing more is written")) : method.apply(target, args));
    },
  });
}

const keyString = (k: ExecutionKey) => `${k.project}/${k.domain}/${k.name}`;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Creates the engine. Call `start()` once the API listens: it resumes whatever
 * a previous process left running.
 *
 * @example
 * ```ts
 * const engine = createEngine({ deps, runner: createLocalProcessRunner({ logDir }), endpoint: () => server.url });
 * deps.engine = engine;          // the API tells it about new executions and reports
 * await engine.start();          // resume unfinished executions
 * const done = await engine.wait({ project: "demo", domain: "development", name: "x1" });
 * ```
 */
export function createEngine(options: EngineOptions): Engine {
  return new Engine(options);
}

/** The execution engine. */
export class Engine implements EngineHooks {
  private readonly runs = new Map<string, { run: ExecutionRun; done: Promise<ExecutionRecord> }>();
  private readonly entities = new Map<string, Promise<EntityRecord>>();
  private readonly ctx: EngineContext;
  private started: Promise<void> | undefined;
  private closed = false;
  readonly logs: LogSource;

  constructor(private readonly options: EngineOptions) {
    const onError = options.onError ?? ((error: unknown, where: string) => console.error(`petrel engine: ${where}:`, error));
    this.ctx = {
      // Once closed, the engine writes nothing: whatever its runs were doing stays as last stored, for the next start to resume.
      deps: { ...options.deps, store: writesUntil(options.deps.store, () => this.closed) },
      closed: () => this.closed,
      runner: options.runner,
      endpoint: options.endpoint,
      catalog: options.catalog,
      maxParallelism: options.maxParallelism ?? 64,
      systemRetries: options.systemRetries ?? 3,
      retryBackoffMs: options.retryBackoffMs ?? 250,
      maxRetryBackoffMs: options.maxRetryBackoffMs ?? 30_000,
      reservationTtlMs: options.reservationTtlMs ?? 30_000,
      timeoutGraceMs: options.timeoutGraceMs ?? 5_000,
      heartbeatTimeoutMs: options.heartbeatTimeoutMs ?? 60_000,
      onError,
      entity: (id) => this.entity(id),
      runToEnd: (record) => this.run(record),
      terminateChild: (key, reason) => void this.terminateChild(key, reason),
    };
    options.runner.onEvent((event) => this.onRunnerEvent(event));
    this.logs = { read: (key, opts) => this.readLogs(key, opts) };
  }

  /** Resumes every unfinished execution in the store (once). */
  start(): Promise<void> {
    this.started ??= (async () => {
      const unfinished = await this.ctx.deps.store.listUnfinishedExecutions();
      // Children are resumed by their parents' launch plan nodes too; `run` joins whichever starts first.
      for (const record of unfinished) void this.run(record);
    })();
    return this.started;
  }

  /** Stops taking work. Running attempts are left to the runner (a process runner's keep running and report later). */
  async close(): Promise<void> {
    this.closed = true;
    await this.options.runner.close();
  }

  /** Resolves with an execution's final record (runs it if nobody does). */
  async wait(key: ExecutionKey): Promise<ExecutionRecord> {
    const live = this.runs.get(keyString(key));
    if (live) return live.done;
    const record = await this.ctx.deps.store.getExecution(key);
    if (!record) throw new Error(`execution ${key.name} does not exist`);
    return this.run(record);
  }

  // ---- EngineHooks ----------------------------------------------------------------------

  created(record: ExecutionRecord): void {
    if (record.parent) return; // its parent's node runs it
    void this.run(record);
  }

  terminated(record: ExecutionRecord): void {
    const reason = record.abort ? `terminated by ${record.abort.by}: ${record.abort.cause}` : "terminated";
    this.runs.get(keyString(record.key))?.run.abort(reason);
  }

  async reportOutcome(key: AttemptKey, outcome: AttemptOutcome): Promise<NodeExecutionRecord | undefined> {
    await this.start();
    const live = () => this.runs.get(keyString(key.execution))?.run.report(key.node, key.attempt, outcome);
    const stored = live();
    if (stored) return stored;
    const node = await this.ctx.deps.store.getNodeExecution(key.execution, key.node);
    if (!node) return undefined;
    const attempt = (await this.ctx.deps.store.listNodeAttempts(key.execution, key.node)).find((a) => a.attempt === key.attempt);
    // A repeated report of an attempt that already ended is harmless.
    if (attempt && attempt.phase !== "RUNNING") return node;
    // Stored as running but not live yet: right after a restart, its execution may still be loading; give it a moment to re-attach.
    if (attempt && this.runs.has(keyString(key.execution))) {
      for (let waited = 0; waited < 5_000; waited += 25) {
        await sleep(25);
        const late = live();
        if (late) return late;
      }
    }
    throw new ApiError(409, API_ERRORS.INVALID_STATE, staleAttempt(key.node, key.attempt), { details: { phase: node.phase, attempts: node.attempts } });
  }

  heartbeat(key: AttemptKey): boolean {
    const live = this.runs.get(keyString(key.execution))?.run.attempt(key.node, key.attempt);
    if (!live || live.settled) return false;
    live.lastSeen = Date.now();
    return true;
  }

  async recordCheckpoint(key: AttemptKey, checkpoint: BlobRef): Promise<void> {
    const run = this.runs.get(keyString(key.execution))?.run;
    if (run) return run.recordCheckpoint(key.node, checkpoint);
    const node = await this.ctx.deps.store.getNodeExecution(key.execution, key.node);
    if (node) await this.ctx.deps.store.putNodeExecution({ ...node, checkpoint, updatedAt: this.ctx.deps.clock.now() });
  }

  // ---- internals ----------------------------------------------------------------------

  private run(record: ExecutionRecord): Promise<ExecutionRecord> {
    const k = keyString(record.key);
    const existing = this.runs.get(k);
    if (existing) return existing.done;
    if (this.closed) return Promise.resolve(record);
    const run = new ExecutionRun(record, this.ctx);
    const done = run.run().finally(() => this.runs.delete(k));
    this.runs.set(k, { run, done });
    return done;
  }

  private async terminateChild(key: ExecutionKey, reason: string): Promise<void> {
    const now = this.ctx.deps.clock.now();
    const result = await this.ctx.deps.store.updateExecution(key, { phase: "ABORTED", abort: { cause: reason, by: "engine", at: now }, endedAt: now, updatedAt: now }, ["QUEUED", "RUNNING"]);
    if (result?.updated) this.terminated(result.record);
  }

  private entity(id: Identifier): Promise<EntityRecord> {
    const k = `${id.resourceType}/${id.project}/${id.domain}/${id.name}@${id.version}`;
    let found = this.entities.get(k);
    if (!found) {
      found = this.ctx.deps.store.getEntity(id).then((record) => {
        if (!record) {
          this.entities.delete(k);
          throw new Error(`${id.resourceType} ${id.name}@${id.version} is not registered in ${id.project}/${id.domain}`);
        }
        return record;
      });
      this.entities.set(k, found);
    }
    return found;
  }

  private onRunnerEvent(event: RunnerEvent): void {
    const a = event.assignment;
    const live = this.runs.get(keyString(a.execution))?.run.attempt(a.node, a.attempt);
    if (!live) return;
    if (event.type === "outcome") {
      live.settle(event.outcome);
      return;
    }
    const { exit } = event;
    const how = exit.exitCode !== undefined ? `exit code ${exit.exitCode}` : exit.signal ? `signal ${exit.signal}` : "no exit status";
    switch (exit.reason) {
      case "aborted":
        live.settle({ phase: "ABORTED", reason: exit.message });
        return;
      case "timeout":
        live.settle({ phase: "TIMED_OUT", error: { kind: "user", code: "TASK_TIMEOUT", message: exit.message, retryable: true } });
        return;
      case "oom":
        live.settle({ phase: "FAILED", error: { kind: "system", code: "OOM_KILLED", message: exit.message, retryable: true } });
        return;
      case "lost":
        live.settle({ phase: "FAILED", error: { kind: "system", code: "ATTEMPT_LOST", message: exit.message, retryable: true } });
        return;
      case "rejected":
        live.settle({ phase: "FAILED", error: { kind: "user", code: "POD_REJECTED", message: exit.message, retryable: false } });
        return;
      case "exited":
        live.settle({
          phase: "FAILED",
          error: { kind: "user", code: "EXITED_WITHOUT_REPORTING", message: `the task's process ended (${how}) without reporting an outcome: ${exit.message}`, retryable: true },
        });
        return;
    }
  }

  private async readLogs(key: AttemptKey, options: { tailBytes?: number; follow?: boolean; signal?: AbortSignal }): Promise<AsyncIterable<Uint8Array> | undefined> {
    const attempts = await this.ctx.deps.store.listNodeAttempts(key.execution, key.node);
    const attempt = attempts.find((a) => a.attempt === key.attempt);
    if (!attempt?.runner) return undefined;
    const assignment = { execution: key.execution, node: key.node, attempt: key.attempt, maxAttempts: 0, task: { resourceType: "task" as const, project: "", domain: "", name: "", version: "" }, bundle: "" };
    const live = this.runs.get(keyString(key.execution))?.run.attempt(key.node, key.attempt);
    return this.options.runner.logs(assignment, attempt.runner, { ...options, follow: (options.follow ?? false) && live !== undefined });
  }
}

export type { TaskRunner };
