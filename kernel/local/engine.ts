/**
 * The local engine: runs a compiled workflow in this process. Event-driven (a
 * finished node starts its ready dependents at once), parallel up to a limit, with
 * retries, timeouts, checkpoints and the content-addressed cache. Every value crosses
 * node boundaries as a Literal, exactly as in a remote run, so a task mutating its
 * input can never affect another node.
 */
import { randomUUID } from "node:crypto";
import { fileURLToPath } from "node:url";
import { dirname } from "node:path";
import {
  isPetrelError,
  typeToString,
  type Binding,
  type BlobRef,
  type BranchNode,
  type FailureRecord,
  type LaunchPlanSpec,
  type Literal,
  type LiteralMap,
  type LiteralType,
  type MapNode,
  type Node,
  type NodePhase,
  type TaskSpec,
  type WorkflowSpec,
} from "../model/index.js";
import {
  adaptLiteral,
  computeCacheKey,
  type BlobAccess,
  type ConversionContext,
  type TypeEngine,
  type ValueHints,
} from "../types/index.js";
import type { LocalCache } from "./cache.js";
import { ExecutionFailedError, OutputShapeError, TaskTimeoutError } from "./errors.js";
import type { AttemptRecord, NodeRecord, RunEvent, RunRecord } from "./records.js";
import { Semaphore } from "./semaphore.js";
import {
  chooseBranch,
  declaredTypes,
  mapInstances,
  mapNodeInputTypes,
  resolveBinding,
  resolveNodeInputs,
  withWorkflowDefaults,
  type BindingScope,
} from "./dag.js";

/** What task code receives besides its inputs. */
export interface TaskContext {
  /** 1 on the first attempt. */
  readonly attempt: number;
  readonly maxAttempts: number;
  readonly runId: string;
  /** The node id (`clean`, `fit[3]`). */
  readonly node: string;
  readonly task: string;
  /** Aborted when the attempt times out or the run is cancelled: long loops should check it. */
  readonly signal: AbortSignal;
  /** Records a log line on the attempt. */
  log(...args: unknown[]): void;
  /** Intra-task checkpoints: the previous attempt's last write is readable by the next. */
  readonly checkpoint: {
    read(): Promise<Uint8Array | undefined>;
    readText(): Promise<string | undefined>;
    write(data: Uint8Array | string): Promise<void>;
  };
}

/** A task as the local engine runs it. */
export interface LocalTask {
  readonly spec: TaskSpec;
  readonly fn: (inputs: Record<string, unknown>, ctx: TaskContext) => unknown;
  /** How each input's value is shaped (DataFrame formats), by input name. */
  readonly inputHints: Record<string, ValueHints>;
}

/** Looks up what nodes refer to. */
export interface LocalEntities {
  task(name: string): LocalTask | undefined;
  workflow(name: string): WorkflowSpec | undefined;
  launchPlan(name: string): LaunchPlanSpec | undefined;
}

/** Fully resolved settings of one run. */
export interface LocalEnvironment {
  entities: LocalEntities;
  engine: TypeEngine;
  blobs: BlobAccess;
  /** Absent when caching is off for the run. */
  cache?: LocalCache;
  overwriteCache: boolean;
  maxParallelism: number;
  retryBackoffMs: number;
  maxRetryBackoffMs: number;
  systemRetries: number;
  onEvent?: (event: RunEvent) => void;
  signal?: AbortSignal;
}

const OWN_DIR = dirname(dirname(fileURLToPath(import.meta.url)));

/** Runs a workflow; resolves with the record, or rejects with ExecutionFailedError carrying it. */
export async function executeWorkflow(
  spec: WorkflowSpec,
  inputs: LiteralMap,
  env: LocalEnvironment,
  runId: string = randomUUID(),
): Promise<RunRecord> {
  const shared: Shared = { env, runId, slots: new Semaphore(env.maxParallelism), plans: new Map() };
  const execution = new WorkflowExecution(spec, inputs, shared, "");
  try {
    await execution.run();
  } catch (e) {
    const failure = execution.record.error ?? toFailure(e, "system");
    throw new ExecutionFailedError(
      `workflow ${spec.name} failed${execution.failedNode ? ` at node ${execution.failedNode}` : ""}: ${failure.message}`,
      execution.failedNode,
      failure,
      execution.record,
      e,
    );
  }
  return execution.record;
}

