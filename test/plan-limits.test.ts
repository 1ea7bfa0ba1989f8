// Plan limits (issue 6 point 5; API.md "Workspace settings" and restore): free 100, pro 5,000, business
// 50,000, enterprise unlimited, an operator's limit per workspace over the plan's. Over the limit new
// people are still captured (POST, batch, identify) and the active contacts seen longest ago (ties by
// id) are archived in the same transaction: hidden from the default list, a `contact.archived` event on
// the timeline and the stream. Restore is 409 while at the limit and works after an upgrade or deletions.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { start, timeline } from './support/capture.js';
import { expectProblem } from './support/problems.js';
import { assertBuilt, childEnv, runCli } from './support/processes.js';
import { openStream as openSse } from './support/stream.js';
import { client, type Client, manualClock, startTestServer, type TestServer } from './support/server.js';

const T0 = Date.parse('2026-03-15T10:30:00.000Z');
const MIN = 60_000;
const iso = (ms: number) => new Date(ms).toISOString();
const ISO_MS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
const clock = manualClock(T0);
let t: TestServer;

beforeAll(async () => {
  t = await startTestServer({ clock });
});
afterAll(async () => {
  await t?.close();
});

/** The clock only moves forward in this file: each call is one minute after the one before. */
let now = T0;
function tick(): number {
  now += MIN;
  clock.set(now);
  return now;
}

interface Ws {
  id: string;
  api: Client;
  keyFor: (scopes: Array<'read' | 'write' | 'admin'>) => Promise<string>;
}

/** A workspace of its own; `limit` is the operator's contact limit (as the CLI sets it). */
async function workspace(opts: { limit?: number; plan?: string } = {}): Promise<Ws> {
  const ws = await t.workspace();
  const api = client(t.url, ws.key);
  if (opts.plan) {
    const res = await api.patch('/v1/workspace', { plan: opts.plan });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
  }
  if (opts.limit !== undefined) await t.server.services.workspaces.setContactLimit(ws.id, opts.limit);
  return { id: ws.id, api, keyFor: (scopes) => ws.keyFor(scopes) };
}

/** A contact created one minute after whatever happened last (so last_seen orders them). */
async function create(api: Client, body: Record<string, unknown>, at = tick()): Promise<any> {
  clock.set(at);
  const res = await api.post('/v1/contacts', body);
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body;
}

async function get(api: Client, id: string): Promise<any> {
  const res = await api.get(`/v1/contacts/${id}`);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body;
}

/** Ids of the list with `archived=` false (default), true or all, sorted. */
async function listed(api: Client, archived?: 'true' | 'false' | 'all'): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | null = null;
  do {
    const qs = new URLSearchParams({ limit: '200' });
    if (archived) qs.set('archived', archived);
    if (cursor) qs.set('cursor', cursor);
    const res = await api.get(`/v1/contacts?${qs.toString()}`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    ids.push(...res.body.data.map((c: any) => c.id));
    cursor = res.body.next_cursor;
  } while (cursor);
  return ids.sort();
}

async function usage(api: Client): Promise<{ contacts: number; archived_contacts: number }> {
  const res = await api.get('/v1/workspace');
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body.usage;
}

async function archivedEvents(api: Client, id: string): Promise<any[]> {
  return (await timeline(api, id)).filter((e) => e.type === 'contact.archived');
}

const sorted = (ids: string[]) => [...ids].sort();

/** The workspace's stream, opened with a key (test/support/stream.ts). */
async function openStream(key: string) {
  const stream = await openSse(t.url, { authorization: `Bearer ${key}` });
  expect(stream.res.status).toBe(200);
  return stream;
}

