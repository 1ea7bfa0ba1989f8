// Identify (API.md "Conversations and capture"; issue 4 items 2, 4, 6 and 11): from anonymous visitor
// to one contact, the auto fields, the match order, consent (nothing stored when declined, read back
// from every table), 50 concurrent identifies of one person, and the agent's context.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cellsContaining, readAllTables } from './support/database.js';
import { expectInvalid, expectProblem } from './support/problems.js';
import { contact, start, timeline } from './support/capture.js';
import { client, type Client, manualClock, startTestServer, type TestServer } from './support/server.js';

const T0 = Date.parse('2026-03-15T10:30:00.000Z');
const MIN = 60_000;
const DAY = 24 * 60 * MIN;
const iso = (ms: number) => new Date(ms).toISOString();
const clock = manualClock(T0);
let t: TestServer;

beforeAll(async () => {
  t = await startTestServer({ clock });
});
afterAll(async () => {
  await t?.close();
});

async function newWorkspace(): Promise<{ api: Client; id: string }> {
  const ws = await t.workspace();
  return { api: client(t.url, ws.key), id: ws.id };
}

async function say(api: Client, id: string, text: string, role = 'user'): Promise<any> {
  const res = await api.post(`/v1/conversations/${id}/messages`, { role, text });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body;
}

async function identify(api: Client, convId: string, body: Record<string, unknown>): Promise<any> {
  const res = await api.post(`/v1/conversations/${convId}/identify`, body);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body;
}

async function count(api: Client): Promise<number> {
  const res = await api.get('/v1/contacts/count?archived=all');
  expect(res.status).toBe(200);
  return res.body.count;
}

