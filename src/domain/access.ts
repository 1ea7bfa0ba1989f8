// Who is calling and what they may do. Programs hold API keys with scopes (write implies read, admin
// implies both); people hold a role in a workspace (viewer < member < admin < owner). A route names the
// scope it needs; a role grants the scope of its rank.
import { Forbidden } from './errors.js';

export const SCOPES = ['read', 'write', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

export const ROLES = ['viewer', 'member', 'admin', 'owner'] as const;
export type Role = (typeof ROLES)[number];

export type Principal =
  | { kind: 'key'; workspaceId: string; keyId: string; keyName: string | null; scopes: Scope[] }
  | { kind: 'user'; workspaceId: string; userId: string; email: string; role: Role; sessionHash: string }
  // A publishable widget key (pk_...): runs its agent's own conversations and nothing else.
  | { kind: 'widget'; workspaceId: string; agentId: string; origins: string[] };

/** How an actor appears on the timeline and on notes. */
export interface Actor {
  type: 'api_key' | 'user' | 'widget' | 'system';
  id: string | null;
  name: string | null;
}

export function actorOf(p: Principal): Actor {
  switch (p.kind) {
    case 'key': return { type: 'api_key', id: p.keyId, name: p.keyName };
    case 'user': return { type: 'user', id: p.userId, name: p.email };
    case 'widget': return { type: 'widget', id: p.agentId, name: null };
  }
}

/** The principal's own id, for what is kept per caller (idempotency keys, rate limits). */
export function principalId(p: Principal): string {
  switch (p.kind) {
    case 'key': return p.keyId;
    case 'user': return p.userId;
    case 'widget': return 'widget:' + p.agentId;
  }
}

export function grants(scopes: readonly Scope[], needed: Scope): boolean {
  if (scopes.includes('admin')) return true;
  if (needed === 'read') return scopes.includes('read') || scopes.includes('write');
  return scopes.includes(needed);
}

const SCOPE_OF_ROLE: Record<Role, Scope[]> = {
  viewer: ['read'],
  member: ['read', 'write'],
  admin: ['read', 'write', 'admin'],
  owner: ['read', 'write', 'admin'],
};

export function scopesOf(p: Principal): Scope[] {
  switch (p.kind) {
    case 'key': return p.scopes;
    case 'user': return SCOPE_OF_ROLE[p.role];
    case 'widget': return [];
  }
}

export function rank(role: Role): number {
  return ROLES.indexOf(role);
}

export function requireScope(p: Principal, needed: Scope): void {
  if (grants(scopesOf(p), needed)) return;
  if (p.kind === 'widget') throw new Forbidden('A widget key may only start and run its own conversations');
  throw new Forbidden(p.kind === 'key' ? `This key lacks the ${needed} scope` : `Your role (${p.role}) does not allow this`);
}

export function isOwner(p: Principal): boolean {
  return p.kind === 'user' && p.role === 'owner';
}

export function parseScopes(value: string): Scope[] | null {
  const parts = value.split(',').map((s) => s.trim()).filter(Boolean);
  if (!parts.length || parts.some((s) => !(SCOPES as readonly string[]).includes(s))) return null;
  return [...new Set(parts)] as Scope[];
}

export function isRole(value: string): value is Role {
  return (ROLES as readonly string[]).includes(value);
}
