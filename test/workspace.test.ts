import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { client, startTestServer, type TestServer } from './support/server.js';
import { expectInvalid, expectProblem } from './support/problems.js';

let t: TestServer;

const ISO_MS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

beforeAll(async () => {
  t = await startTestServer();
});
afterAll(() => t.close());

describe('GET /v1/workspace', () => {
  it('answers the settings of a new workspace with their defaults', async () => {
    const ws = await t.workspace('Acme Support');
    const res = await client(t.url, ws.key).get('/v1/workspace');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    for (const k of ['id', 'name', 'plan', 'limits', 'usage', 'consent_required', 'consent_text', 'retention_days', 'default_phone_region', 'timezone']) {
      expect(res.body, `has ${k}`).toHaveProperty(k);
    }
    expect(res.body).toMatchObject({
      id: ws.id, name: 'Acme Support', plan: 'enterprise',
      limits: { contacts: null },
      usage: { contacts: 0 },
      consent_required: false, consent_text: null, retention_days: null, default_phone_region: null, timezone: 'UTC',
    });
    expect(res.body.id).toMatch(/^wsp_[0-9a-z]{16,}$/);
  });

  it('counts contacts in usage', async () => {
    const ws = await t.workspace();
    const api = client(t.url, ws.key);
    await api.post('/v1/contacts', { name: 'One' });
    await api.post('/v1/contacts', { name: 'Two' });
    expect((await api.get('/v1/workspace')).body.usage.contacts).toBe(2);
  });

  it('is readable with a read-only key', async () => {
    const ws = await t.workspace();
    const res = await client(t.url, await ws.keyFor(['read'])).get('/v1/workspace');
    expect(res.status).toBe(200);
    expect(res.body.id).toBe(ws.id);
  });
});

