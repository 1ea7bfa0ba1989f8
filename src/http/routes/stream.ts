// GET /v1/stream: the workspace's events as server-sent events. Each event's `id:` is its seq, so the
// Last-Event-ID that EventSource sends when it reconnects resumes right after the last event it saw.
import { PassThrough } from 'node:stream';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { StreamEvent, StreamService } from '../../services/stream.js';
import { principalOf } from '../auth.js';
import { errors } from '../schemas.js';

export interface StreamRouteOptions {
  /** A comment line this often keeps proxies from closing a quiet stream. */
  heartbeatMs?: number;
}

/** How long EventSource waits before it reconnects. */
const RETRY_MS = 2000;

const DESCRIPTION = `A text/event-stream of the workspace's events, as they happen: \`contact.created\`, \`contact.updated\`,
\`contact.deleted\` (\`data\` holds only \`id\` and \`deleted_at\`), \`contact.merged\`, \`contact.archived\`,
\`conversation.started\`, \`lead.captured\`. Each event has \`id:\` (its position, a number), \`event:\` (its name)
and \`data:\` (the event body: \`{"id": "evt_...", "event": "contact.created", "occurred_at": "...", "data": {...}}\`).
A new stream begins at the current end; send \`Last-Event-ID\` (EventSource does when it reconnects) to receive
exactly the events after that one, those of the time in between included. The stream opens with \`retry:\` and
the current position as \`id:\`, then a comment line every 15 seconds keeps it open.`;

function frame(e: StreamEvent): string {
  return `id: ${e.seq}\nevent: ${e.type}\ndata: ${JSON.stringify(e.body)}\n\n`;
}

export function streamRoutes(stream: StreamService, opts: StreamRouteOptions = {}): FastifyPluginAsyncTypebox {
  const heartbeatMs = opts.heartbeatMs ?? 15_000;
  return async (app) => {
    // Open streams would keep the server from closing: end them first.
    app.addHook('preClose', async () => stream.close());

    app.get('/v1/stream', {
      config: { scope: 'read' },
      schema: {
        tags: ['Access'], summary: "The workspace's events as server-sent events", description: DESCRIPTION,
        headers: Type.Object({
          'last-event-id': Type.Optional(Type.String({ pattern: '^[0-9]{1,15}$', description: 'Resume after this event (the `id:` of the last event received)' })),
        }),
        response: {
          200: {
            description: 'Server-sent events (text/event-stream), open until the client or the server ends it',
            // A plain JSON Schema, not TypeBox: the body is a stream, never a serialised value.
            content: { 'text/event-stream': { schema: { type: 'string', description: 'id:, event: and data: lines per event; comment lines between' } } },
          },
          ...errors(),
        },
      },
    }, async (request, reply) => {
      const header = request.headers['last-event-id'];
      const out = new PassThrough();
      const write = (text: string) => {
        if (!out.writableEnded && !out.destroyed) out.write(text);
      };
      const sub = await stream.subscribe(principalOf(request), typeof header === 'string' ? Number(header) : null, {
        send: (events) => write(events.map(frame).join('')),
        ready: () => !out.writableNeedDrain,
        end: () => out.end(),
      });
      // The position goes out at once, so a client that reconnects before any event resumes from here.
      write(`retry: ${RETRY_MS}\nid: ${sub.after}\n\n`);
      const heartbeat = setInterval(() => write(': heartbeat\n\n'), heartbeatMs);
      out.once('close', () => {
        clearInterval(heartbeat);
        sub.close();
      });
      return reply
        .type('text/event-stream; charset=utf-8')
        .header('cache-control', 'no-store')
        .header('x-accel-buffering', 'no')
        // One stream per connection: when it ends, so does the connection (a stopping server waits for none).
        .header('connection', 'close')
        .send(out);
    });
  };
}
