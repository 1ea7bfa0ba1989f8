// Async CSV exports (API.md "Exports", issue 6 point 1): the CSV of 100,000 contacts parsed back equals
// the list API for the same filter, cell for cell; formula cells neutralised and everything else byte for
// byte; the credential-less link, 404 for a wrong token, 410 from 24 hours (a manual clock), the file
// swept from disk; validation, columns, history per plan, export.completed on the stream, and the mail to
// the requesting user through a real SMTP server.
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { neutralise } from '../src/domain/csv.js';
import { createUser, signInAs, workspaceWithOwner } from './support/accounts.js';
import { expectInvalid, expectProblem } from './support/problems.js';
import { start } from './support/capture.js';
import { startSmtpServer, type SmtpServer } from './support/smtp.js';
import { openStream } from './support/stream.js';
import { client, type Client, manualClock, startTestServer, type TestServer, usingPostgres } from './support/server.js';

const DEFAULT_FIELDS = ['id', 'name', 'email', 'phone', 'company', 'source', 'first_seen', 'last_seen', 'conversation_count', 'tags', 'page_url', 'ip_country'];
const ALL_FIELDS = [...DEFAULT_FIELDS, 'lifecycle_stage', 'archived', 'created_at', 'updated_at', 'metadata'];
const ISO_MS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
const DAY = 86_400_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------------
// Helpers

type Getter = { get(url: string): Promise<{ status: number; body: any }> };