describe('limits and usage on GET /v1/workspace', () => {
  it("shows each plan's contact limit, the operator's limit over it, and the usage", async () => {
    const ws = await workspace();
    const first = (await ws.api.get('/v1/workspace')).body;
    expect(first.plan).toBe('enterprise');
    expect(first.limits.contacts).toBeNull();
    expect(first.usage).toEqual({ contacts: 0, archived_contacts: 0 });

    for (const [plan, contacts] of [['free', 100], ['pro', 5000], ['business', 50_000], ['enterprise', null]] as const) {
      const res = await ws.api.patch('/v1/workspace', { plan });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body.limits.contacts).toBe(contacts);
      expect((await ws.api.get('/v1/workspace')).body.limits.contacts).toBe(contacts);
    }

    await ws.api.patch('/v1/workspace', { plan: 'free' });
    await t.server.services.workspaces.setContactLimit(ws.id, 3);
    const limited = (await ws.api.get('/v1/workspace')).body;
    expect(limited).toMatchObject({ plan: 'free', limits: { contacts: 3 }, usage: { contacts: 0, archived_contacts: 0 } });

    await create(ws.api, { name: 'Usage One' });
    await create(ws.api, { name: 'Usage Two' });
    expect(await usage(ws.api)).toEqual({ contacts: 2, archived_contacts: 0 });

    // Back to the plan's own limit.
    await t.server.services.workspaces.setContactLimit(ws.id, null);
    expect((await ws.api.get('/v1/workspace')).body).toMatchObject({ limits: { contacts: 100 }, usage: { contacts: 2, archived_contacts: 0 } });
  });

  it('every key scope reads the usage', async () => {
    const ws = await workspace({ limit: 1 });
    await create(ws.api, { name: 'Old' });
    await create(ws.api, { name: 'New' });
    const reader = client(t.url, await ws.keyFor(['read']));
    const res = await reader.get('/v1/workspace');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ limits: { contacts: 1 }, usage: { contacts: 1, archived_contacts: 1 } });
  });
});

