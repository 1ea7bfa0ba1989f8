// Contact use cases. Each write is one transaction: the rows, the tag index and the event that records
// the change commit together or not at all.
import { actorOf, type Actor, type Principal } from '../domain/access.js';
import { type ContactInput, LIMITS, normaliseContactInput } from '../domain/contact.js';
import {
  type Cursor, decodeCursor, encodeCursor, type FilterInput, isIdText, parseFilter, parseLimit, parseSort,
} from '../domain/contact-query.js';
import { Conflict, Invalid, NotFound } from '../domain/errors.js';
import { limitsOf } from '../domain/plans.js';
import { identityHashes, SUPPRESSED_REASON } from '../domain/privacy.js';
import { newId } from '../domain/ids.js';
import { toIso } from '../domain/time.js';
import { isUniqueViolation, type Tx } from '../store/db.js';
import { countContacts, listContacts, sortKey } from '../store/contact-list.js';
import * as contacts from '../store/contacts.js';
import { conversationSpan, deleteContactVisitors, insertConsent } from '../store/conversations.js';
import * as events from '../store/events.js';
import { purgeIdempotentForContact } from '../store/idempotency.js';
import * as notes from '../store/notes.js';
import * as privacy from '../store/privacy.js';
import type { ContactRow, WorkspaceRow } from '../store/schema.js';
import { getWorkspace } from '../store/workspaces.js';
import { type ContactView, presentContact } from './contact-view.js';
import {
  applyBaseline, applyPatch, NO_CONVERSATIONS, consentChange, contactEvent, diff, newRow, noteView, prepareBatch, type PreparedBatch, requireIdentity,
} from './contact-rows.js';
import { decodeNewestFirst, decodeSimpleCursor, encodeSimpleCursor, newestFirstPage } from './cursors.js';
import type { AutomationService } from './automations.js';
import type { ServiceDeps } from './deps.js';
import { enforceContactLimit, hasRoom } from './plan-limits.js';

export interface Page<T> {
  data: T[];
  has_more: boolean;
  next_cursor: string | null;
}

export interface NoteView {
  id: string;
  body: string;
  author: Actor;
  created_at: string;
}

export interface TimelineEntry {
  id: string;
  type: string;
  occurred_at: string;
  actor: Actor | null;
  data: unknown;
}

/** The migration-only fields a `historical` batch item may carry. */
export interface HistoricalInput {
  created_at?: string;
  first_seen?: string;
  last_seen?: string;
  conversation_count?: number;
}

export type BatchItemInput = ContactInput & HistoricalInput;

export interface UpsertOptions {
  historical: boolean;
  /** Work out what would happen and write nothing. */
  dryRun?: boolean;
  /**
   * Dry runs over several calls (an import's chunks): identities an earlier call would have created,
   * as `e:<email>` and `p:<phone>`; a later row with one of them is an update.
   */
  seen?: Set<string>;
}

export interface ErasureReceipt {
  id: string;
  contact_id: string;
  erased_at: string;
  erased_by: Actor | null;
  removed: Record<string, number>;
  /** Integrations told of the erasure (none are built yet). */
  notified: string[];
}

export interface BatchResult {
  index: number;
  status: 'created' | 'updated' | 'skipped' | 'error';
  id: string | null;
  error: string | null;
}

/** What erasure reaches beyond the database: export files that hold the person. */
export interface ErasureHooks {
  forgetFiles(person: ContactRow): Promise<number>;
}

/**
 * Runs `write` (a transaction) again when a unique index refused it: another writer took an email or
 * phone between its read and its insert, and reading again finds that contact. At most five times.
 */
export async function redoOnRace<T>(write: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await write();
    } catch (error) {
      if (!isUniqueViolation(error) || attempt >= 5) throw error;
    }
  }
}

