/**
 * `/projects/{p}/domains/{d}/executions/{e}/nodes/{node}`: one node — its inputs
 * and outputs (DataFrames as pages of rows, files as downloads), its cache
 * decision with the reason for a miss, and every attempt with its error, the
 * user's stack and its logs (followed while the attempt runs).
 */
import { isTerminalPhase, type Identifier, type Literal, type LiteralMap, type LiteralType, type Node, type TaskSpec, type Variable, type WorkflowSpec } from "../../kernel/index.js";
import { ApiCallError, isApiCallError, type AttemptView, type EntityView, type ExecutionView, type NodeView } from "./client.js";
import { branchNodes } from "./dag.js";
import { failureBlock, literalsOf, valueContext } from "./execution-page.js";
import { html, queryString, type SafeHtml } from "./html.js";
import { htmlResponse, badQuery, type PageContext } from "./request.js";
import { page, phaseBadge, span, time } from "./layout.js";
import { paths } from "./paths.js";
import { DEFAULT_PREVIEW_ROWS, MAX_PREVIEW_ROWS, orderedNames, previewId, renderDataFramePreview, renderLiteral, typeText, type PreviewLinks } from "./values.js";

/** Bytes of each attempt's log shown in the page (the raw log link has all of it). */
export const LOG_TAIL_BYTES = 64 * 1024;

type Side = "inputs" | "outputs";

const nodeApiPath = (p: string, d: string, e: string, n: string) =>
  `/projects/${encodeURIComponent(p)}/domains/${encodeURIComponent(d)}/executions/${encodeURIComponent(e)}/nodes/${encodeURIComponent(n)}`;
const executionApiPath = (p: string, d: string, e: string) => `/projects/${encodeURIComponent(p)}/domains/${encodeURIComponent(d)}/executions/${encodeURIComponent(e)}`;

function count(ctx: PageContext, name: string, fallback: number, max: number): number {
  const v = ctx.query.get(name);
  if (v === null || v === "") return fallback;
  if (!/^(0|[1-9][0-9]{0,15})$/.test(v) || Number(v) > max) throw badQuery(name, `${JSON.stringify(v)} is not an integer from 0 to ${max}`);
  return Number(v);
}

/** The preview window the query asks for: `?side=&var=&offset=&limit=`. */
function previewRequest(ctx: PageContext): { side?: string; name?: string; offset: number; limit: number } {
  const side = ctx.query.get("side") ?? undefined;
  if (side !== undefined && side !== "inputs" && side !== "outputs") throw badQuery("side", `${JSON.stringify(side)} is not inputs or outputs`);
  const limit = count(ctx, "limit", DEFAULT_PREVIEW_ROWS, MAX_PREVIEW_ROWS);
  if (limit === 0) throw badQuery("limit", `must be from 1 to ${MAX_PREVIEW_ROWS}`);
  return { ...(side ? { side } : {}), ...(ctx.query.get("var") ? { name: ctx.query.get("var")! } : {}), offset: count(ctx, "offset", 0, Number.MAX_SAFE_INTEGER), limit };
}

function previewLinks(p: string, d: string, e: string, n: string, side: Side, name: string): PreviewLinks {
  const nodeHref = paths.node(p, d, e, n);
  return {
    page: (offset, limit) => `${nodeHref}${queryString([["side", side], ["var", name], ["offset", String(offset)], ["limit", String(limit)]])}#${previewId(side, name)}`,
    fragment: (offset, limit) => `${paths.nodeData(p, d, e, n, side, name)}/preview${queryString([["offset", String(offset)], ["limit", String(limit)]])}`,
  };
}

/** The spec node of a node id of the top-level graph (or a branch case in it); nested and instance ids have none here. */
function findSpecNode(nodes: readonly Node[], id: string): Node | undefined {
  for (const node of nodes) {
    if (node.id === id) return node;
    if (node.kind === "branch") {
      const inner = findSpecNode(branchNodes(node), id);
      if (inner) return inner;
    }
  }
  return undefined;
}

/** A map node's types: lists of its task's (outputs of optional elements: failed instances give none). */
function mapTypes(vars: Record<string, Variable>, listed: (name: string) => boolean, optional: boolean): Record<string, { type: LiteralType }> {
  const out: Record<string, { type: LiteralType }> = {};
  for (const [name, v] of Object.entries(vars)) {
    out[name] = { type: listed(name) ? { kind: "list", items: optional ? { kind: "optional", type: v.type } : v.type } : v.type };
  }
  return out;
}