interface Shared {
  env: LocalEnvironment;
  runId: string;
  /** Task attempts take a slot; container nodes (subworkflows, branches, maps) do not, so they cannot deadlock. */
  slots: Semaphore;
  plans: Map<LocalTask, TaskPlan>;
}

interface NodeState {
  node: Node;
  record: NodeRecord;
  waitingOn: number;
  dependents: NodeState[];
}

class WorkflowExecution implements BindingScope {
  readonly record: RunRecord;
  failedNode: string | undefined;
  private readonly states = new Map<string, NodeState>();
  private remaining = 0;
  private resolveDone!: () => void;
  private rejectDone!: (e: unknown) => void;
  private failed = false;
  private firstError: unknown;

  constructor(
    readonly spec: WorkflowSpec,
    readonly inputs: LiteralMap,
    readonly shared: Shared,
    readonly prefix: string,
  ) {
    this.record = {
      id: shared.runId,
      workflow: spec.name,
      phase: "RUNNING",
      startedAt: now(),
      inputs,
      nodes: {},
    };
    for (const node of spec.nodes) {
      const record = newNodeRecord(node);
      this.record.nodes[node.id] = record;
      this.states.set(node.id, { node, record, waitingOn: node.upstream.length, dependents: [] });
    }
    for (const state of this.states.values()) {
      for (const up of state.node.upstream) this.states.get(up)!.dependents.push(state);
    }
  }

  run(): Promise<void> {
    const done = new Promise<void>((resolve, reject) => {
      this.resolveDone = resolve;
      this.rejectDone = reject;
    });
    this.remaining = this.states.size;
    if (this.remaining === 0) this.finish();
    else for (const state of this.states.values()) if (state.waitingOn === 0) this.launch(state);
    return done;
  }

  private launch(state: NodeState): void {
    // Task nodes start only once a slot is free, so a wide graph queues cheap closures.
    if (state.node.kind === "task") this.shared.slots.schedule(() => this.start(state, { held: true }));
    else this.start(state, { held: false });
  }

  private start(state: NodeState, slot: Slot): void {
    if (this.record.endedAt !== undefined) {
      // The run already failed while this node waited for a slot.
      if (slot.held) this.shared.slots.release();
      return;
    }
    state.record.phase = "RUNNING";
    state.record.startedAt = now();
    this.shared.env.onEvent?.({ type: "node-started", run: this.shared.runId, node: state.record });
    executeNode(state.node, state.record, this, this.shared, this.prefix, slot).then(
      () => this.settled(state, undefined),
      (e: unknown) => this.settled(state, e),
    );
  }

  private settled(state: NodeState, error: unknown): void {
    const r = state.record;
    r.endedAt = now();
    r.durationMs = r.endedAt - (r.startedAt ?? r.endedAt);
    if (error === undefined) r.phase = "SUCCEEDED";
    else {
      if (r.phase === "RUNNING") r.phase = "FAILED";
      r.error ??= toFailure(error, "system");
    }
    this.shared.env.onEvent?.({ type: "node-finished", run: this.shared.runId, node: r });
    this.remaining--;
    if (error !== undefined) {
      if (!this.failed) {
        this.failed = true;
        this.firstError = error;
        this.failedNode = state.node.id;
        this.record.error = r.error;
      }
      this.skipDownstream(state);
      if (this.spec.failurePolicy === "fail_immediately") {
        this.abortPending();
        this.finish();
        return;
      }
    } else if (!this.failed || this.spec.failurePolicy !== "fail_immediately") {
      for (const dep of state.dependents) {
        if (--dep.waitingOn === 0 && dep.record.phase === "UNDEFINED") this.launch(dep);
      }
    }
    if (this.remaining === 0) this.finish();
  }

  private skipDownstream(state: NodeState): void {
    const stack = [...state.dependents];
    while (stack.length > 0) {
      const dep = stack.pop()!;
      if (dep.record.phase !== "UNDEFINED") continue;
      dep.record.phase = "SKIPPED";
      this.remaining--;
      stack.push(...dep.dependents);
    }
  }

  private abortPending(): void {
    for (const s of this.states.values()) {
      if (s.record.phase === "UNDEFINED") s.record.phase = "SKIPPED";
    }
  }

