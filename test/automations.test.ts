// Lifecycle automation rules (API.md, "Workspace settings": /v1/automations; issue 4 item 7): the three
// default rules listed on a new workspace and firing as described (pricing-intent, engaged at 3+
// conversations, demo-requested), switched off or deleted rules that stop firing (and defaults that do
// not come back), custom rules with tag conditions, remove_tags and set_stage, rule effects inside the
// triggering transaction (the answer and the outbox events already carry them), validation, and scopes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectInvalid, expectProblem } from './support/problems.js';
import { contact, start, timeline } from './support/capture.js';
import { client, type Client, startTestServer, type TestServer } from './support/server.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await t?.close();
});

let seq = 0;
const uniq = (p: string) => `${p}-${++seq}-${Math.random().toString(36).slice(2, 8)}`;

interface Ws {
  api: Client;
  id: string;
  keyFor: (scopes: Array<'read' | 'write' | 'admin'>) => Promise<string>;
}

async function newWorkspace(): Promise<Ws> {
  const ws = await t.workspace(uniq('Automations'));
  return { api: client(t.url, ws.key), id: ws.id, keyFor: (scopes) => ws.keyFor(scopes) };
}

async function identify(api: Client, conversationId: string, body: Record<string, unknown>): Promise<any> {
  const res = await api.post(`/v1/conversations/${conversationId}/identify`, body);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  expect(res.body.contact, JSON.stringify(res.body)).not.toBeNull();
  return res.body;
}

async function rules(api: Client): Promise<any[]> {
  const res = await api.get('/v1/automations');
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  expect(Array.isArray(res.body.data)).toBe(true);
  return res.body.data;
}

/** The default rule that adds `tag`. */
async function defaultRule(api: Client, tag: string): Promise<any> {
  const rule = (await rules(api)).find((r) => (r.then.add_tags ?? []).includes(tag));
  expect(rule, `a rule that adds ${tag}`).toBeDefined();
  return rule;
}

const dataOf = (e: any) => (typeof e.data === 'string' ? JSON.parse(e.data) : e.data);

/** A visitor identified in a conversation on `page_url`, with `extra` for identify. */
async function capture(api: Client, page_url: string, extra: Record<string, unknown> = {}): Promise<{ conversation: any; answer: any; visitor: string }> {
  const visitor = uniq('vis');
  const conversation = await start(api, { channel: 'widget', visitor_id: visitor, page_url });
  const answer = await identify(api, conversation.id, { email: `${uniq('p')}@example.com`, ...extra });
  return { conversation, answer, visitor };
}

