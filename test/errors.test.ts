import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Answer, client, type Client, startTestServer, type TestServer } from './support/server.js';
import { expectProblem } from './support/problems.js';

let t: TestServer;
let api: Client;
let key: string;

beforeAll(async () => {
  t = await startTestServer();
  const ws = await t.workspace();
  key = ws.key;
  api = client(t.url, key);
});
afterAll(() => t.close());

/** A raw request: the body sent exactly as given, with the key unless `auth` is false. */
async function raw(method: string, path: string, opts: { body?: string; type?: string; auth?: boolean; headers?: Record<string, string> } = {}): Promise<Answer> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.auth !== false) headers.authorization ??= `Bearer ${key}`;
  if (opts.type) headers['content-type'] = opts.type;
  const res = await fetch(t.url + path, { method, headers, body: opts.body });
  const text = await res.text();
  let body: unknown = text;
  if (/json/.test(res.headers.get('content-type') ?? '') && text) body = JSON.parse(text);
  return { status: res.status, headers: res.headers, body };
}

function fieldsOf(res: Answer): string[] {
  return ((res.body.errors ?? []) as Array<{ field: string }>).map((e) => e.field);
}

async function count(c: Client = api): Promise<number> {
  return (await c.get('/v1/contacts/count')).body.count as number;
}

describe('problem documents', () => {
  it('every kind of error answers application/problem+json with type, title, status and detail', async () => {
    const existing = (await api.post('/v1/contacts', { email: 'problem@example.com' })).body;
    const reader = client(t.url, await (await t.workspace()).keyFor(['read']));
    const cases: Array<[number, Answer]> = [
      [400, await raw('POST', '/v1/contacts', { body: '{"name": ', type: 'application/json' })],
      [401, await raw('GET', '/v1/contacts', { auth: false })],
      [403, await reader.post('/v1/contacts', { name: 'x' })],
      [404, await api.get('/v1/contacts/ctc_doesnotexist0000')],
      [404, await api.get('/v1/no-such-thing')],
      [405, await api.call('PUT', '/v1/contacts', {})],
      [409, await api.post('/v1/contacts', { email: existing.email })],
      [413, await raw('POST', '/v1/contacts', { body: JSON.stringify({ name: 'x', metadata: { pad: 'p'.repeat(5 * 1024 * 1024) } }), type: 'application/json' })],
      [415, await raw('POST', '/v1/contacts', { body: 'name=x', type: 'text/plain' })],
      [422, await api.post('/v1/contacts', { name: 'x', bogus: 1 })],
    ];
    for (const [status, res] of cases) expectProblem(res, status);
  });
});