describe('from anonymous visitor to one contact', () => {
  it('three anonymous conversations then an identify give one contact with the auto fields of all three', async () => {
    const { api } = await newWorkspace();
    const convs: any[] = [];
    clock.set(T0);
    convs.push(await start(api, { channel: 'widget', visitor_id: 'sarah-cookie', page_url: 'https://acme.com/pricing' }));
    clock.set(T0 + MIN);
    await say(api, convs[0].id, 'How much is pro?');
    clock.set(T0 + DAY);
    convs.push(await start(api, { channel: 'widget', visitor_id: 'sarah-cookie', page_url: 'https://acme.com/features' }));
    clock.set(T0 + DAY + 2 * MIN);
    await say(api, convs[1].id, 'Do you integrate with Slack?');
    clock.set(T0 + 2 * DAY);
    convs.push(await start(api, { channel: 'widget', visitor_id: 'sarah-cookie', page_url: 'https://acme.com/demo' }));
    clock.set(T0 + 2 * DAY + 5 * MIN);
    await say(api, convs[2].id, 'I would like a demo');
    expect(await count(api)).toBe(0);

    const res = await identify(api, convs[2].id, { name: 'Sarah Johnson', email: 'Sarah@Acme.com', company: 'Acme Corp' });
    expect(res.created).toBe(true);
    const c = res.contact;
    expect(c.id).toMatch(/^ctc_/);
    expect(c).toMatchObject({
      name: 'Sarah Johnson', email: 'Sarah@Acme.com', company: 'Acme Corp', phone: null,
      conversation_count: 3, first_seen: iso(T0), last_seen: iso(T0 + 2 * DAY + 5 * MIN),
      source: 'widget', page_url: 'https://acme.com/pricing', lifecycle_stage: 'returning',
    });
    expect(await contact(api, c.id)).toMatchObject({ conversation_count: 3, first_seen: iso(T0), last_seen: iso(T0 + 2 * DAY + 5 * MIN), source: 'widget', page_url: 'https://acme.com/pricing' });
    expect(await count(api)).toBe(1);
    // Found by search at once, by name and by email.
    for (const q of ['sarah joh', 'acme.com']) expect((await api.get(`/v1/contacts?q=${encodeURIComponent(q)}`)).body.data.map((x: any) => x.id), q).toEqual([c.id]);
    for (const conv of convs) expect((await api.get(`/v1/conversations/${conv.id}`)).body.contact_id).toBe(c.id);
    expect((await api.get('/v1/conversations?anonymous=true')).body.data).toEqual([]);

    // The same email in another letter case, on another channel and visitor: the same contact.
    clock.set(T0 + 3 * DAY);
    const wa = await start(api, { channel: 'whatsapp', visitor_id: '+15550001111' });
    const again = await identify(api, wa.id, { email: 'SARAH@acme.COM', phone: '+1 555 123 4567' });
    expect(again.created).toBe(false);
    expect(again.contact.id).toBe(c.id);
    expect(again.contact).toMatchObject({
      conversation_count: 4, first_seen: iso(T0), last_seen: iso(T0 + 3 * DAY), phone: '+15551234567',
      source: 'widget', name: 'Sarah Johnson', page_url: 'https://acme.com/pricing',
    });
    // Matched case-insensitively (which spelling is kept, API.md leaves open: identify sets what it is given).
    expect(again.contact.email.toLowerCase()).toBe('sarah@acme.com');
    expect(await count(api)).toBe(1);
    expect((await api.get(`/v1/conversations/${wa.id}`)).body.contact_id).toBe(c.id);
  });

  it('source is the channel of the conversation that created the contact; page_url is null without one', async () => {
    const { api } = await newWorkspace();
    const conv = await start(api, { channel: 'telegram', visitor_id: 't-1' });
    const res = await identify(api, conv.id, { name: 'Tg Person' });
    expect(res.contact).toMatchObject({ source: 'telegram', page_url: null, conversation_count: 1, lifecycle_stage: 'new' });
  });

  it('an identify with the same email in other letters matches the contact and keeps its stored spelling', async () => {
    const { api } = await newWorkspace();
    const made = await api.post('/v1/contacts', { name: 'Spelling Kept', email: 'Kept.Spelling@Example.com' });
    expect(made.status).toBe(201);
    const conv = await start(api, { channel: 'api' });
    const answer = await identify(api, conv.id, { email: 'KEPT.SPELLING@EXAMPLE.COM', company: 'Found Co' });
    expect(answer.contact.id).toBe(made.body.id);
    expect(await contact(api, made.body.id)).toMatchObject({ email: 'Kept.Spelling@Example.com', company: 'Found Co' });
  });

  it('a contact created through the API without a page takes the page of its first conversation, and keeps one it has', async () => {
    const { api } = await newWorkspace();
    const bare = (await api.post('/v1/contacts', { email: 'no.page@example.com' })).body;
    const placed = (await api.post('/v1/contacts', { email: 'has.page@example.com', page_url: 'https://example.com/own' })).body;
    for (const [who, page] of [[bare, 'https://example.com/pricing'], [placed, 'https://example.com/other']] as const) {
      const conv = await start(api, { channel: 'widget', visitor_id: `v-${who.id}`, page_url: page });
      await identify(api, conv.id, { email: who.email });
    }
    expect((await contact(api, bare.id)).page_url).toBe('https://example.com/pricing');
    expect((await contact(api, placed.id)).page_url).toBe('https://example.com/own');
  });

  it('a contact created through the API that talks later keeps its first_seen (it never moves later)', async () => {
    // API.md: created through the API, first_seen = last_seen = created_at; "first" seen cannot move later.
    const { api } = await newWorkspace();
    clock.set(T0);
    const made = (await api.post('/v1/contacts', { name: 'Early Bird', email: 'early@example.com' })).body;
    expect(made).toMatchObject({ first_seen: iso(T0), last_seen: iso(T0), conversation_count: 0 });
    clock.set(T0 + 5 * DAY);
    const conv = await start(api, { channel: 'widget', visitor_id: 'early' });
    const res = await identify(api, conv.id, { email: 'early@example.com' });
    expect(res.contact.id).toBe(made.id);
    expect(res.contact).toMatchObject({ conversation_count: 1, last_seen: iso(T0 + 5 * DAY), source: 'api' });
    expect(res.contact.first_seen).toBe(iso(T0));
  });

  it('a later conversation of an identified visitor counts on the contact at once', async () => {
    const { api } = await newWorkspace();
    clock.set(T0);
    const first = await start(api, { channel: 'widget', visitor_id: 'back-again' });
    const c = (await identify(api, first.id, { email: 'back@example.com' })).contact;
    expect(c).toMatchObject({ conversation_count: 1, lifecycle_stage: 'new' });
    clock.set(T0 + 7 * DAY);
    const later = await start(api, { channel: 'widget', visitor_id: 'back-again', page_url: 'https://acme.com/other' });
    expect(later.contact_id).toBe(c.id);
    expect(await contact(api, c.id)).toMatchObject({
      conversation_count: 2, first_seen: iso(T0), last_seen: iso(T0 + 7 * DAY), lifecycle_stage: 'returning', page_url: null,
    });
    clock.set(T0 + 7 * DAY + 3 * MIN);
    await say(api, later.id, 'hello again');
    expect((await contact(api, c.id)).last_seen).toBe(iso(T0 + 7 * DAY + 3 * MIN));
    // The same visitor id on another channel is another visitor: anonymous.
    const elsewhere = await start(api, { channel: 'slack', visitor_id: 'back-again' });
    expect(elsewhere.contact_id).toBeNull();
    expect((await contact(api, c.id)).conversation_count).toBe(2);
  });

  it('the timeline shows lead.captured with the action', async () => {
    const { api } = await newWorkspace();
    const conv = await start(api, { channel: 'widget', visitor_id: 'lc' });
    const c = (await identify(api, conv.id, { email: 'lead@example.com', action: 'demo_booking' })).contact;
    const tl = await timeline(api, c.id);
    const captured = tl.filter((e) => e.type === 'lead.captured');
    expect(captured).toHaveLength(1);
    expect(captured[0].data).toMatchObject({ action: 'demo_booking' });
    expect(captured[0].id).toMatch(/^evt_/);
    expect(tl.some((e) => e.type === 'contact.created')).toBe(true);

    // A second action on the same contact is a second entry, with its own action.
    const conv2 = await start(api, { channel: 'widget', visitor_id: 'lc' });
    await identify(api, conv2.id, { email: 'lead@example.com', action: 'newsletter' });
    const actions = (await timeline(api, c.id)).filter((e) => e.type === 'lead.captured').map((e) => e.data.action).sort();
    expect(actions).toEqual(['demo_booking', 'newsletter']);
    expectInvalid(await api.post(`/v1/conversations/${conv2.id}/identify`, { email: 'lead@example.com', action: 'not a word!' }), 'action');
  });

  it('rejects an identify without name, email or phone, bad fields, and an unknown conversation', async () => {
    const { api } = await newWorkspace();
    const conv = await start(api, { visitor_id: 'nobody' });
    expectProblem(await api.post(`/v1/conversations/${conv.id}/identify`, { company: 'Only a company' }), 422);
    expectInvalid(await api.post(`/v1/conversations/${conv.id}/identify`, { email: 'not-an-email' }), 'email');
    expectInvalid(await api.post(`/v1/conversations/${conv.id}/identify`, { phone: '+1 2' }), 'phone');
    expectProblem(await api.post(`/v1/conversations/${conv.id}/identify`, { email: 'a@example.com', source: 'widget' }), 422);
    expectProblem(await api.post('/v1/conversations/cnv_doesnotexist/identify', { email: 'a@example.com' }), 404);
    expect(await count(api)).toBe(0);
    expect((await api.get(`/v1/conversations/${conv.id}`)).body.contact_id).toBeNull();
  });
});

