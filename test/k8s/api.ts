/**
 * A small JSON client for the Kubernetes API over HTTPS, used by the test control
 * plane and the fake kubelet: plain requests (any verb, any patch type) and a
 * list-then-watch loop that survives closed watches and expired resource versions.
 *
 * It is deliberately not @kubernetes/client-node: the node agent needs status
 * subresource merge patches, raw watch streams and exact error messages, and the
 * benchmark uses it as the "raw HTTPS" peer of the client library.
 */
import { Agent, request as httpsRequest } from "node:https";
import type { IncomingMessage } from "node:http";
import { StringDecoder } from "node:string_decoder";

/** Where the API server is and how to authenticate to it. */
export interface KubeHttpOptions {
  /** `https://127.0.0.1:<port>` */
  server: string;
  token: string;
  /** PEM of the server's certificate (or its CA). */
  ca: string;
  /** Sockets kept open to the server (default 32). */
  maxSockets?: number;
}

/** A non-2xx answer, with the API server's `Status.message` and `reason`. */
export class KubeApiError extends Error {
  override readonly name = "KubeApiError";
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
    readonly body: unknown,
  ) {
    super(message);
  }
}

/** Whether `e` is a KubeApiError (works across vm contexts). */
export function isKubeApiError(e: unknown): e is KubeApiError {
  return typeof e === "object" && e !== null && (e as { name?: unknown }).name === "KubeApiError";
}

/** Content types of the patch verbs. */
export const PATCH = {
  merge: "application/merge-patch+json",
  strategic: "application/strategic-merge-patch+json",
  json: "application/json-patch+json",
} as const;

/** An object as the API returns it: only the metadata every object has is typed. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    deletionTimestamp?: string;
    deletionGracePeriodSeconds?: number;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    [key: string]: unknown;
  };
  [key: string]: unknown;
}

/** One watch event. */
export interface WatchEvent<T> {
  type: "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR";
  object: T;
}

/** A running list-and-watch; `stop()` ends it. */
export interface Reflector {
  /** Resolves once the initial list has been delivered. */
  synced: Promise<void>;
  stop(): void;
}

/** The API server's JSON, one request at a time, over a keep-alive HTTPS agent. */
export class KubeHttp {
  readonly agent: Agent;
  private readonly url: URL;

  constructor(private readonly options: KubeHttpOptions) {
    this.url = new URL(options.server);
    this.agent = new Agent({ keepAlive: true, maxSockets: options.maxSockets ?? 32, ca: options.ca });
  }

  /** Sends one request and parses the JSON answer; throws KubeApiError on non-2xx. */
  async request<T = unknown>(method: string, path: string, body?: unknown, contentType = "application/json"): Promise<T> {
    const res = await this.open(method, path, body, contentType);
    const text = await readAll(res);
    if ((res.statusCode ?? 0) >= 300) throw apiError(res.statusCode ?? 0, text);
    return (text.length > 0 ? JSON.parse(text) : undefined) as T;
  }

  /** Sends one request and returns the raw response (the caller reads or destroys it). */
  open(method: string, path: string, body?: unknown, contentType = "application/json", signal?: AbortSignal): Promise<IncomingMessage> {
    const payload = body === undefined ? undefined : Buffer.from(typeof body === "string" ? body : JSON.stringify(body));
    return new Promise((resolve, reject) => {
      const req = httpsRequest(
        {
          host: this.url.hostname,
          port: this.url.port,
          path,
          method,
          agent: this.agent,
          signal,
          headers: {
            authorization: `Bearer ${this.options.token}`,
            accept: "application/json",
            ...(payload ? { "content-type": contentType, "content-length": payload.length } : {}),
          },
        },
        resolve,
      );
      req.on("error", reject);
      req.end(payload);
    });
  }

  /**
   * Lists `path` (a collection, query included) and then watches it from the
   * list's resourceVersion, calling `handler` for every object (the initial
   * list arrives as ADDED events). Re-watches when the server closes the stream
   * and re-lists when the resource version has expired (410).
   */
  reflect<T extends KubeObject>(path: string, handler: (event: WatchEvent<T>) => void, onError: (e: unknown) => void = () => {}): Reflector {
    const abort = new AbortController();
    let markSynced!: () => void;
    const synced = new Promise<void>((resolve) => (markSynced = resolve));
    const sep = path.includes("?") ? "&" : "?";
    const loop = async () => {
      let version: string | undefined;
      while (!abort.signal.aborted) {
        try {
          if (version === undefined) {
            const list = await this.request<{ items: T[]; metadata: { resourceVersion: string } }>("GET", path);
            version = list.metadata.resourceVersion;
            for (const item of list.items) handler({ type: "ADDED", object: item });
            markSynced();
          }
          const res = await this.open("GET", `${path}${sep}watch=1&allowWatchBookmarks=true&resourceVersion=${version}`, undefined, undefined, abort.signal);
          if ((res.statusCode ?? 0) >= 300) {
            const status = res.statusCode ?? 0;
            const text = await readAll(res);
            if (status === 410) version = undefined;
            else throw apiError(status, text);
            continue;
          }
          for await (const line of lines(res)) {
            const event = JSON.parse(line) as WatchEvent<T>;
            if (event.type === "ERROR") {
              // 410 Gone: our version is too old; list again.
              if ((event.object as unknown as { code?: number }).code === 410) version = undefined;
              break;
            }
            version = event.object.metadata.resourceVersion ?? version;
            if (event.type !== "BOOKMARK") handler(event);
          }
        } catch (e) {
          if (abort.signal.aborted) return;
          onError(e);
          await new Promise((r) => setTimeout(r, 200));
        }
      }
    };
    void loop();
    return { synced, stop: () => abort.abort() };
  }

  /** Closes the idle sockets. */
  close(): void {
    this.agent.destroy();
  }
}

function apiError(status: number, text: string): KubeApiError {
  let body: unknown = text;
  let message = text || `HTTP ${status}`;
  let reason = "";
  try {
    body = JSON.parse(text);
    const s = body as { message?: string; reason?: string };
    message = s.message ?? message;
    reason = s.reason ?? "";
  } catch {
    // not JSON (e.g. a kubelet's plain-text error relayed by the API server)
  }
  return new KubeApiError(status, reason, message, body);
}

async function readAll(res: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of res) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

async function* lines(res: IncomingMessage): AsyncGenerator<string> {
  const decoder = new StringDecoder("utf8");
  let rest = "";
  for await (const chunk of res) {
    rest += decoder.write(chunk as Buffer);
    let nl: number;
    while ((nl = rest.indexOf("\n")) >= 0) {
      const line = rest.slice(0, nl).trim();
      rest = rest.slice(nl + 1);
      if (line) yield line;
    }
  }
  if (rest.trim()) yield rest.trim();
}

/** `2024-01-02T03:04:05Z`: the API's Time format (seconds). */
export function kubeTime(date = new Date()): string {
  return date.toISOString().replace(/\.\d+Z$/, "Z");
}

/** `2024-01-02T03:04:05.123456Z`: the API's MicroTime format (leases). */
export function kubeMicroTime(date = new Date()): string {
  return date.toISOString().replace(/Z$/, "000Z");
}
