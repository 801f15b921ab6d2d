/**
 * An execution as the client sees it: its phase, its nodes (each with inputs,
 * outputs, attempts, cache status and logs) and its outputs, all read lazily from
 * the backend's data API. DataFrames stay on the server until asked for: a
 * preview reads only its rows.
 */
import {
  isTerminalPhase,
  type BlobRef,
  type CacheStatus,
  type ExecutionPhase,
  type FailureRecord,
  type Identifier,
  type Literal,
  type LiteralMap,
  type LiteralType,
  type NodePhase,
  type WorkflowSpec,
} from "../kernel/index.js";
import { RemoteDataFrame } from "./dataframe.js";
import { REMOTE_ERRORS, RemoteError } from "./errors.js";
import type { Http } from "./http.js";
import { executionBundle, nodeTableText, type NodeRow } from "./render.js";
import { decodeLiteral, type ValueOptions } from "./values.js";

/** An execution's full name. */
export interface ExecutionId {
  project: string;
  domain: string;
  name: string;
}

/** An execution record as the API returns it. */
export interface ExecutionView extends ExecutionId {
  workflow: Identifier;
  launchPlan?: Identifier;
  phase: ExecutionPhase;
  mode?: string;
  inputs?: LiteralMap;
  inputsRef?: BlobRef;
  outputs?: LiteralMap;
  outputsRef?: BlobRef;
  error?: FailureRecord;
  abort?: { cause: string; by: string; at: string };
  labels?: Record<string, string>;
  parent?: string;
  createdAt: string;
  createdBy: string;
  updatedAt: string;
  startedAt?: string;
  endedAt?: string;
}

/** One attempt of a node. */
export interface AttemptView {
  attempt: number;
  phase: NodePhase;
  error?: FailureRecord;
  runner?: { kind: string; id: string };
  startedAt?: string;
  endedAt?: string;
}

/** A node record as the API returns it. */
export interface NodeView {
  nodeId: string;
  phase: NodePhase;
  inputs?: LiteralMap;
  inputsRef?: BlobRef;
  outputs?: LiteralMap;
  outputsRef?: BlobRef;
  error?: FailureRecord;
  cache?: { status: CacheStatus; reason?: string; key?: string };
  target?: Identifier;
  child?: string;
  attempts: number | AttemptView[];
  startedAt?: string;
  endedAt?: string;
}

/** What an execution object needs from the Remote that made it. */
export interface ExecutionContext {
  http: Http;
  /** The workflow spec of an execution (cached by the Remote). */
  workflow(id: Identifier): Promise<WorkflowSpec | undefined>;
  /** The interface inputs of a node's target (cached by the Remote). */
  targetInputs(id: Identifier): Promise<Record<string, LiteralType> | undefined>;
  consoleUrl(path: string): string;
}

const time = (iso: string | undefined) => (iso ? Date.parse(iso) : undefined);

/** Names of an execution or node, for messages and paths. */
const base = (id: ExecutionId) => `/projects/${encodeURIComponent(id.project)}/domains/${encodeURIComponent(id.domain)}/executions/${encodeURIComponent(id.name)}`;

/**
 * Named values (inputs or outputs), decoded on request. `get` converts to the
 * value a task would receive; `dataframe` gives a handle for previews.
 */
export class Values<T extends Record<string, unknown> = Record<string, unknown>> {
  private literalsPromise: Promise<LiteralMap> | undefined;

  constructor(
    private readonly ctx: ExecutionContext,
    private readonly project: string,
    /** What these are, for messages: `outputs of node clean`. */
    readonly label: string,
    private readonly source: () => Promise<LiteralMap>,
    private readonly types: () => Promise<Record<string, LiteralType> | undefined>,
    /** The data route of a top-level blob by name, when there is one. */
    private readonly blobRoute?: (name: string) => string,
  ) {}

  /** The literals themselves (scalars inline, blobs as references). */
  literals(): Promise<LiteralMap> {
    return (this.literalsPromise ??= this.source().catch((e: unknown) => {
      this.literalsPromise = undefined;
      throw e;
    }));
  }

  /** The names present. */
  async names(): Promise<string[]> {
    return Object.keys(await this.literals());
  }

  private async literal(name: string): Promise<Literal> {
    const literals = await this.literals();
    const literal = Object.hasOwn(literals, name) ? literals[name] : undefined;
    if (!literal) throw new RemoteError(REMOTE_ERRORS.NOT_FOUND, `${this.label} have no ${JSON.stringify(name)} (names: ${Object.keys(literals).join(", ") || "none"})`);
    return literal;
  }

  /** One value, as a task would receive it: DataFrames as danfo (or `{ as: "arrow" }`), files as local paths. */
  async get<K extends keyof T & string>(name: K, options: ValueOptions = {}): Promise<T[K]> {
    const literal = await this.literal(name);
    const type = (await this.types())?.[name];
    return (await decodeLiteral(literal, type, (ref) => this.ctx.http.blob(this.blobPath(name, literal, ref), ref), `${name} of ${this.label}`, options)) as T[K];
  }

