/**
 * `Remote`: a FlyteRemote-style client of a Petrel backend. Register what a
 * notebook or file defines (one content-addressed bundle), execute it with typed
 * inputs, follow it, and pull every node's inputs and outputs back.
 */
import {
  buildBundle,
  isTerminalPhase,
  typeToString,
  type Bundle,
  type BundleRoots,
  type Identifier,
  type LiteralType,
  type ResourceType,
  type SourceSet,
  type TaskSpec,
  type LaunchPlanSpec,
  type ExecutionPhase,
  type Variable,
  type WorkflowSpec,
} from "../kernel/index.js";
import { resolveConfig, type RemoteConfig, type RemoteOptions } from "./config.js";
import { REMOTE_ERRORS, RemoteError, isRemoteError } from "./errors.js";
import { RemoteExecution, type ExecutionContext, type ExecutionId, type ExecutionView, type NodeView } from "./execution.js";
import { Http } from "./http.js";
import { Schedules } from "./schedules.js";
import { encodeInputs } from "./values.js";

/** URL path segments of the entity kinds. */
const SEGMENTS: Record<ResourceType, string> = { task: "tasks", workflow: "workflows", launch_plan: "launch-plans" };
const LABELS: Record<ResourceType, string> = { task: "task", workflow: "workflow", launch_plan: "launch plan" };

/** A registered task, workflow or launch plan version. */
export interface EntityInfo<S = unknown> {
  id: Identifier;
  spec: S;
  /** The bundle holding its code (`sha256:…`). */
  bundle?: string;
  digest: string;
  createdAt: string;
  createdBy: string;
  promotedFrom?: { fromDomain: string; by: string; at: string };
  /** Launch plans: whether this version is the active one. */
  active?: boolean;
}

/** A name with its newest version. */
export interface EntityName {
  name: string;
  latestVersion: string;
  versions: number;
  updatedAt: string;
}

/** What `register` did. */
export interface Registration {
  /** The bundle's hash (`sha256:…`). */
  bundle: string;
  version: string;
  /** Whether the bundle's bytes were new to the project (false: an upload was skipped or a no-op). */
  uploaded: boolean;
  entities: { id: Identifier; status: "created" | "identical" }[];
}

/** Something to execute: a workflow, launch plan or task object, or a reference by name. */
export type Executable =
  | { readonly kind: "workflow" | "launch_plan" | "task"; readonly name: string }
  | string
  | { workflow: string; version?: string }
  | { launchPlan: string; version?: string };

/** Options of `execute`. */
export interface ExecuteOptions {
  domain?: string;
  project?: string;
  /** The execution's name (default: the server picks one). */
  name?: string;
  /** Workflow or launch plan version (default: the launch plan's active version, else the latest). */
  version?: string;
  /** Wait until it finishes (default false). */
  wait?: boolean | WaitOptions;
  overwriteCache?: boolean;
  maxParallelism?: number;
  labels?: Record<string, string>;
}

/** Options of `wait`. */
export interface WaitOptions {
  /** Called with the execution (and its nodes) whenever something changed. */
  onProgress?: (execution: RemoteExecution) => void;
  /** Give up after this long (a TIMEOUT error; the execution keeps running). */
  timeoutMs?: number;
  /** Poll at most this often (default 250 ms, slowing to 2 s on long runs). */
  intervalMs?: number;
  signal?: AbortSignal;
}

/** Filters of `listExecutions`. */
export interface ExecutionFilter {
  phase?: string | string[];
  workflow?: string;
  launchPlan?: string;
  /** `key` or `key=value`, all must match. */
  labels?: string[];
  createdAfter?: Date | string;
  createdBefore?: Date | string;
  limit?: number;
  cursor?: string;
}

/** A page of executions, newest first. */
export interface ExecutionPage {
  items: ExecutionView[];
  next?: string;
}

/** What `promote` did. */
export interface Promotion {
  promoted: Identifier[];
  alreadyPresent: Identifier[];
}

/** One entity as `planPromotion` shows it: what the target domain has now, and what it will have. */
export interface PromotionChange {
  resourceType: ResourceType;
  name: string;
  version: string;
  /** The target domain's newest version of the name now, if any. */
  current: string | undefined;
  change: "new" | "new version" | "unchanged";
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => (clearTimeout(t), resolve()), { once: true });
  });

const seg = encodeURIComponent;

