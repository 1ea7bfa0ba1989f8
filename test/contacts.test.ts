import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Answer, client, type Client, manualClock, startTestServer, type TestServer } from './support/server.js';
import { expectInvalid } from './support/problems.js';

let t: TestServer;
let api: Client;
const clock = manualClock();

const ISO_MS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

beforeAll(async () => {
  t = await startTestServer({ clock });
  const ws = await t.workspace();
  api = client(t.url, ws.key);
});
afterAll(() => t.close());

/** A client on a workspace of its own, for tests that count or change settings. */
async function freshWorkspace(): Promise<Client> {
  const ws = await t.workspace();
  return client(t.url, ws.key);
}

async function create(c: Client, body: Record<string, unknown>): Promise<any> {
  const res = await c.post('/v1/contacts', body);
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body;
}

let uniq = 0;
const email = (tag = 'p') => `${tag}${++uniq}-${Date.now().toString(36)}@example.com`;

describe('POST /v1/contacts', () => {
  it('creates a contact with normalised fields and null for what is unset', async () => {
    const res = await api.post('/v1/contacts', { name: '  Sarah Johnson ', email: 'Sarah@Acme.com', phone: '+1 (555) 123-4567', tags: ['Lead', 'lead', 'VIP'] });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ name: 'Sarah Johnson', email: 'Sarah@Acme.com', phone: '+15551234567', company: null, source: 'api', tags: ['lead', 'vip'], metadata: {}, conversation_count: 0, lifecycle_stage: 'new', archived: false, page_url: null, ip_country: null });
    expect(res.body.id).toMatch(/^ctc_[0-9a-z]{24}$/);
    expect(res.body.first_seen).toBe(res.body.created_at);
    expect(res.body.last_seen).toBe(res.body.created_at);
    expect(res.body.created_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });

  it('answers 409 with existing_id for the same email in other letter case', async () => {
    const first = await api.post('/v1/contacts', { email: 'dup@example.com' });
    const again = await api.post('/v1/contacts', { email: 'DUP@Example.COM' });
    expect(again.status).toBe(409);
    expect(again.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(again.body.existing_id).toBe(first.body.id);
  });

  it('answers every field, with every unset string null rather than missing', async () => {
    const c = await create(api, { name: 'Only Name' });
    expect(Object.keys(c).sort()).toEqual([
      'archived', 'company', 'conversation_count', 'created_at', 'email', 'first_seen', 'id', 'ip_country', 'last_seen',
      'lifecycle_stage', 'metadata', 'name', 'page_url', 'phone', 'source', 'tags', 'updated_at',
    ]);
    for (const k of ['email', 'phone', 'company', 'page_url', 'ip_country']) expect(c[k]).toBeNull();
    expect(c.updated_at).toMatch(ISO_MS);
  });

  it('trims every input string', async () => {
    const e = email('trim');
    const c = await create(api, { name: '\t Ann Lee  ', email: `  ${e}  `, company: '  Acme Corp ', page_url: '  https://acme.com/pricing  ' });
    expect(c).toMatchObject({ name: 'Ann Lee', email: e, company: 'Acme Corp', page_url: 'https://acme.com/pricing' });
  });

  it('treats an empty or blank string as null', async () => {
    const c = await create(api, { name: 'Blank Fields', email: '', phone: '   ', company: '', page_url: '' });
    expect(c).toMatchObject({ name: 'Blank Fields', email: null, phone: null, company: null, page_url: null });
  });

  it('accepts name and company of 200 characters (characters, not bytes) and rejects 201', async () => {
    const ok = await create(api, { name: 'é'.repeat(200), company: 'c'.repeat(200) });
    expect(ok.name).toBe('é'.repeat(200));
    expect(ok.company).toBe('c'.repeat(200));
    // Trimming comes before the length check.
    const padded = await create(api, { name: '  ' + 'n'.repeat(200) + '  ' });
    expect(padded.name).toBe('n'.repeat(200));
    expectInvalid(await api.post('/v1/contacts', { name: 'n'.repeat(201) }), 'name');
    expectInvalid(await api.post('/v1/contacts', { name: 'ok', company: 'c'.repeat(201) }), 'company');
  });

  it('accepts an email of 254 characters and rejects 255', async () => {
    const domain = `${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(57)}.com`;
    const e254 = `${'a'.repeat(64)}@${domain}`;
    expect(e254.length).toBe(254);
    const ok = await create(api, { email: e254 });
    expect(ok.email).toBe(e254);
    const e255 = `${'a'.repeat(64)}@${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(58)}.com`;
    expect(e255.length).toBe(255);
    expectInvalid(await api.post('/v1/contacts', { email: e255 }), 'email');
  });

  it('accepts a page_url of 2,048 characters and rejects 2,049', async () => {
    const base = 'https://example.com/';
    const url2048 = base + 'p'.repeat(2048 - base.length);
    const ok = await create(api, { name: 'Long URL', page_url: url2048 });
    expect(ok.page_url).toBe(url2048);
    expectInvalid(await api.post('/v1/contacts', { name: 'Long URL', page_url: url2048 + 'p' }), 'page_url');
  });

  it.each(['not-an-email', 'a@b', 'two words@example.com', 'x@@example.com', '@example.com'])('rejects the invalid email %j with 422', async (bad) => {
    expectInvalid(await api.post('/v1/contacts', { email: bad }), 'email');
  });

  it('normalises phone numbers to E.164', async () => {
    const uk = await create(api, { phone: '+44 20 7946 0958' });
    expect(uk.phone).toBe('+442079460958');
    const us = await create(api, { phone: '+1 (212) 555-0100' });
    expect(us.phone).toBe('+12125550100');
  });

  it.each(['+1 555 12', '+49 1', '+999 1234567', 'call me', '+'])('rejects the impossible phone %j with 422', async (bad) => {
    expectInvalid(await api.post('/v1/contacts', { name: 'Phone', phone: bad }), 'phone');
  });

  it('rejects a number without + until the workspace has a default_phone_region, then reads it in that region', async () => {
    const ws = await t.workspace();
    const c = client(t.url, ws.key);
    const before = await c.post('/v1/contacts', { phone: '030 12345678' });
    expectInvalid(before, 'phone', /default_phone_region/);
    // An international prefix such as 00 differs by region: without a region it is a number without +.
    expectInvalid(await c.post('/v1/contacts', { phone: '0015551234567' }), 'phone', /default_phone_region/);
    expect((await c.get('/v1/contacts/count')).body.count).toBe(0);
    // A + inside brackets is still a country code.
    expect((await create(c, { phone: '(+44) 7700-900-987' })).phone).toBe('+447700900987');

    const set = await c.patch('/v1/workspace', { default_phone_region: 'DE' });
    expect(set.status).toBe(200);
    expect(set.body.default_phone_region).toBe('DE');

    const after = await create(c, { phone: '030 12345678' });
    expect(after.phone).toBe('+493012345678');
    // In Germany 00 starts an international number; in the US that is 011.
    expect((await create(c, { phone: '00 1 212 555 0199' })).phone).toBe('+12125550199');
    await c.patch('/v1/workspace', { default_phone_region: 'US' });
    expect((await create(c, { phone: '011 44 20 7946 0958' })).phone).toBe('+442079460958');
    await c.patch('/v1/workspace', { default_phone_region: 'DE' });
    // A number with + keeps its own country code.
    expect((await create(c, { phone: '+1 212 555 0101' })).phone).toBe('+12125550101');
  });

  it('lowercases tags and keeps each once', async () => {
    const c = await create(api, { name: 'Tagged', tags: ['Lead', ' VIP ', 'lead', 'ViP', 'enterprise'] });
    expect(c.tags).toEqual(['lead', 'vip', 'enterprise']);
  });

  it('accepts 50 tags of 64 characters and rejects 51 tags or a tag of 65', async () => {
    const fifty = Array.from({ length: 50 }, (_, i) => `t${i}`.padEnd(64, 'x'));
    const ok = await create(api, { name: 'Many tags', tags: fifty });
    expect(ok.tags).toHaveLength(50);
    expectInvalid(await api.post('/v1/contacts', { name: 'Too many', tags: [...fifty, 'one-more'] }), 'tags');
    expectInvalid(await api.post('/v1/contacts', { name: 'Too long', tags: ['x'.repeat(65)] }), 'tags');
  });

  it('rejects a tag holding a comma (a comma separates tags in filters and CSV cells); the tag filter trims', async () => {
    expectInvalid(await api.post('/v1/contacts', { name: 'Comma tag', tags: ['a,b'] }), 'tags');
    const c = await create(api, { name: 'Spaced tag', tags: ['spaced-filter'] });
    expectInvalid(await api.patch(`/v1/contacts/${c.id}`, { tags: ['ok', 'x, y'] }), 'tags');
    const found = await api.get('/v1/contacts?tag=%20Spaced-Filter%20');
    expect(found.body.data.map((x: { id: string }) => x.id)).toEqual([c.id]);
  });

  it('accepts metadata of 16 KiB serialised and rejects one byte more', async () => {
    // {"k":"..."} is 8 bytes around the value.
    const exact = { k: 'm'.repeat(16 * 1024 - 8) };
    expect(Buffer.byteLength(JSON.stringify(exact))).toBe(16 * 1024);
    const ok = await create(api, { name: 'Meta', metadata: exact });
    expect(ok.metadata).toEqual(exact);
    expectInvalid(await api.post('/v1/contacts', { name: 'Meta', metadata: { k: 'm'.repeat(16 * 1024 - 7) } }), 'metadata');
    expectInvalid(await api.post('/v1/contacts', { name: 'Meta', metadata: [1, 2] }), 'metadata');
  });

  it('needs at least one of name, email, phone', async () => {
    const ws = await freshWorkspace();
    expect((await ws.post('/v1/contacts', { company: 'Acme', tags: ['x'] })).status).toBe(422);
    expect((await ws.post('/v1/contacts', { name: '  ', email: '', phone: null, company: 'Acme' })).status).toBe(422);
    expect((await ws.post('/v1/contacts', {})).status).toBe(422);
    expect((await ws.get('/v1/contacts/count')).body.count).toBe(0);
    expect((await create(ws, { phone: '+15551234567' })).phone).toBe('+15551234567');
    expect((await create(ws, { email: email('only') })).email).toMatch(/@example\.com$/);
  });

  it('defaults source to api and takes a custom lowercase word', async () => {
    expect((await create(api, { name: 'No source' })).source).toBe('api');
    expect((await create(api, { name: 'Null source', source: null })).source).toBe('api');
    expect((await create(api, { name: 'Widget', source: 'widget' })).source).toBe('widget');
    expect((await create(api, { name: 'Custom', source: 'zapier_v2-x' })).source).toBe('zapier_v2-x');
    expect((await create(api, { name: 'Custom32', source: 's'.repeat(32) })).source).toBe('s'.repeat(32));
    expectInvalid(await api.post('/v1/contacts', { name: 'Bad', source: 'two words' }), 'source');
    expectInvalid(await api.post('/v1/contacts', { name: 'Bad', source: 's'.repeat(33) }), 'source');
    expectInvalid(await api.post('/v1/contacts', { name: 'Bad', source: 'ünïcode' }), 'source');
  });

  it('rejects writing read-only fields on create', async () => {
    for (const field of ['id', 'first_seen', 'last_seen', 'conversation_count', 'created_at', 'updated_at']) {
      const value = field === 'conversation_count' ? 3 : field === 'id' ? 'ctc_mine' : '2020-01-01T00:00:00.000Z';
      expectInvalid(await api.post('/v1/contacts', { name: 'RO', [field]: value }), field, /read-only/);
    }
  });
});

