/**
 * `launchPlan()`: a workflow with default and fixed inputs, an optional schedule
 * (cron or fixed rate, with the scheduled time as an input), max parallelism and
 * labels. What the backend activates and schedules.
 */
import {
  MAX_CATCH_UP_LIMIT,
  checkTimeZone,
  parseCron,
  typeToString,
  type Literal,
  type LaunchPlanSpec,
  type Schedule,
  type ScheduleCatchUp,
  type ScheduleConcurrency,
  type SchedulePolicy,
} from "../model/index.js";
import type { LocalRunOptions } from "../local/index.js";
import { parseDuration } from "./duration.js";
import { localEntities } from "./entities.js";
import { COMPILE_ERRORS, WorkflowCompileError } from "./errors.js";
import type { NodeOutputs } from "./handles.js";
import { runLocally, type WorkflowRun } from "./run.js";
import { bindInputs, checkName, constantLiteral, currentScope, emptyRegistry, nodeOutputs, registerEntity, type EntityRegistry } from "./scope.js";
import { mergeRegistry, type Workflow } from "./workflow.js";
import type { AcceptsOf, AnyType, TypeMap } from "./t.js";
import type { BindInputs, OutputValues } from "./task.js";

/**
 * What a schedule does besides ticking: `kickoffInput` receives the scheduled
 * time; `catchUp` says which ticks missed during downtime fire (`none`,
 * `latest` — the default — or `all`, at most `catchUpLimit` of them, default
 * 100); `concurrency: "skip"` skips a tick while the previous scheduled
 * execution still runs.
 */
export interface SchedulePolicyOptions<I> {
  kickoffInput?: keyof I & string;
  catchUp?: ScheduleCatchUp;
  catchUpLimit?: number;
  concurrency?: ScheduleConcurrency;
}

/**
 * A schedule: `{ cron: "0 * * * *", timezone? }` or `{ every: "5m" }`, with its policy.
 *
 * @example
 * ```ts
 * schedule: { cron: "0 * * * *", catchUp: "all", catchUpLimit: 10, concurrency: "skip", kickoffInput: "at" }
 * ```
 */
export type ScheduleOptions<I> =
  | ({ cron: string; timezone?: string } & SchedulePolicyOptions<I>)
  | ({ every: string | number } & SchedulePolicyOptions<I>);

/** Options of `launchPlan()`. */
export interface LaunchPlanOptions<I extends TypeMap, O extends TypeMap> {
  name: string;
  workflow: Workflow<I, O>;
  /** Defaults callers may override. */
  defaults?: { [K in keyof I]?: AcceptsOf<I[K]> };
  /** Fixed inputs callers cannot override. */
  fixed?: { [K in keyof I]?: AcceptsOf<I[K]> };
  schedule?: ScheduleOptions<I>;
  maxParallelism?: number;
  labels?: Record<string, string>;
  description?: string;
}

/** A launch plan: callable in a workflow (a child execution), runnable locally. */
export interface LaunchPlan<I extends TypeMap, O extends TypeMap> {
  (inputs: Partial<BindInputs<I>>): NodeOutputs<OutputValues<O>>;
  readonly kind: "launch_plan";
  readonly name: string;
  readonly spec: LaunchPlanSpec;
  readonly workflow: Workflow<I, O>;
  readonly entities: EntityRegistry;
  /** Runs the workflow locally with the plan's defaults and fixed inputs applied. */
  run(inputs?: Partial<{ [K in keyof I]: AcceptsOf<I[K]> }>, options?: LocalRunOptions): Promise<WorkflowRun<OutputValues<O>>>;
}

