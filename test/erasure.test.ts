// Erasure (API.md: DELETE is permanent, of the contact, its notes and events; contact.deleted holds only
// the id and deleted_at): after the delete and a clean shutdown, the person's name, email and phone are
// nowhere in the stored bytes. SQLite: every file of the data directory (WAL mode, secure_delete).
// PostgreSQL: a pg_dump of the schema. A kept contact's email must be found by the same search, which
// shows the search can see what is there.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { client, startTestServer, type TestServer, usingPostgres } from './support/server.js';

const run = promisify(execFile);

// Distinctive enough that no other byte sequence in the files can be mistaken for them.
const ERASED = {
  name: 'Zebulon Quaffington-Xylander',
  typo: 'Zebulon Quaffingtonn-Xylandr',
  email: 'Zebulon.Quaffington@erasure-probe.example',
  phoneTyped: '+44 7700 900461',
  phoneE164: '+447700900461',
  phoneDigits: '447700900461',
  company: 'Quaffington Heavy Industries',
  note: 'Called Zebulon Quaffington-Xylander back on +44 7700 900461 about his order',
};
const KEPT = { name: 'Kept Keeper', email: 'kept.keeper@retained-probe.example', phone: '+14155550123' };

let t: TestServer;
let erasedId: string;
let keptId: string;
/** The stored bytes: each file of the SQLite data directory, or the pg_dump of the schema. */
let stored: Array<{ file: string; bytes: Buffer }> = [];
let workspaceId: string;
let schema: string | null = null;

beforeAll(async () => {
  t = await startTestServer();
  const ws = await t.workspace('Erasure');
  workspaceId = ws.id;
  const api = client(t.url, ws.key);

  const kept = await api.post('/v1/contacts', { name: KEPT.name, email: KEPT.email, phone: KEPT.phone, tags: ['kept'] });
  expect(kept.status).toBe(201);
  keptId = kept.body.id;
  expect((await api.post(`/v1/contacts/${keptId}/notes`, { body: 'A note that stays' })).status).toBe(201);

  // The person to erase: created with an Idempotency-Key (so a stored answer holds the profile), given a
  // note, changed by PATCH (so old row versions held other values), searched for, then deleted.
  const created = await api.post('/v1/contacts', { name: ERASED.typo, email: ERASED.email, phone: ERASED.phoneTyped, tags: ['vip', 'quaffington'], metadata: { met_at: 'Quaffington fair' } }, { 'idempotency-key': 'erasure-create-1' });
  expect(created.status).toBe(201);
  expect(created.body.phone).toBe(ERASED.phoneE164);
  erasedId = created.body.id;
  const replay = await api.post('/v1/contacts', { name: ERASED.typo, email: ERASED.email, phone: ERASED.phoneTyped, tags: ['vip', 'quaffington'], metadata: { met_at: 'Quaffington fair' } }, { 'idempotency-key': 'erasure-create-1' });
  expect(replay.status).toBe(201);
  expect(replay.body.id).toBe(erasedId);

  const note = await api.post(`/v1/contacts/${erasedId}/notes`, { body: ERASED.note }, { 'idempotency-key': 'erasure-note-1' });
  expect(note.status).toBe(201);
  const patched = await api.patch(`/v1/contacts/${erasedId}`, { name: ERASED.name, company: ERASED.company, metadata: { alt_email: ERASED.email.toLowerCase() } });
  expect(patched.status).toBe(200);
  expect(patched.body.name).toBe(ERASED.name);
  const dup = await api.post('/v1/contacts', { email: ERASED.email.toUpperCase() }, { 'idempotency-key': 'erasure-dup-1' });
  expect(dup.status).toBe(409);
  const batch = await api.post('/v1/contacts/batch', { contacts: [{ email: ERASED.email, tags: ['vip', 'quaffington', 'batch'] }] });
  expect(batch.status).toBe(200);
  expect(batch.body.results[0]).toMatchObject({ status: 'updated', id: erasedId });
  const found = await api.get(`/v1/contacts?q=${encodeURIComponent('Quaffington')}`);
  expect(found.body.data.map((c: { id: string }) => c.id)).toEqual([erasedId]);
  const timeline = await api.get(`/v1/contacts/${erasedId}/timeline`);
  expect(timeline.body.data.map((e: { type: string }) => e.type).sort()).toEqual(['contact.created', 'contact.updated', 'contact.updated', 'note.added']);

  expect((await api.delete(`/v1/contacts/${erasedId}`)).status).toBe(204);
  expect((await api.get(`/v1/contacts/${erasedId}`)).status).toBe(404);
  expect((await api.get(`/v1/contacts?q=${encodeURIComponent('Quaffington')}`)).body.data).toEqual([]);

  await t.server.close();

  if (usingPostgres) {
    schema = t.db.env.DATABASE_SCHEMA!;
    const { stdout } = await run('pg_dump', ['--schema', schema, process.env.DATABASE_URL!], { maxBuffer: 256 * 1024 * 1024, encoding: 'buffer' });
    stored = [{ file: `pg_dump --schema ${schema}`, bytes: stdout }];
  } else {
    const files = fs.readdirSync(t.db.dir).filter((f) => f.startsWith('contacts.db'));
    stored = files.map((f) => ({ file: f, bytes: fs.readFileSync(path.join(t.db.dir, f)) }));
  }
});

