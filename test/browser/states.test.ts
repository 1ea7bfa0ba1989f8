// The dashboard's designed states in a real browser, found by role and label: a workspace with no
// contacts, no match for the search or the filters (Clear brings the rows back), a failed list request
// (a 500, then the server unreachable) with Try again, a contact deleted while its detail opens, and
// where focus goes: into the detail dialog, and back to its row when Escape closes it (mouse, j/k, Enter).
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, PASSWORD, signIn as signInWith, startDashboardServer } from '../support/browser.js';
import type { Client, TestServer } from '../support/server.js';

let t: TestServer;
let browser: Browser;
let api: Client;

beforeAll(async () => {
  ({ t, api } = await startDashboardServer());
  const people = Array.from({ length: 40 }, (_, i) => ({
    name: `State Person ${String(i).padStart(2, '0')}`, email: `state${i}@example.com`, source: ['widget', 'api'][i % 2], tags: i % 4 === 0 ? ['vip'] : [],
  }));
  const batch = await api.post('/v1/contacts/batch', { contacts: people });
  expect(batch.status, JSON.stringify(batch.body)).toBe(200);
  // A second workspace with nobody in it yet.
  const empty = await t.server.services.workspaces.create('Empty team');
  await t.server.services.accounts.createUser('empty-owner@example.com', PASSWORD, 'owner', empty.id);
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await t?.close();
});

const signIn = (email?: string, page?: Page): Promise<Page> => signInWith(browser, t.url, email, PASSWORD, page);

const names = (page: Page) => page.locator('[role="grid"] [role="row"]:not(.head) [role="gridcell"]:first-child').allInnerTexts();

/** The rows on screen are the API's first rows for this query, in order (at least 20 of them, or all). */
async function expectRowsOf(page: Page, query: string): Promise<string[]> {
  const want = (await api.get(`/v1/contacts?${query}&limit=200`)).body.data.map((c: { name: string }) => c.name) as string[];
  expect(want.length).toBeGreaterThan(0);
  await expect.poll(async () => {
    const shown = await names(page);
    return shown.length > 0 && shown.every((n, i) => n === want[i]) && (shown.length === want.length || shown.length >= 20);
  }).toBe(true);
  return want;
}

/** The focused element's role and, for a row, its first cell. */
const focused = (page: Page) => page.evaluate(() => {
  const el = document.activeElement;
  const role = el?.getAttribute('role') ?? el?.tagName.toLowerCase() ?? null;
  return { role, name: role === 'row' ? el!.querySelector('[role="gridcell"]')?.textContent ?? null : null, visible: el ? el.matches(':focus-visible') && getComputedStyle(el).outlineStyle !== 'none' : false };
});

