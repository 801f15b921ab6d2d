/**
 * One execution as the engine runs it: the workflow's DAG propagated event by
 * event (a finished node starts its ready dependents at once), every node's state
 * written to the store before anything depends on it. Running again over the same
 * stored state adopts what already finished, which is how an execution resumes
 * after a restart and how a recovery reuses its source's successes.
 */
import { setMaxListeners } from "node:events";
import {
  adaptLiteral,
  blobsOf,
  chooseBranch,
  computeCacheKey,
  declaredTypes,
  interfaceHash,
  mapInstances,
  mapNodeInputTypes,
  resolveBinding,
  resolveNodeInputs,
  Semaphore,
  withWorkflowDefaults,
  type BindingScope,
  type Binding,
  type BlobRef,
  type EntityRef,
  type FailureRecord,
  type Identifier,
  type LaunchPlanSpec,
  type Literal,
  type LiteralMap,
  type LiteralType,
  type Node,
  type NodePhase,
  type TaskSpec,
  type WorkflowSpec,
} from "../../kernel/index.js";
import type { AttemptAssignment, AttemptOutcome } from "../../kernel/index.js";
import { literalProblem, loadLiterals, storeLiterals } from "../api/index.js";
import type { EntityRecord, ExecutionKey, ExecutionRecord, NodeAttemptRecord, NodeExecutionRecord, RunnerHandle } from "../store/index.js";
import type { EngineContext } from "./engine.js";

/** A failure that ends a node, carrying its record. */
export class NodeFailure extends Error {
  constructor(
    readonly node: string,
    readonly failure: FailureRecord,
    readonly phase: NodePhase = "FAILED",
  ) {
    super(`node ${node}: ${failure.message}`);
  }
}

/** An attempt the engine waits on: settled once by whichever report comes first. */
export class LiveAttempt {
  handle: RunnerHandle | undefined;
  /** When its runtime last said it was alive (undefined: it has not yet). */
  lastSeen: number | undefined;
  private settleOutcome!: (o: AttemptOutcome | { phase: "ABORTED"; reason: string }) => void;
  readonly outcome: Promise<AttemptOutcome | { phase: "ABORTED"; reason: string }>;
  /** Resolves with the node record once the outcome is stored. */
  readonly stored: Promise<NodeExecutionRecord>;
  resolveStored!: (n: NodeExecutionRecord) => void;
  settled = false;

  constructor() {
    this.outcome = new Promise((r) => (this.settleOutcome = r));
    this.stored = new Promise((r) => (this.resolveStored = r));
  }

  settle(outcome: AttemptOutcome | { phase: "ABORTED"; reason: string }): boolean {
    if (this.settled) return false;
    this.settled = true;
    this.settleOutcome(outcome);
    return true;
  }
}

const attemptId = (node: string, attempt: number) => `${node}#${attempt}`;
const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal.aborted || ms <= 0) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });

/** The outputs of a stored node, whole. */
type Outputs = LiteralMap;

/** A graph being propagated: a workflow's nodes under a prefix, in one scope. */
class GraphScope implements BindingScope {
  readonly outputs = new Map<string, Outputs>();
  constructor(
    readonly spec: WorkflowSpec,
    readonly inputs: LiteralMap,
    readonly prefix: string,
    readonly references: readonly Identifier[],
  ) {}

  typeOf(binding: Binding): LiteralType | undefined {
    if (binding.kind === "input") return this.spec.interface.inputs[binding.name]?.type;
    if (binding.kind === "output") return this.spec.nodes.find((n) => n.id === binding.node)?.outputs[binding.output];
    return undefined;
  }

  resolve(binding: Binding): Literal {
    return resolveBinding(binding, (b) => {
      const lit = b.kind === "input" ? this.inputs[b.name] : this.outputs.get(b.node)?.[b.output];
      if (!lit) throw new Error(b.kind === "input" ? `input ${b.name} has no value` : `node ${b.node} has no output ${b.output}`);
      return lit;
    });
  }
}

/** Runs one execution. */
export class ExecutionRun {
  readonly key: ExecutionKey;
  private readonly abortController = new AbortController();
  private readonly live = new Map<string, LiveAttempt>();
  private readonly slots: Semaphore;
  /** Node records already stored for this execution (a resumed run adopts them). */
  private stored = new Map<string, NodeExecutionRecord>();
  /** A recovery's source nodes, and the workflow version they ran. */
  private source = new Map<string, NodeExecutionRecord>();
  private sourceVersion: string | undefined;
  private readonly children = new Set<string>();

  constructor(
    private record: ExecutionRecord,
    private readonly ctx: EngineContext,
  ) {
    this.key = record.key;
    setMaxListeners(0, this.abortController.signal);
    const limit = record.maxParallelism && record.maxParallelism > 0 ? record.maxParallelism : ctx.maxParallelism;
    this.slots = new Semaphore(limit);
  }

  get signal(): AbortSignal {
    return this.abortController.signal;
  }

