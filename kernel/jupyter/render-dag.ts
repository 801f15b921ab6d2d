/**
 * A workflow's DAG as SVG: nodes in layers by topological depth (a node sits one
 * layer below its deepest upstream node), edges from upstream nodes, plus a text
 * rendering for terminals.
 */
import type { Node, WorkflowSpec } from "../model/index.js";
import { escapeHtml, type MimeBundle } from "./mime.js";

const BOX_HEIGHT = 38;
const LAYER_GAP = 34;
const NODE_GAP = 18;
const MARGIN = 12;
const CHAR_WIDTH = 7.2;
const MIN_BOX_WIDTH = 72;

interface Placed {
  node: Node;
  label: string;
  detail: string;
  depth: number;
  width: number;
  x: number;
  y: number;
}

/** What a node runs, as a short label: `task clean`, `map fit`, `branch`. */
function detailOf(node: Node): string {
  return node.kind === "branch" ? `branch (${node.cases.length} case${node.cases.length === 1 ? "" : "s"})` : `${node.kind.replace("_", " ")} ${node.target.name}`;
}

/** Nodes with their layer (depth), in spec order within each layer, then ordered to follow their upstream nodes. */
function layout(spec: WorkflowSpec): { placed: Placed[]; width: number; height: number } {
  const byId = new Map(spec.nodes.map((n) => [n.id, n]));
  const depth = new Map<string, number>();
  const depthOf = (id: string, seen: Set<string>): number => {
    const known = depth.get(id);
    if (known !== undefined) return known;
    const node = byId.get(id);
    if (!node || seen.has(id)) return 0;
    seen.add(id);
    const ups = node.upstream.filter((u) => byId.has(u));
    const d = ups.length === 0 ? 0 : 1 + Math.max(...ups.map((u) => depthOf(u, seen)));
    depth.set(id, d);
    return d;
  };
  const layers: Placed[][] = [];
  for (const node of spec.nodes) {
    const d = depthOf(node.id, new Set());
    const detail = detailOf(node);
    const width = Math.max(MIN_BOX_WIDTH, Math.ceil(Math.max(node.id.length, detail.length) * CHAR_WIDTH) + 20);
    (layers[d] ??= []).push({ node, label: node.id, detail, depth: d, width, x: 0, y: 0 });
  }
  // Order each layer by where its upstream nodes sit, so edges cross less.
  const centre = new Map<string, number>();
  let width = 0;
  const rowWidths = layers.map((layer) => layer.reduce((w, p) => w + p.width, 0) + NODE_GAP * Math.max(0, layer.length - 1));
  const maxRow = Math.max(0, ...rowWidths);
  layers.forEach((layer, d) => {
    if (d > 0) {
      const key = (p: Placed) => {
        const xs = p.node.upstream.map((u) => centre.get(u)).filter((x): x is number => x !== undefined);
        return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0;
      };
      layer.sort((a, b) => key(a) - key(b));
    }
    let x = MARGIN + (maxRow - rowWidths[d]!) / 2;
    for (const p of layer) {
      p.x = x;
      p.y = MARGIN + d * (BOX_HEIGHT + LAYER_GAP);
      centre.set(p.node.id, x + p.width / 2);
      x += p.width + NODE_GAP;
    }
    width = Math.max(width, x - NODE_GAP + MARGIN);
  });
  const height = MARGIN * 2 + layers.length * BOX_HEIGHT + Math.max(0, layers.length - 1) * LAYER_GAP;
  return { placed: layers.flat(), width: Math.max(width, MARGIN * 2 + MIN_BOX_WIDTH), height };
}

/** The DAG of a workflow spec as an SVG document. */
export function renderDagSvg(spec: WorkflowSpec): string {
  const { placed, width, height } = layout(spec);
  const byId = new Map(placed.map((p) => [p.node.id, p]));
  const edges: string[] = [];
  for (const p of placed) {
    for (const up of p.node.upstream) {
      const from = byId.get(up);
      if (!from) continue;
      const x1 = from.x + from.width / 2;
      const y1 = from.y + BOX_HEIGHT;
      const x2 = p.x + p.width / 2;
      const y2 = p.y - 2;
      const my = (y1 + y2) / 2;
      edges.push(`<path d="M${x1},${y1} C${x1},${my} ${x2},${my} ${x2},${y2}" fill="none" stroke="#888" marker-end="url(#petrel-arrow)"/>`);
    }
  }
  const boxes = placed.map(
    (p) =>
      `<g><title>${escapeHtml(`${p.node.id}: ${p.detail}`)}</title>` +
      `<rect x="${p.x}" y="${p.y}" width="${p.width}" height="${BOX_HEIGHT}" rx="6" fill="${fill(p.node)}" stroke="#4a6b8a"/>` +
      `<text x="${p.x + p.width / 2}" y="${p.y + 16}" text-anchor="middle" font-size="12" font-weight="bold">${escapeHtml(p.label)}</text>` +
      `<text x="${p.x + p.width / 2}" y="${p.y + 30}" text-anchor="middle" font-size="10" fill="#555">${escapeHtml(p.detail)}</text></g>`,
  );
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${Math.ceil(width)}" height="${Math.ceil(height)}" viewBox="0 0 ${Math.ceil(width)} ${Math.ceil(height)}" font-family="sans-serif">`,
    `<title>${escapeHtml(`workflow ${spec.name}`)}</title>`,
    `<defs><marker id="petrel-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#888"/></marker></defs>`,
    ...edges,
    ...boxes,
    `</svg>`,
  ].join("\n");
}

function fill(node: Node): string {
  switch (node.kind) {
    case "map":
      return "#e8f0e0";
    case "branch":
      return "#f6eedc";
    case "workflow":
    case "launch_plan":
      return "#ece6f4";
    default:
      return "#e4eef8";
  }
}

/** The workflow as text: its interface and each node with what it runs and waits for. */
export function renderDagText(spec: WorkflowSpec): string {
  const io = (vars: Record<string, unknown>) => Object.keys(vars).join(", ") || "none";
  const lines = [`workflow ${spec.name} (inputs: ${io(spec.interface.inputs)}; outputs: ${io(spec.interface.outputs)})`];
  for (const n of spec.nodes) lines.push(`  ${n.id}  ${detailOf(n)}${n.upstream.length ? `  <- ${n.upstream.join(", ")}` : ""}`);
  return lines.join("\n");
}

/** A workflow as a MIME bundle: SVG and text. */
export function renderWorkflow(spec: WorkflowSpec): MimeBundle {
  return { "image/svg+xml": renderDagSvg(spec), "text/plain": renderDagText(spec) };
}
