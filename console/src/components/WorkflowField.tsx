/** call_workflow's "Workflow": a choice among the tenant's workflows by name (an id typed by hand is kept and shown). */
import { useQuery } from "@tanstack/react-query";
import { api, page } from "../api/client";

const CALLED = "The workflow this block starts; its active version unless a version is given.";

/** `label` and `help` name what the choice is for; `exclude` leaves a workflow out (the one being edited). */
export function WorkflowField({ id, value, onChange, label = "Workflow", help = CALLED, exclude, none = "Choose a workflow…" }: {
  id: string; value: unknown; onChange: (v: unknown) => void; label?: string; help?: string; exclude?: string; none?: string;
}) {
  const workflows = useQuery({ queryKey: ["workflows", "all"], queryFn: () => page(api.GET("/v1/workflows", { params: { query: { limit: 100 } } })) });
  const list = (workflows.data?.data ?? []).filter((w) => w.id !== exclude);
  const current = typeof value === "string" ? value : "";
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <select id={id} value={current} onChange={(e) => onChange(e.target.value || undefined)}>
        <option value="">{workflows.isLoading ? "Loading…" : none}</option>
        {list.map((w) => <option key={w.id} value={w.id}>{w.name}</option>)}
        {current && !list.some((w) => w.id === current) && <option value={current}>{current}</option>}
      </select>
      <span className="help">{help}</span>
    </div>
  );
}
