/** Small shared pieces: status badges, times, durations, JSON shown as a readable tree, errors. */
import type { ReactNode } from "react";
import { ApiError, message } from "../api/client";

const TONE: Record<string, string> = {
  completed: "ok", succeeded: "ok", running: "run", queued: "wait", waiting: "wait", pending: "wait",
  failed: "bad", timed_out: "bad", terminated: "bad", cancelled: "muted", skipped: "muted",
};

export function Status({ value }: { value: string | null | undefined }) {
  const v = value ?? "unknown";
  return <span className={`badge ${TONE[v] ?? "muted"}`} data-status={v}>{v.replace(/_/g, " ")}</span>;
}

export function when(iso: string | null | undefined): string {
  if (!iso) return "—";
  const d = new Date(iso);
  return d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "medium" });
}

export function duration(start: string | null | undefined, end: string | null | undefined): string {
  if (!start) return "—";
  const ms = (end ? new Date(end).getTime() : Date.now()) - new Date(start).getTime();
  if (ms < 1000) return `${Math.max(ms, 0)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms < 3_600_000) return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
  return `${(ms / 3_600_000).toFixed(1)} h`;
}

/** A value shown as labelled rows, nested objects indented; no braces or quotes. */
export function Value({ value }: { value: unknown }): ReactNode {
  if (value === null || value === undefined) return <span className="muted">none</span>;
  if (typeof value !== "object") return <span className="scalar">{String(value)}</span>;
  if (Array.isArray(value) && value.length > 0 && value.every((v) => v === null || typeof v !== "object")) {
    return <span className="scalar">{value.map(String).join(", ")}</span>;
  }
  const entries = Array.isArray(value) ? value.map((v, i) => [String(i + 1), v] as const) : Object.entries(value);
  if (entries.length === 0) return <span className="muted">{Array.isArray(value) ? "empty list" : "empty"}</span>;
  return (
    <dl className="tree">
      {entries.map(([k, v]) => (
        <div key={k} className="row">
          <dt>{k}</dt>
          <dd><Value value={v} /></dd>
        </div>
      ))}
    </dl>
  );
}

export function ErrorNote({ error }: { error: unknown }) {
  if (!error) return null;
  const details = error instanceof ApiError ? error.body.details ?? [] : [];
  return (
    <div className="error" role="alert">
      <strong>{message(error)}</strong>
      {details.length > 0 && (
        <ul>{details.map((d, i) => <li key={i}>{d.path ? <code>{d.path}</code> : null} {d.message}</li>)}</ul>
      )}
    </div>
  );
}

export function Loading() {
  return <p className="muted">Loading…</p>;
}

export function PageHead({ title, children }: { title: ReactNode; children?: ReactNode }) {
  return (
    <div className="pagehead">
      <h1>{title}</h1>
      <div className="actions">{children}</div>
    </div>
  );
}

export function Updated({ at }: { at: number }) {
  return <span className="muted small">updated {at ? new Date(at).toLocaleTimeString() : "—"}</span>;
}
