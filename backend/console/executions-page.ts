/**
 * `/projects/{p}/domains/{d}/executions`: executions newest first, filtered by
 * phase, workflow, launch plan, label and creation time, paged by the API's
 * cursor. One API call per page (a keyset query on an index), so the first page
 * costs the same with a hundred executions or a hundred thousand.
 */
import { EXECUTION_PHASES } from "../../kernel/index.js";
import type { ExecutionView, NameView, PageView } from "./client.js";
import { html, queryString, type SafeHtml } from "./html.js";
import { labelChips, page, phaseBadge, shortVersion, span, time } from "./layout.js";
import { paths } from "./paths.js";
import { badQuery, type PageContext } from "./request.js";

/** Rows per page unless `limit` says otherwise, and at most. */
export const DEFAULT_EXECUTION_ROWS = 50;
export const MAX_EXECUTION_ROWS = 200;

const LOCAL_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,3})?)?$/;

/** A datetime-local value is taken as UTC; anything else goes to the API as given (which checks it). */
function toIso(value: string): string {
  return LOCAL_TIME.test(value) ? `${value}${value.length === 16 ? ":00" : ""}Z` : value;
}

/** The form's value for an ISO time (datetime-local has no zone: the form says UTC). */
function toLocalInput(value: string): string {
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2})?)/.exec(value);
  return m ? m[1]! : "";
}

/** The filters of a request, as the console's query and as the API's. */
export function executionFilters(query: URLSearchParams): { console: [string, string][]; api: [string, string][]; limit: number } {
  const pairs: [string, string][] = [];
  for (const phase of query.getAll("phase")) for (const p of phase.split(",")) if (p !== "") pairs.push(["phase", p]);
  for (const name of ["workflow", "launchPlan"]) {
    const v = query.get(name)?.trim();
    if (v) pairs.push([name, v]);
  }
  for (const l of query.getAll("label")) if (l.trim() !== "") pairs.push(["label", l.trim()]);
  const apiPairs: [string, string][] = [...pairs];
  for (const name of ["createdAfter", "createdBefore"]) {
    const v = query.get(name)?.trim();
    if (v) {
      pairs.push([name, v]);
      apiPairs.push([name, toIso(v)]);
    }
  }
  let limit = DEFAULT_EXECUTION_ROWS;
  const limitText = query.get("limit");
  if (limitText !== null && limitText !== "") {
    if (!/^[1-9][0-9]{0,3}$/.test(limitText) || Number(limitText) > MAX_EXECUTION_ROWS) throw badQuery("limit", `${JSON.stringify(limitText)} is not a page size from 1 to ${MAX_EXECUTION_ROWS}`);
    limit = Number(limitText);
    pairs.push(["limit", limitText]);
  }
  return { console: pairs, api: apiPairs, limit };
}

