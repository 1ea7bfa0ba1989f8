// SQLite's settings while an import runs (Store.withBulkWrite): a bigger page cache and a longer
// write-ahead log between checkpoints for the bulk write, and the server's own settings back after it,
// when it fails too, and only once the last of two at once ends; what the log held is then copied into
// the database file. SQLite only: PostgreSQL has neither setting per connection.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore, type Store } from '../src/store/db.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chatsby-bulk-write-'));
const file = path.join(dir, 'contacts.db');
let store: Store;
const settings = () => ({
  cacheKib: -(store.sqlite!.pragma('cache_size', { simple: true }) as number),
  checkpointPages: store.sqlite!.pragma('wal_autocheckpoint', { simple: true }) as number,
});
const SERVER = { cacheKib: 32_000, checkpointPages: 1000 };
const BULK = { cacheKib: 128_000, checkpointPages: 100_000 };

beforeAll(async () => {
  store = openStore({ kind: 'sqlite', file });
  await store.migrate();
});
afterAll(async () => {
  await store.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('the settings of a bulk write', () => {
  it('change for the write and come back after it', async () => {
    expect(settings()).toEqual(SERVER);
    const during = await store.withBulkWrite(async () => settings());
    expect(during).toEqual(BULK);
    expect(settings()).toEqual(SERVER);
  });

  it('come back when the write fails', async () => {
    await expect(store.withBulkWrite(async () => { throw new Error('the file is not CSV'); })).rejects.toThrow('the file is not CSV');
    expect(settings()).toEqual(SERVER);
  });

  it('stay until the last of two writes at once ends', async () => {
    let endFirst!: () => void;
    const first = store.withBulkWrite(() => new Promise<void>((r) => { endFirst = r; }));
    await store.withBulkWrite(async () => undefined);
    const seenAfterSecond = settings();
    endFirst();
    await first;
    expect(seenAfterSecond).toEqual(BULK);
    expect(settings()).toEqual(SERVER);
  });

  it('end cleanly while an API write holds its transaction open', async () => {
    let opened!: () => void, release!: () => void;
    const isOpen = new Promise<void>((r) => { opened = r; });
    const held = store.transaction(async () => {
      opened();
      await new Promise<void>((r) => { release = r; });
    });
    await isOpen;
    await expect(store.withBulkWrite(async () => 'imported')).resolves.toBe('imported');
    expect(settings()).toEqual(SERVER);
    release();
    await held;
  });

  it('leave nothing in the log that the database file lacks once they end', async () => {
    const now = Date.now();
    await store.withBulkWrite(() => store.transaction(async (trx) => {
      await trx.insertInto('workspaces').values({ id: 'wsp_bulk', name: 'Bulk', plan: 'enterprise', timezone: 'UTC', consent_required: 0, is_default: 0, created_at: now, updated_at: now }).execute();
    }));
    // Copied: the database file itself (not only its log) holds the new row.
    expect(fs.readFileSync(file).includes('wsp_bulk')).toBe(true);
  });

  it('leave no big log file on disk: it is cut back when it starts over', async () => {
    // 100 MB through the log in one bulk write (checkpoints wait until 400 MB), then an ordinary write.
    const note = 'x'.repeat(1000);
    await store.withBulkWrite(async () => {
      for (let chunk = 0; chunk < 10; chunk++) {
        await store.transaction(async (trx) => {
          for (let i = 0; i < 10_000; i += 500) {
            await trx.insertInto('rate_buckets').values(Array.from({ length: 500 }, (_, k) => ({ bucket: `bulk-${chunk}-${i + k}-${note}`, tokens: 1, updated_at: 0 }))).execute();
          }
        });
      }
      expect(fs.statSync(file + '-wal').size).toBeGreaterThan(100 << 20);
    });
    await store.transaction((trx) => trx.insertInto('rate_buckets').values({ bucket: 'after the import', tokens: 1, updated_at: 0 }).execute());
    expect(fs.statSync(file + '-wal').size).toBeLessThanOrEqual(64 << 20);
  });
});

// A bulk unit (an import's chunk) commits on its own, and requests' writes that arrive while it runs
// go before the next one: a request waits for one chunk at most, not for the one queued after it too.
describe('bulk units and the units of requests', () => {
  /** A unit that logs its start and waits for `release` before it ends. */
  function held(order: string[], name: string) {
    let release!: () => void, started!: () => void;
    const start = new Promise<void>((r) => { started = r; });
    const fn = async () => {
      order.push(`${name} runs`);
      started();
      await new Promise<void>((r) => { release = r; });
    };
    return { fn, start, release: () => release() };
  }
  const unit = (order: string[], name: string, then?: () => void) => async () => {
    order.push(`${name} runs`);
    then?.();
  };

  it('a request that arrives during a chunk commits before the next chunk runs', async () => {
    const order: string[] = [];
    const first = held(order, 'chunk 1');
    const chunk1 = store.transaction(first.fn, { bulk: true });
    await first.start;
    const chunk2 = store.transaction(unit(order, 'chunk 2'), { bulk: true });
    const request = store.transaction(unit(order, 'request')).then(() => order.push('request committed'));
    first.release();
    await Promise.all([chunk1, chunk2, request]);
    expect(order).toEqual(['chunk 1 runs', 'request runs', 'request committed', 'chunk 2 runs']);
  });

  it('requests that keep coming take turns with chunks instead of holding them back', async () => {
    const order: string[] = [];
    const first = held(order, 'chunk 1');
    const chunk1 = store.transaction(first.fn, { bulk: true });
    await first.start;
    let request2!: Promise<unknown>;
    // The first request's unit brings the second: a steady stream of requests.
    const request1 = store.transaction(unit(order, 'request 1', () => { request2 = store.transaction(unit(order, 'request 2')); }));
    const chunk2 = store.transaction(unit(order, 'chunk 2'), { bulk: true });
    first.release();
    await Promise.all([chunk1, request1, chunk2]);
    await request2;
    expect(order).toEqual(['chunk 1 runs', 'request 1 runs', 'chunk 2 runs', 'request 2 runs']);
  });
});