export function createContactService({ store, clock }: ServiceDeps, rules: AutomationService, erasure: ErasureHooks) {
  async function workspace(id: string): Promise<WorkspaceRow> {
    const ws = await getWorkspace(store.db, id);
    if (!ws) throw new NotFound('workspace');
    return ws;
  }

  async function mustGet(db: Tx, workspaceId: string, id: string): Promise<ContactRow> {
    const row = await contacts.getContact(db, workspaceId, id);
    if (!row) throw new NotFound('contact');
    return row;
  }

  /** 409 when another contact of the workspace holds the email or phone. */
  async function assertUnique(db: Tx, workspaceId: string, row: Pick<ContactRow, 'id' | 'email_lower' | 'phone'>): Promise<void> {
    if (row.email_lower) {
      const other = await contacts.findByEmail(db, workspaceId, row.email_lower);
      if (other && other.id !== row.id) {
        throw new Conflict('A contact with this email already exists', { existing_id: other.id, errors: [{ field: 'email', message: `belongs to ${other.id}` }] });
      }
    }
    if (row.phone) {
      const other = await contacts.findByPhone(db, workspaceId, row.phone);
      if (other && other.id !== row.id) {
        throw new Conflict('A contact with this phone number already exists', { existing_id: other.id, errors: [{ field: 'phone', message: `belongs to ${other.id}` }] });
      }
    }
  }

  /** Runs a write; a unique-index race (PostgreSQL, several writers) becomes the same 409 as the check. */
  async function write<T>(workspaceId: string, row: Pick<ContactRow, 'id' | 'email_lower' | 'phone'>, fn: (trx: Tx) => Promise<T>): Promise<T> {
    try {
      return await store.transaction(fn);
    } catch (error) {
      if (isUniqueViolation(error)) await assertUnique(store.db, workspaceId, row);
      throw error;
    }
  }

  return {
    async create(p: Principal, input: ContactInput): Promise<ContactView> {
      const ws = await workspace(p.workspaceId);
      const fields = normaliseContactInput(input, { region: ws.default_phone_region, update: false });
      const now = clock.now();
      const row = newRow(ws.id, fields, now);
      requireIdentity(row);
      const archived = await write(ws.id, row, async (trx) => {
        // Under a contact limit, concurrent creates count in turn (PostgreSQL; SQLite has one writer).
        if (limitsOf(ws).contacts !== null) await contacts.serialiseMatchingWrites(trx, store.dialect, ws.id);
        await assertUnique(trx, ws.id, row);
        await contacts.insertContacts(trx, store.dialect, [row]);
        await contacts.replaceTags(trx, ws.id, row.id, fields.tags ?? [], false);
        const overLimit = await enforceContactLimit(trx, ws, now);
        await events.appendEvents(trx, [contactEvent('contact.created', row, actorOf(p), now), ...overLimit]);
        return overLimit.some((e) => e.contact_id === row.id);
      });
      // The answer says what is stored: a contact the limit archived at once says so.
      return presentContact(archived ? { ...row, archived: 1 } : row);
    },

    async get(p: Principal, id: string): Promise<ContactView> {
      return presentContact(await mustGet(store.db, p.workspaceId, id));
    },

    async update(p: Principal, id: string, input: ContactInput): Promise<ContactView> {
      const ws = await workspace(p.workspaceId);
      const fields = normaliseContactInput(input, { region: ws.default_phone_region, update: true });
      const proposed = { id, email_lower: fields.email?.toLowerCase() ?? null, phone: fields.phone ?? null };
      const result = await write(ws.id, proposed, async (trx) => {
        const row = await mustGet(trx, ws.id, id);
        const now = clock.now();
        const next = applyPatch(row, fields, now);
        if (!next) return row;
        await assertUnique(trx, ws.id, next);
        await contacts.updateContact(trx, ws.id, id, diff(row, next));
        if (fields.tags !== undefined && next.tags !== row.tags) await contacts.replaceTags(trx, ws.id, id, fields.tags, row.tags !== '[]');
        const ran = await rules.run(trx, p, next, 'contact.updated', {});
        const consent = consentChange(row, next, actorOf(p), p.kind === 'user' ? 'dashboard' : 'api', now);
        if (consent) await insertConsent(trx, consent.consent);
        await events.appendEvents(trx, [contactEvent('contact.updated', ran.row, actorOf(p), now), ...ran.events, ...(consent ? [consent.event] : [])]);
        return ran.row;
      });
      return presentContact(result);
    },

    /**
     * Erasure, permanent: the row, its tags, notes, conversations, consents, identities and events go;
     * one event records only the id; a receipt says what went (no personal data), and hashes of the
     * email and phone stop a batch or import from silently bringing the person back.
     */
    async delete(p: Principal, id: string): Promise<ErasureReceipt> {
      // Files first: should the rest then fail, the person is still there to erase again.
      const files = await erasure.forgetFiles(await mustGet(store.db, p.workspaceId, id));
      const receipt = await store.transaction(async (trx) => {
        const row = await mustGet(trx, p.workspaceId, id);
        const now = clock.now();
        const removed = { contacts: 1, ...await privacy.countPersonalRows(trx, p.workspaceId, id), export_files: files };
        await events.deleteContactEvents(trx, p.workspaceId, id);
        await deleteContactVisitors(trx, p.workspaceId, id);
        await purgeIdempotentForContact(trx, p.workspaceId, id);
        await contacts.deleteContact(trx, p.workspaceId, id);
        await privacy.addSuppressions(trx, p.workspaceId, identityHashes(p.workspaceId, row), now);
        const receipt = { id: newId('erasure'), workspace_id: p.workspaceId, contact_id: id, erased_by: JSON.stringify(actorOf(p)), removed: JSON.stringify(removed), erased_at: now };
        await privacy.insertReceipt(trx, receipt);
        await events.appendEvents(trx, [{
          id: newId('event'), workspace_id: p.workspaceId, contact_id: id, type: 'contact.deleted',
          actor: JSON.stringify(actorOf(p)), data: JSON.stringify({ id, deleted_at: toIso(now) }), occurred_at: now, timeline_only: 0,
        }]);
        return receipt;
      });
      return receiptView(receipt);
    },

    async erasures(p: Principal, limitParam: unknown, cursorParam: unknown): Promise<Page<ErasureReceipt>> {
      const limit = parseLimit(limitParam);
      const rows = await privacy.listReceipts(store.db, p.workspaceId, decodeNewestFirst(cursorParam), limit + 1);
      return newestFirstPage(rows, limit, (r) => r.erased_at, receiptView);
    },

    /** Un-archives; 409 while the workspace is at its contact limit. */
    async restore(p: Principal, id: string): Promise<ContactView> {
      const ws = await workspace(p.workspaceId);
      const restored = await store.transaction(async (trx) => {
        await contacts.serialiseMatchingWrites(trx, store.dialect, ws.id);
        const row = await mustGet(trx, ws.id, id);
        if (row.archived === 0) return row;
        if (!(await hasRoom(trx, ws))) {
          throw new Conflict('The workspace is at its contact limit: upgrade the plan or delete contacts, then restore');
        }
        const now = clock.now();
        const next = { ...row, archived: 0, updated_at: now };
        await contacts.updateContact(trx, ws.id, id, { archived: 0, updated_at: now });
        await events.appendEvents(trx, [contactEvent('contact.updated', next, actorOf(p), now)]);
        return next;
      });
      return presentContact(restored);
    },

    /**
     * Create-or-update of up to 1,000 contacts: matched by email, then phone (a phone held by another
     * contact is not moved). Each item succeeds or fails alone; all writes commit together.
     */
    async batch(p: Principal, items: BatchItemInput[], historical: boolean): Promise<BatchResult[]> {
      return this.upsert(p, items, { historical });
    },

    /** The batch's create-or-update in a transaction of its own. */
    async upsert(p: Principal, items: BatchItemInput[], opts: UpsertOptions): Promise<BatchResult[]> {
      const ws = await workspace(p.workspaceId);
      const batch = prepareBatch(items, ws.default_phone_region, opts.historical);
      return redoOnRace(() => store.transaction((trx) => this.upsertIn(trx, p, batch, opts)));
    },

    /**
     * The create-or-update of items already through `prepareBatch`, in the caller's transaction (an
     * import prepares them in a thread of its own and writes its progress in the same transaction).
     * A unique violation means another writer took an email or phone since the read: run the
     * transaction again (`redoOnRace`).
     */
    async upsertIn(trx: Tx, p: Principal, batch: PreparedBatch, opts: UpsertOptions): Promise<BatchResult[]> {
      const { dryRun = false, seen } = opts;
      const results: BatchResult[] = Array.from({ length: batch.count }, (_, index) => ({ index, status: 'error', id: null, error: null }));
      for (const { index, message } of batch.errors) results[index]!.error = message;
      const { prepared } = batch;
      const ws = await getWorkspace(trx, p.workspaceId);
      if (!ws) throw new NotFound('workspace');

      await contacts.serialiseMatchingWrites(trx, store.dialect, ws.id);
      const emails = [...new Set(prepared.flatMap((x) => (x.fields.email ? [x.fields.email.toLowerCase()] : [])))];
      const phones = [...new Set(prepared.flatMap((x) => (x.fields.phone ? [x.fields.phone] : [])))];
      const existing = await contacts.findByIdentities(trx, ws.id, emails, phones);
      const byEmail = new Map<string, ContactRow>(), byPhone = new Map<string, ContactRow>();
      const index = (row: ContactRow) => {
        if (row.email_lower) byEmail.set(row.email_lower, row);
        if (row.phone) byPhone.set(row.phone, row);
      };
      const forget = (row: ContactRow) => {
        if (row.email_lower && byEmail.get(row.email_lower)?.id === row.id) byEmail.delete(row.email_lower);
        if (row.phone && byPhone.get(row.phone)?.id === row.id) byPhone.delete(row.phone);
      };
      existing.forEach(index);
      const original = new Map(existing.map((r) => [r.id, r]));
      // Hashing every identity costs a good part of a big import; most workspaces have erased no one.
      const suppressed = await privacy.hasSuppressions(trx, ws.id)
        ? await privacy.findSuppressed(trx, ws.id, prepared.flatMap(({ fields: f }) =>
          identityHashes(ws.id, { email_lower: f.email?.toLowerCase() ?? null, phone: f.phone ?? null })))
        : new Set<string>();
      const created = new Map<string, ContactRow>(), updated = new Map<string, ContactRow>();
      const evts: events.NewEvent[] = [];
      const now = clock.now();
      const actor = actorOf(p);

      for (const { index: i, fields, baseline } of prepared) {
        try {
          const emailLower = fields.email?.toLowerCase() ?? null;
          const match = (emailLower ? byEmail.get(emailLower) : undefined) ?? (fields.phone ? byPhone.get(fields.phone) : undefined);
          const seenBefore = !match && seen && ((emailLower && seen.has('e:' + emailLower)) || (fields.phone && seen.has('p:' + fields.phone)));
          if (seenBefore) {
            results[i] = { index: i, status: 'updated', id: null, error: null };
          } else if (!match && suppressed.size && identityHashes(ws.id, { email_lower: emailLower, phone: fields.phone ?? null }).some((h) => suppressed.has(h))) {
            results[i] = { index: i, status: 'skipped', id: null, error: SUPPRESSED_REASON };
          } else if (match) {
            const f = { ...fields };
            delete f.source;
            // A phone held by another contact stays where it is.
            if (f.phone && byPhone.get(f.phone) && byPhone.get(f.phone)!.id !== match.id) delete f.phone;
            // An email held by another contact (matched here by phone) likewise.
            if (emailLower && byEmail.get(emailLower) && byEmail.get(emailLower)!.id !== match.id) delete f.email;
            let next = applyPatch(match, f, now) ?? match;
            if (baseline) {
              // Only a contact with conversations recorded here (beyond its baseline) needs them read.
              const span = next.conversation_count > next.baseline_count ? await conversationSpan(trx, ws.id, next.id) : NO_CONVERSATIONS;
              next = applyBaseline(next, baseline, span);
              if (Object.keys(diff(match, next)).length === 0) next = match;
            }
            if (next !== match) {
              next.updated_at = now;
              forget(match);
              index(next);
              if (created.has(next.id)) created.set(next.id, next);
              else updated.set(next.id, next);
              evts.push(contactEvent('contact.updated', next, actor, now));
            }
            results[i] = { index: i, status: 'updated', id: match.id, error: null };
          } else {
            const row = newRow(ws.id, fields, now, baseline ?? undefined);
            requireIdentity(row);
            index(row);
            created.set(row.id, row);
            evts.push(contactEvent('contact.created', row, actor, now));
            results[i] = { index: i, status: 'created', id: row.id, error: null };
          }
        } catch (error) {
          if (!(error instanceof Invalid)) throw error;
          results[i] = { index: i, status: 'error', id: null, error: error.message };
        }
      }

      if (dryRun) {
        for (const row of created.values()) {
          if (row.email_lower) seen?.add('e:' + row.email_lower);
          if (row.phone) seen?.add('p:' + row.phone);
        }
        return results;
      }
      await contacts.insertContacts(trx, store.dialect, [...created.values()]);
      for (const row of updated.values()) await contacts.updateContact(trx, ws.id, row.id, diff(original.get(row.id)!, row));
      const retagged = [...updated.values()].filter((r) => r.tags !== original.get(r.id)!.tags);
      await contacts.deleteTagRows(trx, retagged.map((r) => r.id));
      await contacts.insertTagRows(trx, [...created.values(), ...retagged].flatMap((r) =>
        (JSON.parse(r.tags) as string[]).map((tag) => ({ contact_id: r.id, tag, workspace_id: ws.id }))));
      if (created.size) evts.push(...await enforceContactLimit(trx, ws, now));
      await events.appendEvents(trx, evts);
      return results;
    },

    async list(p: Principal, params: FilterInput & { sort?: unknown; limit?: unknown; cursor?: unknown }): Promise<Page<ContactView>> {
      const ws = await workspace(p.workspaceId);
      const { sort: sortParam, limit: limitParam, cursor: cursorParam, ...filterParams } = params;
      const filter = parseFilter(filterParams, { timezone: ws.timezone, now: clock.now() });
      const sort = parseSort(sortParam);
      const limit = parseLimit(limitParam);
      const cursor = decodeCursor(cursorParam, sort);
      const page = await listContacts(store.db, store.dialect, ws.id, filter, sort, cursor, limit);
      const last = page.rows[page.rows.length - 1];
      const next: Cursor | null = page.hasMore && last
        ? { sort: (sort.dir === 'desc' ? '-' : '') + sort.field, key: sortKey(last, sort.field), id: last.id }
        : null;
      return { data: page.rows.map(presentContact), has_more: page.hasMore, next_cursor: next ? encodeCursor(next) : null };
    },

    async count(p: Principal, params: FilterInput & { sort?: unknown }): Promise<number> {
      const ws = await workspace(p.workspaceId);
      const { sort, ...filterParams } = params;
      parseSort(sort);
      return countContacts(store.db, store.dialect, ws.id, parseFilter(filterParams, { timezone: ws.timezone, now: clock.now() }));
    },

    /** The workspace's tags with their counts, a page at a time in tag order. */
    async tags(p: Principal, prefix: string | null, limitParam: unknown, cursorParam: unknown) {
      const limit = parseLimit(limitParam);
      const after = decodeSimpleCursor(cursorParam);
      if (after && typeof after.tag !== 'string') throw Invalid.field('cursor', 'is not a cursor from this list');
      const rows = await contacts.listTags(store.db, p.workspaceId, prefix?.trim().toLowerCase() || null, (after?.tag as string | undefined) ?? null, limit + 1);
      const page = rows.slice(0, limit);
      const more = rows.length > limit;
      return { data: page, has_more: more, next_cursor: more ? encodeSimpleCursor({ tag: page[page.length - 1]!.tag }) : null };
    },

    async addNote(p: Principal, contactId: string, body: string): Promise<NoteView> {
      const text = body.trim();
      if (!text) throw Invalid.field('body', 'must not be empty');
      if (Array.from(text).length > LIMITS.note) throw Invalid.field('body', `must be at most ${LIMITS.note} characters`);
      if (text.includes('\u0000')) throw Invalid.field('body', 'must not contain NUL characters');
      const now = clock.now();
      const row = { id: newId('note'), workspace_id: p.workspaceId, contact_id: contactId, body: text, author: JSON.stringify(actorOf(p)), created_at: now };
      await store.transaction(async (trx) => {
        await mustGet(trx, p.workspaceId, contactId);
        await notes.insertNote(trx, row);
        await events.appendEvents(trx, [{
          id: newId('event'), workspace_id: p.workspaceId, contact_id: contactId, type: 'note.added', actor: row.author,
          data: JSON.stringify({ id: row.id, body: text }), occurred_at: now, timeline_only: 1,
        }]);
      });
      return noteView(row);
    },

    async listNotes(p: Principal, contactId: string, limitParam: unknown, cursorParam: unknown): Promise<Page<NoteView>> {
      const limit = parseLimit(limitParam);
      await mustGet(store.db, p.workspaceId, contactId);
      const after = decodeSimpleCursor(cursorParam) as { at: number; id: string } | null;
      if (after && (!Number.isSafeInteger(after.at) || typeof after.id !== 'string' || !isIdText(after.id))) throw Invalid.field('cursor', 'is not a cursor from this list');
      const rows = await notes.listNotes(store.db, p.workspaceId, contactId, after, limit + 1);
      const page = rows.slice(0, limit);
      const last = page[page.length - 1];
      return {
        data: page.map(noteView), has_more: rows.length > limit,
        next_cursor: rows.length > limit && last ? encodeSimpleCursor({ at: last.created_at, id: last.id }) : null,
      };
    },

    async timeline(p: Principal, contactId: string, limitParam: unknown, cursorParam: unknown): Promise<Page<TimelineEntry>> {
      const limit = parseLimit(limitParam);
      await mustGet(store.db, p.workspaceId, contactId);
      const before = decodeSimpleCursor(cursorParam) as { seq: number } | null;
      if (before && !Number.isSafeInteger(before.seq)) throw Invalid.field('cursor', 'is not a cursor from this list');
      const rows = await events.contactTimeline(store.db, p.workspaceId, contactId, before?.seq ?? null, limit + 1);
      const page = rows.slice(0, limit);
      const last = page[page.length - 1];
      return {
        data: page.map((e) => ({
          id: e.id, type: e.type, occurred_at: toIso(e.occurred_at),
          actor: e.actor ? (JSON.parse(e.actor) as Actor) : null, data: JSON.parse(e.data) as unknown,
        })),
        has_more: rows.length > limit,
        next_cursor: rows.length > limit && last ? encodeSimpleCursor({ seq: last.seq }) : null,
      };
    },
  };
}

function receiptView(r: { id: string; contact_id: string; erased_at: number; erased_by: string | null; removed: string }): ErasureReceipt {
  return {
    id: r.id, contact_id: r.contact_id, erased_at: toIso(r.erased_at), erased_by: r.erased_by ? (JSON.parse(r.erased_by) as Actor) : null,
    removed: JSON.parse(r.removed) as Record<string, number>, notified: [],
  };
}

export type ContactService = ReturnType<typeof createContactService>;
