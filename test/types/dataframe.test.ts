import { createRequire } from "node:module";
import vm from "node:vm";
import { describe, it, expect, beforeAll } from "vitest";
import fc from "fast-check";
import {
  Bool,
  DateDay,
  Dictionary,
  Field,
  Float32,
  Float64,
  Int32,
  Int64,
  LargeUtf8,
  List,
  RecordBatch,
  Schema,
  Struct,
  Table,
  TimestampMillisecond,
  TimestampNanosecond,
  TimestampSecond,
  Uint8,
  Utf8,
  makeData,
  tableFromArrays,
  tableToIPC,
  vectorFromArray,
} from "apache-arrow";
import type { Data, DataType, Vector } from "apache-arrow";
import {
  DataFrameError,
  checkSchema,
  decodeIPC,
  encodeIPC,
  isArrowTable,
  isDanfoDataFrame,
  isDataFrameError,
  schemaOf,
  tableToDanfo,
  toArrowTable,
} from "../../kernel/types/index.js";
import type { ColumnSchema } from "../../kernel/types/index.js";

const require = createRequire(import.meta.url);
const DANFO_TIMEOUT_MS = 60_000;
const DANFO_PACKAGE_PATH = "/danfojs-node/";

/** The parts of danfo these tests touch; danfo's own typings lack column accessors. */
interface DanfoSeries {
  values: unknown[];
  gt(other: number): DanfoSeries;
}
interface DanfoFrame {
  shape: number[];
  dtypes: string[];
  columns: string[];
  values: unknown[][];
  index: unknown[];
  column(name: string): DanfoSeries;
  query(mask: DanfoSeries): DanfoFrame;
  sortValues(column: string, options: { ascending: boolean }): DanfoFrame;
  iloc(selection: { rows: number[] }): DanfoFrame;
  addColumn(name: string, values: unknown[], options: { inplace: boolean }): void;
}
interface Danfo {
  DataFrame: new (data: unknown, options?: { columns?: string[]; dtypes?: string[] }) => DanfoFrame;
  Series: new (data: unknown[]) => DanfoSeries;
}

let danfoModule: Danfo | undefined;
/** danfo takes seconds to import, so only tests that need it pay for it. */
function danfo(): Danfo {
  danfoModule ??= require("danfojs-node") as Danfo;
  return danfoModule;
}

function danfoLoaded(): boolean {
  return Object.keys(require.cache).some((path) => path.includes(DANFO_PACKAGE_PATH));
}

function caught(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error("expected the call to throw");
}

function column(data: Data | Vector): Data {
  return "data" in data && Array.isArray(data.data) ? (data.data[0] as Data) : (data as Data);
}

/** A single-batch table from named columns of any Arrow type, as a producer might hand over. */
function tableOf(columns: Record<string, Data | Vector>, metadata?: Map<string, string>): Table {
  const datas = Object.values(columns).map(column);
  const fields = Object.keys(columns).map((name, j) => new Field(name, datas[j]!.type, datas[j]!.nullCount > 0));
  const schema = new Schema(fields, metadata);
  const length = datas[0]?.length ?? 0;
  return new Table(schema, [new RecordBatch(schema, makeData({ type: new Struct(fields), length, nullCount: 0, children: datas }))]);
}

function vec<T extends DataType>(values: readonly unknown[], type: T): Data {
  // arrow's Int64 builder takes bigints only.
  const cells = type instanceof Int64 ? values.map((v) => (typeof v === "number" ? BigInt(v) : v)) : values;
  return column(vectorFromArray(cells, type));
}

/** Cells as plain JS, int64 read as numbers so tables compare with toEqual. */
function cells(table: Table): Record<string, unknown>[] {
  return table.toArray().map((row: { toJSON(): Record<string, unknown> }) =>
    Object.fromEntries(Object.entries(row.toJSON()).map(([k, v]) => [k, typeof v === "bigint" ? Number(v) : v])),
  );
}

function types(table: Table): string[] {
  return table.schema.fields.map((f) => `${f.name}:${String(f.type)}:${f.nullable}`);
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a).equals(Buffer.from(b));
}

function expectDecodeError(bytes: Uint8Array): void {
  const e = caught(() => decodeIPC(bytes));
  expect(isDataFrameError(e)).toBe(true);
  expect(e).toMatchObject({ code: "DATAFRAME_DECODE" });
}

