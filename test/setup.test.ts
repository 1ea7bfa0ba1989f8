// First run (API.md "Accounts and access", issue 3 item 2): while no owner exists the server hands out a
// one-time setup link (valid one hour, single use); POST /v1/setup with its token creates the first owner,
// names the default workspace and signs in; afterwards GET says {needed:false} and POST is 410. The plain
// /setup page, and `serve` printing the link only while no owner exists.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request, sessionClient, sessionCookieOf, signIn, strongPassword, uniqueEmail } from './support/accounts.js';
import { expectInvalid, expectProblem } from './support/problems.js';
import { childEnv, runCli, type ServerProcess, serverProcesses } from './support/processes.js';
import { manualClock, startTestServer, type TestServer } from './support/server.js';

const MINUTE = 60_000;
const LINK = /^No owner yet\. Create the first one here \(valid one hour, once\): (http:\/\/127\.0\.0\.1:(\d+)\/setup\?token=([A-Za-z0-9_-]+))$/m;

let t: TestServer;
const clock = manualClock();
let token: string;

/** A second fresh server for the token's age and its single use. */
let t2: TestServer;
const clock2 = manualClock();

beforeAll(async () => {
  [t, t2] = await Promise.all([startTestServer({ clock }), startTestServer({ clock: clock2 })]);
});
afterAll(async () => {
  await Promise.all([t?.close(), t2?.close()]);
});

function tokenOf(setupUrl: string | null): string {
  expect(setupUrl).toBeTruthy();
  const token = new URL(setupUrl!).searchParams.get('token');
  expect(token).toBeTruthy();
  return token!;
}

function setupBody(over: Record<string, unknown> = {}) {
  return { token, email: uniqueEmail('owner'), password: strongPassword(), workspace_name: 'Acme Support', ...over };
}

describe('first run, step by step', () => {
  it('a fresh server needs setup and has a link http://127.0.0.1:PORT/setup?token=...', async () => {
    const res = await request(t.url, 'GET', '/v1/setup');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ needed: true });
    const port = new URL(t.url).port;
    expect(t.server.setupUrl).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:${port}/setup\\?token=[A-Za-z0-9_-]{20,}$`));
    token = tokenOf(t.server.setupUrl);
  });

  it('serves a plain setup page at /setup: a form with labelled fields, its script from a file', async () => {
    const res = await request(t.url, 'GET', `/setup?token=${token}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const html = res.body as string;
    expect(html).toMatch(/<form\b/);
    for (const [id, type] of [['workspace_name', null], ['email', 'email'], ['password', 'password']] as const) {
      expect(html, `a label for ${id}`).toMatch(new RegExp(`<label[^>]*\\bfor="${id}"[^>]*>[^<]+</label>`));
      const input = new RegExp(`<input[^>]*\\bid="${id}"[^>]*>`).exec(html)?.[0];
      expect(input, `an input #${id}`).toBeDefined();
      if (type) expect(input).toMatch(new RegExp(`type="${type}"`));
    }
    expect(html).toMatch(/<button[^>]*type="submit"/);
    // No inline script: the page runs under a CSP without 'unsafe-inline'.
    for (const tag of html.match(/<script\b[^>]*>/g) ?? []) expect(tag).toMatch(/\bsrc="/);
    const src = /<script\b[^>]*\bsrc="([^"]+)"/.exec(html)?.[1];
    expect(src).toBeDefined();
    const script = await request(t.url, 'GET', src!);
    expect(script.status).toBe(200);
    expect(script.headers.get('content-type')).toMatch(/javascript/);
    expect(script.body).toContain('/v1/setup');
    // The page does not echo the token into the HTML.
    expect(html).not.toContain(token);
  });

  it('refuses a wrong token with 403 and creates nothing', async () => {
    expectProblem(await request(t.url, 'POST', '/v1/setup', { body: setupBody({ token: (token.startsWith('x') ? 'y' : 'x') + token.slice(1) }) }), 403);
    expectProblem(await request(t.url, 'POST', '/v1/setup', { body: setupBody({ token: '' }) }), 403);
    expect((await request(t.url, 'GET', '/v1/setup')).body).toEqual({ needed: true });
  });

  it('refuses a weak password with 422 (under 10 characters, or a common one), and the token survives', async () => {
    expectInvalid(await request(t.url, 'POST', '/v1/setup', { body: setupBody({ password: 'Sh0rt-pw9' }) }), 'password');
    expectInvalid(await request(t.url, 'POST', '/v1/setup', { body: setupBody({ password: 'password123' }) }), 'password');
    expectInvalid(await request(t.url, 'POST', '/v1/setup', { body: setupBody({ password: 'PASSWORD123' }) }), 'password');
    expectInvalid(await request(t.url, 'POST', '/v1/setup', { body: setupBody({ password: '1234567890' }) }), 'password');
    expectProblem(await request(t.url, 'POST', '/v1/setup', { body: setupBody({ email: 'not an email' }) }), 422);
    expectProblem(await request(t.url, 'POST', '/v1/setup', { body: setupBody({ workspace_name: '   ' }) }), 422);
    expect((await request(t.url, 'GET', '/v1/setup')).body).toEqual({ needed: true });
  });

  it('with the right token (59 minutes on) creates the owner, names the default workspace and signs in', async () => {
    clock.advance(59 * MINUTE);
    const email = uniqueEmail('first-owner');
    const password = strongPassword();
    const res = await request(t.url, 'POST', '/v1/setup', { body: setupBody({ email, password, workspace_name: '  Acme Support  ' }) });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    const defaultWorkspace = await t.server.services.workspaces.ensureDefault();
    expect(res.body).toEqual({
      user: { id: expect.stringMatching(/^usr_[0-9a-z]{16,}$/), email },
      workspace: { id: defaultWorkspace.id, name: 'Acme Support' },
      role: 'owner',
      csrf_token: expect.any(String),
    });
    const cookie = sessionCookieOf(res.headers);
    expect(cookie).not.toBeNull();
    expect(cookie!.attributes.httponly).toBe(true);
    expect(String(cookie!.attributes.samesite).toLowerCase()).toBe('lax');

    const s = sessionClient(t.url, `${cookie!.name}=${cookie!.value}`, res.body.csrf_token);
    const me = await s.get('/v1/session');
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ role: 'owner', user: { email }, workspace: { name: 'Acme Support' } });
    expect((await s.get('/v1/workspace')).body).toMatchObject({ id: defaultWorkspace.id, name: 'Acme Support' });
    const members = await s.get('/v1/members');
    expect(members.body.data).toEqual([expect.objectContaining({ id: res.body.user.id, email, role: 'owner' })]);
    // The owner is a real account: signing in with the chosen password works.
    expect((await signIn(t.url, email, password)).res.status).toBe(200);
  });

  it('then GET /v1/setup is {needed:false} and POST is 410, with the used token or any other', async () => {
    expect((await request(t.url, 'GET', '/v1/setup')).body).toEqual({ needed: false });
    expectProblem(await request(t.url, 'POST', '/v1/setup', { body: setupBody() }), 410);
    expectProblem(await request(t.url, 'POST', '/v1/setup', { body: setupBody({ token: 'anything' }) }), 410);
    const members = (await t.server.services.accounts.listMembers({
      kind: 'key', workspaceId: (await t.server.services.workspaces.ensureDefault()).id, keyId: 'key_x', keyName: null, scopes: ['read'],
    })).data;
    expect(members.filter((m) => m.role === 'owner')).toHaveLength(1);
  });

  it('issues no new link once an owner exists', async () => {
    expect(await t.server.services.accounts.issueSetupToken()).toBeNull();
  });
});

