/**
 * DataFrames on the wire: conversion between danfo DataFrames, Apache Arrow
 * Tables and canonical Arrow IPC stream bytes.
 *
 * Content hashes are taken over the IPC bytes, so encoding is canonical: equal
 * data gives identical bytes whichever way it was built. The canonical form is
 * one record batch; a schema without metadata whose fields are all nullable;
 * one Arrow type per column kind; null slots zeroed; NaN stored as null.
 *
 * | kind     | Arrow type           | danfo dtype | danfo cells                |
 * |----------|----------------------|-------------|----------------------------|
 * | int      | Int64                | int32       | numbers, NaN if missing    |
 * | float    | Float64              | float32     | numbers, NaN if missing    |
 * | string   | Utf8                 | string      | strings, null if missing   |
 * | bool     | Bool                 | boolean     | booleans, null if missing  |
 * | datetime | Timestamp(ms, "UTC") | datetime    | JS Dates, null if missing  |
 *
 * Every Arrow integer type becomes Int64, Float16/32 become Float64, LargeUtf8,
 * Utf8View and dictionary-encoded strings become Utf8, Date and Timestamp of
 * any unit or zone become Timestamp(ms, "UTC"), and an all-null column of type
 * Null becomes float. Two inputs therefore hash equal exactly when their
 * column names, kinds and values are equal: an Int32 Arrow column equals a
 * danfo int32 column with the same numbers, but never a float column holding
 * the same numbers.
 *
 * From danfo, the dtype decides the kind (see kindOfDanfoColumn for how the
 * gaps in danfo's 20-row dtype sampling are closed); null, undefined, NaN and
 * Invalid Date are all missing, so NaN never survives as a float value. A
 * danfo row index is not carried: rows come back numbered 0..n-1.
 */
import { createRequire } from "node:module";
import { lazyModule } from "./lazy.js";
import type { Data } from "apache-arrow";
import type * as ArrowModule from "apache-arrow";
import type { Table } from "apache-arrow";
import { PetrelError } from "../model/index.js";

/** Apache Arrow, loaded on the first DataFrame conversion. */
const arrow = lazyModule<typeof ArrowModule>("apache-arrow");

/** Logical kind of a column, independent of its Arrow or danfo representation. */
export type ColumnKind = "int" | "float" | "string" | "bool" | "datetime";

/**
 * Declared or observed shape of one column. `nullable: false` means the column
 * must hold no nulls; absent or true allows them.
 */
export interface ColumnSchema {
  name: string;
  kind: ColumnKind;
  nullable?: boolean;
}

// ---------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------

const DATAFRAME_ERROR_NAME = "DataFrameError";
const CODE_PREFIX = "DATAFRAME_";
/** Value handed over is neither a danfo DataFrame nor an Arrow Table. */
const CODE_TYPE = "DATAFRAME_TYPE";
/** Bytes are not a complete, well-formed Arrow IPC stream. */
const CODE_DECODE = "DATAFRAME_DECODE";
/** Table does not match the columns a consumer declared. */
const CODE_SCHEMA = "DATAFRAME_SCHEMA";
/** A column type or a cell value has no place in the supported kinds. */
const CODE_UNSUPPORTED = "DATAFRAME_UNSUPPORTED";
/** A value cannot be carried over without changing it (int64 beyond 2^53, sub-millisecond times). */
const CODE_PRECISION = "DATAFRAME_PRECISION";

/**
 * Error raised by every function in this module: a PetrelError whose `code` is
 * one of DATAFRAME_TYPE, DATAFRAME_DECODE, DATAFRAME_SCHEMA,
 * DATAFRAME_UNSUPPORTED, DATAFRAME_PRECISION.
 */
export class DataFrameError extends PetrelError {
  override name = DATAFRAME_ERROR_NAME;

  constructor(code: string, message: string, details: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(code, message, details, options);
  }
}

/** True for a DataFrameError from any realm or module copy (checks name and code, not the prototype). */
export function isDataFrameError(x: unknown): x is DataFrameError {
  if (typeof x !== "object" || x === null) return false;
  const e = x as { name?: unknown; code?: unknown; message?: unknown };
  return (
    e.name === DATAFRAME_ERROR_NAME &&
    typeof e.code === "string" &&
    e.code.startsWith(CODE_PREFIX) &&
    typeof e.message === "string"
  );
}

// ---------------------------------------------------------------------------
// Structural views of Arrow and danfo internals. They are read structurally so
// that tables from another copy of apache-arrow or another vm context work.
// ---------------------------------------------------------------------------

interface ArrowTypeLike {
  readonly typeId: number;
  readonly bitWidth?: number;
  readonly isSigned?: boolean;
  readonly precision?: number;
  readonly unit?: number;
  readonly dictionary?: ArrowTypeLike;
  toString(): string;
}

interface BufferLike {
  readonly length: number;
  readonly buffer: ArrayBufferLike;
  readonly byteOffset: number;
  readonly byteLength: number;
  readonly [index: number]: number | bigint;
}

interface ChunkLike {
  readonly type: ArrowTypeLike;
  readonly offset: number;
  readonly length: number;
  readonly nullCount: number;
  readonly stride: number;
  readonly nullBitmap?: Uint8Array;
  readonly values?: BufferLike;
  readonly valueOffsets?: BufferLike;
  readonly children?: readonly ChunkLike[];
  readonly dictionary?: VectorLike;
}

interface VectorLike {
  readonly length: number;
  readonly data: readonly ChunkLike[];
  get(index: number): unknown;
}

interface FieldLike {
  readonly name: string;
  readonly type: ArrowTypeLike;
}

interface TableLike {
  readonly schema: { readonly fields: readonly FieldLike[] };
  readonly numRows: number;
  readonly batches: readonly { readonly data: ChunkLike }[];
  getChildAt(index: number): VectorLike | null;
}

interface DanfoConfigLike {
  readonly isLowMemoryMode?: boolean;
}

interface DanfoFrameInternals {
  $data: unknown[];
  $dataIncolumnFormat: unknown[];
  $index: unknown[];
  $columns: string[];
  $dtypes: string[];
  $isSeries: boolean;
  $config?: DanfoConfigLike;
  $setInternalColumnDataProperty(column?: string): void;
}

interface DanfoModule {
  DataFrame: new (data: unknown, options?: { columns?: string[]; dtypes?: string[] }) => DanfoFrameInternals;
}

const ARROW_TABLE_MARKER = Symbol.for("apache-arrow/Table");
const ARROW_TABLE_TAG = "[object Table]";
const DATE_TAG = "[object Date]";
const UINT8ARRAY_TAG = "[object Uint8Array]";

function isRecord(x: unknown): x is Record<PropertyKey, unknown> {
  return typeof x === "object" && x !== null;
}

function isDate(x: unknown): x is Date {
  return Object.prototype.toString.call(x) === DATE_TAG;
}

/**
 * True when `x` is an Arrow Table, also one from another copy of apache-arrow
 * or another vm context (arrow's global-registry marker, else its shape).
 */
export function isArrowTable(x: unknown): x is Table {
  if (x instanceof arrow().Table) return true;
  if (!isRecord(x)) return false;
  const schema = x.schema;
  const shaped =
    isRecord(schema) &&
    Array.isArray(schema.fields) &&
    Array.isArray(x.batches) &&
    typeof x.numRows === "number" &&
    typeof x.getChildAt === "function";
  if (!shaped) return false;
  return x[ARROW_TABLE_MARKER] === true || Object.prototype.toString.call(x) === ARROW_TABLE_TAG;
}

/** True when `x` looks like a danfo DataFrame (not a Series), judged by danfo's internal fields. */
export function isDanfoDataFrame(x: unknown): boolean {
  if (!isRecord(x)) return false;
  return (
    x.$isSeries === false &&
    Array.isArray(x.$data) &&
    Array.isArray(x.$columns) &&
    Array.isArray(x.$dtypes) &&
    typeof x.$setInternalColumnDataProperty === "function"
  );
}

