// The type engine through the `t` builders: every builder's values go to a
// Literal, over the wire (JSON), and back; wrong values are refused with a
// TypeMismatchError naming where they were; literal hashes follow content only.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join, relative, resolve, sep } from "node:path";
import { Ajv2020 } from "ajv/dist/2020.js";
import { tableFromArrays, type Table } from "apache-arrow";
import { DataFrame } from "danfojs-node";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  MODEL_SCHEMA,
  createMemoryBlobStore,
  createTypeEngine,
  isArrowTable,
  isBlobNotFoundError,
  isDanfoDataFrame,
  isDataFrameError,
  isTypeMismatchError,
  literalHash,
  modelSchemaRef,
  sha256,
  t,
  task,
  type AnyType,
  type BlobAccess,
  type ConversionContext,
  type Literal,
  type LiteralType,
} from "../../kernel/index.js";

const engine = createTypeEngine();
const validLiteral = new Ajv2020({ allErrors: true }).addSchema(MODEL_SCHEMA).getSchema(modelSchemaRef("Literal"))!;

let root: string;
let blobs: BlobAccess;

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), "petrel-engine-test-"));
  blobs = createMemoryBlobStore(join(root, "work"));
});

afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

/** A conversion context for a type, with the DataFrame format its hints ask for. */
function ctxFor(type: AnyType, where = "input x of node n"): ConversionContext {
  return { blobs, where, hints: type.hints };
}

/** The literal of a value, as it arrives after a trip through JSON (how literals travel). */
function toWire(value: unknown, type: AnyType): Literal {
  const literal = engine.toLiteral(value, type.literalType, ctxFor(type));
  const wire = JSON.parse(JSON.stringify(literal)) as Literal;
  expect(wire).toStrictEqual(literal);
  expect(validLiteral(wire), JSON.stringify(validLiteral.errors)).toBe(true);
  return wire;
}

/** value -> literal -> JSON -> literal -> value. */
function roundTrip(value: unknown, type: AnyType): unknown {
  return engine.toValue(toWire(value, type), type.literalType, ctxFor(type));
}

/** The TypeMismatchError thrown by converting `value`, for asserting on its message. */
function mismatch(value: unknown, type: AnyType | LiteralType, where = "input x of node n"): Error & { code: string } {
  const literalType = "literalType" in type ? type.literalType : type;
  try {
    engine.toLiteral(value, literalType, { blobs, where });
  } catch (e) {
    expect(isTypeMismatchError(e), String(e)).toBe(true);
    return e as Error & { code: string };
  }
  throw new Error(`${String(value)} was accepted as ${JSON.stringify(literalType)}`);
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

describe("t.int", () => {
  it("round trips every safe integer as the same number", () => {
    fc.assert(
      fc.property(fc.maxSafeInteger(), (n) => {
        expect(roundTrip(n, t.int())).toBe(n);
      }),
    );
  });

  it("round trips every int64 bigint, as a number when it is safe and as a bigint beyond 2^53", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: INT64_MIN, max: INT64_MAX }), (n) => {
        const back = roundTrip(n, t.int());
        expect(BigInt(back as number | bigint)).toBe(n);
        expect(typeof back).toBe(Number.isSafeInteger(Number(n)) && BigInt(Number(n)) === n ? "number" : "bigint");
      }),
    );
  });

  it("keeps the int64 extremes exact as decimal strings", () => {
    expect(toWire(INT64_MAX, t.int())).toEqual({ kind: "int", value: "9223372036854775807" });
    expect(toWire(INT64_MIN, t.int())).toEqual({ kind: "int", value: "-9223372036854775808" });
    expect(roundTrip(INT64_MAX, t.int())).toBe(INT64_MAX);
  });

  it("rejects numbers beyond 2^53, asking for a bigint", () => {
    fc.assert(
      fc.property(
        fc.double({ noNaN: true, noDefaultInfinity: true }).filter((x) => Number.isInteger(x) && !Number.isSafeInteger(x)),
        (x) => {
          expect(mismatch(x, t.int()).message).toContain("beyond 2^53; pass a bigint to keep precision");
        },
      ),
    );
    expect(mismatch(2 ** 53, t.int()).message).toBe(
      "input x of node n: expected int, got 9007199254740992 (number) (beyond 2^53; pass a bigint to keep precision)",
    );
  });

  it("rejects fractions, NaN, bigints outside int64 and non-numbers", () => {
    expect(mismatch(1.5, t.int()).message).toBe("input x of node n: expected int, got 1.5 (number) (not an integer)");
    expect(mismatch(Number.NaN, t.int()).message).toBe("input x of node n: expected int, got NaN (NaN is not an integer)");
    expect(mismatch(INT64_MAX + 1n, t.int()).message).toBe(
      "input x of node n: expected int, got 9223372036854775808n (bigint) (outside the int64 range)",
    );
    expect(mismatch(INT64_MIN - 1n, t.int()).message).toContain("outside the int64 range");
    expect(mismatch("5", t.int()).message).toBe('input x of node n: expected int, got "5" (string)');
    expect(mismatch("5", t.int()).code).toBe("TYPE_MISMATCH");
  });
});

