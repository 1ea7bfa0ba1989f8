// Read-only SQLite connections for long reads (an export), in this thread or a worker thread: nothing
// here loads the query builder or the PostgreSQL driver, so a worker thread starts quickly.
import SqliteDatabase from 'better-sqlite3';

/** A read-only connection to a SQLite file (see `Store.openReader`). */
export function openReadOnly(file: string): SqliteDatabase.Database {
  const reader = new SqliteDatabase(file, { readonly: true });
  reader.pragma('busy_timeout = 5000');
  return reader;
}

/** One statement of an export: its SQL, compiled, for a connection of its own (possibly in another thread). */
export interface ExportSegment {
  sql: string;
  parameters: unknown[];
}

/** Runs a segment on a read-only connection (inside its read transaction): its rows as arrays, `batch` at a time. */
export function* readSegment(reader: SqliteDatabase.Database, segment: ExportSegment, batch: number): Generator<unknown[][]> {
  let rows: unknown[][] = [];
  for (const row of reader.prepare(segment.sql).raw(true).iterate(...segment.parameters) as IterableIterator<unknown[]>) {
    rows.push(row);
    if (rows.length === batch) {
      yield rows;
      rows = [];
    }
  }
  if (rows.length) yield rows;
}
