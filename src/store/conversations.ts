// Agents, visitors, conversations and their messages.
import { sql } from 'kysely';
import type { Tx } from './db.js';
import type { AgentRow, ConsentRow, ConversationRow, MessageRow, VisitorRow } from './schema.js';

export async function listAgents(db: Tx, workspaceId: string): Promise<AgentRow[]> {
  return db.selectFrom('agents').selectAll().where('workspace_id', '=', workspaceId).orderBy('created_at').orderBy('id').execute();
}

export async function getAgent(db: Tx, workspaceId: string, id: string): Promise<AgentRow | undefined> {
  return db.selectFrom('agents').selectAll().where('workspace_id', '=', workspaceId).where('id', '=', id).executeTakeFirst();
}

export async function defaultAgent(db: Tx, workspaceId: string): Promise<AgentRow | undefined> {
  return db.selectFrom('agents').selectAll().where('workspace_id', '=', workspaceId).where('is_default', '=', 1).executeTakeFirst();
}

export async function findAgentByWidgetKey(db: Tx, key: string): Promise<AgentRow | undefined> {
  return db.selectFrom('agents').selectAll().where('widget_key', '=', key).executeTakeFirst();
}

/** Whether any agent lists the origin (stored as a JSON array of origins). */
export async function anyAgentAllows(db: Tx, origin: string): Promise<boolean> {
  const rows = await db.selectFrom('agents').select('allowed_origins').where('allowed_origins', 'like', '%' + origin.replace(/[\\%_]/g, '') + '%').limit(50).execute();
  return rows.some((r) => (JSON.parse(r.allowed_origins) as string[]).includes(origin));
}

export async function insertAgent(db: Tx, row: AgentRow): Promise<void> {
  await db.insertInto('agents').values(row).execute();
}

export async function updateAgent(db: Tx, workspaceId: string, id: string, changes: Partial<AgentRow>): Promise<void> {
  await db.updateTable('agents').set(changes).where('workspace_id', '=', workspaceId).where('id', '=', id).execute();
}

export async function findVisitor(db: Tx, workspaceId: string, channel: string, externalId: string): Promise<VisitorRow | undefined> {
  return db.selectFrom('visitors').selectAll().where('workspace_id', '=', workspaceId).where('channel', '=', channel).where('external_id', '=', externalId).executeTakeFirst();
}

