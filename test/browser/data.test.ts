// Data in and out, in a real browser, found by role and label: an export from the dialog (progress,
// the CSV downloaded and checked against the API), an import through the Import page (dry run with
// the automatic mapping, a changed mapping, the real run, the report), archive at the plan's limit and
// restore after an upgrade, the plan usage in Settings, and what a viewer does not get.
import fs from 'node:fs/promises';
import type { Browser, Download, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signInAs } from '../support/accounts.js';
import { launchBrowser, PASSWORD, signIn as signInWith, startDashboardServer } from '../support/browser.js';
import { client, type Client, type TestServer } from '../support/server.js';

let t: TestServer;
let browser: Browser;
let api: Client;
let apiKey: string;
const ALL_FIELDS = ['id', 'name', 'email', 'phone', 'company', 'source', 'first_seen', 'last_seen', 'conversation_count', 'tags', 'page_url', 'ip_country'];
const JOB = { timeout: 30_000, interval: 200 };

beforeAll(async () => {
  let workspaceId: string;
  ({ t, api, apiKey, workspaceId } = await startDashboardServer());
  await t.server.services.accounts.createUser('viewer@example.com', PASSWORD, 'viewer', workspaceId);
  // 60 people now (a third tagged vip; commas, quotes and accents in the cells), 20 created in January 2025.
  const people = Array.from({ length: 60 }, (_, i) => ({
    name: `Export Person ${String(i).padStart(2, '0')} ${['Ann', 'Bob "the builder"', 'Élodie', '李雷'][i % 4]}`,
    email: i % 6 === 0 ? null : `export${i}@${['acme.com', 'globex.io'][i % 2]}`,
    phone: i % 3 === 0 ? `+1415555${String(2000 + i)}` : null,
    company: i % 4 === 1 ? 'Acme, Inc.' : null,
    source: ['widget', 'api', 'slack'][i % 3],
    tags: i % 3 === 0 ? ['vip', 'lead'] : i % 3 === 1 ? ['lead'] : [],
  }));
  const batch = await api.post('/v1/contacts/batch', { contacts: people });
  expect(batch.status, JSON.stringify(batch.body)).toBe(200);
  const old = Array.from({ length: 20 }, (_, i) => ({
    name: `January Person ${String(i).padStart(2, '0')}`, email: `january${i}@example.com`,
    created_at: `2025-01-${String(10 + (i % 10)).padStart(2, '0')}T12:00:00.000Z`,
  }));
  const historical = await api.post('/v1/contacts/batch', { historical: true, contacts: old });
  expect(historical.status, JSON.stringify(historical.body)).toBe(200);
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await t?.close();
});

const signIn = (email?: string, password?: string): Promise<Page> => signInWith(browser, t.url, email, password);

const nav = (page: Page, name: string) => page.getByRole('navigation', { name: 'Main' }).getByRole('button', { name, exact: true });
/** The text of whatever matches now, without waiting for it to appear (for polls). */
const texts = async (locator: Locator) => (await locator.allInnerTexts()).join('\n');
const names = (page: Page) => page.locator('[role="grid"] [role="row"]:not(.head) [role="gridcell"]:first-child').allInnerTexts();

