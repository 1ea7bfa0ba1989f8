// Who is calling, checked on every route that declares a scope, before the body is read: a Bearer API
// key, or the session cookie (whose unsafe requests must carry the CSRF token). No credentials: 401; a
// key or role without the right: 403. Then the caller's rate limit, with RateLimit-* headers.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { type Principal, requireScope, type Scope } from '../domain/access.js';
import { Forbidden, RateLimited, Unauthorized } from '../domain/errors.js';
import type { AccountService } from '../services/accounts.js';
import type { ApiKeyService } from '../services/api-keys.js';
import type { Allowance, RateLimiter } from '../services/rate-limits.js';

interface WidgetKeys {
  authenticateWidget(key: string): Promise<Principal>;
}

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
    /** The raw session id from the cookie, when the caller signed in. */
    sessionId: string | null;
  }
  interface FastifyContextConfig {
    /** The scope a route needs; routes without one are public. */
    scope?: Scope;
    /** Public routes still counted against the caller's address (sign-in, setup). */
    limitByAddress?: boolean;
    /** Only for a signed-in person (the session itself); a key gets 403. */
    sessionOnly?: boolean;
    /** A widget key (pk_) may call it too: the service checks the conversation token. */
    widget?: boolean;
    /** The body is a stream the handler reads (uploads): Idempotency-Key is handled by the service. */
    streamedBody?: boolean;
  }
}

export const SESSION_COOKIE = 'chatsby_session';
/** Behind TLS the cookie takes the __Host- prefix: Secure, Path=/, no Domain, so no subdomain can set it. */
export const SECURE_SESSION_COOKIE = '__Host-chatsby_session';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export function principalOf(request: { principal: Principal | null }): Principal {
  if (!request.principal) throw new Unauthorized();
  return request.principal;
}

export function sessionCookie(request: FastifyRequest): string | null {
  const cookies = request.cookies as Record<string, string | undefined>;
  return cookies[SECURE_SESSION_COOKIE] ?? cookies[SESSION_COOKIE] ?? null;
}

export function setSessionCookie(request: FastifyRequest, reply: FastifyReply, sessionId: string | null): void {
  const secure = request.protocol === 'https';
  const name = secure ? SECURE_SESSION_COOKIE : SESSION_COOKIE;
  if (sessionId === null) {
    reply.clearCookie(name, { path: '/', httpOnly: true, sameSite: 'lax', secure });
    return;
  }
  reply.setCookie(name, sessionId, { path: '/', httpOnly: true, sameSite: 'lax', secure, maxAge: 30 * 24 * 3600 });
}

export function setRateHeaders(reply: FastifyReply, a: Allowance): void {
  reply.header('ratelimit-limit', String(a.limit));
  reply.header('ratelimit-remaining', String(a.remaining));
  reply.header('ratelimit-reset', String(a.resetSeconds));
}

export function installAuth(app: FastifyInstance, keys: ApiKeyService, accounts: AccountService, limits: RateLimiter, widgets: WidgetKeys): void {
  app.decorateRequest('principal', null);
  app.decorateRequest('sessionId', null);

  const limit = async (who: string, reply: FastifyReply) => {
    const a = await limits.request(who);
    if (!a) return;
    setRateHeaders(reply, a);
    if (!a.allowed) throw new RateLimited(a.resetSeconds);
  };

  app.addHook('onRequest', async (request, reply) => {
    const { scope, limitByAddress } = request.routeOptions.config;
    if (!scope) {
      if (limitByAddress) await limit('ip:' + request.ip, reply);
      return;
    }
    const header = request.headers.authorization;
    if (header !== undefined) {
      const match = typeof header === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
      if (!match) throw new Unauthorized('Send an API key: Authorization: Bearer <key>');
      request.principal = match[1]!.startsWith('pk_') ? await widgets.authenticateWidget(match[1]!) : await keys.authenticate(match[1]!);
    } else {
      const sessionId = sessionCookie(request);
      const principal = sessionId ? await accounts.authenticateSession(sessionId) : null;
      if (!principal || !sessionId) throw new Unauthorized('Sign in, or send an API key: Authorization: Bearer <key>');
      request.principal = principal;
      request.sessionId = sessionId;
      if (!SAFE_METHODS.has(request.method) && !accounts.checkCsrf(sessionId, request.headers['x-csrf-token'])) {
        throw new Forbidden('Missing or wrong X-CSRF-Token (GET /v1/session gives it)');
      }
    }
    // Per key, per session for people (two sessions of one person are two buckets), per visitor
    // address for widget keys (one page's key serves every visitor).
    const p = request.principal;
    await limit(p.kind === 'user' ? 'session:' + p.sessionHash : p.kind === 'key' ? 'key:' + p.keyId : 'widget:' + p.agentId + ':' + request.ip, reply);
    if (request.routeOptions.config.sessionOnly && p.kind !== 'user') {
      throw new Forbidden('This call is about a sign-in session; an API key has none (GET /v1/me describes a key)');
    }
    if (p.kind === 'widget' && request.routeOptions.config.widget) return;
    requireScope(p, scope);
  });
}
