// Who is calling and what they may do. Scopes for keys: write implies read, admin implies both.
import { Forbidden } from './errors.js';

export const SCOPES = ['read', 'write', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

export type Principal =
  | { kind: 'key'; workspaceId: string; keyId: string; keyName: string | null; scopes: Scope[] };

/** How an actor appears on the timeline and on notes. */
export interface Actor {
  type: 'api_key' | 'user' | 'system';
  id: string | null;
  name: string | null;
}

export function actorOf(p: Principal): Actor {
  return { type: 'api_key', id: p.keyId, name: p.keyName };
}

export function grants(scopes: readonly Scope[], needed: Scope): boolean {
  if (scopes.includes('admin')) return true;
  if (needed === 'read') return scopes.includes('read') || scopes.includes('write');
  return scopes.includes(needed);
}

export function requireScope(p: Principal, needed: Scope): void {
  if (!grants(p.scopes, needed)) throw new Forbidden(`This key lacks the ${needed} scope`);
}

export function parseScopes(value: string): Scope[] | null {
  const parts = value.split(',').map((s) => s.trim()).filter(Boolean);
  if (!parts.length || parts.some((s) => !(SCOPES as readonly string[]).includes(s))) return null;
  return [...new Set(parts)] as Scope[];
}