  private finish(): void {
    if (this.record.endedAt !== undefined) return;
    this.record.endedAt = now();
    this.record.durationMs = this.record.endedAt - this.record.startedAt;
    if (this.failed) {
      this.record.phase = "FAILED";
      this.rejectDone(this.firstError);
      return;
    }
    try {
      const outputs: LiteralMap = {};
      for (const [name, binding] of Object.entries(this.spec.outputs)) {
        outputs[name] = adaptLiteral(
          this.resolve(binding),
          this.typeOf(binding) ?? this.spec.interface.outputs[name]!.type,
          this.spec.interface.outputs[name]!.type,
        );
      }
      this.record.outputs = outputs;
      this.record.phase = "SUCCEEDED";
      this.resolveDone();
    } catch (e) {
      this.record.phase = "FAILED";
      this.rejectDone(e);
    }
  }

  typeOf(binding: Binding): LiteralType | undefined {
    if (binding.kind === "input") return this.spec.interface.inputs[binding.name]?.type;
    if (binding.kind === "output") return this.states.get(binding.node)?.node.outputs[binding.output];
    return undefined;
  }

  resolve(binding: Binding): Literal {
    return resolveBinding(binding, this.lookup);
  }

  /** The value of a workflow input or a node output (made once: resolve runs for every binding of every node). */
  private readonly lookup = (b: Extract<Binding, { kind: "input" | "output" }>): Literal => {
    const lit = b.kind === "input" ? this.inputs[b.name] : this.states.get(b.node)?.record.outputs?.[b.output];
    if (!lit) throw new OutputShapeError(`workflow ${this.spec.name}`, b.kind === "input" ? `input ${b.name} has no value` : `node ${b.node} has no output ${b.output}`);
    return lit;
  };
}

/** Every field present from the start, so records share one shape (V8 hidden class). */
function newNodeRecord(node: Node, id: string = node.id, kind: NodeRecord["kind"] = node.kind): NodeRecord {
  return {
    id,
    name: node.kind === "branch" ? node.metadata.name : node.target.name,
    kind,
    phase: "UNDEFINED",
    startedAt: undefined,
    endedAt: undefined,
    durationMs: undefined,
    inputs: undefined,
    outputs: undefined,
    attempts: [],
    cache: CACHE_NOT_LOOKED_UP,
    error: undefined,
    children: undefined,
    run: undefined,
  };
}

/** A map node's cache field: HIT when every instance hit, otherwise the counts per status. */
function summarizeCache(children: NodeRecord[]): NodeRecord["cache"] {
  if (children.length === 0) return CACHE_NOT_LOOKED_UP;
  const counts = new Map<string, number>();
  for (const c of children) counts.set(c.cache.status, (counts.get(c.cache.status) ?? 0) + 1);
  const reason = [...counts].map(([status, n]) => `${n} ${status}`).join(", ");
  if (counts.size === 1) return { status: children[0]!.cache.status, reason: `all ${children.length} instances ${children[0]!.cache.status}` };
  return { status: counts.has("POPULATED") ? "POPULATED" : counts.has("MISS") ? "MISS" : "HIT", reason };
}

/** Shared, frozen: most records never change their cache field. */
const CACHE_NOT_LOOKED_UP: NodeRecord["cache"] = Object.freeze({ status: "DISABLED" });


/** A concurrency slot a task node may already hold when it starts (handed to its first attempt). */
interface Slot {
  held: boolean;
}

async function executeNode(
  node: Node,
  record: NodeRecord,
  scope: BindingScope,
  shared: Shared,
  prefix: string,
  slot: Slot = { held: false },
): Promise<void> {
  const entities = shared.env.entities;
  switch (node.kind) {
    case "task": {
      try {
        const task = mustFind(entities.task(node.target.name), "task", node.target.name, node.id);
        record.inputs = resolveNodeInputs(node, planFor(task, shared).inputTypes, scope, task.spec.interface.inputs);
        record.outputs = await runTask(task, node, record, record.inputs, shared, prefix + node.id, slot);
      } finally {
        if (slot.held) {
          slot.held = false;
          shared.slots.release();
        }
      }
      return;
    }
    case "workflow": {
      const sub = mustFind(entities.workflow(node.target.name), "workflow", node.target.name, node.id);
      record.inputs = resolveNodeInputs(node, declaredTypes(sub.interface.inputs), scope, sub.interface.inputs);
      record.outputs = await runSubworkflow(sub, record.inputs, record, shared, `${prefix}${node.id}.`);
      return;
    }
    case "launch_plan": {
      const lp = mustFind(entities.launchPlan(node.target.name), "launch plan", node.target.name, node.id);
      const wf = mustFind(entities.workflow(lp.workflow.name), "workflow", lp.workflow.name, node.id);
      const given = resolveNodeInputs(node, declaredTypes(wf.interface.inputs), scope);
      record.inputs = { ...lp.defaultInputs, ...given, ...lp.fixedInputs };
      record.outputs = await runSubworkflow(wf, withWorkflowDefaults(wf, record.inputs), record, shared, `${prefix}${node.id}.`);
      return;
    }
    case "map": {
      const task = mustFind(entities.task(node.target.name), "task", node.target.name, node.id);
      record.inputs = resolveNodeInputs(node, mapNodeInputTypes(node, task.spec.interface.inputs), scope, task.spec.interface.inputs);
      record.outputs = await runMap(node, task, record, shared, prefix);
      return;
    }
    case "branch":
      record.outputs = await runBranch(node, record, scope, shared, prefix);
      return;
  }
}