export async function getVisitor(db: Tx, id: string): Promise<VisitorRow | undefined> {
  return db.selectFrom('visitors').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function insertVisitor(db: Tx, row: VisitorRow): Promise<void> {
  await db.insertInto('visitors').values(row).onConflict((oc) => oc.columns(['workspace_id', 'channel', 'external_id']).doNothing()).execute();
}

export async function linkVisitor(db: Tx, visitorId: string, contactId: string): Promise<void> {
  await db.updateTable('visitors').set({ contact_id: contactId }).where('id', '=', visitorId).execute();
}

export async function moveVisitors(db: Tx, workspaceId: string, from: string, to: string): Promise<void> {
  await db.updateTable('visitors').set({ contact_id: to }).where('workspace_id', '=', workspaceId).where('contact_id', '=', from).execute();
}

/** Erasure: a contact's visitor identities (a WhatsApp number is personal data) go with it. */
export async function deleteContactVisitors(db: Tx, workspaceId: string, contactId: string): Promise<void> {
  await db.deleteFrom('visitors').where('workspace_id', '=', workspaceId).where('contact_id', '=', contactId).execute();
}

export async function insertConversation(db: Tx, row: ConversationRow): Promise<void> {
  await db.insertInto('conversations').values(row).execute();
}

export async function getConversation(db: Tx, workspaceId: string, id: string): Promise<ConversationRow | undefined> {
  return db.selectFrom('conversations').selectAll().where('workspace_id', '=', workspaceId).where('id', '=', id).executeTakeFirst();
}

export async function updateConversation(db: Tx, id: string, changes: Partial<ConversationRow>): Promise<void> {
  await db.updateTable('conversations').set(changes).where('id', '=', id).execute();
}

/** The event that records a conversation's start has an id derived from the conversation's. */
export function startedEventId(conversationId: string): string {
  return 'evt_' + conversationId.slice(conversationId.indexOf('_') + 1);
}

/**
 * Links a visitor's anonymous conversations (and this one) to the contact, with the events that
 * recorded their start, so the contact's timeline shows them.
 */
export async function linkConversations(db: Tx, workspaceId: string, visitorId: string | null, conversationId: string, contactId: string): Promise<void> {
  const rows = await db.selectFrom('conversations').select('id').where('workspace_id', '=', workspaceId)
    .where((eb) => eb.or([
      eb('id', '=', conversationId),
      ...(visitorId ? [eb.and([eb('visitor_id', '=', visitorId), eb('contact_id', 'is', null)])] : []),
    ])).execute();
  const ids = rows.map((r) => r.id);
  for (let i = 0; i < ids.length; i += 500) {
    const chunk = ids.slice(i, i + 500);
    await db.updateTable('conversations').set({ contact_id: contactId }).where('workspace_id', '=', workspaceId).where('id', 'in', chunk).execute();
    // Literal terms, matching the partial index events_anonymous_starts.
    await db.updateTable('events').set({ contact_id: contactId }).where('id', 'in', chunk.map(startedEventId))
      .where('type', '=', sql.lit('conversation.started')).where('contact_id', 'is', null).where('workspace_id', '=', workspaceId).execute();
  }
}

export async function moveConversations(db: Tx, workspaceId: string, from: string, to: string): Promise<void> {
  await db.updateTable('conversations').set({ contact_id: to }).where('workspace_id', '=', workspaceId).where('contact_id', '=', from).execute();
}

/** What a contact's recorded conversations say: how many, the first start, the last activity. */
export async function conversationSpan(db: Tx, workspaceId: string, contactId: string) {
  const row = await db.selectFrom('conversations')
    .select((eb) => [
      eb.fn.countAll<number>().as('n'),
      eb.fn.min('started_at').as('first'),
      eb.fn.max(sql<number>`coalesce(last_message_at, started_at)`).as('last'),
    ])
    .where('workspace_id', '=', workspaceId).where('contact_id', '=', contactId).executeTakeFirstOrThrow();
  return { count: Number(row.n), first: row.first === null ? null : Number(row.first), last: row.last === null ? null : Number(row.last) };
}

export async function firstConversation(db: Tx, workspaceId: string, contactId: string): Promise<ConversationRow | undefined> {
  return db.selectFrom('conversations').selectAll().where('workspace_id', '=', workspaceId).where('contact_id', '=', contactId)
    .orderBy('started_at').orderBy('id').limit(1).executeTakeFirst();
}

export interface ConversationFilter {
  contactId?: string;
  visitorId?: string;
  anonymous?: boolean;
}

/** Newest first, keyset on (started_at, id). */
export async function listConversations(db: Tx, workspaceId: string, f: ConversationFilter, after: { at: number; id: string } | null, limit: number): Promise<ConversationRow[]> {
  let q = db.selectFrom('conversations').selectAll().where('workspace_id', '=', workspaceId);
  if (f.contactId) q = q.where('contact_id', '=', f.contactId);
  if (f.visitorId) q = q.where('visitor_id', '=', f.visitorId);
  if (f.anonymous === true) q = q.where('contact_id', 'is', null);
  if (f.anonymous === false) q = q.where('contact_id', 'is not', null);
  if (after) q = q.where((eb) => eb.or([eb('started_at', '<', after.at), eb.and([eb('started_at', '=', after.at), eb('id', '<', after.id)])]));
  return q.orderBy('started_at', 'desc').orderBy('id', 'desc').limit(limit).execute();
}

export async function insertMessage(db: Tx, row: MessageRow): Promise<void> {
  await db.insertInto('messages').values(row).execute();
}

/** A transcript in time order (`at`, as the caller gave it), and in arrival order for the same time. */
export async function messagesOf(db: Tx, conversationId: string, limit: number | null = null, newestFirst = false): Promise<MessageRow[]> {
  const direction = newestFirst ? 'desc' : 'asc';
  let q = db.selectFrom('messages').selectAll().where('conversation_id', '=', conversationId).orderBy('at', direction).orderBy('seq', direction);
  if (limit !== null) q = q.limit(limit);
  return q.execute();
}

export async function insertConsent(db: Tx, row: ConsentRow): Promise<void> {
  await db.insertInto('consents').values(row).execute();
}

/** Merge: everything that hangs off a contact moves to another (conversations, visitors, notes, consents, events). */
export async function moveContactBelongings(db: Tx, workspaceId: string, from: string, to: string): Promise<void> {
  await moveConversations(db, workspaceId, from, to);
  await moveVisitors(db, workspaceId, from, to);
  await db.updateTable('notes').set({ contact_id: to }).where('workspace_id', '=', workspaceId).where('contact_id', '=', from).execute();
  await db.updateTable('consents').set({ contact_id: to }).where('workspace_id', '=', workspaceId).where('contact_id', '=', from).execute();
  await db.updateTable('events').set({ contact_id: to }).where('workspace_id', '=', workspaceId).where('contact_id', '=', from).execute();
}

/** Conversations whose last activity is before `cutoff`, oldest first (retention). */
export async function conversationsIdleBefore(db: Tx, workspaceId: string, cutoff: number, limit: number): Promise<ConversationRow[]> {
  return db.selectFrom('conversations').selectAll().where('workspace_id', '=', workspaceId)
    .where((eb) => eb.or([
      eb('last_message_at', '<', cutoff),
      eb.and([eb('last_message_at', 'is', null), eb('started_at', '<', cutoff)]),
    ]))
    .limit(limit).execute();
}

export async function deleteConversations(db: Tx, workspaceId: string, ids: string[]): Promise<void> {
  if (ids.length) await db.deleteFrom('conversations').where('workspace_id', '=', workspaceId).where('id', 'in', ids).execute();
}
