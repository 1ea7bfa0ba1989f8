// The Fastify application: parsers, auth, idempotency, errors, OpenAPI, then one plugin per resource.
import cookie from '@fastify/cookie';
import fastifyStatic from '@fastify/static';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply, LogController } from 'fastify';
import { sql } from 'kysely';
import type { Services } from '../services/container.js';
import { installAuth } from './auth.js';
import { builtPath } from './built-files.js';
import { installWidgetCors } from './cors.js';
import { installErrorHandling, problem, sendProblem } from './errors.js';
import { installIdempotency } from './idempotency.js';
import { installInputGuard } from './input-guard.js';
import { contactActivityRoutes } from './routes/contact-activity.js';
import { automationRoutes } from './routes/automations.js';
import { contactRoutes } from './routes/contacts.js';
import { exportRoutes } from './routes/exports.js';
import { importRoutes } from './routes/imports.js';
import { conversationRoutes } from './routes/conversations.js';
import { memberRoutes } from './routes/members.js';
import { sessionRoutes } from './routes/session.js';
import { streamRoutes } from './routes/stream.js';
import { widgetRoutes } from './routes/widget.js';
import { workspaceRoutes } from './routes/workspace.js';
import { Contact, Problem, problemResponse } from './schemas.js';

export interface AppOptions {
  logger: FastifyBaseLogger;
  trustProxy: boolean | string;
  /** Set when the server is stopping: answers ask clients to open a new connection elsewhere. */
  draining?: { value: boolean };
}

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