function mustFind<T>(value: T | undefined, what: string, name: string, node: string): T {
  if (value === undefined) {
    throw new OutputShapeError(`node ${node}`, `${what} ${name} is not known to this run`);
  }
  return value;
}

async function runSubworkflow(
  spec: WorkflowSpec,
  inputs: LiteralMap,
  record: NodeRecord,
  shared: Shared,
  prefix: string,
): Promise<LiteralMap> {
  const sub = new WorkflowExecution(spec, inputs, shared, prefix);
  record.run = sub.record;
  try {
    await sub.run();
  } catch (e) {
    record.error = sub.record.error ?? toFailure(e, "system");
    throw e;
  }
  return sub.record.outputs!;
}

async function runMap(node: MapNode, task: LocalTask, record: NodeRecord, shared: Shared, prefix: string): Promise<LiteralMap> {
  let instances: ReturnType<typeof mapInstances>;
  try {
    instances = mapInstances(node, record.inputs!);
  } catch (e) {
    throw new OutputShapeError(`map node ${node.id}`, (e as Error).message);
  }
  const n = instances.count;
  const children: NodeRecord[] = new Array<NodeRecord>(n);
  const results: (LiteralMap | undefined)[] = new Array<LiteralMap | undefined>(n).fill(undefined);
  record.children = children;
  const runInstance = async (i: number): Promise<void> => {
    const child = newNodeRecord(node, `${node.id}[${i}]`, "task");
    children[i] = child;
    const childInputs = instances.inputsOf(i);
    child.inputs = childInputs;
    child.phase = "RUNNING";
    child.startedAt = now();
    try {
      child.outputs = await runTask(task, node, child, childInputs, shared, `${prefix}${node.id}[${i}]`);
      child.phase = "SUCCEEDED";
      results[i] = child.outputs;
    } catch (e) {
      if (child.phase === "RUNNING") child.phase = "FAILED";
      child.error ??= toFailure(e, "system");
    } finally {
      child.endedAt = now();
      child.durationMs = child.endedAt - child.startedAt;
    }
  };
  // A pool of workers, not one async frame per instance: memory stays bounded by
  // the concurrency, whatever the list length.
  const workers = Math.min(n, node.concurrency > 0 ? node.concurrency : shared.env.maxParallelism);
  let next = 0;
  await Promise.all(
    Array.from({ length: workers }, async () => {
      while (next < n) await runInstance(next++);
    }),
  );
  record.cache = summarizeCache(children);
  const succeeded = results.filter((r) => r !== undefined).length;
  if (n > 0 && succeeded / n < node.minSuccessRatio) {
    const firstFailure = children.find((c) => c.error)?.error;
    record.error = {
      kind: firstFailure?.kind ?? "user",
      code: "MAP_MIN_SUCCESS_RATIO",
      message: `map node ${node.id}: ${succeeded} of ${n} instances succeeded, below the minimum success ratio ${node.minSuccessRatio}${firstFailure ? `; first failure: ${firstFailure.message}` : ""}`,
      retryable: false,
      ...(firstFailure?.stack ? { stack: firstFailure.stack } : {}),
    };
    throw new OutputShapeError(`map node ${node.id}`, record.error.message);
  }
  const outputs: LiteralMap = {};
  for (const name of Object.keys(task.spec.interface.outputs)) {
    outputs[name] = {
      kind: "list",
      items: results.map((r) => (r ? r[name]! : ({ kind: "none" } as Literal))),
    };
  }
  return outputs;
}

