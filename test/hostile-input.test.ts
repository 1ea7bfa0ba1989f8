// Hostile input: generated requests across the contacts, notes, timeline, tags, workspace and keys
// endpoints (malformed JSON, wrong types, huge strings, deep nesting, NUL, lone surrogates, odd query
// strings, odd headers and content types, random paths). API.md: never a 500 for bad input, and every
// error is an RFC 9457 problem document whose `status` is the HTTP status.
//
// Each family of endpoints runs its requests to the end and collects every violation, rather than
// stopping at the first counterexample, so one run lists all the distinct failures (the fast-check seed
// is in the message to replay them).
import net from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { client, startTestServer, type TestServer } from './support/server.js';

interface HostileRequest {
  method: string;
  /** Path and query, already encoded (on purpose, sometimes badly). */
  target: string;
  /** The route it aims at, for grouping failures. */
  route: string;
  headers: Record<string, string>;
  body?: string;
  /** A known path with a method it does not serve: 405 with Allow (API.md). */
  wrongMethod?: boolean;
}

interface Violation {
  key: string;
  example: string;
}

let t: TestServer;
let adminKey: string;
let readKey: string;
let revokedKey: string;
let readKeyId: string;
let ids: { own: string[]; other: string; deleted: string };
const violations: Violation[] = [];
let sent = 0;

beforeAll(async () => {
  t = await startTestServer();
  const ws = await t.workspace('Hostile');
  adminKey = ws.key;
  const { keys } = t.server.services;
  const read = await keys.create(ws.id, ['read'], 'read only');
  readKey = read.secret;
  readKeyId = read.key.id;
  const revoked = await keys.create(ws.id, ['read', 'write'], 'revoked');
  revokedKey = revoked.secret;
  const api = client(t.url, adminKey);
  expect((await api.delete(`/v1/keys/${revoked.key.id}`)).status).toBe(204);

  const own: string[] = [];
  for (let i = 0; i < 5; i++) {
    const res = await api.post('/v1/contacts', { name: `Seed ${i}`, email: `seed${i}@hostile.example`, phone: `+1415555010${i}`, tags: ['seed', `s${i}`], metadata: { n: i } });
    expect(res.status).toBe(201);
    expect((await api.post(`/v1/contacts/${res.body.id}/notes`, { body: `note ${i}` })).status).toBe(201);
    own.push(res.body.id);
  }
  const gone = await api.post('/v1/contacts', { name: 'Deleted seed' });
  expect((await api.delete(`/v1/contacts/${gone.body.id}`)).status).toBe(204);
  const other = await t.workspace('Other');
  const foreign = await client(t.url, other.key).post('/v1/contacts', { name: 'Foreign' });
  ids = { own, other: foreign.body.id, deleted: gone.body.id };
});

afterAll(async () => {
  await t?.close();
});

// ---------------------------------------------------------------------------------------------------
// Values

/** Any UTF-16 code units, lone surrogates included (fast-check's 'binary' unit leaves those out). */
const codeUnits = fc.array(fc.integer({ min: 0, max: 0xffff }), { maxLength: 12 }).map((u) => String.fromCharCode(...u));

const nastyString = fc.constantFrom(
  '', ' ', '   ', '\u0000', 'a\u0000b', '\ud800', '\udfff', 'x\ud83d', '\ud83dx\ude00', '\ufeff', '\u202eevil', '𝕏😀👩‍👩‍👧',
  'e\u0301', 'Ǆ', 'ß', 'İ', '\u2028\u2029', '\t\r\n', '<script>alert(1)</script>', "' OR 1=1 --", '"; DROP TABLE contacts; --',
  '%', '%00', '%ZZ', '\\', '"', '{}', '[]', 'null', 'NaN', '-1', '1e309', ' lead ', '../../etc/passwd', 'ctc_', 'ctc_%',
  '_%', 'a"b', "NEAR(a b)", 'a* OR b', '"unterminated', '+1 (555) 123-4567', '0044 20 7946 0958', '+', '++1', '00',
  'sarah@acme.com', 'SARAH@ACME.COM', 'a@b', 'a@b.c', '@', 'a@@b.co', 'x@[127.0.0.1]', 'http://x', 'javascript:alert(1)',
  'widget', 'api', 'new', 'customer', 'US', 'us', 'ZZ', 'Europe/Berlin', 'Mars/Olympus', 'enterprise', 'free', 'read', 'admin',
);

const hugeString = fc
  .tuple(fc.constantFrom(201, 255, 2_049, 10_001, 70_000, 300_000), fc.constantFrom('a', 'é', '😀', '\u0000', ' ', '\ud800', '1'))
  .map(([n, c]) => c.repeat(n));

const text = fc.oneof(
  { weight: 4, arbitrary: fc.string({ unit: 'binary', maxLength: 30 }) },
  { weight: 2, arbitrary: codeUnits },
  { weight: 5, arbitrary: nastyString },
  { weight: 2, arbitrary: fc.emailAddress() },
  { weight: 2, arbitrary: fc.stringMatching(/^\+?[0-9 ().-]{0,20}$/) },
  { weight: 1, arbitrary: hugeString },
);

const scalar = fc.oneof(
  { weight: 6, arbitrary: text },
  { weight: 1, arbitrary: fc.integer() },
  { weight: 1, arbitrary: fc.double() },
  { weight: 1, arbitrary: fc.boolean() },
  { weight: 1, arbitrary: fc.constant(null) },
  { weight: 1, arbitrary: fc.constantFrom(0, -0, 1e308, -1, 2 ** 53, 2 ** 63) },
);

