// The data set: generated once per (count, seed) into .bench/cache, then loaded through
// POST /v1/contacts/batch in historical mode, a few batches in flight.
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { json } from './client.mjs';
import { clockMs } from './stats.mjs';
import { log, ROOT, runToFile } from './processes.mjs';

const API_FIELDS = ['name', 'email', 'phone', 'company', 'source', 'page_url', 'ip_country'];

/** Generates (or reuses) the JSONL file: the generator is deterministic, so the cache is exact. */
export async function generatedFile(generator, count, seed) {
  const dir = path.join(ROOT, '.bench', 'cache');
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `contacts-${count}-seed${seed}.jsonl`);
  if (fs.existsSync(file)) return { file, seconds: 0, cached: true };
  const t0 = clockMs();
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    await runToFile(process.execPath, [generator, '--count', String(count), '--seed', String(seed), '--format', 'jsonl'], tmp);
    fs.renameSync(tmp, file);
  } finally {
    fs.rmSync(tmp, { force: true });
  }
  return { file, seconds: (clockMs() - t0) / 1000, cached: false };
}

/** A generated row as a batch item: API fields only, empty strings left out, created_at = first_seen. */
export function batchItem(rec) {
  const item = {};
  for (const f of API_FIELDS) if (typeof rec[f] === 'string' && rec[f] !== '') item[f] = rec[f];
  if (rec.tags?.length) item.tags = rec.tags;
  item.created_at = rec.first_seen;
  item.first_seen = rec.first_seen;
  item.last_seen = rec.last_seen;
  item.conversation_count = rec.conversation_count;
  return item;
}

/**
 * Loads the file. Returns throughput, result counts, a sample of created ids (for get by id) and the
 * generated rows around `sampleAt` (to pick rare search terms from real data).
 */
export async function loadContacts(client, file, { count, batchSize, concurrency, sampleAt }) {
  const tally = { created: 0, updated: 0, skipped: 0, error: 0, httpErrors: 0, retried: 0 };
  const errors = [];
  const retryErrors = [];
  const idSample = [];
  let idsSeen = 0;
  const sampled = [];
  const inflight = new Set();
  let fatal = null;
  let sent = 0;
  let lastReport = clockMs();
  const t0 = clockMs();

  const send = async (items, first) => {
    const body = JSON.stringify({ contacts: items, historical: true });
    let res;
    // A 5xx rolls the whole batch back, so sending it again is safe; each retry is counted and
    // reported (on PostgreSQL concurrent batches have deadlocked: a product bug, not a client one).
    for (let attempt = 1; ; attempt++) {
      try {
        res = await client.post('/v1/contacts/batch', body);
      } catch (error) {
        fatal ??= new Error(`batch at row ${first}: ${error.message}`);
        return;
      }
      if (res.status < 500 || attempt === 5) break;
      tally.retried++;
      if (retryErrors.length < 3) retryErrors.push(`rows ${first}-${first + items.length - 1}: HTTP ${res.status} ${res.text.slice(0, 200)}`);
      await new Promise((r) => setTimeout(r, 50 * attempt));
    }
    if (res.status !== 200) {
      tally.httpErrors++;
      tally.error += items.length;
      if (errors.length < 5) errors.push(`rows ${first}-${first + items.length - 1}: HTTP ${res.status} ${res.text.slice(0, 300)}`);
      if (res.status >= 500 || res.status === 401 || res.status === 403) fatal ??= new Error(errors[errors.length - 1]);
      return;
    }
    for (const r of json(res, 'batch').results) {
      tally[r.status] = (tally[r.status] ?? 0) + 1;
      if (r.status === 'error' || r.status === 'skipped') {
        if (errors.length < 5) errors.push(`row ${first + r.index} ${r.status}: ${r.error} ${JSON.stringify(items[r.index]).slice(0, 200)}`);
      } else if (r.status === 'created') {
        // Reservoir sample of ids, for random gets.
        idsSeen++;
        if (idSample.length < 20_000) idSample.push(r.id);
        else {
          const j = Math.floor(Math.random() * idsSeen);
          if (j < idSample.length) idSample[j] = r.id;
        }
      }
    }
    sent += items.length;
    if (clockMs() - lastReport > 10_000) {
      lastReport = clockMs();
      log(`  loaded ${sent.toLocaleString('en-US')} of ${count.toLocaleString('en-US')} (${Math.round(sent / ((clockMs() - t0) / 1000)).toLocaleString('en-US')} rows/s)`);
    }
  };

  const rl = readline.createInterface({ input: fs.createReadStream(file, { encoding: 'utf8', highWaterMark: 1 << 20 }), crlfDelay: Infinity });
  let batch = [];
  let first = 0;
  let i = 0;
  const flush = async () => {
    const p = send(batch, first);
    inflight.add(p);
    void p.finally(() => inflight.delete(p));
    batch = [];
    first = i;
    if (inflight.size >= concurrency) await Promise.race(inflight);
    if (fatal) throw fatal;
  };
  for await (const line of rl) {
    if (!line) continue;
    const rec = JSON.parse(line);
    if (i >= sampleAt && sampled.length < 300) sampled.push({ index: i, rec });
    batch.push(batchItem(rec));
    i++;
    if (batch.length === batchSize) await flush();
  }
  if (batch.length) await flush();
  await Promise.all(inflight);
  if (fatal) throw fatal;
  const seconds = (clockMs() - t0) / 1000;
  return { rows: i, seconds, rowsPerSecond: i / seconds, tally, errors, retryErrors, idSample, sampled };
}
