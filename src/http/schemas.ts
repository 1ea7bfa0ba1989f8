// Request and response schemas: one TypeBox definition gives validation, serialisation and OpenAPI.
import { type TSchema, Type } from '@sinclair/typebox';
import { LIFECYCLE_STAGES } from '../domain/contact.js';
import { SCOPES } from '../domain/access.js';

export const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);
const Timestamp = Type.String({ format: 'date-time', examples: ['2026-03-15T10:30:00.000Z'] });

export const Problem = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.Optional(Type.String()),
    errors: Type.Optional(Type.Array(Type.Object({ field: Type.String(), message: Type.String() }))),
    existing_id: Type.Optional(Type.String({ description: 'On a duplicate contact: the contact that holds the email or phone' })),
  },
  { $id: 'Problem', additionalProperties: true, description: 'RFC 9457 problem details' },
);

export const Stage = Type.Union(LIFECYCLE_STAGES.map((s) => Type.Literal(s)));

export const Contact = Type.Object(
  {
    id: Type.String({ examples: ['ctc_mx7s16628f3k2j1m0a9b7c6d'] }),
    name: Nullable(Type.String()),
    email: Nullable(Type.String()),
    phone: Nullable(Type.String({ description: 'E.164' })),
    company: Nullable(Type.String()),
    source: Type.String({ description: 'widget, api, whatsapp, slack or a custom word' }),
    first_seen: Timestamp,
    last_seen: Timestamp,
    conversation_count: Type.Integer(),
    page_url: Nullable(Type.String()),
    ip_country: Nullable(Type.String()),
    tags: Type.Array(Type.String()),
    metadata: Type.Object({}, { additionalProperties: true }),
    lifecycle_stage: Stage,
    archived: Type.Boolean(),
    created_at: Timestamp,
    updated_at: Timestamp,
  },
  { $id: 'Contact', additionalProperties: false },
);

const writable = {
  name: Type.Optional(Nullable(Type.String({ description: 'At most 200 characters' }))),
  email: Type.Optional(Nullable(Type.String({ description: 'At most 254 characters; matched case-insensitively' }))),
  phone: Type.Optional(Nullable(Type.String({ description: "Normalised to E.164; numbers without + use the workspace's default_phone_region" }))),
  company: Type.Optional(Nullable(Type.String({ description: 'At most 200 characters' }))),
  page_url: Type.Optional(Nullable(Type.String({ description: 'http(s) URL, at most 2,048 characters' }))),
  ip_country: Type.Optional(Nullable(Type.String({ description: 'ISO 3166 alpha-2' }))),
  tags: Type.Optional(Nullable(Type.Array(Type.String(), { description: 'Lowercased, unique, at most 50 of 64 characters, without commas' }))),
  metadata: Type.Optional(Nullable(Type.Object({}, { additionalProperties: true, description: 'At most 16 KiB as JSON' }))),
  lifecycle_stage: Type.Optional(Nullable(Stage)),
};

export const ContactCreate = Type.Object(
  { ...writable, source: Type.Optional(Nullable(Type.String({ description: 'Defaults to api' }))) },
  { $id: 'ContactCreate', additionalProperties: false },
);

export const ContactPatch = Type.Object(writable, {
  $id: 'ContactPatch',
  additionalProperties: false,
  description: 'Fields present are set, null clears, tags replaces, metadata is merged as an RFC 7396 merge patch',
});

export const BatchItem = Type.Object(
  {
    ...writable,
    source: Type.Optional(Nullable(Type.String({ description: 'Used on create, ignored on update' }))),
    created_at: Type.Optional(Type.String({ description: 'historical mode only' })),
    first_seen: Type.Optional(Type.String({ description: 'historical mode only' })),
    last_seen: Type.Optional(Type.String({ description: 'historical mode only' })),
    conversation_count: Type.Optional(Type.Integer({ minimum: 0, description: 'historical mode only' })),
  },
  { $id: 'BatchItem', additionalProperties: false },
);

export const BatchRequest = Type.Object(
  {
    contacts: Type.Array(BatchItem, { minItems: 1, maxItems: 1000 }),
    historical: Type.Optional(Type.Boolean({ description: 'Migration mode (admin scope): items may carry created_at, first_seen, last_seen, conversation_count as a baseline' })),
  },
  { additionalProperties: false },
);

export const BatchResponse = Type.Object({
  results: Type.Array(Type.Object({
    index: Type.Integer(),
    status: Type.Union([Type.Literal('created'), Type.Literal('updated'), Type.Literal('skipped'), Type.Literal('error')]),
    id: Nullable(Type.String()),
    error: Nullable(Type.String()),
  })),
});

export const pageOf = <T extends TSchema>(item: T) =>
  Type.Object({ data: Type.Array(item), has_more: Type.Boolean(), next_cursor: Nullable(Type.String()) });

const Str = (description: string) => Type.Optional(Type.String({ description }));

