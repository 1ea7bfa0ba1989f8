// Conversations and capture (API.md, "Conversations and capture"; issue 4 items 1, 9 (agents only) and
// 11): agents with a default one, starting conversations (anonymous, no contact), messages, reading a
// transcript, lists and their filters and cursors, workspace isolation, and conversation.started.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readAllTables } from './support/database.js';
import { expectInvalid, expectProblem } from './support/problems.js';
import { start } from './support/capture.js';
import { type Answer, client, type Client, manualClock, startTestServer, type TestServer } from './support/server.js';

const T0 = Date.parse('2026-03-15T10:30:00.000Z');
const clock = manualClock(T0);
let t: TestServer;

beforeAll(async () => {
  t = await startTestServer({ clock });
});
afterAll(async () => {
  await t?.close();
});

const MIN = 60_000;
const iso = (ms: number) => new Date(ms).toISOString();

async function newWorkspace(): Promise<{ api: Client; id: string }> {
  const ws = await t.workspace();
  return { api: client(t.url, ws.key), id: ws.id };
}

async function say(api: Client, id: string, text: string, role = 'user', at?: string): Promise<any> {
  const res = await api.post(`/v1/conversations/${id}/messages`, { role, text, ...(at ? { at } : {}) });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body;
}

async function contactCount(api: Client): Promise<number> {
  const res = await api.get('/v1/contacts/count?archived=all');
  expect(res.status).toBe(200);
  return res.body.count;
}

