// The contact list (GET /v1/contacts) and its count (GET /v1/contacts/count), checked end to end against
// an independent model written here from API.md ("Conventions", "Contact", "List parameters"):
// every filter, every sort in both directions, search, pagination under concurrent writes, isolation
// between workspaces, and the 422 answers. Nothing in here calls the code under test except over HTTP
// (one fixture writes `archived` straight into the database, because no route archives a contact yet).
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { client, type Client, manualClock, startTestServer, type TestServer } from './support/server.js';

// ---------------------------------------------------------------------------------------------------
// The model
// ---------------------------------------------------------------------------------------------------

interface Contact {
  id: string;
  name: string | null;
  email: string | null;
  phone: string | null;
  source: string;
  created_at: string;
  first_seen: string;
  last_seen: string;
  conversation_count: number;
  tags: string[];
  lifecycle_stage: string;
  archived: boolean;
}

type Params = Record<string, string | string[]>;

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const NOW0 = Date.parse('2026-03-15T10:30:00.000Z');
const NOW1 = NOW0 + 2 * DAY + 15 * HOUR; // where the clock is moved for the second last_active check

const SORT_FIELDS = ['name', 'email', 'phone', 'source', 'created_at', 'last_seen', 'first_seen', 'conversation_count'] as const;
type SortField = (typeof SORT_FIELDS)[number];
const ALL_SORTS: string[] = SORT_FIELDS.flatMap((f) => [f, '-' + f]);

/** API.md: lowercase, accents removed (NFKD, combining marks dropped); the final sigma ς is σ, as Unicode case folding has it. */
function fold(s: string): string {
  return s.normalize('NFKD').replace(/\p{M}/gu, '').toLowerCase().replace(/ς/g, 'σ');
}

function words(s: string | null): string[] {
  return s === null ? [] : fold(s).split(/[^\p{L}\p{N}]+/u).filter((w) => w !== '');
}

function sortKey(c: Contact, field: SortField): Buffer | number | null {
  switch (field) {
    case 'name': return c.name === null ? null : Buffer.from(fold(c.name), 'utf8');
    case 'email': return c.email === null ? null : Buffer.from(fold(c.email), 'utf8');
    case 'phone': return c.phone === null ? null : Buffer.from(fold(c.phone), 'utf8');
    case 'source': return Buffer.from(fold(c.source), 'utf8');
    case 'created_at': return Date.parse(c.created_at);
    case 'last_seen': return Date.parse(c.last_seen);
    case 'first_seen': return Date.parse(c.first_seen);
    case 'conversation_count': return c.conversation_count;
  }
}

/** Strings by folded UTF-8 bytes, then id, both in the sort's direction; null keys last either way. */
function comparator(sort: string): (a: Contact, b: Contact) => number {
  const desc = sort.startsWith('-');
  const field = (desc ? sort.slice(1) : sort) as SortField;
  const sign = desc ? -1 : 1;
  return (a, b) => {
    const ka = sortKey(a, field), kb = sortKey(b, field);
    if (ka === null && kb !== null) return 1;
    if (ka !== null && kb === null) return -1;
    let r = 0;
    if (ka !== null && kb !== null) r = typeof ka === 'number' ? Math.sign(ka - (kb as number)) : Buffer.compare(ka, kb as Buffer);
    if (r === 0) r = Buffer.compare(Buffer.from(a.id), Buffer.from(b.id));
    return sign * r;
  };
}

// Calendar days in a time zone, found by bisection over Intl's local date (no offset arithmetic).
const dayFormats = new Map<string, Intl.DateTimeFormat>();
function localDate(ms: number, tz: string): string {
  let f = dayFormats.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit' });
    dayFormats.set(tz, f);
  }
  const parts = f.formatToParts(ms);
  const get = (t: string) => parts.find((p) => p.type === t)!.value;
  return `${get('year')}-${get('month')}-${get('day')}`;
}
const dayStarts = new Map<string, number>();
/** The first millisecond whose local date in `tz` is `date`. */
function dayStart(date: string, tz: string): number {
  const cacheKey = tz + ' ' + date;
  const cached = dayStarts.get(cacheKey);
  if (cached !== undefined) return cached;
  const base = Date.parse(`${date}T00:00:00.000Z`);
  let lo = base - 40 * HOUR, hi = base + 40 * HOUR; // localDate(lo) < date <= localDate(hi)
  while (hi - lo > 1) {
    const mid = lo + Math.floor((hi - lo) / 2);
    if (localDate(mid, tz) >= date) hi = mid;
    else lo = mid;
  }
  dayStarts.set(cacheKey, hi);
  return hi;
}
function nextDate(date: string): string {
  return new Date(Date.parse(`${date}T00:00:00.000Z`) + DAY).toISOString().slice(0, 10);
}
function dayEnd(date: string, tz: string): number {
  return dayStart(nextDate(date), tz) - 1;
}

function bound(raw: string, edge: 'from' | 'to', tz: string): number {
  if (/^\d{4}-\d\d-\d\d$/.test(raw)) return edge === 'from' ? dayStart(raw, tz) : dayEnd(raw, tz);
  const t = Date.parse(raw);
  if (Number.isNaN(t)) throw new Error(`test bug: bad bound ${raw}`);
  return t;
}

/** API.md's search rules, written out independently. */
function matchesSearch(c: Contact, raw: string): boolean {
  const term = raw.trim();
  if (term === '') return true;
  const f = fold(term);
  let hit: boolean;
  if (Array.from(f).length >= 3) {
    hit = (c.name !== null && fold(c.name).includes(f)) || (c.email !== null && fold(c.email).includes(f));
  } else {
    hit = [c.name, c.email, c.id].some((v) => words(v).some((w) => w.startsWith(f)));
  }
  const digits = term.replace(/[^0-9]/g, '');
  if (/^[0-9+()\-. ]+$/.test(term) && digits.length >= 3 && c.phone !== null && c.phone.replace(/[^0-9]/g, '').includes(digits)) hit = true;
  const lower = term.toLowerCase();
  if (lower.startsWith('ctc_') && c.id.startsWith(lower)) hit = true;
  return hit;
}

interface Ctx { tz: string; now: number }

function one(p: Params, k: string): string | undefined {
  const v = p[k];
  return Array.isArray(v) ? v[0] : v;
}

