import { Ajv2020 } from 'ajv/dist/2020.js';
import * as ajvFormats from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Answer, client, type Client, startTestServer, type TestServer } from './support/server.js';

// ajv-formats is CommonJS: seen from ESM its plugin may sit on `default` once or twice.
type FormatsPlugin = (ajv: Ajv2020) => Ajv2020;
function formatsPlugin(): FormatsPlugin {
  let m: unknown = ajvFormats;
  while (typeof m !== 'function' && m && typeof m === 'object' && 'default' in m) m = m.default;
  return m as FormatsPlugin;
}
const addFormats = formatsPlugin();
type Validator = ReturnType<Ajv2020['compile']>;

let t: TestServer;
let api: Client;
let doc: any;

const BASE = 'https://chatsby.test/openapi';
const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;

beforeAll(async () => {
  t = await startTestServer();
  const ws = await t.workspace();
  api = client(t.url, ws.key);
  const res = await fetch(t.url + '/v1/openapi.json');
  doc = await res.json();
});
afterAll(() => t.close());

/** Every operation of the document: [path, method, operation]. */
function operations(): Array<[string, string, any]> {
  const out: Array<[string, string, any]> = [];
  for (const [path, item] of Object.entries<any>(doc.paths ?? {})) {
    for (const m of METHODS) if (item[m]) out.push([path, m, item[m]]);
  }
  return out;
}

/** Local component references made absolute, so each schema compiles on its own. */
function absolutise(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(absolutise);
  if (schema && typeof schema === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(schema)) {
      out[k] = k === '$ref' && typeof v === 'string' && v.startsWith('#/components/') ? BASE + v.slice(1).replace(/^\/components/, '/components') : absolutise(v);
    }
    return out;
  }
  return schema;
}

function newAjv() {
  const ajv = new Ajv2020({ strict: true, allErrors: true });
  addFormats(ajv);
  // The OpenAPI 3.1 base vocabulary: annotations that JSON Schema does not know.
  for (const k of ['example', 'xml', 'externalDocs', 'discriminator']) ajv.addKeyword(k);
  for (const [name, schema] of Object.entries<any>(doc.components?.schemas ?? {})) {
    ajv.addSchema({ ...(absolutise(schema) as object), $id: `${BASE}/components/schemas/${name}` });
  }
  return ajv;
}

let ajvInstance: Ajv2020 | null = null;
const compiled = new Map<string, Validator>();

function validatorFor(path: string, method: string, status: number, mediaType?: string): Validator {
  const op = doc.paths?.[path]?.[method];
  expect(op, `${method.toUpperCase()} ${path} is documented`).toBeDefined();
  const response = op.responses?.[String(status)];
  expect(response, `${method.toUpperCase()} ${path} documents ${status}`).toBeDefined();
  const content = response.content ?? {};
  const type = mediaType && content[mediaType] ? mediaType : Object.keys(content).find((k) => /json/.test(k));
  expect(type, `${method.toUpperCase()} ${path} ${status} documents a JSON body`).toBeDefined();
  const key = `${method} ${path} ${status} ${type}`;
  if (!compiled.has(key)) {
    ajvInstance ??= newAjv();
    compiled.set(key, ajvInstance.compile(absolutise(content[type!].schema) as object));
  }
  return compiled.get(key)!;
}

/** The live answer validates against the response schema its operation documents. */
function expectConforms(res: Answer, path: string, method: string): void {
  const mediaType = (res.headers.get('content-type') ?? '').split(';')[0]!.trim();
  const validate = validatorFor(path, method, res.status, mediaType);
  const ok = validate(res.body);
  expect(ok, `${method.toUpperCase()} ${path} ${res.status}: ${JSON.stringify(validate.errors)} for ${JSON.stringify(res.body).slice(0, 400)}`).toBe(true);
}

