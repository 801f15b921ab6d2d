/**
 * `/projects/{p}/domains/{d}/executions/{name}`: an execution — its DAG coloured
 * by phase (subworkflows, branches and maps expandable), the Gantt timeline of
 * its attempts, the node table, inputs and outputs, and the actions the caller's
 * role allows. While it runs, the page polls `.../live` and updates in place.
 */
import { isTerminalPhase, type Identifier, type LiteralMap, type LiteralType, type Node, type WorkflowSpec } from "../../kernel/index.js";
import type { ConsoleApi, EntityView, ExecutionView, NodeView, WithLiterals } from "./client.js";
import { branchNodes, mapChips, renderDag, type DagContext } from "./dag.js";
import { html, type SafeHtml } from "./html.js";
import { labelChips, page, phaseBadge, phaseClass, plural, shortVersion, span, time } from "./layout.js";
import { paths } from "./paths.js";
import type { PageContext } from "./request.js";
import { renderTimeline } from "./timeline.js";
import { orderedNames, renderLiteral, typeText, type ValueContext } from "./values.js";

/** Subworkflow specs fetched for expansion, at most (deeply nested or very wide graphs stop here). */
const MAX_SUBWORKFLOWS = 50;
/** Rows of the node table, at most. */
export const MAX_NODE_ROWS = 1000;
/** Phases an execution can be recovered from. */
const RECOVERABLE = new Set(["FAILED", "TIMED_OUT", "ABORTED"]);

/** Everything an execution page shows. */
export interface ExecutionData {
  execution: ExecutionView;
  nodes: NodeView[];
  records: Map<string, NodeView>;
  workflow: EntityView<WorkflowSpec> | undefined;
  subworkflows: Map<string, WorkflowSpec>;
}

const executionPath = (p: string, d: string, e: string) => `/projects/${encodeURIComponent(p)}/domains/${encodeURIComponent(d)}/executions/${encodeURIComponent(e)}`;
const entityPath = (id: Identifier, segment: string) =>
  `/projects/${encodeURIComponent(id.project)}/domains/${encodeURIComponent(id.domain)}/${segment}/${encodeURIComponent(id.name)}/versions/${encodeURIComponent(id.version)}`;

/** The literal map of a view: inline, or fetched through the data API. */
export async function literalsOf(api: ConsoleApi, view: WithLiterals, side: "inputs" | "outputs", path: string): Promise<LiteralMap | undefined> {
  if (view[side]) return view[side];
  if (view[`${side}Ref`]) return api.get<LiteralMap>(`${path}/${side}`);
  return undefined;
}

/** Fetches the specs of subworkflow nodes (by full id), so they can be expanded. */
async function fetchSubworkflows(api: ConsoleApi, spec: WorkflowSpec, references: readonly Identifier[], prefix: string, records: Map<string, NodeView>, out: Map<string, WorkflowSpec>): Promise<void> {
  const visit = async (nodes: readonly Node[]) => {
    for (const node of nodes) {
      if (out.size >= MAX_SUBWORKFLOWS) return;
      if (node.kind === "branch") await visit(branchNodes(node));
      if (node.kind !== "workflow") continue;
      const fullId = prefix + node.id;
      const recorded = records.get(fullId)?.target;
      const pinned = references.find((r) => r.resourceType === "workflow" && r.name === node.target.name && (node.target.version === undefined || r.version === node.target.version));
      const id = recorded ?? pinned;
      if (!id) continue;
      const sub = await api.find<EntityView<WorkflowSpec>>(entityPath(id, "workflows"));
      if (!sub) continue;
      out.set(fullId, sub.spec);
      await fetchSubworkflows(api, sub.spec, sub.references, `${fullId}.`, records, out);
    }
  };
  await visit(spec.nodes);
}

/** Loads an execution with its nodes and attempts, its workflow, and (for the DAG) its subworkflows. */
export async function loadExecution(ctx: PageContext, p: string, d: string, e: string, withSubworkflows: boolean): Promise<ExecutionData> {
  const path = executionPath(p, d, e);
  const execution = await ctx.api.get<ExecutionView>(path);
  const [nodes, workflow] = await Promise.all([
    ctx.api.get<{ items: NodeView[] }>(`${path}/nodes?attempts=true`),
    ctx.api.find<EntityView<WorkflowSpec>>(entityPath(execution.workflow, "workflows")),
  ]);
  const records = new Map(nodes.items.map((n) => [n.nodeId, n]));
  const subworkflows = new Map<string, WorkflowSpec>();
  if (withSubworkflows && workflow) await fetchSubworkflows(ctx.api, workflow.spec, workflow.references, "", records, subworkflows);
  return { execution, nodes: nodes.items, records, workflow, subworkflows };
}