/** A side's literals as a table; DataFrames as previews below it. */
async function sideSection(
  ctx: PageContext,
  ids: { p: string; d: string; e: string; n: string },
  side: Side,
  map: LiteralMap | undefined,
  declared: Record<string, { type: LiteralType }> | undefined,
  window: ReturnType<typeof previewRequest>,
): Promise<SafeHtml> {
  const title = side === "inputs" ? "Inputs" : "Outputs";
  if (!map) return html`<h2 id="${side}-h">${title}</h2><p class="muted">No ${side} recorded${side === "outputs" ? " (yet)" : ""}.</p>`;
  const names = orderedNames(map, declared);
  const values = valueContext(ids.p);
  const rows: SafeHtml[] = [];
  const previews: SafeHtml[] = [];
  for (const name of names) {
    const literal = map[name]!;
    if (literal.kind === "blob" && literal.blob.format === "arrow") {
      const here = window.side === side && window.name === name;
      const offset = here ? window.offset : 0;
      const limit = here ? window.limit : DEFAULT_PREVIEW_ROWS;
      previews.push(
        await renderDataFramePreview(ctx.api, `${nodeApiPath(ids.p, ids.d, ids.e, ids.n)}/${side}/${encodeURIComponent(name)}/blob`, side, name, offset, limit, previewLinks(ids.p, ids.d, ids.e, ids.n, side, name)),
      );
      rows.push(
        html`<tr><th scope="row">${name}</th><td class="mono">${typeText(declared, name)}</td><td>DataFrame, previewed below · <a href="${paths.nodeData(ids.p, ids.d, ids.e, ids.n, side, name)}/blob" download="">download (Arrow IPC)</a></td></tr>`,
      );
      continue;
    }
    rows.push(html`<tr><th scope="row">${name}</th><td class="mono">${typeText(declared, name)}</td><td>${renderLiteral(literal, values)}</td></tr>`);
  }
  return html`<h2 id="${side}-h">${title}</h2>
${names.length === 0 ? html`<p class="muted">None.</p>` : html`<table><caption>${title} of the node</caption><thead><tr><th scope="col">Name</th><th scope="col">Type</th><th scope="col">Value</th></tr></thead><tbody>${rows}</tbody></table>`}
${previews}`;
}

async function attemptSection(ctx: PageContext, ids: { p: string; d: string; e: string; n: string }, a: AttemptView): Promise<SafeHtml> {
  const running = !isTerminalPhase(a.phase as never);
  const logsHref = paths.attemptLogs(ids.p, ids.d, ids.e, ids.n, a.attempt);
  let logs: string | undefined;
  try {
    const res = await ctx.api.raw(`${nodeApiPath(ids.p, ids.d, ids.e, ids.n)}/attempts/${a.attempt}/logs?tail=${LOG_TAIL_BYTES}`);
    logs = await res.text();
  } catch (error) {
    if (!isApiCallError(error) || error.status !== 404) throw error;
  }
  const statusId = `logs-status-${a.attempt}`;
  const logBlock =
    logs === undefined
      ? html`<p class="muted">No logs were kept for this attempt.</p>`
      : html`<p class="muted" id="${statusId}" role="status">${running ? "The attempt is running: new lines appear as they are written." : `The last ${LOG_TAIL_BYTES / 1024} KiB of the log.`} <a href="${logsHref}">Raw log</a></p>
<pre class="logs" aria-label="Logs of attempt ${a.attempt}"${running ? html` data-follow-url="${logsHref}?follow=true&amp;tail=${LOG_TAIL_BYTES}" data-follow-status="${statusId}"` : ""}>${logs === "" ? "(empty)" : logs}</pre>`;
  return html`<section class="attempt" aria-labelledby="attempt-${a.attempt}-h">
<h3 id="attempt-${a.attempt}-h">Attempt ${a.attempt} ${phaseBadge(a.phase)}</h3>
<dl class="facts"><dt>Started</dt><dd>${time(a.startedAt)}</dd><dt>Ended</dt><dd>${time(a.endedAt)}</dd><dt>Duration</dt><dd>${span(a.startedAt, a.endedAt)}</dd>
${a.runner ? html`<dt>Ran on</dt><dd>${a.runner.kind} <span class="mono">${a.runner.id}</span></dd>` : ""}</dl>
${a.error ? failureBlock(a.error, `Attempt ${a.attempt} failed`) : ""}
${logBlock}
</section>`;
}

