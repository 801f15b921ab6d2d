// LiteralType rendering, equality and assignability, and the stable JSON that
// every content hash is built on.
import { isDeepStrictEqual } from "node:util";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  COLUMN_KINDS,
  SCALAR_KINDS,
  canonicalTypeJSON,
  isAssignable,
  stableStringify,
  typeToString,
  typesEqual,
  type LiteralType,
} from "../../kernel/model/index.js";

// ---- small builders, so the tables read like the types they build -------------

const int: LiteralType = { kind: "int" };
const float: LiteralType = { kind: "float" };
const str: LiteralType = { kind: "string" };
const bool: LiteralType = { kind: "bool" };
const none: LiteralType = { kind: "none" };
const json: LiteralType = { kind: "json" };
const datetime: LiteralType = { kind: "datetime" };
const duration: LiteralType = { kind: "duration" };
const dir: LiteralType = { kind: "dir" };
const list = (items: LiteralType): LiteralType => ({ kind: "list", items });
const map = (values: LiteralType): LiteralType => ({ kind: "map", values });
const opt = (type: LiteralType): LiteralType => ({ kind: "optional", type });
const union = (...variants: LiteralType[]): LiteralType => ({ kind: "union", variants });
const struct = (fields: Record<string, LiteralType>): LiteralType => ({ kind: "struct", fields });
const enumOf = (...values: string[]): LiteralType => ({ kind: "enum", values });
const file = (format?: string): LiteralType => (format ? { kind: "file", format } : { kind: "file" });
const df = (columns?: Record<string, (typeof COLUMN_KINDS)[number]>): LiteralType =>
  columns ? { kind: "dataframe", columns: Object.entries(columns).map(([name, kind]) => ({ name, kind })) } : { kind: "dataframe" };

// ---- generators --------------------------------------------------------------------

const fieldName = fc.string({ maxLength: 5 });
const { type: typeArb } = fc.letrec<{ type: LiteralType }>((tie) => ({
  type: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.constantFrom(...SCALAR_KINDS).map((kind): LiteralType => ({ kind })),
    fc.constantFrom(dir, file(), file("csv"), file("parquet"), df(), df({ a: "int" }), df({ a: "int", b: "string" })),
    fc.uniqueArray(fc.constantFrom("a", "b", "c"), { minLength: 1 }).map((values) => enumOf(...values)),
    fc.dictionary(fieldName, tie("type"), { maxKeys: 4 }).map(struct),
    tie("type").map(list),
    tie("type").map(map),
    tie("type").map(opt),
    fc.array(tie("type"), { minLength: 1, maxLength: 3 }).map((vs) => union(...vs)),
  ),
}));

/** A deterministic PRNG, so a shuffle is reproducible from fast-check's seed. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The same value with the keys of every object inserted in a shuffled order. */
function reorderKeys(value: unknown, random: () => number): unknown {
  if (Array.isArray(value)) return value.map((v) => reorderKeys(v, random));
  if (value === null || typeof value !== "object") return value;
  const entries = Object.entries(value);
  for (let i = entries.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [entries[i], entries[j]] = [entries[j]!, entries[i]!];
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of entries) Object.defineProperty(out, k, { value: reorderKeys(v, random), enumerable: true, writable: true, configurable: true });
  return out;
}

// ---- typeToString ----------------------------------------------------------------

describe("typeToString", () => {
  it.each<[LiteralType, string]>([
    [int, "int"],
    [none, "none"],
    [json, "json"],
    [datetime, "datetime"],
    [list(int), "list<int>"],
    [map(float), "map<string, float>"],
    [struct({ a: int, b: list(str) }), "struct{a: int, b: list<string>}"],
    [struct({}), "struct{}"],
    [enumOf("red", "green"), 'enum("red" | "green")'],
    [opt(int), "int?"],
    [union(int, str), "int | string"],
    [df(), "dataframe"],
    [df({ x: "int", y: "float" }), "dataframe{x: int, y: float}"],
    [file(), "file"],
    [file("csv"), "file(csv)"],
    [dir, "dir"],
    [list(map(opt(int))), "list<map<string, int?>>"],
  ])("%j renders as %s", (type, text) => {
    expect(typeToString(type)).toBe(text);
  });

  it("renders an optional union differently from a union with an optional member", () => {
    // (int | string)? and int | string? are different types; an error message naming
    // "expected int | string?" must say which one it means.
    expect(typeToString(opt(union(int, str)))).not.toBe(typeToString(union(int, opt(str))));
  });
});

// ---- typesEqual ------------------------------------------------------------------