  /** Runs to the end and stores the execution's final phase; never rejects. */
  async run(): Promise<ExecutionRecord> {
    const { store, clock } = this.ctx.deps;
    try {
      for (const n of await store.listNodeExecutions(this.key)) this.stored.set(n.nodeId, n);
      if (this.record.mode === "recover" && this.record.source !== undefined) {
        const sourceKey = { ...this.key, name: this.record.source };
        this.sourceVersion = (await store.getExecution(sourceKey))?.workflow.version;
        for (const n of await store.listNodeExecutions(sourceKey)) this.source.set(n.nodeId, n);
      }
      if (this.record.phase === "QUEUED") {
        const now = clock.now();
        const started = await store.updateExecution(this.key, { phase: "RUNNING", startedAt: now, updatedAt: now }, ["QUEUED"]);
        if (started) this.record = started.record;
      }
      if (this.record.phase !== "RUNNING") return this.record;
      const wf = await this.ctx.entity(this.record.workflow);
      const spec = wf.spec as WorkflowSpec;
      const inputs = await loadLiterals(this.ctx.deps, this.record.inputs);
      const outputs = await this.runGraph(new GraphScope(spec, withWorkflowDefaults(spec, inputs), "", wf.references), this.signal);
      const now = clock.now();
      const stored = await storeLiterals(this.ctx.deps, this.key.project, outputs, "engine");
      const done = await store.updateExecution(this.key, { phase: "SUCCEEDED", outputs: stored, endedAt: now, updatedAt: now }, ["RUNNING"]);
      if (done) this.record = done.record;
    } catch (e) {
      const failure = e instanceof NodeFailure ? { ...e.failure, message: e.message } : systemFailure("ENGINE_ERROR", (e as Error).message ?? String(e), false);
      const phase = e instanceof NodeFailure && e.phase === "TIMED_OUT" ? "TIMED_OUT" : "FAILED";
      const now = clock.now();
      const done = await store.updateExecution(this.key, { phase, error: failure, endedAt: now, updatedAt: now }, ["RUNNING", "QUEUED"]).catch(() => undefined);
      if (done) this.record = done.record;
      if (!(e instanceof NodeFailure) && !this.signal.aborted && !this.ctx.closed()) this.ctx.onError(e, `execution ${this.key.name}`);
    }
    // Every update above returns the execution as stored (a concurrent terminate included).
    return this.record;
  }

  /** Stops everything: running attempts are aborted, nothing new starts, child executions are terminated. */
  abort(reason: string): void {
    if (this.signal.aborted) return;
    // Every running attempt listens to this signal (through its graph's) and stops.
    this.abortController.abort(new Error(reason));
    for (const child of this.children) this.ctx.terminateChild({ ...this.key, name: child }, reason);
  }

  /** An outcome reported by a runtime (HTTP) or a runner; resolves once stored. */
  report(node: string, attempt: number, outcome: AttemptOutcome): Promise<NodeExecutionRecord> | undefined {
    const live = this.live.get(attemptId(node, attempt));
    if (!live) return undefined;
    live.settle(outcome);
    return live.stored;
  }

  attempt(node: string, attempt: number): LiveAttempt | undefined {
    return this.live.get(attemptId(node, attempt));
  }

  // ---- the graph --------------------------------------------------------------------

  private runGraph(scope: GraphScope, parentSignal: AbortSignal): Promise<LiteralMap> {
    const { spec } = scope;
    const controller = new AbortController();
    // Every running attempt of the graph listens to it: thousands, in a wide map.
    setMaxListeners(0, controller.signal);
    const onParentAbort = () => controller.abort(parentSignal.reason);
    parentSignal.addEventListener("abort", onParentAbort, { once: true });
    if (parentSignal.aborted) controller.abort(parentSignal.reason);
    const waiting = new Map<string, number>();
    const dependents = new Map<string, Node[]>();
    for (const node of spec.nodes) {
      waiting.set(node.id, node.upstream.length);
      for (const up of node.upstream) (dependents.get(up) ?? dependents.set(up, []).get(up)!).push(node);
    }
    let remaining = spec.nodes.length;
    let failure: unknown;
    const skipped = new Set<string>();
    return new Promise<LiteralMap>((resolve, reject) => {
      const finish = () => {
        parentSignal.removeEventListener("abort", onParentAbort);
        if (failure !== undefined) return reject(failure);
        if (parentSignal.aborted) return reject(new NodeFailure(scope.prefix || "execution", abortedFailure(parentSignal), "ABORTED"));
        try {
          const outputs: LiteralMap = {};
          for (const [name, binding] of Object.entries(spec.outputs)) {
            const to = spec.interface.outputs[name]!.type;
            outputs[name] = adaptLiteral(scope.resolve(binding), scope.typeOf(binding) ?? to, to);
          }
          resolve(outputs);
        } catch (e) {
          reject(e);
        }
      };
      const skip = (node: Node) => {
        const stack = [...(dependents.get(node.id) ?? [])];
        while (stack.length > 0) {
          const dep = stack.pop()!;
          if (skipped.has(dep.id)) continue;
          skipped.add(dep.id);
          remaining--;
          this.markSkipped(scope.prefix + dep.id, `upstream node ${scope.prefix + node.id} did not succeed`);
          stack.push(...(dependents.get(dep.id) ?? []));
        }
      };
      const launch = (node: Node) => {
        this.runNode(node, scope, controller.signal).then(
          (outputs) => {
            scope.outputs.set(node.id, outputs);
            remaining--;
            if (failure === undefined || spec.failurePolicy !== "fail_immediately") {
              for (const dep of dependents.get(node.id) ?? []) {
                const left = waiting.get(dep.id)! - 1;
                waiting.set(dep.id, left);
                if (left === 0 && !skipped.has(dep.id)) launch(dep);
              }
            }
            if (remaining === 0) finish();
          },
          (e: unknown) => {
            remaining--;
            failure ??= e;
            skip(node);
            if (spec.failurePolicy === "fail_immediately") controller.abort(new Error(`node ${scope.prefix + node.id} failed`));
            if (remaining === 0) finish();
          },
        );
      };
      if (remaining === 0) return finish();
      for (const node of spec.nodes) if (node.upstream.length === 0) launch(node);
    });
  }

