/**
 * A workflow's DAG as SVG, coloured by each node's phase. Subworkflow, branch and
 * map nodes carry an expander (a keyboard-operable button inside the SVG) that
 * shows what they hold: the subworkflow's own DAG, the branch's cases, the map's
 * instances. Every element that shows a node's phase carries `data-node`, which
 * is what the live updates of the execution page address.
 */
import { createHash } from "node:crypto";
import type { Node, WorkflowSpec } from "../../kernel/index.js";
import type { NodeView } from "./client.js";
import { DEFAULT_LAYOUT, layoutDag } from "./dag-layout.js";
import { html, type SafeHtml } from "./html.js";
import { phaseClass } from "./layout.js";

/** What drawing an execution's (or a workflow version's) DAG needs. */
export interface DagContext {
  /** Node records by full id (`sub.child`, `map[3]`); empty for a workflow version. */
  records: ReadonlyMap<string, NodeView>;
  /** The page of a node, by full id; absent: nodes are not links. */
  nodeHref?: (fullId: string) => string;
  /** Specs of subworkflow nodes, by full id (only those fetched can be expanded). */
  subworkflows: ReadonlyMap<string, WorkflowSpec>;
  /** Whether nodes show a phase (an execution's graph) or not (a workflow version's). Default true. */
  phases?: boolean;
}

/** Map instances shown per map node; more are counted. */
export const MAX_MAP_CHIPS = 400;
const CHAR_WIDTH = 6.9;

/** The phase a node shows: its record's, or `PENDING` before it has one. */
export function displayPhase(record: NodeView | undefined): string {
  return record?.phase ?? "PENDING";
}

/** A stable element id for a node's expansion panel. */
export function panelId(fullId: string): string {
  return `panel-${Buffer.from(fullId).toString("hex")}`;
}

const truncate = (text: string, width: number) => {
  const max = Math.floor(width / CHAR_WIDTH);
  return text.length <= max ? text : `${text.slice(0, Math.max(1, max - 1))}…`;
};

/** What a node runs, in a few words. */
export function nodeDetail(node: Node): string {
  switch (node.kind) {
    case "task":
      return `task ${node.target.name}`;
    case "map":
      return `map ${node.target.name}`;
    case "workflow":
      return `subworkflow ${node.target.name}`;
    case "launch_plan":
      return `launch plan ${node.target.name}`;
    case "branch":
      return `branch: ${node.cases.length} case${node.cases.length === 1 ? "" : "s"}${"node" in node.otherwise ? ", else" : ""}`;
  }
}

/** The nodes a branch may run: its cases' and the fallback's. */
export function branchNodes(node: Extract<Node, { kind: "branch" }>): Node[] {
  return [...node.cases.map((c) => c.node), ...("node" in node.otherwise ? [node.otherwise.node] : [])];
}

/** Map instance records of a map node, by index. */
export function mapInstances(records: ReadonlyMap<string, NodeView>, fullId: string): NodeView[] {
  const out: { i: number; r: NodeView }[] = [];
  const prefix = `${fullId}[`;
  for (const [id, r] of records) {
    if (!id.startsWith(prefix) || !id.endsWith("]")) continue;
    const i = Number(id.slice(prefix.length, -1));
    if (Number.isInteger(i)) out.push({ i, r });
  }
  return out.sort((a, b) => a.i - b.i).map((x) => x.r);
}

/** Whether a node has something to expand into. */
function expandable(ctx: DagContext, node: Node, fullId: string): boolean {
  if (node.kind === "workflow") return ctx.subworkflows.has(fullId);
  if (node.kind === "branch") return branchNodes(node).length > 0;
  if (node.kind === "map") return ctx.records.has(fullId) || mapInstances(ctx.records, fullId).length > 0;
  return false;
}

/**
 * The DAG of `nodes` (a workflow's, or a branch's cases) under an id prefix, with
 * the expansion panels of its expandable nodes after it.
 */
