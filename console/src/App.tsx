import { useEffect, useState } from "react";
import { NavLink, Navigate, Route, Routes } from "react-router-dom";
import { useQueryClient } from "@tanstack/react-query";
import { embedded, getToken, onTokenChange, setToken } from "./auth";
import { SignIn } from "./views/SignIn";
import { Workflows } from "./views/Workflows";
import { Editor } from "./views/Editor";
import { Runs } from "./views/Runs";
import { Run } from "./views/Run";
import { Connections } from "./views/Connections";
import { Alerts } from "./views/Alerts";
import { Keys } from "./views/Keys";
import { Audit } from "./views/Audit";

/** The signed-in token; on a change, the cache of the previous one is dropped before anything renders with the new one. */
function useToken(): string | null {
  const queries = useQueryClient();
  const [token, set] = useState(getToken());
  useEffect(() => {
    const update = () => {
      queries.clear();
      set(getToken());
    };
    const stop = onTokenChange(update);
    if (getToken() !== token) update(); // a token that arrived (postMessage) before this subscribed
    return stop;
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [queries]);
  return token;
}

/** The pages; `admin` ones need an admin key, which a session token (rst_…) never has (SPEC §3.3). */
const NAV = [
  ["/workflows", "Workflows", false],
  ["/runs", "Runs", false],
  ["/connections", "Connections", true],
  ["/alerts", "Alerts", false],
  ["/keys", "API keys", true],
  ["/audit", "Audit log", true],
] as const;

export function App() {
  const token = useToken();
  if (!token) return <SignIn />;
  return (
    <div className={embedded() ? "shell embedded" : "shell"}>
      <header className="topbar">
        <span className="brand"><span className="logo">R</span> Relay</span>
        <nav aria-label="Main">
          {NAV.filter(([, , admin]) => !admin || !token.startsWith("rst_")).map(([to, label]) => (
            <NavLink key={to} to={to} className={({ isActive }) => (isActive ? "active" : "")}>{label}</NavLink>
          ))}
        </nav>
        <button className="ghost" onClick={() => setToken(null)}>Sign out</button>
      </header>
      <main className="content">
        <Routes>
          <Route path="/" element={<Navigate to="/workflows" replace />} />
          <Route path="/workflows" element={<Workflows />} />
          <Route path="/workflows/:id" element={<Editor />} />
          <Route path="/runs" element={<Runs />} />
          <Route path="/instances" element={<Navigate to="/runs" replace />} />
          <Route path="/instances/:id" element={<Run />} />
          <Route path="/connections" element={<Connections />} />
          <Route path="/alerts" element={<Alerts />} />
          <Route path="/keys" element={<Keys />} />
          <Route path="/audit" element={<Audit />} />
          <Route path="*" element={<p className="empty">This page does not exist. <NavLink to="/workflows">Go to the workflows</NavLink></p>} />
        </Routes>
      </main>
    </div>
  );
}
