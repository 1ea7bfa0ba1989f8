// GET /v1/stream: the workspace's events as server-sent events, read through real HTTP with a streaming
// body reader. Positions are seqs: a reconnect with Last-Event-ID loses nothing and repeats nothing.
// Two servers on one database (a second, separate process) see each other's events.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer } from '../src/http/server.js';
import { assertBuilt, childEnv, startServerProcess } from './support/processes.js';
import { openStream, type Stream } from './support/stream.js';
import { client, type Client, createTestDatabase, startTestServer, testConfig, type TestServer, usingPostgres } from './support/server.js';

const ISO_MS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
/** Longer than a poll (500 ms) with room to spare: what has not come by then is not coming. */
const QUIET_MS = 1500;

const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitUntil(cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await sleep(20);
  }
}

async function create(api: Client, body: Record<string, unknown>): Promise<any> {
  const res = await api.post('/v1/contacts', body);
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body;
}

describe('GET /v1/stream', () => {
  let t: TestServer;
  let api: Client;
  let readKey: string;
  const open: Stream[] = [];
  const stream = async (headers: Record<string, string>, baseUrl = t.url) => {
    const s = await openStream(baseUrl, headers);
    open.push(s);
    return s;
  };

  beforeAll(async () => {
    t = await startTestServer();
    const ws = await t.workspace('Streaming');
    api = client(t.url, ws.key);
    readKey = await ws.keyFor(['read']);
  });
  afterAll(async () => {
    for (const s of open) s.close();
    await t.close();
  });

  it('is a text/event-stream that opens with retry: and the current position', async () => {
    const s = await stream(bearer(readKey));
    expect(s.res.status).toBe(200);
    expect(s.res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(s.res.headers.get('cache-control')).toBe('no-store');
    expect(s.res.headers.get('x-accel-buffering')).toBe('no');
    await waitUntil(() => s.messages.length > 0);
    expect(s.messages[0]).toMatchObject({ retry: '2000', id: expect.stringMatching(/^\d+$/) });
    expect(s.messages[0]!.event).toBeUndefined();
    s.close();
  });

  it('sends a contact created through the API with the documented event body, and only what happens after it opened', async () => {
    const before = await create(api, { name: 'Before the stream' });
    const s = await stream(bearer(readKey));
    await waitUntil(() => s.messages.length > 0);
    const contact = await create(api, { name: 'Live Person', email: `live-${Date.now()}@example.com` });
    const e = await s.waitFor((x) => x.body.data?.id === contact.id);
    expect(e.event).toBe('contact.created');
    expect(e.seq).toMatch(/^\d+$/);
    expect(Number(e.seq)).toBeGreaterThan(Number(s.messages[0]!.id));
    expect(e.body).toEqual({ id: expect.stringMatching(/^evt_/), event: 'contact.created', occurred_at: expect.stringMatching(ISO_MS), data: contact });
    expect(s.events().map((x) => x.body.data?.id)).not.toContain(before.id);
    s.close();
  });

  it("never sends another workspace's events, nor timeline-only ones", async () => {
    const other = await t.workspace('Elsewhere');
    const otherApi = client(t.url, other.key);
    const s = await stream(bearer(readKey));
    await waitUntil(() => s.messages.length > 0);
    const theirs = await create(otherApi, { name: 'Not yours' });
    await otherApi.patch(`/v1/contacts/${theirs.id}`, { company: 'Elsewhere Ltd' });
    const mine = await create(api, { name: 'Mine' });
    expect((await api.post(`/v1/contacts/${mine.id}/notes`, { body: 'a note stays on the timeline' })).status).toBe(201);
    const updated = await api.patch(`/v1/contacts/${mine.id}`, { company: 'Acme' });
    expect(updated.status).toBe(200);
    await s.waitFor((x) => x.event === 'contact.updated' && x.body.data.id === mine.id);
    await sleep(QUIET_MS);
    expect(s.events().map((x) => [x.event, x.body.data.id])).toEqual([['contact.created', mine.id], ['contact.updated', mine.id]]);
    expect(s.events()[1]!.body.data).toEqual(updated.body);

    // Resumed from the same position, the other workspace's stream has its own two and nothing of ours.
    const theirs2 = await stream({ ...bearer(other.key), 'last-event-id': s.messages[0]!.id! });
    await theirs2.waitFor((x) => x.event === 'contact.updated');
    await sleep(QUIET_MS);
    expect(theirs2.events().map((x) => [x.event, x.body.data.id])).toEqual([['contact.created', theirs.id], ['contact.updated', theirs.id]]);
    theirs2.close();
    s.close();
  });

  it('resumes after Last-Event-ID with exactly the events after it, those made while away included', async () => {
    const s = await stream(bearer(readKey));
    await waitUntil(() => s.messages.length > 0);
    const a = await create(api, { name: 'Resume A' });
    const b = await create(api, { name: 'Resume B' });
    const seenA = await s.waitFor((x) => x.body.data?.id === a.id);
    await s.waitFor((x) => x.body.data?.id === b.id);
    s.close();
    await waitUntil(() => s.ended());

    // While disconnected.
    const c = await create(api, { name: 'Resume C' });
    expect((await api.patch(`/v1/contacts/${a.id}`, { name: 'Resume A, renamed' })).status).toBe(200);

    const again = await stream({ ...bearer(readKey), 'last-event-id': seenA.seq });
    await again.waitFor((x) => x.event === 'contact.updated' && x.body.data.id === a.id);
    const d = await create(api, { name: 'Resume D' });
    await again.waitFor((x) => x.body.data?.id === d.id);
    await sleep(QUIET_MS);
    const got = again.events();
    expect(got.map((x) => [x.event, x.body.data.id])).toEqual([
      ['contact.created', b.id], ['contact.created', c.id], ['contact.updated', a.id], ['contact.created', d.id],
    ]);
    const seqs = got.map((x) => Number(x.seq));
    expect([...seqs].sort((x, y) => x - y)).toEqual(seqs);
    expect(new Set(got.map((x) => x.body.id)).size).toBe(got.length);
    expect(seqs[0]).toBeGreaterThan(Number(seenA.seq));

    // From the last event seen, nothing is repeated.
    again.close();
    const last = await stream({ ...bearer(readKey), 'last-event-id': got[got.length - 1]!.seq });
    await waitUntil(() => last.messages.length > 0);
    await sleep(QUIET_MS);
    expect(last.events()).toEqual([]);
    last.close();
  });

  it('resumes from the position it opened with, when no event came before the connection dropped', async () => {
    const s = await stream(bearer(readKey));
    await waitUntil(() => s.messages.length > 0);
    const position = s.messages[0]!.id!;
    s.close();
    const missed = await create(api, { name: 'While nobody listened' });
    const again = await stream({ ...bearer(readKey), 'last-event-id': position });
    const e = await again.waitFor((x) => x.body.data?.id === missed.id);
    expect(e.event).toBe('contact.created');
    again.close();
  });

  it('sends contact.deleted with only id and deleted_at', async () => {
    const s = await stream(bearer(readKey));
    await waitUntil(() => s.messages.length > 0);
    const gone = await create(api, { name: 'To Be Deleted', email: `gone-${Date.now()}@example.com`, phone: '+15557654321' });
    expect((await api.delete(`/v1/contacts/${gone.id}`)).status).toBe(204);
    const e = await s.waitFor((x) => x.event === 'contact.deleted');
    expect(e.body).toEqual({ id: expect.stringMatching(/^evt_/), event: 'contact.deleted', occurred_at: expect.stringMatching(ISO_MS), data: { id: gone.id, deleted_at: expect.stringMatching(ISO_MS) } });
    s.close();
  });

  it('needs credentials: none is 401, a widget key 403, a malformed Last-Event-ID 422', async () => {
    const none = await fetch(t.url + '/v1/stream');
    expect(none.status).toBe(401);
    expect(none.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    await none.text();

    const agents = await api.get('/v1/agents');
    const pk = agents.body.data[0].widget_key as string;
    expect(pk).toMatch(/^pk_/);
    const widget = await fetch(t.url + '/v1/stream', { headers: bearer(pk) });
    expect(widget.status).toBe(403);
    await widget.text();

    const bad = await fetch(t.url + '/v1/stream', { headers: { ...bearer(readKey), 'last-event-id': 'evt_abc' } });
    expect(bad.status).toBe(422);
    await bad.text();
  });

  // PostgreSQL only: SQLite has a single writer, so no transaction can commit below a later seq.
  if (usingPostgres) {
    it('holds back a seq until the transactions that could commit below it have ended', async () => {
      const s = await stream(bearer(readKey));
      await waitUntil(() => s.messages.length > 0);
      const { id: workspaceId } = (await api.get('/v1/workspace')).body;
      // A transaction that takes its seq first and commits last, as a slow writer does.
      const slow = new pg.Client({ connectionString: t.db.env.DATABASE_URL });
      await slow.connect();
      try {
        await slow.query('BEGIN');
        const held = await slow.query<{ seq: string }>(
          `INSERT INTO "${t.db.env.DATABASE_SCHEMA}".events (id, workspace_id, contact_id, type, actor, data, occurred_at, timeline_only)
           VALUES ('evt_slowwriter00000000', $1, NULL, 'contact.archived', NULL, '{"id":"ctc_slowwriter0000000"}', $2, 0) RETURNING seq`,
          [workspaceId, Date.now()]);
        const fast = await create(api, { name: 'Committed first' });
        await sleep(QUIET_MS);
        expect(s.events(), 'nothing goes out past a seq that may still commit').toEqual([]);
        await slow.query('COMMIT');
        await s.waitFor((x) => x.body.data?.id === fast.id);
        expect(s.events().map((x) => [x.seq, x.body.id])).toEqual([[String(held.rows[0]!.seq), 'evt_slowwriter00000000'], [expect.any(String), s.events()[1]!.body.id]]);
        expect(Number(s.events()[1]!.seq)).toBeGreaterThan(Number(held.rows[0]!.seq));
      } finally {
        await slow.end();
        s.close();
      }
    });
  }

  it('is documented in the OpenAPI document as a text/event-stream', async () => {
    const doc = await (await fetch(t.url + '/v1/openapi.json')).json();
    const op = doc.paths['/v1/stream'].get;
    expect(op.tags).toEqual(['Access']);
    expect(op['x-required-scope']).toBe('read');
    expect(Object.keys(op.responses['200'].content)).toEqual(['text/event-stream']);
    expect(op.responses['401'].content['application/problem+json']).toBeDefined();
    expect(op.parameters.map((p: any) => `${p.in} ${p.name}`)).toContain('header last-event-id');
  });
});

describe('stopping the server', () => {
  it('ends open streams at once, so closing does not wait for them', async () => {
    const t = await startTestServer();
    const ws = await t.workspace();
    const s = await openStream(t.url, bearer(ws.key));
    expect(s.res.status).toBe(200);
    await waitUntil(() => s.messages.length > 0);
    const started = Date.now();
    await t.close();
    expect(Date.now() - started).toBeLessThan(3000);
    await waitUntil(() => s.ended(), 2000);
  });
});

describe('two server processes on one database', () => {
  it('an event written through one is on the stream of the other, both ways; SIGTERM ends its streams', async () => {
    assertBuilt();
    const db = await createTestDatabase();
    const here = await startServer(testConfig(db));
    const there = await startServerProcess(childEnv(db.env));
    try {
      const ws = await here.services.workspaces.create('Shared');
      const key = (await here.services.keys.create(ws.id, ['read', 'write'], 'test')).secret;
      const apiHere = client(here.url, key);
      const apiThere = client(there.url, key);

      const streamThere = await openStream(there.url, bearer(key));
      const streamHere = await openStream(here.url, bearer(key));
      expect(streamThere.res.status).toBe(200);
      await waitUntil(() => streamThere.messages.length > 0 && streamHere.messages.length > 0);

      const fromHere = await create(apiHere, { name: 'Written here' });
      const fromThere = await create(apiThere, { name: 'Written there' });
      const e1 = await streamThere.waitFor((x) => x.body.data?.id === fromHere.id);
      expect(e1.body).toMatchObject({ event: 'contact.created', data: fromHere });
      await streamThere.waitFor((x) => x.body.data?.id === fromThere.id);
      const e2 = await streamHere.waitFor((x) => x.body.data?.id === fromThere.id);
      expect(e2.body).toMatchObject({ event: 'contact.created', data: fromThere });
      // Both processes number the events alike: the seq is the database's.
      expect(streamHere.events().map((x) => x.seq)).toEqual(streamThere.events().map((x) => x.seq));

      const started = Date.now();
      const exit = await there.stop('SIGTERM', 10_000);
      expect(exit.code, there.output()).toBe(0);
      expect(Date.now() - started).toBeLessThan(5000);
      await waitUntil(() => streamThere.ended(), 2000);
      streamHere.close();
    } finally {
      await there.stop('SIGKILL');
      await here.close();
      await db.drop();
    }
  });
});
