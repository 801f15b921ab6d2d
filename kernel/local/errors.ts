/** Errors of local runs. */
import { errorGuard, PetrelError, type FailureRecord } from "../model/index.js";

/** A run failed: names the node, the attempts made and the task's own error. */
export class ExecutionFailedError extends PetrelError {
  override name = "ExecutionFailedError";
  constructor(
    message: string,
    readonly node: string | undefined,
    readonly failure: FailureRecord,
    /** The run record, with every node's state at the time of failure. */
    readonly run: unknown,
    cause?: unknown,
  ) {
    super("EXECUTION_FAILED", message, { node, failure }, { cause });
  }
}
/** Guard for ExecutionFailedError across realms. */
export const isExecutionFailedError = errorGuard<ExecutionFailedError>("ExecutionFailedError");

/** A task attempt exceeded its timeout. */
export class TaskTimeoutError extends PetrelError {
  override name = "TaskTimeoutError";
  constructor(node: string, timeoutMs: number, attempt: number) {
    super("TASK_TIMEOUT", `node ${node} attempt ${attempt} timed out after ${timeoutMs} ms`, { node, timeoutMs, attempt });
  }
}

/** A task returned something that is not its declared outputs. */
export class OutputShapeError extends PetrelError {
  override name = "OutputShapeError";
  constructor(where: string, problem: string) {
    super("OUTPUT_SHAPE", `${where}: ${problem}`, { where, problem });
  }
}

/**
 * Thrown by task code to fail without retrying (bad data will not get better).
 * Anything else a task throws is a retryable user error.
 */
export class NonRetryableError extends PetrelError {
  override name = "NonRetryableError";
  constructor(message: string, options?: { cause?: unknown }) {
    super("NON_RETRYABLE", message, {}, options);
  }
}