  private runNode(node: Node, scope: GraphScope, signal: AbortSignal): Promise<Outputs> {
    const id = scope.prefix + node.id;
    switch (node.kind) {
      case "task":
        return this.runTaskNode(id, node, scope, signal);
      case "map":
        return this.runMapNode(id, node, scope, signal);
      case "workflow":
        return this.runContainer(id, signal, this.refOf(node.target, scope.references), async (record) => {
          const sub = await this.ctx.entity(this.refOf(node.target, scope.references));
          const spec = sub.spec as WorkflowSpec;
          const inputs = resolveNodeInputs(node, declaredTypes(spec.interface.inputs), scope, spec.interface.inputs);
          record.target = sub.id;
          await this.save(record, inputs);
          return this.runGraph(new GraphScope(spec, withWorkflowDefaults(spec, inputs), `${id}.`, sub.references), signal);
        });
      case "launch_plan":
        return this.runContainer(id, signal, this.refOf(node.target, scope.references), (record) => this.runChild(node, scope, record, signal));
      case "branch":
        return this.runContainer(id, signal, undefined, async (record) => {
          const chosen = chooseBranch(node, scope);
          if ("error" in chosen) throw new NodeFailure(id, { kind: "user", code: "BRANCH_NO_MATCH", message: chosen.error, retryable: false });
          await this.save(record);
          return this.runNode(chosen.node, scope, signal);
        });
    }
  }

  /** A node that holds others: adopts a stored success, else runs `body` and stores the result. */
  private async runContainer(id: string, signal: AbortSignal, target: Identifier | undefined, body: (record: NodeExecutionRecord) => Promise<Outputs>): Promise<Outputs> {
    const adopted = await this.adopt(id, target);
    if (adopted) return adopted;
    const record = this.newRecord(id);
    record.phase = "RUNNING";
    record.startedAt ??= this.ctx.deps.clock.now();
    try {
      const outputs = await body(record);
      await this.finishNode(record, "SUCCEEDED", { outputs });
      return outputs;
    } catch (e) {
      const f = this.failureOf(id, e, signal);
      await this.finishNode(record, f.phase, { error: f.failure });
      throw f;
    }
  }

  // ---- task nodes ----------------------------------------------------------------------

  private async runTaskNode(id: string, node: Extract<Node, { kind: "task" }>, scope: GraphScope, signal: AbortSignal): Promise<Outputs> {
    const ref = this.refOf(node.target, scope.references);
    const adopted = await this.adopt(id, ref);
    if (adopted) return adopted;
    const task = await this.ctx.entity(ref);
    const spec = task.spec as TaskSpec;
    const inputs = resolveNodeInputs(node, declaredTypes(spec.interface.inputs), scope, spec.interface.inputs);
    return this.runTask(id, task, inputs, { retries: node.metadata.retries ?? spec.retries, timeoutMs: node.metadata.timeoutMs ?? spec.timeoutMs }, signal);
  }

  private async runMapNode(id: string, node: Extract<Node, { kind: "map" }>, scope: GraphScope, signal: AbortSignal): Promise<Outputs> {
    const ref = this.refOf(node.target, scope.references);
    return this.runContainer(id, signal, ref, async (record) => {
      const task = await this.ctx.entity(ref);
      const spec = task.spec as TaskSpec;
      const inputs = resolveNodeInputs(node, mapNodeInputTypes(node, spec.interface.inputs), scope, spec.interface.inputs);
      record.target = task.id;
      await this.save(record, inputs);
      let instances: ReturnType<typeof mapInstances>;
      try {
        instances = mapInstances(node, inputs);
      } catch (e) {
        throw new NodeFailure(id, { kind: "user", code: "MAP_INPUTS", message: (e as Error).message, retryable: false });
      }
      const n = instances.count;
      const results: (LiteralMap | undefined)[] = new Array<LiteralMap | undefined>(n).fill(undefined);
      let firstFailure: FailureRecord | undefined;
      let next = 0;
      const limits = { retries: node.metadata.retries ?? spec.retries, timeoutMs: node.metadata.timeoutMs ?? spec.timeoutMs };
      const workers = Math.min(n, node.concurrency > 0 ? node.concurrency : this.ctx.maxParallelism);
      await Promise.all(
        Array.from({ length: workers }, async () => {
          while (next < n && !signal.aborted) {
            const i = next++;
            const childId = `${id}[${i}]`;
            try {
              results[i] = (await this.adopt(childId, task.id)) ?? (await this.runTask(childId, task, instances.inputsOf(i), limits, signal));
            } catch (e) {
              firstFailure ??= e instanceof NodeFailure ? e.failure : systemFailure("ENGINE_ERROR", String(e), false);
            }
          }
        }),
      );
      if (signal.aborted) throw new NodeFailure(id, abortedFailure(signal), "ABORTED");
      const succeeded = results.filter((r) => r !== undefined).length;
      if (n > 0 && succeeded / n < node.minSuccessRatio) {
        throw new NodeFailure(id, {
          kind: firstFailure?.kind ?? "user",
          code: "MAP_MIN_SUCCESS_RATIO",
          message: `${succeeded} of ${n} instances succeeded, below the minimum success ratio ${node.minSuccessRatio}${firstFailure ? `; first failure: ${firstFailure.message}` : ""}`,
          retryable: false,
          ...(firstFailure?.stack ? { stack: firstFailure.stack } : {}),
        });
      }
      const outputs: LiteralMap = {};
      for (const name of Object.keys(spec.interface.outputs)) {
        outputs[name] = { kind: "list", items: results.map((r) => (r ? r[name]! : ({ kind: "none" } as Literal))) };
      }
      return outputs;
    });
  }

