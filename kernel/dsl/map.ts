/**
 * `map(task)`: one task instance per list element. Inputs bound to lists of the
 * task's input type are mapped; the rest are passed whole to every instance.
 */
import { isAssignable, typeToString, type LiteralType, type MapNode } from "../model/index.js";
import { COMPILE_ERRORS, WorkflowCompileError } from "./errors.js";
import { handleData, type NodeOutputs } from "./handles.js";
import { bindValue, currentScope, nodeOutputs, registerEntity } from "./scope.js";
import type { Bindable } from "./bindable.js";
import type { AcceptsOf, AnyType, TypeMap, ValueOf } from "./t.js";
import type { Task } from "./task.js";

/** Options of `map()`. */
export interface MapOptions {
  /** Most instances at once (default: no limit beyond the run's maxParallelism). */
  concurrency?: number;
  /**
   * Fraction of instances that must succeed (default 1). Below 1, failed instances
   * yield `null` in the output lists, so the outputs are typed `(T | null)[]`.
   */
  minSuccessRatio?: number;
}

/** Inputs of a mapped call: a list (mapped) or a single value (broadcast) per input. */
export type MapInputs<I extends TypeMap> = {
  [K in keyof I]?: Bindable<AcceptsOf<I[K]>[]> | Bindable<AcceptsOf<I[K]>>;
};

/** A mapped task, callable inside a workflow. */
export type MappedTask<I extends TypeMap, O extends TypeMap, Nullable extends boolean> = (
  inputs: MapInputs<I>,
) => NodeOutputs<{ [K in keyof O]: Nullable extends true ? (ValueOf<O[K]> | null)[] : ValueOf<O[K]>[] }>;

/** Maps a task over lists. */
export function map<I extends TypeMap, O extends TypeMap>(
  task: Task<I, O>,
  options: MapOptions & { minSuccessRatio: number },
): MappedTask<I, O, true>;
export function map<I extends TypeMap, O extends TypeMap>(task: Task<I, O>, options?: { concurrency?: number }): MappedTask<I, O, false>;
export function map<I extends TypeMap, O extends TypeMap>(task: Task<I, O>, options: MapOptions = {}): MappedTask<I, O, boolean> {
  if (!task || task.kind !== "task") {
    throw new WorkflowCompileError(COMPILE_ERRORS.INVALID_OPTION, "map(): the first argument must be a task");
  }
  const concurrency = options.concurrency ?? 0;
  if (!Number.isInteger(concurrency) || concurrency < 0) {
    throw new WorkflowCompileError(
      COMPILE_ERRORS.INVALID_OPTION,
      `map(${task.name}): concurrency must be a non-negative integer, got ${String(options.concurrency)}`,
    );
  }
  const ratio = options.minSuccessRatio ?? 1;
  if (typeof ratio !== "number" || !(ratio > 0 && ratio <= 1)) {
    throw new WorkflowCompileError(
      COMPILE_ERRORS.INVALID_OPTION,
      `map(${task.name}): minSuccessRatio must be in (0, 1], got ${String(options.minSuccessRatio)}`,
    );
  }
  const nullable = options.minSuccessRatio !== undefined && ratio < 1;
  const iface = task.interface;
  return (inputs: Record<string, unknown>) => {
    const scope = currentScope(() => `map(${task.name})`, () => "map() is for use inside a workflow definition");
    registerEntity(scope.registry, task, scope.workflow);
    const id = scope.nodeId(`map-${task.name}`);
    const bindings: MapNode["inputs"] = {};
    const mapped: string[] = [];
    const upstream = new Set<string>();
    for (const [name, value] of Object.entries(inputs)) {
      const declared = iface.inputs[name];
      if (!declared) {
        throw new WorkflowCompileError(
          COMPILE_ERRORS.UNKNOWN_INPUT,
          `workflow ${scope.workflow}, node ${id}: task ${task.name} has no input ${name} (inputs: ${Object.keys(iface.inputs).join(", ")})`,
          { workflow: scope.workflow, node: id, input: name },
        );
      }
      const listType: LiteralType = { kind: "list", items: declared.type };
      const isMapped = decideMapped(value, declared.type, listType);
      const bound = bindValue(value, isMapped ? listType : declared.type, { workflow: scope.workflow, node: id, input: name });
      if (isMapped) mapped.push(name);
      bindings[name] = bound.binding;
      for (const u of bound.upstream) upstream.add(u);
    }
    if (mapped.length === 0) {
      throw new WorkflowCompileError(
        COMPILE_ERRORS.BINDING_TYPE_MISMATCH,
        `workflow ${scope.workflow}, node ${id}: map(${task.name}) needs at least one input bound to a list`,
        { workflow: scope.workflow, node: id },
      );
    }
    for (const [name, v] of Object.entries(iface.inputs)) {
      if (!(name in bindings) && !v.default && v.type.kind !== "optional") {
        throw new WorkflowCompileError(
          COMPILE_ERRORS.MISSING_INPUT,
          `workflow ${scope.workflow}, node ${id}: input ${name} (${typeToString(v.type)}) of task ${task.name} is not bound`,
          { workflow: scope.workflow, node: id, input: name },
        );
      }
    }
    const node: MapNode = {
      kind: "map",
      id,
      target: { resourceType: "task", name: task.name },
      inputs: bindings,
      upstream: [...upstream],
      metadata: { name: task.name },
      outputs: Object.fromEntries(
        Object.entries(iface.outputs).map(([k, v]) => [
          k,
          { kind: "list", items: nullable ? { kind: "optional", type: v.type } : v.type } as LiteralType,
        ]),
      ),
      mapped,
      concurrency,
      minSuccessRatio: ratio,
    };
    scope.addNode(node);
    const hints = Object.fromEntries(Object.entries(task.outputs as TypeMap).map(([k, v]) => [k, (v as AnyType).hints]));
    return nodeOutputs(scope, node, hints);
  };
}

/** An input is mapped when its value is a list of the declared type (checked before "is the type itself"). */
function decideMapped(value: unknown, declared: LiteralType, listType: LiteralType): boolean {
  const h = handleData(value);
  if (h) return isAssignable(h.type, listType);
  if (!Array.isArray(value)) return false;
  if (declared.kind !== "list") return true;
  // The declared type is itself a list: mapped only if the elements are lists too.
  return value.every((v) => Array.isArray(v) || handleData(v) !== undefined);
}