describe('match order: email, then phone, then the visitor\'s linked contact', () => {
  it('email wins over phone; a phone held by another contact is not moved and is noted as a possible duplicate', async () => {
    const { api } = await newWorkspace();
    const a = (await api.post('/v1/contacts', { name: 'Ann', email: 'ann@example.com' })).body;
    const b = (await api.post('/v1/contacts', { name: 'Ben', phone: '+15551230001' })).body;
    const conv = await start(api, { channel: 'widget', visitor_id: 'mixed' });
    const res = await identify(api, conv.id, { email: 'ANN@example.com', phone: '+15551230001', company: 'Ann Co' });
    expect(res.created).toBe(false);
    expect(res.contact.id).toBe(a.id);
    expect(res.contact).toMatchObject({ phone: null, company: 'Ann Co' });
    expect(res.contact.email.toLowerCase()).toBe('ann@example.com');
    expect((await contact(api, b.id)).phone).toBe('+15551230001');
    expect(await count(api)).toBe(2);
    const dup = (await timeline(api, a.id)).filter((e) => e.type === 'possible_duplicate');
    expect(dup).toHaveLength(1);
    expect(JSON.stringify(dup[0].data)).toContain(b.id);
  });

  it('phone matches when no email matches', async () => {
    const { api } = await newWorkspace();
    const b = (await api.post('/v1/contacts', { name: 'Ben', phone: '+15551230002' })).body;
    const conv = await start(api, { channel: 'whatsapp', visitor_id: '+15551230002' });
    const res = await identify(api, conv.id, { phone: '+1 (555) 123-0002', email: 'ben@example.com' });
    expect(res.created).toBe(false);
    expect(res.contact).toMatchObject({ id: b.id, email: 'ben@example.com', name: 'Ben', conversation_count: 1 });
    expect(await count(api)).toBe(1);
  });

  it("the visitor's linked contact matches when neither email nor phone does; email still wins over it", async () => {
    const { api } = await newWorkspace();
    const first = await start(api, { channel: 'widget', visitor_id: 'linked' });
    const c = (await identify(api, first.id, { email: 'linked@example.com' })).contact;
    const second = await start(api, { channel: 'widget', visitor_id: 'linked' });
    const byLink = await identify(api, second.id, { name: 'Linda', phone: '+15551230003' });
    expect(byLink.created).toBe(false);
    expect(byLink.contact).toMatchObject({ id: c.id, name: 'Linda', phone: '+15551230003', email: 'linked@example.com', conversation_count: 2 });

    const other = (await api.post('/v1/contacts', { name: 'Olga', email: 'olga@example.com' })).body;
    const third = await start(api, { channel: 'widget', visitor_id: 'linked' });
    const byEmail = await identify(api, third.id, { email: 'olga@example.com' });
    expect(byEmail.contact.id).toBe(other.id);
    expect((await api.get(`/v1/conversations/${third.id}`)).body.contact_id).toBe(other.id);
    expect(await count(api)).toBe(2);
  });

  it('an identify sets the fields it is given and leaves the others', async () => {
    const { api } = await newWorkspace();
    const conv = await start(api, { channel: 'widget', visitor_id: 'partial' });
    const c = (await identify(api, conv.id, { name: 'Pat', email: 'pat@example.com', company: 'Pat Co', metadata: { plan: 'pro' } })).contact;
    const conv2 = await start(api, { channel: 'widget', visitor_id: 'partial' });
    const res = await identify(api, conv2.id, { email: 'pat@example.com', metadata: { seats: 5 } });
    expect(res.contact).toMatchObject({ id: c.id, name: 'Pat', company: 'Pat Co', metadata: { plan: 'pro', seats: 5 } });
  });
});

