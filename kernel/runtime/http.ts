/**
 * The runtime's side of the backend's data API, with a node-scoped token: the
 * bundle (cached on disk by hash), the node's inputs and blobs, output uploads,
 * checkpoints and the attempt's outcome. Requests ride out a backend restart:
 * connection errors, 429 and 5xx are retried with backoff until a deadline.
 *
 * Plain node:http with a keep-alive agent, not the global fetch: fetch loads
 * undici on first use, ~60 ms of CPU in every runtime process (measured with
 * --cpu-prof), more than everything else the runtime's own code does.
 */
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { Agent, request as httpRequest, type IncomingHttpHeaders, type RequestOptions } from "node:http";
import { join } from "node:path";
import type { BlobRef, LiteralMap } from "../model/index.js";
import { RUNTIME_ERRORS, RuntimeError } from "./errors.js";
import type { AttemptAssignment, AttemptOutcome } from "./protocol.js";

/** The API's path prefix. */
const API_PREFIX = "/api/v1";
/** Data requests (bundle, inputs, blobs, checkpoints) keep retrying this long. */
export const DEFAULT_REQUEST_DEADLINE_MS = 2 * 60 * 1000;
/** Reporting the outcome keeps retrying this long: long enough for the backend to restart. */
export const DEFAULT_REPORT_DEADLINE_MS = 10 * 60 * 1000;
/** First retry after this long, doubling up to MAX_BACKOFF_MS. */
const FIRST_BACKOFF_MS = 100;
const MAX_BACKOFF_MS = 5_000;
/** One JSON request may take this long before it is abandoned and retried. */
const JSON_REQUEST_TIMEOUT_MS = 30_000;
/** One blob transfer may take this long. */
const BLOB_REQUEST_TIMEOUT_MS = 10 * 60 * 1000;
/** Statuses that say "try again later". */
const RETRYABLE_STATUS = new Set([408, 425, 429, 500, 502, 503, 504]);

/** Options of {@link createBackendClient}. */
export interface BackendClientOptions {
  /** The backend's base URL (`http://host:port`). */
  endpoint: string;
  /** A token scoped to the assignment's node. */
  token: string;
  assignment: AttemptAssignment;
  /** Bundle bytes are cached here as `<hex>.bundle` (none: no disk cache). */
  bundleCacheDir?: string;
  /** How long data requests retry (default 2 min). */
  requestDeadlineMs?: number;
}

/** What the backend answered to a report. */
export interface ReportResult {
  /** 200: recorded. 409: not the node's current attempt (the backend keeps what it has). Other 4xx: refused. */
  status: number;
  /** The error message of a refusal. */
  message?: string;
}

/** The calls a runtime makes. */
export interface BackendClient {
  bundle(hash: string): Promise<Uint8Array>;
  inputs(): Promise<LiteralMap>;
  blob(ref: BlobRef): Promise<Uint8Array>;
  upload(ref: BlobRef, bytes: Uint8Array): Promise<void>;
  checkpoint(ref: BlobRef): Promise<void>;
  /** Posts the outcome, retrying unavailability until `deadlineMs` (default 10 min); rejects when the deadline passes. */
  report(outcome: AttemptOutcome, deadlineMs?: number): Promise<ReportResult>;
  /** Tells the backend the attempt is alive, once (no retries); resolves with whether it still runs there, or undefined when unreachable. */
  heartbeat(): Promise<boolean | undefined>;
}

/**
 * A client of the data API for one attempt.
 *
 * @example
 * ```ts
 * const client = createBackendClient({ endpoint: "http://127.0.0.1:8470", token, assignment });
 * const inputs = await client.inputs();
 * await client.report({ phase: "SUCCEEDED", outputs: {} });
 * ```
 */
