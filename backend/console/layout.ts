/**
 * The page shell (landmarks, breadcrumbs, who is signed in, one stylesheet and
 * one deferred script), the error page, and small formatting helpers that every
 * page shares.
 */
import { ASSET_PATHS } from "./assets.js";
import { html, type HtmlValue, type SafeHtml } from "./html.js";
import type { Session } from "./session.js";
import { CSRF_FIELD } from "./session.js";

/** One breadcrumb: text and, except for the current page, a link. */
export interface Crumb {
  text: string;
  href?: string;
}

/** What a page needs besides its content. */
export interface PageOptions {
  title: string;
  crumbs?: Crumb[];
  session?: Session | undefined;
  /** Attributes for `<main>` (e.g. the live-update URL), already escaped by the caller's template. */
  mainAttrs?: SafeHtml;
}

/** A whole HTML document. */
export function page(options: PageOptions, content: HtmlValue): SafeHtml {
  const crumbs = options.crumbs ?? [];
  const session = options.session;
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${options.title} · Petrel</title>
<link rel="stylesheet" href="${ASSET_PATHS.css}">
<script src="${ASSET_PATHS.js}" defer></script>
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header class="top">
  <div>
    <a class="brand" href="/">Petrel</a>
    ${
      crumbs.length > 0
        ? html`<nav class="crumbs" aria-label="Breadcrumb"><ol>${crumbs.map((c, i) =>
            i === crumbs.length - 1
              ? html`<li><span aria-current="page">${c.text}</span></li>`
              : c.href !== undefined
                ? html`<li><a href="${c.href}">${c.text}</a></li>`
                : html`<li>${c.text}</li>`,
          )}</ol></nav>`
        : ""
    }
  </div>
  ${
    session
      ? html`<div class="who"><span>Signed in as <strong>${session.principal.name}</strong> (${session.principal.kind})</span>${
          session.token !== undefined
            ? html`<form class="inline" method="post" action="/logout"><input type="hidden" name="${CSRF_FIELD}" value="${session.csrf}"><button type="submit">Sign out</button></form>`
            : ""
        }</div>`
      : ""
  }
</header>
<main id="main" tabindex="-1"${options.mainAttrs ?? ""}>
${content}
</main>
<footer>Petrel console · every page here is a view of the <a href="/api/v1/openapi.json">HTTP API</a></footer>
</body>
</html>
`;
}

/** Reason phrases of the statuses the console answers with. */
const STATUS_TITLES: Record<number, string> = {
  400: "Bad request",
  401: "Sign-in required",
  403: "Not allowed",
  404: "Not found",
  409: "Conflict",
  413: "Too large",
  416: "Range not satisfiable",
  500: "Something went wrong",
};

/** The page for an error: what went wrong in words, and a way home. */
export function errorPage(status: number, message: string, session?: Session): SafeHtml {
  const title = STATUS_TITLES[status] ?? `Error ${status}`;
  return page(
    { title, session },
    html`<h1>${title}</h1>
<p class="notice bad" role="alert">${message}</p>
<p><a href="/">Back to the projects</a>${session ? "" : html` · <a href="/login">Sign in</a>`}</p>`,
  );
}

// ---- formatting -----------------------------------------------------------------------

/** Epoch ms of an ISO time, or undefined. */
export function ms(iso: string | undefined): number | undefined {
  if (iso === undefined) return undefined;
  const t = Date.parse(iso);
  return Number.isFinite(t) ? t : undefined;
}

/** A time for people (UTC, to the second) in a `<time>` element. */
export function time(iso: string | undefined): SafeHtml {
  if (iso === undefined) return html`<span class="muted">—</span>`;
  const t = ms(iso);
  const text = t === undefined ? iso : new Date(t).toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC");
  return html`<time datetime="${iso}">${text}</time>`;
}

/** A duration for people: `850 ms`, `4.2 s`, `3 min 5 s`, `2 h 4 min`. */
export function duration(msValue: number | undefined): string {
  if (msValue === undefined || !Number.isFinite(msValue)) return "—";
  const d = Math.max(0, msValue);
  if (d < 1000) return `${Math.round(d)} ms`;
  if (d < 60_000) return `${(d / 1000).toFixed(d < 10_000 ? 2 : 1)} s`;
  if (d < 3_600_000) return `${Math.floor(d / 60_000)} min ${Math.round((d % 60_000) / 1000)} s`;
  return `${Math.floor(d / 3_600_000)} h ${Math.round((d % 3_600_000) / 60_000)} min`;
}

/** How long something took: end - start, or "running" while it has no end. */
export function span(startedAt: string | undefined, endedAt: string | undefined): string {
  const s = ms(startedAt);
  const e = ms(endedAt);
  if (s === undefined) return "—";
  if (e === undefined) return "running";
  return duration(e - s);
}

/** The CSS class of a phase. */
export function phaseClass(phase: string): string {
  return `phase-${phase.toLowerCase().replace(/[^a-z_]/g, "")}`;
}

/** A phase as a coloured badge (the colour repeats the word, never replaces it). */
export function phaseBadge(phase: string, attrs?: SafeHtml): SafeHtml {
  return html`<span class="badge ${phaseClass(phase)}"${attrs ?? ""}>${phase}</span>`;
}

/** Labels as chips. */
export function labelChips(labels: Record<string, string>): SafeHtml {
  const entries = Object.entries(labels);
  if (entries.length === 0) return html`<span class="muted">—</span>`;
  return html`${entries.map(([k, v]) => html`<span class="label">${k}=${v}</span>`)}`;
}

/** A hidden CSRF field for a session's forms. */
export function csrfField(session: Session): SafeHtml {
  return html`<input type="hidden" name="${CSRF_FIELD}" value="${session.csrf}">`;
}

/** A version for tables: content hashes shortened (the whole version in the title). */
export function shortVersion(version: string): SafeHtml {
  const short = version.length > 22 ? `${version.slice(0, version.startsWith("sha256:") ? 19 : 20)}…` : version;
  return html`<span class="mono" title="${version}">${short}</span>`;
}

/** `n thing` / `n things`. */
export function plural(n: number, word: string, many = `${word}s`): string {
  return `${n} ${n === 1 ? word : many}`;
}
