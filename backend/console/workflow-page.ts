/**
 * `/projects/{p}/domains/{d}/workflows/{name}`: a workflow's versions, one of
 * them shown (DAG, interface, provenance), a diff between any two versions, and
 * promotion of a version to a later domain — confirmed on a page that shows the
 * diff against that domain's current version. The promote button appears only
 * for callers who are editors in the target domain; the API checks again.
 */
import { typeToString, type WorkflowSpec } from "../../kernel/index.js";
import { jsonDiff, type JsonDifference } from "../api/index.js";
import type { EntityView, PageView, VersionView } from "./client.js";
import { renderDag } from "./dag.js";
import { checkedForm } from "./forms.js";
import { html, queryString, type SafeHtml } from "./html.js";
import { csrfField, page, shortVersion, time } from "./layout.js";
import { paths } from "./paths.js";
import { ConsoleError, badQuery, type PageContext } from "./request.js";

/** Versions listed per page. */
const VERSIONS_PER_PAGE = 50;
/** Differences listed before "and n more". */
const MAX_DIFF_ROWS = 200;

const apiBase = (p: string, d: string, w: string) => `/projects/${encodeURIComponent(p)}/domains/${encodeURIComponent(d)}/workflows/${encodeURIComponent(w)}`;

const short = (v: unknown) => {
  if (v === undefined) return "(absent)";
  const s = JSON.stringify(v, null, 1) ?? String(v);
  return s.length > 400 ? `${s.slice(0, 400)}…` : s;
};

/** The differences of two entity versions' content (spec and bundle), as a table. */
export function diffTable(diff: readonly JsonDifference[], fromLabel: string, toLabel: string): SafeHtml {
  if (diff.length === 0) return html`<p class="notice">The two versions have identical content.</p>`;
  const shown = diff.slice(0, MAX_DIFF_ROWS);
  return html`<div class="scroll"><table class="diff"><caption>${diff.length} difference${diff.length === 1 ? "" : "s"} (${fromLabel} → ${toLabel})</caption>
<thead><tr><th scope="col">Path</th><th scope="col">${fromLabel}</th><th scope="col">${toLabel}</th></tr></thead>
<tbody>${shown.map((x) => html`<tr><th scope="row" class="mono">${x.path}</th><td class="from"><pre>${short(x.stored)}</pre></td><td class="to"><pre>${short(x.submitted)}</pre></td></tr>`)}</tbody></table></div>
${diff.length > shown.length ? html`<p class="muted">… and ${diff.length - shown.length} more differences.</p>` : ""}`;
}

const content = (e: EntityView) => ({ spec: e.spec, bundle: e.bundle });

/** Domains after `d` in promotion order, where the caller is an editor. */
function promotionTargets(ctx: PageContext, p: string, d: string): string[] {
  const domains = ctx.deps.settings.domains;
  return domains.slice(domains.indexOf(d) + 1).filter((t) => ctx.can("editor", p, t));
}

const NOTICES: Record<string, string> = { promoted: "The version was promoted into this domain." };