describe('nothing to show', () => {
  it('a workspace with no contacts says where they come from, with a link to Import', async () => {
    const page = await signIn('empty-owner@example.com');
    const empty = page.getByRole('status').filter({ hasText: 'No contacts yet' });
    await empty.waitFor();
    expect(await empty.innerText()).toContain('when your agent captures a lead');
    await expect.poll(() => page.getByText(/^0 contacts$/).count()).toBe(1);
    // The grid is there, with its header row only.
    expect(await page.getByRole('grid', { name: 'Contacts' }).getByRole('row').count()).toBe(1);
    expect(await page.getByRole('columnheader', { name: /Name/ }).count()).toBe(1);
    await empty.getByRole('link', { name: 'import a CSV' }).click();
    await page.getByRole('heading', { name: 'Import contacts' }).waitFor();
    expect(await page.getByLabel('CSV file', { exact: true }).isVisible()).toBe(true);
    // Back is the contacts again.
    await page.goBack();
    await empty.waitFor();
    await page.close();
  });

  it('no match for the filters: says so, and Clear filters brings every row back', async () => {
    const page = await signIn();
    const all = await expectRowsOf(page, '');
    await page.getByRole('button', { name: 'Filters', exact: true }).click();
    await page.getByLabel('Tag').fill('no-such-tag');
    await page.getByLabel('Source').fill('widget');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    const empty = page.getByRole('status').filter({ hasText: 'No contacts match these filters' });
    await empty.waitFor();
    expect(await names(page)).toEqual([]);
    await expect.poll(() => page.getByText(/^0 contacts$/).count()).toBe(1);
    await empty.getByRole('button', { name: 'Clear filters' }).click();
    await expect.poll(async () => (await names(page)).slice(0, 20)).toEqual(all.slice(0, 20));
    expect(await page.getByRole('status').filter({ hasText: 'No contacts match' }).count()).toBe(0);
    expect(page.url()).not.toMatch(/tag=|source=/);
    expect(await page.getByRole('list', { name: 'Active filters' }).getByRole('listitem').count()).toBe(0);
    // The open filters panel shows the cleared filters, not the old ones.
    expect(await page.getByLabel('Tag').inputValue()).toBe('');
    const total = (await api.get('/v1/contacts/count')).body.count as number;
    await expect.poll(() => page.getByText(`${total} contacts`, { exact: true }).count()).toBe(1);
    await page.close();
  });

  it('no match for a search: says what was searched, and Clear search empties the box', async () => {
    const page = await signIn();
    await page.getByLabel('Search contacts').fill('nobody-by-this-name');
    const empty = page.getByRole('status').filter({ hasText: 'No contacts match “nobody-by-this-name”' });
    await empty.waitFor();
    expect(await names(page)).toEqual([]);
    await empty.getByRole('button', { name: 'Clear search' }).click();
    await expectRowsOf(page, '');
    expect(await page.getByLabel('Search contacts').inputValue()).toBe('');
    expect(await page.getByLabel('Search contacts').evaluate((el) => el === document.activeElement)).toBe(true);
    await page.close();
  });
});

describe('a failed request', () => {
  it('shows what failed with Try again: a 500, then the server out of reach', async () => {
    const page = await browser.newPage();
    let mode: 'ok' | '500' | 'down' = '500';
    let refused = 0;
    await page.route((url) => url.pathname === '/v1/contacts', async (route) => {
      if (mode === 'ok') return route.continue();
      refused++;
      if (mode === 'down') return route.abort('connectionrefused');
      return route.fulfill({ status: 500, contentType: 'application/problem+json', body: JSON.stringify({ type: 'about:blank', title: 'Internal Server Error', status: 500 }) });
    });
    await signIn('owner@example.com', page);
    const failed = page.getByRole('alert').filter({ hasText: 'The contacts could not be loaded.' });
    await failed.waitFor();
    expect(await failed.innerText()).toContain('The server had a problem (500).');
    expect(refused).toBeGreaterThanOrEqual(1);
    expect(await names(page)).toEqual([]);
    expect(await page.getByRole('status').filter({ hasText: 'No contacts' }).count()).toBe(0);

    mode = 'ok';
    await failed.getByRole('button', { name: 'Try again' }).click();
    await expectRowsOf(page, '');
    expect(await failed.count()).toBe(0);

    // The server out of reach while searching: said in words, and Try again finds the rows.
    mode = 'down';
    await page.getByLabel('Search contacts').fill('State Person 1');
    await failed.waitFor();
    expect(await failed.innerText()).toContain('The server could not be reached');
    mode = 'ok';
    await failed.getByRole('button', { name: 'Try again' }).click();
    await expectRowsOf(page, 'q=State%20Person%201');
    expect(await failed.count()).toBe(0);
    await page.close();
  });

  it('says a contact deleted while its detail opens no longer exists', async () => {
    const gone = (await api.post('/v1/contacts', { name: 'Soon Gone', email: 'soon-gone@example.com' })).body;
    const page = await signIn();
    await page.getByLabel('Search contacts').fill('soon-gone@');
    await expect.poll(() => names(page)).toEqual(['Soon Gone']);
    // Deleted by someone else between the click and the detail's answer.
    await page.route((url) => url.pathname === `/v1/contacts/${gone.id}`, async (route) => {
      if (route.request().method() === 'GET') expect((await api.delete(`/v1/contacts/${gone.id}`)).status).toBe(204);
      await route.continue();
    });
    await page.getByRole('gridcell', { name: 'Soon Gone', exact: true }).click();
    const dialog = page.getByRole('dialog', { name: 'Contact not found' });
    await dialog.waitFor();
    expect(await dialog.getByRole('alert').innerText()).toContain('This contact no longer exists.');
    await page.keyboard.press('Escape');
    await expect.poll(() => page.getByRole('dialog').count()).toBe(0);
    await page.close();
  });
});