const MAX_DESCRIBED_CHARS = 40;

function describeValue(x: unknown): string {
  if (x === null) return "null";
  if (Array.isArray(x)) return "an array";
  if (typeof x === "string") {
    const shown = x.length > MAX_DESCRIBED_CHARS ? `${x.slice(0, MAX_DESCRIBED_CHARS)}…` : x;
    return `string ${JSON.stringify(shown)}`;
  }
  if (typeof x === "number" || typeof x === "boolean" || typeof x === "bigint") return `${typeof x} ${String(x)}`;
  if (typeof x !== "object") return typeof x;
  if (isDate(x)) return "Date";
  if ((x as { $isSeries?: unknown }).$isSeries === true) return "a danfo Series (wrap it in a DataFrame)";
  const tag = Object.prototype.toString.call(x).slice("[object ".length, -1);
  if (tag === "Promise") return "a Promise (missing await?)";
  if (tag === "Uint8Array") return "a Uint8Array (IPC bytes go through decodeIPC)";
  const ctor = (x as { constructor?: { name?: unknown } }).constructor;
  const ctorName = typeof ctor?.name === "string" && ctor.name !== "" ? ctor.name : tag;
  return ctorName === "Object" ? "a plain object" : `an instance of ${ctorName}`;
}

// ---------------------------------------------------------------------------
// Kinds and canonical Arrow types
// ---------------------------------------------------------------------------

const CANONICAL_TIMEZONE = "UTC";

function unsupportedType(column: string, type: ArrowTypeLike): DataFrameError {
  return new DataFrameError(
    CODE_UNSUPPORTED,
    `column "${column}" has Arrow type ${String(type)}, which maps to no supported kind (int, float, string, bool, datetime)`,
    { column, arrowType: String(type) },
  );
}

/** Kind an Arrow type maps to, or undefined when it has none. */
function kindOfArrowType(type: ArrowTypeLike): ColumnKind | undefined {
  switch (type.typeId) {
    case arrow().Type.Int:
      return "int";
    case arrow().Type.Float:
    case arrow().Type.Null:
      return "float";
    case arrow().Type.Utf8:
    case arrow().Type.LargeUtf8:
    case arrow().Type.Utf8View:
      return "string";
    case arrow().Type.Bool:
      return "bool";
    case arrow().Type.Date:
    case arrow().Type.Timestamp:
      return "datetime";
    case arrow().Type.Dictionary:
      return type.dictionary ? kindOfArrowType(type.dictionary) : undefined;
    default:
      return undefined;
  }
}

const INT64_BIT_WIDTH = 64;

/** Whether chunks of this type already use the canonical buffer layout (nulls and NaN may still need scrubbing). */
function hasCanonicalLayout(type: ArrowTypeLike): boolean {
  switch (type.typeId) {
    case arrow().Type.Int:
      return type.bitWidth === INT64_BIT_WIDTH && type.isSigned === true;
    case arrow().Type.Float:
      return type.precision === arrow().Precision.DOUBLE;
    case arrow().Type.Utf8:
    case arrow().Type.Bool:
      return true;
    case arrow().Type.Timestamp:
      return type.unit === arrow().TimeUnit.MILLISECOND;
    default:
      return false;
  }
}

// ---------------------------------------------------------------------------
// Bits, validity and 64-bit words. Arrow buffers are little-endian, as is
// every platform Node runs on, so an int64 is (low int32, high int32).
// ---------------------------------------------------------------------------

const TWO_POW_32 = 2 ** 32;
const INT64_MIN = -(2 ** 63);
const INT64_MAX_EXCLUSIVE = 2 ** 63;
const INT64_MIN_BIG = -(2n ** 63n);
const INT64_MAX_BIG = 2n ** 63n - 1n;
/** High words in [-2^21, 2^21) keep |value| below 2^53, where doubles are exact. */
const SAFE_HIGH_WORD_LIMIT = 2 ** 21;
const MS_PER_DAY = 86_400_000;
const MICROS_PER_MS = 1000n;
const NANOS_PER_MS = 1_000_000n;
const MS_PER_SECOND_BIG = 1000n;
/** Largest |epoch ms| a JS Date can hold. */
const MAX_DATE_MS = 8.64e15;

function bitIsSet(bits: Uint8Array, index: number): boolean {
  return (bits[index >> 3]! & (1 << (index & 7))) !== 0;
}

function int32Words(values: BufferLike): Int32Array {
  return new Int32Array(values.buffer, values.byteOffset, values.byteLength >> 2);
}

function bytesOf(values: BufferLike): Uint8Array {
  return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
}

function hasNulls(chunk: ChunkLike): chunk is ChunkLike & { nullBitmap: Uint8Array } {
  return chunk.nullCount > 0 && chunk.nullBitmap !== undefined && chunk.nullBitmap.length > 0;
}

/** Validity bitmap written all-valid up front so only nulls cost a store. */
class Validity {
  readonly bits: Uint8Array;
  nullCount = 0;

  constructor(readonly length: number) {
    this.bits = new Uint8Array((length + 7) >> 3).fill(0xff);
  }

  setNull(index: number): void {
    this.bits[index >> 3]! &= ~(1 << (index & 7));
    this.nullCount++;
  }

  /** Bitmap for makeData: empty without nulls; unused tail bits cleared so bytes are deterministic. */
  finish(): Uint8Array {
    if (this.nullCount === 0) return new Uint8Array(0);
    const tail = this.length & 7;
    if (tail !== 0) this.bits[this.bits.length - 1]! &= (1 << tail) - 1;
    return this.bits;
  }
}

function precisionError(column: string, row: number, detail: string): DataFrameError {
  return new DataFrameError(CODE_PRECISION, `column "${column}" row ${row}: ${detail}`, { column, row });
}

function cellError(column: string, row: number, value: unknown, kind: ColumnKind): DataFrameError {
  return new DataFrameError(
    CODE_UNSUPPORTED,
    `column "${column}" row ${row} holds ${describeValue(value)}, which does not fit the column's kind "${kind}"`,
    { column, row, kind },
  );
}

function isMissing(v: unknown): boolean {
  return v === null || v === undefined || (typeof v === "number" && v !== v);
}

function writeInt64(words: Int32Array, index: number, value: number): void {
  // Exact for every integral double in int64 range: division by 2^32 and the
  // subtraction below only move the binary point.
  const high = Math.floor(value / TWO_POW_32);
  words[2 * index] = (value - high * TWO_POW_32) | 0;
  words[2 * index + 1] = high;
}

function readInt64(words: Int32Array, index: number, column: string, row: number): number {
  const high = words[2 * index + 1]!;
  if (high < -SAFE_HIGH_WORD_LIMIT || high >= SAFE_HIGH_WORD_LIMIT) {
    const exact = (BigInt(high) << 32n) + BigInt(words[2 * index]! >>> 0);
    throw precisionError(column, row, `int64 ${exact} is beyond ±2^53 and would change as a JS number; read it from the Arrow table instead`);
  }
  return high * TWO_POW_32 + (words[2 * index]! >>> 0);
}

function readBigInt64(words: Int32Array, index: number): bigint {
  return (BigInt(words[2 * index + 1]!) << 32n) + BigInt(words[2 * index]! >>> 0);
}

// ---------------------------------------------------------------------------
// Canonical Data from JS values (danfo columns, and Arrow types read through
// Vector.get such as dictionaries).
// ---------------------------------------------------------------------------

function fixedData(kind: "int" | "float" | "datetime", values: BigInt64Array | Float64Array, validity: Validity): Data {
  const nullCount = validity.nullCount;
  const nullBitmap = validity.finish();
  const length = validity.length;
  switch (kind) {
    case "int":
      return arrow().makeData({ type: new (arrow().Int64)(), length, nullCount, nullBitmap, data: values as BigInt64Array });
    case "float":
      return arrow().makeData({ type: new (arrow().Float64)(), length, nullCount, nullBitmap, data: values as Float64Array });
    case "datetime":
      return arrow().makeData({
        type: new (arrow().TimestampMillisecond)(CANONICAL_TIMEZONE),
        length,
        nullCount,
        nullBitmap,
        data: values as BigInt64Array,
      });
  }
}

