/** The editor's two node types: the trigger and a block, each with its problems shown on it. */
import { Handle, Position, type NodeProps } from "@xyflow/react";
import { useQuery } from "@tanstack/react-query";
import { api, page } from "../api/client";
import { blockLabel, kindOf, summary } from "../graph/catalog";
import { NEXT, branchHandle } from "../graph/convert";
import type { BlockData, TriggerData } from "../graph/types";

const TRIGGER_TEXT: Record<string, string> = {
  manual: "Started by hand or the API", webhook: "A webhook is received", event: "When an event arrives",
  schedule: "On a schedule", threshold: "When a metric crosses a threshold",
};

function Problems({ list }: { list?: string[] }) {
  if (!list?.length) return null;
  return <ul className="node-problems" role="alert">{list.map((p, i) => <li key={i}>{p}</li>)}</ul>;
}

export function TriggerNode({ data, selected }: NodeProps) {
  const d = data as TriggerData;
  const config = (d.trigger_configuration ?? {}) as Record<string, unknown>;
  const detail = d.trigger_type === "event" ? String(config.event ?? "") : d.trigger_type === "schedule" ? String(config.cron ?? config.interval ?? "")
    : d.trigger_type === "threshold" ? `${config.metric ?? ""} ${String(config.operator ?? "").replace(/_/g, " ")} ${config.value ?? ""}` : "";
  return (
    <div className={`node trigger${selected ? " selected" : ""}${d.problems?.length ? " invalid" : ""}`} data-node="$trigger" aria-label="Trigger">
      <div className="node-kind"><span className="icon">⚡</span> Trigger</div>
      <div className="node-title">{TRIGGER_TEXT[d.trigger_type ?? "manual"] ?? d.trigger_type}</div>
      {detail && <div className="node-summary">{detail}</div>}
      <Problems list={d.problems} />
      <Handle type="source" position={Position.Bottom} id={NEXT} />
    </div>
  );
}

export function BlockNode({ data, selected, id }: NodeProps) {
  const d = data as BlockData;
  const kind = kindOf(d.block.type);
  const branches = d.branchKeys ?? [];
  return (
    <div className={`node block${selected ? " selected" : ""}${d.problems?.length ? " invalid" : ""} ${kind?.kind === "Action" ? "action" : "control"}`}
         data-node={id} aria-label={`Block ${d.block.name || id}`}>
      <Handle type="target" position={Position.Top} />
      <div className="node-kind"><span className="icon">{kind?.icon ?? "?"}</span> {blockLabel(d.block)}</div>
      <div className="node-title">{d.block.name || id}</div>
      <div className="node-summary">{d.block.type === "call_workflow" ? <Callee inputs={d.block.inputs as Record<string, unknown> | undefined} /> : summary(d.block) || "\u00a0"}</div>
      <Problems list={d.problems} />
      {branches.length > 0 && (
        <div className="branch-labels">{branches.map((b) => <span key={b}>{b}</span>)}</div>
      )}
      {branches.map((b, i) => (
        <Handle key={b} type="source" position={Position.Bottom} id={branchHandle(b)}
                style={{ left: `${((i + 1) / (branches.length + 1)) * 100}%` }} title={b} />
      ))}
      <Handle type="source" position={branches.length ? Position.Right : Position.Bottom} id={NEXT} title="next" />
    </div>
  );
}

/** call_workflow's summary: the called workflow by name (its id when the console does not know it). */
function Callee({ inputs }: { inputs?: Record<string, unknown> }) {
  const workflows = useQuery({ queryKey: ["workflows", "all"], queryFn: () => page(api.GET("/v1/workflows", { params: { query: { limit: 100 } } })) });
  const id = typeof inputs?.workflow_id === "string" ? inputs.workflow_id : "";
  const name = (workflows.data?.data ?? []).find((w) => w.id === id)?.name ?? id;
  return <>{name || "\u00a0"}{id && inputs?.wait === false ? " (no wait)" : ""}</>;
}

export const NODE_TYPES = { block: BlockNode, trigger: TriggerNode };
