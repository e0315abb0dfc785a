import { useState } from "react";
import { Link } from "react-router-dom";
import { useQuery } from "@tanstack/react-query";
import { api, page } from "../api/client";
import { ErrorNote, Loading, PageHead, when } from "../components/ui";

export function Audit() {
  const [p, setP] = useState(1);
  const log = useQuery({ queryKey: ["audit", p], queryFn: () => page(api.GET("/v1/audit", { params: { query: { page: p, limit: 50 } } })) });
  // who and what by name where the console knows it (the id stays in the tooltip); a deleted one shows its id
  const keys = useQuery({ queryKey: ["keys"], queryFn: () => page(api.GET("/v1/keys", { params: { query: { limit: 100 } } })) });
  const workflows = useQuery({ queryKey: ["workflows", "all"], queryFn: () => page(api.GET("/v1/workflows", { params: { query: { limit: 100 } } })) });
  const connections = useQuery({ queryKey: ["connections"], queryFn: () => page(api.GET("/v1/connections", { params: { query: { limit: 100 } } })) });
  const names = new Map<string, string>([...(keys.data?.data ?? []).map((k) => [k.id, k.name] as const),
    ...(connections.data?.data ?? []).map((c) => [c.id, c.name] as const),
    ...(workflows.data?.data ?? []).map((w) => [w.id, w.name] as const)].filter(([, n]) => Boolean(n)) as [string, string][]);
  const named = (id: string | null | undefined) => (id && names.has(id)
    ? <span title={id}>{names.get(id)}</span> : <span className="mono small">{id ?? ""}</span>);
  return (
    <section>
      <PageHead title="Audit log" />
      <ErrorNote error={log.error} />
      {log.isLoading ? <Loading /> : (
        <table className="table">
          <thead><tr><th>When</th><th>Who</th><th>Did</th><th>To</th><th>Request</th></tr></thead>
          <tbody>
            {(log.data?.data ?? []).map((e) => (
              <tr key={e.id}>
                <td>{when(e.at)}</td>
                <td>{e.actor.type} {named(e.actor.subject ?? e.actor.id)}</td>
                <td>{e.action.replace(".", " ")}</td>
                <td>{e.resource.type} {e.resource.type === "workflow" && e.action !== "workflow.deleted"
                  ? <Link to={`/workflows/${e.resource.id}`}>{named(e.resource.id)}</Link>
                  : e.resource.type === "instance" ? <Link className="mono small" to={`/instances/${e.resource.id}`}>{e.resource.id}</Link>
                  : named(e.resource.id)}</td>
                <td className="mono small">{e.request_id}</td>
              </tr>
            ))}
            {log.data && log.data.data.length === 0 && <tr><td colSpan={5} className="empty">Nothing recorded yet.</td></tr>}
          </tbody>
        </table>
      )}
      <div className="pager">
        <button className="ghost" disabled={p <= 1} onClick={() => setP(p - 1)}>Newer</button>
        <button className="ghost" disabled={!log.data?.meta.has_more} onClick={() => setP(p + 1)}>Older</button>
      </div>
    </section>
  );
}
