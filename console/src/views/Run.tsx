import { useState } from "react";
import { Link, useNavigate, useParams } from "react-router-dom";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, unwrap } from "../api/client";
import { decideApproval } from "../api/approvals";
import { ErrorNote, Loading, PageHead, Status, Updated, Value, duration, when } from "../components/ui";
import { blockLabel } from "../graph/catalog";
import type { Block } from "../graph/types";

type Step = {
  id: string; type: string; name?: string | null; status: string; attempts?: number;
  started_at?: string | null; ended_at?: string | null; output?: unknown; error?: string | null;
  missing?: string[]; branch?: string | null; iteration?: number | null; reused?: boolean;
};

const LIVE = new Set(["running", "queued"]);

/** One run: what started it, each step as it happens (polled every second while it runs), and what can be done to it. */
export function Run() {
  const { id = "" } = useParams();
  const navigate = useNavigate();
  const client = useQueryClient();
  const run = useQuery({
    queryKey: ["instance", id],
    queryFn: () => unwrap(api.GET("/v1/instances/{instance_id}", { params: { path: { instance_id: id } } })),
    refetchInterval: (q) => (q.state.data && !LIVE.has(q.state.data.status) ? false : 1000),
  });
  const r = run.data;
  const workflow = useQuery({
    queryKey: ["workflow", r?.workflow_id],
    enabled: !!r?.workflow_id,
    queryFn: () => unwrap(api.GET("/v1/workflows/{workflow_id}", { params: { path: { workflow_id: r!.workflow_id! } } })),
  });
  const cancel = useMutation({
    mutationFn: () => unwrap(api.POST("/v1/instances/{instance_id}/cancel", { params: { path: { instance_id: id } } })),
    onSettled: () => client.invalidateQueries({ queryKey: ["instance", id] }),
  });
  const retry = useMutation({
    mutationFn: () => unwrap(api.POST("/v1/instances/{instance_id}/retry", { params: { path: { instance_id: id } }, body: {} })),
    onSuccess: (next) => navigate(`/instances/${next.id}`),
  });
  if (run.isLoading) return <Loading />;
  if (!r) return <ErrorNote error={run.error} />;
  const steps = (r.steps ?? []) as Step[];
  const failed = steps.find((s) => s.status === "failed");
  return (
    <section>
      <PageHead title={<>{workflow.data?.name ?? "Run"} <Status value={r.status} /></>}>
        <Updated at={run.dataUpdatedAt} />
        {LIVE.has(r.status) && <button className="danger" onClick={() => confirm("Cancel this run? The step it is on stops and nothing after it runs.") && cancel.mutate()} disabled={cancel.isPending}>Cancel run</button>}
        {r.status === "failed" && <button className="primary" onClick={() => retry.mutate()} disabled={retry.isPending}>Retry from failed step</button>}
        <a className="button ghost" href={r.temporal.ui_url} target="_blank" rel="noreferrer">Open in Temporal UI</a>
      </PageHead>
      <ErrorNote error={run.error || cancel.error || retry.error} />
      <div className="facts">
        <div><span>Run</span><code>{r.id}</code></div>
        <div><span>Workflow</span>{r.workflow_id ? <Link to={`/workflows/${r.workflow_id}`}>{workflow.data?.name ?? r.workflow_id}</Link> : "—"} {r.workflow_version ? `v${r.workflow_version}` : ""}</div>
        <div><span>Started</span>{when(r.started_at)}</div>
        <div><span>Took</span>{r.status === "queued" ? "waiting for a slot" : duration(r.started_at, r.closed_at)}</div>
        {r.retry_of && <div><span>Retry of</span><Link to={`/instances/${r.retry_of}`}>{r.retry_of}</Link></div>}
        {r.current_step && LIVE.has(r.status) && <div><span>Now at</span>{findBlock((workflow.data?.workflow_blocks ?? []) as Block[], r.current_step)?.name || r.current_step}</div>}
      </div>
      {r.error && <div className="error" role="alert"><strong>The run failed:</strong> {r.error}{failed && <> (step <b>{failed.name || failed.id}</b>)</>}</div>}
      <div className="split">
        <ol className="timeline" aria-label="Steps">
          {r.status === "queued" && <li className="step wait"><div className="dot" /><div className="body"><b>Queued</b><p className="muted">Waiting for its turn (a concurrency, throttle, debounce or batch limit of this workflow).</p></div></li>}
          {steps.map((s, i) => <StepItem key={`${s.id}-${s.iteration ?? ""}-${i}`} step={s} instance={id} live={LIVE.has(r.status)}
            block={findBlock((workflow.data?.workflow_blocks ?? []) as Block[], s.id)}
            approval={(r.approvals ?? {})[s.id] as { message?: string | null } | undefined} />)}
          {steps.length === 0 && r.status !== "queued" && <li className="muted">No step has started yet.</li>}
          {!LIVE.has(r.status) && <li className={`step end ${r.status}`}><div className="dot" /><div className="body"><b>Run {r.status.replace("_", " ")}</b> <span className="muted small">{when(r.closed_at)}</span></div></li>}
        </ol>
        <aside className="card">
          <h3>Started by</h3>
          <Value value={Object.fromEntries(Object.entries(r.trigger ?? {}).filter(([, v]) => v !== null && v !== undefined))} />
        </aside>
      </div>
    </section>
  );
}

