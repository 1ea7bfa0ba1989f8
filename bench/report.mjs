// docs/benchmarks.md and the summary on stdout.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BROWSER_TARGETS, busy } from './browser.mjs';
import { TARGETS } from './measures.mjs';
import { ROOT } from './processes.mjs';
import { fmtInt, fmtMs } from './stats.mjs';

export function machineInfo() {
  const cpus = os.cpus();
  const git = (...args) => {
    try {
      return execFileSync('git', args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    } catch {
      return null;
    }
  };
  const pkg = (name) => {
    try {
      return JSON.parse(fs.readFileSync(path.join(ROOT, 'node_modules', name, 'package.json'), 'utf8')).version;
    } catch {
      return '?';
    }
  };
  const dirty = git('status', '--porcelain', '--untracked-files=no');
  return {
    cores: cpus.length, cpu: cpus[0]?.model ?? '?', memGiB: os.totalmem() / 2 ** 30, os: `${os.type()} ${os.release()}`,
    node: process.version, betterSqlite3: pkg('better-sqlite3'), pg: pkg('pg'), fastify: pkg('fastify'),
    commit: git('rev-parse', '--short', 'HEAD'), dirty: Boolean(dirty),
  };
}

const TITLE = { sqlite: 'SQLite', postgres: 'PostgreSQL' };
const SHORT = (name) => name.split(/[:(]/)[0].trim();

function readRows(db) {
  return db.measures.map((m) => {
    const h = db.http[m.key];
    const raw = db.raw?.[m.key];
    const match = db.matches?.[m.key]?.count;
    const label = m.kind === 'search' && match !== undefined && match !== null ? `${m.label}, ${fmtInt(match)} ${match === 1 ? 'match' : 'matches'}` : m.label;
    let met = '—';
    if (m.target) met = h.errors ? `**no** (${h.errors} errors)` : h.p95 < m.target.p95 ? 'yes' : '**no**';
    else if (h.errors) met = `(${h.errors} errors)`;
    const rawText = raw ? `${fmtMs(raw.best.p50)} / ${fmtMs(raw.best.p95)}${raw.variants.length > 1 ? ` (${SHORT(raw.best.name)})` : ''}` : '—';
    return {
      key: m.key, label, p50: fmtMs(h.p50), p95: fmtMs(h.p95), p99: fmtMs(h.p99) + (h.truncated ? ` (n=${h.n})` : ''),
      target: m.target ? `< ${m.target.p95} ms` : '—', raw: rawText, met, missed: met.startsWith('**no'),
    };
  });
}

function throughputRows(db) {
  const mem = db.memory;
  const rssMax = Math.max(mem.afterLoad?.rssMiB ?? NaN, mem.afterQueries?.rssMiB ?? NaN);
  const c = db.creates;
  const l = db.load;
  const yes = (ok) => (ok ? 'yes' : '**no**');
  const rows = [];
  if (l) {
    rows.push({ key: 'load', label: `load: POST /v1/contacts/batch, historical, ${l.batchSize} a batch, ${l.concurrency} in flight`,
      result: `${fmtInt(l.rowsPerSecond)} rows/s (${fmtInt(l.rows)} rows in ${l.seconds.toFixed(1)} s)`, target: `> ${fmtInt(TARGETS.loadRowsPerSecond)} rows/s`,
      met: yes(l.rowsPerSecond > TARGETS.loadRowsPerSecond && !l.tally.httpErrors) });
  }
  if (c) {
    rows.push({ key: 'creates', label: `create: POST /v1/contacts, concurrency ${c.concurrency}, ${c.seconds.toFixed(1)} s`,
      result: `${fmtInt(c.perSecond)} /s (latency p50 ${fmtMs(c.latency.p50)}, p95 ${fmtMs(c.latency.p95)})`, target: `> ${fmtInt(TARGETS.createsPerSecond)} /s`,
      met: yes(c.perSecond > TARGETS.createsPerSecond) });
  }
  if (mem.afterQueries) {
    const f = (x) => (x ? `${x.rssMiB.toFixed(0)} MiB` : '—');
    rows.push({ key: 'rss', label: 'server RSS: after load / after queries (after creates; peak VmHWM)',
      result: `${f(mem.afterLoad)} / ${f(mem.afterQueries)} (${f(mem.afterCreates)}; peak ${Math.max(...['afterLoad', 'afterQueries', 'afterCreates'].map((k) => mem[k]?.peakMiB ?? 0)).toFixed(0)} MiB)`,
      target: `< ${TARGETS.rssMiB} MB`, met: yes(rssMax < TARGETS.rssMiB) });
  }
  const ex = db.export;
  if (ex) {
    const growth = ex.rssAtEndMiB - ex.rssAt100kMiB;
    const raw = db.rawExport ? `; raw engine ${fmtInt(db.rawExport.rowsPerSecond)} rows/s` : '';
    rows.push({ key: 'export', label: 'CSV export: POST /v1/contacts/export of every contact, until completed',
      result: `${fmtInt(ex.rowsPerSecond)} rows/s (${fmtInt(ex.rows)} rows in ${ex.seconds.toFixed(1)} s); server RSS ${Number.isNaN(ex.rssAt100kMiB) ? '— (under 100,000 rows)' : `${ex.rssAt100kMiB.toFixed(0)} MiB`} at 100,000 rows written, ${ex.rssAtEndMiB.toFixed(0)} MiB at the end${raw}`,
      target: `> ${fmtInt(TARGETS.exportRowsPerSecond)} rows/s, RSS flat`,
      met: yes(ex.rowsPerSecond > TARGETS.exportRowsPerSecond && !(growth > TARGETS.exportRssGrowthMiB)) });
  }
  const im = db.import;
  if (im) {
    const perMillion = im.seconds * (1_000_000 / im.rows);
    const raw = db.rawImport ? `; raw engine ${fmtInt(db.rawImport.rowsPerSecond)} rows/s (hand-written SQL into a copy of the same database: the same rows, tags, events and search index, matched by email then phone, without validation)` : '';
    rows.push({ key: 'import', label: 'CSV import: POST /v1/imports (text/csv), deduplicated and validated, until completed',
      result: `${fmtInt(im.rows)} rows in ${im.seconds.toFixed(1)} s = ${fmtInt(im.rowsPerSecond)} rows/s (created ${fmtInt(im.created)}, updated ${fmtInt(im.updated)}, failed ${fmtInt(im.failed)})${im.rows < 1_000_000 ? `; ${perMillion.toFixed(0)} s per million at this rate` : ''}${during(im.createsDuring)}${raw}`,
      target: `1,000,000 rows < ${TARGETS.importSecondsPerMillion} s`, met: yes(perMillion < TARGETS.importSecondsPerMillion) });
  }
  return rows.map((r) => ({ ...r, missed: r.met.startsWith('**no') }));
}

/** The API creates made while the import ran (one every 100 ms), as a user would feel them. */
function during(c) {
  return c?.n ? `; a POST /v1/contacts made meanwhile (${fmtInt(c.n)}, one every 100 ms) answered in ${fmtMs(c.p50)} at the median, ${fmtMs(c.p95)} p95, ${fmtMs(c.max)} at most` : '';
}

const table = (head, rows) => [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
const code = (text, lang = '') => '```' + lang + '\n' + text + '\n```';

function databaseSection(db, report) {
  const out = [];
  const m = report.machine;
  const engine = db.kind === 'sqlite'
    ? `SQLite ${db.engineVersion ?? '?'} (better-sqlite3 ${m.betterSqlite3}), WAL, synchronous=${db.synchronous}; database file ${db.fileMiB?.toFixed(0) ?? '?'} MiB; sqlite_stat1 ${db.sqliteStat1 ? 'present' : 'absent (no ANALYZE has run)'}`
    : `PostgreSQL ${db.serverVersion ?? db.engineVersion ?? '?'} (pg ${m.pg}), pool of ${db.poolSize}, a schema of its own; ANALYZE after the load (${db.analyzeSeconds?.toFixed(1) ?? '?'} s)`;
  out.push(`## ${TITLE[db.kind]}: ${fmtInt(db.count)} contacts`, '', engine + '.', '');
  for (const note of db.notes ?? []) out.push(`> ${note}`, '');
  if (db.kind === 'postgres') out.push('The targets are written for SQLite at a million contacts; they are shown here as the same bar.', '');
  out.push(table(['measure', 'p50', 'p95', 'p99', 'target', 'raw engine p50 / p95', 'met?'],
    readRows(db).map((r) => [r.label, r.p50, r.p95, r.p99, r.target, r.raw, r.met])), '');
  out.push(table(['measure', 'result', 'target', 'met?'], throughputRows(db).map((r) => [r.label, r.result, r.target, r.met])), '');

  const l = db.load;
  out.push(`Load results: ${fmtInt(l.tally.created)} created, ${fmtInt(l.tally.updated)} updated (the generator's duplicate emails), ${fmtInt(l.tally.skipped)} skipped, ${fmtInt(l.tally.error)} errors${l.tally.httpErrors ? `, ${l.tally.httpErrors} batches refused` : ''}.`);
  if (l.errors.length) out.push('', 'First errors:', '', ...l.errors.map((e) => `- \`${e.replace(/`/g, "'")}\``));
  if (l.tally.retried) {
    out.push('', `**${fmtInt(l.tally.retried)} batch requests failed with a server error and were sent again** (the failed batch had rolled back; the server's log has the cause). First answers:`, '',
      ...l.retryErrors.map((e) => `- \`${e.replace(/`/g, "'")}\``));
  }
  const c = db.creates;
  out.push('', `Creates: ${Object.entries(c.tally).map(([s, n]) => `${fmtInt(n)} × ${s}`).join(', ')}${c.errors.length ? `; first errors: ${c.errors.map((e) => `\`${e.replace(/`/g, "'")}\``).join('; ')}` : ''}.`);
  if (db.resetRetries) out.push('', `${fmtInt(db.resetRetries)} requests met a reset keep-alive connection (ECONNRESET on a reused socket) and were sent again on a new one.`);
  if (db.serverLog?.length) {
    out.push('', 'The server logged:', '', ...db.serverLog.map(([msg, n]) => `- ${fmtInt(n)} × \`${msg.replace(/`/g, "'").slice(0, 200)}\``));
  }
  const httpErrors = db.measures.filter((x) => db.http[x.key].errors);
  if (httpErrors.length) out.push('', 'Read errors:', '', ...httpErrors.map((x) => `- ${x.label}: ${db.http[x.key].errors} × \`${db.http[x.key].firstError.replace(/`/g, "'")}\``));

  out.push('', `### Raw engine variants (${TITLE[db.kind]})`, '',
    'Hand-written SQL on the same file or schema, with the server stopped; the fastest variant of each measure is the figure above. A slow variant stops after about 8 s of samples (n says how many).', '');
  const vrows = [];
  for (const x of db.measures) for (const v of db.raw[x.key].variants) vrows.push([x.label, v.name, fmtMs(v.p50), fmtMs(v.p95), String(v.n)]);
  out.push(table(['measure', 'variant', 'p50', 'p95', 'n'], vrows), '');

  out.push(`### Checks (${TITLE[db.kind]})`, '');
  if (!db.checks.length) out.push('Every API page equals the first 50 rows of each hand-written query, in order, and the API count equals `count(*)`.');
  else out.push('The API and the hand-written SQL disagree (same data, same order expected):', '', ...db.checks.map((k) => `- ${k.measure} vs ${k.variant}: ${k.problem}`));
  out.push('');
  return out.join('\n');
}