describe('request errors', () => {
  it.each([
    ['truncated JSON', '{"name": '],
    ['trailing garbage', '{"name": "x"} x'],
    ['single quotes', "{'name': 'x'}"],
    ['an empty body', ''],
  ])('malformed JSON (%s) is 400', async (_what, body) => {
    expectProblem(await raw('POST', '/v1/contacts', { body, type: 'application/json' }), 400);
    expectProblem(await raw('PATCH', '/v1/workspace', { body, type: 'application/json' }), 400);
  });

  it('an unknown route is 404, with or without credentials', async () => {
    expectProblem(await api.get('/v1/no-such-thing'), 404);
    expectProblem(await raw('GET', '/v1/no-such-thing', { auth: false }), 404);
    expectProblem(await api.get('/v2/contacts'), 404);
    expectProblem(await api.post('/v1/contacts/ctc_x/unknown-action', {}), 404);
  });

  it.each([
    ['PUT', '/v1/contacts', ['GET', 'POST']],
    ['DELETE', '/v1/contacts', ['GET', 'POST']],
    ['POST', '/v1/contacts/count', ['GET']],
    ['POST', '/v1/contacts/ctc_doesnotexist0000', ['GET', 'PATCH', 'DELETE']],
    ['PUT', '/v1/contacts/ctc_doesnotexist0000', ['GET', 'PATCH', 'DELETE']],
    ['GET', '/v1/contacts/batch', ['POST']],
    ['DELETE', '/v1/contacts/ctc_doesnotexist0000/notes', ['GET', 'POST']],
    ['PUT', '/v1/workspace', ['GET', 'PATCH']],
    ['PATCH', '/v1/keys', ['GET', 'POST']],
    ['POST', '/docs', ['GET']],
    ['DELETE', '/v1/openapi.json', ['GET']],
  ])('%s %s is 405 with an Allow header', async (method, path, allowed) => {
    const res = await api.call(method, path, method === 'GET' || method === 'DELETE' ? undefined : {});
    expectProblem(res, 405);
    const allow = (res.headers.get('allow') ?? '').split(',').map((m) => m.trim()).filter(Boolean);
    expect(allow.sort()).toEqual([...allowed].sort());
  });

  it.each([
    ['POST', '/v1/contacts', 'text/plain', 'name=x'],
    ['POST', '/v1/contacts', 'application/x-www-form-urlencoded', 'name=x'],
    ['POST', '/v1/contacts', 'application/xml', '<contact/>'],
    ['POST', '/v1/contacts/batch', 'text/csv', 'name\nx'],
    ['PATCH', '/v1/workspace', 'text/plain', '{"name":"x"}'],
  ])('%s %s with %s is 415', async (method, path, type, body) => {
    const before = await count();
    expectProblem(await raw(method, path, { body, type }), 415);
    expect(await count()).toBe(before);
  });

  it('a JSON body over 5 MiB is 413', async () => {
    const before = await count();
    const big = JSON.stringify({ name: 'Big', metadata: { pad: 'p'.repeat(5 * 1024 * 1024) } });
    expectProblem(await raw('POST', '/v1/contacts', { body: big, type: 'application/json' }), 413);
    const c = (await api.post('/v1/contacts', { name: 'Target' })).body;
    expectProblem(await raw('PATCH', `/v1/contacts/${c.id}`, { body: big, type: 'application/json' }), 413);
    expect(await count()).toBe(before + 1);
  });

  it('the batch endpoint takes a body over 5 MiB, up to 20 MiB', async () => {
    const ws = await t.workspace();
    const c = client(t.url, ws.key);
    // 1,000 contacts with 6 KiB of metadata each: about 6 MiB.
    const contacts = Array.from({ length: 1000 }, (_, i) => ({ name: `Bulk ${i}`, metadata: { pad: 'b'.repeat(6 * 1024) } }));
    const body = JSON.stringify({ contacts });
    expect(Buffer.byteLength(body)).toBeGreaterThan(5 * 1024 * 1024);
    expect(Buffer.byteLength(body)).toBeLessThan(20 * 1024 * 1024);
    const res = await raw('POST', '/v1/contacts/batch', { body, type: 'application/json', headers: { authorization: `Bearer ${ws.key}` } });
    expect(res.status, JSON.stringify(res.body).slice(0, 300)).toBe(200);
    expect(res.body.results.filter((r: any) => r.status === 'created')).toHaveLength(1000);
    expect(await count(c)).toBe(1000);

    const tooBig = JSON.stringify({ contacts: [{ name: 'x', metadata: { pad: 'z'.repeat(20 * 1024 * 1024) } }] });
    expectProblem(await raw('POST', '/v1/contacts/batch', { body: tooBig, type: 'application/json', headers: { authorization: `Bearer ${ws.key}` } }), 413);
    expect(await count(c)).toBe(1000);
  });

  it.each([
    ['POST', '/v1/contacts', { name: 'x', favourite_colour: 'blue' }, 'favourite_colour'],
    ['POST', '/v1/contacts', { name: 'x', Name: 'y' }, 'Name'],
    ['POST', '/v1/contacts/batch', { contacts: [{ name: 'x' }], dry_run: true }, 'dry_run'],
    ['POST', '/v1/contacts/notes-target/notes', { body: 'x', pinned: true }, 'pinned'],
    ['PATCH', '/v1/workspace', { colour: 'blue' }, 'colour'],
    ['POST', '/v1/keys', { scopes: ['read'], expires: 'never' }, 'expires'],
  ])('%s %s with an unknown field is 422 naming it', async (method, path, body, field) => {
    const target = path.includes('notes-target') ? path.replace('notes-target', (await api.post('/v1/contacts', { name: 'Notes target' })).body.id) : path;
    const res = await api.call(method, target, body);
    expectProblem(res, 422);
    expect(fieldsOf(res).some((f) => f === field || f.endsWith('.' + field))).toBe(true);
    expect(res.body.detail).toContain(field);
  });

  it('an unknown field inside a batch item is 422 naming it', async () => {
    const before = await count();
    const res = await api.post('/v1/contacts/batch', { contacts: [{ name: 'ok' }, { name: 'x', nickname: 'y' }] });
    expectProblem(res, 422);
    expect(fieldsOf(res).some((f) => f.endsWith('nickname'))).toBe(true);
    expect(await count()).toBe(before);
  });

  it.each([
    ['name', 123], ['email', true], ['phone', 15551234567], ['tags', 'lead'], ['tags', [1, 2]], ['metadata', 'plan=pro'],
    ['company', { a: 1 }], ['lifecycle_stage', 3],
  ])('a wrongly typed %s (%j) is 422 naming it', async (field, value) => {
    const before = await count();
    const res = await api.post('/v1/contacts', { name: 'Typed', [field]: value });
    expectProblem(res, 422);
    expect(fieldsOf(res).some((f) => f === field || f.startsWith(field + '.'))).toBe(true);
    expect(await count()).toBe(before);
  });

  it('a body that is not an object is 422, not 500', async () => {
    for (const body of ['[]', '"name"', '42', 'null', 'true']) {
      const res = await raw('POST', '/v1/contacts', { body, type: 'application/json' });
      expect([400, 422]).toContain(res.status);
      expectProblem(res, res.status);
    }
  });

  it('never answers 500 to random contact bodies', async () => {
    const fieldName = fc.oneof(
      fc.constantFrom('name', 'email', 'phone', 'company', 'source', 'page_url', 'ip_country', 'tags', 'metadata', 'lifecycle_stage'),
      fc.string({ maxLength: 12 }),
    );
    const value = fc.oneof(fc.string({ maxLength: 300 }), fc.string({ unit: 'binary', maxLength: 40 }), fc.jsonValue({ maxDepth: 3 }), fc.array(fc.string({ maxLength: 70 }), { maxLength: 60 }));
    await fc.assert(
      // Keys that JavaScript treats specially have a test of their own below.
      fc.asyncProperty(fc.dictionary(fieldName, value, { maxKeys: 6 }).filter((b) => !/"(__proto__|constructor|prototype)"/.test(JSON.stringify(b))), async (body) => {
        const res = await api.post('/v1/contacts', body);
        expect([201, 409, 422], JSON.stringify({ body, res: res.body }).slice(0, 500)).toContain(res.status);
        if (res.status !== 201) expectProblem(res, res.status);
      }),
      { numRuns: 150 },
    );
  });

  it('a valid JSON body with a "__proto__" field is an unknown field (422), not malformed JSON', async () => {
    const before = await count();
    const res = await raw('POST', '/v1/contacts', { body: '{"name": "Proto", "__proto__": {"admin": true}}', type: 'application/json' });
    expectProblem(res, 422);
    expect(fieldsOf(res)).toContain('__proto__');
    const ctor = await raw('POST', '/v1/contacts', { body: '{"name": "Ctor", "constructor": {"prototype": {"admin": true}}}', type: 'application/json' });
    expectProblem(ctor, 422);
    expect(fieldsOf(ctor)).toContain('constructor');
    expect(await count()).toBe(before);
  });

  it('metadata keys such as "__proto__" are stored or refused as metadata, never called malformed JSON', async () => {
    for (const body of ['{"name": "Meta proto", "metadata": {"__proto__": {"x": 1}}}', '{"name": "Meta ctor", "metadata": {"constructor": {"prototype": 1}}}']) {
      const res = await raw('POST', '/v1/contacts', { body, type: 'application/json' });
      if (res.status === 201) expect(JSON.stringify(res.body.metadata)).toMatch(/__proto__|constructor/);
      else {
        expectProblem(res, 422);
        expect(fieldsOf(res).some((f) => f.startsWith('metadata'))).toBe(true);
      }
    }
  });

  it('never answers 500 to random list parameters', async () => {
    const param = fc.constantFrom('q', 'source', 'created_from', 'created_to', 'last_seen_from', 'last_active', 'tag', 'conversation_count_min', 'has_email', 'lifecycle_stage', 'archived', 'sort', 'limit', 'cursor');
    await fc.assert(
      fc.asyncProperty(param, fc.oneof(fc.string({ maxLength: 40 }), fc.string({ unit: 'binary', maxLength: 20 })), async (name, value) => {
        const res = await api.get(`/v1/contacts?${name}=${encodeURIComponent(value)}`);
        expect([200, 422], `${name}=${JSON.stringify(value)}: ${JSON.stringify(res.body).slice(0, 300)}`).toContain(res.status);
        if (res.status === 422) expectProblem(res, 422);
      }),
      { numRuns: 150 },
    );
  });
});