/** Polls GET /v1/exports/{id} until the export has finished; answers it and every state seen on the way. */
async function waitForExport(api: Getter, id: string, timeoutMs = 60_000): Promise<{ done: any; seen: any[] }> {
  const deadline = Date.now() + timeoutMs;
  const seen: any[] = [];
  for (;;) {
    const res = await api.get(`/v1/exports/${id}`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    seen.push(res.body);
    if (res.body.status === 'completed' || res.body.status === 'failed') return { done: res.body, seen };
    if (Date.now() > deadline) throw new Error(`export ${id} not finished within ${timeoutMs} ms: ${JSON.stringify(res.body)}`);
    await sleep(50);
  }
}

async function startExport(api: Client, body: Record<string, unknown>): Promise<any> {
  const res = await api.post('/v1/contacts/export', body);
  expect(res.status, JSON.stringify(res.body)).toBe(202);
  return res.body;
}

/** GET without credentials, the body read to the end (an unread body keeps the connection busy). */
async function statusOf(url: string, headers: Record<string, string> = {}): Promise<number> {
  const res = await fetch(url, { headers });
  await res.arrayBuffer();
  return res.status;
}

/** Starts an export, waits for it to complete, downloads its CSV without credentials. */
async function runExport(api: Client, body: Record<string, unknown>, timeoutMs = 60_000): Promise<{ exp: any; csv: string; seen: any[] }> {
  const started = await startExport(api, body);
  const { done, seen } = await waitForExport(api, started.id, timeoutMs);
  expect(done.status, JSON.stringify(done)).toBe('completed');
  const res = await fetch(done.download_url);
  expect(res.status).toBe(200);
  return { exp: done, csv: await res.text(), seen };
}

/** Strict RFC 4180 parse: CRLF between records, quotes only around whole cells, equal record lengths. */
function parseCsv(text: string): string[][] {
  return parse(text, { record_delimiter: '\r\n', bom: false, relax_quotes: false, relax_column_count: false, skip_empty_lines: false });
}

/** What the spec says a cell must be: the API's value as text, formula starts neutralised. */
function isNumberOnly(v: string): boolean {
  return /^[+-]?(\d+(\.\d+)?|\.\d+)$/.test(v);
}
function expectedNeutralised(v: string): string {
  if (!/^[=+\-@\t\r]/.test(v)) return v;
  if (isNumberOnly(v) || /^\+[1-9]\d{1,14}$/.test(v)) return v;
  return "'" + v;
}
function expectedCell(contact: Record<string, any>, field: string): string {
  const v = contact[field];
  if (field === 'tags') return expectedNeutralised((v as string[]).join(','));
  if (field === 'metadata') return expectedNeutralised(JSON.stringify(v));
  if (v === null || v === undefined) return '';
  return expectedNeutralised(String(v));
}

/** Every contact of GET /v1/contacts for these query parameters, paged through with the cursor. */
async function listAll(api: Client, query: string): Promise<any[]> {
  const out: any[] = [];
  let cursor: string | null = null;
  for (;;) {
    const res: { status: number; body: any } = await api.get(`/v1/contacts?${query}&limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    out.push(...res.body.data);
    if (!res.body.has_more) return out;
    cursor = res.body.next_cursor;
  }
}

/** The CSV against the API's contacts: header, order, and every cell; reports the first differences only. */
function compareCsvToApi(csv: string, contacts: any[], fields: string[]): void {
  expect(csv.charCodeAt(0), 'no BOM').not.toBe(0xfeff);
  expect(csv.startsWith(fields.join(',') + '\r\n'), `header line of ${JSON.stringify(csv.slice(0, 300))}`).toBe(true);
  expect(csv.endsWith('\r\n')).toBe(true);
  const records = parseCsv(csv);
  expect(records[0]).toEqual(fields);
  const rows = records.slice(1);
  expect(rows.length, 'rows in the CSV against the API').toBe(contacts.length);
  const orderDiffs: string[] = [];
  const cellDiffs: string[] = [];
  const byId = new Map(rows.map((r) => [r[0], r]));
  expect(byId.size, 'ids in the CSV are unique').toBe(rows.length);
  for (let i = 0; i < contacts.length; i++) {
    const c = contacts[i]!;
    if (rows[i]![0] !== c.id && orderDiffs.length < 5) orderDiffs.push(`row ${i + 1}: CSV ${rows[i]![0]}, API ${c.id}`);
    const row = byId.get(c.id);
    if (!row) {
      cellDiffs.push(`${c.id} missing from the CSV`);
      continue;
    }
    fields.forEach((f, k) => {
      const want = expectedCell(c, f);
      if (row[k] !== want && cellDiffs.length < 10) cellDiffs.push(`${c.id}.${f}: CSV ${JSON.stringify(row[k])}, API ${JSON.stringify(want)}`);
    });
  }
  expect(orderDiffs, 'rows in the order of the list').toEqual([]);
  expect(cellDiffs, 'cells equal to the API').toEqual([]);
}

/** A deterministic generator (mulberry32). */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const NAMES = [
  'Sarah Johnson', 'Zoë Müller', '王芳', 'Ελένη Παπαδοπούλου', 'Иван Петров', 'محمد علي', 'Chloé Dubois', "Seán O'Brien",
  'Smith, John', 'He said "hi"', 'Line\nbreak', 'Carriage\r\nreturn', 'Tab\tinside', '=SUM(A1)', '+1 bad', '-5 people', '-5',
  '@home', '+44', 'José García-López', '😀 Emoji Person', 'a,"b",c', 'Nguyễn Văn A', '"quoted"',
];
const COMPANIES = ['Acme Corp', 'Acme, Inc.', '"Quoted" Ltd', 'Müller GmbH', '株式会社テスト', '@corp', '=HYPERLINK("http://x")', 'Line\nCo', null, null];
const SOURCES: Array<[string, number]> = [['widget', 40], ['api', 30], ['whatsapp', 15], ['slack', 10], ['zapier_v2', 5]];
const TAGS = ['lead', 'vip', 'enterprise', '=cmd', 'naïve', '日本', 'a"b'];
const PAGES = ['https://acme.com/pricing', 'https://acme.com/p?a=1,b="2"', 'https://acme.com/', null];
const COUNTRIES = ['US', 'DE', 'JP', 'GB', null];
const EXCHANGES = ['234', '345', '456', '567', '678', '789', '890', '902', '923', '978'];
const BASE = Date.parse('2024-01-01T00:00:00.000Z');

/** Contact `i` of a generated set: unique email and phone (so nothing merges), tricky text, historical times. */
function generated(i: number, rnd: () => number): Record<string, unknown> {
  const pick = <T>(a: readonly T[]): T => a[Math.floor(rnd() * a.length)]!;
  let r = rnd() * 100;
  let source = 'widget';
  for (const [s, w] of SOURCES) if ((r -= w) < 0) { source = s; break; }
  const hasEmail = rnd() < 0.85;
  const hasPhone = rnd() < 0.5;
  const hasName = rnd() < 0.95 || (!hasEmail && !hasPhone);
  const tags = new Set<string>();
  for (let k = Math.floor(rnd() * 4); k > 0; k--) tags.add(pick(TAGS));
  // Hour-aligned last_seen over two years: many ties, broken by id.
  const firstSeen = BASE + Math.floor(rnd() * 700 * DAY);
  const lastSeen = firstSeen + Math.floor(rnd() * 30 * 24) * 3600_000 - (firstSeen % 3600_000) + 3600_000;
  const item: Record<string, unknown> = {
    name: hasName ? `${pick(NAMES)}${rnd() < 0.5 ? '' : ` ${i}`}` : undefined,
    email: hasEmail ? `${rnd() < 0.2 ? 'Mixed.Case' : 'user'}${i}@ex${i % 7}.example.com` : undefined,
    phone: hasPhone ? `+1 (415) ${EXCHANGES[Math.floor(i / 10_000)]}-${String(i % 10_000).padStart(4, '0')}` : undefined,
    company: pick(COMPANIES),
    source,
    tags: [...tags],
    page_url: pick(PAGES),
    ip_country: pick(COUNTRIES),
    created_at: new Date(firstSeen).toISOString(),
    first_seen: new Date(firstSeen).toISOString(),
    last_seen: new Date(lastSeen).toISOString(),
    conversation_count: Math.floor(rnd() * 20),
  };
  if (rnd() < 0.1) item.metadata = { plan: pick(['free', 'pro']), note: 'a,"b"\nc', n: i };
  return item;
}

/** Loads `count` generated contacts through POST /v1/contacts/batch in calls of 1,000. */
async function loadGenerated(api: Client, count: number, seed: number): Promise<void> {
  const rnd = random(seed);
  const items = Array.from({ length: count }, (_, i) => generated(i, rnd));
  const calls: Array<Record<string, unknown>[]> = [];
  for (let i = 0; i < items.length; i += 1000) calls.push(items.slice(i, i + 1000));
  const inFlight = usingPostgres ? 4 : 3;
  let next = 0;
  const errors: string[] = [];
  await Promise.all(Array.from({ length: inFlight }, async () => {
    while (next < calls.length) {
      const batch = calls[next++]!;
      const res = await api.post('/v1/contacts/batch', { historical: true, contacts: batch });
      if (res.status !== 200) {
        errors.push(`${res.status} ${JSON.stringify(res.body).slice(0, 500)}`);
        continue;
      }
      const bad = (res.body.results as any[]).filter((x) => x.status !== 'created');
      if (bad.length) errors.push(JSON.stringify(bad.slice(0, 3)));
    }
  }));
  expect(errors, 'every batch item created').toEqual([]);
}

// ---------------------------------------------------------------------------------------------------
// One server for most tests, with a manual clock (moved only forward, a second at a time) and a real
// SMTP server behind SMTP_URL.

let t: TestServer;
let smtp: SmtpServer;
const clock = manualClock();
const MAIL_FROM = 'Chatsby Exports <exports@chatsby.test>';

beforeAll(async () => {
  smtp = await startSmtpServer();
  t = await startTestServer({ clock, env: { SMTP_URL: smtp.url, MAIL_FROM } });
});
afterAll(async () => {
  await t.close();
  await smtp?.close();
});

async function freshWorkspace(name = 'Exports'): Promise<{ id: string; key: string; api: Client; keyFor: (s: Array<'read' | 'write' | 'admin'>) => Promise<string> }> {
  const ws = await t.workspace(name);
  return { ...ws, api: client(t.url, ws.key) };
}

async function create(api: Client, body: Record<string, unknown>): Promise<any> {
  const res = await api.post('/v1/contacts', body);
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body;
}

describe('an export of 100,000 contacts', () => {
  let api: Client;
  const timings: Record<string, number> = {};

  beforeAll(async () => {
    ({ api } = await freshWorkspace('Big'));
    const t0 = Date.now();
    await loadGenerated(api, 100_000, 6);
    timings.load_ms = Date.now() - t0;
    expect((await api.get('/v1/contacts/count')).body.count).toBe(100_000);
  }, 600_000);
  afterAll(() => {
    console.log(`[exports] ${usingPostgres ? 'PostgreSQL' : 'SQLite'} timings: ${JSON.stringify(timings)}`);
  });

  it('parses back to exactly the rows, order and cells of GET /v1/contacts for the same filter', async () => {
    let t0 = Date.now();
    const { exp, csv, seen } = await runExport(api, { filters: { source: ['api'], has_email: true } }, 120_000);
    timings.export_ms = Date.now() - t0;
    t0 = Date.now();
    const contacts = await listAll(api, 'source=api&has_email=true');
    timings.list_ms = Date.now() - t0;
    expect(contacts.length).toBeGreaterThan(20_000);
    expect((await api.get('/v1/contacts/count?source=api&has_email=true')).body.count).toBe(contacts.length);

    expect(exp).toMatchObject({ format: 'csv', fields: DEFAULT_FIELDS, filters: { source: ['api'], has_email: true }, row_count: contacts.length, progress: 1, error: null });
    expect(exp.completed_at).toMatch(ISO_MS);
    // Progress and row_count only grow while it runs.
    for (let i = 1; i < seen.length; i++) {
      expect(seen[i].progress).toBeGreaterThanOrEqual(seen[i - 1].progress);
      expect(seen[i].row_count).toBeGreaterThanOrEqual(seen[i - 1].row_count);
    }
    for (const s of seen) {
      expect(s.progress).toBeGreaterThanOrEqual(0);
      expect(s.progress).toBeLessThanOrEqual(1);
      if (s.status !== 'completed') expect(s.download_url).toBeNull();
    }

    t0 = Date.now();
    compareCsvToApi(csv, contacts, DEFAULT_FIELDS);
    timings.compare_ms = Date.now() - t0;
    // The data has what the test is about: non-Latin, quotes, commas, newlines, formula starts, tags.
    const names = contacts.map((c) => c.name ?? '');
    for (const needle of ['王芳', 'Ελένη', '"hi"', 'Smith, John', 'Line\nbreak', 'Carriage\r\nreturn', '=SUM(A1)', '@home']) {
      expect(names.some((n) => n.includes(needle)), needle).toBe(true);
    }
    expect(contacts.some((c) => c.tags.length > 1)).toBe(true);
    expect(new Set(contacts.map((c) => c.last_seen)).size).toBeLessThan(contacts.length);
  }, 300_000);

  it('holds every contact exactly once while people it has not reached yet move to the top of the list', async () => {
    // The export walks the list newest activity first; the people seen longest ago come last. Each of
    // them starts a conversation while it runs, which moves them to the top: a walk that followed the
    // live list would pass them by. The file is one snapshot, so it holds everyone once.
    const total = (await api.get('/v1/contacts/count')).body.count as number;
    const oldest = (await api.get('/v1/contacts?sort=last_seen&has_email=true&limit=100')).body.data as any[];
    const started = await startExport(api, { fields: ['id'] });
    const moved: string[] = [];
    for (const c of oldest) {
      if (['completed', 'failed'].includes((await api.get(`/v1/exports/${started.id}`)).body.status)) break;
      const conversation = await start(api, { channel: 'api', visitor_id: `mover-${c.id}` });
      const res = await api.post(`/v1/conversations/${conversation.id}/identify`, { email: c.email });
      expect(res.body.contact?.id, JSON.stringify(res.body)).toBe(c.id);
      moved.push(c.id);
    }
    const { done } = await waitForExport(api, started.id, 120_000);
    expect(done.status).toBe('completed');
    expect(moved.length).toBeGreaterThan(0);
    const ids = parseCsv(await (await fetch(done.download_url)).text()).slice(1).map((r) => r[0]);
    expect(done.row_count).toBe(total);
    expect(ids.length).toBe(total);
    expect(new Set(ids).size).toBe(total);
    const inFile = new Set(ids);
    expect(moved.filter((id) => !inFile.has(id))).toEqual([]);
    // And they did move: the list now starts with them.
    const top = (await api.get(`/v1/contacts?limit=${moved.length}`)).body.data.map((c: any) => c.id);
    expect(new Set(top)).toEqual(new Set(moved));
  }, 300_000);

  it('every column, another filter and sort by name: still exactly the list', async () => {
    const t0 = Date.now();
    const { exp, csv } = await runExport(api, { filters: { tag: ['vip'], has_phone: 'true', sort: 'name' }, fields: [...ALL_FIELDS].reverse() }, 120_000);
    timings.export_all_fields_ms = Date.now() - t0;
    expect(exp.fields).toEqual(ALL_FIELDS);
    const contacts = await listAll(api, 'tag=vip&has_phone=true&sort=name');
    expect(contacts.length).toBeGreaterThan(5_000);
    compareCsvToApi(csv, contacts, ALL_FIELDS);
  }, 300_000);

  it('sorted by a field some people lack (phone: half have none, listed after the rest): still exactly the list', async () => {
    // An export this big is read by several threads, each its share of the phones and of the rows
    // without one: the file must still be the list's order, with the seams invisible.
    const { exp, csv } = await runExport(api, { filters: { sort: '-phone' }, fields: ['id', 'phone'] }, 120_000);
    const contacts = await listAll(api, 'sort=-phone');
    expect(contacts.length).toBe(100_000);
    const withoutPhone = contacts.filter((c) => c.phone === null).length;
    expect(withoutPhone).toBeGreaterThan(30_000);
    expect(contacts.slice(-withoutPhone).every((c) => c.phone === null)).toBe(true);
    expect(exp.row_count).toBe(100_000);
    compareCsvToApi(csv, contacts, ['id', 'phone']);
  }, 300_000);

  it('a created date range (whole days) with other filters: the rows of the list', async () => {
    const { exp, csv } = await runExport(api, { filters: { created_from: '2024-06-01', created_to: '2024-06-30', source: ['widget', 'slack'], conversation_count_min: 3, sort: '-created_at' } }, 120_000);
    const contacts = await listAll(api, 'created_from=2024-06-01&created_to=2024-06-30&source=widget,slack&conversation_count_min=3&sort=-created_at');
    expect(contacts.length).toBeGreaterThan(1_000);
    expect(exp.row_count).toBe(contacts.length);
    for (const c of contacts) expect(c.created_at >= '2024-06-01T00:00:00.000Z' && c.created_at <= '2024-06-30T23:59:59.999Z', c.created_at).toBe(true);
    compareCsvToApi(csv, contacts, DEFAULT_FIELDS);
  }, 120_000);
});

describe('cells', () => {
  it('neutralises formula starts except numbers and E.164 phones, and keeps every other cell byte for byte', async () => {
    const { api } = await freshWorkspace('Cells');
    const rows = [
      { name: '=SUM(A1)', email: 'sum@example.com', company: '+1 bad', tags: ['=cmd', 'vip'] },
      { name: '-5 people', phone: '+15551234567', company: '-5' },
      { name: '-5', company: '@home', email: 'minus@example.com' },
      { name: '+44', company: '+3.5' },
      { name: '@home', company: '=HYPERLINK("http://evil.example","x")' },
      { name: 'He said "hi", then left', company: 'Acme, Inc.', tags: ['a"b', 'naïve'] },
      { name: 'Two\nlines', company: 'Windows\r\nline' },
      { name: 'Zoë', company: '王芳', email: 'zoe@example.com' },
      { name: 'Ελένη', company: 'Иван & Co', page_url: 'https://acme.com/p?a=1,b="2"' },
      { name: "O'Brien", company: "'=already quoted" },
      { name: 'Tab\tinside', company: 'x=1' },
      { name: '😀 emoji', company: 'a "b" c', metadata: { note: '=1+1', quote: '"', list: [1, 'a,b'] } },
      { name: '\tx', company: ' \r\ny' },
    ];
    const created: any[] = [];
    for (const r of rows) created.push(await create(api, r));
    // Every string field is trimmed on input: a leading tab or CR never reaches a stored cell.
    expect(created.at(-1)).toMatchObject({ name: 'x', company: 'y' });

    const { csv } = await runExport(api, { filters: { sort: 'created_at' }, fields: ALL_FIELDS });
    const contacts = await listAll(api, 'sort=created_at');
    expect(contacts.map((c) => c.id).sort()).toEqual(created.map((c) => c.id).sort());
    compareCsvToApi(csv, contacts, ALL_FIELDS);

    // The raw cells, written out by hand.
    const { csv: raw } = await runExport(api, { filters: { sort: 'created_at' }, fields: ['id', 'name', 'phone', 'company', 'tags'] });
    // From the contact's id on; each hand-written record below ends with its CRLF.
    const lineOf = (c: any) => {
      const start = raw.indexOf(c.id + ',');
      expect(start, `${c.id} in the CSV`).toBeGreaterThan(0);
      return raw.slice(start);
    };
    const expectLine = (i: number, text: string) => expect(lineOf(created[i]).startsWith(`${created[i].id},${text}\r\n`), `${JSON.stringify(lineOf(created[i]).slice(0, 120))} starts with ${JSON.stringify(text)}`).toBe(true);
    expectLine(0, `'=SUM(A1),,'+1 bad,"'=cmd,vip"`);
    expectLine(1, `'-5 people,+15551234567,-5,`);
    expectLine(2, `-5,,'@home,`);
    expectLine(3, `+44,,+3.5,`);
    expectLine(4, `'@home,,"'=HYPERLINK(""http://evil.example"",""x"")",`);
    expectLine(5, `"He said ""hi"", then left",,"Acme, Inc.","a""b,naïve"`);
    expectLine(6, `"Two\nlines",,"Windows\r\nline",`);
    expectLine(7, `Zoë,,王芳,`);
    expectLine(8, `Ελένη,,Иван & Co,`);
    expectLine(9, `O'Brien,,'=already quoted,`);
    expectLine(10, `Tab\tinside,,x=1,`);
    expectLine(11, `😀 emoji,,"a ""b"" c",`);
    expect(raw.startsWith('id,name,phone,company,tags\r\n')).toBe(true);
    // The file is UTF-8 without a BOM.
    const bytes = Buffer.from(raw, 'utf8');
    expect(bytes.includes(Buffer.from('王芳', 'utf8'))).toBe(true);
  });

  it('neutralise(): a leading tab or carriage return (cells the API can not store, as it trims) gets the quote too', () => {
    // The API trims every string, so these starts are checked on the writer itself.
    expect(neutralise('\tx')).toBe("'\tx");
    expect(neutralise('\rx')).toBe("'\rx");
    expect(neutralise('=1')).toBe("'=1");
    expect(neutralise('-1.5')).toBe('-1.5');
    expect(neutralise('+15551234567')).toBe('+15551234567');
  });
});

