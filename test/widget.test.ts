// Widget keys (API.md, Conventions "Widget keys" and "Conversations and capture"; issue 4 item 9 and its
// widget-key test): a publishable pk_ key starts widget conversations of its own agent and appends to,
// identifies on and reads only the conversation it started (X-Conversation-Token); every other route is
// refused; CORS answers only the allowed origins; identify answers without the profile; a rotated key
// stops at once; rate limited per visitor address.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectInvalid, expectProblem } from './support/problems.js';
import { type Answer, client, type Client, startTestServer, type TestServer } from './support/server.js';

const ALLOWED = 'https://shop.example.com';
const ALSO_ALLOWED = 'https://www.shop.example.com';
const ELSEWHERE = 'https://other-site.example.org';
const EVIL = 'https://evil.example.net';

let t: TestServer;
let api: Client;
let otherApi: Client;
let agent: any;
let pk: string;
let widget: Client;

beforeAll(async () => {
  t = await startTestServer();
  const ws = await t.workspace('Widget home');
  api = client(t.url, ws.key);
  const agents = await api.get('/v1/agents');
  expect(agents.status, JSON.stringify(agents.body)).toBe(200);
  agent = agents.body.data.find((a: any) => a.is_default) ?? agents.body.data[0];
  const patched = await api.patch(`/v1/agents/${agent.id}`, { allowed_origins: [ALLOWED, ALSO_ALLOWED] });
  expect(patched.status, JSON.stringify(patched.body)).toBe(200);
  expect(patched.body.allowed_origins).toEqual([ALLOWED, ALSO_ALLOWED]);
  pk = agent.widget_key;
  expect(pk).toMatch(/^pk_/);
  widget = client(t.url, pk);

  // Another workspace whose agent allows another origin.
  const other = await t.workspace('Widget other');
  otherApi = client(t.url, other.key);
  const otherAgent = (await otherApi.get('/v1/agents')).body.data[0];
  expect((await otherApi.patch(`/v1/agents/${otherAgent.id}`, { allowed_origins: [ELSEWHERE] })).status).toBe(200);
});
afterAll(async () => {
  await t?.close();
});

let n = 0;
const uniq = (p: string) => `${p}-${++n}-${Math.random().toString(36).slice(2, 8)}`;

async function startAsWidget(w: Client = widget, body: Record<string, unknown> = {}): Promise<{ id: string; token: string; body: any }> {
  const res = await w.post('/v1/conversations', { visitor_id: uniq('cookie'), page_url: 'https://shop.example.com/p', ...body });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  expect(typeof res.body.token).toBe('string');
  expect(res.body.token.length).toBeGreaterThanOrEqual(16);
  return { id: res.body.id, token: res.body.token, body: res.body };
}

const tok = (token: string) => ({ 'x-conversation-token': token });