describe('over the limit, new contacts are still captured and the oldest are archived', () => {
  it('POST /v1/contacts: 201, and the contact seen longest ago is archived, hidden from the default list', async () => {
    const ws = await workspace({ limit: 3 });
    const a = await create(ws.api, { name: 'Ada Oldest', email: 'ada@limits.example' });
    const b = await create(ws.api, { name: 'Bea Middle' });
    const c = await create(ws.api, { name: 'Cy Newer' });
    expect(await usage(ws.api)).toEqual({ contacts: 3, archived_contacts: 0 });
    expect(await archivedEvents(ws.api, a.id)).toEqual([]);

    const dAt = tick();
    const d = await create(ws.api, { name: 'Dee Newest' }, dAt);
    expect(d.archived).toBe(false);

    const aNow = await get(ws.api, a.id);
    expect(aNow).toMatchObject({ id: a.id, archived: true, name: 'Ada Oldest', email: 'ada@limits.example', last_seen: a.last_seen, first_seen: a.first_seen });
    expect(aNow.updated_at).toBe(iso(dAt));
    for (const x of [b, c, d]) expect((await get(ws.api, x.id)).archived).toBe(false);

    expect(await listed(ws.api)).toEqual(sorted([b.id, c.id, d.id]));
    expect(await listed(ws.api, 'false')).toEqual(sorted([b.id, c.id, d.id]));
    expect(await listed(ws.api, 'true')).toEqual([a.id]);
    expect(await listed(ws.api, 'all')).toEqual(sorted([a.id, b.id, c.id, d.id]));
    expect((await ws.api.get('/v1/contacts/count')).body.count).toBe(3);
    expect((await ws.api.get('/v1/contacts/count?archived=true')).body.count).toBe(1);
    expect((await ws.api.get('/v1/contacts/count?archived=all')).body.count).toBe(4);
    // Hidden from a default search too, found with archived=true.
    expect((await ws.api.get('/v1/contacts?q=ada')).body.data).toEqual([]);
    expect((await ws.api.get('/v1/contacts?q=ada&archived=true')).body.data.map((x: any) => x.id)).toEqual([a.id]);
    expect(await usage(ws.api)).toEqual({ contacts: 3, archived_contacts: 1 });

    const evts = await archivedEvents(ws.api, a.id);
    expect(evts).toHaveLength(1);
    expect(evts[0]).toMatchObject({ id: expect.stringMatching(/^evt_/), type: 'contact.archived', occurred_at: iso(dAt) });
    expect(evts[0].data).toMatchObject({ id: a.id, archived: true });
    for (const x of [b, c, d]) expect(await archivedEvents(ws.api, x.id)).toEqual([]);

    // One more: the next oldest goes, and only it.
    const e = await create(ws.api, { name: 'Eve' });
    expect(await listed(ws.api, 'true')).toEqual(sorted([a.id, b.id]));
    expect(await listed(ws.api)).toEqual(sorted([c.id, d.id, e.id]));
    expect(await archivedEvents(ws.api, a.id)).toHaveLength(1);
    expect(await archivedEvents(ws.api, b.id)).toHaveLength(1);
    expect(await usage(ws.api)).toEqual({ contacts: 3, archived_contacts: 2 });
  });

  it('archives by last_seen, not by creation: a contact who talked recently stays', async () => {
    const ws = await workspace({ limit: 3 });
    const a = await create(ws.api, { name: 'Talker', email: 'talker@limits.example' });
    const b = await create(ws.api, { name: 'Quiet B' });
    const c = await create(ws.api, { name: 'Quiet C' });
    tick();
    const conv = await start(ws.api, { channel: 'widget', visitor_id: 'talker' });
    const idf = await ws.api.post(`/v1/conversations/${conv.id}/identify`, { email: 'talker@limits.example' });
    expect(idf.status, JSON.stringify(idf.body)).toBe(200);
    expect(idf.body.contact.id).toBe(a.id);
    expect(Date.parse(idf.body.contact.last_seen)).toBeGreaterThan(Date.parse(c.last_seen));

    await create(ws.api, { name: 'Newcomer' });
    expect(await listed(ws.api, 'true')).toEqual([b.id]);
    expect((await get(ws.api, a.id)).archived).toBe(false);
  });

  it('breaks a tie of last_seen by id', async () => {
    const ws = await workspace({ limit: 2 });
    const at = tick();
    const x = await create(ws.api, { name: 'Tie X' }, at);
    const y = await create(ws.api, { name: 'Tie Y' }, at);
    expect(x.last_seen).toBe(y.last_seen);
    await create(ws.api, { name: 'After the tie' });
    const lower = [x.id, y.id].sort()[0]!;
    expect(await listed(ws.api, 'true')).toEqual([lower]);
  });

  it('the 201 answer says what is stored: with a limit of 0 the new contact itself is archived', async () => {
    const ws = await workspace({ limit: 0 });
    clock.set(tick());
    const res = await ws.api.post('/v1/contacts', { name: 'Never Active' });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    const stored = await get(ws.api, res.body.id);
    expect(stored.archived).toBe(true);
    expect(res.body).toEqual(stored);
    expect(await usage(ws.api)).toEqual({ contacts: 0, archived_contacts: 1 });
  });

  it('POST /v1/contacts/batch: every new item is created, and the oldest beyond the limit are archived', async () => {
    const ws = await workspace({ limit: 5 });
    const a = await create(ws.api, { name: 'Batch A' });
    const b = await create(ws.api, { name: 'Batch B' });
    const c = await create(ws.api, { email: 'batch-c@limits.example' });
    clock.set(tick());
    const res = await ws.api.post('/v1/contacts/batch', {
      contacts: [
        { name: 'New 1' }, { name: 'New 2' }, { email: 'BATCH-C@limits.example', company: 'Updated Co' },
        { email: 'not-an-email' }, { name: 'New 3' }, { name: 'New 4' },
      ],
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.results.map((r: any) => r.status)).toEqual(['created', 'created', 'updated', 'error', 'created', 'created']);
    expect(res.body.results[2].id).toBe(c.id);
    const createdIds = res.body.results.filter((r: any) => r.status === 'created').map((r: any) => r.id);

    expect(await listed(ws.api, 'true')).toEqual(sorted([a.id, b.id]));
    expect(await listed(ws.api)).toEqual(sorted([c.id, ...createdIds]));
    expect(await usage(ws.api)).toEqual({ contacts: 5, archived_contacts: 2 });
    expect((await get(ws.api, c.id)).company).toBe('Updated Co');
    for (const id of [a.id, b.id]) expect(await archivedEvents(ws.api, id)).toHaveLength(1);
  });

  it('a batch far over the limit keeps the limit: items created at the same moment are archived by id', async () => {
    const ws = await workspace({ limit: 2 });
    clock.set(tick());
    const res = await ws.api.post('/v1/contacts/batch', { contacts: [1, 2, 3, 4, 5].map((i) => ({ name: `Same moment ${i}` })) });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.results.map((r: any) => r.status)).toEqual(Array(5).fill('created'));
    const ids = sorted(res.body.results.map((r: any) => r.id));
    expect(await listed(ws.api, 'true')).toEqual(ids.slice(0, 3));
    expect(await listed(ws.api)).toEqual(ids.slice(3));
    expect(await usage(ws.api)).toEqual({ contacts: 2, archived_contacts: 3 });
  });

  it('identify of a conversation: a new person is captured and the oldest archived', async () => {
    const ws = await workspace({ limit: 2 });
    const a = await create(ws.api, { name: 'Idf A' });
    const b = await create(ws.api, { name: 'Idf B' });
    tick();
    const conv = await start(ws.api, { channel: 'widget', visitor_id: 'newcomer' });
    const res = await ws.api.post(`/v1/conversations/${conv.id}/identify`, { name: 'Newcomer', email: 'newcomer@limits.example' });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.created).toBe(true);
    expect(res.body.contact.archived).toBe(false);
    expect((await get(ws.api, res.body.contact.id)).archived).toBe(false);
    expect(await listed(ws.api, 'true')).toEqual([a.id]);
    expect(await listed(ws.api)).toEqual(sorted([b.id, res.body.contact.id]));
    expect(await archivedEvents(ws.api, a.id)).toHaveLength(1);
  });

  it('a returning person (identify of an archived contact) is active again, and the oldest other is archived', async () => {
    const ws = await workspace({ limit: 2 });
    const a = await create(ws.api, { name: 'Returning Ann', email: 'ann@limits.example' });
    const b = await create(ws.api, { name: 'Idle Bob' });
    const c = await create(ws.api, { name: 'Recent Cat' });
    expect(await listed(ws.api, 'true')).toEqual([a.id]);

    const at = tick();
    const conv = await start(ws.api, { channel: 'widget', visitor_id: 'ann-again' });
    const res = await ws.api.post(`/v1/conversations/${conv.id}/identify`, { email: 'ANN@limits.example' });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.created).toBe(false);
    expect(res.body.contact).toMatchObject({ id: a.id, archived: false, conversation_count: 1, last_seen: iso(at) });
    expect(await get(ws.api, a.id)).toMatchObject({ archived: false, conversation_count: 1 });
    expect(await listed(ws.api, 'true')).toEqual([b.id]);
    expect(await listed(ws.api)).toEqual(sorted([a.id, c.id]));
    expect(await usage(ws.api)).toEqual({ contacts: 2, archived_contacts: 1 });
    expect(await archivedEvents(ws.api, b.id)).toHaveLength(1);
    expect(await archivedEvents(ws.api, c.id)).toEqual([]);
  });

  it('sends contact.archived on /v1/stream with the archived contact', async () => {
    const ws = await workspace({ limit: 1 });
    const old = await create(ws.api, { name: 'Streamed Old' });
    const stream = await openStream(await ws.keyFor(['read']));
    try {
      await stream.position();
      const at = tick();
      const fresh = await create(ws.api, { name: 'Streamed New' }, at);
      const e = await stream.waitFor((x) => x.event === 'contact.archived');
      expect(e.body).toMatchObject({ id: expect.stringMatching(/^evt_/), event: 'contact.archived', occurred_at: iso(at) });
      expect(e.body.data).toMatchObject({ id: old.id, name: 'Streamed Old', archived: true });
      expect(e.body.data).toEqual(await get(ws.api, old.id));
      await stream.waitFor((x) => x.event === 'contact.created' && x.body.data.id === fresh.id);
      expect(stream.events().filter((x) => x.event === 'contact.archived').map((x) => x.body.data.id)).toEqual([old.id]);
      expect(stream.events().every((x) => x.body.occurred_at.match(ISO_MS))).toBe(true);
    } finally {
      stream.close();
    }
  });

  it('concurrent creates over the limit leave exactly the limit active, each archived once', async () => {
    const ws = await workspace({ limit: 5 });
    const existing = [];
    for (let i = 0; i < 5; i++) existing.push(await create(ws.api, { name: `Existing ${i}` }));
    clock.set(tick());
    const answers = await Promise.all(Array.from({ length: 12 }, (_, i) => ws.api.post('/v1/contacts', { name: `Racer ${i}`, email: `racer${i}@limits.example` })));
    for (const a of answers) expect(a.status, JSON.stringify(a.body)).toBe(201);
    expect(await usage(ws.api)).toEqual({ contacts: 5, archived_contacts: 12 });
    const archived = await listed(ws.api, 'true');
    expect(archived).toHaveLength(12);
    // The five that were there are older than every racer: they went first.
    for (const e of existing) expect(archived).toContain(e.id);
    for (const id of archived) expect(await archivedEvents(ws.api, id), id).toHaveLength(1);
  });

  it('concurrent batches and creates over the limit leave exactly the limit active', async () => {
    const ws = await workspace({ limit: 10 });
    clock.set(tick());
    const calls = [
      ...Array.from({ length: 4 }, (_, k) => ws.api.post('/v1/contacts/batch', { contacts: Array.from({ length: 6 }, (_, i) => ({ name: `B${k}-${i}` })) })),
      ...Array.from({ length: 6 }, (_, i) => ws.api.post('/v1/contacts', { name: `Solo ${i}` })),
    ];
    const answers = await Promise.all(calls);
    for (const a of answers) expect([200, 201], JSON.stringify(a.body)).toContain(a.status);
    expect(await usage(ws.api)).toEqual({ contacts: 10, archived_contacts: 20 });
    expect((await ws.api.get('/v1/contacts/count?archived=all')).body.count).toBe(30);
  });
});

