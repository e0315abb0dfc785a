/** Form fields that edit one value inside a block, keeping every other field of the block as it was. */
import { useEffect, useState } from "react";

export type Kind = "text" | "textarea" | "list" | "number" | "value" | "json" | "select" | "bool";
export type FieldSpec = { path: string[]; label: string; kind: Kind; options?: string[]; help?: string; placeholder?: string };

type Obj = Record<string, unknown>;

export function getIn(obj: unknown, path: string[]): unknown {
  return path.reduce<unknown>((o, k) => (o && typeof o === "object" ? (o as Obj)[k] : undefined), obj);
}

/** A copy of `obj` with `path` set to `value`; undefined removes the key (and an emptied `retry`). */
export function setIn<T extends Obj>(obj: T, path: string[], value: unknown): T {
  const [head, ...rest] = path;
  const copy: Obj = { ...obj };
  if (rest.length === 0) {
    if (value === undefined) delete copy[head];
    else copy[head] = value;
    return copy as T;
  }
  const child = copy[head] && typeof copy[head] === "object" ? (copy[head] as Obj) : {};
  const next = setIn(child, rest, value);
  if (Object.keys(next).length === 0 && head === "retry") delete copy[head];
  else copy[head] = next;
  return copy as T;
}

function show(kind: Kind, v: unknown): string {
  if (v === undefined || v === null) return "";
  if (kind === "list") return Array.isArray(v) ? v.join(", ") : String(v);
  if (kind === "json") return JSON.stringify(v, null, 2);
  if (kind === "value") return typeof v === "string" ? v : JSON.stringify(v);
  return String(v);
}

function parse(kind: Kind, text: string): { ok: true; value: unknown } | { ok: false } {
  if (text.trim() === "") return { ok: true, value: undefined };
  switch (kind) {
    case "list": return { ok: true, value: text.split(",").map((s) => s.trim()).filter(Boolean) };
    case "number": return Number.isFinite(Number(text)) ? { ok: true, value: Number(text) } : { ok: false };
    case "value": return { ok: true, value: /^-?\d+(\.\d+)?$/.test(text.trim()) ? Number(text) : text };
    case "json": try { return { ok: true, value: JSON.parse(text) }; } catch { return { ok: false }; }
    default: return { ok: true, value: text };
  }
}

/** One labelled input. `id` must be unique on the page (the block id and the path make it so). */
export function Field({ id, spec, value, onChange }: { id: string; spec: FieldSpec; value: unknown; onChange: (v: unknown) => void }) {
  const [text, setText] = useState(show(spec.kind, value));
  const [bad, setBad] = useState(false);
  useEffect(() => {
    const parsed = parse(spec.kind, text);
    if (!parsed.ok || JSON.stringify(parsed.value) !== JSON.stringify(value ?? undefined)) setText(show(spec.kind, value));
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [value]);
  const change = (t: string) => {
    setText(t);
    const parsed = parse(spec.kind, t);
    setBad(!parsed.ok);
    if (parsed.ok) onChange(parsed.value);
  };
  let input;
  if (spec.kind === "bool") {
    return (
      <label className="check field"><input id={id} type="checkbox" checked={value !== false && value !== undefined ? Boolean(value) : false}
        onChange={(e) => onChange(e.target.checked)} /> {spec.label}</label>
    );
  } else if (spec.kind === "select") {
    input = (
      <select id={id} value={String(value ?? "")} onChange={(e) => onChange(e.target.value || undefined)}>
        <option value="">—</option>
        {spec.options?.map((o) => <option key={o} value={o}>{o.replace(/_/g, " ")}</option>)}
      </select>
    );
  } else if (spec.kind === "textarea" || spec.kind === "json") {
    input = <textarea id={id} rows={spec.kind === "json" ? 4 : 3} value={text} placeholder={spec.placeholder} onChange={(e) => change(e.target.value)} className={spec.kind === "json" ? "mono" : ""} />;
  } else {
    input = <input id={id} value={text} placeholder={spec.placeholder} onChange={(e) => change(e.target.value)} inputMode={spec.kind === "number" ? "decimal" : undefined} />;
  }
  return (
    <div className="field">
      <label htmlFor={id}>{spec.label}</label>
      {input}
      {bad && <span className="field-error">{spec.kind === "json" ? "Not valid JSON yet" : "Not a number"}</span>}
      {spec.help && <span className="help">{spec.help}</span>}
    </div>
  );
}
