// SQLite's page cache while an import runs (Store.withBulkCache): bigger for the bulk write, and the
// server's own size comes back after it, when it fails too, and only once the last of two at once ends.
// SQLite only: PostgreSQL has no per-connection page cache to change.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore, type Store } from '../src/store/db.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chatsby-bulk-cache-'));
let store: Store;
const cacheKib = () => -(store.sqlite!.pragma('cache_size', { simple: true }) as number);

beforeAll(() => {
  store = openStore({ kind: 'sqlite', file: path.join(dir, 'contacts.db') });
});
afterAll(async () => {
  await store.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('the page cache of a bulk write', () => {
  it('grows for the write and comes back after it', async () => {
    const usual = cacheKib();
    expect(usual).toBe(32_000);
    const during = await store.withBulkCache(async () => cacheKib());
    expect(during).toBe(128_000);
    expect(cacheKib()).toBe(usual);
  });

  it('comes back when the write fails', async () => {
    await expect(store.withBulkCache(async () => { throw new Error('the file is not CSV'); })).rejects.toThrow('the file is not CSV');
    expect(cacheKib()).toBe(32_000);
  });

  it('stays big until the last of two writes at once ends', async () => {
    let endFirst!: () => void;
    const first = store.withBulkCache(() => new Promise<void>((r) => { endFirst = r; }));
    await store.withBulkCache(async () => undefined);
    const seenAfterSecond = cacheKib();
    endFirst();
    await first;
    expect(seenAfterSecond).toBe(128_000);
    expect(cacheKib()).toBe(32_000);
  });
});
