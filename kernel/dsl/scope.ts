/**
 * The build scope: while a workflow's build function runs, task calls record nodes
 * here. Build functions are synchronous, so one module-level "current scope" is
 * enough; nested scopes (branch cases) chain to their parent.
 */
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  isAssignable,
  NAME_PATTERN,
  typeToString,
  type Binding,
  type Literal,
  type LiteralType,
  type Node,
  type TypedInterface,
  type Variable,
} from "../model/index.js";
import { blobsOf } from "../model/index.js";
import { createMemoryBlobStore, createTypeEngine, isTypeMismatchError, type TypeEngine } from "../types/index.js";
import { COMPILE_ERRORS, WorkflowCompileError } from "./errors.js";
import { handleData, handleLabel, makeHandle, nodeIdOf, NODE_SYMBOL, RESERVED_OUTPUT_NAMES, type NodeOutputs, type NodeRef } from "./handles.js";
import type { AnyType, TypeMap } from "./t.js";

/** Anything a node can target, as the scope tracks it. */
export interface Entity {
  readonly kind: "task" | "workflow" | "launch_plan";
  readonly name: string;
}

/** Entities a workflow refers to, transitively, by name. */
export interface EntityRegistry {
  tasks: Map<string, Entity>;
  workflows: Map<string, Entity>;
  launchPlans: Map<string, Entity>;
}

/** A new, empty registry. */
export function emptyRegistry(): EntityRegistry {
  return { tasks: new Map(), workflows: new Map(), launchPlans: new Map() };
}

/** Adds an entity, rejecting two different entities under one name. */
export function registerEntity(registry: EntityRegistry, entity: Entity, workflow: string): void {
  const map = entity.kind === "task" ? registry.tasks : entity.kind === "workflow" ? registry.workflows : registry.launchPlans;
  const existing = map.get(entity.name);
  if (existing && existing !== entity) {
    throw new WorkflowCompileError(
      COMPILE_ERRORS.DUPLICATE_NAME,
      `workflow ${workflow}: two different ${entity.kind.replace("_", " ")}s are named ${entity.name}; give each a unique name`,
      { workflow },
    );
  }
  map.set(entity.name, entity);
}

/** Where nodes are recorded while a build function runs. */
export class BuildScope {
  readonly nodes: Node[] = [];
  private readonly ids: Set<string>;
  /** Next suffix per base name, so naming stays O(1) in a 10,000-node workflow. */
  private readonly next: Map<string, number>;

  /** Binds the right-hand side of a comparison; one function per scope, shared by all its handles. */
  readonly toOperand: (value: unknown, type: LiteralType) => Bound;

  constructor(
    readonly workflow: string,
    readonly registry: EntityRegistry,
    readonly parent?: BuildScope,
  ) {
    this.toOperand = (value, type) => bindValue(value, type, { workflow, node: "(condition)", input: "(comparison)" });
    this.ids = parent ? parent.ids : new Set();
    this.next = parent ? parent.next : new Map();
  }

  /** A unique node id derived from a name: `clean`, then `clean-2`, `clean-3`. */
  nodeId(base: string): string {
    let i = this.next.get(base) ?? 1;
    let id = i === 1 ? base : `${base}-${i}`;
    while (this.ids.has(id)) id = `${base}-${++i}`;
    this.next.set(base, i + 1);
    this.ids.add(id);
    return id;
  }

  addNode(node: Node): void {
    this.nodes.push(node);
  }
}

let current: BuildScope | undefined;

/** The scope of the workflow being defined; throws when called outside one. */
export function currentScope(what: () => string, hint: () => string): BuildScope {
  if (!current) {
    throw new WorkflowCompileError(COMPILE_ERRORS.OUTSIDE_WORKFLOW, `${what()} was called outside a workflow definition; ${hint()}`);
  }
  return current;
}

/** Runs `fn` with `scope` as the current scope. */
export function withScope<T>(scope: BuildScope, fn: () => T): T {
  const saved = current;
  current = scope;
  try {
    return fn();
  } finally {
    current = saved;
  }
}

let definitionEngine: TypeEngine | undefined;
const definitionBlobs = createMemoryBlobStore(join(tmpdir(), "petrel-definitions"));

/**
 * Converts a constant used in a definition (a default, a literal binding) to a
 * literal. Constants must be inline: a DataFrame or file belongs in an input.
 */
