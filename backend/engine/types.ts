/** The engine's settings. */
import type { ApiDeps } from "../api/index.js";
import type { Catalog } from "../catalog/index.js";
import type { TaskRunner } from "../plugins/types.js";

/** Engine settings; everything but `deps`, `runner` and `endpoint` has a default. */
export interface EngineOptions {
  /** The stores, clock and settings the API uses. */
  deps: ApiDeps;
  runner: TaskRunner;
  /** The backend's base URL, which runtimes call (a function: the port is known only once listening). */
  endpoint: () => string;
  /** The shared cache; without one, nothing is cached. */
  catalog?: Catalog;
  /** Most task attempts at once per execution, unless the execution says otherwise (default 64). */
  maxParallelism?: number;
  /** Infrastructure failures retried per node, apart from user retries (default 3). */
  systemRetries?: number;
  /** First retry's delay, doubling per retry (default 250 ms). */
  retryBackoffMs?: number;
  /** Longest retry delay (default 30 s). */
  maxRetryBackoffMs?: number;
  /** A cache reservation expires this long after its last heartbeat (default 30 s). */
  reservationTtlMs?: number;
  /**
   * An attempt whose runtime heartbeats (over HTTP: processes, pods) and then falls
   * silent this long is declared lost (a system error) and stopped (default 60 s).
   */
  heartbeatTimeoutMs?: number;
  /** How long past a task's timeout the engine waits for its runtime to report before killing it (default 5 s). */
  timeoutGraceMs?: number;
  /** Unexpected engine errors (default: console.error). */
  onError?: (error: unknown, where: string) => void;
}