function missSection(db) {
  const out = [];
  const reads = readRows(db).filter((r) => r.missed);
  const writes = throughputRows(db).filter((r) => r.missed);
  for (const r of reads) {
    const h = db.http[r.key];
    out.push(`### ${TITLE[db.kind]}: ${r.label}`, '', `p95 ${fmtMs(h.p95)} through HTTP (target ${r.target}); raw engine ${r.raw}.`, '');
    const app = db.appPlans?.[r.key];
    if (!app) out.push('(no captured queries)');
    else if (app.error) out.push(`(could not capture the product's queries: ${app.error})`);
    else {
      out.push(`The product ran ${app.queries.length} ${app.queries.length === 1 ? 'query' : 'queries'} for it (times from one run in the bench process):`, '');
      app.queries.forEach((q, i) => {
        out.push(`${i + 1}. ${q.ms.toFixed(2)} ms`, '', code(q.sql, 'sql'), '', `parameters: \`${JSON.stringify(q.parameters)}\``, '', code(q.plan), '');
      });
    }
    const best = db.raw[r.key].best;
    out.push(`The raw engine's fastest (${best.name}, ${fmtMs(best.p50)} p50):`, '', code(best.sql, 'sql'), '', code(best.plan), '');
  }
  for (const r of writes) {
    const why = r.key === 'rss' ? 'Memory of the server process (VmRSS of /proc/PID/status); no query plan.' : 'A write path: no single query plan.';
    out.push(`### ${TITLE[db.kind]}: ${r.label}`, '', `${r.result} (target ${r.target}). ${why}`, '');
  }
  return out;
}