export function constantLiteral(
  value: unknown,
  type: LiteralType,
  where: string,
  fields: { workflow?: string; node?: string; input?: string } = {},
): Literal {
  definitionEngine ??= createTypeEngine();
  let literal: Literal;
  try {
    literal = definitionEngine.toLiteral(value, type, { blobs: definitionBlobs, where });
  } catch (e) {
    if (!isTypeMismatchError(e)) throw e;
    throw new WorkflowCompileError(COMPILE_ERRORS.BINDING_TYPE_MISMATCH, e.message, {
      ...fields,
      expected: typeToString(type),
      actual: String(e.details.actual),
    });
  }
  if (blobsOf(literal).length > 0) {
    throw new WorkflowCompileError(
      COMPILE_ERRORS.INVALID_OPTION,
      `${where}: DataFrames, files and directories cannot be constants in a definition; pass them as workflow inputs`,
    );
  }
  return literal;
}

/** Checks an entity or input/output name. */
export function checkName(name: unknown, what: string): string {
  if (typeof name !== "string" || !NAME_PATTERN.test(name)) {
    throw new WorkflowCompileError(
      COMPILE_ERRORS.INVALID_NAME,
      `${what}: invalid name ${JSON.stringify(name)} (letters, digits, "_", "-" and "."; starting with a letter or "_")`,
    );
  }
  return name;
}

/** Compiles `t` maps into a TypedInterface, converting defaults to literals. */
export function compileInterface(inputs: TypeMap, outputs: TypeMap, where: string): TypedInterface {
  const vars = (map: TypeMap, what: "input" | "output"): Record<string, Variable> => {
    if (typeof map !== "object" || map === null) {
      throw new WorkflowCompileError(COMPILE_ERRORS.INVALID_OPTION, `${where}: ${what}s must be an object of t types`);
    }
    const out: Record<string, Variable> = {};
    for (const [name, type] of Object.entries(map)) {
      checkName(name, `${where}, ${what} ${name}`);
      if (!type || typeof type !== "object" || !("literalType" in type)) {
        throw new WorkflowCompileError(
          COMPILE_ERRORS.INVALID_OPTION,
          `${where}: ${what} ${name} must be a t type such as t.int(), got ${typeof type}`,
        );
      }
      if (what === "output" && (RESERVED_OUTPUT_NAMES as readonly string[]).includes(name)) {
        throw new WorkflowCompileError(COMPILE_ERRORS.INVALID_NAME, `${where}: output name ${name} is reserved`);
      }
      const v: Variable = { type: type.literalType };
      if (type.description !== undefined) v.description = type.description;
      if (type.defaultValue !== undefined) {
        v.default = constantLiteral(type.defaultValue.value, type.literalType, `${where}, default of ${what} ${name}`, { input: name });
      }
      out[name] = v;
    }
    return out;
  };
  return { inputs: vars(inputs, "input"), outputs: vars(outputs, "output") };
}

/** A binding and the nodes it depends on. */
export interface Bound {
  binding: Binding;
  upstream: string[];
}

/**
 * Binds a value passed to a node input: a handle (type-checked now), an array or
 * object holding handles, or a constant.
 */
export function bindValue(value: unknown, to: LiteralType, where: { workflow: string; node: string; input: string }): Bound {
  const h = handleData(value);
  if (h) {
    if (!isAssignable(h.type, to)) {
      throw new WorkflowCompileError(
        COMPILE_ERRORS.BINDING_TYPE_MISMATCH,
        `workflow ${where.workflow}, node ${where.node}, input ${where.input}: expected ${typeToString(to)}, got ${typeToString(h.type)} from ${handleLabel(h)}`,
        { ...where, expected: typeToString(to), actual: typeToString(h.type) },
      );
    }
    return { binding: h.binding, upstream: h.node ? [h.node] : [] };
  }
  const inner = to.kind === "optional" ? to.type : to;
  if (Array.isArray(value) && inner.kind === "list" && containsHandle(value)) {
    const items = value.map((v, i) => bindValue(v, inner.items, { ...where, input: `${where.input}[${i}]` }));
    return { binding: { kind: "list", items: items.map((b) => b.binding) }, upstream: items.flatMap((b) => b.upstream) };
  }
  if (isPlain(value) && (inner.kind === "struct" || inner.kind === "map") && containsHandle(value)) {
    const entries: Record<string, Binding> = {};
    const upstream: string[] = [];
    for (const [k, v] of Object.entries(value)) {
      const t = inner.kind === "struct" ? inner.fields[k] : inner.values;
      if (!t) {
        throw new WorkflowCompileError(
          COMPILE_ERRORS.UNKNOWN_INPUT,
          `workflow ${where.workflow}, node ${where.node}, input ${where.input}: struct has no field ${k}`,
          where,
        );
      }
      const b = bindValue(v, t, { ...where, input: `${where.input}.${k}` });
      entries[k] = b.binding;
      upstream.push(...b.upstream);
    }
    return { binding: { kind: "map", entries }, upstream };
  }
  try {
    return {
      binding: { kind: "literal", literal: constantLiteral(value, to, `workflow ${where.workflow}, node ${where.node}, input ${where.input}`) },
      upstream: [],
    };
  } catch (e) {
    if (!(e instanceof WorkflowCompileError)) throw e;
    // Re-raise with the node and input this constant was bound to.
    throw new WorkflowCompileError(e.code, e.message, { ...where, expected: typeToString(to), ...(e.actual ? { actual: e.actual } : {}) });
  }
}