  /**
   * Runs a task as node `id`: the catalog first, then attempts until one succeeds
   * or the user and system retry budgets are spent. Every transition is stored
   * before the next step, so a restart continues from the last stored one.
   */
  private async runTask(id: string, task: EntityRecord, inputs: LiteralMap, limits: { retries: number; timeoutMs: number | undefined }, signal: AbortSignal): Promise<Outputs> {
    const spec = task.spec as TaskSpec;
    const { store, clock } = this.ctx.deps;
    const prior = this.stored.get(id);
    const record = this.newRecord(id);
    record.target = task.id;
    const scope = { project: this.key.project, domain: this.key.domain };
    const catalog = spec.cache.enabled ? this.ctx.catalog : undefined;
    const cacheKey = catalog ? computeCacheKey(spec, inputs) : undefined;
    // Stable across restarts: a resumed node takes its own reservation back at once.
    const owner = `${this.key.project}/${this.key.domain}/${this.key.name}/${id}`;
    let reserved = false;
    try {
      if (!prior) {
        record.phase = "QUEUED";
        if (!catalog) record.cache = { status: "DISABLED", reason: spec.cache.enabled ? "the backend runs without a catalog" : `task ${spec.name} is not cacheable (cache: false)` };
        else if (this.record.overwriteCache) record.cache = { status: "MISS", key: cacheKey!.key, reason: "overwriteCache was requested for this execution" };
        else {
          const found = await catalog.lookup(scope, cacheKey!, this.ctx.deps.blobs);
          if (found.status === "HIT") return await this.cacheHit(record, inputs, cacheKey!.key, found.entry.outputs);
          record.cache = { status: "MISS", key: cacheKey!.key, reason: found.reason };
        }
        record.inputs = await storeLiterals(this.ctx.deps, this.key.project, inputs, "engine");
        // Stored with its first attempt; before that only when it may wait on another execution's computation.
        if (catalog && spec.cache.serialize) await this.save(record);
      }
      if (catalog && spec.cache.serialize) {
        const got = await catalog.acquire(scope, cacheKey!, owner, { ttlMs: this.ctx.reservationTtlMs, signal, blobs: this.ctx.deps.blobs });
        if (got.status === "HIT" && !this.record.overwriteCache) return await this.cacheHit(record, inputs, cacheKey!.key, got.entry.outputs, "another execution computed it while this one waited");
        reserved = got.status === "reserved";
      }
      const history = prior ? await store.listNodeAttempts(this.key, id) : [];
      // A recovery hands the failed node's last checkpoint on (stored on the node, so its token may read it).
      const sourceCheckpoint = this.source.get(id)?.checkpoint;
      if (!record.checkpoint && sourceCheckpoint) {
        record.checkpoint = sourceCheckpoint;
        await this.save(record);
      }
      let userFailures = history.filter((a) => a.error?.kind === "user").length;
      let systemFailures = history.filter((a) => a.error?.kind === "system" && a.error.code !== "BACKEND_RESTARTED").length;
      let resume = history.at(-1)?.phase === "RUNNING" ? history.at(-1) : undefined;
      const heartbeat = reserved ? setInterval(() => void catalog!.heartbeat(scope, cacheKey!.key, owner, this.ctx.reservationTtlMs).catch(() => false), this.ctx.reservationTtlMs / 3) : undefined;
      try {
        for (;;) {
          if (signal.aborted) throw new NodeFailure(id, abortedFailure(signal), "ABORTED");
          const attemptNo = resume ? resume.attempt : record.attempts;
          const result = await this.runAttempt(record, task, inputs, attemptNo, limits, signal, resume);
          resume = undefined;
          if (result.phase === "SUCCEEDED") {
            const outputs = result.outputs;
            if (cacheKey && catalog) {
              record.cache = { status: "POPULATED", key: cacheKey.key, ...(record.cache?.reason ? { reason: record.cache.reason } : {}) };
            }
            try {
              await this.finishNode(record, "SUCCEEDED", { outputs }, result.attempt);
            } finally {
              result.attempt.resolveStored(record);
            }
            if (cacheKey && catalog) {
              await catalog
                .store(scope, cacheKey, { parts: cacheKey.parts, outputs, createdAt: new Date(clock.now()).toISOString(), producedBy: { execution: this.key.name, node: id } })
                .catch((e: unknown) => this.ctx.onError(e, `storing node ${id} in the catalog`));
            }
            return outputs;
          }
          if (result.phase === "ABORTED") {
            const failure = abortedFailure(signal, result.reason);
            await this.finishNode(record, "ABORTED", { error: failure }, result.attempt);
            throw new NodeFailure(id, failure, "ABORTED");
          }
          const error = result.error;
          const counted = error.code !== "BACKEND_RESTARTED";
          if (counted) {
            if (error.kind === "user") userFailures++;
            else systemFailures++;
          }
          const budgetLeft = error.kind === "user" ? userFailures <= limits.retries : systemFailures <= this.ctx.systemRetries;
          if (!error.retryable || !budgetLeft || signal.aborted) {
            const attempts = record.attempts;
            const failure = { ...error, message: attempts > 1 ? `${error.message} (after ${attempts} attempts)` : error.message };
            await this.finishNode(record, result.phase, { error: failure }, result.attempt);
            throw new NodeFailure(id, failure, result.phase);
          }
          result.attempt.resolveStored(record);
          const tries = userFailures + systemFailures;
          await sleep(counted ? Math.min(this.ctx.retryBackoffMs * 2 ** Math.max(0, tries - 1), this.ctx.maxRetryBackoffMs) : 0, signal);
        }
      } finally {
        if (heartbeat) clearInterval(heartbeat);
      }
    } catch (e) {
      if (e instanceof NodeFailure) throw e;
      const f = this.failureOf(id, e, signal);
      await this.finishNode(record, f.phase, { error: f.failure }).catch(() => undefined);
      throw f;
    } finally {
      if (reserved) await catalog!.release(scope, cacheKey!.key, owner).catch(() => undefined);
    }
  }

