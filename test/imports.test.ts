// CSV imports (API.md, Imports and the migration paragraph under Contacts; issue 6, point 2 and point 4's
// suppression): a messy file (BOM, CRLF, `;`, a quoted field with a newline, duplicates within the file
// and against the workspace, bad emails and phones, empty rows) with exact counts, the exact rejection
// report and the contacts as the API then lists them; multipart and text/csv alike; automatic and
// explicit column mappings and their errors; 415, 413, a missing file; dry runs that count exactly what
// the real run does and write nothing; historical imports (admin only); Idempotency-Key; an erased
// person not re-created by importing the same file again; and the CLI's `import` command.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse as parseCsv } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IMPORT_CHUNK_ROWS } from '../src/services/imports.js';
import { type Answer, client, type Client, manualClock, startTestServer, type TestServer } from './support/server.js';
import { expectInvalid, expectProblem } from './support/problems.js';
import { assertBuilt, childEnv, runCli } from './support/processes.js';

let t: TestServer;
const clock = manualClock();
const NOW = new Date(clock.now()).toISOString();
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'chatsby-import-test-'));

beforeAll(async () => {
  t = await startTestServer({ clock });
});
afterAll(async () => {
  await t?.close();
  fs.rmSync(scratch, { recursive: true, force: true });
});

const IMPORT_KEYS = [
  'columns', 'completed_at', 'created', 'created_at', 'dry_run', 'error', 'failed', 'historical', 'id', 'mapping', 'notes', 'progress',
  'report_url', 'requested_by', 'rows', 'skipped', 'status', 'updated',
];

interface Workspace {
  id: string;
  key: string;
  api: Client;
  keyFor(scopes: Array<'read' | 'write' | 'admin'>): Promise<string>;
}

async function workspace(): Promise<Workspace> {
  const ws = await t.workspace('Imports');
  return { id: ws.id, key: ws.key, api: client(t.url, ws.key), keyFor: (scopes) => ws.keyFor(scopes) };
}

interface UploadOptions {
  mapping?: unknown;
  dry_run?: boolean | string;
  historical?: boolean | string;
  /** multipart/form-data (default) or a text/csv body with the options in the query. */
  as?: 'multipart' | 'csv';
  headers?: Record<string, string>;
  baseUrl?: string;
}

async function answerOf(res: Response): Promise<Answer> {
  const text = await res.text();
  let body: unknown = text;
  if (text && /json/.test(res.headers.get('content-type') ?? '')) body = JSON.parse(text);
  return { status: res.status, headers: res.headers, body };
}

/** POST /v1/imports with the file as multipart (options as form fields) or as a text/csv body. */
async function upload(key: string | null, csv: string, o: UploadOptions = {}): Promise<Answer> {
  const headers: Record<string, string> = { ...(o.headers ?? {}) };
  if (key) headers.authorization = `Bearer ${key}`;
  const options: Array<[string, string]> = [];
  if (o.mapping !== undefined) options.push(['mapping', typeof o.mapping === 'string' ? o.mapping : JSON.stringify(o.mapping)]);
  if (o.dry_run !== undefined) options.push(['dry_run', String(o.dry_run)]);
  if (o.historical !== undefined) options.push(['historical', String(o.historical)]);
  const base = o.baseUrl ?? t.url;
  if ((o.as ?? 'multipart') === 'multipart') {
    const form = new FormData();
    for (const [name, value] of options) form.append(name, value);
    form.append('file', new Blob([csv], { type: 'text/csv' }), 'contacts.csv');
    return answerOf(await fetch(`${base}/v1/imports`, { method: 'POST', headers, body: form }));
  }
  headers['content-type'] ??= 'text/csv';
  const query = options.length ? `?${new URLSearchParams(options).toString()}` : '';
  return answerOf(await fetch(`${base}/v1/imports${query}`, { method: 'POST', headers, body: csv }));
}

/** Uploads, expects 202, and waits for the import to finish. */
async function importFile(w: Workspace, csv: string, o: UploadOptions & { key?: string } = {}): Promise<any> {
  const res = await upload(o.key ?? w.key, csv, o);
  expect(res.status, JSON.stringify(res.body)).toBe(202);
  expect(res.body.id).toMatch(/^imp_[0-9a-z]{16,}$/);
  return finished(w.api, res.body.id as string);
}