export const ListFilterQuery = {
  q: Str('Search: partial name or email (3+ characters), start of a word (1-2), phone digits, contact id prefix'),
  source: Str('Comma list: widget,api'),
  created_from: Str('RFC 3339 or YYYY-MM-DD (whole day in the workspace time zone)'),
  created_to: Str('RFC 3339 or YYYY-MM-DD'),
  first_seen_from: Str('RFC 3339 or YYYY-MM-DD'),
  first_seen_to: Str('RFC 3339 or YYYY-MM-DD'),
  last_seen_from: Str('RFC 3339 or YYYY-MM-DD'),
  last_seen_to: Str('RFC 3339 or YYYY-MM-DD'),
  last_active: Str('today, 7d or 30d'),
  tag: Type.Optional(Type.Union([Type.String(), Type.Array(Type.String(), { maxItems: 50 })], { description: 'Repeatable; every tag must be present' })),
  conversation_count_min: Str('Inclusive'),
  conversation_count_max: Str('Inclusive'),
  has_email: Str('true or false'),
  has_phone: Str('true or false'),
  lifecycle_stage: Str('Comma list: new,returning,qualified,customer'),
  archived: Str('false (default), true or all'),
};

export const ListQuery = Type.Object(
  {
    ...ListFilterQuery,
    sort: Str('name, email, phone, source, created_at, last_seen, first_seen, conversation_count; - for descending; default -last_seen'),
    limit: Str('1..200, default 50'),
    cursor: Str('next_cursor of the previous page'),
  },
  { additionalProperties: false },
);

export const CountQuery = Type.Object(
  { ...ListFilterQuery, sort: Str('Accepted as on the list (checked, does not change the count)') },
  { additionalProperties: false },
);
export const PageQuery = Type.Object({ limit: Str('1..200, default 50'), cursor: Str('next_cursor of the previous page') }, { additionalProperties: false });

export const IdParams = Type.Object({ id: Type.String({ maxLength: 64 }) });

export const Actor = Type.Object({
  type: Type.String({ description: 'api_key, user or system' }),
  id: Nullable(Type.String()),
  name: Nullable(Type.String()),
});

export const Note = Type.Object({ id: Type.String(), body: Type.String(), author: Actor, created_at: Timestamp }, { $id: 'Note' });
export const NoteCreate = Type.Object({ body: Type.String({ description: 'At most 10,000 characters' }) }, { additionalProperties: false });

export const TimelineEntry = Type.Object({
  id: Type.String(),
  type: Type.String({ description: 'contact.created, contact.updated, contact.deleted, contact.merged, note.added, ...' }),
  occurred_at: Timestamp,
  actor: Nullable(Actor),
  data: Type.Unknown(),
});

export const Scope = Type.Union(SCOPES.map((s) => Type.Literal(s)));

export const ApiKey = Type.Object({
  id: Type.String(),
  name: Nullable(Type.String()),
  prefix: Type.String({ description: 'The first characters of the key, to recognise it' }),
  scopes: Type.Array(Scope),
  created_at: Timestamp,
  last_used_at: Nullable(Timestamp),
});

export const ApiKeyCreated = Type.Composite([ApiKey, Type.Object({
  key: Nullable(Type.String({ description: 'The secret, shown only in this answer (null in an Idempotency-Key replay)' })),
  secret_shown: Type.Optional(Type.String({ description: 'In an Idempotency-Key replay: the secret was shown in the first answer' })),
})]);

export const Workspace = Type.Object({
  id: Type.String(),
  name: Type.String(),
  plan: Type.Union(['free', 'pro', 'business', 'enterprise'].map((p) => Type.Literal(p))),
  limits: Type.Object({
    contacts: Nullable(Type.Integer()),
    conversation_retention_days: Nullable(Type.Integer()),
    export_history_days: Nullable(Type.Integer()),
  }),
  usage: Type.Object({ contacts: Type.Integer(), archived_contacts: Type.Integer() }),
  consent_required: Type.Boolean(),
  consent_text: Nullable(Type.String()),
  retention_days: Nullable(Type.Integer()),
  default_phone_region: Nullable(Type.String()),
  timezone: Type.String(),
  created_at: Timestamp,
});

export const WorkspacePatch = Type.Object(
  {
    name: Type.Optional(Type.String()),
    plan: Type.Optional(Type.String({ description: 'free, pro, business or enterprise' })),
    consent_required: Type.Optional(Type.Boolean()),
    consent_text: Type.Optional(Nullable(Type.String())),
    retention_days: Type.Optional(Nullable(Type.Integer({ description: 'Conversation retention for enterprise plans, in days' }))),
    default_phone_region: Type.Optional(Nullable(Type.String({ description: 'ISO 3166 alpha-2, e.g. US' }))),
    timezone: Type.Optional(Type.String({ description: 'IANA name, e.g. Europe/Berlin' })),
  },
  { additionalProperties: false },
);

export const problemResponse = { description: 'Problem details (RFC 9457)', content: { 'application/problem+json': { schema: Type.Ref('Problem') } } };

/** Standard error answers, so the OpenAPI document lists every status a route can give. */
export function errors(...codes: number[]) {
  const out: Record<number, unknown> = {};
  for (const c of [400, 401, 403, 404, 405, 413, 415, 422, 429, ...codes]) out[c] = problemResponse;
  return out;
}