/** Value rendering for a project: blobs download through the console. */
export function valueContext(project: string): ValueContext {
  return { blobHref: (hash, filename) => `${paths.blob(project, hash)}${filename ? `?filename=${encodeURIComponent(filename)}` : ""}` };
}

/** A literal map as a table of name, type and value. */
export function literalTable(caption: string, map: LiteralMap | undefined, declared: Record<string, { type: LiteralType }> | undefined, values: ValueContext): SafeHtml {
  if (!map) return html`<p class="muted">${caption}: none recorded.</p>`;
  const names = orderedNames(map, declared);
  if (names.length === 0) return html`<p class="muted">${caption}: none.</p>`;
  return html`<table><caption>${caption}</caption><thead><tr><th scope="col">Name</th><th scope="col">Type</th><th scope="col">Value</th></tr></thead><tbody>${names.map(
    (n) => html`<tr><th scope="row">${n}</th><td class="mono">${typeText(declared, n)}</td><td>${renderLiteral(map[n]!, values)}</td></tr>`,
  )}</tbody></table>`;
}

/** A failure record: message, code and kind, and the user's stack when there is one. */
export function failureBlock(f: { kind: string; code: string; message: string; stack?: string; retryable?: boolean }, heading = "Error"): SafeHtml {
  return html`<div class="notice bad" role="note"><p><strong>${heading}</strong> <span class="mono">${f.code}</span> <span class="muted">(${f.kind} error${f.retryable ? ", retryable" : ""})</span></p>
<pre>${f.message}</pre>
${f.stack ? html`<details><summary>Stack</summary><pre>${f.stack}</pre></details>` : ""}</div>`;
}

/** The part of the page that changes when the execution does: facts, error, actions, outputs. */
export async function renderSummary(ctx: PageContext, data: ExecutionData): Promise<SafeHtml> {
  const e = data.execution;
  const { project: p, domain: d } = e;
  const here = paths.execution(p, d, e.name);
  const terminal = isTerminalPhase(e.phase as never);
  const editor = ctx.can("editor", p, d);
  const actions = editor
    ? html`<div class="actions">${!terminal ? html`<a class="button danger" href="${here}/terminate">Terminate…</a>` : ""}<a class="button" href="${here}/relaunch">Relaunch…</a>${
        RECOVERABLE.has(e.phase) ? html`<a class="button primary" href="${here}/recover">Recover…</a>` : ""
      }</div>`
    : html`<p class="muted">Your role in ${d} is viewer: you can look, not act.</p>`;
  return html`<dl class="facts">
<dt>Workflow</dt><dd><a href="${paths.workflow(p, d, e.workflow.name)}?version=${encodeURIComponent(e.workflow.version)}">${e.workflow.name}</a> <span class="muted">${shortVersion(e.workflow.version)}</span></dd>
${e.launchPlan ? html`<dt>Launch plan</dt><dd>${e.launchPlan.name} <span class="muted">${shortVersion(e.launchPlan.version)}</span></dd>` : ""}
<dt>Mode</dt><dd>${e.mode}${e.source ? html` of <a href="${paths.execution(p, d, e.source)}">${e.source}</a>` : ""}</dd>
${e.parent ? html`<dt>Launched by</dt><dd>node <a href="${paths.node(p, d, e.parent.execution, e.parent.node)}">${e.parent.node}</a> of <a href="${paths.execution(p, d, e.parent.execution)}">${e.parent.execution}</a></dd>` : ""}
<dt>Labels</dt><dd>${labelChips(e.labels)}</dd>
<dt>Created</dt><dd>${time(e.createdAt)} by ${e.createdBy}</dd>
<dt>Started</dt><dd>${time(e.startedAt)}</dd>
<dt>Ended</dt><dd>${time(e.endedAt)}</dd>
<dt>Duration</dt><dd>${span(e.startedAt, e.endedAt)}</dd>
</dl>
${e.abort ? html`<p class="notice">Terminated by ${e.abort.by} at ${time(e.abort.at)}: ${e.abort.cause}</p>` : ""}
${e.error ? failureBlock(e.error) : ""}
${actions}`;
}

/** The outputs of a succeeded execution (none before). */
export async function renderOutputs(ctx: PageContext, data: ExecutionData): Promise<SafeHtml> {
  const e = data.execution;
  if (e.phase !== "SUCCEEDED") return html`<p class="muted">${isTerminalPhase(e.phase as never) ? `None: the execution ended ${e.phase}.` : "None yet: the execution has not finished."}</p>`;
  const outputs = await literalsOf(ctx.api, e, "outputs", executionPath(e.project, e.domain, e.name));
  return literalTable("Outputs of the execution", outputs, data.workflow?.spec.interface.outputs, valueContext(e.project));
}

