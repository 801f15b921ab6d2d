/** Errors raised while defining tasks, workflows and launch plans. */
import { errorGuard, PetrelError } from "../model/index.js";

/**
 * A workflow, task or launch plan definition is invalid: a cycle, an unknown name,
 * a binding whose type does not fit. Fields name the node, the input and both types.
 */
export class WorkflowCompileError extends PetrelError {
  override name = "WorkflowCompileError";
  readonly workflow?: string;
  readonly node?: string;
  readonly input?: string;
  readonly expected?: string;
  readonly actual?: string;

  constructor(
    code: string,
    message: string,
    fields: { workflow?: string; node?: string; input?: string; expected?: string; actual?: string } = {},
  ) {
    super(code, message, fields);
    Object.assign(this, fields);
  }
}
/** Guard for WorkflowCompileError across realms. */
export const isWorkflowCompileError = errorGuard<WorkflowCompileError>("WorkflowCompileError");

/** Stable codes of WorkflowCompileError. */
export const COMPILE_ERRORS = {
  BINDING_TYPE_MISMATCH: "BINDING_TYPE_MISMATCH",
  UNKNOWN_INPUT: "UNKNOWN_INPUT",
  MISSING_INPUT: "MISSING_INPUT",
  UNKNOWN_OUTPUT: "UNKNOWN_OUTPUT",
  MISSING_OUTPUT: "MISSING_OUTPUT",
  CYCLE: "WORKFLOW_CYCLE",
  MISSING_UPSTREAM: "MISSING_UPSTREAM",
  INVALID_NAME: "INVALID_NAME",
  INVALID_OPTION: "INVALID_OPTION",
  OUTSIDE_WORKFLOW: "CALLED_OUTSIDE_WORKFLOW",
  INVALID_BRANCH: "INVALID_BRANCH",
  INVALID_SCHEDULE: "INVALID_SCHEDULE",
  DUPLICATE_NAME: "DUPLICATE_NAME",
} as const;