const LABEL_KEY = /^([a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;

/** Defines a launch plan. */
export function launchPlan<I extends TypeMap, O extends TypeMap>(options: LaunchPlanOptions<I, O>): LaunchPlan<I, O> {
  const name = checkName(options?.name, "launchPlan()");
  const where = `launch plan ${name}`;
  const wf = options.workflow;
  if (!wf || wf.kind !== "workflow") {
    throw new WorkflowCompileError(COMPILE_ERRORS.INVALID_OPTION, `${where}: workflow must be a workflow() definition`);
  }
  const inputs = wf.interface.inputs;
  const convert = (values: Record<string, unknown> | undefined, what: string): Record<string, Literal> => {
    const out: Record<string, Literal> = {};
    for (const [k, v] of Object.entries(values ?? {})) {
      const declared = inputs[k];
      if (!declared) {
        throw new WorkflowCompileError(
          COMPILE_ERRORS.UNKNOWN_INPUT,
          `${where}: ${what} input ${k} is not an input of workflow ${wf.name} (inputs: ${Object.keys(inputs).join(", ") || "none"})`,
          { input: k },
        );
      }
      if (v === undefined) continue;
      out[k] = constantLiteral(v, declared.type, `${where}, ${what} input ${k}`, { input: k });
    }
    return out;
  };
  const defaultInputs = convert(options.defaults, "default");
  const fixedInputs = convert(options.fixed, "fixed");
  for (const k of Object.keys(fixedInputs)) {
    if (k in defaultInputs) {
      throw new WorkflowCompileError(COMPILE_ERRORS.INVALID_OPTION, `${where}: input ${k} is both a default and fixed; choose one`, {
        input: k,
      });
    }
  }
  const schedule = options.schedule ? compileSchedule(options.schedule, where, inputs) : undefined;
  if (schedule) {
    for (const [k, v] of Object.entries(inputs)) {
      const covered = k in defaultInputs || k in fixedInputs || v.default || v.type.kind === "optional" || k === schedule.kickoffTimeInput;
      if (!covered) {
        throw new WorkflowCompileError(
          COMPILE_ERRORS.MISSING_INPUT,
          `${where}: scheduled runs have no caller, so input ${k} (${typeToString(v.type)}) needs a default or a fixed value`,
          { input: k },
        );
      }
    }
  }
  const maxParallelism = options.maxParallelism;
  if (maxParallelism !== undefined && (!Number.isInteger(maxParallelism) || maxParallelism < 1)) {
    throw new WorkflowCompileError(COMPILE_ERRORS.INVALID_OPTION, `${where}: maxParallelism must be a positive integer, got ${maxParallelism}`);
  }
  const labels = { ...(options.labels ?? {}) };
  for (const [k, v] of Object.entries(labels)) {
    if (!LABEL_KEY.test(k) || typeof v !== "string" || !LABEL_VALUE.test(v)) {
      throw new WorkflowCompileError(
        COMPILE_ERRORS.INVALID_OPTION,
        `${where}: label ${JSON.stringify(k)}=${JSON.stringify(v)} is not a valid label (Kubernetes label syntax, values up to 63 characters)`,
      );
    }
  }
  const spec: LaunchPlanSpec = {
    name,
    workflow: { resourceType: "workflow", name: wf.name },
    defaultInputs,
    fixedInputs,
    ...(schedule ? { schedule } : {}),
    ...(maxParallelism !== undefined ? { maxParallelism } : {}),
    labels,
    ...(options.description ? { description: options.description } : {}),
  };
  const registry = emptyRegistry();
  mergeRegistry(registry, wf.entities, name);

  const hints = Object.fromEntries(
    Object.entries(wf.interface.outputs).map(([k]) => [k, {} as AnyType["hints"]]),
  );
  const call = (given: Record<string, unknown>) => {
    const scope = currentScope(() => `launch plan ${name}`, () => `to run it, use ${name}.run(inputs)`);
    registerEntity(scope.registry, self, scope.workflow);
    mergeRegistry(scope.registry, registry, scope.workflow);
    const id = scope.nodeId(name);
    for (const k of Object.keys(given)) {
      if (k in fixedInputs) {
        throw new WorkflowCompileError(
          COMPILE_ERRORS.INVALID_OPTION,
          `workflow ${scope.workflow}, node ${id}: input ${k} is fixed by launch plan ${name} and cannot be bound`,
          { workflow: scope.workflow, node: id, input: k },
        );
      }
    }
    const bound = bindInputs(given, inputs, { workflow: scope.workflow, node: id, target: `launch plan ${name}` }, { allowMissing: true });
    const node = {
      kind: "launch_plan" as const,
      id,
      target: { resourceType: "launch_plan" as const, name },
      inputs: bound.inputs,
      upstream: bound.upstream,
      metadata: { name },
      outputs: Object.fromEntries(Object.entries(wf.interface.outputs).map(([k, v]) => [k, v.type])),
    };
    scope.addNode(node);
    return nodeOutputs(scope, node, hints);
  };
  const self = Object.assign(call, {
    kind: "launch_plan" as const,
    spec,
    workflow: wf,
    entities: registry,
    run: (given: Record<string, unknown> = {}, runOptions: LocalRunOptions = {}) => {
      for (const k of Object.keys(given)) {
        if (k in fixedInputs) {
          throw new WorkflowCompileError(COMPILE_ERRORS.INVALID_OPTION, `${where}: input ${k} is fixed and cannot be overridden`, { input: k });
        }
      }
      const defaultsAsValues = Object.fromEntries(
        Object.entries({ ...options.defaults, ...options.fixed }).filter(([, v]) => v !== undefined),
      );
      return runLocally<OutputValues<O>>(
        wf.spec,
        localEntities(registry),
        { ...defaultsAsValues, ...given },
        { ...(maxParallelism ? { maxParallelism } : {}), ...runOptions },
        wf.outputHints,
      );
    },
  });
  Object.defineProperty(self, "name", { value: name });
  registerEntity(registry, self, name);
  return self as unknown as LaunchPlan<I, O>;
}

function compileSchedule(options: ScheduleOptions<TypeMap>, where: string, inputs: Workflow<TypeMap, TypeMap>["interface"]["inputs"]): Schedule {
  const kickoff = options.kickoffInput;
  if (kickoff !== undefined) {
    const v = inputs[kickoff];
    if (!v || (v.type.kind !== "datetime" && !(v.type.kind === "optional" && v.type.type.kind === "datetime"))) {
      throw new WorkflowCompileError(
        COMPILE_ERRORS.INVALID_SCHEDULE,
        `${where}: kickoffInput ${kickoff} must be a datetime input of the workflow${v ? `, it is ${typeToString(v.type)}` : ", and there is no such input"}`,
        { input: kickoff },
      );
    }
  }
  const withKickoff = { ...(kickoff !== undefined ? { kickoffTimeInput: kickoff } : {}), ...compilePolicy(options, where) };
  if ("cron" in options) {
    try {
      parseCron(options.cron);
      if (options.timezone !== undefined) checkTimeZone(options.timezone);
    } catch (e) {
      throw new WorkflowCompileError(COMPILE_ERRORS.INVALID_SCHEDULE, `${where}: ${(e as Error).message}`);
    }
    return { kind: "cron", expression: options.cron.trim(), ...(options.timezone ? { timezone: options.timezone } : {}), ...withKickoff };
  }
  if ("every" in options) {
    let everyMs: number;
    try {
      everyMs = parseDuration(options.every, "schedule.every");
    } catch (e) {
      throw new WorkflowCompileError(COMPILE_ERRORS.INVALID_SCHEDULE, `${where}: ${(e as Error).message}`);
    }
    return { kind: "rate", everyMs, ...withKickoff };
  }
  throw new WorkflowCompileError(COMPILE_ERRORS.INVALID_SCHEDULE, `${where}: schedule needs either cron or every`);
}

const CATCH_UPS: readonly ScheduleCatchUp[] = ["none", "latest", "all"];
const CONCURRENCIES: readonly ScheduleConcurrency[] = ["allow", "skip"];

/** The schedule's catch-up and concurrency options, checked; only those given appear in the spec. */
function compilePolicy(options: SchedulePolicyOptions<TypeMap>, where: string): Omit<SchedulePolicy, "kickoffTimeInput"> {
  const bad = (message: string) => new WorkflowCompileError(COMPILE_ERRORS.INVALID_SCHEDULE, `${where}: ${message}`);
  const out: Omit<SchedulePolicy, "kickoffTimeInput"> = {};
  if (options.catchUp !== undefined) {
    if (!CATCH_UPS.includes(options.catchUp)) throw bad(`schedule.catchUp must be one of ${CATCH_UPS.join(", ")}, got ${JSON.stringify(options.catchUp)}`);
    out.catchUp = options.catchUp;
  }
  if (options.catchUpLimit !== undefined) {
    if (!Number.isInteger(options.catchUpLimit) || options.catchUpLimit < 1 || options.catchUpLimit > MAX_CATCH_UP_LIMIT) {
      throw bad(`schedule.catchUpLimit must be an integer from 1 to ${MAX_CATCH_UP_LIMIT}, got ${options.catchUpLimit}`);
    }
    out.catchUpLimit = options.catchUpLimit;
  }
  if (options.concurrency !== undefined) {
    if (!CONCURRENCIES.includes(options.concurrency)) throw bad(`schedule.concurrency must be one of ${CONCURRENCIES.join(", ")}, got ${JSON.stringify(options.concurrency)}`);
    out.concurrency = options.concurrency;
  }
  return out;
}
