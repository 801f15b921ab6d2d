/**
 * A DataFrame that lives on the backend. Previews read only what they show: the
 * backend answers `head(100)` of a 1e6-row table with a few range reads of the
 * Arrow stream, so a preview costs kilobytes whatever the table's size. The whole
 * table comes over once, checked against its hash, when asked for.
 */
import { writeFileSync } from "node:fs";
import type { Table } from "apache-arrow";
import { decodeIPC, tableToDanfo, type BlobRef } from "../kernel/index.js";
import type { Http } from "./http.js";
import { tableHtml, tableText } from "./render.js";

/** Rows and columns to read. */
export interface SliceOptions {
  /** Only these columns, in this order. */
  columns?: readonly string[];
}

/** One DataFrame output or input, read on request. */
export class RemoteDataFrame {
  constructor(
    private readonly http: Http,
    /** The data API path of the blob (its `/blob` route, or the project's blob). */
    private readonly path: string,
    readonly ref: BlobRef,
    /** What it is, for people: `output df of node clean`. */
    readonly label: string,
  ) {}

  /** Its content hash (`sha256:…`), the same as the local run's for the same data. */
  get hash(): string {
    return this.ref.hash;
  }

  /** Bytes of its Arrow IPC stream. */
  get size(): number {
    return this.ref.size;
  }

  /** The first `n` rows (default 10), optionally of some columns, as an Arrow table; downloads only those. */
  head(n = 10, options: SliceOptions = {}): Promise<Table> {
    return this.slice(0, n, options);
  }

  /** Rows `[offset, offset + limit)`, optionally of some columns, as an Arrow table. */
  async slice(offset: number, limit: number, options: SliceOptions = {}): Promise<Table> {
    if (!Number.isSafeInteger(offset) || offset < 0) throw new RangeError(`offset must be a whole number ≥ 0, got ${offset}`);
    if (!Number.isSafeInteger(limit) || limit < 0) throw new RangeError(`limit must be a whole number ≥ 0, got ${limit}`);
    const bytes = await this.http.download(this.path, {
      query: { offset, limit, ...(options.columns ? { columns: options.columns.join(",") } : {}) },
    });
    return decodeIPC(bytes);
  }

  /** The Arrow IPC bytes, whole, verified against the hash. */
  bytes(onProgress?: (received: number, total: number | undefined) => void): Promise<Uint8Array> {
    return this.http.blob(this.path, this.ref, onProgress ? { onProgress } : {});
  }

  /** The whole table as Arrow. */
  async table(): Promise<Table> {
    return decodeIPC(await this.bytes());
  }

  /** The whole table as a danfo DataFrame. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  async danfo(): Promise<any> {
    return tableToDanfo(await this.table());
  }

  /** Saves the Arrow IPC stream to a file (readable by pyarrow, polars, DuckDB). */
  async save(file: string): Promise<string> {
    writeFileSync(file, await this.bytes());
    return file;
  }

  toString(): string {
    return `DataFrame ${this.label} (${this.ref.hash.slice(0, 19)}…, ${this.ref.size} bytes)`;
  }

  /** The first `rows` rows as a MIME bundle (HTML table and text). */
  async toMimeBundle(rows = 10): Promise<Record<string, string>> {
    const head = await this.head(rows);
    return { "text/html": tableHtml(head, this.label), "text/plain": `${this.toString()}\n${tableText(head)}` };
  }

  /** In a notebook: the first 10 rows, fetched on display. */
  [Symbol.for("Jupyter.display")](): Promise<Record<string, string>> {
    return this.toMimeBundle();
  }
}
