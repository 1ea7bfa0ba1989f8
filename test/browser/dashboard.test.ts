// The dashboard in a real browser, found by role and label: sign in, sort, search, filters, the detail
// panel (edit, tags, notes, transcript, delete), keys, and a contact created through the API
// appearing live.
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, PASSWORD, signIn as signInWith, startDashboardServer } from '../support/browser.js';
import { client, type Client, type TestServer } from '../support/server.js';

let t: TestServer;
let browser: Browser;
let api: Client;

beforeAll(async () => {
  let workspaceId: string;
  ({ t, api, workspaceId } = await startDashboardServer());
  await t.server.services.accounts.createUser('viewer@example.com', PASSWORD, 'viewer', workspaceId);
  const people = Array.from({ length: 240 }, (_, i) => ({
    name: `Person ${String(i).padStart(3, '0')} ${['Ann', 'Bob', 'Élodie', 'zoë'][i % 4]}`,
    email: i % 7 === 0 ? null : `p${i}@${['acme.com', 'globex.io'][i % 2]}`,
    phone: i % 3 === 0 ? `+1415555${String(1000 + i)}` : null,
    source: ['widget', 'api', 'slack'][i % 3],
    tags: i % 5 === 0 ? ['vip'] : [],
    historical_created_at: undefined,
  })).map(({ historical_created_at: _x, ...p }) => p);
  expect((await api.post('/v1/contacts/batch', { contacts: people })).status).toBe(200);
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await t?.close();
});

const signIn = (email?: string): Promise<Page> => signInWith(browser, t.url, email);

const names = (page: Page) => page.locator('[role="grid"] [role="row"]:not(.head) [role="gridcell"]:first-child').allInnerTexts();

/** The rows on screen (the table is virtualised: only those near the viewport exist) against the API's first rows, in order, and the count shown against the API's. */
async function expectRowsLike(page: Page, query: string): Promise<void> {
  const want = (await api.get(`/v1/contacts?${query}&limit=200`)).body.data.map((c: { name: string }) => c.name);
  const total = (await api.get(`/v1/contacts/count?${query}`)).body.count as number;
  await expect.poll(async () => {
    const shown = await names(page);
    return shown.length > 0 && shown.length <= want.length && shown.every((n, i) => n === want[i]) && (shown.length === want.length || shown.length >= 20);
  }).toBe(true);
  await expect.poll(() => page.getByText(`${total.toLocaleString('en-US')} contacts`).count()).toBe(1);
}

