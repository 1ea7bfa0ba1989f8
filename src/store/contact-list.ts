// The contact list: filters, search, sort and keyset pagination, on both databases.
//
// Sort: every sort has an index on its key, most ending in `id`; a page is a range scan after the
// cursor's (key, id). Phone, unique in a workspace, is the exception: its unique index orders by the
// phone alone, and the cursor's key is enough. Email reads the unique index of (email_key,
// email_lower): a range over the key, with the rare ties of folded forms put in id order by the
// engine. Nullable keys (name, email, phone) sort nulls last in both directions, so a list is walked
// in two runs: rows with a key in (key, id) order, then rows without one in id order.
//
// Search plans differ by engine. PostgreSQL's planner sees pg_trgm statistics and picks between the
// trigram index and walking the sort index itself. SQLite's FTS5 always collects every match, which is
// right for a rare term and ruinous for a common one, so the store decides: it asks FTS5 for at most
// SEARCH_CANDIDATES matches; if there are no more, those rows are the candidates; if there are more,
// the term is common and the sort index is walked, testing each row, until the page is full.
import type SqliteDatabase from 'better-sqlite3';
import { type Expression, type ExpressionBuilder, type SqlBool, sql } from 'kysely';
import type { ContactFilter, Cursor, SearchTerm, Sort, SortField } from '../domain/contact-query.js';
import type { Db, Dialect, Tx } from './db.js';
import { type ExportSegment, readSegment } from './reader.js';
import type { ContactRow, Tables } from './schema.js';

type Eb = ExpressionBuilder<Tables & { c: ContactRow }, 'c'>;
type Where = (eb: Eb) => Expression<SqlBool>;

export const SEARCH_CANDIDATES = 4000;

const SORT_COLUMN: Record<SortField, 'name_key' | 'email_key' | 'phone' | 'source' | 'created_at' | 'last_seen' | 'first_seen' | 'conversation_count'> = {
  name: 'name_key',
  email: 'email_key',
  phone: 'phone',
  source: 'source',
  created_at: 'created_at',
  last_seen: 'last_seen',
  first_seen: 'first_seen',
  conversation_count: 'conversation_count',
};
const NULLABLE = new Set<SortField>(['name', 'email', 'phone']);
/** Sort keys no two contacts of a workspace share (the unique indexes): no tie-break by id. */
const UNIQUE = new Set<SortField>(['phone']);
/**
 * Sorts whose index holds the key but not `id` after it (email: the unique index of (email_key,
 * email_lower)): the engines range over the key alone, then put the rare ties in id order.
 */
const KEY_ONLY_INDEX = new Set<SortField>(['email']);

/** The keyed run's position test: `(key, id) op (cursor)`, or `key op cursor` for a unique key. */
function keyedAfter(field: SortField, column: string, op: string, at: Cursor): Expression<SqlBool> {
  if (UNIQUE.has(field)) return sql<SqlBool>`${sql.ref(column)} ${sql.raw(op)} ${at.key}`;
  const pair = sql<SqlBool>`(${sql.ref(column)}, c.id) ${sql.raw(op)} (${at.key}, ${at.id})`;
  // A row-value test is an index range only over the index's own columns: the key's range, spelled out.
  return KEY_ONLY_INDEX.has(field) ? sql<SqlBool>`${sql.ref(column)} ${sql.raw(op[0] + '=')} ${at.key} AND ${pair}` : pair;
}

export function sortKey(row: ContactRow, field: SortField): string | number | null {
  return row[SORT_COLUMN[field]];
}

function likeEscape(value: string): string {
  return value.replace(/[\\%_]/g, (c) => '\\' + c);
}

type RangeColumn = 'created_at' | 'first_seen' | 'last_seen' | 'conversation_count';

function ranges(f: ContactFilter): Array<[RangeColumn, number | undefined, number | undefined]> {
  return ([
    ['created_at', f.created.from, f.created.to],
    ['first_seen', f.firstSeen.from, f.firstSeen.to],
    ['last_seen', f.lastSeen.from, f.lastSeen.to],
    ['conversation_count', f.conversationCountMin ?? undefined, f.conversationCountMax ?? undefined],
  ] as Array<[RangeColumn, number | undefined, number | undefined]>).filter(([, from, to]) => from !== undefined || to !== undefined);
}

