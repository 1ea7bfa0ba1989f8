import type { Tx } from './db.js';
import type { NoteRow } from './schema.js';

export async function insertNote(db: Tx, note: NoteRow): Promise<void> {
  await db.insertInto('notes').values(note).execute();
}

/** Newest first, keyset on (created_at, id). */
export async function listNotes(db: Tx, workspaceId: string, contactId: string, after: { at: number; id: string } | null, limit: number): Promise<NoteRow[]> {
  let q = db.selectFrom('notes').selectAll().where('workspace_id', '=', workspaceId).where('contact_id', '=', contactId);
  if (after) q = q.where((eb) => eb.or([eb('created_at', '<', after.at), eb.and([eb('created_at', '=', after.at), eb('id', '<', after.id)])]));
  return q.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(limit).execute();
}