/** The rows of the browser table: keystroke latency and each scroll run, against the targets. */
function browserRows(b) {
  const rows = [];
  const t = b.typing;
  if (t) {
    const miss = t.timeouts || !(t.stats.p95 < BROWSER_TARGETS.keystrokeP95);
    rows.push({ key: 'keystroke', label: `search box: keystroke to updated rows on screen, ${fmtInt(t.stats.n)} keystrokes`,
      result: `p50 ${fmtMs(t.stats.p50)}, p95 ${fmtMs(t.stats.p95)}, max ${fmtMs(t.stats.max)}${t.timeouts ? `; **${t.timeouts} never showed their rows** (within ${b.keyTimeoutMs / 1000} s)` : ''}`,
      target: `p95 < ${BROWSER_TARGETS.keystrokeP95} ms`, met: miss ? '**no**' : 'yes' });
  }
  (b.scroll ?? []).forEach((s, i) => {
    const lt = s.longTasks;
    const miss = s.stalled || lt.over > 0;
    rows.push({ key: `scroll${i + 1}`, label: `scroll ${fmtInt(s.goal)} rows${b.scroll.length > 1 ? ` (run ${i + 1})` : ''}: long tasks`,
      result: `${lt.count ? `longest ${fmtMs(lt.max)}, ${lt.over} over ${BROWSER_TARGETS.longTaskMs} ms` : `none (no task reached ${BROWSER_TARGETS.longTaskMs} ms)`}; ${fmtInt(s.rowsPassed)} rows in ${(s.ms / 1000).toFixed(1)} s${s.stalled ? ' (**stopped short**)' : ''}`,
      target: `none over ${BROWSER_TARGETS.longTaskMs} ms`, met: miss ? '**no**' : 'yes' });
  });
  return rows.map((r) => ({ ...r, missed: r.met.startsWith('**no') }));
}