describe('consent', () => {
  async function consentWorkspace(text: string | null = 'We keep your details to answer you.') {
    const ws = await newWorkspace();
    const res = await ws.api.patch('/v1/workspace', { consent_required: true, consent_text: text });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.consent_required).toBe(true);
    return ws;
  }

  it('required and missing, or declined: no contact and no personal data in any table', async () => {
    const { api } = await consentWorkspace();
    const person = { name: 'Zelda Quixotic-Nobody', email: 'zelda.quixotic@private-example.org', phone: '+15559871234', company: 'Hyrule Secret Ltd' };
    const conv = await start(api, { channel: 'widget', visitor_id: 'no-consent', page_url: 'https://acme.com/pricing' });
    await say(api, conv.id, 'just browsing');

    const missing = await api.post(`/v1/conversations/${conv.id}/identify`, person);
    expect(missing.status, JSON.stringify(missing.body)).toBe(200);
    expect(missing.body).toEqual({ contact: null, created: false });
    const declined = await api.post(`/v1/conversations/${conv.id}/identify`, { ...person, consent: { given: false } });
    expect(declined.status, JSON.stringify(declined.body)).toBe(200);
    expect(declined.body).toEqual({ contact: null, created: false });

    expect(await count(api)).toBe(0);
    expect((await api.get('/v1/contacts?archived=all')).body.data).toEqual([]);
    expect((await api.get(`/v1/contacts?q=${encodeURIComponent('zelda')}`)).body.data).toEqual([]);
    const read = (await api.get(`/v1/conversations/${conv.id}`)).body;
    expect(read.contact_id).toBeNull();
    expect((await api.get('/v1/conversations?anonymous=true')).body.data.map((c: any) => c.id)).toEqual([conv.id]);
    const ctx = (await api.get('/v1/visitors/no-consent/context')).body;
    expect(ctx.contact).toBeNull();

    const tables = await readAllTables(t);
    // The reading sees this workspace's rows (so an empty answer below means something).
    expect(cellsContaining(tables, [conv.id, 'just browsing']).length).toBeGreaterThanOrEqual(2);
    const hits = cellsContaining(tables, [person.email, 'zelda', 'quixotic', '5559871234', 'hyrule']);
    expect(hits, 'personal data stored although consent was not given').toEqual([]);
  });

  it('declined consent creates nothing even where the workspace does not require consent', async () => {
    const { api } = await newWorkspace();
    const conv = await start(api, { channel: 'widget', visitor_id: 'declines' });
    const res = await api.post(`/v1/conversations/${conv.id}/identify`, { email: 'declined.person@private-example.org', name: 'Declan Declined', consent: { given: false } });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ contact: null, created: false });
    expect(await count(api)).toBe(0);
    expect(cellsContaining(await readAllTables(t), ['declined.person@private-example.org', 'declan declined'])).toEqual([]);
  });

  it('given consent is stored in metadata and recorded on the timeline with the wording', async () => {
    const wording = 'We keep your details to answer you. (v2)';
    const { api } = await consentWorkspace(wording);
    clock.set(T0 + 10 * MIN);
    const conv = await start(api, { channel: 'widget', visitor_id: 'consents' });
    const res = await identify(api, conv.id, { email: 'yes@example.com', consent: { given: true, at: '2026-03-15T10:39:30Z' } });
    expect(res.created).toBe(true);
    expect(res.contact.metadata).toMatchObject({ consent_given: true, consent_at: '2026-03-15T10:39:30.000Z' });
    expect((await contact(api, res.contact.id)).metadata).toMatchObject({ consent_given: true, consent_at: '2026-03-15T10:39:30.000Z' });
    const rec = (await timeline(api, res.contact.id)).filter((e) => e.type === 'consent.recorded');
    expect(rec).toHaveLength(1);
    expect(rec[0].data).toMatchObject({ wording, channel: 'widget' });
    expect(JSON.stringify(rec[0].data)).toContain('2026-03-15T10:39:30.000Z');

    // Without a time, the consent time is now.
    clock.set(T0 + 20 * MIN);
    const conv2 = await start(api, { channel: 'widget', visitor_id: 'consents-2' });
    const res2 = await identify(api, conv2.id, { email: 'yes2@example.com', consent: { given: true } });
    expect(res2.contact.metadata).toMatchObject({ consent_given: true, consent_at: iso(T0 + 20 * MIN) });
    expectInvalid(await api.post(`/v1/conversations/${conv2.id}/identify`, { email: 'yes2@example.com', consent: { given: true, at: 'soon' } }), 'consent.at');
  });

  it('consent in metadata is checked and kept in the API form; a PATCH that withdraws or gives it is recorded', async () => {
    const { api } = await newWorkspace();
    clock.set(T0 + 30 * MIN);
    const conv = await start(api, { channel: 'widget', visitor_id: 'withdraws' });
    const res = await identify(api, conv.id, { email: 'withdraw@example.com', consent: { given: true } });
    const id = res.contact.id as string;
    expectInvalid(await api.patch(`/v1/contacts/${id}`, { metadata: { consent_given: 'yes' } }), 'metadata.consent_given');
    expectInvalid(await api.patch(`/v1/contacts/${id}`, { metadata: { consent_at: 'last week' } }), 'metadata.consent_at');
    expectInvalid(await api.post('/v1/contacts', { name: 'Bad consent', metadata: { consent_at: 12 } }), 'metadata.consent_at');

    clock.set(T0 + 40 * MIN);
    const withdrawn = await api.patch(`/v1/contacts/${id}`, { metadata: { consent_given: false, consent_at: null } });
    expect(withdrawn.status).toBe(200);
    expect(withdrawn.body.metadata).toEqual({ consent_given: false });
    const out = (await timeline(api, id)).filter((e) => e.type === 'consent.withdrawn');
    expect(out).toHaveLength(1);
    expect(out[0].data).toMatchObject({ given: false, at: iso(T0 + 40 * MIN), channel: 'api' });
    // Given again with a time in another offset: stored as UTC with milliseconds, recorded at that time.
    const again = await api.patch(`/v1/contacts/${id}`, { metadata: { consent_given: true, consent_at: '2026-03-15T12:45:00+01:00' } });
    expect(again.body.metadata).toEqual({ consent_given: true, consent_at: '2026-03-15T11:45:00.000Z' });
    expect((await timeline(api, id)).filter((e) => e.type === 'consent.recorded').map((e) => e.data.at)).toEqual(['2026-03-15T11:45:00.000Z', iso(T0 + 30 * MIN)]);
    // The access request lists every consent record: given, withdrawn, given.
    const access = (await api.get(`/v1/contacts/${id}/data-export`)).body;
    expect(access.consents.map((c: { given: boolean }) => c.given).sort()).toEqual([false, true, true]);
    // A PATCH that leaves consent as it was records nothing.
    await api.patch(`/v1/contacts/${id}`, { company: 'Still consenting' });
    expect((await timeline(api, id)).filter((e) => e.type.startsWith('consent.'))).toHaveLength(3);
  });

  it('a conversation identified again as another person moves to them, and the first contact\'s counts follow', async () => {
    const { api } = await newWorkspace();
    clock.set(T0 + 50 * MIN);
    const conv = await start(api, { channel: 'widget', visitor_id: 'mover' });
    const a = (await identify(api, conv.id, { email: 'first.person@example.com' })).contact;
    expect((await contact(api, a.id)).conversation_count).toBe(1);
    const existing = await api.post('/v1/contacts', { email: 'second.person@example.com' });
    const b = (await identify(api, conv.id, { email: 'second.person@example.com' })).contact;
    expect(b.id).toBe(existing.body.id);
    expect((await contact(api, b.id)).conversation_count).toBe(1);
    expect((await contact(api, a.id))).toMatchObject({ conversation_count: 0, last_seen: (await contact(api, a.id)).created_at });
    expect((await api.get(`/v1/contacts/${a.id}/conversations`)).body.data).toEqual([]);
  });

});