describe('dashboard', () => {
  it('refuses a wrong password without saying which part was wrong', async () => {
    const page = await browser.newPage();
    await page.goto(t.url + '/');
    await page.getByLabel('Email').fill('owner@example.com');
    await page.getByLabel('Password').fill('not the password at all');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByRole('alert').innerText()).toBe('Wrong email or password.');
    await page.close();
  });

  it('sorts by a header, ascending then descending, with aria-sort', async () => {
    const page = await signIn();
    const header = page.getByRole('columnheader', { name: /Name/ });
    await header.getByRole('button').click();
    await expect.poll(() => header.getAttribute('aria-sort')).toBe('ascending');
    const want = (await api.get('/v1/contacts?sort=name&limit=10')).body.data.map((c: { name: string }) => c.name);
    await expect.poll(async () => (await names(page)).slice(0, 10)).toEqual(want);
    await header.getByRole('button').click();
    await expect.poll(() => header.getAttribute('aria-sort')).toBe('descending');
    const wantDesc = (await api.get('/v1/contacts?sort=-name&limit=10')).body.data.map((c: { name: string }) => c.name);
    await expect.poll(async () => (await names(page)).slice(0, 10)).toEqual(wantDesc);
    expect(page.url()).toContain('sort=-name');
    await page.close();
  });

  it('sorts by every column both ways, in the order the API gives', async () => {
    const page = await signIn();
    const columns: Array<[string, string, (c: any) => string]> = [
      ['Email', 'email', (c) => c.email ?? ''], ['Phone', 'phone', (c) => c.phone ?? ''], ['Source', 'source', (c) => c.source],
      ['Created', 'created_at', (c) => new Date(c.created_at).toLocaleDateString('en-US')], ['Conversations', 'conversation_count', (c) => String(c.conversation_count)],
    ];
    const cells = (column: number) => page.locator(`[role="grid"] [role="row"]:not(.head) [role="gridcell"]:nth-child(${column})`).allInnerTexts();
    for (const [label, field, shown] of columns) {
      const index = ['Name', 'Email', 'Phone', 'Source', 'Created', 'Conversations'].indexOf(label) + 1;
      const header = page.getByRole('columnheader', { name: new RegExp(label) });
      for (const [dir, prefix] of [['ascending', ''], ['descending', '-']] as const) {
        await header.getByRole('button').click();
        await expect.poll(() => header.getAttribute('aria-sort')).toBe(dir);
        const want = (await api.get(`/v1/contacts?sort=${prefix}${field}&limit=15`)).body.data.map(shown);
        await expect.poll(async () => (await cells(index)).slice(0, 15)).toEqual(want);
        // The row ids in order, not only the shown values: names are unique in this data.
        const ids = (await api.get(`/v1/contacts?sort=${prefix}${field}&limit=15`)).body.data.map((c: any) => c.name ?? '—');
        await expect.poll(async () => (await names(page)).slice(0, 15)).toEqual(ids);
      }
    }
    await page.close();
  });

  it('searches as you type and combines filters like the API', async () => {
    const page = await signIn();
    await page.keyboard.press('/');
    await page.keyboard.type('elod');
    await expectRowsLike(page, 'q=elod');
    await page.getByLabel('Search contacts').fill('');
    await page.getByRole('button', { name: 'Filters' }).click();
    await page.getByLabel('Source').fill('widget');
    await page.getByLabel('Tag').fill('vip');
    await page.getByLabel('Has email').selectOption('true');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    expect((await api.get('/v1/contacts/count?source=widget&tag=vip&has_email=true')).body.count).toBeGreaterThan(0);
    await expectRowsLike(page, 'source=widget&tag=vip&has_email=true');
    await expect.poll(() => page.getByRole('list', { name: 'Active filters' }).innerText()).toContain('source: widget');
    await page.getByRole('button', { name: 'Remove filter tag' }).click();
    await expect.poll(() => page.url()).not.toContain('tag=');
    await page.goBack();
    await expect.poll(() => page.url()).toContain('tag=vip');
    await page.close();
  });

  it('keeps the rows of the newest text when an older search answers last', async () => {
    const page = await signIn();
    // The answer for "ann" is held back until after the answer for "zoë" has been shown.
    let held = 0;
    await page.route(/\/v1\/contacts\?/, async (route) => {
      if (new URL(route.request().url()).searchParams.get('q') === 'ann') {
        held++;
        await new Promise((r) => setTimeout(r, 1500));
      }
      // The dashboard may have given up on the old request meanwhile; then there is nothing to answer.
      await route.continue().catch(() => undefined);
    });
    const box = page.getByLabel('Search contacts');
    await box.fill('ann');
    await box.fill('zoë');
    await expectRowsLike(page, 'q=zo%C3%AB');
    const want = await names(page);
    expect(want.every((n) => n.includes('zoë'))).toBe(true);
    expect(held).toBe(1);
    // Until well after the late answer came back, the rows never change.
    const until = Date.now() + 2500;
    while (Date.now() < until) {
      expect(await names(page)).toEqual(want);
      await page.waitForTimeout(50);
    }
    expect(page.url()).toContain('q=zo%C3%AB');
    await page.close();
  });

  it('edits in the detail panel: a rejected email shows the reason, tags and notes stick, then delete', async () => {
    const made = (await api.post('/v1/contacts', { name: 'Detail Person', email: 'detail@example.com' })).body;
    const page = await signIn();
    await page.getByLabel('Search contacts').fill('detail@example');
    await page.getByRole('gridcell', { name: 'Detail Person' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Email', { exact: true }).fill('not-an-email');
    await dialog.getByRole('button', { name: 'Save Email' }).click();
    await expect.poll(() => dialog.getByRole('alert').first().innerText()).toContain('not a valid email');
    await dialog.getByLabel('Name', { exact: true }).fill('Detail Person Renamed');
    await dialog.getByRole('button', { name: 'Save Name' }).click();
    await expect.poll(async () => (await api.get(`/v1/contacts/${made.id}`)).body.name).toBe('Detail Person Renamed');
    await dialog.getByLabel('Add tag').fill('Hot-Lead');
    await dialog.getByRole('button', { name: 'Add', exact: true }).click();
    await expect.poll(async () => (await api.get(`/v1/contacts/${made.id}`)).body.tags).toEqual(['hot-lead']);
    await dialog.getByLabel('New note').fill('Call back on Friday');
    await dialog.getByRole('button', { name: 'Add note' }).click();
    await expect.poll(async () => (await api.get(`/v1/contacts/${made.id}/notes`)).body.data.map((n: { body: string }) => n.body)).toEqual(['Call back on Friday']);
    const [download] = await Promise.all([page.waitForEvent('download'), dialog.getByRole('link', { name: 'Export Contact Data' }).click()]);
    const exported = JSON.parse(await (await import('node:fs/promises')).readFile((await download.path()), 'utf8'));
    expect(exported.contact).toMatchObject({ id: made.id, name: 'Detail Person Renamed' });
    expect(exported.notes.map((n: { body: string }) => n.body)).toEqual(['Call back on Friday']);
    await dialog.getByRole('button', { name: 'Delete Contact' }).click();
    await dialog.getByRole('button', { name: 'Delete permanently' }).click();
    await expect.poll(async () => (await api.get(`/v1/contacts/${made.id}`)).status).toBe(404);
    await page.close();
  });

  it('opens a transcript from the conversation history', async () => {
    const conv = (await api.post('/v1/conversations', { channel: 'widget', visitor_id: 'transcript-visitor' })).body;
    await api.post(`/v1/conversations/${conv.id}/messages`, { role: 'user', text: 'Where is my order?' });
    const who = (await api.post(`/v1/conversations/${conv.id}/identify`, { name: 'Transcript Person', email: 'transcript@example.com' })).body.contact;
    const page = await signIn();
    await page.getByLabel('Search contacts').fill('transcript@');
    await page.getByRole('gridcell', { name: 'Transcript Person' }).click();
    await page.getByRole('dialog').getByRole('button', { name: /1 messages/ }).click();
    await expect.poll(() => page.getByRole('region', { name: 'Transcript' }).innerText()).toContain('Where is my order?');
    expect(who.id).toMatch(/^ctc_/);
    await page.close();
  });

  it('creates a key shown once and revokes it', async () => {
    const page = await signIn();
    await page.getByRole('button', { name: 'Settings' }).click();
    await page.getByLabel('Key name').fill('from the browser');
    await page.getByRole('button', { name: 'Create key' }).click();
    const key = (await page.locator('.secret code').innerText()).trim();
    expect(key).toMatch(/^ck_/);
    expect((await client(t.url, key).get('/v1/contacts?limit=1')).status).toBe(200);
    await page.getByRole('button', { name: 'Revoke key from the browser' }).click();
    await expect.poll(async () => (await client(t.url, key).get('/v1/contacts?limit=1')).status).toBe(401);
    await page.close();
  });

  it('shows a viewer no edit controls', async () => {
    const page = await signIn('viewer@example.com');
    await page.getByRole('gridcell').first().click();
    await page.getByRole('dialog').getByRole('heading').first().waitFor();
    expect(await page.getByRole('button', { name: /^Save/ }).count()).toBe(0);
    expect(await page.getByRole('button', { name: 'Delete Contact' }).count()).toBe(0);
    await page.close();
  });

  it('shows a contact created through the API without a reload', async () => {
    const page = await signIn();
    await page.getByLabel('Search contacts').fill('live-person');
    await expect.poll(() => page.locator('.empty').count()).toBe(1);
    await api.post('/v1/contacts', { name: 'Live Person', email: 'live-person@example.com' });
    await expect.poll(() => names(page), { timeout: 10_000 }).toEqual(['Live Person']);
    await page.close();
  });
});