describe('default rules', () => {
  it('a new workspace lists the three defaults, enabled, seeded once', async () => {
    const { api } = await newWorkspace();
    const list = await rules(api);
    expect(list).toHaveLength(3);
    for (const r of list) {
      expect(r.id).toMatch(/^aut_[A-Za-z0-9_-]{14,}$/);
      expect(r.enabled).toBe(true);
      expect(typeof r.name).toBe('string');
    }
    const byTag = (tag: string) => list.find((r) => (r.then.add_tags ?? []).includes(tag));
    expect(byTag('pricing-intent')).toMatchObject({ when: { on: 'lead.captured', page_url_contains: '/pricing' }, then: { add_tags: ['pricing-intent'] } });
    expect(byTag('engaged')).toMatchObject({ when: { conversation_count_min: 3 }, then: { add_tags: ['engaged'] } });
    expect(byTag('engaged').when.on).toBeUndefined();
    expect(byTag('demo-requested')).toMatchObject({ when: { action: 'demo_booking' }, then: { add_tags: ['demo-requested'] } });
    // Listing again seeds nothing more.
    expect((await rules(api)).map((r) => r.id).sort()).toEqual(list.map((r) => r.id).sort());
  });

  it('seeded once also when the first calls come at the same time', async () => {
    const { api } = await newWorkspace();
    const firsts = await Promise.all([
      ...Array.from({ length: 6 }, () => api.get('/v1/automations')),
      ...Array.from({ length: 4 }, (_, i) => api.post('/v1/automations', { name: `parallel ${i}`, when: { action: `p${i}` }, then: { add_tags: [`p${i}`] } })),
    ]);
    for (const r of firsts) expect(r.status, JSON.stringify(r.body)).toBeLessThan(300);
    const list = await rules(api);
    expect(list).toHaveLength(7);
    for (const tag of ['pricing-intent', 'engaged', 'demo-requested']) expect(list.filter((r) => (r.then.add_tags ?? []).includes(tag)), tag).toHaveLength(1);
  });

  it('pricing-intent: identify in a conversation on https://x.com/pricing tags the contact; another page does not', async () => {
    const { api } = await newWorkspace();
    const { answer } = await capture(api, 'https://x.com/pricing');
    expect(answer.contact.tags).toContain('pricing-intent');
    expect((await contact(api, answer.contact.id)).tags).toContain('pricing-intent');
    const rule = await defaultRule(api, 'pricing-intent');
    const applied = (await timeline(api, answer.contact.id)).filter((e) => e.type === 'automation.applied');
    expect(applied.map((e) => dataOf(e).rule_id)).toContain(rule.id);

    const other = await capture(api, 'https://x.com/about');
    expect(other.answer.contact.tags).not.toContain('pricing-intent');
    expect((await timeline(api, other.answer.contact.id)).filter((e) => e.type === 'automation.applied')).toEqual([]);
  });

  it('pricing-intent is for lead.captured: a later conversation on /pricing of a known contact does not add it', async () => {
    const { api } = await newWorkspace();
    const { answer, visitor } = await capture(api, 'https://x.com/about');
    await start(api, { channel: 'widget', visitor_id: visitor, page_url: 'https://x.com/pricing' });
    expect((await contact(api, answer.contact.id)).tags).not.toContain('pricing-intent');
  });

  it('engaged: added when the 3rd conversation of an identified visitor is counted (conversation.started)', async () => {
    const { api } = await newWorkspace();
    const { answer, visitor } = await capture(api, 'https://x.com/home');
    expect(answer.contact.conversation_count).toBe(1);
    expect(answer.contact.tags).not.toContain('engaged');
    await start(api, { channel: 'widget', visitor_id: visitor });
    let c = await contact(api, answer.contact.id);
    expect(c.conversation_count).toBe(2);
    expect(c.tags).not.toContain('engaged');
    await start(api, { channel: 'widget', visitor_id: visitor });
    c = await contact(api, answer.contact.id);
    expect(c.conversation_count).toBe(3);
    expect(c.tags).toContain('engaged');
    const rule = await defaultRule(api, 'engaged');
    const applied = (await timeline(api, c.id)).filter((e) => e.type === 'automation.applied').map(dataOf);
    expect(applied).toContainEqual(expect.objectContaining({ rule_id: rule.id, trigger: 'conversation.started', added_tags: ['engaged'] }));
  });

  it('engaged: three anonymous conversations then identify gives the tag in the identify answer', async () => {
    const { api } = await newWorkspace();
    const visitor = uniq('vis');
    await start(api, { channel: 'widget', visitor_id: visitor });
    await start(api, { channel: 'widget', visitor_id: visitor });
    const third = await start(api, { channel: 'widget', visitor_id: visitor });
    const { contact: made } = await identify(api, third.id, { email: `${uniq('e')}@example.com` });
    expect(made.conversation_count).toBe(3);
    expect(made.tags).toContain('engaged');
  });

  it('demo-requested: identify with action demo_booking tags the contact; lead_capture does not', async () => {
    const { api } = await newWorkspace();
    const demo = await capture(api, 'https://x.com/home', { action: 'demo_booking' });
    expect(demo.answer.contact.tags).toContain('demo-requested');
    expect((await contact(api, demo.answer.contact.id)).tags).toContain('demo-requested');
    const plain = await capture(api, 'https://x.com/home', { action: 'lead_capture' });
    expect(plain.answer.contact.tags).not.toContain('demo-requested');
  });
});

