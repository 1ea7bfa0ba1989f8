// The first run in a real browser, found by role and label: the sign-in page points to the setup link,
// the /setup page (styled like the sign-in page, under the strict CSP) refuses a weak password field
// by field, creates the owner and signs in; the owner signs out and in again; the page then says that
// setup is closed.
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser } from '../support/browser.js';
import { startTestServer, type TestServer } from '../support/server.js';

let t: TestServer;
let browser: Browser;
const EMAIL = 'founder@example.com';
const PASSWORD = 'a long and unusual passphrase 42';

beforeAll(async () => {
  t = await startTestServer();
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await t?.close();
});

/** Script errors and console errors (a CSP refusal is one), less the failed requests the test makes on purpose. */
function problemsOf(page: Page): string[] {
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(e.message));
  page.on('console', (m) => { if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) problems.push(m.text()); });
  return problems;
}

describe('first run', () => {
  it('creates the owner through /setup, who then signs out and in; afterwards the page says setup is closed', async () => {
    const link = t.server.setupUrl;
    expect(link).toMatch(/\/setup\?token=/);
    const page = await browser.newPage();
    const problems = problemsOf(page);

    // The dashboard says nobody can sign in yet.
    await page.goto(t.url + '/');
    await expect.poll(() => page.getByText('Nobody can sign in yet').count()).toBe(1);

    await page.goto(link!);
    await page.getByRole('heading', { name: 'Set up Chatsby Contacts' }).waitFor();
    // The sign-in page's look: a white card on the grey page, the dashboard's blue button.
    const card = page.getByRole('main');
    expect(await card.evaluate((m) => { const s = getComputedStyle(m); return [s.backgroundColor, s.maxWidth, s.borderTopLeftRadius]; })).toEqual(['rgb(255, 255, 255)', '360px', '10px']);
    const create = page.getByRole('button', { name: 'Create owner' });
    await expect.poll(() => create.isEnabled()).toBe(true);
    expect(await create.evaluate((b) => getComputedStyle(b).backgroundColor)).toBe('rgb(29, 78, 216)');

    await page.getByLabel('Workspace name').fill('Browser Team');
    await page.getByLabel('Email').fill(EMAIL);
    await page.getByLabel('Password').fill('password123');
    await create.click();
    const alert = page.getByRole('alert');
    await expect.poll(() => alert.innerText()).toMatch(/^Password (is|must)/);
    expect(await page.getByLabel('Password').getAttribute('aria-invalid')).toBe('true');
    expect(await page.getByLabel('Password').evaluate((el) => el === document.activeElement)).toBe(true);

    await page.getByLabel('Password').fill(PASSWORD);
    await create.click();
    await expect.poll(() => page.getByRole('status').innerText()).toBe('Done: you are the owner of Browser Team and signed in.');
    expect(await page.getByLabel('Password').isVisible()).toBe(false);
    expect(await create.isVisible()).toBe(false);
    const open = page.getByRole('link', { name: 'Open your contacts' });
    expect(await open.evaluate((a) => a === document.activeElement)).toBe(true);
    expect(problems).toEqual([]);

    // Signed in by the setup: the dashboard of the new workspace, with nobody in it yet.
    await open.click();
    await page.getByRole('grid', { name: 'Contacts' }).waitFor();
    expect(await page.getByRole('banner').innerText()).toContain('Browser Team');
    expect(await page.getByRole('banner').innerText()).toContain(`${EMAIL} (owner)`);
    await page.getByRole('status').filter({ hasText: 'No contacts yet' }).waitFor();

    // Out, and in again with the chosen password.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in to Chatsby Contacts' }).waitFor();
    expect(await page.getByText('Nobody can sign in yet').count()).toBe(0);
    await page.getByLabel('Email').fill(EMAIL);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('grid', { name: 'Contacts' }).waitFor();
    expect(await page.getByRole('banner').innerText()).toContain('Browser Team');

    // The link again: setup is closed, with the way to sign in.
    const later = await browser.newPage();
    const laterProblems = problemsOf(later);
    await later.goto(link!);
    await expect.poll(() => later.getByRole('status').innerText()).toBe('Setup is done: an owner exists. Sign in instead.');
    expect(await later.getByRole('button', { name: 'Create owner' }).isVisible()).toBe(false);
    await later.getByRole('link', { name: 'Sign in' }).click();
    await later.getByRole('heading', { name: 'Sign in to Chatsby Contacts' }).waitFor();
    expect(laterProblems).toEqual([]);
    await later.close();
    await page.close();
  });
});
