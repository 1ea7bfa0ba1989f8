// Secrets stay secret (API.md Conventions; issue 3 items 1, 2, 5): keys made on the CLI and over the API,
// users with passwords (setup, CLI, members), sessions signed in and out, all used against a server
// process logging at info; then neither its log nor a full dump of the database holds a raw key, a
// password or a session id (the setup token is the one secret the log may hold), and a revoked key is
// refused on its very next request.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request, sessionClient, sessionCookieOf, signIn, signInAs, strongPassword, uniqueEmail } from './support/accounts.js';
import { expectProblem } from './support/problems.js';
import { assertBuilt, childEnv, lastLine, runCli, type ServerProcess, startServerProcess } from './support/processes.js';
import { client, createTestDatabase, type TestDatabase, usingPostgres } from './support/server.js';

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

let db: TestDatabase;
let env: NodeJS.ProcessEnv;
let server: ServerProcess | null = null;

/** What must appear in neither the log nor the database, by name. */
const secrets = new Map<string, string>();
const keep = (name: string, value: string) => {
  expect(value, name).toBeTruthy();
  secrets.set(name, value);
  return value;
};
/** Keys: the whole key, and the part after the displayed prefix (the prefix is shown in lists by design). */
const keepKey = (name: string, key: string) => {
  expect(key, name).toMatch(/^ck_[0-9a-z]{40}$/);
  keep(name, key);
  keep(`${name} (after its prefix)`, key.slice(10));
  return key;
};

let setupToken = '';
let cliKey = '';
let memberEmail = '';
let memberBody: Record<string, unknown> = {};
let logOutput = '';

beforeAll(async () => {
  assertBuilt();
  db = await createTestDatabase();
  env = childEnv(db.env, { LOG_LEVEL: 'info' });
});
afterAll(async () => {
  if (server) await server.stop('SIGKILL');
  await db?.drop();
});