const ARROW_COLUMNS = {
  i: () => vec([1, null, -3, 2 ** 40], new Int64()),
  f: () => vec([1.5, null, -0, Infinity], new Float64()),
  s: () => vec(["a", null, "ü€😀", ""], new Utf8()),
  b: () => vec([true, null, false, true], new Bool()),
  d: () => vec([new Date(0), null, new Date(1.6e12), new Date(-5)], new TimestampMillisecond()),
};

function canonicalArrowTable(): Table {
  return tableOf(Object.fromEntries(Object.entries(ARROW_COLUMNS).map(([k, make]) => [k, make()])));
}

describe("lazy danfo loading", () => {
  it("does not load danfo until tableToDanfo is first called", { timeout: DANFO_TIMEOUT_MS }, () => {
    const bytes = encodeIPC(canonicalArrowTable());
    decodeIPC(bytes);
    expect(danfoLoaded()).toBe(false);
    const df = tableToDanfo(decodeIPC(bytes)) as DanfoFrame;
    expect(danfoLoaded()).toBe(true);
    expect(df.shape).toEqual([4, 5]);
  });
});

describe("Arrow round trips", () => {
  it("round-trips every kind with nulls from Arrow through IPC back to Arrow", () => {
    const back = decodeIPC(encodeIPC(canonicalArrowTable()));
    expect(types(back)).toEqual([
      "i:Int64:true",
      "f:Float64:true",
      "s:Utf8:true",
      "b:Bool:true",
      "d:Timestamp<MILLISECOND, UTC>:true",
    ]);
    expect(cells(back)).toEqual([
      { i: 1, f: 1.5, s: "a", b: true, d: 0 },
      { i: null, f: null, s: null, b: null, d: null },
      { i: -3, f: -0, s: "ü€😀", b: false, d: 1.6e12 },
      { i: 2 ** 40, f: Infinity, s: "", b: true, d: -5 },
    ]);
  });

  it("decodes without copying: column buffers are views into the IPC bytes", () => {
    const bytes = encodeIPC(canonicalArrowTable());
    const table = decodeIPC(bytes);
    const data = table.getChild("f")!.data[0]!;
    expect(data.values.buffer).toBe(bytes.buffer);
  });

  it("re-encoding decoded bytes reproduces them exactly", () => {
    const bytes = encodeIPC(canonicalArrowTable());
    expect(sameBytes(encodeIPC(decodeIPC(bytes)), bytes)).toBe(true);
  });

  it("maps every Arrow integer, float, date, timestamp and string type to its kind's canonical type", () => {
    const loose = tableOf({
      i: vec([1, null, 255], new Uint8()),
      j: vec([1, null, -7], new Int32()),
      f: vec([0.5, null, 2], new Float32()),
      day: vec([new Date(0), null, new Date(86_400_000)], new DateDay()),
      sec: vec([new Date(1000), null, new Date(2000)], new TimestampSecond()),
      ns: vec([new Date(1), null, new Date(2)], new TimestampNanosecond()),
      dict: vec(["x", null, "x"], new Dictionary(new Utf8(), new Int32())),
      large: vec(["p", null, "q"], new LargeUtf8()),
    });
    const canonical = toArrowTable(loose);
    expect(types(canonical)).toEqual([
      "i:Int64:true",
      "j:Int64:true",
      "f:Float64:true",
      "day:Timestamp<MILLISECOND, UTC>:true",
      "sec:Timestamp<MILLISECOND, UTC>:true",
      "ns:Timestamp<MILLISECOND, UTC>:true",
      "dict:Utf8:true",
      "large:Utf8:true",
    ]);
    expect(cells(canonical)).toEqual([
      { i: 1, j: 1, f: 0.5, day: 0, sec: 1000, ns: 1, dict: "x", large: "p" },
      { i: null, j: null, f: null, day: null, sec: null, ns: null, dict: null, large: null },
      { i: 255, j: -7, f: 2, day: 86_400_000, sec: 2000, ns: 2, dict: "x", large: "q" },
    ]);
  });

  it("keeps a sliced table's rows and drops the rest", () => {
    const sliced = canonicalArrowTable().slice(1, 3);
    expect(cells(decodeIPC(encodeIPC(sliced)))).toEqual(cells(sliced));
  });

  it("treats NaN in an Arrow float column as null", () => {
    const withNaN = tableOf({ f: makeData({ type: new Float64(), length: 2, nullCount: 0, data: Float64Array.of(NaN, 1) }) });
    const withNull = tableOf({ f: vec([null, 1], new Float64()) });
    expect(cells(toArrowTable(withNaN))).toEqual([{ f: null }, { f: 1 }]);
    expect(sameBytes(encodeIPC(withNaN), encodeIPC(withNull))).toBe(true);
  });
});

