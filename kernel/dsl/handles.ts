/**
 * Node handles: what a workflow's build function works with. Calling a task inside
 * `workflow(...)` records a node and returns handles to its outputs, never values.
 */
import type { Binding, Condition, LiteralType, Node } from "../model/index.js";
import type { ValueHints } from "../types/index.js";

const HANDLE = Symbol.for("petrel.handle");
const NODE = Symbol.for("petrel.node");
const CONDITION = Symbol.for("petrel.condition");

/** What a handle refers to. */
export interface HandleData {
  binding: Binding;
  type: LiteralType;
  hints: ValueHints;
  /** The node producing it; absent for workflow inputs. */
  node?: string;
}

/** A human description of a handle for errors: `output df of node clean`. */
export function handleLabel(data: HandleData): string {
  const b = data.binding;
  return b.kind === "input" ? `workflow input ${b.name}` : b.kind === "output" ? `output ${b.output} of node ${b.node}` : "a value";
}

/** A comparison operand: a handle or a plain value. */
export type Operand<T> = T | Handle<T>;

/** A condition for `when(...)`, built from handle comparisons and `and`/`or`/`not`. */
export interface ConditionExpr {
  readonly [CONDITION]: { condition: Condition; upstream: string[] };
}

/**
 * A promise of a value of type T, produced by a node or a workflow input. Handles
 * are bound to other nodes' inputs and compared in branch conditions.
 */
export interface Handle<T> {
  readonly [HANDLE]: HandleData;
  /** Phantom: carries T for type checking. */
  readonly __type?: T;
  eq(other: Operand<T>): ConditionExpr;
  ne(other: Operand<T>): ConditionExpr;
  gt(other: Operand<T>): ConditionExpr;
  gte(other: Operand<T>): ConditionExpr;
  lt(other: Operand<T>): ConditionExpr;
  lte(other: Operand<T>): ConditionExpr;
  /** True when the value is truthy (true, non-zero, non-empty). */
  isTrue(): ConditionExpr;
}

/** A reference to a node, for `.after()` ordering. */
export interface NodeRef {
  readonly [NODE]: string;
}

/** The handles a node call returns: one per output, plus `.after()`. */
export type NodeOutputs<O> = { readonly [K in keyof O]: Handle<O[K]> } & NodeRef & {
  /** Runs this node only after the given nodes finish (no data passes). */
  after(...nodes: NodeRef[]): NodeOutputs<O>;
};

/** Output names that would collide with handle members. */
export const RESERVED_OUTPUT_NAMES = ["after"] as const;

type ToOperand = (v: unknown, type: LiteralType) => { binding: Binding; upstream: string[] };

/** Handles share their methods through a prototype: a 10,000-node build allocates one object per output. */
class HandleImpl {
  readonly [HANDLE]: HandleData;
  constructor(
    data: HandleData,
    private readonly toOperand: ToOperand,
  ) {
    this[HANDLE] = data;
  }
  private compare(op: "eq" | "ne" | "gt" | "gte" | "lt" | "lte", other: unknown): ConditionExpr {
    const data = this[HANDLE];
    const right = this.toOperand(other, data.type);
    return makeCondition({ kind: "compare", op, left: data.binding, right: right.binding }, [
      ...(data.node ? [data.node] : []),
      ...right.upstream,
    ]);
  }
  eq(other: unknown) {
    return this.compare("eq", other);
  }
  ne(other: unknown) {
    return this.compare("ne", other);
  }
  gt(other: unknown) {
    return this.compare("gt", other);
  }
  gte(other: unknown) {
    return this.compare("gte", other);
  }
  lt(other: unknown) {
    return this.compare("lt", other);
  }
  lte(other: unknown) {
    return this.compare("lte", other);
  }
  isTrue(): ConditionExpr {
    const data = this[HANDLE];
    return makeCondition({ kind: "truthy", value: data.binding }, data.node ? [data.node] : []);
  }
}

/** Creates a handle; the literal type is checked again whenever it is bound. */
export function makeHandle<T>(data: HandleData, toOperand: ToOperand): Handle<T> {
  return new HandleImpl(data, toOperand) as unknown as Handle<T>;
}

/** Wraps a model condition. */
export function makeCondition(condition: Condition, upstream: string[]): ConditionExpr {
  return { [CONDITION]: { condition, upstream } };
}

/** The data behind a handle, or undefined for anything else (works across realms: the symbol is global). */
export function handleData(x: unknown): HandleData | undefined {
  return typeof x === "object" && x !== null && HANDLE in x ? (x as Handle<unknown>)[HANDLE] : undefined;
}

/** The node id behind a node reference. */
export function nodeIdOf(x: unknown): string | undefined {
  return typeof x === "object" && x !== null && NODE in x ? (x as NodeRef)[NODE] : undefined;
}

/** The condition behind a condition expression. */
export function conditionOf(x: unknown): { condition: Condition; upstream: string[] } | undefined {
  return typeof x === "object" && x !== null && CONDITION in x ? (x as ConditionExpr)[CONDITION] : undefined;
}

/** Combines conditions: all must hold. */
export function and(...conditions: ConditionExpr[]): ConditionExpr {
  return makeCondition(
    { kind: "and", conditions: conditions.map((c) => c[CONDITION].condition) },
    conditions.flatMap((c) => c[CONDITION].upstream),
  );
}

/** Combines conditions: any may hold. */
export function or(...conditions: ConditionExpr[]): ConditionExpr {
  return makeCondition(
    { kind: "or", conditions: conditions.map((c) => c[CONDITION].condition) },
    conditions.flatMap((c) => c[CONDITION].upstream),
  );
}

/** Negates a condition. */
export function not(condition: ConditionExpr): ConditionExpr {
  return makeCondition({ kind: "not", condition: condition[CONDITION].condition }, condition[CONDITION].upstream);
}

/** The node-ref symbol, for building NodeOutputs. */
export const NODE_SYMBOL: typeof NODE = NODE;

/** A node in the making: recorded in the current build scope. */
export type PendingNode = Node;