/** What a node record runs, in a few words with a link where one helps. */
function runsCell(p: string, d: string, n: NodeView): SafeHtml {
  const parts: SafeHtml[] = [];
  if (n.target) parts.push(html`${n.target.resourceType.replace("_", " ")} ${n.target.name} <span class="mono muted">${n.target.version.slice(0, 12)}</span>`);
  if (n.child) parts.push(html`child <a href="${paths.execution(p, d, n.child)}">${n.child}</a>`);
  return parts.length > 0 ? html`${parts.map((x, i) => html`${i > 0 ? " · " : ""}${x}`)}` : html`<span class="muted">—</span>`;
}

const attemptsOf = (n: NodeView) => (Array.isArray(n.attempts) ? n.attempts.length : n.attempts);

/** The node table's body: every node record, then the top-level nodes that have none yet. */
export function renderNodeRows(data: ExecutionData): SafeHtml {
  const { project: p, domain: d, name: e } = data.execution;
  const started = (n: NodeView) => Date.parse(n.startedAt ?? n.createdAt) || 0;
  const sorted = [...data.nodes].sort((a, b) => started(a) - started(b) || (a.nodeId < b.nodeId ? -1 : 1));
  const shown = sorted.slice(0, MAX_NODE_ROWS);
  const pending = (data.workflow?.spec.nodes ?? []).filter((n) => !data.records.has(n.id));
  const rows = shown.map(
    (n) => html`<tr>
<td><a href="${paths.node(p, d, e, n.nodeId)}">${n.nodeId}</a></td>
<td>${runsCell(p, d, n)}</td>
<td>${phaseBadge(n.phase, html` data-node="${n.nodeId}" data-phase-text=""`)}</td>
<td>${n.cache ? html`<span title="${n.cache.reason ?? ""}">${n.cache.status}</span>` : html`<span class="muted">—</span>`}</td>
<td>${attemptsOf(n)}</td>
<td>${time(n.startedAt)}</td>
<td>${span(n.startedAt, n.endedAt)}</td>
</tr>`,
  );
  const waiting = pending.map(
    (n) => html`<tr><td><a href="${paths.node(p, d, e, n.id)}">${n.id}</a></td><td>${n.kind} ${"target" in n ? n.target.name : ""}</td><td>${phaseBadge("PENDING", html` data-node="${n.id}" data-phase-text=""`)}</td><td></td><td>0</td><td>${time(undefined)}</td><td>—</td></tr>`,
  );
  const more = sorted.length > shown.length ? html`<tr><td colspan="7" class="muted">… and ${sorted.length - shown.length} more nodes</td></tr>` : "";
  return html`${rows}${waiting}${more}`;
}

/** How many nodes are in each phase. */
function phaseCounts(nodes: readonly NodeView[]): SafeHtml {
  const counts = new Map<string, number>();
  for (const n of nodes) counts.set(n.phase, (counts.get(n.phase) ?? 0) + 1);
  return html`${[...counts].map(([ph, n]) => `${n} ${ph}`).join(", ") || "No node has started yet."}`;
}

/** The parts of the page the live updates replace, by name. */
export async function liveFragments(ctx: PageContext, data: ExecutionData): Promise<Record<string, SafeHtml>> {
  const dag: DagContext = { records: data.records, nodeHref: (id) => paths.node(data.execution.project, data.execution.domain, data.execution.name, id), subworkflows: data.subworkflows };
  const out: Record<string, SafeHtml> = {
    summary: await renderSummary(ctx, data),
    outputs: await renderOutputs(ctx, data),
    timeline: renderTimeline(data.nodes, ctx.deps.clock.now()),
    nodes: renderNodeRows(data),
    counts: phaseCounts(data.nodes),
  };
  const maps = (nodes: readonly Node[], prefix: string) => {
    for (const n of nodes) {
      if (n.kind === "map") out[`map:${prefix}${n.id}`] = mapChips(dag, prefix + n.id);
      if (n.kind === "branch") maps(branchNodes(n), prefix);
      const sub = n.kind === "workflow" ? data.subworkflows.get(prefix + n.id) : undefined;
      if (sub) maps(sub.nodes, `${prefix}${n.id}.`);
    }
  };
  if (data.workflow) maps(data.workflow.spec.nodes, "");
  return out;
}