/**
 * The filters other than search, as one AND. Range columns in `scanOnly` are written `+c.col`, which
 * SQLite cannot answer from an index: it then walks the sort index and tests them on each row.
 */
function filterWhere(workspaceId: string, f: ContactFilter, scanOnly: ReadonlySet<RangeColumn | 'workspace_id'> = new Set()): Where {
  return (eb) => {
    const and: Expression<SqlBool>[] = [
      // Unindexed when the rows come from a candidate list: look them up by rowid, then sort the few.
      scanOnly.has('workspace_id') ? eb(sql<string>`+c.workspace_id`, '=', workspaceId) : eb('c.workspace_id', '=', workspaceId),
    ];
    // A literal, so the partial index of archived rows can serve `archived = 1`.
    if (f.archived !== 'all') and.push(eb('c.archived', '=', sql.lit(f.archived === 'true' ? 1 : 0)));
    if (f.sources) and.push(f.sources.length === 1 ? eb('c.source', '=', f.sources[0]!) : eb('c.source', 'in', f.sources));
    for (const [col, from, to] of ranges(f)) {
      const ref = scanOnly.has(col) ? sql<number>`+${sql.ref(`c.${col}`)}` : sql.ref<number>(`c.${col}`);
      if (from !== undefined) and.push(eb(ref, '>=', from));
      if (to !== undefined) and.push(eb(ref, '<=', to));
    }
    if (f.hasEmail !== null) and.push(eb('c.email', f.hasEmail ? 'is not' : 'is', null));
    if (f.hasPhone !== null) and.push(eb('c.phone', f.hasPhone ? 'is not' : 'is', null));
    if (f.stages) and.push(eb('c.lifecycle_stage', 'in', f.stages));
    for (const tag of f.tags) {
      and.push(
        eb.exists(
          eb.selectFrom('contact_tags as t').select(sql.lit(1).as('one'))
            .where('t.workspace_id', '=', workspaceId).where('t.tag', '=', tag).whereRef('t.contact_id', '=', 'c.id'),
        ),
      );
    }
    return eb.and(and);
  };
}

function idPrefixWhere(eb: Eb, prefix: string): Expression<SqlBool> {
  return eb.and([eb('c.id', '>=', prefix), eb('c.id', '<', prefix + '~')]);
}

/** The search as a test on each row: what a walk of the sort index checks, and PostgreSQL's plan input. */
function searchWhere(dialect: Dialect, q: SearchTerm): Where {
  return (eb) => {
    const or: Expression<SqlBool>[] = [];
    if (dialect === 'sqlite') {
      if (q.kind === 'substring') {
        or.push(sql<SqlBool>`instr(c.name_key, ${q.folded}) > 0`, sql<SqlBool>`instr(c.email_key, ${q.folded}) > 0`);
      } else {
        or.push(sql<SqlBool>`instr(c.word_prefixes, ${' ' + q.folded}) > 0`);
      }
      if (q.digits) or.push(sql<SqlBool>`instr(c.phone_digits, ${q.digits}) > 0`);
    } else {
      if (q.kind === 'substring') {
        or.push(sql<SqlBool>`(coalesce(c.name_key, '') || chr(1) || coalesce(c.email_key, '')) LIKE ${'%' + likeEscape(q.folded) + '%'}`);
      } else {
        or.push(sql<SqlBool>`c.word_prefixes LIKE ${'% ' + likeEscape(q.folded) + '%'}`);
      }
      if (q.digits) or.push(sql<SqlBool>`c.phone_digits LIKE ${'%' + q.digits + '%'}`);
    }
    if (q.idPrefix) or.push(idPrefixWhere(eb, q.idPrefix));
    return eb.or(or);
  };
}

