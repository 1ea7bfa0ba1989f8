// The dashboard talks to the server only through the public /v1 API, with the session cookie and the
// CSRF token from POST/GET /v1/session on every unsafe request.
export interface Problem {
  status: number;
  title: string;
  detail?: string;
  errors?: Array<{ field: string; message: string }>;
}

export class ApiError extends Error {
  constructor(readonly problem: Problem) {
    super(problem.detail ?? problem.title);
  }
  fieldError(field: string): string | null {
    return this.problem.errors?.find((e) => e.field === field)?.message ?? null;
  }
}

let csrf = '';
export function setCsrf(token: string): void {
  csrf = token;
}

export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET') headers['x-csrf-token'] = csrf;
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: 'same-origin' });
  if (res.status === 204) return undefined as T;
  const data = (await res.json().catch(() => ({ status: res.status, title: res.statusText }))) as unknown;
  if (!res.ok) throw new ApiError(data as Problem);
  return data as T;
}

export interface Contact {
  id: string;
  name: string | null;
  email: string | null;
  phone: string | null;
  company: string | null;
  source: string;
  first_seen: string;
  last_seen: string;
  conversation_count: number;
  page_url: string | null;
  ip_country: string | null;
  tags: string[];
  metadata: Record<string, unknown>;
  lifecycle_stage: string;
  archived: boolean;
  created_at: string;
  updated_at: string;
}

export interface Page<T> {
  data: T[];
  has_more: boolean;
  next_cursor: string | null;
}

export interface Session {
  user: { id: string; email: string };
  workspace: { id: string; name: string };
  role: 'viewer' | 'member' | 'admin' | 'owner';
  csrf_token: string;
}
