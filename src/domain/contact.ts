// The contact's fields and every input rule of the API: trimming, empty string as null, lengths, email
// and phone checks, tags and metadata limits. Pure functions; the service calls them before any write.
import { parsePhoneNumberWithError, type CountryCode } from 'libphonenumber-js';
import { type FieldError, Invalid } from './errors.js';
import { parseTimestamp, toIso } from './time.js';

export const BUILTIN_SOURCES = ['widget', 'api', 'whatsapp', 'slack'] as const;
export const LIFECYCLE_STAGES = ['new', 'returning', 'qualified', 'customer'] as const;
export type LifecycleStage = (typeof LIFECYCLE_STAGES)[number];

export const LIMITS = {
  name: 200,
  company: 200,
  email: 254,
  pageUrl: 2048,
  note: 10_000,
  tagsPerContact: 50,
  tagLength: 64,
  metadataBytes: 16 * 1024,
  source: 32,
  phoneInput: 64,
} as const;

/** What a caller may write on a contact (create, PATCH, batch item). `undefined` means "not given". */
export interface ContactInput {
  name?: string | null;
  email?: string | null;
  phone?: string | null;
  company?: string | null;
  source?: string | null;
  page_url?: string | null;
  ip_country?: string | null;
  tags?: string[] | null;
  metadata?: Record<string, unknown> | null;
  lifecycle_stage?: LifecycleStage | null;
}

/** The same fields after the rules: trimmed, normalised, checked. */
export interface ContactFields {
  name?: string | null;
  email?: string | null;
  phone?: string | null;
  company?: string | null;
  source?: string;
  page_url?: string | null;
  ip_country?: string | null;
  tags?: string[];
  metadata?: Record<string, unknown> | null;
  lifecycle_stage?: LifecycleStage | null;
}

/** Lowercase with accents removed: the form that search matches and strings sort by. */
export function fold(value: string): string {
  // Lowercasing writes a word-final Σ as ς: one sigma for search and sort, as FTS5 folds it too.
  return value.normalize('NFKD').replace(/\p{M}+/gu, '').toLowerCase().replace(/ς/g, 'σ');
}

/** The folded form of a lowercased address: what the email sort orders by and the email index leads with. */
export function emailKey(emailLower: string): string {
  return fold(emailLower);
}

function chars(value: string): number {
  let n = 0;
  for (const _ of value) n++;
  return n;
}