describe('switching rules off and deleting them', () => {
  it('a rule switched off (PATCH enabled:false) no longer fires, and fires again when switched on', async () => {
    const { api } = await newWorkspace();
    const rule = await defaultRule(api, 'pricing-intent');
    const off = await api.patch(`/v1/automations/${rule.id}`, { enabled: false });
    expect(off.status, JSON.stringify(off.body)).toBe(200);
    expect(off.body).toMatchObject({ id: rule.id, enabled: false, when: rule.when, then: rule.then });
    expect((await rules(api)).find((r) => r.id === rule.id).enabled).toBe(false);

    const { answer } = await capture(api, 'https://x.com/pricing');
    expect(answer.contact.tags).not.toContain('pricing-intent');
    expect((await contact(api, answer.contact.id)).tags).not.toContain('pricing-intent');

    const on = await api.patch(`/v1/automations/${rule.id}`, { enabled: true });
    expect(on.status).toBe(200);
    expect(on.body.enabled).toBe(true);
    expect((await capture(api, 'https://x.com/pricing')).answer.contact.tags).toContain('pricing-intent');
  });

  it('an engaged rule switched off does not tag at the 3rd conversation', async () => {
    const { api } = await newWorkspace();
    const rule = await defaultRule(api, 'engaged');
    expect((await api.patch(`/v1/automations/${rule.id}`, { enabled: false })).status).toBe(200);
    const { answer, visitor } = await capture(api, 'https://x.com/home');
    await start(api, { channel: 'widget', visitor_id: visitor });
    await start(api, { channel: 'widget', visitor_id: visitor });
    const c = await contact(api, answer.contact.id);
    expect(c.conversation_count).toBe(3);
    expect(c.tags).not.toContain('engaged');
  });

  it('a deleted default rule no longer fires and does not come back', async () => {
    const { api } = await newWorkspace();
    const rule = await defaultRule(api, 'demo-requested');
    const del = await api.delete(`/v1/automations/${rule.id}`);
    expect(del.status, JSON.stringify(del.body)).toBe(204);
    expect((await rules(api)).map((r) => r.id)).not.toContain(rule.id);

    const { answer } = await capture(api, 'https://x.com/home', { action: 'demo_booking' });
    expect(answer.contact.tags).not.toContain('demo-requested');

    // Creating, changing and listing rules does not reseed it.
    const made = await api.post('/v1/automations', { name: 'Other', when: { action: 'webinar' }, then: { add_tags: ['webinar'] } });
    expect(made.status, JSON.stringify(made.body)).toBe(201);
    const list = await rules(api);
    expect(list).toHaveLength(3);
    expect(list.filter((r) => (r.then.add_tags ?? []).includes('demo-requested'))).toEqual([]);
    expect((await capture(api, 'https://x.com/home', { action: 'demo_booking' })).answer.contact.tags).not.toContain('demo-requested');

    expectProblem(await api.delete(`/v1/automations/${rule.id}`), 404);
    expectProblem(await api.patch(`/v1/automations/${rule.id}`, { enabled: true }), 404);
  });

  it('all three defaults deleted stay deleted', async () => {
    const { api } = await newWorkspace();
    for (const r of await rules(api)) expect((await api.delete(`/v1/automations/${r.id}`)).status).toBe(204);
    expect(await rules(api)).toEqual([]);
    const { answer } = await capture(api, 'https://x.com/pricing', { action: 'demo_booking' });
    expect(answer.contact.tags).toEqual([]);
    expect(await rules(api)).toEqual([]);
  });

  it("another workspace's rule is 404 to PATCH and DELETE, and stays", async () => {
    const a = await newWorkspace();
    const b = await newWorkspace();
    const rule = await defaultRule(a.api, 'engaged');
    expectProblem(await b.api.patch(`/v1/automations/${rule.id}`, { enabled: false }), 404);
    expectProblem(await b.api.delete(`/v1/automations/${rule.id}`), 404);
    expect((await rules(a.api)).find((r) => r.id === rule.id)).toMatchObject({ enabled: true });
    expect((await rules(b.api)).map((r) => r.id)).not.toContain(rule.id);
  });
});

