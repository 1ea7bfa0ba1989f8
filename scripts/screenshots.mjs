// Takes the README's screenshots of the dashboard: node scripts/screenshots.mjs (after npm run build).
// Starts a server on a scratch SQLite file with generated contacts, signs in with Debian's chromium.
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chatsby-shots-'));
const env = { ...process.env, DATA_DIR: dir, PORT: '3988', LOG_LEVEL: 'warn', RATE_LIMIT_PER_SECOND: '0' };
const cli = (...args) => execFileSync('node', ['bin/chatsby-contacts.js', ...args], { env }).toString().trim().split('\n').pop();
const key = cli('keys', 'create', '--scopes', 'read,write,admin');
cli('users', 'create', '--email', 'owner@example.com', '--password', 'correct horse battery staple', '--role', 'owner');
const server = spawn('node', ['bin/chatsby-contacts.js', 'serve'], { env, stdio: 'ignore' });
const base = 'http://127.0.0.1:3988';
try {
  for (let i = 0; i < 50; i++) { try { await fetch(base + '/healthz'); break; } catch { await new Promise((r) => setTimeout(r, 200)); } }
  const gen = execFileSync('node', ['../shared/bench/gen-contacts.mjs', '--count', '2000', '--format', 'jsonl']).toString().trim().split('\n').map((l) => JSON.parse(l));
  for (let i = 0; i < gen.length; i += 1000) {
    const contacts = gen.slice(i, i + 1000).map((c) => Object.fromEntries(Object.entries({ name: c.name, email: c.email, phone: c.phone, company: c.company, source: c.source, tags: c.tags, page_url: c.page_url, ip_country: c.ip_country, created_at: c.first_seen, first_seen: c.first_seen, last_seen: c.last_seen, conversation_count: c.conversation_count }).filter(([, v]) => v !== '' && v != null)));
    await fetch(base + '/v1/contacts/batch', { method: 'POST', headers: { authorization: 'Bearer ' + key, 'content-type': 'application/json' }, body: JSON.stringify({ historical: true, contacts }) });
  }
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'] });
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  await page.goto(base + '/');
  await page.getByLabel('Email').fill('owner@example.com');
  await page.getByLabel('Password').fill('correct horse battery staple');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('[role="grid"] [role="row"]:not(.head)').first().waitFor();
  await page.screenshot({ path: 'docs/screenshots/table.png' });
  await page.getByRole('button', { name: 'Filters' }).click();
  await page.getByLabel('Source').fill('widget');
  await page.getByLabel('Has email').selectOption('true');
  await page.getByRole('button', { name: 'Apply filters' }).click();
  await page.waitForTimeout(500);
  await page.screenshot({ path: 'docs/screenshots/filters.png' });
  await page.locator('[role="grid"] [role="row"]:not(.head)').first().click();
  await page.getByRole('dialog').getByRole('heading').first().waitFor();
  await page.waitForTimeout(300);
  await page.screenshot({ path: 'docs/screenshots/detail.png' });
  await page.keyboard.press('Escape');
  await page.getByRole('button', { name: 'Export' }).click();
  await page.getByRole('button', { name: 'Start export' }).click();
  await page.getByRole('link', { name: 'Download CSV' }).first().waitFor();
  await page.waitForTimeout(300);
  await page.screenshot({ path: 'docs/screenshots/export.png' });
  await page.keyboard.press('Escape');
  // The Import page after a dry run of a small messy file.
  await page.getByRole('link', { name: 'Import' }).or(page.getByRole('button', { name: 'Import' })).first().click();
  const csv = 'Full name;E-mail;Phone number;Company\r\nAda Lovelace;ada@example.com;+44 20 7946 0958;Analytical Engines\r\nBad Row;not-an-email;;\r\nAda again;ADA@example.com;;Babbage & Co\r\n';
  await page.getByLabel('CSV file').setInputFiles({ name: 'leads.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
  await page.getByRole('region', { name: 'Dry run result' }).waitFor();
  await page.waitForTimeout(300);
  await page.screenshot({ path: 'docs/screenshots/import.png', fullPage: true });
  await browser.close();
} finally {
  server.kill('SIGTERM');
  fs.rmSync(dir, { recursive: true, force: true });
}
