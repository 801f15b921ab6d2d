/** What every route handler works with: the stores, the clock, the settings and the caller. */
import type { Context } from "hono";
import type { BlobStore } from "../blobs/index.js";
import type { Clock } from "../clock.js";
import type { AttemptOutcome } from "../../kernel/index.js";
import type { BlobRef } from "../../kernel/index.js";
import type { ExecutionKey, ExecutionRecord, Grant, MetadataStore, NodeExecutionRecord, NodeScope } from "../store/index.js";

/** Limits and choices the API enforces. */
export interface ApiSettings {
  /** Domains every project has, in promotion order. */
  domains: readonly string[];
  /** Largest JSON request body, in bytes. */
  maxJsonBytes: number;
  /** Largest blob upload, in bytes. */
  maxBlobBytes: number;
  /** Literal maps up to this many bytes of JSON are stored inline; larger ones go to the blob store. */
  inlineLiteralBytes: number;
  /** Every request acts as the admin, without a token. Only for a server bound to loopback. */
  insecureLocal: boolean;
  /** The shortest fixed-rate schedule registration accepts (default {@link DEFAULT_MIN_SCHEDULE_RATE_MS}). */
  minScheduleRateMs?: number;
}

/** Fixed-rate schedules tick at most once a minute unless the server allows more. */
export const DEFAULT_MIN_SCHEDULE_RATE_MS = 60_000;

/** Identifies one attempt of one node. */
export interface AttemptKey {
  execution: ExecutionKey;
  node: string;
  attempt: number;
}

/** Where an attempt's logs come from (the engine asks its runner). */
export interface LogSource {
  /** The attempt's combined stdout/stderr; `undefined` when the attempt is unknown or kept no logs. */
  read(key: AttemptKey, options: { tailBytes?: number; follow?: boolean; signal?: AbortSignal }): Promise<AsyncIterable<Uint8Array> | undefined>;
}

/** What the API tells the engine, and asks of it. Absent: executions are recorded and stay QUEUED. */
export interface EngineHooks {
  /** An execution was created (launch, relaunch, recover): run it. */
  created(record: ExecutionRecord): void;
  /** An execution was terminated (already ABORTED in the store): stop its attempts. */
  terminated(record: ExecutionRecord): void;
  /** A runtime reports how its attempt ended; resolves with the node as recorded after it. */
  reportOutcome(key: AttemptKey, outcome: AttemptOutcome): Promise<NodeExecutionRecord | undefined>;
  /** A runtime says its attempt is alive; false when the attempt no longer runs here (the runtime then stops). */
  heartbeat(key: AttemptKey): boolean;
  /** A runtime recorded a checkpoint for its node. */
  recordCheckpoint(key: AttemptKey, checkpoint: BlobRef): Promise<void>;
  /** Logs of attempts. */
  readonly logs: LogSource;
}

/** The services behind the API. */
export interface ApiDeps {
  store: MetadataStore;
  blobs: BlobStore;
  clock: Clock;
  settings: ApiSettings;
  /** The execution engine, when this API runs executions. */
  engine?: EngineHooks;
  /** Where unexpected errors are reported (default: console.error). */
  onError?: (error: unknown, request: Request) => void;
}

/** Who is calling. */
export interface Principal {
  kind: "admin" | "user" | "node" | "anonymous";
  name: string;
  tokenId?: string;
  grants: readonly Grant[];
  scope?: NodeScope;
}

/** In-memory knowledge of one app instance. */
export interface ApiCaches {
  /** Projects known to exist. Projects are never deleted, so a name once seen stays valid. */
  projects: Set<string>;
}

/** The per-request context a route's authorize and handle steps receive. */
export interface RouteContext {
  c: Context;
  deps: ApiDeps;
  caches: ApiCaches;
  principal: Principal;
  /** Path parameters, already checked against their patterns. */
  params: Record<string, string>;
  query: URLSearchParams;
  /** The validated JSON body (routes with a body schema), else undefined. */
  body: unknown;
}