/** CPU use while a part ran: ours (bench, server, browser) and other processes' (which make long tasks noisy). */
function cpuNote(cpu) {
  if (!cpu) return '';
  const noisy = busy(cpu) ? ' **Other processes were busy: the figures are noisy.**' : '';
  return ` CPU meanwhile: ${cpu.oursCores.toFixed(2)} of the ${os.cpus().length} cores for the bench, the server and the browser, ${cpu.othersCores.toFixed(2)} for other processes.${noisy}`;
}

function browserSection(report) {
  const out = ['## Dashboard in a browser', ''];
  const db = report.databases.find((d) => d.browser);
  if (!report.opts.browser) return [...out, 'Skipped (`--no-browser`).', ''].join('\n');
  if (!db) return [...out, `Not run: it runs on ${TITLE[report.opts.browserOn] ?? 'a database'} after the reads, and that run did not get there.`, ''].join('\n');
  const b = db.browser;
  if (b.skipped) return [...out, `**Skipped:** ${b.skipped}.`, ''].join('\n');
  out.push(`The dashboard served at \`/\` by the same server, on the ${fmtInt(db.count)} contacts of the ${TITLE[db.kind]} run, after its reads: Chromium ${b.browserVersion ?? '?'} (Debian's, headless, software rendering) driven by playwright-core on the same machine, viewport ${b.viewport.width}×${b.viewport.height}, signed in as an owner made with \`chatsby-contacts users create\`. Targets: issue 5.`, '');
  if (b.error) out.push(`> **The browser phase failed:** ${b.error}${b.pageText ? ` The page showed: "${b.pageText}"` : ''}${b.screenshot ? ` (screenshot: \`${b.screenshot}\`)` : ''}`, '');
  const rows = browserRows(b);
  if (rows.length) out.push(table(['measure', 'result', 'target', 'met?'], rows.map((r) => [r.label, r.result, r.target, r.met])), '');

  const t = b.typing;
  if (t) {
    out.push('### Search as you type', '',
      `Each term is typed into a freshly loaded dashboard (an empty query cache), one key at a time, ${b.rounds} ${b.rounds === 1 ? 'time' : 'times'}; the next key goes ${b.keyIntervalMs} ms after the last, or once its rows show if that takes longer. A keystroke is timed in the page from its \`keydown\` event to the end of the first animation frame whose rendered rows (Name, Email, Phone of each row the virtualised table draws) equal the dashboard's own answer for the new text (its \`GET /v1/contacts?q=\`, read through a wrapper around \`fetch\`); a keystroke whose rows do not change still waits for that answer. Every answer is then checked against the API's (\`GET /v1/contacts?q=…&limit=100\` with the bench's key): same row count, same first id, and the first row on screen showing that contact's name and email.`, '');
    const p = t.parts;
    out.push(`Where the time goes (p50 / p95): keydown to the dashboard's request ${fmtMs(p.toRequest.p50)} / ${fmtMs(p.toRequest.p95)}; request to its answer read ${fmtMs(p.answer.p50)} / ${fmtMs(p.answer.p95)}; answer to rows painted ${fmtMs(p.toScreen.p50)} / ${fmtMs(p.toScreen.p95)}. Long tasks during the keystrokes: ${t.longTasks.count ? `${t.longTasks.count}, the longest ${fmtMs(t.longTasks.max)}` : 'none'}.${cpuNote(t.cpu)}`, '');
    const d = b.typingNoCount;
    if (d) {
      out.push(`Diagnostic (not a target): the same keystrokes once more, with the dashboard's \`GET /v1/contacts/count?q=\` requests refused inside the browser so that the server runs the list queries alone: p50 ${fmtMs(d.stats.p50)}, p95 ${fmtMs(d.stats.p95)}, max ${fmtMs(d.stats.max)} (${fmtInt(d.stats.n)} keystrokes${d.timeouts ? `, ${d.timeouts} never showed their rows` : ''}); request to its answer read ${fmtMs(d.parts.answer.p50)} / ${fmtMs(d.parts.answer.p95)} (p50 / p95).${cpuNote(d.cpu)}`, '');
    }
    const full = (term) => t.samples.find((x) => x.term === term.key && x.text === term.text && x.ok);
    out.push(table(['term', 'keystrokes', 'p50', 'p95', 'max', 'rows in the first page for the whole term'],
      t.terms.map((term) => [`\`${term.text}\` (${term.label})`, fmtInt(term.stats.n), fmtMs(term.stats.p50), fmtMs(term.stats.p95), fmtMs(term.stats.max), full(term) ? fmtInt(full(term).rows) : '—'])), '');
    const slow = [...t.samples].filter((x) => x.ok).sort((x, y) => y.ms - x.ms).slice(0, 5);
    if (slow.length) out.push(`Slowest keystrokes: ${slow.map((x) => `\`${x.text}\` ${fmtMs(x.ms)} (request ${fmtMs(x.toRequest)}, answer ${fmtMs(x.answer)}, paint ${fmtMs(x.toScreen)})`).join('; ')}.`, '');
    const failed = t.samples.filter((x) => !x.ok);
    if (failed.length) out.push('Keystrokes whose rows never showed:', '', ...failed.map((x) => `- \`${x.text}\` (round ${x.round}): ${x.requested ? `last request q=\`${x.requested.q}\`, HTTP ${x.requested.status ?? 'pending'}${x.requested.answered ? ', answered' : ''}` : 'no request for it'}; ${x.shownCount ?? 0} rows drawn`), '');
    if (!t.checks.length) out.push(`Checks: every answer the dashboard showed equals the API's (row count, first id, first row's name and email on screen).`, '');
    else out.push('**Checks failed** (the dashboard against the API for the same text):', '', ...t.checks.map((k) => `- \`${k.text}\` (round ${k.round}): ${k.problem}`), '');
  }

  if (b.scroll?.length) {
    const s0 = b.scroll[0];
    out.push('### Scrolling', '',
      `A freshly loaded dashboard on the default list (\`-last_seen\`), scrolled by mouse-wheel events of ${b.step.px} px over the table every ${b.step.ms} ms (as fast as the browser acknowledges them) until ${fmtInt(s0.goal)} rows have passed the top; the dashboard fetches pages of rows as the end nears. Long tasks come from a buffered \`PerformanceObserver\` for \`longtask\` (it reports only tasks of ${BROWSER_TARGETS.longTaskMs} ms or more); what ran in a long task is from the \`long-animation-frame\` entry holding it. Frame intervals are between \`requestAnimationFrame\` callbacks.`, '');
    out.push(table(['run', 'rows', 'time', 'rows/s', 'long tasks (over 50 ms)', 'longest task', 'frame interval p50 / p95 / max', 'frames over 50 ms', 'pages fetched (answer p50 / p95)', 'caught up with the loaded rows'],
      b.scroll.map((s, i) => [String(i + 1), fmtInt(s.rowsPassed), `${(s.ms / 1000).toFixed(1)} s`, fmtInt(s.rowsPassed / (s.ms / 1000)),
        `${s.longTasks.count} (${s.longTasks.over})`, s.longTasks.max === null ? '—' : fmtMs(s.longTasks.max),
        `${fmtMs(s.frames.p50)} / ${fmtMs(s.frames.p95)} / ${fmtMs(s.frames.max)}`, fmtInt(s.frames.over50),
        `${fmtInt(s.pages)} (${fmtMs(s.pageMs.p50)} / ${fmtMs(s.pageMs.p95)})${s.pageErrors ? `, ${s.pageErrors} errors` : ''}`,
        `${fmtInt(s.atEnd)} of ${fmtInt(s.polls)} looks`])), '');
    const cpu = b.scroll.map((s, i) => (s.cpu ? `- run ${i + 1}:${cpuNote(s.cpu)}` : null)).filter(Boolean);
    if (cpu.length) out.push(...cpu, '');
    const long = b.scroll.flatMap((s, i) => s.longTasks.longest.map((x) => ({ ...x, run: i + 1 }))).sort((x, y) => y.ms - x.ms).slice(0, 6);
    if (long.length) {
      out.push('Longest tasks while scrolling (time from the start of the scroll):', '',
        ...long.map((x) => `- run ${x.run}, at ${(x.atMs / 1000).toFixed(1)} s: ${fmtMs(x.ms)}${x.pageArrived ? '; a page of rows arrived in it' : ''}${x.ran ? `; its frame ${fmtMs(x.ran.frameMs)}: scripts ${fmtMs(x.ran.scriptMs)}${x.ran.layoutMs !== null ? `, style and layout ${fmtMs(x.ran.layoutMs)}` : ''}${x.ran.scripts.length ? ` (${x.ran.scripts.join('; ')})` : ''}` : '; no long-animation-frame entry overlaps it'}`), '');
    }
  }
  return out.join('\n');
}

