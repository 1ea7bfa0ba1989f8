// Rate limits (API.md Conventions; issue 3 item 6): token buckets per API key and per session of
// RATE_LIMIT_PER_SECOND with bursts of twice that; RateLimit-Limit, -Remaining and -Reset on every answer;
// 429 with Retry-After past the limit and never a 5xx; recovery after waiting; 0 turns them off. On
// PostgreSQL the buckets live in the database, so two server processes on one schema share them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUser, signIn, signInAs, strongPassword, uniqueEmail } from './support/accounts.js';
import { expectProblem } from './support/problems.js';
import { assertBuilt, childEnv, lastLine, runCli, type ServerProcess, startServerProcess } from './support/processes.js';
import { type Answer, client, createTestDatabase, manualClock, startTestServer, type TestDatabase, type TestServer, usingPostgres } from './support/server.js';

const LIMIT = 5;
const BURST = 2 * LIMIT;

/** RATE_LIMIT_PER_SECOND=5 on a clock moved by hand: bucket arithmetic is exact. */
let t: TestServer;
const clock = manualClock();
/** The same limit on the real clock: recovery after really waiting. */
let real: TestServer;
/** RATE_LIMIT_PER_SECOND=0. */
let off: TestServer;

beforeAll(async () => {
  [t, real, off] = await Promise.all([
    startTestServer({ env: { RATE_LIMIT_PER_SECOND: String(LIMIT) }, clock }),
    startTestServer({ env: { RATE_LIMIT_PER_SECOND: String(LIMIT) } }),
    startTestServer({ env: { RATE_LIMIT_PER_SECOND: '0' } }),
  ]);
});
afterAll(async () => {
  await Promise.all([t?.close(), real?.close(), off?.close()]);
});

const int = (v: string | null) => (v !== null && /^\d+$/.test(v) ? Number(v) : NaN);

/** The RateLimit-* headers every limited answer carries, checked and read. */
function rateHeaders(res: Answer, what: string) {
  const limit = res.headers.get('ratelimit-limit');
  const remaining = int(res.headers.get('ratelimit-remaining'));
  const reset = int(res.headers.get('ratelimit-reset'));
  expect(limit, `${what}: RateLimit-Limit`).toBe(String(LIMIT));
  expect(remaining, `${what}: RateLimit-Remaining ${res.headers.get('ratelimit-remaining')}`).toBeGreaterThanOrEqual(0);
  expect(remaining, what).toBeLessThan(BURST);
  expect(reset, `${what}: RateLimit-Reset ${res.headers.get('ratelimit-reset')}`).toBeGreaterThanOrEqual(1);
  expect(reset, what).toBeLessThanOrEqual(BURST / LIMIT);
  return { remaining, reset };
}

function expect429(res: Answer, what: string): number {
  expectProblem(res, 429);
  const retry = int(res.headers.get('retry-after'));
  expect(retry, `${what}: Retry-After ${res.headers.get('retry-after')}`).toBeGreaterThanOrEqual(1);
  expect(retry).toBeLessThanOrEqual(BURST / LIMIT);
  expect(rateHeaders(res, what).remaining, `${what}: nothing remains`).toBe(0);
  return retry;
}

/** Checks a flood's answers: only 2xx and 429, headers on each; returns the 2xx count and a Retry-After. */
function tally(answers: Answer[], what: string): { ok: number; limited: number; retry: number; remaining: number[] } {
  let ok = 0;
  let limited = 0;
  let retry = 0;
  const remaining: number[] = [];
  answers.forEach((res, i) => {
    expect(res.status, `${what} #${i}: ${JSON.stringify(res.body)}`).toBeLessThan(500);
    if (res.status === 429) {
      limited++;
      retry = expect429(res, `${what} #${i}`);
    } else {
      expect(res.status, `${what} #${i}`).toBeGreaterThanOrEqual(200);
      expect(res.status, `${what} #${i}`).toBeLessThan(300);
      ok++;
      remaining.push(rateHeaders(res, `${what} #${i}`).remaining);
    }
  });
  return { ok, limited, retry, remaining };
}

