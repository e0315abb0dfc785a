/** The form of one block: its inputs by type, then retry, timeout and on_error; its branches. */
import { CATALOG, blockLabel } from "../graph/catalog";
import type { Block } from "../graph/types";
import { Field, getIn, setIn, type FieldSpec } from "./fields";
import { WorkflowField } from "./WorkflowField";

const OPERATORS = ["equals", "not_equals", "contains", "not_contains", "greater_than", "less_than", "greater_or_equal",
  "less_or_equal", "exists", "is_empty", "in", "starts_with", "ends_with", "matches", "changed", "changed_to"];
const i = (k: string, label: string, kind: FieldSpec["kind"] = "text", extra: Partial<FieldSpec> = {}): FieldSpec => ({ path: ["input", k], label, kind, ...extra });
const s = (k: string, label: string, kind: FieldSpec["kind"] = "text", extra: Partial<FieldSpec> = {}): FieldSpec => ({ path: ["inputs", k], label, kind, ...extra });
const TEMPLATE = "Use {{trigger.data.field}} or {{step_id.output.field}} to insert values";

export const FIELDS: Record<string, FieldSpec[]> = {
  send_email: [i("to", "To", "list", { help: "Addresses separated by commas" }), i("cc", "Cc", "list"), i("bcc", "Bcc", "list"),
    i("subject", "Subject"), i("body", "Body", "textarea", { help: TEMPLATE }), i("html", "HTML body", "textarea"),
    i("from", "From"), i("reply_to", "Reply to"), i("connection", "SMTP connection", "text", { help: "Empty: the default" })],
  webhook: [i("url", "URL"), i("method", "Method", "select", { options: ["GET", "POST", "PUT", "PATCH", "DELETE"] }),
    i("headers", "Headers (JSON)", "json"), i("query", "Query (JSON)", "json"), i("body", "Body (JSON)", "json", { help: TEMPLATE }),
    i("timeout", "Request timeout"), i("connection", "Auth connection")],
  send_channel_message: [i("channel", "Channel", "select", { options: ["slack", "teams", "discord", "webhook"] }),
    i("recipient", "Recipient"), i("message", "Message", "textarea", { help: TEMPLATE }), i("username", "Post as"),
    i("webhook_url", "Webhook URL"), i("connection", "Connection")],
  create_task: [i("title", "Title"), i("assignee", "Assignee"), i("due_in", "Due in"), i("description", "Description", "textarea"),
    i("entity", "Entity", "text", { help: "Empty: the triggering entity" }), i("entity_id", "Entity id")],
  update_field: [i("entity", "Entity", "text", { help: "Empty: the triggering entity" }), i("entity_id", "Entity id"),
    i("field", "Field"), i("value", "New value", "value")],
  "if-else": [
    { path: ["inputs", "condition", "left"], label: "Value", kind: "value", placeholder: "{{trigger.data.amount}}" },
    { path: ["inputs", "condition", "operatorName"], label: "Operator", kind: "select", options: OPERATORS },
    { path: ["inputs", "condition", "right"], label: "Compared with", kind: "value" }],
  delay: [s("duration", "Wait for", "text", { help: "e.g. 30s, 15m, 2h, 3d" }), s("until", "Or until", "text", { help: "A date and time, e.g. {{trigger.data.due_at}}" })],
  wait_for_event: [s("event", "Event name"), s("timeout", "Give up after", "text", { help: "e.g. 3d" })],
  parallel: [],
  for_each: [s("items", "Items", "value", { placeholder: "{{trigger.data.lines}}" }), s("max_concurrency", "At most at once", "number")],
  stop: [s("status", "End the run as", "select", { options: ["completed", "failed"] }), s("reason", "Reason")],
  call_workflow: [s("workflow_id", "Workflow"), s("version", "Version", "number", { help: "Empty: the active one" }),
    s("data", "Data (JSON)", "json"), s("wait", "Wait for it to finish", "bool")],
  approval: [s("message", "Message", "textarea"), s("timeout", "Decide within", "text", { help: "e.g. 3d" })],
};

/** The label a block type's form gives the field at `field` (a dotted path), or the path itself. */
export function fieldLabel(type: string | undefined, field: string): string {
  const specs = [...(FIELDS[type ?? ""] ?? []), ...RETRY, TIMEOUT, ON_ERROR];
  const found = specs.find((f) => f.path.join(".") === field) ?? specs.find((f) => field.startsWith(f.path.join(".") + "."));
  return found ? found.label : field;
}

