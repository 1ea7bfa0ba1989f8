// The permission matrix, generated from the served OpenAPI document: every operation that declares
// `x-required-scope` is called by every kind of caller (API.md, Conventions; Accounts and access):
//
//   - no credentials                                       -> 401
//   - API keys: read, write, admin, read+write             -> 403 without the scope, else the success status
//   - signed-in users: viewer, member, admin, owner        -> 403 without the role, else the success status
//     (unsafe methods with the X-CSRF-Token of the session)
//   - a caller of another workspace (admin key and owner)  -> 404 on this workspace's ids, never 403;
//     on paths without an id it sees its own workspace and nothing of this one
//   - a widget key (pk_ of one of this workspace's agents, no conversation token) -> 403 on every
//     operation but the widget's own (API.md, Conventions "Widget keys"): POST /v1/conversations 201; the
//     conversation routes that need the X-Conversation-Token 404 without it
//
// Each operation needs a well-formed request: REQUESTS below holds one per operation. An operation of the
// document without an entry fails, so a new route forces an update of this matrix. Every call that must
// change nothing (401, 403, 404, another workspace's own calls) is checked against a snapshot of this
// workspace taken just before. Deleting calls get a fresh object each.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Answer, startTestServer, type TestServer } from './support/server.js';
import { expectProblem } from './support/problems.js';

type Scope = 'read' | 'write' | 'admin';
type Role = 'viewer' | 'member' | 'admin' | 'owner';

const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);
const PASSWORD = 'Matrix-horse-battery-staple-42';
const RAND = randomBytes(5).toString('hex');

// ---------------------------------------------------------------------------------------------------
// The server, and the operations of its document (read before the tests are defined, so that the
// matrix is generated from what the server actually serves).

const t: TestServer = await startTestServer();
afterAll(() => t.close());

const docAnswer = await fetch(t.url + '/v1/openapi.json');
const doc: any = docAnswer.status === 200 ? await docAnswer.json() : { paths: {} };

interface Operation {
  method: string;
  path: string;
  /** "METHOD /path", the key of REQUESTS. */
  key: string;
  scope: Scope;
  /** The security schemes the document accepts for it. */
  schemes: string[];
  params: string[];
}

const DOC_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];
const operations: Operation[] = [];
/** Operations without x-required-scope: [key, security]. */
const publicOperations: Array<[string, unknown]> = [];
for (const [path, item] of Object.entries<any>(doc.paths ?? {})) {
  for (const m of DOC_METHODS) {
    const op = item?.[m];
    if (!op) continue;
    const key = `${m.toUpperCase()} ${path}`;
    if (op['x-required-scope'] === undefined) {
      publicOperations.push([key, op.security]);
      continue;
    }
    operations.push({
      method: m.toUpperCase(), path, key, scope: op['x-required-scope'],
      schemes: (Array.isArray(op.security) ? op.security : []).flatMap((s: object) => Object.keys(s)),
      params: [...path.matchAll(/\{(\w+)\}/g)].map((x) => x[1]!),
    });
  }
}

// ---------------------------------------------------------------------------------------------------
// Callers.

interface Principal {
  name: string;
  kind: 'none' | 'key' | 'user' | 'widget';
  workspace: 'home' | 'other' | null;
  scopes?: Scope[];
  role?: Role;
  /** What API.md says it may do: write implies read, admin implies both; viewer read, member write, admin and owner admin. */
  grants: Scope[];
}

const ALL: Scope[] = ['read', 'write', 'admin'];
const PRINCIPALS: Principal[] = [
  { name: 'no credentials', kind: 'none', workspace: null, grants: [] },
  { name: 'read key', kind: 'key', workspace: 'home', scopes: ['read'], grants: ['read'] },
  { name: 'write key', kind: 'key', workspace: 'home', scopes: ['write'], grants: ['read', 'write'] },
  { name: 'admin key', kind: 'key', workspace: 'home', scopes: ['admin'], grants: ALL },
  { name: 'read+write key', kind: 'key', workspace: 'home', scopes: ['read', 'write'], grants: ['read', 'write'] },
  { name: 'viewer', kind: 'user', workspace: 'home', role: 'viewer', grants: ['read'] },
  { name: 'member', kind: 'user', workspace: 'home', role: 'member', grants: ['read', 'write'] },
  { name: 'admin', kind: 'user', workspace: 'home', role: 'admin', grants: ALL },
  { name: 'owner', kind: 'user', workspace: 'home', role: 'owner', grants: ALL },
  { name: "another workspace's admin key", kind: 'key', workspace: 'other', scopes: ['read', 'write', 'admin'], grants: ALL },
  { name: "another workspace's owner", kind: 'user', workspace: 'other', role: 'owner', grants: ALL },
  { name: 'widget key', kind: 'widget', workspace: 'home', grants: [] },
];

/** What a widget key may call (API.md, Conventions "Widget keys"): start, and the token-guarded three. */
const WIDGET_START = 'POST /v1/conversations';
const WIDGET_TOKEN_ROUTES = ['GET /v1/conversations/{id}', 'POST /v1/conversations/{id}/messages', 'POST /v1/conversations/{id}/identify'];

interface Auth {
  key?: string;
  cookie?: string;
  /** Sent as X-CSRF-Token on unsafe methods; null sends none. */
  csrf?: string | null;
}

interface Session {
  cookie: string;
  csrf: string;
}

interface UserFixture {
  id: string;
  email: string;
  session: Session;
}

/** A request with exactly these credentials. */
/** A body sent as is, with its own content type (an import's CSV). */
class RawBody {
  constructor(readonly type: string, readonly text: string) {}
}

