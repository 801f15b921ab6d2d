/**
 * `/projects/{p}/domains/{d}`: what a domain holds — workflows, launch plans with
 * their versions and schedules (next runs and past ticks when the server keeps
 * them), tasks — and its latest executions.
 */
import type { LaunchPlanSpec, Schedule } from "../../kernel/index.js";
import { isApiCallError, type EntityView, type ExecutionView, type NameView, type PageView, type ProjectView, type VersionView } from "./client.js";
import { html, type SafeHtml } from "./html.js";
import { duration, labelChips, page, phaseBadge, shortVersion, span, time } from "./layout.js";
import { paths } from "./paths.js";
import type { PageContext } from "./request.js";

/** Launch plans whose versions and schedules are shown in detail. */
const MAX_DETAILED_PLANS = 30;

/** A schedule in words: `cron "0 * * * *" (Europe/Paris)`, `every 5 min`, with its policies. */
export function scheduleText(s: Schedule): string {
  const when = s.kind === "cron" ? `cron "${s.expression}"${s.timezone ? ` (${s.timezone})` : " (UTC)"}` : `every ${duration(s.everyMs)}`;
  const policy = [
    s.catchUp ? `catch-up ${s.catchUp}${s.catchUp === "all" && s.catchUpLimit ? ` (≤ ${s.catchUpLimit})` : ""}` : "",
    s.concurrency === "skip" ? "skips a tick while the previous run runs" : "",
    s.kickoffTimeInput ? `tick time → input ${s.kickoffTimeInput}` : "",
  ].filter(Boolean);
  return policy.length > 0 ? `${when}; ${policy.join("; ")}` : when;
}

interface ScheduleDetail {
  nextRuns: string[];
  pastRuns: { scheduledTime: string; outcome: string; version: string; execution?: string; phase?: string; reason?: string }[];
}

interface PlanDetail {
  name: NameView;
  versions: VersionView[];
  shown?: EntityView<LaunchPlanSpec>;
  schedule?: ScheduleDetail;
}

async function planDetail(ctx: PageContext, base: string, n: NameView): Promise<PlanDetail> {
  const versions = (await ctx.api.get<PageView<VersionView>>(`${base}/launch-plans/${encodeURIComponent(n.name)}/versions?limit=5`)).items;
  const active = await ctx.api.find<EntityView<LaunchPlanSpec>>(`${base}/launch-plans/${encodeURIComponent(n.name)}/active`);
  const shown = active ?? (await ctx.api.find<EntityView<LaunchPlanSpec>>(`${base}/launch-plans/${encodeURIComponent(n.name)}/versions/${encodeURIComponent(n.latestVersion)}`));
  let schedule: ScheduleDetail | undefined;
  if (active?.spec.schedule) {
    try {
      schedule = await ctx.api.get<ScheduleDetail>(`${base}/launch-plans/${encodeURIComponent(n.name)}/schedule?n=3&limit=5`);
    } catch (error) {
      // A server without the schedule routes still shows the launch plan's schedule spec.
      if (!isApiCallError(error) || error.status !== 404) throw error;
    }
  }
  return { name: n, versions, ...(shown ? { shown } : {}), ...(schedule ? { schedule } : {}) };
}

