// CORS for the widget: a page may call the conversation routes with its agent's publishable key when
// its origin is one of the agent's allowed origins; every other origin gets no grant.
import type { FastifyInstance } from 'fastify';
import type { ConversationService } from '../services/conversations.js';

export const WIDGET_PATHS = ['/v1/conversations', '/v1/conversations/:id', '/v1/conversations/:id/messages', '/v1/conversations/:id/identify'];
const ALLOWED_HEADERS = 'authorization, content-type, x-conversation-token, idempotency-key';

export function installWidgetCors(app: FastifyInstance, conversations: ConversationService): void {
  // Preflights carry no key, so they are granted for an origin that some agent allows; the real
  // request is then checked against its own agent's list.
  for (const url of WIDGET_PATHS) {
    app.options(url, { schema: { hide: true } }, async (request, reply) => {
      const origin = request.headers.origin;
      if (typeof origin === 'string' && origin.length <= 300 && (await conversations.isAllowedOrigin(origin))) {
        reply.header('access-control-allow-origin', origin);
        reply.header('access-control-allow-methods', 'GET, POST');
        reply.header('access-control-allow-headers', ALLOWED_HEADERS);
        reply.header('access-control-max-age', '600');
      }
      reply.header('vary', 'Origin');
      return reply.code(204).send();
    });
  }

  app.addHook('onSend', async (request, reply, payload) => {
    const p = request.principal;
    const origin = request.headers.origin;
    if (p?.kind === 'widget' && typeof origin === 'string' && p.origins.includes(origin)) {
      reply.header('access-control-allow-origin', origin);
      reply.header('vary', 'Origin');
    }
    return payload;
  });
}