async function targetSpec(ctx: PageContext, target: Identifier | undefined): Promise<EntityView<TaskSpec | WorkflowSpec> | undefined> {
  if (!target) return undefined;
  const segment = target.resourceType === "task" ? "tasks" : target.resourceType === "workflow" ? "workflows" : "launch-plans";
  return ctx.api.find<EntityView<TaskSpec | WorkflowSpec>>(
    `/projects/${encodeURIComponent(target.project)}/domains/${encodeURIComponent(target.domain)}/${segment}/${encodeURIComponent(target.name)}/versions/${encodeURIComponent(target.version)}`,
  );
}

function cacheSection(node: NodeView, spec: TaskSpec | undefined): SafeHtml {
  const c = node.cache;
  const config = spec ? (spec.cache.enabled ? html`The task is cacheable (cache version <span class="mono">${spec.cache.version}</span> from ${spec.cache.versionSource}${spec.cache.ignoredInputs.length > 0 ? `, ignoring ${spec.cache.ignoredInputs.join(", ")}` : ""}).` : html`The task is not cacheable.`) : "";
  if (!c) return html`<h2 id="cache-h">Cache</h2><p class="muted">No cache decision recorded. ${config}</p>`;
  const explain: Record<string, string> = {
    HIT: "The outputs were served from the cache; no attempt ran.",
    MISS: "The cache was looked up and had nothing usable, so the task ran.",
    POPULATED: "The task ran and its outputs were stored in the cache.",
    DISABLED: "The cache was not consulted.",
  };
  return html`<h2 id="cache-h">Cache</h2>
<dl class="facts"><dt>Status</dt><dd><strong>${c.status}</strong> — ${explain[c.status] ?? ""}</dd>
${c.reason ? html`<dt>${c.status === "MISS" ? "Why it missed" : "Why"}</dt><dd>${c.reason}</dd>` : ""}
${c.key ? html`<dt>Key</dt><dd class="mono">${c.key}</dd>` : ""}</dl>
<p class="muted">${config}</p>`;
}

