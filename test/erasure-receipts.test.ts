// Erasure receipts and suppression (issue 6 point 4; API.md DELETE /v1/contacts/{id} and the batch's
// `skipped`): a delete answers 204 with an Erasure-Receipt header; GET /v1/erasures (admin) lists what
// each erasure removed, when and by whom, newest first, with no personal data in it; afterwards the
// person is in no table; a suppression entry (a hash) makes a batch skip the erased email or phone,
// in any spelling, while other items are created or updated; contact.deleted carries only id and time.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUser, signInAs } from './support/accounts.js';
import { start, timeline } from './support/capture.js';
import { cellsContaining, readAllTables, type TableRows } from './support/database.js';
import { expectProblem } from './support/problems.js';
import { openStream as openSse } from './support/stream.js';
import { client, type Client, manualClock, startTestServer, type TestServer } from './support/server.js';

const T0 = Date.parse('2026-03-15T10:30:00.000Z');
const MIN = 60_000;
const iso = (ms: number) => new Date(ms).toISOString();
const RECEIPT_ID = /^ers_[0-9a-z]{24}$/;
const clock = manualClock(T0);
let t: TestServer;

beforeAll(async () => {
  t = await startTestServer({ clock });
});
afterAll(async () => {
  await t?.close();
});

let now = T0;
function tick(): number {
  now += MIN;
  clock.set(now);
  return now;
}

interface Ws {
  id: string;
  api: Client;
  key: string;
  keyFor: (scopes: Array<'read' | 'write' | 'admin'>) => Promise<string>;
}

async function workspace(settings: Record<string, unknown> = {}): Promise<Ws> {
  const ws = await t.workspace();
  const api = client(t.url, ws.key);
  if (Object.keys(settings).length) {
    const res = await api.patch('/v1/workspace', settings);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
  }
  return { id: ws.id, api, key: ws.key, keyFor: (scopes) => ws.keyFor(scopes) };
}

async function create(api: Client, body: Record<string, unknown>): Promise<any> {
  tick();
  const res = await api.post('/v1/contacts', body);
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body;
}

async function erase(api: Client, id: string): Promise<string> {
  const res = await api.delete(`/v1/contacts/${id}`);
  expect(res.status, JSON.stringify(res.body)).toBe(204);
  expect(res.body).toBe('');
  const receipt = res.headers.get('erasure-receipt');
  expect(receipt).toMatch(RECEIPT_ID);
  return receipt!;
}

async function receipts(api: Client, qs = ''): Promise<any> {
  const res = await api.get(`/v1/erasures${qs}`);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body;
}

async function batch(api: Client, contacts: Array<Record<string, unknown>>): Promise<any[]> {
  tick();
  const res = await api.post('/v1/contacts/batch', { contacts });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  expect(res.body.results).toHaveLength(contacts.length);
  return res.body.results;
}

/** How many rows of each kind a contact has, read from the tables (what its erasure must remove). */
function rowsOf(tables: TableRows, contactId: string): Record<string, number> {
  const of = (table: string) => (tables[table] ?? []).filter((r) => r.contact_id === contactId);
  const convIds = new Set(of('conversations').map((c) => c.id));
  return {
    contacts: (tables.contacts ?? []).filter((r) => r.id === contactId).length,
    conversations: convIds.size,
    messages: (tables.messages ?? []).filter((m) => convIds.has(m.conversation_id)).length,
    notes: of('notes').length,
    consents: of('consents').length,
    identities: of('visitors').length,
    events: of('events').length,
    // No export held this person in these tests (the files test below counts its own).
    export_files: 0,
  };
}

// ----- server-sent events (test/support/stream.ts) -----

async function openStream(key: string, lastEventId?: string) {
  const headers: Record<string, string> = { authorization: `Bearer ${key}` };
  if (lastEventId !== undefined) headers['last-event-id'] = lastEventId;
  const stream = await openSse(t.url, headers);
  expect(stream.res.status).toBe(200);
  return stream;
}

