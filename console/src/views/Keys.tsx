import { useState, type FormEvent } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, page, unwrap } from "../api/client";
import { ErrorNote, Loading, PageHead, when } from "../components/ui";

const SCOPES = ["read:workflows", "write:workflows", "read:instances", "write:instances", "write:events", "admin"];

export function Keys() {
  const list = useQuery({ queryKey: ["keys"], queryFn: () => page(api.GET("/v1/keys", { params: { query: { limit: 100 } } })) });
  const client = useQueryClient();
  const [name, setName] = useState("");
  const [scopes, setScopes] = useState<string[]>(["read:workflows", "read:instances"]);
  const create = useMutation({
    mutationFn: () => unwrap(api.POST("/v1/keys", { body: { name, scopes } })),
    onSuccess: () => { setName(""); client.invalidateQueries({ queryKey: ["keys"] }); },
  });
  const remove = useMutation({
    mutationFn: (id: string) => unwrap(api.DELETE("/v1/keys/{key_id}", { params: { path: { key_id: id } } })),
    onSuccess: () => client.invalidateQueries({ queryKey: ["keys"] }),
  });
  const submit = (e: FormEvent) => { e.preventDefault(); create.mutate(); };
  return (
    <section>
      <PageHead title="API keys" />
      <form className="card inline-form wrap" onSubmit={submit} aria-label="New key">
        <div className="field"><label htmlFor="key-name">Name</label>
          <input id="key-name" value={name} onChange={(e) => setName(e.target.value)} required /></div>
        <fieldset className="scopes"><legend>Scopes</legend>
          {SCOPES.map((s) => (
            <label key={s} className="check"><input type="checkbox" checked={scopes.includes(s)}
              onChange={(e) => setScopes(e.target.checked ? [...scopes, s] : scopes.filter((x) => x !== s))} /> {s}</label>
          ))}
        </fieldset>
        <button type="submit" className="primary" disabled={!name || !scopes.length || create.isPending}>Create key</button>
      </form>
      {create.data && (
        <div className="notice" role="status">
          <strong>Copy this key now — it is shown only once:</strong>
          <code className="reveal">{create.data.key}</code>
        </div>
      )}
      <ErrorNote error={list.error || create.error || remove.error} />
      {list.isLoading ? <Loading /> : (
        <table className="table">
          <thead><tr><th>Name</th><th>Key</th><th>Scopes</th><th>Created</th><th /></tr></thead>
          <tbody>
            {(list.data?.data ?? []).map((k) => (
              <tr key={k.id}>
                <td className="strong">{k.name || <span className="muted">unnamed</span>}</td>
                <td className="mono">{k.prefix}…</td>
                <td>{k.scopes.map((s) => <span key={s} className="chip">{s}</span>)}</td>
                <td>{when(k.created_at)}</td>
                <td><button className="danger ghost" onClick={() => confirm(`Revoke the key ${k.name || k.prefix}? It stops working at once.`) && remove.mutate(k.id)}>Revoke</button></td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
