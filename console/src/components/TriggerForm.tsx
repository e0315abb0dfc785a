/** The trigger's form: its type and configuration (SPEC §2.2), and the webhook URL to call. */
import type { TriggerData } from "../graph/types";
import { Field, getIn, setIn, type FieldSpec } from "./fields";

const c = (k: string, label: string, kind: FieldSpec["kind"] = "text", extra: Partial<FieldSpec> = {}): FieldSpec => ({ path: [k], label, kind, ...extra });
const CONFIG: Record<string, FieldSpec[]> = {
  manual: [],
  webhook: [c("secret", "Signing secret", "text", { help: "Optional: callers then sign with X-Relay-Signature. Never shown again." })],
  event: [c("event", "Event type", "text", { placeholder: "deal.updated" }),
    c("conditions", "Conditions (JSON)", "json", { help: 'e.g. [{"field": "status", "operator": "changed_to", "value": "won"}]' })],
  schedule: [c("cron", "Cron", "text", { placeholder: "0 9 * * MON-FRI" }), c("timezone", "Time zone", "text", { placeholder: "UTC" }),
    c("interval", "Or every", "text", { placeholder: "15m" }), c("overlap", "If still running", "select", { options: ["skip", "buffer_one", "allow_all"] })],
  threshold: [c("metric", "Metric"), c("operator", "Operator", "select", { options: ["greater_than", "less_than", "greater_or_equal", "less_or_equal", "equals"] }),
    c("value", "Value", "number"), c("time_window", "Over", "text", { placeholder: "5m" }), c("aggregate", "Aggregate", "select", { options: ["avg", "sum", "min", "max", "count"] })],
};

export function TriggerForm({ data, webhookUrl, problems, onChange }: {
  data: TriggerData; webhookUrl?: string | null; problems?: string[]; onChange: (d: TriggerData) => void;
}) {
  const type = data.trigger_type ?? "manual";
  const config = (data.trigger_configuration ?? {}) as Record<string, unknown>;
  return (
    <div className="form" aria-label="Trigger settings">
      <h3>Trigger</h3>
      {problems && problems.length > 0 && <ul className="problems" role="alert">{problems.map((p, n) => <li key={n}>{p}</li>)}</ul>}
      <div className="field">
        <label htmlFor="trigger-type">Starts when</label>
        <select id="trigger-type" value={type} onChange={(e) => onChange({ ...data, trigger_type: e.target.value, trigger_configuration: null })}>
          <option value="manual">Started by hand or by the API</option>
          <option value="webhook">A webhook is received</option>
          <option value="event">An event arrives from your product</option>
          <option value="schedule">On a schedule</option>
          <option value="threshold">A metric crosses a threshold</option>
        </select>
      </div>
      {type === "webhook" && webhookUrl && (
        <div className="field"><label htmlFor="webhook-url">Webhook URL (POST here)</label>
          <input id="webhook-url" readOnly value={webhookUrl} onFocus={(e) => e.target.select()} className="mono" /></div>
      )}
      {(CONFIG[type] ?? []).map((f) => (
        <Field key={f.path.join(".")} id={`trigger-${f.path.join("-")}`} spec={f} value={getIn(config, f.path)}
               onChange={(v) => {
                 const next = setIn(config, f.path, v);
                 onChange({ ...data, trigger_configuration: Object.keys(next).length ? next : null });
               }} />
      ))}
    </div>
  );
}