describe('what a widget key may do', () => {
  it('starts a widget conversation of its own agent, with a token; then appends, reads and identifies on it', async () => {
    const started = await startAsWidget();
    expect(started.body).toMatchObject({ channel: 'widget', agent_id: agent.id, contact_id: null });
    expect(started.id).toMatch(/^cnv_/);

    const msg = await widget.post(`/v1/conversations/${started.id}/messages`, { role: 'user', text: 'Hello from the page' }, tok(started.token));
    expect(msg.status, JSON.stringify(msg.body)).toBe(201);
    const read = await widget.get(`/v1/conversations/${started.id}`, tok(started.token));
    expect(read.status, JSON.stringify(read.body)).toBe(200);
    expect(read.body.messages.map((m: any) => m.text)).toEqual(['Hello from the page']);

    const email = `${uniq('visitor')}@example.com`;
    const identified = await widget.post(`/v1/conversations/${started.id}/identify`, { name: 'Vera Visitor', email, phone: '+14155550123', company: 'Vera Co' }, tok(started.token));
    expect(identified.status, JSON.stringify(identified.body)).toBe(200);
    // Never the profile.
    expect(identified.body).toEqual({ identified: true });
    const text = JSON.stringify(identified.body);
    for (const s of [email, 'Vera', 'ctc_', '4155550123']) expect(text).not.toContain(s);

    // The contact exists for an API key, from the widget.
    const found = await api.get(`/v1/contacts?q=${encodeURIComponent(email)}`);
    expect(found.status).toBe(200);
    expect(found.body.data).toHaveLength(1);
    expect(found.body.data[0]).toMatchObject({ email, name: 'Vera Visitor', source: 'widget', conversation_count: 1 });
    const conv = await api.get(`/v1/conversations/${started.id}`);
    expect(conv.body.contact_id).toBe(found.body.data[0].id);

    // The widget reading its conversation again learns nothing of the profile beyond the link.
    const again = await widget.get(`/v1/conversations/${started.id}`, tok(started.token));
    expect(again.status).toBe(200);
    expect(JSON.stringify(again.body)).not.toContain(email);
  });

  it('identify with consent declined answers {identified:false} and creates no contact', async () => {
    const started = await startAsWidget();
    const email = `${uniq('declined')}@example.com`;
    const res = await widget.post(`/v1/conversations/${started.id}/identify`, { email, consent: { given: false } }, tok(started.token));
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toEqual({ identified: false });
    expect((await api.get(`/v1/contacts?q=${encodeURIComponent(email)}`)).body.data).toEqual([]);
  });

  it('identify of a known email answers {identified:true} and no more (no profile of the existing contact)', async () => {
    const email = `${uniq('known')}@example.com`;
    const made = await api.post('/v1/contacts', { email, name: 'Secret Name', company: 'Secret Co', tags: ['vip'] });
    expect(made.status).toBe(201);
    const started = await startAsWidget();
    const res = await widget.post(`/v1/conversations/${started.id}/identify`, { email }, tok(started.token));
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ identified: true });
    expect(JSON.stringify(res.body)).not.toMatch(/Secret|vip|ctc_/);
  });

  it('starts only widget conversations of its own agent (422 otherwise)', async () => {
    expectInvalid(await widget.post('/v1/conversations', { channel: 'api', visitor_id: uniq('v') }), 'channel');
    const other = await api.post('/v1/agents', { name: 'Second agent' });
    expect(other.status).toBe(201);
    expectInvalid(await widget.post('/v1/conversations', { agent_id: other.body.id, visitor_id: uniq('v') }), 'agent_id');
  });
});

