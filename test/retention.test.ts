// Retention (issue 6 point 6; API.md: "a conversation purged by retention folds into the baseline, so
// counts never drop"): conversations idle (last message, or start without messages) longer than the
// plan keeps them (free 30 days, pro 365, business 730, enterprise its retention_days or forever) go
// with their messages; the contact's conversation_count, first_seen and last_seen do not change; a later
// conversation adds to the folded count; runs are idempotent, also when several run at once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../src/http/server.js';
import { start } from './support/capture.js';
import { cellsContaining, readAllTables } from './support/database.js';
import { expectProblem } from './support/problems.js';
import { client, type Client, manualClock, startTestServer, testConfig, type TestServer } from './support/server.js';

const T0 = Date.parse('2026-03-15T10:30:00.000Z');
const MIN = 60_000;
const DAY = 24 * 60 * MIN;
const iso = (ms: number) => new Date(ms).toISOString();
const clock = manualClock(T0);
let t: TestServer;

beforeAll(async () => {
  // The scheduled job stays off here, so that only the runs a test makes purge anything; the job itself
  // is tested at the end with servers that run it.
  t = await startTestServer({ clock, env: { RUN_JOBS: 'false' } });
});
afterAll(async () => {
  await t?.close();
});

/** Each test starts a year after the one before, so the clock never runs backwards. */
let base = T0;
function nextBase(): number {
  base += 3 * 365 * DAY;
  clock.set(base);
  return base;
}

async function workspace(settings: Record<string, unknown> = {}): Promise<{ id: string; api: Client }> {
  const ws = await t.workspace();
  const api = client(t.url, ws.key);
  if (Object.keys(settings).length) {
    const res = await api.patch('/v1/workspace', settings);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
  }
  return { id: ws.id, api };
}

async function startAt(api: Client, at: number, body: Record<string, unknown>): Promise<any> {
  clock.set(at);
  return start(api, body);
}

async function sayAt(api: Client, convId: string, at: number, text: string): Promise<void> {
  clock.set(at);
  const res = await api.post(`/v1/conversations/${convId}/messages`, { role: 'user', text });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
}

async function identifyAt(api: Client, convId: string, at: number, body: Record<string, unknown>): Promise<any> {
  clock.set(at);
  const res = await api.post(`/v1/conversations/${convId}/identify`, body);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body.contact;
}

async function contactOf(api: Client, id: string): Promise<any> {
  const res = await api.get(`/v1/contacts/${id}`);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body;
}

/** The fields retention must never change. */
async function kept(api: Client, id: string): Promise<{ conversation_count: number; first_seen: string; last_seen: string; lifecycle_stage: string }> {
  const c = await contactOf(api, id);
  return { conversation_count: c.conversation_count, first_seen: c.first_seen, last_seen: c.last_seen, lifecycle_stage: c.lifecycle_stage };
}

async function conversationsOf(api: Client, contactId: string): Promise<string[]> {
  const res = await api.get(`/v1/contacts/${contactId}/conversations?limit=200`);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body.data.map((c: any) => c.id);
}

async function exists(api: Client, convId: string): Promise<boolean> {
  const res = await api.get(`/v1/conversations/${convId}`);
  if (res.status === 404) {
    expectProblem(res, 404);
    return false;
  }
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return true;
}

/** A retention run at `at`, then a second one at the same moment, which must purge nothing more. */
async function runAt(at: number): Promise<void> {
  clock.set(at);
  await t.server.services.retention.run();
  expect(await t.server.services.retention.run(), 'a second run at the same moment purges nothing').toBe(0);
}

