/**
 * A layered layout of a DAG, left to right: each node sits one column right of
 * its deepest upstream node (longest path), columns are ordered by a few
 * barycentre sweeps so edges cross less, and edges are cubic curves between
 * the facing sides of their boxes. Pure: ids and upstream ids in, coordinates out.
 */

/** One node to place: its id and the ids it depends on. */
export interface LayoutInput {
  id: string;
  upstream: readonly string[];
}

/** Box sizes and gaps, in SVG units. */
export interface LayoutOptions {
  nodeWidth: number;
  nodeHeight: number;
  /** Horizontal gap between columns. */
  columnGap: number;
  /** Vertical gap between nodes of a column. */
  rowGap: number;
  margin: number;
}

/** A placed node: its column and row, and the top-left corner of its box. */
export interface PlacedNode {
  id: string;
  column: number;
  row: number;
  x: number;
  y: number;
}

/** An edge as an SVG path (`d`). */
export interface PlacedEdge {
  from: string;
  to: string;
  path: string;
}

/** The laid-out graph. */
export interface DagLayout {
  nodes: PlacedNode[];
  edges: PlacedEdge[];
  width: number;
  height: number;
}

/** Default box sizes: room for a 24-character id and a second line. */
export const DEFAULT_LAYOUT: LayoutOptions = { nodeWidth: 184, nodeHeight: 52, columnGap: 56, rowGap: 18, margin: 14 };

/** Barycentre sweeps; a handful is enough for the graphs people draw. */
const SWEEPS = 4;

/** Lays out `nodes` (upstream ids that are not among them are ignored; a cycle is broken where it is met). */
export function layoutDag(nodes: readonly LayoutInput[], options: LayoutOptions = DEFAULT_LAYOUT): DagLayout {
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const ups = new Map(nodes.map((n) => [n.id, [...new Set(n.upstream)].filter((u) => byId.has(u) && u !== n.id)]));
  const downs = new Map<string, string[]>(nodes.map((n) => [n.id, []]));
  for (const [id, list] of ups) for (const u of list) downs.get(u)!.push(id);

  // Longest path from the sources, iteratively (deep chains must not overflow the stack).
  const column = new Map<string, number>();
  const visiting = new Set<string>();
  for (const start of nodes) {
    if (column.has(start.id)) continue;
    const stack: { id: string; next: number }[] = [{ id: start.id, next: 0 }];
    visiting.add(start.id);
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      const list = ups.get(top.id)!;
      if (top.next < list.length) {
        const u = list[top.next++]!;
        if (!column.has(u) && !visiting.has(u)) {
          visiting.add(u);
          stack.push({ id: u, next: 0 });
        }
        continue;
      }
      let c = 0;
      for (const u of list) {
        const cu = column.get(u);
        if (cu !== undefined) c = Math.max(c, cu + 1);
      }
      column.set(top.id, c);
      visiting.delete(top.id);
      stack.pop();
    }
  }

  const columns: string[][] = [];
  for (const n of nodes) (columns[column.get(n.id)!] ??= []).push(n.id);
  for (let i = 0; i < columns.length; i++) columns[i] ??= [];

  const rowOf = new Map<string, number>();
  const index = () => columns.forEach((col) => col.forEach((id, r) => rowOf.set(id, r)));
  index();
  const barycentre = (id: string, neighbours: Map<string, string[]>) => {
    const rs = neighbours.get(id)!.map((n) => rowOf.get(n)!);
    return rs.length === 0 ? rowOf.get(id)! : rs.reduce((a, b) => a + b, 0) / rs.length;
  };
  for (let sweep = 0; sweep < SWEEPS; sweep++) {
    const down = sweep % 2 === 0;
    const order = down ? columns.map((_, i) => i).slice(1) : columns.map((_, i) => i).reverse().slice(1);
    for (const c of order) {
      const col = columns[c]!;
      const key = new Map(col.map((id) => [id, barycentre(id, down ? ups : downs)]));
      // Stable: ties keep their current order.
      col.sort((a, b) => key.get(a)! - key.get(b)! || rowOf.get(a)! - rowOf.get(b)!);
      col.forEach((id, r) => rowOf.set(id, r));
    }
  }

  const { nodeWidth: w, nodeHeight: h, columnGap, rowGap, margin } = options;
  const tallest = Math.max(1, ...columns.map((c) => c.length));
  const height = margin * 2 + tallest * h + (tallest - 1) * rowGap;
  const placed = new Map<string, PlacedNode>();
  columns.forEach((col, c) => {
    // Each column is centred vertically, so a chain reads as a straight line.
    const top = margin + ((tallest - col.length) * (h + rowGap)) / 2;
    col.forEach((id, r) => placed.set(id, { id, column: c, row: r, x: margin + c * (w + columnGap), y: top + r * (h + rowGap) }));
  });
  const edges: PlacedEdge[] = [];
  for (const n of nodes) {
    const to = placed.get(n.id)!;
    for (const u of ups.get(n.id)!) {
      const from = placed.get(u)!;
      const x1 = from.x + w;
      const y1 = from.y + h / 2;
      const x2 = to.x;
      const y2 = to.y + h / 2;
      const bend = Math.max(24, (x2 - x1) / 2);
      edges.push({ from: u, to: n.id, path: `M${x1},${y1} C${x1 + bend},${y1} ${x2 - bend},${y2} ${x2},${y2}` });
    }
  }
  const width = margin * 2 + Math.max(1, columns.length) * w + Math.max(0, columns.length - 1) * columnGap;
  return { nodes: nodes.map((n) => placed.get(n.id)!), edges, width, height };
}