  private async cacheHit(record: NodeExecutionRecord, inputs: LiteralMap, key: string, outputs: LiteralMap, reason?: string): Promise<Outputs> {
    record.cache = { status: "HIT", key, ...(reason ? { reason } : {}) };
    record.inputs = await storeLiterals(this.ctx.deps, this.key.project, inputs, "engine");
    await this.finishNode(record, "SUCCEEDED", { outputs });
    return outputs;
  }

  /** One attempt: launched (or re-attached after a restart), awaited, checked. */
  private async runAttempt(
    record: NodeExecutionRecord,
    task: EntityRecord,
    inputs: LiteralMap,
    attemptNo: number,
    limits: { retries: number; timeoutMs: number | undefined },
    signal: AbortSignal,
    resume: NodeAttemptRecord | undefined,
  ): Promise<
    | { phase: "SUCCEEDED"; outputs: LiteralMap; attempt: LiveAttempt }
    | { phase: "FAILED" | "TIMED_OUT"; error: FailureRecord; attempt: LiveAttempt }
    | { phase: "ABORTED"; reason: string; attempt: LiveAttempt }
  > {
    const { store, clock } = this.ctx.deps;
    const spec = task.spec as TaskSpec;
    const id = record.nodeId;
    const assignment: AttemptAssignment = {
      execution: this.key,
      node: id,
      attempt: attemptNo,
      maxAttempts: limits.retries + 1,
      task: task.id,
      bundle: task.bundle ?? "",
      ...(limits.timeoutMs !== undefined ? { timeoutMs: limits.timeoutMs } : {}),
      // The latest checkpoint: an earlier attempt's, or the recovered execution's.
      ...(record.checkpoint ? { checkpoint: record.checkpoint } : {}),
    };
    const live = new LiveAttempt();
    this.live.set(attemptId(id, attemptNo), live);
    // Terminate, or a sibling failing under fail_immediately: stop the attempt where it runs.
    const onAbort = () => {
      const reason = String((signal.reason as Error | undefined)?.message ?? "aborted");
      if (live.handle) this.ctx.runner.abort(assignment, live.handle, reason).catch((e: unknown) => this.ctx.onError(e, `aborting node ${id}`));
      live.settle({ phase: "ABORTED", reason });
    };
    signal.addEventListener("abort", onAbort, { once: true });
    const wait = this.slots.acquire();
    if (wait) {
      // Visible as QUEUED while it waits for a slot.
      await this.save(record);
      await wait;
    }
    let timer: NodeJS.Timeout | undefined;
    try {
      const attempt: NodeAttemptRecord = resume ?? { execution: this.key, nodeId: id, attempt: attemptNo, phase: "RUNNING", startedAt: clock.now(), updatedAt: clock.now() };
      if (resume?.runner && (await this.ctx.runner.reattach(assignment, resume.runner).catch(() => false))) {
        live.handle = resume.runner;
      } else {
        if (resume) {
          // Launched before a restart and gone since: lost to the restart, not the task's fault.
          const lost = systemFailure("BACKEND_RESTARTED", `attempt ${attemptNo} was lost when the backend restarted; it runs again`, true);
          await this.saveAttempt({ ...attempt, phase: "FAILED", error: lost, endedAt: clock.now(), updatedAt: clock.now() });
          record.attempts = Math.max(record.attempts, attemptNo + 1);
          return { phase: "FAILED", error: lost, attempt: live };
        }
        if (signal.aborted) return { phase: "ABORTED", reason: String((signal.reason as Error)?.message ?? "aborted"), attempt: live };
        if (!task.bundle) {
          return { phase: "FAILED", error: { kind: "user", code: "NO_BUNDLE", message: `task ${spec.name}@${task.id.version} was registered without a code bundle, so it cannot run on the backend; register it from a bundle`, retryable: false }, attempt: live };
        }
        record.attempts = attemptNo + 1;
        record.phase = "RUNNING";
        record.startedAt ??= clock.now();
        record.updatedAt = clock.now();
        await store.transaction(async (tx) => {
          await tx.putNodeExecution(record);
          await tx.putNodeAttempt(attempt);
        });
        let token: Promise<string> | undefined;
        const mintToken = () => (token ??= store.createNodeToken({ execution: this.key, node: id, createdBy: "engine" }).then((t) => t.token));
        live.handle = await this.ctx.runner.launch({ assignment, task: spec, inputs, endpoint: this.ctx.endpoint(), token: mintToken });
        // Aborted while the runner was starting it: stop it now.
        if (signal.aborted) await this.ctx.runner.abort(assignment, live.handle, String((signal.reason as Error)?.message ?? "aborted")).catch(() => undefined);
        // Only a runner that can re-attach after a restart needs the handle stored before the outcome.
        else if (!live.settled && this.ctx.runner.capabilities.reattach) await this.saveAttempt({ ...attempt, runner: live.handle, updatedAt: clock.now() });
      }
      if (limits.timeoutMs !== undefined) {
        // The runtime enforces the timeout itself; this catches one that cannot (a hung process).
        timer = setTimeout(() => {
          if (live.settled) return;
          live.settle({ phase: "TIMED_OUT", error: { kind: "user", code: "TASK_TIMEOUT", message: `attempt ${attemptNo} ran past its timeout of ${limits.timeoutMs} ms and was killed`, retryable: true } });
          if (live.handle) this.ctx.runner.abort(assignment, live.handle, "timeout").catch(() => undefined);
        }, limits.timeoutMs + this.ctx.timeoutGraceMs);
      }
      let watchdog: NodeJS.Timeout | undefined;
      const silence = this.ctx.heartbeatTimeoutMs;
      if (silence > 0 && !this.ctx.runner.capabilities.reportsOutcomes) {
        // A runtime that heartbeats and then falls silent is stuck or gone, whatever its process looks like.
        watchdog = setInterval(() => {
          if (live.settled || live.lastSeen === undefined || Date.now() - live.lastSeen <= silence) return;
          live.settle({ phase: "FAILED", error: { kind: "system", code: "ATTEMPT_LOST", message: `no heartbeat from attempt ${attemptNo} for ${Math.round((Date.now() - live.lastSeen) / 1000)} s (its process or pod is stuck or gone); it was stopped`, retryable: true } });
          if (live.handle) this.ctx.runner.abort(assignment, live.handle, "no heartbeat").catch(() => undefined);
        }, Math.max(50, silence / 4));
      }
      const outcome = await live.outcome.finally(() => clearInterval(watchdog));
      const now = clock.now();
      const handle = live.handle ? { runner: live.handle } : {};
      if (outcome.phase === "ABORTED") {
        await this.saveAttempt({ ...attempt, ...handle, phase: "ABORTED", error: abortedFailure(signal, outcome.reason), endedAt: now, updatedAt: now });
        return { phase: "ABORTED", reason: outcome.reason, attempt: live };
      }
      if (outcome.phase === "SUCCEEDED") {
        const problem = await this.checkOutputs(spec, outcome.outputs);
        if (!problem) {
          attempt.phase = "SUCCEEDED";
          attempt.endedAt = now;
          attempt.updatedAt = now;
          Object.assign(attempt, handle);
          this.pendingAttempt.set(record.nodeId, attempt);
          return { phase: "SUCCEEDED", outputs: outcome.outputs, attempt: live };
        }
        const error: FailureRecord = problem;
        await this.saveAttempt({ ...attempt, ...handle, phase: "FAILED", error, endedAt: now, updatedAt: now });
        return { phase: "FAILED", error, attempt: live };
      }
      await this.saveAttempt({ ...attempt, ...handle, phase: outcome.phase, error: outcome.error, endedAt: now, updatedAt: now });
      return { phase: outcome.phase, error: outcome.error, attempt: live };
    } finally {
      signal.removeEventListener("abort", onAbort);
      if (timer) clearTimeout(timer);
      this.slots.release();
      this.live.delete(attemptId(id, attemptNo));
      // A success is acknowledged once its node is stored (finishNode); anything else is stored by now.
      if (!this.pendingAttempt.has(id)) live.resolveStored(record);
    }
  }

