// /v1/members (API.md "Accounts and access", issue 3 items 4-5): owners and admins list, add, change and
// remove members; admins only below owner; the last owner stays; removal and demotion take effect on the
// next request; a new user's password meets the policy. And `users create` on the CLI.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUser, type Session, signIn, signInAs, strongPassword, uniqueEmail, workspaceWithOwner } from './support/accounts.js';
import { expectInvalid, expectProblem } from './support/problems.js';
import { assertBuilt, childEnv, lastLine, runCli } from './support/processes.js';
import { client, startTestServer, type TestServer } from './support/server.js';

const ISO_MS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

let t: TestServer;

beforeAll(async () => {
  t = await startTestServer();
});
afterAll(() => t?.close());

async function roles(s: Session): Promise<Record<string, string>> {
  const res = await s.get('/v1/members');
  expect(res.status).toBe(200);
  return Object.fromEntries((res.body.data as Array<{ email: string; role: string }>).map((m) => [m.email, m.role]));
}

describe('as an owner', () => {
  it('lists, adds, changes the role of and removes members', async () => {
    const { workspaceId, owner, session } = await workspaceWithOwner(t, 'Owned');
    const list = await session.get('/v1/members');
    expect(list.status).toBe(200);
    expect(list.body).toEqual({ data: [{ id: owner.id, email: owner.email, role: 'owner', created_at: expect.stringMatching(ISO_MS) }], has_more: false, next_cursor: null });

    const email = uniqueEmail('new');
    const password = strongPassword();
    const added = await session.post('/v1/members', { email, role: 'member', password });
    expect(added.status, JSON.stringify(added.body)).toBe(201);
    expect(added.body).toEqual({ id: expect.stringMatching(/^usr_[0-9a-z]{16,}$/), email, role: 'member', created_at: expect.stringMatching(ISO_MS) });
    expect(await roles(session)).toEqual({ [owner.email]: 'owner', [email]: 'member' });

    // The new member is a real account in this workspace.
    const m = await signInAs(t.url, email, password);
    expect(m.view).toMatchObject({ user: { id: added.body.id }, workspace: { id: workspaceId }, role: 'member' });

    const changed = await session.patch(`/v1/members/${added.body.id}`, { role: 'admin' });
    expect(changed.status).toBe(200);
    expect(changed.body).toMatchObject({ id: added.body.id, email, role: 'admin' });
    expect((await m.get('/v1/session')).body.role).toBe('admin');

    const removed = await session.delete(`/v1/members/${added.body.id}`);
    expect(removed.status).toBe(204);
    expect(await roles(session)).toEqual({ [owner.email]: 'owner' });
  });

  it('adds, demotes and removes other owners', async () => {
    const { owner, session } = await workspaceWithOwner(t);
    const second = await session.post('/v1/members', { email: uniqueEmail('co-owner'), role: 'owner', password: strongPassword() });
    expect(second.status).toBe(201);
    expect(second.body.role).toBe('owner');
    expect((await session.patch(`/v1/members/${second.body.id}`, { role: 'viewer' })).status).toBe(200);
    expect((await session.patch(`/v1/members/${second.body.id}`, { role: 'owner' })).status).toBe(200);
    expect((await session.delete(`/v1/members/${second.body.id}`)).status).toBe(204);
    expect(await roles(session)).toEqual({ [owner.email]: 'owner' });
  });
});

