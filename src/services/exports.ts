// Async CSV exports: a request queues a durable job; a worker streams the matching contacts to a file
// in batches (memory flat in the row count), then a download link with an unguessable token works
// for 24 hours without other credentials. History is kept per plan; the requester may be mailed.
import fs from 'node:fs';
import path from 'node:path';
import type { Worker } from 'node:worker_threads';
import { pipeline } from 'node:stream/promises';
import { actorOf, type Actor, type Principal } from '../domain/access.js';
import { csvCell, csvLine, csvRecords, type ExportColumn, exportColumns, neutralise } from '../domain/csv.js';
import { type ContactFilter, LIST_PARAMETERS, parseFilter, parseLimit, parseSort, type Sort } from '../domain/contact-query.js';
import { Gone, Invalid, NotFound } from '../domain/errors.js';
import { newId, randomToken, sameToken } from '../domain/ids.js';
import { PLAN_LIMITS } from '../domain/plans.js';
import { toIso } from '../domain/time.js';
import type { Mailer } from '../integrations/mail.js';
import { countContacts, exportSegments, streamContacts } from '../store/contact-list.js';
import * as events from '../store/events.js';
import { enqueueJob } from '../store/jobs.js';
import type { ContactRow, ExportRow, WorkspaceRow } from '../store/schema.js';
import * as tasks from '../store/tasks.js';
import { getWorkspace } from '../store/workspaces.js';
import type { ExportThreadData, ExportThreadMessage, ExportThreadSegment } from '../jobs/export-worker.js';
import type { JobContext } from '../jobs/runner.js';
import { EXPORT_THREADS, startThread } from '../jobs/threads.js';
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
/** An export of more rows than this uses a second thread, and so on up to EXPORT_THREADS. */
const ROWS_PER_THREAD = 25_000;

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


/** An export thread's progress as promises, one per message it sends (rejected when it fails first). */
function follow(worker: Worker, wrote: (rows: number) => void) {
  const failed = new Promise<never>((_, reject) => {
    worker.on('error', reject);
    worker.on('exit', (code) => reject(new Error(`an export thread stopped before it was done (exit code ${code})`)));
  });
  const reached = (type: ExportThreadMessage['type']) => {
    const at = Promise.race([new Promise<void>((resolve) => worker.on('message', (m: ExportThreadMessage) => m.type === type && resolve())), failed]);
    // It may fail before the export waits for it (the export waits for each in turn).
    at.catch(() => undefined);
    return at;
  };
  worker.on('message', (m: ExportThreadMessage) => m.type === 'rows' && wrote(m.count));
  return { worker, ready: reached('ready'), reading: reached('reading'), done: reached('done') };
}

