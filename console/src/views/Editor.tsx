import { useCallback, useEffect, useMemo, useState } from "react";
import { Link, useNavigate, useParams } from "react-router-dom";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import {
  Background, Controls, MiniMap, ReactFlow, ReactFlowProvider, applyEdgeChanges, applyNodeChanges, useReactFlow,
  type Connection, type Edge, type EdgeChange, type Node, type NodeChange,
} from "@xyflow/react";
import { ApiError, api, unwrap } from "../api/client";
import { BlockForm, AddBlock, fieldLabel } from "../components/BlockForm";
import { TriggerForm } from "../components/TriggerForm";
import { WorkflowSettings } from "../components/WorkflowSettings";
import { NODE_TYPES } from "../components/nodes";
import { ErrorNote, Loading, Status, when } from "../components/ui";
import { TestPanel } from "./TestPanel";
import { NEXT, TRIGGER_ID, definitionToGraph, editorState, graphToBlocks } from "../graph/convert";
import { connect, insert, lastOfChain, remove, setBranches } from "../graph/edit";
import { layout, needsLayout } from "../graph/layout";
import { problemsByNode, type Problem } from "../graph/problems";
import { WORKFLOW_SETTINGS, changedSettings, flowOf, flowToSave, settingLabel, settingsOf, type Settings } from "../graph/settings";
import type { Block, Definition, EditorState, GraphEdge, GraphNode, TriggerData } from "../graph/types";

/** The fields of a definition the editor sends back (SPEC §2): everything but the workflow's name and description. */
const FIT = { padding: 0.25, maxZoom: 1 };
const KEEP_OUT = new Set(["name", "description", "workflow_editor_state", "enabled", "max_triggers_per_day", "publish"]);

export function Editor() {
  return (
    <ReactFlowProvider>
      <EditorPage />
    </ReactFlowProvider>
  );
}