describe('duplicates', () => {
  it('answers 409 with existing_id for the same E.164 phone written differently', async () => {
    const first = await create(api, { name: 'Phone One', phone: '+1 (555) 987-6543' });
    const again = await api.post('/v1/contacts', { name: 'Phone Two', phone: '+15559876543' });
    expect(again.status).toBe(409);
    expect(again.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(again.body).toMatchObject({ status: 409, existing_id: first.id });
  });

  it('does not create the duplicate', async () => {
    const ws = await freshWorkspace();
    const e = email('once');
    await create(ws, { email: e });
    expect((await ws.post('/v1/contacts', { email: e.toUpperCase(), name: 'Again' })).status).toBe(409);
    expect((await ws.get('/v1/contacts/count')).body.count).toBe(1);
  });

  it('concurrent creates of one email give one 201 and 409s naming it, never a 500', async () => {
    const ws = await freshWorkspace();
    const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => ws.post('/v1/contacts', { name: `Racer ${i}`, email: i % 2 ? 'RACE@example.com' : 'race@example.com' })));
    const created = answers.filter((a) => a.status === 201);
    expect(answers.map((a) => a.status).sort()).toEqual([201, ...Array<number>(9).fill(409)]);
    for (const a of answers.filter((x) => x.status === 409)) expect(a.body.existing_id).toBe(created[0]!.body.id);
    expect((await ws.get('/v1/contacts/count')).body.count).toBe(1);
  });

  it('concurrent batches upserting the same people never fail and never duplicate', async () => {
    const ws = await freshWorkspace();
    const people = Array.from({ length: 20 }, (_, i) => ({ email: `same${i}@race.example.com`, name: `Same ${i}` }));
    const answers = await Promise.all(Array.from({ length: 6 }, () => ws.post('/v1/contacts/batch', { contacts: people })));
    for (const a of answers) {
      expect(a.status, JSON.stringify(a.body).slice(0, 300)).toBe(200);
      expect(a.body.results.every((r: any) => r.status === 'created' || r.status === 'updated')).toBe(true);
    }
    expect((await ws.get('/v1/contacts/count')).body.count).toBe(20);
  });

  it('lets another workspace hold the same email and phone', async () => {
    const e = email('shared');
    await create(api, { email: e, phone: '+1 212 555 0199' });
    const other = await freshWorkspace();
    expect((await other.post('/v1/contacts', { email: e, phone: '+12125550199' })).status).toBe(201);
  });
});

