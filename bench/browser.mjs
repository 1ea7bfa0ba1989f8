// The dashboard in a real browser (issue 5): time from a keystroke in the search box to the matching
// rows on screen, and long tasks while the virtualised table scrolls through 10,000 rows. Debian's
// chromium driven by playwright-core (never a browser download), against the server the bench
// started, on the contacts it loaded; signed in as a user made with the CLI.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { json, listPath } from './client.mjs';
import { cpuBetween, cpuSnapshot, createUser, log, onCleanup, ROOT } from './processes.mjs';
import { summarise } from './stats.mjs';

export const BROWSER_TARGETS = { keystrokeP95: 150, longTaskMs: 50, scrollRows: 10_000 };

const VIEWPORT = { width: 1280, height: 800 };
/** A typist's pace: the next key goes no sooner than this after the last (and never before its rows show). */
const KEY_INTERVAL_MS = 200;
const KEY_TIMEOUT_MS = 20_000;
/** Scrolling: a wheel event of STEP_PX, then STEP_MS of pause; with each event's acknowledgement that came to ~200 rows/s here. */
const STEP_PX = 240;
const STEP_MS = 16;
const SCROLL_MAX_MS = 300_000;
const SCROLL_STALL_MS = 20_000;

export const chromiumPath = () => process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/**
 * Runs in the page before the dashboard's scripts (addInitScript): a buffered long-task observer, the
 * time of each keydown, and a wrapper around fetch that notes when each GET /v1/contacts answer was
 * read and what rows it held. `window.__bench` is the bench's handle; the dashboard is not changed.
 */