  /** Every value, decoded. */
  async all(options: ValueOptions = {}): Promise<T> {
    const out: Record<string, unknown> = {};
    for (const name of await this.names()) out[name] = await this.get(name as keyof T & string, options);
    return out as T;
  }

  /** A DataFrame value as a handle: `head(n)`, `slice`, column selection, or the whole table. */
  async dataframe(name: keyof T & string): Promise<RemoteDataFrame> {
    const literal = await this.literal(name);
    if (literal.kind !== "blob" || literal.blob.format !== "arrow") {
      throw new RemoteError(REMOTE_ERRORS.INVALID_REQUEST, `${name} of ${this.label} is a ${literal.kind === "blob" ? `${literal.blob.format} blob` : `${literal.kind} value`}, not a DataFrame; read it with get(${JSON.stringify(name)})`);
    }
    return new RemoteDataFrame(this.ctx.http, this.blobPath(name, literal, literal.blob), literal.blob, `${name} of ${this.label}`);
  }

  private blobPath(name: string, literal: Literal, ref: BlobRef): string {
    if (this.blobRoute && literal.kind === "blob" && literal.blob.hash === ref.hash) return this.blobRoute(name);
    return `/projects/${encodeURIComponent(this.project)}/blobs/${encodeURIComponent(ref.hash)}`;
  }
}

/** One node of an execution. */
export class RemoteNode {
  readonly id: string;
  readonly phase: NodePhase;
  readonly error: FailureRecord | undefined;
  /** HIT, MISS, POPULATED or DISABLED, with the reason for a miss. */
  readonly cache: { status: CacheStatus; reason?: string } | undefined;
  /** The task, workflow or launch plan it ran, pinned to its version. */
  readonly target: Identifier | undefined;
  /** Every attempt, first to last. */
  readonly attempts: AttemptView[];
  readonly startedAt: number | undefined;
  readonly endedAt: number | undefined;
  readonly inputs: Values;
  readonly outputs: Values;

  constructor(
    private readonly ctx: ExecutionContext,
    readonly execution: ExecutionId,
    view: NodeView,
    outputTypes: Record<string, LiteralType> | undefined,
  ) {
    this.id = view.nodeId;
    this.phase = view.phase;
    this.error = view.error;
    this.cache = view.cache && { status: view.cache.status, ...(view.cache.reason ? { reason: view.cache.reason } : {}) };
    this.target = view.target;
    this.attempts = Array.isArray(view.attempts) ? view.attempts : [];
    this.startedAt = time(view.startedAt);
    this.endedAt = time(view.endedAt);
    const path = `${base(execution)}/nodes/${encodeURIComponent(this.id)}`;
    const label = (side: string) => `${side} of node ${this.id}`;
    this.inputs = new Values(
      ctx,
      execution.project,
      label("inputs"),
      async () => view.inputs ?? (await ctx.http.call<LiteralMap>("GET", `${path}/inputs`)),
      async () => (this.target ? ctx.targetInputs(this.target) : undefined),
      (name) => `${path}/inputs/${encodeURIComponent(name)}/blob`,
    );
    this.outputs = new Values(
      ctx,
      execution.project,
      label("outputs"),
      async () => {
        if (view.outputs) return view.outputs;
        if (view.phase !== "SUCCEEDED") throw noOutputs(`node ${this.id}`, view.phase, view.error);
        return ctx.http.call<LiteralMap>("GET", `${path}/outputs`);
      },
      async () => outputTypes,
      (name) => `${path}/outputs/${encodeURIComponent(name)}/blob`,
    );
  }

  /** `cache.status`, for short. */
  get cacheStatus(): CacheStatus | undefined {
    return this.cache?.status;
  }

  get durationMs(): number | undefined {
    return this.startedAt !== undefined && this.endedAt !== undefined ? this.endedAt - this.startedAt : undefined;
  }

  /** An attempt's stdout and stderr (default: the last attempt); `tail` keeps only the last bytes. */
  logs(options: { attempt?: number; tail?: number } = {}): Promise<string> {
    return this.ctx.http.text(this.logsPath(options.attempt), options.tail !== undefined ? { tail: options.tail } : undefined);
  }

  /** Streams an attempt's logs as they are written, until the attempt ends. */
  followLogs(options: { attempt?: number; signal?: AbortSignal } = {}): AsyncGenerator<string> {
    return this.ctx.http.textStream(this.logsPath(options.attempt), { follow: "true" }, options.signal);
  }

  private logsPath(attempt: number | undefined): string {
    const n = attempt ?? this.attempts.length - 1;
    if (n < 0) throw new RemoteError(REMOTE_ERRORS.NOT_FOUND, `node ${this.id} has not started an attempt yet, so it has no logs`);
    return `${base(this.execution)}/nodes/${encodeURIComponent(this.id)}/attempts/${n}/logs`;
  }

  /** The row this node gets in tables. */
  row(): NodeRow {
    const note = this.error ? `${this.error.code}: ${this.error.message.split("\n")[0] ?? ""}` : (this.cache?.reason ?? "");
    return { id: this.id, phase: this.phase, cache: this.cache?.status ?? "", attempts: this.attempts.length, durationMs: this.durationMs, note };
  }
}