async function runBranch(node: BranchNode, record: NodeRecord, scope: BindingScope, shared: Shared, prefix: string): Promise<LiteralMap> {
  const choice = chooseBranch(node, scope);
  if ("error" in choice) {
    record.error = { kind: "user", code: "BRANCH_NO_MATCH", message: choice.error, retryable: false };
    throw new OutputShapeError(`branch ${node.id}`, choice.error);
  }
  const chosen = choice.node;
  const child = newNodeRecord(chosen);
  record.children = [child];
  child.phase = "RUNNING";
  child.startedAt = now();
  try {
    await executeNode(chosen, child, scope, shared, prefix);
    child.phase = "SUCCEEDED";
  } catch (e) {
    if (child.phase === "RUNNING") child.phase = "FAILED";
    child.error ??= toFailure(e, "system");
    record.error = child.error;
    throw e;
  } finally {
    child.endedAt = now();
    child.durationMs = child.endedAt - child.startedAt;
  }
  return child.outputs ?? {};
}

async function runTask(
  task: LocalTask,
  node: Node,
  record: NodeRecord,
  inputs: LiteralMap,
  shared: Shared,
  nodePath: string,
  slot: Slot = { held: false },
): Promise<LiteralMap> {
  const { env } = shared;
  const spec = task.spec;
  const useCache = env.cache !== undefined && spec.cache.enabled;
  let key: ReturnType<typeof computeCacheKey> | undefined;
  if (useCache) {
    key = computeCacheKey(spec, inputs);
    record.cache = { status: "MISS", key: key.key };
    if (env.overwriteCache) {
      record.cache.reason = "overwriteCache was requested for this run";
    } else {
      const found = await env.cache!.lookup(key, env.blobs);
      if (found.status === "HIT") {
        record.cache = { status: "HIT", key: key.key };
        return found.entry!.outputs;
      }
      record.cache.reason = found.reason!;
    }
  } else {
    record.cache = planFor(task, shared).disabledCache;
  }
  const retries = node.metadata.retries ?? spec.retries;
  const timeoutMs = node.metadata.timeoutMs ?? spec.timeoutMs;
  const maxAttempts = retries + 1;
  let userFailures = 0;
  let systemFailures = 0;
  const checkpoint: { ref?: BlobRef } = {};
  for (let attemptNo = 1; ; attemptNo++) {
    const attempt: AttemptRecord = { attempt: attemptNo, phase: "RUNNING", startedAt: now(), logs: [] };
    record.attempts.push(attempt);
    if (slot.held) slot.held = false; // the first attempt uses the slot the node started with
    else {
      const wait = shared.slots.acquire();
      if (wait) await wait;
    }
    let outputs: LiteralMap | undefined;
    let failure: FailureRecord | undefined;
    let phase: NodePhase = "SUCCEEDED";
    let thrown: unknown;
    try {
      const ctx = new AttemptContext(attemptNo, maxAttempts, shared.runId, nodePath, spec.name, env, checkpoint, attempt.logs);
      outputs = await runPlanned(task, planFor(task, shared), inputs, env.engine, ctx, timeoutMs, nodePath);
    } catch (e) {
      thrown = e;
      ({ phase, error: failure } = attemptFailure(e));
    } finally {
      shared.slots.release();
    }
    attempt.endedAt = now();
    attempt.durationMs = attempt.endedAt - attempt.startedAt;
    attempt.phase = phase;
    if (outputs) {
      if (key) {
        await env.cache!.store(key, {
          parts: key.parts,
          outputs,
          createdAt: new Date().toISOString(),
          producedBy: { run: shared.runId, node: nodePath },
        });
        record.cache.status = "POPULATED";
      }
      return outputs;
    }
    attempt.error = failure!;
    if (failure!.kind === "user") userFailures++;
    else systemFailures++;
    const budgetLeft = failure!.kind === "user" ? userFailures <= retries : systemFailures <= env.systemRetries;
    if (!failure!.retryable || !budgetLeft || env.signal?.aborted) {
      record.phase = phase;
      record.error = {
        ...failure!,
        message:
          attemptNo > 1 ? `${failure!.message} (after ${attemptNo} attempts)` : failure!.message,
      };
      throw thrown;
    }
    const backoff = Math.min(env.retryBackoffMs * 2 ** (attemptNo - 1), env.maxRetryBackoffMs);
    env.onEvent?.({ type: "attempt-failed", run: shared.runId, node: record, attempt, retryInMs: backoff });
    if (backoff > 0) await sleep(backoff);
  }
}