async function call(method: string, path: string, auth: Auth, body?: unknown): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (auth.key) headers.authorization = `Bearer ${auth.key}`;
  if (auth.cookie) headers.cookie = auth.cookie;
  if (auth.csrf != null && !SAFE.has(method)) headers['x-csrf-token'] = auth.csrf;
  if (body !== undefined) headers['content-type'] = body instanceof RawBody ? body.type : 'application/json';
  const payload = body === undefined ? undefined : body instanceof RawBody ? body.text : JSON.stringify(body);
  const res = await fetch(t.url + path, { method, headers, body: payload });
  if ((res.headers.get('content-type') ?? '').startsWith('text/event-stream')) {
    // A stream stays open: its opening lines are the answer.
    const reader = res.body!.getReader();
    const first = await reader.read();
    await reader.cancel();
    return { status: res.status, headers: res.headers, body: new TextDecoder().decode(first.value) };
  }
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text && /json/.test(res.headers.get('content-type') ?? '') ? JSON.parse(text) : text };
}

async function signIn(email: string, password = PASSWORD): Promise<Session> {
  const res = await fetch(t.url + '/v1/session', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password }) });
  const body: any = await res.json();
  expect(res.status, `sign in as ${email}: ${JSON.stringify(body)}`).toBe(200);
  const cookie = res.headers.getSetCookie().map((c) => c.split(';')[0]!).find((c) => c.startsWith('chatsby_session='));
  expect(cookie, 'the session cookie').toBeDefined();
  expect(typeof body.csrf_token).toBe('string');
  return { cookie: cookie!, csrf: body.csrf_token };
}

async function createUser(email: string, role: Role, workspaceId: string): Promise<string> {
  const { user } = await t.server.services.accounts.createUser(email, PASSWORD, role, workspaceId);
  return user.id;
}

async function newUser(role: Role, workspaceId: string, label: string): Promise<UserFixture> {
  const email = `${label}.${RAND}.${counter()}@example.com`;
  const id = await createUser(email, role, workspaceId);
  return { id, email, session: await signIn(email) };
}

let n = 0;
const counter = () => ++n;

// ---------------------------------------------------------------------------------------------------
// Fixtures: this ("home") workspace with its callers and objects, and another one.

interface Fixtures {
  capture: { agentId: string; conversationId: string; visitorId: string; otherConversationId: string; otherAgentId: string; widgetKey: string };
  /** A custom automation rule of this workspace (PATCH target). */
  ruleId: string;
  exportId: string;
  importId: string;
  home: { id: string; observer: Auth };
  other: { id: string; key: string; contactId: string; keyId: string; ownerId: string };
  contactId: string;
  noteId: string;
  memberId: string;
  keys: Record<string, string>;
  users: Record<string, UserFixture>;
  /** Strings only this workspace's objects hold: ids, emails, names. */
  markers: Set<string>;
}

let fx: Fixtures;
const HOME_NAME = `Home ${RAND}`;
const HOME_TAG = `hometag${RAND}`;

