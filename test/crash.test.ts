// A server killed in the middle of a burst of writes (SIGKILL: no shutdown hook runs) loses nothing it
// has answered: every create that got a 2xx is there after a restart, with exactly one contact.created
// event, and no create is half-written (a contact without its event, or with two).
import { describe, expect, it } from 'vitest';
import { client } from './support/server.js';
import { childEnv, lastLine, runCli, serverProcesses } from './support/processes.js';

const TOTAL = 300;
const CONCURRENCY = 32;
/** SIGKILL once this many creates have been answered: a third of the way in. */
const KILL_AFTER = 100;

const processes = serverProcesses();

interface Answered {
  index: number;
  status: number;
  id: string;
  email: string;
}

async function timelineOf(api: ReturnType<typeof client>, id: string): Promise<Array<{ type: string; data: { id?: string } }>> {
  const entries: Array<{ type: string; data: { id?: string } }> = [];
  let cursor: string | null = null;
  do {
    const page = await api.get(`/v1/contacts/${id}/timeline?limit=200${cursor ? `&cursor=${cursor}` : ''}`);
    expect(page.status).toBe(200);
    entries.push(...(page.body.data as typeof entries));
    cursor = page.body.next_cursor as string | null;
  } while (cursor);
  return entries;
}

describe('SIGKILL in the middle of a burst of creates', () => {
  it('keeps every answered create, each with exactly one contact.created event', async () => {
    const env = childEnv(processes.db.env);
    const made = await runCli(['keys', 'create', '--scopes', 'read,write,admin', '--name', 'crash test'], env);
    expect(made.stderr).toBe('');
    expect(made.code).toBe(0);
    const key = lastLine(made.stdout);
    expect(key).toMatch(/^ck_[0-9a-z]+$/);

    const first = await processes.start(env);

    const answered: Answered[] = [];
    const refused: Array<{ index: number; status: number; body: string }> = [];
    let noAnswer = 0;
    let next = 0;
    let killed = false;

    const worker = async () => {
      while (next < TOTAL) {
        const index = next++;
        const email = `crash.${index}@kill-test.example`;
        try {
          const res = await fetch(`${first.url}/v1/contacts`, {
            method: 'POST',
            headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
            body: JSON.stringify({ name: `Crash ${index}`, email, tags: ['crash', `n${index % 7}`], metadata: { index } }),
          });
          const text = await res.text();
          if (res.status >= 200 && res.status < 300) answered.push({ index, status: res.status, id: (JSON.parse(text) as { id: string }).id, email });
          else refused.push({ index, status: res.status, body: text.slice(0, 200) });
        } catch {
          noAnswer++; // the connection died with the process: this create may or may not have committed
        }
        if (!killed && answered.length >= KILL_AFTER) {
          killed = true;
          first.child.kill('SIGKILL');
        }
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));

    expect(killed).toBe(true);
    expect(await first.exited).toEqual({ code: null, signal: 'SIGKILL' });
    // The kill landed mid-burst: some creates were answered, others never were.
    expect(answered.length).toBeGreaterThanOrEqual(KILL_AFTER);
    expect(noAnswer).toBeGreaterThan(0);
    // Before the kill every create was a plain 201.
    expect(refused).toEqual([]);
    expect(answered.every((a) => a.status === 201)).toBe(true);
    expect(new Set(answered.map((a) => a.id)).size).toBe(answered.length);

    const second = await processes.start(env);
    const api = client(second.url, key);

    const missing: string[] = [];
    const wrongEvents: string[] = [];
    for (const a of answered) {
      const got = await api.get(`/v1/contacts/${a.id}`);
      if (got.status !== 200) {
        missing.push(`#${a.index} ${a.id}: GET answered ${got.status}`);
        continue;
      }
      if (got.body.email !== a.email) missing.push(`#${a.index} ${a.id}: email ${got.body.email} instead of ${a.email}`);
      const created = (await timelineOf(api, a.id)).filter((e) => e.type === 'contact.created');
      if (created.length !== 1 || created[0]!.data.id !== a.id) wrongEvents.push(`#${a.index} ${a.id}: ${created.length} contact.created events`);
    }
    expect(missing).toEqual([]);
    expect(wrongEvents).toEqual([]);

    // Creates that never got an answer either committed whole or not at all: every contact in the
    // database, answered or not, has its one contact.created event.
    const all: Array<{ id: string; email: string }> = [];
    let cursor: string | null = null;
    do {
      const page = await api.get(`/v1/contacts?limit=200&sort=created_at${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.status).toBe(200);
      all.push(...(page.body.data as typeof all));
      cursor = page.body.next_cursor as string | null;
    } while (cursor);
    expect(all.length).toBeGreaterThanOrEqual(answered.length);
    expect(all.length).toBeLessThanOrEqual(TOTAL);
    expect(new Set(all.map((c) => c.email)).size).toBe(all.length);
    const halfWritten: string[] = [];
    for (const c of all) {
      const created = (await timelineOf(api, c.id)).filter((e) => e.type === 'contact.created');
      if (created.length !== 1) halfWritten.push(`${c.id} (${c.email}): ${created.length} contact.created events`);
    }
    expect(halfWritten).toEqual([]);

    // And the restarted server takes new writes.
    const after = await api.post('/v1/contacts', { name: 'After the crash', email: 'after.crash@kill-test.example' });
    expect(after.status).toBe(201);

    const stopped = await second.stop('SIGTERM');
    expect(stopped).toEqual({ code: 0, signal: null });
  });
});
