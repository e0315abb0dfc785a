import { useState, type FormEvent } from "react";
import { api, ApiError, message } from "../api/client";
import { setToken, getToken } from "../auth";

/** Sign in with an API key (rly_…) or a session token (rst_…); a 403 still proves the key is valid. */
export function SignIn() {
  const [key, setKey] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    const previous = getToken();
    try {
      const { response } = await api.GET("/v1/workflows", {
        params: { query: { limit: 1 } }, headers: { Authorization: `Bearer ${key.trim()}` },
      });
      if (response.status === 401) throw new ApiError(401, { code: "invalid_key", message: "This key or token is not valid (or has expired)." });
      setToken(key.trim());
    } catch (err) {
      setToken(previous);
      setError(message(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <div className="signin">
      <form onSubmit={submit} className="card">
        <div className="brand big"><span className="logo">R</span> Relay</div>
        <p className="muted">Build, test and watch your automations.</p>
        <label htmlFor="key">API key or session token</label>
        <input id="key" type="password" autoComplete="off" value={key} onChange={(e) => setKey(e.target.value)}
               placeholder="rly_… or rst_…" required />
        {error && <div className="error" role="alert">{error}</div>}
        <button type="submit" className="primary" disabled={busy || !key.trim()}>{busy ? "Signing in…" : "Sign in"}</button>
        <p className="muted small">The key stays in this browser tab only and is forgotten when the tab closes.</p>
        <p className="muted small">No key yet? <code>relay dev</code> prints one when it first starts (kept in <code>.relay/dev-key</code>);
          more are made on the API keys page or with <code>relay keys create</code>.</p>
      </form>
    </div>
  );
}
