/** Adapting a literal produced as one type to where another, assignable type is declared. */
import { isAssignable, typesEqual, type Literal, type LiteralType } from "../model/index.js";

/**
 * A literal of type `from` made to fit `to` (which `from` is assignable to): values
 * bound into a union are tagged with the first variant that accepts them; optionals
 * pass through. Compile-time checks guarantee assignability, so this only re-tags.
 */
export function adaptLiteral(literal: Literal, from: LiteralType, to: LiteralType): Literal {
  if (typesEqual(from, to)) return literal;
  switch (to.kind) {
    case "optional":
      if (literal.kind === "none") return literal;
      return adaptLiteral(literal, from.kind === "optional" ? from.type : from, to.type);
    case "union": {
      if (literal.kind === "union" && from.kind === "union") {
        const variant = from.variants[literal.variant];
        if (variant) return adaptLiteral(literal.value, variant, to);
      }
      const i = to.variants.findIndex((v) => isAssignable(from, v));
      return i < 0 ? literal : { kind: "union", variant: i, value: adaptLiteral(literal, from, to.variants[i]!) };
    }
    case "list":
      return literal.kind === "list" && from.kind === "list"
        ? { kind: "list", items: literal.items.map((l) => adaptLiteral(l, from.items, to.items)) }
        : literal;
    case "map":
      return literal.kind === "map" && from.kind === "map"
        ? {
            kind: "map",
            entries: Object.fromEntries(
              Object.entries(literal.entries).map(([k, l]) => [k, adaptLiteral(l, from.values, to.values)]),
            ),
          }
        : literal;
    case "struct":
      return literal.kind === "map" && from.kind === "struct"
        ? {
            kind: "map",
            entries: Object.fromEntries(
              Object.entries(literal.entries).map(([k, l]) => [
                k,
                from.fields[k] && to.fields[k] ? adaptLiteral(l, from.fields[k], to.fields[k]) : l,
              ]),
            ),
          }
        : literal;
    case "json":
      return literal.kind === "json" ? literal : { kind: "json", value: plainJSON(literal) };
    default:
      return literal;
  }
}

/** The plain JSON form of a JSON-shaped literal. */
function plainJSON(literal: Literal): unknown {
  switch (literal.kind) {
    case "int":
      return Number(literal.value);
    case "float":
    case "string":
    case "bool":
    case "json":
    case "datetime":
    case "duration":
      return literal.value;
    case "none":
      return null;
    case "list":
      return literal.items.map(plainJSON);
    case "map":
      return Object.fromEntries(Object.entries(literal.entries).map(([k, v]) => [k, plainJSON(v)]));
    case "union":
      return plainJSON(literal.value);
    case "blob":
      return literal.blob;
  }
}
