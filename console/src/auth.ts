/**
 * The key or session token the console calls the API with. It lives in sessionStorage (gone when
 * the tab closes) and never in a URL that reaches a server: an embedding page passes it in the URL
 * fragment (`/console/#token=rst_…`, which browsers never send) or by postMessage.
 */
const KEY = "relay.token";
type Listener = () => void;
const listeners = new Set<Listener>();

export function getToken(): string | null {
  return sessionStorage.getItem(KEY);
}

export function setToken(token: string | null): void {
  if (token) sessionStorage.setItem(KEY, token);
  else sessionStorage.removeItem(KEY);
  listeners.forEach((l) => l());
}

export function onTokenChange(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export const embedded = (): boolean => window.parent !== window;

/** Takes a token from the fragment (then removes it from the address bar) and listens for postMessage. */
export function installTokenSources(): void {
  const params = new URLSearchParams(window.location.hash.replace(/^#/, ""));
  const fromFragment = params.get("token");
  if (fromFragment) {
    setToken(fromFragment.trim());
    history.replaceState(history.state, "", window.location.pathname + window.location.search);
  }
  window.addEventListener("message", (event: MessageEvent) => {
    if (event.source !== window.parent || window.parent === window) return;
    const data = event.data as { type?: string; token?: string } | null;
    if (data?.type === "relay:token" && typeof data.token === "string") setToken(data.token.trim());
  });
  if (embedded()) window.parent.postMessage({ type: "relay:ready" }, "*");
}
