// IP to country (API.md, "Conversations and capture": `ip`; issue 4 item 3): `ip` of POST
// /v1/conversations gives the contact's ip_country from an offline database; for the EU, EEA, UK and
// Switzerland only with consent; a widget key's conversation without `ip` uses the caller's address; a
// bad address is 422; the raw address is stored in no table and returned in no answer.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cellsContaining, readAllTables } from './support/database.js';
import { expectInvalid } from './support/problems.js';
import { type Answer, client, type Client, startTestServer, type TestServer } from './support/server.js';

const US_V4 = '8.8.8.8';
const US_V6 = '2001:4860:4860::8888';
const DE_V4 = '85.214.132.117';
const DE_V6 = '2a01:238:20a:202:1159::1';
const GB_V4 = '81.2.69.160';
const ADDRESSES = [US_V4, US_V6, DE_V4, DE_V6, GB_V4];

let t: TestServer;
let api: Client;
let pk: string;
/** Every answer of this file, to look for the raw addresses in. */
const answers: Answer[] = [];

function keep<T extends Answer>(res: T): T {
  answers.push(res);
  return res;
}

beforeAll(async () => {
  t = await startTestServer();
  const ws = await t.workspace('Geo');
  api = client(t.url, ws.key);
  const agents = keep(await api.get('/v1/agents'));
  expect(agents.status).toBe(200);
  pk = agents.body.data[0].widget_key;
});
afterAll(async () => {
  await t?.close();
});

let n = 0;
const uniq = (p: string) => `${p}-${++n}-${Math.random().toString(36).slice(2, 8)}`;

/** A conversation from `ip`, identified with `consent` (none when undefined); the contact as the API then shows it. */
async function captureFrom(c: Client, ip: string | undefined, consent?: boolean, headers: Record<string, string> = {}, extra: Record<string, unknown> = {}): Promise<any> {
  const started = keep(await c.post('/v1/conversations', { channel: 'widget', visitor_id: uniq('v'), page_url: 'https://geo.example.com/', ...(ip === undefined ? {} : { ip }) }, headers));
  expect(started.status, JSON.stringify(started.body)).toBe(201);
  const email = `${uniq('geo')}@example.com`;
  const token: Record<string, string> = started.body.token ? { 'x-conversation-token': String(started.body.token) } : {};
  const identified = keep(await c.post(`/v1/conversations/${started.body.id}/identify`, { email, ...(consent === undefined ? {} : { consent: { given: consent } }), ...extra }, { ...headers, ...token }));
  expect(identified.status, JSON.stringify(identified.body)).toBe(200);
  const found = keep(await api.get(`/v1/contacts?q=${encodeURIComponent(email)}`));
  expect(found.body.data, `the contact of ${email}`).toHaveLength(1);
  const contact = keep(await api.get(`/v1/contacts/${found.body.data[0].id}`));
  expect(contact.status).toBe(200);
  keep(await api.get(`/v1/conversations/${started.body.id}`));
  keep(await api.get(`/v1/contacts/${contact.body.id}/timeline`));
  keep(await api.get(`/v1/contacts/${contact.body.id}/context`));
  return { contact: contact.body, identify: identified.body, conversation: started.body };
}

describe('ip to country', () => {
  it(`${US_V4} gives US without consent, in the identify answer and on the contact`, async () => {
    const { contact, identify } = await captureFrom(api, US_V4);
    expect(identify.contact.ip_country).toBe('US');
    expect(contact.ip_country).toBe('US');
  });

  it('an IPv6 address works too, and surrounding spaces are trimmed', async () => {
    expect((await captureFrom(api, US_V6)).contact.ip_country).toBe('US');
    expect((await captureFrom(api, `  ${US_V4} `)).contact.ip_country).toBe('US');
  });

  it(`${DE_V4} (Germany) without consent: null; with consent: DE`, async () => {
    expect((await captureFrom(api, DE_V4)).contact.ip_country).toBeNull();
    expect((await captureFrom(api, DE_V4, true)).contact.ip_country).toBe('DE');
    expect((await captureFrom(api, DE_V6)).contact.ip_country).toBeNull();
    expect((await captureFrom(api, DE_V6, true)).contact.ip_country).toBe('DE');
  });

  it('the UK is treated like the EU: null without consent, GB with it', async () => {
    expect((await captureFrom(api, GB_V4)).contact.ip_country).toBeNull();
    expect((await captureFrom(api, GB_V4, true)).contact.ip_country).toBe('GB');
  });

  it('consent required by the workspace and declined: no contact, nothing of the country', async () => {
    const ws = await t.workspace('Geo consent');
    const c = client(t.url, ws.key);
    expect(keep(await c.patch('/v1/workspace', { consent_required: true, consent_text: 'We keep your details' })).status).toBe(200);
    const started = keep(await c.post('/v1/conversations', { channel: 'api', visitor_id: 'v', ip: DE_V4 }));
    expect(started.status).toBe(201);
    const declined = keep(await c.post(`/v1/conversations/${started.body.id}/identify`, { email: 'no@example.com', consent: { given: false } }));
    expect(declined.body).toEqual({ contact: null, created: false });
    expect(keep(await c.get('/v1/contacts/count?archived=all')).body.count).toBe(0);
  });

  it('an existing contact without a country gets it from the identifying conversation, under the same rule', async () => {
    for (const [ip, consent, expected] of [[US_V4, undefined, 'US'], [DE_V4, undefined, null], [DE_V4, true, 'DE']] as const) {
      const email = `${uniq('existing')}@example.com`;
      const made = keep(await api.post('/v1/contacts', { email }));
      expect(made.status).toBe(201);
      expect(made.body.ip_country).toBeNull();
      const started = keep(await api.post('/v1/conversations', { channel: 'api', visitor_id: uniq('v'), ip }));
      const res = keep(await api.post(`/v1/conversations/${started.body.id}/identify`, { email, ...(consent ? { consent: { given: true } } : {}) }));
      expect(res.status).toBe(200);
      expect(res.body.contact.id).toBe(made.body.id);
      expect(res.body.contact.ip_country, `${ip} consent ${String(consent)}`).toBe(expected);
    }
  });
});

