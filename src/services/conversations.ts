// Capture: agents, conversations and their messages, and identify, which turns an anonymous visitor into
// a contact (or updates the one they are) and links every conversation the visitor had.
import { createHash, randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import { actorOf, type Principal } from '../domain/access.js';
import { type ContactInput, isHttpUrl, isSource, normaliseContactInput } from '../domain/contact.js';
import { Invalid, NotFound, Unauthorized } from '../domain/errors.js';
import { newId } from '../domain/ids.js';
import { keptCountry } from '../domain/privacy.js';
import { parseTimestamp, toIso } from '../domain/time.js';
import type { Tx } from '../store/db.js';
import { isUniqueViolation } from '../store/db.js';
import * as contacts from '../store/contacts.js';
import * as convs from '../store/conversations.js';
import * as events from '../store/events.js';
import type { AgentRow, ContactRow, ConversationRow, MessageRow, WorkspaceRow } from '../store/schema.js';
import { getWorkspace } from '../store/workspaces.js';
import { type ContactView, presentContact } from './contact-view.js';
import { applyPatch, contactEvent, diff, newRow, withAutoFields } from './contact-rows.js';
import type { Page } from './contacts.js';
import { decodeSimpleCursor, encodeSimpleCursor, pageOfWhole } from './cursors.js';
import type { AutomationService } from './automations.js';
import type { ServiceDeps } from './deps.js';
import { enforceContactLimit } from './plan-limits.js';
import { countryOf } from './geo.js';

export const MESSAGE_LIMIT_BYTES = 32 * 1024;
/** What a returning contact's context carries: the last conversations and their last messages. */
const CONTEXT_CONVERSATIONS = 5;
const CONTEXT_MESSAGES = 20;
const CONTEXT_TEXT = 2000;

export interface AgentView {
  id: string;
  name: string;
  widget_key: string;
  allowed_origins: string[];
  is_default: boolean;
  created_at: string;
}

export interface MessageView {
  id: string;
  role: string;
  text: string;
  at: string;
}

export interface ConversationView {
  id: string;
  agent_id: string;
  channel: string;
  visitor_id: string | null;
  contact_id: string | null;
  page_url: string | null;
  started_at: string;
  last_message_at: string | null;
  message_count: number;
  messages?: MessageView[];
}

export interface StartInput {
  agent_id?: string;
  channel?: string;
  visitor_id?: string;
  page_url?: string | null;
  ip?: string | null;
}

export interface IdentifyInput extends Pick<ContactInput, 'name' | 'email' | 'phone' | 'company' | 'metadata'> {
  action?: string;
  consent?: { given: boolean; at?: string };
}

function agentView(a: AgentRow): AgentView {
  return {
    id: a.id, name: a.name, widget_key: a.widget_key, allowed_origins: JSON.parse(a.allowed_origins) as string[],
    is_default: a.is_default === 1, created_at: toIso(a.created_at),
  };
}

function messageView(m: MessageRow): MessageView {
  return { id: m.id, role: m.role, text: m.text, at: toIso(m.at) };
}

export function conversationView(c: ConversationRow, visitorExternalId: string | null, messages?: MessageRow[]): ConversationView {
  return {
    id: c.id, agent_id: c.agent_id, channel: c.channel, visitor_id: visitorExternalId, contact_id: c.contact_id, page_url: c.page_url,
    started_at: toIso(c.started_at), last_message_at: c.last_message_at === null ? null : toIso(c.last_message_at),
    message_count: c.message_count, ...(messages ? { messages: messages.map(messageView) } : {}),
  };
}

function sha256(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}

function widgetKey(): string {
  return 'pk_' + randomBytes(18).toString('base64url');
}

function checkOrigins(origins: string[]): string[] {
  if (origins.length > 50) throw Invalid.field('allowed_origins', 'at most 50 origins');
  return origins.map((o) => {
    const t = o.trim();
    let u: URL;
    try {
      u = new URL(t);
    } catch {
      throw Invalid.field('allowed_origins', `"${t.slice(0, 80)}" is not an origin such as https://acme.com`);
    }
    if (!['http:', 'https:'].includes(u.protocol) || u.origin !== t.replace(/\/$/, '')) {
      throw Invalid.field('allowed_origins', `"${t.slice(0, 80)}" is not an origin such as https://acme.com`);
    }
    return u.origin;
  });
}

export function createConversationService({ store, clock }: ServiceDeps, rules: AutomationService) {
  async function workspace(id: string): Promise<WorkspaceRow> {
    const ws = await getWorkspace(store.db, id);
    if (!ws) throw new NotFound('workspace');
    return ws;
  }

  async function mustGetConversation(db: Tx, workspaceId: string, id: string): Promise<ConversationRow> {
    const c = await convs.getConversation(db, workspaceId, id);
    if (!c) throw new NotFound('conversation');
    return c;
  }

  async function externalId(db: Tx, c: ConversationRow): Promise<string | null> {
    return c.visitor_id ? (await convs.getVisitor(db, c.visitor_id))?.external_id ?? null : null;
  }

  /** Writes a contact's auto fields again from its conversations, in the caller's transaction. */
  async function refreshAutoFields(trx: Tx, row: ContactRow, now: number): Promise<ContactRow> {
    const next = withAutoFields(row, await convs.conversationSpan(trx, row.workspace_id, row.id));
    const changes = diff(row, next);
    if (Object.keys(changes).length) await contacts.updateContact(trx, row.workspace_id, row.id, { ...changes, updated_at: now });
    return { ...next, updated_at: Object.keys(changes).length ? now : row.updated_at };
  }

  async function ensureDefaultAgent(workspaceId: string): Promise<AgentRow> {
    const found = await convs.defaultAgent(store.db, workspaceId);
    if (found) return found;
    const row: AgentRow = { id: newId('agent'), workspace_id: workspaceId, name: 'Default agent', widget_key: widgetKey(), allowed_origins: '[]', is_default: 1, created_at: clock.now() };
    try {
      await store.transaction((trx) => convs.insertAgent(trx, row));
      return row;
    } catch (error) {
      const again = await convs.defaultAgent(store.db, workspaceId);
      if (again) return again;
      throw error;
    }
  }

  /** A widget key reaches only the conversations it started, by their token; others are 404. */
  function checkWidgetAccess(p: Principal, c: ConversationRow, token: string | undefined): void {
    if (p.kind !== 'widget') return;
    const ok = c.agent_id === p.agentId && c.token_hash !== null && typeof token === 'string' && token.length <= 200 && sha256(token) === c.token_hash;
    if (!ok) throw new NotFound('conversation');
  }

  return {
    refreshAutoFields,
    checkWidgetAccess,

    defaultAgentOf: ensureDefaultAgent,

    async authenticateWidget(key: string): Promise<Principal> {
      const agent = key.length <= 200 ? await convs.findAgentByWidgetKey(store.db, key) : undefined;
      if (!agent) throw new Unauthorized('Invalid widget key');
      return { kind: 'widget', workspaceId: agent.workspace_id, agentId: agent.id, origins: JSON.parse(agent.allowed_origins) as string[] };
    },

    /** Whether any agent lists this origin (answers a CORS preflight, which carries no key). */
    isAllowedOrigin(origin: string): Promise<boolean> {
      return convs.anyAgentAllows(store.db, origin);
    },

    async listAgents(p: Principal, limit?: unknown, cursor?: unknown): Promise<Page<AgentView>> {
      await ensureDefaultAgent(p.workspaceId);
      return pageOfWhole(await convs.listAgents(store.db, p.workspaceId), (a) => ({ at: a.created_at, id: a.id }), 'asc', limit, cursor, agentView);
    },

    async createAgent(p: Principal, name: string, origins: string[]): Promise<AgentView> {
      const n = name.trim();
      if (!n || n.length > 200) throw Invalid.field('name', 'must be 1 to 200 characters');
      await ensureDefaultAgent(p.workspaceId);
      const row: AgentRow = { id: newId('agent'), workspace_id: p.workspaceId, name: n, widget_key: widgetKey(), allowed_origins: JSON.stringify(checkOrigins(origins)), is_default: 0, created_at: clock.now() };
      await store.transaction((trx) => convs.insertAgent(trx, row));
      return agentView(row);
    },

    async updateAgent(p: Principal, id: string, patch: { name?: string; allowed_origins?: string[] }): Promise<AgentView> {
      const changes: Partial<AgentRow> = {};
      if (patch.name !== undefined) {
        const n = patch.name.trim();
        if (!n || n.length > 200) throw Invalid.field('name', 'must be 1 to 200 characters');
        changes.name = n;
      }
      if (patch.allowed_origins !== undefined) changes.allowed_origins = JSON.stringify(checkOrigins(patch.allowed_origins));
      const row = await convs.getAgent(store.db, p.workspaceId, id);
      if (!row) throw new NotFound('agent');
      if (Object.keys(changes).length) await store.transaction((trx) => convs.updateAgent(trx, p.workspaceId, id, changes));
      return agentView({ ...row, ...changes });
    },

    /** A new publishable key; the old one stops working at once. */
    async rotateWidgetKey(p: Principal, id: string): Promise<AgentView> {
      const row = await convs.getAgent(store.db, p.workspaceId, id);
      if (!row) throw new NotFound('agent');
      const key = widgetKey();
      await store.transaction((trx) => convs.updateAgent(trx, p.workspaceId, id, { widget_key: key }));
      return agentView({ ...row, widget_key: key });
    },

    /** Starts a conversation; anonymous unless the visitor was identified before. */
    async start(p: Principal, input: StartInput, callerIp: string | null = null): Promise<ConversationView & { token?: string; consent_required?: boolean; consent_text?: string | null }> {
      // A widget key starts widget conversations of its own agent, from the caller's address.
      if (p.kind === 'widget') {
        if (input.channel !== undefined && input.channel.trim().toLowerCase() !== 'widget') throw Invalid.field('channel', 'a widget key starts widget conversations only');
        if (input.agent_id !== undefined && input.agent_id !== p.agentId) throw Invalid.field('agent_id', "a widget key starts its own agent's conversations only");
        input = { ...input, channel: 'widget', agent_id: p.agentId, ip: input.ip ?? callerIp };
      }
      if (input.ip != null && input.ip !== '' && isIP(input.ip.trim()) === 0) throw Invalid.field('ip', 'must be an IPv4 or IPv6 address');
      const channel = (input.channel ?? 'api').trim().toLowerCase();
      if (!isSource(channel)) throw Invalid.field('channel', 'must be widget, whatsapp, slack, api or a custom word of up to 32 characters a-z, 0-9, _ or -');
      const visitorId = input.visitor_id?.trim() || null;
      if (visitorId !== null && visitorId.length > 200) throw Invalid.field('visitor_id', 'must be at most 200 characters');
      const pageUrl = input.page_url?.trim() || null;
      if (pageUrl !== null && (pageUrl.length > 2048 || !isHttpUrl(pageUrl))) throw Invalid.field('page_url', 'must be an http or https URL of at most 2,048 characters');
      const agent = input.agent_id
        ? await convs.getAgent(store.db, p.workspaceId, input.agent_id)
        : await ensureDefaultAgent(p.workspaceId);
      if (!agent) throw Invalid.field('agent_id', 'is not an agent of this workspace');
      const now = clock.now();
      const token = p.kind === 'widget' ? randomBytes(24).toString('base64url') : null;
      const row: ConversationRow = {
        id: newId('conversation'), workspace_id: p.workspaceId, agent_id: agent.id, visitor_id: null, contact_id: null, channel,
        page_url: pageUrl, ip_country: countryOf(input.ip?.trim()), token_hash: token ? sha256(token) : null, started_at: now, last_message_at: null, message_count: 0,
      };
      await store.transaction(async (trx) => {
        if (visitorId !== null) {
          await convs.insertVisitor(trx, { id: newId('visitor'), workspace_id: p.workspaceId, channel, external_id: visitorId, contact_id: null, first_seen: now });
          const visitor = (await convs.findVisitor(trx, p.workspaceId, channel, visitorId))!;
          row.visitor_id = visitor.id;
          row.contact_id = visitor.contact_id;
        }
        await convs.insertConversation(trx, row);
        const ruleEvents: events.NewEvent[] = [];
        if (row.contact_id) {
          const contact = await contacts.getContact(trx, p.workspaceId, row.contact_id);
          if (contact) {
            const ran = await rules.run(trx, p, await refreshAutoFields(trx, contact, now), 'conversation.started', { pageUrl: row.page_url });
            ruleEvents.push(...ran.events);
          }
        }
        await events.appendEvents(trx, [...ruleEvents, {
          id: convs.startedEventId(row.id), workspace_id: p.workspaceId, contact_id: row.contact_id, type: 'conversation.started', actor: JSON.stringify(actorOf(p)),
          data: JSON.stringify(conversationView(row, visitorId)), occurred_at: now, timeline_only: 0,
        }]);
      });
      if (!token) return conversationView(row, visitorId);
      // The widget learns here whether to show the consent banner, and with which words.
      const ws = await workspace(p.workspaceId);
      return { ...conversationView(row, visitorId), token, consent_required: ws.consent_required === 1, consent_text: ws.consent_text };
    },

    async appendMessage(p: Principal, conversationId: string, input: { role: string; text: string; at?: string }, token?: string): Promise<MessageView> {
      if (input.role !== 'user' && input.role !== 'agent') throw Invalid.field('role', 'must be user or agent');
      const text = input.text.trim();
      if (!text) throw Invalid.field('text', 'must not be empty');
      if (Buffer.byteLength(text) > MESSAGE_LIMIT_BYTES) throw Invalid.field('text', 'must be at most 32 KiB');
      const at = input.at === undefined ? clock.now() : parseTimestamp(input.at);
      if (at === null) throw Invalid.field('at', 'must be an RFC 3339 timestamp');
      const row: MessageRow = { id: newId('message'), workspace_id: p.workspaceId, conversation_id: conversationId, role: input.role, text, at, seq: 0 };
      await store.transaction(async (trx) => {
        const c = await mustGetConversation(trx, p.workspaceId, conversationId);
        checkWidgetAccess(p, c, token);
        row.seq = c.message_count + 1;
        await convs.insertMessage(trx, row);
        await convs.updateConversation(trx, c.id, { message_count: row.seq, last_message_at: Math.max(c.last_message_at ?? 0, at) });
        if (c.contact_id) {
          const contact = await contacts.getContact(trx, p.workspaceId, c.contact_id);
          if (contact) await refreshAutoFields(trx, contact, clock.now());
        }
      });
      return messageView(row);
    },

    async get(p: Principal, id: string, token?: string): Promise<ConversationView> {
      const c = await mustGetConversation(store.db, p.workspaceId, id);
      checkWidgetAccess(p, c, token);
      return conversationView(c, await externalId(store.db, c), await convs.messagesOf(store.db, c.id));
    },

    async list(p: Principal, query: { contact_id?: string; visitor_id?: string; channel?: string; anonymous?: string; limit?: string; cursor?: string }): Promise<Page<ConversationView>> {
      const limit = query.limit === undefined ? 50 : Number(query.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 200) throw Invalid.field('limit', 'must be a whole number from 1 to 200');
      if (query.anonymous !== undefined && !['true', 'false'].includes(query.anonymous)) throw Invalid.field('anonymous', 'must be true or false');
      const filter: convs.ConversationFilter = { anonymous: query.anonymous === undefined ? undefined : query.anonymous === 'true' };
      if (query.contact_id) {
        if (!(await contacts.getContact(store.db, p.workspaceId, query.contact_id))) throw new NotFound('contact');
        filter.contactId = query.contact_id;
      }
      if (query.visitor_id) {
        const v = await convs.findVisitor(store.db, p.workspaceId, (query.channel ?? 'widget').toLowerCase(), query.visitor_id);
        if (!v) return { data: [], has_more: false, next_cursor: null };
        filter.visitorId = v.id;
      }
      const after = decodeSimpleCursor(query.cursor) as { at: number; id: string } | null;
      if (after && (!Number.isSafeInteger(after.at) || typeof after.id !== 'string' || after.id.length > 64)) throw Invalid.field('cursor', 'is not a cursor from this list');
      const rows = await convs.listConversations(store.db, p.workspaceId, filter, after, limit + 1);
      const page = rows.slice(0, limit);
      const last = page[page.length - 1];
      const data: ConversationView[] = [];
      for (const c of page) data.push(conversationView(c, await externalId(store.db, c)));
      return { data, has_more: rows.length > limit, next_cursor: rows.length > limit && last ? encodeSimpleCursor({ at: last.started_at, id: last.id }) : null };
    },

    /**
     * Identify (Lead Capture or a custom action): matches by email, then phone, then the contact the
     * visitor is linked to; creates or updates; links this and the visitor's anonymous conversations.
     * Without consent where the workspace requires it, or with consent declined, nothing is stored.
     */
    async identify(p: Principal, conversationId: string, input: IdentifyInput, token?: string): Promise<{ contact: ContactView | null; created: boolean }> {
      const ws = await workspace(p.workspaceId);
      const consent = input.consent;
      checkWidgetAccess(p, await mustGetConversation(store.db, p.workspaceId, conversationId), token);
      if (consent?.given === false || (ws.consent_required === 1 && consent?.given !== true)) {
        return { contact: null, created: false };
      }
      const consentAt = consent?.at === undefined ? null : parseTimestamp(consent.at);
      if (consent?.at !== undefined && consentAt === null) throw Invalid.field('consent.at', 'must be an RFC 3339 timestamp');
      const action = (input.action ?? 'lead_capture').trim();
      if (!/^[a-z0-9_.-]{1,64}$/i.test(action)) throw Invalid.field('action', 'must be a word of up to 64 characters a-z, 0-9, _ . -');
      const fields = normaliseContactInput({ name: input.name, email: input.email, phone: input.phone, company: input.company, metadata: input.metadata }, { region: ws.default_phone_region, update: true });
      if (fields.name == null && fields.email == null && fields.phone == null) {
        throw new Invalid([{ field: 'email', message: 'identify needs at least one of name, email, phone' }]);
      }
      if (consent?.given === true) {
        fields.metadata = { ...(fields.metadata ?? {}), consent_given: true, consent_at: toIso(consentAt ?? clock.now()) };
      }

      const run = async (trx: Tx) => {
        await contacts.serialiseMatchingWrites(trx, store.dialect, ws.id);
        const conv = await mustGetConversation(trx, ws.id, conversationId);
        const visitor = conv.visitor_id ? await convs.getVisitor(trx, conv.visitor_id) : undefined;
        const now = clock.now();
        const emailLower = fields.email?.toLowerCase() ?? null;
        const byEmail = emailLower ? await contacts.findByEmail(trx, ws.id, emailLower) : undefined;
        const byPhone = fields.phone ? await contacts.findByPhone(trx, ws.id, fields.phone) : undefined;
        const linked = visitor?.contact_id ? await contacts.getContact(trx, ws.id, visitor.contact_id)
          : conv.contact_id ? await contacts.getContact(trx, ws.id, conv.contact_id) : undefined;
        const match = byEmail ?? byPhone ?? linked;
        const timeline: events.NewEvent[] = [];
        let row: ContactRow;
        let created = false;
        if (match) {
          const f = { ...fields };
          // The same address in other letters is no change: the stored spelling stays.
          if (emailLower && match.email_lower === emailLower) delete f.email;
          // A phone or email held by another contact stays where it is; the timeline notes it.
          for (const [key, holder] of [['phone', byPhone], ['email', byEmail]] as const) {
            if (holder && holder.id !== match.id) {
              delete f[key];
              timeline.push({ id: newId('event'), workspace_id: ws.id, contact_id: match.id, type: 'possible_duplicate', actor: JSON.stringify(actorOf(p)), data: JSON.stringify({ field: key, other_contact_id: holder.id }), occurred_at: now, timeline_only: 1 });
            }
          }
          // An existing contact without a page gets the page of its first conversation here.
          if (match.page_url === null && f.page_url === undefined && conv.page_url) f.page_url = conv.page_url;
          // An existing contact without a country gets this conversation's, under the same rule.
          if (match.ip_country === null && f.ip_country === undefined) {
            const kept = keptCountry(conv.ip_country, consent?.given === true);
            if (kept) f.ip_country = kept;
          }
          const next = applyPatch(match, f, now);
          row = next ?? match;
          if (next) await contacts.updateContact(trx, ws.id, match.id, diff(match, next));
        } else {
          const first = visitor ? (await convs.listConversations(trx, ws.id, { visitorId: visitor.id }, null, 1000)).at(-1) ?? conv : conv;
          row = newRow(ws.id, { ...fields, source: conv.channel, page_url: first.page_url ?? conv.page_url, ip_country: keptCountry(conv.ip_country, consent?.given === true) }, now);
          await contacts.insertContacts(trx, store.dialect, [row]);
          created = true;
        }
        await convs.linkConversations(trx, ws.id, visitor?.id ?? null, conv.id, row.id);
        // A conversation that belonged to another contact moves here: that contact's counts follow.
        const left = conv.contact_id && conv.contact_id !== row.id ? await contacts.getContact(trx, ws.id, conv.contact_id) : undefined;
        if (left) timeline.push(contactEvent('contact.updated', await refreshAutoFields(trx, left, now), actorOf(p), now));
        if (visitor && visitor.contact_id !== row.id) await convs.linkVisitor(trx, visitor.id, row.id);
        row = await refreshAutoFields(trx, row, now);
        // A returning person is active again; the limit then archives whoever was seen longest ago.
        const reactivated = row.archived === 1;
        if (reactivated) {
          await contacts.updateContact(trx, ws.id, row.id, { archived: 0 });
          row = { ...row, archived: 0 };
        }
        const ran = await rules.run(trx, p, row, 'lead.captured', { pageUrl: conv.page_url, action });
        row = ran.row;
        timeline.push(...ran.events);
        const actor = JSON.stringify(actorOf(p));
        const contactData = JSON.stringify(presentContact(row));
        timeline.unshift(
          created ? contactEvent('contact.created', row, actorOf(p), now) : contactEvent('contact.updated', row, actorOf(p), now),
          { id: newId('event'), workspace_id: ws.id, contact_id: row.id, type: 'lead.captured', actor, data: JSON.stringify({ action, conversation_id: conv.id, contact: JSON.parse(contactData) as unknown }), occurred_at: now, timeline_only: 0 },
        );
        if (created || reactivated) {
          const overLimit = await enforceContactLimit(trx, ws, now);
          timeline.push(...overLimit);
          if (overLimit.some((e) => e.contact_id === row.id)) row = { ...row, archived: 1 };
        }
        if (consent?.given === true) {
          timeline.push({ id: newId('event'), workspace_id: ws.id, contact_id: row.id, type: 'consent.recorded', actor, data: JSON.stringify({ given: true, at: toIso(consentAt ?? now), channel: conv.channel, wording: ws.consent_text }), occurred_at: now, timeline_only: 1 });
          await convs.insertConsent(trx, { id: newId('consent'), workspace_id: ws.id, contact_id: row.id, given: 1, channel: conv.channel, wording: ws.consent_text, at: consentAt ?? now });
        }
        await events.appendEvents(trx, timeline);
        return { row, created };
      };

      for (let attempt = 1; ; attempt++) {
        try {
          const { row, created } = await store.transaction(run);
          return { contact: presentContact(row), created };
        } catch (error) {
          if (!isUniqueViolation(error) || attempt >= 3) throw error;
        }
      }
    },

    /** For the agent: the profile and the latest conversations, bounded in size. */
    async context(p: Principal, contactId: string) {
      const row = await contacts.getContact(store.db, p.workspaceId, contactId);
      if (!row) throw new NotFound('contact');
      return this.contextOf(p, row, null);
    },

    async visitorContext(p: Principal, visitorId: string, channel: string) {
      const v = await convs.findVisitor(store.db, p.workspaceId, channel.toLowerCase(), visitorId);
      const row = v?.contact_id ? await contacts.getContact(store.db, p.workspaceId, v.contact_id) : undefined;
      return this.contextOf(p, row ?? null, v?.id ?? null);
    },

    async contextOf(p: Principal, row: ContactRow | null, visitorRowId: string | null) {
      const filter: convs.ConversationFilter = row ? { contactId: row.id } : visitorRowId ? { visitorId: visitorRowId } : {};
      const recent = row || visitorRowId ? await convs.listConversations(store.db, p.workspaceId, filter, null, CONTEXT_CONVERSATIONS) : [];
      const conversations = [];
      for (const c of recent) {
        const messages = (await convs.messagesOf(store.db, c.id, CONTEXT_MESSAGES, true)).reverse();
        conversations.push({
          id: c.id, channel: c.channel, started_at: toIso(c.started_at),
          messages: messages.map((m) => ({ role: m.role, text: m.text.length > CONTEXT_TEXT ? m.text.slice(0, CONTEXT_TEXT) + '…' : m.text, at: toIso(m.at) })),
        });
      }
      const contact = row ? presentContact(row) : null;
      return {
        contact,
        returning: Boolean(contact && contact.conversation_count > 1),
        tags: contact?.tags ?? [],
        lifecycle_stage: contact?.lifecycle_stage ?? null,
        conversations,
      };
    },
  };
}

export type ConversationService = ReturnType<typeof createConversationService>;