/** A client of one Petrel backend, with a default project and domain. */
export class Remote {
  readonly config: RemoteConfig;
  readonly http: Http;
  private readonly specs = new Map<string, Promise<unknown>>();
  private readonly context: ExecutionContext;

  constructor(options: RemoteOptions = {}) {
    this.config = resolveConfig(options);
    this.http = new Http(this.config);
    this.context = {
      http: this.http,
      workflow: (id) => this.specOf<WorkflowSpec>(id).catch(() => undefined),
      targetInputs: (id) => this.inputTypesOf(id).catch(() => undefined),
      consoleUrl: (path) => this.consoleUrl(path),
    };
  }

  get endpoint(): string {
    return this.config.endpoint;
  }
  get project(): string {
    return this.config.project;
  }
  get domain(): string {
    return this.config.domain;
  }

  /** The same connection with another default domain or project. */
  with(options: { domain?: string; project?: string }): Remote {
    const { endpoint, token, retries, timeoutMs } = this.config;
    return new Remote({ endpoint, token, retries, timeoutMs, project: options.project ?? this.project, domain: options.domain ?? this.domain });
  }

  /** Schedules of launch plans in a domain (default: this Remote's): set, activate, show next and past runs, list. */
  schedules(where: { domain?: string; project?: string } = {}): Schedules {
    const { project, domain } = this.where(where);
    return new Schedules(this.http, `/projects/${seg(project)}/domains/${seg(domain)}`, (name, version) =>
      this.fetchLaunchPlan(name, version, { project, domain }) as unknown as Promise<{ id: Identifier; spec: LaunchPlanSpec; bundle?: string; references?: Identifier[] }>,
    );
  }

  /** Who the token belongs to, and its grants. Fails fast on a wrong endpoint or a bad token. */
  whoami(): Promise<{ name: string; kind: string; grants: { project: string; role: string; domains?: string[] }[] }> {
    return this.http.call("GET", "/whoami");
  }

  /** The console page at `path` (the console mirrors API paths: `/projects/p/domains/d/executions/e`). */
  consoleUrl(path = "/"): string {
    return `${this.endpoint}${path}`;
  }

  // ---------------------------------------------------------------- registration

  /**
   * Registers entities: builds their bundle (from the kernel's cells, a .ts file, or
   * the file they were defined in), uploads it once (content-addressed), and
   * registers every task, workflow and launch plan it defines under `version`
   * (default: the bundle's hash). Registering the same content again is a no-op.
   */
  async register(
    what: BundleRoots | Bundle,
    options: { version?: string; domain?: string; project?: string; sources?: SourceSet; entry?: string } = {},
  ): Promise<Registration> {
    const bundle = isBundle(what) ? what : buildBundle(what, { ...(options.sources ? { sources: options.sources } : {}), ...(options.entry ? { entry: options.entry } : {}) });
    const project = options.project ?? this.project;
    const domain = options.domain ?? this.domain;
    const uploaded = await this.uploadBundle(bundle, project);
    const result = await this.http.call<{ bundle: string; version: string; entities: Registration["entities"] }>(
      "POST",
      `/projects/${seg(project)}/domains/${seg(domain)}/bundles/${seg(bundle.hash)}/register`,
      { body: options.version ? { version: options.version } : {}, idempotent: true },
    );
    return { bundle: bundle.hash, version: result.version, uploaded, entities: result.entities };
  }

  /** Uploads a bundle unless the project has it; returns whether bytes were sent. */
  private async uploadBundle(bundle: Bundle, project: string): Promise<boolean> {
    const path = `/projects/${seg(project)}/bundles/${seg(bundle.hash)}`;
    if (await this.http.exists(path)) return false;
    await this.http.upload(path, bundle.bytes());
    return true;
  }

  // ---------------------------------------------------------------- entities

  /** A task version (default: the newest). */
  fetchTask(name: string, version?: string, where: { domain?: string; project?: string } = {}): Promise<EntityInfo<TaskSpec>> {
    return this.fetchEntity("task", name, version, where);
  }
  /** A workflow version (default: the newest). */
  fetchWorkflow(name: string, version?: string, where: { domain?: string; project?: string } = {}): Promise<EntityInfo<WorkflowSpec>> {
    return this.fetchEntity("workflow", name, version, where);
  }
  /** A launch plan version (default: the active one, else the newest). */
  async fetchLaunchPlan(name: string, version?: string, where: { domain?: string; project?: string } = {}): Promise<EntityInfo<LaunchPlanSpec>> {
    if (version === undefined) {
      const { project, domain } = this.where(where);
      try {
        return await this.http.call("GET", `/projects/${seg(project)}/domains/${seg(domain)}/launch-plans/${seg(name)}/active`);
      } catch (e) {
        if (!(isRemoteError(e) && e.code === REMOTE_ERRORS.NOT_FOUND)) throw e;
      }
    }
    return this.fetchEntity("launch_plan", name, version, where);
  }

