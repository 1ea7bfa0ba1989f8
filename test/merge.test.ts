// Merge (API.md "Contacts", merge rules and historical baselines; issue 4 items 5 and 11):
// POST /v1/contacts/{id}/merge {from}.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readAllTables, rowsReferencing } from './support/database.js';
import { expectInvalid, expectProblem } from './support/problems.js';
import { start, timeline } from './support/capture.js';
import { client, type Client, manualClock, startTestServer, type TestServer } from './support/server.js';

const T0 = Date.parse('2026-03-15T10:30:00.000Z');
const MIN = 60_000;
const DAY = 24 * 60 * MIN;
const iso = (ms: number) => new Date(ms).toISOString();
const clock = manualClock(T0);
let t: TestServer;

beforeAll(async () => {
  t = await startTestServer({ clock });
});
afterAll(async () => {
  await t?.close();
});

async function newWorkspace(): Promise<{ api: Client; id: string }> {
  const ws = await t.workspace();
  return { api: client(t.url, ws.key), id: ws.id };
}

async function create(api: Client, body: Record<string, unknown>): Promise<any> {
  const res = await api.post('/v1/contacts', body);
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body;
}

async function identify(api: Client, convId: string, body: Record<string, unknown>): Promise<any> {
  const res = await api.post(`/v1/conversations/${convId}/identify`, body);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body.contact;
}

async function merge(api: Client, into: string, from: string): Promise<any> {
  const res = await api.post(`/v1/contacts/${into}/merge`, { from });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body;
}

