// Opaque cursors for the simple lists (notes, timeline, conversations): base64url JSON.
import { parseLimit } from '../domain/contact-query.js';
import { Invalid } from '../domain/errors.js';

export function encodeSimpleCursor(value: object): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

export function decodeSimpleCursor(value: unknown): Record<string, unknown> | null {
  if (value === undefined || value === null || value === '') return null;
  try {
    if (typeof value !== 'string' || value.length > 500) throw new Error('bad');
    const parsed = JSON.parse(Buffer.from(value, 'base64url').toString('utf8')) as unknown;
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('bad');
    return parsed as Record<string, unknown>;
  } catch {
    throw Invalid.field('cursor', 'is not a cursor from this list');
  }
}


/** The cursor of a newest-first list keyed by (time, id): exports, imports, erasure receipts. */
export function decodeNewestFirst(value: unknown): { at: number; id: string } | null {
  const before = decodeSimpleCursor(value) as { at: unknown; id: unknown } | null;
  if (before && (!Number.isSafeInteger(before.at) || typeof before.id !== 'string')) throw Invalid.field('cursor', 'is not a cursor from this list');
  return before as { at: number; id: string } | null;
}

/** A page from `limit + 1` rows read newest first: the extra row says there is more. */
export function newestFirstPage<R extends { id: string }, V>(rows: R[], limit: number, at: (r: R) => number, present: (r: R) => V) {
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  return {
    data: page.map(present), has_more: rows.length > limit,
    next_cursor: rows.length > limit && last ? encodeSimpleCursor({ at: at(last), id: last.id }) : null,
  };
}

/**
 * A page of a list that is small by nature and read whole (API keys, members, agents, rules), in
 * (time, id) order; the cursor is the last row's (time, id), so rows added or removed meanwhile make the
 * pages skip or repeat nothing. Sorted here, by code point, so both databases give the same order.
 */
export function pageOfWhole<R, V>(rows: R[], keyOf: (r: R) => { at: number; id: string }, order: 'asc' | 'desc', limitParam: unknown, cursorParam: unknown, present: (r: R) => V) {
  const limit = parseLimit(limitParam);
  const after = decodeNewestFirst(cursorParam);
  const sign = order === 'asc' ? 1 : -1;
  const compare = (a: { at: number; id: string }, b: { at: number; id: string }) => sign * (a.at - b.at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const sorted = [...rows].sort((a, b) => compare(keyOf(a), keyOf(b)));
  const rest = after ? sorted.filter((r) => compare(keyOf(r), after) > 0) : sorted;
  const page = rest.slice(0, limit);
  const last = page[page.length - 1];
  return { data: page.map(present), has_more: rest.length > limit, next_cursor: rest.length > limit && last ? encodeSimpleCursor(keyOf(last)) : null };
}