  /** One entity version; without a version, the newest. */
  async fetchEntity<S = unknown>(kind: ResourceType, name: string, version?: string, where: { domain?: string; project?: string } = {}): Promise<EntityInfo<S>> {
    const { project, domain } = this.where(where);
    const base = `/projects/${seg(project)}/domains/${seg(domain)}/${SEGMENTS[kind]}/${seg(name)}/versions`;
    try {
      if (version !== undefined) return await this.http.call<EntityInfo<S>>("GET", `${base}/${seg(version)}`);
      const page = await this.http.call<{ items: { version: string }[] }>("GET", base, { query: { limit: 1 } });
      return await this.http.call<EntityInfo<S>>("GET", `${base}/${seg(page.items[0]!.version)}`);
    } catch (e) {
      if (isRemoteError(e) && e.code === REMOTE_ERRORS.NOT_FOUND) {
        throw new RemoteError(
          REMOTE_ERRORS.NOT_FOUND,
          `no ${LABELS[kind]} ${name}${version ? `@${version}` : ""} in ${project}/${domain}: register it first (remote.register, %petrel register, petrel register)`,
          { status: 404 },
        );
      }
      throw e;
    }
  }

  /** Names of the tasks, workflows or launch plans in a domain, with their newest versions. */
  async listEntities(kind: ResourceType, where: { domain?: string; project?: string; limit?: number } = {}): Promise<EntityName[]> {
    const { project, domain } = this.where(where);
    const out: EntityName[] = [];
    let cursor: string | undefined;
    do {
      const page: { items: EntityName[]; next?: string } = await this.http.call("GET", `/projects/${seg(project)}/domains/${seg(domain)}/${SEGMENTS[kind]}`, {
        query: { limit: Math.min(where.limit ?? 1000, 1000), cursor },
      });
      out.push(...page.items);
      cursor = page.next;
    } while (cursor && out.length < (where.limit ?? Infinity));
    return out;
  }

  /** Versions of an entity, newest first. */
  async listVersions(kind: ResourceType, name: string, where: { domain?: string; project?: string } = {}): Promise<EntityInfo[]> {
    const { project, domain } = this.where(where);
    const page = await this.http.call<{ items: (Omit<EntityInfo, "id" | "spec"> & { version: string })[] }>(
      "GET",
      `/projects/${seg(project)}/domains/${seg(domain)}/${SEGMENTS[kind]}/${seg(name)}/versions`,
      { query: { limit: 1000 } },
    );
    return page.items.map((v) => ({ ...v, id: { resourceType: kind, project, domain, name, version: v.version }, spec: undefined }));
  }

  /** Makes a launch plan version the active one (its schedule runs; executions by name use it). */
  activateLaunchPlan(name: string, version: string, where: { domain?: string; project?: string } = {}): Promise<EntityInfo<LaunchPlanSpec> & { previousActiveVersion?: string }> {
    const { project, domain } = this.where(where);
    return this.http.call("POST", `/projects/${seg(project)}/domains/${seg(domain)}/launch-plans/${seg(name)}/versions/${seg(version)}/activate`, { idempotent: true });
  }

  /** Deactivates a launch plan version. */
  deactivateLaunchPlan(name: string, version: string, where: { domain?: string; project?: string } = {}): Promise<EntityInfo<LaunchPlanSpec>> {
    const { project, domain } = this.where(where);
    return this.http.call("POST", `/projects/${seg(project)}/domains/${seg(domain)}/launch-plans/${seg(name)}/versions/${seg(version)}/deactivate`, { idempotent: true });
  }

