/**
 * The `t` type builders: each describes a value's LiteralType for the backend and
 * its TypeScript type for the author, so a wrong binding is a compile error and the
 * same check runs again at run time.
 */
import type { DataFrame as DanfoDataFrame } from "danfojs-node";
import type { Table } from "apache-arrow";
import type { ColumnKind, ColumnType, LiteralType } from "../model/index.js";
import type { ValueHints } from "../types/index.js";

/** How a DataFrame input is handed to a task: a danfo DataFrame or a lazy Arrow Table. */
export type DataFrameFormat = "danfo" | "arrow";


/**
 * A Petrel type. `V` is what a task receives; `A` is what it may produce or a caller
 * may pass (wider: an output DataFrame may be danfo or Arrow). `D` records whether a
 * default makes the input optional.
 */
export interface Type<V, A = V, D extends boolean = false> {
  readonly literalType: LiteralType;
  readonly hints: ValueHints;
  readonly description?: string;
  /** Present when `.default()` was called. */
  readonly defaultValue?: { value: A };
  /** A copy with a default value: the input may then be omitted. */
  default(value: A): Type<V, A, true>;
  /** A copy with a description, shown in the console and the interface. */
  describe(text: string): Type<V, A, D>;
  /** Phantom fields carrying the static types; never set at run time. */
  readonly __value?: V;
  readonly __accepts?: A;
  readonly __hasDefault?: D;
}

/** Any Petrel type. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyType = Type<any, any, boolean>;
/** The value a task receives for type T. */
export type ValueOf<T> = T extends Type<infer V, unknown, boolean> ? V : never;
/** What may be passed or returned for type T. */
export type AcceptsOf<T> = T extends Type<unknown, infer A, boolean> ? A : never;

/** A named set of types: an interface's inputs or outputs. */
export type TypeMap = Record<string, AnyType>;

type DefaultedKeys<M extends TypeMap> = {
  [K in keyof M]: M[K] extends Type<unknown, unknown, true> ? K : undefined extends AcceptsOf<M[K]> ? K : never;
}[keyof M];

/** Values a task function receives. */
export type Values<M extends TypeMap> = { [K in keyof M]: ValueOf<M[K]> };
/** Values a task function returns. */
export type Accepts<M extends TypeMap> = { [K in keyof M]: AcceptsOf<M[K]> };
/** Inputs a caller passes: inputs with defaults (or optional types) may be omitted. */
export type CallInputs<M extends TypeMap> = { [K in Exclude<keyof M, DefaultedKeys<M>>]: AcceptsOf<M[K]> } & {
  [K in DefaultedKeys<M>]?: AcceptsOf<M[K]>;
};

function makeType<V, A = V>(literalType: LiteralType, hints: ValueHints = {}): Type<V, A, false> {
  return build(literalType, hints, undefined, undefined) as Type<V, A, false>;
}

function build(
  literalType: LiteralType,
  hints: ValueHints,
  description: string | undefined,
  defaultValue: { value: unknown } | undefined,
): AnyType {
  const type: AnyType = {
    literalType,
    hints,
    ...(description !== undefined ? { description } : {}),
    ...(defaultValue !== undefined ? { defaultValue } : {}),
    default: (value: unknown) => build(literalType, hints, description, { value }) as Type<unknown, unknown, true>,
    describe: (text: string) => build(literalType, hints, text, defaultValue),
  };
  return Object.freeze(type);
}

/** A DataFrame column declaration: `t.dataframe({ columns: { age: "int" } })`. */
export interface DataFrameOptions<F extends DataFrameFormat = "danfo"> {
  /** Required columns and their kinds; extra columns are allowed. */
  columns?: Record<string, ColumnKind>;
  /** What a task receives: a danfo DataFrame (default) or a lazy Arrow Table. */
  as?: F;
}

/** Values of `t.file()`: a local path. Returned files are read and stored by content. */
export type FilePath = string;

type Simplify<T> = { [K in keyof T]: T[K] } & {};

/** The type builders. */
export const t = {
  /** A 64-bit integer; JS numbers must be safe integers (bigint is accepted up to int64). */
  int: () => makeType<number, number | bigint>({ kind: "int" }),
  /** A 64-bit float. */
  float: () => makeType<number>({ kind: "float" }),
  string: () => makeType<string>({ kind: "string" }),
  bool: () => makeType<boolean>({ kind: "bool" }),
  /** A point in time, as a JS Date (UTC, millisecond precision). */
  datetime: () => makeType<Date, Date | string>({ kind: "datetime" }),
  /** A duration in milliseconds. */
  duration: () => makeType<number>({ kind: "duration" }),
  /** Any JSON value. */
  json: <J = unknown>() => makeType<J>({ kind: "json" }),
  /** A record of named, typed fields. */
  struct: <F extends TypeMap>(fields: F) =>
    makeType<Simplify<Values<F>>, Simplify<Accepts<F>>>({
      kind: "struct",
      fields: Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, v.literalType])),
    }, { fields: Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, v.hints])) }),
  list: <T extends AnyType>(items: T) =>
    makeType<ValueOf<T>[], AcceptsOf<T>[]>({ kind: "list", items: items.literalType }, { items: items.hints }),
  /** A string-keyed map (a plain object; a JS Map is accepted). */
  map: <T extends AnyType>(values: T) =>
    makeType<Record<string, ValueOf<T>>, Record<string, AcceptsOf<T>> | Map<string, AcceptsOf<T>>>(
      { kind: "map", values: values.literalType },
      { values: values.hints },
    ),
  enum: <const E extends readonly [string, ...string[]]>(values: E) =>
    makeType<E[number]>({ kind: "enum", values: [...values] }),
  /** T or nothing (`null` inside a task; `undefined` or `null` accepted). */
  optional: <T extends AnyType>(type: T) =>
    makeType<ValueOf<T> | null, AcceptsOf<T> | null | undefined>({ kind: "optional", type: type.literalType }, type.hints),
  /** One of several types; values are matched against the variants in order. */
  union: <const T extends readonly [AnyType, AnyType, ...AnyType[]]>(...variants: T) =>
    makeType<ValueOf<T[number]>, AcceptsOf<T[number]>>(
      { kind: "union", variants: variants.map((v) => v.literalType) },
      { variants: variants.map((v) => v.hints) },
    ),
  /** A DataFrame, travelling as Arrow IPC; received as danfo (default) or as an Arrow Table. */
  dataframe: <F extends DataFrameFormat = "danfo">(options: DataFrameOptions<F> = {}) =>
    makeType<F extends "arrow" ? Table : DanfoDataFrame, DanfoDataFrame | Table>(
      {
        kind: "dataframe",
        ...(options.columns
          ? { columns: Object.entries(options.columns).map(([name, kind]): ColumnType => ({ name, kind })) }
          : {}),
      },
      { dataframe: options.as ?? "danfo" },
    ),
  /** A file, stored by content; tasks receive a local path. */
  file: (options: { format?: string } = {}) =>
    makeType<FilePath>({ kind: "file", ...(options.format ? { format: options.format } : {}) }),
  /** A directory, stored by content; tasks receive a local path. */
  dir: () => makeType<FilePath>({ kind: "dir" }),
} as const;

/**
 * The DataFrame classes a `t.dataframe()` value can be, re-exported so that
 * declarations inferred in notebook cells (which tslab emits as .d.ts) can name
 * them through "petrel" even where apache-arrow or danfojs-node are not direct
 * dependencies of the notebook's folder.
 */
export type { Table as ArrowTable } from "apache-arrow";
export type { DataFrame as DanfoDataFrame } from "danfojs-node";