/** Every page of a list, following next_cursor. */
async function allPages(api: Client, url: string, limit: number): Promise<any[]> {
  const out: any[] = [];
  let cursor: string | null = null;
  for (let i = 0; i < 100; i++) {
    const sep = url.includes('?') ? '&' : '?';
    const res: Answer = await api.get(`${url}${sep}limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.data.length).toBeLessThanOrEqual(limit);
    out.push(...res.body.data);
    if (!res.body.has_more) {
      expect(res.body.next_cursor ?? null).toBeNull();
      return out;
    }
    expect(typeof res.body.next_cursor).toBe('string');
    cursor = res.body.next_cursor;
  }
  throw new Error('the list never ended');
}

describe('agents', () => {
  it('every workspace has a default agent with a publishable key', async () => {
    const { api } = await newWorkspace();
    const res = await api.get('/v1/agents');
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.data).toHaveLength(1);
    const [agent] = res.body.data;
    expect(agent.id).toMatch(/^agt_/);
    expect(typeof agent.name).toBe('string');
    expect(agent.name.length).toBeGreaterThan(0);
    expect(agent.widget_key).toMatch(/^pk_[A-Za-z0-9_-]{16,}$/);
    expect(agent.allowed_origins).toEqual([]);
    expect(agent.is_default).toBe(true);
    // Asking again does not make another one.
    const again = await api.get('/v1/agents');
    expect(again.body.data.map((a: any) => a.id)).toEqual([agent.id]);
  });

  it('creates an agent with a name and allowed origins, and validates the origins', async () => {
    const { api } = await newWorkspace();
    const made = await api.post('/v1/agents', { name: '  Sales bot ', allowed_origins: ['https://acme.com', 'http://localhost:3000'] });
    expect(made.status, JSON.stringify(made.body)).toBe(201);
    expect(made.body).toMatchObject({ name: 'Sales bot', allowed_origins: ['https://acme.com', 'http://localhost:3000'], is_default: false });
    expect(made.body.id).toMatch(/^agt_/);
    expect(made.body.widget_key).toMatch(/^pk_/);

    const list = (await api.get('/v1/agents')).body.data;
    expect(list).toHaveLength(2);
    expect(list.filter((a: any) => a.is_default)).toHaveLength(1);
    const listed = list.find((a: any) => a.id === made.body.id);
    expect(listed).toMatchObject({ name: 'Sales bot', allowed_origins: ['https://acme.com', 'http://localhost:3000'], widget_key: made.body.widget_key });
    expect(new Set(list.map((a: any) => a.widget_key)).size).toBe(2);

    for (const bad of ['acme.com', 'https://acme.com/pricing', 'ftp://acme.com', 'javascript:alert(1)', 'https://acme.com?x=1', '*']) {
      expectInvalid(await api.post('/v1/agents', { name: 'Bad', allowed_origins: [bad] }), 'allowed_origins');
    }
    expectInvalid(await api.post('/v1/agents', { name: '   ' }), 'name');
    expectProblem(await api.post('/v1/agents', { name: 'X', widget_key: 'pk_mine' }), 422);
    expect((await api.get('/v1/agents')).body.data).toHaveLength(2);
  });

  it('PATCH changes the name and the allowed origins, and validates them', async () => {
    const { api } = await newWorkspace();
    const made = (await api.post('/v1/agents', { name: 'Support' })).body;
    const renamed = await api.patch(`/v1/agents/${made.id}`, { name: 'Support bot' });
    expect(renamed.status, JSON.stringify(renamed.body)).toBe(200);
    expect(renamed.body).toMatchObject({ id: made.id, name: 'Support bot', allowed_origins: [], widget_key: made.widget_key });

    const origins = await api.patch(`/v1/agents/${made.id}`, { allowed_origins: ['https://shop.example.com'] });
    expect(origins.status, JSON.stringify(origins.body)).toBe(200);
    expect(origins.body).toMatchObject({ name: 'Support bot', allowed_origins: ['https://shop.example.com'] });

    expectInvalid(await api.patch(`/v1/agents/${made.id}`, { allowed_origins: ['not an origin'] }), 'allowed_origins');
    expectInvalid(await api.patch(`/v1/agents/${made.id}`, { name: '' }), 'name');
    const stored = (await api.get('/v1/agents')).body.data.find((a: any) => a.id === made.id);
    expect(stored).toMatchObject({ name: 'Support bot', allowed_origins: ['https://shop.example.com'] });

    // The default agent can be renamed too.
    const def = (await api.get('/v1/agents')).body.data.find((a: any) => a.is_default);
    expect((await api.patch(`/v1/agents/${def.id}`, { name: 'Front desk' })).body.name).toBe('Front desk');

    expectProblem(await api.patch('/v1/agents/agt_doesnotexist', { name: 'x' }), 404);
  });

  it('POST /v1/agents/{id}/widget-key rotates to a new pk_ key', async () => {
    const { api } = await newWorkspace();
    const [agent] = (await api.get('/v1/agents')).body.data;
    const rotated = await api.post(`/v1/agents/${agent.id}/widget-key`);
    expect(rotated.status, JSON.stringify(rotated.body)).toBe(200);
    expect(rotated.body.id).toBe(agent.id);
    expect(rotated.body.widget_key).toMatch(/^pk_/);
    expect(rotated.body.widget_key).not.toBe(agent.widget_key);
    expect((await api.get('/v1/agents')).body.data[0].widget_key).toBe(rotated.body.widget_key);
    const again = await api.post(`/v1/agents/${agent.id}/widget-key`);
    expect(again.body.widget_key).not.toBe(rotated.body.widget_key);
    expectProblem(await api.post('/v1/agents/agt_doesnotexist/widget-key'), 404);
  });

  it("another workspace's agent is 404 and unchanged", async () => {
    const a = await newWorkspace();
    const b = await newWorkspace();
    const [agent] = (await a.api.get('/v1/agents')).body.data;
    expectProblem(await b.api.patch(`/v1/agents/${agent.id}`, { name: 'stolen' }), 404);
    expectProblem(await b.api.post(`/v1/agents/${agent.id}/widget-key`), 404);
    expect((await b.api.get('/v1/agents')).body.data.map((x: any) => x.id)).not.toContain(agent.id);
    expect((await a.api.get('/v1/agents')).body.data[0]).toMatchObject({ name: agent.name, widget_key: agent.widget_key });
  });
});

describe('starting a conversation', () => {
  it('defaults to the default agent and the api channel, and creates no contact', async () => {
    const { api } = await newWorkspace();
    clock.set(T0 + 5 * MIN);
    const conv = await start(api);
    const [agent] = (await api.get('/v1/agents')).body.data;
    expect(conv.id).toMatch(/^cnv_[A-Za-z0-9]{10,}/);
    expect(conv).toMatchObject({
      agent_id: agent.id, channel: 'api', contact_id: null, visitor_id: null, page_url: null,
      started_at: iso(T0 + 5 * MIN), message_count: 0, last_message_at: null,
    });
    expect(await contactCount(api)).toBe(0);
    expect((await api.get('/v1/contacts')).body.data).toEqual([]);
  });

  it('takes an agent, a channel (a custom word too), a visitor, a page URL and an ip; still no contact', async () => {
    const { api } = await newWorkspace();
    const agent = (await api.post('/v1/agents', { name: 'Second' })).body;
    const conv = await start(api, { agent_id: agent.id, channel: 'widget', visitor_id: 'cookie-123', page_url: 'https://acme.com/pricing', ip: '203.0.113.9' });
    expect(conv).toMatchObject({ agent_id: agent.id, channel: 'widget', visitor_id: 'cookie-123', page_url: 'https://acme.com/pricing', contact_id: null });
    expect(JSON.stringify(conv)).not.toContain('203.0.113.9');
    for (const channel of ['whatsapp', 'slack', 'api', 'telegram', 'my_bot-2']) {
      expect((await start(api, { channel, visitor_id: 'v-1' })).channel).toBe(channel);
    }
    const read = await api.get(`/v1/conversations/${conv.id}`);
    expect(read.status).toBe(200);
    expect(read.body).toMatchObject({ id: conv.id, channel: 'widget', visitor_id: 'cookie-123', page_url: 'https://acme.com/pricing', messages: [] });
    expect(JSON.stringify(read.body)).not.toContain('203.0.113.9');
    expect(await contactCount(api)).toBe(0);
  });

  it('rejects a bad channel, a bad page_url, an unknown agent and unknown fields with 422', async () => {
    const { api } = await newWorkspace();
    const other = await newWorkspace();
    const [foreignAgent] = (await other.api.get('/v1/agents')).body.data;
    for (const channel of ['Not a word!', 'we b', 'x'.repeat(33), 'été']) {
      expectInvalid(await api.post('/v1/conversations', { channel }), 'channel');
    }
    for (const page_url of ['not a url', 'javascript:alert(1)', 'ftp://acme.com/file', 'https://acme.com/' + 'a'.repeat(2048)]) {
      expectInvalid(await api.post('/v1/conversations', { page_url }), 'page_url');
    }
    expectInvalid(await api.post('/v1/conversations', { agent_id: 'agt_doesnotexist' }), 'agent_id');
    expectInvalid(await api.post('/v1/conversations', { agent_id: foreignAgent.id }), 'agent_id');
    expectProblem(await api.post('/v1/conversations', { contact_id: 'ctc_x' }), 422);
    expect((await api.get('/v1/conversations')).body.data).toEqual([]);
  });
});

describe('messages', () => {
  it('appends user and agent messages; the transcript reads oldest first', async () => {
    const { api } = await newWorkspace();
    clock.set(T0);
    const conv = await start(api, { channel: 'widget', visitor_id: 'v-msg' });
    clock.set(T0 + MIN);
    const m1 = await say(api, conv.id, 'Hello, what does the pro plan cost?');
    expect(m1.id).toMatch(/^msg_/);
    expect(m1).toMatchObject({ role: 'user', text: 'Hello, what does the pro plan cost?', at: iso(T0 + MIN) });
    clock.set(T0 + 2 * MIN);
    const m2 = await say(api, conv.id, 'It is $49 a month.', 'agent');
    expect(m2).toMatchObject({ role: 'agent', at: iso(T0 + 2 * MIN) });
    // An explicit time, with seconds only and an offset: converted.
    const m3 = await say(api, conv.id, 'Thanks!', 'user', '2026-03-15T11:33:00+01:00');
    expect(m3.at).toBe('2026-03-15T10:33:00.000Z');

    const read = await api.get(`/v1/conversations/${conv.id}`);
    expect(read.status).toBe(200);
    expect(read.body.message_count).toBe(3);
    expect(read.body.last_message_at).toBe('2026-03-15T10:33:00.000Z');
    expect(read.body.messages.map((m: any) => [m.id, m.role, m.text, m.at])).toEqual([
      [m1.id, 'user', 'Hello, what does the pro plan cost?', iso(T0 + MIN)],
      [m2.id, 'agent', 'It is $49 a month.', iso(T0 + 2 * MIN)],
      [m3.id, 'user', 'Thanks!', '2026-03-15T10:33:00.000Z'],
    ]);
  });

  it('orders the transcript by each message\'s time, not by when it arrived, and trims the text', async () => {
    const { api } = await newWorkspace();
    const conv = await start(api, { channel: 'widget', visitor_id: 'v-late' });
    const later = await say(api, conv.id, '  Second, sent first \n', 'user', '2026-03-15T12:00:05Z');
    expect(later.text).toBe('Second, sent first');
    const earlier = await say(api, conv.id, 'First, arrived late', 'agent', '2026-03-15T12:00:00+01:00');
    const read = (await api.get(`/v1/conversations/${conv.id}`)).body;
    expect(read.messages.map((m: any) => [m.id, m.text, m.at])).toEqual([
      [earlier.id, 'First, arrived late', '2026-03-15T11:00:00.000Z'],
      [later.id, 'Second, sent first', '2026-03-15T12:00:05.000Z'],
    ]);
    expect(read.last_message_at).toBe('2026-03-15T12:00:05.000Z');
  });

  it('rejects a time that four-digit years cannot write (an offset past 9999 or before 0000) and keeps the conversation readable', async () => {
    const { api } = await newWorkspace();
    const conv = await start(api, { channel: 'widget', visitor_id: 'v-edge' });
    expectInvalid(await api.post(`/v1/conversations/${conv.id}/messages`, { role: 'user', text: 'x', at: '9999-12-31T23:59:59-01:00' }), 'at');
    expectInvalid(await api.post(`/v1/conversations/${conv.id}/messages`, { role: 'user', text: 'x', at: '0000-01-01T00:00:00+01:00' }), 'at');
    expect((await say(api, conv.id, 'edge', 'user', '9999-12-31T23:59:59.999Z')).at).toBe('9999-12-31T23:59:59.999Z');
    expect((await say(api, conv.id, 'edge', 'user', '0000-01-01T00:00:00Z')).at).toBe('0000-01-01T00:00:00.000Z');
    expect((await api.get(`/v1/conversations/${conv.id}`)).status).toBe(200);
    expect((await api.get('/v1/conversations')).status).toBe(200);
  });

  it('rejects a bad role, an empty text, a bad time, over 32 KiB, and an unknown conversation', async () => {
    const { api } = await newWorkspace();
    const conv = await start(api);
    expectProblem(await api.post(`/v1/conversations/${conv.id}/messages`, { role: 'system', text: 'x' }), 422);
    expectInvalid(await api.post(`/v1/conversations/${conv.id}/messages`, { role: 'user', text: '   ' }), 'text');
    expectProblem(await api.post(`/v1/conversations/${conv.id}/messages`, { role: 'user' }), 422);
    expectInvalid(await api.post(`/v1/conversations/${conv.id}/messages`, { role: 'user', text: 'x', at: 'yesterday' }), 'at');
    expectInvalid(await api.post(`/v1/conversations/${conv.id}/messages`, { role: 'user', text: 'x'.repeat(32 * 1024 + 1) }), 'text');
    // 32 KiB exactly is fine, in ASCII and in two-byte characters.
    expect((await api.post(`/v1/conversations/${conv.id}/messages`, { role: 'user', text: 'x'.repeat(32 * 1024) })).status).toBe(201);
    expect((await api.post(`/v1/conversations/${conv.id}/messages`, { role: 'agent', text: 'é'.repeat(16 * 1024) })).status).toBe(201);
    expectInvalid(await api.post(`/v1/conversations/${conv.id}/messages`, { role: 'agent', text: 'é'.repeat(16 * 1024 + 1) }), 'text');
    expectProblem(await api.post('/v1/conversations/cnv_doesnotexist/messages', { role: 'user', text: 'x' }), 404);
    const read = (await api.get(`/v1/conversations/${conv.id}`)).body;
    expect(read.message_count).toBe(2);
    expect(read.messages.map((m: any) => m.text.length)).toEqual([32 * 1024, 16 * 1024]);
    expectProblem(await api.get('/v1/conversations/cnv_doesnotexist'), 404);
  });
});

describe('lists', () => {
  it('lists newest first, by visitor (widget unless a channel is given), anonymous only, and by contact', async () => {
    const { api } = await newWorkspace();
    const made: any[] = [];
    const plan: Array<[string, string]> = [['widget', 'alice'], ['widget', 'bob'], ['whatsapp', 'alice'], ['widget', 'alice'], ['slack', 'carol']];
    for (const [i, [channel, visitor_id]] of plan.entries()) {
      clock.set(T0 + i * MIN);
      made.push(await start(api, { channel, visitor_id }));
    }
    const ids = (list: any[]) => list.map((c) => c.id);
    const all = await api.get('/v1/conversations');
    expect(all.status).toBe(200);
    expect(ids(all.body.data)).toEqual(ids(made).reverse());
    expect(all.body.has_more).toBe(false);

    const alice = await api.get('/v1/conversations?visitor_id=alice');
    expect(ids(alice.body.data)).toEqual([made[3].id, made[0].id]);
    expect(alice.body.data.every((c: any) => c.visitor_id === 'alice' && c.channel === 'widget')).toBe(true);
    expect(ids((await api.get('/v1/conversations?visitor_id=alice&channel=whatsapp')).body.data)).toEqual([made[2].id]);
    expect(ids((await api.get('/v1/conversations?visitor_id=carol&channel=slack')).body.data)).toEqual([made[4].id]);
    expect((await api.get('/v1/conversations?visitor_id=nobody')).body.data).toEqual([]);

    // Bob identifies: his conversation leaves the anonymous list and shows under his contact.
    clock.set(T0 + 10 * MIN);
    const id = await api.post(`/v1/conversations/${made[1].id}/identify`, { name: 'Bob', email: 'bob@example.com' });
    expect(id.status, JSON.stringify(id.body)).toBe(200);
    const contactId = id.body.contact.id;
    expect(ids((await api.get('/v1/conversations?anonymous=true')).body.data)).toEqual([made[4].id, made[3].id, made[2].id, made[0].id]);
    const anonFalse = await api.get('/v1/conversations?anonymous=false');
    if (anonFalse.status === 200) expect(ids(anonFalse.body.data)).toEqual([made[1].id]);
    const byContact = await api.get(`/v1/conversations?contact_id=${contactId}`);
    expect(ids(byContact.body.data)).toEqual([made[1].id]);
    expect(byContact.body.data[0].contact_id).toBe(contactId);
    const nested = await api.get(`/v1/contacts/${contactId}/conversations`);
    expect(nested.status).toBe(200);
    expect(ids(nested.body.data)).toEqual([made[1].id]);

    // A later conversation of Bob is his at once, and lists first.
    clock.set(T0 + 20 * MIN);
    const later = await start(api, { channel: 'widget', visitor_id: 'bob' });
    expect(later.contact_id).toBe(contactId);
    expect(ids((await api.get(`/v1/contacts/${contactId}/conversations`)).body.data)).toEqual([later.id, made[1].id]);

    expectProblem(await api.get('/v1/contacts/ctc_doesnotexist/conversations'), 404);
    expectProblem(await api.get('/v1/conversations?contact_id=ctc_doesnotexist'), 404);
    expectInvalid(await api.get('/v1/conversations?anonymous=maybe'), 'anonymous');
    expectInvalid(await api.get('/v1/conversations?limit=0'), 'limit');
    expectInvalid(await api.get('/v1/conversations?limit=201'), 'limit');
    expectProblem(await api.get('/v1/conversations?cursor=garbage'), 422);
  });

  it('pages with a cursor: no conversation skipped or repeated, ties on the start time included', async () => {
    const { api, id: wsId } = await newWorkspace();
    const made: string[] = [];
    for (let i = 0; i < 9; i++) {
      // Three at each instant, so that the order within a tie matters.
      clock.set(T0 + Math.floor(i / 3) * MIN);
      made.push((await start(api, { channel: 'widget', visitor_id: 'pager' })).id);
    }
    const one = await allPages(api, '/v1/conversations', 50);
    for (const limit of [1, 2, 4]) {
      const paged = await allPages(api, '/v1/conversations', limit);
      expect(paged.map((c) => c.id)).toEqual(one.map((c) => c.id));
    }
    expect(new Set(one.map((c) => c.id))).toEqual(new Set(made));
    // Newest first.
    const starts = one.map((c) => c.started_at);
    expect([...starts].sort().reverse()).toEqual(starts);
    const byVisitor = await allPages(api, '/v1/conversations?visitor_id=pager', 2);
    expect(byVisitor.map((c) => c.id)).toEqual(one.map((c) => c.id));
    const contact = (await api.post(`/v1/conversations/${made[0]}/identify`, { email: `pager-${wsId}@example.com` })).body.contact;
    const nested = await allPages(api, `/v1/contacts/${contact.id}/conversations`, 2);
    expect(nested.map((c) => c.id)).toEqual(one.map((c) => c.id));
  });

  it("another workspace's conversation is 404 everywhere and in none of its lists", async () => {
    const a = await newWorkspace();
    const b = await newWorkspace();
    const conv = await start(a.api, { channel: 'widget', visitor_id: 'shared-visitor' });
    await say(a.api, conv.id, 'private words');
    const contact = (await a.api.post(`/v1/conversations/${conv.id}/identify`, { email: 'private@example.com' })).body.contact;

    expectProblem(await b.api.get(`/v1/conversations/${conv.id}`), 404);
    expectProblem(await b.api.post(`/v1/conversations/${conv.id}/messages`, { role: 'user', text: 'injected' }), 404);
    expectProblem(await b.api.post(`/v1/conversations/${conv.id}/identify`, { email: 'thief@example.com' }), 404);
    expectProblem(await b.api.get(`/v1/contacts/${contact.id}/conversations`), 404);
    expectProblem(await b.api.get(`/v1/conversations?contact_id=${contact.id}`), 404);
    expect((await b.api.get('/v1/conversations')).body.data).toEqual([]);
    expect((await b.api.get('/v1/conversations?visitor_id=shared-visitor')).body.data).toEqual([]);
    expect(await contactCount(b.api)).toBe(0);
    const own = (await a.api.get(`/v1/conversations/${conv.id}`)).body;
    expect(own.messages.map((m: any) => m.text)).toEqual(['private words']);
    expect(own.contact_id).toBe(contact.id);
  });
});

describe('events', () => {
  it('conversation.started is on the contact timeline once identified, for earlier and later conversations', async () => {
    const { api, id: wsId } = await newWorkspace();
    clock.set(T0);
    const first = await start(api, { channel: 'widget', visitor_id: 'timeline-v' });
    clock.set(T0 + MIN);
    const second = await start(api, { channel: 'widget', visitor_id: 'timeline-v' });
    clock.set(T0 + 2 * MIN);
    const contact = (await api.post(`/v1/conversations/${second.id}/identify`, { email: 'tl@example.com', action: 'lead_capture' })).body.contact;
    clock.set(T0 + 3 * MIN);
    const third = await start(api, { channel: 'widget', visitor_id: 'timeline-v' });

    const tl = await api.get(`/v1/contacts/${contact.id}/timeline?limit=200`);
    expect(tl.status).toBe(200);
    const started = tl.body.data.filter((e: any) => e.type === 'conversation.started');
    expect(started.map((e: any) => e.data?.id).sort()).toEqual([first.id, second.id, third.id].sort());
    const thirdEvent = started.find((e: any) => e.data?.id === third.id);
    expect(thirdEvent.occurred_at).toBe(iso(T0 + 3 * MIN));
    expect(thirdEvent.id).toMatch(/^evt_/);
    // Newest first.
    const times = tl.body.data.map((e: any) => e.occurred_at);
    expect([...times].sort().reverse()).toEqual(times);

    // In the outbox (issue 4, item 11): not timeline-only, one per conversation, and one lead.captured.
    const outbox = (await readAllTables(t)).events!.filter((e: any) => e.workspace_id === wsId && (e.timeline_only === false || Number(e.timeline_only) === 0));
    const startedIds = outbox.filter((e: any) => e.type === 'conversation.started').map((e: any) => JSON.parse(e.data).id).sort();
    expect(startedIds).toEqual([first.id, second.id, third.id].sort());
    expect(outbox.filter((e: any) => e.type === 'conversation.started').every((e: any) => e.contact_id === contact.id)).toBe(true);
    const leads = outbox.filter((e: any) => e.type === 'lead.captured');
    expect(leads).toHaveLength(1);
    expect(leads[0]!.contact_id).toBe(contact.id);
  });
});
