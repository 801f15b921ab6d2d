/**
 * The type engine: registered converters between JS values and Literals. Instances,
 * not a global registry: `createTypeEngine().with(myConverter)` returns a new engine.
 */
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync, existsSync } from "node:fs";
import { basename, dirname, join, relative, sep } from "node:path";
import {
  isPetrelError,
  typeToString,
  type Literal,
  type LiteralType,
  type Variable,
} from "../model/index.js";
import type { BlobAccess } from "./blobs.js";
import { decodeIPC, encodeIPC, isArrowTable, isDanfoDataFrame, checkSchema, tableToDanfo } from "./dataframe.js";
import { describeValue, TypeMismatchError } from "./errors.js";
import { sha256 } from "./hash.js";

/**
 * Hints that shape the JS value a literal converts into, mirroring the type's
 * structure (a DataFrame inside a struct field keeps its own format). Not part of
 * the LiteralType: they are how this process wants the value, not what it is.
 */
export interface ValueHints {
  /** How a DataFrame is handed to code: a danfo DataFrame (default) or a lazy Arrow Table. */
  dataframe?: "danfo" | "arrow";
  items?: ValueHints;
  values?: ValueHints;
  fields?: Record<string, ValueHints>;
  variants?: (ValueHints | undefined)[];
}

/** What a conversion needs besides the value: blob access, where it happens, value hints. */
export interface ConversionContext {
  blobs: BlobAccess;
  /** Names the value in errors, e.g. `input minAge of task clean`. */
  where: string;
  hints?: ValueHints | undefined;
}

/** A converter between JS values and Literals for the types it matches. */
export interface Converter {
  readonly name: string;
  matches(type: LiteralType): boolean;
  toLiteral(value: unknown, type: LiteralType, ctx: ConversionContext, engine: TypeEngine): Literal;
  toValue(literal: Literal, type: LiteralType, ctx: ConversionContext, engine: TypeEngine): unknown;
}

/** Converts values to literals and back through registered converters. */
export class TypeEngine {
  private readonly byKind = new Map<string, Converter>();
  private readonly custom: Converter[] = [];

  constructor(builtins: readonly Converter[], custom: readonly Converter[] = []) {
    for (const c of builtins) this.byKind.set(c.name, c);
    this.custom = [...custom];
  }

  /** A new engine where these converters take precedence over the existing ones. */
  with(...converters: Converter[]): TypeEngine {
    return new TypeEngine([...this.byKind.values()], [...converters, ...this.custom]);
  }

  private converterFor(type: LiteralType): Converter {
    for (const c of this.custom) if (c.matches(type)) return c;
    const c = this.byKind.get(type.kind);
    if (!c) throw new TypeMismatchError("type engine", "a registered converter", typeToString(type));
    return c;
  }

  /** Converts a value to a literal of `type`; throws TypeMismatchError naming `ctx.where`. */
  toLiteral(value: unknown, type: LiteralType, ctx: ConversionContext): Literal {
    return this.converterFor(type).toLiteral(value, type, ctx, this);
  }

  /** Converts a literal of `type` to a JS value; a literal of the wrong kind is a TypeMismatchError. */
  toValue(literal: Literal, type: LiteralType, ctx: ConversionContext): unknown {
    return this.converterFor(type).toValue(literal, type, ctx, this);
  }

  /**
   * Converts a named set of values against an interface: unknown names and missing
   * values are errors; defaults fill omitted inputs.
   */
  toLiteralMap(
    values: Record<string, unknown>,
    variables: Record<string, Variable>,
    ctx: ConversionContext & { what: string },
  ): Record<string, Literal> {
    const out: Record<string, Literal> = {};
    for (const key in values) {
      if (!(key in variables)) {
        throw new TypeMismatchError(
          `${ctx.where}`,
          `one of the declared ${ctx.what}s {${Object.keys(variables).join(", ")}}`,
          `unknown ${ctx.what} ${JSON.stringify(key)}`,
        );
      }
    }
    for (const key in variables) {
      const v = variables[key]!;
      const value = values[key];
      if (value === undefined) {
        if (v.default) {
          out[key] = v.default;
          continue;
        }
        if (v.type.kind !== "optional") {
          throw new TypeMismatchError(`${ctx.what} ${key} of ${ctx.where}`, typeToString(v.type), "nothing (missing)");
        }
      }
      out[key] = this.toLiteral(value, v.type, { ...ctx, where: `${ctx.what} ${key} of ${ctx.where}` });
    }
    return out;
  }
}

