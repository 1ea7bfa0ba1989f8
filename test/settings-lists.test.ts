// The short lists of a workspace (API keys, members, agents, automation rules, tags) page like every
// list of the API (API.md "Conventions": `?limit=` 1..200, default 50, `&cursor=`, `{data, has_more,
// next_cursor}`): no row skipped or repeated, rows added meanwhile picked up, bad parameters 422.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { strongPassword, uniqueEmail } from './support/accounts.js';
import { expectInvalid } from './support/problems.js';
import { client, type Client, startTestServer, type TestServer } from './support/server.js';

let t: TestServer;
let api: Client;
beforeAll(async () => {
  t = await startTestServer();
  api = client(t.url, (await t.workspace('Lists')).key);
  for (let i = 0; i < 4; i++) {
    expect((await api.post('/v1/keys', { name: `key ${i}`, scopes: ['read'] })).status).toBe(201);
    expect((await api.post('/v1/agents', { name: `agent ${i}` })).status).toBe(201);
    expect((await api.post('/v1/automations', { name: `rule ${i}`, when: { action: `a${i}` }, then: { add_tags: [`t${i}`] } })).status).toBe(201);
    expect((await api.post('/v1/members', { email: uniqueEmail(`m${i}`), role: 'viewer', password: strongPassword() })).status).toBe(201);
  }
});
afterAll(() => t?.close());

async function pages(path: string, limit: number): Promise<{ ids: string[]; count: number }> {
  const ids: string[] = [];
  let count = 0;
  for (let cursor: string | null = null; ;) {
    const res: { status: number; body: any } = await api.get(`${path}?limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.data.length).toBeLessThanOrEqual(limit);
    expect(res.body.has_more).toBe(res.body.next_cursor !== null);
    ids.push(...res.body.data.map((r: { id: string }) => r.id));
    count++;
    if (!res.body.has_more) return { ids, count };
    cursor = res.body.next_cursor;
  }
}

describe.each([
  ['/v1/keys', 5, 'newest first'],
  ['/v1/members', 4, 'oldest first'],
  ['/v1/agents', 5, 'oldest first'],
  ['/v1/automations', 7, 'oldest first'],
])('%s', (path, atLeast, order) => {
  it(`pages ${order} with a cursor, every row once, in the order of the whole list`, async () => {
    const whole = await api.get(path);
    expect(whole.status).toBe(200);
    expect(whole.body).toMatchObject({ has_more: false, next_cursor: null });
    const all = whole.body.data.map((r: { id: string }) => r.id);
    expect(all.length).toBeGreaterThanOrEqual(atLeast);
    const times = whole.body.data.map((r: { created_at: string }) => r.created_at);
    expect(times).toEqual(order === 'newest first' ? [...times].sort().reverse() : [...times].sort());
    const paged = await pages(path, 2);
    expect(paged.ids).toEqual(all);
    expect(paged.count).toBe(Math.ceil(all.length / 2));
  });

  it('a row added between two pages still comes; the pages already read do not repeat', async () => {
    const first = await api.get(`${path}?limit=1`);
    expect(first.body.has_more).toBe(true);
    if (path === '/v1/keys') await api.post('/v1/keys', { name: 'late', scopes: ['read'] });
    if (path === '/v1/agents') await api.post('/v1/agents', { name: 'late agent' });
    if (path === '/v1/automations') await api.post('/v1/automations', { name: 'late rule', when: { action: 'late' }, then: { add_tags: ['late'] } });
    if (path === '/v1/members') await api.post('/v1/members', { email: uniqueEmail('late'), role: 'viewer', password: strongPassword() });
    const rest = await api.get(`${path}?limit=200&cursor=${encodeURIComponent(first.body.next_cursor)}`);
    const seen = [first.body.data[0].id, ...rest.body.data.map((r: { id: string }) => r.id)];
    expect(new Set(seen).size).toBe(seen.length);
    const whole = (await api.get(path)).body.data.map((r: { id: string }) => r.id);
    // Newest first, the row added now is in front of the page already read: the next pages go on after it.
    expect(seen.sort()).toEqual((path === '/v1/keys' ? whole.slice(1) : whole).sort());
  });

  it('answers 422 for a limit outside 1..200 or a cursor it did not give', async () => {
    for (const limit of ['0', '201', 'ten', '-1']) expectInvalid(await api.get(`${path}?limit=${limit}`), 'limit');
    expectInvalid(await api.get(`${path}?cursor=not-a-cursor`), 'cursor');
  });
});

describe('/v1/tags', () => {
  it('pages in tag order with counts, a prefix narrowing it, every tag once; bad parameters 422', async () => {
    const c = client(t.url, (await t.workspace('Tags')).key);
    const tags = Array.from({ length: 7 }, (_, i) => `tag-${String.fromCharCode(103 - i)}`); // tag-g ... tag-a
    for (let i = 0; i < tags.length; i++) {
      expect((await c.post('/v1/contacts', { name: `Tagged ${i}`, tags: tags.slice(0, i + 1).concat('other') })).status).toBe(201);
    }
    const whole = await c.get('/v1/tags');
    expect(whole.body).toMatchObject({ has_more: false, next_cursor: null });
    expect(whole.body.data).toEqual([{ tag: 'other', count: 7 }, ...[...tags].sort().map((tag) => ({ tag, count: 7 - tags.indexOf(tag) }))]);
    const seen: string[] = [];
    let pagesRead = 0;
    for (let cursor: string | null = null; ;) {
      const res: { status: number; body: any } = await c.get(`/v1/tags?prefix=TAG-&limit=3${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      expect(res.status).toBe(200);
      seen.push(...res.body.data.map((r: { tag: string }) => r.tag));
      pagesRead++;
      if (!res.body.has_more) break;
      cursor = res.body.next_cursor;
    }
    expect(seen).toEqual([...tags].sort());
    expect(pagesRead).toBe(3);
    for (const limit of ['0', '201', 'x']) expectInvalid(await c.get(`/v1/tags?limit=${limit}`), 'limit');
    expectInvalid(await c.get('/v1/tags?cursor=nope'), 'cursor');
  });
});