function instrument() {
  const b = { longTasks: [], longFrames: [], lists: [], armed: null, longTaskObserver: null, scroll: null };
  window.__bench = b;
  try {
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) b.longTasks.push({ start: e.startTime, duration: e.duration });
    }).observe({ type: 'longtask', buffered: true });
    b.longTaskObserver = 'ok';
  } catch (error) {
    b.longTaskObserver = String(error);
  }
  // Long animation frames (Chromium): what ran in a slow frame, to say where a long task came from.
  try {
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) {
        b.longFrames.push({
          start: e.startTime, duration: e.duration, blocking: e.blockingDuration, render: e.renderStart ? e.startTime + e.duration - e.renderStart : null,
          layout: e.styleAndLayoutStart ? e.startTime + e.duration - e.styleAndLayoutStart : null,
          scripts: (e.scripts ?? []).map((x) => ({ invoker: x.invoker, type: x.invokerType, ms: x.duration, layout: x.forcedStyleAndLayoutDuration, source: x.sourceFunctionName || null })),
        });
      }
    }).observe({ type: 'long-animation-frame', buffered: true });
  } catch {
    // not in this browser: long tasks alone
  }
  addEventListener('keydown', (e) => {
    if (b.armed && b.armed.keyAt === null) b.armed.keyAt = e.timeStamp;
  }, true);

  const realFetch = window.fetch.bind(window);
  window.fetch = async (input, init) => {
    const url = new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url, location.href);
    if (url.pathname !== '/v1/contacts') return realFetch(input, init);
    const entry = { q: url.searchParams.get('q') ?? '', cursor: url.searchParams.get('cursor'), start: performance.now(), headers: null, body: null, rows: null, status: null };
    b.lists.push(entry);
    const res = await realFetch(input, init);
    entry.headers = performance.now();
    entry.status = res.status;
    const readJson = res.json.bind(res);
    res.json = async () => {
      const data = await readJson();
      entry.body = performance.now();
      entry.rowCount = Array.isArray(data?.data) ? data.data.length : 0;
      // The first page's rows as the table shows them (Name, Email, Phone); later pages only counted.
      if (!entry.cursor) entry.rows = (data?.data ?? []).map((c) => [c.id, c.name ?? '—', c.email ?? '', c.phone ?? '']);
      return data;
    };
    return res;
  };

  const grid = () => document.querySelector('[role="grid"][aria-label="Contacts"]');
  /** The data rows in the DOM (the virtualiser renders those near the viewport), in list order. */
  b.rendered = () => {
    const g = grid();
    if (!g) return null;
    return [...g.querySelectorAll('[role="row"][aria-rowindex]')]
      .map((r) => ({ i: Number(r.getAttribute('aria-rowindex')) - 2, cells: [...r.querySelectorAll('[role="gridcell"]')].slice(0, 3).map((c) => c.textContent) }))
      .sort((x, y) => x.i - y.i);
  };
  /** Do the rows on screen show this answer? Each rendered row equals the answer's row at its index. */
  const shows = (rows) => {
    const shown = b.rendered();
    if (!shown) return false;
    if (!rows.length) return shown.length === 0;
    if (!shown.length || (rows.length <= 10 && shown.length !== rows.length)) return false;
    return shown.every((r) => rows[r.i] && r.cells[0] === rows[r.i][1] && r.cells[1] === rows[r.i][2] && r.cells[2] === rows[r.i][3]);
  };

  b.arm = (text) => {
    b.armed = { text, keyAt: null, from: b.lists.length };
  };
  /**
   * Resolves once a frame shows the rows of the dashboard's own answer for the armed text: checked at
   * each animation frame (before that frame paints), timed after the frame (a message posted from
   * the frame's callback runs once it has been painted).
   */
  b.settle = (timeoutMs) => new Promise((resolve) => {
    const a = b.armed;
    const t0 = performance.now();
    const check = () => {
      const entry = a.keyAt === null ? null : b.lists.slice(a.from).reverse().find((e) => !e.cursor && e.q === a.text && e.rows);
      if (entry && shows(entry.rows)) {
        const frameAt = performance.now();
        const shown = b.rendered();
        const channel = new MessageChannel();
        channel.port1.onmessage = () => resolve({
          ok: true, keyAt: a.keyAt, fetchStart: entry.start, bodyAt: entry.body, frameAt, paintedAt: performance.now(), status: entry.status,
          rows: entry.rows.length, firstId: entry.rows[0]?.[0] ?? null, firstShown: shown[0]?.cells ?? null, shownCount: shown.length,
          requests: b.lists.slice(a.from).filter((e) => !e.cursor).length,
          longTasks: b.longTasks.filter((t) => t.start >= a.keyAt).map((t) => t.duration),
        });
        channel.port2.postMessage(0);
      } else if (performance.now() - t0 > timeoutMs) {
        const last = b.lists.slice(a.from).filter((e) => !e.cursor).pop();
        resolve({ ok: false, keyAt: a.keyAt, requested: last ? { q: last.q, status: last.status, answered: Boolean(last.rows) } : null, shownCount: b.rendered()?.length ?? null });
      } else requestAnimationFrame(check);
    };
    requestAnimationFrame(check);
  });

  /** The table's scroll container: the grid's descendant that scrolls. */
  const scroller = () => [...(grid()?.querySelectorAll('*') ?? [])].find((el) => /(auto|scroll)/.test(getComputedStyle(el).overflowY) && el.scrollHeight > el.clientHeight);
  b.scrollStart = () => {
    const el = scroller();
    if (!el) return null;
    const row = grid().querySelector('[role="row"][aria-rowindex]');
    const s = { el, t0: performance.now(), t1: null, frames: [], last: null, polls: 0, atEnd: 0, from: b.lists.length, rowHeight: row ? row.getBoundingClientRect().height : 36, running: true };
    b.scroll = s;
    // Frame intervals only: nothing here reads layout, so the measuring does not add work to a frame.
    const frame = (t) => {
      if (!s.running) return;
      if (s.last !== null) s.frames.push(t - s.last);
      s.last = t;
      requestAnimationFrame(frame);
    };
    requestAnimationFrame(frame);
    const r = el.getBoundingClientRect();
    return { x: r.left + r.width / 2, y: r.top + r.height / 2, rowHeight: s.rowHeight };
  };
  b.scrollProgress = () => {
    const s = b.scroll;
    const g = grid();
    const top = s.el.scrollTop;
    // At the bottom of the rows loaded so far: the scroll has caught up with the page fetches.
    s.polls++;
    if (top + s.el.clientHeight >= s.el.scrollHeight - 2) s.atEnd++;
    return { top, rowsPassed: top / s.rowHeight, loaded: Number(g?.getAttribute('aria-rowcount') ?? 1) - 1 };
  };
  b.scrollStop = () => {
    const s = b.scroll;
    s.running = false;
    s.t1 = performance.now();
    const pages = b.lists.slice(s.from).filter((e) => e.cursor);
    return {
      ms: s.t1 - s.t0, rowsPassed: s.el.scrollTop / s.rowHeight, rowHeight: s.rowHeight,
      longTasks: b.longTasks.filter((t) => t.start >= s.t0 && t.start <= s.t1),
      longFrames: b.longFrames.filter((f) => f.start >= s.t0 && f.start <= s.t1),
      frames: s.frames, polls: s.polls, atEnd: s.atEnd,
      pages: pages.length, pageAnswers: pages.filter((e) => e.body).map((e) => e.body), pageMs: pages.filter((e) => e.body).map((e) => e.body - e.start), pageErrors: pages.filter((e) => e.status !== 200).length,
    };
  };
}

