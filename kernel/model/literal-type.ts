/**
 * LiteralType: the language-neutral description of a value's type. Every task
 * and workflow interface is made of these; the backend checks bindings with them.
 */

/** Scalar kinds that carry no parameters. */
export const SCALAR_KINDS = ["int", "float", "string", "bool", "datetime", "duration", "json", "none"] as const;
/** One of the parameterless scalar kinds. */
export type ScalarKind = (typeof SCALAR_KINDS)[number];

/** Column kinds a DataFrame schema may declare. */
export const COLUMN_KINDS = ["int", "float", "string", "bool", "datetime"] as const;
/** One DataFrame column kind. */
export type ColumnKind = (typeof COLUMN_KINDS)[number];

/** A declared DataFrame column. */
export interface ColumnType {
  name: string;
  kind: ColumnKind;
}

/** The type of a value that flows between nodes. */
export type LiteralType =
  | { kind: ScalarKind }
  | { kind: "struct"; fields: Record<string, LiteralType> }
  | { kind: "list"; items: LiteralType }
  | { kind: "map"; values: LiteralType }
  | { kind: "enum"; values: string[] }
  | { kind: "optional"; type: LiteralType }
  | { kind: "union"; variants: LiteralType[] }
  | { kind: "dataframe"; columns?: ColumnType[] }
  | { kind: "file"; format?: string }
  | { kind: "dir" };

/** Renders a type the way error messages and the console show it, e.g. `list<int>`. */
export function typeToString(type: LiteralType): string {
  switch (type.kind) {
    case "struct":
      return `struct{${Object.entries(type.fields)
        .map(([k, v]) => `${k}: ${typeToString(v)}`)
        .join(", ")}}`;
    case "list":
      return `list<${typeToString(type.items)}>`;
    case "map":
      return `map<string, ${typeToString(type.values)}>`;
    case "enum":
      return `enum(${type.values.map((v) => JSON.stringify(v)).join(" | ")})`;
    case "optional":
      return type.type.kind === "union" ? `(${typeToString(type.type)})?` : `${typeToString(type.type)}?`;
    case "union":
      return type.variants.map(typeToString).join(" | ");
    case "dataframe":
      return type.columns ? `dataframe{${type.columns.map((c) => `${c.name}: ${c.kind}`).join(", ")}}` : "dataframe";
    case "file":
      return type.format ? `file(${type.format})` : "file";
    default:
      return type.kind;
  }
}

/** Structural equality of two types (field order of structs does not matter). */
export function typesEqual(a: LiteralType, b: LiteralType): boolean {
  if (a === b) return true;
  if (a.kind !== b.kind) return false;
  if ((SCALAR_KINDS as readonly string[]).includes(a.kind)) return true;
  return canonicalTypeJSON(a) === canonicalTypeJSON(b);
}

/** A canonical JSON rendering of a type: keys sorted, so equal types give equal strings. */
export function canonicalTypeJSON(type: LiteralType): string {
  return stableStringify(type);
}

/**
 * Whether a value of type `from` may be bound where `to` is declared. Strict like
 * Flyte: no numeric widening, but a T fits T?, a union containing T, json accepts
 * any JSON-shaped type, and a DataFrame with a declared schema fits one whose
 * declared columns are a subset (or that declares none).
 */
export function isAssignable(from: LiteralType, to: LiteralType): boolean {
  if (typesEqual(from, to)) return true;
  if (from.kind === "union") return from.variants.every((v) => isAssignable(v, to));
  if (from.kind === "optional" && to.kind !== "optional") {
    return isAssignable({ kind: "none" }, to) && isAssignable(from.type, to);
  }
  switch (to.kind) {
    case "optional":
      return from.kind === "none" || isAssignable(from.kind === "optional" ? from.type : from, to.type);
    case "union":
      return to.variants.some((w) => isAssignable(from, w));
    case "json":
      return isJSONShaped(from);
    case "list":
      return from.kind === "list" && isAssignable(from.items, to.items);
    case "map":
      return from.kind === "map" && isAssignable(from.values, to.values);
    case "struct":
      return (
        from.kind === "struct" &&
        Object.entries(to.fields).every(([k, t]) => Object.hasOwn(from.fields, k) && isAssignable(from.fields[k]!, t)) &&
        Object.keys(from.fields).every((k) => Object.hasOwn(to.fields, k))
      );
    case "enum":
      return from.kind === "enum" && from.values.every((v) => to.values.includes(v));
    case "dataframe": {
      if (from.kind !== "dataframe") return false;
      if (!to.columns) return true;
      if (!from.columns) return false;
      return to.columns.every((c) => from.columns!.some((f) => f.name === c.name && f.kind === c.kind));
    }
    case "file":
      return from.kind === "file" && (!to.format || from.format === to.format);
    default:
      return false;
  }
}

function isJSONShaped(t: LiteralType): boolean {
  switch (t.kind) {
    case "int":
    case "float":
    case "string":
    case "bool":
    case "json":
    case "none":
    case "enum":
      return true;
    case "list":
      return isJSONShaped(t.items);
    case "map":
      return isJSONShaped(t.values);
    case "struct":
      return Object.values(t.fields).every(isJSONShaped);
    case "optional":
      return isJSONShaped(t.type);
    case "union":
      return t.variants.every(isJSONShaped);
    default:
      return false;
  }
}

/** JSON.stringify with object keys sorted at every level: the basis of every content hash. */
export function stableStringify(value: unknown): string {
  if (value === null || typeof value !== "object") {
    return value === undefined ? "null" : JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(",")}]`;
  const keys = Object.keys(value).sort();
  const parts: string[] = [];
  for (const k of keys) {
    const v = (value as Record<string, unknown>)[k];
    if (v === undefined) continue;
    parts.push(`${JSON.stringify(k)}:${stableStringify(v)}`);
  }
  return `{${parts.join(",")}}`;
}