describe('GET /v1/openapi.json', () => {
  it('is an OpenAPI 3.1 document served without credentials', async () => {
    const res = await fetch(t.url + '/v1/openapi.json');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(doc.openapi).toMatch(/^3\.1\.\d+$/);
    expect(doc.info).toMatchObject({ title: expect.any(String), version: expect.any(String) });
    expect(Object.keys(doc.paths).length).toBeGreaterThan(5);
    const schemes = Object.values<any>(doc.components?.securitySchemes ?? {});
    expect(schemes.some((s) => s.type === 'http' && /^bearer$/i.test(s.scheme))).toBe(true);
  });

  it('documents every endpoint of the service', () => {
    const have = new Set(operations().map(([p, m]) => `${m.toUpperCase()} ${p}`));
    for (const op of [
      'GET /v1/contacts', 'POST /v1/contacts', 'GET /v1/contacts/count', 'GET /v1/contacts/{id}', 'PATCH /v1/contacts/{id}',
      'DELETE /v1/contacts/{id}', 'POST /v1/contacts/batch', 'GET /v1/contacts/{id}/notes', 'POST /v1/contacts/{id}/notes',
      'GET /v1/contacts/{id}/timeline', 'GET /v1/tags', 'GET /v1/workspace', 'PATCH /v1/workspace', 'GET /v1/me',
      'GET /v1/keys', 'POST /v1/keys', 'DELETE /v1/keys/{id}', 'GET /healthz', 'GET /readyz',
    ]) expect(have, op).toContain(op);
  });

  it('documents the list parameters of GET /v1/contacts', () => {
    const names = (doc.paths['/v1/contacts'].get.parameters as Array<{ name: string; in: string }>).filter((p) => p.in === 'query').map((p) => p.name);
    for (const p of ['q', 'source', 'created_from', 'created_to', 'first_seen_from', 'first_seen_to', 'last_seen_from', 'last_seen_to', 'last_active', 'tag', 'conversation_count_min', 'conversation_count_max', 'has_email', 'has_phone', 'lifecycle_stage', 'archived', 'sort', 'limit', 'cursor']) {
      expect(names, p).toContain(p);
    }
  });

  it('does not offer read-only fields in the contact request bodies', () => {
    for (const [path, method] of [['/v1/contacts', 'post'], ['/v1/contacts/{id}', 'patch']] as const) {
      const schema = doc.paths[path][method].requestBody.content['application/json'].schema;
      const props = Object.keys(schema.properties ?? {});
      for (const ro of ['id', 'first_seen', 'last_seen', 'conversation_count', 'created_at', 'updated_at']) expect(props, `${method} ${path}`).not.toContain(ro);
      expect(schema.additionalProperties).toBe(false);
    }
    expect(Object.keys(doc.paths['/v1/contacts/{id}'].patch.requestBody.content['application/json'].schema.properties)).not.toContain('source');
  });

  it('every response and request schema compiles with ajv (JSON Schema 2020-12)', () => {
    const ajv = newAjv();
    let n = 0;
    for (const [path, method, op] of operations()) {
      for (const [status, response] of Object.entries<any>(op.responses ?? {})) {
        for (const [type, media] of Object.entries<any>(response.content ?? {})) {
          if (!media.schema) continue;
          expect(() => ajv.compile(absolutise(media.schema) as object), `${method} ${path} ${status} ${type}`).not.toThrow();
          n++;
        }
      }
      for (const [type, media] of Object.entries<any>(op.requestBody?.content ?? {})) {
        expect(() => ajv.compile(absolutise(media.schema) as object), `${method} ${path} request ${type}`).not.toThrow();
      }
    }
    expect(n).toBeGreaterThan(20);
  });

  it('every operation under /v1 documents its 4xx problem responses', () => {
    const problemRef = '#/components/schemas/Problem';
    for (const [path, method, op] of operations().filter(([p]) => p.startsWith('/v1/'))) {
      const where = `${method.toUpperCase()} ${path}`;
      const statuses = Object.keys(op.responses ?? {});
      // Public operations (sign-in, first-run setup) say so with an empty security list.
      const isPublic = op['x-required-scope'] === undefined;
      const expected = isPublic ? ['429'] : ['401', '403', '429'];
      if (path.includes('{id}')) expected.push('404');
      if (op.requestBody) expected.push('400', '413', '415', '422');
      if (op.parameters?.some((p: any) => p.in === 'query')) expected.push('422');
      if ((path === '/v1/contacts' && method === 'post') || (path === '/v1/contacts/{id}' && method === 'patch')) expected.push('409');
      for (const s of expected) expect(statuses, `${where} documents ${s}`).toContain(s);
      for (const s of statuses.filter((x) => /^4\d\d$/.test(x))) {
        const content = op.responses[s].content ?? {};
        const schemas = Object.values<any>(content).map((m) => m.schema);
        expect(schemas.length, `${where} ${s} has a body`).toBeGreaterThan(0);
        for (const schema of schemas) expect(schema.$ref, `${where} ${s} is a Problem`).toBe(problemRef);
      }
      const schemes = Object.keys(doc.components?.securitySchemes ?? {});
      if (isPublic) expect(op.security, `${where} declares that it needs no credentials`).toEqual([]);
      else expect((op.security ?? []).some((req: Record<string, unknown>) => Object.keys(req).some((k) => schemes.includes(k))), `${where} declares its credentials`).toBe(true);
    }
  });

  it('documents problem responses with the media type they are served as, application/problem+json', () => {
    const wrong: string[] = [];
    for (const [path, method, op] of operations()) {
      for (const [status, response] of Object.entries<any>(op.responses ?? {})) {
        if (!/^[45]\d\d$/.test(status)) continue;
        const types = Object.keys(response.content ?? {});
        if (!types.includes('application/problem+json')) wrong.push(`${method.toUpperCase()} ${path} ${status}: ${types.join(', ')}`);
      }
    }
    expect(wrong.slice(0, 5), `${wrong.length} error responses`).toEqual([]);
  });

  it('the Problem schema requires type, title and status', () => {
    const problem = doc.components.schemas.Problem;
    expect(problem.required).toEqual(expect.arrayContaining(['type', 'title', 'status']));
    expect(Object.keys(problem.properties)).toEqual(expect.arrayContaining(['type', 'title', 'status', 'detail', 'errors']));
  });
});

