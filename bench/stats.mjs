// Timing: latency samples and their percentiles.

export const clockMs = () => Number(process.hrtime.bigint()) / 1e6;

/** Nearest-rank percentile of ascending samples. */
export function percentile(sorted, p) {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

export function summarise(samples) {
  const s = [...samples].sort((a, b) => a - b);
  const mean = s.reduce((a, b) => a + b, 0) / (s.length || 1);
  return { n: s.length, p50: percentile(s, 50), p95: percentile(s, 95), p99: percentile(s, 99), mean, max: s[s.length - 1] ?? NaN };
}

/**
 * Calls `fn(i)` one at a time: `warmup` untimed calls, then up to `iterations` timed ones. A slow
 * query (a full scan at a million rows) stops early at `budgetMs`, so the run still ends; the result
 * says how many samples it has. Sync functions are timed without an await in between.
 */
export async function sample(fn, { iterations, warmup, budgetMs }) {
  const warmStart = clockMs();
  let last;
  for (let i = 0; i < warmup && clockMs() - warmStart < budgetMs / 4; i++) {
    last = fn(i);
    if (last && typeof last.then === 'function') last = await last;
  }
  const samples = [];
  const start = clockMs();
  for (let i = 0; i < iterations; i++) {
    const t0 = clockMs();
    let r = fn(warmup + i);
    if (r && typeof r.then === 'function') r = await r;
    samples.push(clockMs() - t0);
    last = r;
    if (clockMs() - start > budgetMs) break;
  }
  return { ...summarise(samples), truncated: samples.length < iterations, last };
}

export const fmtMs = (v) => (Number.isFinite(v) ? (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2)) + ' ms' : '—');
export const fmtInt = (v) => (Number.isFinite(v) ? Math.round(v).toLocaleString('en-US') : '—');
