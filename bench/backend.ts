/**
 * Suite "backend": the control plane's throughput and the data API's.
 *
 * - Registrations/s and execution creates/s through the whole API (auth, JSON
 *   Schema validation, compilation or input resolution, the store), in-process
 *   (`app.request`, no socket) with 4 requests in flight, on SQLite and on
 *   PostgreSQL (127.0.0.1:5432, skipped with a note when unreachable). The peer is
 *   the database alone: one prepared INSERT of a row of the same size per
 *   operation, 4 in flight, on the same database.
 * - Registrations/s over a real socket (fetch, keep-alive), SQLite.
 * - Data API: downloading a 1e6-row DataFrame (Arrow IPC) over a socket, beside
 *   reading the same blob file from disk; and the latency of a preview (the first
 *   1,000 rows of two columns).
 */
import { randomBytes } from "node:crypto";
import { createReadStream, readFileSync } from "node:fs";
import { createServer, get } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import Database from "better-sqlite3";
import pg from "pg";
import { tableFromIPC } from "apache-arrow";
import { createPostgresStore, createTestBackend, type MetadataStore, type TestBackend } from "../backend/index.js";
import { encodeIPC, sha256, type LaunchPlanSpec, type TaskSpec, type WorkflowSpec } from "../kernel/index.js";
import { arrowTableByHand, makeColumns, ROWS } from "./data.js";
import { DIRECTION, measure, progress, type BenchOptions, type Row, type Suite, type SuiteResult } from "./harness.js";

/** Requests in flight: what a few notebooks and a CI job registering at once look like. */
export const CONCURRENCY = 4;
/** Goals. */
export const GOAL_REGISTRATIONS_PER_S = 1_000;
export const GOAL_EXECUTIONS_PER_S = 1_000;
export const GOAL_PG_REGISTRATIONS_PER_S = 300;
export const GOAL_DOWNLOAD_MB_S = 300;
export const GOAL_PREVIEW_MS = 100;
const POSTGRES_URL = process.env.PETREL_BENCH_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const dev = "/projects/bench/domains/development";

const task = (version: string): TaskSpec => ({
  name: "train",
  interface: {
    inputs: { rows: { type: { kind: "int" } }, rate: { type: { kind: "float" }, default: { kind: "float", value: 0.1 } }, data: { type: { kind: "dataframe" } } },
    outputs: { model: { type: { kind: "file", format: "onnx" } }, score: { type: { kind: "float" } } },
  },
  cache: { enabled: true, version, versionSource: "explicit", ignoredInputs: [], serialize: false },
  retries: 2,
  timeoutMs: 600_000,
  resources: { requests: { cpu: "2", mem: "4Gi" }, limits: { gpu: "1" } },
  env: { MODE: "bench" },
  secrets: [],
  interruptible: true,
});

const workflow: WorkflowSpec = {
  name: "pipeline",
  interface: { inputs: { rows: { type: { kind: "int" } }, data: { type: { kind: "dataframe" } } }, outputs: { score: { type: { kind: "float" } } } },
  nodes: [
    {
      kind: "task",
      id: "train",
      target: { resourceType: "task", name: "train", version: "v0" },
      inputs: { rows: { kind: "input", name: "rows" }, data: { kind: "input", name: "data" } },
      upstream: [],
      metadata: { name: "train" },
      outputs: { model: { kind: "file", format: "onnx" }, score: { kind: "float" } },
    },
  ],
  outputs: { score: { kind: "output", node: "train", output: "score" } },
  failurePolicy: "fail_immediately",
};

const plan: LaunchPlanSpec = {
  name: "daily",
  workflow: { resourceType: "workflow", name: "pipeline" },
  defaultInputs: { rows: { kind: "int", value: "1000" } },
  fixedInputs: {},
  labels: { team: "bench" },
};

/** GETs a URL with node:http and returns how many body bytes arrived (dropped as they come). */
function httpGetBytes(url: string, authorization?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    get(url, { headers: authorization ? { authorization } : {} }, (res) => {
      let n = 0;
      res.on("data", (chunk: Buffer) => (n += chunk.byteLength));
      res.on("end", () => resolve(n));
      res.on("error", reject);
    }).on("error", reject);
  });
}

/** Runs `count` operations with `CONCURRENCY` in flight. */
async function inFlight(count: number, op: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) await op(next++);
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
}