describe("a widget key's conversation without ip uses the caller's address", () => {
  it('127.0.0.1 (loopback) gives null, even with consent; a forwarded header is not trusted by default', async () => {
    const w = client(t.url, pk);
    const plain = await captureFrom(w, undefined, true);
    expect(plain.identify).toEqual({ identified: true });
    expect(plain.contact.ip_country).toBeNull();
    const forwarded = await captureFrom(w, undefined, true, { 'x-forwarded-for': US_V4 });
    expect(forwarded.contact.ip_country).toBeNull();
  });

  it('behind a trusted proxy the forwarded address counts: US without consent, DE only with consent', async () => {
    const proxied = await startTestServer({ env: { TRUST_PROXY: 'true' } });
    try {
      const ws = await proxied.workspace('Proxied');
      const admin = client(proxied.url, ws.key);
      const key = keep(await admin.get('/v1/agents')).body.data[0].widget_key;
      const w = client(proxied.url, key);
      const via = (ip: string) => ({ 'x-forwarded-for': ip });
      const found = async (email: string) => keep(await admin.get(`/v1/contacts?q=${encodeURIComponent(email)}`)).body.data[0];
      const run = async (ip: string, consent?: boolean) => {
        const started = keep(await w.post('/v1/conversations', { visitor_id: uniq('v') }, via(ip)));
        expect(started.status).toBe(201);
        const email = `${uniq('proxied')}@example.com`;
        const res = keep(await w.post(`/v1/conversations/${started.body.id}/identify`, { email, ...(consent ? { consent: { given: true } } : {}) }, { ...via(ip), 'x-conversation-token': started.body.token }));
        expect(res.body).toEqual({ identified: true });
        return (await found(email)).ip_country;
      };
      expect(await run(US_V4)).toBe('US');
      expect(await run(DE_V4)).toBeNull();
      expect(await run(DE_V4, true)).toBe('DE');
      // An explicit ip in the body wins over the caller's address.
      const started = keep(await w.post('/v1/conversations', { visitor_id: uniq('v'), ip: US_V4 }, via(DE_V4)));
      const email = `${uniq('explicit')}@example.com`;
      keep(await w.post(`/v1/conversations/${started.body.id}/identify`, { email }, { 'x-conversation-token': started.body.token }));
      expect((await found(email)).ip_country).toBe('US');

      const rows = await readAllTables(proxied);
      expect(cellsContaining(rows, ADDRESSES)).toEqual([]);
    } finally {
      await proxied.close();
    }
  });
});

describe('invalid addresses', () => {
  it.each(['not-an-ip', '999.1.1.1', '8.8.8', '8.8.8.8.8', '8.8.8.8/24', '8.8.8.8; DROP TABLE contacts', 'localhost', '::g', '1'])('%s: 422 naming ip', async (ip) => {
    // Not kept for the leak check: an invalid value may be echoed in the problem, it is no address.
    expectInvalid(await api.post('/v1/conversations', { channel: 'api', visitor_id: uniq('v'), ip }), 'ip');
  });

  it('a widget key with a bad ip: 422 too', async () => {
    expectInvalid(await client(t.url, pk).post('/v1/conversations', { visitor_id: uniq('v'), ip: 'nope' }), 'ip');
  });

  it('an address longer than any IP: 422', async () => {
    expectInvalid(await api.post('/v1/conversations', { channel: 'api', ip: '1'.repeat(100) }), 'ip');
  });

  it('null or an empty string: no address, accepted', async () => {
    for (const ip of [null, '']) {
      const res = keep(await api.post('/v1/conversations', { channel: 'api', visitor_id: uniq('v'), ip }));
      expect(res.status, JSON.stringify(res.body)).toBe(201);
    }
  });
});

describe('the raw address is never stored or returned', () => {
  it('with an Idempotency-Key too', async () => {
    const body = { channel: 'api', visitor_id: uniq('idem'), ip: GB_V4 };
    const first = keep(await api.post('/v1/conversations', body, { 'idempotency-key': uniq('k') }));
    expect(first.status).toBe(201);
  });

  it('appears in no table', async () => {
    const rows = await readAllTables(t);
    expect(Object.keys(rows).length).toBeGreaterThan(3);
    expect(rows.conversations?.length ?? 0).toBeGreaterThan(5);
    // The check can see a value: the countries are there, the addresses are not.
    expect((rows.contacts ?? []).map((r) => r.ip_country)).toEqual(expect.arrayContaining(['US', 'DE', 'GB']));
    expect(cellsContaining(rows, ['geo.example.com']).length).toBeGreaterThan(0);
    expect(cellsContaining(rows, ADDRESSES)).toEqual([]);
    expect(cellsContaining(rows, ['4860:4860', '1159::1', '132.117', '69.160'])).toEqual([]);
  });

  it('appears in no answer', async () => {
    expect(answers.length).toBeGreaterThan(30);
    const leaks = answers.map((a) => JSON.stringify(a.body)).filter((text) => ADDRESSES.some((ip) => text.includes(ip)));
    expect(leaks).toEqual([]);
  });
});