/** The terms typed, letter by letter: those of the HTTP search measures. */
export function browserTerms(terms) {
  return [
    { key: 'common', label: 'common term', text: terms.common },
    { key: 'common2', label: 'common term', text: terms.common2 },
    { key: 'medium', label: 'mid-frequency term', text: terms.medium },
    { key: 'rare', label: 'rare email fragment', text: terms.rare },
    { key: 'absent', label: 'absent term', text: terms.absent },
    { key: 'phone', label: 'phone digits', text: terms.phone },
  ];
}

/** A note when processes other than ours (bench, server, browser) took a noticeable share of the 2 cores. */
export const busy = (cpu) => (cpu && cpu.othersCores >= 0.25 ? `; other processes used ${cpu.othersCores.toFixed(2)} cores meanwhile` : '');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * The browser phase on a running server. Never throws: a missing chromium is `skipped`, any other
 * failure is `error` (with the figures measured before it).
 */
export async function measureBrowser({ url, env, workspaceId, client, terms, rounds, kind }) {
  const result = { skipped: null, error: null, viewport: VIEWPORT, rounds, keyIntervalMs: KEY_INTERVAL_MS, keyTimeoutMs: KEY_TIMEOUT_MS, step: { px: STEP_PX, ms: STEP_MS } };
  const exe = chromiumPath();
  if (!fs.existsSync(exe)) {
    result.skipped = `no browser at ${exe} (install Debian's chromium, or set CHROMIUM_PATH)`;
    log(`${kind}: browser phase skipped: ${result.skipped}`);
    return result;
  }
  let chromium;
  try {
    ({ chromium } = await import('playwright-core'));
  } catch (error) {
    result.skipped = `playwright-core is not installed (${error.message})`;
    log(`${kind}: browser phase skipped: ${result.skipped}`);
    return result;
  }
  let browser = null;
  let page = null;
  const close = onCleanup(async () => {
    await browser?.close().catch(() => {});
  });
  try {
    const email = `bench.${randomBytes(4).toString('hex')}@example.com`;
    const password = `bench-${randomBytes(18).toString('base64url')}`;
    await createUser(env, { email, password, role: 'owner', workspace: workspaceId });
    browser = await chromium.launch({
      executablePath: exe, headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    result.browserVersion = browser.version();
    const context = await browser.newContext({ viewport: VIEWPORT, locale: 'en-US' });
    await context.addInitScript(instrument);
    page = await context.newPage();
    await signIn(page, url, email, password);
    log(`${kind}: chromium ${result.browserVersion}: signed in; typing ${rounds} × ${browserTerms(terms).map((t) => `"${t.text}"`).join(', ')} letter by letter`);
    let cpu = cpuSnapshot();
    result.typing = await measureTyping(page, url, client, browserTerms(terms), rounds);
    result.typing.cpu = cpuBetween(cpu, cpuSnapshot());
    const t = result.typing.stats;
    log(`${kind}: keystroke to rows: p50 ${t.p50.toFixed(0)} ms, p95 ${t.p95.toFixed(0)} ms, max ${t.max.toFixed(0)} ms (n=${t.n}${result.typing.timeouts ? `, ${result.typing.timeouts} timed out` : ''}); ${result.typing.checks.length} check failures${busy(result.typing.cpu)}`);
    // Diagnostic, not a target: the same typing (one round) with the dashboard's count requests
    // refused inside the browser, so the server runs the list queries alone. The difference is what
    // the per-keystroke count costs the rows.
    log(`${kind}: typing again with GET /v1/contacts/count refused in the browser (diagnostic)`);
    const isCount = (u) => u.pathname === '/v1/contacts/count';
    await page.route(isCount, (route) => route.abort());
    cpu = cpuSnapshot();
    result.typingNoCount = await measureTyping(page, url, client, browserTerms(terms), 1, { waitForCount: false });
    result.typingNoCount.cpu = cpuBetween(cpu, cpuSnapshot());
    await page.unroute(isCount);
    const d = result.typingNoCount.stats;
    log(`${kind}: without the counts: p50 ${d.p50.toFixed(0)} ms, p95 ${d.p95.toFixed(0)} ms, max ${d.max.toFixed(0)} ms (n=${d.n})${busy(result.typingNoCount.cpu)}`);
    result.scroll = [];
    for (let run = 1; run <= rounds; run++) {
      log(`${kind}: scrolling ${BROWSER_TARGETS.scrollRows.toLocaleString('en-US')} rows (run ${run} of ${rounds})`);
      cpu = cpuSnapshot();
      const s = await measureScroll(page, url);
      s.cpu = cpuBetween(cpu, cpuSnapshot());
      result.scroll.push(s);
      log(`${kind}: scrolled ${Math.floor(s.rowsPassed).toLocaleString('en-US')} rows in ${(s.ms / 1000).toFixed(1)} s; ${s.longTasks.count} long tasks${s.longTasks.count ? ` (longest ${s.longTasks.max.toFixed(0)} ms)` : ''}; frames p95 ${s.frames.p95.toFixed(1)} ms, max ${s.frames.max.toFixed(0)} ms${busy(s.cpu)}`);
    }
  } catch (error) {
    result.error = error.message.split('\n').slice(0, 4).join(' ');
    log(`${kind}: browser phase failed: ${error.stack}`);
    // What the page showed then, for the report's reader.
    if (page) {
      const shot = path.join(ROOT, '.bench', `browser-failure-${new Date().toISOString().replace(/[-:.]/g, '').slice(0, 15)}.png`);
      try {
        await page.screenshot({ path: shot, timeout: 10_000 });
        result.screenshot = path.relative(ROOT, shot);
        const text = await page.evaluate(() => document.body.innerText.slice(0, 400));
        result.pageText = text.replace(/\s+/g, ' ');
        log(`${kind}: the page showed: ${result.pageText}; screenshot ${result.screenshot}`);
      } catch {
        // the page is gone
      }
    }
  } finally {
    await close();
  }
  return result;
}

async function signIn(page, url, email, password) {
  await page.goto(url + '/');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('grid', { name: 'Contacts' }).waitFor({ timeout: 60_000 });
}

/** A fresh dashboard (an empty query cache), its first rows and its count shown, nothing in flight. */
async function openDashboard(page, url, { waitForCount = true } = {}) {
  await page.goto(url + '/');
  await page.locator('[role="grid"][aria-label="Contacts"] [role="row"][aria-rowindex]').first().waitFor({ timeout: 60_000 });
  // The total count (a full count at a million rows) is let finish, so it does not share the server with the first keystroke.
  if (waitForCount) await page.getByText(/^[\d,.\s]+ contacts?$/).first().waitFor({ timeout: 60_000 }).catch(() => log('  the dashboard showed no count within 60 s; typing anyway'));
  else await sleep(500);
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0))));
}