/** A JSON value of any type, nested a little. */
const anyValue: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, scalar, tie('array'), tie('object')),
  array: fc.array(tie('value'), { maxLength: 4 }),
  object: fc.dictionary(text, tie('value'), { maxKeys: 4 }),
})).value;

/** JSON text of a value (JSON.stringify writes a lone surrogate as a \\u escape). */
const json = (arb: fc.Arbitrary<unknown>): fc.Arbitrary<string> => arb.map((v) => JSON.stringify(v) ?? 'null');

/** JSON text of an object from [key, value text] pairs, so keys like __proto__ are sent as written. */
function objectText(entries: Array<[string, string]>): string {
  return '{' + entries.map(([k, v]) => JSON.stringify(k) + ':' + v).join(',') + '}';
}

function deepText(depth: number, kind: 'array' | 'object'): string {
  return kind === 'array' ? '['.repeat(depth) + ']'.repeat(depth) : '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
}

/** Nesting from modest to far past any sane limit (a JSON body of 16 KiB holds 8,000 levels of arrays). */
const deep = fc.tuple(
  fc.oneof(fc.integer({ min: 20, max: 1_000 }), fc.integer({ min: 1_000, max: 8_000 }), fc.integer({ min: 8_000, max: 50_000 })),
  fc.constantFrom<'array' | 'object'>('array', 'object'),
).map(([d, k]) => deepText(d, k));

const malformedJson = fc.oneof(
  fc.constantFrom(
    '', ' ', '{', '}', '[', '{"name":}', "{'name':'x'}", '{"name":"a",}', 'nul', 'tru', '{"name":"\\x"}', '{"name":"\\u12"}',
    '\ufeff{"name":"a"}', '{"name":"a"}{"name":"b"}', '{"name":"a"} trailing', '{"name":"a"', '"\\ud800"', '{"name":"\u0000"}',
    '{"__proto__":{"admin":true},"name":"a"}', '{"constructor":{"prototype":{"x":1}},"name":"a"}', '{"name":1e999}',
    '{"name":"a","name":"b"}', '\u0000', '{"a":NaN}', '{"a":Infinity}', '{"a":-}', '{"a":01}', '{"a":.5}', '{"a":"\t"}',
  ),
  fc.string({ unit: 'binary', maxLength: 40 }),
  // Valid JSON cut short.
  fc.tuple(anyValue, fc.nat()).map(([v, n]) => {
    const s = JSON.stringify({ name: 'x', v }) ?? '{}';
    return s.slice(0, n % Math.max(1, s.length - 1));
  }),
  deep,
);

const wrongTop = fc.oneof(fc.constantFrom('null', '[]', '0', '"name"', 'true', '[{"name":"a"}]'), deep);

const contactFields = ['name', 'email', 'phone', 'company', 'source', 'page_url', 'ip_country', 'tags', 'metadata', 'lifecycle_stage'];
const readOnlyFields = ['id', 'first_seen', 'last_seen', 'conversation_count', 'created_at', 'updated_at', 'archived', '__proto__', 'constructor', 'historical'];

const fieldName = fc.oneof({ weight: 6, arbitrary: fc.constantFrom(...contactFields) }, { weight: 2, arbitrary: fc.constantFrom(...readOnlyFields) }, { weight: 1, arbitrary: text });

/** A value aimed at a contact field (as JSON text): mostly the right type with hostile content, sometimes not. */
const fieldValue = fc.oneof(
  { weight: 4, arbitrary: json(text) },
  { weight: 1, arbitrary: json(fc.array(text, { maxLength: 60 })) },
  { weight: 1, arbitrary: json(fc.dictionary(text, anyValue, { maxKeys: 5 })) },
  { weight: 1, arbitrary: deep.map((d) => `{"deep":${d}}`) },
  { weight: 1, arbitrary: deep },
  { weight: 2, arbitrary: json(anyValue) },
);

const contactObject = fc.array(fc.tuple(fieldName, fieldValue), { maxLength: 6 }).map(objectText);

/** The body of a write: usually an object with hostile fields, sometimes not JSON at all. */
const writeBody = fc.oneof(
  { weight: 6, arbitrary: contactObject },
  { weight: 2, arbitrary: malformedJson },
  { weight: 1, arbitrary: wrongTop },
  { weight: 1, arbitrary: fc.tuple(deep, fc.constantFrom('metadata', 'tags', 'name')).map(([d, f]) => `{"name":"Deep","${f}":${d}}`) },
  { weight: 1, arbitrary: deep.map((d) => `{"name":"Deep","metadata":{"nested":${d}}}`) },
);

const batchBody = fc.oneof(
  { weight: 5, arbitrary: fc.tuple(fc.array(contactObject, { maxLength: 6 }), fc.option(scalar)).map(([items, historical]) => `{"contacts":[${items.join(',')}]${historical === null ? '' : ',"historical":' + JSON.stringify(historical)}}`) },
  { weight: 1, arbitrary: fc.constantFrom(1001, 1000).map((n) => `{"contacts":[${Array.from({ length: n }, (_, i) => `{"name":"Bulk ${i}","email":"bulk${i % 7}@hostile.example"}`).join(',')}]}`) },
  { weight: 1, arbitrary: fc.constantFrom('{"contacts":[]}', '{"contacts":null}', '{"contacts":{}}', '{"contacts":[null]}', '{"contacts":[[]]}', '{}', '{"contacts":[{"name":"h","created_at":"0000-01-01T00:00:00Z","conversation_count":9007199254740993}],"historical":true}', '{"contacts":[{"name":"h","first_seen":"9999-12-31T23:59:59.999Z","last_seen":"2026-02-31T00:00:00Z"}],"historical":true}') },
  { weight: 2, arbitrary: malformedJson },
  { weight: 1, arbitrary: wrongTop },
);

