// A server killed (SIGKILL: no shutdown hook runs) in the middle of a 100,000-row import, then started
// again on the same database: the restarted server takes the import over once the dead one's lease has
// run out, resumes it from its last committed chunk, and finishes with exactly the file's contacts: none
// missing, none twice, each with one contact.created event, the import's counts adding up, and each
// rejected row in the report once.
import path from 'node:path';
import Database from 'better-sqlite3';
import { parse } from 'csv-parse/sync';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { IMPORT_CHUNK_ROWS } from '../src/services/imports.js';
import { client } from './support/server.js';
import { childEnv, lastLine, runCli, serverProcesses } from './support/processes.js';

const ROWS = 100_000;
const REJECTED = ROWS / 10_000;

const processes = serverProcesses();

const emailOf = (i: number) => `kill.${i}@import-kill.example`;

/**
 * The file: unique emails, a name, a company, tags in one quoted cell; CRLF like a spreadsheet's; and
 * after every 10,000th contact a row with a bad email, for the report (its spreadsheet row noted).
 */
function generate(): { csv: string; rejected: string[][] } {
  const lines = ['Email,Full name,Company,Tags'];
  const rejected: string[][] = [];
  for (let i = 0; i < ROWS; i++) {
    lines.push(`${emailOf(i)},Person ${i},Company ${i % 97},"kill,n${i % 7}"`);
    if ((i + 1) % 10_000 === 0) {
      const bad = [`bad.${i}@@import-kill.example`, `Bad ${i}`, '', ''];
      lines.push(bad.join(','));
      rejected.push([String(lines.length), ...bad, 'email: is not a valid email address']);
    }
  }
  return { csv: lines.join('\r\n') + '\r\n', rejected };
}

/** contact.created events of the workspace: how many, and for how many distinct contacts (no project code). */
async function createdEvents(workspaceId: string): Promise<{ events: number; contacts: number }> {
  const sql = "SELECT COUNT(*) AS events, COUNT(DISTINCT contact_id) AS contacts FROM events WHERE workspace_id = ? AND type = 'contact.created'";
  if (!processes.db.env.DATABASE_URL) {
    const sqlite = new Database(path.join(processes.db.dir, 'contacts.db'), { readonly: true, fileMustExist: true });
    try {
      const row = sqlite.prepare(sql).get(workspaceId) as { events: number; contacts: number };
      return { events: Number(row.events), contacts: Number(row.contacts) };
    } finally {
      sqlite.close();
    }
  }
  const c = new pg.Client({ connectionString: processes.db.env.DATABASE_URL });
  await c.connect();
  try {
    const r = await c.query<{ events: string; contacts: string }>(`${sql.replace('FROM events', `FROM "${processes.db.env.DATABASE_SCHEMA}".events`).replace('?', '$1')}`, [workspaceId]);
    return { events: Number(r.rows[0]!.events), contacts: Number(r.rows[0]!.contacts) };
  } finally {
    await c.end();
  }
}