/** Options of {@link runTaskAttempt}: everything one attempt needs besides its task and inputs. */
export interface TaskAttemptOptions {
  engine: TypeEngine;
  /** Where input blobs are read and output blobs written (synchronously: prefetch remote blobs first). */
  blobs: BlobAccess;
  /** 1 on the first attempt, as `ctx.attempt` shows it. */
  attempt: number;
  maxAttempts: number;
  runId: string;
  /** The node id (`clean`, `fit[3]`): `ctx.node`, and named in errors. */
  nodePath: string;
  /** The attempt fails with TaskTimeoutError (code TASK_TIMEOUT) after this long. */
  timeoutMs?: number;
  /** The latest checkpoint, read by `ctx.checkpoint.read()`; a write replaces `ref`. */
  checkpoint: { ref?: BlobRef };
  /** Called once a checkpoint write is stored in `blobs` (to upload and record it); the write resolves after it. */
  onCheckpoint?: (ref: BlobRef) => void | Promise<void>;
  /** Aborts `ctx.signal` (e.g. the attempt is cancelled). */
  signal?: AbortSignal;
  /** Where `ctx.log` lines go (default: dropped). */
  onLog?: (line: string) => void;
}

/** Plans of tasks run through runTaskAttempt, reused while the blob store stays the same. */
const attemptPlans = new WeakMap<LocalTask, TaskPlan>();

/**
 * Runs one attempt of a task, exactly as the local engine does: converts the input
 * literals to values, calls the task with its context, enforces the timeout and
 * converts the result to output literals. Rejects with what the attempt threw
 * (the task's own error, TaskTimeoutError, OutputShapeError, a conversion error);
 * {@link attemptFailure} turns that into the phase and failure record to report.
 *
 * @example
 * ```ts
 * const outputs = await runTaskAttempt(task, inputs, {
 *   engine: createTypeEngine(), blobs, attempt: 1, maxAttempts: 1, runId: "r1", nodePath: "clean", checkpoint: {},
 * });
 * ```
 */
export function runTaskAttempt(task: LocalTask, inputs: LiteralMap, options: TaskAttemptOptions): Promise<LiteralMap> {
  let plan = attemptPlans.get(task);
  if (!plan || plan.blobs !== options.blobs) {
    plan = buildPlan(task, options.blobs, false);
    attemptPlans.set(task, plan);
  }
  const ctx = new AttemptContext(
    options.attempt,
    options.maxAttempts,
    options.runId,
    options.nodePath,
    task.spec.name,
    options,
    options.checkpoint,
    options.onLog,
  );
  return runPlanned(task, plan, inputs, options.engine, ctx, options.timeoutMs, options.nodePath);
}

/**
 * How an attempt that threw ended: TIMED_OUT for a timeout, else FAILED; the
 * failure is `system` for infrastructure (a blob that cannot be read), `user`
 * otherwise, with the user's stack and whether a retry can help.
 */
export function attemptFailure(e: unknown): { phase: "FAILED" | "TIMED_OUT"; error: FailureRecord } {
  return {
    phase: isPetrelError(e) && e.code === "TASK_TIMEOUT" ? "TIMED_OUT" : "FAILED",
    error: toFailure(e, (e as { petrelSystem?: boolean } | undefined)?.petrelSystem ? "system" : "user"),
  };
}

async function runPlanned(
  task: LocalTask,
  plan: TaskPlan,
  inputs: LiteralMap,
  engine: TypeEngine,
  ctx: AttemptContext,
  timeoutMs: number | undefined,
  nodePath: string,
): Promise<LiteralMap> {
  // Fresh values per attempt: a task that mutates its input sees pristine data on retry.
  const values: Record<string, unknown> = {};
  for (let i = 0; i < plan.inputs.length; i++) {
    const input = plan.inputs[i]!;
    const lit = inputs[input.name] ?? input.fallback;
    try {
      values[input.name] = lit === undefined ? undefined : engine.toValue(lit, input.type, input.ctx);
    } catch (e) {
      // A blob that cannot be fetched is infrastructure; a value that does not fit is not worth retrying.
      if (isPetrelError(e) && e.code === "BLOB_NOT_FOUND") markSystem(e);
      else nonRetryable(e);
      throw e;
    }
  }
  let timer: NodeJS.Timeout | undefined;
  try {
    // Call directly (no extra promise hop): synchronous tasks stay cheap, and a sync throw is caught below.
    const returned = task.fn(values, ctx);
    const call = isThenable(returned) ? returned : undefined;
    const result = !call
      ? returned
      : timeoutMs
      ? await Promise.race([
          call,
          new Promise<never>((_, reject) => {
            timer = setTimeout(() => {
              const err = new TaskTimeoutError(nodePath, timeoutMs, ctx.attempt);
              ctx.abort(err);
              reject(err);
            }, timeoutMs);
          }),
        ])
      : await call;
    return convertOutputs(result, plan, engine, nodePath);
  } finally {
    if (timer) clearTimeout(timer);
    ctx.dispose();
  }
}

