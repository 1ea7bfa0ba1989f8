// Capture: agents, conversations, messages, identify; the agent's context; merge.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { type TSchema, Type } from '@sinclair/typebox';
import type { ConversationService } from '../../services/conversations.js';
import type { DataExportService } from '../../services/data-export.js';
import type { MergeService } from '../../services/merge.js';
import { principalOf } from '../auth.js';
import { errors, IdParams, PageQuery, pageOf } from '../schemas.js';

const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);
const Agent = Type.Object({
  id: Type.String(), name: Type.String(), widget_key: Type.String({ description: 'Publishable (pk_...), safe in a web page' }),
  allowed_origins: Type.Array(Type.String()), is_default: Type.Boolean(), created_at: Type.String({ format: 'date-time' }),
});
const Message = Type.Object({ id: Type.String(), role: Type.String(), text: Type.String(), at: Type.String({ format: 'date-time' }) });
const Conversation = Type.Object({
  id: Type.String(), agent_id: Type.String(), channel: Type.String(), visitor_id: Nullable(Type.String()), contact_id: Nullable(Type.String()),
  page_url: Nullable(Type.String()), started_at: Type.String({ format: 'date-time' }), last_message_at: Nullable(Type.String({ format: 'date-time' })),
  message_count: Type.Integer(), messages: Type.Optional(Type.Array(Message)),
});
const Context = Type.Object({
  contact: Nullable(Type.Ref('Contact')),
  returning: Type.Boolean({ description: 'The contact has had more than one conversation' }),
  tags: Type.Array(Type.String()),
  lifecycle_stage: Nullable(Type.String()),
  conversations: Type.Array(Type.Object({
    id: Type.String(), channel: Type.String(), started_at: Type.String({ format: 'date-time' }),
    messages: Type.Array(Type.Object({ role: Type.String(), text: Type.String(), at: Type.String({ format: 'date-time' }) })),
  }), { description: 'The latest conversations (at most 5), each with its last 20 messages' }),
});
function conversationToken(headers: Record<string, unknown>): string | undefined {
  const t = headers['x-conversation-token'];
  return typeof t === 'string' ? t : undefined;
}

const Origins = Type.Array(Type.String({ maxLength: 300 }), { maxItems: 50 });

