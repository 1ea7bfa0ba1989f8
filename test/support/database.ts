// Reading a test server's database directly (no project code): every table, as text, to check what is
// stored and what is not. SQLite through better-sqlite3 on the server's file, PostgreSQL through pg in
// the test schema.
import path from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import type { TestServer } from './server.js';

function cellText(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (Buffer.isBuffer(v)) return v.toString('latin1') + ' ' + v.toString('utf8');
  if (v instanceof Uint8Array) return Buffer.from(v).toString('latin1');
  if (typeof v === 'string') return v;
  return JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x));
}

export type TableRows = Record<string, Array<Record<string, unknown>>>;

/** Every row of every table of the server's database. */
export async function readAllTables(t: TestServer): Promise<TableRows> {
  const out: TableRows = {};
  if (!t.db.env.DATABASE_URL) {
    const db = new Database(path.join(t.db.dir, 'contacts.db'), { readonly: true, fileMustExist: true });
    try {
      const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as Array<{ name: string }>;
      for (const { name } of tables) {
        out[name] = db.prepare(`SELECT * FROM "${name.replace(/"/g, '""')}"`).all() as Array<Record<string, unknown>>;
      }
    } finally {
      db.close();
    }
    return out;
  }
  const schema = t.db.env.DATABASE_SCHEMA!;
  const client = new pg.Client({ connectionString: t.db.env.DATABASE_URL });
  await client.connect();
  try {
    const tables = await client.query<{ table_name: string }>(
      "SELECT table_name FROM information_schema.tables WHERE table_schema = $1 AND table_type = 'BASE TABLE'", [schema]);
    if (tables.rows.length === 0) throw new Error(`no tables in schema ${schema}`);
    for (const { table_name } of tables.rows) {
      out[table_name] = (await client.query(`SELECT * FROM "${schema}"."${table_name}"`)).rows;
    }
  } finally {
    await client.end();
  }
  return out;
}

/** "table.column" of every cell whose text contains one of the needles (case-insensitive). */
export function cellsContaining(rows: TableRows, needles: string[]): string[] {
  const lower = needles.map((n) => n.toLowerCase());
  const hits: string[] = [];
  for (const [table, list] of Object.entries(rows)) {
    for (const row of list) {
      for (const [col, v] of Object.entries(row)) {
        const text = cellText(v).toLowerCase();
        for (const n of lower) if (text.includes(n)) hits.push(`${table}.${col} contains ${n}`);
      }
    }
  }
  return hits;
}

/** "table" of every row whose contact_id column is one of the ids. */
export function rowsReferencing(rows: TableRows, ids: string[]): string[] {
  const hits: string[] = [];
  for (const [table, list] of Object.entries(rows)) {
    for (const row of list) {
      for (const col of ['contact_id', 'id']) {
        if (col in row && ids.includes(String(row[col]))) hits.push(`${table}.${col} = ${String(row[col])}`);
      }
    }
  }
  return hits;
}