const noteBody = fc.oneof(
  { weight: 5, arbitrary: fc.tuple(json(fc.oneof(text, anyValue)), fc.boolean()).map(([b, extra]) => objectText([['body', b], ...(extra ? ([['author', '"me"']] as Array<[string, string]>) : [])])) },
  { weight: 2, arbitrary: malformedJson },
  { weight: 1, arbitrary: wrongTop },
);

const workspaceFields = ['name', 'plan', 'consent_required', 'consent_text', 'retention_days', 'default_phone_region', 'timezone', 'id', 'limits', 'usage'];
const workspaceBody = fc.oneof(
  { weight: 5, arbitrary: fc.array(fc.tuple(fc.constantFrom(...workspaceFields), json(fc.oneof(text, anyValue))), { maxLength: 4 }).map(objectText) },
  { weight: 2, arbitrary: malformedJson },
  { weight: 1, arbitrary: wrongTop },
);

const keyBody = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.tuple(json(fc.oneof(fc.array(fc.constantFrom('read', 'write', 'admin', 'root', '', 'READ', ' read'), { maxLength: 5 }), anyValue)), fc.option(json(fc.oneof(text, anyValue))))
      .map(([scopes, name]) => objectText([['scopes', scopes], ...(name === null ? [] : ([['name', name]] as Array<[string, string]>))])),
  },
  { weight: 2, arbitrary: malformedJson },
  { weight: 1, arbitrary: wrongTop },
);

// ---------------------------------------------------------------------------------------------------
// Paths and query strings

const unreserved = /[A-Za-z0-9\-._~]/;

/** Percent-encodes the UTF-8 bytes of `s` (a lone surrogate becomes U+FFFD, as any client would send). */
function encode(s: string): string {
  let out = '';
  for (const byte of Buffer.from(s, 'utf8')) {
    const c = String.fromCharCode(byte);
    out += byte < 0x80 && unreserved.test(c) ? c : '%' + byte.toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}

/** A path segment or query value: encoded text, or raw bytes a careful client would never send. */
const urlPiece = fc.oneof(
  { weight: 6, arbitrary: text.map(encode).filter((s) => s.length <= 2_000) },
  { weight: 2, arbitrary: fc.constantFrom('%00', '%ZZ', '%', '%E', '%ED%A0%80', '%FF%FE', '%C0%AF', '%2F', '%2e%2e', '..', '.', '+', '%20', '%0A', '%0D%0A', 'a%00b') },
  { weight: 1, arbitrary: fc.integer({ min: 65, max: 4_000 }).map((n) => 'x'.repeat(n)) },
);

const contactId = fc.oneof(
  { weight: 4, arbitrary: fc.constant('own') },
  { weight: 1, arbitrary: fc.constant('other') },
  { weight: 1, arbitrary: fc.constant('deleted') },
  { weight: 1, arbitrary: fc.stringMatching(/^ctc_[0-9a-z]{0,20}$/) },
  { weight: 1, arbitrary: fc.constantFrom('batch', 'count', 'CTC_X', 'ctc_' + 'z'.repeat(61), 'ctc_' + 'z'.repeat(60)) },
  { weight: 3, arbitrary: urlPiece },
);

function resolveId(id: string, pick: number): string {
  if (id === 'own') return ids.own[pick % ids.own.length]!;
  if (id === 'other') return ids.other;
  if (id === 'deleted') return ids.deleted;
  return id;
}

const listParams = ['q', 'source', 'created_from', 'created_to', 'first_seen_from', 'first_seen_to', 'last_seen_from', 'last_seen_to', 'last_active', 'tag', 'conversation_count_min', 'conversation_count_max', 'has_email', 'has_phone', 'lifecycle_stage', 'archived', 'sort', 'limit', 'cursor', 'prefix'];

function cursorOf(value: unknown): string {
  return Buffer.from(JSON.stringify(value) ?? 'null').toString('base64url');
}

/** Cursors that decode to JSON of the right shape with the wrong content. */
const forgedCursor = fc.oneof(
  fc.tuple(fc.constantFrom('-last_seen', 'name', '-name', 'created_at', 'email', 'phone', 'nope'), fc.oneof(scalar, fc.constantFrom(1e300, -1, 1.5, 2 ** 62)), fc.oneof(text, scalar)).map(cursorOf),
  fc.record({ seq: fc.oneof(scalar, fc.constantFrom(1e300, -5, 1.5, 2 ** 62)) }).map(cursorOf),
  fc.record({ at: fc.oneof(scalar, fc.constantFrom(1e300, -5, 1.5, 2 ** 62)), id: fc.oneof(text, scalar) }).map(cursorOf),
  anyValue.map(cursorOf),
);

const queryValue = fc.oneof(
  { weight: 5, arbitrary: urlPiece },
  { weight: 1, arbitrary: fc.constantFrom('%00', 'a%00', '%00%00', 'lead%00', '%C0%80') },
  { weight: 2, arbitrary: forgedCursor },
  { weight: 2, arbitrary: fc.constantFrom('true', 'false', 'all', '0', '1', '200', '201', '1e3', '-1', '9999999999', 'today', '7d', '30d', '2026-02-30', '2026-03-15', '2026-03-15T10:30:00+14:00', '275760-09-13', '0000-01-01', 'name', '-name', '+email', '--name', 'widget,api', ',,,', 'new,nope') },
);

const queryKey = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...listParams) },
  { weight: 1, arbitrary: fc.constantFrom('tag[]', 'q[a]', 'q[]', '__proto__', 'constructor', 'toString', 'hasOwnProperty', '', 'a.b', 'q%00', '%ZZ') },
  { weight: 1, arbitrary: urlPiece },
);