export async function workflowPage(ctx: PageContext): Promise<SafeHtml> {
  const p = ctx.param("project");
  const d = ctx.param("domain");
  const w = ctx.param("name");
  const base = apiBase(p, d, w);
  const cursor = ctx.query.get("cursor");
  const versions = await ctx.api.get<PageView<VersionView>>(`${base}/versions${queryString([["limit", String(VERSIONS_PER_PAGE)], ["cursor", cursor ?? ""]])}`);
  const wanted = ctx.query.get("version") ?? versions.items[0]?.version;
  const shown = wanted !== undefined ? await ctx.api.get<EntityView<WorkflowSpec>>(`${base}/versions/${encodeURIComponent(wanted)}`) : undefined;
  const here = paths.workflow(p, d, w);
  const targets = promotionTargets(ctx, p, d);
  const notice = NOTICES[ctx.query.get("notice") ?? ""];
  const rows = versions.items.map((v, i) => {
    const previous = versions.items[i + 1];
    return html`<tr${v.version === shown?.id.version ? html` aria-current="true"` : ""}>
<th scope="row"><a href="${here}?version=${encodeURIComponent(v.version)}">${shortVersion(v.version)}</a></th>
<td>${time(v.createdAt)}</td><td>${v.createdBy}</td>
<td>${v.promotedFrom ? html`from ${v.promotedFrom.fromDomain} by ${v.promotedFrom.by}` : html`<span class="muted">registered here</span>`}</td>
<td class="mono">${v.digest.slice(0, 12)}</td>
<td><div class="actions">${previous ? html`<a href="${here}/diff?from=${encodeURIComponent(previous.version)}&amp;to=${encodeURIComponent(v.version)}">Diff with previous</a>` : ""}${targets.map(
      (t) => html`<a class="button" href="${paths.workflowVersion(p, d, w, v.version)}/promote?to=${encodeURIComponent(t)}">Promote to ${t}</a>`,
    )}</div></td></tr>`;
  });
  const options = (selected: string | undefined) => versions.items.map((v) => html`<option value="${v.version}"${v.version === selected ? html` selected` : ""}>${v.version}</option>`);
  const spec = shown?.spec;
  return page(
    {
      title: `Workflow ${w} · ${p} / ${d}`,
      session: ctx.session,
      crumbs: [{ text: "Projects", href: "/" }, { text: `${p} / ${d}`, href: paths.domain(p, d) }, { text: `Workflow ${w}` }],
    },
    html`${notice ? html`<p class="notice" role="status">${notice}</p>` : ""}
<h1>Workflow ${w} <span class="muted">in ${p} / ${d}</span></h1>
<p><a href="${paths.executions(p, d)}?workflow=${encodeURIComponent(w)}">Executions of ${w}</a></p>
<section aria-labelledby="versions-h"><h2 id="versions-h">Versions</h2>
<div class="scroll"><table><caption>Versions of ${w}, newest first</caption>
<thead><tr><th scope="col">Version</th><th scope="col">Registered</th><th scope="col">By</th><th scope="col">Origin</th><th scope="col">Digest</th><th scope="col">Actions</th></tr></thead>
<tbody>${rows}</tbody></table></div>
${versions.next ? html`<nav class="pager" aria-label="Pages of versions"><a href="${here}?cursor=${encodeURIComponent(versions.next)}">Older versions</a></nav>` : ""}
${
  versions.items.length > 1
    ? html`<form class="filters" method="get" action="${here}/diff" aria-label="Compare two versions">
<div class="field"><label for="diff-from">From version</label><select id="diff-from" name="from">${options(versions.items[1]?.version)}</select></div>
<div class="field"><label for="diff-to">To version</label><select id="diff-to" name="to">${options(versions.items[0]?.version)}</select></div>
<div class="actions"><button type="submit">Compare</button></div></form>`
    : ""
}
${targets.length === 0 && ctx.deps.settings.domains.indexOf(d) < ctx.deps.settings.domains.length - 1 ? html`<p class="muted">Promoting needs the editor role in a later domain; your token has none.</p>` : ""}
</section>
${
  shown && spec
    ? html`<section aria-labelledby="shown-h"><h2 id="shown-h">Version <span class="mono">${shown.id.version}</span></h2>
${spec.description ? html`<p>${spec.description}</p>` : ""}
<dl class="facts"><dt>Registered</dt><dd>${time(shown.createdAt)} by ${shown.createdBy}</dd>
${shown.promotedFrom ? html`<dt>Promoted</dt><dd>from ${shown.promotedFrom.fromDomain} by ${shown.promotedFrom.by} at ${time(shown.promotedFrom.at)}</dd>` : ""}
${spec.source ? html`<dt>Defined at</dt><dd class="mono">${spec.source}</dd>` : ""}
<dt>Bundle</dt><dd class="mono">${shown.bundle ?? "—"}</dd>
<dt>Failure policy</dt><dd>${spec.failurePolicy}</dd>
<dt>Inputs</dt><dd>${Object.entries(spec.interface.inputs).map(([n, v], i) => html`${i > 0 ? ", " : ""}<span class="mono">${n}: ${typeToString(v.type)}${v.default ? " (has default)" : ""}</span>`)}</dd>
<dt>Outputs</dt><dd>${Object.entries(spec.interface.outputs).map(([n, v], i) => html`${i > 0 ? ", " : ""}<span class="mono">${n}: ${typeToString(v.type)}</span>`)}</dd>
<dt>Pinned references</dt><dd>${shown.references.map((r, i) => html`${i > 0 ? ", " : ""}<span class="mono">${r.resourceType} ${r.name}@${r.version.slice(0, 12)}</span>`)}</dd></dl>
${renderDag({ records: new Map(), subworkflows: new Map(), phases: false }, spec.nodes, "", `DAG of workflow ${w} version ${shown.id.version}`)}
</section>`
    : ""
}`,
  );
}

export async function workflowDiffPage(ctx: PageContext): Promise<SafeHtml> {
  const p = ctx.param("project");
  const d = ctx.param("domain");
  const w = ctx.param("name");
  const from = ctx.query.get("from");
  const to = ctx.query.get("to");
  if (!from) throw badQuery("from", "give the version to compare from: ?from=v1&to=v2");
  if (!to) throw badQuery("to", "give the version to compare to: ?from=v1&to=v2");
  const base = apiBase(p, d, w);
  const [a, b] = await Promise.all([ctx.api.get<EntityView>(`${base}/versions/${encodeURIComponent(from)}`), ctx.api.get<EntityView>(`${base}/versions/${encodeURIComponent(to)}`)]);
  const diff = jsonDiff(content(a), content(b));
  const here = paths.workflow(p, d, w);
  return page(
    {
      title: `Diff of ${w}: ${from} → ${to}`,
      session: ctx.session,
      crumbs: [{ text: "Projects", href: "/" }, { text: `${p} / ${d}`, href: paths.domain(p, d) }, { text: `Workflow ${w}`, href: here }, { text: "Diff" }],
    },
    html`<h1>Workflow ${w}: <span class="mono">${from}</span> → <span class="mono">${to}</span></h1>
<dl class="facts"><dt>${from}</dt><dd>registered ${time(a.createdAt)} by ${a.createdBy}, digest <span class="mono">${a.digest.slice(0, 16)}</span></dd>
<dt>${to}</dt><dd>registered ${time(b.createdAt)} by ${b.createdBy}, digest <span class="mono">${b.digest.slice(0, 16)}</span></dd></dl>
${diffTable(diff, from, to)}
<p><a href="${here}">Back to the versions</a> · <a href="${here}/diff?from=${encodeURIComponent(to)}&amp;to=${encodeURIComponent(from)}">Reverse the diff</a></p>`,
  );
}

