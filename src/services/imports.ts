// CSV imports: the upload is streamed to a file and checked (header, mapping), then a durable job reads
// it in chunks through the batch's create-or-update (the same rules as the API, dedupe by email then
// phone, suppressed people skipped). Each chunk commits with the import's progress and the length of
// its report, so a killed import resumes where it stopped, without duplicates.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import type { Worker } from 'node:worker_threads';
import { parse } from 'csv-parse';
import { actorOf, type Actor, grants, type Principal, scopesOf } from '../domain/access.js';
import { CSV_READING, csvCell, csvLine, neutralise } from '../domain/csv.js';
import { parseLimit } from '../domain/contact-query.js';
import { Forbidden, Gone, Invalid, NotFound, TooLarge } from '../domain/errors.js';
import { newId, randomToken, sameToken } from '../domain/ids.js';
import { detectDelimiter, HISTORICAL_IMPORT_FIELDS, type Mapping, resolveMapping } from '../domain/import-mapping.js';
import { toIso } from '../domain/time.js';
import { refreshStatistics } from '../store/contacts.js';
import { enqueueJob } from '../store/jobs.js';
import type { Tx } from '../store/db.js';
import type { ImportRow } from '../store/schema.js';
import * as tasks from '../store/tasks.js';
import { getWorkspace } from '../store/workspaces.js';
import type { ImportThreadData, ImportThreadMessage } from '../jobs/import-worker.js';
import { type JobContext, PermanentJobError } from '../jobs/runner.js';
import { startThread } from '../jobs/threads.js';
import { type ContactService, type Page, redoOnRace } from './contacts.js';
import { decodeNewestFirst, newestFirstPage } from './cursors.js';
import type { ServiceDeps } from './deps.js';
import { DOWNLOAD_WINDOW_MS } from './exports.js';

// Rows per transaction: a bigger chunk writes each random index page once for more rows (5,000 a chunk
// imported 100k rows about 30% faster than 1,000), but holds the write lock longer for the API's writes.
export const IMPORT_CHUNK_ROWS = 2500;
/** An import that wrote this many rows refreshes the planner's statistics when it ends. */
const ANALYZE_AFTER_ROWS = 10_000;

/** An upload on disk, not yet an import. */
export interface Upload {
  id: string;
  file: string;
  bytes: number;
  sha256: string;
}

export interface ImportRequest {
  upload: Upload | null;
  mapping?: unknown;
  dry_run?: unknown;
  historical?: unknown;
  idempotencyKey?: string | undefined;
}

interface ImportOptions {
  columns: string[];
  mapping: Mapping;
  delimiter: string;
  dry_run: boolean;
  historical: boolean;
  bytes: number;
  sha256: string;
  /** Who started it, to act as (checked when it started). */
  principal: Principal;
  idempotency_key: string | null;
}

export interface ImportView {
  id: string;
  status: ImportRow['status'];
  dry_run: boolean;
  historical: boolean;
  columns: string[];
  mapping: Mapping;
  progress: number;
  rows: number;
  created: number;
  updated: number;
  skipped: number;
  failed: number;
  report_url: string | null;
  notes: string[];
  requested_by: Actor | null;
  error: string | null;
  created_at: string;
  completed_at: string | null;
}

export interface ImportDeps extends ServiceDeps {
  poke(): void;
}

function flag(name: string, v: unknown): boolean {
  if (v === undefined || v === null || v === '' || v === false || v === 'false' || v === '0') return false;
  if (v === true || v === 'true' || v === '1') return true;
  throw Invalid.field(name, 'must be true or false');
}

