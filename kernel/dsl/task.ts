/**
 * `task()`: a typed unit of work. Inside a workflow definition, calling a task
 * records a node; `task.run(inputs)` runs it on its own through the local engine.
 */
import { QUANTITY_PATTERN, type CacheSpec, type Resources, type ResourceList, type TaskSpec, type TypedInterface } from "../model/index.js";
import { callerSite, codeClosure, describeSite, type CallSite } from "../bundle/index.js";
import type { LocalRunOptions, TaskContext } from "../local/index.js";
import type { ValueHints } from "../types/index.js";
import type { WorkflowSpec } from "../model/index.js";
import { localEntities } from "./entities.js";
import { runLocally, type WorkflowRun } from "./run.js";
import { emptyRegistry } from "./scope.js";
import { parseDuration } from "./duration.js";
import { COMPILE_ERRORS, WorkflowCompileError } from "./errors.js";
import type { NodeOutputs } from "./handles.js";
import { bindInputs, checkName, compileInterface, currentScope, nodeOutputs, registerEntity } from "./scope.js";
import type { Accepts, AnyType, CallInputs, TypeMap, Values, ValueOf } from "./t.js";
import type { Bindable } from "./bindable.js";

/** Resource quantities: Kubernetes notation strings, or numbers for counts. */
export interface ResourceOptions {
  cpu?: string | number;
  mem?: string;
  gpu?: string | number;
  storage?: string;
  ephemeralStorage?: string;
}

/** Caching options: `true` uses the code-closure hash as the version. */
export interface CacheOptions<I> {
  /** An explicit cache version; replaces the code-closure hash. */
  version?: string;
  /** Inputs left out of the cache key (seeds, log levels). */
  ignoreInputs?: (keyof I & string)[];
  /** On the backend: one computation per key at a time. Default true. */
  serialize?: boolean;
}

/** Options of `task()`. */
export interface TaskOptions<I extends TypeMap, O extends TypeMap> {
  name: string;
  inputs: I;
  outputs: O;
  /** Cache results by content (default false). */
  cache?: boolean | CacheOptions<I>;
  /** Retries after a failed attempt (default 0). */
  retries?: number;
  /** Per-attempt timeout: "10m", "30s", or milliseconds. */
  timeout?: string | number;
  resources?: { requests?: ResourceOptions; limits?: ResourceOptions };
  /** Container image for remote runs (default: the project's runtime image). */
  image?: string;
  env?: Record<string, string>;
  /** Names of secrets made available to the task remotely. */
  secrets?: string[];
  /** May run on preemptible capacity, except its last attempt. */
  interruptible?: boolean;
  description?: string;
}

/** The function a task runs. */
export type TaskFunction<I extends TypeMap, O extends TypeMap> = (
  inputs: Values<I>,
  ctx: TaskContext,
) => Promise<Accepts<O>> | Accepts<O>;

/** Inputs of a node call: values or handles; inputs with defaults may be omitted. */
export type BindInputs<I extends TypeMap> = { [K in keyof CallInputs<I>]: Bindable<CallInputs<I>[K]> };

/** Output values of an interface, as received downstream. */
export type OutputValues<O extends TypeMap> = { [K in keyof O]: ValueOf<O[K]> };

/** A task: callable inside workflows, runnable on its own. */
export interface Task<I extends TypeMap, O extends TypeMap> {
  (inputs: BindInputs<I>): NodeOutputs<OutputValues<O>>;
  readonly kind: "task";
  readonly name: string;
  readonly inputs: I;
  readonly outputs: O;
  readonly interface: TypedInterface;
  readonly fn: TaskFunction<I, O>;
  /** The compiled spec; the cache version (a code-closure hash) is computed on first access. */
  readonly spec: TaskSpec;
  /** Where the task was defined. */
  readonly site: CallSite | undefined;
  /** How each input's value is shaped (DataFrame formats), by input name. */
  readonly inputHints: Record<string, ValueHints>;
  /** Runs the task on its own through the local engine (cached, retried, timed out like a node). */
  run(inputs: CallInputs<I>, options?: LocalRunOptions): Promise<WorkflowRun<OutputValues<O>>>;
}