describe("typesEqual", () => {
  it("is structural", () => {
    expect(typesEqual(list(opt(int)), list(opt(int)))).toBe(true);
    expect(typesEqual(list(int), list(float))).toBe(false);
    expect(typesEqual(int, opt(int))).toBe(false);
    expect(typesEqual(file("csv"), file())).toBe(false);
    expect(typesEqual(df({ a: "int" }), df())).toBe(false);
    expect(typesEqual(enumOf("a", "b"), enumOf("a", "b"))).toBe(true);
  });

  it("ignores the order of struct fields, at every depth", () => {
    const a = struct({ x: int, y: struct({ p: str, q: list(struct({ m: bool, n: none })) }) });
    const b = struct({ y: struct({ q: list(struct({ n: none, m: bool })), p: str }), x: int });
    expect(typesEqual(a, b)).toBe(true);
    expect(canonicalTypeJSON(a)).toBe(canonicalTypeJSON(b));
    expect(typesEqual(a, struct({ x: int, y: struct({ p: str }) }))).toBe(false);
  });

  it("is reflexive and symmetric, and blind to key order (generated types)", () => {
    fc.assert(
      fc.property(typeArb, typeArb, fc.integer(), (a, b, seed) => {
        expect(typesEqual(a, structuredClone(a))).toBe(true);
        expect(typesEqual(a, reorderKeys(a, mulberry32(seed)) as LiteralType)).toBe(true);
        expect(typesEqual(a, b)).toBe(typesEqual(b, a));
      }),
    );
  });
});

// ---- isAssignable ----------------------------------------------------------------

describe("isAssignable", () => {
  const yes = (from: LiteralType, to: LiteralType) =>
    expect(isAssignable(from, to), `${typeToString(from)} -> ${typeToString(to)}`).toBe(true);
  const no = (from: LiteralType, to: LiteralType) =>
    expect(isAssignable(from, to), `${typeToString(from)} -> ${typeToString(to)}`).toBe(false);

  it("a T fits T? and none fits T?, but not the other way round", () => {
    yes(int, opt(int));
    yes(none, opt(int));
    yes(opt(int), opt(int));
    yes(list(int), opt(list(opt(int))));
    no(opt(int), int);
    no(none, int);
    no(str, opt(int));
  });

  it("no numeric widening or other coercion", () => {
    no(int, float);
    no(float, int);
    no(int, str);
    no(bool, int);
    no(list(int), list(float));
    no(map(int), map(float));
    no(int, list(int));
    no(datetime, str);
    no(duration, int);
  });

  it("a T fits a union that contains T; a union fits one that covers all its variants", () => {
    yes(int, union(int, str));
    yes(str, union(int, str));
    yes(union(str, int), union(int, str));
    yes(union(int, str), union(int, str, bool));
    yes(int, union(opt(int), str));
    no(float, union(int, str));
    no(union(int, bool), union(int, str));
    no(union(int, str), int);
  });

  it("a union fits wherever each of its variants fits, so T | none and T? are interchangeable", () => {
    yes(union(int, none), opt(int));
    yes(union(none, str), opt(str));
    yes(opt(int), union(int, none));
    yes(opt(list(int)), union(none, list(int), str));
    no(union(int, none), int);
    no(opt(int), union(int, str));
  });

  it("json accepts JSON-shaped types only", () => {
    for (const t of [int, float, str, bool, none, json, enumOf("a"), list(int), map(opt(str)), struct({ a: list(bool) }), union(int, str), opt(json)]) {
      yes(t, json);
    }
    for (const t of [datetime, duration, dir, file(), df(), list(file()), struct({ d: df() }), union(int, dir), opt(datetime)]) {
      no(t, json);
    }
    no(json, int);
    no(json, struct({}));
  });

  it("a DataFrame fits one whose declared columns it has (a subset), or one that declares none", () => {
    yes(df({ a: "int", b: "float" }), df({ a: "int" }));
    yes(df({ b: "float", a: "int" }), df({ a: "int", b: "float" }));
    yes(df({ a: "int" }), df());
    yes(df(), df());
    no(df({ a: "int" }), df({ a: "int", b: "float" }));
    no(df({ a: "int" }), df({ a: "float" }));
    no(df(), df({ a: "int" }));
    no(df(), file());
  });

  it("a file fits an unformatted file or one of the same format", () => {
    yes(file("csv"), file());
    yes(file("csv"), file("csv"));
    yes(file(), file());
    no(file(), file("csv"));
    no(file("csv"), file("parquet"));
    no(dir, file());
    no(file(), dir);
  });

  it("structs need the same fields, each assignable, in any order", () => {
    yes(struct({ a: int, b: str }), struct({ b: str, a: int }));
    yes(struct({ a: int }), struct({ a: opt(int) }));
    no(struct({ a: int, b: int }), struct({ a: int }));
    no(struct({ a: int }), struct({ a: int, b: int }));
    no(struct({ a: int }), struct({ a: float }));
  });

  it("struct fields named like Object.prototype members are fields like any other", () => {
    // `k in fields` sees inherited members: a struct with a field "constructor" must not fit struct{}.
    no(struct({ constructor: int }), struct({}));
    no(struct({ toString: int }), struct({ valueOf: int }));
    no(struct({}), struct({ hasOwnProperty: opt(int) }));
  });

  it("enums fit enums with a superset of their values", () => {
    yes(enumOf("a"), enumOf("a", "b"));
    yes(enumOf("b", "a"), enumOf("a", "b"));
    no(enumOf("a", "c"), enumOf("a", "b"));
  });

  it("reflexive, T to T?, none to T?, T into a union with T (generated types)", () => {
    fc.assert(
      fc.property(typeArb, typeArb, (a, b) => {
        expect(isAssignable(a, a)).toBe(true);
        expect(isAssignable(a, structuredClone(a))).toBe(true);
        expect(isAssignable(a, opt(a))).toBe(true);
        expect(isAssignable(none, opt(a))).toBe(true);
        expect(isAssignable(a, union(b, a))).toBe(true);
      }),
    );
  });
});

