// The /demo page in a real browser: play the visitor (consent banner, chat, lead form), then find the
// contact and its transcript through the API.
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser } from '../support/browser.js';
import { client, startTestServer, type TestServer } from '../support/server.js';

let t: TestServer;
let browser: Browser;

beforeAll(async () => {
  t = await startTestServer();
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await t?.close();
});

describe('/widget.js', () => {
  it('is a script of under 60 KB that other sites may embed', async () => {
    const res = await fetch(t.url + '/widget.js');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect(res.headers.get('cross-origin-resource-policy')).toBe('cross-origin');
    expect((await res.arrayBuffer()).byteLength).toBeLessThan(60 * 1024);
  });
});

describe('/demo', () => {
  it('a visitor accepts the banner, chats and leaves details; the API then has the contact and the transcript', async () => {
    const ws = await t.server.services.workspaces.ensureDefault();
    const key = (await t.server.services.keys.create(ws.id, ['read', 'write', 'admin'], 'browser test')).secret;
    const api = client(t.url, key);
    expect((await api.patch('/v1/workspace', { consent_required: true, consent_text: 'We keep your details to answer you.' })).status).toBe(200);

    const page = await browser.newPage();
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(e.message));
    page.on('console', (m) => { if (m.type() === 'error') problems.push(m.text()); });
    await page.goto(t.url + '/demo');
    await page.getByRole('button', { name: 'Chat with us' }).click();
    await page.getByLabel('Your message').fill('I would like a demo of your product');
    await page.getByRole('button', { name: 'Send', exact: true }).click();
    await expect.poll(() => page.getByRole('log', { name: 'Conversation' }).innerText()).toContain('Someone from our team will follow up');

    const banner = page.getByRole('region', { name: 'Consent' });
    await expect.poll(() => banner.innerText()).toContain('We keep your details to answer you.');
    await page.getByRole('button', { name: 'Accept' }).click();
    await page.getByLabel('Name').fill('Dana Demo');
    await page.getByLabel('Email').fill('dana.demo@example.com');
    await page.getByLabel('Phone').fill('+14155550123');
    await page.getByRole('button', { name: 'Send my details' }).click();
    await expect.poll(() => page.getByRole('status').innerText()).toContain('we have your details');
    expect(problems).toEqual([]);

    const found = await api.get('/v1/contacts?q=dana.demo');
    expect(found.status).toBe(200);
    expect(found.body.data).toHaveLength(1);
    const contact = found.body.data[0];
    expect(contact).toMatchObject({ name: 'Dana Demo', email: 'dana.demo@example.com', phone: '+14155550123', source: 'widget', conversation_count: 1 });
    expect(contact.metadata.consent_given).toBe(true);
    const convs = await api.get(`/v1/contacts/${contact.id}/conversations`);
    expect(convs.body.data).toHaveLength(1);
    const transcript = await api.get(`/v1/conversations/${convs.body.data[0].id}`);
    expect(transcript.body.messages.map((m: { role: string; text: string }) => [m.role, m.text])).toEqual([
      ['user', 'I would like a demo of your product'],
      ['agent', expect.stringContaining('Someone from our team will follow up')],
    ]);
    expect(transcript.body.page_url).toBe(t.url + '/demo');
    await page.close();
  });

  it('a visitor who declines the banner leaves no contact', async () => {
    const ws = await t.server.services.workspaces.ensureDefault();
    const key = (await t.server.services.keys.create(ws.id, ['read'], 'browser test')).secret;
    const before = (await client(t.url, key).get('/v1/contacts/count')).body.count;
    const page = await browser.newPage();
    await page.goto(t.url + '/demo');
    await page.getByRole('button', { name: 'Chat with us' }).click();
    await page.getByLabel('Your message').fill('Just looking');
    await page.getByRole('button', { name: 'Send', exact: true }).click();
    await page.getByRole('button', { name: 'Decline' }).click();
    await expect.poll(() => page.getByRole('status').innerText()).toContain('will not store your details');
    expect(await page.getByRole('form', { name: 'Lead capture' }).isVisible()).toBe(false);
    expect((await client(t.url, key).get('/v1/contacts/count')).body.count).toBe(before);
    await page.close();
  });
});