describe('concurrency', () => {
  it('50 visitors identifying the same email at once give exactly one contact with 50 conversations', async () => {
    const { api } = await newWorkspace();
    clock.set(T0);
    const convs = [];
    for (let i = 0; i < 50; i++) convs.push(await start(api, { channel: 'widget', visitor_id: `crowd-${i}` }));
    const answers = await Promise.all(convs.map((c, i) =>
      api.post(`/v1/conversations/${c.id}/identify`, { email: i % 2 ? 'crowd@example.com' : 'CROWD@Example.com', name: `Crowd ${i}` })));
    for (const a of answers) expect(a.status, JSON.stringify(a.body)).toBe(200);
    const ids = new Set(answers.map((a) => a.body.contact.id));
    expect(ids.size).toBe(1);
    expect(answers.filter((a) => a.body.created === true)).toHaveLength(1);
    expect(await count(api)).toBe(1);
    const [id] = [...ids] as string[];
    expect((await contact(api, id!)).conversation_count).toBe(50);
    const linked = await api.get(`/v1/contacts/${id}/conversations?limit=200`);
    expect(linked.body.data).toHaveLength(50);
  });
});

describe('context for the agent', () => {
  it('by visitor: an empty profile while anonymous, the contact after identify, with the latest conversations', async () => {
    const { api } = await newWorkspace();
    clock.set(T0);
    const conv = await start(api, { channel: 'widget', visitor_id: 'ctx-v' });
    await say(api, conv.id, 'Hi there');
    await say(api, conv.id, 'Hello! How can I help?', 'agent');

    const anon = await api.get('/v1/visitors/ctx-v/context');
    expect(anon.status, JSON.stringify(anon.body)).toBe(200);
    expect(anon.body).toMatchObject({ contact: null, tags: [], returning: false });
    expect(anon.body.conversations.map((c: any) => c.id)).toEqual([conv.id]);
    expect(anon.body.conversations[0].messages.map((m: any) => [m.role, m.text])).toEqual([['user', 'Hi there'], ['agent', 'Hello! How can I help?']]);

    const unknown = await api.get('/v1/visitors/never-seen/context');
    expect(unknown.status).toBe(200);
    expect(unknown.body).toMatchObject({ contact: null, tags: [], conversations: [] });

    const c = (await identify(api, conv.id, { name: 'Cora', email: 'cora@example.com' })).contact;
    await api.patch(`/v1/contacts/${c.id}`, { tags: ['vip'] });
    clock.set(T0 + DAY);
    const conv2 = await start(api, { channel: 'widget', visitor_id: 'ctx-v' });
    await say(api, conv2.id, 'I am back');

    const known = await api.get('/v1/visitors/ctx-v/context');
    expect(known.status).toBe(200);
    expect(known.body.contact).toMatchObject({ id: c.id, name: 'Cora', email: 'cora@example.com', conversation_count: 2 });
    expect(known.body).toMatchObject({ tags: ['vip'], lifecycle_stage: 'returning', returning: true });
    expect(known.body.conversations.map((x: any) => x.id)).toEqual([conv2.id, conv.id]);

    const byContact = await api.get(`/v1/contacts/${c.id}/context`);
    expect(byContact.status).toBe(200);
    expect(byContact.body.contact.id).toBe(c.id);
    expect(byContact.body.conversations.map((x: any) => x.id)).toEqual([conv2.id, conv.id]);

    // The visitor context is per channel (widget by default).
    const wa = await start(api, { channel: 'whatsapp', visitor_id: 'ctx-v' });
    await say(api, wa.id, 'from whatsapp');
    const waCtx = (await api.get('/v1/visitors/ctx-v/context?channel=whatsapp')).body;
    expect(waCtx.contact).toBeNull();
    expect(waCtx.conversations.map((x: any) => x.id)).toEqual([wa.id]);
    expect((await api.get('/v1/visitors/ctx-v/context?channel=widget')).body.contact.id).toBe(c.id);

    expectProblem(await api.get('/v1/contacts/ctc_doesnotexist/context'), 404);
    const other = await newWorkspace();
    expectProblem(await other.api.get(`/v1/contacts/${c.id}/context`), 404);
    const foreign = await other.api.get('/v1/visitors/ctx-v/context');
    expect(foreign.status).toBe(200);
    expect(foreign.body).toMatchObject({ contact: null, conversations: [] });
  });

  it('is bounded: at most 5 conversations, newest first, each with its last 20 messages in order', async () => {
    const { api } = await newWorkspace();
    const convs: any[] = [];
    for (let i = 0; i < 7; i++) {
      clock.set(T0 + i * DAY);
      const conv = await start(api, { channel: 'widget', visitor_id: 'chatty' });
      convs.push(conv);
      for (let j = 0; j < 25; j++) {
        clock.set(T0 + i * DAY + j * MIN);
        await say(api, conv.id, `c${i} m${j}`, j % 2 ? 'agent' : 'user');
      }
    }
    const c = (await identify(api, convs[6].id, { email: 'chatty@example.com' })).contact;
    expect(c.conversation_count).toBe(7);
    for (const url of [`/v1/contacts/${c.id}/context`, '/v1/visitors/chatty/context']) {
      const ctx = await api.get(url);
      expect(ctx.status).toBe(200);
      expect(ctx.body.conversations.map((x: any) => x.id)).toEqual(convs.slice(2).reverse().map((x) => x.id));
      for (const [k, conv] of ctx.body.conversations.entries()) {
        const i = 6 - k;
        expect(conv.messages.map((m: any) => m.text)).toEqual(Array.from({ length: 20 }, (_, j) => `c${i} m${j + 5}`));
      }
    }
  });
});
