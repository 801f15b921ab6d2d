/**
 * Errors of the remote client: a stable code, the HTTP status when there was one,
 * and a message that says what went wrong and what to do about it.
 */
import { errorGuard, PetrelError } from "../kernel/index.js";

/** Stable codes of remote errors. */
export const REMOTE_ERRORS = {
  /** No endpoint configured. */
  NOT_CONFIGURED: "NOT_CONFIGURED",
  /** The endpoint did not answer (refused, unknown host, timed out) after retries. */
  UNREACHABLE: "UNREACHABLE",
  /** The endpoint answered, but not as a Petrel backend. */
  NOT_A_BACKEND: "NOT_A_BACKEND",
  /** No token, or an invalid, expired or revoked one (401). */
  UNAUTHENTICATED: "UNAUTHENTICATED",
  /** The token's role is too weak for the action (403). */
  FORBIDDEN: "FORBIDDEN",
  /** No such thing, or it belongs to a project the token cannot see (404). */
  NOT_FOUND: "NOT_FOUND",
  /** The server refused the request as invalid (400). */
  INVALID_REQUEST: "INVALID_REQUEST",
  /** Inputs that do not fit the interface, caught before anything was sent. */
  INVALID_INPUTS: "INVALID_INPUTS",
  /** A version holds different content, or the thing is in the wrong state (409). */
  CONFLICT: "CONFLICT",
  /** An output was asked of a node or execution that did not succeed. */
  NO_OUTPUTS: "NO_OUTPUTS",
  /** A download ended early or did not match its hash, even after retries. */
  DOWNLOAD_FAILED: "DOWNLOAD_FAILED",
  /** `wait` gave up before the execution finished. */
  TIMEOUT: "TIMEOUT",
  /** The server failed (5xx) after retries. */
  SERVER_ERROR: "SERVER_ERROR",
} as const;
/** One remote error code. */
export type RemoteErrorCode = (typeof REMOTE_ERRORS)[keyof typeof REMOTE_ERRORS];

/** A failed remote call. `status` is the HTTP status, when the server answered. */
export class RemoteError extends PetrelError {
  override name = "RemoteError";
  declare readonly code: RemoteErrorCode;
  readonly status: number | undefined;

  constructor(code: RemoteErrorCode, message: string, options: { status?: number; details?: Record<string, unknown>; cause?: unknown } = {}) {
    super(code, message, options.details ?? {}, { cause: options.cause });
    this.status = options.status;
  }
}

/** Guard for RemoteError across realms. */
export const isRemoteError = errorGuard<RemoteError>("RemoteError");