export async function domainPage(ctx: PageContext): Promise<SafeHtml> {
  const p = ctx.param("project");
  const d = ctx.param("domain");
  const base = `/projects/${encodeURIComponent(p)}/domains/${encodeURIComponent(d)}`;
  const project = await ctx.api.get<ProjectView>(`/projects/${encodeURIComponent(p)}`);
  const [workflows, plans, tasks, executions] = await Promise.all([
    ctx.api.get<PageView<NameView>>(`${base}/workflows?limit=200`),
    ctx.api.get<PageView<NameView>>(`${base}/launch-plans?limit=200`),
    ctx.api.get<PageView<NameView>>(`${base}/tasks?limit=200`),
    ctx.api.get<PageView<ExecutionView>>(`${base}/executions?limit=10`),
  ]);
  const details = await Promise.all(plans.items.slice(0, MAX_DETAILED_PLANS).map((n) => planDetail(ctx, base, n)));

  const domainTabs = html`<nav class="tabs" aria-label="Domains"><ul>${project.domains.map((x) =>
    x === d ? html`<li><strong aria-current="page">${x}</strong></li>` : html`<li><a href="${paths.domain(p, x)}">${x}</a></li>`,
  )}</ul></nav>`;

  const executionRows = executions.items.map(
    (e) => html`<tr><td><a href="${paths.execution(p, d, e.name)}">${e.name}</a></td><td>${phaseBadge(e.phase)}</td><td>${e.workflow.name}</td><td>${labelChips(e.labels)}</td><td>${time(e.createdAt)}</td><td>${span(e.startedAt, e.endedAt)}</td></tr>`,
  );

  const workflowRows = workflows.items.map(
    (w) => html`<tr><th scope="row"><a href="${paths.workflow(p, d, w.name)}">${w.name}</a></th><td>${shortVersion(w.latestVersion)}</td><td>${w.versions}</td><td>${time(w.updatedAt)}</td>
<td><a href="${paths.executions(p, d)}?workflow=${encodeURIComponent(w.name)}">executions</a></td></tr>`,
  );

  const planRows = details.map((x) => {
    const spec = x.shown?.spec;
    const versions = x.versions.map((v) => html`<li>${shortVersion(v.version)}${v.active ? html` <span class="badge phase-succeeded">active</span>` : ""} <span class="muted">${time(v.createdAt)}</span></li>`);
    const scheduled = spec?.schedule
      ? html`<p>${scheduleText(spec.schedule)}${x.shown?.active ? "" : html` <span class="muted">(not active: it does not run)</span>`}</p>`
      : html`<span class="muted">no schedule</span>`;
    const runs = x.schedule
      ? html`<p><strong>Next runs:</strong> ${x.schedule.nextRuns.length > 0 ? x.schedule.nextRuns.map((t, i) => html`${i > 0 ? ", " : ""}${time(t)}`) : html`<span class="muted">none</span>`}</p>
${
  x.schedule.pastRuns.length > 0
    ? html`<table><caption>Past ticks</caption><thead><tr><th scope="col">Tick</th><th scope="col">Outcome</th><th scope="col">Execution</th></tr></thead><tbody>${x.schedule.pastRuns.map(
        (r) => html`<tr><td>${time(r.scheduledTime)}</td><td>${r.outcome}${r.reason ? html` <span class="muted">(${r.reason})</span>` : ""}</td><td>${
          r.execution ? html`<a href="${paths.execution(p, d, r.execution)}">${r.execution}</a> ${r.phase ? phaseBadge(r.phase) : ""}` : html`<span class="muted">—</span>`
        }</td></tr>`,
      )}</tbody></table>`
    : html`<p class="muted">No tick has come yet.</p>`
}`
      : "";
    return html`<tr><th scope="row">${x.name.name}</th>
<td>${spec ? html`<a href="${paths.workflow(p, d, spec.workflow.name)}">${spec.workflow.name}</a>` : ""}</td>
<td><ul class="value-list">${versions}</ul>${x.name.versions > x.versions.length ? html`<span class="muted">${x.name.versions} versions in all</span>` : ""}</td>
<td>${scheduled}${runs}</td>
<td><a href="${paths.executions(p, d)}?launchPlan=${encodeURIComponent(x.name.name)}">executions</a></td></tr>`;
  });

  const taskRows = tasks.items.map((t) => html`<tr><th scope="row">${t.name}</th><td>${shortVersion(t.latestVersion)}</td><td>${t.versions}</td><td>${time(t.updatedAt)}</td></tr>`);

  return page(
    {
      title: `${p} / ${d}`,
      session: ctx.session,
      crumbs: [{ text: "Projects", href: "/" }, { text: p }, { text: d }],
    },
    html`<h1>${p} <span class="muted">/</span> ${d}</h1>
${project.description ? html`<p>${project.description}</p>` : ""}
${domainTabs}
<section aria-labelledby="recent-h"><h2 id="recent-h">Latest executions</h2>
${executionRows.length > 0 ? html`<table><thead><tr><th scope="col">Execution</th><th scope="col">Phase</th><th scope="col">Workflow</th><th scope="col">Labels</th><th scope="col">Created</th><th scope="col">Duration</th></tr></thead><tbody>${executionRows}</tbody></table>` : html`<p class="muted">No executions yet.</p>`}
<p><a href="${paths.executions(p, d)}">All executions, with filters</a></p></section>
<section aria-labelledby="workflows-h"><h2 id="workflows-h">Workflows</h2>
${workflowRows.length > 0 ? html`<table><thead><tr><th scope="col">Workflow</th><th scope="col">Latest version</th><th scope="col">Versions</th><th scope="col">Updated</th><th scope="col"><span class="muted">Runs</span></th></tr></thead><tbody>${workflowRows}</tbody></table>` : html`<p class="muted">No workflows registered in ${d}.</p>`}</section>
<section aria-labelledby="plans-h"><h2 id="plans-h">Launch plans and schedules</h2>
${planRows.length > 0 ? html`<table><thead><tr><th scope="col">Launch plan</th><th scope="col">Workflow</th><th scope="col">Versions</th><th scope="col">Schedule</th><th scope="col"><span class="muted">Runs</span></th></tr></thead><tbody>${planRows}</tbody></table>` : html`<p class="muted">No launch plans registered in ${d}.</p>`}
${plans.items.length > details.length ? html`<p class="muted">The first ${details.length} of ${plans.items.length} launch plans are shown in detail.</p>` : ""}</section>
<section aria-labelledby="tasks-h"><h2 id="tasks-h">Tasks</h2>
${taskRows.length > 0 ? html`<table><thead><tr><th scope="col">Task</th><th scope="col">Latest version</th><th scope="col">Versions</th><th scope="col">Updated</th></tr></thead><tbody>${taskRows}</tbody></table>` : html`<p class="muted">No tasks registered in ${d}.</p>`}</section>`,
  );
}