function EditorPage() {
  const { id = "" } = useParams();
  const client = useQueryClient();
  const navigate = useNavigate();
  const flow = useReactFlow();
  const workflow = useQuery({
    queryKey: ["workflow", id],
    queryFn: () => unwrap(api.GET("/v1/workflows/{workflow_id}", { params: { path: { workflow_id: id } } })),
  });
  const [wanted, setWanted] = useState<number | null>(null);
  const number = wanted ?? workflow.data?.latest_version ?? null;
  const version = useQuery({
    queryKey: ["version", id, number],
    enabled: number !== null,
    queryFn: () => unwrap(api.GET("/v1/workflows/{workflow_id}/versions/{number}", { params: { path: { workflow_id: id, number: number! } } })),
  });
  const [nodes, setNodes] = useState<GraphNode[]>([]);
  const [edges, setEdges] = useState<GraphEdge[]>([]);
  const [base, setBase] = useState<Definition>({});
  const [loadedAs, setLoadedAs] = useState("");
  const [selected, setSelected] = useState<string | null>(null);
  const [general, setGeneral] = useState<string[]>([]);
  const [panel, setPanel] = useState<"edit" | "workflow" | "test" | "versions">("edit");
  const [settingsEdit, setSettingsEdit] = useState<Settings | null>(null); // null: as stored
  const [settingsProblems, setSettingsProblems] = useState<string[]>([]);
  const [saved, setSaved] = useState<string | null>(null);

  const load = useCallback((definition: Definition, state: EditorState | null | undefined) => {
    let g = definitionToGraph(definition, state);
    if (needsLayout(g.nodes, state)) g = { ...g, nodes: layout(g.nodes, g.edges) };
    setNodes(g.nodes);
    setEdges(g.edges);
    setBase(definition);
    setGeneral([]);
    setLoadedAs(JSON.stringify(currentDefinition(definition, g.nodes, g.edges)));
    const viewport = state?.viewport;
    setTimeout(() => (viewport && typeof viewport.zoom === "number" ? flow.setViewport({ x: viewport.x ?? 0, y: viewport.y ?? 0, zoom: viewport.zoom }) : flow.fitView(FIT)), 0);
  }, [flow]);

  useEffect(() => {
    if (version.data) load(version.data.definition as Definition, version.data.workflow_editor_state as EditorState | null);
  }, [version.data, load]);

  const current = useMemo(() => currentDefinition(base, nodes, edges), [base, nodes, edges]);
  const dirty = loadedAs !== "" && JSON.stringify(current) !== loadedAs;
  const stored = settingsOf(workflow.data ?? {});
  const settings = settingsEdit ?? stored;
  const settingsChange = changedSettings(stored, settings);
  const settingsDirty = Object.keys(settingsChange).length > 0;

  const mark = (byNode: Map<string, string[]>) => {
    setNodes((ns) => ns.map((n) => ({ ...n, data: { ...n.data, problems: byNode.get(n.id) ?? [] } }) as GraphNode));
    setGeneral(byNode.get("") ?? []);
    setSettingsProblems(byNode.get(WORKFLOW_SETTINGS) ?? []);
    if (byNode.has(WORKFLOW_SETTINGS)) setPanel("workflow");
  };

  const save = useMutation({
    mutationFn: async (publish: boolean) => {
      const conversion = graphToBlocks(nodes, edges);
      const local = new Map<string, string[]>();
      for (const u of conversion.unreachable) local.set(u, ["Not connected: connect it to the flow or remove it"]);
      for (const p of conversion.problems) local.set(p.node, [...(local.get(p.node) ?? []), p.message]);
      if (local.size) {
        mark(local);
        throw new Error("Some blocks are not connected to the flow; they are marked in red.");
      }
      const body: Record<string, unknown> = { ...settingsChange };
      if (dirty || isDraft || !settingsDirty) { // only the settings changed: no new version
        for (const [k, v] of Object.entries(current)) if (!KEEP_OUT.has(k)) body[k] = v;
        body.workflow_editor_state = editorState(nodes, edges, flow.getViewport());
        body.publish = publish;
      }
      return unwrap(api.PATCH("/v1/workflows/{workflow_id}", { params: { path: { workflow_id: id } }, body }));
    },
    onSuccess: (w, publish) => {
      mark(new Map());
      setSettingsEdit(null);
      const versioned = dirty || isDraft || !settingsDirty;
      setSaved(!versioned ? "Workflow settings saved" : publish ? `Published as version ${w.latest_version}` : `Saved draft version ${w.latest_version}`);
      setWanted(null);
      client.invalidateQueries({ queryKey: ["workflow", id] });
      client.invalidateQueries({ queryKey: ["versions", id] });
    },
    onError: (e) => {
      setSaved(null);
      if (!(e instanceof ApiError) || !e.body.details) return;
      const typeOf = new Map(nodes.map((n) => [n.id, n.type === "block" ? n.data.block.type : undefined]));
      mark(problemsByNode(e.body.details as Problem[], current.workflow_blocks ?? [],
                          (node, field) => (node === WORKFLOW_SETTINGS ? settingLabel(field)
                            : node && node !== TRIGGER_ID ? fieldLabel(typeOf.get(node), field) : field)));
    },
  });
  const publishVersion = useMutation({
    mutationFn: (n: number) => unwrap(api.POST("/v1/workflows/{workflow_id}/publish", { params: { path: { workflow_id: id } }, body: { version: n } })),
    onSuccess: (w) => {
      setSaved(`Version ${w.active_version} is now active`);
      client.invalidateQueries({ queryKey: ["workflow", id] });
      client.invalidateQueries({ queryKey: ["versions", id] });
    },
  });
  const destroy = useMutation({
    mutationFn: () => unwrap(api.DELETE("/v1/workflows/{workflow_id}", { params: { path: { workflow_id: id } } })),
    onSuccess: () => { client.invalidateQueries({ queryKey: ["workflows"] }); navigate("/workflows"); },
  });
  const trigger = useMutation({
    mutationFn: () => unwrap(api.POST("/v1/workflows/{workflow_id}/trigger", { params: { path: { workflow_id: id } }, body: { data: {} } })),
    onSuccess: (run) => navigate(`/instances/${run.id}`),
  });

  const onNodesChange = useCallback((changes: NodeChange[]) => {
    // Delete/Backspace on a selected block removes it as "Remove block" does (its branches go, its neighbours join)
    const removed = changes.filter((c) => c.type === "remove").map((c) => (c as { id: string }).id);
    const rest = changes.filter((c) => c.type !== "remove");
    if (removed.length) {
      let g = { nodes, edges };
      for (const nodeId of removed) g = remove(g, nodeId);
      setNodes(layout(g.nodes, g.edges));
      setEdges(g.edges);
      setSelected(null);
    }
    if (rest.length) setNodes((ns) => applyNodeChanges(rest, ns as Node[]) as GraphNode[]);
  }, [nodes, edges]);
  useEffect(() => {
    if (!dirty && !settingsDirty) return;
    const warn = (e: BeforeUnloadEvent) => e.preventDefault(); // unsaved changes: the browser asks first
    window.addEventListener("beforeunload", warn);
    return () => window.removeEventListener("beforeunload", warn);
  }, [dirty, settingsDirty]);
  const onEdgesChange = useCallback((changes: EdgeChange[]) => setEdges((es) => applyEdgeChanges(changes, es as Edge[]) as GraphEdge[]), []);
  const onConnect = useCallback((c: Connection) => {
    setEdges((es) => connect({ nodes: [], edges: es }, c.source, c.sourceHandle, c.target).edges);
  }, []);

  const apply = (g: { nodes: GraphNode[]; edges: GraphEdge[] }, relayout = true) => {
    setNodes(relayout ? layout(g.nodes, g.edges) : g.nodes);
    setEdges(g.edges);
    if (relayout) setTimeout(() => flow.fitView({ ...FIT, duration: 0 }), 0);
  };
  const add = (type: string, source: string, handle: string) => {
    const g = insert({ nodes, edges }, type, source, handle);
    apply(g);
    setSelected(g.id);
  };
  const addHere = (type: string) => {
    const at = selected ?? lastOfChain({ nodes, edges });
    add(type, at, NEXT);
  };
  const updateNode = (nodeId: string, data: Partial<GraphNode["data"]>) =>
    setNodes((ns) => ns.map((n) => (n.id === nodeId ? ({ ...n, data: { ...n.data, ...data } } as GraphNode) : n)));

  if (workflow.isLoading || version.isLoading) return <Loading />;
  if (!workflow.data) return <ErrorNote error={workflow.error} />;
  const w = workflow.data;
  const node = nodes.find((n) => n.id === selected);
  const isDraft = number !== null && number !== w.active_version;

  return (
    <section className="editor">
      <div className="editor-head">
        <div>
          <h1>{w.name}</h1>
          <div className="muted small">
            Editing version {number ?? "—"} {isDraft ? <span className="badge wait">draft</span> : <span className="badge ok">active</span>}
            {" · "}active version {w.active_version ?? "none yet"} · {w.enabled ? "enabled" : "disabled"}
            {(dirty || settingsDirty) && <span className="badge muted plain">unsaved changes</span>}
          </div>
        </div>
        <div className="actions">
          {saved && <span className="saved" role="status">{saved}</span>}
          <button onClick={() => save.mutate(false)} disabled={save.isPending}>Save draft</button>
          <button className="primary" onClick={() => (dirty || isDraft || settingsDirty ? save.mutate(true) : number && publishVersion.mutate(number))}
                  disabled={save.isPending || (!dirty && !isDraft && !settingsDirty)}>Publish</button>
          <button onClick={() => trigger.mutate()} disabled={!w.active_version || dirty || trigger.isPending}>Run now</button>
          <Link className="button ghost" to={`/runs?workflow_id=${id}`}>Runs</Link>
          <button className="danger ghost" onClick={() => confirm(`Delete the workflow ${w.name}? Runs already started go on.`) && destroy.mutate()}>Delete workflow</button>
        </div>
      </div>
      {save.error instanceof ApiError && save.error.body.code === "validation_error" && save.error.body.details?.length
        ? <div className="error" role="alert"><strong>Not saved: fix the problems marked in red{settingsProblems.length ? " in the Workflow tab" : " on the blocks"}.</strong></div>
        : <ErrorNote error={save.error} />}
      <ErrorNote error={publishVersion.error || trigger.error || version.error || destroy.error} />
      {general.length > 0 && <ul className="problems" role="alert">{general.map((g, i) => <li key={i}>{g}</li>)}</ul>}
      <div className="editor-body">
        <div className="palette" aria-label="Blocks">
          <h4>Add a block</h4>
          <p className="muted small">{selected && selected !== TRIGGER_ID ? "after the selected block" : selected === TRIGGER_ID ? "after the trigger" : "at the end"}</p>
          <AddBlockButtons onAdd={addHere} />
        </div>
        <div className="canvas">
          <ReactFlow nodes={nodes as Node[]} edges={edges as Edge[]} nodeTypes={NODE_TYPES}
                     onNodesChange={onNodesChange} onEdgesChange={onEdgesChange} onConnect={onConnect}
                     onNodeClick={(_, n) => { setSelected(n.id); setPanel("edit"); }} onPaneClick={() => setSelected(null)}
                     deleteKeyCode={["Delete", "Backspace"]} fitView fitViewOptions={FIT} minZoom={0.2} proOptions={{ hideAttribution: true }}
                     defaultEdgeOptions={{ type: "smoothstep" }}>
            <Background gap={20} />
            <Controls showInteractive={false} />
            <MiniMap pannable zoomable style={{ width: 140, height: 90 }} />
          </ReactFlow>
          <button className="ghost tidy" onClick={() => apply({ nodes, edges })}>Tidy up</button>
        </div>
        <div className="side">
          <div className="tabs" role="tablist">
            <button role="tab" aria-selected={panel === "edit"} onClick={() => setPanel("edit")}>Settings</button>
            <button role="tab" aria-selected={panel === "workflow"} onClick={() => setPanel("workflow")}>Workflow</button>
            <button role="tab" aria-selected={panel === "test"} onClick={() => setPanel("test")}>Test</button>
            <button role="tab" aria-selected={panel === "versions"} onClick={() => setPanel("versions")}>Versions</button>
          </div>
          {panel === "edit" && (node?.type === "block" ? (
            <BlockForm key={node.id} block={node.data.block} branchKeys={node.data.branchKeys} problems={node.data.problems}
              onChange={(b: Block) => updateNode(node.id, { block: b })}
              onBranches={(keys) => apply(setBranches({ nodes, edges }, node.id, keys))}
              onAdd={(t, branch) => add(t, node.id, branch ? `branch:${branch}` : NEXT)}
              onRemove={() => { apply(remove({ nodes, edges }, node.id)); setSelected(null); }} />
          ) : node?.type === "trigger" ? (
            <TriggerForm data={node.data} webhookUrl={w.webhook_url} problems={node.data.problems}
              onChange={(d: TriggerData) => updateNode(TRIGGER_ID, d)} />
          ) : (
            <div className="form"><p className="muted">Select a block to change its settings, or add one from the left.</p>
              {w.webhook_url && <p className="small">Webhook URL: <code>{w.webhook_url}</code></p>}</div>
          ))}
          {panel === "workflow" && <WorkflowSettings workflowId={id} flow={flowOf(base.flow_control)} settings={settings}
            problems={settingsProblems} onFlow={(f) => setBase((b) => ({ ...b, flow_control: flowToSave(f) }))}
            onSettings={setSettingsEdit} />}
          {panel === "test" && <TestPanel workflowId={id} definition={current} />}
          {panel === "versions" && <Versions workflowId={id} open={number} onOpen={(n) => setWanted(n)}
            onPublish={(n) => publishVersion.mutate(n)} />}
        </div>
      </div>
    </section>
  );
}

