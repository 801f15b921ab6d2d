/**
 * The client's HTTP layer over axios: JSON calls to /api/v1, uploads and
 * downloads of blobs. Transient failures (connection refused or reset, 429,
 * 502-504) are retried with backoff; everything else becomes a RemoteError that
 * says what to do. Downloads resume where they broke off (a Range request) and are
 * checked against their length and, when known, their hash, so a retried download
 * never yields a truncated table.
 */
import { createHash, type Hash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { Agent as HttpAgent } from "node:http";
import { Agent as HttpsAgent } from "node:https";
import type { Readable } from "node:stream";
import { finished } from "node:stream/promises";
import axios, { type AxiosInstance, type AxiosResponse, type Method } from "axios";
import type { RemoteConfig } from "./config.js";
import { REMOTE_ERRORS, RemoteError, type RemoteErrorCode } from "./errors.js";

/** The API's path prefix. */
export const API_PREFIX = "/api/v1";
const FIRST_BACKOFF_MS = 100;
const MAX_BACKOFF_MS = 3_000;
/** Statuses that say "try again later". */
const RETRYABLE_STATUS = new Set([429, 502, 503, 504]);
/** Network errors where the request surely never reached the server: safe to retry anything. */
const NOT_SENT = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH"]);
/** Network errors after which an idempotent request may be retried. */
const TRANSIENT = new Set([...NOT_SENT, "ECONNRESET", "EPIPE", "ETIMEDOUT", "ECONNABORTED", "ERR_BAD_RESPONSE", "ERR_NETWORK"]);

/** What a JSON call sends. */
export interface CallOptions {
  body?: unknown;
  query?: Record<string, string | number | boolean | readonly string[] | undefined>;
  /** Raw bytes to send instead of JSON. */
  bytes?: Uint8Array;
  /** Whether retrying after an ambiguous network error is safe (default: GET, PUT and DELETE are). */
  idempotent?: boolean;
}

/** What a download checks and reports. */
export interface DownloadOptions {
  query?: CallOptions["query"];
  /** The content's sha256 (`sha256:<hex>`): a whole download must hash to it. */
  hash?: string;
  /** Called with bytes received so far and the total, when known. */
  onProgress?: (received: number, total: number | undefined) => void;
  signal?: AbortSignal;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function queryString(query: CallOptions["query"]): string {
  if (!query) return "";
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v === undefined) continue;
    if (Array.isArray(v)) for (const item of v) params.append(k, String(item));
    else params.append(k, String(v));
  }
  const s = params.toString();
  return s ? `?${s}` : "";
}

/** One backend: JSON calls, uploads, downloads. */
export class Http {
  private readonly axios: AxiosInstance;

  constructor(readonly config: RemoteConfig) {
    const keepAlive = { keepAlive: true, maxSockets: 16 };
    this.axios = axios.create({
      baseURL: `${config.endpoint}${API_PREFIX}`,
      timeout: config.timeoutMs,
      headers: config.token ? { authorization: `Bearer ${config.token}` } : {},
      httpAgent: new HttpAgent(keepAlive),
      httpsAgent: new HttpsAgent(keepAlive),
      maxRedirects: 0,
      maxBodyLength: Infinity,
      maxContentLength: Infinity,
      validateStatus: () => true,
      // Bodies are parsed here, so errors can name what came back.
      transformResponse: [(data: unknown) => data],
      responseType: "text",
    });
  }

  /** A JSON call; resolves with the parsed body of a 2xx answer. */
  async call<T>(method: Method, path: string, options: CallOptions = {}): Promise<T> {
    const res = await this.send(method, path, options, "text");
    const text = String(res.data ?? "");
    if (res.status >= 200 && res.status < 300) return (text ? this.parse(method, path, res, text) : undefined) as T;
    throw this.failure(method, path, res, text);
  }

  /** Uploads bytes (a PUT); returns the parsed answer. */
  upload<T>(path: string, bytes: Uint8Array): Promise<T> {
    return this.call<T>("PUT", path, { bytes, idempotent: true });
  }

  /**
   * A blob's bytes, whole and checked: read straight from the backend's blob file
   * when this process is on the backend's host (a file blob store says where the
   * file is; its path names the hash and it was renamed into place whole, so its
   * size is the check), else downloaded from `path` and checked against the hash.
   * `PETREL_DIRECT_BLOBS=0` turns the direct read off.
   */
  async blob(path: string, ref: { hash: string; size: number }, options: Omit<DownloadOptions, "hash"> = {}): Promise<Uint8Array> {
    const project = /^\/projects\/([^/]+)\//.exec(path)?.[1];
    if (project && this.direct !== false && process.env.PETREL_DIRECT_BLOBS !== "0") {
      const local = await this.localBlob(project, ref);
      if (local) {
        options.onProgress?.(local.byteLength, local.byteLength);
        return local;
      }
    }
    return this.download(path, { ...options, hash: ref.hash });
  }