describe('custom rules', () => {
  it('a tag condition on contact.updated adds and removes tags and sets the stage, which then stays set', async () => {
    const { api } = await newWorkspace();
    const made = await api.post('/v1/automations', {
      name: 'VIP to qualified', when: { on: 'contact.updated', tag: 'vip' },
      then: { add_tags: ['priority'], remove_tags: ['cold'], set_stage: 'qualified' },
    });
    expect(made.status, JSON.stringify(made.body)).toBe(201);
    expect(made.body).toMatchObject({ name: 'VIP to qualified', enabled: true, when: { on: 'contact.updated', tag: 'vip' }, then: { add_tags: ['priority'], remove_tags: ['cold'], set_stage: 'qualified' } });
    expect(made.body.id).toMatch(/^aut_/);
    expect((await rules(api)).map((r) => r.id)).toContain(made.body.id);

    const { answer, visitor } = await capture(api, 'https://x.com/home');
    const id = answer.contact.id;
    expect(answer.contact.lifecycle_stage).toBe('new');

    // Without the tag: nothing.
    const cold = await api.patch(`/v1/contacts/${id}`, { tags: ['cold'] });
    expect(cold.status, JSON.stringify(cold.body)).toBe(200);
    expect(cold.body.tags).toEqual(['cold']);
    expect(cold.body.lifecycle_stage).toBe('new');

    const vip = await api.patch(`/v1/contacts/${id}`, { tags: ['cold', 'vip'] });
    expect(vip.status, JSON.stringify(vip.body)).toBe(200);
    expect([...vip.body.tags].sort()).toEqual(['priority', 'vip']);
    expect(vip.body.lifecycle_stage).toBe('qualified');
    const stored = await contact(api, id);
    expect([...stored.tags].sort()).toEqual(['priority', 'vip']);
    expect(stored.lifecycle_stage).toBe('qualified');
    const tagList = await api.get('/v1/tags');
    expect(tagList.body.data.map((x: any) => x.tag)).not.toContain('cold');
    expect(tagList.body.data.map((x: any) => x.tag)).toContain('priority');

    // The stage stays set as conversations come (derived would be "returning").
    await start(api, { channel: 'widget', visitor_id: visitor });
    await start(api, { channel: 'widget', visitor_id: visitor });
    const later = await contact(api, id);
    expect(later.conversation_count).toBe(3);
    expect(later.lifecycle_stage).toBe('qualified');
    const patched = await api.patch(`/v1/contacts/${id}`, { company: 'Acme' });
    expect(patched.body.lifecycle_stage).toBe('qualified');

    const applied = (await timeline(api, id)).filter((e) => e.type === 'automation.applied').map(dataOf);
    expect(applied).toContainEqual(expect.objectContaining({ rule_id: made.body.id, trigger: 'contact.updated', added_tags: ['priority'], removed_tags: ['cold'], stage: 'qualified' }));
  });

  it('a rule on a tag does not fire for a contact without it, nor on another trigger', async () => {
    const { api } = await newWorkspace();
    const made = await api.post('/v1/automations', { name: 'vip on update', when: { on: 'contact.updated', tag: 'vip' }, then: { add_tags: ['priority'] } });
    expect(made.status).toBe(201);
    const created = await api.post('/v1/contacts', { name: 'Someone', tags: ['vip'] });
    expect(created.status).toBe(201);
    const other = await api.patch(`/v1/contacts/${created.body.id}`, { tags: ['vip-ish'] });
    expect(other.status).toBe(200);
    expect(other.body.tags).toEqual(['vip-ish']);
    // A capture of a contact that carries vip is lead.captured, not contact.updated.
    const withVip = await api.post('/v1/contacts', { email: 'vip@example.com', tags: ['vip'] });
    expect(withVip.status).toBe(201);
    const conv = await start(api, { channel: 'api', visitor_id: uniq('v') });
    const { contact: same } = await identify(api, conv.id, { email: 'VIP@example.com' });
    expect(same.id).toBe(withVip.body.id);
    expect(same.tags).toEqual(['vip']);
  });

  it('a switched-off custom rule created with enabled:false does not fire', async () => {
    const { api } = await newWorkspace();
    const made = await api.post('/v1/automations', { name: 'Off', enabled: false, when: { on: 'lead.captured' }, then: { add_tags: ['caught'] } });
    expect(made.status).toBe(201);
    expect(made.body.enabled).toBe(false);
    expect((await capture(api, 'https://x.com/')).answer.contact.tags).not.toContain('caught');
    expect((await api.patch(`/v1/automations/${made.body.id}`, { enabled: true })).status).toBe(200);
    expect((await capture(api, 'https://x.com/')).answer.contact.tags).toContain('caught');
  });

  it('conditions combine: every given part must hold', async () => {
    const { api } = await newWorkspace();
    const made = await api.post('/v1/automations', {
      name: 'Demo from pricing', when: { on: 'lead.captured', page_url_contains: '/pricing', action: 'demo_booking' }, then: { add_tags: ['hot'], set_stage: 'qualified' },
    });
    expect(made.status, JSON.stringify(made.body)).toBe(201);
    expect((await capture(api, 'https://x.com/pricing')).answer.contact.tags).not.toContain('hot');
    expect((await capture(api, 'https://x.com/about', { action: 'demo_booking' })).answer.contact.tags).not.toContain('hot');
    const both = (await capture(api, 'https://x.com/pricing', { action: 'demo_booking' })).answer.contact;
    expect(both.tags).toEqual(expect.arrayContaining(['hot', 'pricing-intent', 'demo-requested']));
    expect(both.lifecycle_stage).toBe('qualified');
  });

  it('a rule is kept as a contact keeps tags: trimmed, lowercased, unique; repeated tags add once and conditions match trimmed', async () => {
    const { api } = await newWorkspace();
    const made = await api.post('/v1/automations', {
      name: ' Spaced ', when: { on: 'lead.captured', page_url_contains: ' /pricing ', action: ' demo_booking ' }, then: { add_tags: ['Lead', 'lead', '  Spaced Tag  ', 'lead '] },
    });
    expect(made.status, JSON.stringify(made.body)).toBe(201);
    expect(made.body).toMatchObject({ name: 'Spaced', when: { page_url_contains: '/pricing', action: 'demo_booking' }, then: { add_tags: ['lead', 'spaced tag'] } });
    expect((await rules(api)).find((r) => r.id === made.body.id)).toMatchObject({ then: { add_tags: ['lead', 'spaced tag'] } });
    const { answer } = await capture(api, 'https://acme.com/pricing', { action: 'demo_booking' });
    expect([...answer.contact.tags].sort()).toEqual(['demo-requested', 'lead', 'pricing-intent', 'spaced tag']);

    const onTag = await api.post('/v1/automations', { name: 'vip', when: { on: 'contact.updated', tag: ' VIP ' }, then: { add_tags: ['hot', 'HOT'], remove_tags: ['Cold', 'cold'] } });
    expect(onTag.status, JSON.stringify(onTag.body)).toBe(201);
    expect(onTag.body).toMatchObject({ when: { tag: 'vip' }, then: { add_tags: ['hot'], remove_tags: ['cold'] } });
    const patched = await api.patch(`/v1/contacts/${answer.contact.id}`, { tags: ['vip', 'cold'] });
    expect(patched.status, JSON.stringify(patched.body)).toBe(200);
    expect([...patched.body.tags].sort()).toEqual(['hot', 'vip']);
    const changed = await api.patch(`/v1/automations/${onTag.body.id}`, { then: { add_tags: [' Warm ', 'warm'] } });
    expect(changed.status, JSON.stringify(changed.body)).toBe(200);
    expect(changed.body.then).toEqual({ add_tags: ['warm'] });
  });

  it('PATCH changes a rule: the new condition is what counts', async () => {
    const { api } = await newWorkspace();
    const made = await api.post('/v1/automations', { name: 'r', when: { action: 'one' }, then: { add_tags: ['first'] } });
    expect(made.status).toBe(201);
    const changed = await api.patch(`/v1/automations/${made.body.id}`, { name: 'renamed', when: { action: 'two' }, then: { add_tags: ['second'] } });
    expect(changed.status, JSON.stringify(changed.body)).toBe(200);
    expect(changed.body).toMatchObject({ name: 'renamed', when: { action: 'two' }, then: { add_tags: ['second'] } });
    expect((await capture(api, 'https://x.com/', { action: 'one' })).answer.contact.tags).toEqual([]);
    expect((await capture(api, 'https://x.com/', { action: 'two' })).answer.contact.tags).toEqual(['second']);
  });
});