/** Int64 data, or undefined when a non-integral number shows the column is really float. */
function intFromValues(column: string, values: ArrayLike<unknown>): Data | undefined {
  const n = values.length;
  const out = new BigInt64Array(n);
  const words = new Int32Array(out.buffer);
  const validity = new Validity(n);
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (typeof v === "number") {
      if (v !== v) validity.setNull(i);
      else if (Number.isInteger(v) && v >= INT64_MIN && v < INT64_MAX_EXCLUSIVE) writeInt64(words, i, v);
      else return undefined;
    } else if (v === null || v === undefined) {
      validity.setNull(i);
    } else if (typeof v === "bigint") {
      if (v < INT64_MIN_BIG || v > INT64_MAX_BIG) throw precisionError(column, i, `${v} does not fit in int64`);
      out[i] = v;
    } else {
      throw cellError(column, i, v, "int");
    }
  }
  return fixedData("int", out, validity);
}

function floatFromValues(column: string, values: ArrayLike<unknown>): Data {
  const n = values.length;
  const out = new Float64Array(n);
  const validity = new Validity(n);
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (typeof v === "number") {
      if (v !== v) validity.setNull(i);
      else out[i] = v;
    } else if (v === null || v === undefined) {
      validity.setNull(i);
    } else if (typeof v === "bigint") {
      out[i] = Number(v);
    } else {
      throw cellError(column, i, v, "float");
    }
  }
  return fixedData("float", out, validity);
}

function datetimeFromValues(column: string, values: ArrayLike<unknown>): Data {
  const n = values.length;
  const out = new BigInt64Array(n);
  const words = new Int32Array(out.buffer);
  const validity = new Validity(n);
  for (let i = 0; i < n; i++) {
    const v = values[i];
    // Numbers are epoch milliseconds, the same reading `new Date(number)` gives them.
    const ms = isDate(v) ? Date.prototype.getTime.call(v) : typeof v === "number" ? v : undefined;
    if (ms === undefined) {
      if (v === null || v === undefined) validity.setNull(i);
      else throw cellError(column, i, v, "datetime");
    } else if (ms !== ms) {
      validity.setNull(i); // Invalid Date and NaN are danfo's missing values
    } else if (!Number.isInteger(ms) || Math.abs(ms) > MAX_DATE_MS) {
      throw precisionError(column, i, `${ms} is not a whole millisecond within the JS Date range`);
    } else {
      writeInt64(words, i, ms);
    }
  }
  return fixedData("datetime", out, validity);
}

function boolFromValues(column: string, values: ArrayLike<unknown>): Data {
  const n = values.length;
  const bits = new Uint8Array((n + 7) >> 3);
  const validity = new Validity(n);
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (v === true) bits[i >> 3]! |= 1 << (i & 7);
    else if (v === false) continue;
    else if (isMissing(v)) validity.setNull(i);
    else throw cellError(column, i, v, "bool");
  }
  const nullCount = validity.nullCount;
  return arrow().makeData({ type: new (arrow().Bool)(), length: n, nullCount, nullBitmap: validity.finish(), data: bits });
}

function stringOf(column: string, row: number, v: unknown): string | null {
  if (typeof v === "string") return v;
  if (isMissing(v)) return null;
  if (typeof v === "number" || typeof v === "boolean" || typeof v === "bigint") return String(v);
  // ISO text, because String(date) depends on the process's time zone.
  if (isDate(v)) return Number.isNaN(v.getTime()) ? null : v.toISOString();
  throw cellError(column, row, v, "string");
}

function utf8Data(offsets: Int32Array, bytes: Uint8Array, validity: Validity): Data {
  const nullCount = validity.nullCount;
  return arrow().makeData({
    type: new (arrow().Utf8)(),
    length: validity.length,
    nullCount,
    nullBitmap: validity.finish(),
    valueOffsets: offsets,
    data: bytes,
  });
}

const MAX_UTF8_BYTES = 2 ** 31 - 1;
const MAX_UTF8_BYTES_PER_UNIT = 3;
const REPLACEMENT_CHARACTER = 0xfffd;

function tooMuchText(column: string): DataFrameError {
  return new DataFrameError(CODE_UNSUPPORTED, `column "${column}" holds more than 2 GiB of text, beyond Utf8's 32-bit offsets`);
}

/**
 * Encodes cells straight into one growing buffer. A hand-written encoder beats
 * both `join` + one `Buffer.from` (the join alone costs ~300 ms per million
 * cells) and a native call per cell; lone surrogates become U+FFFD as in
 * TextEncoder.
 */
function stringFromValues(column: string, values: ArrayLike<unknown>): Data {
  const n = values.length;
  const validity = new Validity(n);
  const offsets = new Int32Array(n + 1);
  // Sized for ASCII first; the first wider character grows it to the worst case.
  let units = 0;
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (typeof v === "string") units += v.length;
  }
  let out: Uint8Array = new Uint8Array(units);
  let pos = 0;
  for (let i = 0; i < n; i++) {
    const s = stringOf(column, i, values[i]);
    if (s === null) {
      validity.setNull(i);
      offsets[i + 1] = pos;
      continue;
    }
    const len = s.length;
    if (pos + len > out.length) out = grow(out, pos, pos + len * MAX_UTF8_BYTES_PER_UNIT);
    for (let k = 0; k < len; k++) {
      let c = s.charCodeAt(k);
      if (c < 0x80) {
        out[pos++] = c;
        continue;
      }
      if (pos + (len - k) * MAX_UTF8_BYTES_PER_UNIT > out.length) {
        out = grow(out, pos, Math.max(2 * out.length, pos + (len - k) * MAX_UTF8_BYTES_PER_UNIT));
      }
      if (c < 0x800) {
        out[pos++] = 0xc0 | (c >> 6);
        out[pos++] = 0x80 | (c & 0x3f);
        continue;
      }
      if (c >= 0xd800 && c <= 0xdfff) {
        const next = k + 1 < len ? s.charCodeAt(k + 1) : 0;
        if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
          const cp = 0x10000 + ((c - 0xd800) << 10) + (next - 0xdc00);
          out[pos++] = 0xf0 | (cp >> 18);
          out[pos++] = 0x80 | ((cp >> 12) & 0x3f);
          out[pos++] = 0x80 | ((cp >> 6) & 0x3f);
          out[pos++] = 0x80 | (cp & 0x3f);
          k++;
          continue;
        }
        c = REPLACEMENT_CHARACTER;
      }
      out[pos++] = 0xe0 | (c >> 12);
      out[pos++] = 0x80 | ((c >> 6) & 0x3f);
      out[pos++] = 0x80 | (c & 0x3f);
    }
    if (pos > MAX_UTF8_BYTES) throw tooMuchText(column);
    offsets[i + 1] = pos;
  }
  return utf8Data(offsets, out.subarray(0, pos), validity);
}

function grow(buffer: Uint8Array, used: number, atLeast: number): Uint8Array {
  const next = new Uint8Array(Math.max(atLeast, buffer.length + (buffer.length >> 1)));
  next.set(buffer.subarray(0, used));
  return next;
}

function dataFromValues(column: string, kind: ColumnKind, values: ArrayLike<unknown>): Data {
  switch (kind) {
    case "int":
      return intFromValues(column, values) ?? floatFromValues(column, values);
    case "float":
      return floatFromValues(column, values);
    case "string":
      return stringFromValues(column, values);
    case "bool":
      return boolFromValues(column, values);
    case "datetime":
      return datetimeFromValues(column, values);
  }
}