/** A query string: known and unknown parameters, repeated ones, empty ones, odd separators. */
const queryString = fc.oneof(
  { weight: 1, arbitrary: fc.constant('') },
  {
    weight: 8,
    arbitrary: fc.tuple(fc.array(fc.tuple(queryKey, fc.option(queryValue, { freq: 8 })), { maxLength: 6 }), fc.constantFrom('&', '&', '&', ';', '&&'))
      .map(([pairs, sep]) => '?' + pairs.map(([k, v]) => (v === null ? k : `${k}=${v}`)).join(sep)),
  },
  { weight: 1, arbitrary: fc.constantFrom('?', '??', '?&', '?=', '?q', '?q=a#frag', '?q=a&q=b&q=c', '?limit=1&limit=1', '?tag=a&tag=' + 'b'.repeat(65)) },
).map((q) => (q.length > 6_000 ? q.slice(0, 6_000) : q));

// ---------------------------------------------------------------------------------------------------
// Headers

/** What fetch will put in a header: printable Latin-1. */
const headerText = fc.string({ unit: fc.oneof(fc.integer({ min: 0x20, max: 0x7e }), fc.integer({ min: 0xa0, max: 0xff })).map((c) => String.fromCharCode(c)), maxLength: 40 })
  .map((s) => s.trim());

const contentType = fc.oneof(
  { weight: 8, arbitrary: fc.constant('application/json') },
  {
    weight: 4,
    arbitrary: fc.constantFrom(
      'application/json; charset=utf-8', 'APPLICATION/JSON', 'application/json; charset=utf-16', 'application/json; charset=latin1',
      'application/json;;', 'application/json; boundary=x', 'application/jsonx', 'application/merge-patch+json', 'application/vnd.api+json',
      'text/plain', 'text/json', 'text/html', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'multipart/form-data',
      'application/octet-stream', '*/*', 'application/*', 'json', ';', 'application/json; charset="utf-8"', 'application/json ; charset=UTF-8',
    ),
  },
  { weight: 1, arbitrary: headerText },
  { weight: 1, arbitrary: fc.constant('(none)') },
);

type AuthKind = 'admin' | 'read' | 'revoked' | 'none' | 'odd';
const auth = fc.oneof(
  { weight: 14, arbitrary: fc.constant<[AuthKind, string]>(['admin', '']) },
  { weight: 2, arbitrary: fc.constantFrom<[AuthKind, string]>(['read', ''], ['revoked', ''], ['none', '']) },
  {
    weight: 2,
    arbitrary: fc.oneof(
      fc.constantFrom('Bearer', 'Bearer ', 'Bearer  ck_', 'Basic YTpi', 'bearer ck_nope', 'Bearer ck_' + 'x'.repeat(300), 'Bearer pk_test', 'Token x', 'Bearer a b'),
      headerText.map((s) => 'Bearer ' + s),
      headerText,
    ).map((s): [AuthKind, string] => ['odd', s]),
  },
);

const extraHeaders = fc.array(
  fc.oneof(
    fc.tuple(fc.constantFrom('idempotency-key'), fc.oneof(headerText, fc.constantFrom('k', 'x'.repeat(255), 'x'.repeat(256), 'a b', 'é'))),
    fc.tuple(fc.constantFrom('accept'), fc.constantFrom('text/html', 'application/xml', '*/*', 'application/problem+json', 'image/png', ';;')),
    fc.tuple(fc.constantFrom('accept-charset', 'accept-language', 'x-forwarded-for', 'x-forwarded-proto', 'x-request-id', 'if-none-match', 'range', 'content-encoding', 'x-csrf-token', 'cookie', 'origin', 'x-http-method-override'), headerText),
    fc.tuple(fc.stringMatching(/^x-[a-z0-9-]{1,20}$/), headerText),
  ),
  { maxLength: 3 },
);

// ---------------------------------------------------------------------------------------------------
// Requests

function build(method: string, route: string, target: string, [authKind, authValue]: [AuthKind, string], ct: string, extra: Array<[string, string]>, body?: string): HostileRequest {
  const headers: Record<string, string> = {};
  for (const [k, v] of extra) headers[k] = v;
  if (authKind === 'admin') headers.authorization = `Bearer ${adminKey}`;
  else if (authKind === 'read') headers.authorization = `Bearer ${readKey}`;
  else if (authKind === 'revoked') headers.authorization = `Bearer ${revokedKey}`;
  else if (authKind === 'odd') headers.authorization = authValue;
  const canHaveBody = method !== 'GET' && method !== 'HEAD';
  if (canHaveBody && body !== undefined && ct !== '(none)') headers['content-type'] = ct;
  return { method, route, target, headers, body: canHaveBody ? body : undefined };
}

