/**
 * Previews of Arrow IPC blobs by byte ranges. An IPC stream is a sequence of
 * messages (schema, record batches) whose headers say where every column's
 * buffers sit in the body, so the first 1,000 rows of two columns of a
 * 10-GB, single-batch DataFrame cost a few small range reads: the message
 * headers, and the part of each selected buffer that covers the rows.
 *
 * Flat columns of fixed-width types (ints, floats, dates, timestamps), booleans,
 * strings and binaries are read this way; anything else (nested types,
 * dictionaries, compressed bodies) returns `undefined` and the caller falls back
 * to reading the stream batch by batch.
 */
import {
  DataType,
  Message,
  RecordBatch,
  Struct,
  Table,
  makeData,
  tableToIPC,
  type Data,
  type Field,
  type Schema,
} from "apache-arrow";
import type { BlobStore } from "../blobs/index.js";
import type { ArrowSlice } from "./arrow.js";
import { API_ERRORS, badRequest } from "./errors.js";

/** Bytes read per range request when scanning message headers. */
const HEADER_WINDOW = 64 * 1024;
const CONTINUATION = 0xffffffff;

/** Range reads of one blob, with a window cache for the small header reads. */
class RangeReader {
  private window: { start: number; bytes: Uint8Array } | undefined;
  constructor(
    private readonly blobs: BlobStore,
    private readonly hash: string,
    readonly size: number,
  ) {}

  /** Bytes `[start, end)`, clamped to the blob; reads a whole header window for small requests. */
  async bytes(start: number, end: number): Promise<Uint8Array> {
    end = Math.min(end, this.size);
    if (end <= start) return new Uint8Array(0);
    const w = this.window;
    // Copies (slice, not subarray): typed arrays over the result must start aligned.
    if (w && start >= w.start && end <= w.start + w.bytes.byteLength) return w.bytes.slice(start - w.start, end - w.start);
    const small = end - start <= HEADER_WINDOW;
    const readEnd = small ? Math.min(this.size, start + HEADER_WINDOW) : end;
    const read = await this.blobs.get(this.hash, { start, end: readEnd - 1 });
    if (!read) throw new Error("blob disappeared while reading");
    // A fresh, 8-byte-aligned copy: typed arrays over it must not be misaligned.
    const out = new Uint8Array(readEnd - start);
    let at = 0;
    for await (const chunk of read.body) {
      out.set(chunk as Uint8Array, at);
      at += (chunk as Uint8Array).byteLength;
    }
    if (small) {
      this.window = { start, bytes: out };
      return out.slice(0, end - start);
    }
    return out;
  }
}

interface ReadMessage {
  message: Message;
  bodyStart: number;
  next: number;
}

/** The message at `offset`, or null at the end-of-stream marker or the end of the blob. */
async function readMessage(r: RangeReader, offset: number): Promise<ReadMessage | null> {
  if (offset + 4 > r.size) return null;
  const head = await r.bytes(offset, offset + 8);
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  let length: number;
  let metaStart: number;
  if (view.getUint32(0, true) === CONTINUATION) {
    length = view.getInt32(4, true);
    metaStart = offset + 8;
  } else {
    length = view.getInt32(0, true);
    metaStart = offset + 4;
  }
  if (length <= 0) return null;
  const message = Message.decode(await r.bytes(metaStart, metaStart + length));
  const bodyStart = metaStart + length;
  return { message, bodyStart, next: bodyStart + message.bodyLength };
}

/** Bytes per value of a fixed-width type, or undefined. */
function fixedWidth(type: DataType): number | undefined {
  if (DataType.isInt(type)) return type.bitWidth / 8;
  if (DataType.isFloat(type)) return [2, 4, 8][type.precision];
  if (DataType.isDate(type)) return type.unit === 0 ? 4 : 8;
  if (DataType.isTimestamp(type)) return 8;
  return undefined;
}

const isVarBinary = (type: DataType) => DataType.isUtf8(type) || DataType.isBinary(type);
const supported = (f: Field) => fixedWidth(f.type) !== undefined || DataType.isBool(f.type) || isVarBinary(f.type);
/** Buffers each supported field has in a record batch body. */
const bufferCount = (f: Field) => (isVarBinary(f.type) ? 3 : 2);