describe("deterministic IPC bytes", () => {
  it("gives byte-identical IPC for two danfo frames built independently from the same arrays", { timeout: DANFO_TIMEOUT_MS }, () => {
    const { DataFrame } = danfo();
    const make = (): DanfoFrame =>
      new DataFrame({ i: [1, 2, 3], f: [0.5, null, 2.5], s: ["a", "b", null], b: [true, false, true] });
    const a = encodeIPC(make());
    const b = encodeIPC(make());
    expect(a).not.toBe(b);
    expect(sameBytes(a, b)).toBe(true);
  });

  it("gives byte-identical IPC for a multi-batch Arrow table and its single-batch equivalent", () => {
    const rows = { n: Int32Array.from([1, 2, 3, 4, 5]), s: ["a", "bb", "ccc", "dd", "e"] };
    const first = tableFromArrays({ n: rows.n.slice(0, 2), s: rows.s.slice(0, 2) });
    const rest = tableFromArrays({ n: rows.n.slice(2), s: rows.s.slice(2) });
    const multi = first.concat(rest);
    expect(multi.batches.length).toBe(2);
    const single = tableOf({ n: vec([...rows.n], new Int64()), s: vec(rows.s, new Utf8()) });
    expect(sameBytes(encodeIPC(multi), encodeIPC(single))).toBe(true);
    expect(decodeIPC(encodeIPC(multi)).batches.length).toBe(1);
  });

  it("gives the same bytes for a danfo frame and an Arrow table with the same kinds and values", { timeout: DANFO_TIMEOUT_MS }, () => {
    const { DataFrame } = danfo();
    const df = new DataFrame({ n: [1, 2, 3], x: [0.5, 1.5, 2.5], s: ["a", "b", "c"] });
    const arrow = tableOf({ n: vec([1, 2, 3], new Int32()), x: vec([0.5, 1.5, 2.5], new Float64()), s: vec(["a", "b", "c"], new Utf8()) });
    expect(sameBytes(encodeIPC(df), encodeIPC(arrow))).toBe(true);
  });

  it("gives different bytes when only the kind differs (int against float holding equal numbers)", () => {
    const ints = tableOf({ n: vec([1, 2, 3], new Int64()) });
    const floats = tableOf({ n: vec([1, 2, 3], new Float64()) });
    expect(sameBytes(encodeIPC(ints), encodeIPC(floats))).toBe(false);
  });

  it("ignores schema metadata and declared field nullability", () => {
    const plain = tableOf({ n: vec([1, 2], new Int64()) });
    const decorated = tableOf({ n: vec([1, 2], new Int64()) }, new Map([["pandas", "{}"]]));
    expect(decorated.schema.fields[0]!.nullable).toBe(false);
    expect(decorated.schema.metadata.size).toBe(1);
    expect(sameBytes(encodeIPC(plain), encodeIPC(decorated))).toBe(true);
    expect(decodeIPC(encodeIPC(decorated)).schema.metadata.size).toBe(0);
  });

  it("zeroes whatever sits under null slots, so it cannot change the bytes", () => {
    const nullBitmap = Uint8Array.of(0b101);
    const garbage = tableOf({
      i: makeData({ type: new Int64(), length: 3, nullCount: 1, nullBitmap, data: BigInt64Array.of(1n, 999n, 3n) }),
      f: makeData({ type: new Float64(), length: 3, nullCount: 1, nullBitmap, data: Float64Array.of(1, 42, 3) }),
      s: makeData({ type: new Utf8(), length: 3, nullCount: 1, nullBitmap, valueOffsets: Int32Array.of(0, 1, 4, 5), data: new TextEncoder().encode("aXYZc") }),
      b: makeData({ type: new Bool(), length: 3, nullCount: 1, nullBitmap, data: Uint8Array.of(0b111) }),
    });
    const clean = tableOf({
      i: vec([1, null, 3], new Int64()),
      f: vec([1, null, 3], new Float64()),
      s: vec(["a", null, "c"], new Utf8()),
      b: vec([true, null, true], new Bool()),
    });
    expect(sameBytes(encodeIPC(garbage), encodeIPC(clean))).toBe(true);
  });
});

