// /v1/members: the workspace's people and their roles.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { ROLES } from '../../domain/access.js';
import type { AccountService } from '../../services/accounts.js';
import { principalOf } from '../auth.js';
import { errors, IdParams, PageQuery, pageOf } from '../schemas.js';

const RoleSchema = Type.Union(ROLES.map((r) => Type.Literal(r)));
const Member = Type.Object({ id: Type.String({ description: 'The user id (usr_...)' }), email: Type.String(), role: RoleSchema, created_at: Type.String({ format: 'date-time' }) });
const tags = ['Access'];

export function memberRoutes(accounts: AccountService): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get('/v1/members', {
      config: { scope: 'read' },
      schema: { tags, summary: "The workspace's users and roles, oldest first", querystring: PageQuery, response: { 200: pageOf(Member), ...errors() } },
    }, async (request) => accounts.listMembers(principalOf(request), request.query.limit, request.query.cursor));

    app.post('/v1/members', {
      config: { scope: 'admin' },
      schema: {
        tags, summary: 'Add a member (admin; owners only add owners)', description: 'A new user needs a password (10+ characters, not a common one); an existing user joins with the role.',
        body: Type.Object({ email: Type.String({ maxLength: 254 }), role: RoleSchema, password: Type.Optional(Type.String({ maxLength: 1024 })) }, { additionalProperties: false }),
        response: { 201: Member, ...errors(409) },
      },
    }, async (request, reply) => {
      const { email, role, password } = request.body;
      return reply.code(201).send(await accounts.addMember(principalOf(request), email, role, password ?? null));
    });

    app.patch('/v1/members/:id', {
      config: { scope: 'admin' },
      schema: {
        tags, summary: "Change a member's role", description: 'Only owners change owners; the last owner cannot be demoted (409).',
        params: IdParams, body: Type.Object({ role: RoleSchema }, { additionalProperties: false }), response: { 200: Member, ...errors(409) },
      },
    }, async (request) => accounts.changeRole(principalOf(request), request.params.id, request.body.role));

    app.delete('/v1/members/:id', {
      config: { scope: 'admin' },
      schema: { tags, summary: 'Remove a member', description: 'The last owner cannot leave (409).', params: IdParams, response: { 204: Type.Null(), ...errors(409) } },
    }, async (request, reply) => {
      await accounts.removeMember(principalOf(request), request.params.id);
      return reply.code(204).send(null);
    });
  };
}