async function expectStatus(res: Promise<Response>, status: number): Promise<void> {
  const r = await res;
  if (r.status !== status) throw new Error(`expected ${status}, got ${r.status}: ${await r.text()}`);
  await r.arrayBuffer();
}

/** Ops/s of `count` API operations, median over reps; `fresh(rep)` gives each rep unused names. */
async function opsPerSecond(suite: string, label: string, count: number, reps: number, op: (rep: number, i: number) => Promise<unknown>): Promise<number> {
  let rep = 0;
  const s = await measure(suite, () => inFlight(count, (i) => op(rep, i)).then(() => rep++), { label, reps, warmup: 1 });
  return (count / s.median) * 1000;
}

interface StoreFigures {
  registrations: number;
  workflows: number;
  executions: number;
  rawInsert: number;
}

async function controlPlane(suite: string, backend: TestBackend, count: number, reps: number, rawInsert: () => Promise<number>): Promise<StoreFigures> {
  await backend.createProject("bench");
  await expectStatus(backend.request(`${dev}/tasks/train/versions/v0`, { method: "PUT", json: { spec: task("v0") } }), 201);
  await expectStatus(backend.request(`${dev}/workflows/pipeline/versions/v0`, { method: "PUT", json: { spec: workflow } }), 201);
  await expectStatus(backend.request(`${dev}/launch-plans/daily/versions/v0`, { method: "PUT", json: { spec: plan } }), 201);
  const registrations = await opsPerSecond(suite, `${backend.store.kind}: ${count} task registrations`, count, reps, (rep, i) =>
    expectStatus(backend.request(`${dev}/tasks/train/versions/r${rep}-${i}`, { method: "PUT", json: { spec: task(`r${rep}-${i}`) } }), 201),
  );
  const workflows = await opsPerSecond(suite, `${backend.store.kind}: ${count} workflow registrations (compiled)`, count, reps, (rep, i) =>
    expectStatus(backend.request(`${dev}/workflows/pipeline/versions/r${rep}-${i}`, { method: "PUT", json: { spec: workflow } }), 201),
  );
  const data = { kind: "blob", blob: { hash: `sha256:${"0".repeat(64)}`, size: 0, format: "arrow" } };
  await backend.store.addProjectBlob({ project: "bench", hash: data.blob.hash, size: 0, kind: "data", createdAt: 0, createdBy: "bench" });
  const executions = await opsPerSecond(suite, `${backend.store.kind}: ${count} execution creates`, count, reps, (rep, i) =>
    expectStatus(backend.request(`${dev}/executions`, { method: "POST", json: { name: `e${rep}_${i}`, launchPlan: { name: "daily" }, inputs: { data } } }), 201),
  );
  return { registrations, workflows, executions, rawInsert: await rawInsert() };
}

/** The database alone: prepared INSERTs of a registration-sized row, 4 in flight. */
async function rawSqliteInserts(suite: string, path: string, count: number, reps: number): Promise<number> {
  const db = new Database(path);
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = NORMAL");
  db.exec("CREATE TABLE IF NOT EXISTS peer (id INTEGER PRIMARY KEY AUTOINCREMENT, k TEXT UNIQUE, spec TEXT)");
  const insert = db.prepare("INSERT INTO peer (k, spec) VALUES (?, ?)");
  const spec = JSON.stringify(task("peer"));
  let rep = 0;
  try {
    const s = await measure(suite, () => inFlight(count, async (i) => insert.run(`${rep}-${i}`, spec)).then(() => rep++), { label: `peer: ${count} better-sqlite3 INSERTs`, reps });
    return (count / s.median) * 1000;
  } finally {
    db.close();
  }
}

async function rawPostgresInserts(suite: string, schema: string, count: number, reps: number): Promise<number> {
  const pool = new pg.Pool({ connectionString: POSTGRES_URL, max: CONCURRENCY, options: `-c search_path=${schema}` });
  await pool.query("CREATE TABLE IF NOT EXISTS peer (id BIGSERIAL PRIMARY KEY, k TEXT UNIQUE, spec TEXT)");
  const spec = JSON.stringify(task("peer"));
  let rep = 0;
  try {
    const s = await measure(
      suite,
      () => inFlight(count, (i) => pool.query({ name: "peer_insert", text: "INSERT INTO peer (k, spec) VALUES ($1, $2)", values: [`${rep}-${i}`, spec] })).then(() => rep++),
      { label: `peer: ${count} pg INSERTs`, reps },
    );
    return (count / s.median) * 1000;
  } finally {
    await pool.end();
  }
}

