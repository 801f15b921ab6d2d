/** Errors of the task runtime: what went wrong around a task, before or after its code ran. */
import { errorGuard, PetrelError } from "../model/index.js";

/** Stable codes of RuntimeError. */
export const RUNTIME_ERRORS = {
  /** The environment or IPC message does not describe an attempt (a bug in the runner, never retried). */
  INVALID_ASSIGNMENT: "INVALID_ASSIGNMENT",
  /** The bundle holds no task of the assignment's name. */
  TASK_NOT_FOUND: "TASK_NOT_FOUND",
  /** The backend could not be reached, or refused or failed a request (network, 5xx, a missing blob). */
  BACKEND_ERROR: "BACKEND_ERROR",
  /** Bytes fetched for a blob or bundle do not hash to what was asked for. */
  BLOB_INTEGRITY: "BLOB_INTEGRITY",
  /** The runner aborted the attempt (terminate, or its deadline passed). */
  ATTEMPT_ABORTED: "ATTEMPT_ABORTED",
} as const;

/** A RuntimeError code. */
export type RuntimeErrorCode = (typeof RUNTIME_ERRORS)[keyof typeof RUNTIME_ERRORS];

/**
 * Something around the task failed: fetching, loading, uploading, reporting. The
 * message names what and where; `status` is the HTTP status when the backend answered.
 */
export class RuntimeError extends PetrelError {
  override name = "RuntimeError";
  declare readonly code: RuntimeErrorCode;

  constructor(code: RuntimeErrorCode, message: string, details: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(code, message, details, options);
  }

  /** The HTTP status the backend answered with, if it answered. */
  get status(): number | undefined {
    return typeof this.details.status === "number" ? this.details.status : undefined;
  }
}

/** Guard for RuntimeError across realms. */
export const isRuntimeError = errorGuard<RuntimeError>("RuntimeError");