describe("t.float", () => {
  it("round trips every double, NaN and infinities included, in memory", () => {
    fc.assert(
      fc.property(fc.double(), (x) => {
        const literal = engine.toLiteral(x, t.float().literalType, ctxFor(t.float()));
        expect(engine.toValue(literal, t.float().literalType, ctxFor(t.float()))).toBe(x);
      }),
    );
  });

  it("round trips every double over the wire", () => {
    // JSON has no -0: a float literal holding -0 arrives as 0 (see the report on float literals).
    fc.assert(
      fc.property(
        fc.double().filter((x) => !Object.is(x, -0)),
        (x) => {
          expect(roundTrip(x, t.float())).toBe(x);
        },
      ),
    );
  });

  it("writes NaN and the infinities as strings JSON can hold", () => {
    expect(toWire(Number.NaN, t.float())).toEqual({ kind: "float", value: "NaN" });
    expect(toWire(Infinity, t.float())).toEqual({ kind: "float", value: "Infinity" });
    expect(toWire(-Infinity, t.float())).toEqual({ kind: "float", value: "-Infinity" });
    expect(roundTrip(-Infinity, t.float())).toBe(-Infinity);
  });

  it("rejects non-numbers", () => {
    expect(mismatch("1.5", t.float()).message).toBe('input x of node n: expected float, got "1.5" (string)');
    expect(mismatch(1n, t.float()).message).toBe("input x of node n: expected float, got 1n (bigint)");
  });
});

describe("t.string and t.bool", () => {
  it("round trips every string, lone surrogates included", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary" }), (s) => {
        expect(roundTrip(s, t.string())).toBe(s);
      }),
    );
  });

  it("round trips both booleans", () => {
    expect(roundTrip(true, t.bool())).toBe(true);
    expect(roundTrip(false, t.bool())).toBe(false);
  });

  it("rejects values of other kinds without coercing them", () => {
    expect(mismatch(1, t.string()).message).toBe("input x of node n: expected string, got 1 (number)");
    expect(mismatch(null, t.string()).message).toBe("input x of node n: expected string, got null");
    expect(mismatch("true", t.bool()).message).toBe('input x of node n: expected bool, got "true" (string)');
    expect(mismatch(0, t.bool()).message).toBe("input x of node n: expected bool, got 0 (number)");
  });
});

describe("t.datetime", () => {
  it("round trips every valid Date as a Date at the same millisecond", () => {
    fc.assert(
      fc.property(fc.date({ noInvalidDate: true }), (d) => {
        const back = roundTrip(d, t.datetime());
        expect(back).toBeInstanceOf(Date);
        expect((back as Date).getTime()).toBe(d.getTime());
      }),
    );
  });

  it("takes ISO-8601 strings and gives back Dates, stored in UTC", () => {
    expect(toWire("2024-03-10T12:30:00+02:00", t.datetime())).toEqual({ kind: "datetime", value: "2024-03-10T10:30:00.000Z" });
    const back = roundTrip("2024-03-10T10:30:00.123Z", t.datetime());
    expect(back).toEqual(new Date(Date.UTC(2024, 2, 10, 10, 30, 0, 123)));
  });

  it("rejects invalid dates and values that are not dates", () => {
    expect(mismatch(new Date(Number.NaN), t.datetime()).message).toBe(
      "input x of node n: expected datetime, got Date Invalid Date (not a valid date)",
    );
    expect(mismatch("not a date", t.datetime()).message).toBe(
      'input x of node n: expected datetime, got "not a date" (string) (strings must be ISO-8601 with a zone, e.g. 2026-01-31T12:00:00Z, or a date 2026-01-31)',
    );
    expect(mismatch(1_700_000_000_000, t.datetime()).message).toBe(
      "input x of node n: expected datetime, got 1700000000000 (number)",
    );
  });

  // BUG: the converter parses strings with `new Date(string)`, whose legacy
  // parser accepts almost anything with a number in it ("hello 1" is 2001-01-01).
  it("rejects strings that are not ISO-8601 instead of guessing a date from them", () => {
    for (const s of ["hello 1", "May 5", "1", "12/31"]) {
      expect(() => engine.toLiteral(s, t.datetime().literalType, { blobs, where: "w" }), s).toThrow(/expected datetime/);
    }
  });

  // BUG: an ISO string without an offset is read in the process's local time
  // zone, so a notebook and a pod in different zones make different literals
  // (and cache keys) from the same input.
  it("reads a datetime string the same way whatever the process's time zone is", () => {
    const saved = process.env.TZ;
    const under = (tz: string): unknown => {
      process.env.TZ = tz;
      try {
        return engine.toLiteral("2024-01-01T00:00:00", t.datetime().literalType, { blobs, where: "w" });
      } catch (e) {
        return isTypeMismatchError(e) ? "rejected" : e;
      }
    };
    try {
      expect(under("America/New_York")).toEqual(under("Asia/Tokyo"));
    } finally {
      if (saved === undefined) delete process.env.TZ;
      else process.env.TZ = saved;
    }
  });
});