describe('what a widget key may not do', () => {
  let contactId = '';
  let visitorId = '';
  let apiConversation: any;
  let mine: { id: string; token: string };
  let sibling: { id: string; token: string };
  let siblingKey: string;

  beforeAll(async () => {
    visitorId = uniq('visitor');
    apiConversation = (await api.post('/v1/conversations', { channel: 'widget', visitor_id: visitorId, page_url: 'https://shop.example.com/a' })).body;
    expect(apiConversation.id).toMatch(/^cnv_/);
    expect(apiConversation.token).toBeUndefined();
    const identified = await api.post(`/v1/conversations/${apiConversation.id}/identify`, { email: `${uniq('someone')}@example.com`, name: 'Some One' });
    expect(identified.status).toBe(200);
    contactId = identified.body.contact.id;
    mine = await startAsWidget();
    // A second agent of the same workspace, with its own key and conversation.
    const second = await api.post('/v1/agents', { name: 'Sibling', allowed_origins: [ALLOWED] });
    expect(second.status).toBe(201);
    siblingKey = second.body.widget_key;
    sibling = await startAsWidget(client(t.url, siblingKey));
  });

  const refused: Array<[string, string, () => string, unknown?]> = [
    ['GET', 'list contacts', () => '/v1/contacts'],
    ['GET', 'count contacts', () => '/v1/contacts/count'],
    ['GET', 'get a contact', () => `/v1/contacts/${contactId}`],
    ['POST', 'create a contact', () => '/v1/contacts', { name: 'Sneaky' }],
    ['PATCH', 'change a contact', () => `/v1/contacts/${contactId}`, { company: 'Sneaky' }],
    ['DELETE', 'delete a contact', () => `/v1/contacts/${contactId}`],
    ['GET', "a contact's context", () => `/v1/contacts/${contactId}/context`],
    ['GET', "a contact's timeline", () => `/v1/contacts/${contactId}/timeline`],
    ['GET', "a contact's notes", () => `/v1/contacts/${contactId}/notes`],
    ['GET', "a contact's conversations", () => `/v1/contacts/${contactId}/conversations`],
    ['GET', "a visitor's context", () => `/v1/visitors/${encodeURIComponent(visitorId)}/context`],
    ['GET', 'list conversations', () => '/v1/conversations'],
    ['GET', 'list conversations of a visitor', () => `/v1/conversations?visitor_id=${encodeURIComponent(visitorId)}`],
    ['GET', 'keys', () => '/v1/keys'],
    ['POST', 'create a key', () => '/v1/keys', { name: 'stolen', scopes: ['admin'] }],
    ['GET', 'workspace', () => '/v1/workspace'],
    ['PATCH', 'change the workspace', () => '/v1/workspace', { consent_text: 'hacked' }],
    ['GET', 'agents', () => '/v1/agents'],
    ['PATCH', 'change its own agent', () => `/v1/agents/${agent.id}`, { allowed_origins: [EVIL] }],
    ['POST', 'rotate its own key', () => `/v1/agents/${agent.id}/widget-key`],
    ['GET', 'automations', () => '/v1/automations'],
    ['GET', 'tags', () => '/v1/tags'],
    ['GET', 'members', () => '/v1/members'],
    ['GET', 'me', () => '/v1/me'],
    ['POST', 'merge', () => `/v1/contacts/${contactId}/merge`, { from: contactId }],
  ];

  it.each(refused)('%s %s: 403', async (method, _what, path, body) => {
    const res = await widget.call(method, path(), body);
    expectProblem(res, 403);
    expect(JSON.stringify(res.body)).not.toContain(contactId);
  });

  it('refused calls changed nothing', async () => {
    const c = await api.get(`/v1/contacts/${contactId}`);
    expect(c.status).toBe(200);
    expect(c.body.company).toBeNull();
    const ag = (await api.get('/v1/agents')).body.data.find((a: any) => a.id === agent.id);
    expect(ag.widget_key).toBe(pk);
    expect(ag.allowed_origins).toEqual([ALLOWED, ALSO_ALLOWED]);
    expect((await api.get('/v1/workspace')).body.consent_text).not.toBe('hacked');
    expect((await api.get('/v1/keys')).body.data.map((k: any) => k.name)).not.toContain('stolen');
  });

  const conversationCalls: Array<[string, (id: string) => string, unknown?]> = [
    ['GET', (id) => `/v1/conversations/${id}`],
    ['POST', (id) => `/v1/conversations/${id}/messages`, { role: 'user', text: 'intruding' }],
    ['POST', (id) => `/v1/conversations/${id}/identify`, { email: 'intruder@example.com' }],
  ];

  async function expectUnreachable(id: string, headers: Record<string, string>, w: Client = widget): Promise<void> {
    for (const [method, path, body] of conversationCalls) {
      const res: Answer = await w.call(method, path(id), body, headers);
      expectProblem(res, 404);
      expect(JSON.stringify(res.body)).not.toMatch(/intruding|Some One|shop\.example\.com\/a/);
    }
  }

  it('its own conversation without a token, or with a wrong one: 404', async () => {
    await expectUnreachable(mine.id, {});
    await expectUnreachable(mine.id, tok('wrong-' + mine.token));
    await expectUnreachable(mine.id, tok(mine.token.slice(0, -1)));
    await expectUnreachable(mine.id, tok(sibling.token));
  });

  it('a conversation started by an API key: 404, with or without a token', async () => {
    await expectUnreachable(apiConversation.id, {});
    await expectUnreachable(apiConversation.id, tok(mine.token));
    await expectUnreachable(apiConversation.id, tok(''));
  });

  it("another agent's conversation: 404 even with that conversation's token", async () => {
    await expectUnreachable(sibling.id, tok(sibling.token));
    await expectUnreachable(sibling.id, {});
    // The sibling key itself reaches it.
    const own = await client(t.url, siblingKey).get(`/v1/conversations/${sibling.id}`, tok(sibling.token));
    expect(own.status).toBe(200);
    // And not this agent's.
    await expectUnreachable(mine.id, tok(mine.token), client(t.url, siblingKey));
  });

  it("another workspace's conversation: 404", async () => {
    const theirs = await otherApi.post('/v1/conversations', { channel: 'widget', visitor_id: 'x' });
    expect(theirs.status).toBe(201);
    await expectUnreachable(theirs.body.id, tok(mine.token));
  });

  it('the refused conversation calls changed nothing', async () => {
    for (const id of [mine.id, apiConversation.id, sibling.id]) {
      const c = await api.get(`/v1/conversations/${id}`);
      expect(c.status).toBe(200);
      expect(c.body.messages.map((m: any) => m.text)).not.toContain('intruding');
    }
    expect((await api.get(`/v1/conversations/${mine.id}`)).body.contact_id).toBeNull();
    expect((await api.get('/v1/contacts?q=intruder%40example.com')).body.data).toEqual([]);
  });

  it('the token works only with the key: an API key reads the conversation regardless, another key with the token is 404', async () => {
    expect((await api.get(`/v1/conversations/${mine.id}`)).status).toBe(200);
    const res = await otherApi.get(`/v1/conversations/${mine.id}`, tok(mine.token));
    expectProblem(res, 404);
  });
});