async function finished(api: Client, id: string, timeoutMs = 30_000): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await api.get(`/v1/imports/${id}`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    if (res.body.status === 'completed' || res.body.status === 'failed') return res.body;
    if (Date.now() > deadline) throw new Error(`import ${id} did not finish in ${timeoutMs} ms: ${JSON.stringify(res.body)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The report behind report_url, fetched with no credentials: its text and its parsed rows. */
async function report(imp: { report_url: string | null }): Promise<{ text: string; rows: string[][] }> {
  expect(imp.report_url).toEqual(expect.any(String));
  const res = await fetch(imp.report_url!);
  const text = await res.text();
  expect(res.status, text).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/csv/);
  const rows: string[][] = parseCsv(text, { bom: true });
  return { text, rows };
}

/** Every contact of the workspace, through GET /v1/contacts, in email order (then name). */
async function listAll(api: Client): Promise<any[]> {
  const all: any[] = [];
  let cursor: string | null = null;
  do {
    const page = await api.get(`/v1/contacts?limit=200&sort=email${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    expect(page.status, JSON.stringify(page.body)).toBe(200);
    all.push(...(page.body.data as any[]));
    cursor = page.body.next_cursor as string | null;
  } while (cursor);
  return all;
}

async function count(api: Client): Promise<number> {
  const res = await api.get('/v1/contacts/count');
  expect(res.status).toBe(200);
  return res.body.count as number;
}

/** What a test compares of a contact: the fields a file sets, with the email matched case-insensitively. */
function profile(c: any): Record<string, unknown> {
  return { name: c.name, email: c.email === null ? null : String(c.email).toLowerCase(), phone: c.phone, company: c.company, tags: c.tags };
}

function counts(imp: any): Record<string, number> {
  return { rows: imp.rows, created: imp.created, updated: imp.updated, skipped: imp.skipped, failed: imp.failed };
}

// ---------------------------------------------------------------------------------------------------
// The messy file. Spreadsheet rows (the header is row 1): a blank line and a row of empty cells are rows
// in a spreadsheet too, and a quoted field with a newline stays in its one row.
//   1  header
//   2  Ann Lee                  created
//   3  Bob "Bobby" Stone        created (company "Stone & Sons;<LF>Ltd", quoted, with `;` and a newline)
//   4  Ann Lee-Smith            updated: the same email as row 2 in other letter case
//   5  (blank line)             ignored
//   6  Carol White              created
//   7  ;;;;                     ignored
//   8  Caroline White           updated: the same phone as row 6, written as E.164
//   9  Dave Existing            updated: a contact the workspace already had (email in other case)
//  10  Eve Bad                  failed: eve@@example.com
//  11  Frank Bad                failed: not-an-email
//  12  Grace Bad                failed: +1 555 12 is not a possible number
//  13  (company only)           failed: no name, email or phone
//  14  '=Henry                  created: cells an export neutralised come back without the '
//  15  Ivy Erased               skipped: erased earlier (suppressed), email in other case
//  16  Ann Again                updated: the same phone as row 2, formatted otherwise
// ---------------------------------------------------------------------------------------------------
const MESSY = '\uFEFF' + [
  'Full name;E-mail;Phone number;Company;Tags',
  'Ann Lee;ann@example.com;+1 212 555 0101;Acme;lead, vip',
  '"Bob ""Bobby"" Stone";bob@example.com;;"Stone & Sons;\nLtd";customer',
  'Ann Lee-Smith;ANN@Example.COM;;Acme Corp;',
  '',
  'Carol White;carol@example.com;+44 20 7946 0958;;',
  ';;;;',
  'Caroline White;;+442079460958;Globex;partner',
  'Dave Existing;dave@existing.example;;Initech;',
  'Eve Bad;eve@@example.com;;"Bad ""Co"", Ltd";',
  'Frank Bad;not-an-email;;;',
  'Grace Bad;grace@example.com;+1 555 12;;',
  ';;;Only Company;orphan',
  "'=Henry;henry@example.com;'+1 212 555 0199;'@Home Inc;",
  'Ivy Erased;IVY@Erased.example;;;',
  'Ann Again;;+1 (212) 555-0101;;',
].join('\r\n') + '\r\n';

const MESSY_COUNTS = { rows: 13, created: 4, updated: 4, skipped: 1, failed: 4 };

const MESSY_MAPPING = { 'Full name': 'name', 'E-mail': 'email', 'Phone number': 'phone', Company: 'company', Tags: 'tags' };

const INVALID_EMAIL = 'email: is not a valid email address';
const SUPPRESSED = 'skipped: this person asked to be erased (GDPR); their email or phone is suppressed, so they are not re-created';

/** The report of the messy file: the spreadsheet row, the original cells, the reason. */
const MESSY_REPORT = [
  ['row', 'Full name', 'E-mail', 'Phone number', 'Company', 'Tags', 'reason'],
  ['10', 'Eve Bad', 'eve@@example.com', '', 'Bad "Co", Ltd', '', INVALID_EMAIL],
  ['11', 'Frank Bad', 'not-an-email', '', '', '', INVALID_EMAIL],
  // A cell that a spreadsheet would run as a formula is neutralised in the report, as in an export.
  ['12', 'Grace Bad', 'grace@example.com', "'+1 555 12", '', '', expect.stringMatching(/^phone: \S/)],
  ['13', '', '', '', 'Only Company', 'orphan', 'name: a contact needs at least one of name, email, phone'],
  ['15', 'Ivy Erased', 'IVY@Erased.example', '', '', '', SUPPRESSED],
];

const MESSY_CONTACTS = [
  { name: 'Ann Again', email: 'ann@example.com', phone: '+12125550101', company: 'Acme Corp', tags: ['lead', 'vip'] },
  { name: 'Bob "Bobby" Stone', email: 'bob@example.com', phone: null, company: 'Stone & Sons;\nLtd', tags: ['customer'] },
  { name: 'Caroline White', email: 'carol@example.com', phone: '+442079460958', company: 'Globex', tags: ['partner'] },
  { name: 'Dave Existing', email: 'dave@existing.example', phone: null, company: 'Initech', tags: ['vip'] },
  { name: '=Henry', email: 'henry@example.com', phone: '+12125550199', company: '@Home Inc', tags: [] },
];

/** A workspace as the messy file expects it: Dave exists, Ivy was erased. */
async function messyWorkspace(): Promise<Workspace & { daveId: string }> {
  const w = await workspace();
  const dave = await w.api.post('/v1/contacts', { name: 'Dave Existing', email: 'Dave@Existing.example', company: 'Old Co', tags: ['vip'] });
  expect(dave.status, JSON.stringify(dave.body)).toBe(201);
  const ivy = await w.api.post('/v1/contacts', { name: 'Ivy Erased', email: 'ivy@erased.example', phone: '+1 212 555 0177' });
  expect(ivy.status, JSON.stringify(ivy.body)).toBe(201);
  expect((await w.api.delete(`/v1/contacts/${ivy.body.id}`)).status).toBe(204);
  expect(await count(w.api)).toBe(1);
  return { ...w, daveId: dave.body.id as string };
}

describe('a messy file', () => {
  it('imports with exact counts, an exact report of each rejected or skipped row, and the contacts the API then lists', async () => {
    const w = await messyWorkspace();
    const started = await upload(w.key, MESSY);
    expect(started.status, JSON.stringify(started.body)).toBe(202);
    expect(Object.keys(started.body).sort()).toEqual(IMPORT_KEYS);
    expect(started.body).toMatchObject({
      status: 'queued', dry_run: false, historical: false, columns: ['Full name', 'E-mail', 'Phone number', 'Company', 'Tags'],
      mapping: MESSY_MAPPING, created: 0, updated: 0, skipped: 0, failed: 0, report_url: null, error: null, created_at: NOW, completed_at: null,
    });

    const done = await finished(w.api, started.body.id);
    expect(done).toMatchObject({ id: started.body.id, status: 'completed', progress: 1, error: null, completed_at: NOW, ...MESSY_COUNTS });
    expect(done.report_url).toMatch(new RegExp(`/v1/imports/${done.id}/report\\?token=[A-Za-z0-9_-]{20,}$`));

    // The contacts as the API lists them: four created, Ann and Carol updated by their later rows, Dave
    // updated, no Ivy, none of the failed rows.
    const listed = await listAll(w.api);
    expect(listed.map(profile)).toEqual(MESSY_CONTACTS);
    expect(listed.find((c) => c.email.toLowerCase() === 'dave@existing.example').id).toBe(w.daveId);
    expect(await count(w.api)).toBe(5);
    for (const q of ['ivy@erased.example', 'grace@example.com', 'Only Company']) {
      expect((await w.api.get(`/v1/contacts?q=${encodeURIComponent(q)}`)).body.data, q).toEqual([]);
    }
    // The import is in the list of past imports.
    const list = await w.api.get('/v1/imports');
    expect(list.status).toBe(200);
    expect(list.body.data.map((i: any) => i.id)).toEqual([done.id]);

    const { rows, text } = await report(done);
    expect(text.startsWith('row,Full name,E-mail,Phone number,Company,Tags,reason\r\n')).toBe(true);
    expect(rows).toEqual(MESSY_REPORT);
  });

  it('numbers the report by spreadsheet row: a blank or empty row counts, a quoted newline does not', async () => {
    const w = await workspace();
    const done = await importFile(w, 'Name,Email\r\n"Multi\nLine",bad1@\r\n\r\n,\r\nBad Two,bad2@\r\nGood,good@rownumbers.example\r\n');
    expect(counts(done)).toEqual({ rows: 3, created: 1, updated: 0, skipped: 0, failed: 2 });
    expect((await report(done)).rows).toEqual([
      ['row', 'Name', 'Email', 'reason'],
      ['2', 'Multi\nLine', 'bad1@', INVALID_EMAIL],
      ['5', 'Bad Two', 'bad2@', INVALID_EMAIL],
    ]);
  });

  it('reads a file that mixes line endings (an LF header on CRLF rows, a lone CR) row by row, quotes and all', async () => {
    const w = await workspace();
    const done = await importFile(w, 'Name,Email\n"Ann Quoted",ann@mixed.example\r\n"Bo\nTwo Lines",bo@mixed.example\r\nCy,cy@mixed.example\rDee,"dee@mixed.example"\n');
    expect(counts(done)).toEqual({ rows: 4, created: 4, updated: 0, skipped: 0, failed: 0 });
    expect((await listAll(w.api)).map((c) => [c.name, c.email])).toEqual([
      ['Ann Quoted', 'ann@mixed.example'], ['Bo\nTwo Lines', 'bo@mixed.example'], ['Cy', 'cy@mixed.example'], ['Dee', 'dee@mixed.example'],
    ]);
  });

  it('gives the report to anyone with the link for 24 hours, and 410 after; a wrong token is 404', async () => {
    const w = await workspace();
    const done = await importFile(w, 'Name,Email\r\nBad One,bad@\r\n');
    expect(counts(done)).toEqual({ rows: 1, created: 0, updated: 0, skipped: 0, failed: 1 });
    const url = new URL(done.report_url);
    expect((await fetch(url)).status).toBe(200);
    const wrong = new URL(url);
    wrong.searchParams.set('token', 'x'.repeat(url.searchParams.get('token')!.length));
    expect((await fetch(wrong)).status).toBe(404);
    const noToken = new URL(url);
    noToken.search = '';
    expect((await fetch(noToken)).status).toBe(404);

    const start = clock.now();
    try {
      clock.advance(24 * 3600_000 - 1);
      expect((await fetch(url)).status).toBe(200);
      clock.advance(1);
      const gone = await answerOf(await fetch(url));
      expectProblem(gone, 410);
    } finally {
      clock.set(start);
    }
  });

  it('reads the same file the same way as a text/csv body', async () => {
    const w = await messyWorkspace();
    const started = await upload(w.key, MESSY, { as: 'csv', headers: { 'content-type': 'text/csv; charset=utf-8' } });
    expect(started.status, JSON.stringify(started.body)).toBe(202);
    expect(started.body.mapping).toEqual(MESSY_MAPPING);
    const done = await finished(w.api, started.body.id);
    expect(counts(done)).toEqual(MESSY_COUNTS);
    expect((await listAll(w.api)).map(profile)).toEqual(MESSY_CONTACTS);
    expect((await report(done)).rows).toEqual(MESSY_REPORT);
  });

  it('a dry run counts exactly what the real run does, reports the same rows, and writes no contact', async () => {
    const w = await messyWorkspace();
    const before = await listAll(w.api);
    const dry = await importFile(w, MESSY, { dry_run: true });
    expect(dry).toMatchObject({ status: 'completed', dry_run: true, ...MESSY_COUNTS });
    expect(await listAll(w.api)).toEqual(before);
    expect(await count(w.api)).toBe(1);
    const dryReport = (await report(dry)).rows;

    // As a text/csv body with ?dry_run=true too.
    const dry2 = await importFile(w, MESSY, { as: 'csv', dry_run: true });
    expect(counts(dry2)).toEqual(MESSY_COUNTS);
    expect(await listAll(w.api)).toEqual(before);

    const real = await importFile(w, MESSY);
    expect(real.dry_run).toBe(false);
    expect(counts(real)).toEqual(counts(dry));
    expect((await report(real)).rows).toEqual(dryReport);
    expect((await listAll(w.api)).map(profile)).toEqual(MESSY_CONTACTS);
  });

  it('a dry run over many chunks still sees the earlier rows of the file', async () => {
    // Every email twice, the second time a chunk and a half later (in another transaction of the import).
    const half = Math.round(IMPORT_CHUNK_ROWS * 1.5);
    const w = await workspace();
    const lines = ['Email,Name'];
    for (let i = 0; i < 2 * half; i++) lines.push(`dry${i % half}@chunks.example,Person ${i}`);
    const csv = lines.join('\n') + '\n';
    const dry = await importFile(w, csv, { dry_run: true });
    expect(counts(dry)).toEqual({ rows: 2 * half, created: half, updated: half, skipped: 0, failed: 0 });
    expect(await count(w.api)).toBe(0);
    const real = await importFile(w, csv);
    expect(counts(real)).toEqual(counts(dry));
    expect(await count(w.api)).toBe(half);
  });
});

describe('the upload', () => {
  it('only with a write key: a read key is 403, no key 401, and another workspace cannot see the import', async () => {
    const w = await workspace();
    expectProblem(await upload(await w.keyFor(['read']), 'Email\nx@example.com\n'), 403);
    expectProblem(await upload(null, 'Email\nx@example.com\n'), 401);
    const done = await importFile(w, 'Email\nx@example.com\n', { key: await w.keyFor(['write']) });
    expect(counts(done)).toEqual({ rows: 1, created: 1, updated: 0, skipped: 0, failed: 0 });
    expect(done.requested_by).toEqual(expect.objectContaining({ type: 'api_key' }));
    const other = await workspace();
    expectProblem(await other.api.get(`/v1/imports/${done.id}`), 404);
    expect((await other.api.get('/v1/imports')).body.data).toEqual([]);
    expect(await count(other.api)).toBe(0);
  });

  it('answers 415 for another content type and 422 naming `file` when there is no file', async () => {
    const w = await workspace();
    const post = (body: string | FormData, contentType?: string) => fetch(`${t.url}/v1/imports`, {
      method: 'POST', headers: { authorization: `Bearer ${w.key}`, ...(contentType ? { 'content-type': contentType } : {}) }, body,
    }).then(answerOf);
    expectProblem(await post('{"file": "Email\\nx@example.com"}', 'application/json'), 415);
    expectProblem(await post('Email\nx@example.com\n', 'application/octet-stream'), 415);
    expectProblem(await post('Email\nx@example.com\n', 'text/plain'), 415);

    const onlyOptions = new FormData();
    onlyOptions.append('dry_run', 'true');
    expectInvalid(await post(onlyOptions), 'file');
    // An empty text/csv body, or a file with nothing in it, names the file too.
    expectInvalid(await upload(w.key, '', { as: 'csv' }), 'file');
    expectInvalid(await upload(w.key, ''), 'file');
    expectInvalid(await upload(w.key, '\r\n\r\n'), 'file');

    const wrongField = new FormData();
    wrongField.append('upload', new Blob(['Email\nx@example.com\n'], { type: 'text/csv' }), 'c.csv');
    expectInvalid(await post(wrongField), 'upload');

    expectInvalid(await upload(w.key, 'Email\nx@example.com\n', { dry_run: 'maybe' }), 'dry_run');
    expect((await w.api.get('/v1/imports')).body.data).toEqual([]);
    expect(await count(w.api)).toBe(0);
  });

  it('a file with only its header row completes with nothing done', async () => {
    const w = await workspace();
    const done = await importFile(w, 'Name,Email\r\n');
    expect(done).toMatchObject({ status: 'completed', rows: 0, created: 0, updated: 0, skipped: 0, failed: 0, progress: 1 });
    expect((await report(done)).rows).toEqual([['row', 'Name', 'Email', 'reason']]);
  });

  it('a file broken after its first chunk fails at once with the reason, keeping the rows committed before it', async () => {
    const w = await workspace();
    const good = Array.from({ length: IMPORT_CHUNK_ROWS }, (_, i) => `Person ${i},person${i}@example.com`);
    const done = await importFile(w, ['Name,Email', ...good, 'Late,"late@example.com', 'Never,never@example.com', ''].join('\n'));
    expect(done).toMatchObject({ status: 'failed', created: IMPORT_CHUNK_ROWS, report_url: null });
    expect(done.error).toMatch(/^The import failed: the file is not valid CSV: .*quote/i);
    expect(await count(w.api)).toBe(IMPORT_CHUNK_ROWS);
  });

  it('reads the file whether the options come before or after it in the form', async () => {
    const w = await workspace();
    const form = new FormData();
    form.append('file', new Blob(['Kontakt,Adresse\nZoe,zoe@example.com\n'], { type: 'text/csv' }), 'c.csv');
    form.append('mapping', JSON.stringify({ Kontakt: 'name', Adresse: 'email' }));
    form.append('dry_run', 'false');
    const res = await answerOf(await fetch(`${t.url}/v1/imports`, { method: 'POST', headers: { authorization: `Bearer ${w.key}` }, body: form }));
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    expect(counts(await finished(w.api, res.body.id))).toEqual({ rows: 1, created: 1, updated: 0, skipped: 0, failed: 0 });
    expect((await listAll(w.api)).map(profile)).toEqual([{ name: 'Zoe', email: 'zoe@example.com', phone: null, company: null, tags: [] }]);
  });

  it('with an Idempotency-Key replays the first import for the same file and options, and is 422 for another file', async () => {
    const w = await workspace();
    const csv = 'Email,Name\nidem@example.com,Idem Potent\n';
    const first = await upload(w.key, csv, { headers: { 'idempotency-key': 'import-1' } });
    expect(first.status, JSON.stringify(first.body)).toBe(202);
    const done = await finished(w.api, first.body.id);
    const again = await upload(w.key, csv, { headers: { 'idempotency-key': 'import-1' } });
    expect(again.status, JSON.stringify(again.body)).toBe(202);
    expect(again.body.id).toBe(first.body.id);
    expect(again.body).toMatchObject(counts(done));
    // The same file as a text/csv body with the same key: the same import.
    const asCsv = await upload(w.key, csv, { as: 'csv', headers: { 'idempotency-key': 'import-1' } });
    expect(asCsv.status, JSON.stringify(asCsv.body)).toBe(202);
    expect(asCsv.body.id).toBe(first.body.id);

    expectInvalid(await upload(w.key, 'Email,Name\nother@example.com,Other\n', { headers: { 'idempotency-key': 'import-1' } }), 'Idempotency-Key');
    expectInvalid(await upload(w.key, csv, { dry_run: true, headers: { 'idempotency-key': 'import-1' } }), 'Idempotency-Key');
    expect((await w.api.get('/v1/imports')).body.data.map((i: any) => i.id)).toEqual([first.body.id]);
    expect(await count(w.api)).toBe(1);
  });

  it('answers 413 for a file over IMPORT_MAX_MB, multipart or text/csv, and takes one of exactly that size', async () => {
    const small = await startTestServer({ env: { IMPORT_MAX_MB: '1' } });
    try {
      const ws = await small.workspace();
      const api = client(small.url, ws.key);
      const header = 'Email,Notes\n';
      const row = (i: number) => `big${i}@size.example,${'n'.repeat(10_000)}\n`;
      let body = header;
      for (let i = 0; body.length + row(i).length <= 1024 * 1024; i++) body += row(i);
      const pad = 1024 * 1024 - Buffer.byteLength(body);
      body += `pad@size.example,${'p'.repeat(pad - 'pad@size.example,\n'.length)}\n`;
      expect(Buffer.byteLength(body)).toBe(1024 * 1024);
      const over = body + 'x';

      expectProblem(await upload(ws.key, over, { baseUrl: small.url }), 413);
      expectProblem(await upload(ws.key, over, { baseUrl: small.url, as: 'csv' }), 413);
      expect((await api.get('/v1/imports')).body.data).toEqual([]);
      // Nothing of the refused uploads stays on disk.
      const dir = path.join(small.config.filesDir, 'imports');
      expect(fs.existsSync(dir) ? fs.readdirSync(dir) : []).toEqual([]);

      const exact = await upload(ws.key, body, { baseUrl: small.url, as: 'csv' });
      expect(exact.status, JSON.stringify(exact.body)).toBe(202);
      const done = await finished(api, exact.body.id);
      expect(done).toMatchObject({ status: 'completed', failed: 0 });
      expect(done.created).toBe(done.rows);
      expect(await count(api)).toBe(done.rows);
    } finally {
      await small.close();
    }
  });
});

describe('column mapping', () => {
  it('matches common headers automatically and says which columns are not imported', async () => {
    const w = await workspace();
    const csv = [
      'E-mail,Full name,Phone number,Company,Tags,Notes',
      'jane@auto.example,Jane Auto,+1 212 555 0111,Auto Inc,"a, b",likes tea',
    ].join('\r\n');
    const done = await importFile(w, csv);
    expect(done.mapping).toEqual({ 'E-mail': 'email', 'Full name': 'name', 'Phone number': 'phone', Company: 'company', Tags: 'tags', Notes: null });
    expect(done.notes).toEqual([expect.stringContaining('Notes')]);
    expect(counts(done)).toEqual({ rows: 1, created: 1, updated: 0, skipped: 0, failed: 0 });
    expect((await listAll(w.api)).map(profile)).toEqual([{ name: 'Jane Auto', email: 'jane@auto.example', phone: '+12125550111', company: 'Auto Inc', tags: ['a', 'b'] }]);
  });

  it('joins First name and Last name into the name, and matches other spellings', async () => {
    const w = await workspace();
    const csv = [
      'First Name,Last Name,Email Address,Mobile,Organization,Labels',
      'Mia,Wong,mia@auto.example,+1 212 555 0112,Wong LLC,x',
      'Solo,,solo@auto.example,,,',
      ',Lastonly,last@auto.example,,,',
    ].join('\n');
    const done = await importFile(w, csv);
    expect(done.mapping).toEqual({
      'First Name': 'first_name', 'Last Name': 'last_name', 'Email Address': 'email', Mobile: 'phone', Organization: 'company', Labels: 'tags',
    });
    expect(counts(done)).toEqual({ rows: 3, created: 3, updated: 0, skipped: 0, failed: 0 });
    expect((await listAll(w.api)).map(profile)).toEqual([
      { name: 'Lastonly', email: 'last@auto.example', phone: null, company: null, tags: [] },
      { name: 'Mia Wong', email: 'mia@auto.example', phone: '+12125550112', company: 'Wong LLC', tags: ['x'] },
      { name: 'Solo', email: 'solo@auto.example', phone: null, company: null, tags: [] },
    ]);
  });

  it('takes an explicit mapping, over the automatic one, with null to skip a column', async () => {
    const w = await workspace();
    const csv = ['Kontakt,Adresse,Firma,Company,Telefon', 'Lena Schmidt,lena@explicit.example,Schmidt GmbH,Not this one,+49 30 12345678'].join('\n');
    const mapping = { Kontakt: 'name', Adresse: 'email', Firma: 'company', Company: null, Telefon: 'phone' };
    const multipart = await importFile(w, csv, { mapping });
    expect(multipart.mapping).toEqual(mapping);
    expect(counts(multipart)).toEqual({ rows: 1, created: 1, updated: 0, skipped: 0, failed: 0 });
    expect((await listAll(w.api)).map(profile)).toEqual([{ name: 'Lena Schmidt', email: 'lena@explicit.example', phone: '+493012345678', company: 'Schmidt GmbH', tags: [] }]);

    // A partial mapping through the query of a text/csv body: the other columns are matched automatically.
    const w2 = await workspace();
    const csv2 = ['Kontakt,Email,Company', 'Otto,otto@explicit.example,Otto AG'].join('\n');
    const q = await importFile(w2, csv2, { as: 'csv', mapping: { Kontakt: 'name' } });
    expect(q.mapping).toEqual({ Kontakt: 'name', Email: 'email', Company: 'company' });
    expect((await listAll(w2.api)).map(profile)).toEqual([{ name: 'Otto', email: 'otto@explicit.example', phone: null, company: 'Otto AG', tags: [] }]);
  });

  it('answers 422 naming the mapping entry that is wrong, or `mapping` when nothing identifies a contact, and starts nothing', async () => {
    const w = await workspace();
    expectInvalid(await upload(w.key, MESSY, { mapping: { Nope: 'email' } }), 'mapping.Nope', /not a column/);
    expectInvalid(await upload(w.key, MESSY, { as: 'csv', mapping: { Nope: 'email' } }), 'mapping.Nope');
    expectInvalid(await upload(w.key, MESSY, { mapping: { 'E-mail': 'favourite_colour' } }), 'mapping.E-mail');
    expectInvalid(await upload(w.key, MESSY, { mapping: { 'Full name': 'name', Company: 'name' } }), 'mapping.Company');
    expectInvalid(await upload(w.key, MESSY, { mapping: { 'Full name': null, 'E-mail': null, 'Phone number': null } }), 'mapping');
    expectInvalid(await upload(w.key, 'Company,Notes\nAcme,hi\n'), 'mapping', /name, email or phone/);
    expectInvalid(await upload(w.key, MESSY, { mapping: 'not json' }), 'mapping');
    expectInvalid(await upload(w.key, MESSY, { mapping: '["email"]' }), 'mapping');
    expect((await w.api.get('/v1/imports')).body.data).toEqual([]);
    expect(await count(w.api)).toBe(0);
  });
});

describe('validation per row', () => {
  it('rejects a row with an invalid source, lifecycle stage, tag, country or URL, with the reason, as the API would', async () => {
    const w = await workspace();
    const csv = [
      'Name,Email,Source,Stage,Tags,Country,Page URL',
      'Good Row,good@rows.example,zapier,customer,ok,de,https://example.com/a',
      'Bad Source,badsource@rows.example,two words,,,,',
      'Bad Stage,badstage@rows.example,,banana,,,',
      `Bad Tag,badtag@rows.example,,,${'t'.repeat(65)},,`,
      'Bad Country,badcountry@rows.example,,,,Narnia,',
      'Bad URL,badurl@rows.example,,,,,javascript:alert(1)',
    ].join('\n');
    const done = await importFile(w, csv);
    expect(done.mapping).toEqual({ Name: 'name', Email: 'email', Source: 'source', Stage: 'lifecycle_stage', Tags: 'tags', Country: 'ip_country', 'Page URL': 'page_url' });
    expect(counts(done)).toEqual({ rows: 6, created: 1, updated: 0, skipped: 0, failed: 5 });
    const rows = (await report(done)).rows;
    expect(rows.map((r) => [r[0], r[r.length - 1]])).toEqual([
      ['row', 'reason'],
      ['3', expect.stringMatching(/^source: /)],
      ['4', expect.stringMatching(/^lifecycle_stage: /)],
      ['5', expect.stringMatching(/^tags: /)],
      ['6', expect.stringMatching(/^ip_country: /)],
      ['7', expect.stringMatching(/^page_url: /)],
    ]);
    const listed = await listAll(w.api);
    expect(listed.map((c) => c.email)).toEqual(['good@rows.example']);
    expect(listed[0]).toMatchObject({ source: 'zapier', lifecycle_stage: 'customer', tags: ['ok'], ip_country: 'DE', page_url: 'https://example.com/a' });
  });
});

describe('historical imports (migration)', () => {
  const HISTORY = [
    'Name,Email,Created at,First seen,Last seen,Conversation count',
    'Old Timer,old@hist.example,2023-05-01T08:00:00Z,2023-05-02T09:00:00Z,2024-01-01T00:00:00Z,7',
    'No Created,nocreated@hist.example,,2022-02-02T02:02:02+02:00,2022-03-03T03:03:03Z,2',
    'Bad History,badhist@hist.example,not a date,,,',
  ].join('\r\n');

  it('keeps created_at, first_seen, last_seen and conversation_count for an admin, created_at from first_seen when absent', async () => {
    const w = await workspace();
    const done = await importFile(w, HISTORY, { historical: true });
    expect(done).toMatchObject({ status: 'completed', historical: true, rows: 3, created: 2, updated: 0, skipped: 0, failed: 1 });
    expect(done.notes.filter((n: string) => /historical/i.test(n))).toEqual([]);
    const byEmail = Object.fromEntries((await listAll(w.api)).map((c) => [c.email, c]));
    expect(Object.keys(byEmail).sort()).toEqual(['nocreated@hist.example', 'old@hist.example']);
    expect(byEmail['old@hist.example']).toMatchObject({
      created_at: '2023-05-01T08:00:00.000Z', first_seen: '2023-05-02T09:00:00.000Z', last_seen: '2024-01-01T00:00:00.000Z', conversation_count: 7,
      lifecycle_stage: 'returning',
    });
    expect(byEmail['nocreated@hist.example']).toMatchObject({
      created_at: '2022-02-02T00:02:02.000Z', first_seen: '2022-02-02T00:02:02.000Z', last_seen: '2022-03-03T03:03:03.000Z', conversation_count: 2,
    });
    const rows = (await report(done)).rows;
    expect(rows).toEqual([
      ['row', 'Name', 'Email', 'Created at', 'First seen', 'Last seen', 'Conversation count', 'reason'],
      ['4', 'Bad History', 'badhist@hist.example', 'not a date', '', '', '', expect.stringMatching(/^created_at: /)],
    ]);
    // The filters see the kept dates.
    expect((await w.api.get('/v1/contacts/count?created_to=2022-12-31T23:59:59Z')).body.count).toBe(1);
  });

  it('is 403 without the admin scope, and starts nothing', async () => {
    const w = await workspace();
    const writer = await w.keyFor(['read', 'write']);
    expectProblem(await upload(writer, HISTORY, { historical: true }), 403);
    expectProblem(await upload(writer, HISTORY, { historical: 'true', as: 'csv' }), 403);
    expect((await w.api.get('/v1/imports')).body.data).toEqual([]);
    expect(await count(w.api)).toBe(0);
  });

  it('without historical=true ignores those columns and says so in a note', async () => {
    const w = await workspace();
    const done = await importFile(w, HISTORY);
    expect(done.historical).toBe(false);
    expect(done.mapping).toEqual({ Name: 'name', Email: 'email', 'Created at': 'created_at', 'First seen': 'first_seen', 'Last seen': 'last_seen', 'Conversation count': 'conversation_count' });
    const note = (done.notes as string[]).find((n) => /historical/.test(n));
    expect(note, JSON.stringify(done.notes)).toBeDefined();
    for (const col of ['Created at', 'First seen', 'Last seen', 'Conversation count']) expect(note).toContain(col);
    // Every row is a plain create: the dates are now, the count 0 (so the bad date fails nothing).
    expect(counts(done)).toEqual({ rows: 3, created: 3, updated: 0, skipped: 0, failed: 0 });
    for (const c of await listAll(w.api)) {
      expect(c, c.email).toMatchObject({ created_at: NOW, first_seen: NOW, last_seen: NOW, conversation_count: 0, lifecycle_stage: 'new' });
    }
  });

  it('an export imported into another workspace with historical=true keeps the contacts as they were', async () => {
    const from = await workspace();
    const batch = await from.api.post('/v1/contacts/batch', {
      historical: true,
      contacts: [
        { name: 'Exp One', email: 'one@export.example', phone: '+1 212 555 0131', company: '=SUM(A1)', tags: ['a', 'b'], first_seen: '2021-01-01T00:00:00Z', last_seen: '2021-06-01T00:00:00Z', conversation_count: 3 },
        { name: '-Minus', email: 'minus@export.example', tags: ['c'], created_at: '2020-01-01T00:00:00Z' },
      ],
    });
    expect(batch.status, JSON.stringify(batch.body)).toBe(200);
    const exp = await from.api.post('/v1/contacts/export', {});
    expect(exp.status, JSON.stringify(exp.body)).toBe(202);
    let e = exp.body;
    for (let i = 0; e.status !== 'completed' && e.status !== 'failed' && i < 1500; i++) {
      await new Promise((r) => setTimeout(r, 20));
      e = (await from.api.get(`/v1/exports/${exp.body.id}`)).body;
    }
    expect(e.status, JSON.stringify(e)).toBe('completed');
    const csv = await (await fetch(e.download_url)).text();
    expect(csv).toContain("'=SUM(A1)");

    const to = await workspace();
    const done = await importFile(to, csv, { historical: true });
    expect(counts(done)).toEqual({ rows: 2, created: 2, updated: 0, skipped: 0, failed: 0 });
    const keep = (c: any) => ({ ...profile(c), first_seen: c.first_seen, last_seen: c.last_seen, conversation_count: c.conversation_count });
    const original = await listAll(from.api);
    const imported = await listAll(to.api);
    expect(imported.map(keep)).toEqual(original.map(keep));
    expect(imported.find((c) => c.email === 'one@export.example').company).toBe('=SUM(A1)');
    expect(imported.find((c) => c.email === 'minus@export.example').name).toBe('-Minus');
  });
});

describe('erasure, then the same file again', () => {
  it('skips the erased person with the reason in the report and updates the others', async () => {
    const w = await workspace();
    const csv = [
      'Name,Email,Phone,Company',
      'Kim Kept,kim@erase.example,+1 212 555 0141,First Co',
      'Erin Erased,erin@erase.example,+1 212 555 0142,First Co',
      'Lou Kept,lou@erase.example,,First Co',
    ].join('\r\n') + '\r\n';
    const first = await importFile(w, csv);
    expect(counts(first)).toEqual({ rows: 3, created: 3, updated: 0, skipped: 0, failed: 0 });
    const erin = (await listAll(w.api)).find((c) => c.email === 'erin@erase.example');
    expect((await w.api.delete(`/v1/contacts/${erin.id}`)).status).toBe(204);
    expect(await count(w.api)).toBe(2);

    const dry = await importFile(w, csv, { dry_run: true });
    expect(counts(dry)).toEqual({ rows: 3, created: 0, updated: 2, skipped: 1, failed: 0 });

    const second = await importFile(w, csv.replaceAll('First Co', 'Second Co'));
    expect(counts(second)).toEqual({ rows: 3, created: 0, updated: 2, skipped: 1, failed: 0 });
    expect((await report(second)).rows).toEqual([
      ['row', 'Name', 'Email', 'Phone', 'Company', 'reason'],
      ['3', 'Erin Erased', 'erin@erase.example', "'+1 212 555 0142", 'Second Co', SUPPRESSED],
    ]);
    const listed = await listAll(w.api);
    expect(listed.map(profile)).toEqual([
      { name: 'Kim Kept', email: 'kim@erase.example', phone: '+12125550141', company: 'Second Co', tags: [] },
      { name: 'Lou Kept', email: 'lou@erase.example', phone: null, company: 'Second Co', tags: [] },
    ]);
    expect((await w.api.get(`/v1/contacts/${erin.id}`)).status).toBe(404);

    // The erased person by email alone in other letter case, or by phone alone: skipped as well.
    const third = await importFile(w, 'Name,Email,Phone\r\nErin Again,ERIN@Erase.Example,\r\nErin Phone,,+12125550142\r\n');
    expect(counts(third)).toEqual({ rows: 2, created: 0, updated: 0, skipped: 2, failed: 0 });
    expect(await count(w.api)).toBe(2);
    expect((await w.api.get('/v1/contacts?q=erin')).body.data).toEqual([]);
  });
});

describe('the CLI', () => {
  it('`import FILE --map ... --report FILE` prints the counts and writes the report', async () => {
    assertBuilt();
    const w = await workspace();
    expect((await w.api.post('/v1/contacts', { name: 'Already Here', email: 'here@cli.example' })).status).toBe(201);
    const file = path.join(scratch, 'cli.csv');
    fs.writeFileSync(file, [
      'Kontakt;Mail;Notes',
      'Cli One;one@cli.example;x',
      'Cli Two;two@cli.example;y',
      'Here Again;HERE@cli.example;z',
      'Broken;broken@;w',
    ].join('\r\n') + '\r\n');
    const reportFile = path.join(scratch, 'cli-report.csv');
    const env = childEnv(t.db.env);

    const dry = await runCli(['import', file, '--map', 'Kontakt=name', '--map', 'Notes=', '--dry-run', '--workspace', w.id], env, 60_000);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain('dry run: 4 rows: would be created 2, would be updated 1, skipped 0, failed 1');
    expect(await count(w.api)).toBe(1);

    const real = await runCli(['import', file, '--map', 'Kontakt=name', '--map', 'Notes=', '--report', reportFile, '--workspace', w.id], env, 60_000);
    expect(real.code, real.stderr).toBe(0);
    expect(real.stdout).toContain('4 rows: created 2, updated 1, skipped 0, failed 1');
    expect(real.stdout).toContain(reportFile);
    expect(real.stderr).toContain('Kontakt -> name');
    expect(real.stderr).toContain('Mail -> email');
    expect(parseCsv(fs.readFileSync(reportFile, 'utf8'), { bom: true })).toEqual([
      ['row', 'Kontakt', 'Mail', 'Notes', 'reason'],
      ['5', 'Broken', 'broken@', 'w', INVALID_EMAIL],
    ]);
    expect((await listAll(w.api)).map(profile)).toEqual([
      { name: 'Here Again', email: 'here@cli.example', phone: null, company: null, tags: [] },
      { name: 'Cli One', email: 'one@cli.example', phone: null, company: null, tags: [] },
      { name: 'Cli Two', email: 'two@cli.example', phone: null, company: null, tags: [] },
    ]);

    // A mapping naming no column of the file: a message on stderr, nothing imported.
    const bad = await runCli(['import', file, '--map', 'Nope=email', '--workspace', w.id], env, 60_000);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/Nope/);
    expect(bad.stderr).not.toMatch(/\n\s+at /);
    expect(await count(w.api)).toBe(3);
  });
});