describe('retention run', () => {
  it('purges a conversation idle over 30 days on free with its messages; the contact\'s count, first_seen and last_seen stay; later conversations add to them', async () => {
    const B = nextBase();
    const { api } = await workspace({ plan: 'free' });
    const c1 = await startAt(api, B, { channel: 'widget', visitor_id: 'ret-sarah', page_url: 'https://acme.com/pricing' });
    await sayAt(api, c1.id, B + MIN, 'Retention probe one: how much is pro?');
    await sayAt(api, c1.id, B + 2 * MIN, 'Retention probe two: and business?');
    const c2 = await startAt(api, B + 20 * DAY, { channel: 'widget', visitor_id: 'ret-sarah' });
    await sayAt(api, c2.id, B + 20 * DAY + 5 * MIN, 'Retention probe three: a demo please');
    const person = await identifyAt(api, c2.id, B + 20 * DAY + 6 * MIN, { name: 'Sarah Retained', email: 'sarah@retention.example' });
    const before = await kept(api, person.id);
    expect(before).toEqual({ conversation_count: 2, first_seen: iso(B), last_seen: iso(B + 20 * DAY + 5 * MIN), lifecycle_stage: 'returning' });
    expect((await conversationsOf(api, person.id)).sort()).toEqual([c1.id, c2.id].sort());

    // Idle exactly 30 days is not longer than 30 days.
    await runAt(B + 2 * MIN + 30 * DAY);
    expect(await exists(api, c1.id)).toBe(true);

    await runAt(B + 2 * MIN + 30 * DAY + 1);
    expect(await exists(api, c1.id)).toBe(false);
    expect(await exists(api, c2.id)).toBe(true);
    expect(await conversationsOf(api, person.id)).toEqual([c2.id]);
    expect(await kept(api, person.id)).toEqual(before);
    expect((await api.get(`/v1/conversations?contact_id=${person.id}`)).body.data.map((c: any) => c.id)).toEqual([c2.id]);

    // The messages went with it, from the database too.
    const tables = await readAllTables(t);
    expect(cellsContaining(tables, ['Retention probe three']).length, 'the search sees what is kept').toBeGreaterThan(0);
    expect(cellsContaining(tables, ['Retention probe one', 'Retention probe two'])).toEqual([]);
    expect((tables.messages ?? []).filter((m) => m.conversation_id === c1.id)).toEqual([]);
    expect((tables.conversations ?? []).filter((c) => c.id === c1.id)).toEqual([]);

    await runAt(B + 20 * DAY + 5 * MIN + 30 * DAY + 1);
    expect(await exists(api, c2.id)).toBe(false);
    expect(await conversationsOf(api, person.id)).toEqual([]);
    expect(await kept(api, person.id)).toEqual(before);
    expect(cellsContaining(await readAllTables(t), ['Retention probe three'])).toEqual([]);

    // The same visitor comes back: the count is the folded baseline plus the live conversation.
    const L = B + 60 * DAY;
    const c3 = await startAt(api, L, { channel: 'widget', visitor_id: 'ret-sarah' });
    await sayAt(api, c3.id, L + MIN, 'I am back');
    const again = await identifyAt(api, c3.id, L + 2 * MIN, { email: 'SARAH@retention.example' });
    expect(again.id).toBe(person.id);
    expect(await kept(api, person.id)).toEqual({ conversation_count: 3, first_seen: iso(B), last_seen: iso(L + MIN), lifecycle_stage: 'returning' });
    expect(await conversationsOf(api, person.id)).toEqual([c3.id]);

    // And a fourth, through another channel, by email.
    const c4 = await startAt(api, L + DAY, { channel: 'whatsapp', visitor_id: '+15550007777' });
    await identifyAt(api, c4.id, L + DAY + MIN, { email: 'sarah@retention.example' });
    expect(await kept(api, person.id)).toEqual({ conversation_count: 4, first_seen: iso(B), last_seen: iso(L + DAY), lifecycle_stage: 'returning' });

    // Purging the live ones later still changes nothing.
    await runAt(L + DAY + 31 * DAY);
    expect(await conversationsOf(api, person.id)).toEqual([]);
    expect(await kept(api, person.id)).toEqual({ conversation_count: 4, first_seen: iso(B), last_seen: iso(L + DAY), lifecycle_stage: 'returning' });
  });

  it('idle means since the last message, or since the start when there is none; anonymous conversations go too', async () => {
    const B = nextBase();
    const { api } = await workspace({ plan: 'free' });
    const silent = await startAt(api, B, { channel: 'widget', visitor_id: 'anon-silent' });
    const talking = await startAt(api, B, { channel: 'widget', visitor_id: 'anon-talking' });
    await sayAt(api, talking.id, B + 10 * DAY, 'still here ten days later');
    const anon = async () => (await api.get('/v1/conversations?anonymous=true&limit=200')).body.data.map((c: any) => c.id).sort();
    expect(await anon()).toEqual([silent.id, talking.id].sort());

    await runAt(B + 30 * DAY);
    expect(await exists(api, silent.id)).toBe(true);
    await runAt(B + 30 * DAY + 1);
    expect(await exists(api, silent.id)).toBe(false);
    expect(await exists(api, talking.id)).toBe(true);
    expect(await anon()).toEqual([talking.id]);

    await runAt(B + 40 * DAY);
    expect(await exists(api, talking.id)).toBe(true);
    await runAt(B + 40 * DAY + 1);
    expect(await exists(api, talking.id)).toBe(false);
    expect(await anon()).toEqual([]);
    const ctx = await api.get('/v1/visitors/anon-talking/context');
    expect(ctx.status).toBe(200);
    expect(ctx.body.conversations).toEqual([]);
    expect(cellsContaining(await readAllTables(t), ['still here ten days later'])).toEqual([]);
  });

  it("keeps each plan's time: pro 365 days, business 730, enterprise its retention_days, or forever without one", async () => {
    const B = nextBase();
    const spaces = {
      free: await workspace({ plan: 'free' }),
      pro: await workspace({ plan: 'pro' }),
      business: await workspace({ plan: 'business' }),
      custom: await workspace({ plan: 'enterprise', retention_days: 10 }),
      forever: await workspace({ plan: 'enterprise', retention_days: null }),
    };
    expect((await spaces.pro.api.get('/v1/workspace')).body.limits.conversation_retention_days).toBe(365);
    expect((await spaces.business.api.get('/v1/workspace')).body.limits.conversation_retention_days).toBe(730);
    expect((await spaces.custom.api.get('/v1/workspace')).body).toMatchObject({ retention_days: 10, limits: { conversation_retention_days: 10 } });
    expect((await spaces.forever.api.get('/v1/workspace')).body).toMatchObject({ retention_days: null, limits: { conversation_retention_days: null } });

    const conv: Record<string, string> = {};
    for (const [name, ws] of Object.entries(spaces)) conv[name] = (await startAt(ws.api, B, { channel: 'widget', visitor_id: `plan-${name}` })).id;
    const alive = async () => {
      const out: string[] = [];
      for (const [name, ws] of Object.entries(spaces)) if (await exists(ws.api, conv[name]!)) out.push(name);
      return out;
    };

    await runAt(B + 10 * DAY);
    expect(await alive()).toEqual(['free', 'pro', 'business', 'custom', 'forever']);
    await runAt(B + 10 * DAY + 1);
    expect(await alive()).toEqual(['free', 'pro', 'business', 'forever']);
    await runAt(B + 30 * DAY + 1);
    expect(await alive()).toEqual(['pro', 'business', 'forever']);
    await runAt(B + 365 * DAY);
    expect(await alive()).toEqual(['pro', 'business', 'forever']);
    await runAt(B + 365 * DAY + 1);
    expect(await alive()).toEqual(['business', 'forever']);
    await runAt(B + 730 * DAY);
    expect(await alive()).toEqual(['business', 'forever']);
    await runAt(B + 730 * DAY + 1);
    expect(await alive()).toEqual(['forever']);
    await runAt(B + 100 * 365 * DAY);
    expect(await alive()).toEqual(['forever']);
    // The clock went far ahead: bring the next tests' base past it.
    base = B + 100 * 365 * DAY;
  });

  it('folds several contacts\' conversations in one run; an API-created contact keeps first_seen = its creation', async () => {
    const B = nextBase();
    const { api } = await workspace({ plan: 'free' });
    clock.set(B);
    const early = await api.post('/v1/contacts', { name: 'Early Api', email: 'early@retention.example' });
    expect(early.status).toBe(201);
    const e1 = await startAt(api, B + 5 * DAY, { channel: 'widget', visitor_id: 'early-v' });
    await sayAt(api, e1.id, B + 5 * DAY + MIN, 'early talks');
    await identifyAt(api, e1.id, B + 5 * DAY + 2 * MIN, { email: 'early@retention.example' });
    const q: string[] = [];
    for (let d = 1; d <= 3; d++) {
      const c = await startAt(api, B + d * DAY, { channel: 'widget', visitor_id: 'quinn-v' });
      await sayAt(api, c.id, B + d * DAY + 3 * MIN, `quinn day ${d}`);
      q.push(c.id);
    }
    const quinn = await identifyAt(api, q[2]!, B + 3 * DAY + 4 * MIN, { name: 'Quinn', phone: '+15550003333' });
    const earlyBefore = await kept(api, early.body.id);
    const quinnBefore = await kept(api, quinn.id);
    expect(earlyBefore).toEqual({ conversation_count: 1, first_seen: iso(B), last_seen: iso(B + 5 * DAY + MIN), lifecycle_stage: 'new' });
    expect(quinnBefore).toEqual({ conversation_count: 3, first_seen: iso(B + DAY), last_seen: iso(B + 3 * DAY + 3 * MIN), lifecycle_stage: 'returning' });

    await runAt(B + 100 * DAY);
    expect(await conversationsOf(api, early.body.id)).toEqual([]);
    expect(await conversationsOf(api, quinn.id)).toEqual([]);
    expect(await kept(api, early.body.id)).toEqual(earlyBefore);
    expect(await kept(api, quinn.id)).toEqual(quinnBefore);

    // The list filters and sorts on the same values.
    const byCount = await api.get('/v1/contacts?conversation_count_min=3');
    expect(byCount.body.data.map((c: any) => c.id)).toEqual([quinn.id]);

    const n = await startAt(api, B + 101 * DAY, { channel: 'widget', visitor_id: 'early-v' });
    expect(await kept(api, early.body.id)).toEqual({ conversation_count: 2, first_seen: iso(B), last_seen: iso(B + 101 * DAY), lifecycle_stage: 'returning' });
    expect(await conversationsOf(api, early.body.id)).toEqual([n.id]);
  });

  it('a migrated baseline and folded conversations add up', async () => {
    const B = nextBase();
    const { api } = await workspace({ plan: 'free' });
    clock.set(B);
    const migrated = await api.post('/v1/contacts/batch', {
      historical: true,
      contacts: [{ name: 'Migrated Mia', email: 'mia@retention.example', created_at: '2020-01-01T00:00:00Z', first_seen: '2020-01-01T00:00:00Z', last_seen: '2021-06-01T00:00:00Z', conversation_count: 10 }],
    });
    expect(migrated.status, JSON.stringify(migrated.body)).toBe(200);
    const id = migrated.body.results[0].id;
    expect(await kept(api, id)).toEqual({ conversation_count: 10, first_seen: '2020-01-01T00:00:00.000Z', last_seen: '2021-06-01T00:00:00.000Z', lifecycle_stage: 'returning' });

    const c = await startAt(api, B + DAY, { channel: 'widget', visitor_id: 'mia-v' });
    await sayAt(api, c.id, B + DAY + MIN, 'mia is here');
    await identifyAt(api, c.id, B + DAY + 2 * MIN, { email: 'mia@retention.example' });
    const before = await kept(api, id);
    expect(before).toEqual({ conversation_count: 11, first_seen: '2020-01-01T00:00:00.000Z', last_seen: iso(B + DAY + MIN), lifecycle_stage: 'returning' });

    await runAt(B + 40 * DAY);
    expect(await exists(api, c.id)).toBe(false);
    expect(await kept(api, id)).toEqual(before);

    await startAt(api, B + 41 * DAY, { channel: 'widget', visitor_id: 'mia-v' });
    expect(await kept(api, id)).toEqual({ conversation_count: 12, first_seen: '2020-01-01T00:00:00.000Z', last_seen: iso(B + 41 * DAY), lifecycle_stage: 'returning' });
  });

  it('a merge after purges adds the folded baselines and keeps the earliest first_seen', async () => {
    const B = nextBase();
    const { api } = await workspace({ plan: 'free' });
    clock.set(B);
    // The target was created through the API long before anyone talked.
    const target = (await api.post('/v1/contacts', { name: 'Target Tom', email: 'tom@retention.example' })).body;
    const t1 = await startAt(api, B + 10 * DAY, { channel: 'widget', visitor_id: 'tom-v' });
    await identifyAt(api, t1.id, B + 10 * DAY + MIN, { email: 'tom@retention.example' });
    const o1 = await startAt(api, B + 5 * DAY, { channel: 'widget', visitor_id: 'other-v' });
    await sayAt(api, o1.id, B + 5 * DAY + MIN, 'other one');
    const other = await identifyAt(api, o1.id, B + 5 * DAY + 2 * MIN, { name: 'Other Tom', phone: '+15550004444' });
    await runAt(B + 50 * DAY);
    const o2 = await startAt(api, B + 51 * DAY, { channel: 'widget', visitor_id: 'other-v' });
    expect(await kept(api, target.id)).toEqual({ conversation_count: 1, first_seen: iso(B), last_seen: iso(B + 10 * DAY), lifecycle_stage: 'new' });
    expect(await kept(api, other.id)).toEqual({ conversation_count: 2, first_seen: iso(B + 5 * DAY), last_seen: iso(B + 51 * DAY), lifecycle_stage: 'returning' });

    clock.set(B + 52 * DAY);
    const merged = await api.post(`/v1/contacts/${target.id}/merge`, { from: other.id });
    expect(merged.status, JSON.stringify(merged.body)).toBe(200);
    expect(merged.body).toMatchObject({ conversation_count: 3, first_seen: iso(B), last_seen: iso(B + 51 * DAY), lifecycle_stage: 'returning' });
    expect(await kept(api, target.id)).toEqual({ conversation_count: 3, first_seen: iso(B), last_seen: iso(B + 51 * DAY), lifecycle_stage: 'returning' });
    expect(await conversationsOf(api, target.id)).toEqual([o2.id]);
  });

  it('a merge into a contact that never talked keeps its earlier first_seen beside the other\'s folded baseline', async () => {
    const B = nextBase();
    const { api } = await workspace({ plan: 'free' });
    clock.set(B);
    const target = (await api.post('/v1/contacts', { name: 'Quiet Target', email: 'quiet@retention.example' })).body;
    expect(target.first_seen).toBe(iso(B));
    const o1 = await startAt(api, B + 5 * DAY, { channel: 'widget', visitor_id: 'talker-v' });
    await sayAt(api, o1.id, B + 5 * DAY + MIN, 'talker');
    const other = await identifyAt(api, o1.id, B + 5 * DAY + 2 * MIN, { name: 'Talker', phone: '+15550005555' });
    await runAt(B + 40 * DAY);
    expect(await kept(api, other.id)).toEqual({ conversation_count: 1, first_seen: iso(B + 5 * DAY), last_seen: iso(B + 5 * DAY + MIN), lifecycle_stage: 'new' });

    clock.set(B + 41 * DAY);
    const merged = await api.post(`/v1/contacts/${target.id}/merge`, { from: other.id });
    expect(merged.status, JSON.stringify(merged.body)).toBe(200);
    // first_seen is the earlier of the two: the target was seen at its creation, before the other talked.
    expect(await kept(api, target.id)).toEqual({ conversation_count: 1, first_seen: iso(B), last_seen: iso(B + 5 * DAY + MIN), lifecycle_stage: 'new' });
    expect(merged.body).toMatchObject({ conversation_count: 1, first_seen: iso(B), last_seen: iso(B + 5 * DAY + MIN) });
  });

  it('a purge of a merged contact\'s conversations keeps the merged count', async () => {
    const B = nextBase();
    const { api } = await workspace({ plan: 'free' });
    const a1 = await startAt(api, B, { channel: 'widget', visitor_id: 'ma' });
    const a = await identifyAt(api, a1.id, B + MIN, { email: 'ma@retention.example' });
    const b1 = await startAt(api, B + DAY, { channel: 'widget', visitor_id: 'mb' });
    const b = await identifyAt(api, b1.id, B + DAY + MIN, { email: 'mb@retention.example' });
    clock.set(B + 2 * DAY);
    expect((await api.post(`/v1/contacts/${a.id}/merge`, { from: b.id })).status).toBe(200);
    const before = await kept(api, a.id);
    expect(before).toEqual({ conversation_count: 2, first_seen: iso(B), last_seen: iso(B + DAY), lifecycle_stage: 'returning' });
    await runAt(B + 40 * DAY);
    expect(await conversationsOf(api, a.id)).toEqual([]);
    expect(await kept(api, a.id)).toEqual(before);
  });
});

