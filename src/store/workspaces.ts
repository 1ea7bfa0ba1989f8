import type { Tx } from './db.js';
import type { WorkspaceRow } from './schema.js';

export async function getWorkspace(db: Tx, id: string): Promise<WorkspaceRow | undefined> {
  return db.selectFrom('workspaces').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function getDefaultWorkspace(db: Tx): Promise<WorkspaceRow | undefined> {
  return db.selectFrom('workspaces').selectAll().where('is_default', '=', 1).executeTakeFirst();
}

export async function insertWorkspace(db: Tx, row: WorkspaceRow): Promise<void> {
  await db.insertInto('workspaces').values(row).execute();
}

export async function updateWorkspace(db: Tx, id: string, changes: Partial<WorkspaceRow>): Promise<void> {
  await db.updateTable('workspaces').set(changes).where('id', '=', id).execute();
}

export async function countWorkspaceContacts(db: Tx, id: string, archived: boolean | null): Promise<number> {
  let q = db.selectFrom('contacts').select((eb) => eb.fn.countAll<number>().as('n')).where('workspace_id', '=', id);
  if (archived !== null) q = q.where('archived', '=', archived ? 1 : 0);
  return Number((await q.executeTakeFirstOrThrow()).n);
}

export async function listWorkspaces(db: Tx): Promise<WorkspaceRow[]> {
  return db.selectFrom('workspaces').selectAll().orderBy('id').execute();
}
