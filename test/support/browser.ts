// Debian's chromium driven by playwright-core (never a browser download), headless, with the flags
// that keep it off the network; and the dashboard tests' common start: a server whose default
// workspace has an owner and an admin key, and signing in through the form.
import { chromium, type Browser, type Page } from 'playwright-core';
import { client, type Client, startTestServer, type TestServer } from './server.js';

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

export const OWNER_EMAIL = 'owner@example.com';
export const PASSWORD = 'correct horse battery staple';

export interface Dashboard {
  t: TestServer;
  workspaceId: string;
  /** An admin key of the default workspace. */
  apiKey: string;
  api: Client;
}

/** A server whose default workspace has OWNER_EMAIL (PASSWORD) as owner, and an admin key to seed it. */
export async function startDashboardServer(): Promise<Dashboard> {
  const t = await startTestServer();
  const ws = await t.server.services.workspaces.ensureDefault();
  await t.server.services.accounts.createUser(OWNER_EMAIL, PASSWORD, 'owner', ws.id);
  const apiKey = (await t.server.services.keys.create(ws.id, ['read', 'write', 'admin'], 'seed')).secret;
  return { t, workspaceId: ws.id, apiKey, api: client(t.url, apiKey) };
}

/** Signs in through the form (in a new page unless one is given) and waits for the contacts grid. */
export async function signIn(browser: Browser, baseUrl: string, email = OWNER_EMAIL, password = PASSWORD, page?: Page): Promise<Page> {
  page ??= await browser.newPage();
  await page.goto(baseUrl + '/');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('grid', { name: 'Contacts' }).waitFor();
  return page;
}
