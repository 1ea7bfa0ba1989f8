// Many rows into one table, a statement of a fixed shape at a time. Kysely builds and compiles an
// INSERT for every call: for an import's statements of 300 rows of 27 columns, about 1.3 s of the
// server's thread per 200,000 rows (a CPU profile), a twentieth of the import. Here the SQL text is
// compiled by Kysely once per table, columns and row count, kept, and run with the rows' values in
// column order. The same text object every time also lets the SQLite statement cache find its
// prepared statement without hashing 25 KB of SQL again (0.3 s to 0.1 s).
import { CompiledQuery } from 'kysely';
import type { Tx } from './db.js';
import type { Tables } from './schema.js';

const texts = new Map<string, string>();
/** Shapes kept: the full statements of each table and a few shorter last ones. */
const MAX_TEXTS = 64;

/**
 * Inserts `rows` (all with the same keys, each a column) into `table`, `perStatement` rows a statement
 * (SQLite binds at most 32,766 values to one).
 */
export async function insertRows<T extends keyof Tables>(db: Tx, table: T, rows: ReadonlyArray<Partial<Tables[T]>>, perStatement: number): Promise<void> {
  if (!rows.length) return;
  const columns = Object.keys(rows[0]!) as Array<keyof Tables[T] & string>;
  for (let i = 0; i < rows.length; i += perStatement) {
    const part = rows.slice(i, i + perStatement);
    const values: unknown[] = [];
    for (const row of part) {
      for (const column of columns) {
        const value = row[column];
        if (value === undefined) throw new Error(`insertRows: a row of ${table} lacks ${column}`);
        values.push(value);
      }
    }
    await db.executeQuery(CompiledQuery.raw(statement(db, table, columns, part), values));
  }
}

/** Kysely's own INSERT for this shape, compiled once (its placeholders are the dialect's). */
function statement<T extends keyof Tables>(db: Tx, table: T, columns: string[], part: ReadonlyArray<Partial<Tables[T]>>): string {
  const key = `${db.getExecutor().adapter.constructor.name}|${table}|${columns.join(',')}|${part.length}`;
  let text = texts.get(key);
  if (text === undefined) {
    // The first row for every place: the columns are exactly its keys, in their order.
    text = db.insertInto(table).values(part.map(() => part[0]!) as never).compile().sql;
    if (texts.size >= MAX_TEXTS) texts.delete(texts.keys().next().value!);
    texts.set(key, text);
  }
  return text;
}
