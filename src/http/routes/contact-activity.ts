// A contact's notes and activity timeline, and the workspace's tags.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { ContactService } from '../../services/contacts.js';
import { principalOf } from '../auth.js';
import { errors, IdParams, Note, NoteCreate, PageQuery, pageOf, TimelineEntry } from '../schemas.js';

export function contactActivityRoutes(contacts: ContactService): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get('/v1/contacts/:id/notes', {
      config: { scope: 'read' },
      schema: { tags: ['Notes'], summary: "A contact's notes, newest first", params: IdParams, querystring: PageQuery, response: { 200: pageOf(Note), ...errors() } },
    }, async (request) => contacts.listNotes(principalOf(request), request.params.id, request.query.limit, request.query.cursor));

    app.post('/v1/contacts/:id/notes', {
      config: { scope: 'write' },
      schema: { tags: ['Notes'], summary: 'Add an internal note', params: IdParams, body: NoteCreate, response: { 201: Note, ...errors() } },
    }, async (request, reply) => reply.code(201).send(await contacts.addNote(principalOf(request), request.params.id, request.body.body)));

    app.get('/v1/contacts/:id/timeline', {
      config: { scope: 'read' },
      schema: { tags: ['Contacts'], summary: 'Activity events, newest first', params: IdParams, querystring: PageQuery, response: { 200: pageOf(TimelineEntry), ...errors() } },
    }, async (request) => contacts.timeline(principalOf(request), request.params.id, request.query.limit, request.query.cursor));

    app.get('/v1/tags', {
      config: { scope: 'read' },
      schema: {
        tags: ['Contacts'], summary: "The workspace's tags with how many contacts carry each, in tag order",
        querystring: Type.Composite([PageQuery, Type.Object({ prefix: Type.Optional(Type.String({ maxLength: 64 })) })], { additionalProperties: false }),
        response: { 200: pageOf(Type.Object({ tag: Type.String(), count: Type.Integer() })), ...errors() },
      },
    }, async (request) => contacts.tags(principalOf(request), request.query.prefix ?? null, request.query.limit, request.query.cursor));
  };
}
