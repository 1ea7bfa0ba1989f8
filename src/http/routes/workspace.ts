// /v1/workspace settings, /v1/keys and /v1/me.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { SCOPES, scopesOf } from '../../domain/access.js';
import { Forbidden } from '../../domain/errors.js';
import type { ApiKeyService } from '../../services/api-keys.js';
import type { WorkspaceService } from '../../services/workspaces.js';
import { principalOf } from '../auth.js';
import { ApiKey, ApiKeyCreated, errors, IdParams, PageQuery, pageOf, Scope, Workspace, WorkspacePatch } from '../schemas.js';

export function workspaceRoutes(workspaces: WorkspaceService, keys: ApiKeyService): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get('/v1/workspace', {
      config: { scope: 'read' },
      schema: { tags: ['Workspace'], summary: "The workspace's settings, plan limits and usage", response: { 200: Workspace, ...errors() } },
    }, async (request) => workspaces.view(principalOf(request).workspaceId));

    app.patch('/v1/workspace', {
      config: { scope: 'admin' },
      schema: { tags: ['Workspace'], summary: 'Change settings (admin)', body: WorkspacePatch, response: { 200: Workspace, ...errors() } },
    }, async (request) => workspaces.update(principalOf(request).workspaceId, request.body));

    app.get('/v1/me', {
      config: { scope: 'read' },
      schema: {
        tags: ['Access'], summary: 'The caller: its workspace and scopes',
        description: 'A key: its id and scopes. A signed-in user: the user and role (scopes are what the role grants).',
        response: {
          200: Type.Object({
            type: Type.Union([Type.Literal('api_key'), Type.Literal('user')]),
            key_id: Type.Optional(Type.String()),
            user: Type.Optional(Type.Object({ id: Type.String(), email: Type.String() })),
            role: Type.Optional(Type.String()),
            workspace: Type.Object({ id: Type.String(), name: Type.String() }),
            scopes: Type.Array(Scope),
          }),
          ...errors(),
        },
      },
    }, async (request) => {
      const p = principalOf(request);
      const ws = await workspaces.get(p.workspaceId);
      const workspace = { id: ws.id, name: ws.name };
      if (p.kind === 'key') return { type: 'api_key' as const, key_id: p.keyId, workspace, scopes: p.scopes };
      if (p.kind === 'user') return { type: 'user' as const, user: { id: p.userId, email: p.email }, role: p.role, workspace, scopes: scopesOf(p) };
      throw new Forbidden('A widget key may only start and run its own conversations');
    });

    app.get('/v1/keys', {
      config: { scope: 'admin' },
      schema: { tags: ['Access'], summary: 'API keys of the workspace, without secrets, newest first', querystring: PageQuery, response: { 200: pageOf(ApiKey), ...errors() } },
    }, async (request) => keys.list(principalOf(request).workspaceId, request.query.limit, request.query.cursor));

    app.post('/v1/keys', {
      config: { scope: 'admin', secretResponse: true },
      schema: {
        tags: ['Access'], summary: 'Create an API key; the key is in this answer only',
        body: Type.Object({ name: Type.Optional(Type.String()), scopes: Type.Array(Type.Union(SCOPES.map((s) => Type.Literal(s))), { minItems: 1, maxItems: 3 }) }, { additionalProperties: false }),
        response: { 201: ApiKeyCreated, ...errors() },
      },
    }, async (request, reply) => {
      const { key, secret } = await keys.create(principalOf(request).workspaceId, request.body.scopes, request.body.name ?? null);
      return reply.code(201).send({ ...key, key: secret });
    });

    app.delete('/v1/keys/:id', {
      config: { scope: 'admin' },
      schema: { tags: ['Access'], summary: 'Revoke an API key, effective at once', params: IdParams, response: { 204: Type.Null(), ...errors() } },
    }, async (request, reply) => {
      await keys.revoke(principalOf(request).workspaceId, request.params.id);
      return reply.code(204).send(null);
    });
  };
}
