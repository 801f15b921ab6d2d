/** What the suites that run workflows locally share. */
import { isExecutionFailedError, type ExecutionFailedError } from "../../kernel/index.js";

/** The ExecutionFailedError `p` rejects with; anything else (or no rejection) fails the test. */
export async function failure(p: Promise<unknown>): Promise<ExecutionFailedError> {
  try {
    await p;
  } catch (e) {
    if (isExecutionFailedError(e)) return e;
    throw e;
  }
  throw new Error("expected the run to fail");
}