const fail = (ctx: ConversionContext, type: LiteralType, value: unknown, reason?: string): never => {
  throw new TypeMismatchError(ctx.where, typeToString(type), describeValue(value), reason);
};

const badLiteral = (ctx: ConversionContext, type: LiteralType, literal: Literal): never => {
  throw new TypeMismatchError(ctx.where, `a ${typeToString(type)} literal`, `a ${literal.kind} literal`);
};

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

function scalar<K extends Literal["kind"]>(
  name: K,
  toLiteral: (value: unknown, type: LiteralType, ctx: ConversionContext) => Literal,
  toValue: (literal: Extract<Literal, { kind: K }>) => unknown,
): Converter {
  return {
    name,
    matches: (type) => type.kind === name,
    toLiteral,
    toValue: (literal, type, ctx) =>
      literal.kind === name ? toValue(literal as Extract<Literal, { kind: K }>) : badLiteral(ctx, type, literal),
  };
}

const intConverter = scalar(
  "int",
  (value, type, ctx) => {
    if (typeof value === "number") {
      if (!Number.isInteger(value)) {
        return fail(ctx, type, value, Number.isNaN(value) ? "NaN is not an integer" : "not an integer");
      }
      if (!Number.isSafeInteger(value)) return fail(ctx, type, value, "beyond 2^53; pass a bigint to keep precision");
      return { kind: "int", value: String(value) };
    }
    if (typeof value === "bigint") {
      if (value < INT64_MIN || value > INT64_MAX) return fail(ctx, type, value, "outside the int64 range");
      return { kind: "int", value: value.toString() };
    }
    return fail(ctx, type, value);
  },
  (literal) => {
    const n = Number(literal.value);
    return Number.isSafeInteger(n) ? n : BigInt(literal.value);
  },
);

const floatConverter = scalar(
  "float",
  (value, type, ctx) => {
    if (typeof value !== "number") return fail(ctx, type, value);
    return { kind: "float", value: Number.isFinite(value) ? value : (String(value) as "NaN" | "Infinity" | "-Infinity") };
  },
  (literal) => (typeof literal.value === "number" ? literal.value : Number(literal.value)),
);

const stringConverter = scalar(
  "string",
  (value, type, ctx) => (typeof value === "string" ? { kind: "string", value } : fail(ctx, type, value)),
  (literal) => literal.value,
);

const boolConverter = scalar(
  "bool",
  (value, type, ctx) => (typeof value === "boolean" ? { kind: "bool", value } : fail(ctx, type, value)),
  (literal) => literal.value,
);

const datetimeConverter = scalar(
  "datetime",
  (value, type, ctx) => {
    if (typeof value === "string" && !ISO_DATETIME.test(value)) {
      // A string without a zone would be read in this process's zone: a notebook and a pod would disagree.
      return fail(ctx, type, value, "strings must be ISO-8601 with a zone, e.g. 2026-01-31T12:00:00Z, or a date 2026-01-31");
    }
    const d = value instanceof Date || isForeignDate(value) ? (value as Date) : typeof value === "string" ? new Date(value) : undefined;
    if (!d || Number.isNaN(d.getTime())) return fail(ctx, type, value, d ? "not a valid date" : undefined);
    return { kind: "datetime", value: d.toISOString() };
  },
  (literal) => new Date(literal.value),
);

/** ISO-8601 with an explicit zone (Z or ±hh:mm), or a bare date (which ISO reads as UTC). */
const ISO_DATETIME = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2}))?$/;

/** Dates from another vm context (a notebook cell) fail `instanceof Date`. */
function isForeignDate(value: unknown): boolean {
  return Object.prototype.toString.call(value) === "[object Date]";
}

const durationConverter = scalar(
  "duration",
  (value, type, ctx) =>
    typeof value === "number" && Number.isFinite(value) ? { kind: "duration", value } : fail(ctx, type, value),
  (literal) => literal.value,
);

const noneConverter = scalar(
  "none",
  (value, type, ctx) => (value === null || value === undefined ? { kind: "none" } : fail(ctx, type, value)),
  () => null,
);