describe("t.duration", () => {
  it("round trips finite milliseconds", () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }).filter((x) => !Object.is(x, -0)), (ms) => {
        expect(roundTrip(ms, t.duration())).toBe(ms);
      }),
    );
  });

  it("rejects NaN, infinities and duration strings", () => {
    expect(mismatch(Number.NaN, t.duration()).message).toBe("input x of node n: expected duration, got NaN");
    expect(mismatch(Infinity, t.duration()).message).toBe("input x of node n: expected duration, got Infinity (number)");
    expect(mismatch("10m", t.duration()).message).toBe('input x of node n: expected duration, got "10m" (string)');
  });
});

describe("t.json", () => {
  it("round trips every JSON value as its JSON form", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        expect(roundTrip(v, t.json())).toStrictEqual(JSON.parse(JSON.stringify(v)));
      }),
    );
  });

  it("copies values in both directions, so later mutation changes neither the literal nor other readers", () => {
    const value = { a: [1, 2], b: { c: "x" } };
    const literal = engine.toLiteral(value, t.json().literalType, ctxFor(t.json()));
    value.a.push(3);
    const first = engine.toValue(literal, t.json().literalType, ctxFor(t.json())) as typeof value;
    first.b.c = "changed";
    expect(engine.toValue(literal, t.json().literalType, ctxFor(t.json()))).toEqual({ a: [1, 2], b: { c: "x" } });
  });

  it("rejects functions, cycles, NaN, class instances and undefined, naming the path", () => {
    class Point {
      x = 1;
    }
    const cycle: Record<string, unknown> = { a: 1 };
    cycle.self = cycle;
    expect(mismatch(() => 1, t.json()).message).toBe("input x of node n: expected json, got a function ($ is a function, not JSON)");
    expect(mismatch({ a: [1, Number.NaN] }, t.json()).message).toBe(
      "input x of node n: expected json, got an object with keys {a} ($.a[1] is NaN, which JSON cannot hold)",
    );
    expect(mismatch(cycle, t.json()).message).toBe(
      "input x of node n: expected json, got an object with keys {a, self} ($.self is a circular reference)",
    );
    expect(mismatch({ p: new Point() }, t.json()).message).toBe(
      "input x of node n: expected json, got an object with keys {p} ($.p is a Point, not plain JSON)",
    );
    expect(mismatch(new Map(), t.json()).message).toContain("($ is a Map, not plain JSON)");
    expect(mismatch({ d: new Date(0) }, t.json()).message).toContain("$.d is Date 1970-01-01T00:00:00.000Z, not plain JSON");
    expect(mismatch({ u: undefined }, t.json()).message).toContain("$.u is undefined, not JSON");
    expect(mismatch(1n, t.json()).message).toContain("$ is 1n (bigint), not JSON");
  });

  it("accepts a shared (non-circular) object twice", () => {
    const shared = { k: 1 };
    expect(roundTrip({ a: shared, b: shared, c: [shared] }, t.json())).toEqual({ a: { k: 1 }, b: { k: 1 }, c: [{ k: 1 }] });
  });
});

