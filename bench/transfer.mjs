// Data in and out: a CSV export of the whole loaded set and a CSV import of generated rows, both through
// the API as a user runs them (start, poll until completed), with the server's memory sampled as they
// run; beside each, the raw engine doing the same work by hand (better-sqlite3, no HTTP, no product code).
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import Database from 'better-sqlite3';
import { parse } from 'csv-parse';
import { json } from './client.mjs';
import { log, readMemory, ROOT, runToFile } from './processes.mjs';
import { clockMs, summarise } from './stats.mjs';

/** Polls a task until it settles, sampling the server's RSS against the task's row count. */
async function follow(client, pathOf, pid, rowsOf) {
  const samples = [];
  for (;;) {
    const task = json(await client.get(pathOf), 'poll');
    samples.push({ rows: rowsOf(task), rssMiB: readMemory(pid).rssMiB });
    if (task.status === 'completed' || task.status === 'failed') return { task, samples };
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** RSS when the task had written about `rows` rows (the first sample at or past it). */
function rssAt(samples, rows) {
  return samples.find((s) => s.rows >= rows)?.rssMiB ?? NaN;
}

/** `POST /v1/contacts/export` of every contact, then the download; rows per second and memory. */
export async function measureExport(client, pid) {
  const t0 = clockMs();
  const started = json(await client.post('/v1/contacts/export', {}), 'start export');
  const { task, samples } = await follow(client, `/v1/exports/${started.id}`, pid, (t) => t.row_count);
  const seconds = (clockMs() - t0) / 1000;
  if (task.status !== 'completed') throw new Error(`export ${task.status}: ${task.error}`);
  const bytes = await download(task.download_url);
  return {
    rows: task.row_count, seconds, rowsPerSecond: task.row_count / seconds, bytes,
    rssAt100kMiB: rssAt(samples, 100_000), rssAtEndMiB: samples.at(-1).rssMiB, peakRssMiB: Math.max(...samples.map((s) => s.rssMiB)),
  };
}

async function download(url) {
  return new Promise((resolve, reject) => {
    http.get(url, (res) => {
      let bytes = 0;
      res.on('data', (c) => { bytes += c.length; });
      res.on('end', () => (res.statusCode === 200 ? resolve(bytes) : reject(new Error(`download answered ${res.statusCode}`))));
    }).on('error', reject);
  });
}

/** The generated CSV (documented export columns, ~2% repeated emails) for the import. */
export async function importFile(generator, count, seed) {
  const dir = path.join(ROOT, '.bench', 'cache');
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `import-${count}-seed${seed}.csv`);
  if (!fs.existsSync(file)) {
    const tmp = `${file}.${process.pid}.tmp`;
    await runToFile(process.execPath, [generator, '--count', String(count), '--seed', String(seed), '--format', 'csv'], tmp);
    fs.renameSync(tmp, file);
  }
  return file;
}

/**
 * A person added through the API every 100 ms while `running()`: what an agent's write waits while an
 * import holds the database (SQLite has one writer). Latency of each create, in ms.
 */
async function probeWrites(client, running) {
  const ms = [];
  for (let i = 0; running(); i++) {
    const t0 = clockMs();
    const res = await client.post('/v1/contacts', { name: `Probe ${i}`, email: `probe-${i}-${process.pid}@during-import.example` });
    if (res.status !== 201) throw new Error(`create during the import answered ${res.status}: ${res.text.slice(0, 200)}`);
    ms.push(clockMs() - t0);
    await new Promise((r) => setTimeout(r, 100));
  }
  return summarise(ms);
}

/**
 * `POST /v1/imports` with the file as a text/csv body into a fresh workspace's key; rows per second,
 * and the latency of API creates made meanwhile.
 */
export async function measureImport(baseUrl, client, key, file, pid) {
  const url = new URL('/v1/imports', baseUrl);
  const t0 = clockMs();
  const started = await new Promise((resolve, reject) => {
    const req = http.request({ host: url.hostname, port: url.port, path: url.pathname, method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'text/csv' } }, (res) => {
      let text = '';
      res.on('data', (c) => { text += c; });
      res.on('end', () => (res.statusCode === 202 ? resolve(JSON.parse(text)) : reject(new Error(`import answered ${res.statusCode}: ${text}`))));
    });
    req.on('error', reject);
    fs.createReadStream(file).pipe(req);
  });
  const uploadSeconds = (clockMs() - t0) / 1000;
  let importing = true;
  const probe = probeWrites(client, () => importing);
  // Awaited below; when following the import fails first, the probe's own failure is not reported twice.
  probe.catch(() => undefined);
  const { task, samples } = await follow(client, `/v1/imports/${started.id}`, pid, (t) => t.rows).finally(() => { importing = false; });
  const seconds = (clockMs() - t0) / 1000;
  const createsDuring = await probe;
  if (task.status !== 'completed') throw new Error(`import ${task.status}: ${task.error}`);
  log(`import: ${task.rows} rows in ${seconds.toFixed(1)} s (created ${task.created}, updated ${task.updated}, failed ${task.failed})`);
  return {
    rows: task.rows, created: task.created, updated: task.updated, skipped: task.skipped, failed: task.failed,
    seconds, uploadSeconds, rowsPerSecond: task.rows / seconds, peakRssMiB: Math.max(...samples.map((s) => s.rssMiB)), createsDuring,
  };
}