function matches(c: Contact, p: Params, ctx: Ctx): boolean {
  const q = one(p, 'q');
  if (q !== undefined && !matchesSearch(c, q)) return false;
  const source = one(p, 'source');
  if (source !== undefined && !source.split(',').map((s) => s.trim().toLowerCase()).includes(c.source)) return false;
  const ranges: Array<[string, string]> = [['created', c.created_at], ['first_seen', c.first_seen], ['last_seen', c.last_seen]];
  for (const [prefix, value] of ranges) {
    const t = Date.parse(value);
    const from = one(p, `${prefix}_from`), to = one(p, `${prefix}_to`);
    if (from !== undefined && t < bound(from, 'from', ctx.tz)) return false;
    if (to !== undefined && t > bound(to, 'to', ctx.tz)) return false;
  }
  const active = one(p, 'last_active');
  if (active !== undefined) {
    const from = active === 'today' ? dayStart(localDate(ctx.now, ctx.tz), ctx.tz) : ctx.now - (active === '7d' ? 7 : 30) * DAY;
    if (Date.parse(c.last_seen) < from) return false;
  }
  const tags = p.tag === undefined ? [] : ([] as string[]).concat(p.tag);
  if (!tags.every((t) => c.tags.includes(t.toLowerCase()))) return false;
  const min = one(p, 'conversation_count_min'), max = one(p, 'conversation_count_max');
  if (min !== undefined && c.conversation_count < Number(min)) return false;
  if (max !== undefined && c.conversation_count > Number(max)) return false;
  const hasEmail = one(p, 'has_email'), hasPhone = one(p, 'has_phone');
  if (hasEmail !== undefined && (c.email !== null) !== (hasEmail === 'true')) return false;
  if (hasPhone !== undefined && (c.phone !== null) !== (hasPhone === 'true')) return false;
  const stages = one(p, 'lifecycle_stage');
  if (stages !== undefined && !stages.split(',').includes(c.lifecycle_stage)) return false;
  const archived = one(p, 'archived') ?? 'false';
  if (archived !== 'all' && c.archived !== (archived === 'true')) return false;
  return true;
}

function expected(all: Contact[], p: Params, ctx: Ctx, sort = '-last_seen'): Contact[] {
  return all.filter((c) => matches(c, p, ctx)).sort(comparator(sort));
}

// ---------------------------------------------------------------------------------------------------
// HTTP helpers
// ---------------------------------------------------------------------------------------------------

function qs(p: Params): string {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(p)) for (const x of ([] as string[]).concat(v)) u.append(k, x);
  return u.toString();
}

const show = (c: Contact) => `${c.id} ${JSON.stringify(c.name)} ${JSON.stringify(c.email)} ${c.phone}`;

/** Every page of a list, checking the page contract on the way. */
async function walk(api: Client, p: Params, limit: number): Promise<Contact[]> {
  const out: Contact[] = [];
  let cursor: string | null = null;
  for (let page = 0; page < 5000; page++) {
    const res = await api.get(`/v1/contacts?${qs({ ...p, limit: String(limit), ...(cursor ? { cursor } : {}) })}`);
    expect(res.status, `GET ?${qs(p)}: ${JSON.stringify(res.body)}`).toBe(200);
    const data = res.body.data as Contact[];
    expect(data.length).toBeLessThanOrEqual(limit);
    out.push(...data);
    if (!res.body.has_more) {
      expect(res.body.next_cursor).toBeNull();
      return out;
    }
    expect(data.length, 'a page before the last is full').toBe(limit);
    expect(page === 0 || data.length > 0, 'has_more promised another row').toBe(true);
    expect(typeof res.body.next_cursor).toBe('string');
    cursor = res.body.next_cursor as string;
  }
  throw new Error('the list never ended');
}

async function count(api: Client, p: Params): Promise<number> {
  const res = await api.get(`/v1/contacts/count?${qs(p)}`);
  expect(res.status, `count ?${qs(p)}: ${JSON.stringify(res.body)}`).toBe(200);
  return res.body.count as number;
}

/** The list (every page, in order) and the count answer exactly what the model says. */
async function check(api: Client, all: Contact[], filter: Params, ctx: Ctx, opts: { sort?: string; limit?: number } = {}): Promise<Contact[]> {
  const want = expected(all, filter, ctx, opts.sort);
  const got = await walk(api, opts.sort ? { ...filter, sort: opts.sort } : filter, opts.limit ?? 200);
  const label = `filter ${qs(filter)} sort ${opts.sort ?? '(default)'} tz ${ctx.tz}`;
  expect(got.map(show), label).toEqual(want.map(show));
  expect(await count(api, filter), `count, ${label}`).toBe(want.length);
  return want;
}

async function loadAll(api: Client): Promise<Contact[]> {
  return walk(api, { archived: 'all', sort: 'created_at' }, 200);
}

async function setTimezone(api: Client, tz: string): Promise<void> {
  const res = await api.patch('/v1/workspace', { timezone: tz });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  // The name may come back as an alias of the same zone (see the test on zone names below).
  expect(typeof res.body.timezone).toBe('string');
  const probe = Date.parse('2025-07-01T12:00:00Z');
  expect(localDate(probe, res.body.timezone as string) + new Intl.DateTimeFormat('en-US', { timeZone: res.body.timezone, timeStyle: 'long' }).format(probe))
    .toBe(localDate(probe, tz) + new Intl.DateTimeFormat('en-US', { timeZone: tz, timeStyle: 'long' }).format(probe));
}

// ---------------------------------------------------------------------------------------------------
// Seed data
// ---------------------------------------------------------------------------------------------------

function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const NAMES = [
  'Élodie Durand', 'élodie martin', 'ELODIE', 'Elodie', 'ZOË Kravitz', 'Zoë', 'zoe', 'Zoe Saldana', 'ZOE',
  'José García-López', 'jose garcia', 'JOSÉ', 'Jose Garcia-Lopez', 'Ångström Åsa', 'Øyvind Ødegård', 'Łukasz Łęcki',
  'Straße Müller', 'ǅemal Đurić', 'ﬁona ﬂynn', "O'Brien Seán", "anne-marie d'Arc", 'Анна Иванова', '李雷',
  'Ærø Æble', 'Zürich Zoë', 'Sam Lee', 'Sam Lee', 'sam lee', 'SAM LEE', '100% Real_Name', 'Mary-Jane Watson',
  'mary jane', 'Émile Zola', 'Ève', 'Èva', 'Eva', 'eve', 'Ñandú Peña', 'nandu pena', 'İlker', 'Ilker', 'a',
  'B', 'Zz Top', 'zzz', 'Ōsaka Ōta', 'Crème Brûlée', 'creme brulee', 'Dvořák', '  Trimmed Name  ', 'Ünal Öz',
];
const LOCALS = ['elodie.durand', 'Zoe.K', 'jose.garcia', 'JOSE', 'élodie', 'ana+tag', 'o.brien', 'info', 'Sales', 'sam.lee', 'zz-top', 'a_b', 'Müller', 'x'];
const DOMAINS = ['example.com', 'Example.ORG', 'acme.io', 'exemple.fr', 'mail.example.co.uk', 'zeta.dev'];
const SOURCES = ['widget', 'api', 'whatsapp', 'slack', 'zapier_import', 'hub-spot', 'hub_spot', 'Widget'];
const TAGS = ['lead', 'vip', 'enterprise', 'trial', 'churned', 'Partner', 'Ünïcode'];
const STAGES = ['new', 'returning', 'qualified', 'customer'];
const SHARED_INSTANTS = ['2025-12-01T09:00:00.000Z', '2026-01-10T00:00:00.000Z', '2026-02-28T23:59:59.999Z'].map(Date.parse);

const pad = (n: number, w: number) => String(n).padStart(w, '0');

function phoneFor(i: number, r: () => number): string {
  switch (Math.floor(r() * 5)) {
    case 0: return `+1 (212) 555-${pad(i, 4)}`;
    case 1: return `+44 7700 9${pad(i, 5)}`;
    case 2: return `+33 6 ${pad(i, 8)}`;
    case 3: return `(415) 555-${pad(i, 4)}`; // national: read in the workspace's default region (US)
    default: return `+49 30 ${pad(i, 8)}`;
  }
}