describe("t.struct, t.list and t.map", () => {
  const point = t.struct({ x: t.float(), y: t.float(), label: t.optional(t.string()) });

  it("round trips structs, with an omitted optional field arriving as null", () => {
    expect(roundTrip({ x: 1, y: 2.5, label: "a" }, point)).toStrictEqual({ x: 1, y: 2.5, label: "a" });
    expect(roundTrip({ x: 1, y: 2 }, point)).toStrictEqual({ x: 1, y: 2, label: null });
    expect(toWire({ x: 1, y: 2 }, point)).toEqual({
      kind: "map",
      entries: { x: { kind: "float", value: 1 }, y: { kind: "float", value: 2 }, label: { kind: "none" } },
    });
  });

  it("rejects a struct with an unknown field, a missing field or a field of the wrong type, naming the field", () => {
    expect(mismatch({ x: 1, y: 2, z: 3 }, point).message).toBe(
      'input x of node n: expected struct{x: float, y: float, label: string?}, got an object with keys {x, y, z} (unknown field "z")',
    );
    expect(mismatch({ x: 1 }, point).message).toBe("input x of node n.y: expected float, got undefined");
    expect(mismatch({ x: 1, y: "2" }, point).message).toBe('input x of node n.y: expected float, got "2" (string)');
    expect(mismatch([1, 2], point).message).toBe(
      "input x of node n: expected struct{x: float, y: float, label: string?}, got an array of length 2",
    );
    expect(mismatch(new Date(0), point).message).toContain("got Date 1970-01-01T00:00:00.000Z");
  });

  it("round trips lists and names the index of a bad item", () => {
    expect(roundTrip([1, 2, 3], t.list(t.int()))).toStrictEqual([1, 2, 3]);
    expect(roundTrip([], t.list(t.int()))).toStrictEqual([]);
    expect(mismatch([1, "2"], t.list(t.int())).message).toBe('input x of node n[1]: expected int, got "2" (string)');
    expect(mismatch("abc", t.list(t.string())).message).toBe('input x of node n: expected list<string>, got "abc" (string)');
  });

  it("takes maps as plain objects or JS Maps and gives back plain objects", () => {
    expect(roundTrip({ a: 1, b: 2 }, t.map(t.int()))).toStrictEqual({ a: 1, b: 2 });
    expect(roundTrip(new Map([["a", 1], ["b", 2]]), t.map(t.int()))).toStrictEqual({ a: 1, b: 2 });
    expect(toWire(new Map([["a", 1]]), t.map(t.int()))).toEqual(toWire({ a: 1 }, t.map(t.int())));
  });

  it("rejects map keys that are not strings and values of the wrong type, naming the key", () => {
    expect(mismatch(new Map([[1, 1]]), t.map(t.int())).message).toBe(
      "input x of node n: expected map<string, int>, got a Map (key 1 (number) is not a string)",
    );
    expect(mismatch({ a: "x" }, t.map(t.int())).message).toBe('input x of node n["a"]: expected int, got "x" (string)');
  });

  // BUG: the map converter assigns entries with `out[k] = ...` on a plain
  // object, so the key "__proto__" sets the prototype instead of an entry and
  // the value is silently lost (both in toLiteral and in toValue).
  it("keeps a map entry whose key is __proto__", () => {
    const value = JSON.parse('{"__proto__": 1, "a": 2}') as Record<string, number>;
    const literal = engine.toLiteral(value, t.map(t.int()).literalType, ctxFor(t.int()));
    expect(Object.keys((literal as { entries: object }).entries).sort()).toEqual(["__proto__", "a"]);
    const back = engine.toValue(
      { kind: "map", entries: JSON.parse('{"__proto__": {"kind": "int", "value": "1"}}') as Record<string, Literal> },
      t.map(t.int()).literalType,
      ctxFor(t.int()),
    );
    expect(Object.keys(back as object)).toEqual(["__proto__"]);
  });

  it("round trips nested lists, maps and structs of scalars", () => {
    type Shape =
      | { kind: "int" | "float" | "string" | "bool" }
      | { kind: "list"; items: Shape }
      | { kind: "map"; values: Shape }
      | { kind: "struct"; fields: [string, Shape][] };
    const { shape } = fc.letrec<{ shape: Shape }>((tie) => ({
      shape: fc.oneof(
        { depthSize: "small", withCrossShrink: true },
        fc.constantFrom("int", "float", "string", "bool").map((kind): Shape => ({ kind })),
        tie("shape").map((items): Shape => ({ kind: "list", items })),
        tie("shape").map((values): Shape => ({ kind: "map", values })),
        fc
          .uniqueArray(fc.tuple(fc.stringMatching(/^[a-z][a-z0-9_]{0,7}$/), tie("shape")), { selector: ([k]) => k, maxLength: 4 })
          .map((fields): Shape => ({ kind: "struct", fields })),
      ),
    }));
    const typeOf = (s: Shape): AnyType => {
      switch (s.kind) {
        case "int":
          return t.int();
        case "float":
          return t.float();
        case "string":
          return t.string();
        case "bool":
          return t.bool();
        case "list":
          return t.list(typeOf(s.items));
        case "map":
          return t.map(typeOf(s.values));
        case "struct":
          return t.struct(Object.fromEntries(s.fields.map(([k, f]) => [k, typeOf(f)])));
      }
    };
    // "__proto__" is left to its own test above; -0 becomes 0 on the wire.
    const key = fc.string().filter((k) => k !== "__proto__");
    const valueOf = (s: Shape): fc.Arbitrary<unknown> => {
      switch (s.kind) {
        case "int":
          return fc.maxSafeInteger();
        case "float":
          return fc.double().map((x) => (Object.is(x, -0) ? 0 : x));
        case "string":
          return fc.string();
        case "bool":
          return fc.boolean();
        case "list":
          return fc.array(valueOf(s.items), { maxLength: 4 });
        case "map":
          return fc.dictionary(key, valueOf(s.values), { maxKeys: 4, noNullPrototype: true });
        case "struct":
          return fc.record(Object.fromEntries(s.fields.map(([k, f]) => [k, valueOf(f)])));
      }
    };
    const sample = shape.chain((s) => valueOf(s).map((value) => ({ type: typeOf(s), value })));
    fc.assert(
      fc.property(sample, ({ type, value }) => {
        expect(roundTrip(value, type)).toEqual(value);
      }),
      { numRuns: 300 },
    );
  });
});

