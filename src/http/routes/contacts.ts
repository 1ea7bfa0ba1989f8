// /v1/contacts: list, count, get, create, update, delete, batch.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { Forbidden } from '../../domain/errors.js';
import { grants, scopesOf } from '../../domain/access.js';
import type { ContactService } from '../../services/contacts.js';
import { principalOf } from '../auth.js';
import {
  Actor, BatchRequest, BatchResponse, ContactCreate, ContactPatch, CountQuery, errors, IdParams, ListQuery, Nullable, pageOf, PageQuery,
} from '../schemas.js';

const ErasureReceipt = Type.Object({
  id: Type.String({ examples: ['ers_mx7s1a020k2j1m0a9b7c6d8e'] }),
  contact_id: Type.String(),
  erased_at: Type.String({ format: 'date-time' }),
  erased_by: Nullable(Actor),
  removed: Type.Record(Type.String(), Type.Integer(), { description: 'Rows removed, by kind: contacts, conversations, messages, notes, consents, identities, events' }),
  notified: Type.Array(Type.String(), { description: 'Integrations told of the erasure' }),
});

const tags = ['Contacts'];

export function contactRoutes(contacts: ContactService): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get('/v1/contacts', {
      config: { scope: 'read' },
      schema: { tags, summary: 'List contacts', description: 'Search, filters, sort and cursor pagination (API.md, List parameters).', querystring: ListQuery, response: { 200: pageOf(Type.Ref('Contact')), ...errors() } },
    }, async (request) => contacts.list(principalOf(request), request.query));

    app.get('/v1/contacts/count', {
      config: { scope: 'read' },
      schema: { tags, summary: 'Count contacts matching the list parameters', querystring: CountQuery, response: { 200: Type.Object({ count: Type.Integer() }), ...errors() } },
    }, async (request) => ({ count: await contacts.count(principalOf(request), request.query) }));

    app.get('/v1/contacts/:id', {
      config: { scope: 'read' },
      schema: { tags, summary: 'Get a contact', params: IdParams, response: { 200: Type.Ref('Contact'), ...errors() } },
    }, async (request) => contacts.get(principalOf(request), request.params.id));

    app.post('/v1/contacts', {
      config: { scope: 'write' },
      schema: {
        tags, summary: 'Create a contact', description: '409 with existing_id when the email (case-insensitively) or phone (E.164) belongs to a contact already.',
        body: ContactCreate, response: { 201: Type.Ref('Contact'), ...errors(409) },
      },
    }, async (request, reply) => reply.code(201).send(await contacts.create(principalOf(request), request.body)));

    app.patch('/v1/contacts/:id', {
      config: { scope: 'write' },
      schema: { tags, summary: 'Update a contact', params: IdParams, body: ContactPatch, response: { 200: Type.Ref('Contact'), ...errors(409) } },
    }, async (request) => contacts.update(principalOf(request), request.params.id, request.body));

    app.delete('/v1/contacts/:id', {
      config: { scope: 'write' },
      schema: {
        tags, summary: 'Delete a contact permanently (GDPR erasure)',
        description: 'Removes the contact, its conversations, messages, notes, consents, identities and events; emits contact.deleted with only the id; keeps an erasure receipt (its id in the Erasure-Receipt header, listed by GET /v1/erasures) and hashes of the email and phone, so a batch or import skips the person instead of re-creating them.',
        params: IdParams, response: { 204: Type.Null(), ...errors() },
      },
    }, async (request, reply) => {
      const receipt = await contacts.delete(principalOf(request), request.params.id);
      return reply.code(204).header('erasure-receipt', receipt.id).send(null);
    });

    app.post('/v1/contacts/:id/restore', {
      config: { scope: 'write' },
      schema: { tags, summary: 'Restore an archived contact', description: '409 while the workspace is at its contact limit.', params: IdParams, response: { 200: Type.Ref('Contact'), ...errors(409) } },
    }, async (request) => contacts.restore(principalOf(request), request.params.id));

    app.get('/v1/erasures', {
      config: { scope: 'admin' },
      schema: {
        tags, summary: 'Erasure receipts, newest first', description: 'What each erasure removed, when and by whom; no personal data.',
        querystring: PageQuery, response: { 200: pageOf(ErasureReceipt), ...errors() },
      },
    }, async (request) => contacts.erasures(principalOf(request), request.query.limit, request.query.cursor));

    app.post('/v1/contacts/batch', {
      config: { scope: 'write' },
      bodyLimit: 20 * 1024 * 1024,
      schema: {
        tags, summary: 'Create or update up to 1,000 contacts', description: 'Matched by email, then phone. `historical: true` (admin scope) keeps migrated created_at, first_seen, last_seen and conversation_count as a baseline.',
        body: BatchRequest, response: { 200: BatchResponse, ...errors() },
      },
    }, async (request) => {
      const p = principalOf(request);
      const historical = request.body.historical === true;
      if (historical && !grants(scopesOf(p), 'admin')) throw new Forbidden('historical mode needs the admin scope (or an admin role)');
      return { results: await contacts.batch(p, request.body.contacts, historical) };
    });
  };
}