// ---------------------------------------------------------------------------
// Arrow column -> canonical Data, straight from the buffers where the layout
// allows; other types go through Vector.get.
// ---------------------------------------------------------------------------

function arrowIntColumn(column: string, chunks: readonly ChunkLike[], n: number): Data {
  const out = new BigInt64Array(n);
  const words = new Int32Array(out.buffer);
  const validity = new Validity(n);
  let base = 0;
  for (const chunk of chunks) {
    const { length, offset, type } = chunk;
    const values = chunk.values!;
    const nulls = hasNulls(chunk);
    if (type.bitWidth === INT64_BIT_WIDTH) {
      const src = int32Words(values);
      const unsigned = type.isSigned === false;
      if (!nulls) words.set(src.subarray(0, 2 * length), 2 * base);
      if (nulls || unsigned) {
        for (let i = 0; i < length; i++) {
          if (nulls && !bitIsSet(chunk.nullBitmap, offset + i)) {
            validity.setNull(base + i);
            continue;
          }
          if (unsigned && src[2 * i + 1]! < 0) {
            throw precisionError(column, base + i, `uint64 ${readBigInt64(src, i) + 2n ** 64n} does not fit in int64`);
          }
          words[2 * (base + i)] = src[2 * i]!;
          words[2 * (base + i) + 1] = src[2 * i + 1]!;
        }
      }
    } else {
      for (let i = 0; i < length; i++) {
        if (nulls && !bitIsSet(chunk.nullBitmap, offset + i)) validity.setNull(base + i);
        else writeInt64(words, base + i, Number(values[i]));
      }
    }
    base += length;
  }
  return fixedData("int", out, validity);
}

function arrowFloatColumn(chunks: readonly ChunkLike[], n: number): Data {
  const out = new Float64Array(n);
  const validity = new Validity(n);
  let base = 0;
  for (const chunk of chunks) {
    const { length, offset } = chunk;
    const values = chunk.values!;
    const nulls = hasNulls(chunk);
    for (let i = 0; i < length; i++) {
      const v = values[i] as number;
      // NaN joins null: danfo cannot tell them apart, and NaN has many bit patterns.
      if ((nulls && !bitIsSet(chunk.nullBitmap, offset + i)) || v !== v) validity.setNull(base + i);
      else out[base + i] = v;
    }
    base += length;
  }
  return fixedData("float", out, validity);
}

function arrowBoolColumn(chunks: readonly ChunkLike[], n: number): Data {
  const bits = new Uint8Array((n + 7) >> 3);
  const validity = new Validity(n);
  let base = 0;
  for (const chunk of chunks) {
    const { length, offset } = chunk;
    const src = bytesOf(chunk.values!);
    const nulls = hasNulls(chunk);
    for (let i = 0; i < length; i++) {
      if (nulls && !bitIsSet(chunk.nullBitmap, offset + i)) validity.setNull(base + i);
      else if (bitIsSet(src, offset + i)) bits[(base + i) >> 3]! |= 1 << ((base + i) & 7);
    }
    base += length;
  }
  const nullCount = validity.nullCount;
  return arrow().makeData({ type: new (arrow().Bool)(), length: n, nullCount, nullBitmap: validity.finish(), data: bits });
}

function arrowUtf8Column(column: string, chunks: readonly ChunkLike[], n: number): Data {
  let capacity = 0;
  for (const chunk of chunks) {
    const offs = chunk.valueOffsets!;
    capacity += (offs[chunk.length] as number) - (offs[0] as number);
  }
  if (capacity > MAX_UTF8_BYTES) throw tooMuchText(column);
  const bytes = new Uint8Array(capacity);
  const offsets = new Int32Array(n + 1);
  const validity = new Validity(n);
  let base = 0;
  let pos = 0;
  for (const chunk of chunks) {
    const { length, offset } = chunk;
    const offs = chunk.valueOffsets! as unknown as Int32Array;
    const src = bytesOf(chunk.values!);
    const nulls = hasNulls(chunk);
    // Copy runs of cells in one call; a null ends a run and drops whatever
    // bytes its slot spans so that null slots are always empty.
    let runStart = 0;
    for (let i = 0; i < length; i++) {
      if (nulls && !bitIsSet(chunk.nullBitmap, offset + i)) {
        bytes.set(src.subarray(offs[runStart]!, offs[i]!), pos);
        pos += offs[i]! - offs[runStart]!;
        runStart = i + 1;
        validity.setNull(base + i);
        offsets[base + i + 1] = pos;
      } else {
        offsets[base + i + 1] = pos + offs[i + 1]! - offs[runStart]!;
      }
    }
    bytes.set(src.subarray(offs[runStart]!, offs[length]!), pos);
    pos += offs[length]! - offs[runStart]!;
    base += length;
  }
  return utf8Data(offsets, bytes.subarray(0, pos), validity);
}

function timeUnitToMs(column: string, row: number, raw: bigint, unit: number): bigint {
  let ms: bigint;
  switch (unit) {
    case arrow().TimeUnit.SECOND:
      ms = raw * MS_PER_SECOND_BIG;
      break;
    case arrow().TimeUnit.MICROSECOND:
      if (raw % MICROS_PER_MS !== 0n) throw precisionError(column, row, `timestamp ${raw}µs has sub-millisecond digits, which the datetime kind cannot hold`);
      ms = raw / MICROS_PER_MS;
      break;
    case arrow().TimeUnit.NANOSECOND:
      if (raw % NANOS_PER_MS !== 0n) throw precisionError(column, row, `timestamp ${raw}ns has sub-millisecond digits, which the datetime kind cannot hold`);
      ms = raw / NANOS_PER_MS;
      break;
    default:
      ms = raw;
  }
  if (ms < INT64_MIN_BIG || ms > INT64_MAX_BIG) throw precisionError(column, row, `timestamp ${raw} overflows int64 milliseconds`);
  return ms;
}

function arrowTemporalColumn(column: string, chunks: readonly ChunkLike[], n: number): Data {
  const out = new BigInt64Array(n);
  const words = new Int32Array(out.buffer);
  const validity = new Validity(n);
  let base = 0;
  for (const chunk of chunks) {
    const { length, offset, type } = chunk;
    const values = chunk.values!;
    const nulls = hasNulls(chunk);
    const isDay = type.typeId === arrow().Type.Date && type.unit === arrow().DateUnit.DAY;
    const isMs = type.typeId === arrow().Type.Date || type.unit === arrow().TimeUnit.MILLISECOND;
    const src = isDay ? undefined : int32Words(values);
    for (let i = 0; i < length; i++) {
      const k = base + i;
      if (nulls && !bitIsSet(chunk.nullBitmap, offset + i)) validity.setNull(k);
      else if (isDay) writeInt64(words, k, (values[i] as number) * MS_PER_DAY);
      else if (isMs) {
        words[2 * k] = src![2 * i]!;
        words[2 * k + 1] = src![2 * i + 1]!;
      } else out[k] = timeUnitToMs(column, k, readBigInt64(src!, i), type.unit!);
    }
    base += length;
  }
  return fixedData("datetime", out, validity);
}

function readVectorValues(vector: VectorLike, n: number): unknown[] {
  const values: unknown[] = [];
  for (let i = 0; i < n; i++) values.push(vector.get(i));
  return values;
}

function canonicalColumn(column: string, vector: VectorLike, type: ArrowTypeLike, n: number): Data {
  const chunks = vector.data;
  switch (type.typeId) {
    case arrow().Type.Int:
      return arrowIntColumn(column, chunks, n);
    case arrow().Type.Float:
      if (type.precision === arrow().Precision.HALF) return floatFromValues(column, readVectorValues(vector, n));
      return arrowFloatColumn(chunks, n);
    case arrow().Type.Bool:
      return arrowBoolColumn(chunks, n);
    case arrow().Type.Utf8:
      return arrowUtf8Column(column, chunks, n);
    case arrow().Type.Date:
    case arrow().Type.Timestamp:
      return arrowTemporalColumn(column, chunks, n);
    case arrow().Type.Null:
      return floatFromValues(column, new Array<null>(n).fill(null));
    default: {
      const kind = kindOfArrowType(type);
      if (kind === undefined) throw unsupportedType(column, type);
      return dataFromValues(column, kind, readVectorValues(vector, n));
    }
  }
}

