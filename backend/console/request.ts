/**
 * One console request: who is signed in, the API as that caller, and the one
 * wrapper every page goes through — sign-in redirect, error pages instead of
 * stack traces, security headers, and a Server-Timing header with the time spent
 * in the API and in all.
 */
import type { Context } from "hono";
import { roleIn, type ApiDeps } from "../api/index.js";
import { ROLES, type Role } from "../store/index.js";
import { ConsoleApi, isApiCallError, type ApiFetch } from "./client.js";
import { SafeHtml } from "./html.js";
import { errorPage } from "./layout.js";
import type { Session, Sessions } from "./session.js";

/** What a page handler works with. */
export interface PageContext {
  c: Context;
  session: Session;
  api: ConsoleApi;
  deps: ApiDeps;
  /** A path parameter, as Hono decoded it. */
  param(name: string): string;
  /** The request's query. */
  query: URLSearchParams;
  /** Whether the caller has at least `need` in the project (and domain). */
  can(need: Role, project: string, domain?: string): boolean;
  /** Whether a submitted CSRF token is this session's. */
  csrfOk(submitted: unknown): boolean;
}

/** A console-side refusal: a status and a message for the error page. */
export class ConsoleError extends Error {
  override name = "ConsoleError";
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** 400 naming the query parameter at fault. */
export function badQuery(name: string, message: string): ConsoleError {
  return new ConsoleError(400, `${name}: ${message}`);
}

/** Headers every console response carries: no framing, no sniffing, scripts and styles from this origin only. */
export const SECURITY_HEADERS: Record<string, string> = {
  "content-security-policy":
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "same-origin",
};

/** Where a signed-out visitor is sent: the login form, returning here afterwards. */
export function loginRedirect(c: Context): Response {
  const url = new URL(c.req.url);
  return c.redirect(`/login?next=${encodeURIComponent(url.pathname + url.search)}`, 302);
}

/** What a handler may answer: a page (200), or a full response. */
export type PageResult = SafeHtml | Response;

/** The error page for anything a handler threw; unexpected errors are reported, never shown. */
export function errorResponse(c: Context, deps: ApiDeps, error: unknown, session: Session | undefined): Response {
  let status = 500;
  let message = "The console could not build this page; the server log has the details.";
  if (isApiCallError(error)) {
    status = error.status;
    if (status < 500) message = error.message;
    if (status === 404) message = `${error.message}. It does not exist, or your token cannot see it.`;
  } else if (error instanceof ConsoleError) {
    status = error.status;
    message = error.message;
  }
  if (status === 401) return loginRedirect(c);
  if (status >= 500) (deps.onError ?? ((e: unknown) => console.error("petrel console:", e)))(error, c.req.raw);
  return htmlResponse(c, errorPage(status, message, session), status);
}

/** An HTML response with the console's headers. */
export function htmlResponse(c: Context, body: SafeHtml | string, status = 200, extra: Record<string, string> = {}): Response {
  return c.body(String(body), status as 200, { ...SECURITY_HEADERS, "content-type": "text/html; charset=utf-8", "cache-control": "no-store", ...extra });
}

/** `api`: time spent in API calls, summed (parallel calls can add up to more than `total`); `total`: the whole request. */
const serverTiming = (started: number, api: ConsoleApi | undefined) => {
  const total = performance.now() - started;
  return api ? `api;dur=${api.elapsedMs.toFixed(1)}, total;dur=${total.toFixed(1)}` : `total;dur=${total.toFixed(1)}`;
};

/** Builds the handler wrapper of a console instance. */
export function pageWrapper(deps: ApiDeps, sessions: Sessions, fetchApi: ApiFetch) {
  const rank = (r: Role) => ROLES.indexOf(r);
  /** Wraps a handler: the caller must be signed in (else the login form), errors become pages. */
  return function handle(handler: (ctx: PageContext) => Promise<PageResult>, options: { json?: boolean } = {}) {
    return async (c: Context): Promise<Response> => {
      const started = performance.now();
      let session: Session | undefined;
      let api: ConsoleApi | undefined;
      let res: Response;
      try {
        session = await sessions.resolve(c);
        if (!session) {
          if (options.json) return c.json({ error: { code: "UNAUTHENTICATED", message: "sign in again" } }, 401, SECURITY_HEADERS);
          return loginRedirect(c);
        }
        api = new ConsoleApi(fetchApi, session.token);
        const s = session;
        const ctx: PageContext = {
          c,
          session: s,
          api,
          deps,
          param: (name) => c.req.param(name) ?? "",
          query: new URL(c.req.url).searchParams,
          can: (need, project, domain) => {
            const role = roleIn(s.principal, project, domain);
            return role !== undefined && rank(role) >= rank(need);
          },
          csrfOk: (submitted) => sessions.checkCsrf(s, submitted),
        };
        const result = await handler(ctx);
        res = result instanceof SafeHtml ? htmlResponse(c, result) : result;
      } catch (error) {
        if (options.json) {
          const status = isApiCallError(error) || error instanceof ConsoleError ? error.status : 500;
          if (status >= 500) (deps.onError ?? ((e: unknown) => console.error("petrel console:", e)))(error, c.req.raw);
          res = c.json({ error: { message: status >= 500 ? "internal error" : (error as Error).message } }, status as 400, SECURITY_HEADERS);
        } else {
          res = errorResponse(c, deps, error, session);
        }
      }
      // Headers of a streamed body cannot change once it is sent; Response headers are still ours here.
      try {
        res.headers.set("server-timing", serverTiming(started, api));
      } catch {
        // Immutable headers (a proxied response): timing is optional.
      }
      return res;
    };
  };
}