/**
 * The context of one attempt. A class, with the AbortController created only when
 * task code asks for `signal`: allocating one per attempt costs more than a trivial task.
 */
class AttemptContext implements TaskContext {
  private controller: AbortController | undefined;
  private abortedWith: { reason: unknown } | undefined;
  private onRunAbort: (() => void) | undefined;

  constructor(
    readonly attempt: number,
    readonly maxAttempts: number,
    readonly runId: string,
    readonly node: string,
    readonly task: string,
    private readonly env: AttemptEnvironment,
    private readonly checkpointRef: { ref?: BlobRef },
    /** The attempt record's lines (local runs) or a sink (runtimes). */
    private readonly logTo: string[] | ((line: string) => void) | undefined,
  ) {}

  get signal(): AbortSignal {
    if (!this.controller) {
      const controller = new AbortController();
      this.controller = controller;
      if (this.abortedWith) controller.abort(this.abortedWith.reason);
      const runSignal = this.env.signal;
      if (runSignal) {
        if (runSignal.aborted) controller.abort(runSignal.reason);
        this.onRunAbort = () => controller.abort(runSignal.reason);
        runSignal.addEventListener("abort", this.onRunAbort, { once: true });
      }
    }
    return this.controller.signal;
  }

  abort(reason: unknown): void {
    this.abortedWith = { reason };
    this.controller?.abort(reason);
  }

  dispose(): void {
    if (this.onRunAbort) this.env.signal?.removeEventListener("abort", this.onRunAbort);
  }

  log(...args: unknown[]): void {
    const line = args.map((a) => (typeof a === "string" ? a : safeInspect(a))).join(" ");
    if (typeof this.logTo === "function") this.logTo(line);
    else this.logTo?.push(line);
  }

  get checkpoint(): TaskContext["checkpoint"] {
    const { env, checkpointRef } = this;
    return {
      read: () => Promise.resolve(checkpointRef.ref ? env.blobs.get(checkpointRef.ref) : undefined),
      readText: () =>
        Promise.resolve(checkpointRef.ref ? new TextDecoder().decode(env.blobs.get(checkpointRef.ref)) : undefined),
      write: async (data) => {
        const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
        const ref = env.blobs.put(bytes, "file", "checkpoint");
        await env.onCheckpoint?.(ref);
        checkpointRef.ref = ref;
      },
    };
  }
}

/** What an attempt's context reads from its run (a LocalEnvironment, or TaskAttemptOptions). */
interface AttemptEnvironment {
  blobs: BlobAccess;
  signal?: AbortSignal;
  onCheckpoint?: (ref: BlobRef) => void | Promise<void>;
}

function convertOutputs(result: unknown, plan: TaskPlan, engine: TypeEngine, nodePath: string): LiteralMap {
  const names = plan.outputNames;
  const where = () => `task ${plan.task} (node ${nodePath})`;
  if (result === undefined || result === null) {
    if (names.length === 0) return {};
    throw nonRetryable(new OutputShapeError(where(), `returned ${String(result)}; expected an object with outputs {${names.join(", ")}}`));
  }
  if (typeof result !== "object" || Array.isArray(result)) {
    throw nonRetryable(
      new OutputShapeError(where(), `returned ${describe(result)}; expected an object with outputs {${names.join(", ")}}`),
    );
  }
  const obj = result as Record<string, unknown>;
  let seen = 0;
  const out: LiteralMap = {};
  for (const output of plan.outputs) {
    const value = obj[output.name];
    if (value === undefined) {
      if (!(output.name in obj) && output.type.kind !== "optional") {
        throw nonRetryable(new OutputShapeError(where(), `did not return output ${output.name} (${typeToString(output.type)})`));
      }
    }
    if (output.name in obj) seen++;
    try {
      out[output.name] = engine.toLiteral(value, output.type, output.ctx);
    } catch (e) {
      throw nonRetryable(e);
    }
  }
  if (seen !== Object.keys(obj).length) {
    const extra = Object.keys(obj).filter((k) => !names.includes(k));
    throw nonRetryable(
      new OutputShapeError(where(), `returned unknown output${extra.length > 1 ? "s" : ""} ${extra.join(", ")}; declared outputs are {${names.join(", ")}}`),
    );
  }
  return out;
}

