import { useState, type FormEvent } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, page, unwrap } from "../api/client";
import { ErrorNote, Loading, PageHead, Value, when } from "../components/ui";

/** What each connection type asks for (SPEC §3.2): settings shown again, secrets write-only. */
const TYPES: Record<string, { config: string[]; secrets: string[]; help: string }> = {
  smtp: { config: ["host", "port", "from"], secrets: ["username", "password"], help: "Sends the workflow's emails" },
  slack: { config: ["api_url"], secrets: ["webhook_url", "bot_token"], help: "Posts Slack messages" },
  teams: { config: [], secrets: ["webhook_url"], help: "Posts Microsoft Teams messages" },
  discord: { config: [], secrets: ["webhook_url"], help: "Posts Discord messages" },
  http: { config: ["base_url"], secrets: ["bearer_token", "username", "password"], help: "Signs in webhook calls" },
  connector: { config: ["url"], secrets: ["signing_secret"], help: "Creates tasks and updates fields in your product" },
  alert: { config: ["url", "email"], secrets: [], help: "Receives circuit-breaker and failure alerts" },
  secret: { config: [], secrets: ["value"], help: "A value for {{secrets.NAME}} in action inputs" },
};

const LABELS: Record<string, string> = {
  api_url: "API URL", webhook_url: "Webhook URL", bot_token: "Bot token", base_url: "Base URL", bearer_token: "Bearer token",
  signing_secret: "Signing secret", host: "Host", port: "Port", from: "From address", username: "Username",
  password: "Password", url: "URL", email: "Email", value: "Value",
};

export function Connections() {
  const list = useQuery({ queryKey: ["connections"], queryFn: () => page(api.GET("/v1/connections", { params: { query: { limit: 100 } } })) });
  const client = useQueryClient();
  const remove = useMutation({
    mutationFn: (id: string) => unwrap(api.DELETE("/v1/connections/{connection_id}", { params: { path: { connection_id: id } } })),
    onSuccess: () => client.invalidateQueries({ queryKey: ["connections"] }),
  });
  return (
    <section>
      <PageHead title="Connections" />
      <p className="muted">Credentials for the systems your workflows talk to. Secrets are stored encrypted and never shown again.</p>
      <NewConnection />
      <ErrorNote error={list.error || remove.error} />
      {list.isLoading ? <Loading /> : (
        <table className="table">
          <thead><tr><th>Name</th><th>Type</th><th>Settings</th><th>Secrets</th><th>Created</th><th /></tr></thead>
          <tbody>
            {(list.data?.data ?? []).map((c) => (
              <tr key={c.id}>
                <td className="strong">{c.name}{c.default && <span className="badge ok">default</span>}</td>
                <td>{c.type}</td><td>{Object.keys(c.config).length ? <Value value={c.config} /> : <span className="muted">—</span>}</td>
                <td>{c.secrets.length ? c.secrets.map((s) => <span key={s} className="secret">{s}: ••••••</span>) : <span className="muted">none</span>}</td>
                <td>{when(c.created_at)}</td>
                <td><button className="danger ghost" onClick={() => confirm(`Delete the connection ${c.name}?`) && remove.mutate(c.id)}>Delete</button></td>
              </tr>
            ))}
            {list.data && list.data.data.length === 0 && <tr><td colSpan={6} className="empty">No connections yet.</td></tr>}
          </tbody>
        </table>
      )}
    </section>
  );
}

function NewConnection() {
  const [type, setType] = useState("slack");
  const [name, setName] = useState("");
  const [isDefault, setDefault] = useState(false);
  const [values, setValues] = useState<Record<string, string>>({});
  const client = useQueryClient();
  const spec = TYPES[type];
  const create = useMutation({
    mutationFn: () => {
      const pick = (keys: string[]) => Object.fromEntries(keys.filter((k) => values[k]).map((k) => [k, k === "port" ? Number(values[k]) : values[k]]));
      return unwrap(api.POST("/v1/connections", { body: { name, type, default: isDefault, config: pick(spec.config), secrets: pick(spec.secrets) } }));
    },
    onSuccess: () => { setName(""); setValues({}); client.invalidateQueries({ queryKey: ["connections"] }); },
  });
  const submit = (e: FormEvent) => { e.preventDefault(); create.mutate(); };
  return (
    <form className="card inline-form wrap" onSubmit={submit} aria-label="New connection">
      <div className="field"><label htmlFor="conn-type">Type</label>
        <select id="conn-type" value={type} onChange={(e) => { setType(e.target.value); setValues({}); }}>
          {Object.entries(TYPES).map(([t, s]) => <option key={t} value={t}>{t} — {s.help}</option>)}
        </select></div>
      <div className="field"><label htmlFor="conn-name">Name</label>
        <input id="conn-name" value={name} onChange={(e) => setName(e.target.value)} required /></div>
      {[...spec.config, ...spec.secrets].map((k) => (
        <div className="field" key={k}><label htmlFor={`conn-${k}`}>{LABELS[k] ?? k}{spec.secrets.includes(k) ? " (secret)" : ""}</label>
          <input id={`conn-${k}`} type={spec.secrets.includes(k) ? "password" : "text"} autoComplete="off"
                 value={values[k] ?? ""} onChange={(e) => setValues({ ...values, [k]: e.target.value })} /></div>
      ))}
      <label className="check"><input type="checkbox" checked={isDefault} onChange={(e) => setDefault(e.target.checked)} /> Default for its type</label>
      <button type="submit" className="primary" disabled={!name || create.isPending}>Add connection</button>
      <ErrorNote error={create.error} />
    </form>
  );
}
