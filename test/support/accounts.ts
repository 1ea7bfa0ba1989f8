// People in tests: users made through the service (as the CLI does), sign-in over HTTP, the session
// cookie parsed from Set-Cookie, and a small client that sends the cookie and the CSRF token.
import { randomBytes } from 'node:crypto';
import { expect } from 'vitest';
import type { Answer, TestServer } from './server.js';

export const SESSION_COOKIE = 'chatsby_session';
export const SECURE_SESSION_COOKIE = '__Host-chatsby_session';
const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** A password the policy accepts: long, random, on no list. */
export function strongPassword(): string {
  return `Pw-${randomBytes(12).toString('base64url')}-7q`;
}

export function uniqueEmail(prefix = 'user'): string {
  return `${prefix}-${randomBytes(5).toString('hex')}@example.com`;
}

export interface SetCookie {
  name: string;
  value: string;
  /** Attribute names in lower case; `true` for flags (HttpOnly, Secure). */
  attributes: Record<string, string | true>;
  raw: string;
}

export function parseSetCookie(raw: string): SetCookie {
  const [pair = '', ...attrs] = raw.split(';').map((s) => s.trim());
  const eq = pair.indexOf('=');
  const attributes: Record<string, string | true> = {};
  for (const a of attrs) {
    if (!a) continue;
    const i = a.indexOf('=');
    if (i < 0) attributes[a.toLowerCase()] = true;
    else attributes[a.slice(0, i).toLowerCase()] = a.slice(i + 1);
  }
  return { name: pair.slice(0, eq), value: pair.slice(eq + 1), attributes, raw };
}

/** Every Set-Cookie of an answer, parsed. */
export function setCookies(headers: Headers): SetCookie[] {
  return headers.getSetCookie().map(parseSetCookie);
}

/** The session cookie an answer sets (either name), or null. */
export function sessionCookieOf(headers: Headers): SetCookie | null {
  return setCookies(headers).find((c) => c.name === SESSION_COOKIE || c.name === SECURE_SESSION_COOKIE) ?? null;
}

/** One request with exactly these headers; JSON in and out. */
export async function request(baseUrl: string, method: string, path: string, opts: { body?: unknown; headers?: Record<string, string> } = {}): Promise<Answer> {
  const headers: Record<string, string> = { ...(opts.headers ?? {}) };
  let payload: string | undefined;
  if (opts.body !== undefined) {
    payload = typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
    headers['content-type'] ??= 'application/json';
  }
  const res = await fetch(baseUrl + path, { method, headers, body: payload });
  const text = await res.text();
  let body: unknown = text;
  if (text && /json/.test(res.headers.get('content-type') ?? '')) body = JSON.parse(text);
  return { status: res.status, headers: res.headers, body };
}

/** A client signed in with a cookie; it sends `csrf` as X-CSRF-Token on unsafe methods when given. */
export function sessionClient(baseUrl: string, cookie: string, csrf?: string) {
  const call = (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const h: Record<string, string> = { cookie, ...headers };
    if (csrf !== undefined && UNSAFE.has(method) && h['x-csrf-token'] === undefined) h['x-csrf-token'] = csrf;
    return request(baseUrl, method, path, { body, headers: h });
  };
  return {
    cookie,
    csrf,
    call,
    get: (path: string, headers?: Record<string, string>) => call('GET', path, undefined, headers),
    post: (path: string, body: unknown = {}, headers?: Record<string, string>) => call('POST', path, body, headers),
    patch: (path: string, body: unknown, headers?: Record<string, string>) => call('PATCH', path, body, headers),
    delete: (path: string, headers?: Record<string, string>) => call('DELETE', path, undefined, headers),
  };
}

export type SessionClient = ReturnType<typeof sessionClient>;

export interface SignIn {
  res: Answer;
  cookie: SetCookie | null;
}

/** POST /v1/session as it comes back. */
export async function signIn(baseUrl: string, email: string, password: string, headers: Record<string, string> = {}): Promise<SignIn> {
  const res = await request(baseUrl, 'POST', '/v1/session', { body: { email, password }, headers });
  return { res, cookie: sessionCookieOf(res.headers) };
}

export interface Session extends SessionClient {
  /** The raw session id (the cookie's value). */
  id: string;
  csrf: string;
  view: any;
}

/** Signs in (which must succeed) and answers a client carrying the cookie and the CSRF token. */
export async function signInAs(baseUrl: string, email: string, password: string, headers: Record<string, string> = {}): Promise<Session> {
  const { res, cookie } = await signIn(baseUrl, email, password, headers);
  expect(res.status, `sign-in of ${email}: ${JSON.stringify(res.body)}`).toBe(200);
  expect(cookie, 'a session cookie is set').not.toBeNull();
  const csrf = res.body.csrf_token as string;
  return { ...sessionClient(baseUrl, `${cookie!.name}=${cookie!.value}`, csrf), id: cookie!.value, csrf, view: res.body };
}

export interface TestUser {
  id: string;
  email: string;
  password: string;
  workspaceId: string;
}

/** A user with a role in a workspace, made by the account service (what `users create` calls). */
export async function createUser(t: TestServer, role: 'owner' | 'admin' | 'member' | 'viewer', workspaceId: string, email = uniqueEmail(role)): Promise<TestUser> {
  const password = strongPassword();
  const made = await t.server.services.accounts.createUser(email, password, role, workspaceId);
  return { id: made.user.id, email, password, workspaceId: made.workspace.id };
}

/** A fresh workspace with an owner signed in. */
export async function workspaceWithOwner(t: TestServer, name = 'Team'): Promise<{ workspaceId: string; owner: TestUser; session: Session }> {
  const ws = await t.server.services.workspaces.create(name);
  const owner = await createUser(t, 'owner', ws.id);
  return { workspaceId: ws.id, owner, session: await signInAs(t.url, owner.email, owner.password) };
}