/**
 * Each term typed into a freshly opened dashboard, a key at a time: from the keydown (its event
 * time) to the end of the first frame whose rows equal the dashboard's answer for the new text.
 * Afterwards each answer's first row is checked against GET /v1/contacts?q= from the bench's key.
 */
async function measureTyping(page, url, client, terms, rounds, openOptions = {}) {
  const samples = [];
  for (let round = 1; round <= rounds; round++) {
    for (const term of terms) {
      await openDashboard(page, url, openOptions);
      const box = page.getByLabel('Search contacts');
      await box.click();
      for (let i = 1; i <= term.text.length; i++) {
        const text = term.text.slice(0, i);
        await page.evaluate((t) => window.__bench.arm(t), text);
        const pressed = Date.now();
        await page.keyboard.type(text[i - 1]);
        const r = await page.evaluate((ms) => window.__bench.settle(ms), KEY_TIMEOUT_MS);
        samples.push({ round, term: term.key, label: term.label, text, ...r, ms: r.ok ? r.paintedAt - r.keyAt : null });
        const wait = KEY_INTERVAL_MS - (Date.now() - pressed);
        if (wait > 0) await sleep(wait);
      }
    }
  }
  // What the API answers for each text typed, from the bench's key, after the typing (so it warms nothing).
  const checks = [];
  const answers = new Map();
  for (const s of samples.filter((x) => x.ok)) {
    if (!answers.has(s.text)) {
      const body = json(await client.get(listPath({ q: s.text, limit: '100' })), `search ${s.text}`);
      answers.set(s.text, body.data ?? []);
    }
    const api = answers.get(s.text);
    const first = api[0] ?? null;
    if (s.status !== 200) checks.push({ text: s.text, round: s.round, problem: `the dashboard's request was answered with HTTP ${s.status}` });
    else if (api.length !== s.rows) checks.push({ text: s.text, round: s.round, problem: `the dashboard's answer had ${s.rows} rows, the API's ${api.length}` });
    else if ((first?.id ?? null) !== s.firstId) checks.push({ text: s.text, round: s.round, problem: `first row ${s.firstId} in the dashboard, ${first?.id} from the API` });
    else if (first && (s.firstShown?.[0] !== (first.name ?? '—') || s.firstShown?.[1] !== (first.email ?? ''))) {
      checks.push({ text: s.text, round: s.round, problem: `first row on screen "${s.firstShown?.join(' | ')}", the API's "${first.name} | ${first.email}"` });
    }
  }
  const ok = samples.filter((s) => s.ok);
  const part = (f) => summarise(ok.map(f));
  const longTasks = ok.flatMap((s) => s.longTasks);
  return {
    samples: samples.map(({ round, term, text, ok: good, ms, keyAt, fetchStart, bodyAt, paintedAt, rows, requests, shownCount, requested, longTasks: lt }) => ({
      round, term, text, ok: good, ms, rows, shownCount, requests, requested, longTasks: lt,
      toRequest: good ? fetchStart - keyAt : null, answer: good ? bodyAt - fetchStart : null, toScreen: good ? paintedAt - bodyAt : null,
    })),
    stats: summarise(ok.map((s) => s.ms)),
    parts: { toRequest: part((s) => s.fetchStart - s.keyAt), answer: part((s) => s.bodyAt - s.fetchStart), toScreen: part((s) => s.paintedAt - s.bodyAt) },
    timeouts: samples.length - ok.length,
    terms: terms.map((t) => ({ ...t, stats: summarise(ok.filter((s) => s.term === t.key).map((s) => s.ms)) })),
    checks,
    longTaskObserver: await page.evaluate(() => window.__bench.longTaskObserver),
    longTasks: { count: longTasks.length, max: longTasks.length ? Math.max(...longTasks) : null },
  };
}

