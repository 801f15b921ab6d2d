/** What the remote suites share. */
import { expect } from "vitest";
import { isRemoteError } from "../../remote/index.js";

/** Expects `promise` to reject with a RemoteError of `code` whose message matches `message`. */
export async function rejects(promise: Promise<unknown>, code: string, message?: RegExp): Promise<Error> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isRemoteError(error), String(error)).toBe(true);
  expect((error as { code: string }).code, (error as Error).message).toBe(code);
  if (message) expect((error as Error).message).toMatch(message);
  return error as Error;
}