const iso = (ms: number) => new Date(ms).toISOString();
/** Sometimes seconds only, sometimes with an offset: accepted and converted (API.md, Timestamps). */
function stamp(ms: number, r: () => number): string {
  const x = r();
  if (ms % 1000 !== 0) return iso(ms);
  if (x < 0.3) return iso(ms).replace('.000Z', 'Z');
  if (x < 0.6) {
    const local = new Date(ms + 5.5 * HOUR).toISOString().slice(0, 19);
    return `${local}+05:30`;
  }
  return iso(ms);
}

type Item = Record<string, unknown>;

function randomItem(i: number, r: () => number, emailTag: string): Item {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const item: Item = {};
  const x = r();
  item.name = x < 0.8 ? pick(NAMES) : x < 0.88 ? null : x < 0.94 ? '' : '   ';
  if (r() < 0.7) item.email = `${pick(LOCALS)}.${emailTag}${i}@${pick(DOMAINS)}`;
  if (r() < 0.6) item.phone = phoneFor(i, r);
  if (item.name === null && !item.email && !item.phone) item.email = `nameless.${emailTag}${i}@example.com`;
  if ((item.name === '' || item.name === '   ') && !item.email && !item.phone) item.phone = `+1 (212) 555-${pad(i, 4)}`;
  if (r() < 0.9) item.source = pick(SOURCES);
  const tags = TAGS.filter(() => r() < 0.3);
  if (tags.length || r() < 0.5) item.tags = tags;
  if (r() < 0.25) item.lifecycle_stage = pick(STAGES);
  if (r() < 0.9) {
    const span = NOW0 - Date.parse('2024-06-01T00:00:00Z');
    const t = () => {
      if (r() < 0.15) return pick(SHARED_INSTANTS);
      const ms = NOW0 - Math.floor(r() * span);
      return r() < 0.3 ? ms - (ms % 1000) : ms;
    };
    const a = t(), b = t();
    const [first, last] = a <= b ? [a, b] : [b, a];
    const mode = r();
    if (mode < 0.15) item.created_at = stamp(t(), r);
    else if (mode < 0.25) item.conversation_count = Math.floor(r() * 4);
    else {
      item.created_at = stamp(r() < 0.5 ? first : t(), r);
      item.first_seen = stamp(first, r);
      item.last_seen = stamp(last, r);
      item.conversation_count = r() < 0.3 ? 0 : Math.floor(r() * r() * 40);
    }
  }
  return item;
}

/** Day boundaries of the zones the date tests use: the first and last millisecond of each day, and around them. */
const ZONE_DAYS: Record<string, string[]> = {
  'America/New_York': ['2026-03-08', '2025-11-02', '2026-01-20'],
  'Asia/Kathmandu': ['2026-02-10', '2026-03-15'],
  'Pacific/Chatham': ['2025-09-28', '2025-12-31'],
  // Chile's clocks jump from 00:00 to 01:00 on 2025-09-07: that day starts at 01:00 local time.
  'America/Santiago': ['2025-09-07', '2025-09-06', '2025-04-06'],
};

function boundaryInstants(): number[] {
  const out = new Set<number>();
  for (const [tz, days] of Object.entries(ZONE_DAYS)) {
    for (const d of days) {
      const s = dayStart(d, tz), next = dayStart(nextDate(d), tz);
      for (const off of [-HOUR - 1, -HOUR, -HOUR / 2, -1, 0, 1, HOUR / 2]) out.add(s + off);
      for (const off of [-HOUR - 1, -1, 0, 1]) out.add(next + off);
      out.add(Date.parse(`${d}T00:00:00.000Z`));
      out.add(Date.parse(`${d}T00:00:00.000Z`) - 1);
    }
  }
  for (const now of [NOW0, NOW1]) lastActiveInstants(now).forEach((ms) => out.add(ms));
  return [...out].filter((ms) => ms <= NOW0).sort((a, b) => a - b);
}

const LAST_ACTIVE_ZONES = ['America/New_York', 'Asia/Kathmandu', 'UTC'];
/** last_active: the start of today in each zone, 7 and 30 days back, and a millisecond either side. */
function lastActiveInstants(now: number): number[] {
  const out: number[] = [now];
  for (const tz of LAST_ACTIVE_ZONES) {
    const s = dayStart(localDate(now, tz), tz);
    for (const off of [-1, 0, 1]) out.push(s + off);
  }
  for (const back of [7 * DAY, 30 * DAY]) for (const off of [-1, 0, 1]) out.push(now - back + off);
  return out;
}

// ---------------------------------------------------------------------------------------------------
// Setup
// ---------------------------------------------------------------------------------------------------

const clock = manualClock(NOW0);
let t: TestServer;
let api: Client; // workspace A: the main data set
let apiB: Client; // workspace B: overlapping data, for isolation
let apiC: Client; // workspace C: the pagination property test writes here
let seededA: string[];
let seededB: string[];
let itemsA: Item[];
const archivedIds = new Set<string>();

async function seed(c: Client, items: Item[]): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < items.length; i += 1000) {
    const res = await c.post('/v1/contacts/batch', { historical: true, contacts: items.slice(i, i + 1000) });
    expect(res.status, JSON.stringify(res.body).slice(0, 500)).toBe(200);
    for (const r of res.body.results) {
      expect(r, JSON.stringify(items[i + (r.index as number)])).toMatchObject({ status: 'created', error: null });
      ids.push(r.id as string);
    }
  }
  return ids;
}

beforeAll(async () => {
  t = await startTestServer({ clock, env: { RATE_LIMIT_PER_SECOND: '0' } });
  const [a, b, c] = [await t.workspace('A'), await t.workspace('B'), await t.workspace('C')];
  api = client(t.url, a.key);
  apiB = client(t.url, b.key);
  apiC = client(t.url, c.key);
  for (const x of [api, apiB, apiC]) {
    const res = await x.patch('/v1/workspace', { default_phone_region: 'US' });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
  }

  const r = prng(20260315);
  itemsA = [];
  for (let i = 0; i < 260; i++) itemsA.push(randomItem(i, r, 'a'));
  // Rows on the day boundaries of the zones under test, with all three times on the boundary.
  boundaryInstants().forEach((ms, k) => {
    const i = 1000 + k;
    const item = randomItem(i, r, 'a');
    item.created_at = item.first_seen = item.last_seen = iso(ms);
    item.conversation_count ??= 1;
    itemsA.push(item);
  });
  // Emails that fold to the same key, and a few fixed rows the search tests name.
  itemsA.push(
    { name: 'Élodie Dupont', email: 'élodie.same@exemple.fr', tags: ['vip'] },
    { name: 'Elodie Dupont', email: 'Elodie.Same@Exemple.fr', tags: ['vip', 'lead'] },
    { name: 'ZOË', email: 'ZOE.same@example.com', phone: '+1 212 555 9999', source: 'whatsapp' },
    { name: 'José García-López', email: 'jgl@acme.io', phone: '+34 612 345 678', source: 'hub-spot', tags: ['Partner'] },
    { email: 'only.email@zeta.dev' },
    { phone: '+1 (646) 555-0199' },
  );
  seededA = await seed(api, itemsA);

  // Some rows archived. No route archives a contact yet (archiving comes with plan limits), so this
  // fixture sets the column directly; the list only reads it.
  const ar = prng(7);
  for (const id of seededA) if (ar() < 0.08) archivedIds.add(id);
  await t.server.services.deps.store.db.updateTable('contacts').set({ archived: 1 }).where('id', 'in', [...archivedIds]).execute();

  // Workspace B: the first 60 items of A again (same names, emails and phones), and some of its own.
  const rb = prng(99);
  const itemsB = itemsA.slice(0, 60).concat(Array.from({ length: 30 }, (_, i) => randomItem(5000 + i, rb, 'b')));
  seededB = await seed(apiB, itemsB);

  // Workspace C: the pagination property test's fixed rows.
  const rc = prng(4242);
  await seed(apiC, Array.from({ length: 90 }, (_, i) => randomItem(7000 + i, rc, 'c')));
}, 120_000);

