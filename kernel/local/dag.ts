/**
 * What every engine does with a compiled workflow, whatever runs its tasks:
 * resolve a node's input bindings in a scope (adapting literals to the declared
 * types), evaluate branch conditions, split a map node's inputs into instances.
 * Pure functions over Literals, shared by the local engine and the backend's, so
 * a workflow decides the same way in the notebook and on the cluster.
 */
import {
  stableStringify,
  type Binding,
  type Condition,
  type Literal,
  type LiteralMap,
  type LiteralType,
  type MapNode,
  type Node,
  type Variable,
  type WorkflowSpec,
} from "../model/index.js";
import { adaptLiteral } from "../types/index.js";

/** Where bindings get their values: a workflow's inputs and its nodes' outputs. */
export interface BindingScope {
  resolve(binding: Binding): Literal;
  /** The declared type a binding produces, when it refers to an input or an output. */
  typeOf(binding: Binding): LiteralType | undefined;
}

/**
 * A node's inputs: every binding resolved (and adapted to `declared` types), then
 * unbound `variables` filled with their defaults (`none` for optional ones).
 */
export function resolveNodeInputs(
  node: Node,
  declared: Record<string, LiteralType>,
  scope: BindingScope,
  variables?: Record<string, { type: LiteralType; default?: Literal }>,
): LiteralMap {
  const out: LiteralMap = {};
  for (const name in node.inputs) {
    const binding = node.inputs[name]!;
    const to = declared[name];
    out[name] = to ? resolveAdapted(binding, to, scope) : scope.resolve(binding);
  }
  if (variables) {
    for (const name in variables) {
      if (name in out) continue;
      const v = variables[name]!;
      if (v.default) out[name] = v.default;
      else if (v.type.kind === "optional") out[name] = { kind: "none" };
    }
  }
  return out;
}

function resolveAdapted(binding: Binding, to: LiteralType, scope: BindingScope): Literal {
  switch (binding.kind) {
    case "input":
    case "output":
      return adaptLiteral(scope.resolve(binding), scope.typeOf(binding) ?? to, to);
    case "list":
      return to.kind === "list"
        ? { kind: "list", items: binding.items.map((b) => resolveAdapted(b, to.items, scope)) }
        : scope.resolve(binding);
    case "map": {
      if (to.kind !== "map" && to.kind !== "struct") return scope.resolve(binding);
      const entries: Record<string, Literal> = {};
      for (const [k, b] of Object.entries(binding.entries)) {
        const t = to.kind === "map" ? to.values : to.fields[k];
        entries[k] = t ? resolveAdapted(b, t, scope) : scope.resolve(b);
      }
      return { kind: "map", entries };
    }
    case "literal":
      return binding.literal;
  }
}

/** Resolves a binding whose parts may be nested lists and maps. */
export function resolveBinding(binding: Binding, lookup: (b: Extract<Binding, { kind: "input" | "output" }>) => Literal): Literal {
  switch (binding.kind) {
    case "input":
    case "output":
      return lookup(binding);
    case "literal":
      return binding.literal;
    case "list":
      return { kind: "list", items: binding.items.map((b) => resolveBinding(b, lookup)) };
    case "map":
      return { kind: "map", entries: Object.fromEntries(Object.entries(binding.entries).map(([k, b]) => [k, resolveBinding(b, lookup)])) };
  }
}

/** The declared types of an interface's variables. */
export function declaredTypes(vars: Record<string, { type: LiteralType }>): Record<string, LiteralType> {
  const out: Record<string, LiteralType> = {};
  for (const k in vars) out[k] = vars[k]!.type;
  return out;
}

/** A map node's input types: the task's, with mapped inputs as lists of them. */
export function mapNodeInputTypes(node: MapNode, taskInputs: Record<string, Variable>): Record<string, LiteralType> {
  const out = declaredTypes(taskInputs);
  for (const m of node.mapped) if (out[m]) out[m] = { kind: "list", items: out[m] };
  return out;
}

/** A workflow's inputs with defaults (and `none` for optional inputs) filled in. */
export function withWorkflowDefaults(wf: WorkflowSpec, inputs: LiteralMap): LiteralMap {
  const out = { ...inputs };
  for (const [k, v] of Object.entries(wf.interface.inputs)) {
    if (!(k in out)) {
      if (v.default) out[k] = v.default;
      else if (v.type.kind === "optional") out[k] = { kind: "none" };
    }
  }
  return out;
}

/**
 * A map node's instances: how many, and the inputs of instance `i` (mapped
 * inputs take their i-th item, the rest are passed whole). Throws an Error saying
 * which input is wrong when a mapped input is not a list or lengths differ.
 */
export function mapInstances(node: MapNode, inputs: LiteralMap): { count: number; inputsOf(i: number): LiteralMap } {
  let count: number | undefined;
  for (const m of node.mapped) {
    const lit = inputs[m];
    if (lit?.kind !== "list") throw new Error(`mapped input ${m} is not a list`);
    if (count !== undefined && lit.items.length !== count) {
      throw new Error(
        `mapped inputs have different lengths (${node.mapped.map((n) => `${n}: ${(inputs[n] as { items: unknown[] }).items.length}`).join(", ")})`,
      );
    }
    count = lit.items.length;
  }
  return {
    count: count ?? 0,
    inputsOf(i) {
      const out: LiteralMap = {};
      for (const k in inputs) out[k] = node.mapped.includes(k) ? (inputs[k] as { items: Literal[] }).items[i]! : inputs[k]!;
      return out;
    },
  };
}

/** Evaluates a branch condition in a scope. */
export function evaluateCondition(condition: Condition, scope: BindingScope): boolean {
  switch (condition.kind) {
    case "and":
      return condition.conditions.every((c) => evaluateCondition(c, scope));
    case "or":
      return condition.conditions.some((c) => evaluateCondition(c, scope));
    case "not":
      return !evaluateCondition(condition.condition, scope);
    case "truthy": {
      const v = comparable(scope.resolve(condition.value));
      return v !== null && v !== false && v !== 0 && v !== "";
    }
    case "compare": {
      const a = comparable(scope.resolve(condition.left));
      const b = comparable(scope.resolve(condition.right));
      switch (condition.op) {
        case "eq":
          return stableStringify(a) === stableStringify(b);
        case "ne":
          return stableStringify(a) !== stableStringify(b);
        case "gt":
          return a !== null && b !== null && a > b;
        case "gte":
          return a !== null && b !== null && a >= b;
        case "lt":
          return a !== null && b !== null && a < b;
        case "lte":
          return a !== null && b !== null && a <= b;
      }
    }
  }
}

/** A literal as a comparable JS value: numbers, strings, booleans, or JSON for the rest. */
function comparable(lit: Literal): number | string | boolean | null | object {
  switch (lit.kind) {
    case "int":
      return Number(lit.value);
    case "float":
      return typeof lit.value === "number" ? lit.value : Number(lit.value);
    case "string":
    case "bool":
      return lit.value;
    case "datetime":
      return Date.parse(lit.value);
    case "duration":
      return lit.value;
    case "none":
      return null;
    case "union":
      return comparable(lit.value);
    case "json":
      return (lit.value ?? null) as object;
    default:
      return lit;
  }
}

/** The node a branch takes: the first case whose condition holds, else `otherwise` (or its error message). */
export function chooseBranch(node: Extract<Node, { kind: "branch" }>, scope: BindingScope): { node: Node } | { error: string } {
  for (const c of node.cases) if (evaluateCondition(c.condition, scope)) return { node: c.node };
  return node.otherwise;
}