const contactsFamily = fc.oneof(
  fc.tuple(writeBody, auth, contentType, extraHeaders).map(([b, a, ct, x]) => build('POST', 'POST /v1/contacts', '/v1/contacts', a, ct, x, b)),
  fc.tuple(contactId, fc.nat(), writeBody, auth, contentType, extraHeaders).map(([id, n, b, a, ct, x]) => build('PATCH', 'PATCH /v1/contacts/{id}', `/v1/contacts/${resolveId(id, n)}`, a, ct, x, b)),
  fc.tuple(contactId, fc.nat(), queryString, auth, extraHeaders).map(([id, n, q, a, x]) => build('GET', 'GET /v1/contacts/{id}', `/v1/contacts/${resolveId(id, n)}${q}`, a, 'application/json', x)),
  fc.tuple(contactId, fc.nat(), auth, extraHeaders, fc.option(writeBody, { freq: 4 })).map(([id, n, a, x, b]) => build('DELETE', 'DELETE /v1/contacts/{id}', `/v1/contacts/${resolveId(id === 'own' ? 'deleted' : id, n)}`, a, 'application/json', x, b ?? undefined)),
);

const batchFamily = fc.tuple(batchBody, auth, contentType, extraHeaders, fc.option(queryString, { freq: 4 }))
  .map(([b, a, ct, x, q]) => build('POST', 'POST /v1/contacts/batch', `/v1/contacts/batch${q ?? ''}`, a, ct, x, b));

const activityFamily = fc.oneof(
  fc.tuple(contactId, fc.nat(), noteBody, auth, contentType, extraHeaders).map(([id, n, b, a, ct, x]) => build('POST', 'POST /v1/contacts/{id}/notes', `/v1/contacts/${resolveId(id, n)}/notes`, a, ct, x, b)),
  fc.tuple(contactId, fc.nat(), queryString, auth, extraHeaders).map(([id, n, q, a, x]) => build('GET', 'GET /v1/contacts/{id}/notes', `/v1/contacts/${resolveId(id, n)}/notes${q}`, a, 'application/json', x)),
  fc.tuple(contactId, fc.nat(), queryString, auth, extraHeaders).map(([id, n, q, a, x]) => build('GET', 'GET /v1/contacts/{id}/timeline', `/v1/contacts/${resolveId(id, n)}/timeline${q}`, a, 'application/json', x)),
);

const queryFamily = fc.oneof(
  fc.tuple(queryString, auth, extraHeaders).map(([q, a, x]) => build('GET', 'GET /v1/contacts', `/v1/contacts${q}`, a, 'application/json', x)),
  fc.tuple(queryString, auth, extraHeaders).map(([q, a, x]) => build('GET', 'GET /v1/contacts/count', `/v1/contacts/count${q}`, a, 'application/json', x)),
  fc.tuple(queryString, auth, extraHeaders).map(([q, a, x]) => build('GET', 'GET /v1/tags', `/v1/tags${q}`, a, 'application/json', x)),
);

const keyId = fc.oneof(fc.constant('read-key'), fc.stringMatching(/^key_[0-9a-z]{0,20}$/), urlPiece);

const workspaceFamily = fc.oneof(
  fc.tuple(queryString, auth, extraHeaders).map(([q, a, x]) => build('GET', 'GET /v1/workspace', `/v1/workspace${q}`, a, 'application/json', x)),
  fc.tuple(workspaceBody, auth, contentType, extraHeaders).map(([b, a, ct, x]) => build('PATCH', 'PATCH /v1/workspace', '/v1/workspace', a, ct, x, b)),
  fc.tuple(queryString, auth, extraHeaders).map(([q, a, x]) => build('GET', 'GET /v1/keys', `/v1/keys${q}`, a, 'application/json', x)),
  fc.tuple(keyBody, auth, contentType, extraHeaders).map(([b, a, ct, x]) => build('POST', 'POST /v1/keys', '/v1/keys', a, ct, x, b)),
  fc.tuple(keyId, auth, extraHeaders).map(([id, a, x]) => build('DELETE', 'DELETE /v1/keys/{id}', `/v1/keys/${id === 'read-key' ? readKeyId : id}`, a, 'application/json', x)),
  fc.tuple(queryString, auth, extraHeaders).map(([q, a, x]) => build('GET', 'GET /v1/me', `/v1/me${q}`, a, 'application/json', x)),
);

/** Every route of the contract built so far, with the methods it serves. */
const ALLOWED: Record<string, string[]> = {
  '/v1/contacts': ['GET', 'POST'],
  '/v1/contacts/{id}': ['GET', 'PATCH', 'DELETE'],
  '/v1/contacts/batch': ['POST'],
  '/v1/contacts/count': ['GET'],
  '/v1/contacts/{id}/notes': ['GET', 'POST'],
  '/v1/contacts/{id}/timeline': ['GET'],
  '/v1/tags': ['GET'],
  '/v1/workspace': ['GET', 'PATCH'],
  '/v1/keys': ['GET', 'POST'],
  '/v1/keys/{id}': ['DELETE'],
  '/v1/me': ['GET'],
  '/healthz': ['GET'],
  '/readyz': ['GET'],
  '/v1/openapi.json': ['GET'],
};
const knownPaths = Object.keys(ALLOWED);