/** Rows `[s, e)` of one column of a record batch, read by ranges. */
/** What a record batch header says about its columns. */
interface BatchLayout {
  nodes: { length: number; nullCount: number }[];
  buffers: { offset: number; length: number }[];
}

async function readColumn(r: RangeReader, bodyStart: number, batch: BatchLayout, field: Field, fieldIndex: number, firstBuffer: number, s: number, e: number): Promise<Data> {
  const node = batch.nodes[fieldIndex]!;
  const [validity, second, third] = batch.buffers.slice(firstBuffer, firstBuffer + bufferCount(field));
  // Start on a byte boundary of the bitmaps; the extra leading rows are sliced off at the end.
  const a = s - (s % 8);
  const at = (region: { offset: number }, from: number, to: number) => r.bytes(bodyStart + region.offset + from, bodyStart + region.offset + to);
  const nullBitmap = node.nullCount > 0 && validity && validity.length > 0 ? await at(validity, a / 8, Math.ceil(e / 8)) : undefined;
  const common = { length: e - a, ...(nullBitmap ? { nullBitmap } : { nullCount: 0 }) };
  let data: Data;
  const width = fixedWidth(field.type);
  if (width !== undefined) {
    data = makeData({ type: field.type, ...common, data: await at(second!, a * width, e * width) } as never);
  } else if (DataType.isBool(field.type)) {
    data = makeData({ type: field.type, ...common, data: await at(second!, a / 8, Math.ceil(e / 8)) } as never);
  } else {
    const raw = await at(second!, a * 4, (e + 1) * 4);
    const offsets = new Int32Array(raw.buffer, raw.byteOffset, e - a + 1);
    const first = offsets[0]!;
    const rebased = offsets.map((o) => o - first);
    const values = await at(third!, first, offsets[e - a]!);
    data = makeData({ type: field.type, ...common, valueOffsets: rebased, data: values } as never);
  }
  return data.slice(s - a, e - s);
}

/**
 * The slice of an Arrow IPC stream blob as an IPC stream, read by ranges; or
 * `undefined` when the blob uses something this reader does not handle (the
 * caller then streams it). Throws 400 for unknown columns.
 */
export async function sliceArrowByRanges(blobs: BlobStore, hash: string, size: number, slice: ArrowSlice): Promise<Uint8Array | undefined> {
  const r = new RangeReader(blobs, hash, size);
  let first: ReadMessage | null;
  try {
    first = await readMessage(r, 0);
  } catch {
    return undefined;
  }
  if (!first || !first.message.isSchema()) return undefined;
  const schema = first.message.header() as Schema;
  if (!schema.fields.every(supported)) return undefined;
  const available = schema.fields.map((f) => f.name);
  for (const c of slice.columns ?? []) {
    if (!available.includes(c)) throw badRequest("columns", `no column ${JSON.stringify(c)} (columns: ${available.join(", ")})`, API_ERRORS.INVALID_PARAMETER);
  }
  const indices = slice.columns ? slice.columns.map((c) => available.indexOf(c)) : available.map((_, i) => i);
  const firstBuffers: number[] = [];
  let b = 0;
  for (const f of schema.fields) {
    firstBuffers.push(b);
    b += bufferCount(f);
  }
  const outSchema = schema.selectAt(indices);
  const batches: RecordBatch[] = [];
  let offset = first.next;
  let skip = slice.offset;
  let remaining = slice.limit ?? Number.POSITIVE_INFINITY;
  while (remaining > 0) {
    const m = await readMessage(r, offset);
    if (!m) break;
    offset = m.next;
    if (m.message.isDictionaryBatch()) return undefined;
    if (!m.message.isRecordBatch()) continue;
    const header = m.message.header();
    if (header.compression || m.message.compression) return undefined;
    const rows = header.length;
    if (skip >= rows) {
      skip -= rows;
      continue;
    }
    const s = skip;
    const e = Math.min(rows, skip + remaining);
    skip = 0;
    const children: Data[] = [];
    for (const i of indices) children.push(await readColumn(r, m.bodyStart, header, schema.fields[i]!, i, firstBuffers[i]!, s, e));
    batches.push(new RecordBatch(outSchema, makeData({ type: new Struct(outSchema.fields), length: e - s, nullCount: 0, children })));
    remaining -= e - s;
  }
  return tableToIPC(new Table(outSchema, batches), "stream");
}