export async function executionsPage(ctx: PageContext): Promise<SafeHtml> {
  const p = ctx.param("project");
  const d = ctx.param("domain");
  const base = `/projects/${encodeURIComponent(p)}/domains/${encodeURIComponent(d)}`;
  const filters = executionFilters(ctx.query);
  const cursor = ctx.query.get("cursor");
  const apiQuery = queryString([...filters.api, ["limit", String(filters.limit)], ...(cursor ? ([["cursor", cursor]] as [string, string][]) : [])]);
  const [list, workflows] = await Promise.all([
    ctx.api.get<PageView<ExecutionView>>(`${base}/executions${apiQuery}`),
    ctx.api.get<PageView<NameView>>(`${base}/workflows?limit=200`),
  ]);
  const selected = new Set(filters.console.filter(([k]) => k === "phase").map(([, v]) => v));
  const value = (name: string) => ctx.query.get(name)?.trim() ?? "";
  const labels = ctx.query.getAll("label").filter((l) => l.trim() !== "");
  const filtered = filters.console.some(([k]) => k !== "limit");

  const rows = list.items.map(
    (e) => html`<tr>
<td><a href="${paths.execution(p, d, e.name)}">${e.name}</a></td>
<td>${phaseBadge(e.phase)}</td>
<td><a href="${paths.workflow(p, d, e.workflow.name)}">${e.workflow.name}</a> <span class="muted">${shortVersion(e.workflow.version)}</span></td>
<td>${e.launchPlan ? e.launchPlan.name : html`<span class="muted">—</span>`}</td>
<td>${labelChips(e.labels)}</td>
<td>${e.mode}${e.source ? html` <span class="muted">of ${e.source}</span>` : ""}</td>
<td>${time(e.createdAt)}</td>
<td>${span(e.startedAt, e.endedAt)}</td>
</tr>`,
  );
  const here = paths.executions(p, d);
  const nextHref = list.next ? `${here}${queryString([...filters.console, ["cursor", list.next]])}` : undefined;
  const firstHref = cursor ? `${here}${queryString(filters.console)}` : undefined;

  return page(
    {
      title: `Executions · ${p} / ${d}`,
      session: ctx.session,
      crumbs: [{ text: "Projects", href: "/" }, { text: `${p} / ${d}`, href: paths.domain(p, d) }, { text: "Executions" }],
    },
    html`<h1>Executions <span class="muted">in ${p} / ${d}</span></h1>
<form class="filters" method="get" action="${here}" role="search" aria-label="Filter executions">
  <fieldset><legend>Phase</legend>${EXECUTION_PHASES.map(
    (ph) => html`<label><input type="checkbox" name="phase" value="${ph}"${selected.has(ph) ? html` checked` : ""}> ${ph}</label>`,
  )}</fieldset>
  <div class="field"><label for="f-workflow">Workflow</label><input id="f-workflow" type="text" name="workflow" value="${value("workflow")}" list="f-workflows"><datalist id="f-workflows">${workflows.items.map((w) => html`<option value="${w.name}"></option>`)}</datalist></div>
  <div class="field"><label for="f-plan">Launch plan</label><input id="f-plan" type="text" name="launchPlan" value="${value("launchPlan")}"></div>
  <div class="field"><label for="f-label">Label <span class="hint">key or key=value</span></label><input id="f-label" type="text" name="label" value="${labels[0] ?? ""}"></div>
  ${labels.slice(1).map((l, i) => html`<div class="field"><label for="f-label-${i}">And label</label><input id="f-label-${i}" type="text" name="label" value="${l}"></div>`)}
  <div class="field"><label for="f-after">Created from <span class="hint">UTC</span></label><input id="f-after" type="datetime-local" step="1" name="createdAfter" value="${toLocalInput(value("createdAfter"))}"></div>
  <div class="field"><label for="f-before">Created before <span class="hint">UTC</span></label><input id="f-before" type="datetime-local" step="1" name="createdBefore" value="${toLocalInput(value("createdBefore"))}"></div>
  ${filters.limit !== DEFAULT_EXECUTION_ROWS ? html`<input type="hidden" name="limit" value="${filters.limit}">` : ""}
  <div class="actions"><button class="primary" type="submit">Apply filters</button>${filtered ? html`<a class="button" href="${here}">Clear</a>` : ""}</div>
</form>
${
  rows.length > 0
    ? html`<div class="scroll"><table><caption>${cursor ? "A later page of executions" : "The newest executions"}${filtered ? " matching the filters" : ""}</caption>
<thead><tr><th scope="col">Execution</th><th scope="col">Phase</th><th scope="col">Workflow</th><th scope="col">Launch plan</th><th scope="col">Labels</th><th scope="col">Mode</th><th scope="col">Created</th><th scope="col">Duration</th></tr></thead>
<tbody>${rows}</tbody></table></div>`
    : html`<p class="notice">No executions${filtered ? " match these filters" : " yet"}.</p>`
}
<nav class="pager" aria-label="Pages of executions">${firstHref ? html`<a href="${firstHref}">Newest</a>` : ""}${nextHref ? html`<a href="${nextHref}" rel="next">Older executions</a>` : ""}</nav>`,
  );
}