describe('several runs at once, and the scheduled job', () => {
  it('concurrent runs fold each conversation once', async () => {
    const B = nextBase();
    const { api } = await workspace({ plan: 'free' });
    const people: string[] = [];
    for (let p = 0; p < 4; p++) {
      let last: any = null;
      for (let k = 0; k < 5; k++) {
        last = await startAt(api, B + (p * 5 + k) * MIN, { channel: 'widget', visitor_id: `crowd-${p}` });
        await sayAt(api, last.id, B + (p * 5 + k) * MIN + 1000, `crowd ${p} ${k}`);
      }
      people.push((await identifyAt(api, last.id, B + DAY, { email: `crowd${p}@retention.example` })).id);
    }
    for (let k = 0; k < 30; k++) await startAt(api, B + 2 * DAY, { channel: 'widget', visitor_id: `anon-crowd-${k}` });
    const before = await Promise.all(people.map((id) => kept(api, id)));
    for (const b of before) expect(b.conversation_count).toBe(5);

    // A second server on the same database, as a second process would be.
    const second = await startServer(testConfig(t.db, { RUN_JOBS: 'false' }), clock);
    try {
      clock.set(B + 60 * DAY);
      await Promise.all([
        t.server.services.retention.run(), t.server.services.retention.run(),
        second.services.retention.run(), second.services.retention.run(),
      ]);
    } finally {
      await second.close();
    }
    expect(await Promise.all(people.map((id) => kept(api, id)))).toEqual(before);
    for (const id of people) expect(await conversationsOf(api, id)).toEqual([]);
    expect((await api.get('/v1/conversations?limit=200')).body.data).toEqual([]);
    expect(await t.server.services.retention.run()).toBe(0);
  });

  it('the hourly job purges once, queued once per hour however many servers schedule it', async () => {
    const B = nextBase();
    const { api } = await workspace({ plan: 'free' });
    const c = await startAt(api, B, { channel: 'widget', visitor_id: 'job-v' });
    await sayAt(api, c.id, B + MIN, 'job probe');
    const person = await identifyAt(api, c.id, B + 2 * MIN, { email: 'job@retention.example' });
    const before = await kept(api, person.id);

    clock.set(B + 45 * DAY);
    const servers: RunningServer[] = [];
    try {
      // Two servers that run jobs, on the same database and clock, each scheduling at start and again.
      for (let i = 0; i < 2; i++) servers.push(await startServer(testConfig(t.db, { RUN_JOBS: 'true' }), clock));
      for (const s of servers) await s.services.retention.schedule();
      const deadline = Date.now() + 15_000;
      while (await exists(api, c.id)) {
        if (Date.now() > deadline) throw new Error('the scheduled retention job did not purge the conversation within 15 s');
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(await kept(api, person.id)).toEqual(before);
      const slot = Math.floor((B + 45 * DAY) / 3_600_000);
      const jobs = ((await readAllTables(t)).jobs ?? []).filter((j) => j.kind === 'retention' && j.dedupe_key === `retention:${slot}`);
      expect(jobs).toHaveLength(1);
    } finally {
      for (const s of servers) await s.close();
    }
  });
});