// Distinctive enough to be found nowhere else.
const PERSON = {
  name: 'Philippa Wrexham-Quorn',
  email: 'Philippa.Wrexham@erasure-receipt.example',
  phoneTyped: '+44 7700 900123',
  phone: '+447700900123',
  company: 'Wrexham Quorn Holdings',
  said: 'This is Philippa, please call me on 07700 900123',
  note: 'Philippa Wrexham-Quorn wants the enterprise plan',
};
const NEEDLES = [PERSON.name, 'Wrexham', 'Quorn', PERSON.email, 'philippa.wrexham', PERSON.phone, '447700900123', '7700 900123', '7700900123', PERSON.company, PERSON.said, PERSON.note];

describe('DELETE /v1/contacts/{id}: the receipt', () => {
  let ws: Ws;
  let personId: string;
  let keptId: string;
  let expected: Record<string, number>;
  let receiptId: string;
  let erasedAt: number;
  let before: TableRows;
  let streamBefore: string;
  let keyId: string;
  let stream: Awaited<ReturnType<typeof openStream>>;

  beforeAll(async () => {
    ws = await workspace({ consent_required: true, consent_text: 'We keep your details to answer you.' });
    keyId = (await ws.api.get('/v1/me')).body.key_id;
    expect(keyId).toMatch(/^key_/);
    const reader = await ws.keyFor(['read']);
    const early = await openStream(reader);
    streamBefore = await early.position();
    early.close();

    keptId = (await create(ws.api, { name: 'Kept Keeper', email: 'kept.keeper@receipt-kept.example', phone: '+14155550199' })).id;

    // The person: a WhatsApp conversation (the visitor id is their number) and an earlier anonymous
    // widget one, an identify with consent, a note, a change.
    tick();
    const wa = await start(ws.api, { channel: 'whatsapp', visitor_id: PERSON.phone });
    tick();
    expect((await ws.api.post(`/v1/conversations/${wa.id}/messages`, { role: 'user', text: PERSON.said })).status).toBe(201);
    expect((await ws.api.post(`/v1/conversations/${wa.id}/messages`, { role: 'agent', text: 'Thanks, we will call you' })).status).toBe(201);
    tick();
    const idf = await ws.api.post(`/v1/conversations/${wa.id}/identify`, { name: PERSON.name, email: PERSON.email, phone: PERSON.phoneTyped, consent: { given: true } });
    expect(idf.status, JSON.stringify(idf.body)).toBe(200);
    personId = idf.body.contact.id;
    tick();
    const widget = await start(ws.api, { channel: 'widget', visitor_id: 'philippa-cookie', page_url: 'https://acme.com/pricing' });
    expect((await ws.api.post(`/v1/conversations/${widget.id}/messages`, { role: 'user', text: 'pricing question' })).status).toBe(201);
    tick();
    const idf2 = await ws.api.post(`/v1/conversations/${widget.id}/identify`, { email: PERSON.email.toUpperCase(), consent: { given: true } });
    expect(idf2.body.contact.id).toBe(personId);
    tick();
    expect((await ws.api.post(`/v1/contacts/${personId}/notes`, { body: PERSON.note })).status).toBe(201);
    expect((await ws.api.patch(`/v1/contacts/${personId}`, { company: PERSON.company, tags: ['vip'] })).status).toBe(200);

    before = await readAllTables(t);
    expected = rowsOf(before, personId);
    expect(expected).toMatchObject({ contacts: 1, conversations: 2, messages: 3, notes: 1, consents: 2, identities: 2 });
    expect(expected.events).toBeGreaterThanOrEqual(5);
    expect(cellsContaining(before, [PERSON.email]).length, 'the person is stored before the erasure').toBeGreaterThan(0);

    stream = await openStream(reader);
    await stream.position();
    erasedAt = tick();
    receiptId = await erase(ws.api, personId);
  });
  afterAll(() => stream?.close());

  it('answers 204 with the receipt id, and the contact is gone', async () => {
    expect(receiptId).toMatch(RECEIPT_ID);
    expectProblem(await ws.api.get(`/v1/contacts/${personId}`), 404);
    expect((await ws.api.get('/v1/contacts/count?archived=all')).body.count).toBe(1);
    expect((await ws.api.get(`/v1/contacts?q=${encodeURIComponent('wrexham')}&archived=all`)).body.data).toEqual([]);
    expect((await ws.api.get('/v1/conversations?limit=200')).body.data).toEqual([]);
  });

  it('lists the receipt: what was removed, when, by whom, and whom it told', async () => {
    const page = await receipts(ws.api);
    expect(page).toMatchObject({ has_more: false, next_cursor: null });
    expect(page.data).toHaveLength(1);
    const r = page.data[0];
    expect(Object.keys(r).sort()).toEqual(['contact_id', 'erased_at', 'erased_by', 'id', 'notified', 'removed']);
    expect(r).toMatchObject({ id: receiptId, contact_id: personId, erased_at: iso(erasedAt), notified: [] });
    expect(r.erased_by).toMatchObject({ type: 'api_key', id: keyId });
    expect(r.removed).toEqual(expected);
  });

  it('holds no personal data in the receipt', async () => {
    const text = JSON.stringify(await receipts(ws.api)).toLowerCase();
    for (const n of NEEDLES) expect(text, n).not.toContain(n.toLowerCase());
  });

  it('leaves the person in no table, while the kept contact and the receipt are there', async () => {
    const after = await readAllTables(t);
    expect(cellsContaining(after, ['kept.keeper@receipt-kept.example']).length, 'the reading sees kept rows').toBeGreaterThan(0);
    expect(cellsContaining(after, [receiptId]).length, 'the receipt is stored').toBeGreaterThan(0);
    expect(cellsContaining(after, NEEDLES)).toEqual([]);
    // Nothing but the receipt and the contact.deleted event refers to the contact any more.
    const referring = Object.entries(after).flatMap(([table, rows]) => rows
      .filter((row) => Object.values(row).some((v) => typeof v === 'string' && v.includes(personId)))
      .map((row) => `${table}${table === 'events' ? `:${String(row.type)}` : ''}`));
    expect(referring.sort()).toEqual(['erasure_receipts', 'events:contact.deleted']);
  });

  it('keeps a suppression entry for the email and the phone: hashes, no plain text', async () => {
    const after = await readAllTables(t);
    const mine = (after.suppressions ?? []).filter((s) => s.workspace_id === ws.id);
    expect(mine).toHaveLength(2);
    for (const s of mine) {
      const text = JSON.stringify(s).toLowerCase();
      expect(String(s.identity_hash)).toMatch(/^[0-9a-f]{32,}$/);
      for (const n of NEEDLES) expect(text).not.toContain(n.toLowerCase());
    }
  });

  it('sends contact.deleted on the stream with only id and deleted_at', async () => {
    const e = await stream.waitFor((x) => x.event === 'contact.deleted');
    expect(e.body).toEqual({ id: expect.stringMatching(/^evt_/), event: 'contact.deleted', occurred_at: iso(erasedAt), data: { id: personId, deleted_at: iso(erasedAt) } });
    expect(Object.keys(e.body.data).sort()).toEqual(['deleted_at', 'id']);
  });

  it('a stream resumed from before the person existed replays nothing of them', async () => {
    const resumed = await openStream(await ws.keyFor(['read']), streamBefore);
    try {
      await resumed.waitFor((x) => x.event === 'contact.deleted' && x.body.data.id === personId);
      await new Promise((r) => setTimeout(r, 1200));
      const theirs = resumed.events().filter((x) => x.raw.includes(personId));
      expect(theirs.map((x) => x.event)).toEqual(['contact.deleted']);
      const leaks = resumed.events().filter((x) => NEEDLES.some((n) => x.raw.toLowerCase().includes(n.toLowerCase())));
      expect(leaks.map((x) => x.event)).toEqual([]);
      // The kept contact's events are still there: the replay itself works.
      expect(resumed.events().some((x) => x.event === 'contact.created' && x.body.data.id === keptId)).toBe(true);
    } finally {
      resumed.close();
    }
  });

  it('a second DELETE is 404 and writes no second receipt', async () => {
    expectProblem(await ws.api.delete(`/v1/contacts/${personId}`), 404);
    expectProblem(await ws.api.delete('/v1/contacts/ctc_doesnotexist00000'), 404);
    expect((await receipts(ws.api)).data.map((r: any) => r.id)).toEqual([receiptId]);
  });
});