// ---------------------------------------------------------------------------
// toArrowTable / encodeIPC
// ---------------------------------------------------------------------------

/** Tables this module built; they are canonical already and pass through untouched. */
const canonicalTables = new WeakSet<object>();

function checkUniqueNames(names: readonly string[]): void {
  const seen = new Set<string>();
  for (const name of names) {
    if (seen.has(name)) {
      throw new DataFrameError(CODE_UNSUPPORTED, `column name "${name}" appears twice; column names must be unique`);
    }
    seen.add(name);
  }
}

function assembleTable(names: readonly string[], columns: readonly Data[], n: number): Table {
  const fields = names.map((name, j) => new (arrow().Field)(name, columns[j]!.type, true));
  const schema = new (arrow().Schema)(fields);
  const struct = arrow().makeData({ type: new (arrow().Struct)(fields), length: n, nullCount: 0, children: [...columns] });
  const table = new (arrow().Table)(schema, [new (arrow().RecordBatch)(schema, struct)]);
  canonicalTables.add(table);
  return table;
}

function arrowToCanonical(table: TableLike): Table {
  const fields = table.schema.fields;
  const n = table.numRows;
  // arrow's own Table constructor rejects duplicate names, so say why up front.
  checkUniqueNames(fields.map((f) => String(f.name)));
  const columns: Data[] = [];
  for (let j = 0; j < fields.length; j++) {
    const field = fields[j]!;
    const vector = table.getChildAt(j);
    if (!vector) throw new DataFrameError(CODE_TYPE, `Arrow table has no data for column "${field.name}"`);
    columns.push(canonicalColumn(field.name, vector, field.type, n));
  }
  return assembleTable(fields.map((f) => String(f.name)), columns, n);
}

const DANFO_INT = "int32";
const DANFO_FLOAT = "float32";
const DANFO_STRING = "string";
const DANFO_BOOL = "boolean";
const DANFO_DATETIME = "datetime";

const DANFO_DTYPE: Record<ColumnKind, string> = {
  int: DANFO_INT,
  float: DANFO_FLOAT,
  string: DANFO_STRING,
  bool: DANFO_BOOL,
  datetime: DANFO_DATETIME,
};

/**
 * Kind of a danfo column. The dtype decides, except that danfo infers dtypes
 * from the first 20 rows and counts a missing value as float32: a float32
 * (or unknown) column whose first present value is a boolean, Date or string
 * is taken as bool, datetime or string. An int32 column that turns out to
 * hold a fraction further down is widened to float by dataFromValues.
 */
function kindOfDanfoColumn(dtype: string | undefined, values: ArrayLike<unknown>): ColumnKind {
  switch (dtype) {
    case DANFO_INT:
      return "int";
    case DANFO_STRING:
      return "string";
    case DANFO_BOOL:
      return "bool";
    case DANFO_DATETIME:
      return "datetime";
  }
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (isMissing(v)) continue;
    if (typeof v === "boolean") return "bool";
    if (typeof v === "string") return "string";
    if (isDate(v)) return "datetime";
    return "float";
  }
  return "float";
}

function danfoColumn(df: DanfoFrameInternals, j: number, rows: number): ArrayLike<unknown> {
  if (df.$config?.isLowMemoryMode !== true && Array.isArray(df.$dataIncolumnFormat)) {
    let col = df.$dataIncolumnFormat[j];
    // `df[name] = series` stores the Series itself in the column cache.
    if (isRecord(col) && !Array.isArray(col) && Array.isArray(col.$data)) col = col.$data;
    if (Array.isArray(col) && col.length === rows) return col;
  }
  const out: unknown[] = [];
  for (let i = 0; i < rows; i++) {
    const row = df.$data[i];
    if (!Array.isArray(row)) {
      throw new DataFrameError(CODE_UNSUPPORTED, `danfo DataFrame row ${i} is ${describeValue(row)}, not an array of cells`);
    }
    out.push(row[j]);
  }
  return out;
}

function danfoToCanonical(df: DanfoFrameInternals): Table {
  const names = df.$columns.map(String);
  const rows = df.$data.length;
  const columns: Data[] = [];
  for (let j = 0; j < names.length; j++) {
    const values = danfoColumn(df, j, rows);
    columns.push(dataFromValues(names[j]!, kindOfDanfoColumn(df.$dtypes[j], values), values));
  }
  return assembleTable(names, columns, rows);
}

/**
 * Canonical single-batch Arrow Table for a danfo DataFrame or an Arrow Table
 * (see the module comment for the canonical form). A table this function
 * returned comes back as is, so treat results as immutable. Throws
 * DataFrameError DATAFRAME_TYPE naming what it got for anything else.
 */
export function toArrowTable(value: unknown): Table {
  if (isArrowTable(value)) {
    if (canonicalTables.has(value)) return value;
    return arrowToCanonical(value as unknown as TableLike);
  }
  if (isDanfoDataFrame(value)) return danfoToCanonical(value as DanfoFrameInternals);
  const got = describeValue(value);
  throw new DataFrameError(CODE_TYPE, `expected a danfo DataFrame or an Arrow Table, got ${got}`, { actual: got });
}

const IPC_STREAM = "stream";

/** Canonical, deterministic Arrow IPC stream bytes for a danfo DataFrame or Arrow Table. */
export function encodeIPC(value: unknown): Uint8Array {
  return arrow().tableToIPC(toArrowTable(value), IPC_STREAM);
}

// ---------------------------------------------------------------------------
// decodeIPC: check the stream framing, let arrow parse it, then check that
// every buffer covers what its column claims, because arrow silently clamps
// short buffers and stops quietly at a message boundary.
// ---------------------------------------------------------------------------

const CONTINUATION_MARKER = 0xffffffff;
const FRAME_PREFIX_BYTES = 8;
const HEADER_SCHEMA = 1;
const HEADER_DICTIONARY_BATCH = 2;
const HEADER_RECORD_BATCH = 3;
const VTABLE_FIELDS_START = 4;
const VTABLE_ENTRY_BYTES = 2;
const UOFFSET_BYTES = 4;
const FIELD_NODE_BYTES = 16;
const BUFFER_SPEC_BYTES = 16;
const INT64_BYTES = 8;
/** Deeper nesting than this is taken as corruption rather than a real schema. */
const MAX_FIELD_DEPTH = 64;

// Field ids in Arrow's Message.fbs and Schema.fbs.
const MESSAGE_HEADER_TYPE = 1;
const MESSAGE_HEADER = 2;
const MESSAGE_BODY_LENGTH = 3;
const MESSAGE_CUSTOM_METADATA = 4;
const SCHEMA_FIELDS = 1;
const SCHEMA_CUSTOM_METADATA = 2;
const SCHEMA_FEATURES = 3;
const FIELD_NAME = 0;
const FIELD_TYPE_TYPE = 2;
const FIELD_TYPE = 3;
const FIELD_DICTIONARY = 4;
const FIELD_CHILDREN = 5;
const FIELD_CUSTOM_METADATA = 6;
const DICTIONARY_ENCODING_INDEX_TYPE = 1;
const KEY_VALUE_KEY = 0;
const KEY_VALUE_VALUE = 1;
const RECORD_BATCH_LENGTH = 0;
const RECORD_BATCH_NODES = 1;
const RECORD_BATCH_BUFFERS = 2;
const RECORD_BATCH_COMPRESSION = 3;
const RECORD_BATCH_VARIADIC_COUNTS = 4;
const DICTIONARY_BATCH_DATA = 1;
/** Type-union members whose tables hold more than scalars. */
const TYPE_TIMESTAMP = 10;
const TYPE_UNION = 14;
const TIMESTAMP_TIMEZONE = 1;
const UNION_TYPE_IDS = 1;

