// The REST API of the agent that served this page. Credentials live in sessionStorage (never
// in a URL); a platform admin's chosen organization goes in a header the server checks.

const KEY = "streamhouse.credentials";
const ORG = "streamhouse.organization";

export class ApiError extends Error {
  constructor(
    public status: number,
    public code: string,
    message: string,
  ) {
    super(message);
  }
}

export const session = {
  credentials: (): string | null => sessionStorage.getItem(KEY),
  organization: (): string | null => sessionStorage.getItem(ORG),
  signIn(credentials: string) {
    sessionStorage.setItem(KEY, credentials);
  },
  chooseOrganization(id: string | null) {
    if (id) sessionStorage.setItem(ORG, id);
    else sessionStorage.removeItem(ORG);
  },
  signOut() {
    sessionStorage.removeItem(KEY);
    sessionStorage.removeItem(ORG);
  },
};

export function headers(extra: Record<string, string> = {}): Record<string, string> {
  const h: Record<string, string> = { ...extra };
  const c = session.credentials();
  if (c) h.authorization = `Bearer ${c}`;
  const o = session.organization();
  if (o) h["x-streamhouse-organization"] = o;
  return h;
}

async function failure(res: Response): Promise<ApiError> {
  let code = "http_error";
  let message = `${res.status} ${res.statusText}`;
  try {
    const body = await res.json();
    // The REST API answers {error, message}; the schema registry {error_code, message}.
    if (body && typeof body.message === "string") message = body.message;
    if (body && (body.error || body.error_code)) code = String(body.error ?? body.error_code);
  } catch {
    /* not JSON: keep the status line */
  }
  return new ApiError(res.status, code, message);
}

export interface RequestOptions {
  method?: string;
  body?: unknown;
  headers?: Record<string, string>;
  signal?: AbortSignal;
  contentType?: string;
}

export async function request<T>(path: string, opts: RequestOptions = {}): Promise<T> {
  const init: RequestInit = {
    method: opts.method ?? (opts.body === undefined ? "GET" : "POST"),
    headers: headers({
      ...(opts.body !== undefined ? { "content-type": opts.contentType ?? "application/json" } : {}),
      ...opts.headers,
    }),
    signal: opts.signal,
  };
  if (opts.body !== undefined) init.body = JSON.stringify(opts.body);
  const res = await fetch(path, init);
  if (!res.ok) throw await failure(res);
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  return (text ? JSON.parse(text) : undefined) as T;
}

export const api = {
  get: <T>(path: string, signal?: AbortSignal) => request<T>(path, { signal }),
  post: <T>(path: string, body?: unknown, extra?: Record<string, string>) =>
    request<T>(path, { method: "POST", body: body ?? {}, headers: extra }),
  put: <T>(path: string, body: unknown) => request<T>(path, { method: "PUT", body }),
  patch: <T>(path: string, body: unknown) => request<T>(path, { method: "PATCH", body }),
  del: <T = void>(path: string) => request<T>(path, { method: "DELETE" }),
};

export const enc = encodeURIComponent;