  /**
   * What promoting `name@version` would change in `to`: the entity and everything
   * it references, each new, a new version, or already there.
   */
  async planPromotion(kind: ResourceType, name: string, version: string, options: { to: string; from?: string; project?: string }): Promise<PromotionChange[]> {
    const from = options.from ?? this.domain;
    const project = options.project ?? this.project;
    const root = await this.fetchEntity<unknown>(kind, name, version, { domain: from, project });
    const refs = [root.id, ...((root as { references?: Identifier[] }).references ?? [])];
    const seen = new Set<string>();
    const changes: PromotionChange[] = [];
    for (const ref of refs) {
      const key = `${ref.resourceType}/${ref.name}@${ref.version}`;
      if (seen.has(key)) continue;
      seen.add(key);
      let current: string | undefined;
      let present = false;
      try {
        const versions = await this.listVersions(ref.resourceType, ref.name, { domain: options.to, project });
        current = versions[0]?.id.version;
        present = versions.some((v) => v.id.version === ref.version);
      } catch (e) {
        if (!(isRemoteError(e) && e.code === REMOTE_ERRORS.NOT_FOUND)) throw e;
      }
      changes.push({ resourceType: ref.resourceType, name: ref.name, version: ref.version, current, change: present ? "unchanged" : current ? "new version" : "new" });
    }
    return changes;
  }

  /**
   * Promotes an exact version, and everything it references, from one domain to
   * another: the same specs and bundle, nothing rebuilt.
   */
  async promote(
    entity: { readonly kind: ResourceType; readonly name: string } | string,
    version: string,
    options: { to: string; from?: string; project?: string },
  ): Promise<Promotion> {
    const [kind, name] = typeof entity === "string" ? (["workflow", entity] as const) : [entity.kind, entity.name];
    const from = options.from ?? this.domain;
    const project = options.project ?? this.project;
    return this.http.call<Promotion>("POST", `/projects/${seg(project)}/domains/${seg(from)}/${SEGMENTS[kind]}/${seg(name)}/versions/${seg(version)}/promote`, {
      body: { toDomain: options.to },
      idempotent: true,
    });
  }

  // ---------------------------------------------------------------- executions

  /**
   * Executes a workflow or launch plan with inputs typed from its interface: a
   * value of the wrong type, or an unknown input, is an INVALID_INPUTS error before
   * anything is sent. DataFrame and file inputs are uploaded first.
   */
  async execute<O extends Record<string, unknown> = Record<string, unknown>>(
    target: Executable,
    inputs: Record<string, unknown> = {},
    options: ExecuteOptions = {},
  ): Promise<RemoteExecution<O>> {
    const { project, domain } = this.where(options);
    const ref = executableRef(target);
    const version = options.version ?? ref.version;
    let iface: Record<string, Variable>;
    let body: Record<string, unknown>;
    if (ref.kind === "task") {
      throw new RemoteError(REMOTE_ERRORS.INVALID_REQUEST, `execute: task ${ref.name} cannot run on its own remotely yet; execute a workflow or launch plan that uses it`);
    }
    if (ref.kind === "launch_plan") {
      const lp = await this.fetchLaunchPlan(ref.name, version, { project, domain });
      const wf = await this.fetchWorkflow(lp.spec.workflow.name, lp.spec.workflow.version, { project, domain });
      iface = wf.spec.interface.inputs;
      body = { launchPlan: { name: ref.name, version: lp.id.version } };
    } else {
      const wf = await this.fetchWorkflow(ref.name, version, { project, domain });
      iface = wf.spec.interface.inputs;
      body = { workflow: { name: ref.name, version: wf.id.version } };
    }
    const where = `${ref.kind === "launch_plan" ? "launch plan" : "workflow"} ${ref.name}`;
    const { literals, blobs } = encodeInputs(inputs, iface, where);
    for (const [hash, bytes] of blobs) await this.http.upload(`/projects/${seg(project)}/blobs/${seg(hash)}`, bytes);
    const created = await this.http.call<ExecutionView>("POST", `/projects/${seg(project)}/domains/${seg(domain)}/executions`, {
      body: {
        ...body,
        inputs: literals,
        ...(options.name ? { name: options.name } : {}),
        ...(options.labels ? { labels: options.labels } : {}),
        ...(options.maxParallelism !== undefined ? { maxParallelism: options.maxParallelism } : {}),
        ...(options.overwriteCache ? { overwriteCache: true } : {}),
      },
    });
    const execution = await this.fetchExecution<O>(created);
    if (!options.wait) return execution;
    return this.wait(execution, options.wait === true ? {} : options.wait);
  }