export function renderDag(ctx: DagContext, nodes: readonly Node[], prefix: string, title: string): SafeHtml {
  const o = DEFAULT_LAYOUT;
  const layout = layoutDag(nodes.map((n) => ({ id: n.id, upstream: n.upstream })), o);
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const suffix = createHash("sha256").update(`${prefix}|${title}`).digest("hex").slice(0, 12);
  const titleId = `dag-title-${suffix}`;
  const arrowId = `dag-arrow-${suffix}`;
  const panels: SafeHtml[] = [];
  const boxes = layout.nodes.map((p) => {
    const node = byId.get(p.id)!;
    const fullId = prefix + node.id;
    const record = ctx.records.get(fullId);
    const phase = displayPhase(record);
    const label = node.metadata.name && node.metadata.name !== node.id ? `${node.id} (${node.metadata.name})` : node.id;
    const canExpand = expandable(ctx, node, fullId);
    const textWidth = o.nodeWidth - (canExpand ? 34 : 16);
    const attempts = record && typeof record.attempts === "number" && record.attempts > 1 ? ` · ${record.attempts} attempts` : "";
    const showPhase = ctx.phases !== false;
    const body = html`<title>${label}: ${nodeDetail(node)}${showPhase ? ` — ${phase}` : ""}</title>
<rect class="box" width="${o.nodeWidth}" height="${o.nodeHeight}" rx="6"></rect>
<text x="8" y="${showPhase ? 17 : 22}">${truncate(node.id, textWidth)}</text>
<text class="sub" x="8" y="${showPhase ? 31 : 38}">${truncate(nodeDetail(node), textWidth)}</text>
${showPhase ? html`<text class="phase" x="8" y="45"><tspan data-field="phase">${phase}</tspan>${attempts}</text>` : ""}`;
    const link = ctx.nodeHref ? html`<a href="${ctx.nodeHref(fullId)}" aria-label="${label}${showPhase ? `: ${phase}` : ""}">${body}</a>` : body;
    let expander: SafeHtml | string = "";
    if (canExpand) {
      const id = panelId(fullId);
      const count =
        node.kind === "workflow"
          ? `${ctx.subworkflows.get(fullId)!.nodes.length} nodes of subworkflow ${node.target.name}`
          : node.kind === "branch"
            ? `${branchNodes(node).length} cases`
            : "instances";
      expander = html`<g class="expander" data-expander="" role="button" tabindex="0" aria-expanded="false" aria-controls="${id}" aria-label="Show the ${count} inside ${node.id}" transform="translate(${o.nodeWidth - 26},6)"><rect width="20" height="20" rx="4"></rect><text class="expander-sign" x="10" y="15" text-anchor="middle">+</text></g>`;
      panels.push(renderPanel(ctx, node, fullId));
    }
    return showPhase
      ? html`<g class="dag-node ${phaseClass(phase)}" data-node="${fullId}" data-label="${label}" data-phase="${phase}" transform="translate(${p.x},${p.y})">${link}${expander}</g>`
      : html`<g class="dag-node" transform="translate(${p.x},${p.y})">${link}${expander}</g>`;
  });
  return html`<div class="scroll"><svg class="dag" role="group" aria-labelledby="${titleId}" width="${layout.width}" height="${layout.height}" viewBox="0 0 ${layout.width} ${layout.height}" xmlns="http://www.w3.org/2000/svg">
<title id="${titleId}">${title}</title>
<defs><marker id="${arrowId}" viewBox="0 0 8 8" refX="8" refY="4" markerWidth="7" markerHeight="7" orient="auto"><path d="M0,0 L8,4 L0,8 z" fill="#818b98"></path></marker></defs>
${layout.edges.map((e) => html`<path class="edge" d="${e.path}" marker-end="url(#${arrowId})"></path>`)}
${boxes}
</svg></div>
${panels}`;
}

/** What an expander shows. */
function renderPanel(ctx: DagContext, node: Node, fullId: string): SafeHtml {
  const id = panelId(fullId);
  if (node.kind === "workflow") {
    const spec = ctx.subworkflows.get(fullId)!;
    return html`<section class="expansion" id="${id}" hidden aria-label="Inside ${node.id}">
<h3>${node.id}: subworkflow ${spec.name}</h3>
${renderDag(ctx, spec.nodes, `${fullId}.`, `DAG of subworkflow ${spec.name} inside ${node.id}`)}
</section>`;
  }
  if (node.kind === "branch") {
    // Case nodes run under the branch's scope: their ids share the branch's prefix.
    const prefix = fullId.slice(0, fullId.length - node.id.length);
    const cases = branchNodes(node).map((n) => ({ ...n, upstream: [] }));
    return html`<section class="expansion" id="${id}" hidden aria-label="Inside ${node.id}">
<h3>${node.id}: the nodes its cases may run</h3>
${renderDag(ctx, cases, prefix, `Cases of branch ${node.id}`)}
</section>`;
  }
  return html`<section class="expansion" id="${id}" hidden aria-label="Instances of ${node.id}">
<h3>${node.id}: instances of ${nodeDetail(node)}</h3>
<div data-fragment="${`map:${fullId}`}">${mapChips(ctx, fullId)}</div>
</section>`;
}

/** A map node's instances as small links coloured by phase. */
export function mapChips(ctx: Pick<DagContext, "records" | "nodeHref">, fullId: string): SafeHtml {
  const instances = mapInstances(ctx.records, fullId);
  if (instances.length === 0) return html`<p class="muted">No instances have started yet.</p>`;
  const shown = instances.slice(0, MAX_MAP_CHIPS);
  const chip = (r: NodeView) => {
    const i = r.nodeId.slice(fullId.length + 1, -1);
    const attrs = html` class="chip ${phaseClass(r.phase)}" data-node="${r.nodeId}" title="${r.nodeId}: ${r.phase}"`;
    return ctx.nodeHref ? html`<a href="${ctx.nodeHref(r.nodeId)}"${attrs} aria-label="instance ${i}: ${r.phase}">${i}</a>` : html`<span${attrs}>${i}</span>`;
  };
  return html`<p>${instances.length} instance${instances.length === 1 ? "" : "s"}: ${countPhases(instances)}</p>
<div class="chips">${shown.map(chip)}</div>
${instances.length > shown.length ? html`<p class="muted">… and ${instances.length - shown.length} more (all are in the node table).</p>` : ""}`;
}

function countPhases(records: readonly NodeView[]): string {
  const counts = new Map<string, number>();
  for (const r of records) counts.set(r.phase, (counts.get(r.phase) ?? 0) + 1);
  return [...counts].map(([p, n]) => `${n} ${p}`).join(", ");
}
