/** Phases of node attempts, nodes and executions, and the cache status of a node. */

/** Node (and attempt) phases. */
export const NODE_PHASES = ["UNDEFINED", "QUEUED", "RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "SKIPPED", "ABORTED"] as const;
/** A node's phase. */
export type NodePhase = (typeof NODE_PHASES)[number];

/** Execution phases. */
export const EXECUTION_PHASES = ["QUEUED", "RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"] as const;
/** An execution's phase. */
export type ExecutionPhase = (typeof EXECUTION_PHASES)[number];

/** Terminal phases: nothing changes after these. */
export function isTerminalPhase(phase: NodePhase | ExecutionPhase): boolean {
  return phase === "SUCCEEDED" || phase === "FAILED" || phase === "TIMED_OUT" || phase === "SKIPPED" || phase === "ABORTED";
}

/**
 * Cache status of a node: HIT (outputs served from the catalog), MISS (looked up,
 * not found or not valid; the reason says why), POPULATED (ran and stored),
 * DISABLED (task not cacheable or caching turned off for the run).
 */
export const CACHE_STATUSES = ["HIT", "MISS", "POPULATED", "DISABLED"] as const;
/** One cache status. */
export type CacheStatus = (typeof CACHE_STATUSES)[number];

/** A failure record: what crosses a process or pod boundary when a task fails. */
export interface FailureRecord {
  /** user: the task's own code failed; system: infrastructure (timeouts, lost workers, storage). */
  kind: "user" | "system";
  code: string;
  message: string;
  /** The user's stack, trimmed of Petrel's frames. */
  stack?: string;
  retryable: boolean;
}