export function createBackendClient(options: BackendClientOptions): BackendClient {
  const { assignment, token } = options;
  const deadline = options.requestDeadlineMs ?? DEFAULT_REQUEST_DEADLINE_MS;
  const base = `${options.endpoint.replace(/\/+$/, "")}${API_PREFIX}`;
  const { project, domain, name } = assignment.execution;
  const projectPath = `${base}/projects/${encodeURIComponent(project)}`;
  const nodePath = `${projectPath}/domains/${encodeURIComponent(domain)}/executions/${encodeURIComponent(name)}/nodes/${encodeURIComponent(assignment.node)}`;
  const auth = { authorization: `Bearer ${token}` };

  const call = (what: string, url: string, init: HttpInit, timeoutMs: number, deadlineMs: number) =>
    requestWithRetry(what, url, { ...init, headers: { ...auth, ...init.headers } }, timeoutMs, deadlineMs);

  const bytesOf = async (what: string, url: string): Promise<Uint8Array> => {
    const res = await call(what, url, { method: "GET" }, BLOB_REQUEST_TIMEOUT_MS, deadline);
    return new Uint8Array(res.body.buffer, res.body.byteOffset, res.body.byteLength);
  };

  return {
    async bundle(hash) {
      const cached = options.bundleCacheDir ? await readCachedBundle(options.bundleCacheDir, hash) : undefined;
      if (cached) return cached;
      const bytes = await bytesOf(`fetching bundle ${hash}`, `${projectPath}/bundles/${hash}`);
      if (options.bundleCacheDir && (await sha256Hex(bytes)) === hexOf(hash)) writeCachedBundle(options.bundleCacheDir, hash, bytes);
      return bytes;
    },
    async inputs() {
      const res = await call(`fetching the inputs of node ${assignment.node}`, `${nodePath}/inputs`, { method: "GET" }, JSON_REQUEST_TIMEOUT_MS, deadline);
      return JSON.parse(res.body.toString("utf8")) as LiteralMap;
    },
    blob: (ref) => bytesOf(`fetching blob ${ref.hash}`, `${projectPath}/blobs/${ref.hash}`),
    async upload(ref, bytes) {
      await call(
        `uploading blob ${ref.hash}`,
        `${projectPath}/blobs/${ref.hash}`,
        { method: "PUT", body: bytes, headers: { "content-type": "application/octet-stream" } },
        BLOB_REQUEST_TIMEOUT_MS,
        deadline,
      );
    },
    async checkpoint(ref) {
      await call(
        `recording the checkpoint of node ${assignment.node}`,
        `${nodePath}/checkpoint`,
        { method: "PUT", body: JSON.stringify({ checkpoint: ref }), headers: { "content-type": "application/json" } },
        JSON_REQUEST_TIMEOUT_MS,
        deadline,
      );
    },
    async heartbeat() {
      try {
        const res = await send(`${nodePath}/attempts/${assignment.attempt}/heartbeat`, { method: "POST", headers: auth }, JSON_REQUEST_TIMEOUT_MS);
        if (res.status !== 200) return undefined;
        return (JSON.parse(res.body.toString("utf8")) as { running: boolean }).running;
      } catch {
        return undefined;
      }
    },
    async report(outcome, deadlineMs = DEFAULT_REPORT_DEADLINE_MS) {
      try {
        const res = await call(
          `reporting the outcome of attempt ${assignment.attempt} of node ${assignment.node}`,
          `${nodePath}/attempts/${assignment.attempt}/outcome`,
          { method: "POST", body: JSON.stringify(outcome), headers: { "content-type": "application/json" } },
          JSON_REQUEST_TIMEOUT_MS,
          deadlineMs,
        );
        return { status: res.status };
      } catch (e) {
        const status = e instanceof RuntimeError ? e.status : undefined;
        if (status !== undefined && status < 500) return { status, message: e instanceof Error ? e.message : String(e) };
        throw e;
      }
    },
  };
}

/** A request: method, headers, body. */
interface HttpInit {
  method: "GET" | "PUT" | "POST";
  headers?: Record<string, string>;
  body?: string | Uint8Array;
}

/** A whole response. */
interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** Connections are reused between the runtime's requests (released sockets do not keep the process alive). */
const agent = new Agent({ keepAlive: true, maxSockets: 16 });