describe("danfo round trips", () => {
  beforeAll(() => {
    danfo();
  }, DANFO_TIMEOUT_MS);

  it.each([
    { kind: "int", dtype: "int32", values: [1, null, -3, 2 ** 40], back: [1, NaN, -3, 2 ** 40], arrow: "Int64" },
    { kind: "float", dtype: "float32", values: [1.5, NaN, null, -0, Infinity], back: [1.5, NaN, NaN, -0, Infinity], arrow: "Float64" },
    { kind: "string", dtype: "string", values: ["a", null, "ü€😀", ""], back: ["a", null, "ü€😀", ""], arrow: "Utf8" },
    { kind: "bool", dtype: "boolean", values: [true, null, false], back: [true, null, false], arrow: "Bool" },
    {
      kind: "datetime",
      dtype: "datetime",
      values: [new Date(0), null, new Date(1.6e12)],
      back: [new Date(0), null, new Date(1.6e12)],
      arrow: "Timestamp<MILLISECOND, UTC>",
    },
  ])("round-trips a $kind column with nulls from danfo through IPC back to danfo", ({ kind, dtype, values, back, arrow }) => {
    const df = new (danfo().DataFrame)({ c: values }, { dtypes: [dtype] });
    const table = decodeIPC(encodeIPC(df));
    expect(types(table)).toEqual([`c:${arrow}:true`]);
    expect(schemaOf(table)).toEqual([{ name: "c", kind, nullable: true }]);
    const again = tableToDanfo(table) as DanfoFrame;
    expect(again.dtypes).toEqual([dtype]);
    expect(again.column("c").values).toEqual(back);
    expect(again.values).toEqual(back.map((v) => [v]));
  });

  it("reads danfo's float32 label on a column of Dates or booleans with a gap as datetime or bool", () => {
    const df = new (danfo().DataFrame)({ d: [null, new Date(7)], b: [null, true] });
    expect(df.dtypes).toEqual(["float32", "float32"]);
    const table = toArrowTable(df);
    expect(schemaOf(table).map((c) => c.kind)).toEqual(["datetime", "bool"]);
    expect(cells(table)).toEqual([
      { d: null, b: null },
      { d: 7, b: true },
    ]);
  });

  it("widens an int32 danfo column to float when a fraction appears past danfo's 20-row sample", () => {
    const values = [...Array.from({ length: 25 }, (_, i) => i), 0.5];
    const df = new (danfo().DataFrame)({ n: values });
    expect(df.dtypes).toEqual(["int32"]);
    const table = toArrowTable(df);
    expect(schemaOf(table)).toEqual([{ name: "n", kind: "float", nullable: false }]);
    expect(cells(table).at(-1)).toEqual({ n: 0.5 });
  });

  it("writes Dates in a string column as ISO text, whatever the time zone", () => {
    const values = ["a", ...Array.from({ length: 25 }, () => "x"), new Date(0)];
    const df = new (danfo().DataFrame)({ s: values });
    expect(cells(toArrowTable(df)).at(-1)).toEqual({ s: "1970-01-01T00:00:00.000Z" });
  });

  it("rejects a danfo cell that does not fit its column's kind, naming column and row", () => {
    const values = [...Array.from({ length: 25 }, () => true), "yes"];
    const df = new (danfo().DataFrame)({ ok: values });
    const e = caught(() => toArrowTable(df));
    expect(e).toMatchObject({ code: "DATAFRAME_UNSUPPORTED", details: { column: "ok", row: 25 } });
    expect((e as Error).message).toContain('column "ok" row 25 holds string "yes"');
  });

  it("produces a working danfo DataFrame: shape, dtypes, column access, query, sort, iloc, addColumn", () => {
    const source = tableOf({
      id: vec([1, 2, 3, 4], new Int64()),
      score: vec([0.5, 2.5, null, 1.5], new Float64()),
      name: vec(["a", "b", "c", null], new Utf8()),
    });
    const df = tableToDanfo(source) as DanfoFrame;
    expect(isDanfoDataFrame(df)).toBe(true);
    expect(df.shape).toEqual([4, 3]);
    expect(df.columns).toEqual(["id", "score", "name"]);
    expect(df.dtypes).toEqual(["int32", "float32", "string"]);
    expect((df as unknown as Record<string, DanfoSeries>).name!.values).toEqual(["a", "b", "c", null]);
    const high = df.query(df.column("score").gt(1));
    expect(high.shape).toEqual([2, 3]);
    expect(high.column("id").values).toEqual([2, 4]);
    expect(df.sortValues("id", { ascending: false }).column("id").values).toEqual([4, 3, 2, 1]);
    expect(df.iloc({ rows: [1] }).values).toEqual([[2, 2.5, "b"]]);
    df.addColumn("twice", [2, 4, 6, 8], { inplace: true });
    expect(df.shape).toEqual([4, 4]);
    expect(df.column("twice").values).toEqual([2, 4, 6, 8]);
  });

  it("builds the same internal state danfo's own constructor builds", () => {
    const data = { i: [1, 2, 3], f: [0.5, 1.5, 2.5], s: ["a", "b", "c"], b: [true, false, true] };
    const own = new (danfo().DataFrame)(data) as unknown as Record<string, unknown>;
    const ours = tableToDanfo(toArrowTable(own)) as Record<string, unknown>;
    for (const key of ["$data", "$dataIncolumnFormat", "$index", "$columns", "$dtypes", "$isSeries"]) {
      expect(ours[key], key).toEqual(own[key]);
    }
    expect(ours.constructor).toBe(own.constructor);
  });

  it("throws DATAFRAME_PRECISION instead of rounding an int64 beyond 2^53 into danfo", () => {
    const big = tableOf({ n: vec([2n ** 60n], new Int64()) });
    expect(caught(() => tableToDanfo(big))).toMatchObject({ code: "DATAFRAME_PRECISION", details: { column: "n", row: 0 } });
    expect(cells(decodeIPC(encodeIPC(big)))[0]!.n).toBe(2 ** 60);
  });
});

