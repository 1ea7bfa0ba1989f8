// The contact limit of a workspace's plan: over it, new people are still captured and the ones seen
// longest ago are archived (hidden from the default list, kept, restorable once there is room).
import type { Actor } from '../domain/access.js';
import { limitsOf } from '../domain/plans.js';
import type { Tx } from '../store/db.js';
import * as contacts from '../store/contacts.js';
import type { NewEvent } from '../store/events.js';
import type { WorkspaceRow } from '../store/schema.js';
import { countWorkspaceContacts } from '../store/workspaces.js';
import { contactEvent } from './contact-rows.js';

const SYSTEM: Actor = { type: 'system', id: null, name: 'plan limit' };

/** Archives what is over the limit; the `contact.archived` events to append in the same transaction. */
export async function enforceContactLimit(trx: Tx, ws: WorkspaceRow, now: number): Promise<NewEvent[]> {
  const limit = limitsOf(ws).contacts;
  if (limit === null) return [];
  const active = await countWorkspaceContacts(trx, ws.id, false);
  if (active <= limit) return [];
  const archived = await contacts.archiveOldest(trx, ws.id, active - limit, now);
  return archived.map((row) => contactEvent('contact.archived', row, SYSTEM, now));
}

/** Whether one more active contact fits. */
export async function hasRoom(trx: Tx, ws: WorkspaceRow): Promise<boolean> {
  const limit = limitsOf(ws).contacts;
  return limit === null || (await countWorkspaceContacts(trx, ws.id, false)) < limit;
}