describe('focus', () => {
  it('goes into the detail dialog, and Escape brings it back to the row it was opened from', async () => {
    const page = await signIn();
    const all = await expectRowsOf(page, '');
    // Enter with nothing focused opens the first row; Escape puts focus on that row (not back on nothing).
    expect((await focused(page)).role).toBe('body');
    await page.keyboard.press('Enter');
    await page.getByRole('dialog', { name: all[0] }).getByRole('heading', { name: all[0] }).waitFor();
    await page.keyboard.press('Escape');
    await expect.poll(() => page.getByRole('dialog').count()).toBe(0);
    await expect.poll(() => focused(page)).toEqual({ role: 'row', name: all[0], visible: true });

    const name = all[3]!;
    await page.getByRole('gridcell', { name, exact: true }).click();
    const dialog = page.getByRole('dialog', { name });
    await dialog.getByRole('heading', { name }).waitFor();
    expect(await dialog.evaluate((d) => d === document.activeElement || d.contains(document.activeElement))).toBe(true);
    // Modal: the page behind cannot take focus while it is open.
    expect(await page.getByLabel('Search contacts').evaluate((el: HTMLElement) => { el.focus(); return document.activeElement !== el; })).toBe(true);
    await page.keyboard.press('Escape');
    await expect.poll(() => page.getByRole('dialog').count()).toBe(0);
    await expect.poll(() => focused(page)).toMatchObject({ role: 'row', name });

    // j twice moves two rows down (focus follows, visibly), k one back up; Enter opens, Escape returns.
    await page.keyboard.press('j');
    await page.keyboard.press('j');
    await expect.poll(() => focused(page)).toEqual({ role: 'row', name: all[5], visible: true });
    await page.keyboard.press('k');
    await expect.poll(() => focused(page)).toEqual({ role: 'row', name: all[4], visible: true });
    expect(await page.getByRole('row', { selected: true }).getByRole('gridcell').first().innerText()).toBe(all[4]);
    await page.keyboard.press('Enter');
    await page.getByRole('dialog', { name: all[4] }).getByRole('heading', { name: all[4] }).waitFor();
    await page.keyboard.press('Escape');
    await expect.poll(() => page.getByRole('dialog').count()).toBe(0);
    await expect.poll(() => focused(page)).toEqual({ role: 'row', name: all[4], visible: true });

    // On a row the arrows move too.
    await page.keyboard.press('ArrowDown');
    await expect.poll(() => focused(page)).toEqual({ role: 'row', name: all[5], visible: true });
    await page.keyboard.press('ArrowUp');
    await expect.poll(() => focused(page)).toEqual({ role: 'row', name: all[4], visible: true });

    // The Close button does the same.
    await page.keyboard.press('Enter');
    const again = page.getByRole('dialog', { name: all[4] });
    await again.getByRole('heading', { name: all[4] }).waitFor();
    await again.getByRole('button', { name: 'Close' }).click();
    await expect.poll(() => focused(page)).toMatchObject({ role: 'row', name: all[4] });
    await page.close();
  });

  it('labels every control on the contacts page', async () => {
    const page = await signIn();
    await page.getByRole('button', { name: 'Filters', exact: true }).click();
    await expectRowsOf(page, '');
    const unlabelled = await page.evaluate(() => [...document.querySelectorAll('input, select, textarea, button')]
      .filter((el) => {
        const labelled = (el as HTMLInputElement).labels?.length || el.getAttribute('aria-label') || el.getAttribute('aria-labelledby');
        return !labelled && !(el.textContent ?? '').trim();
      })
      .map((el) => el.outerHTML.slice(0, 120)));
    expect(unlabelled).toEqual([]);
    expect(await page.locator('input, select, textarea, button').count()).toBeGreaterThan(15);
    await page.close();
  });
});
