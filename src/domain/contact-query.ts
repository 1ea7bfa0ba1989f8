// The one filter language of the contact list, the count, and (later) exports: parsed from query
// parameters or a JSON `filters` object into a typed query, with a 422 naming each bad parameter.
import { type FieldError, Invalid } from './errors.js';
import { fold, isSource, LIFECYCLE_STAGES, type LifecycleStage } from './contact.js';
import { dateIn, parseBound, startOfDay } from './time.js';

export const SORT_FIELDS = ['name', 'email', 'phone', 'source', 'created_at', 'last_seen', 'first_seen', 'conversation_count'] as const;
export type SortField = (typeof SORT_FIELDS)[number];

export interface Range {
  from?: number;
  to?: number;
}

/** A search term, classified by the rules of the API. */
export interface SearchTerm {
  raw: string;
  /** Folded (lowercase, accents removed): what name and email are matched against. */
  folded: string;
  /** 3+ characters: a substring of name or email. 1-2: the start of a word of name, email or id. */
  kind: 'substring' | 'word-prefix';
  /** Only digits and `+()-. `, with at least three digits: also these digits anywhere in the phone. */
  digits: string | null;
  /** Starts with `ctc_`: also ids with this prefix. */
  idPrefix: string | null;
}

export interface ContactFilter {
  q: SearchTerm | null;
  sources: string[] | null;
  created: Range;
  firstSeen: Range;
  lastSeen: Range;
  tags: string[];
  conversationCountMin: number | null;
  conversationCountMax: number | null;
  hasEmail: boolean | null;
  hasPhone: boolean | null;
  stages: LifecycleStage[] | null;
  archived: 'false' | 'true' | 'all';
}

export interface Sort {
  field: SortField;
  dir: 'asc' | 'desc';
}

export const LIST_PARAMETERS = [
  'q', 'source', 'created_from', 'created_to', 'first_seen_from', 'first_seen_to', 'last_seen_from',
  'last_seen_to', 'last_active', 'tag', 'conversation_count_min', 'conversation_count_max', 'has_email',
  'has_phone', 'lifecycle_stage', 'archived',
] as const;

export type FilterInput = Partial<Record<(typeof LIST_PARAMETERS)[number], unknown>>;

export function parseSearch(raw: string): SearchTerm | null {
  const term = raw.trim();
  if (term === '') return null;
  const folded = fold(term);
  const digitCount = (term.match(/\d/g) ?? []).length;
  const digits = /^[\d+()\-. ]+$/.test(term) && digitCount >= 3 ? term.replace(/\D/g, '') : null;
  return {
    raw: term,
    folded,
    kind: Array.from(folded).length >= 3 ? 'substring' : 'word-prefix',
    digits,
    idPrefix: term.toLowerCase().startsWith('ctc_') ? term.toLowerCase() : null,
  };
}

interface ParseContext {
  timezone: string;
  now: number;
}

/**
 * Parses list parameters. `input` holds strings (a query string) or JSON values (an export's
 * `filters`, where a comma list may be an array and booleans and numbers are JSON values).
 */
