#!/usr/bin/env node
// `npm run bench`: loads generated contacts into a fresh SQLite database (and a PostgreSQL schema when
// one is reachable) through the API, times the hot reads and writes through HTTP, puts the raw
// engine's figure beside each, and writes docs/benchmarks.md. ARCHITECTURE.md (Scale) has the targets.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { measureBrowser } from './browser.mjs';
import { apiClient } from './client.mjs';
import { generatedFile, loadContacts } from './load.mjs';
import { readMeasures, pickTerms } from './measures.mjs';
import { readOptions } from './options.mjs';
import { deepCursor, matchCounts, measureCreates, measureHttp } from './phases.mjs';
import { captureAppPlans } from './plans.mjs';
import {
  cleanupAll, createAdminKey, installExitHandlers, interrupted, log, onCleanup, productEnv, ROOT, startServer,
} from './processes.mjs';
import { measureRaw, openRaw } from './raw.mjs';
import { machineInfo, renderMarkdown, renderSummary } from './report.mjs';
import { copyDatabase, importFile, measureExport, measureImport, rawExport, rawImport } from './transfer.mjs';

const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '-');

/** The steps on one database; `target` says how the raw engine opens it. */
async function benchDatabase(kind, env, target, count, opts, generator) {
  const result = { kind, count, memory: {}, generator };
  log(`${kind}: generating ${count.toLocaleString('en-US')} contacts`);
  const gen = await generatedFile(generator, count, opts.seed);
  result.generate = gen;
  log(`${kind}: ${gen.cached ? 'reusing' : `generated in ${gen.seconds.toFixed(1)} s:`} ${path.relative(ROOT, gen.file)}`);

  result.notes = [];
  let server;
  try {
    server = await startServer(env, kind);
  } catch (error) {
    if (target.dialect !== 'postgres' || !/relation "kysely_migration(_lock)?" does not exist/.test(error.message)) throw error;
    // A product bug, reported rather than hidden: with DATABASE_SCHEMA set, Kysely's migrator looks for
    // its tables in every schema, finds another schema's and then cannot see them on the search_path.
    const note = 'The server could not migrate a fresh DATABASE_SCHEMA while another schema of the database held Kysely\'s migration tables ("relation kysely_migration_lock does not exist"); the bench created those two tables in its schema and started again.';
    result.notes.push(note);
    log(`${kind}: ${note}`);
    await createKyselyTables(target);
    server = await startServer(env, kind);
  }
  log(`${kind}: server ${server.url} (pid ${server.pid})`);
  const state = { server };
  try {
    return await measureDatabase(kind, env, target, count, opts, gen, state, result);
  } catch (error) {
    // A failure while the server is down is about the server: put its last words in the message.
    if (!state.server.alive()) error.message += `\nthe server had exited; its last output:\n${state.server.output()}`;
    throw error;
  }
}