describe('per API key (RATE_LIMIT_PER_SECOND=5, manual clock)', () => {
  it('ten times the limit at once: a burst of 10 passes, the rest is 429 with Retry-After, headers on every answer, no 5xx', async () => {
    const ws = await t.workspace();
    const api = client(t.url, ws.key);
    const answers = await Promise.all(Array.from({ length: 10 * LIMIT }, (_, i) => (i % 2 ? api.get('/v1/contacts') : api.post('/v1/contacts', { name: `n${i}` }))));
    const r = tally(answers, 'flood');
    expect(r.ok).toBe(BURST);
    expect(r.limited).toBe(10 * LIMIT - BURST);
    // Each admitted request took one token: the remainders count down from 9 to 0.
    expect([...r.remaining].sort((a, b) => a - b)).toEqual(Array.from({ length: BURST }, (_, i) => i));
    // Refused requests changed nothing: only the admitted POSTs made contacts.
    const posted = answers.filter((a, i) => i % 2 === 0 && a.status === 201).length;
    clock.advance(60_000);
    expect((await api.get('/v1/contacts/count')).body.count).toBe(posted);
  });

  it('recovers after waiting Retry-After, at the rate of the limit', async () => {
    const ws = await t.workspace();
    const api = client(t.url, ws.key);
    const first = tally(await Promise.all(Array.from({ length: 3 * BURST }, () => api.get('/v1/contacts'))), 'first flood');
    expect(first.ok).toBe(BURST);
    expect429(await api.get('/v1/contacts'), 'still limited');

    clock.advance(first.retry * 1000);
    const ok = await api.get('/v1/contacts');
    expect(ok.status, 'after Retry-After').toBe(200);
    rateHeaders(ok, 'after Retry-After');
    // Within that one second at most LIMIT more are admitted.
    const second = tally(await Promise.all(Array.from({ length: 2 * BURST }, () => api.get('/v1/contacts'))), 'second flood');
    expect(second.ok + 1).toBeLessThanOrEqual(LIMIT);

    // Two idle seconds fill the bucket again: a whole burst passes.
    clock.advance(2 * 1000 + 1000);
    const third = tally(await Promise.all(Array.from({ length: 2 * BURST }, () => api.get('/v1/contacts'))), 'third flood');
    expect(third.ok).toBe(BURST);
  });

  it('the headers are on 4xx answers too: 404 and 403', async () => {
    const ws = await t.workspace();
    const readOnly = client(t.url, await ws.keyFor(['read']));
    const notFound = await readOnly.get('/v1/contacts/ctc_0000000000000000');
    expectProblem(notFound, 404);
    rateHeaders(notFound, '404');
    const forbidden = await readOnly.post('/v1/contacts', { name: 'x' });
    expectProblem(forbidden, 403);
    rateHeaders(forbidden, '403');
  });

  it('a second key is not affected by the first one being limited', async () => {
    const ws = await t.workspace();
    const api = client(t.url, ws.key);
    const other = client(t.url, await ws.keyFor(['read']));
    expect(tally(await Promise.all(Array.from({ length: 3 * BURST }, () => api.get('/v1/contacts'))), 'flood').ok).toBe(BURST);
    const res = await other.get('/v1/contacts');
    expect(res.status).toBe(200);
    expect(rateHeaders(res, 'other key').remaining).toBe(BURST - 1);
    expect429(await api.get('/v1/contacts'), 'first key still limited');
  });
});

describe('per session', () => {
  it('a session is limited like a key; another user is not affected', async () => {
    clock.advance(60_000);
    const ws = await t.server.services.workspaces.create('Sessions');
    const a = await createUser(t, 'member', ws.id);
    const b = await createUser(t, 'member', ws.id);
    const sa = await signInAs(t.url, a.email, a.password);
    const sb = await signInAs(t.url, b.email, b.password);
    const answers = await Promise.all(Array.from({ length: 10 * LIMIT }, () => sa.get('/v1/contacts')));
    const r = tally(answers, 'session flood');
    expect(r.ok).toBe(BURST);
    expect429(await sa.post('/v1/contacts', { name: 'x' }), 'unsafe request of the limited session');
    const res = await sb.get('/v1/contacts');
    expect(res.status).toBe(200);
    expect(rateHeaders(res, 'other user').remaining).toBe(BURST - 1);
  });
});