function containsHandle(value: unknown): boolean {
  if (handleData(value)) return true;
  if (Array.isArray(value)) return value.some(containsHandle);
  if (isPlain(value)) return Object.values(value).some(containsHandle);
  return false;
}

function isPlain(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/**
 * Binds all inputs of a node call: unknown names and missing required inputs are
 * errors naming the node.
 */
export function bindInputs(
  given: Record<string, unknown>,
  declared: Record<string, { type: LiteralType; default?: unknown }>,
  where: { workflow: string; node: string; target: string | (() => string) },
  options: { allowMissing?: boolean } = {},
): { inputs: Record<string, Binding>; upstream: string[] } {
  const target = () => (typeof where.target === "string" ? where.target : where.target());
  if (typeof given !== "object" || given === null) {
    throw new WorkflowCompileError(
      COMPILE_ERRORS.INVALID_OPTION,
      `workflow ${where.workflow}, node ${where.node}: inputs must be an object, got ${given === null ? "null" : typeof given}`,
      { workflow: where.workflow, node: where.node },
    );
  }
  const inputs: Record<string, Binding> = {};
  const upstream = new Set<string>();
  for (const name in given) {
    const value = given[name];
    const v = declared[name];
    if (!v) {
      throw new WorkflowCompileError(
        COMPILE_ERRORS.UNKNOWN_INPUT,
        `workflow ${where.workflow}, node ${where.node}: ${target()} has no input ${name} (inputs: ${Object.keys(declared).join(", ") || "none"})`,
        { workflow: where.workflow, node: where.node, input: name },
      );
    }
    if (value === undefined) continue;
    const bound = bindValue(value, v.type, { workflow: where.workflow, node: where.node, input: name });
    inputs[name] = bound.binding;
    for (const u of bound.upstream) upstream.add(u);
  }
  if (!options.allowMissing) {
    for (const name in declared) {
      const v = declared[name]!;
      if (!(name in inputs) && v.default === undefined && v.type.kind !== "optional") {
        throw new WorkflowCompileError(
          COMPILE_ERRORS.MISSING_INPUT,
          `workflow ${where.workflow}, node ${where.node}: input ${name} (${typeToString(v.type)}) of ${target()} is not bound`,
          { workflow: where.workflow, node: where.node, input: name, expected: typeToString(v.type) },
        );
      }
    }
  }
  return { inputs, upstream: [...upstream] };
}

const NODE_STATE = Symbol("petrel.nodeState");

/** What every node's outputs object shares through its prototype: `.after()`. */
class NodeOutputsBase {
  declare readonly [NODE_STATE]: { scope: BuildScope; node: Node };

  after(...others: NodeRef[]): this {
    const { scope, node } = this[NODE_STATE];
    for (const other of others) {
      const id = nodeIdOf(other);
      if (!id) {
        throw new WorkflowCompileError(
          COMPILE_ERRORS.INVALID_OPTION,
          `workflow ${scope.workflow}, node ${node.id}: .after() takes the results of task calls`,
          { workflow: scope.workflow, node: node.id },
        );
      }
      if (!node.upstream.includes(id)) node.upstream.push(id);
    }
    return this;
  }
}

/** Handles for a node's outputs, with `.after()`: one object per output, nothing per node beyond that. */
export function nodeOutputs<O>(scope: BuildScope, node: Node, hints: Record<string, AnyType["hints"]>): NodeOutputs<O> {
  const out = new NodeOutputsBase() as unknown as Record<string | symbol, unknown>;
  out[NODE_STATE] = { scope, node };
  out[NODE_SYMBOL] = node.id;
  for (const name in node.outputs) {
    out[name] = makeHandle(
      { binding: { kind: "output", node: node.id, output: name }, type: node.outputs[name]!, hints: hints[name] ?? NO_HINTS, node: node.id },
      scope.toOperand,
    );
  }
  return out as unknown as NodeOutputs<O>;
}

const NO_HINTS = Object.freeze({});