export async function nodePage(ctx: PageContext): Promise<SafeHtml> {
  const ids = { p: ctx.param("project"), d: ctx.param("domain"), e: ctx.param("execution"), n: ctx.param("node") };
  const { p, d, e, n } = ids;
  const window = previewRequest(ctx);
  const execution = await ctx.api.get<ExecutionView>(executionApiPath(p, d, e));
  const crumbs = [
    { text: "Projects", href: "/" },
    { text: `${p} / ${d}`, href: paths.domain(p, d) },
    { text: "Executions", href: paths.executions(p, d) },
    { text: execution.name, href: paths.execution(p, d, execution.name) },
    { text: n },
  ];
  const workflowPath = `/projects/${encodeURIComponent(p)}/domains/${encodeURIComponent(d)}/workflows/${encodeURIComponent(execution.workflow.name)}/versions/${encodeURIComponent(execution.workflow.version)}`;
  const [found, workflow] = await Promise.all([ctx.api.find<NodeView>(nodeApiPath(p, d, e, n)), ctx.api.find<EntityView<WorkflowSpec>>(workflowPath)]);
  const specNode = workflow ? findSpecNode(workflow.spec.nodes, n) : undefined;
  if (!found) {
    // A node of the workflow that has not started yet is a page, not an error.
    if (!specNode) throw new ApiCallError(404, "NOT_FOUND", `node ${n} not found`);
    const ended = isTerminalPhase(execution.phase as never);
    return page(
      { title: `Node ${n} · ${execution.name}`, session: ctx.session, crumbs, ...(ended ? {} : { mainAttrs: html` data-live-url="${paths.execution(p, d, e)}/live?fragments=none" data-reload-when-started="${n}"` }) },
      html`<h1>Node ${n} ${phaseBadge("PENDING", html` data-node="${n}" data-phase-text=""`)}</h1><p>This ${specNode.kind} node has not started${ended ? `, and the execution ended ${execution.phase}` : " yet"}.</p><p><a href="${paths.execution(p, d, e)}">Back to the execution</a></p>`,
    );
  }
  const node = found;
  const attempts = Array.isArray(node.attempts) ? node.attempts : [];
  const target = await targetSpec(ctx, node.target);
  const iface = target && "interface" in target.spec ? target.spec.interface : undefined;
  const taskSpec = node.target?.resourceType === "task" ? (target?.spec as TaskSpec | undefined) : undefined;
  const nodePath = nodeApiPath(p, d, e, n);
  const [inputs, outputs] = await Promise.all([literalsOf(ctx.api, node, "inputs", nodePath), literalsOf(ctx.api, node, "outputs", nodePath)]);
  // A map node holds lists of what its task takes and gives, one element per instance.
  const declaredIn = specNode?.kind === "map" && iface ? mapTypes(iface.inputs, (name) => specNode.mapped.includes(name), false) : iface?.inputs;
  const declaredOut = specNode?.kind === "map" && iface ? mapTypes(iface.outputs, () => true, true) : iface?.outputs;
  const running = !isTerminalPhase(node.phase as never);
  const attemptSections = await Promise.all([...attempts].reverse().map((a) => attemptSection(ctx, ids, a)));
  return page(
    {
      title: `Node ${n} · ${execution.name}`,
      session: ctx.session,
      crumbs,
      ...(running && !isTerminalPhase(execution.phase as never) ? { mainAttrs: html` data-live-url="${paths.execution(p, d, e)}/live?fragments=none" data-reload-when-done="${n}"` } : {}),
    },
    html`<h1>Node ${n} ${phaseBadge(node.phase, html` data-node="${n}" data-phase-text=""`)}</h1>
<dl class="facts">
<dt>Execution</dt><dd><a href="${paths.execution(p, d, e)}">${execution.name}</a> ${phaseBadge(execution.phase)}</dd>
${node.target ? html`<dt>Runs</dt><dd>${node.target.resourceType.replace("_", " ")} ${node.target.name} <span class="mono muted">${node.target.version}</span>${taskSpec?.source ? html` <span class="muted">(${taskSpec.source})</span>` : ""}</dd>` : ""}
${node.child ? html`<dt>Child execution</dt><dd><a href="${paths.execution(p, d, node.child)}">${node.child}</a></dd>` : ""}
<dt>Started</dt><dd>${time(node.startedAt)}</dd>
<dt>Ended</dt><dd>${time(node.endedAt)}</dd>
<dt>Duration</dt><dd>${span(node.startedAt, node.endedAt)}</dd>
<dt>Attempts</dt><dd>${attempts.length}</dd>
${node.checkpoint ? html`<dt>Checkpoint</dt><dd><a href="${valueContext(p).blobHref(node.checkpoint.hash, "checkpoint")}" download="">download</a> <span class="muted">${node.checkpoint.size} bytes</span></dd>` : ""}
</dl>
${node.error ? failureBlock(node.error) : ""}
<section aria-labelledby="inputs-h">${await sideSection(ctx, ids, "inputs", inputs, declaredIn, window)}</section>
<section aria-labelledby="outputs-h">${await sideSection(ctx, ids, "outputs", outputs, declaredOut, window)}</section>
<section aria-labelledby="cache-h">${cacheSection(node, taskSpec)}</section>
<section aria-labelledby="attempts-h"><h2 id="attempts-h">Attempts</h2>
${attemptSections.length > 0 ? attemptSections : html`<p class="muted">No attempts${node.cache?.status === "HIT" ? ": the outputs came from the cache" : ""}.</p>`}</section>`,
  );
}

/** GET .../nodes/{node}/{side}/{var}/preview: one page of a DataFrame, as an HTML fragment. */
export function previewFragment(side: Side) {
  return async (ctx: PageContext): Promise<Response> => {
    const ids = { p: ctx.param("project"), d: ctx.param("domain"), e: ctx.param("execution"), n: ctx.param("node") };
    const name = ctx.param("var");
    const offset = count(ctx, "offset", 0, Number.MAX_SAFE_INTEGER);
    const limit = count(ctx, "limit", DEFAULT_PREVIEW_ROWS, MAX_PREVIEW_ROWS) || DEFAULT_PREVIEW_ROWS;
    // 404 for an unknown node or name, 400 for a literal that is not a DataFrame, before any bytes are read.
    const literal = await ctx.api.get<Literal>(`${nodeApiPath(ids.p, ids.d, ids.e, ids.n)}/${side}/${encodeURIComponent(name)}`);
    if (literal.kind !== "blob" || literal.blob.format !== "arrow") throw badQuery("var", `${side.slice(0, -1)} ${name} is not a DataFrame`);
    const fragment = await renderDataFramePreview(
      ctx.api,
      `${nodeApiPath(ids.p, ids.d, ids.e, ids.n)}/${side}/${encodeURIComponent(name)}/blob`,
      side,
      name,
      offset,
      limit,
      previewLinks(ids.p, ids.d, ids.e, ids.n, side, name),
    );
    return htmlResponse(ctx.c, fragment);
  };
}
