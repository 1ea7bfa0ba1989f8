// Who is calling: a Bearer API key, checked on every route that declares a scope, before the body is
// read. No credentials: 401; a key without the scope: 403.
import type { FastifyInstance } from 'fastify';
import { type Principal, requireScope, type Scope } from '../domain/access.js';
import { Unauthorized } from '../domain/errors.js';
import type { ApiKeyService } from '../services/api-keys.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
  interface FastifyContextConfig {
    /** The scope a route needs; routes without one are public. */
    scope?: Scope;
  }
}

export function principalOf(request: { principal: Principal | null }): Principal {
  if (!request.principal) throw new Unauthorized();
  return request.principal;
}

export function installAuth(app: FastifyInstance, keys: ApiKeyService): void {
  app.decorateRequest('principal', null);
  app.addHook('onRequest', async (request) => {
    const scope = request.routeOptions.config.scope;
    if (!scope) return;
    const header = request.headers.authorization;
    const match = typeof header === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
    if (!match) throw new Unauthorized('Send an API key: Authorization: Bearer <key>');
    request.principal = await keys.authenticate(match[1]!);
    requireScope(request.principal, scope);
  });
}
