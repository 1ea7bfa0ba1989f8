// /v1/contacts/export and /v1/exports: start an async CSV export, watch it, download the file.
import fs from 'node:fs';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { ExportService } from '../../services/exports.js';
import { principalOf } from '../auth.js';
import { Actor, errors, IdParams, Nullable, pageOf, PageQuery } from '../schemas.js';

const tags = ['Exports'];

export const ExportObject = Type.Object({
  id: Type.String({ examples: ['exp_mx7s1a024k2j1m0a9b7c6d8e'] }),
  status: Type.Union(['queued', 'running', 'completed', 'failed'].map((s) => Type.Literal(s))),
  format: Type.Literal('csv'),
  filters: Type.Object({}, { additionalProperties: true, description: 'The list parameters it was started with' }),
  fields: Type.Array(Type.String(), { description: 'The CSV columns, in the documented order' }),
  row_count: Type.Integer({ description: 'Rows written so far; all of them once completed' }),
  progress: Type.Number({ minimum: 0, maximum: 1 }),
  download_url: Nullable(Type.String({ description: 'Once completed: works without credentials, 410 from 24 hours after completion' })),
  expires_at: Nullable(Type.String({ format: 'date-time' })),
  requested_by: Nullable(Actor),
  error: Nullable(Type.String()),
  created_at: Type.String({ format: 'date-time' }),
  completed_at: Nullable(Type.String({ format: 'date-time' })),
}, { $id: 'Export' });

const ExportRequest = Type.Object({
  filters: Type.Optional(Nullable(Type.Object({}, { additionalProperties: true, description: 'List parameters by name (GET /v1/contacts); a comma list may be an array, tag is an array, booleans and numbers as JSON values; `sort` too. None: every contact' }))),
  fields: Type.Optional(Nullable(Type.Array(Type.String(), { description: 'Columns; default id,name,email,phone,company,source,first_seen,last_seen,conversation_count,tags,page_url,ip_country. Also lifecycle_stage, archived, created_at, updated_at, metadata. Written in the documented order' }))),
  format: Type.Optional(Nullable(Type.Literal('csv'))),
}, { additionalProperties: false });

/** Where the caller reached us: the base of links in answers. */
export function originOf(request: FastifyRequest): string {
  return `${request.protocol}://${request.host}`;
}

export function exportRoutes(exports: ExportService): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.addSchema(ExportObject);

    app.post('/v1/contacts/export', {
      config: { scope: 'write' },
      schema: {
        tags, summary: 'Start an async CSV export', description: 'Answers 202 with the export; poll GET /v1/exports/{id} until completed, then fetch download_url.',
        body: ExportRequest, response: { 202: Type.Ref('Export'), ...errors() },
      },
    }, async (request, reply) => reply.code(202).send(await exports.start(principalOf(request), request.body ?? {}, originOf(request))));

    app.get('/v1/exports', {
      config: { scope: 'read' },
      schema: { tags, summary: 'Past exports, newest first', querystring: PageQuery, response: { 200: pageOf(Type.Ref('Export')), ...errors() } },
    }, async (request) => exports.list(principalOf(request), request.query.limit, request.query.cursor, originOf(request)));

    app.get('/v1/exports/:id', {
      config: { scope: 'read' },
      schema: { tags, summary: 'One export: status, progress, row count and the download link', params: IdParams, response: { 200: Type.Ref('Export'), ...errors() } },
    }, async (request) => exports.get(principalOf(request), request.params.id, originOf(request)));

    app.get('/v1/exports/:id/download', {
      schema: {
        tags, summary: "Download an export's CSV (the download_url; no other credentials)",
        description: '404 for a wrong token, 410 from 24 hours after completion.',
        params: IdParams, querystring: Type.Object({ token: Type.Optional(Type.String({ maxLength: 200 })) }),
        response: { 200: { description: 'The CSV file', content: { 'text/csv': { schema: Type.String() } } }, ...errors(410) },
      },
    }, async (request, reply) => {
      const { file, filename } = await exports.download(request.params.id, request.query.token);
      const stat = await fs.promises.stat(file);
      return reply
        .header('content-type', 'text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="${filename}"`)
        .header('content-length', stat.size)
        .header('cache-control', 'no-store')
        .header('referrer-policy', 'no-referrer')
        // Streamed: the schema above documents the body; the file is never read into memory.
        .send(fs.createReadStream(file) as unknown as string);
    });
  };
}