describe('as an admin', () => {
  it('manages members below owner', async () => {
    const { workspaceId, session: ownerSession } = await workspaceWithOwner(t);
    const admin = await createUser(t, 'admin', workspaceId);
    const s = await signInAs(t.url, admin.email, admin.password);
    const ids: Record<string, string> = {};
    for (const role of ['viewer', 'member', 'admin'] as const) {
      const res = await s.post('/v1/members', { email: uniqueEmail(role), role, password: strongPassword() });
      expect(res.status, `${role}: ${JSON.stringify(res.body)}`).toBe(201);
      expect(res.body.role).toBe(role);
      ids[role] = res.body.id;
    }
    expect((await s.patch(`/v1/members/${ids.viewer}`, { role: 'member' })).body.role).toBe('member');
    expect((await s.patch(`/v1/members/${ids.member}`, { role: 'viewer' })).body.role).toBe('viewer');
    expect((await s.patch(`/v1/members/${ids.admin}`, { role: 'member' })).body.role).toBe('member');
    expect((await s.delete(`/v1/members/${ids.viewer}`)).status).toBe(204);
    expect(Object.values(await roles(ownerSession)).sort()).toEqual(['admin', 'member', 'owner', 'viewer']);
  });

  it('cannot add, promote to, demote or remove owners (403), and nothing changes', async () => {
    const { workspaceId, owner, session: ownerSession } = await workspaceWithOwner(t);
    const admin = await createUser(t, 'admin', workspaceId);
    const member = await createUser(t, 'member', workspaceId);
    const s = await signInAs(t.url, admin.email, admin.password);
    const before = await roles(ownerSession);

    const newOwner = uniqueEmail('would-be-owner');
    expectProblem(await s.post('/v1/members', { email: newOwner, role: 'owner', password: strongPassword() }), 403);
    expectProblem(await s.patch(`/v1/members/${member.id}`, { role: 'owner' }), 403);
    expectProblem(await s.patch(`/v1/members/${admin.id}`, { role: 'owner' }), 403);
    expectProblem(await s.patch(`/v1/members/${owner.id}`, { role: 'admin' }), 403);
    expectProblem(await s.patch(`/v1/members/${owner.id}`, { role: 'viewer' }), 403);
    expectProblem(await s.delete(`/v1/members/${owner.id}`), 403);

    expect(await roles(ownerSession)).toEqual(before);
    expect((await signIn(t.url, newOwner, 'whatever password')).res.status).toBe(401);
  });

  it('an admin-scoped API key cannot make owners either', async () => {
    const ws = await t.workspace();
    const api = client(t.url, ws.key);
    expectProblem(await api.post('/v1/members', { email: uniqueEmail('via-key'), role: 'owner', password: strongPassword() }), 403);
    expect((await api.post('/v1/members', { email: uniqueEmail('via-key'), role: 'admin', password: strongPassword() })).status).toBe(201);
  });
});

describe('the last owner', () => {
  it('can be neither demoted nor removed (409), by itself or anyone', async () => {
    const { workspaceId, owner, session } = await workspaceWithOwner(t);
    for (const role of ['admin', 'member', 'viewer']) expectProblem(await session.patch(`/v1/members/${owner.id}`, { role }), 409);
    expectProblem(await session.delete(`/v1/members/${owner.id}`), 409);
    expect(await roles(session)).toEqual({ [owner.email]: 'owner' });
    expect((await session.get('/v1/session')).status).toBe(200);

    // With a second owner the first may leave; then the second is the last.
    const second = await createUser(t, 'owner', workspaceId);
    const s2 = await signInAs(t.url, second.email, second.password);
    expect((await session.delete(`/v1/members/${owner.id}`)).status).toBe(204);
    expectProblem(await session.get('/v1/session'), 401);
    expectProblem(await s2.patch(`/v1/members/${second.id}`, { role: 'admin' }), 409);
    expectProblem(await s2.delete(`/v1/members/${second.id}`), 409);
    expect(await roles(s2)).toEqual({ [second.email]: 'owner' });
  });

  it('survives two owners demoting each other at the same moment: one wins, one owner is left', async () => {
    const { workspaceId, owner, session } = await workspaceWithOwner(t);
    const second = await createUser(t, 'owner', workspaceId);
    const s2 = await signInAs(t.url, second.email, second.password);
    const [a, b] = await Promise.all([
      session.patch(`/v1/members/${second.id}`, { role: 'admin' }),
      s2.patch(`/v1/members/${owner.id}`, { role: 'admin' }),
    ]);
    // The loser is 409 (the other is the last owner), or 403 when its own demotion landed first.
    const statuses = [a.status, b.status];
    expect(statuses.filter((s) => s === 200), String(statuses)).toHaveLength(1);
    for (const s of statuses) expect([200, 403, 409]).toContain(s);
    const left = (await t.server.services.accounts.listMembers({ kind: 'key', workspaceId, keyId: 'key_x', keyName: null, scopes: ['read'] })).data;
    expect(left.filter((m) => m.role === 'owner')).toHaveLength(1);
  });

  it('survives two owners removing each other at the same moment', async () => {
    const { workspaceId, owner, session } = await workspaceWithOwner(t);
    const second = await createUser(t, 'owner', workspaceId);
    const s2 = await signInAs(t.url, second.email, second.password);
    const [a, b] = await Promise.all([session.delete(`/v1/members/${second.id}`), s2.delete(`/v1/members/${owner.id}`)]);
    // The loser is 409, or 401 when its own session went with the winner's removal first.
    expect([a.status, b.status].filter((s) => s === 204)).toHaveLength(1);
    const left = (await t.server.services.accounts.listMembers({ kind: 'key', workspaceId, keyId: 'key_x', keyName: null, scopes: ['read'] })).data;
    expect(left.filter((m) => m.role === 'owner')).toHaveLength(1);
  });
});