  /** A succeeded attempt's record, stored together with its node's. */
  private readonly pendingAttempt = new Map<string, NodeAttemptRecord>();

  /** Outputs must be exactly the declared ones, each fitting its type, blobs present in the project. */
  private async checkOutputs(spec: TaskSpec, outputs: LiteralMap): Promise<FailureRecord | undefined> {
    const bad = (message: string): FailureRecord => ({ kind: "user", code: "OUTPUTS_INVALID", message: `task ${spec.name} wrote invalid outputs: ${message}`, retryable: false });
    const declared = spec.interface.outputs;
    for (const name of Object.keys(outputs)) if (!Object.hasOwn(declared, name)) return bad(`${name} is not an output (outputs: ${Object.keys(declared).join(", ") || "none"})`);
    for (const [name, v] of Object.entries(declared)) {
      const lit = Object.hasOwn(outputs, name) ? outputs[name] : undefined;
      if (!lit) return bad(`output ${name} is missing`);
      const problem = literalProblem(lit, v.type, `outputs.${name}`);
      if (problem) return bad(problem);
    }
    const { store, blobs, clock } = this.ctx.deps;
    for (const lit of Object.values(outputs)) {
      for (const ref of blobsOf(lit)) {
        const claim = await store.getProjectBlob(this.key.project, ref.hash);
        if (claim) continue;
        const stat = await blobs.stat(ref.hash);
        if (!stat || stat.size !== ref.size) {
          return { kind: "system", code: "OUTPUT_BLOB_MISSING", message: `output blob ${ref.hash} (${ref.size} bytes) was never stored`, retryable: true };
        }
        await store.addProjectBlob({ project: this.key.project, hash: ref.hash, size: ref.size, kind: "data", createdAt: clock.now(), createdBy: "engine" });
      }
    }
    return undefined;
  }

