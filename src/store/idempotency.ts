// Stored first responses of POSTs sent with an Idempotency-Key, kept 24 hours.
import type { Tx } from './db.js';
import type { IdempotencyRow } from './schema.js';

export async function findIdempotent(db: Tx, principal: string, key: string): Promise<IdempotencyRow | undefined> {
  return db.selectFrom('idempotency_keys').selectAll().where('principal', '=', principal).where('idem_key', '=', key).executeTakeFirst();
}

/** Claims the key; false when another request holds it already. */
export async function claimIdempotent(db: Tx, row: IdempotencyRow): Promise<boolean> {
  const r = await db.insertInto('idempotency_keys').values(row).onConflict((oc) => oc.doNothing()).executeTakeFirst();
  return Number(r.numInsertedOrUpdatedRows ?? 0) > 0;
}

export async function completeIdempotent(db: Tx, principal: string, key: string, status: number, body: string | null, contactId: string | null): Promise<void> {
  await db.updateTable('idempotency_keys').set({ status_code: status, response_body: body, contact_id: contactId })
    .where('principal', '=', principal).where('idem_key', '=', key).execute();
}

export async function releaseIdempotent(db: Tx, principal: string, key: string): Promise<void> {
  await db.deleteFrom('idempotency_keys').where('principal', '=', principal).where('idem_key', '=', key).execute();
}

export async function purgeIdempotentBefore(db: Tx, before: number): Promise<void> {
  await db.deleteFrom('idempotency_keys').where('created_at', '<', before).execute();
}

/** Erasure: stored responses that carry the person go with them. */
export async function purgeIdempotentForContact(db: Tx, workspaceId: string, contactId: string): Promise<void> {
  await db.deleteFrom('idempotency_keys').where('workspace_id', '=', workspaceId).where('contact_id', '=', contactId).execute();
}
