/** Automatic layout (dagre, top to bottom) for definitions that have no stored positions. */
import dagre from "@dagrejs/dagre";
import type { EditorState, GraphEdge, GraphNode } from "./types";

export const NODE_W = 240;
export const NODE_H = 84;

export function layout(nodes: GraphNode[], edges: GraphEdge[]): GraphNode[] {
  const g = new dagre.graphlib.Graph();
  g.setGraph({ rankdir: "TB", nodesep: 40, ranksep: 60 });
  g.setDefaultEdgeLabel(() => ({}));
  for (const n of nodes) g.setNode(n.id, { width: NODE_W, height: NODE_H });
  for (const e of edges) g.setEdge(e.source, e.target);
  dagre.layout(g);
  return nodes.map((n) => {
    const p = g.node(n.id);
    return { ...n, position: { x: Math.round(p.x - NODE_W / 2), y: Math.round(p.y - NODE_H / 2) } } as GraphNode;
  });
}

/** True when some node has no stored position in `state` (then the whole graph is laid out). */
export function needsLayout(nodes: GraphNode[], state: EditorState | null | undefined): boolean {
  const stored = new Set((state?.nodes ?? []).filter((n) => n?.position).map((n) => n.id));
  return nodes.some((n) => !stored.has(n.id));
}
