// The measured phases through HTTP: read latencies and create throughput.
import { json, listPath } from './client.mjs';
import { clockMs, sample, summarise } from './stats.mjs';

/** Latency of each read measure, one request at a time after a warm-up. */
export async function measureHttp(client, measures, { iterations, warmup, budgetMs = 30_000 }) {
  const out = {};
  for (const m of measures) {
    const path = m.kind === 'get'
      ? () => `/v1/contacts/${encodeURIComponent(m.ids[Math.floor(Math.random() * m.ids.length)])}`
      : (() => { const p = listPath(m.params, m.kind === 'count' ? '/v1/contacts/count' : '/v1/contacts'); return () => p; })();
    let errors = 0;
    let firstError = null;
    let lastOk = null;
    const r = await sample(async (i) => {
      const res = await client.get(path(i));
      if (res.status !== 200) {
        errors++;
        firstError ??= `HTTP ${res.status}: ${res.text.slice(0, 300)}`;
      } else lastOk = res;
      return res;
    }, { iterations, warmup, budgetMs });
    const body = lastOk ? json(lastOk, m.label) : null;
    out[m.key] = {
      n: r.n, p50: r.p50, p95: r.p95, p99: r.p99, truncated: r.truncated, errors, firstError,
      ids: body && Array.isArray(body.data) && m.kind !== 'get' ? body.data.map((c) => c.id) : null,
      count: body && typeof body.count === 'number' ? body.count : null,
    };
  }
  return out;
}

/** How many contacts each search term matches (GET /v1/contacts/count?q=), for the report. */
export async function matchCounts(client, measures) {
  const out = {};
  for (const m of measures.filter((x) => x.kind === 'search')) {
    const t0 = clockMs();
    const res = await client.get(listPath({ q: m.q }, '/v1/contacts/count'));
    out[m.key] = { count: res.status === 200 ? json(res, 'count').count : null, ms: clockMs() - t0, status: res.status };
  }
  return out;
}

/** Follows next_cursor `pages` times from the first page; returns the cursor of the page after. */
export async function deepCursor(client, pages) {
  let cursor = null;
  let reached = 0;
  for (let i = 0; i < pages; i++) {
    const res = await client.get(listPath({ limit: '50', cursor }));
    const body = json(res, 'page');
    if (!body.next_cursor) break;
    cursor = body.next_cursor;
    reached = i + 2;
  }
  return { cursor, page: reached };
}

/**
 * POST /v1/contacts at a fixed concurrency with unique emails: a second of warm-up, then `seconds`
 * measured. Creates per second counts 201 answers only.
 */
export async function measureCreates(client, { seconds, concurrency, tag }) {
  let n = 0;
  const run = async (ms, record) => {
    const tally = {};
    const latencies = [];
    const errors = [];
    const end = clockMs() + ms;
    const worker = async () => {
      while (clockMs() < end) {
        const k = n++;
        const t0 = clockMs();
        let res;
        try {
          res = await client.post('/v1/contacts', { name: `Bench Create ${k}`, email: `bench.create.${tag}.${k}@example.com`, source: 'api' });
        } catch (error) {
          res = { status: 'network error', text: error.message };
        }
        if (record) latencies.push(clockMs() - t0);
        tally[res.status] = (tally[res.status] ?? 0) + 1;
        if (res.status !== 201 && errors.length < 3) errors.push(`${typeof res.status === 'number' ? 'HTTP ' : ''}${res.status}: ${res.text.slice(0, 300)}`);
      }
    };
    const t0 = clockMs();
    await Promise.all(Array.from({ length: concurrency }, worker));
    return { seconds: (clockMs() - t0) / 1000, tally, latencies, errors };
  };
  await run(1000, false);
  const r = await run(seconds * 1000, true);
  const created = r.tally[201] ?? 0;
  return { created, seconds: r.seconds, perSecond: created / r.seconds, tally: r.tally, latency: summarise(r.latencies), errors: r.errors, concurrency };
}