export function parseFilter(input: FilterInput, ctx: ParseContext): ContactFilter {
  const errors: FieldError[] = [];
  const fail = (field: string, message: string) => errors.push({ field, message });

  const single = (name: string): string | null => {
    const v = (input as Record<string, unknown>)[name];
    if (v === undefined || v === null) return null;
    if (typeof v === 'number' || typeof v === 'boolean') return String(v);
    if (typeof v === 'string') return v;
    fail(name, 'must be given once, as a single value');
    return null;
  };
  const list = (name: string): string[] | null => {
    const v = (input as Record<string, unknown>)[name];
    if (v === undefined || v === null) return null;
    const parts = Array.isArray(v) ? v : [v];
    const out: string[] = [];
    for (const p of parts) {
      if (typeof p !== 'string') {
        fail(name, 'must be a comma-separated list of words');
        return null;
      }
      out.push(...p.split(',').map((s) => s.trim()).filter(Boolean));
    }
    if (!out.length) {
      fail(name, 'must not be empty');
      return null;
    }
    return out;
  };
  const bool = (name: string): boolean | null => {
    const v = single(name);
    if (v === null) return null;
    if (v === 'true') return true;
    if (v === 'false') return false;
    fail(name, 'must be true or false');
    return null;
  };
  const count = (name: string): number | null => {
    const v = single(name);
    if (v === null) return null;
    if (!/^\d{1,9}$/.test(v.trim())) {
      fail(name, 'must be a whole number from 0');
      return null;
    }
    return Number(v);
  };
  const range = (prefix: string): Range => {
    const r: Range = {};
    for (const edge of ['from', 'to'] as const) {
      const v = single(`${prefix}_${edge}`);
      if (v === null) continue;
      const t = parseBound(v.trim(), edge, ctx.timezone);
      if (t === null) fail(`${prefix}_${edge}`, 'must be an RFC 3339 timestamp or a YYYY-MM-DD date');
      else r[edge] = t;
    }
    if (r.from !== undefined && r.to !== undefined && r.from > r.to) fail(`${prefix}_to`, `must not be before ${prefix}_from`);
    return r;
  };

  const qRaw = single('q');
  if (qRaw !== null && qRaw.length > 200) fail('q', 'must be at most 200 characters');
  const q = qRaw !== null && qRaw.length <= 200 ? parseSearch(qRaw) : null;
  if (qRaw !== null && qRaw.includes('\u0000')) fail('q', 'must not contain NUL characters');

  // Sources are stored lowercase (a custom one is lowercased on input): "Widget" filters as "widget".
  const sources = list('source')?.map((x) => x.trim().toLowerCase()) ?? null;
  if (sources) for (const s of sources) if (!isSource(s)) fail('source', `"${s.slice(0, 40)}" is not a source`);

  const lastSeen = range('last_seen');
  const lastActive = single('last_active');
  if (lastActive !== null) {
    if (lastSeen.from !== undefined) fail('last_active', 'cannot be combined with last_seen_from');
    const day = 86_400_000;
    if (lastActive === 'today') {
      const [y, m, d] = dateIn(ctx.now, ctx.timezone);
      lastSeen.from = startOfDay(y, m, d, ctx.timezone);
    } else if (lastActive === '7d') lastSeen.from = ctx.now - 7 * day;
    else if (lastActive === '30d') lastSeen.from = ctx.now - 30 * day;
    else fail('last_active', 'must be today, 7d or 30d');
  }

  const tags = (list('tag') ?? []).map((t) => t.trim().toLowerCase());
  if (tags.some((t) => t.length > 64)) fail('tag', 'each tag is at most 64 characters');

  const stagesRaw = list('lifecycle_stage');
  let stages: LifecycleStage[] | null = null;
  if (stagesRaw) {
    const bad = stagesRaw.find((s) => !(LIFECYCLE_STAGES as readonly string[]).includes(s));
    if (bad !== undefined) fail('lifecycle_stage', `must be among ${LIFECYCLE_STAGES.join(', ')}`);
    else stages = stagesRaw as LifecycleStage[];
  }

  const archivedRaw = single('archived') ?? 'false';
  if (!['true', 'false', 'all'].includes(archivedRaw)) fail('archived', 'must be true, false or all');

  const filter: ContactFilter = {
    q,
    sources,
    created: range('created'),
    firstSeen: range('first_seen'),
    lastSeen,
    tags: [...new Set(tags)],
    conversationCountMin: count('conversation_count_min'),
    conversationCountMax: count('conversation_count_max'),
    hasEmail: bool('has_email'),
    hasPhone: bool('has_phone'),
    stages,
    archived: archivedRaw as ContactFilter['archived'],
  };
  if (filter.conversationCountMin !== null && filter.conversationCountMax !== null && filter.conversationCountMin > filter.conversationCountMax) {
    fail('conversation_count_max', 'must not be below conversation_count_min');
  }
  if (errors.length) throw new Invalid(errors);
  return filter;
}

export function parseSort(value: unknown): Sort {
  if (value === undefined || value === null) return { field: 'last_seen', dir: 'desc' };
  if (typeof value !== 'string') throw Invalid.field('sort', 'must be given once');
  const dir = value.startsWith('-') ? 'desc' : 'asc';
  const field = value.replace(/^[-+]/, '');
  if (!(SORT_FIELDS as readonly string[]).includes(field)) {
    throw Invalid.field('sort', `must be one of ${SORT_FIELDS.join(', ')}, with - for descending`);
  }
  return { field: field as SortField, dir };
}

export function parseLimit(value: unknown): number {
  if (value === undefined || value === null) return 50;
  if (typeof value !== 'string' || !/^\d{1,4}$/.test(value) || Number(value) < 1 || Number(value) > 200) {
    throw Invalid.field('limit', 'must be a whole number from 1 to 200');
  }
  return Number(value);
}

/** Position after the last row of a page: its sort key (null in the trailing run of nulls) and id. */
export interface Cursor {
  sort: string;
  key: string | number | null;
  id: string;
}

/** What an id may look like inside a cursor: printable ASCII, bounded. */
export function isIdText(value: string): boolean {
  return /^[\x21-\x7e]{1,64}$/.test(value);
}

export function encodeCursor(c: Cursor): string {
  return Buffer.from(JSON.stringify([c.sort, c.key, c.id])).toString('base64url');
}

export function decodeCursor(value: unknown, sort: Sort): Cursor | null {
  if (value === undefined || value === null || value === '') return null;
  const bad = () => Invalid.field('cursor', 'is not a cursor from this list (or was made for another sort)');
  if (typeof value !== 'string' || value.length > 2000) throw bad();
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(value, 'base64url').toString('utf8'));
  } catch {
    throw bad();
  }
  const sortName = (sort.dir === 'desc' ? '-' : '') + sort.field;
  if (!Array.isArray(parsed) || parsed.length !== 3 || parsed[0] !== sortName || typeof parsed[2] !== 'string' || !isIdText(parsed[2])) throw bad();
  const key = parsed[1] as unknown;
  if (typeof key === 'string' && (key.length > 1000 || key.includes('\u0000') || /\p{Cs}/u.test(key))) throw bad();
  const numeric = ['created_at', 'last_seen', 'first_seen', 'conversation_count'].includes(sort.field);
  if (key !== null && (numeric ? typeof key !== 'number' || !Number.isSafeInteger(key) : typeof key !== 'string')) throw bad();
  if (key === null && numeric) throw bad();
  return { sort: sortName, key: key as string | number | null, id: parsed[2] };
}
