/** A block of a definition (SPEC §2.4), kept as the API gives it so that unknown fields survive a save. */
export type Block = {
  id: string;
  $kind?: string;
  type: string;
  name?: string;
  branches?: Record<string, Block[]>;
  [field: string]: unknown;
};

/** The parts of a definition the console edits; everything else is kept verbatim beside it. */
export type Definition = {
  name?: string;
  trigger_type?: string | null;
  trigger_configuration?: unknown;
  workflow_blocks?: Block[] | null;
  workflow_editor_state?: EditorState | null;
  [field: string]: unknown;
};

export type XY = { x: number; y: number };

/** What `workflow_editor_state` holds: React Flow's nodes (id, type, position), edges and viewport. */
export type EditorState = {
  nodes?: { id: string; type?: string; position?: XY }[];
  edges?: { id: string; source: string; target: string; sourceHandle?: string | null }[];
  viewport?: { x?: number; y?: number; zoom?: number };
  [field: string]: unknown;
};

/** A node's data: the block without its branches, and the names of its branches in their order. */
export type BlockData = {
  block: Block;
  branchKeys: string[] | null;
  problems?: string[];
};

export type TriggerData = { trigger_type: string | null | undefined; trigger_configuration: unknown; problems?: string[] };

export type GraphNode =
  | { id: string; type: "block"; position: XY; data: BlockData }
  | { id: string; type: "trigger"; position: XY; data: TriggerData; deletable?: boolean };

export type GraphEdge = {
  id: string;
  source: string;
  target: string;
  sourceHandle: string;
  label?: string;
};