describe("corrupt input", () => {
  const valid = (): Uint8Array => encodeIPC(canonicalArrowTable());

  it("throws DATAFRAME_DECODE for an empty buffer", () => {
    expectDecodeError(new Uint8Array(0));
  });

  it("throws DATAFRAME_DECODE for random bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 512 }), (bytes) => {
        expectDecodeError(bytes);
      }),
      { numRuns: 200 },
    );
  });

  it("throws DATAFRAME_DECODE for every truncation of valid IPC", () => {
    const bytes = valid();
    for (let length = 0; length < bytes.length; length++) expectDecodeError(bytes.slice(0, length));
  });

  it("throws DATAFRAME_DECODE for bytes trailing the end-of-stream marker and for the file format", () => {
    const bytes = valid();
    expectDecodeError(Uint8Array.from([...bytes, 0]));
    expectDecodeError(tableToIPC(canonicalArrowTable(), "file"));
  });

  it("throws DATAFRAME_DECODE, not a crash, when single bytes of the metadata are overwritten", () => {
    const bytes = valid();
    for (let pos = 0; pos < 400; pos++) {
      const copy = bytes.slice();
      copy[pos] = copy[pos] === 0xff ? 0 : 0xff;
      try {
        const table = decodeIPC(copy);
        cells(table);
      } catch (e) {
        expect(isDataFrameError(e), `byte ${pos}: ${String(e)}`).toBe(true);
      }
    }
  });

  it("throws DATAFRAME_DECODE for a value that is not a Uint8Array", () => {
    expectDecodeError("arrow" as unknown as Uint8Array);
    expectDecodeError(new ArrayBuffer(8) as unknown as Uint8Array);
  });
});