  /**
   * An execution with its nodes. `id` is a name in this Remote's project and
   * domain, `project/domain/name`, or an execution object.
   */
  async fetchExecution<O extends Record<string, unknown> = Record<string, unknown>>(id: string | ExecutionId): Promise<RemoteExecution<O>> {
    const key = this.executionId(id);
    const path = `/projects/${seg(key.project)}/domains/${seg(key.domain)}/executions/${seg(key.name)}`;
    let view: ExecutionView;
    let nodes: NodeView[];
    try {
      [view, nodes] = await Promise.all([
        this.http.call<ExecutionView>("GET", path),
        this.http.call<{ items: NodeView[] }>("GET", `${path}/nodes`, { query: { attempts: true } }).then((r) => r.items),
      ]);
    } catch (e) {
      if (isRemoteError(e) && e.code === REMOTE_ERRORS.NOT_FOUND) {
        throw new RemoteError(REMOTE_ERRORS.NOT_FOUND, `no execution ${key.name} in ${key.project}/${key.domain}: check the id (remote.listExecutions() shows recent ones)`, { status: 404 });
      }
      throw e;
    }
    const spec = await this.context.workflow(view.workflow);
    return new RemoteExecution<O>(this.context, view, nodes, spec);
  }

  /** Executions, newest first, filtered. */
  async listExecutions(filter: ExecutionFilter = {}, where: { domain?: string; project?: string } = {}): Promise<ExecutionPage> {
    const { project, domain } = this.where(where);
    const iso = (d: Date | string | undefined) => (d === undefined ? undefined : d instanceof Date ? d.toISOString() : d);
    return this.http.call<ExecutionPage>("GET", `/projects/${seg(project)}/domains/${seg(domain)}/executions`, {
      query: {
        phase: filter.phase === undefined ? undefined : ([] as string[]).concat(filter.phase),
        workflow: filter.workflow,
        launchPlan: filter.launchPlan,
        label: filter.labels,
        createdAfter: iso(filter.createdAfter),
        createdBefore: iso(filter.createdBefore),
        limit: filter.limit,
        cursor: filter.cursor,
      },
    });
  }

  /** Waits until an execution finishes; resolves with its final state (also when it failed). */
  async wait<O extends Record<string, unknown>>(execution: RemoteExecution<O> | ExecutionId | string, options: WaitOptions = {}): Promise<RemoteExecution<O>> {
    const id = this.executionId(execution as RemoteExecution);
    const deadline = options.timeoutMs !== undefined ? Date.now() + options.timeoutMs : Infinity;
    let interval = options.intervalMs ?? 250;
    let last = "";
    const path = this.executionPath(id);
    for (;;) {
      // Without a progress listener, polling needs the phase only, not every node and attempt.
      let phase: ExecutionPhase;
      if (options.onProgress) {
        const current = await this.fetchExecution<O>(id);
        const fingerprint = `${current.phase}|${current.rows().map((r) => `${r.id}:${r.phase}:${r.attempts}`).join(",")}`;
        if (fingerprint !== last) {
          last = fingerprint;
          options.onProgress(current as unknown as RemoteExecution);
        }
        if (isTerminalPhase(current.phase)) return current;
        phase = current.phase;
      } else {
        phase = (await this.http.call<ExecutionView>("GET", path)).phase;
        if (isTerminalPhase(phase)) return this.fetchExecution<O>(id);
      }
      if (options.signal?.aborted) throw new RemoteError(REMOTE_ERRORS.TIMEOUT, `stopped waiting for execution ${id.name}: cancelled (it keeps running)`);
      if (Date.now() >= deadline) {
        throw new RemoteError(REMOTE_ERRORS.TIMEOUT, `execution ${id.name} is still ${phase} after ${options.timeoutMs} ms; it keeps running: wait again, or terminate it`);
      }
      await sleep(Math.min(interval, deadline - Date.now()), options.signal);
      interval = Math.min(2000, interval * 1.25);
    }
  }

  /** Terminates a running execution (it becomes ABORTED; the engine stops its nodes). */
  async terminate(execution: RemoteExecution | ExecutionId | string, cause = "terminated by the client"): Promise<RemoteExecution> {
    const id = this.executionId(execution);
    await this.http.call("POST", `${this.executionPath(id)}/terminate`, { body: { cause } });
    return this.fetchExecution(id);
  }

