// Idempotency-Key on POST: the same key with the same body within 24 hours gets the first answer and
// does nothing twice; with another body it is a 422. Answers that carried a secret are not replayed.
import { createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { Conflict, Invalid } from '../domain/errors.js';
import type { Clock } from '../domain/time.js';
import type { Store } from '../store/db.js';
import * as idem from '../store/idempotency.js';

declare module 'fastify' {
  interface FastifyRequest {
    idempotency: { principal: string; key: string } | null;
  }
  interface FastifyContextConfig {
    /** The answer holds a secret shown once: a replay says so instead of repeating it. */
    secretResponse?: boolean;
  }
}

export const IDEMPOTENCY_WINDOW_MS = 24 * 3600_000;

export function installIdempotency(app: FastifyInstance, store: Store, clock: Clock): void {
  app.decorateRequest('idempotency', null);

  app.addHook('preHandler', async (request, reply) => {
    const key = request.headers['idempotency-key'];
    if (request.method !== 'POST' || key === undefined || !request.principal) return;
    if (typeof key !== 'string' || key.length < 1 || key.length > 255 || !/^[\x21-\x7e]+$/.test(key)) {
      throw Invalid.field('Idempotency-Key', 'must be 1 to 255 visible ASCII characters');
    }
    const principal = request.principal.keyId;
    const hash = createHash('sha256').update(request.method + ' ' + request.url + '\n' + JSON.stringify(request.body ?? null)).digest('hex');
    const now = clock.now();
    const row = {
      principal, idem_key: key, workspace_id: request.principal.workspaceId, request_hash: hash,
      status_code: null, response_body: null, contact_id: null, created_at: now,
    };
    for (let attempt = 0; attempt < 2; attempt++) {
      const existing = await idem.findIdempotent(store.db, principal, key);
      if (existing && existing.created_at < now - IDEMPOTENCY_WINDOW_MS) {
        await store.transaction((trx) => idem.releaseIdempotent(trx, principal, key));
      } else if (existing) {
        if (existing.request_hash !== hash) throw Invalid.field('Idempotency-Key', 'was already used with another request body');
        if (existing.status_code === null) throw new Conflict('A request with this Idempotency-Key is still in progress');
        reply.header('idempotent-replayed', 'true');
        return reply.code(existing.status_code).type(existing.status_code >= 400 ? 'application/problem+json; charset=utf-8' : 'application/json; charset=utf-8')
          .send(existing.response_body === null ? undefined : JSON.parse(existing.response_body));
      }
      if (await store.transaction((trx) => idem.claimIdempotent(trx, row))) {
        request.idempotency = { principal, key };
        return;
      }
    }
    throw new Conflict('A request with this Idempotency-Key is still in progress');
  });

  app.addHook('onSend', async (request, reply, payload) => {
    const claim = request.idempotency;
    if (!claim) return payload;
    request.idempotency = null;
    if (reply.statusCode >= 500) {
      await store.transaction((trx) => idem.releaseIdempotent(trx, claim.principal, claim.key));
      return payload;
    }
    let body = typeof payload === 'string' ? payload : null;
    let contactId: string | null = null;
    if (body) {
      const parsed = JSON.parse(body) as Record<string, unknown>;
      if (request.routeOptions.config.secretResponse && reply.statusCode < 300) {
        body = JSON.stringify({ ...parsed, key: null, secret_shown: 'The secret was shown in the first answer to this request and is not repeated' });
      }
      const params = request.params as Record<string, unknown> | undefined;
      const id = typeof params?.id === 'string' ? params.id : typeof parsed.id === 'string' ? parsed.id : null;
      contactId = id?.startsWith('ctc_') ? id : null;
    }
    await store.transaction((trx) => idem.completeIdempotent(trx, claim.principal, claim.key, reply.statusCode, body, contactId));
    return payload;
  });
}
