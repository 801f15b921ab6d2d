/**
 * The server's check that a literal fits a declared type: what the backend
 * applies to execution inputs, launch plan defaults and written outputs before
 * storing them. Strict like the type engine: no numeric widening, unions tagged
 * with their variant, structs with exactly their fields, DataFrames, files and
 * directories as blob references of the matching format.
 */
import { typeToString, type Literal, type LiteralType } from "../../kernel/index.js";

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** Why `literal` does not fit `type` (naming the sub-path under `path`), or undefined when it does. */
export function literalProblem(literal: Literal, type: LiteralType, path: string): string | undefined {
  const mismatch = () => `${path}: expected ${typeToString(type)}, got a ${literal.kind} literal`;
  switch (type.kind) {
    case "int":
      if (literal.kind !== "int") return mismatch();
      return BigInt(literal.value) < INT64_MIN || BigInt(literal.value) > INT64_MAX ? `${path}: ${literal.value} is outside int64` : undefined;
    case "float":
    case "string":
    case "bool":
    case "datetime":
    case "duration":
    case "none":
    case "json":
      return literal.kind === type.kind ? undefined : mismatch();
    case "enum":
      if (literal.kind !== "string") return mismatch();
      return type.values.includes(literal.value) ? undefined : `${path}: ${JSON.stringify(literal.value)} is not one of ${type.values.map((v) => JSON.stringify(v)).join(", ")}`;
    case "list":
      if (literal.kind !== "list") return mismatch();
      for (let i = 0; i < literal.items.length; i++) {
        const p = literalProblem(literal.items[i]!, type.items, `${path}[${i}]`);
        if (p) return p;
      }
      return undefined;
    case "map":
      if (literal.kind !== "map") return mismatch();
      for (const [k, v] of Object.entries(literal.entries)) {
        const p = literalProblem(v, type.values, `${path}.${k}`);
        if (p) return p;
      }
      return undefined;
    case "struct": {
      if (literal.kind !== "map") return mismatch();
      for (const k of Object.keys(literal.entries)) {
        if (!Object.hasOwn(type.fields, k)) return `${path}.${k}: unknown field (fields: ${Object.keys(type.fields).join(", ") || "none"})`;
      }
      for (const [k, t] of Object.entries(type.fields)) {
        const v = literal.entries[k];
        if (!v) {
          if (t.kind === "optional") continue;
          return `${path}.${k}: missing field of type ${typeToString(t)}`;
        }
        const p = literalProblem(v, t, `${path}.${k}`);
        if (p) return p;
      }
      return undefined;
    }
    case "optional":
      return literal.kind === "none" ? undefined : literalProblem(literal, type.type, path);
    case "union": {
      if (literal.kind !== "union") return `${path}: expected ${typeToString(type)} as a union literal {kind: "union", variant, value}, got a ${literal.kind} literal`;
      const variant = type.variants[literal.variant];
      if (!variant) return `${path}: variant ${literal.variant} does not exist (${type.variants.length} variants)`;
      return literalProblem(literal.value, variant, `${path}`);
    }
    case "dataframe":
    case "file":
    case "dir": {
      if (literal.kind !== "blob") return mismatch();
      const format = type.kind === "dataframe" ? "arrow" : type.kind;
      return literal.blob.format === format ? undefined : `${path}: expected a blob of format ${format}, got ${literal.blob.format}`;
    }
  }
}