/** Any task. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyTask = Task<any, any>;


/** Defines a task. */
export function task<I extends TypeMap, O extends TypeMap>(options: TaskOptions<I, O>, fn: TaskFunction<I, O>): Task<I, O> {
  const site = callerSite();
  if (typeof options !== "object" || options === null) {
    throw new WorkflowCompileError(COMPILE_ERRORS.INVALID_OPTION, "task(): the first argument must be an options object");
  }
  const name = checkName(options.name, "task()");
  const where = `task ${name}`;
  if (typeof fn !== "function") {
    throw new WorkflowCompileError(COMPILE_ERRORS.INVALID_OPTION, `${where}: the second argument must be the task's function`);
  }
  const iface = compileInterface(options.inputs ?? ({} as I), options.outputs ?? ({} as O), where);
  const retries = options.retries ?? 0;
  if (!Number.isInteger(retries) || retries < 0) {
    throw new WorkflowCompileError(COMPILE_ERRORS.INVALID_OPTION, `${where}: retries must be a non-negative integer, got ${String(retries)}`);
  }
  let timeoutMs: number | undefined;
  try {
    timeoutMs = options.timeout === undefined ? undefined : parseDuration(options.timeout, `${where}, timeout`);
  } catch (e) {
    throw new WorkflowCompileError(COMPILE_ERRORS.INVALID_OPTION, (e as Error).message);
  }
  const resources = compileResources(options.resources, where);
  const cacheOpts = options.cache === true ? {} : options.cache === false || options.cache === undefined ? undefined : options.cache;
  for (const ignored of cacheOpts?.ignoreInputs ?? []) {
    if (!(ignored in iface.inputs)) {
      throw new WorkflowCompileError(COMPILE_ERRORS.UNKNOWN_INPUT, `${where}: cache.ignoreInputs names unknown input ${ignored}`, {
        input: ignored,
      });
    }
  }
  const inputHints = hintsOf(options.inputs);

  let spec: TaskSpec | undefined;
  const compileSpec = (): TaskSpec => {
    let cache: CacheSpec;
    if (!cacheOpts) {
      cache = { enabled: false, version: "", versionSource: "explicit", ignoredInputs: [], serialize: false };
    } else if (cacheOpts.version !== undefined) {
      cache = {
        enabled: true,
        version: String(cacheOpts.version),
        versionSource: "explicit",
        ignoredInputs: cacheOpts.ignoreInputs ?? [],
        serialize: cacheOpts.serialize ?? true,
      };
    } else {
      const closure = codeClosure(fn as (...args: never[]) => unknown, site);
      cache = {
        enabled: true,
        version: closure.hash,
        versionSource: closure.source,
        ignoredInputs: cacheOpts.ignoreInputs ?? [],
        serialize: cacheOpts.serialize ?? true,
      };
    }
    return {
      name,
      interface: iface,
      cache,
      retries,
      ...(timeoutMs !== undefined ? { timeoutMs } : {}),
      resources,
      ...(options.image ? { image: options.image } : {}),
      env: { ...(options.env ?? {}) },
      secrets: [...(options.secrets ?? [])],
      interruptible: options.interruptible ?? false,
      ...(options.description ? { description: options.description } : {}),
      ...(site ? { source: describeSite(site) } : {}),
    };
  };

  const hints = hintsOf(options.outputs);
  // Shared by every node of this task: specs are plain data that nothing mutates.
  const target = { resourceType: "task" as const, name };
  const outputTypes = Object.fromEntries(Object.entries(iface.outputs).map(([k, v]) => [k, v.type]));
  const what = () => `task ${name}`;
  const hint = () => `to run it on its own, use ${name}.run(inputs)`;
  const call = (inputs: Record<string, unknown>) => {
    const scope = currentScope(what, hint);
    registerEntity(scope.registry, self, scope.workflow);
    const id = scope.nodeId(name);
    const bound = bindInputs(inputs, iface.inputs, { workflow: scope.workflow, node: id, target: what });
    const node = {
      kind: "task" as const,
      id,
      target,
      inputs: bound.inputs,
      upstream: bound.upstream,
      metadata: { name },
      outputs: outputTypes,
    };
    scope.addNode(node);
    return nodeOutputs(scope, node, hints);
  };
  const self = Object.assign(call, {
    kind: "task" as const,
    inputs: options.inputs,
    outputs: options.outputs,
    interface: iface,
    fn,
    site,
    inputHints,
    run: (inputs: CallInputs<I>, runOptions: LocalRunOptions = {}) => {
      const registry = emptyRegistry();
      registry.tasks.set(name, self);
      return runLocally<OutputValues<O>>(singleNodeWorkflow(name, iface), localEntities(registry), inputs as Record<string, unknown>, runOptions, hints);
    },
  });
  Object.defineProperty(self, "name", { value: name });
  Object.defineProperty(self, "spec", { get: () => (spec ??= compileSpec()), enumerable: true });
  return self as unknown as Task<I, O>;
}

function compileResources(options: TaskOptions<TypeMap, TypeMap>["resources"], where: string): Resources {
  const list = (r: ResourceOptions | undefined, what: string): ResourceList | undefined => {
    if (!r) return undefined;
    const out: ResourceList = {};
    for (const [k, v] of Object.entries(r) as [keyof ResourceOptions, string | number | undefined][]) {
      if (v === undefined) continue;
      if (!["cpu", "mem", "gpu", "storage", "ephemeralStorage"].includes(k)) {
        throw new WorkflowCompileError(
          COMPILE_ERRORS.INVALID_OPTION,
          `${where}: unknown resource ${k} in ${what} (known: cpu, mem, gpu, storage, ephemeralStorage)`,
        );
      }
      const s = String(v);
      if (!QUANTITY_PATTERN.test(s)) {
        throw new WorkflowCompileError(
          COMPILE_ERRORS.INVALID_OPTION,
          `${where}: ${what}.${k} ${JSON.stringify(v)} is not a quantity (examples: "2", "500m", "150Mi", "1Gi")`,
        );
      }
      out[k] = s;
    }
    return out;
  };
  const requests = list(options?.requests, "requests");
  const limits = list(options?.limits, "limits");
  return { ...(requests ? { requests } : {}), ...(limits ? { limits } : {}) };
}

/** The value hints of each type in a map, by name. */
export function hintsOf(types: TypeMap | undefined): Record<string, ValueHints> {
  return Object.fromEntries(Object.entries(types ?? {}).map(([k, v]) => [k, (v as AnyType).hints]));
}

/** A one-node workflow running a task: how a task runs on its own, with the same engine. */
function singleNodeWorkflow(name: string, iface: TypedInterface): WorkflowSpec {
  return {
    name,
    interface: iface,
    nodes: [
      {
        kind: "task",
        id: name,
        target: { resourceType: "task", name },
        inputs: Object.fromEntries(Object.keys(iface.inputs).map((k) => [k, { kind: "input", name: k }])),
        upstream: [],
        metadata: { name },
        outputs: Object.fromEntries(Object.entries(iface.outputs).map(([k, v]) => [k, v.type])),
      },
    ],
    outputs: Object.fromEntries(Object.keys(iface.outputs).map((k) => [k, { kind: "output", node: name, output: k }])),
    failurePolicy: "fail_immediately",
  };
}