/** Types that `t` should fit: itself, T?, unions holding it, json, an optional union. */
const supertypesOf = (t: LiteralType): fc.Arbitrary<LiteralType> =>
  fc.oneof(
    fc.constant(t),
    fc.constant(opt(t)),
    typeArb.map((x) => union(x, t)),
    typeArb.map((x) => union(t, x, none)),
    fc.constant(json),
    fc.constant(opt(union(t, int))),
  );

describe("isAssignable is transitive", () => {
  it("along generated chains a -> b -> c", () => {
    const chain = typeArb.chain((a) => supertypesOf(a).chain((b) => supertypesOf(b).map((c) => [a, b, c] as const)));
    fc.assert(
      fc.property(chain, ([a, b, c]) => {
        if (isAssignable(a, b) && isAssignable(b, c)) {
          expect(isAssignable(a, c), `${typeToString(a)} -> ${typeToString(b)} -> ${typeToString(c)}`).toBe(true);
        }
      }),
      { numRuns: 500 },
    );
  });
});

// ---- stableStringify --------------------------------------------------------------

describe("stableStringify", () => {
  it("sorts keys at every level and keeps array order", () => {
    expect(stableStringify({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: "x" } })).toBe('{"a":{"c":"x","d":[3,{"y":2,"z":1}]},"b":1}');
  });

  it("drops undefined fields, and writes undefined elsewhere as null, like JSON.stringify", () => {
    expect(stableStringify({ a: undefined, b: 1 })).toBe('{"b":1}');
    expect(stableStringify({ a: undefined, b: 1 })).toBe(stableStringify({ b: 1 }));
    expect(stableStringify({ a: { x: undefined } })).toBe('{"a":{}}');
    expect(stableStringify([1, undefined])).toBe("[1,null]");
    expect(stableStringify(undefined)).toBe("null");
  });

  it("writes scalars as JSON does", () => {
    for (const v of [null, true, 0, -1.5, 1e21, "a\"b\\c\n\u2028", NaN, Infinity]) expect(stableStringify(v)).toBe(JSON.stringify(v));
  });

  it("gives equal strings for any key order (generated JSON)", () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.integer(), (value, seed) => {
        expect(stableStringify(reorderKeys(value, mulberry32(seed)))).toBe(stableStringify(value));
      }),
    );
  });

  it("is valid JSON that parses back to the same value (generated JSON)", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        expect(JSON.parse(stableStringify(value))).toEqual(JSON.parse(JSON.stringify(value)));
      }),
    );
  });

  it("ignores fields whose value is undefined (generated objects)", () => {
    const withHoles = fc.dictionary(fc.string({ maxLength: 4 }), fc.option(fc.jsonValue({ maxDepth: 2 }), { nil: undefined }));
    fc.assert(
      fc.property(withHoles, (obj) => {
        const defined = Object.fromEntries(Object.entries(obj).filter(([, v]) => v !== undefined));
        expect(stableStringify(obj)).toBe(stableStringify(defined));
        expect(stableStringify({ nested: [obj] })).toBe(stableStringify({ nested: [defined] }));
      }),
    );
  });

  it("gives equal strings exactly for deeply equal values (generated JSON)", () => {
    const asJSON = (v: unknown): unknown => JSON.parse(JSON.stringify(v));
    const pair = fc.oneof(
      fc.tuple(fc.jsonValue(), fc.jsonValue()),
      fc.jsonValue().chain((v) => fc.integer().map((seed) => [v, reorderKeys(v, mulberry32(seed))] as const)),
    );
    fc.assert(
      fc.property(pair, ([a, b]) => {
        expect(stableStringify(a) === stableStringify(b)).toBe(isDeepStrictEqual(asJSON(a), asJSON(b)));
      }),
    );
  });
});