afterAll(async () => {
  await t?.close();
});

// ---------------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------------

describe('the seeded data', () => {
  it('lists every seeded contact once with archived=all, and only the unarchived ones by default', async () => {
    const all = await loadAll(api);
    expect(all.map((c) => c.id).sort()).toEqual([...seededA].sort());
    expect(new Set(all.map((c) => c.id)).size).toBe(all.length);
    expect(await count(api, { archived: 'all' })).toBe(seededA.length);
    expect(all.filter((c) => c.archived).map((c) => c.id).sort()).toEqual([...archivedIds].sort());
    // The variety the other tests rely on.
    expect(all.length).toBeGreaterThan(300);
    expect(all.filter((c) => c.name === null).length).toBeGreaterThan(10);
    expect(all.filter((c) => c.email === null).length).toBeGreaterThan(30);
    expect(all.filter((c) => c.phone === null).length).toBeGreaterThan(30);
    expect(new Set(all.map((c) => c.source))).toEqual(new Set(['widget', 'api', 'whatsapp', 'slack', 'zapier_import', 'hub-spot', 'hub_spot']));
    expect(new Set(all.map((c) => c.lifecycle_stage))).toEqual(new Set(STAGES));
    expect(new Set(all.map((c) => c.created_at)).size).toBeGreaterThan(200);
    expect(new Set(all.map((c) => c.conversation_count)).size).toBeGreaterThan(10);
    expect(all.some((c) => c.name === 'Trimmed Name')).toBe(true);
    expect(all.some((c) => c.tags.includes('ünïcode'))).toBe(true);
    expect(archivedIds.size).toBeGreaterThan(10);
  });

  it('keeps workspaces apart: neither list, count nor search sees the other workspace', async () => {
    const all = await loadAll(api);
    const allB = await loadAll(apiB);
    expect(allB.map((c) => c.id).sort()).toEqual([...seededB].sort());
    const idsA = new Set(all.map((c) => c.id));
    expect(allB.filter((c) => idsA.has(c.id))).toEqual([]);
    // B holds the same emails and phones as A's first rows.
    const shared = allB.find((c) => c.email !== null && all.some((a) => a.email === c.email))!;
    expect(shared).toBeDefined();
    const ctx = { tz: 'UTC', now: clock.now() };
    for (const [c, rows] of [[api, all], [apiB, allB]] as const) {
      await check(c, rows, { q: shared.email!, archived: 'all' }, ctx);
      await check(c, rows, { q: allB[0]!.id }, ctx);
      await check(c, rows, { q: all[0]!.id }, ctx);
      await check(c, rows, { source: 'widget,api', has_phone: 'true' }, ctx, { sort: 'phone' });
      await check(c, rows, { tag: 'vip', archived: 'all' }, ctx, { sort: '-name' });
      await check(c, rows, { q: 'elod' }, ctx, { sort: 'email' });
    }
    expect(await count(api, { q: shared.email! })).toBe(all.filter((c) => c.email === shared.email && !c.archived).length);
    expect(await count(api, { q: allB[0]!.id })).toBe(0);
    expect(await count(apiB, { q: all[0]!.id })).toBe(0);
  });
});

describe('sort', () => {
  it.each(ALL_SORTS)('sort=%s walks every row in the documented order (pages of 9 and of 200)', async (sort) => {
    const all = await loadAll(api);
    const ctx = { tz: 'UTC', now: clock.now() };
    const want = await check(api, all, { archived: 'all' }, ctx, { sort, limit: 9 });
    const field = sort.replace('-', '') as SortField;
    // Nulls come last whichever the direction.
    const firstNull = want.findIndex((c) => sortKey(c, field) === null);
    if (firstNull >= 0) expect(want.slice(firstNull).every((c) => sortKey(c, field) === null)).toBe(true);
    if (['name', 'email', 'phone'].includes(field)) expect(firstNull).toBeGreaterThan(0);
    await check(api, all, {}, ctx, { sort, limit: 200 });
  });

  it('defaults to -last_seen', async () => {
    const all = await loadAll(api);
    const ctx = { tz: 'UTC', now: clock.now() };
    const res = await api.get('/v1/contacts?limit=200');
    expect(res.body.data.map(show)).toEqual(expected(all, {}, ctx, '-last_seen').slice(0, 200).map(show));
    await check(api, all, {}, ctx, { limit: 37 });
  });

  it('orders names that fold alike by id, and letters without a decomposition by their bytes', async () => {
    const all = await loadAll(api);
    const res = await walk(api, { sort: 'name', archived: 'all' }, 50);
    const names = res.filter((c) => c.name !== null);
    // "Élodie", "ELODIE", "elodie" ... sit together; "Øyvind" and "Łukasz" (no NFKD decomposition) after "z".
    const elodies = names.filter((c) => fold(c.name!) === 'elodie');
    expect(elodies.length).toBeGreaterThan(1);
    const pos = elodies.map((c) => names.indexOf(c));
    expect(pos[pos.length - 1]! - pos[0]!).toBe(elodies.length - 1);
    expect(elodies.map((c) => c.id)).toEqual(elodies.map((c) => c.id).sort());
    const zIndex = names.map((c) => fold(c.name!).startsWith('z')).lastIndexOf(true);
    const oStroke = names.findIndex((c) => c.name!.startsWith('Øyvind'));
    if (oStroke >= 0) expect(oStroke).toBeGreaterThan(zIndex);
    expect(all.some((c) => c.name?.startsWith('Øyvind'))).toBe(true);
  });
});