const jsonConverter = scalar(
  "json",
  (value, type, ctx) => {
    const problem = jsonProblem(value, "$", new Set());
    if (problem) return fail(ctx, type, value, problem);
    // A deep copy: the literal must not share structure with the task's objects.
    return { kind: "json", value: JSON.parse(JSON.stringify(value)) as unknown };
  },
  (literal) => structuredClone(literal.value),
);

function jsonProblem(value: unknown, path: string, seen: Set<object>): string | undefined {
  switch (typeof value) {
    case "string":
    case "boolean":
      return undefined;
    case "number":
      return Number.isFinite(value) ? undefined : `${path} is ${value}, which JSON cannot hold`;
    case "object": {
      if (value === null) return undefined;
      if (seen.has(value)) return `${path} is a circular reference`;
      seen.add(value);
      const proto = Object.getPrototypeOf(value) as unknown;
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) {
          const p = jsonProblem(value[i], `${path}[${i}]`, seen);
          if (p) return p;
        }
      } else if (proto === Object.prototype || proto === null || isPlainForeign(value)) {
        for (const [k, v] of Object.entries(value)) {
          const p = jsonProblem(v, `${path}.${k}`, seen);
          if (p) return p;
        }
      } else {
        return `${path} is ${describeValue(value)}, not plain JSON`;
      }
      seen.delete(value);
      return undefined;
    }
    default:
      return `${path} is ${describeValue(value)}, not JSON`;
  }
}

function isPlainForeign(value: object): boolean {
  return Object.prototype.toString.call(value) === "[object Object]" && value.constructor?.name === "Object";
}

const enumConverter: Converter = {
  name: "enum",
  matches: (type) => type.kind === "enum",
  toLiteral(value, type, ctx) {
    const values = (type as { values: string[] }).values;
    if (typeof value !== "string" || !values.includes(value)) return fail(ctx, type, value);
    return { kind: "string", value };
  },
  toValue(literal, type, ctx) {
    const values = (type as { values: string[] }).values;
    if (literal.kind !== "string" || !values.includes(literal.value)) return badLiteral(ctx, type, literal);
    return literal.value;
  },
};

const listConverter: Converter = {
  name: "list",
  matches: (type) => type.kind === "list",
  toLiteral(value, type, ctx, engine) {
    if (!Array.isArray(value)) return fail(ctx, type, value);
    const items = (type as { items: LiteralType }).items;
    return {
      kind: "list",
      items: value.map((v, i) => engine.toLiteral(v, items, { ...ctx, where: `${ctx.where}[${i}]`, hints: ctx.hints?.items })),
    };
  },
  toValue(literal, type, ctx, engine) {
    if (literal.kind !== "list") return badLiteral(ctx, type, literal);
    const items = (type as { items: LiteralType }).items;
    return literal.items.map((l, i) => engine.toValue(l, items, { ...ctx, where: `${ctx.where}[${i}]`, hints: ctx.hints?.items }));
  },
};

const mapConverter: Converter = {
  name: "map",
  matches: (type) => type.kind === "map",
  toLiteral(value, type, ctx, engine) {
    const entries =
      value instanceof Map ? [...value.entries()] : isRecord(value) ? Object.entries(value) : fail(ctx, type, value);
    const values = (type as { values: LiteralType }).values;
    const out: [string, Literal][] = [];
    for (const [k, v] of entries) {
      if (typeof k !== "string") return fail(ctx, type, value, `key ${describeValue(k)} is not a string`);
      out.push([k, engine.toLiteral(v, values, { ...ctx, where: `${ctx.where}[${JSON.stringify(k)}]`, hints: ctx.hints?.values })]);
    }
    // fromEntries defines own properties, so a "__proto__" key stays a key.
    return { kind: "map", entries: Object.fromEntries(out) };
  },
  toValue(literal, type, ctx, engine) {
    if (literal.kind !== "map") return badLiteral(ctx, type, literal);
    const values = (type as { values: LiteralType }).values;
    return Object.fromEntries(
      Object.entries(literal.entries).map(([k, v]) => [
        k,
        engine.toValue(v, values, { ...ctx, where: `${ctx.where}[${JSON.stringify(k)}]`, hints: ctx.hints?.values }),
      ]),
    );
  },
};

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

