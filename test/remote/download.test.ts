/**
 * Downloads through a faulty network: a proxy of the test's own between the
 * client and a backend cuts connections mid-body, ignores Range, flips a byte
 * or answers 503. Every download either yields exactly the stored bytes or fails
 * with a typed error — never a truncated or corrupt table.
 */
import { request, createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { Bool, Table, Utf8, makeVector, tableFromArrays, vectorFromArray } from "apache-arrow";
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { createTestBackend, type TestBackend } from "../../backend/index.js";
import { decodeIPC, encodeIPC, sha256, type BlobRef } from "../../kernel/index.js";
import { Remote, REMOTE_ERRORS, RemoteDataFrame } from "../../remote/index.js";
import { rejects } from "./helpers.js";

// These tests are about the HTTP path: the client and the backend share a host here, so direct reads are off.
process.env.PETREL_DIRECT_BLOBS = "0";

const PROJECT = "demo";
const ROWS = 200_000;
/** Attempts are retries + 1: few, so that the failing cases end quickly. */
const RETRIES = 2;
const CUT = 1 << 20;

/** Which answers a fault hits: `times` of them, from the `from`th (0-based, default 0) answer the backend gave. */
interface Hits {
  times: number;
  from?: number;
}

/** What the proxy does to the next answers. */
interface Faults {
  /** Cut the connection after `after` body bytes. */
  cut?: Hits & { after: number };
  /** Drop the Range header, so the backend answers 200 with the whole body. */
  ignoreRange?: boolean;
  /** Flip the body byte at offset `at` of the answer. */
  flip?: Hits & { at: number };
  /** Answer 503 to the next this many requests. */
  unavailable?: number;
}

/** One request the proxy saw: its Range header and the status it answered. */
interface Seen {
  range: string | undefined;
  status: number;
}

interface FaultyProxy {
  url: string;
  faults: Faults;
  seen: Seen[];
  /** Answers relayed from the backend so far (503s of the proxy's own not counted). */
  answers: number;
  close(): Promise<void>;
}

/** Whether a fault hits the `answer`th answer (taking one of its uses). */
function hits(fault: Hits | undefined, answer: number): boolean {
  if (!fault || fault.times <= 0 || answer < (fault.from ?? 0)) return false;
  fault.times--;
  return true;
}

async function faultyProxy(target: string): Promise<FaultyProxy> {
  const proxy = { faults: {} as Faults, seen: [] as Seen[], answers: 0 };
  const sockets = new Set<Socket>();
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const seen: Seen = { range: req.headers.range, status: 0 };
    proxy.seen.push(seen);
    const { faults } = proxy;
    if ((faults.unavailable ?? 0) > 0) {
      faults.unavailable!--;
      seen.status = 503;
      res.writeHead(503, { "content-type": "text/plain", "retry-after": "0" });
      res.end("busy");
      return;
    }
    const headers = { ...req.headers };
    delete headers.host;
    if (faults.ignoreRange) delete headers.range;
    const upstream = request(`${target}${req.url}`, { method: req.method, headers }, (body) => {
      seen.status = body.statusCode!;
      res.writeHead(body.statusCode!, body.headers);
      const answer = proxy.answers++;
      const cutAt = hits(faults.cut, answer) ? faults.cut!.after : undefined;
      const flipAt = hits(faults.flip, answer) ? faults.flip!.at : undefined;
      let sent = 0;
      let done = false;
      body.on("data", (chunk: Buffer) => {
        if (done) return;
        if (flipAt !== undefined && flipAt >= sent && flipAt < sent + chunk.byteLength) {
          chunk = Buffer.from(chunk);
          chunk[flipAt - sent]! ^= 0xff;
        }
        if (cutAt !== undefined && sent + chunk.byteLength >= cutAt) {
          // Send exactly `cutAt` bytes, then drop the connection mid-body.
          done = true;
          body.destroy();
          res.write(chunk.subarray(0, cutAt - sent), () => res.socket?.destroy());
          return;
        }
        sent += chunk.byteLength;
        if (!res.write(chunk)) {
          body.pause();
          res.once("drain", () => body.resume());
        }
      });
      body.on("end", () => {
        if (!done) res.end();
      });
    });
    upstream.on("error", () => res.destroy());
    req.pipe(upstream);
  });
  server.on("connection", (s: Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return Object.assign(proxy, {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  });
}

/** A table of `rows` rows: int, float, string and bool columns. */
function makeTable(rows: number): Table {
  const id = new Int32Array(rows);
  const value = new Float64Array(rows);
  const name: string[] = new Array<string>(rows);
  const flag: boolean[] = new Array<boolean>(rows);
  for (let i = 0; i < rows; i++) {
    id[i] = i;
    value[i] = i / 8 + 0.5;
    name[i] = `row_${i}`;
    flag[i] = i % 3 === 0;
  }
  return new Table({
    id: makeVector(id),
    value: makeVector(value),
    name: vectorFromArray(name, new Utf8()),
    flag: vectorFromArray(flag, new Bool()),
  });
}


const rowsOf = (table: Table) => table.toArray().map((row) => (row as { toJSON(): unknown }).toJSON());

let backend: TestBackend;
let proxy: FaultyProxy;
let ipc: Uint8Array;
let ref: BlobRef;
let path: string;
/** A RemoteDataFrame and the client under it, both through the proxy. */
let df: RemoteDataFrame;
let remote: Remote;

beforeAll(async () => {
  backend = await createTestBackend({ listen: true });
  await backend.createProject(PROJECT);
  ipc = encodeIPC(makeTable(ROWS));
  ref = { hash: sha256(ipc), size: ipc.byteLength, format: "arrow" };
  path = `/projects/${PROJECT}/blobs/${ref.hash}`;
  const direct = new Remote({ endpoint: backend.url!, project: PROJECT, token: backend.adminToken });
  await direct.http.upload(path, ipc);
  proxy = await faultyProxy(backend.url!);
  remote = new Remote({ endpoint: proxy.url, project: PROJECT, token: backend.adminToken, retries: RETRIES });
  df = new RemoteDataFrame(remote.http, path, ref, "test frame");
});

afterAll(async () => {
  await proxy?.close();
  await backend?.close();
});

beforeEach(() => {
  proxy.faults = {};
  proxy.seen = [];
  proxy.answers = 0;
});

describe("the blob under test", () => {
  it("is a multi-megabyte Arrow stream", () => {
    expect(ipc.byteLength).toBeGreaterThan(4 * CUT);
  });
});

describe("interrupted downloads", () => {
  it("a download cut mid-body resumes from the last byte received with a Range request, and yields the stored bytes", async () => {
    proxy.faults.cut = { after: CUT, times: 2 };
    const progress: number[] = [];
    const bytes = await df.bytes((received) => progress.push(received));
    expect(Buffer.from(bytes).equals(Buffer.from(ipc))).toBe(true);
    expect(sha256(bytes)).toBe(ref.hash);
    expect(proxy.seen).toEqual([
      { range: undefined, status: 200 },
      { range: `bytes=${CUT}-`, status: 206 },
      { range: `bytes=${2 * CUT}-`, status: 206 },
    ]);
    expect(progress.at(-1)).toBe(ipc.byteLength);
    expect(progress.every((n, i) => i === 0 || n > progress[i - 1]!)).toBe(true);
  });

  it("a resumed download decodes to the whole table", async () => {
    proxy.faults.cut = { after: CUT, times: 1 };
    const table = await df.table();
    expect(table.numRows).toBe(ROWS);
    expect(rowsOf(table.slice(ROWS - 5))).toEqual(rowsOf(decodeIPC(ipc).slice(ROWS - 5)));
  });

  it("a server that ignores Range sends the whole body again, and the download starts over from the first byte", async () => {
    proxy.faults.cut = { after: CUT, times: 1 };
    proxy.faults.ignoreRange = true;
    const bytes = await df.bytes();
    expect(Buffer.from(bytes).equals(Buffer.from(ipc))).toBe(true);
    expect(proxy.seen).toEqual([
      { range: undefined, status: 200 },
      { range: `bytes=${CUT}-`, status: 200 },
    ]);
  });

  it("persistent cuts end in DOWNLOAD_FAILED after the retries, never in a truncated table", async () => {
    proxy.faults.cut = { after: CUT / 4, times: Infinity };
    await rejects(df.table(), REMOTE_ERRORS.DOWNLOAD_FAILED, new RegExp(`failed after ${RETRIES + 1} attempts`));
    expect(proxy.seen).toHaveLength(RETRIES + 1);
    // Each attempt resumed where the one before broke off.
    expect(proxy.seen.map((s) => s.range)).toEqual([undefined, ...Array.from({ length: RETRIES }, (_, i) => `bytes=${((i + 1) * CUT) / 4}-`)]);
  });

  it("without a hash to check, a short body still fails rather than return fewer bytes", async () => {
    proxy.faults.cut = { after: CUT / 4, times: Infinity };
    await rejects(remote.http.download(path), REMOTE_ERRORS.DOWNLOAD_FAILED);
  });
});

describe("corrupt downloads", () => {
  it("a corrupt body fails its hash and is fetched again from the first byte", async () => {
    proxy.faults.flip = { at: 123_457, times: 1 };
    const bytes = await df.bytes();
    expect(Buffer.from(bytes).equals(Buffer.from(ipc))).toBe(true);
    expect(proxy.seen).toEqual([
      { range: undefined, status: 200 },
      { range: undefined, status: 200 },
    ]);
  });

  it("a corrupt resumed range fails the whole download's hash, and the download starts over", async () => {
    proxy.faults.cut = { after: CUT, times: 1 };
    proxy.faults.flip = { at: 10, times: 1, from: 1 };
    const bytes = await df.bytes();
    expect(Buffer.from(bytes).equals(Buffer.from(ipc))).toBe(true);
    expect(proxy.seen).toEqual([
      { range: undefined, status: 200 },
      { range: `bytes=${CUT}-`, status: 206 },
      { range: undefined, status: 200 },
    ]);
  });

  it("persistent corruption ends in DOWNLOAD_FAILED, never in a corrupt table", async () => {
    proxy.faults.flip = { at: ipc.byteLength - 1, times: Infinity };
    await rejects(df.table(), REMOTE_ERRORS.DOWNLOAD_FAILED, /do not hash to sha256:/);
    expect(proxy.seen).toHaveLength(RETRIES + 1);
  });
});

describe("unavailable servers", () => {
  it("503 answers are retried", async () => {
    proxy.faults.unavailable = 2;
    const bytes = await df.bytes();
    expect(Buffer.from(bytes).equals(Buffer.from(ipc))).toBe(true);
    expect(proxy.seen.map((s) => s.status)).toEqual([503, 503, 200]);
  });

  it("a server that stays unavailable ends in SERVER_ERROR once the retries are spent", async () => {
    proxy.faults.unavailable = 100;
    await rejects(df.table(), REMOTE_ERRORS.SERVER_ERROR, /503/);
    expect(proxy.seen).toHaveLength(RETRIES + 1);
  });
});

describe("previews", () => {
  it("head(100) decodes to exactly the first 100 rows of the whole table", async () => {
    const head = await df.head(100);
    expect(head.numRows).toBe(100);
    expect(head.schema.fields.map((f) => f.name)).toEqual(["id", "value", "name", "flag"]);
    expect(rowsOf(head)).toEqual(rowsOf(decodeIPC(ipc).slice(0, 100)));
  });

  it("head(100) of two columns reads those columns' first 100 rows", async () => {
    const head = await df.head(100, { columns: ["name", "id"] });
    expect(head.schema.fields.map((f) => f.name)).toEqual(["name", "id"]);
    expect(rowsOf(head)).toEqual(rowsOf(decodeIPC(ipc).select(["name", "id"]).slice(0, 100)));
  });
});

describe("direct reads on the backend's host", () => {
  it("reads a DataFrame's blob file when the backend says where it is, and over HTTP otherwise, with the same bytes", async () => {
    const backend = await createTestBackend({ listen: true });
    try {
      await backend.createProject("direct");
      const bytes = encodeIPC(tableFromArrays({ x: Int32Array.from({ length: 1000 }, (_, i) => i) }));
      const hash = sha256(bytes);
      const path = `/projects/direct/blobs/${hash}`;
      const remote = new Remote({ endpoint: backend.url!, project: "direct", token: backend.adminToken });
      await remote.http.upload(path, bytes);
      const location = await remote.http.call<{ file?: string; size: number }>("GET", `${path}/location`);
      expect(location.size).toBe(bytes.byteLength);
      expect(location.file).toMatch(new RegExp(`${hash.slice(7)}$`));
      const ref = { hash, size: bytes.byteLength, format: "arrow" as const };
      const downloads = vi.spyOn(remote.http, "download");
      delete process.env.PETREL_DIRECT_BLOBS;
      let direct: Uint8Array;
      try {
        direct = await new RemoteDataFrame(remote.http, path, ref, "t").bytes();
      } finally {
        process.env.PETREL_DIRECT_BLOBS = "0";
      }
      expect(downloads).not.toHaveBeenCalled();
      const overHttp = await new RemoteDataFrame(remote.http, path, ref, "t").bytes();
      expect(downloads).toHaveBeenCalledTimes(1);
      expect(Buffer.compare(Buffer.from(direct), Buffer.from(bytes))).toBe(0);
      expect(Buffer.compare(Buffer.from(overHttp), Buffer.from(bytes))).toBe(0);
      // A file whose size is not the blob's is not trusted: the bytes come over HTTP, checked against the hash.
      const fallback = await new RemoteDataFrame(new Remote({ endpoint: backend.url!, project: "direct", token: backend.adminToken }).http, path, { ...ref, size: ref.size + 1 }, "t").bytes();
      expect(Buffer.compare(Buffer.from(fallback), Buffer.from(bytes))).toBe(0);
    } finally {
      await backend.close();
    }
  });
});