describe('filters', () => {
  const ctxUtc = () => ({ tz: 'UTC', now: clock.now() });

  it('source, tag (repeated: AND), conversation_count, has_email, has_phone, lifecycle_stage, archived', async () => {
    await setTimezone(api, 'UTC');
    const all = await loadAll(api);
    const ctx = ctxUtc();
    const cases: Params[] = [
      { source: 'widget' }, { source: 'Widget' }, { source: 'zapier_import' }, { source: 'widget,api' }, { source: 'hub-spot,hub_spot,slack' },
      { source: 'whatsapp', archived: 'all' }, { source: 'nosuchsource' },
      { tag: 'vip' }, { tag: ['vip', 'lead'] }, { tag: ['lead', 'trial', 'partner'] }, { tag: 'Partner' }, { tag: 'ÜNÏCODE' },
      { tag: ['vip', 'vip'] }, { tag: 'nosuchtag' },
      { conversation_count_min: '0' }, { conversation_count_min: '2' }, { conversation_count_max: '0' }, { conversation_count_max: '3' },
      { conversation_count_min: '3', conversation_count_max: '3' }, { conversation_count_min: '5', conversation_count_max: '12' },
      { has_email: 'true' }, { has_email: 'false' }, { has_phone: 'true' }, { has_phone: 'false' },
      { has_email: 'false', has_phone: 'false' },
      { lifecycle_stage: 'new' }, { lifecycle_stage: 'returning' }, { lifecycle_stage: 'qualified,customer' },
      { lifecycle_stage: 'new,returning,qualified,customer' },
      { archived: 'false' }, { archived: 'true' }, { archived: 'all' }, { archived: 'true', has_email: 'true' },
    ];
    for (const [i, filter] of cases.entries()) {
      await check(api, all, filter, ctx, { sort: ALL_SORTS[i % ALL_SORTS.length]!, limit: 97 });
    }
    expect(expected(all, { archived: 'true' }, ctx).length).toBe(archivedIds.size);
  });

  it('created_*, first_seen_*, last_seen_* with RFC 3339 bounds are inclusive to the millisecond', async () => {
    await setTimezone(api, 'UTC');
    const all = await loadAll(api);
    const ctx = ctxUtc();
    const pick = (k: number) => all[Math.floor((k * all.length) / 7)]!;
    for (const prefix of ['created', 'first_seen', 'last_seen'] as const) {
      const field = prefix === 'created' ? 'created_at' : prefix;
      for (let k = 0; k < 7; k++) {
        const at = (pick(k) as unknown as Record<string, string>)[field]!;
        const ms = Date.parse(at);
        await check(api, all, { [`${prefix}_from`]: at }, ctx, { sort: field });
        await check(api, all, { [`${prefix}_to`]: at }, ctx, { sort: '-' + field });
        await check(api, all, { [`${prefix}_from`]: at, [`${prefix}_to`]: at, archived: 'all' }, ctx);
        await check(api, all, { [`${prefix}_from`]: iso(ms + 1) }, ctx);
        // The same instant written with an offset, and with seconds only.
        const offset = new Date(ms - 5 * HOUR).toISOString().slice(0, 23) + '-05:00';
        await check(api, all, { [`${prefix}_to`]: offset }, ctx);
        await check(api, all, { [`${prefix}_from`]: iso(ms).slice(0, 19) + 'Z' }, ctx);
      }
    }
  });

  // Each zone: a YYYY-MM-DD bound covers its whole day in the workspace's zone (DST days included).
  it.each(Object.keys(ZONE_DAYS))('YYYY-MM-DD bounds cover the whole local day in %s', async (tz) => {
    await setTimezone(api, tz);
    const all = await loadAll(api);
    const ctx = { tz, now: clock.now() };
    for (const d of ZONE_DAYS[tz]!) {
      for (const prefix of ['created', 'first_seen', 'last_seen']) {
        await check(api, all, { [`${prefix}_from`]: d }, ctx);
        await check(api, all, { [`${prefix}_to`]: d }, ctx);
        await check(api, all, { [`${prefix}_from`]: d, [`${prefix}_to`]: d }, ctx, { sort: 'created_at' });
      }
      // A date bound beside an RFC 3339 one.
      await check(api, all, { created_from: d, created_to: iso(dayStart(nextDate(d), tz) + 3 * HOUR) }, ctx);
      // The day holds exactly the rows whose local date is that day.
      const inDay = expected(all, { created_from: d, created_to: d }, ctx);
      expect(inDay.every((c) => localDate(Date.parse(c.created_at), tz) === d)).toBe(true);
      expect(inDay.length).toBe(all.filter((c) => !c.archived && localDate(Date.parse(c.created_at), tz) === d).length);
      expect(inDay.length).toBeGreaterThan(0);
    }
  });

  it('the workspace keeps the IANA zone name it was given', async () => {
    // The list reads the zone by its name; the name the API answers is the one the client set.
    for (const tz of ['America/New_York', 'Asia/Kathmandu', 'Asia/Kolkata', 'Europe/Kyiv']) {
      const res = await api.patch('/v1/workspace', { timezone: tz });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body.timezone).toBe(tz);
      expect((await api.get('/v1/workspace')).body.timezone).toBe(tz);
    }
  });

  it('last_active=today, 7d and 30d follow the clock and the workspace time zone', async () => {
    try {
      for (const now of [NOW0, NOW1]) {
        clock.set(now);
        if (now === NOW1) {
          // Rows on today's edges as the moved clock sees them (the seed holds nothing after NOW0).
          const r = prng(5);
          await seed(api, lastActiveInstants(NOW1).filter((ms) => ms > NOW0).map((ms, k) => {
            const item = randomItem(1500 + k, r, 'late');
            item.created_at = item.first_seen = item.last_seen = iso(ms);
            return item;
          }));
        }
        for (const tz of LAST_ACTIVE_ZONES) {
          await setTimezone(api, tz);
          const all = await loadAll(api);
          const ctx = { tz, now };
          for (const active of ['today', '7d', '30d']) {
            const want = await check(api, all, { last_active: active }, ctx, { sort: 'last_seen', limit: 50 });
            if (active !== '30d') expect(want.length).toBeGreaterThan(0);
            await check(api, all, { last_active: active, last_seen_to: iso(now - 2 * HOUR), has_email: 'true' }, ctx);
            await check(api, all, { last_active: active, source: 'widget,whatsapp,api', archived: 'all' }, ctx, { sort: '-name' });
          }
        }
      }
    } finally {
      clock.set(NOW0);
    }
  });

  it('combinations of filters (AND) under random sorts and page sizes', async () => {
    await setTimezone(api, 'America/New_York');
    const all = await loadAll(api);
    const ctx = { tz: 'America/New_York', now: clock.now() };
    const r = prng(31337);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
    const someOf = (xs: readonly string[]) => { const s = xs.filter(() => r() < 0.4); return s.length ? s : [pick(xs)]; };
    const instant = () => NOW0 - Math.floor(r() * 500 * DAY);
    const boundText = (ms: number) => {
      const x = r();
      if (x < 0.4) return localDate(ms, 'America/New_York');
      if (x < 0.7) return iso(ms);
      return new Date(ms + 2 * HOUR).toISOString().slice(0, 23) + '+02:00';
    };
    const terms = ['elo', 'zo', 'e', 'sam', '555', '@example', 'ga', 'ctc_', 'lee'];
    let nonEmpty = 0;
    for (let n = 0; n < 60; n++) {
      const p: Params = {};
      if (r() < 0.3) p.source = someOf(['widget', 'api', 'whatsapp', 'slack', 'zapier_import', 'hub-spot']).join(',');
      for (const prefix of ['created', 'first_seen', 'last_seen']) {
        if (r() < 0.25) {
          const from = boundText(instant()), to = boundText(instant());
          const [a, b] = bound(from, 'from', ctx.tz) <= bound(to, 'to', ctx.tz) ? [from, to] : [to, from];
          if (bound(a, 'from', ctx.tz) <= bound(b, 'to', ctx.tz)) { p[`${prefix}_from`] = a; p[`${prefix}_to`] = b; }
          else p[`${prefix}_from`] = a;
        } else if (r() < 0.15) p[`${prefix}_${pick(['from', 'to'])}`] = boundText(instant());
      }
      if (!p.last_seen_from && r() < 0.15) p.last_active = pick(['today', '7d', '30d']);
      if (r() < 0.3) p.tag = someOf(['lead', 'vip', 'enterprise', 'trial']).slice(0, 2);
      if (r() < 0.25) p.conversation_count_min = String(Math.floor(r() * 5));
      if (r() < 0.25) p.conversation_count_max = String(Number(p.conversation_count_min ?? 0) + Math.floor(r() * 20));
      if (r() < 0.3) p.has_email = pick(['true', 'false']);
      if (r() < 0.3) p.has_phone = pick(['true', 'false']);
      if (r() < 0.25) p.lifecycle_stage = someOf(STAGES).join(',');
      if (r() < 0.3) p.archived = pick(['true', 'false', 'all']);
      if (r() < 0.25) p.q = pick(terms);
      const want = await check(api, all, p, ctx, { sort: pick(ALL_SORTS), limit: 1 + Math.floor(r() * 60) });
      if (want.length) nonEmpty++;
    }
    expect(nonEmpty).toBeGreaterThan(25);
  });
});