describe('changes take effect on the next request', () => {
  it("a removed member's session stops working at once", async () => {
    const { workspaceId, session } = await workspaceWithOwner(t);
    const member = await createUser(t, 'member', workspaceId);
    const m = await signInAs(t.url, member.email, member.password);
    expect((await m.get('/v1/contacts')).status).toBe(200);
    expect((await session.delete(`/v1/members/${member.id}`)).status).toBe(204);
    expectProblem(await m.get('/v1/session'), 401);
    expectProblem(await m.get('/v1/contacts'), 401);
    expectProblem(await m.post('/v1/contacts', { name: 'After removal' }), 401);
    // Nor can the removed user sign in to the workspace again.
    expect((await signIn(t.url, member.email, member.password)).res.status).toBe(401);
  });

  it('a demoted admin loses the admin rights at once', async () => {
    const { workspaceId, session } = await workspaceWithOwner(t);
    const admin = await createUser(t, 'admin', workspaceId);
    const a = await signInAs(t.url, admin.email, admin.password);
    expect((await a.get('/v1/keys')).status).toBe(200);
    expect((await session.patch(`/v1/members/${admin.id}`, { role: 'viewer' })).status).toBe(200);
    expectProblem(await a.get('/v1/keys'), 403);
    expectProblem(await a.post('/v1/members', { email: uniqueEmail('x'), role: 'viewer', password: strongPassword() }), 403);
    expect((await a.get('/v1/contacts')).status).toBe(200);
  });
});

describe('adding members', () => {
  it('is 409 for someone who is a member already, whatever the case of the email', async () => {
    const { workspaceId, session } = await workspaceWithOwner(t);
    const member = await createUser(t, 'viewer', workspaceId);
    const before = await roles(session);
    expectProblem(await session.post('/v1/members', { email: member.email, role: 'admin', password: strongPassword() }), 409);
    expectProblem(await session.post('/v1/members', { email: member.email.toUpperCase(), role: 'member' }), 409);
    expect(await roles(session)).toEqual(before);
    // The existing password still holds (the 409 set no new one).
    expect((await signIn(t.url, member.email, member.password)).res.status).toBe(200);
  });

  it('needs a password meeting the policy for a new user (422), and creates nobody otherwise', async () => {
    const { session } = await workspaceWithOwner(t);
    const before = await roles(session);
    const email = uniqueEmail('weak');
    expectInvalid(await session.post('/v1/members', { email, role: 'member' }), 'password');
    expectInvalid(await session.post('/v1/members', { email, role: 'member', password: 'Sh0rt-pw9' }), 'password');
    expectInvalid(await session.post('/v1/members', { email, role: 'member', password: 'password123' }), 'password');
    expectInvalid(await session.post('/v1/members', { email, role: 'member', password: 'qwertyuiop' }), 'password');
    expectProblem(await session.post('/v1/members', { email: 'not-an-email', role: 'member', password: strongPassword() }), 422);
    expectProblem(await session.post('/v1/members', { email: uniqueEmail(), role: 'superuser', password: strongPassword() }), 422);
    expectProblem(await session.post('/v1/members', { email: uniqueEmail(), role: 'member', password: strongPassword(), is_admin: true }), 422);
    expect(await roles(session)).toEqual(before);
    expect((await signIn(t.url, email, 'Sh0rt-pw9')).res.status).toBe(401);
  });

  it('lets an existing user of another workspace join with the role, keeping the password', async () => {
    const a = await workspaceWithOwner(t, 'A');
    const b = await workspaceWithOwner(t, 'B');
    const joined = await a.session.post('/v1/members', { email: b.owner.email, role: 'viewer' });
    expect(joined.status, JSON.stringify(joined.body)).toBe(201);
    expect(joined.body).toMatchObject({ id: b.owner.id, role: 'viewer' });
    expect((await roles(a.session))[b.owner.email]).toBe('viewer');
    expect((await signIn(t.url, b.owner.email, b.owner.password)).res.status).toBe(200);
  });
});

