/**
 * Signing in with a token: the token lives in an HttpOnly, SameSite=Strict
 * cookie and is resolved to a principal by the API's own `authenticate`, so the
 * console sees exactly what the token may see. Every form that changes
 * something carries a CSRF token derived from the session, and a POST whose
 * Origin (or Sec-Fetch-Site) says another site sent it is refused.
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import type { Context } from "hono";
import { getCookie } from "hono/cookie";
import { authenticate, isApiError, type ApiDeps, type Principal } from "../api/index.js";

/** The cookie holding the signed-in token. */
export const SESSION_COOKIE = "petrel_session";
/** The form field carrying the CSRF token. */
export const CSRF_FIELD = "csrf";
/** Tokens are opaque, but never longer than this or outside these characters. */
const TOKEN_PATTERN = /^[A-Za-z0-9_.~+/=-]{8,512}$/;

/** The signed-in caller of a console request. */
export interface Session {
  principal: Principal;
  /** The bearer token the console calls the API with (absent on an `--insecure-local` server). */
  token: string | undefined;
  /** What this session's forms must send back. */
  csrf: string;
}

/** Session handling for one console instance. */
export class Sessions {
  /** Keys the CSRF token of token-less (insecure-local) sessions. */
  private readonly localKey = randomBytes(32);

  constructor(private readonly deps: ApiDeps) {}

  /** Whether every request acts as the local admin (no sign-in). */
  get open(): boolean {
    return this.deps.settings.insecureLocal;
  }

  /** The CSRF token of a session: an HMAC keyed by its secret, so it needs no storage and survives restarts. */
  csrfFor(token: string | undefined): string {
    const key = token ?? this.localKey;
    return createHmac("sha256", key).update("petrel console csrf v1").digest("base64url");
  }

  /** The session of a request: from its cookie, or the local admin; undefined when signed out or the token no longer works. */
  async resolve(c: Context): Promise<Session | undefined> {
    if (this.open) return { principal: await authenticate(this.deps, undefined), token: undefined, csrf: this.csrfFor(undefined) };
    const token = getCookie(c, SESSION_COOKIE);
    if (token === undefined || !TOKEN_PATTERN.test(token)) return undefined;
    const principal = await this.principalOf(token);
    return principal && { principal, token, csrf: this.csrfFor(token) };
  }

  /** The principal a token stands for; undefined when it is unknown, revoked, expired or a node's. */
  async principalOf(token: string): Promise<Principal | undefined> {
    if (!TOKEN_PATTERN.test(token)) return undefined;
    try {
      const principal = await authenticate(this.deps, `Bearer ${token}`);
      // A node token belongs to one running task, never to a person.
      return principal.kind === "node" ? undefined : principal;
    } catch (error) {
      if (isApiError(error) && error.status === 401) return undefined;
      throw error;
    }
  }

  /** Whether a submitted CSRF token is this session's. */
  checkCsrf(session: Session, submitted: unknown): boolean {
    if (typeof submitted !== "string") return false;
    const a = Buffer.from(submitted);
    const b = Buffer.from(session.csrf);
    return a.length === b.length && timingSafeEqual(a, b);
  }
}

/**
 * Whether a state-changing request comes from the console's own pages: its
 * Origin names this host, or (without Origin) Sec-Fetch-Site says same-origin.
 * Requests with neither (scripts, curl) still need the CSRF token.
 */
export function sameOrigin(c: Context): boolean {
  const host = c.req.header("x-forwarded-host") ?? c.req.header("host") ?? new URL(c.req.url).host;
  const origin = c.req.header("origin");
  if (origin !== undefined) {
    if (origin === "null") return false;
    try {
      return new URL(origin).host === host;
    } catch {
      return false;
    }
  }
  const site = c.req.header("sec-fetch-site");
  return site === undefined || site === "same-origin" || site === "none";
}

/** Whether the request reached us over HTTPS (directly or through a proxy that says so). */
export function isHttps(c: Context): boolean {
  return new URL(c.req.url).protocol === "https:" || c.req.header("x-forwarded-proto") === "https";
}
