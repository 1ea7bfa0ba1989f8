// GDPR access request: everything held about the person in one document; and a guard that fails when
// a table is added without saying whether the document covers it.
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATA_EXPORT_COVERS } from '../src/services/data-export.js';
import { client, type Client, startTestServer, type TestServer, usingPostgres } from './support/server.js';

let t: TestServer;
let api: Client;

beforeAll(async () => {
  t = await startTestServer();
  api = client(t.url, (await t.workspace()).key);
});
afterAll(() => t.close());

describe('GET /v1/contacts/{id}/data-export', () => {
  it('holds the profile, identities, every transcript, notes, consents and the timeline', async () => {
    const conv = (await api.post('/v1/conversations', { channel: 'whatsapp', visitor_id: '+4915112345678' })).body;
    await api.post(`/v1/conversations/${conv.id}/messages`, { role: 'user', text: 'My order 4711 is late' });
    await api.post(`/v1/conversations/${conv.id}/messages`, { role: 'agent', text: 'Sorry, let me check' });
    const contact = (await api.post(`/v1/conversations/${conv.id}/identify`, { name: 'Greta Export', email: 'greta@example.de', consent: { given: true } })).body.contact;
    await api.patch(`/v1/contacts/${contact.id}`, { tags: ['vip'] });
    await api.post(`/v1/contacts/${contact.id}/notes`, { body: 'Prefers WhatsApp' });

    const res = await api.get(`/v1/contacts/${contact.id}/data-export`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-disposition')).toMatch(/^attachment; filename="ctc_[a-z0-9]+-data\.json"$/);
    const doc = res.body;
    expect(doc.contact).toMatchObject({ id: contact.id, name: 'Greta Export', email: 'greta@example.de', tags: ['vip'] });
    expect(doc.identities).toEqual([{ channel: 'whatsapp', visitor_id: '+4915112345678', first_seen: expect.any(String) }]);
    expect(doc.conversations).toHaveLength(1);
    expect(doc.conversations[0].messages.map((m: { text: string }) => m.text)).toEqual(['My order 4711 is late', 'Sorry, let me check']);
    expect(doc.notes.map((n: { body: string }) => n.body)).toEqual(['Prefers WhatsApp']);
    expect(doc.consents).toEqual([{ given: true, channel: 'whatsapp', wording: null, at: expect.any(String) }]);
    const types = doc.timeline.map((e: { type: string }) => e.type);
    for (const type of ['contact.created', 'lead.captured', 'consent.recorded', 'contact.updated', 'note.added', 'conversation.started']) expect(types).toContain(type);
  });

  it('is 404 for another workspace and for an unknown id', async () => {
    const mine = (await api.post('/v1/contacts', { email: 'mine@example.com' })).body;
    const other = client(t.url, (await t.workspace('Other')).key);
    expect((await other.get(`/v1/contacts/${mine.id}/data-export`)).status).toBe(404);
    expect((await api.get('/v1/contacts/ctc_doesnotexist0000/data-export')).status).toBe(404);
  });
});

describe('coverage of the schema', () => {
  it('names every table of the database, so a new table that can hold a person is not forgotten', async () => {
    let tables: string[];
    if (usingPostgres) {
      const c = new pg.Client({ connectionString: t.db.env.DATABASE_URL });
      await c.connect();
      tables = (await c.query<{ table_name: string }>(`SELECT table_name FROM information_schema.tables WHERE table_schema = $1 AND table_type = 'BASE TABLE'`, [t.db.env.DATABASE_SCHEMA])).rows.map((r) => r.table_name);
      await c.end();
    } else {
      const db = new Database(`${t.db.dir}/contacts.db`, { readonly: true });
      tables = (db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE 'contacts_fts%'`).all() as Array<{ name: string }>).map((r) => r.name);
      db.close();
    }
    expect(tables.length).toBeGreaterThan(20);
    expect(tables.filter((name) => !(name in DATA_EXPORT_COVERS)), 'tables with no line in DATA_EXPORT_COVERS').toEqual([]);
  });
});
