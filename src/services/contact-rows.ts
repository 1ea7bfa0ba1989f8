// Building and changing contact rows: the rules shared by every use case that writes a contact
// (create, PATCH, batch, identify, merge).
import type { Actor } from '../domain/access.js';
import { type ContactFields, type ContactInput, derivedStage, LIMITS, mergePatch, normaliseContactInput, searchKeys } from '../domain/contact.js';
import { Invalid } from '../domain/errors.js';
import { newId } from '../domain/ids.js';
import { parseTimestamp, toIso } from '../domain/time.js';
import type { NewEvent } from '../store/events.js';
import type { ConsentRow, ContactRow } from '../store/schema.js';
import { presentContact } from './contact-view.js';
import type { BatchItemInput, HistoricalInput, NoteView } from './contacts.js';

export const HISTORICAL_FIELDS = ['created_at', 'first_seen', 'last_seen', 'conversation_count'] as const;

/** A batch item through the rules that need no database, and the batch's items that failed them. */
export interface PreparedItem {
  index: number;
  fields: ContactFields;
  baseline: Baseline | null;
}

export interface PreparedBatch {
  count: number;
  prepared: PreparedItem[];
  errors: Array<{ index: number; message: string }>;
}

/**
 * The batch's per-item rules before it reads the database: migration-only fields need `historical`,
 * the contact fields are normalised and checked (phones in the workspace's default region), a
 * migration's dates parsed. Pure, so an import runs it in a thread of its own.
 */
export function prepareBatch(items: BatchItemInput[], region: string | null, historical: boolean): PreparedBatch {
  const batch: PreparedBatch = { count: items.length, prepared: [], errors: [] };
  items.forEach((item, index) => {
    try {
      const given = HISTORICAL_FIELDS.filter((k) => item[k] !== undefined);
      if (given.length && !historical) throw Invalid.field(given[0]!, 'is read-only (send "historical": true with the admin scope to migrate it)');
      const contactInput: ContactInput = { ...item };
      for (const k of HISTORICAL_FIELDS) delete (contactInput as Record<string, unknown>)[k];
      const fields = normaliseContactInput(contactInput, { region, update: false });
      batch.prepared.push({ index, fields, baseline: historical && given.length ? parseHistorical(item) : null });
    } catch (error) {
      if (!(error instanceof Invalid)) throw error;
      batch.errors.push({ index, message: error.message });
    }
  });
  return batch;
}

export function requireIdentity(c: { name: string | null; email: string | null; phone: string | null }): void {
  if (c.name === null && c.email === null && c.phone === null) {
    throw new Invalid([{ field: 'name', message: 'a contact needs at least one of name, email, phone' }]);
  }
}

export function noteView(row: { id: string; body: string; author: string; created_at: number }): NoteView {
  return { id: row.id, body: row.body, author: JSON.parse(row.author) as Actor, created_at: toIso(row.created_at) };
}

export function contactEvent(type: string, row: ContactRow, actor: Actor | null, at: number): NewEvent {
  return {
    id: newId('event'), workspace_id: row.workspace_id, contact_id: row.id, type, actor: actor ? JSON.stringify(actor) : null,
    data: JSON.stringify(presentContact(row)), occurred_at: at, timeline_only: 0,
  };
}

/** A new row from normalised fields; `history` carries a migration's baseline. */
export function newRow(workspaceId: string, f: ContactFields, now: number, history?: Baseline): ContactRow {
  const id = newId('contact');
  const name = f.name ?? null, email = f.email ?? null, phone = f.phone ?? null;
  const tags = f.tags ?? [];
  const count = history?.count ?? 0;
  const stage = f.lifecycle_stage ?? derivedStage(count);
  const firstSeen = history?.firstSeen ?? history?.createdAt ?? Math.min(now, history?.lastSeen ?? now);
  return {
    id, workspace_id: workspaceId, name, email, email_lower: email?.toLowerCase() ?? null, phone,
    company: f.company ?? null, source: f.source ?? 'api',
    first_seen: firstSeen, last_seen: history?.lastSeen ?? firstSeen, conversation_count: count,
    page_url: f.page_url ?? null, ip_country: f.ip_country ?? null, tags: JSON.stringify(tags),
    metadata: JSON.stringify(f.metadata ?? {}), lifecycle_stage: stage, stage_manual: f.lifecycle_stage ? 1 : 0,
    archived: 0, baseline_count: count, baseline_first_seen: history?.firstSeen ?? (history ? firstSeen : null),
    baseline_last_seen: history?.lastSeen ?? (history ? firstSeen : null),
    created_at: history?.createdAt ?? firstSeen ?? now, updated_at: now,
    ...searchKeys({ id, name, email, phone }),
  };
}

/**
 * The changes a PATCH (or a batch update) makes to a row. Returns the new row, or null when nothing
 * would change.
 */
export function applyPatch(row: ContactRow, f: ContactFields, now: number): ContactRow | null {
  const next: ContactRow = { ...row };
  for (const k of ['name', 'email', 'phone', 'company', 'page_url', 'ip_country'] as const) {
    if (f[k] !== undefined) next[k] = f[k];
  }
  next.email_lower = next.email?.toLowerCase() ?? null;
  if (f.tags !== undefined) next.tags = JSON.stringify(f.tags);
  if (f.metadata !== undefined) {
    const merged = f.metadata === null ? {} : mergePatch(JSON.parse(row.metadata), f.metadata);
    const text = JSON.stringify(merged);
    if (Buffer.byteLength(text) > LIMITS.metadataBytes) throw Invalid.field('metadata', `would exceed ${LIMITS.metadataBytes} bytes after the merge`);
    next.metadata = text;
  }
  if (f.lifecycle_stage !== undefined) {
    next.stage_manual = f.lifecycle_stage === null ? 0 : 1;
    next.lifecycle_stage = f.lifecycle_stage ?? derivedStage(row.conversation_count);
  }
  requireIdentity(next);
  Object.assign(next, searchKeys(next));
  const changed = (Object.keys(next) as Array<keyof ContactRow>).some((k) => next[k] !== row[k]);
  if (!changed) return null;
  next.updated_at = now;
  return next;
}

