import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Answer, client, type Client, startTestServer, type TestServer } from './support/server.js';
import { expectProblem } from './support/problems.js';

let t: TestServer;

beforeAll(async () => {
  t = await startTestServer();
});
afterAll(() => t.close());

/** A raw request with exactly the headers given. */
async function raw(method: string, path: string, headers: Record<string, string>, body?: unknown): Promise<Answer> {
  const h = { ...headers };
  if (body !== undefined) h['content-type'] = 'application/json';
  const res = await fetch(t.url + path, { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: /json/.test(res.headers.get('content-type') ?? '') && text ? JSON.parse(text) : text };
}

const PROTECTED: Array<[string, string, unknown?]> = [
  ['GET', '/v1/contacts'],
  ['POST', '/v1/contacts', { name: 'x' }],
  ['GET', '/v1/contacts/count'],
  ['GET', '/v1/contacts/ctc_doesnotexist0000'],
  ['PATCH', '/v1/contacts/ctc_doesnotexist0000', { name: 'x' }],
  ['DELETE', '/v1/contacts/ctc_doesnotexist0000'],
  ['POST', '/v1/contacts/batch', { contacts: [{ name: 'x' }] }],
  ['GET', '/v1/contacts/ctc_doesnotexist0000/notes'],
  ['GET', '/v1/contacts/ctc_doesnotexist0000/timeline'],
  ['GET', '/v1/tags'],
  ['GET', '/v1/workspace'],
  ['PATCH', '/v1/workspace', { name: 'x' }],
  ['GET', '/v1/me'],
  ['GET', '/v1/keys'],
  ['POST', '/v1/keys', { scopes: ['read'] }],
];

describe('authentication', () => {
  it.each(PROTECTED)('%s %s without a key is 401', async (method, path, body) => {
    expectProblem(await raw(method, path, {}, body), 401);
  });

  it.each([
    ['an empty header', ''],
    ['Bearer without a token', 'Bearer '],
    ['Basic credentials', 'Basic dXNlcjpwYXNz'],
    ['two tokens', 'Bearer ck_a ck_b'],
    ['a token without the key prefix', 'Bearer 0123456789abcdefghijklmnopqrstuvwxyz'],
    ['an unknown key', 'Bearer ck_0000000000000000000000000000000000000000'],
    ['a very long token', `Bearer ck_${'a'.repeat(5000)}`],
  ])('%s is 401', async (_what, header) => {
    const res = await raw('GET', '/v1/contacts', { authorization: header });
    expectProblem(res, 401);
    expect(JSON.stringify(res.body)).not.toMatch(/stack|at .*\.js/);
  });

  it('a revoked key is 401 at once, on reads and writes', async () => {
    const ws = await t.workspace();
    const admin = client(t.url, ws.key);
    const created = (await admin.post('/v1/keys', { scopes: ['write'] })).body;
    const victim = client(t.url, created.key);
    expect((await victim.get('/v1/contacts')).status).toBe(200);
    expect((await admin.delete(`/v1/keys/${created.id}`)).status).toBe(204);
    expectProblem(await victim.get('/v1/contacts'), 401);
    expectProblem(await victim.post('/v1/contacts', { name: 'x' }), 401);
    expect((await admin.get('/v1/contacts/count')).body.count).toBe(0);
  });

  it('an unauthenticated request changes nothing', async () => {
    const ws = await t.workspace();
    await raw('POST', '/v1/contacts', { authorization: 'Bearer ck_nope' }, { name: 'Sneaky' });
    expect((await client(t.url, ws.key).get('/v1/contacts/count')).body.count).toBe(0);
  });
});

describe('scopes', () => {
  let ws: Awaited<ReturnType<TestServer['workspace']>>;
  let admin: Client;
  let reader: Client;
  let writer: Client;
  let contactId: string;

  beforeAll(async () => {
    ws = await t.workspace();
    admin = client(t.url, ws.key);
    reader = client(t.url, await ws.keyFor(['read']));
    writer = client(t.url, await ws.keyFor(['write']));
    contactId = (await admin.post('/v1/contacts', { name: 'Scoped', email: 'scoped@example.com', tags: ['x'] })).body.id;
  });

  it('a read key reads everything a reader may', async () => {
    for (const path of ['/v1/contacts', `/v1/contacts/${contactId}`, '/v1/contacts/count', `/v1/contacts/${contactId}/notes`, `/v1/contacts/${contactId}/timeline`, '/v1/tags', '/v1/workspace', '/v1/me']) {
      expect((await reader.get(path)).status, path).toBe(200);
    }
  });

  it('a read key cannot POST, PATCH or DELETE contacts (403)', async () => {
    expectProblem(await reader.post('/v1/contacts', { name: 'Nope' }), 403);
    expectProblem(await reader.patch(`/v1/contacts/${contactId}`, { name: 'Changed' }), 403);
    expectProblem(await reader.delete(`/v1/contacts/${contactId}`), 403);
    expectProblem(await reader.post('/v1/contacts/batch', { contacts: [{ name: 'Nope' }] }), 403);
    expectProblem(await reader.post(`/v1/contacts/${contactId}/notes`, { body: 'Nope' }), 403);
    // Even an invalid body: the scope is checked first.
    expectProblem(await reader.post('/v1/contacts', { bogus: true }), 403);
    const after = await admin.get(`/v1/contacts/${contactId}`);
    expect(after.body.name).toBe('Scoped');
    expect((await admin.get('/v1/contacts/count')).body.count).toBe(1);
    expect((await admin.get(`/v1/contacts/${contactId}/notes`)).body.data).toEqual([]);
  });

  it('a read key cannot change settings or keys (403)', async () => {
    expectProblem(await reader.patch('/v1/workspace', { name: 'x' }), 403);
    expectProblem(await reader.get('/v1/keys'), 403);
    expectProblem(await reader.post('/v1/keys', { scopes: ['admin'] }), 403);
  });

  it('a write key writes contacts and notes', async () => {
    const c = await writer.post('/v1/contacts', { name: 'By writer' });
    expect(c.status).toBe(201);
    expect((await writer.patch(`/v1/contacts/${c.body.id}`, { company: 'W' })).status).toBe(200);
    expect((await writer.post(`/v1/contacts/${c.body.id}/notes`, { body: 'n' })).status).toBe(201);
    expect((await writer.delete(`/v1/contacts/${c.body.id}`)).status).toBe(204);
    expect((await writer.get('/v1/workspace')).status).toBe(200);
  });

  it('a write key cannot PATCH the workspace or use /v1/keys (403)', async () => {
    expectProblem(await writer.patch('/v1/workspace', { plan: 'free' }), 403);
    expectProblem(await writer.get('/v1/keys'), 403);
    expectProblem(await writer.post('/v1/keys', { scopes: ['admin'] }), 403);
    const keyId = (await admin.get('/v1/me')).body.key_id;
    expectProblem(await writer.delete(`/v1/keys/${keyId}`), 403);
    expect((await admin.get('/v1/me')).status).toBe(200);
    expect((await admin.get('/v1/workspace')).body.plan).toBe('enterprise');
  });
});

describe('workspace isolation', () => {
  let mine: Client;
  let theirs: Client;
  let theirContact: any;
  let theirKeyId: string;

  beforeAll(async () => {
    const a = await t.workspace('Theirs');
    const b = await t.workspace('Mine');
    theirs = client(t.url, a.key);
    mine = client(t.url, b.key);
    theirContact = (await theirs.post('/v1/contacts', { name: 'Secret Person', email: 'secret@theirs.example.com', phone: '+1 212 555 0142', tags: ['hidden-tag'] })).body;
    await theirs.post(`/v1/contacts/${theirContact.id}/notes`, { body: 'their note' });
    theirKeyId = (await theirs.get('/v1/me')).body.key_id;
    await mine.post('/v1/contacts', { name: 'My Person', tags: ['mine'] });
  });

  it("another workspace's contact is 404 on GET, PATCH, DELETE, notes and timeline, never 403", async () => {
    const id = theirContact.id as string;
    const unknown = await mine.get('/v1/contacts/ctc_doesnotexist0000');
    for (const res of [
      await mine.get(`/v1/contacts/${id}`),
      await mine.patch(`/v1/contacts/${id}`, { name: 'Hijacked' }),
      await mine.delete(`/v1/contacts/${id}`),
      await mine.get(`/v1/contacts/${id}/notes`),
      await mine.post(`/v1/contacts/${id}/notes`, { body: 'planted' }),
      await mine.get(`/v1/contacts/${id}/timeline`),
    ]) {
      expectProblem(res, 404);
      // Indistinguishable from an id that does not exist.
      expect(res.body.detail).toBe(unknown.body.detail);
      expect(JSON.stringify(res.body)).not.toContain('Secret Person');
    }
    const still = await theirs.get(`/v1/contacts/${id}`);
    expect(still.body).toEqual(theirContact);
    const notes = await theirs.get(`/v1/contacts/${id}/notes`);
    expect(notes.body.data.map((n: any) => n.body)).toEqual(['their note']);
  });

  it('never shows it in the list, the count, search or tags', async () => {
    const list = await mine.get('/v1/contacts?limit=200');
    expect(list.body.data.map((c: any) => c.name)).toEqual(['My Person']);
    expect((await mine.get('/v1/contacts/count')).body.count).toBe(1);
    expect((await mine.get('/v1/contacts?q=secret')).body.data).toEqual([]);
    expect((await mine.get(`/v1/contacts?q=${theirContact.id}`)).body.data).toEqual([]);
    expect((await mine.get('/v1/contacts/count?q=secret')).body.count).toBe(0);
    expect((await mine.get('/v1/contacts/count?tag=hidden-tag')).body.count).toBe(0);
    expect((await mine.get('/v1/tags')).body.data).toEqual([{ tag: 'mine', count: 1 }]);
    expect((await mine.get('/v1/tags?prefix=hid')).body.data).toEqual([]);
    expect((await mine.get('/v1/workspace')).body.usage.contacts).toBe(1);
  });

  it('does not reveal or touch it through duplicates or batch upserts', async () => {
    const dup = await mine.post('/v1/contacts', { email: 'SECRET@theirs.example.com', phone: '+12125550142' });
    expect(dup.status).toBe(201);
    expect(dup.body.id).not.toBe(theirContact.id);
    const batch = await mine.post('/v1/contacts/batch', { contacts: [{ email: 'secret@theirs.example.com', company: 'Overwritten?' }] });
    expect(batch.body.results[0]).toMatchObject({ status: 'updated', id: dup.body.id });
    expect((await theirs.get(`/v1/contacts/${theirContact.id}`)).body).toEqual(theirContact);
  });

  it("another workspace's key cannot be revoked (404)", async () => {
    expectProblem(await mine.delete(`/v1/keys/${theirKeyId}`), 404);
    expect((await theirs.get('/v1/me')).status).toBe(200);
    expect((await mine.get('/v1/keys')).body.data.map((k: any) => k.id)).not.toContain(theirKeyId);
  });
});