describe('GET /v1/contacts/{id}', () => {
  it('answers the contact as created', async () => {
    const c = await create(api, { name: 'Getter', email: email('get'), tags: ['a'], metadata: { plan: 'pro' }, ip_country: 'de' });
    const res = await api.get(`/v1/contacts/${c.id}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(res.body).toEqual(c);
    expect(res.body.ip_country).toBe('DE');
  });

  it('answers 404 problem for an unknown id', async () => {
    const res = await api.get('/v1/contacts/ctc_doesnotexist0000');
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(res.body.status).toBe(404);
  });
});

describe('PATCH /v1/contacts/{id}', () => {
  it('sets the fields present and leaves the others', async () => {
    const c = await create(api, { name: 'Before', email: email('patch'), company: 'Old Co', tags: ['keep'] });
    clock.advance(1000);
    const res = await api.patch(`/v1/contacts/${c.id}`, { name: '  After  ', page_url: 'https://x.com/a' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: c.id, name: 'After', email: c.email, company: 'Old Co', tags: ['keep'], page_url: 'https://x.com/a', source: 'api' });
    expect(res.body.created_at).toBe(c.created_at);
    expect(Date.parse(res.body.updated_at)).toBeGreaterThan(Date.parse(c.updated_at));
    expect((await api.get(`/v1/contacts/${c.id}`)).body).toEqual(res.body);
  });

  it('clears a field given null (and "")', async () => {
    const c = await create(api, { name: 'Clear Me', email: email('clear'), company: 'Co', page_url: 'https://a.com' });
    const res = await api.patch(`/v1/contacts/${c.id}`, { email: null, company: null, page_url: '' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ name: 'Clear Me', email: null, company: null, page_url: null });
  });

  it('refuses to clear the last of name, email and phone', async () => {
    const c = await create(api, { name: 'Only Name Left' });
    expect((await api.patch(`/v1/contacts/${c.id}`, { name: null })).status).toBe(422);
    expect((await api.get(`/v1/contacts/${c.id}`)).body.name).toBe('Only Name Left');
  });

  it('replaces tags', async () => {
    const c = await create(api, { name: 'Tags', tags: ['a', 'b'] });
    const res = await api.patch(`/v1/contacts/${c.id}`, { tags: ['C', 'a'] });
    expect(res.body.tags).toEqual(['c', 'a']);
    const cleared = await api.patch(`/v1/contacts/${c.id}`, { tags: [] });
    expect(cleared.body.tags).toEqual([]);
  });

  it('merges metadata as an RFC 7396 merge patch, nested null deleting', async () => {
    const c = await create(api, { name: 'Meta', metadata: { a: 1, b: { c: 1, d: 2, deep: { x: 1, y: 2 } }, e: [1, 2], keep: 'yes' } });
    const res = await api.patch(`/v1/contacts/${c.id}`, { metadata: { a: null, b: { c: null, x: 3, deep: { y: null } }, e: [3], f: 'new' } });
    expect(res.status).toBe(200);
    expect(res.body.metadata).toEqual({ b: { d: 2, x: 3, deep: { x: 1 } }, e: [3], keep: 'yes', f: 'new' });
    // A non-object value replaces an object, an object replaces a scalar.
    const again = await api.patch(`/v1/contacts/${c.id}`, { metadata: { b: 'flat', keep: { now: 'object' } } });
    expect(again.body.metadata).toEqual({ b: 'flat', e: [3], keep: { now: 'object' }, f: 'new' });
    expect((await api.get(`/v1/contacts/${c.id}`)).body.metadata).toEqual(again.body.metadata);
  });

  it('rejects a merge that would make metadata larger than 16 KiB', async () => {
    const c = await create(api, { name: 'Big meta', metadata: { a: 'x'.repeat(9000) } });
    expectInvalid(await api.patch(`/v1/contacts/${c.id}`, { metadata: { b: 'y'.repeat(9000) } }), 'metadata');
    expect((await api.get(`/v1/contacts/${c.id}`)).body.metadata).toEqual({ a: 'x'.repeat(9000) });
  });

  it.each([
    ['id', 'ctc_other'], ['source', 'widget'], ['first_seen', '2020-01-01T00:00:00.000Z'], ['last_seen', '2020-01-01T00:00:00.000Z'],
    ['conversation_count', 5], ['created_at', '2020-01-01T00:00:00.000Z'], ['updated_at', '2020-01-01T00:00:00.000Z'],
  ])('rejects the read-only field %s with 422 "read-only"', async (field, value) => {
    const c = await create(api, { name: 'Read only' });
    expectInvalid(await api.patch(`/v1/contacts/${c.id}`, { [field]: value }), field, /read-only/);
    expect((await api.get(`/v1/contacts/${c.id}`)).body).toEqual(c);
  });

  it("answers 409 when given another contact's email or phone", async () => {
    const a = await create(api, { email: email('holder'), phone: '+1 212 555 0177' });
    const b = await create(api, { name: 'Taker' });
    const byEmail = await api.patch(`/v1/contacts/${b.id}`, { email: a.email.toUpperCase() });
    expect(byEmail.status).toBe(409);
    expect(byEmail.body.existing_id).toBe(a.id);
    const byPhone = await api.patch(`/v1/contacts/${b.id}`, { phone: '+12125550177' });
    expect(byPhone.status).toBe(409);
    expect(byPhone.body.existing_id).toBe(a.id);
    expect((await api.get(`/v1/contacts/${b.id}`)).body).toMatchObject({ email: null, phone: null });
    // Its own email in another letter case is not a conflict.
    expect((await api.patch(`/v1/contacts/${a.id}`, { email: a.email.toUpperCase() })).status).toBe(200);
  });

  it('validates like create', async () => {
    const c = await create(api, { name: 'Validate' });
    expectInvalid(await api.patch(`/v1/contacts/${c.id}`, { email: 'nope' }), 'email');
    expectInvalid(await api.patch(`/v1/contacts/${c.id}`, { phone: '+1 555 12' }), 'phone');
    expectInvalid(await api.patch(`/v1/contacts/${c.id}`, { name: 'n'.repeat(201) }), 'name');
    expectInvalid(await api.patch(`/v1/contacts/${c.id}`, { lifecycle_stage: 'vip' }), 'lifecycle_stage');
  });

  it('sets lifecycle_stage, and null returns it to the derived stage', async () => {
    const c = await create(api, { name: 'Stage' });
    expect(c.lifecycle_stage).toBe('new');
    expect((await api.patch(`/v1/contacts/${c.id}`, { lifecycle_stage: 'qualified' })).body.lifecycle_stage).toBe('qualified');
    expect((await api.get(`/v1/contacts/${c.id}`)).body.lifecycle_stage).toBe('qualified');
    expect((await api.patch(`/v1/contacts/${c.id}`, { lifecycle_stage: null })).body.lifecycle_stage).toBe('new');
  });

  it('takes application/merge-patch+json as well', async () => {
    const c = await create(api, { name: 'Merge type', metadata: { a: 1, b: 2 } });
    const res = await api.call('PATCH', `/v1/contacts/${c.id}`, { metadata: { a: null } }, { 'content-type': 'application/merge-patch+json' });
    expect(res.status).toBe(200);
    expect(res.body.metadata).toEqual({ b: 2 });
  });

  it('answers 404 for an unknown id', async () => {
    const res = await api.patch('/v1/contacts/ctc_doesnotexist0000', { name: 'x' });
    expect(res.status).toBe(404);
  });
});

describe('DELETE /v1/contacts/{id}', () => {
  it('answers 204, then 404, and removes notes, tags and events with it', async () => {
    const ws = await freshWorkspace();
    const e = email('gone');
    const c = await create(ws, { name: 'Gone', email: e, tags: ['doomed'] });
    expect((await ws.post(`/v1/contacts/${c.id}/notes`, { body: 'remember me' })).status).toBe(201);
    await ws.patch(`/v1/contacts/${c.id}`, { company: 'Gone Co' });

    const del = await ws.delete(`/v1/contacts/${c.id}`);
    expect(del.status).toBe(204);
    expect(del.body).toBe('');

    expect((await ws.get(`/v1/contacts/${c.id}`)).status).toBe(404);
    expect((await ws.patch(`/v1/contacts/${c.id}`, { name: 'x' })).status).toBe(404);
    expect((await ws.delete(`/v1/contacts/${c.id}`)).status).toBe(404);
    expect((await ws.get(`/v1/contacts/${c.id}/notes`)).status).toBe(404);
    // The contact.deleted event is not readable through the deleted contact's timeline.
    expect((await ws.get(`/v1/contacts/${c.id}/timeline`)).status).toBe(404);
    expect((await ws.get('/v1/contacts/count')).body.count).toBe(0);
    expect((await ws.get('/v1/tags')).body.data).toEqual([]);

    const db = t.server.services.deps.store.db;
    expect(await db.selectFrom('notes').select('id').where('contact_id', '=', c.id).execute()).toEqual([]);
    expect(await db.selectFrom('contact_tags').select('tag').where('contact_id', '=', c.id).execute()).toEqual([]);
    const left = await db.selectFrom('events').select(['type', 'data']).where('contact_id', '=', c.id).execute();
    // What remains is the single contact.deleted record, holding only the id and deleted_at.
    expect(left.map((r) => r.type)).toEqual(['contact.deleted']);
    const data = JSON.parse(left[0]!.data) as Record<string, unknown>;
    expect(Object.keys(data).sort()).toEqual(['deleted_at', 'id']);
    expect(data.id).toBe(c.id);
    expect(JSON.stringify(left)).not.toContain(e);

    // The email is free again.
    expect((await ws.post('/v1/contacts', { email: e })).status).toBe(201);
  });

  it('answers 404 for an unknown id', async () => {
    expect((await api.delete('/v1/contacts/ctc_doesnotexist0000')).status).toBe(404);
  });
});

describe('POST /v1/contacts/batch', () => {
  it('takes up to 1,000 contacts and answers 422 for 1,001', async () => {
    const ws = await freshWorkspace();
    const items = (n: number) => Array.from({ length: n }, (_, i) => ({ name: `Batch ${i}`, email: `batch${i}@bulk.example.com` }));
    const tooMany = await ws.post('/v1/contacts/batch', { contacts: items(1001) });
    expect(tooMany.status).toBe(422);
    expect(tooMany.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect((await ws.get('/v1/contacts/count')).body.count).toBe(0);

    const ok = await ws.post('/v1/contacts/batch', { contacts: items(1000) });
    expect(ok.status).toBe(200);
    expect(ok.body.results).toHaveLength(1000);
    expect(ok.body.results.every((r: any, i: number) => r.index === i && r.status === 'created' && /^ctc_/.test(r.id) && r.error === null)).toBe(true);
    expect(new Set(ok.body.results.map((r: any) => r.id)).size).toBe(1000);
    expect((await ws.get('/v1/contacts/count')).body.count).toBe(1000);
    expect((await ws.post('/v1/contacts/batch', { contacts: [] })).status).toBe(422);
  });

  it('answers created, updated or error per item, in order', async () => {
    const ws = await freshWorkspace();
    const existing = await create(ws, { name: 'Existing', email: 'Existing@Batch.example.com' });
    const res = await ws.post('/v1/contacts/batch', {
      contacts: [
        { name: 'Brand New', email: 'new@batch.example.com' },
        { email: 'EXISTING@batch.EXAMPLE.com', company: 'Found Co' },
        { email: 'not an email' },
        { company: 'No identity' },
      ],
    });
    expect(res.status).toBe(200);
    const [created, updated, bad, noId] = res.body.results;
    expect(created).toMatchObject({ index: 0, status: 'created', error: null });
    expect(created.id).toMatch(/^ctc_/);
    expect(updated).toEqual({ index: 1, status: 'updated', id: existing.id, error: null });
    expect(bad).toMatchObject({ index: 2, status: 'error', id: null });
    expect(bad.error).toMatch(/email/);
    expect(noId).toMatchObject({ index: 3, status: 'error', id: null });
    expect(typeof noId.error).toBe('string');

    const after = (await ws.get(`/v1/contacts/${existing.id}`)).body;
    // An update behaves as PATCH: the email given is set as given (it matched case-insensitively).
    expect(after).toMatchObject({ name: 'Existing', email: 'EXISTING@batch.EXAMPLE.com', company: 'Found Co' });
    expect((await ws.get(`/v1/contacts/${created.id}`)).body).toMatchObject({ name: 'Brand New', source: 'api' });
    expect((await ws.get('/v1/contacts/count')).body.count).toBe(2);
  });

  it('matches by email first, then by phone, and never moves a phone held by another contact', async () => {
    const ws = await freshWorkspace();
    const phoneHolder = await create(ws, { name: 'Phone Holder', phone: '+1 212 555 0110' });
    const emailHolder = await create(ws, { name: 'Email Holder', email: 'holder@batch.example.com' });
    const res = await ws.post('/v1/contacts/batch', {
      contacts: [
        // Both keys given, held by two contacts: the email wins; the phone stays where it is.
        { email: 'HOLDER@batch.example.com', phone: '+12125550110', company: 'Matched by email' },
        // Only the phone: found by phone.
        { phone: '+1 (212) 555-0110', company: 'Matched by phone' },
      ],
    });
    expect(res.status).toBe(200);
    expect(res.body.results.map((r: any) => [r.status, r.id])).toEqual([['updated', emailHolder.id], ['updated', phoneHolder.id]]);
    expect((await ws.get(`/v1/contacts/${emailHolder.id}`)).body).toMatchObject({ phone: null, company: 'Matched by email' });
    expect((await ws.get(`/v1/contacts/${phoneHolder.id}`)).body).toMatchObject({ phone: '+12125550110', company: 'Matched by phone' });
    expect((await ws.get('/v1/contacts/count')).body.count).toBe(2);
  });

  it('updates an earlier item of the same batch with the same email', async () => {
    const ws = await freshWorkspace();
    const res = await ws.post('/v1/contacts/batch', { contacts: [{ email: 'twice@batch.example.com', name: 'First' }, { email: 'Twice@Batch.example.com', company: 'Second' }] });
    expect(res.body.results[0].status).toBe('created');
    expect(res.body.results[1]).toMatchObject({ status: 'updated', id: res.body.results[0].id });
    expect((await ws.get(`/v1/contacts/${res.body.results[0].id}`)).body).toMatchObject({ name: 'First', company: 'Second' });
    expect((await ws.get('/v1/contacts/count')).body.count).toBe(1);
  });

  it('on update replaces tags, merges metadata and ignores source', async () => {
    const ws = await freshWorkspace();
    const c = await create(ws, { email: 'upd@batch.example.com', source: 'widget', tags: ['old', 'keep'], metadata: { a: 1, nested: { x: 1, y: 2 } } });
    const res = await ws.post('/v1/contacts/batch', { contacts: [{ email: 'upd@batch.example.com', source: 'zapier', tags: ['New'], metadata: { b: 2, nested: { y: null } } }] });
    expect(res.body.results[0]).toMatchObject({ status: 'updated', id: c.id });
    const after = (await ws.get(`/v1/contacts/${c.id}`)).body;
    expect(after.source).toBe('widget');
    expect(after.tags).toEqual(['new']);
    expect(after.metadata).toEqual({ a: 1, b: 2, nested: { x: 1 } });
    expect((await ws.get('/v1/tags')).body.data).toEqual([{ tag: 'new', count: 1 }]);
  });

  it('uses source on create', async () => {
    const ws = await freshWorkspace();
    const res = await ws.post('/v1/contacts/batch', { contacts: [{ name: 'S', source: 'whatsapp' }, { name: 'D' }] });
    expect((await ws.get(`/v1/contacts/${res.body.results[0].id}`)).body.source).toBe('whatsapp');
    expect((await ws.get(`/v1/contacts/${res.body.results[1].id}`)).body.source).toBe('api');
  });

  it('rejects historical fields without historical: true', async () => {
    const ws = await freshWorkspace();
    for (const [field, value] of [['created_at', '2020-01-01T00:00:00Z'], ['first_seen', '2020-01-01T00:00:00Z'], ['last_seen', '2020-01-01T00:00:00Z'], ['conversation_count', 3]] as const) {
      const res = await ws.post('/v1/contacts/batch', { contacts: [{ name: `Hist ${field}`, [field]: value }] });
      expect(res.status).toBe(200);
      expect(res.body.results[0]).toMatchObject({ index: 0, status: 'error', id: null });
      expect(res.body.results[0].error).toContain(field);
    }
    expect((await ws.get('/v1/contacts/count')).body.count).toBe(0);
  });

  it('needs the admin scope for historical: true', async () => {
    const ws = await t.workspace();
    const writer = client(t.url, await ws.keyFor(['write']));
    const res = await writer.post('/v1/contacts/batch', { historical: true, contacts: [{ name: 'Migrated', conversation_count: 2 }] });
    expect(res.status).toBe(403);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect((await writer.get('/v1/contacts/count')).body.count).toBe(0);
  });

  it('keeps the historical baseline as given', async () => {
    const ws = await freshWorkspace();
    const res = await ws.post('/v1/contacts/batch', {
      historical: true,
      contacts: [
        { name: 'Old Timer', email: 'old@batch.example.com', created_at: '2021-05-01T08:00:00Z', first_seen: '2021-05-02T09:30:00.250Z', last_seen: '2024-01-10T12:00:00+02:00', conversation_count: 7 },
        { name: 'Only Created', created_at: '2022-02-02T02:02:02.002Z' },
      ],
    });
    expect(res.status).toBe(200);
    expect(res.body.results.map((r: any) => r.status)).toEqual(['created', 'created']);
    const old = (await ws.get(`/v1/contacts/${res.body.results[0].id}`)).body;
    expect(old).toMatchObject({
      created_at: '2021-05-01T08:00:00.000Z', first_seen: '2021-05-02T09:30:00.250Z', last_seen: '2024-01-10T10:00:00.000Z',
      conversation_count: 7, lifecycle_stage: 'returning',
    });
    const onlyCreated = (await ws.get(`/v1/contacts/${res.body.results[1].id}`)).body;
    expect(onlyCreated).toMatchObject({ created_at: '2022-02-02T02:02:02.002Z', first_seen: '2022-02-02T02:02:02.002Z', conversation_count: 0 });

    // An update in historical mode sets the baseline of an existing contact.
    const existing = await create(ws, { email: 'existing-hist@batch.example.com' });
    const upd = await ws.post('/v1/contacts/batch', { historical: true, contacts: [{ email: 'existing-hist@batch.example.com', created_at: '2019-01-01T00:00:00.000Z', conversation_count: 1 }] });
    expect(upd.body.results[0]).toMatchObject({ status: 'updated', id: existing.id });
    expect((await ws.get(`/v1/contacts/${existing.id}`)).body).toMatchObject({ created_at: '2019-01-01T00:00:00.000Z', conversation_count: 1 });

    const bad = await ws.post('/v1/contacts/batch', { historical: true, contacts: [{ name: 'Bad time', created_at: 'yesterday' }, { name: 'Year minus one', created_at: '0000-01-01T00:00:00+01:00' }] });
    expect(bad.body.results.map((r: any) => [r.status, r.id])).toEqual([['error', null], ['error', null]]);
    expect(bad.body.results[1].error).toMatch(/^created_at/);
  });
});

describe('notes', () => {
  it('adds a note: 201 {id, body, author, created_at}', async () => {
    const c = await create(api, { name: 'Noted' });
    const me = (await api.get('/v1/me')).body;
    const res = await api.post(`/v1/contacts/${c.id}/notes`, { body: '  High-priority lead, follow up by Friday  ' });
    expect(res.status).toBe(201);
    expect(Object.keys(res.body).sort()).toEqual(['author', 'body', 'created_at', 'id']);
    expect(res.body.id).toMatch(/^nte_[0-9a-z]{16,}$/);
    expect(res.body.body).toBe('High-priority lead, follow up by Friday');
    expect(res.body.created_at).toMatch(ISO_MS);
    expect(res.body.author).toMatchObject({ type: 'api_key', id: me.key_id });
  });

  it('lists notes newest first, with cursor pagination', async () => {
    const c = await create(api, { name: 'Many notes' });
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      clock.advance(1000);
      ids.push((await api.post(`/v1/contacts/${c.id}/notes`, { body: `note ${i}` })).body.id);
    }
    const all = await api.get(`/v1/contacts/${c.id}/notes`);
    expect(all.status).toBe(200);
    expect(all.body.data.map((n: any) => n.body)).toEqual(['note 4', 'note 3', 'note 2', 'note 1', 'note 0']);
    expect(all.body).toMatchObject({ has_more: false, next_cursor: null });

    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: Answer = await api.get(`/v1/contacts/${c.id}/notes?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      expect(page.status).toBe(200);
      expect(page.body.data.length).toBeLessThanOrEqual(2);
      seen.push(...page.body.data.map((n: any) => n.id));
      expect(page.body.has_more).toBe(page.body.next_cursor !== null);
      cursor = page.body.next_cursor;
      pages++;
    } while (cursor && pages < 10);
    expect(pages).toBe(3);
    expect(seen).toEqual([...ids].reverse());
  });

  it('rejects an empty note and one over 10,000 characters', async () => {
    const c = await create(api, { name: 'Note limits' });
    expectInvalid(await api.post(`/v1/contacts/${c.id}/notes`, { body: '' }), 'body');
    expectInvalid(await api.post(`/v1/contacts/${c.id}/notes`, { body: '   \n ' }), 'body');
    expectInvalid(await api.post(`/v1/contacts/${c.id}/notes`, { body: 'x'.repeat(10_001) }), 'body');
    expect((await api.post(`/v1/contacts/${c.id}/notes`, { body: 'é'.repeat(10_000) })).status).toBe(201);
    expect((await api.get(`/v1/contacts/${c.id}/notes`)).body.data).toHaveLength(1);
  });

  it('rejects invalid pagination parameters with 422', async () => {
    const c = await create(api, { name: 'Paged' });
    for (const path of [`/v1/contacts/${c.id}/notes`, `/v1/contacts/${c.id}/timeline`]) {
      for (const qs of ['limit=0', 'limit=201', 'limit=abc', 'cursor=not-a-cursor', 'bogus=1']) {
        const res = await api.get(`${path}?${qs}`);
        expect(res.status, `${path}?${qs}`).toBe(422);
        expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      }
      expect((await api.get(`${path}?limit=200`)).status).toBe(200);
    }
  });

  it('answers 404 for notes of an unknown contact', async () => {
    expect((await api.get('/v1/contacts/ctc_doesnotexist0000/notes')).status).toBe(404);
    expect((await api.post('/v1/contacts/ctc_doesnotexist0000/notes', { body: 'x' })).status).toBe(404);
  });
});

