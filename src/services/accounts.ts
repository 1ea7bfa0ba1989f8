// People: users and their roles in a workspace, sign-in sessions, the first-run setup, and members.
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { isOwner, isRole, type Principal, type Role } from '../domain/access.js';
import { Conflict, Forbidden, Gone, Invalid, NotFound, Unauthorized } from '../domain/errors.js';
import { newId } from '../domain/ids.js';
import { normaliseEmail } from '../domain/contact.js';
import { toIso } from '../domain/time.js';
import * as accounts from '../store/accounts.js';
import type { UserRow, WorkspaceRow } from '../store/schema.js';
import { updateWorkspace } from '../store/workspaces.js';
import type { ServiceDeps } from './deps.js';
import { checkPasswordPolicy, decoyHash, hashPassword, verifyPassword } from './passwords.js';
import type { WorkspaceService } from './workspaces.js';
import type { Page } from './contacts.js';
import { pageOfWhole } from './cursors.js';

export const SESSION_ABSOLUTE_MS = 30 * 24 * 3600_000;
export const SETUP_TOKEN_MS = 3600_000;
const TOUCH_EVERY_MS = 60_000;

export interface MemberView {
  id: string;
  email: string;
  role: Role;
  created_at: string;
}

export interface SessionView {
  user: { id: string; email: string };
  workspace: { id: string; name: string };
  role: Role;
  csrf_token: string;
}

function sha256(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}

function cleanEmail(email: string): string {
  const e = email.trim();
  if (!e || e.length > 254 || e.includes('\u0000') || normaliseEmail(e) === null) throw Invalid.field('email', 'is not a valid email address');
  return e;
}