describe("the free plan's 100 and the pro plan's 5,000", () => {
  it('the 101st contact on free archives the oldest; restore is 409 until an upgrade to pro, then works', async () => {
    const ws = await workspace({ plan: 'free' });
    const oldest = await create(ws.api, { name: 'First Ever', email: 'first@limits.example' });
    clock.set(tick());
    const res = await ws.api.post('/v1/contacts/batch', { contacts: Array.from({ length: 99 }, (_, i) => ({ name: `Free ${i}` })) });
    expect(res.status).toBe(200);
    expect(await usage(ws.api)).toEqual({ contacts: 100, archived_contacts: 0 });

    const extra = await create(ws.api, { name: 'One Too Many' });
    expect(extra.archived).toBe(false);
    expect(await usage(ws.api)).toEqual({ contacts: 100, archived_contacts: 1 });
    expect(await listed(ws.api, 'true')).toEqual([oldest.id]);

    const refused = await ws.api.post(`/v1/contacts/${oldest.id}/restore`);
    expectProblem(refused, 409);
    expect((await get(ws.api, oldest.id)).archived).toBe(true);
    expect(await usage(ws.api)).toEqual({ contacts: 100, archived_contacts: 1 });

    const up = await ws.api.patch('/v1/workspace', { plan: 'pro' });
    expect(up.status).toBe(200);
    expect(up.body.limits.contacts).toBe(5000);

    const restored = await ws.api.post(`/v1/contacts/${oldest.id}/restore`);
    expect(restored.status, JSON.stringify(restored.body)).toBe(200);
    expect(restored.headers.get('content-type')).toMatch(/^application\/json/);
    expect(restored.body).toMatchObject({ id: oldest.id, name: 'First Ever', email: 'first@limits.example', archived: false });
    expect(await get(ws.api, oldest.id)).toEqual(restored.body);
    expect(await listed(ws.api, 'true')).toEqual([]);
    expect((await listed(ws.api)).includes(oldest.id)).toBe(true);
    expect(await usage(ws.api)).toEqual({ contacts: 101, archived_contacts: 0 });
  });

  it('pro keeps 5,000 active: the 5,001st archives the oldest', async () => {
    const ws = await workspace({ plan: 'pro' });
    const oldest = await create(ws.api, { name: 'Pro Oldest' });
    clock.set(tick());
    for (let k = 0; k < 5; k++) {
      const n = k === 4 ? 999 : 1000;
      const res = await ws.api.post('/v1/contacts/batch', { contacts: Array.from({ length: n }, (_, i) => ({ name: `Pro ${k}-${i}` })) });
      expect(res.status).toBe(200);
    }
    expect(await usage(ws.api)).toEqual({ contacts: 5000, archived_contacts: 0 });
    await create(ws.api, { name: 'Pro 5001' });
    expect(await usage(ws.api)).toEqual({ contacts: 5000, archived_contacts: 1 });
    expect((await get(ws.api, oldest.id)).archived).toBe(true);
  }, 120_000);
});