/** GET .../executions/{name}/live: the phases of the execution and its nodes, and the changed parts of the page. */
export async function executionLive(ctx: PageContext): Promise<Response> {
  const withFragments = ctx.query.get("fragments") !== "none";
  const data = await loadExecution(ctx, ctx.param("project"), ctx.param("domain"), ctx.param("execution"), withFragments);
  const nodes: Record<string, { phase: string; attempts: number }> = {};
  for (const n of data.nodes) nodes[n.nodeId] = { phase: n.phase, attempts: attemptsOf(n) };
  return ctx.c.json(
    { phase: data.execution.phase, terminal: isTerminalPhase(data.execution.phase as never), nodes, fragments: withFragments ? Object.fromEntries(Object.entries(await liveFragments(ctx, data)).map(([k, v]) => [k, String(v)])) : {} },
    200,
    { "cache-control": "no-store" },
  );
}

const NOTICES: Record<string, string> = {
  terminated: "The execution was terminated.",
  relaunched: "This is the new execution, relaunched from the one before.",
  recovered: "This is the recovery: nodes that succeeded before are reused.",
};

export async function executionPage(ctx: PageContext): Promise<SafeHtml> {
  const p = ctx.param("project");
  const d = ctx.param("domain");
  const e = ctx.param("execution");
  const data = await loadExecution(ctx, p, d, e, true);
  const x = data.execution;
  const here = paths.execution(p, d, x.name);
  const terminal = isTerminalPhase(x.phase as never);
  const fragments = await liveFragments(ctx, data);
  const inputs = await literalsOf(ctx.api, x, "inputs", executionPath(p, d, x.name));
  const dagCtx: DagContext = { records: data.records, nodeHref: (id) => paths.node(p, d, x.name, id), subworkflows: data.subworkflows };
  const notice = NOTICES[ctx.query.get("notice") ?? ""];
  return page(
    {
      title: `Execution ${x.name} · ${p} / ${d}`,
      session: ctx.session,
      crumbs: [{ text: "Projects", href: "/" }, { text: `${p} / ${d}`, href: paths.domain(p, d) }, { text: "Executions", href: paths.executions(p, d) }, { text: x.name }],
      ...(terminal ? {} : { mainAttrs: html` data-live-url="${here}/live"` }),
    },
    html`${notice ? html`<p class="notice" role="status">${notice}</p>` : ""}
<h1>Execution ${x.name} <span class="badge ${phaseClass(x.phase)}" data-live-phase="">${x.phase}</span></h1>
<div data-fragment="summary">${fragments.summary!}</div>
<section aria-labelledby="dag-h"><h2 id="dag-h">Graph</h2>
${
  data.workflow
    ? html`<p class="muted">${plural(data.workflow.spec.nodes.length, "node")}; select a node for its inputs, outputs and logs. Nodes with + hold others: Tab to the + and press Enter to show them.</p>
${renderDag(dagCtx, data.workflow.spec.nodes, "", `DAG of workflow ${data.workflow.spec.name} in execution ${x.name}`)}`
    : html`<p class="notice bad">The workflow version ${x.workflow.name}@${x.workflow.version} is no longer stored.</p>`
}
<p class="legend" aria-hidden="true">${["PENDING", "QUEUED", "RUNNING", "SUCCEEDED", "FAILED", "SKIPPED", "ABORTED"].map((ph) => html`<span class="badge ${phaseClass(ph)}">${ph}</span>`)}</p>
</section>
<section aria-labelledby="outputs-h"><h2 id="outputs-h">Outputs</h2>
<div data-fragment="outputs">${fragments.outputs!}</div></section>
<section aria-labelledby="timeline-h"><h2 id="timeline-h">Timeline</h2>
<div data-fragment="timeline">${fragments.timeline!}</div></section>
<section aria-labelledby="nodes-h"><h2 id="nodes-h">Nodes</h2>
<p class="muted" data-fragment="counts">${fragments.counts!}</p>
<div class="scroll"><table><caption>Every node of the execution, in the order they started</caption>
<thead><tr><th scope="col">Node</th><th scope="col">Runs</th><th scope="col">Phase</th><th scope="col">Cache</th><th scope="col">Attempts</th><th scope="col">Started</th><th scope="col">Duration</th></tr></thead>
<tbody data-fragment="nodes">${fragments.nodes!}</tbody></table></div></section>
<section aria-labelledby="inputs-h"><h2 id="inputs-h">Inputs</h2>
${literalTable("Inputs of the execution", inputs, data.workflow?.spec.interface.inputs, valueContext(p))}</section>`,
  );
}