describe('Idempotency-Key', () => {
  it('the same key and body answers the first response again and creates one contact', async () => {
    const ws = await t.workspace();
    const c = client(t.url, ws.key);
    const body = { name: 'Idem Potent', email: 'idem@example.com', tags: ['once'] };
    const first = await c.post('/v1/contacts', body, { 'idempotency-key': 'create-1' });
    expect(first.status).toBe(201);
    const second = await c.post('/v1/contacts', body, { 'idempotency-key': 'create-1' });
    expect(second.status).toBe(201);
    expect(second.body).toEqual(first.body);
    expect(second.headers.get('content-type')).toBe(first.headers.get('content-type'));
    expect(await count(c)).toBe(1);
    // Still the first response after the contact changed.
    await c.patch(`/v1/contacts/${first.body.id}`, { company: 'Changed' });
    const third = await c.post('/v1/contacts', body, { 'idempotency-key': 'create-1' });
    expect(third.body).toEqual(first.body);
    expect(await count(c)).toBe(1);
    // Without the key the same body is a new request: a duplicate.
    expect((await c.post('/v1/contacts', body)).status).toBe(409);
  });

  it('concurrent requests with one key create one contact', async () => {
    const ws = await t.workspace();
    const c = client(t.url, ws.key);
    const body = { name: 'Parallel', email: 'parallel@example.com' };
    const answers = await Promise.all(Array.from({ length: 8 }, () => c.post('/v1/contacts', body, { 'idempotency-key': 'parallel-1' })));
    const ok = answers.filter((a) => a.status === 201);
    expect(ok.length).toBeGreaterThanOrEqual(1);
    for (const a of answers) expect([201, 409]).toContain(a.status);
    for (const a of ok) expect(a.body).toEqual(ok[0]!.body);
    expect(await count(c)).toBe(1);
    // Once the first has finished, a retry gets its answer.
    const retry = await c.post('/v1/contacts', body, { 'idempotency-key': 'parallel-1' });
    expect(retry.status).toBe(201);
    expect(retry.body).toEqual(ok[0]!.body);
  });

  it('the same key with another body is 422 and does nothing', async () => {
    const ws = await t.workspace();
    const c = client(t.url, ws.key);
    expect((await c.post('/v1/contacts', { name: 'First body' }, { 'idempotency-key': 'k-2' })).status).toBe(201);
    const res = await c.post('/v1/contacts', { name: 'Second body' }, { 'idempotency-key': 'k-2' });
    expectProblem(res, 422);
    expect(await count(c)).toBe(1);
    expect((await c.get('/v1/contacts?q=Second')).body.data).toEqual([]);
  });

  it('a body with a password: the same password replays, another password is another body (422)', async () => {
    const ws = await t.workspace();
    const c = client(t.url, ws.key);
    const body = { email: `idem-member-${Date.now()}@example.com`, role: 'member', password: 'first long passphrase 1' };
    const first = await c.post('/v1/members', body, { 'idempotency-key': 'member-1' });
    expect(first.status, JSON.stringify(first.body)).toBe(201);
    const again = await c.post('/v1/members', body, { 'idempotency-key': 'member-1' });
    expect(again.status).toBe(201);
    expect(again.body).toEqual(first.body);
    expectProblem(await c.post('/v1/members', { ...body, password: 'second long passphrase 2' }, { 'idempotency-key': 'member-1' }), 422);
  });

  it('replays notes and batches too, doing nothing twice', async () => {
    const ws = await t.workspace();
    const c = client(t.url, ws.key);
    const contact = (await c.post('/v1/contacts', { name: 'Noted once' })).body;
    const n1 = await c.post(`/v1/contacts/${contact.id}/notes`, { body: 'once' }, { 'idempotency-key': 'note-1' });
    const n2 = await c.post(`/v1/contacts/${contact.id}/notes`, { body: 'once' }, { 'idempotency-key': 'note-1' });
    expect(n2.status).toBe(201);
    expect(n2.body).toEqual(n1.body);
    expect((await c.get(`/v1/contacts/${contact.id}/notes`)).body.data).toHaveLength(1);
    const batch = { contacts: [{ name: 'B1' }, { name: 'B2' }] };
    const b1 = await c.post('/v1/contacts/batch', batch, { 'idempotency-key': 'batch-1' });
    const b2 = await c.post('/v1/contacts/batch', batch, { 'idempotency-key': 'batch-1' });
    expect(b2.body).toEqual(b1.body);
    expect(await count(c)).toBe(3);
  });

  it('a replayed key creation does not repeat the secret and says it was shown', async () => {
    const ws = await t.workspace();
    const c = client(t.url, ws.key);
    const first = await c.post('/v1/keys', { name: 'Once', scopes: ['read'] }, { 'idempotency-key': 'key-1' });
    expect(first.status).toBe(201);
    const secret = first.body.key as string;
    expect(secret).toMatch(/^ck_/);
    const replay = await c.post('/v1/keys', { name: 'Once', scopes: ['read'] }, { 'idempotency-key': 'key-1' });
    expect(replay.status).toBeLessThan(300);
    expect(JSON.stringify(replay.body)).not.toContain(secret);
    expect(replay.body.id).toBe(first.body.id);
    // Only one key was made: the workspace's own and this one.
    expect((await c.get('/v1/keys')).body.data).toHaveLength(2);
    // The replay says the secret was shown instead of silently leaving it out.
    expect(JSON.stringify(replay.body)).toMatch(/shown/i);
  });
});
