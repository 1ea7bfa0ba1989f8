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

/** The API's contact, as the server's presenter defines it (one definition for both sides). */
export type { ContactView as Contact } from '../../src/services/contact-view';

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