/** What converting a task's inputs and outputs needs, computed once per task per run. */
interface TaskPlan {
  task: string;
  /** The store the conversion contexts read and write. */
  blobs: BlobAccess;
  inputs: { name: string; type: LiteralType; ctx: ConversionContext; fallback: Literal | undefined }[];
  outputs: { name: string; type: LiteralType; ctx: ConversionContext }[];
  /** Declared input types, for adapting bound literals. */
  inputTypes: Record<string, LiteralType>;
  /** The cache field of every node of this task when it is not looked up (shared, frozen). */
  disabledCache: NodeRecord["cache"];
  outputNames: string[];
}

function planFor(task: LocalTask, shared: Shared): TaskPlan {
  let plan = shared.plans.get(task);
  if (plan) return plan;
  plan = buildPlan(task, shared.env.blobs, shared.env.cache !== undefined);
  shared.plans.set(task, plan);
  return plan;
}

function buildPlan(task: LocalTask, blobs: BlobAccess, cacheOn: boolean): TaskPlan {
  const spec = task.spec;
  return {
    task: spec.name,
    blobs,
    inputs: Object.entries(spec.interface.inputs).map(([name, v]) => {
      return {
        name,
        type: v.type,
        ctx: { blobs, where: `input ${name} of task ${spec.name}`, hints: task.inputHints[name] },
        // Unbound inputs take their default; optional ones are none.
        fallback: v.default ?? (v.type.kind === "optional" ? ({ kind: "none" } as Literal) : undefined),
      };
    }),
    outputs: Object.entries(spec.interface.outputs).map(([name, v]) => ({
      name,
      type: v.type,
      ctx: { blobs, where: `output ${name} of task ${spec.name}` },
    })),
    outputNames: Object.keys(spec.interface.outputs),
    inputTypes: declaredTypes(spec.interface.inputs),
    disabledCache: Object.freeze({
      status: "DISABLED",
      reason: !cacheOn ? "caching is off for this run" : `task ${spec.name} is not cacheable (cache: false)`,
    }),
  };
}

function isThenable(x: unknown): x is PromiseLike<unknown> {
  return typeof x === "object" && x !== null && typeof (x as { then?: unknown }).then === "function";
}

function describe(v: unknown): string {
  return Array.isArray(v) ? "an array" : `a ${typeof v} (${String(v).slice(0, 40)})`;
}

function nonRetryable<E>(e: E): E {
  if (typeof e === "object" && e !== null) (e as { petrelRetryable?: boolean }).petrelRetryable = false;
  return e;
}

function markSystem(e: unknown): void {
  if (typeof e === "object" && e !== null) (e as { petrelSystem?: boolean }).petrelSystem = true;
}

/** Turns whatever was thrown into a failure record, keeping the user's stack without Petrel's frames. */
export function toFailure(e: unknown, kind: FailureRecord["kind"]): FailureRecord {
  const err = e instanceof Error || (typeof e === "object" && e !== null && "message" in e) ? (e as Error) : undefined;
  const message = err ? err.message : `non-Error thrown: ${safeInspect(e)}`;
  const code = isPetrelError(e) ? e.code : kind === "user" ? "USER_ERROR" : "SYSTEM_ERROR";
  const explicit = (e as { petrelRetryable?: boolean } | undefined)?.petrelRetryable;
  const retryable = explicit ?? !(isPetrelError(e) && e.code === "NON_RETRYABLE");
  const stack = err?.stack ? trimStack(err.stack) : undefined;
  return { kind, code, message, retryable, ...(stack ? { stack } : {}) };
}

function trimStack(stack: string): string {
  return stack
    .split("\n")
    .filter((line) => !line.includes(OWN_DIR) && !line.includes("node:internal"))
    .join("\n");
}

function safeInspect(v: unknown): string {
  try {
    return typeof v === "string" ? v : JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

function now(): number {
  return performance.timeOrigin + performance.now();
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