function ftsPhrase(text: string): string {
  return '"' + text.replace(/"/g, '""') + '"';
}

/** The FTS5 query for a term, or null when no column could match (FTS5 needs three characters). */
export function ftsQuery(q: SearchTerm): string | null {
  const parts: string[] = [];
  if (q.kind === 'substring') parts.push(`{name email} : ${ftsPhrase(q.folded)}`);
  else parts.push(`words : ${ftsPhrase((Array.from(q.folded).length === 1 ? '  ' : ' ') + q.folded)}`);
  if (q.digits) parts.push(`phone : ${ftsPhrase(q.digits)}`);
  return parts.join(' OR ');
}

/** How many rows a range must hold before walking the sort index beats reading the range and sorting. */
export const BROAD_RANGE = 2000;

/**
 * SQLite picks a range filter's index whenever it can, then sorts every row in the range: right for a
 * day, ruinous for six months. Each range is probed (at most BROAD_RANGE index entries); broad ones are
 * left to the walk of the sort index.
 */
async function broadRanges(db: Tx, dialect: Dialect, workspaceId: string, f: ContactFilter, sort: Sort): Promise<Set<RangeColumn>> {
  const broad = new Set<RangeColumn>();
  if (dialect !== 'sqlite') return broad;
  for (const [col, from, to] of ranges(f)) {
    if (col === SORT_COLUMN[sort.field]) continue;
    const probe = await sql<{ n: number }>`SELECT count(*) AS n FROM (SELECT 1 FROM contacts WHERE workspace_id = ${workspaceId}
      AND ${sql.ref(col)} >= ${from ?? Number.MIN_SAFE_INTEGER} AND ${sql.ref(col)} <= ${to ?? Number.MAX_SAFE_INTEGER} LIMIT ${BROAD_RANGE})`.execute(db);
    if (Number(probe.rows[0]?.n ?? 0) >= BROAD_RANGE) broad.add(col);
  }
  return broad;
}

type SearchPlan = { kind: 'none' } | { kind: 'walk'; where: Where } | { kind: 'candidates'; seqs: number[]; recheck: Where };

/** Picks how to search (see the top of this file). */
async function planSearch(db: Tx, dialect: Dialect, workspaceId: string, q: SearchTerm | null): Promise<SearchPlan> {
  if (!q) return { kind: 'none' };
  if (dialect === 'postgres') return { kind: 'walk', where: searchWhere(dialect, q) };
  const match = ftsQuery(q);
  const found = match
    ? (await sql<{ rowid: number }>`SELECT rowid FROM contacts_fts WHERE contacts_fts MATCH ${match} LIMIT ${SEARCH_CANDIDATES + 1}`.execute(db)).rows
    : [];
  if (found.length > SEARCH_CANDIDATES) return { kind: 'walk', where: searchWhere(dialect, q) };
  const seqs = found.map((r) => r.rowid);
  if (q.idPrefix) {
    // Ids are unique across workspaces: the id index finds them, the workspace is checked on each.
    const byId = await sql<{ seq: number }>`SELECT seq FROM contacts WHERE +workspace_id = ${workspaceId}
      AND id >= ${q.idPrefix} AND id < ${q.idPrefix + '~'} LIMIT ${SEARCH_CANDIDATES + 1}`.execute(db);
    if (byId.rows.length > SEARCH_CANDIDATES) return { kind: 'walk', where: searchWhere(dialect, q) };
    seqs.push(...byId.rows.map((r) => r.seq));
  }
  // FTS5 folds case by its own table (final sigma as sigma, say): the row test decides, as on a walk.
  return { kind: 'candidates', seqs, recheck: searchWhere(dialect, q) };
}

function planWhere(plan: SearchPlan): Where | null {
  if (plan.kind === 'walk') return plan.where;
  if (plan.kind === 'candidates') {
    const list = JSON.stringify(plan.seqs);
    return (eb) => eb.and([sql<SqlBool>`c.seq IN (SELECT value FROM json_each(${list}))`, plan.recheck(eb)]);
  }
  return null;
}

export interface ListPage {
  rows: ContactRow[];
  hasMore: boolean;
}

type Phase = 'keyed' | 'nulls';

/** One run of a page: rows with a sort key after the cursor, or the trailing rows without one. */
function pageQuery(
  db: Tx, workspaceId: string, filter: ContactFilter, sort: Sort, search: Where | null, phase: Phase, after: Cursor | null, take: number | null,
  scanOnly: ReadonlySet<RangeColumn | 'workspace_id'> = new Set(), columns: ReadonlyArray<keyof ContactRow> | null = null,
  through: Cursor | null = null,
) {
  const column = `c.${SORT_COLUMN[sort.field]}` as const;
  const cmp = sort.dir === 'asc' ? '>' : '<';
  const upTo = sort.dir === 'asc' ? '<=' : '>=';
  const from = db.selectFrom('contacts as c');
  let query = (columns ? from.select(columns.map((k) => `c.${k}` as const)) : from.selectAll('c')).where(filterWhere(workspaceId, filter, scanOnly));
  if (search) query = query.where(search);
  if (phase === 'keyed') {
    if (NULLABLE.has(sort.field)) query = query.where(column, 'is not', null);
    if (after) query = query.where(keyedAfter(sort.field, column, cmp, after));
    if (through) query = query.where(keyedAfter(sort.field, column, upTo, through));
    query = query.orderBy(column, sort.dir);
    if (!UNIQUE.has(sort.field)) query = query.orderBy('c.id', sort.dir);
  } else {
    query = query.where(column, 'is', null);
    if (after) query = query.where('c.id', cmp, after.id);
    if (through) query = query.where('c.id', upTo, through.id);
    query = query.orderBy('c.id', sort.dir);
  }
  return take === null ? query : query.limit(take);
}

/**
 * How a list is read: the search plan and the columns (with `columns`, only those and `id` and the sort
 * column, for the cursor: an export reads a few of the row's columns, and decoding all of them took half
 * its time), as a function from a run (and cursor and limit) to its query; null when no row can match.
 */
async function planList(
  db: Tx, dialect: Dialect, workspaceId: string, filter: ContactFilter, sort: Sort, columns?: ReadonlyArray<keyof ContactRow>,
) {
  const select = columns ? [...new Set<keyof ContactRow>([...columns, 'id', SORT_COLUMN[sort.field]])] : null;
  const plan = await planSearch(db, dialect, workspaceId, filter.q);
  if (plan.kind === 'candidates' && plan.seqs.length === 0) return null;
  const search = planWhere(plan);
  const scanOnly = plan.kind === 'candidates'
    ? new Set<RangeColumn | 'workspace_id'>(['workspace_id', ...ranges(filter).map(([c]) => c)])
    : await broadRanges(db, dialect, workspaceId, filter, sort);
  return (phase: Phase, after: Cursor | null, take: number | null, through: Cursor | null = null) =>
    pageQuery(db, workspaceId, filter, sort, search, phase, after, take, scanOnly, select, through);
}

/** A page of the list (see `planList` for `columns`). */
export async function listContacts(
  db: Tx, dialect: Dialect, workspaceId: string, filter: ContactFilter, sort: Sort, cursor: Cursor | null, limit: number,
  columns?: ReadonlyArray<keyof ContactRow>,
): Promise<ListPage> {
  const query = await planList(db, dialect, workspaceId, filter, sort, columns);
  if (!query) return { rows: [], hasMore: false };
  const run = (phase: Phase, after: Cursor | null, take: number) => query(phase, after, take).execute() as Promise<ContactRow[]>;

  let rows: ContactRow[];
  if (cursor && cursor.key === null) {
    rows = await run('nulls', cursor, limit + 1);
  } else {
    rows = await run('keyed', cursor, limit + 1);
    if (NULLABLE.has(sort.field) && rows.length <= limit) rows = rows.concat(await run('nulls', null, limit + 1 - rows.length));
  }
  return { rows: rows.slice(0, limit), hasMore: rows.length > limit };
}

/**
 * Every row of the list in its order, as arrays of the `columns` values, `batch` rows at a time: what an
 * export writes. On SQLite each run is one statement streamed from a read-only connection of its own
 * (`reader`) in one read transaction: one snapshot of the list, the server's connection free between
 * batches, and arrays rather than objects (a third faster). On PostgreSQL (no reader), keyset pages in
 * one repeatable-read transaction: one snapshot there too.
 */
export async function* streamContacts(
  db: Db, dialect: Dialect, reader: SqliteDatabase.Database | null, workspaceId: string, filter: ContactFilter, sort: Sort,
  columns: ReadonlyArray<keyof ContactRow>, batch: number,
): AsyncGenerator<unknown[][]> {
  if (!reader) {
    // One repeatable-read transaction: every page from the same snapshot, as on SQLite.
    const trx = await db.startTransaction().setIsolationLevel('repeatable read').setAccessMode('read only').execute();
    try {
      let cursor: Cursor | null = null;
      for (;;) {
        const page = await listContacts(trx, dialect, workspaceId, filter, sort, cursor, batch, columns);
        if (page.rows.length) yield page.rows.map((row) => columns.map((c) => row[c]));
        const last = page.rows[page.rows.length - 1];
        if (!page.hasMore || !last) return;
        cursor = { sort: '', key: sortKey(last, sort.field), id: last.id };
      }
    } finally {
      await trx.commit().execute();
    }
  }
  const segments = await exportSegments(db, dialect, workspaceId, filter, sort, columns, 1);
  reader.exec('BEGIN');
  try {
    for (const segment of segments) yield* readSegment(reader, segment, batch);
  } finally {
    reader.exec('COMMIT');
  }
}

/**
 * The export of a list as statements that together read it in order, each a contiguous stretch of it:
 * `parts` stretches of each run (rows with a sort key, rows without), split where the sort index puts
 * an equal share of the workspace's rows (an index-only walk), so that several threads can each read
 * and write one. On SQLite; empty when no row can match.
 */
export async function exportSegments(
  db: Tx, dialect: Dialect, workspaceId: string, filter: ContactFilter, sort: Sort, columns: ReadonlyArray<keyof ContactRow>, parts: number,
): Promise<ExportSegment[]> {
  const query = await planList(db, dialect, workspaceId, filter, sort);
  if (!query) return [];
  const phases: Phase[] = NULLABLE.has(sort.field) ? ['keyed', 'nulls'] : ['keyed'];
  const segments: ExportSegment[] = [];
  for (const phase of phases) {
    const bounds: Array<Cursor | null> = [null, ...(await splitPoints(db, workspaceId, sort, phase, parts)), null];
    for (let i = 0; i + 1 < bounds.length; i++) {
      const { sql: text, parameters } = query(phase, bounds[i]!, null, bounds[i + 1]).clearSelect().select(columns.map((k) => `c.${k}` as const)).compile();
      segments.push({ sql: text, parameters: [...parameters] });
    }
  }
  return segments;
}

/** The last row of each of the first `parts - 1` equal shares of a run, in the sort's order. */
async function splitPoints(db: Tx, workspaceId: string, sort: Sort, phase: Phase, parts: number): Promise<Cursor[]> {
  if (parts < 2) return [];
  const column = SORT_COLUMN[sort.field];
  const run = (eb: Eb) => eb.and([
    eb('c.workspace_id', '=', workspaceId),
    ...(NULLABLE.has(sort.field) ? [eb(`c.${column}`, phase === 'keyed' ? 'is not' : 'is', null)] : []),
  ]);
  const { n } = await db.selectFrom('contacts as c').select((eb) => eb.fn.countAll<number>().as('n')).where(run).executeTakeFirstOrThrow();
  const points: Cursor[] = [];
  for (let k = 1; k < parts; k++) {
    const offset = Math.floor((Number(n) * k) / parts) - 1;
    if (offset < 0) continue;
    let q = db.selectFrom('contacts as c').select([sql.ref<string | number | null>(`c.${column}`).as('key'), 'c.id']).where(run);
    if (phase === 'keyed') q = q.orderBy(`c.${column}`, sort.dir);
    if (phase === 'nulls' || !UNIQUE.has(sort.field)) q = q.orderBy('c.id', sort.dir);
    const row = await q.limit(1).offset(offset).executeTakeFirst();
    if (row && !points.some((p) => p.id === row.id)) points.push({ sort: '', key: row.key, id: row.id });
  }
  return points;
}

export async function countContacts(db: Tx, dialect: Dialect, workspaceId: string, filter: ContactFilter): Promise<number> {
  let search: Where | null = null;
  if (filter.q && dialect === 'sqlite') {
    const plan = await planSearch(db, dialect, workspaceId, filter.q);
    if (plan.kind === 'candidates' && plan.seqs.length === 0) return 0;
    if (plan.kind === 'walk') {
      // A common term: count through the full-text index rather than testing every row. Its matches are
      // the list's: the keys it indexes are folded already (final sigma as sigma, as FTS5 folds it).
      const match = ftsQuery(filter.q)!;
      const q = filter.q;
      search = (eb) => eb.or([
        sql<SqlBool>`c.seq IN (SELECT rowid FROM contacts_fts WHERE contacts_fts MATCH ${match})`,
        ...(q.idPrefix ? [idPrefixWhere(eb, q.idPrefix)] : []),
      ]);
    } else search = planWhere(plan);
  } else if (filter.q) {
    search = searchWhere(dialect, filter.q);
  }
  const count = async (f: ContactFilter) => {
    let query = db.selectFrom('contacts as c').select((eb) => eb.fn.countAll<number>().as('n')).where(filterWhere(workspaceId, f));
    if (search) query = query.where(search);
    return Number((await query.executeTakeFirstOrThrow()).n);
  };
  // Testing `archived = 0` reads every row; counting all and taking away the (few, partially indexed)
  // archived ones stays in the indexes.
  if (filter.archived === 'false') return (await count({ ...filter, archived: 'all' })) - (await count({ ...filter, archived: 'true' }));
  return count(filter);
}

/**
 * The SQL of the list's hot queries, compiled by the same code that runs them, for the snapshots under
 * docs/sql/ (a test fails when they go stale, so a review sees every change of shape).
 */
export function hotQueries(db: Tx, dialect: Dialect, filters: Record<string, ContactFilter>, sorts: Record<string, Sort>): Record<string, string> {
  const out: Record<string, string> = {};
  const after: Cursor = { sort: '', key: 'k', id: 'ctc_x' };
  for (const [name, filter] of Object.entries(filters)) {
    const sort = sorts[name] ?? { field: 'last_seen', dir: 'desc' };
    const walk = filter.q ? searchWhere(dialect, filter.q) : null;
    out[`${name} (first page)`] = pageQuery(db, 'wsp_x', filter, sort, walk, 'keyed', null, 51).compile().sql;
    if (dialect === 'sqlite' && ranges(filter).length) {
      out[`${name} (broad ranges: walk the sort index)`] = pageQuery(db, 'wsp_x', filter, sort, walk, 'keyed', null, 51, new Set(ranges(filter).map(([c]) => c))).compile().sql;
    }
    out[`${name} (after a cursor)`] = pageQuery(db, 'wsp_x', filter, sort, walk, 'keyed', after, 51).compile().sql;
    if (NULLABLE.has(sort.field)) out[`${name} (rows without the sort key)`] = pageQuery(db, 'wsp_x', filter, sort, walk, 'nulls', after, 51).compile().sql;
    if (filter.q && dialect === 'sqlite') {
      out[`${name} (full-text probe)`] = `SELECT rowid FROM contacts_fts WHERE contacts_fts MATCH ? LIMIT ?  -- ${ftsQuery(filter.q)}`;
      out[`${name} (rare term: candidates)`] = pageQuery(db, 'wsp_x', filter, sort, planWhere({ kind: 'candidates', seqs: [1, 2], recheck: walk! }), 'keyed', null, 51, new Set(['workspace_id'])).compile().sql;
    }
  }
  return out;
}