export function createAccountService(deps: ServiceDeps, workspaces: WorkspaceService) {
  const { store, clock } = deps;
  // The CSRF token is derived from the session id (which only the HttpOnly cookie holds), so every
  // process computes the same token and nothing beside the session's hash is stored.
  const csrfFor = (sessionId: string) => createHmac('sha256', 'chatsby-csrf').update(sessionId).digest('base64url');
  // When each session was last used, as this process saw it: the stored time is written at most every
  // TOUCH_EVERY_MS (or a tenth of the idle window), so the idle check takes the later of the two.
  const seen = new Map<string, number>();

  async function addUser(workspaceId: string, email: string, password: string | null, role: Role): Promise<{ user: UserRow; role: Role; created: Date }> {
    const clean = cleanEmail(email);
    const now = clock.now();
    const existing = await accounts.findUserByEmail(store.db, clean.toLowerCase());
    let user = existing;
    if (!existing) {
      if (password === null) throw Invalid.field('password', 'is required for a new user');
      await checkPasswordPolicy(password);
    }
    const passwordHash = existing ? null : await hashPassword(password!);
    await store.transaction(async (trx) => {
      if (!user) {
        user = { id: newId('user'), email: clean, email_lower: clean.toLowerCase(), password_hash: passwordHash!, created_at: now, updated_at: now };
        await accounts.insertUser(trx, user);
      }
      if (await accounts.getMembership(trx, workspaceId, user.id)) throw new Conflict('This user is a member already');
      await accounts.insertMembership(trx, { workspace_id: workspaceId, user_id: user.id, role, created_at: now });
    });
    return { user: user!, role, created: new Date(now) };
  }

  async function openSession(user: UserRow, workspace: WorkspaceRow, role: Role): Promise<{ sessionId: string; view: SessionView }> {
    // A new random id at every sign-in; only its hash is stored.
    const sessionId = randomBytes(32).toString('base64url');
    const now = clock.now();
    await store.transaction((trx) => accounts.insertSession(trx, {
      id_hash: sha256(sessionId), user_id: user.id, workspace_id: workspace.id, created_at: now, last_active_at: now,
      expires_at: now + SESSION_ABSOLUTE_MS,
    }));
    return { sessionId, view: { user: { id: user.id, email: user.email }, workspace: { id: workspace.id, name: workspace.name }, role, csrf_token: csrfFor(sessionId) } };
  }

  return {
    csrfFor,

    checkCsrf(sessionId: string, token: unknown): boolean {
      if (typeof token !== 'string') return false;
      const want = Buffer.from(csrfFor(sessionId));
      const got = Buffer.from(token);
      return got.length === want.length && timingSafeEqual(got, want);
    },

    /** CLI: a user with a role in a workspace (the default one unless named). */
    async createUser(email: string, password: string, role: string, workspaceId: string | null) {
      if (!isRole(role)) throw Invalid.field('role', 'must be owner, admin, member or viewer');
      const ws = workspaceId ? await workspaces.get(workspaceId) : await workspaces.ensureDefault();
      const { user } = await addUser(ws.id, email, password, role);
      return { user, workspace: ws };
    },

    /** Signs in: one and the same 401 for an unknown email and a wrong password, in the same time. */
    async signIn(email: string, password: string): Promise<{ sessionId: string; view: SessionView }> {
      const user = typeof email === 'string' && email.length <= 254 ? await accounts.findUserByEmail(store.db, email.trim().toLowerCase()) : undefined;
      const ok = await verifyPassword(user?.password_hash ?? (await decoyHash()), password);
      const membership = user && ok ? await accounts.firstMembership(store.db, user.id) : undefined;
      if (!user || !ok || !membership) throw new Unauthorized('Wrong email or password');
      const ws = await workspaces.get(membership.workspace_id);
      return openSession(user, ws, membership.role);
    },

    /** The principal of a session cookie, or null when it is unknown, expired or idle too long. */
    async authenticateSession(sessionId: string): Promise<Principal | null> {
      if (sessionId.length > 200) return null;
      const idHash = sha256(sessionId);
      const session = await accounts.findSession(store.db, idHash);
      const now = clock.now();
      if (!session) return null;
      const lastUsed = Math.max(session.last_active_at, seen.get(idHash) ?? 0);
      if (session.expires_at <= now || lastUsed + deps.sessionIdleMs <= now) {
        seen.delete(idHash);
        await store.transaction((trx) => accounts.deleteSession(trx, idHash));
        return null;
      }
      const [user, membership] = await Promise.all([
        accounts.getUser(store.db, session.user_id),
        accounts.getMembership(store.db, session.workspace_id, session.user_id),
      ]);
      if (!user || !membership) return null;
      seen.set(idHash, now);
      if (now - session.last_active_at >= Math.min(TOUCH_EVERY_MS, deps.sessionIdleMs / 10)) {
        await store.transaction((trx) => accounts.touchSession(trx, idHash, now));
      }
      return { kind: 'user', workspaceId: session.workspace_id, userId: user.id, email: user.email, role: membership.role, sessionHash: idHash };
    },

    async sessionView(p: Principal, sessionId: string): Promise<SessionView> {
      if (p.kind !== 'user') throw new Unauthorized('Not signed in');
      const ws = await workspaces.get(p.workspaceId);
      return { user: { id: p.userId, email: p.email }, workspace: { id: ws.id, name: ws.name }, role: p.role, csrf_token: csrfFor(sessionId) };
    },

    async signOut(p: Principal): Promise<void> {
      if (p.kind !== 'user') throw new Unauthorized('Not signed in');
      seen.delete(p.sessionHash);
      await store.transaction((trx) => accounts.deleteSession(trx, p.sessionHash));
    },

    async purgeExpiredSessions(): Promise<void> {
      const now = clock.now();
      for (const [k, at] of seen) if (at + deps.sessionIdleMs <= now) seen.delete(k);
      await store.transaction((trx) => accounts.deleteExpiredSessions(trx, now - deps.sessionIdleMs, now));
    },

    async setupNeeded(): Promise<boolean> {
      return !(await accounts.anyOwner(store.db));
    },

    /** A fresh one-time setup token (valid one hour) while no owner exists; null once one does. */
    async issueSetupToken(): Promise<string | null> {
      if (!(await this.setupNeeded())) return null;
      const token = randomBytes(24).toString('base64url');
      await store.transaction((trx) => accounts.insertSetupToken(trx, sha256(token), clock.now() + SETUP_TOKEN_MS));
      return token;
    },

    /** First run: the owner of the default workspace, named here, with the printed token. */
    async setup(token: string, email: string, password: string, workspaceName: string): Promise<{ sessionId: string; view: SessionView }> {
      if (!(await this.setupNeeded())) throw new Gone('Setup is done: an owner exists. Sign in instead.');
      const name = workspaceName.trim();
      if (!name || name.length > 200 || name.includes('\u0000')) throw Invalid.field('workspace_name', 'must be 1 to 200 characters');
      const clean = cleanEmail(email);
      await checkPasswordPolicy(password);
      const ws = await workspaces.ensureDefault();
      const passwordHash = await hashPassword(password);
      const now = clock.now();
      const user: UserRow = { id: newId('user'), email: clean, email_lower: clean.toLowerCase(), password_hash: passwordHash, created_at: now, updated_at: now };
      await store.transaction(async (trx) => {
        if (await accounts.anyOwner(trx)) throw new Gone('Setup is done: an owner exists. Sign in instead.');
        if (!(await accounts.useSetupToken(trx, sha256(token), now))) throw new Forbidden('The setup token is wrong, used or expired; restart the server for a new link');
        const existing = await accounts.findUserByEmail(trx, user.email_lower);
        // An existing user becomes the owner only with their own password.
        if (existing && !(await verifyPassword(existing.password_hash, password))) {
          throw new Conflict('This email belongs to a user already: give that user\'s password, or another email');
        }
        const owner = existing ?? user;
        if (!existing) await accounts.insertUser(trx, user);
        if (await accounts.getMembership(trx, ws.id, owner.id)) await accounts.setRole(trx, ws.id, owner.id, 'owner');
        else await accounts.insertMembership(trx, { workspace_id: ws.id, user_id: owner.id, role: 'owner', created_at: now });
        await updateWorkspace(trx, ws.id, { name, updated_at: now });
      });
      const owner = (await accounts.findUserByEmail(store.db, user.email_lower))!;
      return openSession(owner, { ...ws, name }, 'owner');
    },

    async listMembers(p: Principal, limit?: unknown, cursor?: unknown): Promise<Page<MemberView>> {
      const rows = await accounts.listMembers(store.db, p.workspaceId);
      return pageOfWhole(rows, (m) => ({ at: m.created_at, id: m.id }), 'asc', limit, cursor, (m): MemberView => ({ id: m.id, email: m.email, role: m.role, created_at: toIso(m.created_at) }));
    },

    async addMember(p: Principal, email: string, role: string, password: string | null): Promise<MemberView> {
      if (!isRole(role)) throw Invalid.field('role', 'must be owner, admin, member or viewer');
      if (role === 'owner' && !isOwner(p)) throw new Forbidden('Only an owner can make owners');
      const { user, created } = await addUser(p.workspaceId, email, password, role);
      return { id: user.id, email: user.email, role, created_at: created.toISOString() };
    },

    async changeRole(p: Principal, userId: string, role: string): Promise<MemberView> {
      if (!isRole(role)) throw Invalid.field('role', 'must be owner, admin, member or viewer');
      const result = await store.transaction(async (trx) => {
        const m = await accounts.getMembership(trx, p.workspaceId, userId);
        if (!m) throw new NotFound('member');
        if ((m.role === 'owner' || role === 'owner') && !isOwner(p)) throw new Forbidden('Only an owner can change an owner, or make one');
        if (m.role === 'owner' && role !== 'owner' && (await accounts.countOwners(trx, p.workspaceId, store.dialect === 'postgres')) <= 1) {
          throw new Conflict('The last owner cannot be demoted: make another owner first');
        }
        await accounts.setRole(trx, p.workspaceId, userId, role);
        return m;
      });
      const user = (await accounts.getUser(store.db, userId))!;
      return { id: user.id, email: user.email, role, created_at: toIso(result.created_at) };
    },

    async removeMember(p: Principal, userId: string): Promise<void> {
      await store.transaction(async (trx) => {
        const m = await accounts.getMembership(trx, p.workspaceId, userId);
        if (!m) throw new NotFound('member');
        if (m.role === 'owner' && !isOwner(p)) throw new Forbidden('Only an owner can remove an owner');
        if (m.role === 'owner' && (await accounts.countOwners(trx, p.workspaceId, store.dialect === 'postgres')) <= 1) {
          throw new Conflict('The last owner cannot leave: make another owner first');
        }
        await accounts.deleteMembership(trx, p.workspaceId, userId);
      });
    },
  };
}

export type AccountService = ReturnType<typeof createAccountService>;
