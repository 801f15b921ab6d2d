/**
 * The benchmark DataFrame: 1e6 rows of four columns, one per common kind
 * (int, float, string, bool), as plain JS column arrays. Built deterministically
 * so every run (and the Python peer) sees the same data.
 */
import { createRequire } from "node:module";
import { Bool, Table, Utf8, makeData, makeVector, vectorFromArray } from "apache-arrow";

/** Rows of the benchmark DataFrame. */
export const ROWS = 1_000_000;

/** The four columns as JS arrays, the way danfo holds them. */
export interface Columns {
  id: number[];
  value: number[];
  name: string[];
  flag: boolean[];
}

/** Deterministic columns: id = i, value = i / 4 + 0.1, name = `user_<i>`, flag = i % 3 == 0. */
export function makeColumns(rows: number = ROWS): Columns {
  const id = new Array<number>(rows);
  const value = new Array<number>(rows);
  const name = new Array<string>(rows);
  const flag = new Array<boolean>(rows);
  for (let i = 0; i < rows; i++) {
    id[i] = i;
    value[i] = i / 4 + 0.1;
    name[i] = `user_${i}`;
    flag[i] = i % 3 === 0;
  }
  return { id, value, name, flag };
}

/**
 * The columns as an Arrow Table built with apache-arrow's own builders, with the
 * canonical column types (Int64, Float64, Utf8, Bool): the raw-library way.
 */
export function arrowTableOf(c: Columns): Table {
  return new Table({
    id: makeVector(BigInt64Array.from(c.id, (v) => BigInt(v))),
    value: makeVector(Float64Array.from(c.value)),
    name: vectorFromArray(c.name, new Utf8()),
    flag: vectorFromArray(c.flag, new Bool()),
  });
}

/**
 * The same table with the string and bool buffers written by hand and wrapped
 * with makeData: the fastest way apache-arrow offers, bypassing its builders.
 */
export function arrowTableByHand(c: Columns): Table {
  const n = c.name.length;
  const offsets = new Int32Array(n + 1);
  let bytes = new Uint8Array(n * 8);
  const encoder = new TextEncoder();
  let used = 0;
  for (let i = 0; i < n; i++) {
    const s = c.name[i]!;
    if (used + s.length * 3 > bytes.length) {
      const grown = new Uint8Array(Math.max(bytes.length * 2, used + s.length * 3));
      grown.set(bytes.subarray(0, used));
      bytes = grown;
    }
    used += encoder.encodeInto(s, bytes.subarray(used)).written;
    offsets[i + 1] = used;
  }
  const bits = new Uint8Array((n + 7) >> 3);
  for (let i = 0; i < n; i++) if (c.flag[i]) bits[i >> 3]! |= 1 << (i & 7);
  return new Table({
    id: makeVector(BigInt64Array.from(c.id, (v) => BigInt(v))),
    value: makeVector(Float64Array.from(c.value)),
    name: makeVector(makeData({ type: new Utf8(), length: n, nullCount: 0, valueOffsets: offsets, data: bytes.subarray(0, used) })),
    flag: makeVector(makeData({ type: new Bool(), length: n, nullCount: 0, data: bits })),
  });
}

/** danfo's DataFrame constructor. danfo (and TensorFlow behind it) loads on first call: seconds. */
export function danfoDataFrame(): new (data: Record<string, unknown[]>) => unknown {
  const danfo = createRequire(import.meta.url)("danfojs-node") as { DataFrame: new (data: Record<string, unknown[]>) => unknown };
  return danfo.DataFrame;
}