describe('rule effects are part of the triggering transaction', () => {
  it('the identify answer and the lead.captured and contact.created events carry the tag', async () => {
    const { api } = await newWorkspace();
    const { answer, conversation } = await capture(api, 'https://x.com/pricing', { action: 'demo_booking' });
    expect(answer.created).toBe(true);
    expect(answer.contact.tags).toEqual(expect.arrayContaining(['pricing-intent', 'demo-requested']));
    const entries = await timeline(api, answer.contact.id);
    const lead = entries.find((e) => e.type === 'lead.captured');
    expect(lead, JSON.stringify(entries.map((e) => e.type))).toBeDefined();
    expect(dataOf(lead)).toMatchObject({ action: 'demo_booking', conversation_id: conversation.id });
    expect(dataOf(lead).contact.tags).toEqual(expect.arrayContaining(['pricing-intent', 'demo-requested']));
    const createdEvent = entries.find((e) => e.type === 'contact.created');
    expect(createdEvent).toBeDefined();
    expect(dataOf(createdEvent).tags).toEqual(expect.arrayContaining(['pricing-intent', 'demo-requested']));
    expect(entries.filter((e) => e.type === 'automation.applied')).toHaveLength(2);
  });

  it('an identify that updates an existing contact: the contact.updated event carries the tag', async () => {
    const { api } = await newWorkspace();
    const email = `${uniq('known')}@example.com`;
    const made = await api.post('/v1/contacts', { email });
    expect(made.status).toBe(201);
    const conv = await start(api, { channel: 'widget', visitor_id: uniq('v'), page_url: 'https://x.com/pricing' });
    const { contact: updated, created } = await identify(api, conv.id, { email });
    expect(created).toBe(false);
    expect(updated.id).toBe(made.body.id);
    expect(updated.tags).toContain('pricing-intent');
    const entries = await timeline(api, updated.id);
    const update = entries.find((e) => e.type === 'contact.updated');
    expect(update).toBeDefined();
    expect(dataOf(update).tags).toContain('pricing-intent');
    expect(dataOf(entries.find((e) => e.type === 'lead.captured')).contact.tags).toContain('pricing-intent');
  });

  it('PATCH: the answer and the contact.updated event carry the rule effects', async () => {
    const { api } = await newWorkspace();
    expect((await api.post('/v1/automations', { name: 'vip', when: { on: 'contact.updated', tag: 'vip' }, then: { add_tags: ['priority'] } })).status).toBe(201);
    const made = await api.post('/v1/contacts', { name: 'Vee' });
    const res = await api.patch(`/v1/contacts/${made.body.id}`, { tags: ['vip'] });
    expect(res.status).toBe(200);
    expect([...res.body.tags].sort()).toEqual(['priority', 'vip']);
    const entries = await timeline(api, made.body.id);
    const update = entries.find((e) => e.type === 'contact.updated');
    expect(update).toBeDefined();
    expect([...dataOf(update).tags].sort()).toEqual(['priority', 'vip']);
    expect(entries.filter((e) => e.type === 'automation.applied')).toHaveLength(1);
  });
});

