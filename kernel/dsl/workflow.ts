/**
 * `workflow()`: a DAG of task calls. The build function runs once, at definition,
 * with handles instead of values; what it records is compiled to a WorkflowSpec and
 * validated (types, names, cycles) before `workflow()` returns.
 */
import type { LocalRunOptions } from "../local/index.js";
import type { ValueHints } from "../types/index.js";
import type { Binding, FailurePolicy, TypedInterface, WorkflowSpec } from "../model/index.js";
import { callerSite, describeSite } from "../bundle/index.js";
import { validateWorkflowSpec } from "./compile.js";
import { localEntities } from "./entities.js";
import { COMPILE_ERRORS, WorkflowCompileError } from "./errors.js";
import { handleData, makeHandle, type Handle, type NodeOutputs } from "./handles.js";
import { runLocally, type WorkflowRun } from "./run.js";
import {
  bindInputs,
  bindValue,
  BuildScope,
  checkName,
  compileInterface,
  currentScope,
  emptyRegistry,
  nodeOutputs,
  registerEntity,
  withScope,
  type EntityRegistry,
} from "./scope.js";
import type { Bindable } from "./bindable.js";
import type { AcceptsOf, AnyType, CallInputs, TypeMap, ValueOf } from "./t.js";
import { hintsOf, type BindInputs, type OutputValues } from "./task.js";

/** Handles to a workflow's inputs, as its build function receives them. */
export type InputHandles<I extends TypeMap> = { readonly [K in keyof I]: Handle<ValueOf<I[K]>> };
/** What a build function returns: a value or handle for every declared output. */
export type OutputBindings<O extends TypeMap> = { [K in keyof O]: Bindable<AcceptsOf<O[K]>> };

/** Options of `workflow()`. */
export interface WorkflowOptions<I extends TypeMap, O extends TypeMap> {
  name: string;
  inputs: I;
  outputs: O;
  /** Default: stop at the first failure. */
  failurePolicy?: FailurePolicy;
  description?: string;
}

/** A workflow: callable inside other workflows (a subworkflow node), runnable locally. */
export interface Workflow<I extends TypeMap, O extends TypeMap> {
  (inputs: BindInputs<I>): NodeOutputs<OutputValues<O>>;
  readonly kind: "workflow";
  readonly name: string;
  readonly spec: WorkflowSpec;
  readonly interface: TypedInterface;
  /** Every task, workflow and launch plan this one uses, transitively. */
  readonly entities: EntityRegistry;
  /** How output values are shaped (DataFrame formats), by output name. */
  readonly outputHints: Record<string, ValueHints>;
  /** Runs locally: parallel, retried, cached. Rejects with ExecutionFailedError (its `.run` is the record). */
  run(inputs: CallInputs<I>, options?: LocalRunOptions): Promise<WorkflowRun<OutputValues<O>>>;
}