describe('the setup token', () => {
  it('is refused once older than one hour', async () => {
    const old = tokenOf(t2.server.setupUrl);
    clock2.advance(61 * MINUTE);
    expectProblem(await request(t2.url, 'POST', '/v1/setup', { body: setupBody({ token: old }) }), 403);
    expect((await request(t2.url, 'GET', '/v1/setup')).body).toEqual({ needed: true });
  });

  it('is single use: of five simultaneous setups with one token exactly one creates an owner', async () => {
    const fresh = await t2.server.services.accounts.issueSetupToken();
    expect(fresh).toBeTruthy();
    const bodies = Array.from({ length: 5 }, (_, i) => setupBody({ token: fresh, email: uniqueEmail(`racer${i}`) }));
    const answers = await Promise.all(bodies.map((body) => request(t2.url, 'POST', '/v1/setup', { body })));
    const statuses = answers.map((a) => a.status);
    expect(statuses.filter((s) => s === 201), String(statuses)).toHaveLength(1);
    for (const a of answers) if (a.status !== 201) expect([403, 410]).toContain(a.status);
    const winner = bodies[statuses.indexOf(201)]!;
    for (const b of bodies) {
      const { res } = await signIn(t2.url, b.email, b.password);
      expect(res.status, b.email).toBe(b === winner ? 200 : 401);
    }
    expectProblem(await request(t2.url, 'POST', '/v1/setup', { body: setupBody({ token: fresh }) }), 410);
  });
});

describe('`serve` prints the setup link', () => {
  const processes = serverProcesses();

  async function outputOnceRunning(s: ServerProcess): Promise<string> {
    const deadline = Date.now() + 10_000;
    while (!/is running at/.test(s.output())) {
      if (Date.now() > deadline) throw new Error(`no start banner:\n${s.output()}`);
      await new Promise((r) => setTimeout(r, 25));
    }
    await new Promise((r) => setTimeout(r, 100));
    return s.output();
  }

  it('while no owner exists (an admin does not count), and the printed link works; not after', async () => {
    const env = childEnv(processes.db.env);
    const admin = await runCli(['users', 'create', '--email', uniqueEmail('early-admin'), '--password', strongPassword(), '--role', 'admin'], env);
    expect(admin.code, admin.stderr).toBe(0);

    const first = await processes.start(env);
    const out = await outputOnceRunning(first);
    const m = LINK.exec(out);
    expect(m, out).not.toBeNull();
    expect(Number(m![2])).toBe(first.port);
    const page = await request(first.url, 'GET', new URL(m![1]!).pathname + new URL(m![1]!).search);
    expect(page.status).toBe(200);
    const res = await request(first.url, 'POST', '/v1/setup', {
      body: { token: m![3], email: uniqueEmail('owner'), password: strongPassword(), workspace_name: 'Printed' },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    await first.stop();

    const second = await processes.start(env);
    const again = await outputOnceRunning(second);
    expect(again).not.toMatch(/No owner yet/);
    expect(again).not.toMatch(/setup\?token=/);
    expect((await request(second.url, 'GET', '/v1/setup')).body).toEqual({ needed: false });
    await second.stop();
  });
});
