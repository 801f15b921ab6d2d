/** Signing in with a token and out again. */
import type { Context } from "hono";
import { deleteCookie, setCookie } from "hono/cookie";
import type { ApiDeps } from "../api/index.js";
import { html, type SafeHtml } from "./html.js";
import { csrfField, page } from "./layout.js";
import { errorResponse, htmlResponse } from "./request.js";
import { CSRF_FIELD, SESSION_COOKIE, isHttps, sameOrigin, type Sessions } from "./session.js";

/** A `next` that stays on this site: a path, never `//host` or a scheme. */
export function safeNext(next: unknown): string {
  if (typeof next !== "string" || !next.startsWith("/") || next.startsWith("//") || next.startsWith("/\\") || /[\x00-\x1f]/.test(next)) return "/";
  return next;
}

function loginForm(next: string, problem?: string): SafeHtml {
  return page(
    { title: "Sign in", crumbs: [{ text: "Sign in" }] },
    html`<div class="login">
<h1>Sign in</h1>
<p>Paste an API token (<span class="mono">petrel token create</span>, or the admin token the server printed). The console sees exactly what the token may see.</p>
${problem ? html`<p class="notice bad" role="alert" id="login-problem">${problem}</p>` : ""}
<form method="post" action="/login">
  <input type="hidden" name="next" value="${next}">
  <div class="field">
    <label for="token">Token</label>
    <input id="token" name="token" type="password" autocomplete="off" spellcheck="false" required size="48"${problem ? html` aria-describedby="login-problem" aria-invalid="true"` : ""} autofocus>
  </div>
  <button class="primary" type="submit">Sign in</button>
</form>
<p class="muted">The token is kept in an HttpOnly cookie for this site only, until you sign out or close the browser.</p>
</div>`,
  );
}

/** GET /login */
export async function loginPage(c: Context, sessions: Sessions, deps: ApiDeps): Promise<Response> {
  try {
    const next = safeNext(c.req.query("next"));
    const session = await sessions.resolve(c);
    if (session) {
      return htmlResponse(
        c,
        page(
          { title: "Signed in", session },
          html`<h1>Signed in</h1><p>You are signed in as <strong>${session.principal.name}</strong>.${sessions.open ? " This server runs with --insecure-local: every request acts as the admin." : ""}</p><p><a href="${next}">Continue</a></p>`,
        ),
      );
    }
    return htmlResponse(c, loginForm(next));
  } catch (error) {
    return errorResponse(c, deps, error, undefined);
  }
}

/** POST /login: a token that authenticates becomes the session cookie. */
export async function loginSubmit(c: Context, sessions: Sessions, deps: ApiDeps): Promise<Response> {
  try {
    if (!sameOrigin(c)) return htmlResponse(c, page({ title: "Not allowed" }, html`<h1>Not allowed</h1><p class="notice bad" role="alert">This form was sent from another site.</p>`), 403);
    const form = await c.req.parseBody();
    const next = safeNext(form.next);
    const token = typeof form.token === "string" ? form.token.trim() : "";
    const principal = token === "" ? undefined : await sessions.principalOf(token);
    if (!principal) return htmlResponse(c, loginForm(next, "That token is not valid: it is unknown, revoked, expired, or belongs to a running task."), 401);
    setCookie(c, SESSION_COOKIE, token, { httpOnly: true, sameSite: "Strict", path: "/", secure: isHttps(c) });
    return c.redirect(next, 303);
  } catch (error) {
    return errorResponse(c, deps, error, undefined);
  }
}

/** GET /logout: a button (signing out changes state, so it is a POST). */
export async function logoutPage(c: Context, sessions: Sessions, deps: ApiDeps): Promise<Response> {
  try {
    const session = await sessions.resolve(c);
    if (!session || session.token === undefined) return c.redirect("/login", 302);
    return htmlResponse(
      c,
      page(
        { title: "Sign out", session },
        html`<h1>Sign out</h1><form method="post" action="/logout">${csrfField(session)}<button class="primary" type="submit">Sign out ${session.principal.name}</button></form>`,
      ),
    );
  } catch (error) {
    return errorResponse(c, deps, error, undefined);
  }
}

/** POST /logout: forgets the cookie. */
export async function logoutSubmit(c: Context, sessions: Sessions, deps: ApiDeps): Promise<Response> {
  try {
    const session = await sessions.resolve(c);
    if (session) {
      const form = await c.req.parseBody();
      if (!sameOrigin(c) || !sessions.checkCsrf(session, form[CSRF_FIELD])) {
        return htmlResponse(c, page({ title: "Not allowed", session }, html`<h1>Not allowed</h1><p class="notice bad" role="alert">This form is stale or was sent from another site; reload the page and try again.</p>`), 403);
      }
    }
    deleteCookie(c, SESSION_COOKIE, { path: "/", httpOnly: true, sameSite: "Strict", secure: isHttps(c) });
    return c.redirect("/login", 303);
  } catch (error) {
    return errorResponse(c, deps, error, undefined);
  }
}