const structConverter: Converter = {
  name: "struct",
  matches: (type) => type.kind === "struct",
  toLiteral(value, type, ctx, engine) {
    if (!isRecord(value) || value instanceof Date || isArrowTable(value) || isDanfoDataFrame(value)) {
      return fail(ctx, type, value);
    }
    const fields = (type as { fields: Record<string, LiteralType> }).fields;
    for (const k of Object.keys(value)) {
      if (!(k in fields) && value[k] !== undefined) return fail(ctx, type, value, `unknown field ${JSON.stringify(k)}`);
    }
    const out: Record<string, Literal> = {};
    for (const [k, ft] of Object.entries(fields)) {
      out[k] = engine.toLiteral(value[k], ft, { ...ctx, where: `${ctx.where}.${k}`, hints: ctx.hints?.fields?.[k] });
    }
    return { kind: "map", entries: out };
  },
  toValue(literal, type, ctx, engine) {
    if (literal.kind !== "map") return badLiteral(ctx, type, literal);
    const fields = (type as { fields: Record<string, LiteralType> }).fields;
    const out: Record<string, unknown> = {};
    for (const [k, ft] of Object.entries(fields)) {
      const field = literal.entries[k];
      if (!field) {
        throw new TypeMismatchError(`${ctx.where}.${k}`, typeToString(ft), "nothing (missing field)");
      }
      out[k] = engine.toValue(field, ft, { ...ctx, where: `${ctx.where}.${k}`, hints: ctx.hints?.fields?.[k] });
    }
    return out;
  },
};

const optionalConverter: Converter = {
  name: "optional",
  matches: (type) => type.kind === "optional",
  toLiteral(value, type, ctx, engine) {
    if (value === null || value === undefined) return { kind: "none" };
    return engine.toLiteral(value, (type as { type: LiteralType }).type, ctx);
  },
  toValue(literal, type, ctx, engine) {
    if (literal.kind === "none") return null;
    return engine.toValue(literal, (type as { type: LiteralType }).type, ctx);
  },
};

const unionConverter: Converter = {
  name: "union",
  matches: (type) => type.kind === "union",
  toLiteral(value, type, ctx, engine) {
    const variants = (type as { variants: LiteralType[] }).variants;
    for (let i = 0; i < variants.length; i++) {
      try {
        return { kind: "union", variant: i, value: engine.toLiteral(value, variants[i]!, { ...ctx, hints: ctx.hints?.variants?.[i] }) };
      } catch {
        // Try the next variant.
      }
    }
    return fail(ctx, type, value, "it fits none of the variants");
  },
  toValue(literal, type, ctx, engine) {
    const variants = (type as { variants: LiteralType[] }).variants;
    if (literal.kind !== "union" || !variants[literal.variant]) return badLiteral(ctx, type, literal);
    return engine.toValue(literal.value, variants[literal.variant]!, { ...ctx, hints: ctx.hints?.variants?.[literal.variant] });
  },
};

const dataframeConverter: Converter = {
  name: "dataframe",
  matches: (type) => type.kind === "dataframe",
  toLiteral(value, type, ctx) {
    if (!isArrowTable(value) && !isDanfoDataFrame(value)) return fail(ctx, type, value);
    const bytes = encodeIPC(value);
    const columns = (type as { columns?: { name: string; kind: "int" }[] }).columns;
    if (columns) checkSchema(decodeIPC(bytes), columns, ctx.where);
    return { kind: "blob", blob: ctx.blobs.put(bytes, "arrow") };
  },
  toValue(literal, type, ctx) {
    if (literal.kind !== "blob" || literal.blob.format !== "arrow") return badLiteral(ctx, type, literal);
    const table = decodeIPC(ctx.blobs.get(literal.blob));
    const columns = (type as { columns?: { name: string; kind: "int" }[] }).columns;
    if (columns) checkSchema(table, columns, ctx.where);
    return ctx.hints?.dataframe === "arrow" ? table : tableToDanfo(table);
  },
};

