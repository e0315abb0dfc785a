/**
 * The workflow-level settings the editor's "Workflow" tab edits:
 *   - `flow_control` (SPEC §2.7): part of the definition, saved with it as a new version;
 *   - `on_failure_workflow_id` (§3.4) and `max_triggers_per_day` (§3.1): settings of the workflow,
 *     changed in place by PATCH /v1/workflows/{id} (every version, at once).
 */
export type Part = "concurrency" | "throttle" | "debounce" | "batch";
export type FlowControl = Partial<Record<Part, Record<string, unknown> | null>> & { priority?: number | null; [k: string]: unknown };
export type Settings = { on_failure_workflow_id: string | null; max_triggers_per_day: number | null };
export type Burst = "none" | "debounce" | "batch";

/** The node id that problems of the workflow's settings are grouped under (problems.ts). */
export const WORKFLOW_SETTINGS = "$workflow";
export const SETTING_PATHS = ["flow_control", "on_failure_workflow_id", "max_triggers_per_day"];
/** The defaults a part gets when it is switched on in the form (SPEC §2.7's required fields filled). */
export const PART_DEFAULTS: Record<Part, Record<string, unknown>> = {
  concurrency: { limit: 1 },
  throttle: { limit: 10, period: "1m" },
  debounce: { period: "30s" },
  batch: { max_size: 50, timeout: "60s" },
};

const isObj = (v: unknown): v is Record<string, unknown> => !!v && typeof v === "object" && !Array.isArray(v);

/** The flow_control a definition has, as the form shows it: absent and null parts are left out. */
export function flowOf(value: unknown): FlowControl {
  if (!isObj(value)) return {};
  const out: FlowControl = {};
  for (const [k, v] of Object.entries(value)) if (v !== null && v !== undefined) out[k] = v;
  return out;
}

/** The part's fields without the ones set to nothing. */
function clean(part: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(part).filter(([, v]) => v !== undefined && v !== null && v !== ""));
}

/** A copy of `flow` with `part` replaced (null: switched off); empty keys dropped. */
export function withPart(flow: FlowControl, part: Part, value: Record<string, unknown> | null): FlowControl {
  const out: FlowControl = { ...flow };
  if (value === null) delete out[part];
  else out[part] = clean(value);
  return out;
}

/** Debounce and batch exclude each other (SPEC §2.7): the form offers one choice among the two. */
export function burstOf(flow: FlowControl): Burst {
  return flow.debounce ? "debounce" : flow.batch ? "batch" : "none";
}

export function withBurst(flow: FlowControl, burst: Burst): FlowControl {
  let out = withPart(withPart(flow, "debounce", null), "batch", null);
  if (burst !== "none") out = withPart(out, burst, (flow[burst] as Record<string, unknown> | undefined) ?? PART_DEFAULTS[burst]);
  return out;
}

export function withPriority(flow: FlowControl, priority: number | null): FlowControl {
  const out: FlowControl = { ...flow };
  if (priority === null || priority === 3) delete out.priority; // 3 is the default
  else out.priority = priority;
  return out;
}

/** The value to save as the definition's flow_control: null once nothing is set (so a save removes it), else the parts. */
export function flowToSave(flow: FlowControl): FlowControl | null {
  const out = flowOf(flow);
  return Object.keys(out).length ? out : null;
}

/** The two settings as the workflow (GET /v1/workflows/{id}) has them. */
export function settingsOf(workflow: { on_failure_workflow_id?: string | null; max_triggers_per_day?: number | null }): Settings {
  return { on_failure_workflow_id: workflow.on_failure_workflow_id ?? null, max_triggers_per_day: workflow.max_triggers_per_day ?? null };
}

/** The settings that differ from the stored ones: the PATCH body's setting fields. */
export function changedSettings(stored: Settings, edited: Settings): Partial<Settings> {
  const out: Partial<Settings> = {};
  if (edited.on_failure_workflow_id !== stored.on_failure_workflow_id) out.on_failure_workflow_id = edited.on_failure_workflow_id;
  if (edited.max_triggers_per_day !== stored.max_triggers_per_day) out.max_triggers_per_day = edited.max_triggers_per_day;
  return out;
}

const PART_LABELS: Record<string, string> = {
  concurrency: "Run one at a time per …", throttle: "At most N runs per …", debounce: "Wait for a quiet period",
  batch: "Collect into batches", priority: "Priority",
};
const FIELD_LABELS: Record<string, string> = {
  "concurrency.limit": "At most this many at once", "concurrency.key": "Per",
  "throttle.limit": "At most this many runs", "throttle.period": "Per period", "throttle.key": "Per",
  "debounce.period": "Quiet period", "debounce.max_wait": "But at most after", "debounce.key": "Per",
  "batch.max_size": "At most this many in a batch", "batch.timeout": "Or after", "batch.key": "Per",
};

/** The label the settings form gives the field at a problem's path (`flow_control.concurrency.limit`, …). */
export function settingLabel(field: string): string {
  if (field === "on_failure_workflow_id") return "When a run fails, start";
  if (field === "max_triggers_per_day") return "Turn off after this many runs a day";
  const rest = field.replace(/^flow_control\.?/, "");
  if (!rest) return "Flow control";
  const [part, ...tail] = rest.split(".");
  const section = PART_LABELS[part] ?? part;
  if (!tail.length) return section;
  const label = FIELD_LABELS[`${part}.${tail[0]}`];
  return `${section} — ${label ?? tail.join(".")}`;
}