beforeAll(async () => {
  const markers = new Set<string>([HOME_NAME, HOME_TAG]);
  const home = await t.workspace(HOME_NAME);
  markers.add(home.id);
  const observer: Auth = { key: home.key };

  const keys: Record<string, string> = {};
  for (const p of PRINCIPALS) if (p.kind === 'key' && p.workspace === 'home') keys[p.name] = await home.keyFor(p.scopes!);

  const users: Record<string, UserFixture> = {};
  for (const p of PRINCIPALS) {
    if (p.kind !== 'user' || p.workspace !== 'home') continue;
    users[p.name] = await newUser(p.role!, home.id, `home-${p.role!}`);
    markers.add(users[p.name]!.id).add(users[p.name]!.email);
  }
  const target = await newUser('viewer', home.id, 'home-target');
  markers.add(target.id).add(target.email);

  const contact = await call('POST', '/v1/contacts', observer, { name: `Home Person ${RAND}`, email: `person.${RAND}@home.example.com`, company: `Home Co ${RAND}`, tags: [HOME_TAG] });
  expect(contact.status, JSON.stringify(contact.body)).toBe(201);
  markers.add(contact.body.id).add(contact.body.email).add(contact.body.name);
  // More contacts here than in the other workspace, so that a count that mixes them up shows.
  for (let i = 0; i < 4; i++) {
    const more = await call('POST', '/v1/contacts', observer, { name: `Home Extra ${i} ${RAND}`, tags: [HOME_TAG] });
    expect(more.status).toBe(201);
    markers.add(more.body.id);
  }
  const note = await call('POST', `/v1/contacts/${contact.body.id}/notes`, observer, { body: `Home note ${RAND}` });
  expect(note.status, JSON.stringify(note.body)).toBe(201);
  markers.add(note.body.id).add(note.body.body);
  for (const k of (await call('GET', '/v1/keys', observer)).body.data) markers.add(k.id);

  const other = await t.workspace(`Other ${RAND}`);
  const otherAuth: Auth = { key: other.key };
  const otherContact = await call('POST', '/v1/contacts', otherAuth, { name: 'Other Person', tags: ['othertag'] });
  expect(otherContact.status).toBe(201);
  const otherOwner = await newUser('owner', other.id, 'otherowner');
  users["another workspace's owner"] = otherOwner;
  keys["another workspace's admin key"] = other.key;
  const otherKeyId = (await call('GET', '/v1/me', otherAuth)).body.key_id;

  // Capture: the default agent (made on first read), a conversation of a visitor with a message.
  const agents = await call('GET', '/v1/agents', observer);
  expect(agents.status, JSON.stringify(agents.body)).toBe(200);
  const agent = agents.body.data[0];
  markers.add(agent.id).add(agent.widget_key);
  const visitorId = `vis_home_${RAND}`;
  const conversation = await call('POST', '/v1/conversations', observer, { channel: 'widget', visitor_id: visitorId, page_url: `https://home-${RAND}.example.com/pricing` });
  expect(conversation.status, JSON.stringify(conversation.body)).toBe(201);
  markers.add(conversation.body.id).add(visitorId).add(`home-${RAND}.example.com`);
  const message = await call('POST', `/v1/conversations/${conversation.body.id}/messages`, observer, { role: 'user', text: `Home words ${RAND}` });
  expect(message.status, JSON.stringify(message.body)).toBe(201);
  markers.add(message.body.id).add(`Home words ${RAND}`);
  // Identified, so that the conversation belongs to the contact (its context has something to leak).
  const identified = await call('POST', `/v1/conversations/${conversation.body.id}/identify`, observer, { email: contact.body.email });
  expect(identified.status, JSON.stringify(identified.body)).toBe(200);
  expect(identified.body.contact.id).toBe(contact.body.id);
  const otherConversation = await call('POST', '/v1/conversations', otherAuth, { channel: 'api' });
  expect(otherConversation.status).toBe(201);
  const otherAgents = await call('GET', '/v1/agents', otherAuth);
  expect(otherAgents.status).toBe(200);
  // The widget caller: an agent of its own in this workspace, so that rotating the default agent's key
  // (an operation of the matrix) leaves its key working.
  const widgetAgent = await call('POST', '/v1/agents', observer, { name: `Matrix widget ${RAND}` });
  expect(widgetAgent.status, JSON.stringify(widgetAgent.body)).toBe(201);
  markers.add(widgetAgent.body.id).add(widgetAgent.body.widget_key);
  // Automations: the defaults (seeded on first read) and a custom rule.
  const rule = await call('POST', '/v1/automations', observer, { name: `Home rule ${RAND}`, when: { tag: HOME_TAG }, then: { add_tags: [`ruled${RAND}`] } });
  expect(rule.status, JSON.stringify(rule.body)).toBe(201);
  markers.add(rule.body.id);
  for (const r of (await call('GET', '/v1/automations', observer)).body.data) markers.add(r.id);
  // Data in and out: an export and an import of this workspace.
  const exported = await call('POST', '/v1/contacts/export', observer, { filters: { tag: [HOME_TAG] } });
  expect(exported.status, JSON.stringify(exported.body)).toBe(202);
  markers.add(exported.body.id);
  const imported = await call('POST', '/v1/imports', observer, new RawBody('text/csv', `name,email\nImported ${RAND},imported.${RAND}@home.example.com\n`));
  expect(imported.status, JSON.stringify(imported.body)).toBe(202);
  markers.add(imported.body.id).add(`imported.${RAND}@home.example.com`);
  // Done before the matrix takes its snapshots of this workspace.
  for (let i = 0; i < 100 && (await call('GET', `/v1/imports/${imported.body.id}`, observer)).body.status !== 'completed'; i++) await new Promise((r) => setTimeout(r, 50));

  fx = {
    capture: { agentId: agent.id, conversationId: conversation.body.id, visitorId, otherConversationId: otherConversation.body.id, otherAgentId: otherAgents.body.data[0].id, widgetKey: widgetAgent.body.widget_key },
    ruleId: rule.body.id,
    exportId: exported.body.id,
    importId: imported.body.id,
    home: { id: home.id, observer },
    other: { id: other.id, key: other.key, contactId: otherContact.body.id, keyId: otherKeyId, ownerId: otherOwner.id },
    contactId: contact.body.id,
    noteId: note.body.id,
    memberId: target.id,
    keys,
    users,
    markers,
  };
});

function authOf(p: Principal): Auth {
  if (p.kind === 'none') return {};
  if (p.kind === 'key') return { key: fx.keys[p.name]! };
  if (p.kind === 'widget') return { key: fx.capture.widgetKey };
  const s = fx.users[p.name]!.session;
  return { cookie: s.cookie, csrf: s.csrf };
}

/** What this workspace holds, as seen by its own admin key: every call that must change nothing is compared on it. */
async function homeState(): Promise<string> {
  const o = fx.home.observer;
  const [contacts, count, notes, keys, members, workspace, agents, conversations, transcript, automations] = await Promise.all([
    call('GET', '/v1/contacts?limit=200&archived=all&sort=created_at', o),
    call('GET', '/v1/contacts/count?archived=all', o),
    call('GET', `/v1/contacts/${fx.contactId}/notes?limit=200`, o),
    call('GET', '/v1/keys', o),
    call('GET', '/v1/members', o),
    call('GET', '/v1/workspace', o),
    call('GET', '/v1/agents', o),
    call('GET', '/v1/conversations?limit=200', o),
    call('GET', `/v1/conversations/${fx.capture.conversationId}`, o),
    call('GET', '/v1/automations', o),
  ]);
  for (const r of [contacts, count, notes, keys, members, workspace, agents, conversations, transcript, automations]) expect(r.status, JSON.stringify(r.body)).toBe(200);
  expect(contacts.body.has_more).toBe(false);
  expect(conversations.body.has_more).toBe(false);
  return JSON.stringify({
    agents: agents.body.data.map((a: any) => [a.id, a.name, a.widget_key, a.allowed_origins]),
    automations: automations.body.data.map((r: any) => [r.id, r.name, r.enabled, r.when, r.then, r.updated_at]),
    conversations: conversations.body.data.map((c: any) => [c.id, c.contact_id, c.message_count]),
    transcript: transcript.body.messages.map((m: any) => m.id),
    contacts: contacts.body.data.map((c: any) => [c.id, c.updated_at, c.archived]),
    count: count.body.count,
    notes: notes.body.data.map((x: any) => [x.id, x.body]),
    keys: keys.body.data.map((k: any) => [k.id, k.name, k.scopes]).sort(),
    members: members.body.data.map((m: any) => [m.id, m.role]).sort(),
    workspace: workspace.body,
  });
}

function expectNoHomeData(res: Answer): void {
  const text = typeof res.body === 'string' ? res.body : JSON.stringify(res.body);
  expect([...fx.markers].filter((m) => text.includes(m)), 'strings of the other workspace in the answer').toEqual([]);
}