function decodeError(detail: string, cause?: unknown): DataFrameError {
  return new DataFrameError(CODE_DECODE, `not a valid Arrow IPC stream: ${detail}`, {}, cause === undefined ? undefined : { cause });
}

interface MessageHead {
  headerType: number;
  bodyLength: number;
}

/**
 * Bounds-checks one message's flatbuffer metadata before arrow reads it.
 * Arrow's flatbuffer reader trusts lengths, so a corrupt vector length makes
 * it build millions of fields until the heap runs out; this walks every
 * table, vector and string arrow will visit and rejects anything outside the
 * metadata bytes.
 */
class MetadataVerifier {
  constructor(
    private readonly view: DataView,
    private readonly start: number,
    private readonly end: number,
  ) {}

  private fail(what: string): never {
    throw decodeError(`message metadata at byte ${this.start} is malformed (${what})`);
  }

  private need(at: number, size: number, what: string): void {
    if (!(at >= this.start && size >= 0 && at + size <= this.end)) this.fail(what);
  }

  /** Position of field `id` in the table at `table`, or 0 when absent. */
  private fieldPos(table: number, id: number, size: number): number {
    const vtable = table - this.view.getInt32(table, true);
    this.need(vtable, VTABLE_FIELDS_START, "vtable");
    const vtableSize = this.view.getUint16(vtable, true);
    const tableSize = this.view.getUint16(vtable + 2, true);
    this.need(vtable, vtableSize, "vtable size");
    this.need(table, tableSize, "table size");
    const entry = VTABLE_FIELDS_START + VTABLE_ENTRY_BYTES * id;
    if (entry + VTABLE_ENTRY_BYTES > vtableSize) return 0;
    const rel = this.view.getUint16(vtable + entry, true);
    if (rel === 0) return 0;
    this.need(table + rel, size, "field");
    return table + rel;
  }

  table(at: number): number {
    this.need(at, UOFFSET_BYTES, "table");
    this.fieldPos(at, 0, 0); // validates the vtable
    return at;
  }

  private deref(at: number): number {
    const target = at + this.view.getUint32(at, true);
    this.need(target, UOFFSET_BYTES, "reference");
    return target;
  }

  root(): number {
    this.need(this.start, UOFFSET_BYTES, "root");
    return this.table(this.deref(this.start));
  }

  child(table: number, id: number): number {
    const at = this.fieldPos(table, id, UOFFSET_BYTES);
    return at === 0 ? 0 : this.table(this.deref(at));
  }

  u8(table: number, id: number): number {
    const at = this.fieldPos(table, id, 1);
    return at === 0 ? 0 : this.view.getUint8(at);
  }

  int64(table: number, id: number): number {
    const at = this.fieldPos(table, id, INT64_BYTES);
    if (at === 0) return 0;
    const high = this.view.getInt32(at + 4, true);
    if (high < -SAFE_HIGH_WORD_LIMIT || high >= SAFE_HIGH_WORD_LIMIT) this.fail("64-bit value out of range");
    return high * TWO_POW_32 + this.view.getUint32(at, true);
  }

  /** Element positions of a vector field, each `elementSize` bytes. */
  vector(table: number, id: number, elementSize: number): { first: number; length: number } {
    const at = this.fieldPos(table, id, UOFFSET_BYTES);
    if (at === 0) return { first: 0, length: 0 };
    const vec = this.deref(at);
    const length = this.view.getUint32(vec, true);
    this.need(vec + UOFFSET_BYTES, length * elementSize, "vector length");
    return { first: vec + UOFFSET_BYTES, length };
  }

  tables(table: number, id: number): number[] {
    const { first, length } = this.vector(table, id, UOFFSET_BYTES);
    const out: number[] = [];
    for (let i = 0; i < length; i++) out.push(this.table(this.deref(first + i * UOFFSET_BYTES)));
    return out;
  }

  string(table: number, id: number): void {
    this.vector(table, id, 1);
  }

  keyValues(table: number, id: number): void {
    for (const kv of this.tables(table, id)) {
      this.string(kv, KEY_VALUE_KEY);
      this.string(kv, KEY_VALUE_VALUE);
    }
  }

  field(table: number, depth: number): void {
    if (depth > MAX_FIELD_DEPTH) this.fail("fields nested too deeply");
    this.string(table, FIELD_NAME);
    const typeType = this.u8(table, FIELD_TYPE_TYPE);
    const type = this.child(table, FIELD_TYPE);
    if (type !== 0 && typeType === TYPE_TIMESTAMP) this.string(type, TIMESTAMP_TIMEZONE);
    if (type !== 0 && typeType === TYPE_UNION) this.vector(type, UNION_TYPE_IDS, UOFFSET_BYTES);
    const dictionary = this.child(table, FIELD_DICTIONARY);
    if (dictionary !== 0) this.child(dictionary, DICTIONARY_ENCODING_INDEX_TYPE);
    for (const child of this.tables(table, FIELD_CHILDREN)) this.field(child, depth + 1);
    this.keyValues(table, FIELD_CUSTOM_METADATA);
  }

  recordBatch(table: number): void {
    this.int64(table, RECORD_BATCH_LENGTH);
    this.vector(table, RECORD_BATCH_NODES, FIELD_NODE_BYTES);
    this.vector(table, RECORD_BATCH_BUFFERS, BUFFER_SPEC_BYTES);
    this.child(table, RECORD_BATCH_COMPRESSION);
    this.vector(table, RECORD_BATCH_VARIADIC_COUNTS, INT64_BYTES);
  }

  message(): MessageHead {
    const root = this.root();
    const headerType = this.u8(root, MESSAGE_HEADER_TYPE);
    const header = this.child(root, MESSAGE_HEADER);
    const bodyLength = this.int64(root, MESSAGE_BODY_LENGTH);
    if (bodyLength < 0) this.fail("negative body length");
    this.keyValues(root, MESSAGE_CUSTOM_METADATA);
    if (header === 0) this.fail("no header");
    if (headerType === HEADER_SCHEMA) {
      for (const field of this.tables(header, SCHEMA_FIELDS)) this.field(field, 0);
      this.keyValues(header, SCHEMA_CUSTOM_METADATA);
      this.vector(header, SCHEMA_FEATURES, INT64_BYTES);
    } else if (headerType === HEADER_RECORD_BATCH) {
      this.recordBatch(header);
    } else if (headerType === HEADER_DICTIONARY_BATCH) {
      const data = this.child(header, DICTIONARY_BATCH_DATA);
      if (data === 0) this.fail("dictionary batch without data");
      this.recordBatch(data);
    }
    return { headerType, bodyLength };
  }
}

function checkStreamFraming(bytes: Uint8Array): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const total = bytes.byteLength;
  if (total === 0) throw decodeError("empty buffer");
  let pos = 0;
  let messages = 0;
  for (;;) {
    if (pos + FRAME_PREFIX_BYTES > total) {
      throw decodeError(`stream ends at byte ${total} without the end-of-stream marker (truncated?)`);
    }
    if (view.getUint32(pos, true) !== CONTINUATION_MARKER) {
      throw decodeError(`expected a message at byte ${pos}, found no continuation marker`);
    }
    const metadataLength = view.getInt32(pos + 4, true);
    pos += FRAME_PREFIX_BYTES;
    if (metadataLength === 0) break;
    if (metadataLength < 0 || pos + metadataLength > total) {
      throw decodeError(`message at byte ${pos - FRAME_PREFIX_BYTES} claims ${metadataLength} metadata bytes; ${total - pos} remain (truncated?)`);
    }
    const { headerType, bodyLength } = new MetadataVerifier(view, pos, pos + metadataLength).message();
    const expected = messages === 0 ? [HEADER_SCHEMA] : [HEADER_DICTIONARY_BATCH, HEADER_RECORD_BATCH];
    if (!expected.includes(headerType)) {
      throw decodeError(`message ${messages} has header type ${headerType}; ${messages === 0 ? "a stream starts with its schema" : "expected a record or dictionary batch"}`);
    }
    pos += metadataLength;
    if (pos + bodyLength > total) {
      throw decodeError(`message ${messages} claims a ${bodyLength}-byte body; ${total - pos} bytes remain (truncated?)`);
    }
    pos += bodyLength;
    messages++;
  }
  if (messages === 0) throw decodeError("stream has no schema");
  if (pos !== total) throw decodeError(`${total - pos} bytes follow the end-of-stream marker`);
}