describe('search (q)', () => {
  it('follows the documented rules on every seeded row', async () => {
    await setTimezone(api, 'UTC');
    const all = await loadAll(api);
    const ctx = { tz: 'UTC', now: clock.now() };
    const some = all.filter((c) => !c.archived);
    const ids = [some[3]!.id, some[40]!.id, some[100]!.id];
    const cases = [
      // 3+ characters: anywhere in the folded name or email.
      'elod', 'ELOD', 'élod', 'Élodie', 'zoe', 'ZOË', 'zoë', 'garcía-lópez', 'GARCIA-LOPEZ', 'jose g', 'José García',
      'ia-lo', '@example', 'example.com', 'EXAMPLE.ORG', 'acme', 'exemple.fr', 'same@', 'müller', 'mull', 'strasse',
      'straße', 'ostrom', 'ångström', 'øyv', 'oyv', 'łuk', 'luk', 'fiona', 'ﬁona', 'dzemal', 'ǅem', 'анна', 'АННА', '李雷',
      "o'b", "O'BRIEN", 'crème', 'creme brul', '  sam lee  ', 'real_', '0% r', 'a_b', '%%%', '___', 'x\\y', '"quoted"',
      'no such person', 'nameless', 'ana+tag', '.a1@',
      // 1-2 characters: the start of a word of the name, the email or the id.
      'e', 'É', 'E', 'z', 'zo', 'ZÖ', 'ga', 'lo', 'ex', 'co', 'j', 'ø', 'ł', 'ь', '李', 'o', 'br', 'ct', 'c', 'a', 'B', 'x',
      '%', '_', '__', 'fi', 'ﬁ', 'dz', 'ss', 'ß', 'il', 'ı', '1', '12', '99', 'a1', 'ñ', 'n',
      ids[0]!.slice(4, 5), ids[0]!.slice(4, 6), ids[1]!.slice(4, 6).toUpperCase(),
      // Digits (3+, with +()-. and spaces): also anywhere in the phone.
      '555', '212 555', '(212) 555', '+1 (212) 555-00', '+44 7700', '7700-9', '33 6', '415', '(415)', '646 555 0199',
      '+34 612 345 678', '1-2-3', '0.0.1', '+1', '+12', '555a', '5 5 5', '9999', '000',
      // ctc_: ids by prefix.
      ids[0]!, ids[1]!.slice(0, 8), 'CTC_' + ids[2]!.slice(4, 9).toUpperCase(), 'ctc_', 'ctc_zzzzzzzzzzzzzzzzzz', ' ' + ids[1]! + ' ',
    ];
    let hits = 0;
    for (const q of cases) {
      const want = await check(api, all, { q }, ctx);
      if (want.length) hits++;
    }
    expect(hits).toBeGreaterThan(cases.length * 0.6);

    // What the brief calls out, spelled out.
    const names = (rows: Contact[]) => rows.map((c) => c.name);
    expect(names(expected(all, { q: 'elod', archived: 'all' }, ctx))).toContain('Élodie Durand');
    expect(expected(all, { q: 'zo', archived: 'all' }, ctx).some((c) => c.name === 'ZOË')).toBe(true);
    expect(expected(all, { q: 'ctc_', archived: 'all' }, ctx).length).toBe(all.length);
    expect(expected(all, { q: '%', archived: 'all' }, ctx).length).toBe(0);

    // Search combined with filters, in several sorts.
    for (const [q, sort] of [['elod', 'name'], ['zo', '-email'], ['555', 'phone'], ['e', '-conversation_count'], ['ga', 'source']] as const) {
      await check(api, all, { q, has_phone: 'true', archived: 'all' }, ctx, { sort, limit: 3 });
      await check(api, all, { q, source: 'widget,api,whatsapp', tag: 'lead' }, ctx, { sort: '-' + sort.replace('-', ''), limit: 5 });
      await check(api, all, { q, created_from: '2025-06-01', conversation_count_min: '1' }, ctx, { sort });
    }
  });

  it('follows changes: renamed, re-addressed and deleted contacts are found by what they hold now', async () => {
    await setTimezone(api, 'UTC');
    const before = (await loadAll(api)).filter((c) => !c.archived);
    const ctx = { tz: 'UTC', now: clock.now() };
    const [a, b, c, d] = [before[10]!, before[20]!, before[30]!, before[40]!];
    const res = [
      await api.patch(`/v1/contacts/${a.id}`, { name: 'Quentin Ühlmann-Ærgård' }),
      await api.patch(`/v1/contacts/${b.id}`, { email: 'Renamed.Person@Qux-Domain.test', name: b.name ?? 'Renamed' }),
      await api.patch(`/v1/contacts/${c.id}`, { phone: '+1 (303) 555-4242', name: 'Phoned' }),
    ];
    for (const x of res) expect(x.status, JSON.stringify(x.body)).toBe(200);
    expect((await api.delete(`/v1/contacts/${d.id}`)).status).toBe(204);
    const all = await loadAll(api);
    for (const q of ['quentin', 'uhlmann', 'ærg', 'qu', 'uh', 'renamed.person', 'qux-domain', 'qd', '303 555', '5554242', d.name ?? d.id, d.id, a.name ?? 'zzz', 'phoned']) {
      await check(api, all, { q, archived: 'all' }, ctx);
    }
    expect(expected(all, { q: 'uhlmann' }, ctx).map((x) => x.id)).toEqual([a.id]);
    expect(expected(all, { q: d.id, archived: 'all' }, ctx)).toEqual([]);
  });
});