describe('live answers match the document', () => {
  it('contacts: create, get, update, list, count, batch', async () => {
    const created = await api.post('/v1/contacts', { name: 'Schema Person', email: 'schema@example.com', phone: '+15551234567', tags: ['a'], metadata: { plan: 'pro' } });
    expect(created.status).toBe(201);
    expectConforms(created, '/v1/contacts', 'post');
    const id = created.body.id as string;
    const one = await api.get(`/v1/contacts/${id}`);
    expectConforms(one, '/v1/contacts/{id}', 'get');
    const patched = await api.patch(`/v1/contacts/${id}`, { company: 'Acme' });
    expect(patched.status).toBe(200);
    expectConforms(patched, '/v1/contacts/{id}', 'patch');
    await api.post('/v1/contacts', { name: 'Second' });
    const page = await api.get('/v1/contacts?limit=1');
    expect(page.body.has_more).toBe(true);
    expectConforms(page, '/v1/contacts', 'get');
    const last = await api.get('/v1/contacts?limit=200');
    expect(last.body.next_cursor).toBeNull();
    expectConforms(last, '/v1/contacts', 'get');
    expectConforms(await api.get('/v1/contacts/count'), '/v1/contacts/count', 'get');
    const batch = await api.post('/v1/contacts/batch', { contacts: [{ name: 'B' }, { email: 'bad' }, { email: 'schema@example.com' }] });
    expect(batch.body.results.map((r: any) => r.status)).toEqual(['created', 'error', 'updated']);
    expectConforms(batch, '/v1/contacts/batch', 'post');
  });

  it('notes, timeline and tags', async () => {
    const id = (await api.post('/v1/contacts', { name: 'Activity', tags: ['t1'] })).body.id as string;
    const note = await api.post(`/v1/contacts/${id}/notes`, { body: 'hello' });
    expect(note.status).toBe(201);
    expectConforms(note, '/v1/contacts/{id}/notes', 'post');
    expectConforms(await api.get(`/v1/contacts/${id}/notes`), '/v1/contacts/{id}/notes', 'get');
    expectConforms(await api.get(`/v1/contacts/${id}/timeline`), '/v1/contacts/{id}/timeline', 'get');
    expectConforms(await api.get('/v1/tags'), '/v1/tags', 'get');
  });

  it('problem documents', async () => {
    const notFound = await api.get('/v1/contacts/ctc_doesnotexist0000');
    expect(notFound.status).toBe(404);
    expectConforms(notFound, '/v1/contacts/{id}', 'get');
    const invalid = await api.post('/v1/contacts', { email: 'nope' });
    expect(invalid.status).toBe(422);
    expectConforms(invalid, '/v1/contacts', 'post');
    const dup = await api.post('/v1/contacts', { email: 'dup-schema@example.com' });
    const conflict = await api.post('/v1/contacts', { email: dup.body.email });
    expect(conflict.status).toBe(409);
    expectConforms(conflict, '/v1/contacts', 'post');
    const unauth = await fetch(t.url + '/v1/workspace');
    expectConforms({ status: unauth.status, headers: unauth.headers, body: await unauth.json() }, '/v1/workspace', 'get');
  });

  it('workspace, me and keys', async () => {
    expectConforms(await api.get('/v1/workspace'), '/v1/workspace', 'get');
    expectConforms(await api.patch('/v1/workspace', { timezone: 'Europe/Paris', default_phone_region: 'FR' }), '/v1/workspace', 'patch');
    expectConforms(await api.get('/v1/me'), '/v1/me', 'get');
    const created = await api.post('/v1/keys', { name: 'Schema key', scopes: ['read'] });
    expect(created.status).toBe(201);
    expectConforms(created, '/v1/keys', 'post');
    const list = await api.get('/v1/keys');
    expect(list.body.data.length).toBeGreaterThanOrEqual(2);
    expectConforms(list, '/v1/keys', 'get');
  });
});

describe('public endpoints', () => {
  it('/docs answers 200 HTML without credentials', async () => {
    const res = await fetch(t.url + '/docs');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await res.text()).toMatch(/<html/i);
  });

  it('/healthz and /readyz answer 200 without credentials', async () => {
    for (const path of ['/healthz', '/readyz']) {
      const res = await fetch(t.url + path);
      expect(res.status, path).toBe(200);
      const body = await res.json();
      expectConforms({ status: res.status, headers: res.headers, body }, path, 'get');
    }
  });
});