  /** Records a checkpoint a running attempt wrote. */
  async recordCheckpoint(node: string, checkpoint: BlobRef): Promise<void> {
    const record = this.stored.get(node) ?? (await this.ctx.deps.store.getNodeExecution(this.key, node));
    if (!record) return;
    record.checkpoint = checkpoint;
    record.updatedAt = this.ctx.deps.clock.now();
    this.stored.set(node, record);
    await this.ctx.deps.store.putNodeExecution(record);
  }

  // ---- child executions ----------------------------------------------------------------

  private async runChild(node: Extract<Node, { kind: "launch_plan" }>, scope: GraphScope, record: NodeExecutionRecord, signal: AbortSignal): Promise<Outputs> {
    const { store, clock } = this.ctx.deps;
    const lp = await this.ctx.entity(this.refOf(node.target, scope.references));
    const lpSpec = lp.spec as LaunchPlanSpec;
    const wfId = lp.references.find((r) => r.resourceType === "workflow");
    if (!wfId) throw new Error(`launch plan ${lp.id.name}@${lp.id.version} pins no workflow`);
    const wf = await this.ctx.entity(wfId);
    const wfSpec = wf.spec as WorkflowSpec;
    const given = resolveNodeInputs(node, declaredTypes(wfSpec.interface.inputs), scope);
    const inputs = withWorkflowDefaults(wfSpec, { ...lpSpec.defaultInputs, ...given, ...lpSpec.fixedInputs });
    const childName = record.child ?? childExecutionName(this.key.name, record.nodeId);
    record.child = childName;
    record.target = lp.id;
    await this.save(record, inputs);
    const childKey = { ...this.key, name: childName };
    this.children.add(childName);
    let child = await store.getExecution(childKey);
    if (!child) {
      const now = clock.now();
      child = await store.createExecution({
        key: childKey,
        workflow: wf.id,
        launchPlan: lp.id,
        phase: "QUEUED",
        mode: "launch",
        inputs: await storeLiterals(this.ctx.deps, this.key.project, inputs, "engine"),
        labels: { ...lpSpec.labels, ...this.record.labels },
        ...(lpSpec.maxParallelism !== undefined ? { maxParallelism: lpSpec.maxParallelism } : {}),
        ...(this.record.overwriteCache ? { overwriteCache: true } : {}),
        parent: { execution: this.key.name, node: record.nodeId },
        createdAt: now,
        createdBy: "engine",
        updatedAt: now,
      });
      child ??= await store.getExecution(childKey);
      if (!child) throw new Error(`could not create child execution ${childName}`);
    }
    if (signal.aborted) this.ctx.terminateChild(childKey, "the parent execution was aborted");
    const done = await this.ctx.runToEnd(child);
    if (done.phase === "SUCCEEDED") return done.outputs ? loadLiterals(this.ctx.deps, done.outputs) : {};
    throw new NodeFailure(record.nodeId, {
      ...(done.error ?? systemFailure("CHILD_FAILED", `child execution ${childName} ended ${done.phase}`, false)),
      message: `child execution ${childName} (launch plan ${lp.id.name}) ended ${done.phase}${done.error ? `: ${done.error.message}` : ""}`,
    }, done.phase === "ABORTED" ? "ABORTED" : done.phase === "TIMED_OUT" ? "TIMED_OUT" : "FAILED");
  }

  // ---- node records ----------------------------------------------------------------------

  /**
   * The stored outputs of a node that already succeeded here, or in the execution
   * being recovered. Recovering onto another workflow version reuses a node only
   * when it runs the same task (or subworkflow, launch plan) version as before.
   */
  private async adopt(id: string, target?: Identifier): Promise<Outputs | undefined> {
    const prior = this.stored.get(id);
    if (prior?.phase === "SUCCEEDED" && prior.outputs) return loadLiterals(this.ctx.deps, prior.outputs);
    const source = this.source.get(id);
    if (!prior && source?.phase === "SUCCEEDED" && source.outputs && (await this.sameCode(target, source.target))) {
      const now = this.ctx.deps.clock.now();
      const record: NodeExecutionRecord = {
        ...source,
        execution: this.key,
        attempts: 0,
        cache: { status: "HIT", ...(source.cache?.key ? { key: source.cache.key } : {}), reason: `recovered: outputs of execution ${this.record.source}` },
        createdAt: now,
        updatedAt: now,
        startedAt: now,
        endedAt: now,
      };
      await this.ctx.deps.store.putNodeExecution(record);
      this.stored.set(id, record);
      return loadLiterals(this.ctx.deps, source.outputs);
    }
    return undefined;
  }