const RETRY: FieldSpec[] = [
  { path: ["retry", "max_attempts"], label: "Attempts", kind: "number" },
  { path: ["retry", "initial_interval"], label: "First wait", kind: "text", placeholder: "2s" },
  { path: ["retry", "backoff"], label: "Backoff", kind: "number", placeholder: "2.0" },
  { path: ["retry", "max_interval"], label: "Longest wait", kind: "text", placeholder: "5m" },
];
const TIMEOUT: FieldSpec = { path: ["timeout"], label: "Timeout", kind: "text", placeholder: "30s" };
const ON_ERROR: FieldSpec = { path: ["on_error"], label: "When it fails", kind: "select", options: ["fail", "continue"] };

type Props = {
  block: Block;
  branchKeys: string[] | null;
  problems?: string[];
  onChange: (b: Block) => void;
  onBranches: (keys: string[]) => void;
  onAdd: (type: string, branch: string | null) => void;
  onRemove: () => void;
};

export function BlockForm({ block, branchKeys, problems, onChange, onBranches, onAdd, onRemove }: Props) {
  const isAction = block.$kind === "Action";
  const fields = FIELDS[block.type] ?? [];
  const condition = getIn(block, ["inputs", "condition"]) as Record<string, unknown> | undefined;
  const combined = block.type === "if-else" && condition && !("operatorName" in condition) && Object.keys(condition).length > 0;
  const field = (f: FieldSpec) => f.path.join(".") === "inputs.workflow_id" ? (
    <WorkflowField key="workflow_id" id={`f-${block.id}-inputs-workflow_id`} value={getIn(block, f.path)}
                   onChange={(v) => onChange(setIn(block, f.path, v))} />
  ) : (
    <Field key={f.path.join(".")} id={`f-${block.id}-${f.path.join("-")}`} spec={f} value={getIn(block, f.path)}
           onChange={(v) => onChange(setIn(block, f.path, v))} />
  );
  return (
    <div className="form" aria-label={`Settings of ${block.name || block.id}`}>
      <h3>{blockLabel(block)}</h3>
      <p className="muted small">Block id <code>{block.id}</code> — its output is <code>{`{{${block.id}.output}}`}</code></p>
      {problems && problems.length > 0 && <ul className="problems" role="alert">{problems.map((p, n) => <li key={n}>{p}</li>)}</ul>}
      <Field id={`f-${block.id}-name`} spec={{ path: ["name"], label: "Name", kind: "text" }} value={block.name} onChange={(v) => onChange(setIn(block, ["name"], v))} />
      {!isAction && !fields.length && block.type !== "parallel" && <p className="muted">No settings.</p>}
      {combined
        ? field({ path: ["inputs", "condition"], label: "Condition (JSON: all / any / not)", kind: "json" })
        : fields.map(field)}
      {isAction && (
        <fieldset>
          <legend>Retries and errors</legend>
          <div className="grid2">{RETRY.map(field)}</div>
          <div className="grid2">{field(TIMEOUT)}{field(ON_ERROR)}</div>
        </fieldset>
      )}
      {block.type === "call_workflow" && field(ON_ERROR)}
      {block.type === "approval" && (
        <p className="muted small">Who decides: put <code>{`{{approvals.${block.id}.approve_url}}`}</code> and{" "}
          <code>{`{{approvals.${block.id}.reject_url}}`}</code> in an email or message before this block (anyone with a link
          decides, no sign-in), or use Approve / Reject in the run view.</p>
      )}
      {branchKeys && (
        <fieldset>
          <legend>Branches</legend>
          {branchKeys.map((b) => (
            <div key={b} className="branch-row">
              <span className="chip">{b}</span>
              <AddBlock label={`Add to ${b}`} onAdd={(t) => onAdd(t, b)} />
              {block.type === "parallel" && branchKeys.length > 1 &&
                <button className="ghost small" onClick={() => onBranches(branchKeys.filter((k) => k !== b))}>Remove branch {b}</button>}
            </div>
          ))}
          {block.type === "parallel" && (
            <button className="ghost" onClick={() => onBranches([...branchKeys, nextBranchName(branchKeys)])}>Add a branch</button>
          )}
        </fieldset>
      )}
      <div className="row-actions">
        <AddBlock label="Add after this block" onAdd={(t) => onAdd(t, null)} />
        <button className="danger ghost" onClick={onRemove}>Remove block</button>
      </div>
    </div>
  );
}

function nextBranchName(keys: string[]): string {
  for (let c = 97; c < 123; c++) if (!keys.includes(String.fromCharCode(c))) return String.fromCharCode(c);
  return `branch_${keys.length + 1}`;
}

/** A select of every block type; choosing one adds it. */
export function AddBlock({ label, onAdd }: { label: string; onAdd: (type: string) => void }) {
  return (
    <select aria-label={label} value="" onChange={(e) => { if (e.target.value) onAdd(e.target.value); }}>
      <option value="">{label}…</option>
      {CATALOG.map((k) => <option key={k.type} value={k.type}>{k.icon} {k.label}</option>)}
    </select>
  );
}
