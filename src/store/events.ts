// The events table: the transactional outbox and the activity timeline, written in the same transaction
// as the change it records.
import { insertRows } from './bulk-insert.js';
import type { Tx } from './db.js';
import type { EventRow } from './schema.js';

export type NewEvent = Omit<EventRow, 'seq'>;

export async function appendEvents(db: Tx, events: NewEvent[]): Promise<void> {
  await insertRows(db, 'events', events, 500);
}

export async function contactTimeline(db: Tx, workspaceId: string, contactId: string, beforeSeq: number | null, limit: number) {
  let q = db.selectFrom('events').selectAll().where('workspace_id', '=', workspaceId).where('contact_id', '=', contactId);
  if (beforeSeq !== null) q = q.where('seq', '<', beforeSeq);
  return q.orderBy('seq', 'desc').limit(limit).execute();
}

/** Erasure: the person's events go; what remains is the single `contact.deleted` record. */
export async function deleteContactEvents(db: Tx, workspaceId: string, contactId: string): Promise<void> {
  await db.deleteFrom('events').where('workspace_id', '=', workspaceId).where('contact_id', '=', contactId).execute();
}