// A pragmatic address check (what HTML's type=email accepts, plus a dot in the domain): strict enough to
// catch typos, loose enough for real addresses with plus tags and internationalised domains.
const EMAIL = /^[^\s@"(),:;<>[\\\]]+@[^\s@"(),:;<>[\\\]_]+\.[^\s@"(),:;<>[\\\]_.]{2,}$/u;

export function normaliseEmail(value: string): string | null {
  if (!EMAIL.test(value) || value.includes('..') || value.startsWith('.') || value.split('@')[0]!.endsWith('.')) return null;
  const domain = value.split('@')[1]!;
  if (domain.split('.').some((label) => label === '' || label.startsWith('-') || label.endsWith('-') || chars(label) > 63)) return null;
  return value;
}

export type PhoneResult = { ok: true; e164: string } | { ok: false; message: string };

export function normalisePhone(value: string, region: string | null): PhoneResult {
  if (chars(value) > LIMITS.phoneInput) return { ok: false, message: `must be at most ${LIMITS.phoneInput} characters` };
  if (!/^[+\d\s().\-/]+$/.test(value) || !/\d/.test(value)) return { ok: false, message: 'is not a phone number' };
  // Only a `+` gives the country code: anything else (a trunk 0, or a region's international prefix such
  // as 00 or 011) is read in the workspace's region, by libphonenumber, which knows each region's prefixes.
  const international = value.replace(/[\s().\-/]/g, '').startsWith('+');
  if (!international && !region) {
    return { ok: false, message: 'has no country code (start it with +) and the workspace has no default_phone_region' };
  }
  try {
    const parsed = parsePhoneNumberWithError(value, (region ?? undefined) as CountryCode | undefined);
    if (!parsed.isPossible()) return { ok: false, message: 'is not a possible phone number' };
    return { ok: true, e164: parsed.number };
  } catch {
    return { ok: false, message: 'is not a possible phone number' };
  }
}

export function isCountryCode(value: string): boolean {
  return /^[A-Z]{2}$/.test(value);
}

export function isSource(value: string): boolean {
  return /^[a-z0-9_-]{1,32}$/.test(value);
}

export interface NormaliseOptions {
  /** The workspace's default phone region, for numbers without `+`. */
  region: string | null;
  /** PATCH and batch updates: `source` is ignored rather than taken. */
  update: boolean;
}

function hasNul(value: string): boolean {
  return value.includes('\u0000');
}

/**
 * Applies the input rules to a body already checked for types and unknown fields. Returns normalised
 * fields or throws `Invalid` listing every field that broke a rule.
 */
export function normaliseContactInput(input: ContactInput, opts: NormaliseOptions): ContactFields {
  const errors: FieldError[] = [];
  const out: ContactFields = {};
  const str = (field: 'name' | 'email' | 'phone' | 'company' | 'page_url' | 'ip_country' | 'source'): string | null | undefined => {
    const v = input[field];
    if (v === undefined) return undefined;
    if (v === null) return null;
    if (hasNul(v)) {
      errors.push({ field, message: 'must not contain NUL characters' });
      return undefined;
    }
    const t = v.trim();
    return t === '' ? null : t;
  };
  const limit = (field: string, v: string | null | undefined, max: number): boolean => {
    if (v != null && chars(v) > max) {
      errors.push({ field, message: `must be at most ${max} characters` });
      return false;
    }
    return true;
  };

  const name = str('name');
  if (limit('name', name, LIMITS.name) && name !== undefined) out.name = name;
  const company = str('company');
  if (limit('company', company, LIMITS.company) && company !== undefined) out.company = company;

  const email = str('email');
  if (limit('email', email, LIMITS.email) && email !== undefined) {
    if (email === null) out.email = null;
    else if (normaliseEmail(email) === null) errors.push({ field: 'email', message: 'is not a valid email address' });
    else out.email = email;
  }

  const phone = str('phone');
  if (phone !== undefined) {
    if (phone === null) out.phone = null;
    else {
      const r = normalisePhone(phone, opts.region);
      if (r.ok) out.phone = r.e164;
      else errors.push({ field: 'phone', message: r.message });
    }
  }

  const pageUrl = str('page_url');
  if (limit('page_url', pageUrl, LIMITS.pageUrl) && pageUrl !== undefined) {
    if (pageUrl === null) out.page_url = null;
    else if (!isHttpUrl(pageUrl)) errors.push({ field: 'page_url', message: 'must be an http or https URL' });
    else out.page_url = pageUrl;
  }

  const country = str('ip_country');
  if (country !== undefined) {
    if (country === null) out.ip_country = null;
    else if (!isCountryCode(country.toUpperCase())) errors.push({ field: 'ip_country', message: 'must be a two-letter ISO 3166 country code' });
    else out.ip_country = country.toUpperCase();
  }

  const source = str('source');
  if (source !== undefined && !opts.update) {
    if (source === null) out.source = 'api';
    else if (!isSource(source.toLowerCase())) {
      errors.push({ field: 'source', message: 'must be widget, api, whatsapp, slack or a custom word of up to 32 characters a-z, 0-9, _ or -' });
    } else out.source = source.toLowerCase();
  }

  if (input.tags !== undefined) {
    const tags = normaliseTags(input.tags ?? [], errors);
    if (tags) out.tags = tags;
  }

  if (input.metadata !== undefined) {
    if (input.metadata === null) out.metadata = null;
    else if (depthOf(input.metadata) > 32) errors.push({ field: 'metadata', message: 'must not be nested more than 32 levels deep' });
    else if (Buffer.byteLength(JSON.stringify(input.metadata)) > LIMITS.metadataBytes) {
      errors.push({ field: 'metadata', message: `must be at most ${LIMITS.metadataBytes} bytes as JSON` });
    } else if (jsonHasNul(input.metadata)) {
      errors.push({ field: 'metadata', message: 'must not contain NUL characters' });
    } else out.metadata = withConsentChecked(input.metadata, errors);
  }

  // Checked here too, not only by the HTTP schema: imports build their items from raw cells.
  if (input.lifecycle_stage !== undefined) {
    const stage: unknown = input.lifecycle_stage;
    if (stage === null) out.lifecycle_stage = null;
    else if (typeof stage === 'string' && (LIFECYCLE_STAGES as readonly string[]).includes(stage.trim().toLowerCase())) out.lifecycle_stage = stage.trim().toLowerCase() as LifecycleStage;
    else errors.push({ field: 'lifecycle_stage', message: `must be one of ${LIFECYCLE_STAGES.join(', ')}` });
  }

  if (errors.length) throw new Invalid(errors);
  return out;
}

/** Nesting depth, counted without recursion (a hostile document may be thousands deep). */
function depthOf(root: unknown): number {
  let max = 0;
  const stack: Array<[unknown, number]> = [[root, 0]];
  while (stack.length) {
    const [v, d] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    max = Math.max(max, d + 1);
    if (max > 64) return max;
    for (const child of Object.values(v as Record<string, unknown>)) stack.push([child, d + 1]);
  }
  return max;
}

function jsonHasNul(value: unknown): boolean {
  if (typeof value === 'string') return hasNul(value);
  if (Array.isArray(value)) return value.some(jsonHasNul);
  if (value && typeof value === 'object') return Object.entries(value).some(([k, v]) => hasNul(k) || jsonHasNul(v));
  return false;
}

/**
 * Consent lives in the metadata (API.md): `consent_given` a boolean, `consent_at` a timestamp, stored in
 * the API's form; `null` removes either, as in any merge patch.
 */
function withConsentChecked(metadata: Record<string, unknown>, errors: FieldError[]): Record<string, unknown> {
  const out = { ...metadata };
  const given = metadata.consent_given;
  if (given !== undefined && given !== null && typeof given !== 'boolean') {
    errors.push({ field: 'metadata.consent_given', message: 'must be true, false or null' });
  }
  const at = metadata.consent_at;
  if (at !== undefined && at !== null) {
    const ms = typeof at === 'string' ? parseTimestamp(at) : null;
    if (ms === null) errors.push({ field: 'metadata.consent_at', message: 'must be an RFC 3339 timestamp' });
    else out.consent_at = toIso(ms);
  }
  return out;
}

export function normaliseTags(tags: string[], errors: FieldError[]): string[] | null {
  const seen = new Set<string>();
  for (const raw of tags) {
    const t = raw.trim().toLowerCase();
    if (t === '') {
      errors.push({ field: 'tags', message: 'must not contain empty tags' });
      return null;
    }
    if (hasNul(t) || chars(t) > LIMITS.tagLength) {
      errors.push({ field: 'tags', message: `each tag must be at most ${LIMITS.tagLength} characters, without NUL` });
      return null;
    }
    if (t.includes(',')) {
      // A comma separates tags in the tag filter, in CSV cells and in imports: one could not be found again.
      errors.push({ field: 'tags', message: 'a tag must not contain a comma' });
      return null;
    }
    seen.add(t);
  }
  if (seen.size > LIMITS.tagsPerContact) {
    errors.push({ field: 'tags', message: `at most ${LIMITS.tagsPerContact} tags per contact` });
    return null;
  }
  return [...seen];
}

export function isHttpUrl(value: string): boolean {
  try {
    const u = new URL(value);
    return u.protocol === 'http:' || u.protocol === 'https:';
  } catch {
    return false;
  }
}

/** RFC 7396 JSON merge patch. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return patch;
  const base: Record<string, unknown> =
    target !== null && typeof target === 'object' && !Array.isArray(target) ? { ...(target as Record<string, unknown>) } : {};
  for (const [key, value] of Object.entries(patch as Record<string, unknown>)) {
    if (value === null) delete base[key];
    // defineProperty, not assignment: a key named "__proto__" is data here, never a prototype.
    else Object.defineProperty(base, key, { value: mergePatch(Object.hasOwn(base, key) ? base[key] : undefined, value), enumerable: true, writable: true, configurable: true });
  }
  return base;
}

/** The stage a contact's conversations give it, unless one was set by hand or by a rule. */
export function derivedStage(conversationCount: number): LifecycleStage {
  return conversationCount > 1 ? 'returning' : 'new';
}

/** The folded words of a name, an email or an id, for the prefix rule of one- and two-character terms. */
export function words(value: string | null): string[] {
  if (!value) return [];
  return fold(value).split(/[^\p{L}\p{N}]+/u).filter(Boolean);
}

/**
 * The search columns kept on every contact row. `word_prefixes` holds the first two characters of each
 * word behind two spaces ("  sa  jo"), so " s" or " sa" is found only at a word's start, by `instr` and by
 * a trigram index alike.
 */
export function searchKeys(c: { id: string; name: string | null; email: string | null; phone: string | null }) {
  const prefixes = new Set<string>();
  for (const w of [...words(c.name), ...words(c.email), ...words(c.id)]) prefixes.add(Array.from(w).slice(0, 2).join(''));
  return {
    name_key: c.name === null ? null : fold(c.name),
    // From the lowercase address, as email_lower is: the unique index holds both (store/migrations.ts).
    email_key: c.email === null ? null : emailKey(c.email.toLowerCase()),
    phone_digits: c.phone === null ? null : c.phone.replace(/\D/g, ''),
    word_prefixes: [...prefixes].map((p) => '  ' + p).join(''),
  };
}