/** Load, reads, raw engine, plans, creates: `state.server` is the server running now. */
async function measureDatabase(kind, env, target, count, opts, gen, state, result) {
  let server = state.server;
  const { key, workspaceId } = await createAdminKey(env);
  let client = apiClient(server.url, key);
  // On a signal, our keep-alive sockets go before the server stops (it would wait for them).
  let closeClient = onCleanup(() => client.close());
  const ws = workspaceId ?? JSON.parse((await client.get('/v1/me')).text).workspace?.id;
  result.memory.start = server.memory();

  log(`${kind}: loading through POST /v1/contacts/batch (${opts.batchSize} a batch, ${opts.loadConcurrency} in flight)`);
  const load = await loadContacts(client, gen.file, {
    count, batchSize: opts.batchSize, concurrency: opts.loadConcurrency, sampleAt: Math.floor(count * 0.618),
  });
  result.load = { rows: load.rows, seconds: load.seconds, rowsPerSecond: load.rowsPerSecond, tally: load.tally, errors: load.errors, retryErrors: load.retryErrors, batchSize: opts.batchSize, concurrency: opts.loadConcurrency };
  result.memory.afterLoad = server.memory();
  log(`${kind}: loaded ${load.rows.toLocaleString('en-US')} rows in ${load.seconds.toFixed(1)} s = ${Math.round(load.rowsPerSecond).toLocaleString('en-US')} rows/s ${JSON.stringify(load.tally)}`);
  if (!load.idSample.length) throw new Error(`${kind}: the load created no contacts: ${load.errors.join('; ')}`);

  if (target.dialect === 'postgres') {
    const t0 = Date.now();
    await analyzeSchema(target);
    result.analyzeSeconds = (Date.now() - t0) / 1000;
    log(`${kind}: ANALYZE took ${result.analyzeSeconds.toFixed(1)} s`);
  }

  const terms = pickTerms(load.sampled, load.idSample);
  const deep = await deepCursor(client, 20);
  const measures = readMeasures(terms, { cursor: deep.cursor, deepPage: deep.page, ids: load.idSample });
  result.measures = measures.map((m) => ({ key: m.key, label: m.label, kind: m.kind, target: m.target, params: m.params, q: m.q }));
  result.matches = await matchCounts(client, measures);
  log(`${kind}: search terms and their matches: ${measures.filter((m) => m.q).map((m) => `${m.q}=${result.matches[m.key].count}`).join(', ')}`);

  log(`${kind}: timing reads through HTTP (${opts.warmup} warm-up + ${opts.iterations} each)`);
  result.http = await measureHttp(client, measures, { iterations: opts.iterations, warmup: opts.warmup });
  result.memory.afterQueries = server.memory();
  if (opts.browserOn === kind) {
    log(`${kind}: the dashboard in a browser`);
    result.browser = await measureBrowser({ url: server.url, env, workspaceId: ws, client, terms, rounds: opts.browserRounds, kind });
    result.memory.afterBrowser = server.memory();
  }
  result.serverLog = server.logged();
  result.resetRetries = client.stats.resetRetries;
  await closeClient();
  await server.stop();

  // The engine alone, on the same data, with the server stopped (its WAL checkpointed).
  log(`${kind}: timing the raw engine`);
  const raw = await openRaw(target);
  try {
    result.engineVersion = raw.version;
    if (raw.dialect === 'sqlite') {
      result.sqliteStat1 = Boolean(raw.handle.prepare(`SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'`).get());
      result.fileMiB = fs.statSync(target.file).size / 2 ** 20;
    }
    result.raw = await measureRaw(raw, measures, ws, { iterations: opts.iterations, warmup: opts.warmup, budgetMs: 8000 });
    for (const m of measures) {
      const best = result.raw[m.key].best;
      try {
        best.plan = await raw.explain(best.sql, best.params);
      } catch (error) {
        best.plan = `(explain failed: ${error.message})`;
      }
    }
    log(`${kind}: capturing the product's queries and plans`);
    result.appPlans = await captureAppPlans(raw, target, measures, ws);
  } finally {
    await raw.close();
  }
  result.checks = compare(measures, result.http, result.raw);

  server = state.server = await startServer(env, kind);
  client = apiClient(server.url, key);
  closeClient = onCleanup(() => client.close());
  log(`${kind}: creates at concurrency ${opts.createConcurrency} for ${opts.createSeconds} s`);
  result.creates = await measureCreates(client, { seconds: opts.createSeconds, concurrency: opts.createConcurrency, tag: `${stamp}-${kind}` });
  result.memory.afterCreates = server.memory();
  result.serverLog.push(...server.logged());
  result.resetRetries += client.stats.resetRetries;
  log(`${kind}: ${Math.round(result.creates.perSecond).toLocaleString('en-US')} creates/s ${JSON.stringify(result.creates.tally)}`);

  // Data in and out: export everything, then import generated rows (another seed: new people, with
  // repeats among them) into the same workspace, deduplicated against it. Last, as it adds contacts.
  log(`${kind}: CSV export of every contact`);
  result.export = await measureExport(client, server.pid);
  log(`${kind}: exported ${result.export.rows.toLocaleString('en-US')} rows in ${result.export.seconds.toFixed(1)} s = ${Math.round(result.export.rowsPerSecond).toLocaleString('en-US')} rows/s`);
  const importCount = opts.importCount ?? count;
  let importCsv = null;
  const rawImportFile = target.dialect === 'sqlite' ? path.join(path.dirname(target.file), 'raw-import.db') : null;
  if (importCount > 0) {
    importCsv = await importFile(result.generator, importCount, opts.seed + 1);
    if (target.dialect === 'sqlite') {
      log(`${kind}: copying the database for the raw engine's import`);
      await copyDatabase(target.file, rawImportFile);
    }
    log(`${kind}: CSV import of ${importCount.toLocaleString('en-US')} rows`);
    result.import = await measureImport(server.url, client, key, importCsv, server.pid);
  }
  result.memory.afterTransfer = server.memory();
  result.resetRetries += client.stats.resetRetries;
  await closeClient();
  await server.stop();
  if (target.dialect === 'sqlite') {
    log(`${kind}: the raw engine's export and import`);
    // The product's figures stand without the raw engine's: a failure here is logged, not fatal.
    try {
      result.rawExport = rawExport(target.file, ws, path.join(path.dirname(target.file), 'raw-export.csv'));
      if (importCsv) result.rawImport = await rawImport(rawImportFile, ws, importCsv);
    } catch (error) {
      log(`${kind}: the raw engine's export or import failed: ${error.message}`);
    }
  }
  return result;
}