describe("values that are not DataFrames", () => {
  it.each([
    [null, "null"],
    [undefined, "undefined"],
    [42, "number 42"],
    ["csv", 'string "csv"'],
    [[1, 2], "an array"],
    [{ a: [1] }, "a plain object"],
    [new Map(), "an instance of Map"],
    [Promise.resolve(1), "a Promise (missing await?)"],
    [new Uint8Array(4), "a Uint8Array (IPC bytes go through decodeIPC)"],
  ])("toArrowTable(%o) throws DATAFRAME_TYPE naming what it got", (value, named) => {
    const e = caught(() => toArrowTable(value));
    expect(isDataFrameError(e)).toBe(true);
    expect(e).toMatchObject({ code: "DATAFRAME_TYPE", message: `expected a danfo DataFrame or an Arrow Table, got ${named}` });
    expect(() => encodeIPC(value)).toThrow(DataFrameError);
  });

  it("names a danfo Series as such", { timeout: DANFO_TIMEOUT_MS }, () => {
    const series = new (danfo().Series)([1, 2]);
    expect(isDanfoDataFrame(series)).toBe(false);
    expect(() => toArrowTable(series)).toThrow("got a danfo Series (wrap it in a DataFrame)");
  });

  it("throws DATAFRAME_UNSUPPORTED naming the column of an unsupported Arrow type", () => {
    const lists = tableOf({ tags: vec([[1], [2, 3]], new List(new Field("item", new Int32(), true))) });
    expect(caught(() => toArrowTable(lists))).toMatchObject({
      code: "DATAFRAME_UNSUPPORTED",
      message: expect.stringContaining('column "tags" has Arrow type List<Int32>'),
    });
    expect(() => schemaOf(lists)).toThrow(/column "tags"/);
  });

  it("throws DATAFRAME_PRECISION for timestamps with sub-millisecond digits", () => {
    const ns = tableOf({ t: makeData({ type: new TimestampNanosecond(), length: 1, nullCount: 0, data: BigInt64Array.of(1_000_001n) }) });
    expect(caught(() => toArrowTable(ns))).toMatchObject({ code: "DATAFRAME_PRECISION", details: { column: "t", row: 0 } });
  });
});

describe("schemas", () => {
  const table = (): Table =>
    toArrowTable(tableOf({ age: vec([31, null], new Int32()), name: vec(["a", "b"], new Utf8()) }));

  it("schemaOf reports names, kinds and whether each column holds nulls", () => {
    expect(schemaOf(table())).toEqual([
      { name: "age", kind: "int", nullable: true },
      { name: "name", kind: "string", nullable: false },
    ]);
  });

  it("checkSchema passes for the table's own schema, for a subset, and for nullable: false on a full column", () => {
    const t = table();
    expect(() => checkSchema(t, schemaOf(t), "here")).not.toThrow();
    expect(() => checkSchema(t, [{ name: "name", kind: "string", nullable: false }], "here")).not.toThrow();
    expect(() => checkSchema(t, [], "here")).not.toThrow();
  });

  it("checkSchema names the missing column and where", () => {
    const e = caught(() => checkSchema(table(), [{ name: "salary", kind: "float" }], "input raw of node clean"));
    expect(isDataFrameError(e)).toBe(true);
    expect(e).toMatchObject({
      code: "DATAFRAME_SCHEMA",
      message: 'input raw of node clean: missing column "salary" (expected kind float); columns present: "age", "name"',
    });
  });

  it("checkSchema names the column whose kind differs, expected against actual", () => {
    const e = caught(() => checkSchema(table(), [{ name: "age", kind: "string" }], "output df of node load"));
    expect(e).toMatchObject({
      code: "DATAFRAME_SCHEMA",
      message: 'output df of node load: column "age" has kind int, expected string',
      details: { where: "output df of node load", column: "age", expected: "string", actual: "int" },
    });
  });

  it("checkSchema rejects nulls in a column declared non-nullable", () => {
    const expected: ColumnSchema[] = [{ name: "age", kind: "int", nullable: false }];
    expect(() => checkSchema(table(), expected, "here")).toThrow('here: column "age" holds 1 null(s) but is declared non-nullable');
  });
});