describe('validation', () => {
  let api: Client;
  beforeAll(async () => {
    api = (await newWorkspace()).api;
  });

  it('rejects bad rules with 422, naming the field', async () => {
    const good = { name: 'ok', when: { on: 'lead.captured' }, then: { add_tags: ['x'] } };
    expectInvalid(await api.post('/v1/automations', { when: good.when, then: good.then }), 'name');
    expectInvalid(await api.post('/v1/automations', { ...good, name: '   ' }), 'name');
    expectInvalid(await api.post('/v1/automations', { ...good, name: 'n'.repeat(201) }), 'name');
    expectInvalid(await api.post('/v1/automations', { ...good, when: { on: 'contact.deleted' } }), 'when.on');
    expectInvalid(await api.post('/v1/automations', { ...good, when: { page: '/x' } }), 'when.page');
    expectInvalid(await api.post('/v1/automations', { ...good, when: { conversation_count_min: -1 } }), 'when.conversation_count_min');
    expectInvalid(await api.post('/v1/automations', { ...good, when: { conversation_count_min: 2.5 } }), 'when.conversation_count_min');
    expectInvalid(await api.post('/v1/automations', { ...good, when: { page_url_contains: '' } }), 'when.page_url_contains');
    expectInvalid(await api.post('/v1/automations', { ...good, when: { action: 'has spaces' } }), 'when.action');
    expectInvalid(await api.post('/v1/automations', { ...good, then: {} }), 'then');
    expectInvalid(await api.post('/v1/automations', { ...good, then: { add_tags: [] } }), 'then');
    expectInvalid(await api.post('/v1/automations', { ...good, then: { set_stage: 'vip' } }), 'then.set_stage');
    expectInvalid(await api.post('/v1/automations', { ...good, then: { add_tags: ['x'], delete: true } }), 'then.delete');
    expectInvalid(await api.post('/v1/automations', { ...good, then: { add_tags: 'x' } }), 'then.add_tags');
    expectInvalid(await api.post('/v1/automations', { ...good, id: 'aut_mine' }), 'id');
    expectInvalid(await api.post('/v1/automations', { ...good, enabled: 'yes' }), 'enabled');
    expect(await rules(api)).toHaveLength(3);
  });

  it('rejects bad changes with 422 and leaves the rule as it was', async () => {
    const rule = await defaultRule(api, 'engaged');
    expectInvalid(await api.patch(`/v1/automations/${rule.id}`, { enabled: 'no' }), 'enabled');
    expectInvalid(await api.patch(`/v1/automations/${rule.id}`, { then: {} }), 'then');
    expectInvalid(await api.patch(`/v1/automations/${rule.id}`, { when: { on: 'nope' } }), 'when.on');
    expectInvalid(await api.patch(`/v1/automations/${rule.id}`, { name: '' }), 'name');
    expectInvalid(await api.patch(`/v1/automations/${rule.id}`, { id: 'aut_other' }), 'id');
    const after = (await rules(api)).find((r) => r.id === rule.id);
    expect(after).toMatchObject({ name: rule.name, enabled: true, when: rule.when, then: rule.then });
  });

  it('an unknown rule is 404', async () => {
    expectProblem(await api.patch('/v1/automations/aut_doesnotexist000000', { enabled: false }), 404);
    expectProblem(await api.delete('/v1/automations/aut_doesnotexist000000'), 404);
  });
});

describe('scopes', () => {
  it('a read key lists rules but cannot create, change or delete one (403); a write key neither', async () => {
    const ws = await newWorkspace();
    const rule = await defaultRule(ws.api, 'engaged');
    const before = await rules(ws.api);
    for (const scopes of [['read'], ['write'], ['read', 'write']] as const) {
      const api = client(t.url, await ws.keyFor([...scopes]));
      expect((await api.get('/v1/automations')).status).toBe(200);
      expectProblem(await api.post('/v1/automations', { name: 'x', when: {}, then: { add_tags: ['x'] } }), 403);
      expectProblem(await api.patch(`/v1/automations/${rule.id}`, { enabled: false }), 403);
      expectProblem(await api.delete(`/v1/automations/${rule.id}`), 403);
    }
    expect(await rules(ws.api)).toEqual(before);
    expectProblem(await client(t.url).get('/v1/automations'), 401);
  });
});
