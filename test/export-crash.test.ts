// A server killed (SIGKILL: no shutdown hook runs) while it writes a 60,000-contact export (on SQLite,
// with several threads, each writing a file of its own), then started again on the same database: the
// restarted server takes the export over once the dead one's lease has run out, writes it again from
// the start, and the file holds every contact once, in the list's order, with nothing left behind
// on disk but the export itself.
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { client } from './support/server.js';
import { childEnv, lastLine, runCli, serverProcesses } from './support/processes.js';

const CONTACTS = 60_000;

const processes = serverProcesses();

describe('SIGKILL in the middle of an export', () => {
  it('writes it again on restart: every contact once, in order, and no stray files', async () => {
    const env = childEnv(processes.db.env, { RATE_LIMIT_PER_SECOND: '0' });
    const made = await runCli(['keys', 'create', '--scopes', 'read,write,admin', '--name', 'export crash test'], env);
    expect(made.code).toBe(0);
    const key = lastLine(made.stdout);

    const first = await processes.start(env);
    const api1 = client(first.url, key);
    for (let i = 0; i < CONTACTS; i += 1000) {
      const contacts = Array.from({ length: 1000 }, (_, k) => ({ email: `crash.${i + k}@export-kill.example`, name: `Person ${i + k}`, tags: ['kill'] }));
      const res = await api1.post('/v1/contacts/batch', { contacts });
      expect(res.status, JSON.stringify(res.body).slice(0, 300)).toBe(200);
    }

    const started = await api1.post('/v1/contacts/export', { filters: { sort: 'email' } });
    expect(started.status).toBe(202);
    const id = started.body.id as string;
    // Killed while it writes: once its files are on disk.
    const dir = path.join(processes.db.dir, 'files', 'exports');
    const writing = () => (fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.startsWith(`${id}.csv.part`)) : []);
    const deadline = Date.now() + 60_000;
    while (!writing().length) {
      if (Date.now() > deadline) throw new Error(`not writing after 60 s: ${JSON.stringify((await api1.get(`/v1/exports/${id}`)).body)}\n${first.output()}`);
      await new Promise((r) => setTimeout(r, 1));
    }
    first.child.kill('SIGKILL');
    expect(await first.exited).toEqual({ code: null, signal: 'SIGKILL' });
    expect(writing().length).toBeGreaterThan(0);
    expect(fs.existsSync(path.join(dir, `${id}.csv`)), 'killed before it finished').toBe(false);

    const second = await processes.start(env);
    const api = client(second.url, key);
    let done: any;
    const restartedAt = Date.now();
    for (;;) {
      done = (await api.get(`/v1/exports/${id}`)).body;
      if (done.status === 'completed' || done.status === 'failed') break;
      if (Date.now() - restartedAt > 120_000) throw new Error(`not finished 120 s after the restart: ${JSON.stringify(done)}\n${second.output()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(done).toMatchObject({ status: 'completed', error: null, progress: 1, row_count: CONTACTS });

    const res = await fetch(done.download_url as string);
    expect(res.status).toBe(200);
    const records: string[][] = parse(await res.text());
    expect(records[0]).toEqual(['id', 'name', 'email', 'phone', 'company', 'source', 'first_seen', 'last_seen', 'conversation_count', 'tags', 'page_url', 'ip_country']);
    const emails = records.slice(1).map((r) => r[2]);
    expect(emails.length).toBe(CONTACTS);
    expect(new Set(emails).size).toBe(CONTACTS);
    // Sorted by email as the list sorts it; the same first page as the API's.
    expect(emails).toEqual([...emails].sort());
    const page = (await api.get('/v1/contacts?sort=email&limit=100')).body.data.map((c: { email: string }) => c.email);
    expect(emails.slice(0, 100)).toEqual(page);

    // The export's file, and nothing else: no part of the killed run's work is left on disk.
    expect(fs.readdirSync(dir)).toEqual([`${id}.csv`]);
    expect(await second.stop('SIGTERM')).toEqual({ code: 0, signal: null });
  }, 300_000);
});