/** The API's first page must equal the hand-written SQL's (same data, same order); counts likewise. */
function compare(measures, http, raw) {
  const out = [];
  for (const m of measures) {
    const h = http[m.key];
    for (const v of raw[m.key].variants) {
      if (m.kind === 'count') {
        if (h.count !== null && v.count !== h.count) out.push({ measure: m.label, variant: v.name, problem: `API counts ${h.count}, SQL counts ${v.count}` });
      } else if (h.ids && v.ids && m.kind !== 'get') {
        const same = h.ids.length === v.ids.length && h.ids.every((id, i) => id === v.ids[i]);
        if (!same) {
          const at = h.ids.findIndex((id, i) => id !== v.ids[i]);
          out.push({ measure: m.label, variant: v.name, problem: `API returned ${h.ids.length} rows, SQL ${v.ids.length}; first difference at row ${at === -1 ? Math.min(h.ids.length, v.ids.length) : at}` });
        }
      }
    }
  }
  return out;
}

/** Kysely's migration tables (its own DDL), made in the bench's schema: the workaround above. */
async function createKyselyTables(target) {
  const client = new pg.Client({ connectionString: target.url });
  await client.connect();
  try {
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${target.schema}`);
    await client.query(`CREATE TABLE IF NOT EXISTS ${target.schema}.kysely_migration (name varchar(255) NOT NULL PRIMARY KEY, timestamp varchar(255) NOT NULL)`);
    await client.query(`CREATE TABLE IF NOT EXISTS ${target.schema}.kysely_migration_lock (id varchar(255) NOT NULL PRIMARY KEY, is_locked integer NOT NULL DEFAULT 0)`);
  } finally {
    await client.end();
  }
}

async function analyzeSchema(target) {
  const client = new pg.Client({ connectionString: target.url });
  await client.connect();
  try {
    const tables = (await client.query('SELECT tablename FROM pg_tables WHERE schemaname = $1', [target.schema])).rows;
    for (const t of tables) await client.query(`ANALYZE "${target.schema}"."${t.tablename}"`);
  } finally {
    await client.end();
  }
}

async function pgReachable(url) {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  try {
    await client.connect();
    const v = (await client.query('SHOW server_version')).rows[0].server_version;
    return { ok: true, version: v };
  } catch (error) {
    return { ok: false, error: error.message };
  } finally {
    await client.end().catch(() => {});
  }
}

async function main() {
  const opts = readOptions();
  if (opts.help) {
    process.stdout.write(opts.help + '\n');
    return 0;
  }
  installExitHandlers();
  if (!fs.existsSync(path.join(ROOT, 'dist', 'cli', 'main.js'))) throw new Error('dist/ is missing: run `npm run build` (npm run bench does)');
  const generator = path.resolve(ROOT, opts.generator ?? '../shared/bench/gen-contacts.mjs');
  if (!fs.existsSync(generator)) throw new Error(`generator not found: ${generator} (--generator or BENCH_GENERATOR)`);
  const outFile = path.resolve(ROOT, opts.out ?? 'docs/benchmarks.md');
  const benchDir = path.join(ROOT, '.bench');
  fs.mkdirSync(benchDir, { recursive: true });

  const startLoad = os.loadavg();
  if (startLoad[0] > 0.5) log(`load average ${startLoad[0].toFixed(2)} before the run: other processes are busy, figures will be noisy`);
  // The dashboard is measured on one database: SQLite (the million-row target), else PostgreSQL.
  opts.browserOn = !opts.browser ? null : opts.sqlite ? 'sqlite' : opts.pg ? 'postgres' : null;
  const report = { started: new Date().toISOString(), opts, machine: machineInfo(), databases: [], failures: [] };
  const base = { HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'warn', RATE_LIMIT_PER_SECOND: '0' };

  if (opts.sqlite) {
    const dir = path.join(benchDir, `sqlite-${stamp}`);
    fs.mkdirSync(dir, { recursive: true });
    const removeDir = onCleanup(async () => (opts.keep ? log(`kept ${dir}`) : fs.rmSync(dir, { recursive: true, force: true })));
    try {
      const env = productEnv({ ...base, DATA_DIR: dir }, ['DATABASE_URL', 'DATABASE_SCHEMA']);
      const r = await benchDatabase('sqlite', env, { dialect: 'sqlite', file: path.join(dir, 'contacts.db') }, opts.count, opts, generator);
      r.synchronous = env.SQLITE_SYNCHRONOUS ?? 'FULL';
      report.databases.push(r);
    } catch (error) {
      log(`sqlite failed: ${error.stack}`);
      report.failures.push({ kind: 'sqlite', error: error.message });
    } finally {
      await cleanupAll();
      await removeDir();
    }
  }

  if (!opts.pg) report.pgNote = 'skipped (--no-pg)';
  else {
    const reach = await pgReachable(opts.pgUrl);
    if (!reach.ok) {
      report.pgNote = `skipped: ${redact(opts.pgUrl)} not reachable (${reach.error})`;
      log(`postgres ${report.pgNote}`);
    } else {
      const schema = `bench_${randomBytes(5).toString('hex')}`;
      const dir = path.join(benchDir, `pg-${stamp}`);
      fs.mkdirSync(dir, { recursive: true });
      const drop = onCleanup(async () => {
        fs.rmSync(dir, { recursive: true, force: true });
        if (opts.keep) return log(`kept schema ${schema}`);
        const c = new pg.Client({ connectionString: opts.pgUrl });
        await c.connect();
        try {
          // The server is stopped by now; a deadlock with a straggling transaction is retried.
          for (let attempt = 1; ; attempt++) {
            try {
              await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
              break;
            } catch (error) {
              if (error.code !== '40P01' || attempt === 5) throw new Error(`DROP SCHEMA ${schema} failed (drop it by hand): ${error.message}`);
              await new Promise((r) => setTimeout(r, 500));
            }
          }
        } finally {
          await c.end();
        }
      });
      try {
        const env = productEnv({ ...base, DATA_DIR: dir, DATABASE_URL: opts.pgUrl, DATABASE_SCHEMA: schema });
        const r = await benchDatabase('postgres', env, { dialect: 'postgres', url: opts.pgUrl, schema }, opts.pgCount, opts, generator);
        r.serverVersion = reach.version;
        r.poolSize = env.DATABASE_POOL_SIZE ?? '10';
        report.databases.push(r);
      } catch (error) {
        log(`postgres failed: ${error.stack}`);
        report.failures.push({ kind: 'postgres', error: error.message });
      } finally {
        await cleanupAll();
        await drop();
      }
    }
  }

  if (interrupted()) return 130;
  report.finished = new Date().toISOString();
  report.loadAverage = { start: startLoad, end: os.loadavg() };
  fs.mkdirSync(path.dirname(outFile), { recursive: true });
  // The raw results first: a report that fails to render must not cost the run's measurements.
  const jsonFile = path.join(benchDir, `results-${stamp}.json`);
  fs.writeFileSync(jsonFile, JSON.stringify(report, null, 2));
  fs.writeFileSync(outFile, renderMarkdown(report));
  process.stdout.write(renderSummary(report) + `\nReport: ${path.relative(process.cwd(), outFile)}; raw results: ${path.relative(process.cwd(), jsonFile)}\n`);
  return report.failures.length ? 1 : 0;
}

const redact = (url) => url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');

main().then((code) => {
  process.exitCode = code;
}, async (error) => {
  log(error.stack ?? String(error));
  await cleanupAll();
  process.exitCode = 1;
});
