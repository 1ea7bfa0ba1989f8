// How the columns of an imported CSV file become contact fields: the user's mapping where given, else
// a match of common header names ("E-mail", "Full name", "Phone number", an export's own header).
import { Invalid, type FieldError } from './errors.js';

export const IMPORT_FIELDS = [
  'name', 'first_name', 'last_name', 'email', 'phone', 'company', 'source', 'tags', 'page_url', 'ip_country', 'lifecycle_stage',
  'created_at', 'first_seen', 'last_seen', 'conversation_count',
] as const;
export type ImportField = (typeof IMPORT_FIELDS)[number];

/** Kept only by a historical import (admin), as API.md's migration rules say. */
export const HISTORICAL_IMPORT_FIELDS: readonly ImportField[] = ['created_at', 'first_seen', 'last_seen', 'conversation_count'];

/** Header spellings, lowercased with everything but letters and digits removed. */
const SYNONYMS: Record<ImportField, string[]> = {
  name: ['name', 'fullname', 'contactname', 'displayname', 'yourname', 'customername', 'leadname', 'nom', 'nombre'],
  first_name: ['firstname', 'givenname', 'forename', 'first'],
  last_name: ['lastname', 'surname', 'familyname', 'last'],
  email: ['email', 'emailaddress', 'mail', 'emailaddr', 'workemail', 'contactemail', 'correo'],
  phone: ['phone', 'phonenumber', 'mobile', 'mobilephone', 'mobilenumber', 'telephone', 'tel', 'cell', 'cellphone', 'whatsapp', 'contactphone'],
  company: ['company', 'companyname', 'organization', 'organisation', 'org', 'employer', 'business', 'account', 'accountname'],
  source: ['source', 'leadsource', 'channel'],
  tags: ['tags', 'tag', 'labels', 'label'],
  page_url: ['pageurl', 'page', 'landingpage', 'url'],
  ip_country: ['ipcountry', 'country', 'countrycode'],
  lifecycle_stage: ['lifecyclestage', 'stage', 'lifecycle'],
  created_at: ['createdat', 'created', 'createddate', 'datecreated', 'createdon'],
  first_seen: ['firstseen', 'firstseenat'],
  last_seen: ['lastseen', 'lastseenat', 'lastactive', 'lastactivity'],
  conversation_count: ['conversationcount', 'conversations', 'numberofconversations'],
};

const BY_SPELLING = new Map<string, ImportField>(
  Object.entries(SYNONYMS).flatMap(([field, names]) => names.map((n) => [n, field as ImportField] as const)),
);

function spelling(header: string): string {
  return header.normalize('NFKD').replace(/[\u0300-\u036f]/g, '').toLowerCase().replace(/[^a-z0-9]/g, '');
}

export type Mapping = Record<string, ImportField | null>;

/**
 * The mapping for a file's header row: the given entries, and for the other columns the field their
 * header names. A field taken by an earlier column is not given to a later one.
 */
export function resolveMapping(headers: string[], given: unknown): Mapping {
  const errors: FieldError[] = [];
  let explicit: Record<string, unknown> = {};
  if (given !== undefined && given !== null) {
    if (typeof given !== 'object' || Array.isArray(given)) throw Invalid.field('mapping', 'must be a JSON object from column header to contact field (or null to skip the column)');
    explicit = given as Record<string, unknown>;
  }
  for (const [header, field] of Object.entries(explicit)) {
    if (!headers.includes(header)) errors.push({ field: `mapping.${header}`, message: `is not a column of the file; its columns: ${headers.join(', ')}` });
    else if (field !== null && (typeof field !== 'string' || !(IMPORT_FIELDS as readonly string[]).includes(field))) {
      errors.push({ field: `mapping.${header}`, message: `must be null or one of ${IMPORT_FIELDS.join(', ')}` });
    }
  }
  const mapping: Mapping = {};
  const taken = new Set<ImportField>();
  for (const h of headers) {
    if (h in explicit) {
      const f = explicit[h] as ImportField | null;
      if (f && taken.has(f)) errors.push({ field: `mapping.${h}`, message: `${f} is mapped from another column too` });
      if (f) taken.add(f);
      mapping[h] = f;
    }
  }
  for (const h of headers) {
    if (h in explicit || h in mapping) continue;
    const f = BY_SPELLING.get(spelling(h)) ?? null;
    mapping[h] = f && !taken.has(f) ? f : null;
    if (mapping[h]) taken.add(mapping[h]);
  }
  if (errors.length) throw new Invalid(errors);
  if (!['name', 'first_name', 'last_name', 'email', 'phone'].some((f) => taken.has(f as ImportField))) {
    throw Invalid.field('mapping', `no column is mapped to name, email or phone (the columns: ${headers.join(', ')}); a contact needs one of them`);
  }
  return mapping;
}

/**
 * Guesses the delimiter from the header line: the one of `,` `;` tab that occurs most outside quotes
 * (a comma when none does).
 */
export function detectDelimiter(firstLine: string): ',' | ';' | '\t' {
  const counts = { ',': 0, ';': 0, '\t': 0 };
  let quoted = false;
  for (const ch of firstLine) {
    if (ch === '"') quoted = !quoted;
    else if (!quoted && ch in counts) counts[ch as keyof typeof counts]++;
  }
  const best = (Object.entries(counts) as Array<[',' | ';' | '\t', number]>).sort((a, b) => b[1] - a[1])[0]!;
  return best[1] > 0 ? best[0] : ',';
}

/** One record as a batch item under the mapping; historical fields only when `historical`. */
export function recordToItem(headers: string[], record: string[], mapping: Mapping, historical: boolean): Record<string, unknown> {
  const item: Record<string, unknown> = {};
  let first: string | null = null, last: string | null = null;
  headers.forEach((h, i) => {
    const field = mapping[h];
    const value = (record[i] ?? '').trim();
    if (!field || value === '') return;
    if (HISTORICAL_IMPORT_FIELDS.includes(field) && !historical) return;
    if (field === 'first_name') first = value;
    else if (field === 'last_name') last = value;
    else if (field === 'tags') item.tags = value.split(/[,;|]/).map((t) => t.trim()).filter(Boolean);
    else if (field === 'conversation_count') item.conversation_count = /^\d+$/.test(value) ? Number(value) : value;
    else item[field] = value;
  });
  if (item.name === undefined && (first || last)) item.name = [first, last].filter(Boolean).join(' ');
  // An export imported elsewhere keeps its dates: created_at from first_seen when absent.
  if (historical && item.created_at === undefined && item.first_seen !== undefined) item.created_at = item.first_seen;
  return item;
}