describe("detection across realms and module copies", () => {
  const CJS_ARROW = require("apache-arrow") as typeof import("apache-arrow");

  it("recognises a table from a second copy of apache-arrow and encodes it identically", () => {
    const foreign = CJS_ARROW.tableFromArrays({ n: Int32Array.of(1, 2), s: ["a", "b"] });
    expect(foreign.constructor).not.toBe(Table);
    expect(isArrowTable(foreign)).toBe(true);
    const local = tableFromArrays({ n: Int32Array.of(1, 2), s: ["a", "b"] });
    expect(sameBytes(encodeIPC(foreign), encodeIPC(local))).toBe(true);
    expect(cells(toArrowTable(foreign))).toEqual([
      { n: 1, s: "a" },
      { n: 2, s: "b" },
    ]);
  });

  it("does not take look-alikes for tables or DataFrames", () => {
    expect(isArrowTable({ schema: { fields: [] }, batches: [], numRows: 0 })).toBe(false);
    expect(isArrowTable(null)).toBe(false);
    expect(isDanfoDataFrame({ $data: [], $columns: [] })).toBe(false);
    expect(isDanfoDataFrame(canonicalArrowTable())).toBe(false);
  });

  it("recognises a DataFrameError made in another vm context by its name and code", () => {
    const foreign = vm.runInNewContext(
      'class DataFrameError extends Error { name = "DataFrameError"; code = "DATAFRAME_DECODE"; details = {} }; new DataFrameError("bad")',
    ) as unknown;
    expect(foreign instanceof DataFrameError).toBe(false);
    expect(isDataFrameError(foreign)).toBe(true);
    expect(isDataFrameError(new Error("plain"))).toBe(false);
    expect(isDataFrameError({ name: "DataFrameError", code: "OTHER", message: "x" })).toBe(false);
  });

  it("recognises a table-shaped object from another vm context", () => {
    const shaped = vm.runInNewContext(
      "({ schema: { fields: [] }, batches: [], numRows: 0, getChildAt() { return null; }, [Symbol.toStringTag]: 'Table' })",
    ) as unknown;
    expect(isArrowTable(shaped)).toBe(true);
  });
});

describe("properties", () => {
  const nullable = <T>(arb: fc.Arbitrary<T>): fc.Arbitrary<T | null> => fc.option(arb, { nil: null, freq: 4 });
  const text = fc.string({ unit: "grapheme", maxLength: 8 });
  const row = fc.record({
    n: nullable(fc.integer()),
    x: nullable(fc.double()),
    s: nullable(text),
    b: nullable(fc.boolean()),
  });

  it("round-trips numbers, strings and bools with nulls through Arrow IPC", () => {
    fc.assert(
      fc.property(fc.array(row, { maxLength: 20 }), (rows) => {
        const pick = <K extends keyof (typeof rows)[number]>(k: K): unknown[] => rows.map((r) => r[k]);
        const source = tableOf({
          n: vec(pick("n"), new Int32()),
          x: vec(pick("x"), new Float64()),
          s: vec(pick("s"), new Utf8()),
          b: vec(pick("b"), new Bool()),
        });
        const back = decodeIPC(encodeIPC(source));
        expect(back.numRows).toBe(rows.length);
        expect(cells(back)).toEqual(rows.map((r) => ({ ...r, x: r.x === null || Number.isNaN(r.x) ? null : r.x })));
      }),
      { numRuns: 200 },
    );
  });

  it("round-trips numbers, strings and bools with nulls from danfo through IPC back to danfo", { timeout: DANFO_TIMEOUT_MS }, () => {
    const { DataFrame } = danfo();
    fc.assert(
      fc.property(fc.array(row, { minLength: 1, maxLength: 12 }), (rows) => {
        const cols = { n: rows.map((r) => r.n), x: rows.map((r) => r.x), s: rows.map((r) => r.s), b: rows.map((r) => r.b) };
        const df = new DataFrame(cols, { dtypes: ["int32", "float32", "string", "boolean"] });
        const back = tableToDanfo(decodeIPC(encodeIPC(df))) as DanfoFrame;
        expect(back.column("n").values).toEqual(cols.n.map((v) => v ?? NaN));
        expect(back.column("x").values).toEqual(cols.x.map((v) => v ?? NaN));
        expect(back.column("s").values).toEqual(cols.s);
        expect(back.column("b").values).toEqual(cols.b);
      }),
      { numRuns: 60 },
    );
  });
});