afterAll(async () => {
  await t?.server.close(); // already closed unless the setup failed half-way
  await t?.db.drop();
});

/** Which stored files hold `needle`, in UTF-8 or (SQLite stores text as UTF-8, but be thorough) UTF-16. */
function holders(needle: string): string[] {
  const forms = [Buffer.from(needle, 'utf8'), Buffer.from(needle, 'utf16le')];
  return stored.filter(({ bytes }) => forms.some((f) => bytes.includes(f))).map(({ file }) => file);
}

describe('after DELETE /v1/contacts/{id} and a clean shutdown', () => {
  it('stores the database where the test looks', () => {
    if (!usingPostgres) expect(stored.map((s) => s.file)).toContain('contacts.db');
    expect(stored.reduce((n, s) => n + s.bytes.length, 0)).toBeGreaterThan(4096);
  });

  it("still holds the kept contact's email, so the search below can find what is there", () => {
    expect(holders(KEPT.email)).not.toEqual([]);
    expect(holders(KEPT.name)).not.toEqual([]);
  });

  it("holds none of the erased person's name, email and phone, as typed or normalised", () => {
    const needles: Record<string, string> = {
      name: ERASED.name,
      'name before the PATCH': ERASED.typo,
      'name, folded for search': ERASED.name.toLowerCase(),
      'surname alone': 'Quaffington',
      'surname, folded': 'quaffington',
      email: ERASED.email,
      'email, lowercased': ERASED.email.toLowerCase(),
      'email, local part': 'Zebulon.Quaffington',
      'phone as typed': ERASED.phoneTyped,
      'phone, E.164': ERASED.phoneE164,
      'phone, E.164 digits': ERASED.phoneDigits,
      company: ERASED.company,
      note: ERASED.note,
    };
    const leaks = Object.entries(needles).flatMap(([what, needle]) => holders(needle).map((file) => `${what} (${JSON.stringify(needle)}) in ${file}`));
    expect(leaks).toEqual([]);
  });

  it('keeps the one contact.deleted event, holding only the id and deleted_at', async () => {
    let rows: Array<{ type: string; data: string; workspace_id: string }>;
    if (usingPostgres) {
      const db = new pg.Client({ connectionString: process.env.DATABASE_URL });
      await db.connect();
      try {
        rows = (await db.query(`SELECT type, data, workspace_id FROM ${schema}.events WHERE contact_id = $1 ORDER BY seq`, [erasedId])).rows;
      } finally {
        await db.end();
      }
    } else {
      const db = new Database(path.join(t.db.dir, 'contacts.db'), { readonly: true, fileMustExist: true });
      try {
        rows = db.prepare('SELECT type, data, workspace_id FROM events WHERE contact_id = ? ORDER BY seq').all(erasedId) as typeof rows;
      } finally {
        db.close();
      }
    }
    expect(rows.map((r) => r.type)).toEqual(['contact.deleted']);
    expect(rows[0]!.workspace_id).toBe(workspaceId);
    const data = JSON.parse(rows[0]!.data) as Record<string, unknown>;
    expect(Object.keys(data).sort()).toEqual(['deleted_at', 'id']);
    expect(data.id).toBe(erasedId);
    expect(data.deleted_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });

  it("keeps the other contact's rows and events", async () => {
    if (usingPostgres) {
      const db = new pg.Client({ connectionString: process.env.DATABASE_URL });
      await db.connect();
      try {
        const { rows } = await db.query(`SELECT type FROM ${schema}.events WHERE contact_id = $1 ORDER BY seq`, [keptId]);
        expect(rows.map((r: { type: string }) => r.type)).toEqual(['contact.created', 'note.added']);
      } finally {
        await db.end();
      }
    } else {
      const db = new Database(path.join(t.db.dir, 'contacts.db'), { readonly: true, fileMustExist: true });
      try {
        const rows = db.prepare('SELECT type FROM events WHERE contact_id = ? ORDER BY seq').all(keptId) as Array<{ type: string }>;
        expect(rows.map((r) => r.type)).toEqual(['contact.created', 'note.added']);
      } finally {
        db.close();
      }
    }
  });
});