describe('timeline', () => {
  it('lists contact.created, contact.updated and note.added, newest first', async () => {
    const c = await create(api, { name: 'History' });
    clock.advance(1000);
    await api.patch(`/v1/contacts/${c.id}`, { company: 'Later Co' });
    clock.advance(1000);
    const note = (await api.post(`/v1/contacts/${c.id}/notes`, { body: 'A note' })).body;

    const res = await api.get(`/v1/contacts/${c.id}/timeline`);
    expect(res.status).toBe(200);
    expect(res.body.data.map((e: any) => e.type)).toEqual(['note.added', 'contact.updated', 'contact.created']);
    expect(res.body).toMatchObject({ has_more: false, next_cursor: null });
    for (const e of res.body.data) {
      expect(Object.keys(e).sort()).toEqual(['actor', 'data', 'id', 'occurred_at', 'type']);
      expect(e.id).toMatch(/^evt_/);
      expect(e.occurred_at).toMatch(ISO_MS);
      expect(e.actor).toMatchObject({ type: 'api_key' });
    }
    const [added, updated, created] = res.body.data;
    expect(Date.parse(added.occurred_at)).toBeGreaterThan(Date.parse(updated.occurred_at));
    expect(Date.parse(updated.occurred_at)).toBeGreaterThan(Date.parse(created.occurred_at));
    expect(created.data).toMatchObject({ id: c.id, name: 'History' });
    expect(updated.data).toMatchObject({ id: c.id, company: 'Later Co' });
    expect(added.data).toMatchObject({ id: note.id, body: 'A note' });

    const first = await api.get(`/v1/contacts/${c.id}/timeline?limit=1`);
    expect(first.body.data.map((e: any) => e.type)).toEqual(['note.added']);
    expect(first.body.has_more).toBe(true);
    const rest = await api.get(`/v1/contacts/${c.id}/timeline?limit=5&cursor=${encodeURIComponent(first.body.next_cursor)}`);
    expect(rest.body.data.map((e: any) => e.type)).toEqual(['contact.updated', 'contact.created']);
  });

  it('answers 404 for an unknown contact', async () => {
    expect((await api.get('/v1/contacts/ctc_doesnotexist0000/timeline')).status).toBe(404);
  });
});