/** Files under the data directory other than the database's own (which erasure.test.ts reads). */
function dataFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...dataFiles(full));
    else if (entry.isFile() && !entry.name.startsWith('contacts.db')) out.push(full);
  }
  return out;
}

async function settled(api: Client, url: string): Promise<any> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const res = await api.get(url);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    if (res.body.status !== 'queued' && res.body.status !== 'running') return res.body;
    if (Date.now() > deadline) throw new Error(`${url} still ${res.body.status}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('erasure and files', () => {
  it('leaves the person in no file: an export made before and the import file that brought them in', async () => {
    const ws = await workspace();
    const who = { name: 'Fenwick Filebound-Ashe', email: 'fenwick.filebound@erasure-files.example', phone: '+14155550777' };
    const csv = `Full name,E-mail,Phone number\r\n${who.name},${who.email},${who.phone}\r\nOther Person,other.person@erasure-files.example,\r\n`;
    tick();
    const imp = await ws.api.call('POST', '/v1/imports', csv, { 'content-type': 'text/csv' });
    expect(imp.status, JSON.stringify(imp.body)).toBe(202);
    expect(await settled(ws.api, `/v1/imports/${imp.body.id}`)).toMatchObject({ status: 'completed', created: 2 });
    const person = (await ws.api.get(`/v1/contacts?q=${encodeURIComponent('fenwick')}`)).body.data[0];
    expect(person?.email).toBe(who.email);

    tick();
    const exp = await ws.api.post('/v1/contacts/export', {});
    expect(exp.status, JSON.stringify(exp.body)).toBe(202);
    const done = await settled(ws.api, `/v1/exports/${exp.body.id}`);
    expect(done.status).toBe('completed');
    const url = done.download_url.startsWith('http') ? done.download_url : t.url + done.download_url;
    expect(await (await fetch(url)).text()).toContain(who.email);
    const holders = () => dataFiles(t.db.dir).filter((f) => fs.readFileSync(f).toString('utf8').toLowerCase().includes('fenwick.filebound'));
    expect(holders().length, 'the scan sees the files').toBeGreaterThan(0);

    tick();
    await erase(ws.api, person.id);
    // Both checks report: the link must not hand the person out, and no file may keep them.
    const again = await fetch(url);
    const body = await again.text();
    if (again.status === 200) expect.soft(body.toLowerCase(), 'the export link after the erasure').not.toContain('fenwick');
    else expect.soft([404, 410]).toContain(again.status);
    expect.soft(holders(), 'files holding the erased person').toEqual([]);
    const receipts = await ws.api.get('/v1/erasures');
    expect(receipts.body.data[0].removed.export_files, 'the receipt counts the export file').toBe(1);
  });
});

describe('GET /v1/erasures', () => {
  it('lists newest first, pages with a cursor, and counts what a bare contact had', async () => {
    const ws = await workspace();
    const made = [];
    for (let i = 0; i < 3; i++) made.push(await create(ws.api, { name: `Bare ${i}` }));
    const ids: string[] = [];
    const times: number[] = [];
    for (const c of made) {
      times.push(tick());
      ids.push(await erase(ws.api, c.id));
    }
    const all = await receipts(ws.api);
    expect(all.data.map((r: any) => r.id)).toEqual([...ids].reverse());
    expect(all.data.map((r: any) => r.erased_at)).toEqual(times.map(iso).reverse());
    expect(all.data.map((r: any) => r.contact_id)).toEqual(made.map((c) => c.id).reverse());
    expect(all.data[0].removed).toEqual({ contacts: 1, conversations: 0, messages: 0, notes: 0, consents: 0, identities: 0, events: 1, export_files: 0 });

    const first = await receipts(ws.api, '?limit=2');
    expect(first.data.map((r: any) => r.id)).toEqual([ids[2], ids[1]]);
    expect(first.has_more).toBe(true);
    expect(typeof first.next_cursor).toBe('string');
    const second = await receipts(ws.api, `?limit=2&cursor=${encodeURIComponent(first.next_cursor)}`);
    expect(second.data.map((r: any) => r.id)).toEqual([ids[0]]);
    expect(second).toMatchObject({ has_more: false, next_cursor: null });
  });

  it('needs admin: read and write keys and a member are refused; another workspace sees none of them', async () => {
    const ws = await workspace();
    const c = await create(ws.api, { name: 'Scoped' });
    await erase(ws.api, c.id);
    for (const scopes of [['read'], ['write']] as const) {
      expectProblem(await client(t.url, await ws.keyFor([...scopes])).get('/v1/erasures'), 403);
    }
    const other = await workspace();
    expect((await receipts(other.api)).data).toEqual([]);
    expectProblem(await ws.api.get('/v1/erasures?limit=0'), 422);
    expectProblem(await ws.api.get('/v1/erasures?cursor=not-a-cursor'), 422);

    // A member deletes (allowed) but does not read receipts; an admin does, and sees who erased.
    const member = await createUser(t, 'member', ws.id);
    const admin = await createUser(t, 'admin', ws.id);
    const mSession = await signInAs(t.url, member.email, member.password);
    const aSession = await signInAs(t.url, admin.email, admin.password);
    const target = await create(ws.api, { name: 'Deleted By Member' });
    tick();
    const del = await mSession.delete(`/v1/contacts/${target.id}`);
    expect(del.status, JSON.stringify(del.body)).toBe(204);
    const id = del.headers.get('erasure-receipt');
    expect(id).toMatch(RECEIPT_ID);
    expectProblem(await mSession.get('/v1/erasures'), 403);
    const seen = await aSession.get('/v1/erasures');
    expect(seen.status).toBe(200);
    expect(seen.body.data[0]).toMatchObject({ id, contact_id: target.id, erased_by: { type: 'user', id: member.id } });
  });
});

describe('suppression: a batch does not silently re-create an erased person', () => {
  const ERASED = { name: 'Octavia Suppressed-Lind', email: 'Octavia.Lind@suppress-probe.example', phone: '+447700900987' };

  async function erasedWorkspace(): Promise<{ ws: Ws; kept: any }> {
    const ws = await workspace({ default_phone_region: 'GB' });
    const kept = await create(ws.api, { name: 'Still Here', email: 'still.here@suppress-kept.example', phone: '+14155550142' });
    const person = await create(ws.api, { name: ERASED.name, email: ERASED.email, phone: '07700 900987' });
    expect(person.phone).toBe(ERASED.phone);
    tick();
    await erase(ws.api, person.id);
    return { ws, kept };
  }

  it('skips the erased email in any letter case and the erased phone in any spelling, with a reason; creates and updates the rest', async () => {
    const { ws, kept } = await erasedWorkspace();
    const items = [
      { name: 'Back Again', email: 'octavia.lind@SUPPRESS-PROBE.example' },
      { phone: '+44 7700 900987' },
      { phone: '+447700900987' },
      { phone: '07700 900987' },
      { phone: '(+44) 7700-900-987' },
      { phone: '0044 7700 900987' },
      { email: 'brand.new@suppress-other.example', phone: '+44 7700 900987' },
      { email: 'OCTAVIA.LIND@suppress-probe.example', phone: '+15550009876', name: 'New Number' },
      { name: 'Fresh Person', email: 'fresh@suppress-other.example' },
      { email: 'STILL.HERE@suppress-kept.example', company: 'Kept Co' },
      { email: 'not-an-email' },
      { name: 'Fresh Phone', phone: '+44 7700 900111' },
    ];
    const results = await batch(ws.api, items);
    expect(results.map((r) => r.status)).toEqual([
      'skipped', 'skipped', 'skipped', 'skipped', 'skipped', 'skipped', 'skipped', 'skipped', 'created', 'updated', 'error', 'created',
    ]);
    expect(results.map((r) => r.index)).toEqual(items.map((_, i) => i));
    for (const r of results.filter((x) => x.status === 'skipped')) {
      expect(r.id).toBeNull();
      expect(typeof r.error).toBe('string');
      expect(r.error).toMatch(/eras/i);
      // The reason does not repeat who it was.
      expect(r.error.toLowerCase()).not.toContain('octavia');
      expect(r.error).not.toContain('7700');
    }
    expect(results[9]!.id).toBe(kept.id);
    expect((await ws.api.get(`/v1/contacts/${kept.id}`)).body.company).toBe('Kept Co');

    const all = (await ws.api.get('/v1/contacts?archived=all&limit=200')).body.data;
    expect(all.map((c: any) => c.id).sort()).toEqual([kept.id, results[8]!.id, results[11]!.id].sort());
    expect(all.find((c: any) => c.id === results[11]!.id).phone).toBe('+447700900111');
    expect((await ws.api.get('/v1/contacts?q=octavia&archived=all')).body.data).toEqual([]);
    expect((await ws.api.get('/v1/contacts?q=7700900987&archived=all')).body.data).toEqual([]);
    expect(cellsContaining(await readAllTables(t), [ERASED.email, ERASED.phone, '7700900987', 'Suppressed-Lind', 'brand.new@suppress-other.example'])).toEqual([]);
  });

  it('a batch of only the erased person creates nothing, again and again', async () => {
    const { ws } = await erasedWorkspace();
    for (let i = 0; i < 2; i++) {
      const results = await batch(ws.api, [{ name: ERASED.name, email: ERASED.email, phone: ERASED.phone }, { email: ERASED.email.toLowerCase() }]);
      expect(results.map((r) => r.status)).toEqual(['skipped', 'skipped']);
    }
    expect((await ws.api.get('/v1/contacts/count?archived=all')).body.count).toBe(1);
  });

  it('updates a contact that exists again (the person came back on their own): suppression only stops re-creation', async () => {
    const { ws } = await erasedWorkspace();
    tick();
    const conv = await start(ws.api, { channel: 'widget', visitor_id: 'octavia-returns' });
    const idf = await ws.api.post(`/v1/conversations/${conv.id}/identify`, { name: 'Octavia', email: ERASED.email });
    expect(idf.status, JSON.stringify(idf.body)).toBe(200);
    const back = idf.body.contact;
    expect(back).not.toBeNull();

    const results = await batch(ws.api, [{ email: ERASED.email.toUpperCase(), company: 'Returned Ltd' }, { phone: ERASED.phone, name: 'Phone Twin' }]);
    expect(results[0]).toMatchObject({ status: 'updated', id: back.id, error: null });
    // The phone is still suppressed and held by nobody: that item is skipped.
    expect(results[1]).toMatchObject({ status: 'skipped', id: null });
    expect((await ws.api.get(`/v1/contacts/${back.id}`)).body.company).toBe('Returned Ltd');
    expect((await timeline(ws.api, back.id)).some((e) => e.type === 'contact.updated')).toBe(true);
  });

  it('an import skips the erased person likewise, counted as skipped, with the reason in its report', async () => {
    const { ws, kept } = await erasedWorkspace();
    const csv = [
      'Full name,E-mail,Phone number',
      `${ERASED.name},${ERASED.email.toUpperCase()},`,
      'Phone Only,,+44 (0)7700 900987',
      'Imported Ivy,ivy@suppress-import.example,',
      'Still Here,still.here@suppress-kept.example,',
    ].join('\r\n') + '\r\n';
    tick();
    const res = await ws.api.call('POST', '/v1/imports', csv, { 'content-type': 'text/csv' });
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    let imp = res.body;
    const deadline = Date.now() + 20_000;
    while (imp.status === 'queued' || imp.status === 'running') {
      if (Date.now() > deadline) throw new Error(`import still ${imp.status}: ${JSON.stringify(imp)}`);
      await new Promise((r) => setTimeout(r, 100));
      imp = (await ws.api.get(`/v1/imports/${imp.id}`)).body;
    }
    expect(imp).toMatchObject({ status: 'completed', created: 1, updated: 1, skipped: 2, failed: 0 });
    const all = (await ws.api.get('/v1/contacts?archived=all&limit=200')).body.data;
    expect(all.map((c: any) => c.email).sort()).toEqual(['ivy@suppress-import.example', 'still.here@suppress-kept.example']);
    expect(all.some((c: any) => c.id === kept.id)).toBe(true);

    expect(typeof imp.report_url).toBe('string');
    const report = await fetch(imp.report_url.startsWith('http') ? imp.report_url : t.url + imp.report_url);
    expect(report.status).toBe(200);
    const text = await report.text();
    const lines = text.split(/\r?\n/).filter(Boolean);
    expect(lines[0]).toMatch(/reason/);
    expect(lines).toHaveLength(3);
    for (const line of lines.slice(1)) expect(line).toMatch(/eras/i);
  });

  it('is per workspace: another workspace creates the same person', async () => {
    await erasedWorkspace();
    const other = await workspace({ default_phone_region: 'GB' });
    const results = await batch(other.api, [{ name: ERASED.name, email: ERASED.email, phone: ERASED.phone }]);
    expect(results[0]).toMatchObject({ status: 'created', error: null });
  });
});