/** Random paths: near misses of real routes, traversal, doubled slashes, encoded garbage. */
const randomPath = fc.oneof(
  fc.array(urlPiece, { minLength: 1, maxLength: 3 }).map((segs) => '/' + segs.join('/')),
  fc.tuple(fc.constantFrom(...knownPaths), urlPiece).map(([p, s]) => p.replace('{id}', 'own') + '/' + s),
  fc.tuple(fc.constantFrom(...knownPaths), urlPiece).map(([p, s]) => p.replace('{id}', s)),
  fc.constantFrom(
    '/', '//v1//contacts', '/v1/contacts/', '/V1/CONTACTS', '/v1/contacts/%2e%2e/workspace', '/v1/contacts/../keys', '/v1/./contacts',
    '/v1', '/v1/', '/v2/contacts', '/v1/contacts;jsessionid=1', '/v1/contacts%00', '/v1/contacts%2Fbatch', '/docs/%ZZ', '/docs/../../etc/passwd',
    '/v1/contacts/own/notes/own', '/v1/contacts/batch/batch', '/healthz/', '/readyz?x=1', '/v1/openapi.json/x', '/%', '/docs/static/nope.js',
    '/v1/contacts/own/merge', '/v1/contacts/own/restore', '/v1/contacts/export', '/v1/imports', '/v1/conversations', '/v1/session',
  ),
).map((p) => p.replace('/own', '/' + (ids?.own[0] ?? 'own')));

/** Valid JSON that Fastify's parser takes (it refuses prototype-poisoning keys with a 400). */
function parsesAsJson(body: string): boolean {
  if (/__proto__|constructor/.test(body)) return false;
  try {
    JSON.parse(body);
    return true;
  } catch {
    return false;
  }
}

const methods = fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS');

const oddFamily = fc.oneof(
  // A known path with every method: the ones it does not serve are 405 (API.md).
  fc.tuple(methods, fc.constantFrom(...knownPaths), fc.nat(), auth, contentType, extraHeaders, fc.option(writeBody, { freq: 2 }))
    .map(([m, p, n, a, ct, x, b]) => ({
      ...build(m, `${m} ${p}`, p.replace('{id}', p.startsWith('/v1/keys') ? readKeyId : ids.own[n % ids.own.length]!), a, ct, x, b ?? undefined),
      // Which of 405 and 400/415 wins for a bad body on a wrong method is left open: only clean requests count.
      wrongMethod: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'].includes(m) && !ALLOWED[p]!.includes(m) && (b === null || (ct === 'application/json' && parsesAsJson(b))),
    })),
  fc.tuple(methods, randomPath, queryString, auth, contentType, extraHeaders, fc.option(writeBody, { freq: 2 }))
    .map(([m, p, q, a, ct, x, b]) => build(m, `${m} (random path)`, p + q, a, ct, x, b ?? undefined)),
  // Odd content types and headers on the writes that take a body.
  fc.tuple(fc.constantFrom('/v1/contacts', '/v1/contacts/batch', '/v1/keys'), contentType, extraHeaders, fc.constantFrom('{"name":"Ct"}', '{"contacts":[{"name":"Ct"}]}', '{"scopes":["read"]}', 'name=Ct', '--x\r\nContent-Disposition: form-data; name="name"\r\n\r\nCt\r\n--x--'))
    .map(([p, ct, x, b]) => build('POST', `POST ${p} (content type)`, p, ['admin', ''], ct, x, b)),
);

// ---------------------------------------------------------------------------------------------------
// The check

const STACK = /\n\s+at .+:\d+:\d+/;

async function send(req: HostileRequest): Promise<void> {
  sent++;
  const shown = `${req.method} ${req.target.slice(0, 160)}${req.target.length > 160 ? '…' : ''} headers=${JSON.stringify(req.headers).slice(0, 200)} body=${JSON.stringify(req.body?.slice(0, 160) ?? null)}${(req.body?.length ?? 0) > 160 ? `… (${req.body!.length} chars)` : ''}`;
  /** `what` groups failures (route, status, kind); the request and the answer are the example. */
  const flag = (what: string, answer = '') => violations.push({ key: `${req.route} -> ${what}`, example: `${shown} => ${answer.slice(0, 200)}` });
  let res: Response;
  try {
    res = await fetch(t.url + req.target, { method: req.method, headers: req.headers, body: req.body, redirect: 'manual' });
  } catch (error) {
    // "fetch failed" is the server hanging up or resetting; anything else is this test's own mistake.
    if ((error as Error).message !== 'fetch failed') throw error;
    flag('no answer', String((error as { cause?: unknown }).cause));
    return;
  }
  const body = await res.text();
  const type = res.headers.get('content-type') ?? '(none)';
  if (res.status >= 500) flag(`${res.status}`, body);
  if (req.wrongMethod && (res.status !== 405 || !res.headers.get('allow'))) flag(`${res.status} for a method the path does not serve (405 with Allow expected)`, body);
  if (STACK.test(body)) flag(`${res.status} with a stack trace in the body`, body);
  if (res.status >= 400 && res.status < 500) {
    if (!/^application\/problem\+json(;|$)/.test(type)) {
      const code = /"code":"([A-Z_]+)"/.exec(body)?.[1];
      flag(`${res.status} as ${type}${code ? ` (${code})` : ''}, not application/problem+json`, body);
      return;
    }
    if (req.method === 'HEAD') return;
    let problem: { status?: unknown; type?: unknown; title?: unknown };
    try {
      problem = JSON.parse(body) as typeof problem;
    } catch {
      flag(`${res.status} problem document that is not JSON`, body);
      return;
    }
    if (typeof problem.status !== 'number' || problem.status !== res.status) flag(`${res.status} with problem status ${JSON.stringify(problem.status)}`, body);
    if (typeof problem.type !== 'string' || typeof problem.title !== 'string') flag(`${res.status} problem without type or title`, body);
    if (res.status === 405 && !res.headers.get('allow')) flag('405 without an Allow header', body);
  }
}