/** Any workflow. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyWorkflow = Workflow<any, any>;


/** Defines a workflow. */
export function workflow<I extends TypeMap, O extends TypeMap>(
  options: WorkflowOptions<I, O>,
  build: (inputs: InputHandles<I>) => OutputBindings<O>,
): Workflow<I, O> {
  const site = callerSite();
  if (typeof options !== "object" || options === null) {
    throw new WorkflowCompileError(COMPILE_ERRORS.INVALID_OPTION, "workflow(): the first argument must be an options object");
  }
  const name = checkName(options.name, "workflow()");
  const where = `workflow ${name}`;
  if (typeof build !== "function") {
    throw new WorkflowCompileError(COMPILE_ERRORS.INVALID_OPTION, `${where}: the second argument must be the build function`);
  }
  const failurePolicy = options.failurePolicy ?? "fail_immediately";
  if (failurePolicy !== "fail_immediately" && failurePolicy !== "fail_after_executable_nodes_complete") {
    throw new WorkflowCompileError(
      COMPILE_ERRORS.INVALID_OPTION,
      `${where}: failurePolicy must be "fail_immediately" or "fail_after_executable_nodes_complete", got ${JSON.stringify(failurePolicy)}`,
    );
  }
  const iface = compileInterface(options.inputs ?? ({} as I), options.outputs ?? ({} as O), where);
  const registry = emptyRegistry();
  const scope = new BuildScope(name, registry);
  const handles: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(iface.inputs)) {
    handles[k] = makeHandle(
      {
        binding: { kind: "input", name: k },
        type: v.type,
        hints: (options.inputs[k] as AnyType).hints,
      },
      scope.toOperand,
    );
  }
  const returned = withScope(scope, () => build(handles as InputHandles<I>));
  if (typeof returned !== "object" || returned === null) {
    throw new WorkflowCompileError(
      COMPILE_ERRORS.MISSING_OUTPUT,
      `${where}: the build function must return an object with outputs {${Object.keys(iface.outputs).join(", ")}}, got ${returned === null ? "null" : typeof returned}`,
      { workflow: name },
    );
  }
  const outputs: Record<string, Binding> = {};
  for (const [k, value] of Object.entries(returned as Record<string, unknown>)) {
    const declared = iface.outputs[k];
    if (!declared) {
      throw new WorkflowCompileError(
        COMPILE_ERRORS.UNKNOWN_OUTPUT,
        `${where}: returned output ${k} is not declared (outputs: ${Object.keys(iface.outputs).join(", ") || "none"})`,
        { workflow: name },
      );
    }
    outputs[k] = bindValue(value, declared.type, { workflow: name, node: "(outputs)", input: k }).binding;
  }
  const spec: WorkflowSpec = {
    name,
    interface: iface,
    nodes: scope.nodes,
    outputs,
    failurePolicy,
    ...(options.description ? { description: options.description } : {}),
    ...(site ? { source: describeSite(site) } : {}),
  };
  if (!isBuiltInOrder(spec)) validateWorkflowSpec(spec);

  const hints = hintsOf(options.outputs);
  const call = (inputs: Record<string, unknown>) => {
    const outer = currentScope(() => `workflow ${name}`, () => `to run it, use ${name}.run(inputs)`);
    registerEntity(outer.registry, self, outer.workflow);
    mergeRegistry(outer.registry, registry, outer.workflow);
    const id = outer.nodeId(name);
    const bound = bindInputs(inputs, iface.inputs, { workflow: outer.workflow, node: id, target: `workflow ${name}` });
    const node = {
      kind: "workflow" as const,
      id,
      target: { resourceType: "workflow" as const, name },
      inputs: bound.inputs,
      upstream: bound.upstream,
      metadata: { name },
      outputs: Object.fromEntries(Object.entries(iface.outputs).map(([k, v]) => [k, v.type])),
    };
    outer.addNode(node);
    return nodeOutputs(outer, node, hints);
  };
  const self = Object.assign(call, {
    kind: "workflow" as const,
    spec,
    interface: iface,
    entities: registry,
    outputHints: hints,
    run: (inputs: CallInputs<I>, runOptions: LocalRunOptions = {}) =>
      runLocally<OutputValues<O>>(spec, localEntities(registry), inputs as Record<string, unknown>, runOptions, hints),
  });
  Object.defineProperty(self, "name", { value: name });
  registerEntity(registry, self, name);
  return self as unknown as Workflow<I, O>;
}

/**
 * The DSL type-checks every binding as it is made, and a node can only read nodes
 * made before it, so a spec whose order edges all point backwards, whose outputs
 * read top-level nodes and which returns every declared output needs no further
 * checks. Anything else (a forward `.after()`, a handle smuggled out of a branch)
 * goes through the full validation, which names the problem. Keeps a 10,000-node
 * definition fast.
 */
function isBuiltInOrder(spec: WorkflowSpec): boolean {
  const position = new Map<string, number>();
  for (let i = 0; i < spec.nodes.length; i++) position.set(spec.nodes[i]!.id, i);
  for (let i = 0; i < spec.nodes.length; i++) {
    for (const up of spec.nodes[i]!.upstream) if (!((position.get(up) ?? Infinity) < i)) return false;
  }
  const readsTopLevel = (b: Binding): boolean =>
    b.kind === "output"
      ? position.has(b.node)
      : b.kind === "list"
        ? b.items.every(readsTopLevel)
        : b.kind === "map"
          ? Object.values(b.entries).every(readsTopLevel)
          : true;
  return (
    Object.keys(spec.interface.outputs).every((k) => k in spec.outputs) && Object.values(spec.outputs).every(readsTopLevel)
  );
}

/** Copies a subworkflow's entities into the enclosing registry. */
export function mergeRegistry(into: EntityRegistry, from: EntityRegistry, where: string): void {
  for (const e of from.tasks.values()) registerEntity(into, e, where);
  for (const e of from.workflows.values()) registerEntity(into, e, where);
  for (const e of from.launchPlans.values()) registerEntity(into, e, where);
}

/** True if x is a handle (a node output or workflow input). */
export function isHandle(x: unknown): boolean {
  return handleData(x) !== undefined;
}