  /** A new execution of the same workflow version with the same inputs. */
  async relaunch(execution: RemoteExecution | ExecutionId | string, options: { name?: string } = {}): Promise<RemoteExecution> {
    const id = this.executionId(execution);
    const created = await this.http.call<ExecutionView>("POST", `${this.executionPath(id)}/relaunch`, { body: options.name ? { name: options.name } : {} });
    return this.fetchExecution(created);
  }

  /**
   * A new execution that reuses the successful nodes of a failed one; with
   * `version`, it runs that version of the workflow (nodes whose task version is
   * unchanged are reused).
   */
  async recover(execution: RemoteExecution | ExecutionId | string, options: { version?: string; name?: string } = {}): Promise<RemoteExecution> {
    const id = this.executionId(execution);
    const created = await this.http.call<ExecutionView>("POST", `${this.executionPath(id)}/recover`, {
      body: { ...(options.version ? { version: options.version } : {}), ...(options.name ? { name: options.name } : {}) },
    });
    return this.fetchExecution(created);
  }

  // ---------------------------------------------------------------- helpers

  private where(w: { domain?: string | undefined; project?: string | undefined }): { project: string; domain: string } {
    return { project: w.project ?? this.project, domain: w.domain ?? this.domain };
  }

  /** An execution's id from a name, `project/domain/name`, or an object. */
  executionId(id: string | ExecutionId | RemoteExecution): ExecutionId {
    if (id instanceof RemoteExecution) return id.id;
    if (typeof id !== "string") return { project: id.project, domain: id.domain, name: id.name };
    const parts = id.split("/");
    if (parts.length === 3 && parts.every(Boolean)) return { project: parts[0]!, domain: parts[1]!, name: parts[2]! };
    if (parts.length === 1 && id) return { project: this.project, domain: this.domain, name: id };
    throw new RemoteError(REMOTE_ERRORS.INVALID_REQUEST, `${JSON.stringify(id)} is not an execution id: give its name, or project/domain/name`);
  }

  private executionPath(id: ExecutionId): string {
    return `/projects/${seg(id.project)}/domains/${seg(id.domain)}/executions/${seg(id.name)}`;
  }

  /** An entity's spec by full identifier, cached (versions are immutable). */
  private specOf<S>(id: Identifier): Promise<S> {
    const key = `${id.resourceType}/${id.project}/${id.domain}/${id.name}@${id.version}`;
    let p = this.specs.get(key);
    if (!p) {
      p = this.fetchEntity<S>(id.resourceType, id.name, id.version, { project: id.project, domain: id.domain }).then((e) => e.spec);
      p.catch(() => this.specs.delete(key));
      this.specs.set(key, p);
    }
    return p as Promise<S>;
  }

  /** The input types of a node's target. */
  private async inputTypesOf(id: Identifier): Promise<Record<string, LiteralType> | undefined> {
    let iface: { inputs: Record<string, Variable> } | undefined;
    if (id.resourceType === "launch_plan") {
      const lp = await this.specOf<LaunchPlanSpec>(id);
      iface = (await this.specOf<WorkflowSpec>({ ...id, resourceType: "workflow", name: lp.workflow.name, version: lp.workflow.version ?? id.version })).interface;
    } else {
      iface = (await this.specOf<TaskSpec | WorkflowSpec>(id)).interface;
    }
    return iface && Object.fromEntries(Object.entries(iface.inputs).map(([k, v]) => [k, v.type]));
  }

  toString(): string {
    return `Remote ${this.endpoint} (project ${this.project}, domain ${this.domain})`;
  }
}

function isBundle(x: unknown): x is Bundle {
  return typeof x === "object" && x !== null && typeof (x as Bundle).hash === "string" && typeof (x as Bundle).bytes === "function" && "manifest" in x;
}

function executableRef(target: Executable): { kind: ResourceType; name: string; version?: string } {
  if (typeof target === "string") return { kind: "workflow", name: target };
  if ("kind" in target) return { kind: target.kind, name: target.name };
  if ("launchPlan" in target) return { kind: "launch_plan", name: target.launchPlan, ...(target.version ? { version: target.version } : {}) };
  return { kind: "workflow", name: target.workflow, ...(target.version ? { version: target.version } : {}) };
}

/** Renders an interface's inputs for messages: `minAge: int, df: dataframe`. */
export function describeInputs(inputs: Record<string, Variable>): string {
  return Object.entries(inputs)
    .map(([k, v]) => `${k}: ${typeToString(v.type)}${v.default ? " = default" : ""}`)
    .join(", ");
}
