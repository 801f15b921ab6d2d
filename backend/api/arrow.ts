/**
 * Previews of Arrow blobs: a row range and a column selection of an Arrow IPC
 * stream, re-encoded as an Arrow IPC stream. Record batches are read one at a
 * time from the blob store and reading stops once the range is covered, so the
 * first rows of a huge DataFrame cost one batch, not the whole blob.
 */
import type { Readable } from "node:stream";
import { RecordBatchReader, Table, tableToIPC, type RecordBatch } from "apache-arrow";
import { API_ERRORS, ApiError, badRequest } from "./errors.js";

/** A slice request: rows `[offset, offset + limit)` and these columns (all when absent). */
export interface ArrowSlice {
  offset: number;
  limit?: number;
  columns?: string[];
}

/** The media type of Arrow IPC streams. */
export const ARROW_STREAM_TYPE = "application/vnd.apache.arrow.stream";

/** Parses `?offset=&limit=&columns=a,b`; undefined when none is present. */
export function parseSlice(query: URLSearchParams): ArrowSlice | undefined {
  const offset = query.get("offset");
  const limit = query.get("limit");
  const columns = query.get("columns");
  if (offset === null && limit === null && columns === null) return undefined;
  const count = (name: string, v: string) => {
    if (!/^(0|[1-9][0-9]{0,15})$/.test(v)) throw badRequest(name, `${JSON.stringify(v)} is not a non-negative integer`, API_ERRORS.INVALID_PARAMETER);
    return Number(v);
  };
  const slice: ArrowSlice = { offset: offset === null ? 0 : count("offset", offset) };
  if (limit !== null) slice.limit = count("limit", limit);
  if (columns !== null) {
    const names = columns.split(",").map((s) => s.trim());
    if (names.some((n) => n === "")) throw badRequest("columns", "expected a comma-separated list of column names", API_ERRORS.INVALID_PARAMETER);
    slice.columns = names;
  }
  return slice;
}

/** Reads the slice out of an Arrow IPC stream; 400 NOT_ARROW when the bytes are not one. */
export async function sliceArrow(body: Readable, slice: ArrowSlice): Promise<Uint8Array> {
  let reader: Awaited<ReturnType<typeof openReader>>;
  try {
    reader = await openReader(body);
  } catch (error) {
    body.destroy();
    throw new ApiError(400, API_ERRORS.NOT_ARROW, `the blob is not an Arrow IPC stream (${(error as Error).message})`, { field: "hash" });
  }
  try {
    const schema = reader.schema;
    const available = schema.fields.map((f) => f.name);
    for (const c of slice.columns ?? []) {
      if (!available.includes(c)) throw badRequest("columns", `no column ${JSON.stringify(c)} (columns: ${available.join(", ")})`, API_ERRORS.INVALID_PARAMETER);
    }
    // Columns in the order asked for, which is the order a preview shows them.
    const indices = slice.columns?.map((c) => available.indexOf(c));
    const batches: RecordBatch[] = [];
    let skip = slice.offset;
    let remaining = slice.limit ?? Number.POSITIVE_INFINITY;
    while (remaining > 0) {
      const next = await reader.next();
      if (next.done) break;
      const batch = next.value;
      if (skip >= batch.numRows) {
        skip -= batch.numRows;
        continue;
      }
      const end = Math.min(batch.numRows, skip + remaining);
      let part = skip === 0 && end === batch.numRows ? batch : batch.slice(skip, end);
      skip = 0;
      if (indices) part = part.selectAt(indices);
      batches.push(part);
      remaining -= part.numRows;
    }
    const outSchema = indices ? schema.selectAt(indices) : schema;
    return tableToIPC(new Table(outSchema, batches), "stream");
  } catch (error) {
    if (error instanceof ApiError) throw error;
    throw new ApiError(400, API_ERRORS.NOT_ARROW, `the blob is not a well-formed Arrow IPC stream (${(error as Error).message})`, { field: "hash" });
  } finally {
    await reader.return().catch(() => undefined);
    body.destroy();
  }
}

async function openReader(body: Readable) {
  const reader = await RecordBatchReader.from(body as AsyncIterable<Uint8Array>);
  await reader.open();
  if (!reader.schema) throw new Error("no schema message");
  return reader;
}