function AddBlockButtons({ onAdd }: { onAdd: (type: string) => void }) {
  return <AddBlock label="Add block" onAdd={onAdd} />;
}

/** The definition the graph says: the loaded one with the trigger and blocks from the graph. */
function currentDefinition(base: Definition, nodes: GraphNode[], edges: GraphEdge[]): Definition {
  const trigger = nodes.find((n) => n.id === TRIGGER_ID);
  const out: Definition = { ...base };
  if (trigger?.type === "trigger") {
    out.trigger_type = trigger.data.trigger_type;
    out.trigger_configuration = trigger.data.trigger_configuration;
  }
  out.workflow_blocks = graphToBlocks(nodes, edges).blocks;
  return out;
}

function Versions({ workflowId, open, onOpen, onPublish }: { workflowId: string; open: number | null; onOpen: (n: number) => void; onPublish: (n: number) => void }) {
  const versions = useQuery({
    queryKey: ["versions", workflowId],
    queryFn: () => unwrap(api.GET("/v1/workflows/{workflow_id}/versions", { params: { path: { workflow_id: workflowId } } })),
  });
  if (versions.isLoading) return <Loading />;
  return (
    <div className="form">
      <ErrorNote error={versions.error} />
      <ol className="versions">
        {[...(versions.data ?? [])].sort((a, b) => b.version_number - a.version_number).map((v) => (
          <li key={v.version_number} className={v.version_number === open ? "open" : ""}>
            <div><b>Version {v.version_number}</b> {v.active ? <Status value="active" /> : v.published_at ? <span className="badge muted">earlier</span> : <span className="badge wait">draft</span>}</div>
            <div className="muted small">saved {when(v.created_at)}{v.published_at ? ` · published ${when(v.published_at)}` : ""}</div>
            <div className="row-actions">
              {v.version_number !== open && <button className="ghost small" onClick={() => onOpen(v.version_number)}>Open version {v.version_number}</button>}
              {!v.active && <button className="small" onClick={() => onPublish(v.version_number)}>{v.published_at ? "Roll back to" : "Publish"} version {v.version_number}</button>}
            </div>
          </li>
        ))}
      </ol>
    </div>
  );
}