/**
 * What ran in the long animation frame that overlaps a long task most: its scripts, longest first
 * (with no script, the time went to style, layout, paint or garbage collection).
 */
function attribute(task, frames) {
  const overlap = (f) => Math.min(task.start + task.duration, f.start + f.duration) - Math.max(task.start, f.start);
  const f = frames.filter((x) => overlap(x) > 0).sort((a, b) => overlap(b) - overlap(a))[0];
  if (!f) return null;
  const scripts = [...f.scripts].sort((a, b) => b.ms - a.ms).slice(0, 3)
    .map((x) => `${x.type} ${x.invoker}${x.source ? ` (${x.source})` : ''} ${x.ms.toFixed(0)} ms${x.layout ? `, forced layout ${x.layout.toFixed(0)} ms` : ''}`);
  const scriptMs = f.scripts.reduce((n, x) => n + x.ms, 0);
  return { frameMs: f.duration, scriptMs, layoutMs: f.layout, scripts };
}

/**
 * A fresh dashboard on the default list, scrolled with the mouse wheel over the table until 10,000
 * rows have passed the top (the dashboard fetches pages of rows as they near), long tasks recorded.
 */
async function measureScroll(page, url) {
  await openDashboard(page, url);
  const start = await page.evaluate(() => window.__bench.scrollStart());
  if (!start) throw new Error('the table has no scroll container (are there more rows than fit on screen?)');
  await page.mouse.move(start.x, start.y);
  const goal = BROWSER_TARGETS.scrollRows;
  const t0 = Date.now();
  let lastTop = -1;
  let movedAt = Date.now();
  let stalled = false;
  for (let step = 1; ; step++) {
    await page.mouse.wheel(0, STEP_PX);
    await sleep(STEP_MS);
    if (step % 8) continue;
    const p = await page.evaluate(() => window.__bench.scrollProgress());
    if (p.rowsPassed >= goal) break;
    if (p.top !== lastTop) {
      lastTop = p.top;
      movedAt = Date.now();
    } else if (Date.now() - movedAt > SCROLL_STALL_MS || Date.now() - t0 > SCROLL_MAX_MS) {
      stalled = true;
      log(`  the scroll stopped at row ${Math.floor(p.rowsPassed)} (${p.loaded} rows loaded)`);
      break;
    }
  }
  const r = await page.evaluate(() => window.__bench.scrollStop());
  const over = r.longTasks.filter((t) => t.duration > BROWSER_TARGETS.longTaskMs);
  return {
    goal, stalled, ms: r.ms, rowsPassed: r.rowsPassed, rowHeight: r.rowHeight,
    longTasks: { count: r.longTasks.length, over: over.length, max: r.longTasks.length ? Math.max(...r.longTasks.map((t) => t.duration)) : null,
      longest: [...r.longTasks].sort((a, b) => b.duration - a.duration).slice(0, 5).map((t) => ({ atMs: t.start, ms: t.duration, ran: attribute(t, r.longFrames), pageArrived: r.pageAnswers.some((at) => at >= t.start - 2 && at <= t.start + t.duration) })) },
    longFrames: r.longFrames.length,
    frames: { ...summarise(r.frames), over50: r.frames.filter((f) => f > 50).length },
    polls: r.polls, atEnd: r.atEnd,
    pages: r.pages, pageMs: summarise(r.pageMs), pageErrors: r.pageErrors,
  };
}
