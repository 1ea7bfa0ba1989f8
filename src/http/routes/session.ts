// Sign in and out (/v1/session) and the first run (/v1/setup, and the plain /setup page over it).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { RateLimited } from '../../domain/errors.js';
import type { AccountService } from '../../services/accounts.js';
import type { RateLimiter } from '../../services/rate-limits.js';
import { principalOf, setSessionCookie } from '../auth.js';
import { SETUP_PAGE, SETUP_SCRIPT } from '../pages/setup.js';
import { errors, problemResponse } from '../schemas.js';

const SessionView = Type.Object({
  user: Type.Object({ id: Type.String(), email: Type.String() }),
  workspace: Type.Object({ id: Type.String(), name: Type.String() }),
  role: Type.Union(['viewer', 'member', 'admin', 'owner'].map((r) => Type.Literal(r))),
  csrf_token: Type.String({ description: 'Send as X-CSRF-Token on every unsafe request made with the session cookie' }),
});
const Credentials = Type.Object({ email: Type.String({ maxLength: 254 }), password: Type.String({ maxLength: 1024 }) }, { additionalProperties: false });
const tags = ['Access'];

export function sessionRoutes(accounts: AccountService, limits: RateLimiter): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.post('/v1/session', {
      config: { limitByAddress: true },
      schema: {
        tags, summary: 'Sign in', description: 'Sets an HttpOnly session cookie. A wrong email and a wrong password give the same 401. Failed sign-ins are limited per address and per email.',
        body: Credentials, response: { 200: SessionView, ...errors() },
      },
    }, async (request, reply) => {
      const { email, password } = request.body;
      const wait = await limits.signInBlocked(request.ip, email);
      if (wait !== null) throw new RateLimited(wait);
      try {
        const { sessionId, view } = await accounts.signIn(email, password);
        setSessionCookie(request, reply, sessionId);
        return view;
      } catch (error) {
        await limits.signInFailed(request.ip, email);
        throw error;
      }
    });

    app.get('/v1/session', {
      config: { scope: 'read', sessionOnly: true },
      schema: { tags, summary: 'Who is signed in, with the CSRF token', response: { 200: SessionView, ...errors() } },
    }, async (request) => accounts.sessionView(principalOf(request), request.sessionId ?? ''));

    app.delete('/v1/session', {
      config: { scope: 'read', sessionOnly: true },
      schema: { tags, summary: 'Sign out: the session ends on the server', response: { 204: Type.Null(), ...errors() } },
    }, async (request, reply) => {
      await accounts.signOut(principalOf(request));
      setSessionCookie(request, reply, null);
      return reply.code(204).send(null);
    });

    app.get('/v1/setup', {
      config: { limitByAddress: true },
      schema: { tags, summary: 'Whether the first owner still has to be created', response: { 200: Type.Object({ needed: Type.Boolean() }), ...errors() } },
    }, async () => ({ needed: await accounts.setupNeeded() }));

    app.post('/v1/setup', {
      config: { limitByAddress: true },
      schema: {
        tags, summary: 'Create the first owner and name the default workspace',
        description: 'Needs the one-time token of the link the server prints at start while no owner exists (valid one hour). 410 once an owner exists.',
        body: Type.Object({
          token: Type.String({ maxLength: 200 }), email: Type.String({ maxLength: 254 }), password: Type.String({ maxLength: 1024 }),
          workspace_name: Type.String({ maxLength: 200 }),
        }, { additionalProperties: false }),
        response: { 201: SessionView, 410: problemResponse, ...errors() },
      },
    }, async (request, reply) => {
      const { token, email, password, workspace_name } = request.body;
      const { sessionId, view } = await accounts.setup(token, email, password, workspace_name);
      setSessionCookie(request, reply, sessionId);
      return reply.code(201).send(view);
    });

    app.get('/setup', { schema: { hide: true } }, async (_request, reply) => reply.type('text/html; charset=utf-8').send(SETUP_PAGE));
    app.get('/setup.js', { schema: { hide: true } }, async (_request, reply) => reply.type('text/javascript; charset=utf-8').send(SETUP_SCRIPT));
  };
}