describe('CORS', () => {
  async function preflight(path: string, origin: string): Promise<Response> {
    return fetch(t.url + path, {
      method: 'OPTIONS',
      headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type, x-conversation-token' },
    });
  }

  const paths = ['/v1/conversations', '/v1/conversations/cnv_x/messages', '/v1/conversations/cnv_x/identify', '/v1/conversations/cnv_x'];

  it.each(paths)('preflight of %s: granted to an allowed origin only', async (path) => {
    for (const origin of [ALLOWED, ALSO_ALLOWED]) {
      const ok = await preflight(path, origin);
      expect(ok.status).toBeLessThan(300);
      expect(ok.headers.get('access-control-allow-origin')).toBe(origin);
      expect((ok.headers.get('access-control-allow-headers') ?? '').toLowerCase()).toContain('x-conversation-token');
    }
    for (const origin of [EVIL, 'null', 'https://shop.example.com.evil.net', 'http://shop.example.com', ALLOWED + ':8443']) {
      const no = await preflight(path, origin);
      expect(no.headers.get('access-control-allow-origin'), origin).toBeNull();
      expect(no.headers.get('access-control-allow-credentials')).toBeNull();
    }
  });

  it('no CORS preflight grant on routes a widget key may not call', async () => {
    for (const path of ['/v1/contacts', '/v1/keys', '/v1/workspace']) {
      const res = await preflight(path, ALLOWED);
      expect(res.headers.get('access-control-allow-origin'), path).toBeNull();
    }
  });

  it('a real request from a disallowed origin gets no grant; from an allowed one it does', async () => {
    const bad = await widget.post('/v1/conversations', { visitor_id: uniq('v') }, { origin: EVIL });
    expect(bad.headers.get('access-control-allow-origin')).toBeNull();
    const good = await widget.post('/v1/conversations', { visitor_id: uniq('v') }, { origin: ALLOWED });
    expect(good.status).toBe(201);
    expect(good.headers.get('access-control-allow-origin')).toBe(ALLOWED);
    expect(good.headers.get('access-control-allow-origin')).not.toBe('*');
    const msg = await widget.post(`/v1/conversations/${good.body.id}/messages`, { role: 'user', text: 'hi' }, { origin: ALSO_ALLOWED, ...tok(good.body.token) });
    expect(msg.status).toBe(201);
    expect(msg.headers.get('access-control-allow-origin')).toBe(ALSO_ALLOWED);
    const read = await widget.get(`/v1/conversations/${good.body.id}`, { origin: EVIL, ...tok(good.body.token) });
    expect(read.headers.get('access-control-allow-origin')).toBeNull();
  });

  it("a real request gets no grant for an origin only another agent allows", async () => {
    // ELSEWHERE is allowed by the other workspace's agent: its preflight may pass, the real call must not.
    const res = await widget.post('/v1/conversations', { visitor_id: uniq('v') }, { origin: ELSEWHERE });
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('an origin removed from the list loses its grant at once', async () => {
    const second = await api.post('/v1/agents', { name: 'Shrinking', allowed_origins: ['https://temp.example.com'] });
    expect(second.status).toBe(201);
    const w = client(t.url, second.body.widget_key);
    expect((await preflight('/v1/conversations', 'https://temp.example.com')).headers.get('access-control-allow-origin')).toBe('https://temp.example.com');
    expect((await w.post('/v1/conversations', { visitor_id: uniq('v') }, { origin: 'https://temp.example.com' })).headers.get('access-control-allow-origin')).toBe('https://temp.example.com');
    expect((await api.patch(`/v1/agents/${second.body.id}`, { allowed_origins: [] })).status).toBe(200);
    expect((await preflight('/v1/conversations', 'https://temp.example.com')).headers.get('access-control-allow-origin')).toBeNull();
    expect((await w.post('/v1/conversations', { visitor_id: uniq('v') }, { origin: 'https://temp.example.com' })).headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('rotation', () => {
  it('a rotated widget key stops working at once (401); the new one works, with the old conversation token', async () => {
    const ws = await t.workspace('Rotating');
    const admin = client(t.url, ws.key);
    const a = (await admin.get('/v1/agents')).body.data[0];
    const old = client(t.url, a.widget_key);
    const started = await startAsWidget(old);
    const rotated = await admin.post(`/v1/agents/${a.id}/widget-key`);
    expect(rotated.status, JSON.stringify(rotated.body)).toBe(200);
    expect(rotated.body.widget_key).toMatch(/^pk_/);
    expect(rotated.body.widget_key).not.toBe(a.widget_key);

    expectProblem(await old.post('/v1/conversations', { visitor_id: uniq('v') }), 401);
    expectProblem(await old.get(`/v1/conversations/${started.id}`, tok(started.token)), 401);
    expectProblem(await old.post(`/v1/conversations/${started.id}/messages`, { role: 'user', text: 'x' }, tok(started.token)), 401);
    expectProblem(await old.post(`/v1/conversations/${started.id}/identify`, { email: 'x@example.com' }, tok(started.token)), 401);

    const fresh = client(t.url, rotated.body.widget_key);
    expect((await fresh.get(`/v1/conversations/${started.id}`, tok(started.token))).status).toBe(200);
    await startAsWidget(fresh);
    expect((await admin.get('/v1/agents')).body.data[0].widget_key).toBe(rotated.body.widget_key);
  });

  it('an unknown pk_ key is 401', async () => {
    expectProblem(await client(t.url, 'pk_' + 'x'.repeat(24)).post('/v1/conversations', {}), 401);
    expectProblem(await client(t.url, 'pk_').get('/v1/contacts'), 401);
  });
});

describe('rate limit per visitor address', () => {
  let limited: TestServer;
  afterAll(async () => {
    await limited?.close();
  });

  it('one address is limited, another address with the same key is not', async () => {
    limited = await startTestServer({ env: { RATE_LIMIT_PER_SECOND: '1', TRUST_PROXY: 'true' } });
    const ws = await limited.workspace('Limited');
    const agents = await client(limited.url, ws.key).get('/v1/agents');
    expect(agents.status).toBe(200);
    const w = client(limited.url, agents.body.data[0].widget_key);
    const from = (ip: string) => ({ 'x-forwarded-for': ip });
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) statuses.push((await w.post('/v1/conversations', { visitor_id: 'same' }, from('203.0.113.7'))).status);
    expect(statuses).toContain(429);
    const limitedAnswer = await w.post('/v1/conversations', { visitor_id: 'same' }, from('203.0.113.7'));
    expectProblem(limitedAnswer, 429);
    expect(limitedAnswer.headers.get('retry-after')).toMatch(/^\d+$/);
    // Another visitor of the same page is not held back.
    const other = await w.post('/v1/conversations', { visitor_id: 'another' }, from('198.51.100.23'));
    expect(other.status, JSON.stringify(other.body)).toBe(201);
  });
});
