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

export async function api<T>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
  const headers: Record<string, string> = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET') headers['x-csrf-token'] = csrf;
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: 'same-origin', signal });
  if (res.status === 204) return undefined as T;
  const data = (await res.json().catch(() => ({ status: res.status, title: res.statusText }))) as unknown;
  if (!res.ok) throw new ApiError(data as Problem);
  return data as T;
}

/** Every row of a paginated list (`{data, has_more, next_cursor}`), 200 a page: for the short lists of settings. */
export async function apiAll<T>(path: string): Promise<{ data: T[] }> {
  const data: T[] = [];
  for (let cursor: string | null = null; ;) {
    const page: { data: T[]; next_cursor: string | null } = await api('GET', `${path}?limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    data.push(...page.data);
    if (!page.next_cursor) return { data };
    cursor = page.next_cursor;
  }
}

/** A multipart upload (a file with form fields), with the CSRF token like every unsafe request. */
export async function upload<T>(path: string, form: FormData): Promise<T> {
  const res = await fetch(path, { method: 'POST', headers: { 'x-csrf-token': csrf }, body: form, credentials: 'same-origin' });
  const data = (await res.json().catch(() => ({ status: res.status, title: res.statusText }))) as unknown;
  if (!res.ok) throw new ApiError(data as Problem);
  return data as T;
}

/** The status of a failed call: the API's problem status, 0 when the server could not be reached. */
export const statusOf = (e: unknown): number => (e instanceof ApiError ? e.problem.status : 0);

/** A 4xx answer: asking again will not change it (so it is not retried). */
export const refused = (e: unknown): boolean => statusOf(e) >= 400 && statusOf(e) < 500;

const UNREACHABLE = 'The server could not be reached: check that it is running and your connection.';

/** What a failed call says to a person: the problem's field errors, else its detail, else a fallback. */
export function problemText(e: unknown, fallback = 'Something went wrong. Try again.'): string {
  // fetch rejects with a TypeError when the server is down or the network is gone.
  if (e instanceof TypeError) return UNREACHABLE;
  if (!(e instanceof ApiError)) return fallback;
  if (e.problem.status >= 500 && !e.problem.detail) return `The server had a problem (${e.problem.status}).`;
  const fields = e.problem.errors?.map((x) => (x.field ? `${x.field}: ${x.message}` : x.message)).join('; ');
  return fields || e.message || fallback;
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

export type JobStatus = 'queued' | 'running' | 'completed' | 'failed';

/** An async CSV export (POST /v1/contacts/export, GET /v1/exports/{id}). */
export interface Export {
  id: string;
  status: JobStatus;
  format: string;
  filters: Record<string, unknown>;
  fields: string[];
  row_count: number | null;
  progress: number;
  download_url: string | null;
  expires_at: string | null;
  created_at: string;
  completed_at: string | null;
  error: string | null;
}

/** An async CSV import (POST /v1/imports, GET /v1/imports/{id}). */
export interface Import {
  id: string;
  status: JobStatus;
  dry_run: boolean;
  historical: boolean;
  columns: string[];
  mapping: Record<string, string | null>;
  progress: number;
  rows: number | null;
  created: number;
  updated: number;
  skipped: number;
  failed: number;
  report_url: string | null;
  notes: string[];
  error: string | null;
  created_at: string;
  completed_at: string | null;
}

export const finished = (status: JobStatus | undefined): boolean => status === 'completed' || status === 'failed';

export interface Workspace {
  id: string;
  name: string;
  plan: string;
  consent_required: boolean;
  consent_text: string | null;
  timezone: string;
  usage: { contacts: number; archived_contacts: number };
  limits: { contacts: number | null };
}