/** One HTTP(S) exchange, the response read whole; rejects on network errors and after `timeoutMs` without an answer. */
async function send(url: string, init: HttpInit, timeoutMs: number): Promise<HttpResponse> {
  const target = new URL(url);
  const https = target.protocol === "https:";
  const requestFn = https ? (await import("node:https")).request : httpRequest;
  const body = typeof init.body === "string" ? Buffer.from(init.body) : init.body;
  const options: RequestOptions = {
    method: init.method,
    headers: { ...init.headers, ...(body ? { "content-length": String(body.byteLength) } : {}) },
    ...(https ? {} : { agent }),
  };
  return new Promise<HttpResponse>((resolve, reject) => {
    const req = requestFn(target, options, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks) }));
      res.on("error", reject);
    });
    req.setTimeout(timeoutMs, () => req.destroy(Object.assign(new Error("no answer in time"), { code: "ETIMEDOUT" })));
    req.on("error", reject);
    req.end(body);
  });
}

/**
 * One request, retried with exponential backoff (honouring Retry-After) while the
 * backend is unreachable or says it is unavailable, until `deadlineMs` has passed.
 * Resolves with a 2xx response; rejects with a RuntimeError naming the request and
 * the backend's own error message (and its status when it answered).
 */
async function requestWithRetry(what: string, url: string, init: HttpInit, timeoutMs: number, deadlineMs: number): Promise<HttpResponse> {
  const giveUpAt = Date.now() + deadlineMs;
  let backoff = FIRST_BACKOFF_MS;
  for (let tries = 1; ; tries++) {
    let res: HttpResponse | undefined;
    let failure: string;
    try {
      res = await send(url, init, timeoutMs);
      if (res.status >= 200 && res.status < 300) return res;
      failure = `${init.method} ${pathOf(url)} answered ${res.status}: ${errorMessage(res)}`;
      if (!RETRYABLE_STATUS.has(res.status)) {
        throw new RuntimeError(RUNTIME_ERRORS.BACKEND_ERROR, `${what}: ${failure}`, { status: res.status, url });
      }
    } catch (e) {
      if (e instanceof RuntimeError) throw e;
      failure = `${init.method} ${pathOf(url)} failed: ${describeNetworkError(e)}`;
    }
    let wait = backoff * (0.8 + Math.random() * 0.4);
    const retryAfter = Number(res?.headers["retry-after"]);
    if (Number.isFinite(retryAfter) && retryAfter > 0) wait = Math.min(retryAfter * 1000, MAX_BACKOFF_MS * 6);
    if (Date.now() + wait > giveUpAt) {
      throw new RuntimeError(
        RUNTIME_ERRORS.BACKEND_ERROR,
        `${what}: gave up after ${tries} tries in ${Math.round(deadlineMs / 1000)} s; last: ${failure}`,
        { ...(res ? { status: res.status } : {}), url, tries },
      );
    }
    await new Promise((r) => setTimeout(r, wait));
    backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
  }
}

/** The `error.message` of an API error body, else the start of the body. */
function errorMessage(res: HttpResponse): string {
  const text = res.body.toString("utf8");
  try {
    const body = JSON.parse(text) as { error?: { message?: string } };
    if (body.error?.message) return body.error.message;
  } catch {
    // not JSON
  }
  return text.slice(0, 500) || `status ${res.status}`;
}

function describeNetworkError(e: unknown): string {
  const err = e as { message?: string; code?: string };
  return err?.message || err?.code || String(e);
}

function pathOf(url: string): string {
  const u = new URL(url);
  return u.pathname;
}

function hexOf(hash: string): string {
  return hash.startsWith("sha256:") ? hash.slice("sha256:".length) : hash;
}

/** node:crypto is loaded when first needed: ~10 ms a runtime spends after its first requests are on the way. */
async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const { createHash } = await import("node:crypto");
  return createHash("sha256").update(bytes).digest("hex");
}

/** A cached bundle whose bytes still hash right; a damaged file is removed. */
async function readCachedBundle(dir: string, hash: string): Promise<Uint8Array | undefined> {
  const file = join(dir, `${hexOf(hash)}.bundle`);
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(file);
  } catch {
    return undefined;
  }
  if ((await sha256Hex(bytes)) === hexOf(hash)) return bytes;
  rmSync(file, { force: true });
  return undefined;
}

function writeCachedBundle(dir: string, hash: string, bytes: Uint8Array): void {
  try {
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `${hexOf(hash)}.bundle`);
    const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
    writeFileSync(tmp, bytes);
    renameSync(tmp, file);
  } catch {
    // A cache that cannot be written only costs a download next time.
  }
}
