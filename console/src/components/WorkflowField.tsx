/** call_workflow's "Workflow": a choice among the tenant's workflows by name (an id typed by hand is kept and shown). */
import { useQuery } from "@tanstack/react-query";
import { api, page } from "../api/client";

export function WorkflowField({ id, value, onChange }: { id: string; value: unknown; onChange: (v: unknown) => void }) {
  const workflows = useQuery({ queryKey: ["workflows", "all"], queryFn: () => page(api.GET("/v1/workflows", { params: { query: { limit: 100 } } })) });
  const list = workflows.data?.data ?? [];
  const current = typeof value === "string" ? value : "";
  return (
    <div className="field">
      <label htmlFor={id}>Workflow</label>
      <select id={id} value={current} onChange={(e) => onChange(e.target.value || undefined)}>
        <option value="">{workflows.isLoading ? "Loading…" : "Choose a workflow…"}</option>
        {list.map((w) => <option key={w.id} value={w.id}>{w.name}</option>)}
        {current && !list.some((w) => w.id === current) && <option value={current}>{current}</option>}
      </select>
      <span className="help">The workflow this block starts; its active version unless a version is given.</span>
    </div>
  );
}