async function waitForOutput(s: ServerProcess, pattern: RegExp): Promise<RegExpExecArray> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const m = pattern.exec(s.output());
    if (m) return m;
    if (Date.now() > deadline) throw new Error(`${pattern} not in the output:\n${s.output()}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function cli(args: string[]) {
  const r = await runCli(args, env);
  expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
  return r;
}

/** Every byte the database keeps: the files of the data directory (SQLite), or pg_dump of the schema. */
async function databaseDump(): Promise<Buffer> {
  if (!usingPostgres) {
    const chunks: Buffer[] = [];
    const walk = (dir: string) => {
      for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, entry.name);
        if (entry.isDirectory()) walk(p);
        else chunks.push(fs.readFileSync(p));
      }
    };
    walk(db.dir);
    return Buffer.concat(chunks);
  }
  return new Promise((resolve, reject) => {
    const child = spawn('pg_dump', [db.env.DATABASE_URL!, '--schema', db.env.DATABASE_SCHEMA!], { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => { err += d; });
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolve(Buffer.concat(out)) : reject(new Error(`pg_dump exited ${code}: ${err}`))));
  });
}

describe('secrets', () => {
  it('keys and users are made and used; a revoked key is refused on its very next request', async () => {
    // Before the server: a key and a user on the CLI.
    cliKey = keepKey('CLI admin key', lastLine((await cli(['keys', 'create', '--scopes', 'read,write,admin', '--name', 'cli'])).stdout));
    const cliUser = { email: uniqueEmail('cli-user'), password: keep('CLI user password', strongPassword()) };
    await cli(['users', 'create', '--email', cliUser.email, '--password', cliUser.password, '--role', 'admin']);

    server = await startServerProcess(env);
    const url = server.url;
    setupToken = (await waitForOutput(server, /\/setup\?token=([A-Za-z0-9_-]+)/))[1]!;

    // The first owner, through the printed link.
    const owner = { email: uniqueEmail('owner'), password: keep('owner password (setup)', strongPassword()) };
    const setup = await request(url, 'POST', '/v1/setup', { body: { token: setupToken, ...owner, workspace_name: 'Secretive' } });
    expect(setup.status, JSON.stringify(setup.body)).toBe(201);
    const setupCookie = sessionCookieOf(setup.headers)!;
    keep('setup session id', setupCookie.value);
    const ownerSession = sessionClient(url, `${setupCookie.name}=${setupCookie.value}`, setup.body.csrf_token);
    expect((await ownerSession.get('/v1/members')).status).toBe(200);

    // The CLI key at work.
    const api = client(url, cliKey);
    expect((await api.get('/v1/contacts')).status).toBe(200);
    expect((await api.post('/v1/contacts', { name: 'Ada', email: 'ada@example.com' })).status).toBe(201);
    expect((await api.get('/v1/me')).status).toBe(200);

    // A key over the API, with an Idempotency-Key: the replay does not repeat the secret.
    const made = await api.post('/v1/keys', { name: 'api', scopes: ['write'] }, { 'idempotency-key': 'key-once' });
    expect(made.status).toBe(201);
    const apiKey = keepKey('API key', made.body.key);
    const replay = await api.post('/v1/keys', { name: 'api', scopes: ['write'] }, { 'idempotency-key': 'key-once' });
    expect(JSON.stringify(replay.body)).not.toContain(apiKey);
    expect((await client(url, apiKey).post('/v1/contacts', { name: 'Bob' })).status).toBe(201);
    const listed = await api.get('/v1/keys');
    expect(listed.status).toBe(200);
    expect(JSON.stringify(listed.body)).not.toContain(apiKey.slice(10));

    // Revoked over the API: refused on the very next request.
    const doomed = await api.post('/v1/keys', { name: 'doomed', scopes: ['read', 'write'] });
    const doomedKey = keepKey('API key revoked over the API', doomed.body.key);
    const victim = client(url, doomedKey);
    expect((await victim.get('/v1/contacts')).status).toBe(200);
    expect((await api.delete(`/v1/keys/${doomed.body.id}`)).status).toBe(204);
    expectProblem(await victim.get('/v1/contacts'), 401);
    expectProblem(await victim.post('/v1/contacts', { name: 'Too late' }), 401);

    // Revoked on the CLI, while the server runs: refused on the very next request too.
    const second = await cli(['keys', 'create', '--scopes', 'read,write']);
    const cliDoomed = keepKey('CLI key revoked on the CLI', lastLine(second.stdout));
    const cliDoomedId = /created key (key_[0-9a-z]+)/.exec(second.stdout)![1]!;
    const cliVictim = client(url, cliDoomed);
    expect((await cliVictim.get('/v1/contacts')).status).toBe(200);
    await cli(['keys', 'revoke', cliDoomedId]);
    expectProblem(await cliVictim.get('/v1/contacts'), 401);

    // A member over the API (with an Idempotency-Key, as a dashboard would send), who signs in.
    memberEmail = uniqueEmail('member');
    memberBody = { email: memberEmail, role: 'member', password: keep('member password (POST /v1/members)', strongPassword()) };
    const added = await api.post('/v1/members', memberBody, { 'idempotency-key': 'member-once' });
    expect(added.status, JSON.stringify(added.body)).toBe(201);
    const member = await signInAs(url, memberEmail, memberBody.password as string);
    keep('member session id', member.id);
    expect((await member.get('/v1/session')).status).toBe(200);
    expect((await member.post('/v1/contacts', { name: 'By the member' })).status).toBe(201);

    // The CLI user signs in; the owner signs out.
    const cliSession = await signInAs(url, cliUser.email, cliUser.password);
    keep('CLI user session id', cliSession.id);
    expect((await cliSession.get('/v1/me')).status).toBe(200);
    expect((await ownerSession.delete('/v1/session')).status).toBe(204);

    // Failures carry secrets too: a wrong password, an unknown user, a made-up key.
    expectProblem((await signIn(url, cliUser.email, keep('a wrong password', strongPassword()))).res, 401);
    expectProblem((await signIn(url, uniqueEmail('ghost'), keep('an unknown user\'s password', strongPassword()))).res, 401);
    expectProblem(await client(url, keep('a made-up key', 'ck_' + 'z'.repeat(40))).get('/v1/contacts'), 401);
    expectProblem(await request(url, 'GET', '/v1/session', { headers: { cookie: `chatsby_session=${keep('a made-up session id', 'Q'.repeat(43))}` } }), 401);
  });

  it('the server log (LOG_LEVEL=info) holds no raw key, password or session id; the setup link is its only secret', async () => {
    expect(server).not.toBeNull();
    const exit = await server!.stop();
    expect(exit.code).toBe(0);
    logOutput = server!.output();
    // The log was on: a line per request.
    expect((logOutput.match(/"msg":"request"/g) ?? []).length, logOutput).toBeGreaterThanOrEqual(20);
    expect(logOutput).toContain(setupToken);
    for (const [name, value] of secrets) expect(logOutput.includes(value), `the log holds ${name}`).toBe(false);
  });

  it('a full dump of the database holds no raw key, password, session id or setup token', async () => {
    expect(secrets.size).toBeGreaterThanOrEqual(15);
    const dump = await databaseDump();
    // The dump is the real thing: it holds the member's email and the keys' SHA-256 and prefix.
    expect(dump.includes(memberEmail)).toBe(true);
    expect(dump.includes(sha256(cliKey)), 'keys are stored as SHA-256').toBe(true);
    expect(dump.includes(cliKey.slice(0, 10))).toBe(true);
    for (const [name, value] of secrets) expect(dump.includes(value), `the dump holds ${name}`).toBe(false);
    expect(dump.includes(setupToken), 'the dump holds the setup token').toBe(false);
    // Passwords are argon2id with at least 19 MiB and two passes.
    const hashes = [...dump.toString('latin1').matchAll(/\$argon2id\$v=19\$m=(\d+),t=(\d+),p=\d+\$/g)];
    expect(hashes.length, 'three users: CLI, setup, member').toBeGreaterThanOrEqual(3);
    for (const h of hashes) {
      expect(Number(h[1])).toBeGreaterThanOrEqual(19 * 1024);
      expect(Number(h[2])).toBeGreaterThanOrEqual(2);
    }
    expect(dump.toString('latin1')).not.toMatch(/\$argon2(i|d)\$/);
  });

  it('the database holds no fast (plain SHA-256) hash of a request carrying a password', async () => {
    // The idempotency record of POST /v1/members: SHA-256 over the method, path and JSON body. Email and
    // role are in the dump, so the password could be guessed at SHA-256 speed instead of argon2id's.
    const dump = await databaseDump();
    const requestHash = sha256('POST /v1/members\n' + JSON.stringify(memberBody));
    expect(dump.includes(requestHash), 'an unsalted SHA-256 of {email, role, password} is stored (idempotency request_hash)').toBe(false);
  });
});