function checkOffsets(offsets: BufferLike | undefined, length: number, limit: number, where: string): void {
  if (!offsets || offsets.length < length + 1) throw decodeError(`${where}: offsets buffer is short`);
  let prev = Number(offsets[0]);
  if (!(prev >= 0)) throw decodeError(`${where}: negative offset`);
  for (let i = 1; i <= length; i++) {
    const next = Number(offsets[i]);
    if (!(next >= prev)) throw decodeError(`${where}: offsets decrease at ${i}`);
    prev = next;
  }
  if (prev > limit) throw decodeError(`${where}: offsets run past the data buffer`);
}

function checkChunk(chunk: ChunkLike, where: string): void {
  const { length, offset, type } = chunk;
  const end = offset + length;
  if (!(length >= 0) || !(chunk.nullCount <= length)) throw decodeError(`${where}: impossible length or null count`);
  if (type.typeId !== arrow().Type.Null && chunk.nullCount > 0 && (!chunk.nullBitmap || chunk.nullBitmap.length * 8 < end)) {
    throw decodeError(`${where}: validity bitmap is short`);
  }
  const values = chunk.values;
  const children = chunk.children ?? [];
  switch (type.typeId) {
    case arrow().Type.Int:
    case arrow().Type.Float:
    case arrow().Type.Date:
    case arrow().Type.Time:
    case arrow().Type.Timestamp:
    case arrow().Type.Duration:
    case arrow().Type.Interval:
    case arrow().Type.Decimal:
    case arrow().Type.FixedSizeBinary:
      if (length > 0 && (!values || values.length < length * chunk.stride)) throw decodeError(`${where}: data buffer is short`);
      break;
    case arrow().Type.Bool:
      if (length > 0 && (!values || values.length * 8 < end)) throw decodeError(`${where}: data buffer is short`);
      break;
    case arrow().Type.Utf8:
    case arrow().Type.Binary:
    case arrow().Type.LargeUtf8:
    case arrow().Type.LargeBinary:
      checkOffsets(chunk.valueOffsets, length, values?.length ?? 0, where);
      break;
    case arrow().Type.List:
    case arrow().Type.LargeList:
    case arrow().Type.Map:
      checkOffsets(chunk.valueOffsets, length, children[0]?.length ?? 0, where);
      break;
    case arrow().Type.Dictionary: {
      if (length > 0 && (!values || values.length < length)) throw decodeError(`${where}: index buffer is short`);
      const size = chunk.dictionary?.length ?? 0;
      const nulls = hasNulls(chunk);
      for (let i = 0; i < length; i++) {
        if (nulls && !bitIsSet(chunk.nullBitmap, offset + i)) continue;
        const index = Number(values![i]);
        if (!(index >= 0 && index < size)) throw decodeError(`${where}: dictionary index ${index} out of range`);
      }
      for (const piece of chunk.dictionary?.data ?? []) checkChunk(piece, `${where} dictionary`);
      break;
    }
  }
  for (const child of children) checkChunk(child, where);
}

/**
 * Lazy Arrow Table over `bytes` without copying them (so the caller must not
 * reuse the buffer). Anything but a complete, well-formed IPC stream - random,
 * truncated or empty bytes - throws DataFrameError DATAFRAME_DECODE.
 */
export function decodeIPC(bytes: Uint8Array): Table {
  if (Object.prototype.toString.call(bytes) !== UINT8ARRAY_TAG) {
    throw decodeError(`expected a Uint8Array, got ${describeValue(bytes)}`);
  }
  checkStreamFraming(bytes);
  let table: Table;
  try {
    table = arrow().tableFromIPC(bytes);
  } catch (err) {
    throw decodeError(err instanceof Error ? err.message : String(err), err);
  }
  const like = table as unknown as TableLike;
  const fields = like.schema.fields;
  for (const batch of like.batches) {
    if (batch.data.length < 0) throw decodeError("negative batch length");
    const children = batch.data.children ?? [];
    if (children.length !== fields.length) throw decodeError("record batch does not match its schema");
    children.forEach((chunk, j) => {
      if (chunk.length < batch.data.length) throw decodeError(`column "${fields[j]!.name}" is shorter than its batch`);
      checkChunk(chunk, `column "${fields[j]!.name}"`);
    });
  }
  return table;
}

// ---------------------------------------------------------------------------
// tableToDanfo
// ---------------------------------------------------------------------------

let danfoModule: DanfoModule | undefined;

/** danfo (and TensorFlow behind it) takes seconds to import, so it loads on first use only. */
function loadDanfo(): DanfoModule {
  danfoModule ??= createRequire(import.meta.url)("danfojs-node") as DanfoModule;
  return danfoModule;
}

const utf8Fatal = new TextDecoder("utf-8", { fatal: true });
const utf8Lenient = new TextDecoder("utf-8");
const UTF8_CONTINUATION_MASK = 0xc0;
const UTF8_CONTINUATION_BITS = 0x80;
const UTF8_FOUR_BYTE_LEAD = 0xf0;

/**
 * Destination of one column's cells: danfo keeps every cell twice, in its
 * column arrays and in its row arrays, so readers write both in one pass.
 */
interface CellSink {
  readonly column: unknown[];
  readonly rows: unknown[][];
  readonly slot: number;
}

/**
 * Decodes a chunk's whole text buffer once and slices cells out of it, which
 * is several times faster than a decoder call per cell. Byte offsets map to
 * UTF-16 offsets by counting lead bytes; invalid UTF-8 or an offset inside a
 * character falls back to per-cell decoding with replacement characters.
 */
function readUtf8Chunk(chunk: ChunkLike, sink: CellSink, base: number): void {
  const { length, offset } = chunk;
  const { column, rows, slot } = sink;
  const offs = chunk.valueOffsets! as unknown as Int32Array;
  const bytes = bytesOf(chunk.values!);
  const nulls = hasNulls(chunk);
  const first = offs[0]!;
  const last = offs[length]!;
  let text: string | undefined;
  try {
    text = utf8Fatal.decode(bytes.subarray(first, last));
  } catch {
    text = undefined;
  }
  let starts: Float64Array | undefined;
  if (text !== undefined && text.length !== last - first) {
    starts = new Float64Array(length + 1);
    let unit = 0;
    let at = first;
    for (let i = 0; i <= length; i++) {
      const target = offs[i]!;
      for (; at < target; at++) {
        const b = bytes[at]!;
        if ((b & UTF8_CONTINUATION_MASK) !== UTF8_CONTINUATION_BITS) unit += b >= UTF8_FOUR_BYTE_LEAD ? 2 : 1;
      }
      if (target < last && (bytes[target]! & UTF8_CONTINUATION_MASK) === UTF8_CONTINUATION_BITS) {
        text = undefined;
        break;
      }
      starts[i] = unit;
    }
  }
  for (let i = 0; i < length; i++) {
    let v: string | null;
    if (nulls && !bitIsSet(chunk.nullBitmap, offset + i)) v = null;
    else if (text === undefined) v = utf8Lenient.decode(bytes.subarray(offs[i]!, offs[i + 1]!));
    else if (starts === undefined) v = text.slice(offs[i]! - first, offs[i + 1]! - first);
    else v = text.slice(starts[i]!, starts[i + 1]!);
    column[base + i] = v;
    rows[base + i]![slot] = v;
  }
}

