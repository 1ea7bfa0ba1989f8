// /v1/imports: upload a CSV (multipart, or a text/csv body), watch the import, fetch its report.
import fs from 'node:fs';
import type { Readable } from 'node:stream';
import multipart from '@fastify/multipart';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { Invalid, UnsupportedMediaType } from '../../domain/errors.js';
import { IMPORT_FIELDS } from '../../domain/import-mapping.js';
import type { ImportService, Upload } from '../../services/imports.js';
import { principalOf } from '../auth.js';
import { Actor, errors, IdParams, Nullable, pageOf, PageQuery } from '../schemas.js';
import { originOf } from './exports.js';

const tags = ['Imports'];

const ImportObject = Type.Object({
  id: Type.String({ examples: ['imp_mx7s1a024k2j1m0a9b7c6d8e'] }),
  status: Type.Union(['queued', 'running', 'completed', 'failed'].map((s) => Type.Literal(s))),
  dry_run: Type.Boolean({ description: 'Counts what would happen; writes no contact' }),
  historical: Type.Boolean(),
  columns: Type.Array(Type.String(), { description: "The file's header row" }),
  mapping: Type.Record(Type.String(), Nullable(Type.String()), { description: `Column -> field (null: not imported). Fields: ${IMPORT_FIELDS.join(', ')}` }),
  progress: Type.Number({ minimum: 0, maximum: 1 }),
  rows: Type.Integer({ description: 'Rows read so far' }),
  created: Type.Integer(),
  updated: Type.Integer({ description: 'Matched an existing contact by email, then phone (or an earlier row of the file)' }),
  skipped: Type.Integer({ description: 'Not imported on purpose: an erased (suppressed) person' }),
  failed: Type.Integer({ description: 'Rejected by validation' }),
  report_url: Nullable(Type.String({ description: 'Once completed: a CSV of each rejected or skipped row with a reason column; no other credentials; 410 after 24 hours' })),
  notes: Type.Array(Type.String(), { description: 'Columns ignored, and why' }),
  requested_by: Nullable(Actor),
  error: Nullable(Type.String()),
  created_at: Type.String({ format: 'date-time' }),
  completed_at: Nullable(Type.String({ format: 'date-time' })),
}, { $id: 'Import' });

const ImportQuery = Type.Object({
  mapping: Type.Optional(Type.String({ description: 'With a text/csv body: JSON object from column header to contact field, or null to skip a column; unmapped headers are matched automatically' })),
  dry_run: Type.Optional(Type.String({ description: 'true: report what would happen, write nothing' })),
  historical: Type.Optional(Type.String({ description: 'true (admin): keep created_at, first_seen, last_seen, conversation_count' })),
}, { additionalProperties: false });

export function importRoutes(imports: ImportService, maxBytes: number): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.addSchema(ImportObject);
    await app.register(multipart, { limits: { fileSize: maxBytes, files: 1, fields: 10, fieldSize: 1024 * 1024, parts: 12 } });
    // A text/csv body reaches the handler as the raw stream, read once, straight to disk.
    app.addContentTypeParser('text/csv', (_request, payload, done) => done(null, payload));

    app.post('/v1/imports', {
      config: { scope: 'write', streamedBody: true },
      schema: {
        tags, summary: 'Start an async CSV import',
        description: 'multipart/form-data with `file` and optional fields `mapping` (JSON), `dry_run`, `historical`; or a text/csv body with the same options as query parameters. Answers 202; poll GET /v1/imports/{id}. An Idempotency-Key replays the first import for the same file and options.',
        querystring: ImportQuery,
        consumes: ['multipart/form-data', 'text/csv'],
        response: { 202: Type.Ref('Import'), ...errors(413) },
      },
    }, async (request, reply) => {
      const p = principalOf(request);
      const options: Record<string, unknown> = { ...request.query };
      let upload: Upload | null = null;
      try {
        if (request.isMultipart()) {
          for await (const part of request.parts()) {
            if (part.type === 'file') {
              if (part.fieldname !== 'file' || upload) throw Invalid.field(part.fieldname, 'unexpected file: send one file, in the field "file"');
              upload = await imports.receive(part.file);
            } else if (['mapping', 'dry_run', 'historical'].includes(part.fieldname)) {
              options[part.fieldname] = part.value;
            } else {
              throw Invalid.field(part.fieldname, 'is not an import option (file, mapping, dry_run, historical)');
            }
          }
        } else if (request.headers['content-type']?.startsWith('text/csv')) {
          upload = await imports.receive(request.body as Readable);
        } else {
          throw new UnsupportedMediaType('Send the CSV as multipart/form-data (field "file") or as a text/csv body');
        }
        const key = request.headers['idempotency-key'];
        const view = await imports.start(p, { upload, ...options, idempotencyKey: typeof key === 'string' ? key : undefined }, originOf(request));
        return await reply.code(202).send(view);
      } catch (error) {
        await imports.discard(upload);
        throw error;
      }
    });

    app.get('/v1/imports', {
      config: { scope: 'read' },
      schema: { tags, summary: 'Past imports, newest first', querystring: PageQuery, response: { 200: pageOf(Type.Ref('Import')), ...errors() } },
    }, async (request) => imports.list(principalOf(request), request.query.limit, request.query.cursor, originOf(request)));

    app.get('/v1/imports/:id', {
      config: { scope: 'read' },
      schema: { tags, summary: 'One import: status, progress, counts and the report link', params: IdParams, response: { 200: Type.Ref('Import'), ...errors() } },
    }, async (request) => imports.get(principalOf(request), request.params.id, originOf(request)));

    app.get('/v1/imports/:id/report', {
      schema: {
        tags, summary: "Download an import's report of rejected and skipped rows (the report_url; no other credentials)",
        params: IdParams, querystring: Type.Object({ token: Type.Optional(Type.String({ maxLength: 200 })) }),
        response: { 200: { description: 'CSV: row, the original columns, reason', content: { 'text/csv': { schema: Type.String() } } }, ...errors(410) },
      },
    }, async (request, reply) => {
      const { file, filename } = await imports.report(request.params.id, request.query.token);
      return reply
        .header('content-type', 'text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="${filename}"`)
        .header('cache-control', 'no-store')
        .send(fs.createReadStream(file) as unknown as string);
    });
  };
}
