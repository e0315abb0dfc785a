import { Link } from "react-router-dom";
import { useQuery } from "@tanstack/react-query";
import { api, page } from "../api/client";
import { ErrorNote, Loading, PageHead, Value, when } from "../components/ui";

export function Alerts() {
  const alerts = useQuery({ queryKey: ["alerts"], queryFn: () => page(api.GET("/v1/alerts", { params: { query: { limit: 100 } } })) });
  return (
    <section>
      <PageHead title="Alerts" />
      <ErrorNote error={alerts.error} />
      {alerts.isLoading ? <Loading /> : (
        <table className="table">
          <thead><tr><th>When</th><th>What</th><th>Workflow</th><th>Message</th><th>Details</th><th>Delivered</th></tr></thead>
          <tbody>
            {(alerts.data?.data ?? []).map((a) => (
              <tr key={a.id}>
                <td>{when(a.created_at)}</td><td>{a.kind.replace(/_/g, " ")}</td>
                <td>{a.workflow_id ? <Link to={`/workflows/${a.workflow_id}`}>{a.workflow_id}</Link> : "—"}</td>
                <td>{a.message}</td><td><Value value={a.details} /></td><td>{a.delivered ? "yes" : "no"}</td>
              </tr>
            ))}
            {alerts.data && alerts.data.data.length === 0 && <tr><td colSpan={6} className="empty">No alerts. All quiet.</td></tr>}
          </tbody>
        </table>
      )}
    </section>
  );
}