describe('who may', () => {
  it('viewers and members read the list; changing it needs admin (403)', async () => {
    const { workspaceId, owner } = await workspaceWithOwner(t);
    const target = await createUser(t, 'viewer', workspaceId);
    for (const role of ['viewer', 'member'] as const) {
      const u = await createUser(t, role, workspaceId);
      const s = await signInAs(t.url, u.email, u.password);
      expect((await s.get('/v1/members')).status, role).toBe(200);
      expectProblem(await s.post('/v1/members', { email: uniqueEmail(), role: 'viewer', password: strongPassword() }), 403);
      expectProblem(await s.patch(`/v1/members/${target.id}`, { role: 'member' }), 403);
      expectProblem(await s.delete(`/v1/members/${target.id}`), 403);
      expectProblem(await s.patch(`/v1/members/${owner.id}`, { role: 'viewer' }), 403);
    }
  });

  it("another workspace's member, or an unknown id, is 404", async () => {
    const a = await workspaceWithOwner(t, 'A');
    const b = await workspaceWithOwner(t, 'B');
    const bMember = await createUser(t, 'member', b.workspaceId);
    expectProblem(await a.session.patch(`/v1/members/${bMember.id}`, { role: 'viewer' }), 404);
    expectProblem(await a.session.delete(`/v1/members/${bMember.id}`), 404);
    expectProblem(await a.session.delete(`/v1/members/${b.owner.id}`), 404);
    expectProblem(await a.session.patch('/v1/members/usr_0000000000000000', { role: 'viewer' }), 404);
    expect((await roles(b.session))[bMember.email]).toBe('member');
  });
});

describe('`users create` on the CLI', () => {
  beforeAll(() => assertBuilt());

  it('makes a user who can sign in, in the default workspace or the one named', async () => {
    const env = childEnv(t.db.env);
    const email = uniqueEmail('cli');
    const password = strongPassword();
    const r = await runCli(['users', 'create', '--email', email, '--password', password, '--role', 'member'], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).not.toContain(password);
    const id = lastLine(r.stdout);
    expect(id).toMatch(/^usr_[0-9a-z]{16,}$/);
    const s = await signInAs(t.url, email, password);
    const defaultWorkspace = await t.server.services.workspaces.ensureDefault();
    expect(s.view).toMatchObject({ user: { id, email }, role: 'member', workspace: { id: defaultWorkspace.id } });

    const { workspaceId, session } = await workspaceWithOwner(t, 'Named');
    const adminEmail = uniqueEmail('cli-admin');
    const adminPassword = strongPassword();
    const r2 = await runCli(['users', 'create', '--email', adminEmail, '--password', adminPassword, '--role', 'admin', '--workspace', workspaceId], env);
    expect(r2.code, r2.stderr).toBe(0);
    expect((await roles(session))[adminEmail]).toBe('admin');
    const s2 = await signInAs(t.url, adminEmail, adminPassword);
    expect(s2.view).toMatchObject({ role: 'admin', workspace: { id: workspaceId } });
  });

  it('exits 2 with one line on stderr for a bad role, a weak password or a missing option, creating nobody', async () => {
    const env = childEnv(t.db.env);
    const cases: Array<[string, string[]]> = [
      ['a bad role', ['--role', 'superuser', '--password', strongPassword()]],
      ['a short password', ['--role', 'member', '--password', 'Sh0rt-pw9']],
      ['a common password', ['--role', 'member', '--password', 'password123']],
      ['no password', ['--role', 'member']],
      ['no role', ['--password', strongPassword()]],
    ];
    for (const [what, args] of cases) {
      const email = uniqueEmail('bad-cli');
      const r = await runCli(['users', 'create', '--email', email, ...args], env);
      expect(r.code, `${what}: ${r.stderr}`).toBe(2);
      const lines = r.stderr.split('\n').filter((l) => l.trim() !== '');
      expect(lines, what).toHaveLength(1);
      expect(lines[0], what).toMatch(/^chatsby-contacts: \S/);
      expect(r.stderr, what).not.toMatch(/\n\s+at /);
      const password = args[args.indexOf('--password') + 1] ?? 'x';
      expect((await signIn(t.url, email, password)).res.status, what).toBe(401);
    }
  });
});