export function conversationRoutes(conversations: ConversationService, merges: MergeService, dataExports: DataExportService): FastifyPluginAsyncTypebox {
  return async (app) => {
    const tags = ['Capture'];
    app.get('/v1/agents', {
      config: { scope: 'read' },
      schema: { tags, summary: "The workspace's agents, oldest first (a default one always exists)", querystring: PageQuery, response: { 200: pageOf(Agent), ...errors() } },
    }, async (request) => conversations.listAgents(principalOf(request), request.query.limit, request.query.cursor));

    app.post('/v1/agents', {
      config: { scope: 'admin' },
      schema: {
        tags, summary: 'Create an agent', body: Type.Object({ name: Type.String({ maxLength: 200 }), allowed_origins: Type.Optional(Origins) }, { additionalProperties: false }),
        response: { 201: Agent, ...errors() },
      },
    }, async (request, reply) => reply.code(201).send(await conversations.createAgent(principalOf(request), request.body.name, request.body.allowed_origins ?? [])));

    app.patch('/v1/agents/:id', {
      config: { scope: 'admin' },
      schema: {
        tags, summary: "Change an agent's name or allowed origins", params: IdParams,
        body: Type.Object({ name: Type.Optional(Type.String({ maxLength: 200 })), allowed_origins: Type.Optional(Origins) }, { additionalProperties: false }),
        response: { 200: Agent, ...errors() },
      },
    }, async (request) => conversations.updateAgent(principalOf(request), request.params.id, request.body));

    app.post('/v1/agents/:id/widget-key', {
      config: { scope: 'admin' },
      schema: { tags, summary: 'Rotate the publishable widget key (the old one stops at once)', params: IdParams, response: { 200: Agent, ...errors() } },
    }, async (request) => conversations.rotateWidgetKey(principalOf(request), request.params.id));

    app.post('/v1/conversations', {
      config: { scope: 'write', widget: true },
      schema: {
        tags, summary: 'Start a conversation (anonymous: creates no contact)',
        body: Type.Object({
          agent_id: Type.Optional(Type.String({ maxLength: 64 })),
          channel: Type.Optional(Type.String({ maxLength: 32, description: 'widget, whatsapp, slack, api or a custom word; default api' })),
          visitor_id: Type.Optional(Type.String({ maxLength: 200, description: "The caller's stable anonymous id: widget cookie, WhatsApp number, Slack user" })),
          page_url: Type.Optional(Nullable(Type.String({ maxLength: 2048 }))),
          ip: Type.Optional(Nullable(Type.String({ maxLength: 64, description: "The visitor's address: gives ip_country (kept for EU, EEA, UK and Swiss visitors only with consent); never stored" }))),
        }, { additionalProperties: false }),
        response: {
          201: Type.Composite([Conversation, Type.Object({
            token: Type.Optional(Type.String({ description: 'For a widget key: send as X-Conversation-Token on every later call for this conversation' })),
            consent_required: Type.Optional(Type.Boolean({ description: 'For a widget key: show the consent banner before collecting details' })),
            consent_text: Type.Optional(Nullable(Type.String({ description: "For a widget key: the banner's wording" }))),
          })]),
          ...errors(),
        },
      },
    }, async (request, reply) => reply.code(201).send(await conversations.start(principalOf(request), request.body, request.ip)));

    app.post('/v1/conversations/:id/messages', {
      config: { scope: 'write', widget: true },
      schema: {
        tags, summary: 'Append a message', params: IdParams,
        body: Type.Object({ role: Type.Union([Type.Literal('user'), Type.Literal('agent')]), text: Type.String(), at: Type.Optional(Type.String()) }, { additionalProperties: false }),
        response: { 201: Message, ...errors() },
      },
    }, async (request, reply) => reply.code(201).send(await conversations.appendMessage(principalOf(request), request.params.id, request.body, conversationToken(request.headers))));

    app.post('/v1/conversations/:id/identify', {
      config: { scope: 'write', widget: true },
      schema: {
        tags, summary: 'Identify the visitor (Lead Capture or a custom action)',
        description: 'Matches by email, then phone, then the contact the visitor is linked to; creates or updates it and links this and the visitor\'s earlier anonymous conversations. With consent declined (or missing where the workspace requires it) nothing is stored and contact is null.',
        params: IdParams,
        body: Type.Object({
          action: Type.Optional(Type.String({ maxLength: 64 })),
          name: Type.Optional(Nullable(Type.String())), email: Type.Optional(Nullable(Type.String())), phone: Type.Optional(Nullable(Type.String())),
          company: Type.Optional(Nullable(Type.String())), metadata: Type.Optional(Nullable(Type.Object({}, { additionalProperties: true }))),
          consent: Type.Optional(Type.Object({ given: Type.Boolean(), at: Type.Optional(Type.String()) }, { additionalProperties: false })),
        }, { additionalProperties: false }),
        response: {
          200: Type.Union([
            Type.Object({ contact: Nullable(Type.Ref('Contact')), created: Type.Boolean() }),
            Type.Object({ identified: Type.Boolean({ description: 'The answer to a widget key: never the profile' }) }),
          ]),
          ...errors(),
        },
      },
    }, async (request) => {
      const p = principalOf(request);
      const result = await conversations.identify(p, request.params.id, request.body, conversationToken(request.headers));
      return p.kind === 'widget' ? { identified: result.contact !== null } : result;
    });

    app.get('/v1/conversations/:id', {
      config: { scope: 'read', widget: true },
      schema: { tags, summary: 'A conversation with its transcript, oldest message first', params: IdParams, response: { 200: Conversation, ...errors() } },
    }, async (request) => conversations.get(principalOf(request), request.params.id, conversationToken(request.headers)));

    app.get('/v1/conversations', {
      config: { scope: 'read' },
      schema: {
        tags, summary: 'Conversations, newest first',
        querystring: Type.Object({
          contact_id: Type.Optional(Type.String({ maxLength: 64 })), visitor_id: Type.Optional(Type.String({ maxLength: 200 })),
          channel: Type.Optional(Type.String({ maxLength: 32, description: 'With visitor_id; default widget' })),
          anonymous: Type.Optional(Type.String({ description: 'true: only conversations with no contact' })),
          limit: Type.Optional(Type.String()), cursor: Type.Optional(Type.String()),
        }, { additionalProperties: false }),
        response: { 200: pageOf(Conversation), ...errors() },
      },
    }, async (request) => conversations.list(principalOf(request), request.query));

    app.get('/v1/contacts/:id/conversations', {
      config: { scope: 'read' },
      schema: {
        tags: ['Contacts'], summary: "A contact's conversations, newest first", params: IdParams,
        querystring: Type.Object({ limit: Type.Optional(Type.String()), cursor: Type.Optional(Type.String()) }, { additionalProperties: false }),
        response: { 200: pageOf(Conversation), ...errors() },
      },
    }, async (request) => conversations.list(principalOf(request), { ...request.query, contact_id: request.params.id }));

    app.get('/v1/contacts/:id/context', {
      config: { scope: 'read' },
      schema: { tags: ['Contacts'], summary: "For the agent: profile, tags and the latest conversations' messages", params: IdParams, response: { 200: Context, ...errors() } },
    }, async (request) => conversations.context(principalOf(request), request.params.id));

    app.get('/v1/visitors/:visitor_id/context', {
      config: { scope: 'read' },
      schema: {
        tags, summary: "A visitor's context: the contact's, or an empty profile while anonymous",
        params: Type.Object({ visitor_id: Type.String({ maxLength: 200 }) }),
        querystring: Type.Object({ channel: Type.Optional(Type.String({ maxLength: 32, description: 'Default widget' })) }, { additionalProperties: false }),
        response: { 200: Context, ...errors() },
      },
    }, async (request) => conversations.visitorContext(principalOf(request), request.params.visitor_id, request.query.channel ?? 'widget'));

    app.get('/v1/contacts/:id/data-export', {
      config: { scope: 'read' },
      schema: {
        tags: ['Contacts'], summary: 'GDPR access request: everything held about the person, as one JSON document',
        description: 'Profile, identities (visitor ids per channel), every conversation with its transcript, notes, consents and the timeline.',
        params: IdParams,
        response: {
          200: Type.Object({
            exported_at: Type.String({ format: 'date-time' }), contact: Type.Ref('Contact'),
            identities: Type.Array(Type.Object({ channel: Type.String(), visitor_id: Type.String(), first_seen: Type.String({ format: 'date-time' }) })),
            conversations: Type.Array(Conversation),
            notes: Type.Array(Type.Object({ id: Type.String(), body: Type.String(), created_at: Type.String({ format: 'date-time' }) })),
            consents: Type.Array(Type.Object({ given: Type.Boolean(), channel: Nullable(Type.String()), wording: Nullable(Type.String()), at: Type.String({ format: 'date-time' }) })),
            timeline: Type.Array(Type.Object({ id: Type.String(), type: Type.String(), occurred_at: Type.String({ format: 'date-time' }), data: Type.Unknown() })),
          }),
          ...errors(),
        },
      },
    }, async (request, reply) => {
      const doc = await dataExports.export(principalOf(request), request.params.id);
      return reply.header('content-disposition', `attachment; filename="${request.params.id.replace(/[^a-z0-9_]/gi, '')}-data.json"`).send(doc);
    });

    app.post('/v1/contacts/:id/merge', {
      config: { scope: 'write' },
      schema: {
        tags: ['Contacts'], summary: 'Fold another contact into this one', params: IdParams,
        body: Type.Object({ from: Type.String({ maxLength: 64 }) }, { additionalProperties: false }),
        response: { 200: Type.Ref('Contact'), ...errors() },
      },
    }, async (request) => merges.merge(principalOf(request), request.params.id, request.body.from));
  };
}
