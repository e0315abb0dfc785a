/** The editor's changes to the graph, as pure functions over nodes and edges. */
import { kindOf, newId } from "./catalog";
import { NEXT, TRIGGER_ID, branchHandle, edgeId, splitBlock } from "./convert";
import type { GraphEdge, GraphNode } from "./types";

type Graph = { nodes: GraphNode[]; edges: GraphEdge[] };

const edge = (source: string, handle: string, target: string): GraphEdge => ({
  id: edgeId(source, handle, target), source, target, sourceHandle: handle,
  ...(handle.startsWith("branch:") ? { label: handle.slice(7) } : {}),
});

/** Adds a new block of `type` on `source`'s `handle`, before whatever followed there. */
export function insert(g: Graph, type: string, source: string, handle: string): Graph & { id: string } {
  const kind = kindOf(type);
  if (!kind) throw new Error(`unknown block type ${type}`);
  const id = newId(type, new Set(g.nodes.map((n) => n.id)));
  const from = g.nodes.find((n) => n.id === source);
  const position = from ? { x: from.position.x, y: from.position.y + 140 } : { x: 0, y: 0 };
  const node: GraphNode = { id, type: "block", position, data: splitBlock(kind.make(id)) };
  const old = g.edges.find((e) => e.source === source && e.sourceHandle === handle);
  const edges = g.edges.filter((e) => e !== old);
  edges.push(edge(source, handle, id));
  if (old) edges.push(edge(id, NEXT, old.target));
  return { nodes: [...g.nodes, node], edges, id };
}

/** Where a new block goes when none is selected: after the last block of the top-level chain. */
export function lastOfChain(g: Graph): string {
  let at = TRIGGER_ID;
  for (let guard = 0; guard < g.nodes.length + 1; guard++) {
    const next = g.edges.find((e) => e.source === at && e.sourceHandle === NEXT);
    if (!next) break;
    at = next.target;
  }
  return at;
}

/** Removes a block and everything inside its branches; the block after it takes its place. */
export function remove(g: Graph, id: string): Graph {
  if (id === TRIGGER_ID) return g;
  const gone = new Set<string>([id]);
  const walk = (from: string, branchesOnly: boolean) => {
    for (const e of g.edges) {
      if (e.source !== from || (branchesOnly && e.sourceHandle === NEXT) || gone.has(e.target)) continue;
      gone.add(e.target);
      walk(e.target, false);
    }
  };
  walk(id, true);
  const incoming = g.edges.find((e) => e.target === id);
  const after = g.edges.find((e) => e.source === id && e.sourceHandle === NEXT);
  const edges = g.edges.filter((e) => !gone.has(e.source) && !gone.has(e.target));
  if (incoming && after && !gone.has(after.target)) edges.push(edge(incoming.source, incoming.sourceHandle, after.target));
  return { nodes: g.nodes.filter((n) => !gone.has(n.id)), edges };
}

/** Connects `source`'s `handle` to `target`: one edge per handle, and one place per block. */
export function connect(g: Graph, source: string, handle: string | null | undefined, target: string): Graph {
  const h = handle ?? NEXT;
  if (source === target || target === TRIGGER_ID) return g;
  const edges = g.edges.filter((e) => !(e.source === source && e.sourceHandle === h) && e.target !== target);
  return { nodes: g.nodes, edges: [...edges, edge(source, h, target)] };
}

/** Sets a container's branch names (parallel); edges of removed branches go, with their blocks. */
export function setBranches(g: Graph, id: string, keys: string[]): Graph {
  const node = g.nodes.find((n) => n.id === id);
  if (!node || node.type !== "block") return g;
  let next: Graph = g;
  for (const old of node.data.branchKeys ?? []) {
    if (keys.includes(old)) continue;
    const first = g.edges.find((e) => e.source === id && e.sourceHandle === branchHandle(old));
    if (first) next = remove(next, first.target);
    next = { nodes: next.nodes, edges: next.edges.filter((e) => !(e.source === id && e.sourceHandle === branchHandle(old))) };
  }
  return {
    nodes: next.nodes.map((n) => (n.id === id && n.type === "block" ? { ...n, data: { ...n.data, branchKeys: keys } } : n)),
    edges: next.edges,
  };
}