describe('PATCH /v1/workspace', () => {
  it('changes every setting and GET answers the new values', async () => {
    const ws = await t.workspace();
    const api = client(t.url, ws.key);
    const res = await api.patch('/v1/workspace', {
      name: '  Renamed  ', consent_required: true, consent_text: 'We keep your details to answer you.', retention_days: 90,
      default_phone_region: 'DE', timezone: 'Europe/Berlin',
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({
      id: ws.id, name: 'Renamed', consent_required: true, consent_text: 'We keep your details to answer you.', retention_days: 90,
      default_phone_region: 'DE', timezone: 'Europe/Berlin', plan: 'enterprise',
    });
    const again = await api.get('/v1/workspace');
    expect(again.body).toEqual(res.body);

    // null unsets what may be unset.
    const cleared = await api.patch('/v1/workspace', { default_phone_region: null, consent_text: null, retention_days: null });
    expect(cleared.body).toMatchObject({ default_phone_region: null, consent_text: null, retention_days: null, timezone: 'Europe/Berlin' });
  });

  it('changes the plan, and the limits with it', async () => {
    const ws = await t.workspace();
    const api = client(t.url, ws.key);
    const pro = await api.patch('/v1/workspace', { plan: 'pro' });
    expect(pro.status).toBe(200);
    expect(pro.body.plan).toBe('pro');
    expect(pro.body.limits).toMatchObject({ contacts: 5000, conversation_retention_days: 365, export_history_days: 90 });
    const business = await api.patch('/v1/workspace', { plan: 'business' });
    expect(business.body.limits).toMatchObject({ contacts: 50_000, conversation_retention_days: 730, export_history_days: 365 });
    const free = await api.patch('/v1/workspace', { plan: 'free' });
    expect(free.body.limits).toMatchObject({ contacts: 100, conversation_retention_days: 30 });
    expect((await api.get('/v1/workspace')).body.plan).toBe('free');
  });

  it.each([
    ['timezone', 'Mars/Olympus_Mons'], ['timezone', ''], ['timezone', '+05:00'],
    ['default_phone_region', 'XX'], ['default_phone_region', 'USA'], ['default_phone_region', '12'],
    ['plan', 'platinum'], ['plan', ''],
    ['name', ''], ['retention_days', 0],
  ])('rejects %s = %j with 422 naming the field', async (field, value) => {
    const ws = await t.workspace();
    const api = client(t.url, ws.key);
    const before = (await api.get('/v1/workspace')).body;
    expectInvalid(await api.patch('/v1/workspace', { [field]: value }), field);
    expect((await api.get('/v1/workspace')).body).toEqual(before);
  });

  it('stores the canonical IANA name of a time zone, or refuses a name that is not one', async () => {
    const ws = await t.workspace();
    const api = client(t.url, ws.key);
    const res = await api.patch('/v1/workspace', { timezone: 'europe/berlin' });
    if (res.status === 200) expect(res.body.timezone).toBe('Europe/Berlin');
    else expectInvalid(res, 'timezone');
  });

  it('rejects unknown and read-only fields', async () => {
    const ws = await t.workspace();
    const api = client(t.url, ws.key);
    expectInvalid(await api.patch('/v1/workspace', { colour: 'blue' }), 'colour');
    expectInvalid(await api.patch('/v1/workspace', { id: 'wsp_other' }), 'id');
    expectInvalid(await api.patch('/v1/workspace', { timezone: 5 }), 'timezone');
  });

  it('answers 403 to a write-only key and changes nothing', async () => {
    const ws = await t.workspace();
    const writer = client(t.url, await ws.keyFor(['write']));
    const res = await writer.patch('/v1/workspace', { plan: 'free', name: 'Hijacked' });
    expectProblem(res, 403);
    const after = (await client(t.url, ws.key).get('/v1/workspace')).body;
    expect(after).toMatchObject({ plan: 'enterprise', name: 'Test workspace' });
    expectProblem(await client(t.url, await ws.keyFor(['read'])).patch('/v1/workspace', { name: 'x' }), 403);
  });
});

describe('DEFAULT_PLAN', () => {
  it("gives new workspaces the operator's plan", async () => {
    const s = await startTestServer({ env: { DEFAULT_PLAN: 'free' } });
    try {
      const ws = await s.workspace();
      const res = await client(s.url, ws.key).get('/v1/workspace');
      expect(res.status).toBe(200);
      expect(res.body.plan).toBe('free');
      expect(res.body.limits).toMatchObject({ contacts: 100, conversation_retention_days: 30, export_history_days: 0 });
    } finally {
      await s.close();
    }
  });
});

describe('GET /v1/me', () => {
  it("answers the key's workspace and scopes", async () => {
    const ws = await t.workspace('Me Workspace');
    const admin = await client(t.url, ws.key).get('/v1/me');
    expect(admin.status).toBe(200);
    expect(admin.body).toMatchObject({ type: 'api_key', workspace: { id: ws.id, name: 'Me Workspace' } });
    expect([...admin.body.scopes].sort()).toEqual(['admin', 'read', 'write']);
    expect(admin.body.key_id).toMatch(/^key_/);

    const reader = await client(t.url, await ws.keyFor(['read'])).get('/v1/me');
    expect(reader.body.scopes).toEqual(['read']);
    expect(reader.body.key_id).not.toBe(admin.body.key_id);
    expect(JSON.stringify(admin.body)).not.toContain(ws.key);
  });
});

describe('/v1/keys', () => {
  it('lists the keys without their secrets', async () => {
    const ws = await t.workspace();
    const writeKey = await ws.keyFor(['write']);
    const res = await client(t.url, ws.key).get('/v1/keys');
    expect(res.status).toBe(200);
    expect(res.body.data).toHaveLength(2);
    for (const k of res.body.data) {
      expect(Object.keys(k).sort()).toEqual(['created_at', 'id', 'last_used_at', 'name', 'prefix', 'scopes']);
      expect(k.id).toMatch(/^key_/);
      expect(k.created_at).toMatch(ISO_MS);
    }
    const text = JSON.stringify(res.body);
    expect(text).not.toContain(ws.key);
    expect(text).not.toContain(writeKey);
    // The prefix helps recognise a key without giving it away.
    expect(res.body.data.some((k: any) => ws.key.startsWith(k.prefix))).toBe(true);
    expect(res.body.data.every((k: any) => k.prefix.length < 16)).toBe(true);
  });

  it('creates a key shown once, that works at once', async () => {
    const ws = await t.workspace();
    const admin = client(t.url, ws.key);
    const res = await admin.post('/v1/keys', { name: 'Zapier', scopes: ['read'] });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ name: 'Zapier', scopes: ['read'], last_used_at: null });
    expect(res.body.id).toMatch(/^key_/);
    expect(typeof res.body.key).toBe('string');
    expect(res.body.key.startsWith(res.body.prefix)).toBe(true);
    expect(res.body.key.length).toBeGreaterThanOrEqual(24);

    const fresh = client(t.url, res.body.key);
    const me = await fresh.get('/v1/me');
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ key_id: res.body.id, scopes: ['read'], workspace: { id: ws.id } });
    expect((await fresh.get('/v1/contacts')).status).toBe(200);
    expect((await fresh.post('/v1/contacts', { name: 'x' })).status).toBe(403);

    const list = await admin.get('/v1/keys');
    const listed = list.body.data.find((k: any) => k.id === res.body.id);
    expect(listed).toMatchObject({ name: 'Zapier', scopes: ['read'] });
    expect(listed.last_used_at).toMatch(ISO_MS);
    expect(JSON.stringify(list.body)).not.toContain(res.body.key);
  });

  it('rejects a key without scopes or with an unknown scope', async () => {
    const ws = await t.workspace();
    const admin = client(t.url, ws.key);
    expectInvalid(await admin.post('/v1/keys', { scopes: [] }), 'scopes');
    expect((await admin.post('/v1/keys', { scopes: ['superuser'] })).status).toBe(422);
    expect((await admin.post('/v1/keys', { name: 'no scopes' })).status).toBe(422);
    expect((await admin.get('/v1/keys')).body.data).toHaveLength(1);
  });

  it('revokes a key: 204, and its next request is 401', async () => {
    const ws = await t.workspace();
    const admin = client(t.url, ws.key);
    const created = (await admin.post('/v1/keys', { name: 'Doomed', scopes: ['write'] })).body;
    const doomed = client(t.url, created.key);
    expect((await doomed.get('/v1/contacts')).status).toBe(200);

    const del = await admin.delete(`/v1/keys/${created.id}`);
    expect(del.status).toBe(204);
    const after = await doomed.get('/v1/contacts');
    expectProblem(after, 401);
    expectProblem(await doomed.post('/v1/contacts', { name: 'x' }), 401);
    expect((await admin.get('/v1/keys')).body.data.map((k: any) => k.id)).not.toContain(created.id);
    expectProblem(await admin.delete(`/v1/keys/${created.id}`), 404);
    expectProblem(await admin.delete('/v1/keys/key_doesnotexist0000'), 404);
    // The revoking key still works.
    expect((await admin.get('/v1/me')).status).toBe(200);
  });
});
