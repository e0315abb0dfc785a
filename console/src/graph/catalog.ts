/** Every block type of SPEC §2.4: how it is named, drawn and created. */
import type { Block } from "./types";

export type BlockKind = {
  type: string;
  kind: "Action" | "Block";
  label: string;
  icon: string;
  /** the branches a new block of this type starts with, in order; null: no branches */
  branches: string[] | null;
  make: (id: string) => Block;
};

export const ACTION_TYPES = ["send_email", "webhook", "send_channel_message", "create_task", "update_field"] as const;

const action = (type: string, label: string, icon: string, input: Record<string, unknown>): BlockKind => ({
  type, kind: "Action", label, icon, branches: null,
  make: (id) => ({ $kind: "Action", id, type, input: { ...input } }),
});
const block = (type: string, label: string, icon: string, branches: string[] | null, inputs?: Record<string, unknown>): BlockKind => ({
  type, kind: "Block", label, icon, branches,
  make: (id) => ({
    $kind: "Block", id, type,
    ...(inputs ? { inputs: structuredClone(inputs) } : {}),
    ...(branches ? { branches: Object.fromEntries(branches.map((b) => [b, []])) } : {}),
  }),
});

export const CATALOG: BlockKind[] = [
  action("send_email", "Send email", "✉", { to: [], subject: "", body: "" }),
  action("webhook", "Call a webhook", "⇄", { url: "", method: "POST" }),
  action("send_channel_message", "Post a message", "#", { channel: "slack", recipient: "", message: "" }),
  action("create_task", "Create a task", "☐", { title: "" }),
  action("update_field", "Update a field", "✎", { field: "", value: "" }),
  block("if-else", "If / else", "◇", ["then", "else"], { condition: { operatorName: "equals", left: "", right: "" } }),
  block("delay", "Wait (delay)", "◷", null, { duration: "1h" }),
  block("wait_for_event", "Wait for an event", "‖", ["received", "timeout"], { event: "", timeout: "1d" }),
  block("parallel", "Run in parallel", "⫴", ["a", "b"]),
  block("for_each", "For each item", "↻", ["do"], { items: "", max_concurrency: 1 }),
  block("stop", "Stop", "■", null, { status: "completed", reason: "" }),
  block("call_workflow", "Call a workflow", "↗", null, { workflow_id: "", wait: true }),
  block("approval", "Ask for approval", "✔", ["approved", "rejected", "timeout"], { timeout: "3d", message: "" }),
];

export const kindOf = (type: string): BlockKind | undefined => CATALOG.find((k) => k.type === type);

export function blockLabel(b: Block): string {
  return kindOf(b.type)?.label ?? b.type;
}

const text = (v: unknown): string => (v === undefined || v === null ? "" : typeof v === "string" ? v : JSON.stringify(v));

/** One line that says what a block does, for its node. */
export function summary(b: Block): string {
  const input = (b.input ?? {}) as Record<string, unknown>;
  const inputs = (b.inputs ?? {}) as Record<string, unknown>;
  switch (b.type) {
    case "send_email": return `to ${Array.isArray(input.to) ? input.to.join(", ") : text(input.to)}`;
    case "webhook": return `${text(input.method || "POST")} ${text(input.url)}`;
    case "send_channel_message": return `${text(input.channel)} ${text(input.recipient)}`;
    case "create_task": return text(input.title);
    case "update_field": return `${text(input.field)} = ${text(input.value)}`;
    case "if-else": {
      const c = (inputs.condition ?? {}) as Record<string, unknown>;
      return c.operatorName ? `${text(c.left)} ${String(c.operatorName).replace(/_/g, " ")} ${text(c.right)}` : "a combined condition";
    }
    case "delay": return inputs.until ? `until ${text(inputs.until)}` : `for ${text(inputs.duration)}`;
    case "wait_for_event": return `${inputs.event ? `"${text(inputs.event)}"` : "an event"}, at most ${text(inputs.timeout) || "forever"}`;
    case "for_each": return `over ${text(inputs.items)}`;
    case "stop": return `${text(inputs.status)}${inputs.reason ? `: ${text(inputs.reason)}` : ""}`;
    case "call_workflow": return `${text(inputs.workflow_id)}${inputs.wait === false ? " (no wait)" : ""}`;
    case "approval": return text(inputs.message);
    default: return "";
  }
}

/** A fresh id for a new block of `type`, unique among `taken`. */
export function newId(type: string, taken: Set<string>): string {
  const base = type.replace(/[^A-Za-z0-9_]/g, "_");
  for (let n = 1; ; n++) {
    const id = `${base}_${n}`;
    if (!taken.has(id)) return id;
  }
}
