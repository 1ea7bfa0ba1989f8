// The GDPR access request (Article 15): one JSON document with everything held about a person.
// DATA_EXPORT_COVERS names every table and what it holds of a person; a test fails when a table is
// added without a line here, so the document cannot silently fall behind the schema.
import type { Principal } from '../domain/access.js';
import { NotFound } from '../domain/errors.js';
import { toIso } from '../domain/time.js';
import { getContact } from '../store/contacts.js';
import * as convs from '../store/conversations.js';
import { contactTimeline } from '../store/events.js';
import { listNotes } from '../store/notes.js';
import { presentContact } from './contact-view.js';
import { conversationView } from './conversations.js';
import type { ServiceDeps } from './deps.js';

/** Every table: `exported` when the document carries its rows of the person, else why it holds none. */
export const DATA_EXPORT_COVERS: Record<string, { exported: true } | { exported: false; why: string }> = {
  contacts: { exported: true },
  contact_tags: { exported: true },
  notes: { exported: true },
  events: { exported: true },
  conversations: { exported: true },
  messages: { exported: true },
  visitors: { exported: true },
  consents: { exported: true },
  workspaces: { exported: false, why: 'the business, not the person' },
  users: { exported: false, why: 'team members who sign in, not contacts' },
  memberships: { exported: false, why: 'team members who sign in, not contacts' },
  sessions: { exported: false, why: 'team members who sign in, not contacts' },
  api_keys: { exported: false, why: 'programs, not people' },
  agents: { exported: false, why: 'the business\'s agents' },
  automations: { exported: false, why: 'the business\'s rules' },
  idempotency_keys: { exported: false, why: 'stored answers are copies of what the API already gave; erased with the person' },
  jobs: { exported: false, why: 'work queue, no personal data' },
  exports: { exported: false, why: 'files of many people, expiring; not built yet' },
  imports: { exported: false, why: 'files of many people; not built yet' },
  webhook_endpoints: { exported: false, why: 'the business\'s receivers' },
  deliveries: { exported: false, why: 'delivery log by event, no payloads kept' },
  suppressions: { exported: false, why: 'only a hash, kept after erasure' },
  erasure_receipts: { exported: false, why: 'no personal data by design' },
  setup_tokens: { exported: false, why: 'operator setup' },
  rate_buckets: { exported: false, why: 'keyed hashes, minutes long' },
  kysely_migration: { exported: false, why: 'schema bookkeeping' },
  kysely_migration_lock: { exported: false, why: 'schema bookkeeping' },
};

export function createDataExportService({ store, clock }: ServiceDeps) {
  return {
    async export(p: Principal, contactId: string) {
      const row = await getContact(store.db, p.workspaceId, contactId);
      if (!row) throw new NotFound('contact');
      const conversations = [];
      for (const c of await convs.listConversations(store.db, p.workspaceId, { contactId }, null, 100_000)) {
        const visitor = c.visitor_id ? await convs.getVisitor(store.db, c.visitor_id) : undefined;
        conversations.push(conversationView(c, visitor?.external_id ?? null, await convs.messagesOf(store.db, c.id)));
      }
      const visitors = await store.db.selectFrom('visitors').select(['channel', 'external_id', 'first_seen']).where('workspace_id', '=', p.workspaceId).where('contact_id', '=', contactId).execute();
      const consents = await store.db.selectFrom('consents').select(['given', 'channel', 'wording', 'at']).where('workspace_id', '=', p.workspaceId).where('contact_id', '=', contactId).orderBy('at').execute();
      const events = await contactTimeline(store.db, p.workspaceId, contactId, null, 100_000);
      const notes = await listNotes(store.db, p.workspaceId, contactId, null, 100_000);
      return {
        exported_at: toIso(clock.now()),
        contact: presentContact(row),
        identities: visitors.map((v) => ({ channel: v.channel, visitor_id: v.external_id, first_seen: toIso(v.first_seen) })),
        conversations,
        notes: notes.map((n) => ({ id: n.id, body: n.body, created_at: toIso(n.created_at) })),
        consents: consents.map((c) => ({ given: c.given === 1, channel: c.channel, wording: c.wording, at: toIso(c.at) })),
        timeline: events.map((e) => ({ id: e.id, type: e.type, occurred_at: toIso(e.occurred_at), data: JSON.parse(e.data) as unknown })),
      };
    },
  };
}

export type DataExportService = ReturnType<typeof createDataExportService>;