describe('validation, columns, listing', () => {
  let ws: Awaited<ReturnType<typeof freshWorkspace>>;
  beforeAll(async () => {
    ws = await freshWorkspace('Validation');
    await create(ws.api, { name: 'Ann', email: 'ann@example.com', source: 'widget', tags: ['lead'] });
    await create(ws.api, { name: 'Bob', phone: '+15557654321', source: 'api' });
  });

  it.each([
    [{ filters: { bogus: 1 } }, 'filters.bogus'],
    [{ filters: { has_email: 'maybe' } }, 'filters.has_email'],
    [{ filters: { has_phone: 1 } }, 'filters.has_phone'],
    [{ filters: { source: 'Two Words' } }, 'filters.source'],
    [{ filters: { source: [1] } }, 'filters.source'],
    [{ filters: { created_from: 'yesterday' } }, 'filters.created_from'],
    [{ filters: { created_from: '2026-02-01', created_to: '2026-01-01' } }, 'filters.created_to'],
    [{ filters: { last_active: '2d' } }, 'filters.last_active'],
    [{ filters: { conversation_count_min: -1 } }, 'filters.conversation_count_min'],
    [{ filters: { lifecycle_stage: ['new', 'nope'] } }, 'filters.lifecycle_stage'],
    [{ filters: { archived: 'maybe' } }, 'filters.archived'],
    [{ filters: { sort: 'nope' } }, 'filters.sort'],
    [{ filters: { sort: ['name'] } }, 'filters.sort'],
    [{ filters: { tag: ['x'.repeat(65)] } }, 'filters.tag'],
    [{ fields: ['id', 'nope'] }, 'fields'],
    [{ fields: [] }, 'fields'],
    [{ fields: ['id', 'id'] }, 'fields'],
    [{ format: 'xlsx' }, 'format'],
  ])('rejects %j with 422 naming %s, and starts nothing', async (body, field) => {
    const before = (await ws.api.get('/v1/exports?limit=200')).body.data.length;
    expectInvalid(await ws.api.post('/v1/contacts/export', body), field);
    expect((await ws.api.get('/v1/exports?limit=200')).body.data.length).toBe(before);
  });

  it('names every bad filter at once', async () => {
    const res = await ws.api.post('/v1/contacts/export', { filters: { bogus: 1, other: 2 } });
    expectInvalid(res, 'filters.bogus');
    expectInvalid(res, 'filters.other');
  });

  it('writes the documented columns by default, in the documented order', async () => {
    const { exp, csv } = await runExport(ws.api, {});
    expect(exp.fields).toEqual(DEFAULT_FIELDS);
    expect(exp.filters).toEqual({});
    expect(csv.split('\r\n')[0]).toBe('id,name,email,phone,company,source,first_seen,last_seen,conversation_count,tags,page_url,ip_country');
    expect(exp.row_count).toBe(2);
    compareCsvToApi(csv, await listAll(ws.api, 'sort=-last_seen'), DEFAULT_FIELDS);
  });

  it('writes chosen fields in the documented order whatever order they were asked in', async () => {
    const { exp, csv } = await runExport(ws.api, { fields: ['metadata', 'tags', 'email', 'id', 'created_at', 'name', 'archived'], format: 'csv' });
    expect(exp.fields).toEqual(['id', 'name', 'email', 'tags', 'archived', 'created_at', 'metadata']);
    expect(csv.split('\r\n')[0]).toBe('id,name,email,tags,archived,created_at,metadata');
    compareCsvToApi(csv, await listAll(ws.api, 'sort=-last_seen'), exp.fields);
  });

  it('filters as a query string would, with JSON values: the rows of the list', async () => {
    const { exp, csv } = await runExport(ws.api, { filters: { source: 'widget,api', tag: ['lead'], has_email: true } });
    expect(exp.row_count).toBe(1);
    compareCsvToApi(csv, await listAll(ws.api, 'source=widget,api&tag=lead&has_email=true'), DEFAULT_FIELDS);
  });

  it('exports zero rows as the header line alone', async () => {
    const { exp, csv, seen } = await runExport(ws.api, { filters: { q: 'nobody-matches-this' } });
    expect(exp).toMatchObject({ status: 'completed', row_count: 0, progress: 1 });
    expect(csv).toBe(DEFAULT_FIELDS.join(',') + '\r\n');
    expect(seen.length).toBeGreaterThan(0);
  });

  it('answers 202 with a queued export of the documented shape', async () => {
    const res = await ws.api.post('/v1/contacts/export', { filters: { has_phone: true }, fields: ['name', 'id'] });
    expect(res.status).toBe(202);
    expect(Object.keys(res.body).sort()).toEqual(
      ['completed_at', 'created_at', 'download_url', 'error', 'expires_at', 'fields', 'filters', 'format', 'id', 'progress', 'requested_by', 'row_count', 'status'],
    );
    expect(res.body).toMatchObject({
      id: expect.stringMatching(/^exp_/), status: 'queued', format: 'csv', filters: { has_phone: true }, fields: ['id', 'name'],
      row_count: 0, progress: 0, download_url: null, expires_at: null, error: null, completed_at: null,
      requested_by: { type: 'api_key', id: expect.any(String) },
    });
    expect(res.body.created_at).toMatch(ISO_MS);
    const { done } = await waitForExport(ws.api, res.body.id);
    expect(done).toMatchObject({ status: 'completed', row_count: 1, progress: 1 });
    expect(done.download_url).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:\\d+/v1/exports/${done.id}/download\\?token=`));
    expect(Date.parse(done.expires_at) - Date.parse(done.completed_at)).toBe(DAY);
  });

  it('lists exports newest first with cursor paging; another workspace sees none of them', async () => {
    const mine = await freshWorkspace('Listing');
    await create(mine.api, { name: 'Only one' });
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      clock.advance(1000);
      ids.push((await runExport(mine.api, { fields: ['id'] })).exp.id);
    }
    const all = await mine.api.get('/v1/exports');
    expect(all.status).toBe(200);
    expect(all.body.data.map((e: any) => e.id)).toEqual([...ids].reverse());
    expect(all.body.has_more).toBe(false);
    const first = await mine.api.get('/v1/exports?limit=2');
    expect(first.body.data.map((e: any) => e.id)).toEqual([ids[2], ids[1]]);
    expect(first.body.has_more).toBe(true);
    const second = await mine.api.get(`/v1/exports?limit=2&cursor=${encodeURIComponent(first.body.next_cursor)}`);
    expect(second.body.data.map((e: any) => e.id)).toEqual([ids[0]]);
    expect(second.body.has_more).toBe(false);
    expect(all.body.data[0]).toMatchObject({ status: 'completed', download_url: expect.stringContaining(ids[2]!) });

    const other = await freshWorkspace('Other');
    expectProblem(await other.api.get(`/v1/exports/${ids[0]}`), 404);
    expect((await other.api.get('/v1/exports')).body.data).toEqual([]);
    expectProblem(await mine.api.get('/v1/exports/exp_doesnotexist00'), 404);
  });

  it('needs the write scope to start and the read scope to look', async () => {
    const readKey = await ws.keyFor(['read']);
    const reader = client(t.url, readKey);
    expectProblem(await reader.post('/v1/contacts/export', {}), 403);
    expect((await reader.get('/v1/exports')).status).toBe(200);
    expectProblem(await client(t.url).get('/v1/exports'), 401);
    expectProblem(await client(t.url).post('/v1/contacts/export', {}), 401);
    const writer = client(t.url, await ws.keyFor(['write']));
    expect((await writer.post('/v1/contacts/export', {})).status).toBe(202);
  });
});

describe('export.completed', () => {
  it('goes to the stream with the id, row count and the download link', async () => {
    const ws = await freshWorkspace('Stream');
    await create(ws.api, { name: 'Streamed', email: 'streamed@example.com' });
    const s = await openStream(t.url, { authorization: `Bearer ${await ws.keyFor(['read'])}` });
    expect(s.res.status).toBe(200);
    try {
      await s.position();
      const started = await startExport(ws.api, { fields: ['id', 'email'] });
      const e = await s.waitFor((x) => x.event === 'export.completed' && x.body.data?.id === started.id, 15_000);
      const { done } = await waitForExport(ws.api, started.id);
      expect(e.body).toMatchObject({ event: 'export.completed', id: expect.stringMatching(/^evt_/), occurred_at: expect.stringMatching(ISO_MS) });
      expect(e.body.data).toMatchObject({ id: started.id, row_count: 1, download_url: done.download_url });
      const res = await fetch(e.body.data.download_url);
      expect(res.status).toBe(200);
      expect(await res.text()).toMatch(/^id,email\r\nctc_\w+,streamed@example\.com\r\n$/);
      // Only one, and not twice.
      await sleep(1500);
      expect(s.events().filter((x) => x.event === 'export.completed')).toHaveLength(1);
    } finally {
      s.close();
    }
  });
});

describe('mail', () => {
  it('mails the user who started the export a link that downloads the CSV', async () => {
    const { workspaceId, owner } = await workspaceWithOwner(t, 'Mailed');
    const member = await createUser(t, 'member', workspaceId);
    const session = await signInAs(t.url, member.email, member.password);
    const ownerSession = await signInAs(t.url, owner.email, owner.password);
    const made = await ownerSession.post('/v1/contacts', { name: 'Mailed Person', email: 'mailed@example.com', company: '=evil()' });
    expect(made.status, JSON.stringify(made.body)).toBe(201);

    const started = await session.post('/v1/contacts/export', { filters: { has_email: true } });
    expect(started.status, JSON.stringify(started.body)).toBe(202);
    expect(started.body.requested_by).toMatchObject({ type: 'user', id: member.id });
    const { done } = await waitForExport(session, started.body.id);
    expect(done.status).toBe('completed');

    const mail = await smtp.waitFor((m) => m.text.includes(done.id));
    expect(mail.rcptTo).toEqual([member.email]);
    expect(mail.headers.to).toContain(member.email);
    expect(mail.headers.from).toContain('exports@chatsby.test');
    expect(mail.mailFrom).toBe('exports@chatsby.test');
    const links = mail.text.match(/https?:\/\/\S+/g) ?? [];
    expect(links).toContain(done.download_url);
    const res = await fetch(links.find((l) => l === done.download_url)!);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/csv/);
    const records = parseCsv(await res.text());
    expect(records).toEqual([DEFAULT_FIELDS, DEFAULT_FIELDS.map((f) => expectedCell(made.body, f))]);
    expect(records[1]![4]).toBe("'=evil()");
    // Only the requester got it.
    expect(smtp.mails.filter((m) => m.text.includes(done.id))).toHaveLength(1);
    expect(smtp.mails.some((m) => m.rcptTo.includes(owner.email))).toBe(false);
  });

  it('mails nothing for an export started with an API key', async () => {
    const ws = await freshWorkspace('Keyed');
    await create(ws.api, { name: 'Key Person' });
    const before = smtp.mails.length;
    const { exp } = await runExport(ws.api, {});
    await sleep(2000);
    expect(smtp.mails.slice(before).map((m) => m.headers.subject)).toEqual([]);
    expect(smtp.mails.some((m) => m.text.includes(exp.id))).toBe(false);
  });
});

// ---------------------------------------------------------------------------------------------------
// The link and the history move the clock by days: a server of their own.

describe('the download link', () => {
  let t2: TestServer;
  const clock2 = manualClock();
  let api: Client;
  let exp: any;

  beforeAll(async () => {
    t2 = await startTestServer({ clock: clock2 });
    const ws = await t2.workspace('Links');
    api = client(t2.url, ws.key);
    await create(api, { name: 'Linked', email: 'linked@example.com' });
  });
  afterAll(() => t2.close());

  const fileOf = (id: string) => path.join(t2.db.dir, 'files', 'exports', `${id}.csv`);

  it('works without credentials and nothing else opens it', async () => {
    const started = await startExport(api, {});
    exp = (await waitForExport(api, started.id)).done;
    expect(exp.status).toBe('completed');
    const url = new URL(exp.download_url);
    const token = url.searchParams.get('token')!;
    // At least 128 bits of token, by its alphabet.
    const alphabet = /^[0-9a-f]+$/.test(token) ? 16 : /^[0-9a-z]+$/i.test(token) ? (/[a-z]/.test(token) && /[A-Z]/.test(token) ? 62 : 36) : 64;
    expect(token.length * Math.log2(alphabet)).toBeGreaterThanOrEqual(128);

    const ok = await fetch(exp.download_url);
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-type')).toMatch(/^text\/csv/);
    expect(ok.headers.get('content-disposition')).toMatch(/^attachment/);
    const text = await ok.text();
    expect(text.startsWith(DEFAULT_FIELDS.join(',') + '\r\n')).toBe(true);
    expect(fs.readFileSync(fileOf(exp.id), 'utf8')).toBe(text);
    expect(fs.readdirSync(path.dirname(fileOf(exp.id))).filter((f) => f.endsWith('.part'))).toEqual([]);

    const base = `${t2.url}/v1/exports/${exp.id}/download`;
    const flipped = token.slice(0, -1) + (token.endsWith('A') ? 'B' : 'A');
    for (const bad of [`${base}?token=${flipped}`, `${base}?token=`, base, `${base}?token=${token}x`, `${t2.url}/v1/exports/exp_0000000000000000/download?token=${token}`]) {
      const res = await fetch(bad);
      expect(res.status, bad).toBe(404);
      expect(await res.text()).not.toContain('linked@example.com');
    }
    // Another export's token does not open this one.
    const second = (await waitForExport(api, (await startExport(api, { fields: ['id'] })).id)).done;
    const secondToken = new URL(second.download_url).searchParams.get('token')!;
    expect(await statusOf(`${base}?token=${secondToken}`)).toBe(404);
    // A key is not a token.
    expect(await statusOf(base, { authorization: `Bearer ${(await t2.workspace()).key}` })).toBe(404);
  });

  it('still works a millisecond before 24 hours, and the sweep leaves the file', async () => {
    clock2.set(Date.parse(exp.completed_at) + DAY - 1);
    expect(await statusOf(exp.download_url)).toBe(200);
    await t2.server.services.exports.sweep();
    expect(fs.existsSync(fileOf(exp.id))).toBe(true);
    expect(await statusOf(exp.download_url)).toBe(200);
  });

  it('answers 410 from 24 hours after completion', async () => {
    clock2.set(Date.parse(exp.completed_at) + DAY);
    const res = await fetch(exp.download_url);
    expect(res.status).toBe(410);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(await res.text()).not.toContain('linked@example.com');
    // A wrong token is still a 404, not a hint that the export exists.
    expect(await statusOf(exp.download_url.replace(/token=.*/, 'token=wrong'))).toBe(404);
  });

  it('the sweep removes the file of a link that answers 410 (at exactly 24 hours)', async () => {
    clock2.set(Date.parse(exp.completed_at) + DAY);
    expect(await statusOf(exp.download_url)).toBe(410);
    await t2.server.services.exports.sweep();
    expect(fs.existsSync(fileOf(exp.id)), 'a file whose link answers 410 is gone after the sweep').toBe(false);
  });

  it('the sweep deletes expired files from disk; the link stays 410', async () => {
    clock2.set(Date.parse(exp.completed_at) + DAY + 3600_000);
    expect(fs.existsSync(path.dirname(fileOf(exp.id)))).toBe(true);
    await t2.server.services.exports.sweep();
    expect(fs.existsSync(fileOf(exp.id))).toBe(false);
    expect(fs.readdirSync(path.dirname(fileOf(exp.id))).filter((f) => f.startsWith(exp.id))).toEqual([]);
    expect(await statusOf(exp.download_url)).toBe(410);
    // Enterprise keeps its history: the export is still listed.
    expect((await api.get(`/v1/exports/${exp.id}`)).status).toBe(200);
    // A new export after all this works as before.
    const again = (await waitForExport(api, (await startExport(api, {})).id)).done;
    expect(await statusOf(again.download_url)).toBe(200);
    expect(fs.existsSync(fileOf(again.id))).toBe(true);
  });
});

describe('export history per plan', () => {
  let t3: TestServer;
  const clock3 = manualClock();
  beforeAll(async () => {
    t3 = await startTestServer({ clock: clock3 });
  });
  afterAll(() => t3.close());

  const fileOf = (id: string) => path.join(t3.db.dir, 'files', 'exports', `${id}.csv`);

  async function planWorkspace(plan: string): Promise<Client> {
    const ws = await t3.workspace(`Plan ${plan}`);
    const api = client(t3.url, ws.key);
    const res = await api.patch('/v1/workspace', { plan });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.plan).toBe(plan);
    await create(api, { name: `On ${plan}` });
    return api;
  }

  async function complete(api: Client): Promise<any> {
    clock3.advance(1000);
    const { done } = await waitForExport(api, (await startExport(api, {})).id);
    expect(done.status).toBe('completed');
    return done;
  }

  it('free keeps only the newest finished export', async () => {
    const api = await planWorkspace('free');
    const a = await complete(api);
    expect((await api.get('/v1/exports')).body.data.map((e: any) => e.id)).toEqual([a.id]);
    expect(fs.existsSync(fileOf(a.id))).toBe(true);

    const b = await complete(api);
    expect((await api.get('/v1/exports')).body.data.map((e: any) => e.id)).toEqual([b.id]);
    expectProblem(await api.get(`/v1/exports/${a.id}`), 404);
    expect(await statusOf(a.download_url)).not.toBe(200);
    expect(fs.existsSync(fileOf(a.id))).toBe(false);
    expect(await statusOf(b.download_url)).toBe(200);

    const c = await complete(api);
    expect((await api.get('/v1/exports')).body.data.map((e: any) => e.id)).toEqual([c.id]);
  });

  it('pro keeps 90 days', async () => {
    const api = await planWorkspace('pro');
    const old = await complete(api);
    clock3.advance(60 * DAY);
    const recent = await complete(api);
    expect((await api.get('/v1/exports')).body.data.map((e: any) => e.id)).toEqual([recent.id, old.id]);
    clock3.advance(31 * DAY);
    await t3.server.services.exports.sweep();
    expect((await api.get('/v1/exports')).body.data.map((e: any) => e.id)).toEqual([recent.id]);
    expectProblem(await api.get(`/v1/exports/${old.id}`), 404);
  });
});