describe('search (q), beyond the seed', () => {
  // Workspace D: over 4,000 contacts match "common" (by name or by email only), and every id starts "ctc_".
  let apiD: Client;
  let allD: Contact[];
  beforeAll(async () => {
    const w = await t.workspace('D');
    apiD = client(t.url, w.key);
    expect((await apiD.patch('/v1/workspace', { default_phone_region: 'US' })).status).toBe(200);
    const r = prng(808);
    const items: Item[] = Array.from({ length: 4150 }, (_, i) => {
      const item = randomItem(i, r, 'd');
      if (i < 4080 && i % 2 === 0) item.name = `${i % 3 === 0 ? 'Common' : 'COMMÖN'} Person ${i}`;
      if (i < 4080 && i % 2 === 1) {
        item.email = `Common.Mail${i}@example.com`;
        item.name = typeof item.name === 'string' && item.name.trim() ? `Pat ${item.name}` : 'Pat';
      }
      return item;
    });
    const ids = await seed(apiD, items);
    allD = await loadAll(apiD);
    expect(allD.length).toBe(ids.length);
  }, 120_000);

  it('a common term (more matches than the search index hands out at once) gives the same answers', async () => {
    const ctx = { tz: 'UTC', now: clock.now() };
    const cases = [
      ['common', undefined], ['COMMON PERSON 1', 'name'], ['co', '-name'], ['c', 'phone'], ['o', undefined], ['pe', undefined],
      ['p', '-email'], ['e', 'name'], ['person 40', '-created_at'], ['mail', 'email'], [allD[7]!.id.slice(0, 6), undefined],
    ] as const;
    for (const [q, sort] of cases) {
      const want = await check(apiD, allD, { q }, ctx, sort ? { sort } : {});
      expect(want.length).toBeGreaterThan(0);
      await check(apiD, allD, { q, has_email: 'true', source: 'widget,api,slack' }, ctx, { sort: sort ?? 'email', limit: 50 });
    }
  });

  it('range filters over thousands of rows (broad and narrow ranges) under every sort', async () => {
    const ctx = { tz: 'UTC', now: clock.now() };
    const r = prng(2718);
    const at = (k: number) => allD[Math.floor(k * (allD.length - 1))]!.created_at; // allD is in created_at order
    const filters: Params[] = [
      { created_from: at(0.05) }, { created_to: at(0.98) }, { created_from: at(0.4), created_to: at(0.41) },
      { first_seen_from: '2024-01-01', last_seen_to: iso(NOW0) }, { conversation_count_min: '0' },
      { conversation_count_min: '1', conversation_count_max: '30', created_from: at(0.1) },
      { last_seen_from: at(0.2), first_seen_to: at(0.9), has_phone: 'true' }, { created_from: at(0.3), q: 'common' },
      { last_active: '30d', conversation_count_max: '1000' },
    ];
    for (const f of filters) await check(apiD, allD, f, ctx, { sort: ALL_SORTS[Math.floor(r() * ALL_SORTS.length)]!, limit: 200 });
    for (const sort of ALL_SORTS) {
      const got = await walk(apiD, { created_from: at(0.02), conversation_count_min: '0', sort }, 100);
      expect(got.slice(0, 300).map(show), sort).toEqual(expected(allD, { created_from: at(0.02) }, ctx, sort).slice(0, 300).map(show));
    }
  });

  it('q=ctc_ matches every id by prefix, however many contacts the workspace holds', async () => {
    const ctx = { tz: 'UTC', now: clock.now() };
    await check(apiD, allD, { q: 'ctc_' }, ctx, { sort: 'created_at' });
    await check(apiD, allD, { q: 'CTC_', has_phone: 'true' }, ctx, { sort: '-phone' });
  });

  it('Greek final sigma: search follows the folded form on both databases', async () => {
    // Lowercasing writes "ΟΔΥΣΣΕΥΣ" as "οδυσσευς", ending in the final sigma (U+03C2); case folding makes it
    // sigma (U+03C3), so that a search finds the word whichever sigma or case it is typed with.
    const w = await t.workspace('E');
    const apiE = client(t.url, w.key);
    await seed(apiE, [{ name: 'ΣΊΣΥΦΟΣ' }, { name: 'Οδυσσεύς' }, { name: 'Σωκράτης Παππάς' }, { email: 'sigma@example.com' }]);
    const all = await loadAll(apiE);
    const ctx = { tz: 'UTC', now: clock.now() };
    expect(matchesSearch(all.find((c) => c.name === 'Οδυσσεύς')!, 'ευς')).toBe(true);
    expect(matchesSearch(all.find((c) => c.name === 'Οδυσσεύς')!, 'ευσ')).toBe(true);
    for (const q of ['ευς', 'ΟΔΥΣΣΕΥΣ', 'φος', 'σωκ', 'σω', 'σ', 'π', 'ευσ', 'φοσ', 'ς']) await check(apiE, all, { q }, ctx);
  });
});

describe('pagination', () => {
  let churn = 0;
  const live: string[] = []; // contacts the property test inserted and has not deleted

  it('never skips or repeats a row present throughout, while others are inserted and deleted between pages', async () => {
    const ctx = { tz: 'UTC', now: clock.now() };
    const filters: Params[] = [{}, {}, { has_phone: 'true' }, { q: 'an' }, { q: 'elo' }, { source: 'widget,api' }, { archived: 'all', tag: 'lead' }];
    const step = fc.record({ inserts: fc.integer({ min: 0, max: 3 }), deletes: fc.integer({ min: 0, max: 2 }), tick: fc.boolean() });
    try {
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom(...ALL_SORTS), fc.integer({ min: 3, max: 30 }), fc.constantFrom(...filters),
          fc.array(step, { minLength: 40, maxLength: 40 }), fc.integer(),
          async (sort, limit, filter, steps, seedValue) => {
            const r = prng(seedValue);
            const start = await walk(apiC, { archived: 'all' }, 200);
            const deleted = new Set<string>();
            const seen: Contact[] = [];
            let cursor: string | null = null;
            for (let page = 0; ; page++) {
              const res = await apiC.get(`/v1/contacts?${qs({ ...filter, sort, limit: String(limit), ...(cursor ? { cursor } : {}) })}`);
              expect(res.status, JSON.stringify(res.body)).toBe(200);
              seen.push(...(res.body.data as Contact[]));
              if (!res.body.has_more) break;
              cursor = res.body.next_cursor as string;
              const s = steps[page % steps.length]!;
              if (s.tick) clock.advance(1000 + Math.floor(r() * HOUR));
              if (s.inserts) {
                const items = Array.from({ length: s.inserts }, () => {
                  const item = randomItem(2000 + churn++, r, 'churn');
                  // Some arrive without history: created and seen now, by the clock.
                  if (r() < 0.3) for (const k of ['created_at', 'first_seen', 'last_seen', 'conversation_count']) delete item[k];
                  return item;
                });
                const out = await apiC.post('/v1/contacts/batch', { historical: true, contacts: items });
                expect(out.status, JSON.stringify(out.body)).toBe(200);
                for (const x of out.body.results) {
                  expect(x.status, JSON.stringify(x)).toBe('created');
                  live.push(x.id as string);
                }
              }
              for (let k = 0; k < s.deletes && live.length; k++) {
                const [id] = live.splice(Math.floor(r() * live.length), 1);
                expect((await apiC.delete(`/v1/contacts/${id}`)).status).toBe(204);
                deleted.add(id!);
              }
            }
            const ids = seen.map((c) => c.id);
            expect(new Set(ids).size, 'no row twice').toBe(ids.length);
            const throughout = expected(start, filter, ctx, sort).filter((c) => !deleted.has(c.id));
            const got = new Set(ids);
            expect(throughout.filter((c) => !got.has(c.id)).map(show), 'no row skipped').toEqual([]);
            const cmp = comparator(sort);
            for (let i = 1; i < seen.length; i++) expect(cmp(seen[i - 1]!, seen[i]!), `order at ${i}`).toBeLessThan(0);
            for (const c of seen) expect(matches(c, filter, ctx), `${show(c)} matches ${qs(filter)}`).toBe(true);
          },
        ),
        { numRuns: 20 },
      );
    } finally {
      clock.set(NOW0);
    }
  });

  it('count takes the list parameters, sort included, and sort does not change it', async () => {
    const all = await loadAll(api);
    await setTimezone(api, 'UTC');
    const ctx = { tz: 'UTC', now: clock.now() };
    for (const f of [{}, { has_email: 'true' }, { q: 'elod', archived: 'all' }] as Params[]) {
      const n = expected(all, f, ctx).length;
      for (const sort of ['name', '-conversation_count']) expect(await count(api, { ...f, sort })).toBe(n);
    }
  });

  it('has_more is false exactly when the last row has been given, also when a page ends on a boundary', async () => {
    const allB = await loadAll(apiB);
    const n = allB.length;
    const ctx = { tz: 'UTC', now: clock.now() };
    for (const sort of ['name', '-name', '-phone', 'email', 'created_at', '-conversation_count']) {
      const field = sort.replace('-', '') as SortField;
      const keyed = allB.filter((c) => sortKey(c, field) !== null).length;
      // Pages that end exactly on the last row, and on the last row that has a sort key.
      for (const limit of new Set([n, n / 2, n / 3, keyed, n - keyed].filter((l) => Number.isInteger(l) && l >= 1 && l <= 200))) {
        const got = await walk(apiB, { sort }, limit);
        expect(got.map(show), `sort ${sort} limit ${limit}`).toEqual(expected(allB, {}, ctx, sort).map(show));
      }
      const whole = await apiB.get(`/v1/contacts?sort=${sort}&limit=${n}`);
      expect(whole.body).toMatchObject({ has_more: false, next_cursor: null });
      expect(whole.body.data.length).toBe(n);
      const short = await apiB.get(`/v1/contacts?sort=${sort}&limit=${n - 1}`);
      expect(short.body.has_more).toBe(true);
      const rest = await apiB.get(`/v1/contacts?sort=${sort}&limit=${n}&cursor=${encodeURIComponent(short.body.next_cursor as string)}`);
      expect(rest.body.data.length).toBe(1);
      expect(rest.body).toMatchObject({ has_more: false, next_cursor: null });
    }
    expect(n).toBeLessThanOrEqual(200);
  });

  it('limit is 1..200, default 50', async () => {
    const all = await loadAll(api);
    const ctx = { tz: 'UTC', now: clock.now() };
    await setTimezone(api, 'UTC');
    const d = await api.get('/v1/contacts');
    expect(d.status).toBe(200);
    expect(d.body.data.map(show)).toEqual(expected(all, {}, ctx).slice(0, 50).map(show));
    expect(d.body.has_more).toBe(true);
    for (const limit of [1, 200]) {
      const res = await api.get(`/v1/contacts?limit=${limit}`);
      expect(res.status).toBe(200);
      expect(res.body.data.length).toBe(limit);
    }
  });
});

