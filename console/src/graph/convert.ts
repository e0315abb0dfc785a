/**
 * definition ⇄ graph. A definition's blocks are lists nested in branches; the graph is one node per
 * block plus the trigger, with two kinds of edges:
 *   - "next" (handle `next`): from a block (or the trigger) to the block after it in the same list;
 *   - a branch edge (handle `branch:<name>`): from a container block to the first block of a branch.
 * Empty branches have no edge; their names stay on the node (`branchKeys`, in order), so a
 * definition → graph → definition round trip is the identity.
 */
import type { Block, BlockData, Definition, EditorState, GraphEdge, GraphNode, XY } from "./types";

export const TRIGGER_ID = "$trigger";
export const NEXT = "next";
export const branchHandle = (name: string) => `branch:${name}`;
export const edgeId = (source: string, handle: string, target: string) => `${source}:${handle}->${target}`;

export function splitBlock(block: Block): BlockData {
  const { branches, ...rest } = block;
  const hasBranches = Object.prototype.hasOwnProperty.call(block, "branches");
  return { block: rest as Block, branchKeys: hasBranches ? Object.keys(branches ?? {}) : null };
}

/** Nodes and edges of `definition`; positions from `state` where it has them, else (0, 0) (see layout.ts). */
export function definitionToGraph(definition: Definition, state?: EditorState | null): { nodes: GraphNode[]; edges: GraphEdge[] } {
  const positions = new Map<string, XY>();
  for (const node of state?.nodes ?? []) {
    if (node?.id && node.position) positions.set(node.id, node.position);
  }
  const at = (id: string): XY => positions.get(id) ?? { x: 0, y: 0 };
  const nodes: GraphNode[] = [
    {
      id: TRIGGER_ID, type: "trigger", position: at(TRIGGER_ID), deletable: false,
      data: { trigger_type: definition.trigger_type, trigger_configuration: definition.trigger_configuration },
    },
  ];
  const edges: GraphEdge[] = [];
  const link = (source: string, handle: string, target: string, label?: string) =>
    edges.push({ id: edgeId(source, handle, target), source, target, sourceHandle: handle, ...(label ? { label } : {}) });

  const walk = (list: Block[], from: string, handle: string, label?: string) => {
    let source = from;
    let out = handle;
    let text = label;
    for (const block of list) {
      const data = splitBlock(block);
      nodes.push({ id: block.id, type: "block", position: at(block.id), data });
      link(source, out, block.id, text);
      for (const name of data.branchKeys ?? []) walk(block.branches?.[name] ?? [], block.id, branchHandle(name), name);
      source = block.id;
      out = NEXT;
      text = undefined;
    }
  };
  walk(definition.workflow_blocks ?? [], TRIGGER_ID, NEXT);
  return { nodes, edges };
}

export type Conversion = {
  blocks: Block[];
  /** blocks not reachable from the trigger: they would be lost, so the editor refuses to save */
  unreachable: string[];
  /** structural problems the editor shows on the node (a cycle, two edges out of one handle) */
  problems: { node: string; message: string }[];
};

/** The `workflow_blocks` that the graph says, walking from the trigger. */
export function graphToBlocks(nodes: GraphNode[], edges: GraphEdge[]): Conversion {
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const out = new Map<string, GraphEdge[]>();
  for (const edge of edges) {
    const key = `${edge.source}\u0000${edge.sourceHandle ?? NEXT}`;
    out.set(key, [...(out.get(key) ?? []), edge]);
  }
  const problems: Conversion["problems"] = [];
  const seen = new Set<string>();
  const follow = (source: string, handle: string): string | null => {
    const found = out.get(`${source}\u0000${handle}`) ?? [];
    if (found.length > 1) problems.push({ node: source, message: `more than one block follows "${handle.replace("branch:", "")}"` });
    return found[0]?.target ?? null;
  };
  const chain = (from: string, handle: string): Block[] => {
    const list: Block[] = [];
    let id = follow(from, handle);
    while (id !== null) {
      const node = byId.get(id);
      if (!node || node.type !== "block") break;
      if (seen.has(id)) {
        problems.push({ node: id, message: "this block is reached twice (a loop or a join); each block has one place" });
        break;
      }
      seen.add(id);
      list.push(nodeToBlock(node.data, (name) => chain(id as string, branchHandle(name))));
      id = follow(id, NEXT);
    }
    return list;
  };
  const blocks = chain(TRIGGER_ID, NEXT);
  const unreachable = nodes.filter((n) => n.type === "block" && !seen.has(n.id)).map((n) => n.id);
  return { blocks, unreachable, problems };
}

function nodeToBlock(data: BlockData, branch: (name: string) => Block[]): Block {
  if (data.branchKeys === null) return { ...data.block };
  const branches: Record<string, Block[]> = {};
  for (const name of data.branchKeys) branches[name] = branch(name);
  return { ...data.block, branches };
}

/** The editor state to store: positions of every node, the edges and the viewport. */
export function editorState(nodes: GraphNode[], edges: GraphEdge[], viewport?: { x: number; y: number; zoom: number }): EditorState {
  return {
    nodes: nodes.map((n) => ({ id: n.id, type: n.type, position: { x: Math.round(n.position.x), y: Math.round(n.position.y) } })),
    edges: edges.map((e) => ({ id: e.id, source: e.source, target: e.target, sourceHandle: e.sourceHandle })),
    viewport: viewport ?? {},
  };
}

/** Every block id in a list of blocks, nested ones included. */
export function blockIds(blocks: Block[]): string[] {
  return blocks.flatMap((b) => [b.id, ...Object.values(b.branches ?? {}).flatMap(blockIds)]);
}