function noOutputs(what: string, phase: string, error: FailureRecord | undefined): RemoteError {
  const why = error ? ` (${error.code}: ${error.message.split("\n")[0]})` : "";
  const todo = isTerminalPhase(phase as NodePhase) ? "see its error and logs(), or recover the execution" : "wait for it first (await execution.wait())";
  return new RemoteError(REMOTE_ERRORS.NO_OUTPUTS, `${what} is ${phase}${why}, so it has no outputs: ${todo}`, { details: { phase } });
}

/** An execution with its nodes, as of when it was fetched (`refresh()` reads it again). */
export class RemoteExecution<O extends Record<string, unknown> = Record<string, unknown>> {
  readonly id: ExecutionId;
  readonly phase: ExecutionPhase;
  readonly workflow: Identifier;
  readonly launchPlan: Identifier | undefined;
  readonly error: FailureRecord | undefined;
  readonly labels: Record<string, string>;
  readonly createdAt: number;
  readonly startedAt: number | undefined;
  readonly endedAt: number | undefined;
  /** The workflow's compiled spec (for its DAG and types), when it could be read. */
  readonly spec: WorkflowSpec | undefined;
  /** Every node, by id. */
  readonly nodes: Readonly<Record<string, RemoteNode>>;
  readonly inputs: Values;
  readonly outputs: Values<O>;

  constructor(
    private readonly ctx: ExecutionContext,
    readonly view: ExecutionView,
    nodes: NodeView[],
    spec: WorkflowSpec | undefined,
  ) {
    this.id = { project: view.project, domain: view.domain, name: view.name };
    this.phase = view.phase;
    this.workflow = view.workflow;
    this.launchPlan = view.launchPlan;
    this.error = view.error;
    this.labels = view.labels ?? {};
    this.createdAt = Date.parse(view.createdAt);
    this.startedAt = time(view.startedAt);
    this.endedAt = time(view.endedAt);
    this.spec = spec;
    const outputTypes = new Map(spec?.nodes.map((n) => [n.id, n.outputs]) ?? []);
    this.nodes = Object.fromEntries(nodes.map((n) => [n.nodeId, new RemoteNode(ctx, this.id, n, outputTypes.get(n.nodeId))]));
    const path = base(this.id);
    const typesOf = (side: "inputs" | "outputs") => async () =>
      spec && Object.fromEntries(Object.entries(spec.interface[side]).map(([k, v]) => [k, v.type]));
    this.inputs = new Values(ctx, view.project, `inputs of execution ${view.name}`, async () => view.inputs ?? (await ctx.http.call<LiteralMap>("GET", `${path}/inputs`)), typesOf("inputs"));
    this.outputs = new Values<O>(
      ctx,
      view.project,
      `outputs of execution ${view.name}`,
      async () => {
        if (view.outputs) return view.outputs;
        if (view.phase !== "SUCCEEDED") throw noOutputs(`execution ${view.name}`, view.phase, view.error);
        return ctx.http.call<LiteralMap>("GET", `${path}/outputs`);
      },
      typesOf("outputs"),
    );
  }

  get name(): string {
    return this.id.name;
  }

  /** Whether it has finished (succeeded, failed, timed out or aborted). */
  get done(): boolean {
    return isTerminalPhase(this.phase);
  }

  get durationMs(): number | undefined {
    return this.startedAt !== undefined && this.endedAt !== undefined ? this.endedAt - this.startedAt : undefined;
  }

  /** The console page of this execution. */
  get url(): string {
    return this.ctx.consoleUrl(base(this.id));
  }

  /** A node by id; throws naming the nodes that exist. */
  node(id: string): RemoteNode {
    const node = Object.hasOwn(this.nodes, id) ? this.nodes[id] : undefined;
    if (!node) throw new RemoteError(REMOTE_ERRORS.NOT_FOUND, `execution ${this.name} has no node ${JSON.stringify(id)} (nodes: ${Object.keys(this.nodes).join(", ") || "none yet"})`);
    return node;
  }

  /** The node table rows. */
  rows(): NodeRow[] {
    return Object.values(this.nodes).map((n) => n.row());
  }

  toString(): string {
    return `execution ${this.id.project}/${this.id.domain}/${this.name} (${this.workflow.name}@${this.workflow.version}): ${this.phase}\n${nodeTableText(this.rows())}`;
  }

  /** JSON for scripts (`petrel get execution --json`). */
  toJSON(): Record<string, unknown> {
    return { ...this.view, nodes: Object.values(this.nodes).map((n) => ({ ...n.row(), attempts: n.attempts, target: n.target, cache: n.cache, error: n.error })) };
  }

  /** In a notebook: the header, node table and DAG. */
  [Symbol.for("Jupyter.display")](): Record<string, string> {
    return this.toMimeBundle();
  }

  /** The header, node table and DAG as a MIME bundle. */
  toMimeBundle(): Record<string, string> {
    return executionBundle({
      title: `execution ${this.name} of ${this.workflow.name}`,
      phase: this.phase,
      durationMs: this.durationMs,
      url: this.url,
      nodes: this.rows(),
      spec: this.spec,
    });
  }
}
