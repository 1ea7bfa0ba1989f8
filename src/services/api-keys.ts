// API keys: random, shown once, stored as SHA-256 (they are long and random; a slow hash is for
// passwords), looked up by hash on every request, revoked at once.
import { createHash } from 'node:crypto';
import { type Principal, type Scope } from '../domain/access.js';
import { Invalid, NotFound, Unauthorized } from '../domain/errors.js';
import { newId, randomToken } from '../domain/ids.js';
import { toIso } from '../domain/time.js';
import * as keys from '../store/api-keys.js';
import type { ApiKeyRow } from '../store/schema.js';
import * as workspaces from '../store/workspaces.js';
import type { ServiceDeps } from './deps.js';
import type { Page } from './contacts.js';
import { pageOfWhole } from './cursors.js';

export const KEY_PREFIX = 'ck_';

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

export interface KeyView {
  id: string;
  name: string | null;
  prefix: string;
  scopes: Scope[];
  created_at: string;
  last_used_at: string | null;
}

export function presentKey(row: ApiKeyRow): KeyView {
  return {
    id: row.id,
    name: row.name,
    prefix: row.prefix,
    scopes: row.scopes.split(',') as Scope[],
    created_at: toIso(row.created_at),
    last_used_at: row.last_used_at === null ? null : toIso(row.last_used_at),
  };
}

/** How often a key's last_used_at is written: once a minute is plenty, and keeps reads read-only. */
const TOUCH_EVERY_MS = 60_000;

export function createApiKeyService({ store, clock }: ServiceDeps) {
  const touched = new Map<string, number>();

  return {
    async create(workspaceId: string, scopes: Scope[], name: string | null): Promise<{ key: KeyView; secret: string }> {
      if (!scopes.length) throw Invalid.field('scopes', 'must name at least one of read, write, admin');
      if (name !== null && (name.length > 200 || name.includes('\u0000'))) throw Invalid.field('name', 'must be at most 200 characters');
      if (!(await workspaces.getWorkspace(store.db, workspaceId))) throw new NotFound('workspace');
      // 40 base-36 characters: about 206 random bits.
      const secret = KEY_PREFIX + randomToken(40);
      const row: ApiKeyRow = {
        id: newId('key'), workspace_id: workspaceId, name: name?.trim() || null, prefix: secret.slice(0, 10),
        key_hash: hashSecret(secret), scopes: [...new Set(scopes)].join(','), created_at: clock.now(),
        last_used_at: null, revoked_at: null,
      };
      await store.transaction((trx) => keys.insertKey(trx, row));
      return { key: presentKey(row), secret };
    },

    async authenticate(secret: string): Promise<Principal> {
      if (!secret.startsWith(KEY_PREFIX) || secret.length > 200) throw new Unauthorized('Invalid API key');
      const row = await keys.findKeyByHash(store.db, hashSecret(secret));
      if (!row || row.revoked_at !== null) throw new Unauthorized('Invalid API key');
      const now = clock.now();
      if (now - (touched.get(row.id) ?? 0) > TOUCH_EVERY_MS) {
        touched.set(row.id, now);
        await store.transaction((trx) => keys.touchKey(trx, row.id, now));
      }
      return { kind: 'key', workspaceId: row.workspace_id, keyId: row.id, keyName: row.name, scopes: row.scopes.split(',') as Scope[] };
    },

    /** Newest first. */
    async list(workspaceId: string, limit?: unknown, cursor?: unknown): Promise<Page<KeyView>> {
      return pageOfWhole(await keys.listKeys(store.db, workspaceId), (k) => ({ at: k.created_at, id: k.id }), 'desc', limit, cursor, presentKey);
    },

    /** Revokes a key of this workspace (`workspaceId` null: any workspace, for the operator's CLI). */
    async revoke(workspaceId: string | null, id: string): Promise<void> {
      const done = await store.transaction((trx) => keys.revokeKey(trx, workspaceId, id, clock.now()));
      if (!done) throw new NotFound('API key');
    },
  };
}

export type ApiKeyService = ReturnType<typeof createApiKeyService>;
