// Command line and environment of the benchmark. Flags win over environment variables.
import { parseArgs } from 'node:util';

const HELP = `Usage: npm run bench [-- options]   (or: node bench/run.mjs [options] after npm run build)

  --count N            contacts on SQLite (BENCH_COUNT; default 1000000)
  --pg-count N         contacts on PostgreSQL (BENCH_PG_COUNT; default 100000)
  --pg-url URL         PostgreSQL server (BENCH_PG_URL; default postgres://postgres@127.0.0.1:5432/test)
  --no-pg              skip PostgreSQL
  --no-sqlite          skip SQLite
  --iterations N       timed requests per measure (default 200)
  --warmup N           untimed requests before each measure (default 20)
  --create-seconds S   length of the create run (default 8)
  --create-concurrency N  requests in flight during the create run (default 32)
  --load-concurrency N batches in flight during the load (default 4)
  --batch-size N       contacts per POST /v1/contacts/batch (default 1000)
  --seed N             generator seed (default 42)
  --generator FILE     gen-contacts.mjs (BENCH_GENERATOR; default ../shared/bench/gen-contacts.mjs)
  --out FILE           the report (default docs/benchmarks.md)
  --no-browser         skip the dashboard in a browser (Debian's chromium; CHROMIUM_PATH, default /usr/bin/chromium)
  --browser-rounds N   times each search term is typed and the 10,000-row scroll is run (default 2)
  --import-count N     rows of the CSV import at the end of each run (default: the run's count; 0 skips it)
  --keep               keep the run's data directory under .bench/ (SQLite file, PostgreSQL schema)
  --help`;

const num = (name, raw, min = 1) => {
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min) throw new Error(`${name} must be a number >= ${min}, got "${raw}"`);
  return n;
};

export function readOptions(argv = process.argv.slice(2), env = process.env) {
  const { values } = parseArgs({
    args: argv,
    options: {
      count: { type: 'string' }, 'pg-count': { type: 'string' }, 'pg-url': { type: 'string' },
      'no-pg': { type: 'boolean', default: false }, 'no-sqlite': { type: 'boolean', default: false },
      iterations: { type: 'string', default: '200' }, warmup: { type: 'string', default: '20' },
      'create-seconds': { type: 'string', default: '8' }, 'create-concurrency': { type: 'string', default: '32' },
      'load-concurrency': { type: 'string', default: '4' }, 'batch-size': { type: 'string', default: '1000' },
      seed: { type: 'string', default: '42' }, generator: { type: 'string' }, out: { type: 'string' },
      'no-browser': { type: 'boolean', default: false }, 'browser-rounds': { type: 'string', default: '2' },
      keep: { type: 'boolean', default: false }, help: { type: 'boolean', default: false }, 'import-count': { type: 'string' },
    },
  });
  if (values.help) return { help: HELP };
  return {
    count: Math.floor(num('--count', values.count ?? env.BENCH_COUNT ?? '1000000')),
    pgCount: Math.floor(num('--pg-count', values['pg-count'] ?? env.BENCH_PG_COUNT ?? '100000')),
    pgUrl: values['pg-url'] ?? env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
    sqlite: !values['no-sqlite'],
    pg: !values['no-pg'],
    iterations: Math.floor(num('--iterations', values.iterations)),
    warmup: Math.floor(num('--warmup', values.warmup, 0)),
    createSeconds: num('--create-seconds', values['create-seconds']),
    createConcurrency: Math.floor(num('--create-concurrency', values['create-concurrency'])),
    loadConcurrency: Math.floor(num('--load-concurrency', values['load-concurrency'])),
    batchSize: Math.min(1000, Math.floor(num('--batch-size', values['batch-size']))),
    seed: Math.floor(num('--seed', values.seed, 0)),
    generator: values.generator ?? env.BENCH_GENERATOR ?? null,
    out: values.out ?? null,
    browser: !values['no-browser'],
    browserRounds: Math.floor(num('--browser-rounds', values['browser-rounds'])),
    keep: values.keep,
    importCount: values['import-count'] === undefined ? null : Math.floor(num('--import-count', values['import-count'], 0)),
  };
}