/** Appends the files to `file` in order, then syncs it. */
async function append(file: string, parts: string[]): Promise<void> {
  const out = await fs.promises.open(file, 'a');
  const buffer = Buffer.allocUnsafe(4 << 20);
  try {
    for (const part of parts) {
      const from = await fs.promises.open(part, 'r');
      try {
        for (let n; (n = (await from.read(buffer, 0, buffer.length)).bytesRead) > 0;) await out.write(buffer, 0, n);
      } finally {
        await from.close();
      }
    }
    await out.sync();
  } finally {
    await out.close();
  }
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

  /** Reads and writes the export here, a batch at a time (the server's other work runs between batches). */
  async function writeInProcess(
    workspaceId: string, filter: ContactFilter, sort: Sort, columns: ExportColumn[], part: string, signal: AbortSignal, wrote: (rows: number) => void,
  ): Promise<void> {
    const format = csvRecords(columns);
    const reader = store.openReader();
    // The file is written while the next rows are read (the stream's buffer bounds the memory).
    async function* lines() {
      yield csvLine(columns);
      for await (const rows of streamContacts(store.db, store.dialect, reader, workspaceId, filter, sort, columns, BATCH_ROWS)) {
        if (signal.aborted) throw new Error('export interrupted');
        yield format(rows);
        wrote(rows.length);
      }
    }
    try {
      await pipeline(lines, fs.createWriteStream(part));
    } finally {
      reader?.close();
    }
    const fd = await fs.promises.open(part, 'r');
    await fd.sync();
    await fd.close();
  }

  /**
   * A big export on SQLite: `threads` worker threads each read and write their share of the list (a
   * contiguous stretch of each run, to a file of its own), so reading and formatting use every core;
   * then the files are joined in order. The threads begin their read transactions while this one
   * holds the write lock (see jobs/export-worker.ts), so all of them read the same snapshot.
   */
  async function writeInThreads(
    database: string, workspaceId: string, filter: ContactFilter, sort: Sort, columns: ExportColumn[], part: string, threads: number,
    signal: AbortSignal, wrote: (rows: number) => void,
  ): Promise<void> {
    const stopped = new Promise<never>((_, reject) => {
      if (signal.aborted) reject(new Error('export interrupted'));
      signal.addEventListener('abort', () => reject(new Error('export interrupted')), { once: true });
    });
    stopped.catch(() => undefined);
    const until = <T>(p: Promise<T>) => Promise.race([p, stopped]);
    const data: ExportThreadData = { database, columns, batch: BATCH_ROWS };
    // They start (load their code, open their connections) while this thread finds where to split.
    const running = Array.from({ length: threads }, () => follow(startThread('export-worker', data), wrote));
    let segments: ExportThreadSegment[] = [];
    try {
      segments = (await exportSegments(store.db, store.dialect, workspaceId, filter, sort, columns, threads))
        .map((segment, i) => ({ ...segment, out: `${part}.${i}`, head: i === 0 ? csvLine(columns) : '' }));
      if (!segments.length) {
        await fs.promises.writeFile(part, csvLine(columns));
        return;
      }
      await until(Promise.all(running.map((r) => r.ready)));
      await store.transaction(async () => {
        running.forEach((r, k) => r.worker.postMessage(segments.filter((_, i) => i % threads === k)));
        await until(Promise.all(running.map((r) => r.reading)));
      });
      await until(Promise.all(running.map((r) => r.done)));
      await fs.promises.rename(segments[0]!.out, part);
      await append(part, segments.slice(1).map((s) => s.out));
    } finally {
      await Promise.all(running.map((r) => r.worker.terminate()));
      await Promise.all(segments.map((s) => fs.promises.rm(s.out, { force: true })));
    }
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
      // What a run killed before this one left (its threads' files too) starts over.
      for (const name of await fs.promises.readdir(dir)) {
        if (name.startsWith(`${id}.csv.part`)) await fs.promises.rm(path.join(dir, name), { force: true });
      }
      let written = 0;
      let lastReport = Date.now();
      let reporting = Promise.resolve();
      let busy = false;
      // Progress for the user, at most twice a second, one update at a time; a failed one is only late.
      const wrote = (rows: number) => {
        written += rows;
        if (busy || Date.now() - lastReport <= 500) return;
        busy = true;
        lastReport = Date.now();
        const update = { row_count: written, progress: Math.min(0.99, total ? written / total : 0) };
        reporting = store.transaction((trx) => tasks.updateTask(trx, 'exports', id, update)).catch(() => undefined).finally(() => { busy = false; });
      };
      const threads = store.sqlite ? Math.min(EXPORT_THREADS, Math.ceil(total / ROWS_PER_THREAD)) : 1;
      try {
        if (threads > 1) await writeInThreads(store.sqlite!.name, ws.id, filter, sort, columns, part, threads, ctx.signal, wrote);
        else await writeInProcess(ws.id, filter, sort, columns, part, ctx.signal, wrote);
        await reporting;
        await fs.promises.rename(part, file);
      } catch (error) {
        await fs.promises.rm(part, { force: true });
        throw error;
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