function summary(seed: number): string[] {
  const byKey = new Map<string, { count: number; example: string }>();
  for (const v of violations) {
    const seen = byKey.get(v.key);
    if (seen) seen.count++;
    else byKey.set(v.key, { count: 1, example: v.example });
  }
  return [...byKey].map(([key, { count, example }]) => `${key}  [x${count}, fast-check seed ${seed}]  e.g. ${example}`);
}

/**
 * Sends `numRuns` generated requests, after `examples`: hand-picked requests that once broke a rule, run
 * first on every seed so a regression cannot hide behind an unlucky draw.
 */
async function run(arb: fc.Arbitrary<HostileRequest>, numRuns: number, examples: () => HostileRequest[] = () => []): Promise<void> {
  violations.length = 0;
  const seed = Number(process.env.FC_SEED ?? Date.now() % 2 ** 31);
  await fc.assert(fc.asyncProperty(arb, async (req) => { await send(req); }), { numRuns, seed, examples: examples().map((e) => [e]) });
  expect(summary(seed)).toEqual([]);
}

const admin = (): [AuthKind, string] => ['admin', ''];
const get = (route: string, target: string) => build('GET', route, target, admin(), 'application/json', []);
const write = (method: string, route: string, target: string, body: string) => build(method, route, target, admin(), 'application/json', [], body);

describe('hostile input: no 5xx, every 4xx a problem document with its own status', () => {
  it('POST, PATCH, GET and DELETE of /v1/contacts and /v1/contacts/{id}', async () => {
    await run(contactsFamily, 320, () => [
      write('POST', 'POST /v1/contacts', '/v1/contacts', `{"name":"Deep","metadata":{"x":${deepText(5_000, 'array')}}}`),
      write('PATCH', 'PATCH /v1/contacts/{id}', `/v1/contacts/${ids.own[0]}`, `{"metadata":{"x":${deepText(5_000, 'array')}}}`),
      get('GET /v1/contacts/{id}', '/v1/contacts/%00'),
      write('PATCH', 'PATCH /v1/contacts/{id}', '/v1/contacts/a%00b', '{"name":"x"}'),
      build('DELETE', 'DELETE /v1/contacts/{id}', '/v1/contacts/%00', admin(), 'application/json', []),
      get('GET /v1/contacts/{id}', '/v1/contacts/%ZZ'),
      get('GET /v1/contacts/{id}', `/v1/contacts/ctc_${'x'.repeat(200)}`),
      write('POST', 'POST /v1/contacts', '/v1/contacts', `{"name":"${'a'.repeat(5.5 * 1024 * 1024)}"}`),
      write('PATCH', 'PATCH /v1/contacts/{id}', `/v1/contacts/${ids.own[1]}`, `{"metadata":{"blob":"${'é'.repeat(3 * 1024 * 1024)}"}}`),
    ]);
  });

  it('POST /v1/contacts/batch', async () => {
    await run(batchFamily, 160, () => [
      write('POST', 'POST /v1/contacts/batch', '/v1/contacts/batch', `{"contacts":[{"name":"${'b'.repeat(21 * 1024 * 1024)}"}]}`),
      write('POST', 'POST /v1/contacts/batch', '/v1/contacts/batch', `{"contacts":[${Array.from({ length: 1000 }, (_, i) => `{"name":"Big ${i}","metadata":{"pad":"${'p'.repeat(15_000)}"}}`).join(',')}]}`),
    ]);
  });

  it('notes and timeline of a contact', async () => {
    await run(activityFamily, 200, () => [
      get('GET /v1/contacts/{id}/notes', '/v1/contacts/%00/notes'),
      get('GET /v1/contacts/{id}/timeline', '/v1/contacts/%00/timeline'),
      write('POST', 'POST /v1/contacts/{id}/notes', '/v1/contacts/%00/notes', '{"body":"x"}'),
      get('GET /v1/contacts/{id}/notes', `/v1/contacts/${ids.own[0]}/notes?cursor=${cursorOf({ at: 1e300, id: 'x' })}`),
      get('GET /v1/contacts/{id}/notes', `/v1/contacts/${ids.own[0]}/notes?cursor=${cursorOf({ at: 1.5, id: 'x' })}`),
      get('GET /v1/contacts/{id}/notes', `/v1/contacts/${ids.own[0]}/notes?cursor=${cursorOf({ at: 1, id: '\u0000' })}`),
    ]);
  });

  it('query strings of the list, the count and the tags', async () => {
    await run(queryFamily, 300, () => [
      get('GET /v1/contacts', '/v1/contacts?tag=%00'),
      get('GET /v1/contacts/count', '/v1/contacts/count?tag=a%00'),
      get('GET /v1/tags', '/v1/tags?prefix=%00'),
      get('GET /v1/contacts', `/v1/contacts?sort=name&cursor=${cursorOf(['name', 'a\u0000', 'x'])}`),
      get('GET /v1/contacts', `/v1/contacts?sort=name&cursor=${cursorOf(['name', 'a', '\u0000'])}`),
    ]);
  });

  it('/v1/workspace, /v1/keys and /v1/me', async () => {
    await run(workspaceFamily, 180, () => [
      write('PATCH', 'PATCH /v1/workspace', '/v1/workspace', '{"name":"a\\u0000b"}'),
      build('DELETE', 'DELETE /v1/keys/{id}', '/v1/keys/%00', admin(), 'application/json', []),
    ]);
  });

  it('other methods, random paths, odd content types and headers', async () => {
    await run(oddFamily, 240, () => [
      get('GET (random path)', '/%'),
    ]);
  });

  it('sent at least 1,000 generated requests', () => {
    expect(sent).toBeGreaterThanOrEqual(1_000);
  });
});

