// The raw engine's figure beside ours: hand-written SQL for each read measure, run straight on
// better-sqlite3 or pg in this process (no HTTP, no Kysely). On SQLite a search has two plans, the
// FTS5 trigram index (collects every match, then sorts) and a walk of the last_seen index testing each
// row; both are timed and the faster is the engine's figure. PostgreSQL's planner picks for itself.
import Database from 'better-sqlite3';
import pg from 'pg';
import { classify, decodeCursor } from './measures.mjs';
import { sample } from './stats.mjs';

const ORDER = 'ORDER BY c.last_seen DESC, c.id DESC LIMIT 51';
const BASE = 'c.workspace_id = ? AND c.archived = 0';
const likeEscape = (s) => s.replace(/[\\%_]/g, (ch) => '\\' + ch);
const ftsPhrase = (s) => '"' + s.replace(/"/g, '""') + '"';

function searchCondition(dialect, t) {
  const or = [];
  const params = [];
  if (dialect === 'sqlite') {
    if (t.kind === 'substring') {
      or.push('instr(c.name_key, ?) > 0', 'instr(c.email_key, ?) > 0');
      params.push(t.folded, t.folded);
    } else {
      or.push('instr(c.word_prefixes, ?) > 0');
      params.push(' ' + t.folded);
    }
    if (t.digits) {
      or.push('instr(c.phone_digits, ?) > 0');
      params.push(t.digits);
    }
  } else {
    if (t.kind === 'substring') {
      or.push(`(coalesce(c.name_key, '') || chr(1) || coalesce(c.email_key, '')) LIKE ?`);
      params.push('%' + likeEscape(t.folded) + '%');
    } else {
      or.push('c.word_prefixes LIKE ?');
      params.push('% ' + likeEscape(t.folded) + '%');
    }
    if (t.digits) {
      or.push('c.phone_digits LIKE ?');
      params.push('%' + t.digits + '%');
    }
  }
  if (t.idPrefix) {
    or.push('(c.id >= ? AND c.id < ?)');
    params.push(t.idPrefix, t.idPrefix + '~');
  }
  return { sql: or.join(' OR '), params };
}

function ftsMatch(t) {
  const parts = [t.kind === 'substring' ? `{name email} : ${ftsPhrase(t.folded)}`
    : `words : ${ftsPhrase((Array.from(t.folded).length === 1 ? '  ' : ' ') + t.folded)}`];
  if (t.digits) parts.push(`phone : ${ftsPhrase(t.digits)}`);
  return parts.join(' OR ');
}

/** The hand-written variants of a measure: [{ name, sql, params(i), one }] (`one`: a single row). */
export function rawVariants(dialect, measure, ws) {
  const fixed = (name, sql, params) => ({ name, sql, params: () => params });
  switch (measure.kind) {
    case 'search': {
      const t = classify(measure.q);
      const cond = searchCondition(dialect, t);
      if (dialect !== 'sqlite') {
        return [fixed('planner', `SELECT c.* FROM contacts AS c WHERE ${BASE} AND (${cond.sql}) ${ORDER}`, [ws, ...cond.params])];
      }
      // The id range without workspace_id, so it uses the unique index on id (the outer query checks the workspace).
      const idPart = t.idPrefix ? ' UNION SELECT seq FROM contacts WHERE id >= ? AND id < ?' : '';
      return [
        fixed('fts5: collect every match, then sort',
          `SELECT c.* FROM contacts AS c NOT INDEXED WHERE c.seq IN (SELECT rowid FROM contacts_fts WHERE contacts_fts MATCH ?${idPart}) AND ${BASE} ${ORDER}`,
          [ftsMatch(t), ...(t.idPrefix ? [t.idPrefix, t.idPrefix + '~'] : []), ws]),
        fixed('walk: last_seen index, instr() on each row',
          `SELECT c.* FROM contacts AS c INDEXED BY contacts_last_seen WHERE ${BASE} AND (${cond.sql}) ${ORDER}`,
          [ws, ...cond.params]),
      ];
    }
    case 'filter': {
      const f = measure.params;
      const where = `${BASE} AND c.source = ? AND c.first_seen >= ? AND c.first_seen <= ? AND c.conversation_count >= ? AND c.email IS NOT NULL`;
      const params = [ws, f.source, Date.parse(f.first_seen_from), Date.parse(f.first_seen_to), Number(f.conversation_count_min)];
      if (dialect !== 'sqlite') return [fixed('planner', `SELECT c.* FROM contacts AS c WHERE ${where} ${ORDER}`, params)];
      return [
        fixed("SQLite's own plan", `SELECT c.* FROM contacts AS c WHERE ${where} ${ORDER}`, params),
        fixed('INDEXED BY (workspace_id, source, last_seen, id)', `SELECT c.* FROM contacts AS c INDEXED BY contacts_source_last_seen WHERE ${where} ${ORDER}`, params),
      ];
    }
    case 'page': {
      if (!measure.cursor) return [fixed(dialect === 'sqlite' ? "SQLite's own plan" : 'planner', `SELECT c.* FROM contacts AS c WHERE ${BASE} ${ORDER}`, [ws])];
      const { key, id } = decodeCursor(measure.cursor);
      return [fixed(dialect === 'sqlite' ? "SQLite's own plan" : 'planner', `SELECT c.* FROM contacts AS c WHERE ${BASE} AND (c.last_seen, c.id) < (?, ?) ${ORDER}`, [ws, key, id])];
    }
    case 'get': {
      const ids = measure.ids;
      return [{ name: 'by primary key', one: true, sql: 'SELECT c.* FROM contacts AS c WHERE c.workspace_id = ? AND c.id = ?', params: () => [ws, ids[Math.floor(Math.random() * ids.length)]] }];
    }
    case 'count':
      return [{ name: 'count(*)', one: true, sql: `SELECT count(*) AS n FROM contacts AS c WHERE ${BASE} AND c.source = ?`, params: () => [ws, measure.params.source] }];
    default:
      throw new Error(`no raw SQL for ${measure.kind}`);
  }
}

const toPg = (sql) => {
  let n = 0;
  return sql.replace(/\?/g, () => '$' + ++n);
};

/** Opens the engine directly: SQLite read-only with the server's cache settings, or one pg connection. */
export async function openRaw(target) {
  if (target.dialect === 'sqlite') {
    const db = new Database(target.file, { readonly: true, fileMustExist: true });
    db.pragma('cache_size = -32000');
    db.pragma('temp_store = MEMORY');
    const cache = new Map();
    const prep = (sql) => cache.get(sql) ?? cache.set(sql, db.prepare(sql)).get(sql);
    return {
      dialect: 'sqlite',
      handle: db,
      version: db.prepare('SELECT sqlite_version() AS v').get().v,
      run: (v, params) => (v.one ? prep(v.sql).get(...params) : prep(v.sql).all(...params)),
      explain: (sql, params) => formatSqlitePlan(db.prepare('EXPLAIN QUERY PLAN ' + sql).all(...params)),
      close: async () => db.close(),
    };
  }
  const client = new pg.Client({ connectionString: target.url, options: `-c search_path=${target.schema},public` });
  await client.connect();
  const version = (await client.query('SHOW server_version')).rows[0].server_version;
  return {
    dialect: 'postgres',
    handle: client,
    version,
    run: async (v, params) => {
      const rows = (await client.query({ text: toPg(v.sql), values: params })).rows;
      return v.one ? rows[0] : rows;
    },
    explain: async (sql, params, pgPlaceholders = false) =>
      (await client.query({ text: 'EXPLAIN (ANALYZE, BUFFERS) ' + (pgPlaceholders ? sql : toPg(sql)), values: params })).rows.map((r) => r['QUERY PLAN']).join('\n'),
    close: () => client.end(),
  };
}

export function formatSqlitePlan(rows) {
  const depth = new Map([[0, -1]]);
  return rows.map((r) => {
    const d = (depth.get(r.parent) ?? -1) + 1;
    depth.set(r.id, d);
    return '  '.repeat(d) + r.detail;
  }).join('\n');
}

/** Times every variant of every measure; the fastest variant (by p50) is the engine's figure. */
export async function measureRaw(raw, measures, ws, { iterations, warmup, budgetMs }) {
  const out = {};
  for (const m of measures) {
    const variants = [];
    for (const v of rawVariants(raw.dialect, m, ws)) {
      const r = await sample((i) => raw.run(v, v.params(i)), { iterations, warmup, budgetMs });
      const last = r.last;
      variants.push({
        name: v.name, sql: v.sql, params: v.params(0), n: r.n, p50: r.p50, p95: r.p95, p99: r.p99, truncated: r.truncated,
        ids: Array.isArray(last) ? last.slice(0, 50).map((row) => row.id) : null,
        count: m.kind === 'count' && last ? Number(last.n) : null,
      });
    }
    const best = variants.reduce((a, b) => (b.p50 < a.p50 ? b : a));
    out[m.key] = { variants, best };
  }
  return out;
}