describe("t.enum, t.optional and t.union", () => {
  const level = t.enum(["low", "high"]);

  it("round trips enum members as string literals and rejects anything else", () => {
    expect(toWire("low", level)).toEqual({ kind: "string", value: "low" });
    expect(roundTrip("high", level)).toBe("high");
    expect(mismatch("medium", level).message).toBe('input x of node n: expected enum("low" | "high"), got "medium" (string)');
    expect(() => engine.toValue({ kind: "string", value: "medium" }, level.literalType, ctxFor(level))).toThrow(
      'input x of node n: expected a enum("low" | "high") literal, got a string literal',
    );
  });

  it("turns null and undefined into none, and none into null", () => {
    const maybe = t.optional(t.int());
    expect(toWire(null, maybe)).toEqual({ kind: "none" });
    expect(toWire(undefined, maybe)).toEqual({ kind: "none" });
    expect(roundTrip(undefined, maybe)).toBeNull();
    expect(roundTrip(7, maybe)).toBe(7);
    expect(mismatch("7", maybe).message).toBe('input x of node n: expected int, got "7" (string)');
  });

  it("tags a union value with the first variant that accepts it, in declaration order", () => {
    const numberFirst = t.union(t.float(), t.int(), t.string());
    const intFirst = t.union(t.int(), t.float(), t.string());
    expect(toWire(1, numberFirst)).toEqual({ kind: "union", variant: 0, value: { kind: "float", value: 1 } });
    expect(toWire(1, intFirst)).toEqual({ kind: "union", variant: 0, value: { kind: "int", value: "1" } });
    expect(toWire(1.5, intFirst)).toEqual({ kind: "union", variant: 1, value: { kind: "float", value: 1.5 } });
    expect(toWire("s", intFirst)).toEqual({ kind: "union", variant: 2, value: { kind: "string", value: "s" } });
    expect(roundTrip(1.5, intFirst)).toBe(1.5);
    expect(roundTrip("s", intFirst)).toBe("s");
  });

  it("rejects a value that fits no variant", () => {
    const e = mismatch(true, t.union(t.int(), t.string()));
    expect(e.message).toBe("input x of node n: expected int | string, got true (boolean) (it fits none of the variants)");
  });

  it("rejects a union literal whose variant index the type does not have", () => {
    const u = t.union(t.int(), t.string());
    expect(() => engine.toValue({ kind: "union", variant: 2, value: { kind: "int", value: "1" } }, u.literalType, ctxFor(u))).toThrow(
      "input x of node n: expected a int | string literal, got a union literal",
    );
  });
});

