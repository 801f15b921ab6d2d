/**
 * The task runner contract: how the engine starts, watches, stops and reads the
 * logs of task attempts, wherever they run (a local process, a warm worker, a
 * Kubernetes pod). Runners report what they see; the engine decides what it means.
 */
import type { LiteralMap, TaskSpec } from "../../kernel/index.js";
import type { AttemptAssignment, AttemptOutcome } from "../../kernel/index.js";
import type { RunnerHandle } from "../store/index.js";

/** What a runner can do, so the engine knows what to expect of it. */
export interface RunnerCapabilities {
  /** Attempts survive a backend restart and `reattach` can find them again. */
  reattach: boolean;
  /** Memory limits from the task's resources are enforced. */
  memoryLimits: boolean;
  /** Reports outcomes itself through `onEvent` (warm workers) rather than only through the API. */
  reportsOutcomes: boolean;
}

/** Everything a runner needs to start one attempt. */
export interface LaunchRequest {
  assignment: AttemptAssignment;
  task: TaskSpec;
  /** The node's resolved inputs (runners that pass data directly use them; others fetch through the API). */
  inputs: LiteralMap;
  /** The backend's base URL, for runtimes that talk HTTP. */
  endpoint: string;
  /**
   * Mints a token scoped to this node (memoized): runners whose attempts call the
   * API (a process, a pod) ask for it; a warm worker fed over IPC only for a checkpoint.
   */
  token: () => Promise<string>;
}

/** Why an attempt ended without the runtime reporting an outcome. */
export interface AttemptExit {
  /** The process's exit code, when it exited. */
  exitCode?: number;
  /** The signal that ended it. */
  signal?: string;
  /**
   * The runner's reading: `exited` (ended without reporting), `oom` (over its memory
   * limit), `timeout` (killed past its deadline), `aborted` (the engine asked),
   * `lost` (gone, e.g. its worker died or the machine restarted), `rejected` (it could
   * not start for a reason no retry fixes: the cluster refused its pod spec, its image
   * cannot be pulled, a Secret it needs is missing).
   */
  reason: "exited" | "oom" | "timeout" | "aborted" | "lost" | "rejected";
  message: string;
}

/** What a runner tells the engine. */
export type RunnerEvent =
  | { type: "outcome"; assignment: AttemptAssignment; outcome: AttemptOutcome }
  | { type: "exit"; assignment: AttemptAssignment; exit: AttemptExit };

/** Log reading options. */
export interface LogReadOptions {
  /** Only the last `tailBytes` bytes. */
  tailBytes?: number;
  /** Keep the stream open and send what is appended until the attempt ends. */
  follow?: boolean;
  signal?: AbortSignal;
}

/** Runs task attempts. */
export interface TaskRunner {
  readonly kind: string;
  readonly capabilities: RunnerCapabilities;
  /** Subscribes the engine to outcomes and exits; one listener. */
  onEvent(listener: (event: RunnerEvent) => void): void;
  /** Starts an attempt; resolves once it is started (or queued for CPU admission) with how to find it again. */
  launch(request: LaunchRequest): Promise<RunnerHandle>;
  /**
   * After a backend restart: watches an attempt launched before it, if it still
   * runs (true), else false (the engine then treats it as lost).
   */
  reattach(assignment: AttemptAssignment, handle: RunnerHandle): Promise<boolean>;
  /** Stops an attempt (terminate, timeout); its exit is reported with reason `aborted`. */
  abort(assignment: AttemptAssignment, handle: RunnerHandle, reason: string): Promise<void>;
  /** The attempt's stdout and stderr as one stream. */
  logs(assignment: AttemptAssignment, handle: RunnerHandle, options?: LogReadOptions): AsyncIterable<Uint8Array>;
  /** Stops every attempt it runs (or lets them run on, for runners that re-attach) and frees its resources. */
  close(): Promise<void>;
}