/** The file's header row and delimiter, read from its start. */
async function readHeader(file: string): Promise<{ columns: string[]; delimiter: string }> {
  const fd = await fs.promises.open(file, 'r');
  const head = Buffer.alloc(64 * 1024);
  const { bytesRead } = await fd.read(head, 0, head.length, 0);
  await fd.close();
  const text = head.subarray(0, bytesRead).toString('utf8').replace(/^\uFEFF/, '');
  const firstLine = text.split(/\r\n|\n|\r/, 1)[0] ?? '';
  if (firstLine.trim() === '') throw Invalid.field('file', 'is empty: the first row must name the columns');
  const delimiter = detectDelimiter(firstLine);
  const parser = fs.createReadStream(file).pipe(parse({ ...CSV_READING, delimiter, to: 1 }));
  let header: string[] | undefined;
  try {
    for await (const record of parser) header ??= record as string[];
  } catch (error) {
    throw Invalid.field('file', `is not CSV: ${(error as Error).message}`);
  }
  if (!header?.length) throw Invalid.field('file', 'is empty: the first row must name the columns');
  // Unique names, so a mapping can name each column.
  const seen = new Map<string, number>();
  const columns = header.map((h, i) => {
    const name = h.trim() || `column ${i + 1}`;
    const n = (seen.get(name) ?? 0) + 1;
    seen.set(name, n);
    return n > 1 ? `${name} (${n})` : name;
  });
  return { columns, delimiter };
}



type ImportChunk = Extract<ImportThreadMessage, { type: 'chunk' }>;
type ImportEnd = Extract<ImportThreadMessage, { type: 'end' }>;

/**
 * The chunks an import's reading thread sends, in order, ending with its `end`. Taking a chunk lets the
 * thread prepare one more, so it stays at most CHUNKS_AHEAD ahead. Fails with the thread's failure or
 * when the job is told to stop.
 */
function chunksFrom(worker: Worker, signal: AbortSignal) {
  const queue: Array<ImportChunk | ImportEnd> = [];
  let failure: Error | null = null;
  let ended = false;
  let wake: (() => void) | null = null;
  const notify = () => {
    wake?.();
    wake = null;
  };
  worker.on('message', (m: ImportThreadMessage) => {
    if (m.type === 'failed') failure ??= m.permanent ? new PermanentJobError(m.message) : new Error(m.message);
    else queue.push(m);
    notify();
  });
  worker.on('error', (error) => {
    failure ??= error;
    notify();
  });
  worker.on('exit', () => {
    if (!ended) failure ??= new Error('the thread reading the file stopped');
    notify();
  });
  const stopped = () => {
    failure ??= new Error('import interrupted');
    notify();
  };
  signal.addEventListener('abort', stopped, { once: true });

  /** The first message of the queue, if there is one. */
  const take = (): ImportChunk | ImportEnd | null => {
    if (signal.aborted) stopped();
    if (failure) throw failure;
    const m = queue.shift();
    if (!m) return null;
    if (m.type === 'end') ended = true;
    else worker.postMessage('more');
    return m;
  };
  return {
    /** The next message, once the thread sends it. */
    async next(): Promise<ImportChunk | ImportEnd> {
      for (;;) {
        const m = take();
        if (m) return m;
        await new Promise<void>((resolve) => (wake = resolve));
      }
    },
    stop: () => {
      ended = true;
      signal.removeEventListener('abort', stopped);
      return worker.terminate();
    },
  };
}

