/**
 * The runtime protocol: what the backend hands a task runtime for one attempt,
 * and what comes back. The same records travel over HTTP (a process or a pod
 * started with the environment below) and over a warm worker's IPC channel.
 */
import type { BlobRef, FailureRecord, Identifier, LiteralMap } from "../model/index.js";

/** One attempt of one node, as the engine assigns it. */
export interface AttemptAssignment {
  execution: { project: string; domain: string; name: string };
  /** The node's id in its execution (`clean`, `fit[3]`, `sub/train`). */
  node: string;
  /** 0-based attempt number. */
  attempt: number;
  /** Attempts the node may take in all (user retries + 1). */
  maxAttempts: number;
  /** The registered task to run. */
  task: Identifier;
  /** `sha256:<hex>` of the bundle that holds the task. */
  bundle: string;
  /** Per-attempt timeout; the runtime aborts the task and reports TIMED_OUT. */
  timeoutMs?: number;
  /** The latest checkpoint written by an earlier attempt (or by the node of a recovered execution). */
  checkpoint?: BlobRef;
}

/** How an attempt ended, as the runtime reports it. */
export type AttemptOutcome =
  | { phase: "SUCCEEDED"; outputs: LiteralMap }
  | { phase: "FAILED" | "TIMED_OUT"; error: FailureRecord };

/**
 * The environment a runtime process (or pod) starts with:
 * - `PETREL_ENDPOINT`: the backend's base URL (`http://host:port`, API under /api/v1)
 * - `PETREL_TOKEN`: a token scoped to this one node
 * - `PETREL_ASSIGNMENT`: the {@link AttemptAssignment} as JSON
 * - `PETREL_HOME` (optional): where bundles are cached by hash
 */
export const RUNTIME_ENV = {
  endpoint: "PETREL_ENDPOINT",
  token: "PETREL_TOKEN",
  assignment: "PETREL_ASSIGNMENT",
  home: "PETREL_HOME",
} as const;

/** Messages from the backend to a warm worker (child_process IPC, one attempt at a time). */
export type WorkerRequest =
  | {
      type: "run";
      id: number;
      assignment: AttemptAssignment;
      /** The node's inputs, already resolved. */
      inputs: LiteralMap;
      /** The task's environment variables, set for the attempt and restored after it. */
      env?: Record<string, string>;
    }
  | { type: "abort"; id: number; reason: string };

/** Messages from a warm worker to the backend. */
export type WorkerReply =
  | { type: "ready"; pid: number }
  | { type: "checkpoint"; id: number; checkpoint: BlobRef }
  /** What the attempt printed (stdout and stderr, in order, capped per attempt). */
  | { type: "log"; id: number; data: string }
  | { type: "result"; id: number; outcome: AttemptOutcome };