// ---------------------------------------------------------------------------------------------------
// One well-formed request per operation.

interface Target {
  /** Values of the path parameters. */
  params: Record<string, string>;
  /** Credentials to use instead of the caller's usual ones (a fresh session, to sign out). */
  auth?: Auth;
  /** Whether the object still exists (for objects made for this one call). */
  exists?: () => Promise<boolean>;
}

interface RequestSpec {
  /** The scope API.md gives the operation (checked against the document's x-required-scope). */
  scope: Scope;
  /** The success status API.md gives it. */
  ok: number;
  target?: (p: Principal) => Promise<Target>;
  body?: (p: Principal) => unknown;
  /** The allowed call removes its target. */
  removes?: boolean;
  /** For another workspace's caller on a path without id: it saw (or changed) its own workspace. */
  own?: (res: Answer) => Promise<void>;
  /**
   * The path parameter is not an object of the workspace but a caller-chosen key (a visitor id): another
   * workspace's caller gets its own workspace's answer for it (an empty one), checked by `own`.
   */
  keyedByCaller?: boolean;
}

const otherAuth = (): Auth => ({ key: fx.other.key });

function existsBy(status: number, yes: number, no: number, what: string): boolean {
  if (status === yes) return true;
  if (status === no) return false;
  throw new Error(`unexpected ${status} while checking ${what}`);
}

const theContact = async (): Promise<Target> => ({ params: { id: fx.contactId } });
const theMember = async (): Promise<Target> => ({ params: { id: fx.memberId } });

async function freshContact(): Promise<Target> {
  const res = await call('POST', '/v1/contacts', fx.home.observer, { name: `Doomed ${counter()} ${RAND}` });
  expect(res.status).toBe(201);
  const id: string = res.body.id;
  fx.markers.add(id);
  return { params: { id }, exists: async () => existsBy((await call('GET', `/v1/contacts/${id}`, fx.home.observer)).status, 200, 404, id) };
}

async function freshKey(): Promise<Target> {
  const res = await call('POST', '/v1/keys', fx.home.observer, { name: 'doomed', scopes: ['read'] });
  expect(res.status).toBe(201);
  const { id, key } = res.body;
  fx.markers.add(id);
  // Revocation is effective at once: the key itself stops working.
  return { params: { id }, exists: async () => existsBy((await call('GET', '/v1/me', { key })).status, 200, 401, id) };
}

async function freshMember(): Promise<Target> {
  const email = `doomed.${RAND}.${counter()}@example.com`;
  const id = await createUser(email, 'viewer', fx.home.id);
  fx.markers.add(id).add(email);
  return {
    params: { id },
    exists: async () => (await call('GET', '/v1/members', fx.home.observer)).body.data.some((m: any) => m.id === id),
  };
}

/** A session of its own for a signed-in caller, so that signing out ends nothing else. */
async function freshSession(p: Principal): Promise<Target> {
  if (p.kind !== 'user') return { params: {} };
  const s = await signIn(fx.users[p.name]!.email);
  const auth = { cookie: s.cookie, csrf: s.csrf };
  return { params: {}, auth, exists: async () => existsBy((await call('GET', '/v1/session', auth)).status, 200, 401, 'the session') };
}

const slug = (p: Principal) => p.name.replace(/[^a-z0-9]+/gi, '-');

const theAgent = async (): Promise<Target> => ({ params: { id: fx.capture.agentId } });
const theRule = async (): Promise<Target> => ({ params: { id: fx.ruleId } });
const theExport = async (): Promise<Target> => ({ params: { id: fx.exportId } });
const theImport = async (): Promise<Target> => ({ params: { id: fx.importId } });

/** The other workspace's caller lists its own tasks: the same ids as the other workspace's own key sees. */
const ownList = (path: string) => async (res: Answer) => {
  const theirs = await call('GET', path, otherAuth());
  expect(theirs.status).toBe(200);
  expect(res.body.data.map((x: any) => x.id)).toEqual(theirs.body.data.map((x: any) => x.id));
};

async function freshRule(): Promise<Target> {
  const res = await call('POST', '/v1/automations', fx.home.observer, { name: `Doomed rule ${counter()} ${RAND}`, when: { action: 'doomed' }, then: { add_tags: ['doomed'] } });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  const id: string = res.body.id;
  fx.markers.add(id);
  return { params: { id }, exists: async () => (await call('GET', '/v1/automations', fx.home.observer)).body.data.some((r: any) => r.id === id) };
}
const theConversation = async (): Promise<Target> => ({ params: { id: fx.capture.conversationId } });
const theVisitor = async (): Promise<Target> => ({ params: { visitor_id: fx.capture.visitorId } });

/** Merge: the contact folded in is made for the call (the body names it), and is gone after a success. */
let mergeFrom = '';
async function freshMergeSource(): Promise<Target> {
  const res = await call('POST', '/v1/contacts', fx.home.observer, { name: `Merged away ${counter()} ${RAND}`, tags: ['merge-source'] });
  expect(res.status).toBe(201);
  const id: string = res.body.id;
  fx.markers.add(id);
  mergeFrom = id;
  return { params: { id: fx.contactId }, exists: async () => existsBy((await call('GET', `/v1/contacts/${id}`, fx.home.observer)).status, 200, 404, id) };
}