describe('hostile input below the router', () => {
  /** One raw HTTP/1.1 exchange: what a broken client or a scanner sends, which fetch refuses to. */
  function raw(request: string): Promise<{ status: number; type: string; body: string }> {
    const { port } = new URL(t.url);
    return new Promise((resolve, reject) => {
      const socket = net.connect(Number(port), '127.0.0.1', () => socket.end(Buffer.from(request, 'latin1')));
      let data = '';
      socket.setEncoding('latin1').on('data', (d: string) => { data += d; });
      socket.on('error', reject);
      socket.on('close', () => {
        const [head = '', ...rest] = data.split('\r\n\r\n');
        const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0);
        const type = /\r\ncontent-type: *([^\r]*)/i.exec(head)?.[1] ?? '(none)';
        resolve({ status, type, body: rest.join('\r\n\r\n') });
      });
    });
  }

  it('answers malformed HTTP and oversized headers with a problem document', async () => {
    const auth = `Authorization: Bearer ${adminKey}\r\n`;
    const cases: Record<string, string> = {
      'a header block over the size limit': `GET /v1/contacts HTTP/1.1\r\nHost: x\r\n${auth}X-Big: ${'a'.repeat(20_000)}\r\nConnection: close\r\n\r\n`,
      'a control character in a header': `GET /v1/contacts HTTP/1.1\r\nHost: x\r\n${auth}X-Odd: a\x01b\r\nConnection: close\r\n\r\n`,
      'a Content-Length that is not a number': `POST /v1/contacts HTTP/1.1\r\nHost: x\r\n${auth}Content-Type: application/json\r\nContent-Length: abc\r\nConnection: close\r\n\r\n{}`,
      'a broken chunked body': `POST /v1/contacts HTTP/1.1\r\nHost: x\r\n${auth}Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\nzz\r\n{}\r\n0\r\n\r\n`,
      'a space inside the path': `GET /v1/con tacts HTTP/1.1\r\nHost: x\r\n${auth}Connection: close\r\n\r\n`,
    };
    const wrong: string[] = [];
    for (const [what, request] of Object.entries(cases)) {
      const res = await raw(request);
      if (res.status < 400 || res.status >= 500) wrong.push(`${what}: status ${res.status}`);
      else if (!/^application\/problem\+json/.test(res.type)) wrong.push(`${what}: ${res.status} as ${res.type}: ${res.body.slice(0, 120)}`);
      else if ((JSON.parse(res.body) as { status?: unknown }).status !== res.status) wrong.push(`${what}: problem status differs from ${res.status}`);
    }
    expect(wrong).toEqual([]);
  });
});

describe('text that is not valid UTF-16', () => {
  it('a created contact reads back exactly as the create answered it', async () => {
    const api = client(t.url, adminKey);
    const name = fc.tuple(fc.string({ unit: 'binary', maxLength: 8 }), codeUnits, fc.string({ unit: 'binary', maxLength: 8 }))
      .map(([a, b, c]) => `Zz ${a}${b}${c}`)
      .filter((s) => !s.includes('\u0000') && Array.from(s.trim()).length <= 200);
    await fc.assert(
      fc.asyncProperty(name, async (n) => {
        const created = await api.post('/v1/contacts', { name: n });
        if (created.status !== 201) {
          expect(created.status).toBe(422);
          return;
        }
        const read = await api.get(`/v1/contacts/${created.body.id}`);
        expect(read.status).toBe(200);
        expect(read.body.name).toBe(created.body.name);
      }),
      { numRuns: 80 },
    );
  });
});

describe('after all of it', () => {
  it('the server is healthy and a normal create still works', async () => {
    expect((await fetch(t.url + '/healthz')).status).toBe(200);
    expect((await fetch(t.url + '/readyz')).status).toBe(200);
    const fresh = await t.workspace('After the storm');
    const api = client(t.url, fresh.key);
    const created = await api.post('/v1/contacts', { name: 'Still Working', email: 'still.working@hostile.example', phone: '+14155550199' });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: 'Still Working', email: 'still.working@hostile.example', phone: '+14155550199' });
    const read = await api.get(`/v1/contacts/${created.body.id}`);
    expect(read.status).toBe(200);
    expect(read.body).toEqual(created.body);
    // The seeded contacts of the first workspace are still readable with the admin key.
    const list = await client(t.url, adminKey).get('/v1/contacts?limit=5');
    expect(list.status).toBe(200);
  });
});