export async function buildApp(services: Services, opts: AppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: opts.logger,
    trustProxy: opts.trustProxy,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 5 * 1024 * 1024,
    // Stopping lets requests that were already sent finish (see server.ts), rather than refusing them.
    return503OnClosing: false,
    onProtoPoisoning: 'ignore',
    onConstructorPoisoning: 'ignore',
    forceCloseConnections: 'idle',
    // Errors Fastify meets before a route runs (an undecodable URL, a path segment too long) and
    // malformed HTTP on the socket are problem documents too.
    frameworkErrors: (error, _request, reply) => {
      const tooLong = error.code === 'FST_ERR_MAX_PARAM_LENGTH';
      void sendProblem(reply, problem(tooLong ? 414 : 400, 'malformed', tooLong ? 'A path segment is too long' : 'The URL could not be read'));
    },
    clientErrorHandler: (error: Error & { code?: string }, socket) => {
      if (!socket.writable) return;
      const status = error.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
      const body = JSON.stringify(problem(status, 'malformed', status === 431 ? 'The request headers are too large' : 'The request could not be read'));
      socket.end(`HTTP/1.1 ${status} ${status === 431 ? 'Request Header Fields Too Large' : 'Bad Request'}\r\nContent-Type: application/problem+json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
    },
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: true, allErrors: false } },
  }).withTypeProvider<TypeBoxTypeProvider>();

  // JSON only: text/plain and anything else is 415. PATCH also takes application/merge-patch+json.
  app.removeContentTypeParser('text/plain');
  app.addContentTypeParser('application/merge-patch+json', { parseAs: 'string' }, app.getDefaultJsonParser('error', 'error'));

  // One log line per request: the route pattern, never the URL (query strings hold search terms).
  app.addHook('onResponse', async (request, reply) => {
    request.log.info({ method: request.method, route: request.routeOptions.url ?? '(unmatched)', status: reply.statusCode, ms: Math.round(reply.elapsedTime) }, 'request');
  });

  app.addHook('onSend', async (_request, reply, payload) => {
    reply.header('x-content-type-options', 'nosniff');
    reply.header('x-frame-options', 'DENY');
    reply.header('referrer-policy', 'no-referrer');
    // Pages we serve run only our own scripts and styles; the API reference brings its own policy.
    if (!reply.hasHeader('content-security-policy')) reply.header('content-security-policy', CSP);
    if (opts.draining?.value) reply.header('connection', 'close');
    return payload;
  });

  const paths = new Map<string, Set<string>>();
  app.addHook('onRoute', (route) => {
    // Every path the server knows (the API, the docs, the dashboard's files) but catch-alls.
    if (route.url.includes('*')) return;
    // /docs and /docs/ are one route to the router: one entry for both.
    const url = route.url.length > 1 ? route.url.replace(/\/$/, '') : route.url;
    const set = paths.get(url) ?? new Set<string>();
    for (const m of [route.method].flat()) set.add(m);
    paths.set(url, set);
  });

  app.addSchema(Problem);
  app.addSchema(Contact);

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Chatsby Contacts API',
        version: '1.0.0',
        description: 'Contacts and leads captured by AI chat agents. Errors are RFC 9457 problem documents.',
      },
      components: {
        securitySchemes: {
          apiKey: { type: 'http', scheme: 'bearer', description: 'An API key: ck_...' },
          sessionCookie: { type: 'apiKey', in: 'cookie', name: 'chatsby_session', description: 'The dashboard session (POST /v1/session); unsafe methods also need the X-CSRF-Token header. Behind TLS the cookie is __Host-chatsby_session.' },
        },
      },
    },
    refResolver: { buildLocalReference: (json, _base, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
    transform: ({ schema, url, route }) => {
      const out = { schema: { ...(schema ?? {}) } as Record<string, unknown>, url };
      if (!route.config?.scope) out.schema.security = [];
      else {
        out.schema.security = route.config.sessionOnly ? [{ sessionCookie: [] }] : [{ apiKey: [] }, { sessionCookie: [] }];
        // Which key scope (or the role that grants it: viewer read, member write, admin admin) a call needs.
        out.schema['x-required-scope'] = route.config.scope;
      }
      return out;
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs', staticCSP: true });

  installErrorHandling(app);
  await app.register(cookie);
  installAuth(app, services.keys, services.accounts, services.limits, services.conversations);
  installWidgetCors(app, services.conversations);
  installInputGuard(app);
  installIdempotency(app, services.idempotency);

  app.get('/healthz', { schema: { tags: ['Operations'], summary: 'The process is up', response: { 200: Type.Object({ status: Type.Literal('ok') }) } } },
    async () => ({ status: 'ok' as const }));
  app.get('/readyz', { schema: { tags: ['Operations'], summary: 'The database answers', response: { 200: Type.Object({ status: Type.Literal('ready') }), 503: problemResponse } } },
    async (_request, reply) => {
      try {
        await sql`SELECT 1`.execute(services.deps.store.db);
        return { status: 'ready' as const };
      } catch {
        return sendProblem(reply, problem(503, 'not-ready', 'The database does not answer'));
      }
    });
  app.get('/v1/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  await app.register(contactRoutes(services.contacts));
  await app.register(contactActivityRoutes(services.contacts));
  await app.register(workspaceRoutes(services.workspaces, services.keys));
  await app.register(sessionRoutes(services.accounts, services.limits));
  await app.register(memberRoutes(services.accounts));
  await app.register(conversationRoutes(services.conversations, services.merges, services.dataExports));
  await app.register(automationRoutes(services.automations));
  await app.register(widgetRoutes(services.conversations, services.workspaces));
  await app.register(streamRoutes(services.stream));
  await app.register(exportRoutes(services.exports));
  await app.register(importRoutes(services.imports, services.deps.importMaxBytes));
  // The dashboard: the built single-page app at /, its hashed assets cached for good.
  await app.register(fastifyStatic, {
    root: builtPath('web'), prefix: '/', wildcard: false, index: 'index.html',
    setHeaders: (res, file) => {
      res.setHeader('cache-control', file.includes('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache');
    },
  });
  await app.after();

  // A known path with another method is 405 with Allow, not 404.
  for (const [url, methods] of paths) {
    const missing = METHODS.filter((m) => !methods.has(m));
    if (!missing.length) continue;
    const allow = [...methods].filter((m) => m !== 'HEAD').join(', ');
    // Answered in onRequest, before the body is read: a 405 whatever the body holds.
    const refuse = async (_request: unknown, reply: FastifyReply) => {
      reply.header('allow', allow);
      return sendProblem(reply, problem(405, 'method-not-allowed', `Allowed: ${allow}`));
    };
    app.route({ method: missing, url, schema: { hide: true }, onRequest: refuse, handler: refuse });
  }
  return app;
}