const REQUESTS: Record<string, RequestSpec> = {
  'GET /v1/contacts': {
    scope: 'read', ok: 200,
    own: async (res) => expect(res.body.data.map((c: any) => c.id)).toContain(fx.other.contactId),
  },
  'GET /v1/contacts/count': {
    scope: 'read', ok: 200,
    own: async (res) => {
      const list = await call('GET', '/v1/contacts?limit=200', otherAuth());
      expect(list.body.has_more).toBe(false);
      expect(res.body.count).toBe(list.body.data.length);
    },
  },
  'GET /v1/contacts/{id}': { scope: 'read', ok: 200, target: theContact },
  'POST /v1/contacts': {
    scope: 'write', ok: 201, body: (p) => ({ name: `Made by ${p.name}` }),
    own: async (res) => {
      expect((await call('GET', `/v1/contacts/${res.body.id}`, otherAuth())).status).toBe(200);
      expect((await call('GET', `/v1/contacts/${res.body.id}`, fx.home.observer)).status).toBe(404);
    },
  },
  'PATCH /v1/contacts/{id}': { scope: 'write', ok: 200, target: theContact, body: (p) => ({ company: `Patched by ${p.name}` }) },
  'DELETE /v1/contacts/{id}': { scope: 'write', ok: 204, target: freshContact, removes: true },
  'POST /v1/contacts/batch': {
    scope: 'write', ok: 200, body: (p) => ({ contacts: [{ name: `Batched by ${p.name}` }] }),
    own: async (res) => {
      const id = res.body.results[0].id;
      expect((await call('GET', `/v1/contacts/${id}`, otherAuth())).status).toBe(200);
      expect((await call('GET', `/v1/contacts/${id}`, fx.home.observer)).status).toBe(404);
    },
  },
  'GET /v1/contacts/{id}/notes': { scope: 'read', ok: 200, target: theContact },
  'POST /v1/contacts/{id}/notes': { scope: 'write', ok: 201, target: theContact, body: (p) => ({ body: `Note by ${p.name}` }) },
  'GET /v1/contacts/{id}/timeline': { scope: 'read', ok: 200, target: theContact },
  'GET /v1/tags': {
    scope: 'read', ok: 200,
    own: async (res) => expect(res.body.data.map((x: any) => x.tag)).toContain('othertag'),
  },
  'GET /v1/workspace': { scope: 'read', ok: 200, own: async (res) => expect(res.body.id).toBe(fx.other.id) },
  'PATCH /v1/workspace': {
    scope: 'admin', ok: 200, body: (p) => ({ consent_text: `Set by ${p.name}` }),
    own: async (res) => {
      expect(res.body.id).toBe(fx.other.id);
      expect((await call('GET', '/v1/workspace', otherAuth())).body.consent_text).toBe(res.body.consent_text);
    },
  },
  'GET /v1/stream': { scope: 'read', ok: 200, own: async (res) => expect(res.body).toMatch(/^retry: 2000\nid: \d+\n\n/) },
  'GET /v1/me': { scope: 'read', ok: 200, own: async (res) => expect(res.body.workspace.id).toBe(fx.other.id) },
  'GET /v1/keys': { scope: 'admin', ok: 200, own: async (res) => expect(res.body.data.map((k: any) => k.id)).toContain(fx.other.keyId) },
  'POST /v1/keys': {
    scope: 'admin', ok: 201, body: (p) => ({ name: `Made by ${p.name}`, scopes: ['read'] }),
    own: async (res) => expect((await call('GET', '/v1/me', { key: res.body.key })).body.workspace.id).toBe(fx.other.id),
  },
  'DELETE /v1/keys/{id}': { scope: 'admin', ok: 204, target: freshKey, removes: true },
  'GET /v1/session': { scope: 'read', ok: 200, own: async (res) => expect(res.body.workspace.id).toBe(fx.other.id) },
  'DELETE /v1/session': { scope: 'read', ok: 204, target: freshSession, removes: true },
  'GET /v1/members': { scope: 'read', ok: 200, own: async (res) => expect(res.body.data.map((m: any) => m.id)).toContain(fx.other.ownerId) },
  'POST /v1/members': {
    scope: 'admin', ok: 201,
    body: (p) => ({ email: `added-by-${slug(p)}.${RAND}.${counter()}@example.com`, role: 'viewer', password: PASSWORD }),
    own: async (res) => expect((await call('GET', '/v1/members', otherAuth())).body.data.map((m: any) => m.id)).toContain(res.body.id),
  },
  'PATCH /v1/members/{id}': { scope: 'admin', ok: 200, target: theMember, body: () => ({ role: 'member' }) },
  'GET /v1/agents': { scope: 'read', ok: 200, own: async (res) => expect(res.body.data.map((a: any) => a.id)).toEqual([fx.capture.otherAgentId]) },
  'POST /v1/agents': {
    scope: 'admin', ok: 201, body: (p) => ({ name: `Agent by ${p.name}`, allowed_origins: ['https://agents.example.com'] }),
    own: async (res) => expect((await call('GET', '/v1/agents', otherAuth())).body.data.map((a: any) => a.id)).toContain(res.body.id),
  },
  'PATCH /v1/agents/{id}': { scope: 'admin', ok: 200, target: theAgent, body: (p) => ({ name: `Renamed by ${p.name}` }) },
  'POST /v1/agents/{id}/widget-key': { scope: 'admin', ok: 200, target: theAgent },
  'POST /v1/conversations': {
    // A widget key starts widget conversations only (any other channel is 422).
    scope: 'write', ok: 201, body: (p) => (p.kind === 'widget' ? { visitor_id: `visitor-${counter()}` } : { channel: 'api', visitor_id: `visitor-${counter()}` }),
    own: async (res) => {
      expect((await call('GET', `/v1/conversations/${res.body.id}`, otherAuth())).status).toBe(200);
      expect((await call('GET', `/v1/conversations/${res.body.id}`, fx.home.observer)).status).toBe(404);
    },
  },
  'GET /v1/conversations': {
    scope: 'read', ok: 200,
    own: async (res) => expect(res.body.data.map((c: any) => c.id)).toContain(fx.capture.otherConversationId),
  },
  'GET /v1/conversations/{id}': { scope: 'read', ok: 200, target: theConversation },
  'POST /v1/conversations/{id}/messages': { scope: 'write', ok: 201, target: theConversation, body: (p) => ({ role: 'agent', text: `Said to ${p.name}` }) },
  'POST /v1/conversations/{id}/identify': {
    scope: 'write', ok: 200, target: theConversation, body: (p) => ({ email: `person.${RAND}@home.example.com`, company: `Identified by ${p.name}` }),
  },
  'GET /v1/contacts/{id}/conversations': { scope: 'read', ok: 200, target: theContact },
  'GET /v1/contacts/{id}/context': { scope: 'read', ok: 200, target: theContact },
  'GET /v1/contacts/{id}/data-export': { scope: 'read', ok: 200, target: theContact },
  'GET /v1/visitors/{visitor_id}/context': {
    scope: 'read', ok: 200, target: theVisitor, keyedByCaller: true,
    // Another workspace knows no such visitor: an empty profile, nothing of this one.
    own: async (res) => expect(res.body).toMatchObject({ contact: null, tags: [], conversations: [] }),
  },
  'POST /v1/contacts/{id}/merge': { scope: 'write', ok: 200, target: freshMergeSource, body: () => ({ from: mergeFrom }), removes: true },
  'DELETE /v1/members/{id}': { scope: 'admin', ok: 204, target: freshMember, removes: true },
  'GET /v1/automations': {
    scope: 'read', ok: 200,
    own: async (res) => {
      const theirs = await call('GET', '/v1/automations', otherAuth());
      expect(theirs.status).toBe(200);
      expect(res.body.data.map((r: any) => r.id)).toEqual(theirs.body.data.map((r: any) => r.id));
      expect(res.body.data.length).toBeGreaterThanOrEqual(3);
    },
  },
  'POST /v1/automations': {
    scope: 'admin', ok: 201, body: (p) => ({ name: `Rule by ${p.name}`, when: { action: 'matrix' }, then: { add_tags: ['matrix'] } }),
    own: async (res) => {
      expect((await call('GET', '/v1/automations', otherAuth())).body.data.map((r: any) => r.id)).toContain(res.body.id);
      expect((await call('GET', '/v1/automations', fx.home.observer)).body.data.map((r: any) => r.id)).not.toContain(res.body.id);
    },
  },
  'PATCH /v1/automations/{id}': { scope: 'admin', ok: 200, target: theRule, body: (p) => ({ name: `Rule renamed by ${p.name}` }) },
  'DELETE /v1/automations/{id}': { scope: 'admin', ok: 204, target: freshRule, removes: true },
  'POST /v1/contacts/{id}/restore': { scope: 'write', ok: 200, target: theContact },
  'GET /v1/erasures': { scope: 'admin', ok: 200, own: ownList('/v1/erasures') },
  'POST /v1/contacts/export': {
    scope: 'write', ok: 202, body: () => ({ filters: { has_email: true }, fields: ['id', 'email'] }),
    own: async (res) => {
      expect((await call('GET', `/v1/exports/${res.body.id}`, otherAuth())).status).toBe(200);
      expect((await call('GET', `/v1/exports/${res.body.id}`, fx.home.observer)).status).toBe(404);
    },
  },
  'GET /v1/exports': { scope: 'read', ok: 200, own: ownList('/v1/exports') },
  'GET /v1/exports/{id}': { scope: 'read', ok: 200, target: theExport },
  'POST /v1/imports': {
    // A row the import rejects: the job that runs after the answer changes no contact under the matrix's snapshots.
    scope: 'write', ok: 202, body: (p) => new RawBody('text/csv', `name,email\nImported by ${p.name},not-an-email-${counter()}\n`),
    own: async (res) => {
      expect((await call('GET', `/v1/imports/${res.body.id}`, otherAuth())).status).toBe(200);
      expect((await call('GET', `/v1/imports/${res.body.id}`, fx.home.observer)).status).toBe(404);
    },
  },
  'GET /v1/imports': { scope: 'read', ok: 200, own: ownList('/v1/imports') },
  'GET /v1/imports/{id}': { scope: 'read', ok: 200, target: theImport },
};

