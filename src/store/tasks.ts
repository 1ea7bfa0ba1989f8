// Exports and imports: long-running tasks a user starts and then watches. Both tables share the lookups.
import type { Kysely } from 'kysely';
import type { Tx } from './db.js';
import type { ExportRow, ImportRow } from './schema.js';

type TaskTable = 'exports' | 'imports';
type RowOf<T extends TaskTable> = T extends 'exports' ? ExportRow : ImportRow;
// Both tables seen through their shared columns, so one query serves either.
type TaskDb = Kysely<Record<TaskTable, ExportRow & ImportRow>>;
const tasks = (db: Tx) => db as unknown as TaskDb;

export async function insertTask<T extends TaskTable>(db: Tx, table: T, row: RowOf<T>): Promise<void> {
  await tasks(db).insertInto(table as 'exports').values(row as unknown as ExportRow & ImportRow).execute();
}

export async function getTask<T extends TaskTable>(db: Tx, table: T, workspaceId: string | null, id: string): Promise<RowOf<T> | undefined> {
  let q = tasks(db).selectFrom(table as 'exports').selectAll().where('id', '=', id);
  if (workspaceId !== null) q = q.where('workspace_id', '=', workspaceId);
  return (await q.executeTakeFirst());
}

export async function updateTask<T extends TaskTable>(db: Tx, table: T, id: string, changes: Partial<RowOf<T>>): Promise<void> {
  await tasks(db).updateTable(table as 'exports').set(changes as Partial<ExportRow & ImportRow>).where('id', '=', id).execute();
}

/** Newest first, keyset on (created_at, id). */
export async function listTasks<T extends TaskTable>(
  db: Tx, table: T, workspaceId: string, before: { at: number; id: string } | null, limit: number,
): Promise<Array<RowOf<T>>> {
  let q = tasks(db).selectFrom(table as 'exports').selectAll().where('workspace_id', '=', workspaceId);
  if (before) q = q.where((eb) => eb.or([eb('created_at', '<', before.at), eb.and([eb('created_at', '=', before.at), eb('id', '<', before.id)])]));
  return (await q.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(limit).execute());
}

/** Exports completed at or before `completedBy` (their window has closed) whose file is still on disk. */
export async function exportsWithExpiredFiles(db: Tx, completedBy: number): Promise<ExportRow[]> {
  return db.selectFrom('exports').selectAll().where('status', '=', 'completed').where('completed_at', '<=', completedBy)
    .where('file_deleted_at', 'is', null).limit(500).execute();
}

/** A workspace's tasks created before `before`, past their history window. */
export async function tasksCreatedBefore<T extends TaskTable>(db: Tx, table: T, workspaceId: string, before: number): Promise<Array<RowOf<T>>> {
  return (await tasks(db).selectFrom(table as 'exports').selectAll().where('workspace_id', '=', workspaceId).where('created_at', '<', before)
    .where('status', 'in', ['completed', 'failed']).orderBy('created_at', 'desc').limit(500).execute());
}

export async function deleteTasks(db: Tx, table: TaskTable, ids: string[]): Promise<void> {
  if (ids.length) await tasks(db).deleteFrom(table as 'exports').where('id', 'in', ids).execute();
}

export async function workspacesWithTasks(db: Tx, table: TaskTable): Promise<string[]> {
  return (await tasks(db).selectFrom(table as 'exports').select('workspace_id').distinct().execute()).map((r) => r.workspace_id);
}

/** A workspace's completed exports whose file is still on disk. */
export async function liveExportFiles(db: Tx, workspaceId: string): Promise<ExportRow[]> {
  return db.selectFrom('exports').selectAll().where('workspace_id', '=', workspaceId).where('status', '=', 'completed')
    .where('file_deleted_at', 'is', null).where('file_path', 'is not', null).execute();
}