describe('PATCH /v1/workspace to a smaller plan', () => {
  it('archives the excess at once, the oldest first, each with a contact.archived event', async () => {
    const ws = await workspace();
    const old = [];
    for (let i = 0; i < 3; i++) old.push(await create(ws.api, { name: `Downgrade old ${i}` }));
    clock.set(tick());
    const res = await ws.api.post('/v1/contacts/batch', { contacts: Array.from({ length: 100 }, (_, i) => ({ name: `Downgrade ${i}` })) });
    expect(res.status).toBe(200);
    expect(await usage(ws.api)).toEqual({ contacts: 103, archived_contacts: 0 });

    // Moving up or sideways archives nothing.
    expect((await ws.api.patch('/v1/workspace', { plan: 'business' })).body.usage).toEqual({ contacts: 103, archived_contacts: 0 });
    expect((await ws.api.patch('/v1/workspace', { plan: 'pro' })).body.usage).toEqual({ contacts: 103, archived_contacts: 0 });

    const at = tick();
    const down = await ws.api.patch('/v1/workspace', { plan: 'free' });
    expect(down.status, JSON.stringify(down.body)).toBe(200);
    expect(down.body).toMatchObject({ plan: 'free', limits: { contacts: 100 }, usage: { contacts: 100, archived_contacts: 3 } });
    expect(await listed(ws.api, 'true')).toEqual(sorted(old.map((c) => c.id)));
    for (const c of old) {
      const evts = await archivedEvents(ws.api, c.id);
      expect(evts).toHaveLength(1);
      expect(evts[0].occurred_at).toBe(iso(at));
      expect(evts[0].data).toMatchObject({ id: c.id, archived: true });
    }
  });

  it('needs the admin scope: a write key changes nothing and archives nobody', async () => {
    const ws = await workspace();
    clock.set(tick());
    const made = await ws.api.post('/v1/contacts/batch', { contacts: Array.from({ length: 101 }, (_, i) => ({ name: `Kept ${i}` })) });
    expect(made.status).toBe(200);
    const writer = client(t.url, await ws.keyFor(['write']));
    expectProblem(await writer.patch('/v1/workspace', { plan: 'free' }), 403);
    expect((await ws.api.get('/v1/workspace')).body).toMatchObject({ plan: 'enterprise', usage: { contacts: 101, archived_contacts: 0 } });
  });
});