function plansAppendix(db) {
  const out = [`<details><summary>${TITLE[db.kind]}: every measure's queries and plans</summary>`, ''];
  for (const m of db.measures) {
    const app = db.appPlans?.[m.key];
    out.push(`#### ${m.label}`, '');
    if (!app || app.error) {
      out.push(`(${app?.error ?? 'not captured'})`, '');
      continue;
    }
    for (const q of app.queries) out.push(code(q.sql, 'sql'), '', code(q.plan), '');
  }
  out.push('</details>', '');
  return out.join('\n');
}

export function renderMarkdown(report) {
  const m = report.machine;
  const o = report.opts;
  const out = ['# Benchmarks', '',
    `Written by \`npm run bench\` (\`bench/run.mjs\`) on ${report.started.slice(0, 10)} (${report.started.slice(11, 16)} UTC), commit ${m.commit ?? '?'}${m.dirty ? ' with local changes' : ''}. Targets and the engine figures they are measured against: \`ARCHITECTURE.md\`, Scale.`, '',
    `Machine: ${m.cores} cores (${m.cpu}), ${m.memGiB.toFixed(0)} GiB, ${m.os}; Node ${m.node}, Fastify ${m.fastify}. Load average (1 min) ${report.loadAverage.start[0].toFixed(2)} before the run, ${report.loadAverage.end[0].toFixed(2)} after${report.loadAverage.start[0] > 0.5 ? ': **other processes were busy, so the figures are noisy**' : ''}.`, '',
    `Data: \`gen-contacts.mjs --seed ${o.seed}\`, ${o.sqlite ? `${fmtInt(o.count)} contacts on SQLite` : 'SQLite skipped'}, ${report.pgNote ? `PostgreSQL ${report.pgNote}` : `${fmtInt(o.pgCount)} on PostgreSQL`}.`, '',
    `Method: the server runs as a child process (\`RATE_LIMIT_PER_SECOND=0\`, \`LOG_LEVEL=warn\`) on loopback; the data goes in through the batch endpoint in historical mode; each read is timed one request at a time over a keep-alive connection, ${o.warmup} warm-up requests then ${o.iterations} timed (a slow one stops after 30 s), until the last byte of the answer. Searches use the default list (50 rows, \`-last_seen\`). "Raw engine" is hand-written SQL for the same answer, run in the bench process on better-sqlite3 (read-only, the server stopped) or one pg connection: the floor we work against. Client and server share the machine's cores.`, ''];
  const small = report.databases.filter((d) => d.kind === 'sqlite' && d.count < 1_000_000);
  if (small.length) out.push(`> This run used ${fmtInt(small[0].count)} SQLite contacts; the targets are set for 1,000,000 (\`npm run bench\` with no flags).`, '');
  for (const f of report.failures) out.push(`> **${TITLE[f.kind]} run failed:** ${f.error.split('\n')[0]}`, '');
  for (const db of report.databases) out.push(databaseSection(db, report));
  if (report.pgNote) out.push('## PostgreSQL', '', report.pgNote[0].toUpperCase() + report.pgNote.slice(1) + '.', '');
  out.push(browserSection(report));

  out.push('## Missed targets', '');
  const misses = report.databases.flatMap(missSection);
  for (const db of report.databases.filter((d) => d.browser)) {
    const d = db.browser.typingNoCount;
    for (const r of browserRows(db.browser).filter((x) => x.missed)) {
      const diagnostic = r.key === 'keystroke' && d ? ` With the dashboard's count requests refused in the browser, the same keystrokes took p50 ${fmtMs(d.stats.p50)}, p95 ${fmtMs(d.stats.p95)}.` : '';
      misses.push(`### Dashboard in a browser: ${r.label}`, '', `${r.result} (target ${r.target}).${diagnostic} Details in "Dashboard in a browser" above.`, '');
    }
  }
  out.push(...(misses.length ? misses : ['None.', '']));
  out.push('## Query plans', '', "The product's own queries for each measure, captured from its store with the same parameters.", '');
  for (const db of report.databases) out.push(plansAppendix(db));
  return out.join('\n');
}

