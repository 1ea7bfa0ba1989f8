// Opens the database named by the config and hands out transactions. SQLite runs in WAL mode with
// secure_delete; its transactions go through a group commit, so concurrent writers share one commit
// (one fsync) instead of queueing for one each.
import fs from 'node:fs';
import path from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect, sql, type Transaction } from 'kysely';
import pg from 'pg';
import type { Config } from '../config.js';
import { migrate } from './migrations.js';
import { openReadOnly } from './reader.js';
import type { Tables } from './schema.js';

export type Dialect = 'sqlite' | 'postgres';
export type Db = Kysely<Tables>;
export type Tx = Transaction<Tables> | Kysely<Tables>;

export interface Store {
  readonly dialect: Dialect;
  readonly db: Db;
  /** The better-sqlite3 handle (backups, checkpoints); null on PostgreSQL. */
  readonly sqlite: SqliteDatabase.Database | null;
  /**
   * SQLite: a read-only connection of its own, for a long read (an export) that must neither hold the
   * server's connection nor see a half-written state: in a read transaction it reads one snapshot while
   * writers go on (WAL). The caller closes it. Null on PostgreSQL.
   */
  openReader(): SqliteDatabase.Database | null;
  /**
   * Runs `fn`, a bulk write (an import), with a bigger SQLite page cache and a longer write-ahead log
   * between checkpoints: its inserts land at random places in the email, phone and name indexes, and a
   * page still in the cache is neither read again nor, when the next chunk changes it again before the
   * checkpoint, copied into the database file twice. The server's settings come back after, with a
   * checkpoint of what the log holds.
   */
  withBulkWrite<T>(fn: () => Promise<T>): Promise<T>;
  /**
   * Runs `fn` as one unit of work: all of it commits, or none of it. `bulk`: a long unit of background
   * work (a chunk of an import). On SQLite it commits on its own, and requests' units that arrive while
   * it runs go before the next bulk unit, so a request waits for at most the one chunk being written.
   */
  transaction<T>(fn: (trx: Tx) => Promise<T>, options?: { bulk?: boolean }): Promise<T>;
  /** Brings the schema up to date, or up to the migration named (tests of a migration's data step). */
  migrate(upTo?: string): Promise<string[]>;
  close(): Promise<void>;
}

// BIGINT and NUMERIC counts come back from pg as strings; our values fit in a double.
pg.types.setTypeParser(20, (v) => Number(v));
pg.types.setTypeParser(1700, (v) => Number(v));

export function openStore(database: Config['database'], sqliteSynchronous: Config['sqliteSynchronous'] = 'FULL'): Store {
  return database.kind === 'sqlite' ? openSqlite(database.file, sqliteSynchronous) : openPostgres(database);
}

/** SQLite's page cache, in KiB: the server's own, and while an import runs. */
const CACHE_KIB = 32_000;
const BULK_CACHE_KIB = 128_000;
/**
 * Pages in the write-ahead log before a commit copies them into the database file: SQLite's 1,000, and
 * while an import runs, when a page of a random-order index changed by one chunk is often changed again
 * by the next ones before it is copied (20,000 pages: an import of 200,000 rows into 200,000 by hand,
 * commits 14.2 s to 10.0 s; 100,000 pages, 400 MB of log: 100,000 rows into a million, 25.0 s to 22.0 s).
 */
const CHECKPOINT_PAGES = 1000;
const BULK_CHECKPOINT_PAGES = 100_000;
/** The log file is cut back to this many bytes when it starts over, so an import's 400 MB do not stay on disk. */
const LOG_LIMIT_BYTES = 64 << 20;