describe("t.dataframe", () => {
  const rows = { age: [31, 17, 45], name: ["ann", "bob", "cy"] };
  const danfo = () => new DataFrame(rows);
  const arrow = () => tableFromArrays({ age: Int32Array.from(rows.age), name: rows.name });

  it("takes a danfo DataFrame and gives back a danfo DataFrame with the same columns and values", () => {
    const back = roundTrip(danfo(), t.dataframe());
    expect(isDanfoDataFrame(back)).toBe(true);
    const df = back as DataFrame;
    expect(df.columns).toEqual(["age", "name"]);
    expect(df.values).toEqual([
      [31, "ann"],
      [17, "bob"],
      [45, "cy"],
    ]);
  });

  it("takes an Arrow Table and gives back an Arrow Table when the type says as: arrow", () => {
    const type = t.dataframe({ as: "arrow" });
    expect(type.hints).toEqual({ dataframe: "arrow" });
    const back = roundTrip(arrow(), type);
    expect(isArrowTable(back)).toBe(true);
    const table = back as Table;
    expect(table.numRows).toBe(3);
    expect(table.schema.fields.map((f) => f.name)).toEqual(["age", "name"]);
    expect([...table.getChild("age")!.toArray()].map(Number)).toEqual(rows.age);
    expect([...table.getChild("name")!.toArray()]).toEqual(rows.name);
  });

  it("stores equal data from danfo and from Arrow as one blob with one hash", () => {
    const fromDanfo = toWire(danfo(), t.dataframe());
    const fromArrow = toWire(arrow(), t.dataframe());
    expect(fromDanfo).toEqual(fromArrow);
    expect(fromDanfo).toMatchObject({ kind: "blob", blob: { format: "arrow" } });
    expect(literalHash(fromDanfo)).toBe(literalHash(fromArrow));
    expect(literalHash(toWire(new DataFrame({ age: [31, 17, 46], name: rows.name }), t.dataframe()))).not.toBe(literalHash(fromDanfo));
  });

  it("gives a danfo DataFrame from an Arrow Table and an Arrow Table from danfo, as the hints ask", () => {
    expect(isDanfoDataFrame(roundTrip(arrow(), t.dataframe()))).toBe(true);
    expect(isArrowTable(roundTrip(danfo(), t.dataframe({ as: "arrow" })))).toBe(true);
  });

  it("enforces declared columns on the way in, naming the column", () => {
    const typed = t.dataframe({ columns: { age: "int", name: "string" } });
    expect(isDanfoDataFrame(roundTrip(danfo(), typed))).toBe(true);
    const missing = t.dataframe({ columns: { salary: "float" } });
    const wrongKind = t.dataframe({ columns: { age: "string" } });
    const error = (type: AnyType): unknown => {
      try {
        engine.toLiteral(danfo(), type.literalType, ctxFor(type));
      } catch (e) {
        return e;
      }
      return undefined;
    };
    const e1 = error(missing);
    expect(isDataFrameError(e1)).toBe(true);
    expect(e1).toMatchObject({
      code: "DATAFRAME_SCHEMA",
      message: 'input x of node n: missing column "salary" (expected kind float); columns present: "age", "name"',
    });
    expect(error(wrongKind)).toMatchObject({
      code: "DATAFRAME_SCHEMA",
      message: 'input x of node n: column "age" has kind int, expected string',
    });
  });

  it("enforces declared columns on the way out, for a literal written without them", () => {
    const literal = toWire(danfo(), t.dataframe());
    const typed = t.dataframe({ columns: { score: "float" } });
    expect(() => engine.toValue(literal, typed.literalType, ctxFor(typed))).toThrow(/missing column "score"/);
  });

  it("rejects values that are not DataFrames, and blob literals of another format", () => {
    expect(mismatch({ age: [1] }, t.dataframe()).message).toBe("input x of node n: expected dataframe, got an object with keys {age}");
    expect(mismatch(danfo().column("age"), t.dataframe()).message).toContain("expected dataframe, got a Series");
    const file = { kind: "blob", blob: { hash: sha256("x"), size: 1, format: "file" } } as const;
    expect(() => engine.toValue(file, t.dataframe().literalType, ctxFor(t.dataframe()))).toThrow(
      "input x of node n: expected a dataframe literal, got a blob literal",
    );
  });

  it("fails with BlobNotFoundError when the store does not hold the bytes", () => {
    const literal = toWire(danfo(), t.dataframe());
    const empty = createMemoryBlobStore(join(root, "empty"));
    try {
      engine.toValue(literal, t.dataframe().literalType, { blobs: empty, where: "w" });
      expect.unreachable();
    } catch (e) {
      expect(isBlobNotFoundError(e)).toBe(true);
    }
  });

  // BUG: hints are one flat `{ dataframe }` per type, and t.struct/t.union merge
  // their members' hints with Object.assign, so the last member wins: here `a`
  // is typed as a danfo DataFrame but arrives as an Arrow Table.
  it("hands each DataFrame inside a struct over in the format its own type declares", async () => {
    const seen: string[] = [];
    const kindOf = (x: unknown) => (isDanfoDataFrame(x) ? "danfo" : isArrowTable(x) ? "arrow" : typeof x);
    const both = task(
      { name: "both-formats", inputs: { s: t.struct({ a: t.dataframe(), b: t.dataframe({ as: "arrow" }) }) }, outputs: {} },
      ({ s }) => {
        seen.push(`a=${kindOf(s.a)}`, `b=${kindOf(s.b)}`);
        return {};
      },
    );
    await both.run({ s: { a: danfo(), b: danfo() } }, { cache: false });
    expect(seen).toEqual(["a=danfo", "b=arrow"]);
  });
});

