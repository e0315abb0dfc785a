import { useState, type FormEvent } from "react";
import { Link, useNavigate } from "react-router-dom";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, page, unwrap } from "../api/client";
import { ErrorNote, Loading, PageHead, when } from "../components/ui";

const TRIGGERS: [string, string][] = [
  ["manual", "Started by hand or by the API"],
  ["webhook", "An incoming webhook"],
  ["event", "An event from your product"],
  ["schedule", "A schedule"],
  ["threshold", "A metric crossing a threshold"],
];

/** What starts a workflow, in words. */
function startsWhen(type: string | null | undefined, config: Record<string, unknown> | null | undefined): string {
  const c = config ?? {};
  switch (type) {
    case "manual": return "By hand or the API";
    case "webhook": return "Webhook";
    case "event": return `Event ${String(c.event ?? "")}`;
    case "schedule": return `Schedule ${String(c.cron ?? (c.interval ? `every ${c.interval}` : ""))}`;
    case "threshold": return `Metric ${String(c.metric ?? "")}`;
    default: return type ?? "—";
  }
}

export function Workflows() {
  const [q, setQ] = useState("");
  const [creating, setCreating] = useState(false);
  const list = useQuery({
    queryKey: ["workflows", q],
    queryFn: () => page(api.GET("/v1/workflows", { params: { query: { q: q || undefined, limit: 100 } } })),
  });
  const client = useQueryClient();
  const toggle = useMutation({
    mutationFn: (v: { id: string; enabled: boolean }) =>
      unwrap(api.PATCH("/v1/workflows/{workflow_id}", { params: { path: { workflow_id: v.id } }, body: { enabled: v.enabled } })),
    onSuccess: () => client.invalidateQueries({ queryKey: ["workflows"] }),
  });

  return (
    <section>
      <PageHead title="Workflows">
        <input aria-label="Search workflows" type="search" placeholder="Search by name" value={q} onChange={(e) => setQ(e.target.value)} />
        <button className="primary" onClick={() => setCreating(true)}>New workflow</button>
      </PageHead>
      {creating && <NewWorkflow onClose={() => setCreating(false)} />}
      <ErrorNote error={list.error || toggle.error} />
      {list.isLoading ? <Loading /> : (
        <table className="table">
          <thead>
            <tr><th>Name</th><th>Starts</th><th>Version</th><th>Runs</th><th>Succeeded</th><th>Failed</th><th>Last run</th><th>Enabled</th></tr>
          </thead>
          <tbody>
            {(list.data?.data ?? []).map((w) => (
              <tr key={w.id}>
                <td><Link to={`/workflows/${w.id}`} className="strong">{w.name}</Link>
                  {w.disabled_reason === "circuit_breaker" && <span className="badge bad">breaker tripped</span>}
                  {w.active_version === null && <span className="badge wait">draft</span>}
                  {w.description && <div className="muted small">{w.description}</div>}</td>
                <td>{startsWhen(w.trigger_type, w.trigger_configuration)}</td>
                <td>{w.active_version ?? "—"}{w.latest_version !== w.active_version && <span className="muted small"> (latest {w.latest_version})</span>}</td>
                <td>{w.stats?.total_runs ?? 0}</td>
                <td>{w.stats?.success_count ?? 0}</td>
                <td>{w.stats?.failure_count ?? 0}</td>
                <td>{when(w.stats?.last_run_at ?? w.last_triggered_at)}</td>
                <td>
                  <label className="switch">
                    <input type="checkbox" checked={w.enabled} aria-label={`Enabled: ${w.name}`}
                           onChange={(e) => toggle.mutate({ id: w.id, enabled: e.target.checked })} />
                    <span>{w.enabled ? "On" : "Off"}</span>
                  </label>
                </td>
              </tr>
            ))}
            {list.data && list.data.data.length === 0 && (
              <tr><td colSpan={8} className="empty">No workflows yet. Create one with “New workflow”.</td></tr>
            )}
          </tbody>
        </table>
      )}
    </section>
  );
}

function NewWorkflow({ onClose }: { onClose: () => void }) {
  const [name, setName] = useState("");
  const [trigger, setTrigger] = useState("manual");
  const navigate = useNavigate();
  const create = useMutation({
    mutationFn: () => unwrap(api.POST("/v1/workflows", {
      body: { name, trigger_type: trigger, trigger_configuration: trigger === "event" ? { event: "item.created" } : trigger === "schedule" ? { cron: "0 9 * * MON-FRI" } : trigger === "threshold" ? { metric: "error_rate", operator: "greater_than", value: 5, time_window: "5m" } : null, workflow_blocks: [], publish: false },
    })),
    onSuccess: (w) => navigate(`/workflows/${w.id}`),
  });
  const submit = (e: FormEvent) => { e.preventDefault(); create.mutate(); };
  return (
    <form className="card inline-form" onSubmit={submit}>
      <div className="field"><label htmlFor="new-name">Name</label>
        <input id="new-name" value={name} onChange={(e) => setName(e.target.value)} required maxLength={120} autoFocus /></div>
      <div className="field"><label htmlFor="new-trigger">Starts when</label>
        <select id="new-trigger" value={trigger} onChange={(e) => setTrigger(e.target.value)}>
          {TRIGGERS.map(([v, l]) => <option key={v} value={v}>{l}</option>)}
        </select></div>
      <button type="submit" className="primary" disabled={!name.trim() || create.isPending}>Create workflow</button>
      <button type="button" className="ghost" onClick={onClose}>Cancel</button>
      <ErrorNote error={create.error} />
    </form>
  );
}