const COLUMNS = ['id', 'name', 'email', 'phone', 'company', 'source', 'first_seen', 'last_seen', 'conversation_count', 'tags', 'page_url', 'ip_country'];
const cell = (v) => (v === null ? '' : /[",\r\n]/.test(v) ? `"${v.replaceAll('"', '""')}"` : String(v));

/** The raw engine's export: one SELECT in the list's order, a CSV line per row, to a file. */
export function rawExport(dbFile, workspaceId, outFile) {
  const db = new Database(dbFile, { readonly: true });
  const t0 = clockMs();
  const out = fs.openSync(outFile, 'w');
  let rows = 0;
  let buf = COLUMNS.join(',') + '\r\n';
  const stmt = db.prepare(`SELECT id, name, email, phone, company, source, first_seen, last_seen, conversation_count, tags, page_url, ip_country
    FROM contacts WHERE workspace_id = ? AND archived = 0 ORDER BY last_seen DESC, id DESC`);
  for (const r of stmt.iterate(workspaceId)) {
    buf += [r.id, r.name, r.email, r.phone, r.company, r.source, new Date(r.first_seen).toISOString(), new Date(r.last_seen).toISOString(),
      String(r.conversation_count), r.tags === '[]' ? '' : `"${JSON.parse(r.tags).join(',')}"`, r.page_url, r.ip_country].map((v, i) => (i === 9 ? v : cell(v))).join(',') + '\r\n';
    if (++rows % 2000 === 0) {
      fs.writeSync(out, buf);
      buf = '';
    }
  }
  fs.writeSync(out, buf);
  fs.closeSync(out);
  const seconds = (clockMs() - t0) / 1000;
  db.close();
  fs.rmSync(outFile, { force: true });
  return { rows, seconds, rowsPerSecond: rows / seconds };
}

/**
 * A page-for-page copy of the live database (SQLite's backup API), taken just before the product's
 * import, so that the raw engine imports into the same million contacts.
 */
export async function copyDatabase(file, to) {
  for (const suffix of ['', '-wal', '-shm']) fs.rmSync(to + suffix, { force: true });
  const db = new Database(file, { readonly: true });
  try {
    await db.backup(to);
  } finally {
    db.close();
  }
}

/**
 * The raw engine's import, into the copy: the same writes as the product's, by hand, the fastest way we
 * know. A transaction per 2,500 rows with the server's import settings (128 MB page cache, the log
 * checkpointed every 100,000 pages, synchronous FULL); each row looked up by email, then by phone; a
 * new contact inserted with its tag rows and its contact.created event by prepared statements; its
 * search-index rows added by one statement per transaction, as the product adds them. No validation,
 * no phone parsing, no HTTP. The copy is removed after.
 */
export async function rawImport(copyFile, workspaceId, csvFile) {
  const db = new Database(copyFile);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('secure_delete = ON');
  db.pragma('temp_store = MEMORY');
  db.pragma('cache_size = -128000');
  db.pragma('wal_autocheckpoint = 100000');
  const find = db.prepare('SELECT seq FROM contacts WHERE workspace_id = ? AND email_key = ? AND email_lower = ?');
  const findPhone = db.prepare('SELECT seq FROM contacts WHERE workspace_id = ? AND phone = ?');
  const insert = db.prepare(`INSERT INTO contacts (id, workspace_id, name, email, email_lower, phone, company, source, first_seen, last_seen, conversation_count, tags,
    page_url, ip_country, created_at, updated_at, name_key, email_key, phone_digits, word_prefixes) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
  const tag = db.prepare('INSERT OR IGNORE INTO contact_tags (contact_id, tag, workspace_id) VALUES (?, ?, ?)');
  const event = db.prepare("INSERT INTO events (id, workspace_id, contact_id, type, actor, data, occurred_at) VALUES (?, ?, ?, 'contact.created', ?, ?, ?)");
  const update = db.prepare('UPDATE contacts SET name = ?, updated_at = ? WHERE seq = ?');
  const lastSeq = db.prepare('SELECT max(seq) FROM contacts').pluck();
  const index = db.prepare('INSERT INTO contacts_fts (rowid, name, email, phone, words) SELECT seq, name_key, email_key, phone_digits, word_prefixes FROM contacts WHERE seq > ?');
  const fold = (s) => (s ? s.normalize('NFKD').replace(/[\u0300-\u036f]/g, '').toLowerCase() : null);
  const actor = JSON.stringify({ type: 'api_key', id: 'key_raw' });
  let rows = 0, n = 0;
  const t0 = clockMs();
  const write = db.transaction((records) => {
    const before = lastSeq.get();
    const now = Date.now();
    for (const r of records) {
      const emailLower = r[2] ? r[2].toLowerCase() : null;
      const found = (emailLower ? find.get(workspaceId, fold(emailLower), emailLower) : undefined) ?? (r[3] ? findPhone.get(workspaceId, r[3]) : undefined);
      if (found) {
        update.run(r[1] || null, now, found.seq);
        continue;
      }
      const id = `ctc_${now.toString(36).padStart(8, '0')}raw${(++n).toString(36).padStart(13, '0')}`;
      const tags = r[9] ? r[9].split(',') : [];
      insert.run(id, workspaceId, r[1] || null, r[2] || null, emailLower, r[3] || null, r[4] || null, r[5] || 'api', now, now,
        JSON.stringify(tags), r[10] || null, r[11] || null, now, now, fold(r[1]), fold(emailLower), r[3] ? r[3].replace(/\D/g, '') : null, ' ' + (fold(r[1]) ?? ''));
      for (const t of tags) tag.run(id, t, workspaceId);
      event.run(`evt_${id.slice(4)}`, workspaceId, id, actor, JSON.stringify({
        id, name: r[1] || null, email: r[2] || null, phone: r[3] || null, company: r[4] || null, source: r[5] || 'api', tags,
        page_url: r[10] || null, ip_country: r[11] || null, metadata: {}, lifecycle_stage: 'new', archived: false,
        first_seen: now, last_seen: now, conversation_count: 0, created_at: now, updated_at: now,
      }), now);
    }
    index.run(before);
  });
  let chunk = [];
  for await (const record of fs.createReadStream(csvFile).pipe(parse({ from_line: 2, relax_column_count: true }))) {
    chunk.push(record);
    rows++;
    if (chunk.length === 2500) {
      write(chunk);
      chunk = [];
    }
  }
  if (chunk.length) write(chunk);
  const seconds = (clockMs() - t0) / 1000;
  db.close();
  for (const suffix of ['', '-wal', '-shm']) fs.rmSync(copyFile + suffix, { force: true });
  return { rows, seconds, rowsPerSecond: rows / seconds };
}