export function renderSummary(report) {
  const out = [''];
  for (const db of report.databases) {
    out.push(`${TITLE[db.kind]}, ${fmtInt(db.count)} contacts`);
    const rows = readRows(db);
    const w = Math.max(...rows.map((r) => r.label.length));
    out.push(`  ${'measure'.padEnd(w)}  ${'p50'.padStart(9)}  ${'p95'.padStart(9)}  ${'p99'.padStart(9)}  ${'target'.padStart(8)}  raw p50 / p95 · met?`);
    for (const r of rows) out.push(`  ${r.label.padEnd(w)}  ${r.p50.padStart(9)}  ${r.p95.padStart(9)}  ${r.p99.padStart(9)}  ${r.target.padStart(8)}  ${r.raw} · ${r.met.replace(/\*/g, '')}`);
    for (const r of throughputRows(db)) out.push(`  ${r.label}: ${r.result} (target ${r.target}) · ${r.met.replace(/\*/g, '')}`);
    if (db.checks.length) out.push(...db.checks.map((k) => `  CHECK FAILED ${k.measure} vs ${k.variant}: ${k.problem}`));
    out.push('');
  }
  if (report.pgNote) out.push(`PostgreSQL ${report.pgNote}`);
  const withBrowser = report.databases.find((d) => d.browser);
  if (withBrowser) {
    const b = withBrowser.browser;
    out.push(`Dashboard in a browser (${TITLE[withBrowser.kind]}, ${fmtInt(withBrowser.count)} contacts)${b.skipped ? `: skipped: ${b.skipped}` : b.error ? `: FAILED: ${b.error}` : ''}`);
    for (const r of browserRows(b)) out.push(`  ${r.label}: ${r.result} (target ${r.target}) · ${r.met.replace(/\*/g, '')}`);
    if (b.typingNoCount) out.push(`  (diagnostic) the same keystrokes with the count requests refused: p50 ${fmtMs(b.typingNoCount.stats.p50)}, p95 ${fmtMs(b.typingNoCount.stats.p95)}, max ${fmtMs(b.typingNoCount.stats.max)}`);
    if (b.typing?.checks.length) out.push(...b.typing.checks.map((k) => `  CHECK FAILED search "${k.text}": ${k.problem}`));
  } else if (!report.opts.browser) out.push('Dashboard in a browser: skipped (--no-browser)');
  for (const f of report.failures) out.push(`${TITLE[f.kind]} FAILED: ${f.error.split('\n')[0]}`);
  return out.join('\n');
}