  /** Whether direct reads work from here: unknown until the first try, then remembered. */
  private direct: boolean | undefined;

  private async localBlob(project: string, ref: { hash: string; size: number }): Promise<Uint8Array | undefined> {
    let file: string | undefined;
    try {
      file = (await this.call<{ file?: string }>("GET", `/projects/${project}/blobs/${encodeURIComponent(ref.hash)}/location`)).file;
    } catch {
      return undefined;
    }
    const hex = ref.hash.replace(/^sha256:/, "");
    if (!file || !file.endsWith(hex)) return undefined;
    try {
      const bytes = await readFile(file);
      if (bytes.byteLength !== ref.size) return undefined;
      this.direct = true;
      return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    } catch {
      // Another host: the file is not here.
      if (this.direct === undefined) this.direct = false;
      return undefined;
    }
  }

  /** Whether a blob exists (a one-byte range read). */
  async exists(path: string): Promise<boolean> {
    const res = await this.send("GET", path, {}, "text", { headers: { range: "bytes=0-0" } });
    if (res.status === 404) return false;
    if (res.status >= 200 && res.status < 300) return true;
    throw this.failure("GET", path, res, String(res.data ?? ""));
  }

  /** A text body (logs). */
  async text(path: string, query?: CallOptions["query"]): Promise<string> {
    const res = await this.send("GET", path, { ...(query ? { query } : {}) }, "text");
    const text = String(res.data ?? "");
    if (res.status >= 200 && res.status < 300) return text;
    throw this.failure("GET", path, res, text);
  }

  /** A streamed text body, chunk by chunk (logs with follow). */
  async *textStream(path: string, query: CallOptions["query"], signal?: AbortSignal): AsyncGenerator<string> {
    const res = await this.send("GET", path, { query }, "stream", { timeout: 0, ...(signal ? { signal } : {}) });
    const body = res.data as Readable;
    if (res.status < 200 || res.status >= 300) throw this.failure("GET", path, res, await readAll(body));
    body.setEncoding("utf8");
    for await (const chunk of body) yield chunk as string;
  }

