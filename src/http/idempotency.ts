// Idempotency-Key on POST: the same key with the same body within 24 hours gets the first answer and
// does nothing twice; with another body it is a 422. Answers that carried a secret are not replayed.
import { createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { principalId } from '../domain/access.js';
import { Invalid } from '../domain/errors.js';
import type { IdempotencyService } from '../services/idempotency.js';
import { secretFingerprint } from '../services/passwords.js';

declare module 'fastify' {
  interface FastifyRequest {
    idempotency: { principal: string; key: string } | null;
  }
  interface FastifyContextConfig {
    /** The answer holds a secret shown once: a replay says so instead of repeating it. */
    secretResponse?: boolean;
  }
}

/**
 * The body as fingerprinted: a password never goes into a fast hash that is stored (it could be guessed
 * from it at SHA-256 speed), so such a field counts by its slow salted hash; another password with the
 * same key is another body.
 */
async function withSecretsHashed(body: unknown, salt: string): Promise<unknown> {
  if (!body || typeof body !== 'object' || Array.isArray(body)) return body;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(body as Record<string, unknown>)) {
    out[k] = /password|token|secret/i.test(k) && typeof v === 'string' ? await secretFingerprint(v, salt) : v;
  }
  return out;
}

export function installIdempotency(app: FastifyInstance, idempotency: IdempotencyService): void {
  app.decorateRequest('idempotency', null);

  app.addHook('preHandler', async (request, reply) => {
    const key = request.headers['idempotency-key'];
    if (request.method !== 'POST' || key === undefined || !request.principal || request.routeOptions.config.streamedBody) return;
    if (typeof key !== 'string' || key.length < 1 || key.length > 255 || !/^[\x21-\x7e]+$/.test(key)) {
      throw Invalid.field('Idempotency-Key', 'must be 1 to 255 visible ASCII characters');
    }
    const principal = principalId(request.principal);
    const fingerprinted = await withSecretsHashed(request.body ?? null, principal + '\n' + key);
    const hash = createHash('sha256').update(request.method + ' ' + request.url + '\n' + JSON.stringify(fingerprinted)).digest('hex');
    const begun = await idempotency.begin(principal, request.principal.workspaceId, key, hash);
    if (begun.kind === 'claimed') {
      request.idempotency = { principal, key };
      return;
    }
    reply.header('idempotent-replayed', 'true');
    return reply.code(begun.status)
      .type(begun.status >= 400 ? 'application/problem+json; charset=utf-8' : 'application/json; charset=utf-8')
      .send(begun.body === null ? undefined : (JSON.parse(begun.body) as unknown));
  });

  app.addHook('onSend', async (request, reply, payload) => {
    const claim = request.idempotency;
    if (!claim) return payload;
    request.idempotency = null;
    if (reply.statusCode >= 500) {
      await idempotency.release(claim.principal, claim.key);
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
    await idempotency.complete(claim.principal, claim.key, reply.statusCode, body, contactId);
    return payload;
  });
}