describe('POST /v1/contacts/{id}/restore', () => {
  it('is 409 at the limit and works after a deletion makes room', async () => {
    const ws = await workspace({ limit: 2 });
    const a = await create(ws.api, { name: 'Restore A' });
    const b = await create(ws.api, { name: 'Restore B' });
    const c = await create(ws.api, { name: 'Restore C' });
    expect(await listed(ws.api, 'true')).toEqual([a.id]);
    const before = await timeline(ws.api, a.id);

    const refused = await ws.api.post(`/v1/contacts/${a.id}/restore`);
    expectProblem(refused, 409);
    expect(await get(ws.api, a.id)).toMatchObject({ archived: true });
    expect(await timeline(ws.api, a.id)).toEqual(before);
    expect(await listed(ws.api)).toEqual(sorted([b.id, c.id]));

    expect((await ws.api.delete(`/v1/contacts/${b.id}`)).status).toBe(204);
    expect(await usage(ws.api)).toEqual({ contacts: 1, archived_contacts: 1 });

    const ok = await ws.api.post(`/v1/contacts/${a.id}/restore`);
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    expect(ok.body).toMatchObject({ id: a.id, name: 'Restore A', archived: false, last_seen: a.last_seen, first_seen: a.first_seen, conversation_count: 0 });
    expect(await listed(ws.api)).toEqual(sorted([a.id, c.id]));
    expect(await listed(ws.api, 'true')).toEqual([]);
    expect(await usage(ws.api)).toEqual({ contacts: 2, archived_contacts: 0 });

    // Restoring an active contact changes nothing and archives nobody.
    const again = await ws.api.post(`/v1/contacts/${a.id}/restore`);
    expect(again.status).toBe(200);
    expect(again.body.archived).toBe(false);
    expect(await usage(ws.api)).toEqual({ contacts: 2, archived_contacts: 0 });

    // Full again: the next create archives the oldest (the restored one keeps its old last_seen).
    await create(ws.api, { name: 'Restore D' });
    expect(await listed(ws.api, 'true')).toEqual([a.id]);
  });

  it('concurrent restores with room for one: one 200, the rest 409, and the limit holds', async () => {
    const ws = await workspace({ limit: 2 });
    const old = [];
    for (let i = 0; i < 5; i++) old.push(await create(ws.api, { name: `Crowded ${i}` }));
    expect(await usage(ws.api)).toEqual({ contacts: 2, archived_contacts: 3 });
    expect((await ws.api.delete(`/v1/contacts/${old[4]!.id}`)).status).toBe(204);
    const answers = await Promise.all(old.slice(0, 3).map((c) => ws.api.post(`/v1/contacts/${c.id}/restore`)));
    expect(answers.map((a) => a.status).sort()).toEqual([200, 409, 409]);
    expect(await usage(ws.api)).toEqual({ contacts: 2, archived_contacts: 2 });
  });

  it('is 404 for an unknown contact and for another workspace\'s, 403 for a read key', async () => {
    const ws = await workspace({ limit: 1 });
    const a = await create(ws.api, { name: 'Foreign A' });
    await create(ws.api, { name: 'Foreign B' });
    await t.server.services.workspaces.setContactLimit(ws.id, null);
    expectProblem(await ws.api.post('/v1/contacts/ctc_doesnotexist00000/restore'), 404);
    const other = await workspace();
    expectProblem(await other.api.post(`/v1/contacts/${a.id}/restore`), 404);
    const reader = client(t.url, await ws.keyFor(['read']));
    expectProblem(await reader.post(`/v1/contacts/${a.id}/restore`), 403);
    expect((await get(ws.api, a.id)).archived).toBe(true);
    expect((await ws.api.post(`/v1/contacts/${a.id}/restore`)).status).toBe(200);
  });
});

