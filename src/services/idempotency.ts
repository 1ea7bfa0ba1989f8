// Idempotency-Key bookkeeping: the first answer to a POST is kept 24 hours and given again to a retry
// with the same key and body.
import { Conflict, Invalid } from '../domain/errors.js';
import * as idem from '../store/idempotency.js';
import type { ServiceDeps } from './deps.js';

export const IDEMPOTENCY_WINDOW_MS = 24 * 3600_000;

export type Begin = { kind: 'claimed' } | { kind: 'replay'; status: number; body: string | null };

export function createIdempotencyService({ store, clock }: ServiceDeps) {
  return {
    /** Claims the key for this request, or returns the stored answer of the first one. */
    async begin(principal: string, workspaceId: string, key: string, requestHash: string): Promise<Begin> {
      const now = clock.now();
      for (let attempt = 0; attempt < 2; attempt++) {
        const existing = await idem.findIdempotent(store.db, principal, key);
        if (existing && existing.created_at < now - IDEMPOTENCY_WINDOW_MS) {
          await store.transaction((trx) => idem.releaseIdempotent(trx, principal, key));
        } else if (existing) {
          if (existing.request_hash !== requestHash) throw Invalid.field('Idempotency-Key', 'was already used with another request body');
          if (existing.status_code === null) throw new Conflict('A request with this Idempotency-Key is still in progress');
          return { kind: 'replay', status: existing.status_code, body: existing.response_body };
        }
        const claimed = await store.transaction((trx) => idem.claimIdempotent(trx, {
          principal, idem_key: key, workspace_id: workspaceId, request_hash: requestHash,
          status_code: null, response_body: null, contact_id: null, created_at: now,
        }));
        if (claimed) return { kind: 'claimed' };
      }
      throw new Conflict('A request with this Idempotency-Key is still in progress');
    },

    async complete(principal: string, key: string, status: number, body: string | null, contactId: string | null): Promise<void> {
      await store.transaction((trx) => idem.completeIdempotent(trx, principal, key, status, body, contactId));
    },

    /** The request failed on our side: a retry may run it again. */
    async release(principal: string, key: string): Promise<void> {
      await store.transaction((trx) => idem.releaseIdempotent(trx, principal, key));
    },

    async purgeExpired(): Promise<void> {
      await store.transaction((trx) => idem.purgeIdempotentBefore(trx, clock.now() - IDEMPOTENCY_WINDOW_MS));
    },
  };
}

export type IdempotencyService = ReturnType<typeof createIdempotencyService>;