/** The target domain of a promotion, checked: a later domain than this one. */
function targetOf(ctx: PageContext, d: string, given: string | null | undefined): string {
  const domains = ctx.deps.settings.domains;
  if (!given) throw badQuery("to", `give the domain to promote to (${domains.join(", ")})`);
  if (!domains.includes(given)) throw badQuery("to", `${JSON.stringify(given)} is not a domain (${domains.join(", ")})`);
  if (given === d) throw badQuery("to", `the version is already in ${d}`);
  return given;
}

/** GET .../workflows/{name}/versions/{version}/promote?to=: the diff against the target's current version, and the form. */
export async function promotePage(ctx: PageContext): Promise<SafeHtml> {
  const p = ctx.param("project");
  const d = ctx.param("domain");
  const w = ctx.param("name");
  const v = ctx.param("version");
  const to = targetOf(ctx, d, ctx.query.get("to"));
  const source = await ctx.api.get<EntityView<WorkflowSpec>>(`${apiBase(p, d, w)}/versions/${encodeURIComponent(v)}`);
  if (!ctx.can("editor", p, to)) throw new ConsoleError(403, `${ctx.session.principal.name} needs the editor role in ${p}/${to} to promote into it.`);
  const targetBase = apiBase(p, to, w);
  const [latest, same] = await Promise.all([
    ctx.api.find<PageView<VersionView>>(`${targetBase}/versions?limit=1`),
    ctx.api.find<EntityView>(`${targetBase}/versions/${encodeURIComponent(v)}`),
  ]);
  const current = latest?.items[0] ? await ctx.api.get<EntityView>(`${targetBase}/versions/${encodeURIComponent(latest.items[0].version)}`) : undefined;
  const here = paths.workflow(p, d, w);
  const state = same
    ? same.digest === source.digest
      ? html`<p class="notice">Version <span class="mono">${v}</span> is already in ${to} with the same content; promoting again changes nothing.</p>`
      : html`<p class="notice bad" role="alert">${to} holds a different workflow under version <span class="mono">${v}</span>; the promotion will be refused.</p>`
    : "";
  return page(
    {
      title: `Promote ${w} ${v} to ${to}`,
      session: ctx.session,
      crumbs: [{ text: "Projects", href: "/" }, { text: `${p} / ${d}`, href: paths.domain(p, d) }, { text: `Workflow ${w}`, href: here }, { text: `Promote to ${to}` }],
    },
    html`<h1>Promote ${w} ${shortVersion(v)} from ${d} to ${to}?</h1>
<p>The exact version — spec, bundle and every task and workflow it references — is registered in ${to}. Nothing is rebuilt.</p>
${state}
<h2>Compared with what ${to} runs now</h2>
${
  current
    ? html`<p>The current version in ${to} is <span class="mono">${current.id.version}</span> (registered ${time(current.createdAt)} by ${current.createdBy}).</p>${diffTable(jsonDiff(content(current), content(source)), `${to} ${current.id.version}`, `${d} ${v}`)}`
    : html`<p class="notice">${to} has no version of ${w} yet: this will be its first.</p>`
}
<form method="post" action="${paths.workflowVersion(p, d, w, v)}/promote">${csrfField(ctx.session)}<input type="hidden" name="to" value="${to}">
<div class="actions"><button class="primary" type="submit">Promote to ${to}</button><a class="button" href="${here}">Cancel</a></div></form>`,
  );
}

/** POST .../workflows/{name}/versions/{version}/promote: promotes through the API (which checks the role), then shows the target domain. */
export async function promoteSubmit(ctx: PageContext): Promise<Response> {
  const p = ctx.param("project");
  const d = ctx.param("domain");
  const w = ctx.param("name");
  const v = ctx.param("version");
  const form = await checkedForm(ctx);
  const to = targetOf(ctx, d, form.to);
  await ctx.api.post(`${apiBase(p, d, w)}/versions/${encodeURIComponent(v)}/promote`, { toDomain: to });
  return ctx.c.redirect(`${paths.workflow(p, to, w)}?version=${encodeURIComponent(v)}&notice=promoted`, 303);
}
