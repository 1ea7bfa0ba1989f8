import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { client, type Client, startTestServer, type TestServer } from './support/server.js';

let t: TestServer;
let api: Client;

beforeAll(async () => {
  t = await startTestServer();
  const ws = await t.workspace();
  api = client(t.url, ws.key);
});
afterAll(() => t.close());

describe('POST /v1/contacts', () => {
  it('creates a contact with normalised fields and null for what is unset', async () => {
    const res = await api.post('/v1/contacts', { name: '  Sarah Johnson ', email: 'Sarah@Acme.com', phone: '+1 (555) 123-4567', tags: ['Lead', 'lead', 'VIP'] });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ name: 'Sarah Johnson', email: 'Sarah@Acme.com', phone: '+15551234567', company: null, source: 'api', tags: ['lead', 'vip'], metadata: {}, conversation_count: 0, lifecycle_stage: 'new', archived: false, page_url: null, ip_country: null });
    expect(res.body.id).toMatch(/^ctc_[0-9a-z]{16}$/);
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
});