// ---------------------------------------------------------------------------------------------------
// Expectations.

type Outcome = 'unauthenticated' | 'forbidden' | 'allowed' | 'not found' | 'own workspace' | 'no token';

function outcome(op: Operation, p: Principal): Outcome {
  if (p.kind === 'none') return 'unauthenticated';
  if (p.kind === 'widget') return op.key === WIDGET_START ? 'allowed' : WIDGET_TOKEN_ROUTES.includes(op.key) ? 'no token' : 'forbidden';
  // The document says which credentials an operation takes (keys, the session cookie or both).
  const accepted = op.schemes.includes(p.kind === 'key' ? 'apiKey' : 'sessionCookie');
  if (!accepted || !p.grants.includes(op.scope)) return 'forbidden';
  if (p.workspace === 'other') return op.params.length && !REQUESTS[op.key]?.keyedByCaller ? 'not found' : 'own workspace';
  return 'allowed';
}

const EXPECTED: Record<Outcome, string> = {
  unauthenticated: '401',
  forbidden: '403',
  allowed: 'success',
  'not found': '404 for this workspace\'s id',
  'own workspace': 'its own workspace only',
  'no token': '404 without the conversation token',
};

function fill(path: string, params: Record<string, string>): string {
  return path.replace(/\{(\w+)\}/g, (_, name: string) => {
    const v = params[name];
    if (v === undefined) throw new Error(`no value for {${name}} in ${path}`);
    return encodeURIComponent(v);
  });
}

function entryFor(op: Operation): RequestSpec {
  const entry = REQUESTS[op.key];
  if (!entry) throw new Error(`${op.key} is in the OpenAPI document but has no request in REQUESTS (permissions.test.ts): add one`);
  return entry;
}

// ---------------------------------------------------------------------------------------------------

