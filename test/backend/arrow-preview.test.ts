// Arrow previews through the data API: every row range and column selection
// equals slicing the decoded table, whatever the layout (one batch or many,
// nulls, strings, booleans, dictionaries, nested columns), and a preview of a
// large single-batch blob reads a small fraction of its bytes.
import {
  Bool,
  DateMillisecond,
  Float64,
  Int32,
  Int64,
  List,
  Field,
  Table,
  TimestampMillisecond,
  Utf8,
  tableFromArrays,
  tableFromIPC,
  tableToIPC,
  vectorFromArray,
  type RecordBatch,
} from "apache-arrow";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createFileBlobStore, createTestBackend, type BlobStore, type TestBackend } from "../../backend/index.js";
import { encodeIPC, sha256 } from "../../kernel/index.js";
import { mkdtempSync, rmSync } from "node:fs";
import { Readable } from "node:stream";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A blob store that counts the bytes it serves. */
function counting(inner: BlobStore): BlobStore & { served: number } {
  const store = {
    ...inner,
    served: 0,
    async get(hash: string, range?: { start: number; end: number }) {
      const read = await inner.get(hash, range);
      if (!read) return read;
      const source = read.body;
      const body = Readable.from(
        (async function* () {
          for await (const c of source) {
            store.served += (c as Buffer).byteLength;
            yield c as Buffer;
          }
        })(),
      );
      return { ...read, body };
    },
  };
  return store;
}

const rowsOf = (t: Table) => t.toArray().map((r) => JSON.stringify(r.toJSON(), (_, v: unknown) => (typeof v === "bigint" ? v.toString() : v)));

function mixed(n: number): Table {
  const ints = Array.from({ length: n }, (_, i) => (i % 7 === 3 ? null : i));
  return new Table({
    id: vectorFromArray(ints.map((v) => (v === null ? null : BigInt(v))), new Int64()),
    small: vectorFromArray(ints, new Int32()),
    value: vectorFromArray(ints.map((v) => (v === null ? null : v / 4)), new Float64()),
    name: vectorFromArray(ints.map((v) => (v === null ? null : `name-${v}-${"é".repeat(v % 3)}`)), new Utf8()),
    flag: vectorFromArray(ints.map((v) => (v === null ? null : v % 3 === 0)), new Bool()),
    day: vectorFromArray(ints.map((v) => (v === null ? null : new Date(Date.UTC(2025, 0, 1) + v * 86_400_000))), new DateMillisecond()),
    at: vectorFromArray(ints.map((v) => (v === null ? null : Date.UTC(2025, 0, 1) + v * 1000)), new TimestampMillisecond()),
  });
}

function multiBatch(n: number, per: number): Uint8Array {
  const whole = mixed(n);
  const batches: RecordBatch[] = [];
  for (let i = 0; i < n; i += per) batches.push(...whole.slice(i, i + per).batches);
  return tableToIPC(new Table(batches), "stream");
}

let backend: TestBackend;
let blobs: BlobStore & { served: number };
let dir: string;

async function upload(bytes: Uint8Array): Promise<string> {
  const hash = sha256(bytes);
  const res = await backend.request(`/projects/demo/blobs/${hash}`, { method: "PUT", body: Buffer.from(bytes) });
  if (res.status >= 300) throw new Error(await res.text());
  return hash;
}

async function preview(hash: string, query: string): Promise<Table> {
  const res = await backend.request(`/projects/demo/blobs/${hash}?${query}`);
  if (res.status !== 200) throw new Error(`${res.status} ${await res.text()}`);
  expect(res.headers.get("content-type")).toBe("application/vnd.apache.arrow.stream");
  return tableFromIPC(new Uint8Array(await res.arrayBuffer()));
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "petrel-preview-"));
  blobs = counting(createFileBlobStore({ root: dir, durable: false }));
  backend = await createTestBackend({ blobs });
  await backend.createProject("demo");
});
afterAll(async () => {
  await backend.close();
  rmSync(dir, { recursive: true, force: true });
});

const SLICES: [number, number | undefined, string[] | undefined][] = [
  [0, 10, undefined],
  [3, 17, ["name", "id"]],
  [7, 1, ["flag"]],
  [13, 50, ["value", "flag", "at"]],
  [95, undefined, ["small", "day"]],
  [0, 0, ["name"]],
  [150, 10, undefined],
];

describe.each([
  ["the kernel's canonical encoding (one batch)", () => encodeIPC(mixed(100))],
  ["a raw arrow table (one batch, mixed types, nulls)", () => tableToIPC(mixed(100), "stream")],
  ["many small batches", () => multiBatch(100, 9)],
  ["dictionary-encoded strings (read batch by batch)", () => tableToIPC(tableFromArrays({ id: Int32Array.from({ length: 100 }, (_, i) => i), name: Array.from({ length: 100 }, (_, i) => `n${i % 5}`) }), "stream")],
  [
    "a nested list column (read batch by batch)",
    () =>
      tableToIPC(
        new Table({ id: vectorFromArray(Array.from({ length: 100 }, (_, i) => i), new Int32()), xs: vectorFromArray(Array.from({ length: 100 }, (_, i) => [i, i + 1]), new List(new Field("item", new Int32()))) }),
        "stream",
      ),
  ],
])("previews of %s", (_, make) => {
  it.each(SLICES)("offset %i, limit %s, columns %j equal slicing the decoded table", async (offset, limit, columns) => {
    const bytes = make();
    const hash = await upload(bytes);
    const full = tableFromIPC(bytes);
    const names = columns?.filter((c) => full.schema.fields.some((f) => f.name === c));
    if (columns && names!.length === 0) return;
    const query = [`offset=${offset}`, ...(limit !== undefined ? [`limit=${limit}`] : []), ...(names ? [`columns=${names.join(",")}`] : [])].join("&");
    const got = await preview(hash, query);
    let expected = full.slice(offset, limit === undefined ? undefined : offset + limit);
    if (names) expected = expected.select(names);
    expect(got.schema.fields.map((f) => f.name)).toEqual(expected.schema.fields.map((f) => f.name));
    expect(got.numRows).toBe(expected.numRows);
    expect(rowsOf(got)).toEqual(rowsOf(expected));
  });
});

describe("preview of a large single-batch DataFrame", () => {
  it("reads a small fraction of the blob", async () => {
    const bytes = encodeIPC(mixed(200_000));
    const hash = await upload(bytes);
    blobs.served = 0;
    const got = await preview(hash, "offset=1000&limit=1000&columns=id,name");
    expect(got.numRows).toBe(1000);
    expect(blobs.served).toBeLessThan(bytes.byteLength / 50);
  });
});