describe("t.file and t.dir", () => {
  function file(name: string, content: string | Uint8Array): string {
    const dir = mkdtempSync(join(root, "files-"));
    const path = join(dir, name);
    writeFileSync(path, content);
    return path;
  }

  function tree(dir: string): Record<string, string> {
    const out: Record<string, string> = {};
    const walk = (d: string) => {
      for (const entry of readdirSync(d)) {
        const p = join(d, entry);
        if (statSync(p).isDirectory()) walk(p);
        else out[relative(dir, p).split(sep).join("/")] = readFileSync(p, "utf8");
      }
    };
    walk(dir);
    return out;
  }

  it("stores a file by the sha256 of its bytes and materializes it with the same bytes and name", () => {
    const bytes = Uint8Array.from([0, 1, 2, 255, 10, 13]);
    const path = file("report.bin", bytes);
    const literal = toWire(path, t.file());
    expect(literal).toEqual({ kind: "blob", blob: { hash: sha256(bytes), size: 6, format: "file", filename: "report.bin" } });
    const back = roundTrip(path, t.file()) as string;
    expect(back).not.toBe(path);
    expect(basename(back)).toBe("report.bin");
    expect(resolve(back).startsWith(resolve(blobs.workDir))).toBe(true);
    expect(new Uint8Array(readFileSync(back))).toEqual(bytes);
  });

  it("gives one blob hash and one literal hash to equal bytes under different names", () => {
    const a = toWire(file("a.csv", "x,y\n1,2\n"), t.file());
    const b = toWire(file("b.csv", "x,y\n1,2\n"), t.file());
    const c = toWire(file("a.csv", "x,y\n1,3\n"), t.file());
    expect(a).not.toEqual(b); // the file names differ...
    expect(literalHash(a)).toBe(literalHash(b)); // ...but only content counts
    expect(literalHash(a)).not.toBe(literalHash(c));
  });

  it("rejects paths that cannot be read and values that are not paths", () => {
    expect(mismatch(join(root, "absent.txt"), t.file()).message).toMatch(/^input x of node n: expected file, got ".*" \(string\) \(cannot read the file: ENOENT\)$/);
    expect(mismatch(42, t.file()).message).toBe("input x of node n: expected file, got 42 (number) (a file is passed as a path)");
    expect(mismatch(42, t.dir()).message).toBe("input x of node n: expected dir, got 42 (number) (a directory is passed as a path)");
  });

  it("stores a directory by content and materializes every file, nested ones included, with the same bytes", () => {
    const dir = mkdtempSync(join(root, "dir-"));
    mkdirSync(join(dir, "sub", "deeper"), { recursive: true });
    writeFileSync(join(dir, "top.txt"), "top");
    writeFileSync(join(dir, "sub", "mid.txt"), "mid");
    writeFileSync(join(dir, "sub", "deeper", "low.txt"), "low");
    const literal = toWire(dir, t.dir());
    expect(literal).toMatchObject({ kind: "blob", blob: { format: "dir", filename: basename(dir) } });
    const back = roundTrip(dir, t.dir()) as string;
    expect(back).not.toBe(dir);
    expect(tree(back)).toEqual({ "top.txt": "top", "sub/mid.txt": "mid", "sub/deeper/low.txt": "low" });
  });

  it("hashes directories by their files' paths and contents, not by the directory's name", () => {
    const make = (content: string) => {
      const dir = mkdtempSync(join(root, "same-"));
      writeFileSync(join(dir, "a.txt"), content);
      return dir;
    };
    const one = toWire(make("A"), t.dir());
    const two = toWire(make("A"), t.dir());
    expect(literalHash(one)).toBe(literalHash(two));
    expect(literalHash(toWire(make("B"), t.dir()))).not.toBe(literalHash(one));
  });

  // BUG: materialize() reuses `<workDir>/<hash>/<name>` whenever it exists, without
  // checking it, so a task that writes to the path it received changes what every
  // later reader of that content-addressed file gets.
  it("materializes a file with its stored bytes even after an earlier reader modified its copy", () => {
    const literal = toWire(file("data.txt", "original"), t.file());
    const first = engine.toValue(literal, t.file().literalType, ctxFor(t.file())) as string;
    writeFileSync(first, "modified by a task");
    const second = engine.toValue(literal, t.file().literalType, ctxFor(t.file())) as string;
    expect(readFileSync(second, "utf8")).toBe("original");
  });

  // BUG: the blob's filename (and a dir manifest's paths) come from the literal,
  // which the backend receives over the API, and are joined to workDir unchecked.
  it("never materializes a file outside the work directory, whatever file name the literal carries", () => {
    const literal = toWire(file("safe.txt", "x"), t.file()) as Extract<Literal, { kind: "blob" }>;
    const hostile: Literal = { kind: "blob", blob: { ...literal.blob, filename: "../../escaped.txt" } };
    let path: string | undefined;
    try {
      path = engine.toValue(hostile, t.file().literalType, ctxFor(t.file())) as string;
    } catch (e) {
      expect(isTypeMismatchError(e) || (e as { code?: unknown }).code !== undefined).toBe(true);
    }
    if (path !== undefined) expect(resolve(path).startsWith(resolve(blobs.workDir) + sep)).toBe(true);
    expect(existsSync(join(blobs.workDir, "..", "escaped.txt"))).toBe(false);
  });
});

