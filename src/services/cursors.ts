// Opaque cursors for the simple lists (notes, timeline, conversations): base64url JSON.
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