/** RFC 4180: quoted cells with commas, doubled quotes and line breaks; CRLF or LF between records. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') { cell += '"'; i++; } else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') { row.push(cell); cell = ''; } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      row.push(cell); rows.push(row); row = []; cell = '';
    } else cell += ch;
  }
  if (cell !== '' || row.length) { row.push(cell); rows.push(row); }
  return rows;
}

async function downloadText(page: Page, link: Locator): Promise<{ download: Download; text: string }> {
  const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
  return { download, text: await fs.readFile((await download.path()), 'utf8') };
}

/** Every contact of a list query, all pages. */
async function allContacts(query: string): Promise<any[]> {
  const out: any[] = [];
  let cursor = '';
  for (;;) {
    const res = await api.get(`/v1/contacts?${query}&limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    out.push(...res.body.data);
    if (!res.body.has_more) return out;
    cursor = res.body.next_cursor;
  }
}

/** A contact as the CSV should hold it, column by column. */
function asCsv(c: any, field: string): string {
  const v = c[field];
  if (field === 'tags') return (v as string[]).join(',');
  return v === null || v === undefined ? '' : String(v);
}

describe('export from the dialog', () => {
  it('exports the current filters with the chosen columns, follows the progress and downloads the CSV the API agrees with', async () => {
    const page = await signIn();
    await page.getByRole('button', { name: 'Filters' }).click();
    await page.getByLabel('Tag').fill('vip');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await expect.poll(() => page.url()).toContain('tag=vip');
    await page.getByRole('button', { name: 'Export', exact: true }).click();
    const dialog = page.getByRole('dialog', { name: 'Export contacts' });
    await dialog.getByRole('radio', { name: 'The current filters' }).check();
    for (const f of ['first_seen', 'page_url', 'ip_country']) await dialog.getByRole('checkbox', { name: f, exact: true }).uncheck();
    await dialog.getByRole('button', { name: 'Start export' }).click();

    const bar = dialog.getByRole('progressbar', { name: 'Export progress' });
    await bar.waitFor();
    await expect.poll(() => bar.getAttribute('aria-valuenow'), JOB).toBe('100');
    const link = dialog.getByRole('link', { name: 'Download CSV', exact: true });
    await link.waitFor({ timeout: JOB.timeout });

    const want = await allContacts('tag=vip');
    expect(want.length).toBe(20);
    await expect.poll(() => texts(dialog.getByRole('status').filter({ hasText: 'Ready' })), JOB).toContain(`${want.length} rows`);
    const { text } = await downloadText(page, link);
    const [header, ...rows] = parseCsv(text);
    const fields = ALL_FIELDS.filter((f) => !['first_seen', 'page_url', 'ip_country'].includes(f));
    expect(header).toEqual(fields);
    expect(rows.length).toBe(want.length);
    const byId = new Map(rows.map((r) => [r[0], r]));
    for (const c of want) expect(byId.get(c.id), c.id).toEqual(fields.map((f) => asCsv(c, f)));

    // The export is in the recent list, with its own link while it has not expired.
    const recent = dialog.getByRole('list', { name: 'Recent exports' });
    await expect.poll(() => recent.getByRole('link', { name: /^Download CSV of the export of / }).count()).toBeGreaterThanOrEqual(1);
    const listed = (await api.get('/v1/exports')).body;
    expect(listed.data[0]).toMatchObject({ status: 'completed', row_count: want.length, fields });
    await page.close();
  });

  it('exports every contact, and the contacts of a created date range', async () => {
    const page = await signIn();
    await page.getByRole('button', { name: 'Export', exact: true }).click();
    const dialog = page.getByRole('dialog', { name: 'Export contacts' });
    expect(await dialog.getByRole('radio', { name: 'All contacts' }).isChecked()).toBe(true);
    await dialog.getByRole('button', { name: 'Start export' }).click();
    const link = dialog.getByRole('link', { name: 'Download CSV', exact: true });
    await link.waitFor({ timeout: JOB.timeout });
    const total = (await api.get('/v1/contacts/count')).body.count as number;
    expect(total).toBeGreaterThanOrEqual(80);
    const all = parseCsv((await downloadText(page, link)).text);
    expect(all[0]).toEqual(ALL_FIELDS);
    expect(all.length - 1).toBe(total);

    await dialog.getByRole('radio', { name: 'Created between' }).check();
    await dialog.getByLabel('Created from').fill('2025-01-01');
    await dialog.getByLabel('Created to').fill('2025-01-31');
    await dialog.getByRole('button', { name: 'Start export' }).click();
    // The new export's link replaces the first one's once it is ready.
    await expect.poll(() => texts(dialog.getByRole('status').filter({ hasText: 'Ready' })), JOB).toContain('20 rows');
    const january = parseCsv((await downloadText(page, dialog.getByRole('link', { name: 'Download CSV', exact: true }))).text);
    const want = await allContacts('created_from=2025-01-01&created_to=2025-01-31');
    expect(want.length).toBe(20);
    expect(january.slice(1).map((r) => r[0]).sort()).toEqual(want.map((c) => c.id).sort());
    await page.close();
  });
});

describe('import from the Import page', () => {
  it('dry-runs with the automatic mapping, runs again with a changed one, imports, and reports the rejected row', async () => {
    const existing = (await api.post('/v1/contacts', { name: 'Existing Importee', email: 'existing-importee@example.com' })).body;
    const csv = [
      'Full name,E-mail,Phone number,Favourite colour',
      'Imported One,imported-one@example.com,+14155550101,blue',
      'Imported Two,imported-two@example.com,,green',
      'Existing Importee Renamed,EXISTING-IMPORTEE@example.com,,red',
      'Bad Row,not-an-email,,black',
      '',
    ].join('\r\n');
    const page = await signIn();
    await nav(page, 'Import').click();
    await page.getByLabel('CSV file', { exact: true }).setInputFiles({ name: 'people.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });

    const dry = page.getByRole('region', { name: 'Dry run result' });
    await dry.waitFor({ timeout: JOB.timeout });
    await expect.poll(() => texts(dry), JOB).toMatch(/Would create: 2\s+Would update: 1\s+Would skip: 0\s+Would fail: 1/);
    // The automatic mapping, prefilled: the unknown column is ignored.
    expect(await page.getByLabel('Field for column Full name').inputValue()).toBe('name');
    expect(await page.getByLabel('Field for column E-mail').inputValue()).toBe('email');
    expect(await page.getByLabel('Field for column Phone number').inputValue()).toBe('phone');
    expect(await page.getByLabel('Field for column Favourite colour').inputValue()).toBe('');
    expect((await api.get('/v1/contacts/count?q=imported-')).body.count).toBe(0);

    await page.getByLabel('Field for column Favourite colour').selectOption('company');
    await page.getByRole('button', { name: 'Run dry run again' }).click();
    await expect.poll(() => page.getByText('The choices changed since the last dry run').count(), JOB).toBe(0);
    await expect.poll(() => texts(dry), JOB).toMatch(/Would create: 2\s+Would update: 1\s+Would skip: 0\s+Would fail: 1/);
    expect(await page.getByLabel('Field for column Favourite colour').inputValue()).toBe('company');
    expect((await api.get('/v1/contacts/count?q=imported-')).body.count).toBe(0);

    await page.getByRole('main').getByRole('button', { name: 'Import', exact: true }).click();
    const done = page.getByRole('region', { name: 'Import result' });
    await done.waitFor({ timeout: JOB.timeout });
    await expect.poll(() => texts(done), JOB).toMatch(/Created: 2\s+Updated: 1\s+Skipped: 0\s+Failed: 1/);
    const { text } = await downloadText(page, done.getByRole('link', { name: 'Download report' }));
    const [header, ...rejected] = parseCsv(text).filter((r) => r.some(Boolean));
    expect(header).toContain('reason');
    expect(rejected.length).toBe(1);
    expect(rejected[0]!.join(',')).toContain('not-an-email');
    expect(rejected[0]![header!.indexOf('reason')]).not.toBe('');

    const one = (await api.get('/v1/contacts?q=imported-one@example.com')).body.data;
    expect(one).toMatchObject([{ name: 'Imported One', phone: '+14155550101', company: 'blue' }]);
    expect((await api.get(`/v1/contacts/${existing.id}`)).body).toMatchObject({ name: 'Existing Importee Renamed', company: 'red' });

    await nav(page, 'Contacts').click();
    await page.getByLabel('Search contacts').fill('imported-');
    await expect.poll(async () => (await names(page)).sort()).toEqual(['Imported One', 'Imported Two']);
    await page.close();
  });

  it('keeps the history columns of an export when an admin imports it as historical', async () => {
    const csv = 'id,name,email,first_seen,last_seen,conversation_count\nctc_elsewhere1,Migrated Person,migrated@example.com,2024-02-03T04:05:06.000Z,2024-06-07T08:09:10.000Z,7\n';
    const page = await signIn();
    await nav(page, 'Import').click();
    await page.getByRole('checkbox', { name: /^Historical import/ }).check();
    await page.getByLabel('CSV file', { exact: true }).setInputFiles({ name: 'migration.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
    const dry = page.getByRole('region', { name: 'Dry run result' });
    await expect.poll(() => texts(dry), JOB).toMatch(/Would create: 1\s+Would update: 0\s+Would skip: 0\s+Would fail: 0/);
    for (const f of ['first_seen', 'last_seen', 'conversation_count']) expect(await page.getByLabel(`Field for column ${f}`).inputValue()).toBe(f);
    await page.getByRole('main').getByRole('button', { name: 'Import', exact: true }).click();
    await expect.poll(() => texts(page.getByRole('region', { name: 'Import result' })), JOB).toMatch(/Created: 1\s+Updated: 0\s+Skipped: 0\s+Failed: 0/);
    const [made] = (await api.get('/v1/contacts?q=migrated@example.com')).body.data;
    expect(made).toMatchObject({ name: 'Migrated Person', first_seen: '2024-02-03T04:05:06.000Z', last_seen: '2024-06-07T08:09:10.000Z', conversation_count: 7, created_at: '2024-02-03T04:05:06.000Z' });
    await page.close();
  });

  it('shows the problems of a file the server refuses, field by field', async () => {
    // What the API says of an empty file, asked directly (a multipart upload like the page's).
    const form = new FormData();
    form.append('file', new Blob([''], { type: 'text/csv' }), 'empty.csv');
    form.append('dry_run', 'true');
    const res = await fetch(t.url + '/v1/imports', { method: 'POST', headers: { authorization: `Bearer ${apiKey}` }, body: form });
    const problem = await res.json() as { errors: Array<{ field: string; message: string }> };
    expect(res.status, JSON.stringify(problem)).toBe(422);
    expect(problem.errors.length).toBeGreaterThan(0);

    const page = await signIn();
    await nav(page, 'Import').click();
    await page.getByLabel('CSV file', { exact: true }).setInputFiles({ name: 'empty.csv', mimeType: 'text/csv', buffer: Buffer.from('') });
    const alert = page.getByRole('main').getByRole('alert');
    await alert.waitFor({ timeout: JOB.timeout });
    for (const e of problem.errors) {
      expect(await alert.innerText()).toContain(e.field);
      expect(await alert.innerText()).toContain(e.message);
    }
    expect(await page.getByRole('table', { name: 'Column mapping' }).count()).toBe(0);
    await page.close();
  });
});

describe('plan limits', () => {
  it('archives the oldest at the free limit, refuses restore until an upgrade, then restores it into the list', async () => {
    const ws = await t.server.services.workspaces.create('Small team');
    const ownerEmail = 'small-owner@example.com';
    await t.server.services.accounts.createUser(ownerEmail, PASSWORD, 'owner', ws.id);
    await t.server.services.accounts.createUser('small-viewer@example.com', PASSWORD, 'viewer', ws.id);
    const owner = await signInAs(t.url, ownerEmail, PASSWORD);
    expect((await owner.patch('/v1/workspace', { plan: 'free' })).status).toBe(200);
    const small = client(t.url, (await t.server.services.keys.create(ws.id, ['read', 'write', 'admin'], 'seed')).secret);
    // 101 people, each last seen a day after the one before: the first is the oldest.
    const people = Array.from({ length: 101 }, (_, i) => {
      const day = new Date(Date.UTC(2025, 0, 1) + i * 86_400_000).toISOString();
      return { name: i === 0 ? 'Oldest Person' : `Small Person ${String(i).padStart(3, '0')}`, email: `small${i}@example.com`, created_at: day, first_seen: day, last_seen: day };
    });
    const batch = await small.post('/v1/contacts/batch', { historical: true, contacts: people });
    expect(batch.status, JSON.stringify(batch.body)).toBe(200);
    expect(batch.body.results.filter((r: any) => r.status === 'created').length).toBe(101);
    const archived = (await small.get('/v1/contacts?archived=true')).body.data;
    expect(archived.map((c: any) => c.name)).toEqual(['Oldest Person']);
    const oldest = archived[0];
    expect((await small.get('/v1/workspace')).body).toMatchObject({ limits: { contacts: 100 }, usage: { contacts: 100, archived_contacts: 1 } });

    const page = await signIn(ownerEmail);
    await nav(page, 'Settings').click();
    const usage = page.getByRole('group', { name: 'Plan usage' });
    await expect.poll(() => texts(usage), JOB).toContain('100 of 100 contacts');
    expect(await usage.innerText()).toContain('1 archived contact');

    await nav(page, 'Archived').click();
    const table = page.getByRole('table', { name: 'Archived contacts' });
    const row = table.getByRole('row').filter({ hasText: 'Oldest Person' });
    await row.waitFor();
    expect(await table.getByRole('row').count()).toBe(2);

    // A viewer lists the archived contacts but has no Restore, no Import and no way to start an export.
    const viewer = await signIn('small-viewer@example.com');
    expect(await nav(viewer, 'Import').count()).toBe(0);
    await viewer.getByRole('button', { name: 'Export', exact: true }).click();
    const viewerDialog = viewer.getByRole('dialog', { name: 'Export contacts' });
    await viewerDialog.getByRole('heading', { name: 'Recent exports' }).waitFor();
    expect(await viewerDialog.getByRole('button', { name: 'Start export' }).count()).toBe(0);
    await viewerDialog.getByRole('button', { name: 'Close' }).click();
    await nav(viewer, 'Archived').click();
    await viewer.getByRole('table', { name: 'Archived contacts' }).getByRole('row').filter({ hasText: 'Oldest Person' }).waitFor();
    expect(await viewer.getByRole('button', { name: /^Restore/ }).count()).toBe(0);
    await viewer.close();

    // At the limit the API refuses, and the page shows its reason.
    const refused = await small.post(`/v1/contacts/${oldest.id}/restore`);
    expect(refused.status, JSON.stringify(refused.body)).toBe(409);
    expect(typeof refused.body.detail).toBe('string');
    await row.getByRole('button', { name: /^Restore/ }).click();
    await expect.poll(() => texts(page.getByRole('alert')), JOB).toContain(refused.body.detail);

    expect((await owner.patch('/v1/workspace', { plan: 'pro' })).status).toBe(200);
    await row.getByRole('button', { name: /^Restore/ }).click();
    await expect.poll(() => page.getByRole('status').filter({ hasText: 'restored' }).count()).toBe(1);
    await expect.poll(() => page.getByText('No archived contacts').count()).toBe(1);
    expect((await small.get(`/v1/contacts/${oldest.id}`)).body.archived).toBe(false);

    await nav(page, 'Contacts').click();
    await page.getByLabel('Search contacts').fill('Oldest');
    await expect.poll(() => names(page)).toEqual(['Oldest Person']);

    await nav(page, 'Settings').click();
    await expect.poll(() => texts(page.getByRole('group', { name: 'Plan usage' })), JOB).toContain('101 of 5,000 contacts');
    expect(await page.getByRole('group', { name: 'Plan usage' }).innerText()).toContain('No archived contacts');
    await page.close();
  });

  it('shows an unlimited plan as a count with no limit', async () => {
    expect((await api.get('/v1/workspace')).body.limits.contacts).toBeNull();
    const page = await signIn();
    await nav(page, 'Settings').click();
    const count = (await api.get('/v1/workspace')).body.usage.contacts as number;
    await expect.poll(() => texts(page.getByRole('group', { name: 'Plan usage' })), JOB).toContain(`${count.toLocaleString('en-US')} contacts, no limit`);
    await page.close();
  });
});