describe("literalHash", () => {
  it("is equal for equal content, whatever the key order of maps and structs", () => {
    const type = t.struct({ a: t.int(), b: t.map(t.string()) });
    const one = toWire({ a: 1, b: { x: "1", y: "2" } }, type);
    const two = toWire({ b: new Map([["y", "2"], ["x", "1"]]), a: 1 }, type);
    expect(literalHash(one)).toBe(literalHash(two));
    expect(literalHash(one)).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it("differs when the kind, the value or the union variant differs", () => {
    const hashes = [
      toWire(1, t.int()),
      toWire(1, t.float()),
      toWire("1", t.string()),
      toWire(2, t.int()),
      toWire(1, t.union(t.int(), t.float())),
      toWire(1, t.union(t.float(), t.int())),
      toWire([1], t.list(t.int())),
      toWire(null, t.optional(t.int())),
    ].map(literalHash);
    expect(new Set(hashes).size).toBe(hashes.length);
  });

  it("is equal for equal values of every scalar builder (property)", () => {
    fc.assert(
      fc.property(fc.oneof(fc.maxSafeInteger(), fc.bigInt({ min: INT64_MIN, max: INT64_MAX })), (n) => {
        expect(literalHash(toWire(n, t.int()))).toBe(literalHash(toWire(BigInt(n), t.int())));
      }),
    );
    fc.assert(
      fc.property(fc.string(), (s) => {
        expect(literalHash(toWire(s, t.string()))).toBe(literalHash(toWire(`${s}`, t.string())));
      }),
    );
  });

  it("ignores a blob's file name but not its format", () => {
    const hash = sha256("same bytes");
    const named = (filename: string): Literal => ({ kind: "blob", blob: { hash, size: 10, format: "file", filename } });
    expect(literalHash(named("a.txt"))).toBe(literalHash(named("b.txt")));
    expect(literalHash(named("a.txt"))).toBe(literalHash({ kind: "blob", blob: { hash, size: 10, format: "file" } }));
    expect(literalHash(named("a.txt"))).not.toBe(literalHash({ kind: "blob", blob: { hash, size: 10, format: "dir" } }));
  });
});
