/** The "Workflow" tab: flow control (saved with the definition, SPEC §2.7), the failure workflow (§3.4) and the
 * circuit breaker (§3.1), which are settings of the workflow (graph/settings.ts). */
import type { ReactNode } from "react";
import {
  PART_DEFAULTS, burstOf, withBurst, withPart, withPriority, type Burst, type FlowControl, type Part, type Settings,
} from "../graph/settings";
import { Field, type FieldSpec } from "./fields";
import { WorkflowField } from "./WorkflowField";

const KEY_HELP = "A template over the trigger, e.g. {{trigger.entity_id}} or {{trigger.data.account}}. Empty: the whole workflow.";
const f = (path: string, label: string, kind: FieldSpec["kind"], extra: Partial<FieldSpec> = {}): FieldSpec => ({ path: [path], label, kind, ...extra });
const FIELDS: Record<Part, FieldSpec[]> = {
  concurrency: [f("limit", "At most this many at once", "number"), f("key", "Per", "text", { placeholder: "{{trigger.entity_id}}", help: KEY_HELP })],
  throttle: [f("limit", "At most this many runs", "number"), f("period", "Per period", "text", { placeholder: "1m", help: "e.g. 30s, 1m, 1h" }),
    f("key", "Per", "text", { placeholder: "{{trigger.data.account}}", help: KEY_HELP })],
  debounce: [f("period", "Quiet period", "text", { placeholder: "30s", help: "Run once no start came for this long" }),
    f("max_wait", "But at most after", "text", { placeholder: "5m", help: "Empty: no limit" }),
    f("key", "Per", "text", { placeholder: "{{trigger.entity_id}}", help: KEY_HELP })],
  batch: [f("max_size", "At most this many in a batch", "number"), f("timeout", "Or after", "text", { placeholder: "60s", help: "Counted from the first start of the batch" }),
    f("key", "Per", "text", { placeholder: "{{trigger.data.account}}", help: KEY_HELP })],
};
const PRIORITIES: [number, string][] = [[1, "1 — first"], [2, "2"], [3, "3 — normal"], [4, "4"], [5, "5 — last"]];

type Props = {
  workflowId: string;
  flow: FlowControl;
  settings: Settings;
  problems?: string[];
  onFlow: (flow: FlowControl) => void;
  onSettings: (settings: Settings) => void;
};

export function WorkflowSettings({ workflowId, flow, settings, problems, onFlow, onSettings }: Props) {
  const part = (name: Part) => (flow[name] ?? null) as Record<string, unknown> | null;
  const field = (name: Part, spec: FieldSpec) => (
    <Field key={spec.path[0]} id={`flow-${name}-${spec.path[0]}`} spec={spec} value={part(name)?.[spec.path[0]]}
           onChange={(v) => onFlow(withPart(flow, name, { ...part(name), [spec.path[0]]: v }))} />
  );
  const fields = (name: Part) => (
    <>
      <div className="grid2">{FIELDS[name].filter((s) => s.path[0] !== "key").map((s) => field(name, s))}</div>
      {FIELDS[name].filter((s) => s.path[0] === "key").map((s) => field(name, s))}
    </>
  );
  const toggle = (name: Part, label: string, help: string) => (
    <Section title={label} help={help} on={part(name) !== null} onToggle={(on) => onFlow(withPart(flow, name, on ? PART_DEFAULTS[name] : null))}
             body={fields(name)} />
  );
  const burst = burstOf(flow);
  return (
    <div className="form" aria-label="Workflow settings">
      <h3>Workflow settings</h3>
      {problems && problems.length > 0 && <ul className="problems" role="alert">{problems.map((p, n) => <li key={n}>{p}</li>)}</ul>}
      <p className="muted small">How runs start (saved with Save draft / Publish as part of the version).</p>
      {toggle("concurrency", "Run one at a time per …", "Further starts wait in line (queued) until a run ends.")}
      {toggle("throttle", "At most N runs per …", "Further starts wait (queued) until the period allows them; none is dropped.")}
      <fieldset>
        <legend>When starts come in bursts</legend>
        <div className="field">
          <label htmlFor="flow-burst">Starts close together</label>
          <select id="flow-burst" value={burst} onChange={(e) => onFlow(withBurst(flow, e.target.value as Burst))}>
            <option value="none">Each starts its own run</option>
            <option value="debounce">Wait for a quiet period, then run once</option>
            <option value="batch">Collect into batches, one run per batch</option>
          </select>
          <span className="help">One or the other: waiting for a quiet period and collecting into batches exclude each other.</span>
        </div>
        {burst === "debounce" && fields("debounce")}
        {burst === "batch" && fields("batch")}
        {burst === "batch" && <p className="muted small">The run gets every start's trigger in <code>{"{{trigger.events}}"}</code>.</p>}
      </fieldset>
      <div className="field">
        <label htmlFor="flow-priority">Priority</label>
        <select id="flow-priority" value={String(flow.priority ?? 3)} onChange={(e) => onFlow(withPriority(flow, Number(e.target.value)))}>
          {PRIORITIES.map(([n, text]) => <option key={n} value={n}>{text}</option>)}
        </select>
        <span className="help">When many runs wait, higher-priority ones go first.</span>
      </div>
      <fieldset>
        <legend>Failures and limits</legend>
        <p className="muted small">Settings of the workflow: saved with Save draft / Publish, they apply at once to every version.</p>
        <WorkflowField id="setting-on-failure" label="When a run fails, start …" exclude={workflowId} none="Nothing"
          help="When a run ends failed or timed out, that workflow starts with the run's id, its error and the failed step in {{trigger.data}}."
          value={settings.on_failure_workflow_id} onChange={(v) => onSettings({ ...settings, on_failure_workflow_id: (v as string | undefined) ?? null })} />
        <Field id="setting-max-triggers" spec={f("max", "Turn off after this many runs a day", "number",
                 { placeholder: "no limit", help: "A circuit breaker: reaching it disables the workflow until it is turned on again. Empty: no limit." })}
               value={settings.max_triggers_per_day ?? undefined}
               onChange={(v) => onSettings({ ...settings, max_triggers_per_day: typeof v === "number" ? v : null })} />
      </fieldset>
    </div>
  );
}

function Section({ title, help, on, onToggle, body }: { title: string; help: string; on: boolean; onToggle: (on: boolean) => void; body: ReactNode }) {
  return (
    <fieldset>
      <legend><label className="check"><input type="checkbox" checked={on} onChange={(e) => onToggle(e.target.checked)} /> {title}</label></legend>
      {on ? body : <p className="muted small">{help}</p>}
    </fieldset>
  );
}
