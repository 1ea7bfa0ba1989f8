// /v1/automations: lifecycle rules of the workspace (the three default rules included).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { TRIGGERS } from '../../domain/automation.js';
import type { AutomationService } from '../../services/automations.js';
import { principalOf } from '../auth.js';
import { errors, IdParams, PageQuery, pageOf, Stage } from '../schemas.js';

const When = Type.Object({
  on: Type.Optional(Type.Union(TRIGGERS.map((t) => Type.Literal(t)), { description: 'Any of the three when absent' })),
  conversation_count_min: Type.Optional(Type.Integer({ minimum: 0 })),
  page_url_contains: Type.Optional(Type.String({ maxLength: 500 })),
  action: Type.Optional(Type.String({ maxLength: 64 })),
  tag: Type.Optional(Type.String({ maxLength: 64 })),
}, { additionalProperties: false, description: 'Every part given must hold' });
const Then = Type.Object({
  add_tags: Type.Optional(Type.Array(Type.String(), { maxItems: 50 })),
  remove_tags: Type.Optional(Type.Array(Type.String(), { maxItems: 50 })),
  set_stage: Type.Optional(Stage),
}, { additionalProperties: false });
const Automation = Type.Object({
  id: Type.String(), name: Type.String(), enabled: Type.Boolean(), when: When, then: Then,
  created_at: Type.String({ format: 'date-time' }), updated_at: Type.String({ format: 'date-time' }),
});
const tags = ['Automations'];

export function automationRoutes(automations: AutomationService): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get('/v1/automations', {
      config: { scope: 'read' },
      schema: { tags, summary: 'The lifecycle rules, oldest first (the three default rules are there until switched off or deleted)', querystring: PageQuery, response: { 200: pageOf(Automation), ...errors() } },
    }, async (request) => automations.list(principalOf(request), request.query.limit, request.query.cursor));

    app.post('/v1/automations', {
      config: { scope: 'admin' },
      schema: {
        tags, summary: 'Add a rule', description: 'Runs in the same transaction as the change that triggers it.',
        body: Type.Object({ name: Type.String({ maxLength: 200 }), enabled: Type.Optional(Type.Boolean()), when: When, then: Then }, { additionalProperties: false }),
        response: { 201: Automation, ...errors() },
      },
    }, async (request, reply) => reply.code(201).send(await automations.create(principalOf(request), request.body)));

    app.patch('/v1/automations/:id', {
      config: { scope: 'admin' },
      schema: {
        tags, summary: 'Change a rule (enabled: false switches it off)', params: IdParams,
        body: Type.Object({ name: Type.Optional(Type.String({ maxLength: 200 })), enabled: Type.Optional(Type.Boolean()), when: Type.Optional(When), then: Type.Optional(Then) }, { additionalProperties: false }),
        response: { 200: Automation, ...errors() },
      },
    }, async (request) => automations.update(principalOf(request), request.params.id, request.body));

    app.delete('/v1/automations/:id', {
      config: { scope: 'admin' },
      schema: { tags, summary: 'Remove a rule', params: IdParams, response: { 204: Type.Null(), ...errors() } },
    }, async (request, reply) => {
      await automations.delete(principalOf(request), request.params.id);
      return reply.code(204).send(null);
    });
  };
}
