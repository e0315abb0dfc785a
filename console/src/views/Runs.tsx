import { useState } from "react";
import { Link, useSearchParams } from "react-router-dom";
import { useQuery } from "@tanstack/react-query";
import { api, page } from "../api/client";
import type { paths } from "../api/schema";

/** The status filter the API takes (`queued` included, SPEC §2.7). */
type StatusFilter = NonNullable<paths["/v1/instances"]["get"]["parameters"]["query"]>["status"];
import { ErrorNote, Loading, PageHead, Status, Updated, duration, when } from "../components/ui";

const STATUSES = ["", "queued", "running", "completed", "failed", "cancelled", "terminated", "timed_out"];

/** Runs, newest first, filtered by workflow and status (the filters live in the URL); refreshes every 3 s. */
export function Runs() {
  const [params, setParams] = useSearchParams();
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const workflow = params.get("workflow_id") ?? "";
  const status = params.get("status") ?? "";
  const cursor = cursors[cursors.length - 1];
  const workflows = useQuery({ queryKey: ["workflows", "all"], queryFn: () => page(api.GET("/v1/workflows", { params: { query: { limit: 100 } } })) });
  const runs = useQuery({
    queryKey: ["runs", workflow, status, cursor],
    queryFn: () => page(api.GET("/v1/instances", { params: { query: { workflow_id: workflow || undefined, status: (status || undefined) as StatusFilter, limit: 25, cursor } } })),
    refetchInterval: 3000,
  });
  const names = new Map((workflows.data?.data ?? []).map((w) => [w.id, w.name]));
  const set = (k: string, v: string) => {
    const next = new URLSearchParams(params);
    if (v) next.set(k, v); else next.delete(k);
    setParams(next);
    setCursors([undefined]);
  };
  return (
    <section>
      <PageHead title="Runs">
        <label className="inline">Workflow
          <select value={workflow} onChange={(e) => set("workflow_id", e.target.value)}>
            <option value="">All workflows</option>
            {(workflows.data?.data ?? []).map((w) => <option key={w.id} value={w.id}>{w.name}</option>)}
          </select></label>
        <label className="inline">Status
          <select value={status} onChange={(e) => set("status", e.target.value)}>
            {STATUSES.map((s) => <option key={s} value={s}>{s ? s.replace("_", " ") : "Any status"}</option>)}
          </select></label>
        <Updated at={runs.dataUpdatedAt} />
      </PageHead>
      <ErrorNote error={runs.error} />
      {runs.isLoading ? <Loading /> : (
        <table className="table">
          <thead><tr><th>Run</th><th>Workflow</th><th>Status</th><th>Started by</th><th>Started</th><th>Took</th></tr></thead>
          <tbody>
            {(runs.data?.data ?? []).map((r) => (
              <tr key={r.id}>
                <td><Link to={`/instances/${r.id}`} className="mono">{r.id}</Link></td>
                <td>{r.workflow_id ? <Link to={`/workflows/${r.workflow_id}`}>{names.get(r.workflow_id) ?? r.workflow_id}</Link> : "—"}
                  {r.workflow_version && <span className="muted small"> v{r.workflow_version}</span>}</td>
                <td><Status value={r.status} /></td>
                <td>{r.trigger_type ?? "—"}</td>
                <td>{when(r.started_at)}</td>
                <td>{r.status === "queued" ? "—" : duration(r.started_at, r.closed_at)}</td>
              </tr>
            ))}
            {runs.data && runs.data.data.length === 0 && <tr><td colSpan={6} className="empty">No runs match.</td></tr>}
          </tbody>
        </table>
      )}
      <div className="pager">
        <button className="ghost" disabled={cursors.length < 2} onClick={() => setCursors(cursors.slice(0, -1))}>Newer</button>
        <button className="ghost" disabled={!runs.data?.meta.next_cursor} onClick={() => setCursors([...cursors, runs.data?.meta.next_cursor ?? undefined])}>Older</button>
      </div>
    </section>
  );
}