describe('GET /v1/tags and GET /v1/contacts/count', () => {
  it("lists the workspace's tags with counts, by prefix", async () => {
    const ws = await freshWorkspace();
    const a = await create(ws, { name: 'A', tags: ['lead', 'vip'] });
    await create(ws, { name: 'B', tags: ['Lead', 'legal'] });
    await create(ws, { name: 'C', tags: ['other'] });
    const all = await ws.get('/v1/tags');
    expect(all.status).toBe(200);
    expect(all.body.data).toEqual([{ tag: 'lead', count: 2 }, { tag: 'legal', count: 1 }, { tag: 'other', count: 1 }, { tag: 'vip', count: 1 }]);
    expect((await ws.get('/v1/tags?prefix=le')).body.data).toEqual([{ tag: 'lead', count: 2 }, { tag: 'legal', count: 1 }]);
    expect((await ws.get('/v1/tags?prefix=LEA')).body.data).toEqual([{ tag: 'lead', count: 2 }]);
    expect((await ws.get('/v1/tags?prefix=zzz')).body.data).toEqual([]);

    await ws.patch(`/v1/contacts/${a.id}`, { tags: ['vip', 'new'] });
    expect((await ws.get('/v1/tags')).body.data).toEqual([{ tag: 'lead', count: 1 }, { tag: 'legal', count: 1 }, { tag: 'new', count: 1 }, { tag: 'other', count: 1 }, { tag: 'vip', count: 1 }]);
  });

  it('counts the contacts matching the list parameters', async () => {
    const ws = await freshWorkspace();
    expect((await ws.get('/v1/contacts/count')).body).toEqual({ count: 0 });
    await create(ws, { name: 'One', email: email('c'), tags: ['lead'] });
    await create(ws, { name: 'Two', tags: ['lead', 'vip'], source: 'widget' });
    await create(ws, { name: 'Three', phone: '+1 212 555 0150' });
    const count = async (qs: string) => {
      const res = await ws.get(`/v1/contacts/count${qs}`);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      return res.body.count as number;
    };
    expect(await count('')).toBe(3);
    expect(await count('?tag=lead')).toBe(2);
    expect(await count('?tag=lead&tag=vip')).toBe(1);
    expect(await count('?has_email=true')).toBe(1);
    expect(await count('?has_phone=false')).toBe(2);
    expect(await count('?source=widget')).toBe(1);
    expect(await count('?source=widget,api')).toBe(3);
    expect(await count('?q=thr')).toBe(1);
    expect((await ws.get('/v1/contacts/count?has_email=maybe')).status).toBe(422);
    expect((await ws.get('/v1/contacts/count?bogus=1')).status).toBe(422);
  });

  it('takes every list parameter, sort included, as the list does', async () => {
    const ws = await freshWorkspace();
    await create(ws, { name: 'Sorted A', tags: ['s'] });
    await create(ws, { name: 'Sorted B' });
    // The dashboard sends the list's query string as it is to count it.
    const qs = '?tag=s&sort=-created_at&archived=false';
    const list = await ws.get(`/v1/contacts${qs}`);
    expect(list.status).toBe(200);
    const res = await ws.get(`/v1/contacts/count${qs}`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toEqual({ count: list.body.data.length });
    expect(res.body.count).toBe(1);
  });
});