function openSqlite(file: string, synchronous: 'FULL' | 'NORMAL'): Store {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const handle = new SqliteDatabase(file);
  handle.pragma('journal_mode = WAL');
  handle.pragma(`synchronous = ${synchronous}`);
  handle.pragma('secure_delete = ON');
  handle.pragma('foreign_keys = ON');
  handle.pragma('busy_timeout = 5000');
  handle.pragma(`cache_size = -${CACHE_KIB}`);
  handle.pragma('temp_store = MEMORY');
  handle.pragma(`journal_size_limit = ${LOG_LIMIT_BYTES}`);
  const db = new Kysely<Tables>({ dialect: new SqliteDialect({ database: withStatementCache(handle) }) });
  const totalChanges = handle.prepare('SELECT total_changes() AS n').pluck();
  const group = new GroupCommit(db, () => totalChanges.get() as number);
  let closed = false;
  let bulkWriters = 0;
  return {
    dialect: 'sqlite',
    db,
    sqlite: handle,
    openReader: () => openReadOnly(file),
    async withBulkWrite(fn) {
      if (bulkWriters++ === 0) {
        handle.pragma(`cache_size = -${BULK_CACHE_KIB}`);
        handle.pragma(`wal_autocheckpoint = ${BULK_CHECKPOINT_PAGES}`);
      }
      try {
        return await fn();
      } finally {
        if (--bulkWriters === 0 && !closed) {
          // Shrinking the cache frees the pages above the limit.
          handle.pragma(`cache_size = -${CACHE_KIB}`);
          handle.pragma(`wal_autocheckpoint = ${CHECKPOINT_PAGES}`);
          checkpointUnlessBusy(handle);
        }
      }
    },
    transaction: (fn, options) => group.run(fn, options?.bulk ?? false),
    migrate: (upTo) => migrate(db as Kysely<unknown>, 'sqlite', null, upTo ?? null),
    async close() {
      if (closed) return;
      closed = true;
      await group.drain();
      handle.pragma('wal_checkpoint(TRUNCATE)');
      await db.destroy();
    },
  };
}

/**
 * Copies the write-ahead log into the database file now, so the next API write's commit does not. An
 * API write may hold a transaction open on the connection at this moment (SQLITE_LOCKED): then the
 * automatic checkpoint after one of the next commits does it.
 */
function checkpointUnlessBusy(handle: SqliteDatabase.Database): void {
  try {
    handle.pragma('wal_checkpoint(PASSIVE)');
  } catch (error) {
    if ((error as { code?: unknown }).code !== 'SQLITE_LOCKED') throw error;
  }
}

/**
 * Kysely prepares every query anew; SQLite's prepare is a good part of a small query's cost. The same
 * SQL text gets the same prepared statement (bounded, oldest dropped first).
 */
function withStatementCache(handle: SqliteDatabase.Database, size = 300) {
  const cache = new Map<string, SqliteDatabase.Statement>();
  return {
    close: () => handle.close(),
    prepare(text: string) {
      let stmt = cache.get(text);
      if (!stmt) {
        stmt = handle.prepare(text);
        if (cache.size >= size) cache.delete(cache.keys().next().value!);
        cache.set(text, stmt);
      }
      return stmt;
    },
  };
}

function openPostgres(database: Extract<Config['database'], { kind: 'postgres' }>): Store {
  const pool = new pg.Pool({
    connectionString: database.url,
    max: database.poolSize,
    ...(database.schema ? { options: `-c search_path=${database.schema},public` } : {}),
  });
  const db = new Kysely<Tables>({ dialect: new PostgresDialect({ pool }) });
  return {
    dialect: 'postgres',
    db,
    sqlite: null,
    openReader: () => null,
    withBulkWrite: (fn) => fn(),
    transaction: (fn) => withRetry(() => db.transaction().execute(fn)),
    async migrate(upTo) {
      if (database.schema) await sql.raw(`CREATE SCHEMA IF NOT EXISTS ${database.schema}`).execute(db);
      // Kysely's migrator looks at the tables of every schema; one dropped at that moment (by another
      // deployment or test run sharing the database) fails the lookup with 3F000. Looking again works.
      for (let attempt = 1; ; attempt++) {
        try {
          return await migrate(db as Kysely<unknown>, 'postgres', database.schema, upTo ?? null);
        } catch (error) {
          if ((error as { code?: string }).code !== '3F000' || attempt >= 5) throw error;
          await new Promise((r) => setTimeout(r, 100 * attempt));
        }
      }
    },
    close: () => db.destroy(),
  };
}

const RETRYABLE = new Set(['40P01', '40001']); // deadlock_detected, serialization_failure