const fileConverter: Converter = {
  name: "file",
  matches: (type) => type.kind === "file",
  toLiteral(value, type, ctx) {
    if (typeof value !== "string") return fail(ctx, type, value, "a file is passed as a path");
    let bytes: Uint8Array;
    try {
      bytes = readFileSync(value);
    } catch (e) {
      return fail(ctx, type, value, `cannot read the file: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    return { kind: "blob", blob: ctx.blobs.put(bytes, "file", basename(value)) };
  },
  toValue(literal, type, ctx) {
    if (literal.kind !== "blob" || literal.blob.format !== "file") return badLiteral(ctx, type, literal);
    return materialize(ctx, literal.blob.hash, literal.blob.filename ?? "file", () => ctx.blobs.get(literal.blob));
  },
};

/** A directory travels as a manifest blob listing its files' blobs. */
interface DirManifest {
  files: { path: string; hash: string; size: number }[];
}

const dirConverter: Converter = {
  name: "dir",
  matches: (type) => type.kind === "dir",
  toLiteral(value, type, ctx) {
    if (typeof value !== "string") return fail(ctx, type, value, "a directory is passed as a path");
    let files: string[];
    try {
      files = walk(value);
    } catch (e) {
      return fail(ctx, type, value, `cannot read the directory: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    const manifest: DirManifest = {
      files: files.sort().map((f) => {
        const ref = ctx.blobs.put(readFileSync(f), "file", basename(f));
        return { path: relative(value, f).split(sep).join("/"), hash: ref.hash, size: ref.size };
      }),
    };
    const bytes = new TextEncoder().encode(JSON.stringify(manifest));
    return { kind: "blob", blob: ctx.blobs.put(bytes, "dir", basename(value)) };
  },
  toValue(literal, type, ctx) {
    if (literal.kind !== "blob" || literal.blob.format !== "dir") return badLiteral(ctx, type, literal);
    const root = join(ctx.blobs.workDir, literal.blob.hash.replace(":", "-"), safeName(literal.blob.filename, "dir", ctx));
    let manifest: DirManifest;
    try {
      manifest = JSON.parse(new TextDecoder().decode(ctx.blobs.get(literal.blob))) as DirManifest;
    } catch (e) {
      if (isPetrelError(e)) throw e;
      throw new TypeMismatchError(ctx.where, "a directory manifest", "unreadable bytes");
    }
    for (const f of manifest.files) {
      const segments = f.path.split("/");
      if (segments.some((s) => s === "" || s === "." || s === "..") || f.path.includes("\\")) {
        throw new TypeMismatchError(ctx.where, "a directory manifest with relative paths", `path ${JSON.stringify(f.path)}`);
      }
      writeVerified(join(root, ...segments), f.hash, () => ctx.blobs.get({ hash: f.hash, size: f.size, format: "file" }));
    }
    mkdirSync(root, { recursive: true });
    return root;
  },
};

function walk(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir)) {
    const p = join(dir, entry);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else out.push(p);
  }
  return out;
}

function materialize(ctx: ConversionContext, hash: string, filename: string, bytes: () => Uint8Array): string {
  const target = join(ctx.blobs.workDir, hash.replace(":", "-"), safeName(filename, "file", ctx));
  writeVerified(target, hash, bytes);
  return target;
}

/**
 * Writes content-addressed bytes to `target`, reusing an existing copy only if it
 * still has the right content: a task that edited the file it was given must not
 * change what the next reader of that content sees.
 */
function writeVerified(target: string, hash: string, bytes: () => Uint8Array): void {
  if (existsSync(target) && sha256(readFileSync(target)) === hash) return;
  mkdirSync(dirname(target), { recursive: true });
  writeFileSync(target, bytes());
}

/** A file name from a literal, as a single path segment: never `..`, a separator or empty. */
function safeName(name: string | undefined, fallback: string, ctx: ConversionContext): string {
  if (name === undefined) return fallback;
  if (name === "" || name === "." || name === ".." || /[/\\\0]/.test(name)) {
    throw new TypeMismatchError(ctx.where, "a plain file name", JSON.stringify(name));
  }
  return name;
}

/** The built-in converters, one per LiteralType kind. */
export const BUILTIN_CONVERTERS: readonly Converter[] = [
  intConverter,
  floatConverter,
  stringConverter,
  boolConverter,
  datetimeConverter,
  durationConverter,
  noneConverter,
  jsonConverter,
  enumConverter,
  listConverter,
  mapConverter,
  structConverter,
  optionalConverter,
  unionConverter,
  dataframeConverter,
  fileConverter,
  dirConverter,
];

/** A type engine with the built-in converters. */
export function createTypeEngine(...custom: Converter[]): TypeEngine {
  return new TypeEngine(BUILTIN_CONVERTERS, custom);
}
