/**
 * API errors: an HTTP status, a stable code and the field at fault. Every error
 * response has one shape: `{ "error": { "code", "message", "field"?, "details"? } }`.
 */
import { errorGuard, PetrelError } from "../../kernel/index.js";

/** Stable codes of API errors. */
export const API_ERRORS = {
  MALFORMED_JSON: "MALFORMED_JSON",
  SCHEMA_VIOLATION: "SCHEMA_VIOLATION",
  UNKNOWN_FIELD: "UNKNOWN_FIELD",
  INVALID_PARAMETER: "INVALID_PARAMETER",
  UNSUPPORTED_MEDIA_TYPE: "UNSUPPORTED_MEDIA_TYPE",
  BODY_TOO_LARGE: "BODY_TOO_LARGE",
  UNAUTHENTICATED: "UNAUTHENTICATED",
  FORBIDDEN: "FORBIDDEN",
  NOT_FOUND: "NOT_FOUND",
  VERSION_CONFLICT: "VERSION_CONFLICT",
  ALREADY_EXISTS: "ALREADY_EXISTS",
  INVALID_STATE: "INVALID_STATE",
  UNKNOWN_REFERENCE: "UNKNOWN_REFERENCE",
  WORKFLOW_COMPILE: "WORKFLOW_COMPILE",
  INVALID_INPUTS: "INVALID_INPUTS",
  INVALID_SCHEDULE: "INVALID_SCHEDULE",
  BLOB_INTEGRITY: "BLOB_INTEGRITY",
  NOT_ARROW: "NOT_ARROW",
  INTERNAL: "INTERNAL",
} as const;
/** One API error code. */
export type ApiErrorCode = (typeof API_ERRORS)[keyof typeof API_ERRORS];

/** An error with the HTTP status it is answered with. */
export class ApiError extends PetrelError {
  override name = "ApiError";
  readonly status: number;
  readonly field: string | undefined;

  constructor(status: number, code: ApiErrorCode | string, message: string, options: { field?: string; details?: Record<string, unknown>; cause?: unknown } = {}) {
    super(code, message, { ...(options.details ?? {}), ...(options.field !== undefined ? { field: options.field } : {}) }, { cause: options.cause });
    this.status = status;
    this.field = options.field;
  }

  /** The JSON body sent to the client. */
  toJSON(): { error: { code: string; message: string; field?: string; details?: Record<string, unknown> } } {
    const { field: _field, ...rest } = this.details;
    return {
      error: {
        code: this.code,
        message: this.message,
        ...(this.field !== undefined ? { field: this.field } : {}),
        ...(Object.keys(rest).length > 0 ? { details: rest } : {}),
      },
    };
  }
}
/** Guard for ApiError across realms. */
export const isApiError = errorGuard<ApiError>("ApiError");

/** 400 naming a field. */
export function badRequest(field: string, message: string, code: string = API_ERRORS.SCHEMA_VIOLATION, details?: Record<string, unknown>): ApiError {
  return new ApiError(400, code, message.startsWith(field) ? message : `${field}: ${message}`, { field, ...(details ? { details } : {}) });
}

/** 404 that reads the same whether the thing is absent or hidden from the caller. */
export function notFound(what: string): ApiError {
  return new ApiError(404, API_ERRORS.NOT_FOUND, `${what} not found`);
}