export function diff(before: ContactRow, after: ContactRow): Partial<ContactRow> {
  const out: Partial<ContactRow> = {};
  for (const k of Object.keys(after) as Array<keyof ContactRow>) {
    if (after[k] !== before[k]) (out as Record<string, unknown>)[k] = after[k];
  }
  return out;
}

export interface Baseline {
  createdAt?: number;
  firstSeen?: number;
  lastSeen?: number;
  count?: number;
}

export function parseHistorical(item: HistoricalInput): Baseline {
  const errors: Array<{ field: string; message: string }> = [];
  const b: Baseline = {};
  const time = (field: 'created_at' | 'first_seen' | 'last_seen') => {
    const v = item[field];
    if (v === undefined) return undefined;
    const t = typeof v === 'string' ? parseTimestamp(v) : null;
    if (t === null) {
      errors.push({ field, message: 'must be an RFC 3339 timestamp' });
      return undefined;
    }
    return t;
  };
  b.createdAt = time('created_at');
  b.firstSeen = time('first_seen');
  b.lastSeen = time('last_seen');
  if (item.conversation_count !== undefined) {
    if (!Number.isSafeInteger(item.conversation_count) || item.conversation_count < 0) {
      errors.push({ field: 'conversation_count', message: 'must be a whole number from 0' });
    } else b.count = item.conversation_count;
  }
  const first = b.firstSeen ?? b.createdAt;
  if (first !== undefined && b.lastSeen !== undefined && b.lastSeen < first) {
    errors.push({ field: 'last_seen', message: b.firstSeen !== undefined ? 'must not be before first_seen' : 'must not be before created_at' });
  }
  if (errors.length) throw new Invalid(errors);
  // Only what was given: a new row fills the rest from it (newRow), an existing row keeps its own.
  return b;
}

/**
 * The auto fields from what the contact's conversations say, on top of a migrated baseline: the count
 * adds, first_seen is the earlier and last_seen the later; with neither, the creation time.
 */
export function withAutoFields(row: ContactRow, span: ConversationSpan): ContactRow {
  // Created here (not migrated), the contact was first seen no later than its creation.
  const firsts = [row.baseline_first_seen ?? row.created_at, span.first].filter((v): v is number => v !== null);
  const lasts = [row.baseline_last_seen, span.last].filter((v): v is number => v !== null);
  const count = row.baseline_count + span.count;
  return {
    ...row,
    conversation_count: count,
    first_seen: firsts.length ? Math.min(...firsts) : row.created_at,
    last_seen: lasts.length ? Math.max(...lasts) : row.created_at,
    lifecycle_stage: row.stage_manual ? row.lifecycle_stage : derivedStage(count),
  };
}

/** What a contact's conversations recorded here say: how many, the first start and the last message. */
export interface ConversationSpan {
  count: number;
  first: number | null;
  last: number | null;
}

/** A contact with no conversations recorded here (all of them, if any, are in its baseline). */
export const NO_CONVERSATIONS: ConversationSpan = { count: 0, first: null, last: null };

/**
 * Applies a migration baseline to an existing row: the fields given replace the baseline's, then the
 * auto fields are worked out again from it and the conversations recorded here (`span`), so a batch
 * sent again replaces what the first one said.
 */
export function applyBaseline(row: ContactRow, b: Baseline, span: ConversationSpan): ContactRow {
  const next = { ...row };
  if (b.count !== undefined) next.baseline_count = b.count;
  if (b.firstSeen !== undefined) next.baseline_first_seen = b.firstSeen;
  // Without a baseline last_seen the row's own stands (else it would fall back to a created_at now moved).
  next.baseline_last_seen = b.lastSeen ?? row.baseline_last_seen ?? row.last_seen;
  if (b.createdAt !== undefined) next.created_at = b.createdAt;
  return withAutoFields(next, span);
}

/**
 * What an update did to a contact's consent (`metadata.consent_given`): given where it was not, or
 * withdrawn (false or removed) where it was given. The record and the timeline entry that say so, at
 * `consent_at` when the update gives one, else now; null when consent did not change.
 */
export function consentChange(before: ContactRow, after: ContactRow, actor: Actor, channel: string, now: number): { consent: ConsentRow; event: NewEvent } | null {
  const was = (JSON.parse(before.metadata) as Record<string, unknown>).consent_given === true;
  const meta = JSON.parse(after.metadata) as Record<string, unknown>;
  const is = meta.consent_given === true;
  if (was === is) return null;
  const given = typeof meta.consent_at === 'string' ? parseTimestamp(meta.consent_at) : null;
  const at = is && given !== null ? given : now;
  return {
    consent: { id: newId('consent'), workspace_id: after.workspace_id, contact_id: after.id, given: is ? 1 : 0, channel, wording: null, at },
    event: {
      id: newId('event'), workspace_id: after.workspace_id, contact_id: after.id, type: is ? 'consent.recorded' : 'consent.withdrawn',
      actor: JSON.stringify(actor), data: JSON.stringify({ given: is, at: toIso(at), channel, wording: null }), occurred_at: now, timeline_only: 1,
    },
  };
}
