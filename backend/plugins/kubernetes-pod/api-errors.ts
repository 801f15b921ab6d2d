/**
 * Kubernetes API errors as facts: the status code, the Status object's reason
 * and message (the cluster's own words, which end up in node failures), and
 * how long to wait before trying again.
 */

/** An API call that failed. */
export interface ApiFailure {
  /** The HTTP status; absent when the request never got an answer (network). */
  status?: number;
  /** The Status object's reason (`AlreadyExists`, `Invalid`, `Forbidden`, `Expired`). */
  reason?: string;
  /** The cluster's message, else the error's. */
  message: string;
  /** From a Retry-After header, in ms. */
  retryAfterMs?: number;
}

/** What a Kubernetes client call threw, as an {@link ApiFailure}. */
export function apiFailure(error: unknown): ApiFailure {
  const e = error as { code?: unknown; statusCode?: unknown; body?: unknown; headers?: Record<string, string>; message?: unknown } | undefined;
  const status = typeof e?.code === "number" ? e.code : typeof e?.statusCode === "number" ? e.statusCode : undefined;
  let body: unknown = e?.body;
  if (typeof body === "string") {
    try {
      body = JSON.parse(body);
    } catch {
      // plain text: used as the message below
    }
  }
  const statusObject = typeof body === "object" && body !== null ? (body as { reason?: unknown; message?: unknown }) : undefined;
  const reason = typeof statusObject?.reason === "string" ? statusObject.reason : undefined;
  let message: string;
  if (typeof statusObject?.message === "string" && statusObject.message !== "") message = statusObject.message;
  else if (typeof body === "string" && body.trim() !== "") message = body.trim();
  else if (typeof e?.message === "string" && e.message !== "") message = firstLine(e.message);
  else message = String(error);
  const out: ApiFailure = { message };
  if (status !== undefined) out.status = status;
  if (reason !== undefined) out.reason = reason;
  const retryAfter = Number(e?.headers?.["retry-after"]);
  if (Number.isFinite(retryAfter) && retryAfter >= 0) out.retryAfterMs = retryAfter * 1000;
  return out;
}

/** The client's messages start with "HTTP-Code: 500 Message: ..." and go on with the headers; the first line says enough. */
function firstLine(text: string): string {
  return text.split("\n")[0]!.trim();
}

/** Worth another try: throttled, a server-side failure, or no answer at all. */
export function isTransient(failure: ApiFailure): boolean {
  return failure.status === undefined || failure.status === 429 || failure.status >= 500 || isTransientForbidden(failure);
}

/**
 * A 403 that goes away by itself: right after a namespace is created, pods are
 * refused until the controller manager has made its `default` ServiceAccount.
 */
export function isTransientForbidden(failure: ApiFailure): boolean {
  return failure.status === 403 && /service ?account/i.test(failure.message) && /not found|retry after/i.test(failure.message);
}

/** A ResourceQuota refused the pod: capacity may free up, so it is waited for like an unschedulable pod. */
export function isQuotaExceeded(failure: ApiFailure): boolean {
  return failure.status === 403 && /exceeded quota|quota exceeded|forbidden: exceeded/i.test(failure.message);
}

/** `403 Forbidden: ...` for messages. */
export function describeFailure(failure: ApiFailure): string {
  const status = failure.status !== undefined ? `${failure.status}${failure.reason ? ` ${failure.reason}` : ""}: ` : "";
  return `${status}${failure.message}`;
}
