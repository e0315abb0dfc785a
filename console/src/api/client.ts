/** The one API client: typed from /openapi.json (schema.d.ts is generated at build time). */
import createClient, { type Middleware } from "openapi-fetch";
import type { paths } from "./schema";
import { getToken, setToken } from "../auth";

export type ErrorBody = { code: string; message: string; details?: { path?: string; message?: string }[] | null };

export class ApiError extends Error {
  constructor(public status: number, public body: ErrorBody) {
    super(body.message);
  }
}

const auth: Middleware = {
  onRequest({ request }) {
    const token = getToken();
    if (token) request.headers.set("Authorization", `Bearer ${token}`);
    return request;
  },
  onResponse({ response }) {
    if (response.status === 401 && getToken()) setToken(null);
    return response;
  },
};

export const api = createClient<paths>({ baseUrl: window.location.origin });
api.use(auth);

type Answer<T> = { data?: T; error?: unknown; response: Response };

/** The `data` of a success envelope, or an ApiError carrying the error envelope's body. */
export async function unwrap<T extends { data: unknown }>(call: Promise<Answer<T>>): Promise<T["data"]> {
  const { data, error, response } = await call;
  if (error !== undefined || !data) {
    const body = (error as { error?: ErrorBody } | undefined)?.error;
    throw new ApiError(response.status, body ?? { code: "http_" + response.status, message: response.statusText || "request failed" });
  }
  return data.data;
}

/** The whole envelope (data and meta), for lists. */
export async function page<T>(call: Promise<Answer<T>>): Promise<T> {
  const { data, error, response } = await call;
  if (error !== undefined || !data) {
    const body = (error as { error?: ErrorBody } | undefined)?.error;
    throw new ApiError(response.status, body ?? { code: "http_" + response.status, message: response.statusText || "request failed" });
  }
  return data;
}

export const message = (e: unknown): string => (e instanceof Error ? e.message : String(e));
