/**
 * Environment a runner sets for a runtime besides {@link RUNTIME_ENV}: all optional,
 * each with a default, so a pod started by hand needs only the protocol's variables.
 */
import type { AttemptAssignment } from "./protocol.js";

/** Optional runtime settings, by environment variable. */
export const RUNTIME_OPTIONAL_ENV = {
  /** Marks the process as one attempt (see {@link attemptId}), so a restarted runner can tell it from a reused pid. */
  attemptId: "PETREL_ATTEMPT_ID",
  /** Most bytes of stdout+stderr kept per attempt (default 10 MiB). */
  logMaxBytes: "PETREL_LOG_MAX_BYTES",
  /** Warm workers: the filesystem blob root (`<root>/sha256/<2 hex>/<hex>`) shared with the backend. */
  blobRoot: "PETREL_BLOB_ROOT",
  /** How long reporting the outcome keeps retrying, in ms (default 10 min). */
  reportDeadlineMs: "PETREL_REPORT_DEADLINE_MS",
  /** How often the runtime tells the backend it is alive, in ms (default 10 s; 0: never). */
  heartbeatMs: "PETREL_HEARTBEAT_MS",
} as const;

/** Exit codes of the runtime process. */
export const RUNTIME_EXIT = {
  /** The outcome was reported (whatever it was), or the backend said the attempt is no longer current. */
  REPORTED: 0,
  /** The environment does not describe an attempt; nothing ran. */
  INVALID_ENVIRONMENT: 2,
  /** The outcome could not be reported (the backend stayed unreachable past the deadline, or refused it). */
  UNREPORTED: 3,
  /** Stopped by SIGTERM (the runner aborted the attempt). */
  TERMINATED: 143,
} as const;

/** A stable id of one attempt: `project/domain/execution/<node, URL-encoded>/attempt`. */
export function attemptId(assignment: Pick<AttemptAssignment, "execution" | "node" | "attempt">): string {
  const { project, domain, name } = assignment.execution;
  return `${project}/${domain}/${name}/${encodeURIComponent(assignment.node)}/${assignment.attempt}`;
}

/** A positive integer from the environment, or the default. */
export function envInt(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const n = Number(env[name]);
  return Number.isSafeInteger(n) && n > 0 ? n : fallback;
}

/** A runtime's heartbeat interval unless PETREL_HEARTBEAT_MS says otherwise. */
export const DEFAULT_HEARTBEAT_MS = 10_000;