/** PostgreSQL may abort one of two transactions that wait on each other; running it again is safe. */
async function withRetry<T>(fn: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (error) {
      const code = (error as { code?: unknown } | null)?.code;
      if (attempt >= 5 || typeof code !== 'string' || !RETRYABLE.has(code)) throw error;
      await new Promise((r) => setTimeout(r, Math.random() * 20 * attempt));
    }
  }
}

/**
 * BEGIN IMMEDIATE takes the write lock first (waiting up to busy_timeout for another process, the
 * CLI say), where a deferred BEGIN would fail at once when its first write finds the lock taken.
 */
async function immediateTransaction(db: Db, fn: (trx: Tx) => Promise<void>): Promise<void> {
  await db.connection().execute(async (conn) => {
    await sql`BEGIN IMMEDIATE`.execute(conn);
    try {
      await fn(conn);
      await sql`COMMIT`.execute(conn);
    } catch (error) {
      await sql`ROLLBACK`.execute(conn);
      throw error;
    }
  });
}

interface Pending {
  fn: (trx: Tx) => Promise<unknown>;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

class GroupPoisoned extends Error {}

/**
 * Group commit: units of work that arrive while one commit is running run together in the next
 * transaction, one after another, so one fsync serves them all. A unit is answered only after the
 * commit that holds it, so no caller hears "done" for a write that could still be lost.
 *
 * A bulk unit (an import's chunk, a few hundred milliseconds of writes) commits alone, and the units
 * of requests go first: when both wait, they take turns, a group of requests' units then one bulk
 * unit, so neither waits on the other for long. Put in one group, a request's write waited for the
 * chunk queued before it and then for the next one it was committed with: 0.7 s at the median while
 * a million rows were imported.
 *
 * Units are not wrapped in savepoints: FTS5 flushes its pending index at every savepoint, which made
 * each unit write its own index segment. Instead, a unit that fails having changed no row (a 404, a
 * 409, a 422: the checks come before the writes) simply fails alone; one that fails after writing
 * rolls the group back, and every unit of that group then runs again in a transaction of its own.
 */
class GroupCommit {
  private queue: Pending[] = [];
  private bulk: Pending[] = [];
  private running: Promise<void> | null = null;

  constructor(private readonly db: Db, private readonly changes: () => number, private readonly maxGroup = 200) {}

  run<T>(fn: (trx: Tx) => Promise<T>, bulk: boolean): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      (bulk ? this.bulk : this.queue).push({ fn, resolve: resolve as (v: unknown) => void, reject });
      if (!this.running) this.running = this.loop();
    });
  }

  async drain(): Promise<void> {
    while (this.running) await this.running;
  }

  private async loop(): Promise<void> {
    // Let the current turn of the event loop enqueue its work first.
    await new Promise((r) => setImmediate(r));
    let requestsWent = false;
    while (this.queue.length || this.bulk.length) {
      const bulkTurn: boolean = this.bulk.length > 0 && (this.queue.length === 0 || requestsWent);
      const group = bulkTurn ? this.bulk.splice(0, 1) : this.queue.splice(0, this.maxGroup);
      requestsWent = !bulkTurn;
      try {
        await this.commit(group);
      } catch (error) {
        if (!(error instanceof GroupPoisoned)) {
          group.forEach((item) => item.reject(error));
          continue;
        }
        for (const item of group) await this.commit([item]).catch((e: unknown) => item.reject(e));
      }
    }
    this.running = null;
  }

  /** Commits the group; rejects (so nothing of it is written) when a unit cannot fail alone. */
  private async commit(group: Pending[]): Promise<void> {
    const outcomes: Outcome[] = [];
    await immediateTransaction(this.db, async (trx) => {
      for (const item of group) {
        const before = this.changes();
        try {
          outcomes.push({ ok: true, value: await item.fn(trx) });
        } catch (error) {
          if (group.length === 1) throw error;
          if (this.changes() !== before) throw new GroupPoisoned();
          outcomes.push({ ok: false, error });
        }
      }
    });
    group.forEach((item, i) => {
      const o = outcomes[i]!;
      if (o.ok) item.resolve(o.value);
      else item.reject(o.error);
    });
  }
}
/** A unique index refused the write (two writers raced for the same email or phone). */
export function isUniqueViolation(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'SQLITE_CONSTRAINT_UNIQUE' || code === '23505';
}
