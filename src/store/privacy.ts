// Erasure receipts, suppression hashes and the counts an erasure reports.
import type { Tx } from './db.js';
import type { ErasureReceiptRow } from './schema.js';

export async function addSuppressions(db: Tx, workspaceId: string, hashes: string[], now: number): Promise<void> {
  if (!hashes.length) return;
  await db.insertInto('suppressions').values(hashes.map((identity_hash) => ({ workspace_id: workspaceId, identity_hash, created_at: now })))
    .onConflict((oc) => oc.columns(['workspace_id', 'identity_hash']).doNothing()).execute();
}

/** Whether the workspace has erased anyone (most have not: their batches need no identity hashes). */
export async function hasSuppressions(db: Tx, workspaceId: string): Promise<boolean> {
  return (await db.selectFrom('suppressions').select('identity_hash').where('workspace_id', '=', workspaceId).limit(1).executeTakeFirst()) !== undefined;
}

export async function findSuppressed(db: Tx, workspaceId: string, hashes: string[]): Promise<Set<string>> {
  const out = new Set<string>();
  for (let i = 0; i < hashes.length; i += 500) {
    const rows = await db.selectFrom('suppressions').select('identity_hash').where('workspace_id', '=', workspaceId)
      .where('identity_hash', 'in', hashes.slice(i, i + 500)).execute();
    rows.forEach((r) => out.add(r.identity_hash));
  }
  return out;
}

export async function insertReceipt(db: Tx, row: ErasureReceiptRow): Promise<void> {
  await db.insertInto('erasure_receipts').values(row).execute();
}

export async function listReceipts(db: Tx, workspaceId: string, before: { at: number; id: string } | null, limit: number): Promise<ErasureReceiptRow[]> {
  let q = db.selectFrom('erasure_receipts').selectAll().where('workspace_id', '=', workspaceId);
  if (before) q = q.where((eb) => eb.or([eb('erased_at', '<', before.at), eb.and([eb('erased_at', '=', before.at), eb('id', '<', before.id)])]));
  return q.orderBy('erased_at', 'desc').orderBy('id', 'desc').limit(limit).execute();
}

/** How many rows of each kind hold the person: what the receipt says was removed. */
export async function countPersonalRows(db: Tx, workspaceId: string, contactId: string): Promise<Record<string, number>> {
  const count = async (q: Promise<{ n: number | string | bigint } | undefined>) => Number((await q)?.n ?? 0);
  const conversations = db.selectFrom('conversations').where('workspace_id', '=', workspaceId).where('contact_id', '=', contactId);
  return {
    conversations: await count(conversations.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirst()),
    messages: await count(db.selectFrom('messages').where('conversation_id', 'in', conversations.select('id')).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirst()),
    notes: await count(db.selectFrom('notes').where('workspace_id', '=', workspaceId).where('contact_id', '=', contactId).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirst()),
    consents: await count(db.selectFrom('consents').where('workspace_id', '=', workspaceId).where('contact_id', '=', contactId).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirst()),
    identities: await count(db.selectFrom('visitors').where('workspace_id', '=', workspaceId).where('contact_id', '=', contactId).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirst()),
    events: await count(db.selectFrom('events').where('workspace_id', '=', workspaceId).where('contact_id', '=', contactId).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirst()),
  };
}