function findBlock(blocks: Block[], id: string): Block | undefined {
  for (const b of blocks) {
    if (b.id === id) return b;
    for (const list of Object.values(b.branches ?? {})) {
      const found = findBlock(list, id);
      if (found) return found;
    }
  }
  return undefined;
}

function StepItem({ step, instance, live, block, approval }: {
  step: Step; instance: string; live: boolean; block?: Block; approval?: { message?: string | null };
}) {
  const [open, setOpen] = useState(true);
  const title = step.name || block?.name || step.id;
  const kind = block ? blockLabel(block) : step.type;
  return (
    <li className={`step ${step.status}`} data-step={step.id}>
      <div className="dot" />
      <div className="body">
        <button className="stephead" onClick={() => setOpen(!open)} aria-expanded={open}>
          <b>{title}</b> <span className="muted">{kind}</span>
          {step.branch && <span className="chip">{step.branch}</span>}
          {step.iteration !== null && step.iteration !== undefined && <span className="chip">item {step.iteration + 1}</span>}
          <Status value={step.status} />
          <span className="muted small">{duration(step.started_at, step.ended_at)}{step.attempts ? ` · ${step.attempts} attempt${step.attempts > 1 ? "s" : ""}` : ""}{step.reused ? " · from the earlier run" : ""}</span>
        </button>
        {step.error && <div className="error small">{step.error}</div>}
        {step.missing && step.missing.length > 0 && <div className="muted small">Missing values: {step.missing.join(", ")}</div>}
        {step.type === "wait_for_event" && (step.status === "running" || step.status === "waiting") && live &&
          <SendEvent instance={instance} name={(block?.inputs as { event?: string } | undefined)?.event ?? ""} />}
        {step.type === "call_workflow" && typeof (step.output as { instance_id?: unknown } | null)?.instance_id === "string" &&
          <div className="small"><Link to={`/instances/${(step.output as { instance_id: string }).instance_id}`}>Open the run it started</Link></div>}
        {step.type === "approval" && (step.status === "running" || step.status === "waiting") && live && <Approve instance={instance} block={step.id} message={approval?.message ?? undefined} />}
        {open && (
          <div className="stepdetail">
            <div><span className="muted small">Started</span> {when(step.started_at)} · <span className="muted small">Ended</span> {when(step.ended_at)}</div>
            {(step.output !== null && step.output !== undefined) || step.status === "completed" ? <><h4>Output</h4><Value value={step.output} /></> : null}
          </div>
        )}
      </div>
    </li>
  );
}

/** Delivers the event a wait_for_event step waits for (POST /v1/instances/{id}/events). */
function SendEvent({ instance, name }: { instance: string; name: string }) {
  const [payload, setPayload] = useState("{}");
  const client = useQueryClient();
  const send = useMutation({
    mutationFn: () => unwrap(api.POST("/v1/instances/{instance_id}/events", {
      params: { path: { instance_id: instance } }, body: { name, payload: JSON.parse(payload || "{}") },
    })),
    onSettled: () => client.invalidateQueries({ queryKey: ["instance", instance] }),
  });
  return (
    <div className="approval card">
      <p><b>Waiting for the event “{name}”.</b></p>
      <label htmlFor={`payload-${instance}`}>Payload (JSON)</label>
      <textarea id={`payload-${instance}`} className="mono" rows={2} value={payload} onChange={(e) => setPayload(e.target.value)} />
      <div className="row-actions"><button className="primary" onClick={() => send.mutate()} disabled={send.isPending}>Send event {name}</button></div>
      <ErrorNote error={send.error} />
    </div>
  );
}

function Approve({ instance, block, message }: { instance: string; block: string; message?: string }) {
  const [comment, setComment] = useState("");
  const client = useQueryClient();
  const decide = useMutation({
    mutationFn: (decision: "approved" | "rejected") => decideApproval(instance, block, { decision, comment: comment || undefined }),
    onSettled: () => client.invalidateQueries({ queryKey: ["instance", instance] }),
  });
  return (
    <div className="approval card">
      <p><b>Waiting for a decision.</b> {message && !message.includes("{{") ? message : null}</p>
      <label htmlFor={`comment-${block}`}>Comment (optional)</label>
      <input id={`comment-${block}`} value={comment} onChange={(e) => setComment(e.target.value)} />
      <div className="row-actions">
        <button className="primary" onClick={() => decide.mutate("approved")} disabled={decide.isPending}>Approve</button>
        <button className="danger" onClick={() => decide.mutate("rejected")} disabled={decide.isPending}>Reject</button>
      </div>
      <ErrorNote error={decide.error} />
    </div>
  );
}
