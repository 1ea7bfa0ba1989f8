// The queries the product itself runs for a measure, captured by calling its store (dist/, built by
// `npm run bench`) through a logging Kysely, then explained on the engine: EXPLAIN QUERY PLAN on
// SQLite, EXPLAIN (ANALYZE, BUFFERS) on PostgreSQL.
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Kysely, PostgresDialect, SqliteDialect } from 'kysely';
import pg from 'pg';
import { ROOT } from './processes.mjs';

const dist = (p) => import(pathToFileURL(path.join(ROOT, 'dist', p)).href);

/** A Kysely on the raw handle, recording each query with its parameters and duration. */
async function loggingKysely(raw, target) {
  const captured = [];
  const log = (event) => {
    if (event.level === 'query') captured.push({ sql: event.query.sql, parameters: [...event.query.parameters], ms: event.queryDurationMillis });
  };
  if (raw.dialect === 'sqlite') return { db: new Kysely({ dialect: new SqliteDialect({ database: raw.handle }), log }), captured, destroy: async () => {} };
  const pool = new pg.Pool({ connectionString: target.url, max: 1, options: `-c search_path=${target.schema},public` });
  const db = new Kysely({ dialect: new PostgresDialect({ pool }), log });
  return { db, captured, destroy: () => db.destroy() };
}

/**
 * For each measure: the product's queries (SQL, parameters, time) and their plans. Errors are
 * reported in place: the bench must not fail because an internal signature moved.
 */
export async function captureAppPlans(raw, target, measures, ws) {
  let listMod, queryMod, contactsMod;
  try {
    [listMod, queryMod, contactsMod] = await Promise.all([dist('store/contact-list.js'), dist('domain/contact-query.js'), dist('store/contacts.js')]);
  } catch (error) {
    return Object.fromEntries(measures.map((m) => [m.key, { error: `could not load dist/: ${error.message}` }]));
  }
  const out = {};
  for (const m of measures) {
    const k = await loggingKysely(raw, target);
    try {
      if (m.kind === 'get') {
        await contactsMod.getContact(k.db, ws, m.ids[0]);
      } else {
        const { sort: sortParam, limit: limitParam, cursor: cursorParam, ...filterParams } = m.params;
        const filter = queryMod.parseFilter(filterParams, { timezone: 'UTC', now: Date.now() });
        if (m.kind === 'count') await listMod.countContacts(k.db, raw.dialect, ws, filter);
        else {
          const sort = queryMod.parseSort(sortParam);
          await listMod.listContacts(k.db, raw.dialect, ws, filter, sort, queryMod.decodeCursor(cursorParam, sort), queryMod.parseLimit(limitParam));
        }
      }
      const queries = [];
      for (const q of k.captured) {
        let plan;
        try {
          plan = await raw.explain(q.sql, q.parameters, true);
        } catch (error) {
          plan = `(explain failed: ${error.message})`;
        }
        queries.push({ ...q, parameters: q.parameters.map(shorten), plan });
      }
      out[m.key] = { queries };
    } catch (error) {
      out[m.key] = { error: error.message };
    } finally {
      await k.destroy();
    }
  }
  return out;
}

/** Long parameters (a JSON list of 4,000 candidate rowids) are cut for the report. */
function shorten(p) {
  const s = typeof p === 'string' ? p : JSON.stringify(p);
  return s !== undefined && s.length > 120 ? `${s.slice(0, 100)}… (${s.length} chars)` : p;
}
