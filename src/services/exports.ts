// Async CSV exports: a request queues a durable job; a worker streams the matching contacts to a file
// in batches (memory flat in the row count), then a download link with an unguessable token works
// for 24 hours without other credentials. History is kept per plan; the requester may be mailed.
import fs from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { actorOf, type Actor, type Principal } from '../domain/access.js';
import { csvCell, csvLine, type ExportColumn, exportColumns, neutralise } from '../domain/csv.js';
import { LIST_PARAMETERS, parseFilter, parseLimit, parseSort } from '../domain/contact-query.js';
import { Gone, Invalid, NotFound } from '../domain/errors.js';
import { newId, randomToken, sameToken } from '../domain/ids.js';
import { PLAN_LIMITS } from '../domain/plans.js';
import { toIso } from '../domain/time.js';
import type { Mailer } from '../integrations/mail.js';
import { countContacts, streamContacts } from '../store/contact-list.js';
import * as events from '../store/events.js';
import { enqueueJob } from '../store/jobs.js';
import type { ContactRow, ExportRow, WorkspaceRow } from '../store/schema.js';
import * as tasks from '../store/tasks.js';
import { getWorkspace } from '../store/workspaces.js';
import type { JobContext } from '../jobs/runner.js';
import { decodeNewestFirst, newestFirstPage } from './cursors.js';
import type { Page } from './contacts.js';
import type { ServiceDeps } from './deps.js';

/** A download link works this long after the export completes. */
export const DOWNLOAD_WINDOW_MS = 24 * 3600_000;
/**
 * Rows formatted and written at a time (the server's other work runs between them). 500 rows make
 * about 90 KB of text, under V8's 128 KB limit for an ordinary heap object; 2,000 made 350 KB strings
 * that live in the large-object space until a full collection, and the server's RSS grew by 50 MiB over
 * an export of a million (with 500: flat, and a little faster).
 */
const BATCH_ROWS = 500;

export interface ExportRequest {
  filters?: unknown;
  fields?: unknown;
  format?: unknown;
}

export interface ExportView {
  id: string;
  status: ExportRow['status'];
  format: string;
  filters: Record<string, unknown>;
  fields: string[];
  row_count: number;
  progress: number;
  download_url: string | null;
  expires_at: string | null;
  requested_by: Actor | null;
  error: string | null;
  created_at: string;
  completed_at: string | null;
}

export interface ExportDeps extends ServiceDeps {
  filesDir: string;
  publicUrl: string | null;
  mailer: Mailer | null;
  poke(): void;
}

/** The filters object: the list parameters (and `sort`) by name, checked as the list checks them. */
function checkFilters(filters: unknown, ws: WorkspaceRow, now: number): Record<string, unknown> {
  if (filters === undefined || filters === null) return {};
  if (typeof filters !== 'object' || Array.isArray(filters)) throw Invalid.field('filters', 'must be an object of list parameters');
  const given = filters as Record<string, unknown>;
  const unknown = Object.keys(given).filter((k) => k !== 'sort' && !(LIST_PARAMETERS as readonly string[]).includes(k));
  if (unknown.length) throw new Invalid(unknown.map((k) => ({ field: `filters.${k}`, message: 'is not a list parameter; see GET /v1/contacts' })));
  try {
    const { sort, ...rest } = given;
    parseSort(sort);
    parseFilter(rest, { timezone: ws.timezone, now });
  } catch (error) {
    if (error instanceof Invalid) throw new Invalid(error.errors.map((e) => ({ ...e, field: `filters.${e.field}` })));
    throw error;
  }
  return given;
}

/** How each column's value becomes its cell, formula cells neutralised (the API's values). */
function cellFormatter(column: ExportColumn): (value: unknown) => string {
  switch (column) {
    case 'tags': return (v) => (v === '[]' ? '' : csvCell(neutralise((JSON.parse(v as string) as string[]).join(',')), true));
    case 'first_seen': case 'last_seen': case 'created_at': case 'updated_at': return (v) => toIso(v as number);
    case 'conversation_count': return (v) => String(v);
    case 'archived': return (v) => (v === 1 ? 'true' : 'false');
    case 'metadata': case 'id': case 'name': case 'email': case 'phone': case 'company': case 'source': case 'page_url': case 'ip_country': case 'lifecycle_stage':
      return (v) => (v === null ? '' : csvCell(neutralise(v as string)));
  }
}

