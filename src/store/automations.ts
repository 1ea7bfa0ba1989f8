import type { Tx } from './db.js';
import type { AutomationRow } from './schema.js';

export async function listAutomations(db: Tx, workspaceId: string, enabledOnly = false): Promise<AutomationRow[]> {
  let q = db.selectFrom('automations').selectAll().where('workspace_id', '=', workspaceId);
  if (enabledOnly) q = q.where('enabled', '=', 1);
  return q.orderBy('created_at').orderBy('id').execute();
}

export async function getAutomation(db: Tx, workspaceId: string, id: string): Promise<AutomationRow | undefined> {
  return db.selectFrom('automations').selectAll().where('workspace_id', '=', workspaceId).where('id', '=', id).executeTakeFirst();
}

export async function insertAutomations(db: Tx, rows: AutomationRow[]): Promise<void> {
  if (rows.length) await db.insertInto('automations').values(rows).execute();
}

export async function updateAutomation(db: Tx, workspaceId: string, id: string, changes: Partial<AutomationRow>): Promise<void> {
  await db.updateTable('automations').set(changes).where('workspace_id', '=', workspaceId).where('id', '=', id).execute();
}

export async function deleteAutomation(db: Tx, workspaceId: string, id: string): Promise<boolean> {
  const r = await db.deleteFrom('automations').where('workspace_id', '=', workspaceId).where('id', '=', id).executeTakeFirst();
  return Number(r.numDeletedRows) > 0;
}

/** Marks the workspace seeded; false when another writer did it first. */
export async function claimSeeding(db: Tx, workspaceId: string): Promise<boolean> {
  const r = await db.updateTable('workspaces').set({ automations_seeded: 1 }).where('id', '=', workspaceId).where('automations_seeded', '=', 0).executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}