  /**
   * Downloads bytes. A transfer that breaks off is resumed with a Range request
   * from the last byte received; the result must have the announced length and,
   * with `hash`, that sha256, or the download fails (DOWNLOAD_FAILED) rather than
   * return less. Refused connections and 429/502-504 answers are retried as for
   * any call, and are final (UNREACHABLE, SERVER_ERROR) once those retries are spent.
   * Chunks are copied into one buffer of the announced length and hashed as they
   * arrive, so the check costs no second pass and overlaps the wait for the network.
   */
  async download(path: string, options: DownloadOptions = {}): Promise<Uint8Array> {
    const url = path + queryString(options.query);
    let buffer: Uint8Array | undefined;
    const chunks: Buffer[] = [];
    let received = 0;
    let total: number | undefined;
    let hasher: Hash | undefined;
    const restart = () => {
      received = 0;
      chunks.length = 0;
      buffer = undefined;
      total = undefined;
      hasher = options.hash ? createHash("sha256") : undefined;
    };
    restart();
    let lastError: unknown;
    for (let attempt = 0; attempt <= this.config.retries; attempt++) {
      if (attempt > 0) await sleep(backoff(attempt));
      // Resume only what has a known length; anything else starts over.
      const resume = received > 0 && total !== undefined;
      if (!resume) restart();
      // send() has already retried refused connections and 429/502-504 answers: what it gives up on is final.
      const res = await this.send("GET", url, {}, "stream", {
        timeout: 0,
        // -1, not Infinity: axios wraps a stream with any limit in a second, slower stream.
        maxContentLength: -1,
        ...(resume ? { headers: { range: `bytes=${received}-` } } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
      });
      const body = res.data as Readable;
      if (res.status < 200 || res.status >= 300) throw this.failure("GET", path, res, await readAll(body));
      // A resumed transfer must continue exactly where the last one broke off; else start over.
      if (resume && !(res.status === 206 && continues(res, received, total!))) restart();
      if (received === 0) {
        const header = res.headers["content-length"];
        const length = Number(header);
        total = header !== undefined && Number.isSafeInteger(length) && length >= 0 ? length : undefined;
        if (total !== undefined) buffer = new Uint8Array(total);
      }
      // What the caller's onProgress throws ends the download; it is not a transfer to retry.
      const caller: { error?: unknown } = {};
      try {
        await consume(body, (chunk) => {
          if (buffer) {
            if (received + chunk.byteLength > buffer.byteLength) throw new Error("more bytes than the announced length");
            buffer.set(chunk, received);
          } else chunks.push(chunk);
          hasher?.update(chunk);
          received += chunk.byteLength;
          try {
            options.onProgress?.(received, total);
          } catch (error) {
            caller.error = error;
            throw error;
          }
        });
      } catch (e) {
        if ("error" in caller) throw caller.error;
        if (options.signal?.aborted) throw e;
        lastError = e;
        continue;
      }
      if (total !== undefined && received < total) {
        lastError = new Error(`the transfer ended after ${received} of ${total} bytes`);
        continue;
      }
      if (hasher && `sha256:${hasher.digest("hex")}` !== options.hash) {
        // Corrupt: start over from the first byte.
        restart();
        lastError = new Error(`the bytes received do not hash to ${options.hash}`);
        continue;
      }
      return buffer ?? new Uint8Array(Buffer.concat(chunks));
    }
    throw new RemoteError(
      REMOTE_ERRORS.DOWNLOAD_FAILED,
      `downloading ${path} failed after ${this.config.retries + 1} attempts (${describe(lastError)}); nothing partial was kept — try again, or check the connection to ${this.config.endpoint}`,
      { cause: lastError },
    );
  }

  private async send(method: Method, path: string, options: CallOptions, responseType: "text" | "stream", extra: Record<string, unknown> = {}): Promise<AxiosResponse> {
    const idempotent = options.idempotent ?? (method === "GET" || method === "PUT" || method === "DELETE");
    const url = path.includes("?") ? path : path + queryString(options.query);
    const data = options.bytes ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
    const headers: Record<string, string> = {
      ...(options.bytes ? { "content-type": "application/octet-stream" } : data !== undefined ? { "content-type": "application/json" } : {}),
      ...((extra.headers as Record<string, string> | undefined) ?? {}),
    };
    for (let attempt = 0; ; attempt++) {
      try {
        const res = await this.axios.request({ method, url, data, responseType, ...extra, headers });
        if (RETRYABLE_STATUS.has(res.status) && attempt < this.config.retries) {
          if (responseType === "stream") (res.data as Readable).destroy();
          await sleep(retryAfter(res) ?? backoff(attempt + 1));
          continue;
        }
        return res;
      } catch (e) {
        const code = (e as { code?: string }).code ?? "";
        const retry = NOT_SENT.has(code) || (idempotent && TRANSIENT.has(code));
        if (retry && attempt < this.config.retries && !(extra.signal as AbortSignal | undefined)?.aborted) {
          await sleep(backoff(attempt + 1));
          continue;
        }
        throw this.unreachable(method, path, e);
      }
    }
  }

  private parse(method: Method, path: string, res: AxiosResponse, text: string): unknown {
    try {
      return JSON.parse(text);
    } catch {
      throw new RemoteError(
        REMOTE_ERRORS.NOT_A_BACKEND,
        `${method} ${this.config.endpoint}${API_PREFIX}${path} answered ${res.status} with ${describeBody(res, text)}, not JSON: is ${this.config.endpoint} a Petrel backend?`,
        { status: res.status },
      );
    }
  }

  /** The RemoteError for a non-2xx answer. */
  failure(method: Method, path: string, res: AxiosResponse, text: string): RemoteError {
    let apiError: { code?: string; message?: string; field?: string } | undefined;
    try {
      apiError = (JSON.parse(text) as { error?: typeof apiError }).error;
    } catch {
      apiError = undefined;
    }
    const where = `${method} ${path}`;
    if (!apiError || typeof apiError.message !== "string") {
      if (res.status >= 500) {
        return new RemoteError(REMOTE_ERRORS.SERVER_ERROR, `${where}: the server failed with ${res.status} (${describeBody(res, text)}); try again, or see the server's log`, { status: res.status });
      }
      return new RemoteError(
        REMOTE_ERRORS.NOT_A_BACKEND,
        `${where}: ${this.config.endpoint} answered ${res.status} with ${describeBody(res, text)}: is it a Petrel backend? (check the endpoint, e.g. http://host:8080)`,
        { status: res.status },
      );
    }
    const details = { apiCode: apiError.code, ...(apiError.field ? { field: apiError.field } : {}) };
    const message = apiError.message;
    const [code, hint] = hintFor(res.status, apiError.code, this.config);
    return new RemoteError(code, `${message}${hint ? ` — ${hint}` : ""}`, { status: res.status, details });
  }

  private unreachable(method: Method, path: string, e: unknown): RemoteError {
    if (axios.isCancel(e) || (e as { name?: string }).name === "CanceledError") {
      return new RemoteError(REMOTE_ERRORS.UNREACHABLE, `${method} ${path}: cancelled`, { cause: e });
    }
    const code = (e as { code?: string }).code;
    const why = code === "ECONNREFUSED" ? "connection refused" : code === "ENOTFOUND" ? "unknown host" : code === "ECONNABORTED" || code === "ETIMEDOUT" ? "timed out" : describe(e);
    return new RemoteError(
      REMOTE_ERRORS.UNREACHABLE,
      `cannot reach the Petrel backend at ${this.config.endpoint} (${why}, ${this.config.retries + 1} attempts): is it running (\`petrel server\`) and is the endpoint right (from ${this.config.source})?`,
      { cause: e, details: { endpoint: this.config.endpoint, ...(code ? { errno: code } : {}) } },
    );
  }
}

/** The client's code for an API error, and what to do about it. */
function hintFor(status: number, apiCode: string | undefined, config: RemoteConfig): [RemoteErrorCode, string] {
  switch (status) {
    case 401:
      return [
        REMOTE_ERRORS.UNAUTHENTICATED,
        config.token
          ? "the token is invalid, expired or revoked: ask an admin for a new one (petrel server prints the admin token) and pass it as token or PETREL_TOKEN"
          : "this server needs a token: pass new Remote({ token }), set PETREL_TOKEN, or `petrel connect <url> --token T`",
      ];
    case 403:
      return [REMOTE_ERRORS.FORBIDDEN, "ask a project admin for a token with that role"];
    case 404:
      return [REMOTE_ERRORS.NOT_FOUND, "check the name, project and domain (a project your token cannot see looks absent)"];
    case 409:
      return [REMOTE_ERRORS.CONFLICT, ""];
    case 400:
    case 413:
    case 415:
    case 416:
      return [apiCode === "INVALID_INPUTS" ? REMOTE_ERRORS.INVALID_INPUTS : REMOTE_ERRORS.INVALID_REQUEST, ""];
    default:
      return status >= 500 ? [REMOTE_ERRORS.SERVER_ERROR, "the server failed; try again, or see its log"] : [REMOTE_ERRORS.INVALID_REQUEST, ""];
  }
}

function retryAfter(res: AxiosResponse): number | undefined {
  const s = Number(res.headers["retry-after"]);
  return Number.isFinite(s) && s >= 0 ? Math.min(s * 1000, MAX_BACKOFF_MS * 4) : undefined;
}

function backoff(attempt: number): number {
  const base = Math.min(MAX_BACKOFF_MS, FIRST_BACKOFF_MS * 2 ** (attempt - 1));
  return base / 2 + Math.random() * (base / 2);
}

function describe(e: unknown): string {
  if (e instanceof Error) return (e as { code?: string }).code ? `${(e as { code?: string }).code}: ${e.message}` : e.message;
  return String(e);
}

function describeBody(res: AxiosResponse, text: string): string {
  const type = String(res.headers["content-type"] ?? "no content type").split(";")[0];
  const snippet = text.replace(/\s+/g, " ").trim().slice(0, 80);
  return snippet ? `${type} "${snippet}${text.length > 80 ? "…" : ""}"` : `an empty ${type} body`;
}

/** Whether a 206 answer's Content-Range starts at `from` of a blob of `total` bytes. */
function continues(res: AxiosResponse, from: number, total: number): boolean {
  const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(String(res.headers["content-range"] ?? "").trim());
  return m !== null && Number(m[1]) === from && Number(m[2]) === total - 1 && (m[3] === "*" || Number(m[3]) === total);
}

/**
 * Feeds every chunk of `body` to `onChunk` as it arrives ('data' events: cheaper
 * per chunk than an async iterator); resolves at its end, rejects when it breaks
 * off or `onChunk` throws (the stream is destroyed with that error).
 */
function consume(body: Readable, onChunk: (chunk: Buffer) => void): Promise<void> {
  body.on("data", (chunk: Buffer) => {
    if (body.destroyed) return;
    try {
      onChunk(chunk);
    } catch (error) {
      body.destroy(error as Error);
    }
  });
  return finished(body);
}

async function readAll(body: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of body as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks).toString("utf8");
}