describe('the served OpenAPI document', () => {
  it('is served without credentials', () => {
    expect(docAnswer.status).toBe(200);
    expect(operations.length).toBeGreaterThan(0);
  });

  it('marks every operation that takes credentials with x-required-scope read, write or admin', () => {
    for (const op of operations) {
      expect(ALL, op.key).toContain(op.scope);
      expect(op.schemes.length, `${op.key} names its security schemes`).toBeGreaterThan(0);
    }
    for (const [key, security] of publicOperations) {
      expect(Array.isArray(security) && security.length > 0, `${key} declares security but no x-required-scope`).toBe(false);
    }
  });

  it('has no public operation besides those API.md makes public', () => {
    // Sign-in and first run (Accounts and access), and the health probes (Conventions). A route that
    // forgot its scope would show up here, and be missing from the matrix.
    // The links of a finished export and an import's report work without other credentials (API.md,
    // Exports): their unguessable token is the credential.
    const allowed = [
      'POST /v1/session', 'GET /v1/setup', 'POST /v1/setup', 'GET /healthz', 'GET /readyz', 'GET /v1/openapi.json', 'GET /docs',
      'GET /v1/exports/{id}/download', 'GET /v1/imports/{id}/report',
    ];
    expect(publicOperations.map(([key]) => key).filter((k) => !allowed.includes(k))).toEqual([]);
  });

  it('has a request in the matrix for every operation, and no request for an operation it lacks', () => {
    expect(operations.filter((op) => !REQUESTS[op.key]).map((op) => op.key), 'operations without a request in REQUESTS').toEqual([]);
    const documented = new Set(operations.map((op) => op.key));
    expect(Object.keys(REQUESTS).filter((k) => !documented.has(k)), 'requests for operations the document lacks').toEqual([]);
  });

  it('gives each operation the scope API.md gives it', () => {
    const wrong = operations.filter((op) => REQUESTS[op.key] && REQUESTS[op.key]!.scope !== op.scope)
      .map((op) => `${op.key}: document ${op.scope}, API.md ${REQUESTS[op.key]!.scope}`);
    expect(wrong).toEqual([]);
  });
});

describe.each(operations.map((op) => [op.key, op] as const))('%s', (_key, op) => {
  it.each(PRINCIPALS.map((p) => [p.name, EXPECTED[outcome(op, p)], p] as const))('%s: %s', async (_name, _expected, p) => {
    const entry = entryFor(op);
    const expected = outcome(op, p);
    const target = entry.target ? await entry.target(p) : { params: {} };
    const auth = target.auth ?? authOf(p);
    const body = entry.body?.(p);
    const before = expected === 'allowed' ? null : await homeState();

    const res = await call(op.method, fill(op.path, target.params), auth, body);

    switch (expected) {
      case 'unauthenticated':
        expectProblem(res, 401);
        break;
      case 'forbidden':
        expectProblem(res, 403);
        break;
      case 'allowed':
        expect(res.status, JSON.stringify(res.body)).toBe(entry.ok);
        if (p.kind === 'widget') {
          // The widget's own start: a widget conversation with the token for the later calls.
          expect(res.body).toMatchObject({ channel: 'widget', token: expect.any(String) });
          expect(res.body.agent_id).not.toBe(fx.capture.agentId);
        }
        break;
      case 'no token':
      case 'not found': {
        expectProblem(res, 404);
        // Indistinguishable from an id that does not exist.
        const unknown = Object.fromEntries(Object.entries(target.params).map(([k, v]) => [k, `${v.split('_')[0]}_doesnotexist${RAND}`]));
        const missing = await call(op.method, fill(op.path, unknown), auth, body);
        expectProblem(missing, 404);
        expect(res.body.detail).toBe(missing.body.detail);
        expectNoHomeData(res);
        break;
      }
      case 'own workspace':
        expect(res.status, JSON.stringify(res.body)).toBe(entry.ok);
        expectNoHomeData(res);
        await entry.own?.(res);
        break;
    }

    if (before !== null) expect(await homeState(), 'this workspace is unchanged').toBe(before);
    if (target.exists) {
      const removed = entry.removes && (expected === 'allowed' || expected === 'own workspace');
      expect(await target.exists(), removed ? 'the object is gone' : 'the object is still there').toBe(!removed);
    }
  });
});

describe('CSRF: a session without the right X-CSRF-Token on an unsafe method is 403', () => {
  const unsafe = operations.filter((op) => !SAFE.has(op.method));
  const owner = PRINCIPALS.find((p) => p.name === 'owner')!;
  const variants: Array<[string, () => string | null]> = [
    ['no token', () => null],
    ['a wrong token', () => 'not-the-token-' + RAND],
    ["another session's token", () => fx.users.admin!.session.csrf],
  ];

  it('applies to at least one operation', () => {
    expect(unsafe.length).toBeGreaterThan(0);
  });

  describe.each(unsafe.map((op) => [op.key, op] as const))('%s', (_key, op) => {
    it.each(variants)('as the owner with %s', async (_what, token) => {
      const entry = entryFor(op);
      const target = entry.target ? await entry.target(owner) : { params: {} };
      const auth = { ...(target.auth ?? authOf(owner)), csrf: token() };
      const before = await homeState();
      const res = await call(op.method, fill(op.path, target.params), auth, entry.body?.(owner));
      expectProblem(res, 403);
      expect(await homeState(), 'this workspace is unchanged').toBe(before);
      if (target.exists) expect(await target.exists(), 'the object is still there').toBe(true);
    });
  });
});

// ---------------------------------------------------------------------------------------------------
// Owners (API.md, Accounts and access): only an owner adds an owner, changes an owner or makes one,
// removes an owner; the last owner can be neither demoted nor removed (409). Each test has a workspace
// of its own.