describe('on the real clock', () => {
  it('ten times the limit quickly, then the limit recovers after really waiting', async () => {
    const ws = await real.workspace();
    const api = client(real.url, ws.key);
    const started = performance.now();
    const answers = await Promise.all(Array.from({ length: 10 * LIMIT }, () => api.get('/v1/contacts')));
    const seconds = (performance.now() - started) / 1000;
    const r = tally(answers, 'flood');
    expect(r.ok).toBeGreaterThanOrEqual(BURST);
    expect(r.ok).toBeLessThanOrEqual(BURST + Math.floor(LIMIT * seconds));
    expect(r.limited).toBeGreaterThan(0);
    await new Promise((resolve) => setTimeout(resolve, r.retry * 1000 + 100));
    const after = await api.get('/v1/contacts');
    expect(after.status).toBe(200);
    rateHeaders(after, 'after waiting');
  });
});

describe('RATE_LIMIT_PER_SECOND=0', () => {
  it('gives no 429 and no RateLimit headers', async () => {
    const ws = await off.workspace();
    const api = client(off.url, ws.key);
    const answers = await Promise.all(Array.from({ length: 200 }, () => api.get('/v1/contacts')));
    for (const res of answers) {
      expect(res.status).toBe(200);
      for (const h of ['ratelimit-limit', 'ratelimit-remaining', 'ratelimit-reset', 'retry-after']) expect(res.headers.get(h), h).toBeNull();
    }
    const owner = await createUser(off, 'owner', ws.id);
    const s = await signInAs(off.url, owner.email, owner.password);
    const sessionAnswers = await Promise.all(Array.from({ length: 50 }, () => s.get('/v1/session')));
    for (const res of sessionAnswers) {
      expect(res.status).toBe(200);
      expect(res.headers.get('ratelimit-limit')).toBeNull();
    }
  });
});

if (usingPostgres) {
  describe('two server processes on one PostgreSQL schema', () => {
    let db: TestDatabase;
    const servers: ServerProcess[] = [];

    beforeAll(async () => {
      assertBuilt();
      db = await createTestDatabase();
      const env = childEnv(db.env, { RATE_LIMIT_PER_SECOND: String(LIMIT), SIGNIN_FAILURES_PER_MINUTE: '3' });
      // One after the other: the first migrates the schema.
      servers.push(await startServerProcess(env));
      servers.push(await startServerProcess(env));
    });
    afterAll(async () => {
      for (const s of servers) await s.stop('SIGKILL');
      await db?.drop();
    });

    async function cliKey(): Promise<string> {
      const r = await runCli(['keys', 'create', '--scopes', 'read'], childEnv(db.env));
      expect(r.code, r.stderr).toBe(0);
      return lastLine(r.stdout);
    }

    it('share one bucket per key: the 2xx over both stay within the burst plus the refill', async () => {
      const [a, b] = servers as [ServerProcess, ServerProcess];
      // Warm both processes (pool, JIT) with another key, so the flood is quick.
      const warm = await cliKey();
      await Promise.all([client(a.url, warm).get('/v1/contacts'), client(b.url, warm).get('/v1/contacts')]);
      const key = await cliKey();
      const started = performance.now();
      const answers = await Promise.all(Array.from({ length: 12 * LIMIT }, (_, i) => client(i % 2 ? a.url : b.url, key).get('/v1/contacts')));
      const seconds = (performance.now() - started) / 1000;
      const r = tally(answers, 'flood over two processes');
      // Buckets of their own would admit at least 2 x 10.
      expect(seconds, 'the flood took under 1.5 s, so the bound below is under 2 x 10').toBeLessThan(1.5);
      expect(r.ok).toBeGreaterThanOrEqual(BURST);
      expect(r.ok, `${r.ok} admitted in ${seconds.toFixed(2)} s`).toBeLessThanOrEqual(BURST + Math.floor(LIMIT * seconds));
    });

    it('share the failed sign-in limit too: the 4th failure over both processes is 429', async () => {
      const [a, b] = servers as [ServerProcess, ServerProcess];
      const email = uniqueEmail('shared');
      expectProblem((await signIn(a.url, email, strongPassword())).res, 401);
      expectProblem((await signIn(b.url, email, strongPassword())).res, 401);
      expectProblem((await signIn(a.url, email, strongPassword())).res, 401);
      const fourth = (await signIn(b.url, email, strongPassword())).res;
      expectProblem(fourth, 429);
      expect(int(fourth.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    });
  });
}