/** Rows of the chosen columns' values as CSV lines. */
function csvRecords(columns: ExportColumn[]): (rows: unknown[][]) => string {
  const cells = columns.map(cellFormatter);
  const [first, ...rest] = cells;
  return (rows) => {
    let text = '';
    for (const row of rows) {
      text += first!(row[0]);
      for (let i = 0; i < rest.length; i++) text += ',' + rest[i]!(row[i + 1]);
      text += '\r\n';
    }
    return text;
  };
}

/** Whether the file holds any of the strings, read in chunks (a needle across two chunks is found too). */
async function fileContains(file: string, needles: string[]): Promise<boolean> {
  const wanted = needles.map((n) => Buffer.from(n));
  const overlap = Math.max(...wanted.map((w) => w.length));
  let tail = Buffer.alloc(0);
  try {
    for await (const chunk of fs.createReadStream(file, { highWaterMark: 1 << 20 })) {
      const window = Buffer.concat([tail, chunk as Buffer]);
      if (wanted.some((w) => window.includes(w))) return true;
      tail = window.subarray(Math.max(0, window.length - overlap));
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
  return false;
}


export function createExportService(deps: ExportDeps) {
  const { store, clock, filesDir, publicUrl, mailer } = deps;
  const dir = path.join(filesDir, 'exports');

  async function workspace(id: string): Promise<WorkspaceRow> {
    const ws = await getWorkspace(store.db, id);
    if (!ws) throw new NotFound('workspace');
    return ws;
  }

  function present(row: ExportRow, origin: string): ExportView {
    const completed = row.status === 'completed' && row.completed_at !== null;
    return {
      id: row.id, status: row.status, format: row.format,
      filters: JSON.parse(row.filters) as Record<string, unknown>, fields: JSON.parse(row.fields) as string[],
      row_count: row.row_count, progress: row.progress,
      download_url: completed && row.download_token ? `${publicUrl ?? origin}/v1/exports/${row.id}/download?token=${row.download_token}` : null,
      expires_at: completed ? toIso(row.completed_at! + DOWNLOAD_WINDOW_MS) : null,
      requested_by: row.requested_by ? (JSON.parse(row.requested_by) as Actor) : null,
      error: row.error, created_at: toIso(row.created_at), completed_at: row.completed_at === null ? null : toIso(row.completed_at),
    };
  }

  async function mustGet(workspaceId: string, id: string): Promise<ExportRow> {
    const row = await tasks.getTask(store.db, 'exports', workspaceId, id);
    if (!row) throw new NotFound('export');
    return row;
  }

  /** Free keeps the last export only; pro and business keep theirs 90 days and a year. */
  async function pruneHistory(ws: WorkspaceRow): Promise<void> {
    const days = PLAN_LIMITS[ws.plan as keyof typeof PLAN_LIMITS]?.export_history_days;
    if (days === null || days === undefined) return;
    const now = clock.now();
    const finished = await tasks.tasksCreatedBefore(store.db, 'exports', ws.id, days === 0 ? now + 1 : now - days * 86_400_000);
    const keep = days === 0 ? finished.reduce<ExportRow | null>((a, r) => (a && (a.created_at > r.created_at || (a.created_at === r.created_at && a.id > r.id)) ? a : r), null) : null;
    const gone = finished.filter((r) => r !== keep);
    for (const r of gone) if (r.file_path) await fs.promises.rm(r.file_path, { force: true });
    await store.transaction((trx) => tasks.deleteTasks(trx, 'exports', gone.map((r) => r.id)));
  }

  async function mailRequester(row: ExportRow): Promise<void> {
    const actor = row.requested_by ? (JSON.parse(row.requested_by) as Actor) : null;
    if (!mailer || actor?.type !== 'user' || !actor.name) return;
    const view = present(row, row.origin ?? '');
    await mailer.send({
      to: actor.name,
      subject: `Your contacts export is ready (${row.row_count.toLocaleString('en-US')} contacts)`,
      text: `Your export of ${row.row_count.toLocaleString('en-US')} contacts is ready:\n\n${view.download_url}\n\nThe link works until ${view.expires_at} (24 hours).\n`,
    });
  }

  return {
    async start(p: Principal, input: ExportRequest, origin: string): Promise<ExportView> {
      const ws = await workspace(p.workspaceId);
      if (input.format !== undefined && input.format !== null && input.format !== 'csv') throw Invalid.field('format', 'must be "csv"');
      const filters = checkFilters(input.filters, ws, clock.now());
      const columns = exportColumns(input.fields);
      const now = clock.now();
      const row: ExportRow = {
        id: newId('export'), workspace_id: ws.id, requested_by: JSON.stringify(actorOf(p)), filters: JSON.stringify(filters),
        fields: JSON.stringify(columns), format: 'csv', status: 'queued', row_count: 0, progress: 0, file_path: null,
        token_hash: null, download_token: null, origin: publicUrl ?? origin, error: null, created_at: now, completed_at: null, file_deleted_at: null,
      };
      await store.transaction(async (trx) => {
        await tasks.insertTask(trx, 'exports', row);
        await enqueueJob(trx, { id: newId('job'), workspace_id: ws.id, kind: 'export', payload: JSON.stringify({ export_id: row.id }), run_at: now }, now);
      });
      deps.poke();
      return present(row, origin);
    },

    async get(p: Principal, id: string, origin: string): Promise<ExportView> {
      return present(await mustGet(p.workspaceId, id), origin);
    },

    async list(p: Principal, limitParam: unknown, cursorParam: unknown, origin: string): Promise<Page<ExportView>> {
      const limit = parseLimit(limitParam);
      const rows = await tasks.listTasks(store.db, 'exports', p.workspaceId, decodeNewestFirst(cursorParam), limit + 1);
      return newestFirstPage(rows, limit, (r) => r.created_at, (r) => present(r, origin));
    },

    /** The file behind a download link: 404 for a wrong token, 410 once the window has closed. */
    async download(id: string, token: unknown): Promise<{ file: string; filename: string }> {
      const row = typeof token === 'string' && token.length <= 100 ? await tasks.getTask(store.db, 'exports', null, id) : undefined;
      if (!row || row.status !== 'completed' || !row.download_token || !sameToken(row.download_token, token as string)) throw new NotFound('export');
      if (clock.now() >= row.completed_at! + DOWNLOAD_WINDOW_MS || row.file_deleted_at !== null || !row.file_path) {
        throw new Gone('This download link has expired (links work for 24 hours); start a new export');
      }
      return { file: row.file_path, filename: `contacts-${toIso(row.created_at).slice(0, 10)}-${row.id}.csv` };
    },

    /** The worker: streams the export to a file, then publishes the link. A rerun starts the file over. */
    async run(payload: unknown, ctx: JobContext): Promise<void> {
      const { export_id: id } = payload as { export_id: string };
      const row = await tasks.getTask(store.db, 'exports', null, id);
      if (!row || row.status === 'completed') return;
      const ws = await workspace(row.workspace_id);
      const { sort: sortParam, ...filterInput } = JSON.parse(row.filters) as Record<string, unknown>;
      const filter = parseFilter(filterInput, { timezone: ws.timezone, now: row.created_at });
      const sort = parseSort(sortParam);
      const columns = JSON.parse(row.fields) as ExportColumn[];
      const total = await countContacts(store.db, store.dialect, ws.id, filter);
      await store.transaction((trx) => tasks.updateTask(trx, 'exports', id, { status: 'running', progress: 0, row_count: 0, error: null }));

      await fs.promises.mkdir(dir, { recursive: true });
      const file = path.join(dir, `${id}.csv`);
      const part = file + '.part';
      const format = csvRecords(columns);
      let written = 0;
      let lastReport = Date.now();
      const reader = store.openReader();
      // The file is written while the next rows are read (the stream's buffer bounds the memory).
      async function* lines() {
        yield csvLine(columns);
        for await (const rows of streamContacts(store.db, store.dialect, reader, ws.id, filter, sort, columns, BATCH_ROWS)) {
          if (ctx.signal.aborted) throw new Error('export interrupted');
          yield format(rows);
          written += rows.length;
          if (Date.now() - lastReport > 500) {
            lastReport = Date.now();
            const progress = Math.min(0.99, total ? written / total : 0);
            await store.transaction((trx) => tasks.updateTask(trx, 'exports', id, { row_count: written, progress }));
          }
        }
      }
      try {
        await pipeline(lines, fs.createWriteStream(part));
        const fd = await fs.promises.open(part, 'r');
        await fd.sync();
        await fd.close();
        await fs.promises.rename(part, file);
      } catch (error) {
        await fs.promises.rm(part, { force: true });
        throw error;
      } finally {
        reader?.close();
      }

      const now = clock.now();
      const done: ExportRow = { ...row, status: 'completed', row_count: written, progress: 1, file_path: file, download_token: randomToken(32), completed_at: now, error: null };
      await store.transaction(async (trx) => {
        await tasks.updateTask(trx, 'exports', id, {
          status: done.status, row_count: done.row_count, progress: 1, file_path: file, download_token: done.download_token, completed_at: now, error: null,
        });
        const view = present(done, row.origin ?? '');
        await events.appendEvents(trx, [{
          id: newId('event'), workspace_id: ws.id, contact_id: null, type: 'export.completed', actor: row.requested_by,
          data: JSON.stringify({ id, row_count: written, fields: view.fields, download_url: view.download_url, expires_at: view.expires_at, completed_at: toIso(now) }),
          occurred_at: now, timeline_only: 0,
        }]);
      });
      await pruneHistory(ws);
      await mailRequester(done);
    },

    /** Gave up after retries: the user sees why. */
    async failed(payload: unknown, message: string): Promise<void> {
      const { export_id: id } = payload as { export_id: string };
      await store.transaction((trx) => tasks.updateTask(trx, 'exports', id, { status: 'failed', error: `The export failed: ${message}` }));
    },

    /**
     * Erasure reaches files too: every export file of the workspace still on disk that holds the
     * person (by id, email or phone, or by name when the export has none of those columns) is deleted
     * and its link answers 410. Returns how many.
     */
    async forget(person: ContactRow): Promise<number> {
      let removed = 0;
      for (const r of await tasks.liveExportFiles(store.db, person.workspace_id)) {
        const columns = JSON.parse(r.fields) as string[];
        const needles = [
          columns.includes('id') ? person.id : null,
          columns.includes('email') ? person.email : null,
          columns.includes('phone') ? person.phone : null,
        ].filter((v): v is string => Boolean(v));
        if (!needles.length && person.name && columns.includes('name')) needles.push(csvCell(neutralise(person.name)));
        if (!needles.length || !(await fileContains(r.file_path!, needles))) continue;
        await fs.promises.rm(r.file_path!, { force: true });
        await store.transaction((trx) => tasks.updateTask(trx, 'exports', r.id, { file_deleted_at: clock.now() }));
        removed++;
      }
      return removed;
    },

    /** Deletes files whose link has expired, and history past each plan's window. */
    async sweep(): Promise<number> {
      const now = clock.now();
      const expired = await tasks.exportsWithExpiredFiles(store.db, now - DOWNLOAD_WINDOW_MS);
      for (const r of expired) {
        if (r.file_path) await fs.promises.rm(r.file_path, { force: true });
        await store.transaction((trx) => tasks.updateTask(trx, 'exports', r.id, { file_deleted_at: now }));
      }
      for (const wsId of await tasks.workspacesWithTasks(store.db, 'exports')) {
        const ws = await getWorkspace(store.db, wsId);
        if (ws) await pruneHistory(ws);
      }
      return expired.length;
    },
  };
}

export type ExportService = ReturnType<typeof createExportService>;