describe('owner-only rules', () => {
  async function team() {
    const ws = await t.workspace(`Team ${RAND} ${counter()}`);
    const owner = await newUser('owner', ws.id, 'owner');
    const admin = await newUser('admin', ws.id, 'admin');
    const as = (u: UserFixture): Auth => ({ cookie: u.session.cookie, csrf: u.session.csrf });
    const key: Auth = { key: ws.key };
    const members = async () => Object.fromEntries((await call('GET', '/v1/members', key)).body.data.map((m: any) => [m.id, m.role]));
    return { ws, owner, admin, as, key, members };
  }

  it('only an owner may add an owner', async () => {
    const { owner, admin, as, key, members } = await team();
    const before = await members();
    const email = `new-owner.${RAND}@example.com`;
    expectProblem(await call('POST', '/v1/members', as(admin), { email, role: 'owner', password: PASSWORD }), 403);
    expectProblem(await call('POST', '/v1/members', key, { email, role: 'owner', password: PASSWORD }), 403);
    expect(await members()).toEqual(before);

    // An admin manages members below owner.
    const below = await call('POST', '/v1/members', as(admin), { email: `new-admin.${RAND}@example.com`, role: 'admin', password: PASSWORD });
    expect(below.status, JSON.stringify(below.body)).toBe(201);
    expect(below.body.role).toBe('admin');

    const made = await call('POST', '/v1/members', as(owner), { email, role: 'owner', password: PASSWORD });
    expect(made.status, JSON.stringify(made.body)).toBe(201);
    expect((await members())[made.body.id]).toBe('owner');
  });

  it('only an owner may change an owner, or make one', async () => {
    const { ws, owner, admin, as, key, members } = await team();
    const second = await createUser(`second-owner.${RAND}.${counter()}@example.com`, 'owner', ws.id);
    const plain = await createUser(`plain.${RAND}.${counter()}@example.com`, 'member', ws.id);
    const before = await members();
    for (const who of [as(admin), key]) {
      expectProblem(await call('PATCH', `/v1/members/${second}`, who, { role: 'admin' }), 403);
      expectProblem(await call('PATCH', `/v1/members/${second}`, who, { role: 'viewer' }), 403);
      expectProblem(await call('PATCH', `/v1/members/${plain}`, who, { role: 'owner' }), 403);
    }
    expect(await members()).toEqual(before);

    // Below owner, an admin may.
    const promoted = await call('PATCH', `/v1/members/${plain}`, as(admin), { role: 'admin' });
    expect(promoted.status, JSON.stringify(promoted.body)).toBe(200);
    expect((await members())[plain]).toBe('admin');

    const made = await call('PATCH', `/v1/members/${plain}`, as(owner), { role: 'owner' });
    expect(made.status, JSON.stringify(made.body)).toBe(200);
    expect((await members())[plain]).toBe('owner');
    const changed = await call('PATCH', `/v1/members/${second}`, as(owner), { role: 'member' });
    expect(changed.status, JSON.stringify(changed.body)).toBe(200);
    expect((await members())[second]).toBe('member');
  });

  it('only an owner may remove an owner', async () => {
    const { ws, owner, admin, as, key, members } = await team();
    const second = await createUser(`leaving-owner.${RAND}.${counter()}@example.com`, 'owner', ws.id);
    expectProblem(await call('DELETE', `/v1/members/${second}`, as(admin), undefined), 403);
    expectProblem(await call('DELETE', `/v1/members/${second}`, key, undefined), 403);
    expect((await members())[second]).toBe('owner');
    expect((await call('DELETE', `/v1/members/${second}`, as(owner), undefined)).status).toBe(204);
    expect((await members())[second]).toBeUndefined();
  });

  it('the last owner can be neither demoted nor removed (409)', async () => {
    const { ws, owner, as, members } = await team();
    for (const role of ['admin', 'member', 'viewer']) {
      expectProblem(await call('PATCH', `/v1/members/${owner.id}`, as(owner), { role }), 409);
    }
    expectProblem(await call('DELETE', `/v1/members/${owner.id}`, as(owner), undefined), 409);
    expect((await members())[owner.id]).toBe('owner');
    // Still an owner, still signed in.
    expect((await call('GET', '/v1/keys', as(owner))).status).toBe(200);

    // With a second owner, one may step down; then the other is the last one.
    const second = await newUser('owner', ws.id, 'second');
    const stepDown = await call('PATCH', `/v1/members/${owner.id}`, as(owner), { role: 'admin' });
    expect(stepDown.status, JSON.stringify(stepDown.body)).toBe(200);
    expectProblem(await call('PATCH', `/v1/members/${second.id}`, as(second), { role: 'admin' }), 409);
    expectProblem(await call('DELETE', `/v1/members/${second.id}`, as(second), undefined), 409);
    expect((await members())[second.id]).toBe('owner');

    // And removing the other of two owners leaves one that cannot leave.
    const third = await createUser(`third-owner.${RAND}.${counter()}@example.com`, 'owner', ws.id);
    expect((await call('DELETE', `/v1/members/${third}`, as(second), undefined)).status).toBe(204);
    expectProblem(await call('DELETE', `/v1/members/${second.id}`, as(second), undefined), 409);
    expect((await members())[second.id]).toBe('owner');
  });

  it("a change of role applies to the member's open session at once", async () => {
    const { owner, admin, as, members } = await team();
    expect((await call('PATCH', '/v1/workspace', as(admin), { consent_text: 'by the admin' })).status).toBe(200);
    expect((await call('PATCH', `/v1/members/${admin.id}`, as(owner), { role: 'viewer' })).status).toBe(200);
    expect((await members())[admin.id]).toBe('viewer');
    expectProblem(await call('PATCH', '/v1/workspace', as(admin), { consent_text: 'by a viewer' }), 403);
    expect((await call('GET', '/v1/workspace', as(admin))).body.consent_text).toBe('by the admin');
  });
});
