// Users, their memberships in workspaces, sign-in sessions and the one-time setup tokens.
import { sql } from 'kysely';
import type { Tx } from './db.js';
import type { MembershipRow, Role, SessionRow, UserRow } from './schema.js';

export async function findUserByEmail(db: Tx, emailLower: string): Promise<UserRow | undefined> {
  return db.selectFrom('users').selectAll().where('email_lower', '=', emailLower).executeTakeFirst();
}

export async function getUser(db: Tx, id: string): Promise<UserRow | undefined> {
  return db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function insertUser(db: Tx, row: UserRow): Promise<void> {
  await db.insertInto('users').values(row).execute();
}

export async function insertMembership(db: Tx, row: MembershipRow): Promise<void> {
  await db.insertInto('memberships').values(row).execute();
}

export async function getMembership(db: Tx, workspaceId: string, userId: string): Promise<MembershipRow | undefined> {
  return db.selectFrom('memberships').selectAll().where('workspace_id', '=', workspaceId).where('user_id', '=', userId).executeTakeFirst();
}

/** The workspace a user lands in at sign-in: the oldest membership. */
export async function firstMembership(db: Tx, userId: string): Promise<MembershipRow | undefined> {
  return db.selectFrom('memberships').selectAll().where('user_id', '=', userId).orderBy('created_at').orderBy('workspace_id').executeTakeFirst();
}

export async function listMembers(db: Tx, workspaceId: string) {
  return db.selectFrom('memberships as m').innerJoin('users as u', 'u.id', 'm.user_id')
    .select(['u.id', 'u.email', 'm.role', 'm.created_at']).where('m.workspace_id', '=', workspaceId)
    .orderBy('m.created_at').orderBy('u.id').execute();
}

export async function setRole(db: Tx, workspaceId: string, userId: string, role: Role): Promise<void> {
  await db.updateTable('memberships').set({ role }).where('workspace_id', '=', workspaceId).where('user_id', '=', userId).execute();
}

export async function deleteMembership(db: Tx, workspaceId: string, userId: string): Promise<void> {
  await db.deleteFrom('memberships').where('workspace_id', '=', workspaceId).where('user_id', '=', userId).execute();
  await db.deleteFrom('sessions').where('workspace_id', '=', workspaceId).where('user_id', '=', userId).execute();
}

/** Owners of a workspace, locked against a concurrent demotion on PostgreSQL. */
export async function countOwners(db: Tx, workspaceId: string, lock: boolean): Promise<number> {
  if (lock) {
    const rows = await sql<{ user_id: string }>`SELECT user_id FROM memberships WHERE workspace_id = ${workspaceId} AND role = 'owner' FOR UPDATE`.execute(db);
    return rows.rows.length;
  }
  const row = await db.selectFrom('memberships').select((eb) => eb.fn.countAll<number>().as('n'))
    .where('workspace_id', '=', workspaceId).where('role', '=', 'owner').executeTakeFirstOrThrow();
  return Number(row.n);
}

export async function anyOwner(db: Tx): Promise<boolean> {
  return Boolean(await db.selectFrom('memberships').select('user_id').where('role', '=', 'owner').limit(1).executeTakeFirst());
}

export async function insertSession(db: Tx, row: SessionRow): Promise<void> {
  await db.insertInto('sessions').values(row).execute();
}

export async function findSession(db: Tx, idHash: string): Promise<SessionRow | undefined> {
  return db.selectFrom('sessions').selectAll().where('id_hash', '=', idHash).executeTakeFirst();
}

export async function touchSession(db: Tx, idHash: string, at: number): Promise<void> {
  await db.updateTable('sessions').set({ last_active_at: at }).where('id_hash', '=', idHash).execute();
}

export async function deleteSession(db: Tx, idHash: string): Promise<void> {
  await db.deleteFrom('sessions').where('id_hash', '=', idHash).execute();
}

export async function deleteExpiredSessions(db: Tx, activeAfter: number, now: number): Promise<void> {
  await db.deleteFrom('sessions').where((eb) => eb.or([eb('last_active_at', '<', activeAfter), eb('expires_at', '<', now)])).execute();
}

export async function insertSetupToken(db: Tx, tokenHash: string, expiresAt: number): Promise<void> {
  await db.insertInto('setup_tokens').values({ token_hash: tokenHash, expires_at: expiresAt, used_at: null }).execute();
}

/** Marks a live token used; false when it is unknown, used or expired. */
export async function useSetupToken(db: Tx, tokenHash: string, now: number): Promise<boolean> {
  const r = await db.updateTable('setup_tokens').set({ used_at: now }).where('token_hash', '=', tokenHash)
    .where('used_at', 'is', null).where('expires_at', '>', now).executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}