describe('merge', () => {
  it('the target keeps its values, fills its empty ones, unites tags, merges metadata with its own keys winning', async () => {
    const { api } = await newWorkspace();
    const target = await create(api, { name: 'Sarah Johnson', email: 'sarah@acme.com', tags: ['lead', 'enterprise'], metadata: { plan: 'pro', owner: 'target' } });
    const other = await create(api, {
      name: 'S. Johnson', email: 'sjohnson@gmail.com', phone: '+15551234567', company: 'Acme Corp',
      tags: ['enterprise', 'newsletter'], metadata: { owner: 'other', seats: 12, nested: { a: 1 } },
    });
    clock.advance(MIN);
    const merged = await merge(api, target.id, other.id);
    expect(merged).toMatchObject({
      id: target.id, name: 'Sarah Johnson', email: 'sarah@acme.com', phone: '+15551234567', company: 'Acme Corp',
      metadata: { plan: 'pro', owner: 'target', seats: 12, nested: { a: 1 } },
    });
    expect([...merged.tags].sort()).toEqual(['enterprise', 'lead', 'newsletter']);
    const read = (await api.get(`/v1/contacts/${target.id}`)).body;
    expect(read).toMatchObject({ name: 'Sarah Johnson', email: 'sarah@acme.com', phone: '+15551234567', company: 'Acme Corp', metadata: merged.metadata });
    expect([...read.tags].sort()).toEqual(['enterprise', 'lead', 'newsletter']);

    // The other one is gone: 404, in no list, in no count, not found by its email or phone any more.
    expectProblem(await api.get(`/v1/contacts/${other.id}`), 404);
    expectProblem(await api.get(`/v1/contacts/${other.id}/timeline`), 404);
    expectProblem(await api.get(`/v1/contacts/${other.id}/conversations`), 404);
    expectProblem(await api.post(`/v1/contacts/${target.id}/merge`, { from: other.id }), 404);
    const all = (await api.get('/v1/contacts?archived=all&limit=200')).body.data.map((c: any) => c.id);
    expect(all).toEqual([target.id]);
    expect((await api.get('/v1/contacts/count?archived=all')).body.count).toBe(1);
    expect((await api.get('/v1/contacts?q=sjohnson')).body.data).toEqual([]);
    expect((await api.get(`/v1/contacts?q=${other.id}`)).body.data).toEqual([]);
    expect((await api.get('/v1/contacts?tag=newsletter')).body.data.map((c: any) => c.id)).toEqual([target.id]);
    // The email of the other contact is free again; the phone is the target's now.
    expect((await api.post('/v1/contacts', { email: 'sjohnson@gmail.com' })).status).toBe(201);
    const dup = await api.post('/v1/contacts', { phone: '+15551234567' });
    expectProblem(dup, 409);
    expect(dup.body.existing_id).toBe(target.id);

    const tl = await timeline(api, target.id);
    const mergedEvents = tl.filter((e) => e.type === 'contact.merged');
    expect(mergedEvents).toHaveLength(1);
    expect(JSON.stringify(mergedEvents[0].data)).toContain(other.id);
  });

  it('moves conversations, visitors, notes and timeline events, and recomputes the auto fields', async () => {
    const { api } = await newWorkspace();
    clock.set(T0);
    const t1 = await start(api, { channel: 'widget', visitor_id: 'target-visitor', page_url: 'https://acme.com/b' });
    clock.set(T0 + 5 * DAY);
    const target = await identify(api, t1.id, { email: 'target@example.com', action: 'lead_capture' });
    clock.set(T0 - 3 * DAY);
    const o1 = await start(api, { channel: 'whatsapp', visitor_id: '+15550009999', page_url: 'https://acme.com/a' });
    clock.set(T0 + 9 * DAY);
    const o2 = await start(api, { channel: 'whatsapp', visitor_id: '+15550009999' });
    const msg = await api.post(`/v1/conversations/${o2.id}/messages`, { role: 'user', text: 'latest words' });
    expect(msg.status).toBe(201);
    const other = await identify(api, o2.id, { email: 'other@example.com', action: 'demo_booking' });
    expect(other.conversation_count).toBe(2);
    const note = await api.post(`/v1/contacts/${other.id}/notes`, { body: 'Called them on Monday' });
    expect(note.status).toBe(201);
    const otherEvents = (await timeline(api, other.id)).map((e) => e.id);
    expect(otherEvents.length).toBeGreaterThan(0);

    clock.set(T0 + 10 * DAY);
    const merged = await merge(api, target.id, other.id);
    expect(merged).toMatchObject({ conversation_count: 3, first_seen: iso(T0 - 3 * DAY), last_seen: iso(T0 + 9 * DAY), source: 'widget', lifecycle_stage: 'returning' });
    expect((await api.get(`/v1/contacts/${target.id}`)).body).toMatchObject({ conversation_count: 3, first_seen: iso(T0 - 3 * DAY), last_seen: iso(T0 + 9 * DAY) });

    const convs = (await api.get(`/v1/contacts/${target.id}/conversations`)).body.data.map((c: any) => c.id);
    expect(convs).toEqual([o2.id, t1.id, o1.id]);
    for (const id of [t1.id, o1.id, o2.id]) expect((await api.get(`/v1/conversations/${id}`)).body.contact_id).toBe(target.id);
    expect((await api.get(`/v1/conversations?contact_id=${target.id}`)).body.data).toHaveLength(3);

    const notes = (await api.get(`/v1/contacts/${target.id}/notes`)).body.data;
    expect(notes.map((n: any) => n.id)).toContain(note.body.id);

    const tl = await timeline(api, target.id);
    const ids = tl.map((e) => e.id);
    for (const id of otherEvents) expect(ids).toContain(id);
    expect(tl.filter((e) => e.type === 'lead.captured').map((e) => e.data.action).sort()).toEqual(['demo_booking', 'lead_capture']);
    expect(tl[0].type).toBe('contact.merged');

    // The other contact's visitor is the target's now: its next conversation counts on the target.
    clock.set(T0 + 11 * DAY);
    const o3 = await start(api, { channel: 'whatsapp', visitor_id: '+15550009999' });
    expect(o3.contact_id).toBe(target.id);
    expect((await api.get(`/v1/contacts/${target.id}`)).body).toMatchObject({ conversation_count: 4, last_seen: iso(T0 + 11 * DAY) });
    expect((await api.get('/v1/visitors/%2B15550009999/context?channel=whatsapp')).body.contact.id).toBe(target.id);

    // No row anywhere still belongs to the merged-away contact.
    const tables = await readAllTables(t);
    expect(rowsReferencing(tables, [other.id])).toEqual([]);
    // contact.merged is in the outbox (issue 4, item 11), on the target.
    const mergedOut = tables.events!.filter((e: any) => e.type === 'contact.merged' && e.contact_id === target.id);
    expect(mergedOut).toHaveLength(1);
    const flag = mergedOut[0]!.timeline_only;
    expect(flag === false || Number(flag) === 0).toBe(true);
  });

  it('adds the historical baselines of both contacts', async () => {
    const ws = await newWorkspace();
    const { api } = ws;
    const batch = await api.post('/v1/contacts/batch', {
      historical: true,
      contacts: [
        { email: 'old-a@example.com', name: 'Old A', created_at: '2025-01-01T00:00:00Z', first_seen: '2025-01-01T00:00:00Z', last_seen: '2025-06-01T00:00:00Z', conversation_count: 10 },
        { email: 'old-b@example.com', name: 'Old B', created_at: '2024-05-01T00:00:00Z', first_seen: '2024-05-01T00:00:00Z', last_seen: '2025-12-01T00:00:00Z', conversation_count: 7 },
      ],
    });
    expect(batch.status, JSON.stringify(batch.body)).toBe(200);
    expect(batch.body.results.map((r: any) => r.status)).toEqual(['created', 'created']);
    const [a, b] = batch.body.results.map((r: any) => r.id);
    expect((await api.get(`/v1/contacts/${a}`)).body).toMatchObject({ conversation_count: 10, first_seen: '2025-01-01T00:00:00.000Z', last_seen: '2025-06-01T00:00:00.000Z' });

    // One conversation recorded here for A.
    clock.set(T0);
    const conv = await start(api, { channel: 'widget', visitor_id: 'old-a' });
    expect((await identify(api, conv.id, { email: 'old-a@example.com' })).id).toBe(a);
    expect((await api.get(`/v1/contacts/${a}`)).body).toMatchObject({ conversation_count: 11, first_seen: '2025-01-01T00:00:00.000Z', last_seen: iso(T0) });

    clock.set(T0 + DAY);
    const merged = await merge(api, a, b);
    expect(merged).toMatchObject({
      id: a, conversation_count: 18, first_seen: '2024-05-01T00:00:00.000Z', last_seen: iso(T0), name: 'Old A', email: 'old-a@example.com',
    });
    expect((await api.get(`/v1/contacts/${a}`)).body).toMatchObject({ conversation_count: 18, first_seen: '2024-05-01T00:00:00.000Z', last_seen: iso(T0) });
    expectProblem(await api.get(`/v1/contacts/${b}`), 404);

    // Later conversations still add on top of the summed baseline.
    clock.set(T0 + 2 * DAY);
    const later = await start(api, { channel: 'widget', visitor_id: 'old-a' });
    expect(later.contact_id).toBe(a);
    expect((await api.get(`/v1/contacts/${a}`)).body).toMatchObject({ conversation_count: 19, last_seen: iso(T0 + 2 * DAY) });
  });

  it('a historical batch sent again replaces the baseline; fields it leaves out keep their values', async () => {
    const { api } = await newWorkspace();
    const send = async (item: Record<string, unknown>) => {
      const res = await api.post('/v1/contacts/batch', { historical: true, contacts: [item] });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body.results[0].status, JSON.stringify(res.body)).not.toBe('error');
      return (await api.get(`/v1/contacts/${res.body.results[0].id}`)).body;
    };
    const first = await send({ email: 'again@example.com', first_seen: '2024-01-01T00:00:00Z', last_seen: '2024-02-01T00:00:00Z', conversation_count: 4 });
    expect(first).toMatchObject({ first_seen: '2024-01-01T00:00:00.000Z', last_seen: '2024-02-01T00:00:00.000Z', conversation_count: 4 });
    // A conversation recorded here, then the migration sent again with a later first_seen (a corrected export).
    clock.set(T0);
    const conv = await start(api, { channel: 'widget', visitor_id: 'again' });
    expect((await identify(api, conv.id, { email: 'again@example.com' })).id).toBe(first.id);
    const again = await send({ email: 'again@example.com', first_seen: '2025-01-01T00:00:00Z', last_seen: '2025-02-01T00:00:00Z', conversation_count: 2 });
    expect(again).toMatchObject({ id: first.id, first_seen: '2025-01-01T00:00:00.000Z', last_seen: iso(T0), conversation_count: 3 });

    // Only created_at, on a contact made here: created_at and first_seen move back, last_seen stays.
    clock.set(T0 + DAY);
    const made = (await api.post('/v1/contacts', { email: 'made-here@example.com' })).body;
    const moved = await send({ email: 'made-here@example.com', created_at: '2019-01-01T00:00:00Z' });
    expect(moved).toMatchObject({ id: made.id, created_at: '2019-01-01T00:00:00.000Z', first_seen: '2019-01-01T00:00:00.000Z', last_seen: iso(T0 + DAY), conversation_count: 0 });
    // last_seen before the created_at it comes with is an error.
    const bad = await api.post('/v1/contacts/batch', { historical: true, contacts: [{ name: 'Backwards', created_at: '2020-01-01T00:00:00Z', last_seen: '2019-01-01T00:00:00Z' }] });
    expect(bad.body.results[0]).toMatchObject({ status: 'error' });
    expect(bad.body.results[0].error).toMatch(/^last_seen/);
  });

  it('refuses (422) a merge whose tag union or metadata would break a contact\'s limits, changing nothing', async () => {
    const { api } = await newWorkspace();
    const tags = (p: string) => Array.from({ length: 30 }, (_, i) => `${p}${i}`);
    const a = await create(api, { name: 'Thirty A', tags: tags('a') });
    const b = await create(api, { name: 'Thirty B', tags: tags('b'), metadata: { k: 'x'.repeat(9000) } });
    expectInvalid(await api.post(`/v1/contacts/${a.id}/merge`, { from: b.id }), 'from');
    const c = await create(api, { name: 'Big meta', metadata: { j: 'y'.repeat(9000) } });
    expectInvalid(await api.post(`/v1/contacts/${c.id}/merge`, { from: b.id }), 'from');
    expect((await api.get(`/v1/contacts/${a.id}`)).body.tags).toHaveLength(30);
    expect((await api.get(`/v1/contacts/${b.id}`)).status).toBe(200);
    expect((await api.get('/v1/contacts/count')).body.count).toBe(3);
    // Within the limits, the same contacts merge.
    expect((await api.patch(`/v1/contacts/${a.id}`, { tags: tags('b').slice(0, 20) })).status).toBe(200);
    const merged = await api.post(`/v1/contacts/${a.id}/merge`, { from: b.id });
    expect(merged.status).toBe(200);
    expect(merged.body.tags).toHaveLength(30);
  });

  it('refuses merging into itself (422), unknown or foreign ids (404), and bad bodies (422)', async () => {
    const a = await newWorkspace();
    const b = await newWorkspace();
    const mine = await create(a.api, { name: 'Mine', email: 'mine@example.com' });
    const mine2 = await create(a.api, { name: 'Mine too' });
    const theirs = await create(b.api, { name: 'Theirs', email: 'theirs@example.com', tags: ['secret'] });

    expectInvalid(await a.api.post(`/v1/contacts/${mine.id}/merge`, { from: mine.id }), 'from');
    expectProblem(await a.api.post(`/v1/contacts/${mine.id}/merge`, { from: theirs.id }), 404);
    expectProblem(await a.api.post(`/v1/contacts/${theirs.id}/merge`, { from: mine.id }), 404);
    expectProblem(await b.api.post(`/v1/contacts/${theirs.id}/merge`, { from: mine.id }), 404);
    expectProblem(await a.api.post(`/v1/contacts/ctc_doesnotexist/merge`, { from: mine2.id }), 404);
    expectProblem(await a.api.post(`/v1/contacts/${mine.id}/merge`, { from: 'ctc_doesnotexist' }), 404);
    expectProblem(await a.api.post(`/v1/contacts/${mine.id}/merge`, {}), 422);
    expectProblem(await a.api.post(`/v1/contacts/${mine.id}/merge`, { from: mine2.id, extra: true }), 422);

    // Nothing changed on either side.
    expect((await a.api.get('/v1/contacts/count')).body.count).toBe(2);
    expect((await a.api.get(`/v1/contacts/${mine.id}`)).body).toMatchObject({ name: 'Mine', email: 'mine@example.com', tags: [] });
    expect((await b.api.get(`/v1/contacts/${theirs.id}`)).body).toMatchObject({ name: 'Theirs', tags: ['secret'] });
    expect((await timeline(a.api, mine.id)).some((e) => e.type === 'contact.merged')).toBe(false);
  });
});