/** Fills a sink from chunks with the canonical layout; missing numbers become NaN, other missing cells null. */
function readCanonicalColumn(name: string, kind: ColumnKind, chunks: readonly ChunkLike[], sink: CellSink): void {
  const { column, rows, slot } = sink;
  let base = 0;
  for (const chunk of chunks) {
    const { length, offset } = chunk;
    const nulls = hasNulls(chunk);
    const bitmap = chunk.nullBitmap;
    switch (kind) {
      case "int": {
        const words = int32Words(chunk.values!);
        for (let i = 0; i < length; i++) {
          const v = nulls && !bitIsSet(bitmap!, offset + i) ? NaN : readInt64(words, i, name, base + i);
          column[base + i] = v;
          rows[base + i]![slot] = v;
        }
        break;
      }
      case "float": {
        const values = chunk.values!;
        for (let i = 0; i < length; i++) {
          const v = nulls && !bitIsSet(bitmap!, offset + i) ? NaN : values[i];
          column[base + i] = v;
          rows[base + i]![slot] = v;
        }
        break;
      }
      case "bool": {
        const bits = bytesOf(chunk.values!);
        for (let i = 0; i < length; i++) {
          const v = nulls && !bitIsSet(bitmap!, offset + i) ? null : bitIsSet(bits, offset + i);
          column[base + i] = v;
          rows[base + i]![slot] = v;
        }
        break;
      }
      case "datetime": {
        const words = int32Words(chunk.values!);
        for (let i = 0; i < length; i++) {
          let v: Date | null = null;
          if (!nulls || bitIsSet(bitmap!, offset + i)) {
            const ms = readInt64(words, i, name, base + i);
            if (Math.abs(ms) > MAX_DATE_MS) throw precisionError(name, base + i, `${ms} ms lies outside the JS Date range`);
            v = new Date(ms);
          }
          column[base + i] = v;
          rows[base + i]![slot] = v;
        }
        break;
      }
      case "string":
        readUtf8Chunk(chunk, sink, base);
        break;
    }
    base += length;
  }
}

/**
 * Makes a danfo DataFrame the way danfo's constructor would (rows, column
 * cache, index, dtypes, column accessors) from ready arrays, skipping danfo's
 * two transposes, index de-duplication and dtype inference.
 */
function buildDanfoFrame(names: string[], dtypes: string[], columns: unknown[][], rows: unknown[][]): DanfoFrameInternals {
  const { DataFrame } = loadDanfo();
  const df = new DataFrame([], { columns: [], dtypes: [] });
  const n = rows.length;
  const index: number[] = new Array<number>(n);
  for (let i = 0; i < n; i++) index[i] = i;
  df.$data = rows;
  df.$dataIncolumnFormat = columns;
  df.$index = index;
  df.$columns = names;
  df.$dtypes = dtypes;
  df.$setInternalColumnDataProperty();
  return df;
}

/**
 * danfo DataFrame from an Arrow Table (any supported types, any number of
 * batches). Missing ints and floats become NaN, other missing cells null,
 * datetimes JS Dates. Int64 values beyond ±2^53 throw DATAFRAME_PRECISION
 * rather than silently rounding. Loads danfo on first call.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- danfo's own DataFrame typings do not cover column accessors
export function tableToDanfo(table: Table): any {
  const like = asTable(table);
  const fields = like.schema.fields;
  const n = like.numRows;
  const width = fields.length;
  checkUniqueNames(fields.map((f) => String(f.name)));
  const names: string[] = [];
  const dtypes: string[] = [];
  const columns: unknown[][] = [];
  // Exact-size arrays: growing by push would give every 4-cell row a 17-slot
  // backing store and copy the million-slot columns as they grow. Rows are
  // copies of a null-filled template so they start with generic elements and
  // never reallocate when a number and then a string are stored in them.
  const rowTemplate = new Array<unknown>(width).fill(null);
  const rows: unknown[][] = new Array<unknown[]>(n);
  for (let i = 0; i < n; i++) rows[i] = rowTemplate.slice();
  for (let j = 0; j < width; j++) {
    const { name, type } = fields[j]!;
    const label = String(name);
    const kind = kindOfArrowType(type);
    if (kind === undefined) throw unsupportedType(label, type);
    const vector = like.getChildAt(j);
    if (!vector) throw new DataFrameError(CODE_TYPE, `Arrow table has no data for column "${label}"`);
    const chunks: readonly ChunkLike[] = hasCanonicalLayout(type)
      ? vector.data
      : [canonicalColumn(label, vector, type, n) as unknown as ChunkLike];
    const column = new Array<unknown>(n);
    readCanonicalColumn(label, kind, chunks, { column, rows, slot: j });
    names.push(label);
    dtypes.push(DANFO_DTYPE[kind]);
    columns.push(column);
  }
  return buildDanfoFrame(names, dtypes, columns, rows);
}

// ---------------------------------------------------------------------------
// Schemas
// ---------------------------------------------------------------------------

function asTable(table: Table): TableLike {
  if (!isArrowTable(table)) {
    const got = describeValue(table);
    throw new DataFrameError(CODE_TYPE, `expected an Arrow Table, got ${got}`, { actual: got });
  }
  return table as unknown as TableLike;
}

function columnNullCount(table: TableLike, j: number): number {
  const vector = table.getChildAt(j);
  if (!vector) return 0;
  let nulls = 0;
  for (const chunk of vector.data) nulls += chunk.type.typeId === arrow().Type.Null ? chunk.length : Math.max(chunk.nullCount, 0);
  return nulls;
}

/**
 * Column names and kinds of a table, in order. `nullable` reports whether the
 * column actually holds nulls (NaN in a float column counts once the table is
 * canonical), so `checkSchema(t, schemaOf(t), ...)` always passes.
 * Throws DATAFRAME_UNSUPPORTED for a column type with no kind.
 */
export function schemaOf(table: Table): ColumnSchema[] {
  const like = asTable(table);
  return like.schema.fields.map((field, j) => {
    const kind = kindOfArrowType(field.type);
    if (kind === undefined) throw unsupportedType(field.name, field.type);
    return { name: field.name, kind, nullable: columnNullCount(like, j) > 0 };
  });
}

/**
 * Checks that `table` has every expected column with the expected kind, and no
 * nulls where `nullable: false`; extra columns are allowed. Throws
 * DataFrameError DATAFRAME_SCHEMA naming `where` and the offending column.
 */
export function checkSchema(table: Table, expected: ColumnSchema[], where: string): void {
  const like = asTable(table);
  const fields = like.schema.fields;
  for (const want of expected) {
    const j = fields.findIndex((f) => f.name === want.name);
    if (j < 0) {
      const present = fields.map((f) => `"${f.name}"`).join(", ") || "none";
      throw new DataFrameError(
        CODE_SCHEMA,
        `${where}: missing column "${want.name}" (expected kind ${want.kind}); columns present: ${present}`,
        { where, column: want.name, expected: want.kind },
      );
    }
    const actual = kindOfArrowType(fields[j]!.type);
    if (actual !== want.kind) {
      const shown = actual ?? `unsupported Arrow type ${String(fields[j]!.type)}`;
      throw new DataFrameError(CODE_SCHEMA, `${where}: column "${want.name}" has kind ${shown}, expected ${want.kind}`, {
        where,
        column: want.name,
        expected: want.kind,
        actual: shown,
      });
    }
    if (want.nullable === false) {
      const nulls = columnNullCount(like, j);
      if (nulls > 0) {
        throw new DataFrameError(CODE_SCHEMA, `${where}: column "${want.name}" holds ${nulls} null(s) but is declared non-nullable`, {
          where,
          column: want.name,
          nulls,
        });
      }
    }
  }
}
