// The operator's CLI, run as the built program (node bin/chatsby-contacts.js) against a fresh database:
// help, usage errors (one line on stderr, exit code 2), migrate, workspaces, keys, backup; the CLI beside
// a running server on the same database; and a clean stop on SIGTERM with requests in flight.
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { client, createTestDatabase, type TestDatabase, usingPostgres } from './support/server.js';
import { assertBuilt, childEnv, lastLine, runCli, type ServerProcess, startServerProcess } from './support/processes.js';

let db: TestDatabase;
let env: NodeJS.ProcessEnv;
let shared: ServerProcess | null = null;
const started: ServerProcess[] = [];
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'chatsby-cli-test-'));

beforeAll(async () => {
  assertBuilt();
  db = await createTestDatabase();
  env = childEnv(db.env);
});

afterAll(async () => {
  for (const s of started) await s.stop('SIGKILL');
  await db?.drop();
  fs.rmSync(scratch, { recursive: true, force: true });
});

/** One server process on the test database, started on first use. */
async function server(): Promise<ServerProcess> {
  if (!shared) {
    shared = await startServerProcess(env);
    started.push(shared);
  }
  return shared;
}

/** `keys create` through the CLI: the key (last line) and its id (named in the first line). */
async function createKey(args: string[] = []): Promise<{ key: string; id: string; stdout: string }> {
  const r = await runCli(['keys', 'create', ...args], env);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  const key = lastLine(r.stdout);
  expect(key).toMatch(/^ck_[0-9a-z]{40}$/);
  const id = /created key (key_[0-9a-z]+)/.exec(r.stdout)?.[1];
  expect(id).toBeDefined();
  return { key, id: id!, stdout: r.stdout };
}

function expectUsageError(r: { code: number | null; stdout: string; stderr: string }, what: string): void {
  expect(r.code, `${what}: exit code`).toBe(2);
  const lines = r.stderr.split('\n').filter((l) => l.trim() !== '');
  expect(lines, `${what}: stderr ${JSON.stringify(r.stderr)}`).toHaveLength(1);
  expect(lines[0], what).toMatch(/^chatsby-contacts: \S/);
  expect(r.stderr, `${what}: no stack trace`).not.toMatch(/\n\s+at /);
}

describe('help and usage errors', () => {
  it('--help of the program and of each command exits 0 with a usage text', async () => {
    const cases = [
      ['--help'], ['serve', '--help'], ['migrate', '--help'], ['workspaces', 'create', '--help'], ['keys', 'create', '--help'],
      ['keys', 'revoke', '--help'], ['backup', '-h'],
    ];
    const results = await Promise.all(cases.map((args) => runCli(args, env)));
    results.forEach((r, i) => {
      const what = cases[i]!.join(' ');
      expect(r.code, what).toBe(0);
      expect(r.stdout, what).toMatch(/^Usage: chatsby-contacts/);
      expect(r.stderr, what).toBe('');
    });
    expect(results[0]!.stdout).toMatch(/serve[\s\S]*migrate[\s\S]*workspaces create[\s\S]*keys create[\s\S]*keys revoke[\s\S]*backup/);
    // --help of a command must not run it: nothing was created by `serve --help` or `migrate --help`.
    expect(fs.existsSync(path.join(db.dir, 'contacts.db'))).toBe(false);
  });

  it('an unknown command, a bad flag or a missing --name is one line on stderr and exit code 2', async () => {
    const cases = [
      ['frobnicate'], ['serve', '--port', '1'], ['migrate', 'extra'], ['workspaces', 'delete'], ['workspaces', 'create'],
      ['workspaces', 'create', '--name'], ['keys', 'rotate'], ['keys', 'create', '--bogus'], ['keys', 'create', '--scopes', 'root'],
      ['keys', 'revoke'], ['backup'], ['backup', 'a', 'b'],
    ];
    const results = await Promise.all(cases.map((args) => runCli(args, env)));
    results.forEach((r, i) => expectUsageError(r, cases[i]!.join(' ')));
    expect(results[0]!.stderr).toMatch(/frobnicate/);
    expect(results[4]!.stderr).toMatch(/--name/);
    expect(results[7]!.stderr).toMatch(/bogus/);
  });
});