describe('invalid parameters', () => {
  async function expectProblem(path: string, field: string | string[]) {
    const res = await api.get(path);
    expect(res.status, `${path}: ${JSON.stringify(res.body)}`).toBe(422);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({ status: 422, type: expect.any(String), title: expect.any(String) });
    const fields = (res.body.errors as Array<{ field: string; message: string }>).map((e) => e.field);
    expect(fields.some((f) => ([] as string[]).concat(field).includes(f)), `${path} names ${String(field)}: ${JSON.stringify(res.body)}`).toBe(true);
    expect(JSON.stringify(res.body)).not.toMatch(/at .*\.(ts|js):\d+/);
  }

  const filterCases: Array<[string, string | string[]]> = [
    ['created_from=2026-02-30', 'created_from'], ['created_to=yesterday', 'created_to'], ['first_seen_from=2026-13-01', 'first_seen_from'],
    ['first_seen_to=2026-03-15T25:00:00Z', 'first_seen_to'], ['last_seen_from=15%2F03%2F2026', 'last_seen_from'],
    ['last_seen_to=2026-03-15T10:30:00', 'last_seen_to'], ['created_from=2026-03-15T10%3A30%3A00%2B0530', 'created_from'],
    ['created_from=2026-03-10&created_to=2026-03-01', ['created_from', 'created_to']],
    ['has_email=yes', 'has_email'], ['has_phone=1', 'has_phone'],
    ['conversation_count_min=-1', 'conversation_count_min'], ['conversation_count_max=abc', 'conversation_count_max'],
    ['conversation_count_min=1.5', 'conversation_count_min'],
    ['conversation_count_min=5&conversation_count_max=2', ['conversation_count_min', 'conversation_count_max']],
    ['lifecycle_stage=lead', 'lifecycle_stage'], ['lifecycle_stage=new,vip', 'lifecycle_stage'], ['archived=maybe', 'archived'],
    ['last_active=1d', 'last_active'], ['last_active=today&last_seen_from=2026-01-01', ['last_active', 'last_seen_from']],
    ['source=not%20a%20source', 'source'], ['foo=bar', 'foo'], ['created_at=2026-01-01', 'created_at'],
  ];

  it.each(filterCases)('GET /v1/contacts?%s is 422 naming the parameter', async (query, field) => {
    await expectProblem(`/v1/contacts?${query}`, field);
  });

  it.each(filterCases)('GET /v1/contacts/count?%s is 422 naming the parameter', async (query, field) => {
    await expectProblem(`/v1/contacts/count?${query}`, field);
  });

  it.each([
    ['sort=bogus', 'sort'], ['sort=-created', 'sort'], ['sort=name%2Cemail', 'sort'], ['sort=--name', 'sort'], ['sort=tags', 'sort'],
    ['limit=0', 'limit'], ['limit=201', 'limit'], ['limit=-1', 'limit'], ['limit=abc', 'limit'], ['limit=1.5', 'limit'], ['limit=1e2', 'limit'],
    ['cursor=garbage', 'cursor'], ['cursor=%21%21%21', 'cursor'], ['cursor=' + 'A'.repeat(3000), 'cursor'],
    ['cursor=' + Buffer.from('{}').toString('base64url'), 'cursor'],
    ['sort=name&cursor=' + Buffer.from(JSON.stringify(['name', 5, 'ctc_x'])).toString('base64url'), 'cursor'],
    ['sort=created_at&cursor=' + Buffer.from(JSON.stringify(['created_at', 'x', 'ctc_x'])).toString('base64url'), 'cursor'],
  ])('GET /v1/contacts?%s is 422 naming the parameter', async (query, field) => {
    await expectProblem(`/v1/contacts?${query}`, field);
  });

  it('a cursor made for another sort is 422', async () => {
    for (const [made, used] of [['name', '-name'], ['name', 'email'], ['-last_seen', 'last_seen'], ['created_at', 'first_seen']] as const) {
      const first = await api.get(`/v1/contacts?sort=${made}&limit=5`);
      expect(first.status).toBe(200);
      const cursor = first.body.next_cursor as string;
      expect(typeof cursor).toBe('string');
      await expectProblem(`/v1/contacts?sort=${encodeURIComponent(used)}&limit=5&cursor=${encodeURIComponent(cursor)}`, 'cursor');
      const ok = await api.get(`/v1/contacts?sort=${encodeURIComponent(made)}&limit=5&cursor=${encodeURIComponent(cursor)}`);
      expect(ok.status).toBe(200);
    }
  });
});