async function postgresReachable(): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 2_000 });
  try {
    await client.connect();
    return undefined;
  } catch (error) {
    return (error as Error).message;
  } finally {
    await client.end().catch(() => undefined);
  }
}

export const backendSuite: Suite = {
  name: "backend",
  title: "backend: control-plane throughput (SQLite, PostgreSQL) and data API downloads",
  async run(options: BenchOptions): Promise<SuiteResult> {
    const name = "backend";
    const reps = options.quick ? 2 : 5;
    const count = options.quick ? 300 : 1_000;
    const rows: Row[] = [];
    const notes: string[] = [];

    // ---- SQLite ------------------------------------------------------------------
    progress(name, "SQLite: in-process API");
    const sqlite = await createTestBackend({ listen: true });
    try {
      const f = await controlPlane(name, sqlite, count, reps, () => rawSqliteInserts(name, join(sqlite.dir, "peer.sqlite"), count, reps));
      const peer = { peerName: "better-sqlite3 INSERT", ...(options.peer ? { peer: f.rawInsert } : {}) };
      rows.push(
        { metric: "task registrations, SQLite", unit: "/s", petrel: f.registrations, ...peer, goal: { value: GOAL_REGISTRATIONS_PER_S, direction: DIRECTION.higher } },
        { metric: "workflow registrations (compiled), SQLite", unit: "/s", petrel: f.workflows, ...peer },
        { metric: "execution creates, SQLite", unit: "/s", petrel: f.executions, ...peer, goal: { value: GOAL_EXECUTIONS_PER_S, direction: DIRECTION.higher } },
      );
      progress(name, "SQLite: over a socket");
      const url = sqlite.url!;
      const headers = { authorization: `Bearer ${sqlite.adminToken}`, "content-type": "application/json" };
      const socketRegs = await opsPerSecond(name, `socket: ${count} task registrations`, count, reps, (rep, i) =>
        expectStatus(fetch(`${url}/api/v1${dev}/tasks/train/versions/s${rep}-${i}`, { method: "PUT", headers, body: JSON.stringify({ spec: task(`s${rep}-${i}`) }) }), 201),
      );
      rows.push({ metric: "task registrations over a socket, SQLite", unit: "/s", petrel: socketRegs, note: "fetch with keep-alive on 127.0.0.1, 4 in flight" });

      // ---- data API ------------------------------------------------------------------
      progress(name, `encoding a ${ROWS}-row DataFrame`);
      const ipc = encodeIPC(arrowTableByHand(makeColumns()));
      const hash = sha256(ipc);
      const mb = ipc.byteLength / 1e6;
      await expectStatus(fetch(`${url}/api/v1/projects/bench/blobs/${hash}`, { method: "PUT", headers: { authorization: headers.authorization }, body: ipc }), 201);
      const blobFile = join(sqlite.dir, "blobs", "sha256", hash.slice(7, 9), hash.slice(7));
      const expectBytes = async (target: string, auth?: string) => {
        const got = await httpGetBytes(target, auth);
        if (got !== ipc.byteLength) throw new Error(`downloaded ${got} of ${ipc.byteLength} bytes`);
      };
      const download = await measure(name, () => expectBytes(`${url}/api/v1/projects/bench/blobs/${hash}`, headers.authorization), {
        label: `download ${mb.toFixed(1)} MB Arrow over the socket`,
        reps,
      });
      // The same bytes from a bare node:http server piping the file, to the same client: the transport's ceiling.
      const raw = createServer((_, res) => {
        res.writeHead(200, { "content-length": String(ipc.byteLength) });
        createReadStream(blobFile, { highWaterMark: 1 << 20 }).pipe(res);
      });
      await new Promise<void>((resolve) => raw.listen(0, "127.0.0.1", resolve));
      let bare: number;
      try {
        bare = (await measure(name, () => expectBytes(`http://127.0.0.1:${(raw.address() as AddressInfo).port}/`), { label: "bare node:http pipe of the file", reps })).median;
      } finally {
        raw.close();
      }
      const disk = await measure(name, () => readFileSync(blobFile), { label: `readFileSync of the same ${mb.toFixed(1)} MB`, reps });
      const preview = await measure(
        name,
        async () => {
          const res = await fetch(`${url}/api/v1/projects/bench/blobs/${hash}?offset=0&limit=1000&columns=id,name`, { headers: { authorization: headers.authorization } });
          const table = tableFromIPC(new Uint8Array(await res.arrayBuffer()));
          if (table.numRows !== 1000) throw new Error(`preview has ${table.numRows} rows`);
        },
        { label: "preview: first 1,000 rows of 2 columns", reps },
      );
      const uploadBytes = randomBytes(ipc.byteLength);
      const upload = await measure(
        name,
        async () => {
          const bytes = Buffer.from(uploadBytes);
          bytes.writeUInt32LE(Math.floor(Math.random() * 2 ** 32), 0);
          await expectStatus(fetch(`${url}/api/v1/projects/bench/blobs/${sha256(bytes)}`, { method: "PUT", headers: { authorization: headers.authorization }, body: bytes }), 201);
        },
        { label: `upload ${mb.toFixed(1)} MB (hashed, verified, stored)`, reps },
      );
      const batches = tableFromIPC(ipc).batches.length;
      rows.push(
        {
          metric: `Arrow download, ${ROWS.toLocaleString("en")} rows (${mb.toFixed(0)} MB)`,
          unit: "MB/s",
          petrel: mb / (download.median / 1000),
          peerName: "readFileSync of the blob file",
          peer: mb / (disk.median / 1000),
          goal: { value: GOAL_DOWNLOAD_MB_S, direction: DIRECTION.higher },
        },
        {
          metric: `Arrow download, ${ROWS.toLocaleString("en")} rows (${mb.toFixed(0)} MB)`,
          unit: "MB/s",
          petrel: mb / (download.median / 1000),
          peerName: "bare node:http piping the file",
          peer: mb / (bare / 1000),
          note: "client: node:http in this process, bytes counted and dropped; auth, blob lookup and streaming included",
        },
        {
          metric: "Arrow preview: 1,000 rows x 2 columns",
          unit: "ms",
          petrel: preview.median,
          goal: { value: GOAL_PREVIEW_MS, direction: DIRECTION.lower },
          note: `the blob is ${batches} record batch${batches === 1 ? "" : "es"} of ${mb.toFixed(0)} MB; the preview reads message headers and the rows' bytes of the two columns by range`,
        },
        { metric: `upload ${mb.toFixed(0)} MB (streamed, sha256-verified)`, unit: "MB/s", petrel: mb / (upload.median / 1000) },
      );
    } finally {
      await sqlite.close();
    }

    // ---- PostgreSQL ------------------------------------------------------------------
    const unreachable = await postgresReachable();
    if (unreachable) {
      notes.push(`PostgreSQL rows skipped: ${POSTGRES_URL} unreachable (${unreachable})`);
    } else {
      progress(name, "PostgreSQL: in-process API");
      const schema = `petrel_bench_${process.pid}`;
      let store: MetadataStore | undefined;
      try {
        store = await createPostgresStore({ url: POSTGRES_URL, schema });
        const backend = await createTestBackend({ store });
        try {
          const f = await controlPlane(name, backend, count, reps, () => rawPostgresInserts(name, schema, count, reps));
          const peer = { peerName: "pg prepared INSERT", ...(options.peer ? { peer: f.rawInsert } : {}) };
          rows.push(
            { metric: "task registrations, PostgreSQL", unit: "/s", petrel: f.registrations, ...peer, goal: { value: GOAL_PG_REGISTRATIONS_PER_S, direction: DIRECTION.higher } },
            { metric: "workflow registrations (compiled), PostgreSQL", unit: "/s", petrel: f.workflows, ...peer },
            { metric: "execution creates, PostgreSQL", unit: "/s", petrel: f.executions, ...peer, goal: { value: GOAL_PG_REGISTRATIONS_PER_S, direction: DIRECTION.higher } },
          );
        } finally {
          await backend.close();
        }
      } finally {
        const client = new pg.Client({ connectionString: POSTGRES_URL });
        await client.connect();
        await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
        await client.end();
      }
    }

    notes.push(
      `API figures: ${count} operations per repetition, ${CONCURRENCY} in flight, through auth, schema validation, compilation/input resolution and the store; in-process unless marked "over a socket"`,
      "peers: the database alone, one prepared INSERT of a registration-sized row per operation (no validation, no reads)",
    );
    progress(name, "done");
    return { title: this.title, rows, notes };
  },
};
