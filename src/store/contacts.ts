// Contact rows and their tags. Every function takes the workspace first and runs inside whatever
// transaction it is handed.
import { sql } from 'kysely';
import { emailKey } from '../domain/contact.js';
import { insertRows } from './bulk-insert.js';
import type { Dialect, Tx } from './db.js';
import type { ContactRow } from './schema.js';

/**
 * Writes that match people by email or phone (batches, identifies) run one after another per workspace
 * on PostgreSQL (a transaction-scoped advisory lock), so two of them holding the same new email never
 * deadlock or create the person twice; SQLite has one writer anyway.
 */
export async function serialiseMatchingWrites(db: Tx, dialect: Dialect, workspaceId: string): Promise<void> {
  if (dialect === 'postgres') await sql`SELECT pg_advisory_xact_lock(hashtextextended(${'match:' + workspaceId}, 0))`.execute(db);
}

/**
 * After a bulk write, PostgreSQL's planner may still hold the statistics of a much smaller table (autovacuum
 * analyses only after its next nap) and choose, say, a full scan for a tag filter. A fresh sample is cheap.
 * SQLite keeps no statistics here: the list store chooses its plans itself.
 */
export async function refreshStatistics(db: Tx, dialect: Dialect): Promise<void> {
  if (dialect === 'postgres') await sql`ANALYZE contacts, contact_tags`.execute(db);
}

export async function getContact(db: Tx, workspaceId: string, id: string): Promise<ContactRow | undefined> {
  return db.selectFrom('contacts').selectAll().where('workspace_id', '=', workspaceId).where('id', '=', id).executeTakeFirst();
}

export async function findByEmail(db: Tx, workspaceId: string, emailLower: string): Promise<ContactRow | undefined> {
  // The unique index leads with the folded form (store/migrations.ts, 0006).
  return db.selectFrom('contacts').selectAll().where('workspace_id', '=', workspaceId).where('email_key', '=', emailKey(emailLower))
    .where('email_lower', '=', emailLower).executeTakeFirst();
}

export async function findByPhone(db: Tx, workspaceId: string, phone: string): Promise<ContactRow | undefined> {
  return db.selectFrom('contacts').selectAll().where('workspace_id', '=', workspaceId).where('phone', '=', phone).executeTakeFirst();
}

/** Existing contacts holding any of these emails (lowercased) or phones: one query for a whole batch. */
export async function findByIdentities(db: Tx, workspaceId: string, emails: string[], phones: string[]): Promise<ContactRow[]> {
  const out: ContactRow[] = [];
  // By the folded forms the email index leads with; an address that only shares its folded form with
  // one asked for is not what was asked.
  const wanted = new Set(emails);
  const keys = [...new Set(emails.map(emailKey))];
  for (let i = 0; i < keys.length; i += 500) {
    const rows = (await db.selectFrom('contacts').selectAll().where('workspace_id', '=', workspaceId)
      .where('email_key', 'in', keys.slice(i, i + 500)).execute()) as ContactRow[];
    out.push(...rows.filter((r) => wanted.has(r.email_lower!)));
  }
  for (let i = 0; i < phones.length; i += 500) {
    out.push(...((await db.selectFrom('contacts').selectAll().where('workspace_id', '=', workspaceId)
      .where('phone', 'in', phones.slice(i, i + 500)).execute()) as ContactRow[]));
  }
  return out;
}

type NewContact = Omit<ContactRow, never>;

/**
 * Inserts new contacts. On SQLite their search-index rows follow in one statement over the rows just
 * added (their seq, the rowid, comes after every earlier one). With a trigger writing them a row at a
 * time, the inserts of an import of 200,000 rows took 9.1 s of SQLite's time; this way 5.9 s, the
 * search-index statement included (migration 0007).
 */
export async function insertContacts(db: Tx, dialect: Dialect, rows: NewContact[]): Promise<void> {
  if (!rows.length) return;
  const after = dialect === 'sqlite'
    ? (await sql<{ seq: number | null }>`SELECT max(seq) AS seq FROM contacts`.execute(db)).rows[0]!.seq ?? 0
    : 0;
  await insertRows(db, 'contacts', rows, 300); // 27 columns x 300 rows
  if (dialect === 'sqlite') {
    await sql`INSERT INTO contacts_fts (rowid, name, email, phone, words)
      SELECT seq, name_key, email_key, phone_digits, word_prefixes FROM contacts WHERE seq > ${after}`.execute(db);
  }
}

export async function updateContact(db: Tx, workspaceId: string, id: string, changes: Partial<ContactRow>): Promise<void> {
  await db.updateTable('contacts').set(changes).where('workspace_id', '=', workspaceId).where('id', '=', id).execute();
}

export async function deleteContact(db: Tx, workspaceId: string, id: string): Promise<boolean> {
  const r = await db.deleteFrom('contacts').where('workspace_id', '=', workspaceId).where('id', '=', id).executeTakeFirst();
  return Number(r.numDeletedRows) > 0;
}

/** Replaces a contact's rows in the tag index (the row's `tags` column is the list itself). */
export async function replaceTags(db: Tx, workspaceId: string, contactId: string, tags: string[], hadTags: boolean): Promise<void> {
  if (hadTags) await db.deleteFrom('contact_tags').where('contact_id', '=', contactId).execute();
  if (tags.length) {
    await db.insertInto('contact_tags').values(tags.map((tag) => ({ contact_id: contactId, tag, workspace_id: workspaceId }))).execute();
  }
}

export async function insertTagRows(db: Tx, rows: Array<{ contact_id: string; tag: string; workspace_id: string }>): Promise<void> {
  await insertRows(db, 'contact_tags', rows, 1000);
}

export async function deleteTagRows(db: Tx, contactIds: string[]): Promise<void> {
  for (let i = 0; i < contactIds.length; i += 500) {
    await db.deleteFrom('contact_tags').where('contact_id', 'in', contactIds.slice(i, i + 500)).execute();
  }
}

/** The workspace's tags in code point order, after the tag `after` when given, with their counts. */
export async function listTags(db: Tx, workspaceId: string, prefix: string | null, after: string | null, limit: number): Promise<Array<{ tag: string; count: number }>> {
  let q = db.selectFrom('contact_tags').select(['tag', (eb) => eb.fn.countAll<number>().as('count')]).where('workspace_id', '=', workspaceId);
  if (prefix) q = q.where('tag', '>=', prefix).where('tag', '<', prefix + '\u{10ffff}');
  if (after !== null) q = q.where('tag', '>', after);
  const rows = await q.groupBy('tag').orderBy('tag').limit(limit).execute();
  return rows.map((r) => ({ tag: r.tag, count: Number(r.count) }));
}

/** Archives the `count` active contacts seen longest ago; returns them as they are now. */
export async function archiveOldest(db: Tx, workspaceId: string, count: number, now: number): Promise<ContactRow[]> {
  const rows = await db.selectFrom('contacts').selectAll().where('workspace_id', '=', workspaceId).where('archived', '=', 0)
    .orderBy('last_seen').orderBy('id').limit(count).execute();
  for (let i = 0; i < rows.length; i += 500) {
    await db.updateTable('contacts').set({ archived: 1, updated_at: now }).where('workspace_id', '=', workspaceId)
      .where('id', 'in', rows.slice(i, i + 500).map((r) => r.id)).execute();
  }
  return rows.map((r) => ({ ...r, archived: 1, updated_at: now }));
}