describe('against a fresh database', () => {
  it('migrate applies the schema once, then says it is up to date', async () => {
    const first = await runCli(['migrate'], env);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout.trim()).toMatch(/^applied: 0001_initial(, \d{4}_[a-z_]+)*$/);
    const again = await runCli(['migrate'], env);
    expect(again.code).toBe(0);
    expect(again.stdout.trim()).toBe('schema is up to date');
  });

  it('workspaces create --name prints the new workspace id alone as the last line', async () => {
    const r = await runCli(['workspaces', 'create', '--name', 'Acme Support'], env);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const id = lastLine(r.stdout);
    expect(id).toMatch(/^wsp_[0-9a-z]{24}$/);
    const other = lastLine((await runCli(['workspaces', 'create', '--name', 'Acme Sales'], env)).stdout);
    expect(other).toMatch(/^wsp_[0-9a-z]{24}$/);
    expect(other).not.toBe(id);

    // A key for that workspace works there.
    const { key } = await createKey(['--workspace', id, '--scopes', 'read,write,admin', '--name', 'acme']);
    const me = await client((await server()).url, key).get('/v1/me');
    expect(me.status).toBe(200);
    expect(me.body.workspace).toEqual({ id, name: 'Acme Support' });
    expect(me.body.scopes.sort()).toEqual(['admin', 'read', 'write']);
  });

  it('keys create without --workspace makes the default workspace, and the printed key works', async () => {
    const srv = await server();
    const { key } = await createKey();
    const api = client(srv.url, key);
    const me = await api.get('/v1/me');
    expect(me.status).toBe(200);
    expect(me.body.workspace.name).toBe('Default workspace');
    expect(me.body.scopes.sort()).toEqual(['read', 'write']);
    const created = await api.post('/v1/contacts', { name: 'Made With A CLI Key', email: 'cli.key@cli-test.example' });
    expect(created.status).toBe(201);
    // A second key without --workspace lands in the same default workspace.
    const second = await createKey(['--name', 'second']);
    const me2 = await client(srv.url, second.key).get('/v1/me');
    expect(me2.body.workspace.id).toBe(me.body.workspace.id);
    expect((await client(srv.url, second.key).get(`/v1/contacts/${created.body.id}`)).status).toBe(200);
  });

  it('keys create --workspace with an unknown workspace is one line on stderr and exit code 2', async () => {
    expectUsageError(await runCli(['keys', 'create', '--workspace', 'wsp_doesnotexist0000'], env), 'unknown workspace');
  });

  it('a key with --scopes read reads, and gets 403 on POST', async () => {
    const srv = await server();
    const { key } = await createKey(['--scopes', 'read']);
    const api = client(srv.url, key);
    expect((await api.get('/v1/contacts')).status).toBe(200);
    const refused = await api.post('/v1/contacts', { name: 'Not Allowed' });
    expect(refused.status).toBe(403);
    expect(refused.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(refused.body.status).toBe(403);
  });

  it('keys revoke makes the key 401 on its very next request', async () => {
    const srv = await server();
    const { key, id } = await createKey(['--scopes', 'read,write']);
    const api = client(srv.url, key);
    expect((await api.get('/v1/contacts')).status).toBe(200);
    const r = await runCli(['keys', 'revoke', id], env);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const after = await api.get('/v1/contacts');
    expect(after.status).toBe(401);
    expect(after.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect((await api.post('/v1/contacts', { name: 'Too Late' })).status).toBe(401);
    // Revoking it again, or a key that never existed: one line, exit code 2.
    expectUsageError(await runCli(['keys', 'revoke', id], env), 'revoke twice');
    expectUsageError(await runCli(['keys', 'revoke', 'key_doesnotexist0000'], env), 'revoke unknown');
  });

  it('backup FILE writes a copy that holds the contacts', async () => {
    const srv = await server();
    const { key } = await createKey(['--name', 'backup']);
    const api = client(srv.url, key);
    const contact = await api.post('/v1/contacts', { name: 'Backed Up', email: 'backed.up@cli-test.example', phone: '+14155550177' });
    expect(contact.status).toBe(201);

    const file = path.join(scratch, usingPostgres ? 'backup.sql' : 'backup.db');
    const r = await runCli(['backup', file], env);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(fs.statSync(file).size).toBeGreaterThan(0);
    if (usingPostgres) {
      const dump = fs.readFileSync(file, 'utf8');
      expect(dump).toMatch(/PostgreSQL database dump/);
      expect(dump).toMatch(/CREATE TABLE \S*contacts /);
      expect(dump).toContain('backed.up@cli-test.example');
    } else {
      const copy = new Database(file, { readonly: true, fileMustExist: true });
      try {
        expect(copy.pragma('integrity_check', { simple: true })).toBe('ok');
        const row = copy.prepare('SELECT id, name, email, phone FROM contacts WHERE id = ?').get(contact.body.id);
        expect(row).toEqual({ id: contact.body.id, name: 'Backed Up', email: 'backed.up@cli-test.example', phone: '+14155550177' });
        const all = copy.prepare('SELECT count(*) AS n FROM contacts').get() as { n: number };
        expect(all.n).toBeGreaterThanOrEqual(2);
      } finally {
        copy.close();
      }
    }
    // Never over an existing file.
    const before = fs.readFileSync(file);
    expectUsageError(await runCli(['backup', file], env), 'backup over an existing file');
    expect(fs.readFileSync(file).equals(before)).toBe(true);
  });

  it('works while the server is busy writing to the same database', async () => {
    const srv = await server();
    const { key } = await createKey(['--name', 'load']);
    const statuses = new Map<number, number>();
    const failures: string[] = [];
    let stop = false;
    let n = 0;
    const load = async () => {
      while (!stop) {
        const i = n++;
        const res = await fetch(`${srv.url}/v1/contacts`, {
          method: 'POST',
          headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
          body: JSON.stringify({ name: `Load ${i}`, email: `load.${i}@cli-test.example` }),
        });
        const text = await res.text();
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        if (res.status !== 201 && failures.length < 5) failures.push(`${res.status} ${text.slice(0, 160)}`);
      }
    };
    const workers = Array.from({ length: 16 }, load);
    try {
      for (let i = 0; i < 2; i++) {
        const made = await createKey(['--name', `while busy ${i}`]);
        expect((await client(srv.url, made.key).get('/v1/me')).status).toBe(200);
        const ws = await runCli(['workspaces', 'create', '--name', `Busy ${i}`], env);
        expect(ws.stderr).toBe('');
        expect(ws.code).toBe(0);
        expect(lastLine(ws.stdout)).toMatch(/^wsp_/);
      }
    } finally {
      stop = true;
      await Promise.all(workers);
    }
    expect(n).toBeGreaterThan(50);
    // The server's own writes must not fail because the CLI wrote beside it.
    expect({ statuses: Object.fromEntries(statuses), failures }).toEqual({ statuses: { 201: n }, failures: [] });
  });
});

describe('export and workspaces limit', () => {
  it('export writes the filtered contacts with the chosen columns to --out, with progress on stderr', async () => {
    const wsId = lastLine((await runCli(['workspaces', 'create', '--name', 'Export Co'], env)).stdout);
    const { key } = await createKey(['--workspace', wsId, '--scopes', 'read,write,admin']);
    const api = client((await server()).url, key);
    const made = await api.post('/v1/contacts/batch', { contacts: [
      { name: 'Ada "The Countess", Lovelace', email: 'ada@export.example', tags: ['vip', 'math'] },
      { name: '=HYPERLINK("x")', email: 'formula@export.example', tags: ['vip'] },
      { name: 'Not a VIP', email: 'plain@export.example' },
    ] });
    expect(made.status).toBe(200);
    const out = path.join(scratch, 'vips.csv');
    const r = await runCli(['export', '--workspace', wsId, '--filter', 'tag=vip', '--fields', 'email,name,tags', '--out', out], env, 60_000);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe(`exported 2 contacts to ${out}`);
    expect(r.stderr).toMatch(/^Exporting \[#+\] 100% 2 rows$/m);
    // The documented column order, whatever the order asked; newest last_seen first, as the list.
    const listed = await api.get('/v1/contacts?tag=vip');
    const cell = (v: string) => (/[",\r\n]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v);
    const lines = listed.body.data.map((c: any) => `${cell(c.name.startsWith('=') ? "'" + c.name : c.name)},${c.email},"${c.tags.join(',')}"`);
    expect(lines).toContain(`"'=HYPERLINK(""x"")",formula@export.example,"vip"`);
    expect(fs.readFileSync(out, 'utf8')).toBe(['name,email,tags', ...lines].join('\r\n') + '\r\n');
    // It never overwrites a file.
    const again = await runCli(['export', '--workspace', wsId, '--out', out], env);
    expectUsageError(again, 'export to an existing file');
    expectUsageError(await runCli(['export', '--workspace', wsId, '--filter', 'nonsense', '--out', path.join(scratch, 'x.csv')], env), 'a filter without =');
    expectUsageError(await runCli(['export', '--workspace', wsId, '--out', path.join(scratch, 'no-such-folder', 'x.csv')], env), 'export into a missing folder');
    expectUsageError(await runCli(['import', out, '--workspace', wsId, '--report', path.join(scratch, 'no-such-folder', 'r.csv')], env), 'import report into a missing folder');
    const badField = await runCli(['export', '--workspace', wsId, '--fields', 'id,password', '--out', path.join(scratch, 'y.csv')], env);
    expect(badField.code).toBe(2);
    expect(badField.stderr).toMatch(/password/);
  });

  it('workspaces limit sets a contact limit that archives the contacts seen longest ago, and "plan" undoes it', async () => {
    const wsId = lastLine((await runCli(['workspaces', 'create', '--name', 'Limited Co'], env)).stdout);
    const { key } = await createKey(['--workspace', wsId, '--scopes', 'read,write,admin']);
    const api = client((await server()).url, key);
    const made = await api.post('/v1/contacts/batch', { historical: true, contacts: [1, 2, 3].map((i) => ({ name: `Person ${i}`, last_seen: `2026-01-0${i}T00:00:00Z`, first_seen: '2025-12-01T00:00:00Z' })) });
    expect(made.status).toBe(200);
    const r = await runCli(['workspaces', 'limit', wsId, '2'], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe(`workspace ${wsId}: limit 2, 2 active and 1 archived contacts`);
    const archived = await api.get('/v1/contacts?archived=true');
    expect(archived.body.data.map((c: any) => c.name)).toEqual(['Person 1']);
    const back = await runCli(['workspaces', 'limit', wsId, 'plan'], env);
    expect(back.stdout.trim()).toBe(`workspace ${wsId}: limit none, 2 active and 1 archived contacts`);
    expectUsageError(await runCli(['workspaces', 'limit', wsId, 'lots'], env), 'a limit that is not a number');
  });
});

describe('SIGTERM', () => {
  it('lets the requests in flight finish with 2xx, then exits 0', async () => {
    // A process of its own, so that its stop is the only thing happening to it.
    if (shared) {
      expect(await shared.stop('SIGTERM')).toEqual({ code: 0, signal: null });
      shared = null;
    }
    const srv = await startServerProcess(env);
    started.push(srv);
    const { key } = await createKey(['--name', 'sigterm']);

    const BATCHES = 6;
    const flushed: Array<Promise<void>> = [];
    const answers: Array<Promise<{ status: number; at: number; body: string } | { error: string; at: number }>> = [];
    for (let b = 0; b < BATCHES; b++) {
      const body = JSON.stringify({ contacts: Array.from({ length: 1000 }, (_, i) => ({ name: `Batch ${b} Item ${i}`, email: `b${b}.i${i}@sigterm-test.example`, tags: ['sigterm'] })) });
      let sentAll!: () => void;
      flushed.push(new Promise<void>((r) => { sentAll = r; }));
      answers.push(new Promise((resolve) => {
        const req = http.request(`${srv.url}/v1/contacts/batch`, {
          method: 'POST',
          headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        }, (res) => {
          let text = '';
          res.setEncoding('utf8').on('data', (d: string) => { text += d; });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, at: Date.now(), body: text }));
        });
        req.on('error', (error) => resolve({ error: error.message, at: Date.now() }));
        req.on('finish', sentAll);
        req.end(body);
      }));
    }
    // Every body has been handed to the socket; give the server a moment to start on them, then stop it.
    await Promise.all(flushed);
    await new Promise((r) => setTimeout(r, 20));
    const stoppedAt = Date.now();
    srv.child.kill('SIGTERM');

    const results = await Promise.all(answers);
    const exit = await srv.exited;
    const summary = results.map((r) => ('error' in r ? `error: ${r.error}` : r.status));
    expect(summary).toEqual(Array.from({ length: BATCHES }, () => 200));
    // They really were in flight: no answer had arrived when SIGTERM was sent.
    expect(Math.min(...results.map((r) => r.at))).toBeGreaterThanOrEqual(stoppedAt);
    for (const r of results) {
      const body = JSON.parse((r as { body: string }).body) as { results: Array<{ status: string }> };
      expect(body.results).toHaveLength(1000);
      expect(body.results.every((x) => x.status === 'created')).toBe(true);
    }
    expect(exit).toEqual({ code: 0, signal: null });

    // What they answered was committed.
    const after = await startServerProcess(env);
    started.push(after);
    const count = await client(after.url, key).get('/v1/contacts/count?tag=sigterm');
    expect(count.body).toEqual({ count: BATCHES * 1000 });
    expect(await after.stop('SIGTERM')).toEqual({ code: 0, signal: null });
  });
});

describe('two databases side by side', () => {
  it('migrate works on a fresh database while another one (PostgreSQL: another schema) is in use', async () => {
    expect((await runCli(['migrate'], env)).code).toBe(0);
    const second = await createTestDatabase();
    try {
      const env2 = childEnv(second.env);
      const r = await runCli(['migrate'], env2);
      expect({ code: r.code, stderr: r.stderr.trim() }).toEqual({ code: 0, stderr: '' });
      expect(r.stdout.trim()).toMatch(/^applied: 0001_initial(, \d{4}_[a-z_]+)*$/);
      const k = await runCli(['keys', 'create'], env2);
      expect(k.code).toBe(0);
    } finally {
      await second.drop();
    }
  });
});