describe('the operator CLI: workspaces limit ID N|plan', () => {
  it('sets the limit (archiving the excess at once) and goes back to the plan\'s', async () => {
    assertBuilt();
    const env = childEnv(t.db.env);
    const ws = await workspace();
    const a = await create(ws.api, { name: 'Cli A' });
    const b = await create(ws.api, { name: 'Cli B' });
    const c = await create(ws.api, { name: 'Cli C' });

    const set = await runCli(['workspaces', 'limit', ws.id, '2'], env);
    expect(set.stderr).toBe('');
    expect(set.code).toBe(0);
    expect(set.stdout).toContain(ws.id);
    expect(set.stdout).toMatch(/limit 2\b/);
    expect(set.stdout).toMatch(/2 active and 1 archived/);
    expect((await ws.api.get('/v1/workspace')).body).toMatchObject({ limits: { contacts: 2 }, usage: { contacts: 2, archived_contacts: 1 } });
    expect(await listed(ws.api, 'true')).toEqual([a.id]);
    expect(await listed(ws.api)).toEqual(sorted([b.id, c.id]));
    expect(await archivedEvents(ws.api, a.id)).toHaveLength(1);
    expectProblem(await ws.api.post(`/v1/contacts/${a.id}/restore`), 409);

    const back = await runCli(['workspaces', 'limit', ws.id, 'plan'], env);
    expect(back.stderr).toBe('');
    expect(back.code).toBe(0);
    expect((await ws.api.get('/v1/workspace')).body).toMatchObject({ plan: 'enterprise', limits: { contacts: null } });
    expect((await ws.api.post(`/v1/contacts/${a.id}/restore`)).status).toBe(200);
    expect(await usage(ws.api)).toEqual({ contacts: 3, archived_contacts: 0 });

    const bad = await runCli(['workspaces', 'limit', ws.id, 'lots'], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^chatsby-contacts: /);
    const unknown = await runCli(['workspaces', 'limit', 'wsp_doesnotexist0000', '5'], env);
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).not.toMatch(/\n\s+at /);
    expect(await usage(ws.api)).toEqual({ contacts: 3, archived_contacts: 0 });
  });
});