  /**
   * Whether a recovered node runs what its source ran: always on the same workflow
   * version; on another, a task with the same code (cache version) and interface,
   * or a subworkflow or launch plan with identical content.
   */
  private async sameCode(target: Identifier | undefined, before: Identifier | undefined): Promise<boolean> {
    if (this.sourceVersion === this.record.workflow.version) return true;
    if (!target || !before) return false;
    if (sameIdentifier(target, before)) return true;
    const [now, then] = await Promise.all([this.ctx.entity(target), this.ctx.entity(before)]);
    if (target.resourceType !== "task") return now.digest === then.digest;
    const a = now.spec as TaskSpec;
    const b = then.spec as TaskSpec;
    return a.cache.version === b.cache.version && interfaceHash(a.interface) === interfaceHash(b.interface);
  }

  private newRecord(id: string): NodeExecutionRecord {
    const prior = this.stored.get(id);
    if (prior) return prior;
    const now = this.ctx.deps.clock.now();
    const record: NodeExecutionRecord = { execution: this.key, nodeId: id, phase: "QUEUED", attempts: 0, createdAt: now, updatedAt: now };
    this.stored.set(id, record);
    return record;
  }

  /** Stores a node record (with its inputs, the first time they are known). */
  private async save(record: NodeExecutionRecord, inputs?: LiteralMap): Promise<void> {
    if (inputs && !record.inputs) record.inputs = await storeLiterals(this.ctx.deps, this.key.project, inputs, "engine");
    record.updatedAt = this.ctx.deps.clock.now();
    await this.ctx.deps.store.putNodeExecution(record);
  }

  private async saveAttempt(attempt: NodeAttemptRecord): Promise<void> {
    await this.ctx.deps.store.putNodeAttempt(attempt);
  }

  /** Stores a node's end (with the attempt that ended it, in one transaction) and tells whoever waits on that attempt. */
  private async finishNode(record: NodeExecutionRecord, phase: NodePhase, result: { outputs?: LiteralMap; error?: FailureRecord }, live?: LiveAttempt): Promise<void> {
    const { store, clock } = this.ctx.deps;
    const now = clock.now();
    record.phase = phase;
    record.endedAt = now;
    record.updatedAt = now;
    if (result.outputs) record.outputs = await storeLiterals(this.ctx.deps, this.key.project, result.outputs, "engine");
    if (result.error) record.error = result.error;
    const attempt = this.pendingAttempt.get(record.nodeId);
    this.pendingAttempt.delete(record.nodeId);
    await store.transaction(async (tx) => {
      if (attempt) await tx.putNodeAttempt(attempt);
      await tx.putNodeExecution(record);
    });
    live?.resolveStored(record);
  }

  private markSkipped(id: string, reason: string): void {
    if (this.stored.get(id)?.phase === "SUCCEEDED") return;
    const record = this.newRecord(id);
    record.phase = "SKIPPED";
    record.error = { kind: "user", code: "SKIPPED", message: reason, retryable: false };
    this.save(record).catch((e: unknown) => this.ctx.onError(e, `storing skipped node ${id}`));
  }

  private failureOf(id: string, e: unknown, signal: AbortSignal): NodeFailure {
    if (e instanceof NodeFailure) return e.node === id ? e : new NodeFailure(id, e.failure, e.phase);
    if (signal.aborted) return new NodeFailure(id, abortedFailure(signal), "ABORTED");
    return new NodeFailure(id, { kind: "user", code: "NODE_ERROR", message: (e as Error)?.message ?? String(e), retryable: false });
  }

  private refOf(target: EntityRef, references: readonly Identifier[]): Identifier {
    const version = target.version ?? references.find((r) => r.resourceType === target.resourceType && r.name === target.name)?.version;
    if (version === undefined) throw new Error(`${target.resourceType} ${target.name} is not pinned by the workflow's registration`);
    return { resourceType: target.resourceType, project: this.key.project, domain: this.key.domain, name: target.name, version };
  }
}

const sameIdentifier = (a: Identifier, b: Identifier) => a.resourceType === b.resourceType && a.name === b.name && a.version === b.version;

/** A child execution's name: deterministic, so a restart finds the child it already made. */
export function childExecutionName(parent: string, node: string): string {
  const safe = node.replace(/[^A-Za-z0-9_-]/g, "-");
  const base = `${parent}-${safe}`;
  if (base.length <= 60) return base;
  let h = 0;
  for (const c of base) h = (Math.imul(h, 31) + c.charCodeAt(0)) | 0;
  return `${base.slice(0, 50)}-${(h >>> 0).toString(36)}`;
}

function systemFailure(code: string, message: string, retryable: boolean): FailureRecord {
  return { kind: "system", code, message, retryable };
}

function abortedFailure(signal: AbortSignal, reason?: string): FailureRecord {
  const why = reason ?? ((signal.reason as Error | undefined)?.message || "aborted");
  return { kind: "user", code: "ABORTED", message: why, retryable: false };
}

/** The attempt an outcome names must be the node's current one; what the API says otherwise. */
export function staleAttempt(node: string, attempt: number): string {
  return `attempt ${attempt} of node ${node} is not running`;
}