describe('SIGKILL in the middle of a 100,000-row import', () => {
  it('resumes on restart and finishes with exactly the file’s contacts', async () => {
    const env = childEnv(processes.db.env, { RATE_LIMIT_PER_SECOND: '0' });
    const made = await runCli(['keys', 'create', '--scopes', 'read,write,admin', '--name', 'import crash test'], env);
    expect(made.stderr).toBe('');
    expect(made.code).toBe(0);
    const key = lastLine(made.stdout);
    expect(key).toMatch(/^ck_[0-9a-z]+$/);

    const first = await processes.start(env);
    const { csv, rejected } = generate();
    expect(rejected).toHaveLength(REJECTED);
    const res = await fetch(`${first.url}/v1/imports`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'text/csv' }, body: csv });
    const started = (await res.json()) as { id: string; status: string };
    expect(res.status, JSON.stringify(started)).toBe(202);
    const id = started.id;

    // Some chunks committed, not all: then the kill.
    const api1 = client(first.url, key);
    let before: any;
    const deadline = Date.now() + 60_000;
    for (;;) {
      before = (await api1.get(`/v1/imports/${id}`)).body;
      if (before.status === 'running' && before.rows > 0) break;
      expect(before.status, JSON.stringify(before)).not.toMatch(/completed|failed/);
      if (Date.now() > deadline) throw new Error(`no progress in 60 s: ${JSON.stringify(before)}\n${first.output()}`);
      await new Promise((r) => setTimeout(r, 10));
    }
    first.child.kill('SIGKILL');
    expect(await first.exited).toEqual({ code: null, signal: 'SIGKILL' });
    expect(before.rows).toBeGreaterThan(0);
    expect(before.rows).toBeLessThan(ROWS);
    expect(before.progress).toBeGreaterThan(0);
    expect(before.progress).toBeLessThan(1);
    expect(before.rows % IMPORT_CHUNK_ROWS).toBe(0);
    expect(before.created + before.failed).toBe(before.rows);

    const second = await processes.start(env);
    const api = client(second.url, key);
    const restartedAt = Date.now();
    let done: any;
    let resumedFrom: number | null = null;
    for (;;) {
      done = (await api.get(`/v1/imports/${id}`)).body;
      // What the restarted server finds: at least what was committed before the kill, never less.
      resumedFrom ??= done.rows;
      expect(done.rows).toBeGreaterThanOrEqual(before.rows);
      if (done.status === 'completed' || done.status === 'failed') break;
      if (Date.now() - restartedAt > 150_000) throw new Error(`not finished 150 s after the restart: ${JSON.stringify(done)}\n${second.output()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(resumedFrom).toBeGreaterThanOrEqual(before.rows);
    expect(done).toMatchObject({ status: 'completed', error: null, progress: 1, rows: ROWS + REJECTED, created: ROWS, updated: 0, skipped: 0, failed: REJECTED });

    const count = await api.get('/v1/contacts/count');
    expect(count.status).toBe(200);
    expect(count.body.count).toBe(ROWS);

    // Every email of the file, once, as the API lists them.
    const emails: string[] = [];
    let cursor: string | null = null;
    do {
      const page = await api.get(`/v1/contacts?limit=200&sort=created_at${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      expect(page.status).toBe(200);
      for (const c of page.body.data as Array<{ email: string }>) emails.push(c.email);
      cursor = page.body.next_cursor as string | null;
    } while (cursor);
    expect(emails.length).toBe(ROWS);
    const unique = new Set(emails);
    expect(unique.size).toBe(ROWS);
    const missing: string[] = [];
    for (let i = 0; i < ROWS && missing.length < 10; i++) if (!unique.has(emailOf(i))) missing.push(emailOf(i));
    expect(missing).toEqual([]);

    // One person, as imported; and one contact.created event per contact, none repeated by the resume.
    const one = await api.get(`/v1/contacts?q=${encodeURIComponent(emailOf(54_321))}`);
    expect(one.body.data).toHaveLength(1);
    expect(one.body.data[0]).toMatchObject({ name: 'Person 54321', company: `Company ${54_321 % 97}`, tags: ['kill', `n${54_321 % 7}`] });
    const workspaceId = (await api.get('/v1/workspace')).body.id as string;
    expect(await createdEvents(workspaceId)).toEqual({ events: ROWS, contacts: ROWS });

    // The report: each rejected row once, with its spreadsheet row, whichever server read it.
    const report = await fetch(done.report_url as string);
    expect(report.status).toBe(200);
    const rows: string[][] = parse(await report.text());
    expect(rows).toEqual([['row', 'Email', 'Full name', 'Company', 'Tags', 'reason'], ...rejected]);
    // The restarted server shuts down cleanly.
    expect(await second.stop('SIGTERM')).toEqual({ code: 0, signal: null });
  }, 300_000);
});