export function createImportService(deps: ImportDeps, contacts: ContactService) {
  const { store, clock, filesDir, publicUrl } = deps;
  const dir = path.join(filesDir, 'imports');

  function present(row: ImportRow, origin: string): ImportView {
    const o = JSON.parse(row.options) as ImportOptions;
    const completed = row.status === 'completed';
    return {
      id: row.id, status: row.status, dry_run: o.dry_run, historical: o.historical, columns: o.columns, mapping: o.mapping,
      progress: row.progress, rows: row.created + row.updated + row.skipped + row.failed, created: row.created, updated: row.updated, skipped: row.skipped, failed: row.failed,
      report_url: completed && row.report_token ? `${publicUrl ?? origin}/v1/imports/${row.id}/report?token=${row.report_token}` : null,
      notes: JSON.parse(row.notes) as string[],
      requested_by: row.requested_by ? (JSON.parse(row.requested_by) as Actor) : null,
      error: row.error, created_at: toIso(row.created_at), completed_at: row.completed_at === null ? null : toIso(row.completed_at),
    };
  }

  async function mustGet(workspaceId: string | null, id: string): Promise<ImportRow> {
    const row = await tasks.getTask(store.db, 'imports', workspaceId, id);
    if (!row) throw new NotFound('import');
    return row;
  }

  /** Streams the upload to disk with its hash; over the size limit is 413. */
  async function save(file: Readable): Promise<Upload> {
    await fs.promises.mkdir(dir, { recursive: true });
    const id = newId('import');
    const to = path.join(dir, `${id}.csv`);
    const hash = createHash('sha256');
    let bytes = 0;
    try {
      await pipeline(file, async function* (source: AsyncIterable<Buffer>) {
        for await (const chunk of source) {
          bytes += chunk.length;
          if (bytes > deps.importMaxBytes) throw new TooLarge(`The file is larger than this server accepts (${deps.importMaxBytes} bytes, IMPORT_MAX_MB)`);
          hash.update(chunk);
          yield chunk;
        }
      }, fs.createWriteStream(to));
    } catch (error) {
      await fs.promises.rm(to, { force: true });
      throw error;
    }
    if ((file as Readable & { truncated?: boolean }).truncated) {
      await fs.promises.rm(to, { force: true });
      throw new TooLarge(`The file is larger than this server accepts (${deps.importMaxBytes} bytes, IMPORT_MAX_MB)`);
    }
    return { id, file: to, bytes, sha256: hash.digest('hex') };
  }

  /** The same Idempotency-Key within 24 hours: the first import for the same file, 422 for another. */
  async function replayed(p: Principal, key: string, sha256: string): Promise<ImportRow | null> {
    const recent = await tasks.listTasks(store.db, 'imports', p.workspaceId, null, 200);
    const since = clock.now() - 24 * 3600_000;
    const first = recent.find((r) => r.created_at >= since && (JSON.parse(r.options) as ImportOptions).idempotency_key === key
      && JSON.stringify(actorOf((JSON.parse(r.options) as ImportOptions).principal)) === JSON.stringify(actorOf(p)));
    if (!first) return null;
    if ((JSON.parse(first.options) as ImportOptions).sha256 !== sha256) {
      throw Invalid.field('Idempotency-Key', 'was used for another request (another file or options) in the last 24 hours');
    }
    return first;
  }

  return {
    /** Streams an uploaded file to disk (the first step of `start`). */
    receive: save,

    /** Drops an upload that will not become an import (the request failed). */
    async discard(upload: Upload | null): Promise<void> {
      if (upload) await fs.promises.rm(upload.file, { force: true });
    },

    async start(p: Principal, input: ImportRequest, origin: string): Promise<ImportView> {
      if (!input.upload) throw Invalid.field('file', 'is required: send the CSV as the multipart field "file", or as a text/csv body');
      const upload = input.upload;
      const dryRun = flag('dry_run', input.dry_run);
      const historical = flag('historical', input.historical);
      if (historical && !grants(scopesOf(p), 'admin')) throw new Forbidden('historical imports need the admin scope (or an admin role)');
      let mappingInput = input.mapping;
      if (typeof mappingInput === 'string' && mappingInput.trim() !== '') {
        try {
          mappingInput = JSON.parse(mappingInput) as unknown;
        } catch {
          throw Invalid.field('mapping', 'must be a JSON object from column header to contact field');
        }
      } else if (mappingInput === '') mappingInput = undefined;

      const { id, file } = upload;
      const saved = upload;
      try {
        const key = input.idempotencyKey ?? null;
        const fingerprint = createHash('sha256').update(saved.sha256 + JSON.stringify([mappingInput ?? null, dryRun, historical])).digest('hex');
        if (key) {
          const first = await replayed(p, key, fingerprint);
          if (first) {
            await fs.promises.rm(file, { force: true });
            return present(first, origin);
          }
        }
        const { columns, delimiter } = await readHeader(file);
        const mapping = resolveMapping(columns, mappingInput);
        const notes: string[] = [];
        const ignoredHistory = columns.filter((c) => mapping[c] && HISTORICAL_IMPORT_FIELDS.includes(mapping[c]));
        if (ignoredHistory.length && !historical) {
          notes.push(`Columns ${ignoredHistory.join(', ')} are ignored: created_at, first_seen, last_seen and conversation_count are kept only by an import started with historical=true by an admin`);
        }
        const unmapped = columns.filter((c) => !mapping[c]);
        if (unmapped.length) notes.push(`Columns not imported: ${unmapped.join(', ')}`);
        const now = clock.now();
        const options: ImportOptions = {
          columns, mapping, delimiter, dry_run: dryRun, historical, bytes: saved.bytes, sha256: fingerprint,
          principal: p.kind === 'user' ? { ...p, sessionHash: '' } : p, idempotency_key: key,
        };
        const row: ImportRow = {
          id, workspace_id: p.workspaceId, requested_by: JSON.stringify(actorOf(p)), options: JSON.stringify(options), status: 'queued',
          progress: 0, created: 0, updated: 0, skipped: 0, failed: 0, file_path: file, report_path: path.join(dir, `${id}.report.csv`),
          report_bytes: 0, report_token: null, cursor_row: 0, notes: JSON.stringify(notes), error: null, created_at: now, completed_at: null,
        };
        await store.transaction(async (trx) => {
          await tasks.insertTask(trx, 'imports', row);
          await enqueueJob(trx, { id: newId('job'), workspace_id: p.workspaceId, kind: 'import', payload: JSON.stringify({ import_id: id }), run_at: now }, now);
        });
        deps.poke();
        return present(row, origin);
      } catch (error) {
        await fs.promises.rm(file, { force: true });
        throw error;
      }
    },

    async get(p: Principal, id: string, origin: string): Promise<ImportView> {
      return present(await mustGet(p.workspaceId, id), origin);
    },

    async list(p: Principal, limitParam: unknown, cursorParam: unknown, origin: string): Promise<Page<ImportView>> {
      const limit = parseLimit(limitParam);
      const rows = await tasks.listTasks(store.db, 'imports', p.workspaceId, decodeNewestFirst(cursorParam), limit + 1);
      return newestFirstPage(rows, limit, (r) => r.created_at, (r) => present(r, origin));
    },

    /** The report of rejected and skipped rows, behind its link: 404 for a wrong token, 410 after 24 hours. */
    async report(id: string, token: unknown): Promise<{ file: string; filename: string }> {
      const row = typeof token === 'string' && token.length <= 100 ? await tasks.getTask(store.db, 'imports', null, id) : undefined;
      if (!row || row.status !== 'completed' || !row.report_token || !sameToken(row.report_token, token as string)) throw new NotFound('import');
      if (clock.now() >= row.completed_at! + DOWNLOAD_WINDOW_MS || !row.report_path || !fs.existsSync(row.report_path)) {
        throw new Gone('This report link has expired (links work for 24 hours)');
      }
      return { file: row.report_path, filename: `import-report-${row.id}.csv` };
    },

    /** The worker: reads the file from the first row not yet committed, a chunk per transaction. */
    async run(payload: unknown, ctx: JobContext): Promise<void> {
      const { import_id: id } = payload as { import_id: string };
      let row = await tasks.getTask(store.db, 'imports', null, id);
      if (!row || row.status === 'completed' || !row.file_path || !row.report_path) return;
      const o = JSON.parse(row.options) as ImportOptions;
      await store.transaction((trx) => tasks.updateTask(trx, 'imports', id, { status: 'running', error: null }));

      // The report as committed: anything written after the last commit is cut off.
      const report = await fs.promises.open(row.report_path, fs.existsSync(row.report_path) ? 'r+' : 'w+');
      try {
        await report.truncate(row.report_bytes);
        let reportBytes = row.report_bytes;
        if (reportBytes === 0) {
          const header = Buffer.from(csvLine(['row', ...o.columns.map((c) => csvCell(neutralise(c))), 'reason']));
          await report.write(header, 0, header.length, 0);
          reportBytes = header.length;
        }
        const seen = o.dry_run ? new Set<string>() : undefined;
        const ws = await getWorkspace(store.db, row.workspace_id);
        const thread = chunksFrom(startThread('import-worker', {
          file: row.file_path, delimiter: o.delimiter, columns: o.columns, mapping: o.mapping, historical: o.historical,
          resumeAfter: row.cursor_row, region: ws?.default_phone_region ?? null, chunkRows: IMPORT_CHUNK_ROWS,
        } satisfies ImportThreadData), ctx.signal);
        let consumed = row.cursor_row;
        /** The import as last committed (the report up to `report_bytes`). */
        let state: ImportRow = { ...row, report_bytes: reportBytes };

        /** Writes a chunk in `trx`, its rejected rows to the report after `before`'s; the import after it. */
        const write = async (trx: Tx, { records, batch, consumed: through, bytes }: ImportChunk, before: ImportRow): Promise<ImportRow> => {
          const results = await contacts.upsertIn(trx, o.principal, batch, { historical: o.historical, dryRun: o.dry_run, seen });
          const lines: string[] = [];
          const count = { created: 0, updated: 0, skipped: 0, failed: 0 };
          results.forEach((r, i) => {
            if (r.status === 'error') count.failed++;
            else count[r.status]++;
            if (r.status === 'error' || r.status === 'skipped') {
              const { rowNumber, record } = records[i]!;
              const cells = o.columns.map((_, c) => csvCell(neutralise(record[c] ?? '')));
              lines.push(csvLine([String(rowNumber), ...cells, csvCell(neutralise(r.error ?? r.status))]));
            }
          });
          const text = Buffer.from(lines.join(''));
          // Written at the committed end each time, so a unit run again overwrites rather than repeats.
          if (text.length) await report.write(text, 0, text.length, before.report_bytes);
          const next: Partial<ImportRow> = {
            cursor_row: through, created: before.created + count.created, updated: before.updated + count.updated,
            skipped: before.skipped + count.skipped, failed: before.failed + count.failed, report_bytes: before.report_bytes + text.length,
            progress: Math.min(0.99, bytes / Math.max(1, o.bytes)),
          };
          await tasks.updateTask(trx, 'imports', id, next);
          return { ...before, ...next };
        };

        try {
          await store.withBulkWrite(async () => {
            let message = await thread.next();
            for (; message.type === 'chunk'; message = await thread.next()) {
              const chunk = message;
              state = await redoOnRace(() => store.transaction((trx) => write(trx, chunk, state), { bulk: true }));
            }
            consumed = Math.max(state.cursor_row, message.consumed);
          });
        } finally {
          await thread.stop();
        }
        if (consumed > state.cursor_row) {
          await store.transaction((trx) => tasks.updateTask(trx, 'imports', id, { cursor_row: consumed }));
        }
        await report.sync();
        row = state;
      } finally {
        await report.close();
      }
      await store.transaction((trx) => tasks.updateTask(trx, 'imports', id, {
        status: 'completed', progress: 1, completed_at: clock.now(), report_token: randomToken(32), file_path: null,
      }));
      // The upload has served its purpose; it holds personal data, so it goes.
      await fs.promises.rm(row.file_path!, { force: true });
      // Fresh statistics only help the planner: a failure here must not fail an import that completed.
      if (!o.dry_run && row.created + row.updated >= ANALYZE_AFTER_ROWS) await refreshStatistics(store.db, store.dialect).catch(() => undefined);
    },

    async failed(payload: unknown, message: string): Promise<void> {
      const { import_id: id } = payload as { import_id: string };
      const row = await tasks.getTask(store.db, 'imports', null, id);
      await store.transaction((trx) => tasks.updateTask(trx, 'imports', id, { status: 'failed', error: `The import failed: ${message}`, file_path: null }));
      if (row?.file_path) await fs.promises.rm(row.file_path, { force: true });
    },

    /** Report files past their link's window, and failed uploads, leave the disk. */
    async sweep(): Promise<void> {
      const before = clock.now() - DOWNLOAD_WINDOW_MS;
      for (const wsId of await tasks.workspacesWithTasks(store.db, 'imports')) {
        for (const r of await tasks.tasksCreatedBefore(store.db, 'imports', wsId, before)) {
          if (r.completed_at !== null && r.completed_at >= before) continue;
          if (r.report_path) await fs.promises.rm(r.report_path, { force: true });
        }
      }
    },
  };
}

export type ImportService = ReturnType<typeof createImportService>;
