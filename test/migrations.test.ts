// A migration that changes rows as well as the schema, run on a database as the version before it left
// it: 0006 moves the email sort into the unique email index, keyed (workspace_id, email_key,
// email_lower), which means what the old index did only if every key is the folded form of the
// lowercase address. Rows written otherwise get their key folded again.
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isUniqueViolation, openStore, type Store } from '../src/store/db.js';
import { newRow } from '../src/services/contact-rows.js';
import { findByEmail, findByIdentities } from '../src/store/contacts.js';
import type { ContactRow } from '../src/store/schema.js';
import { createTestDatabase, testConfig, type TestDatabase } from './support/server.js';

let database: TestDatabase;
let store: Store;
const T = Date.parse('2026-03-15T10:30:00.000Z');

/** A row as the server writes it, with the id and email_key given. */
function contact(id: string, email: string | null, emailKey: string | null): ContactRow {
  return { ...newRow('wsp_m', { email, source: 'api' }, T), id, email_key: emailKey };
}

beforeAll(async () => {
  database = await createTestDatabase();
  store = openStore(testConfig(database).database);
  await store.migrate('0005_sorts');
  await sql`INSERT INTO workspaces (id, name, plan, created_at, updated_at) VALUES ('wsp_m', 'M', 'free', ${T}, ${T})`.execute(store.db);
  await store.db.insertInto('contacts').values([
    // A key folded from the address as typed by an older build, not from its lowercase.
    contact('ctc_m1', 'Zoë.Åberg@Example.se', 'ZOË.ÅBERG@EXAMPLE.SE'),
    contact('ctc_m2', 'ann@example.com', 'ann@example.com'),
    contact('ctc_m3', null, null),
  ]).execute();
});
afterAll(async () => {
  await store?.close();
  await database?.drop();
});

describe('0006: the email sort in the unique email index', () => {
  it('runs on the earlier schema and folds the keys that were folded otherwise', async () => {
    expect(await store.migrate()).toEqual(['0006_email_sort']);
    const rows = await store.db.selectFrom('contacts').select(['id', 'email_key']).orderBy('id').execute();
    expect(rows).toEqual([
      { id: 'ctc_m1', email_key: 'zoe.aberg@example.se' },
      { id: 'ctc_m2', email_key: 'ann@example.com' },
      { id: 'ctc_m3', email_key: null },
    ]);
  });

  it('finds contacts by email through the new index, one or many', async () => {
    expect((await findByEmail(store.db, 'wsp_m', 'zoë.åberg@example.se'))?.id).toBe('ctc_m1');
    expect(await findByEmail(store.db, 'wsp_m', 'zoe.aberg@example.se')).toBeUndefined();
    const found = await findByIdentities(store.db, 'wsp_m', ['zoë.åberg@example.se', 'ann@example.com', 'zoe.aberg@example.se'], []);
    expect(found.map((r) => r.id).sort()).toEqual(['ctc_m1', 'ctc_m2']);
  });

  it('still refuses a second contact with the same address, and allows one that only folds alike', async () => {
    const again = store.db.insertInto('contacts').values(contact('ctc_m4', 'ZOË.åberg@example.SE', 'zoe.aberg@example.se')).execute();
    await expect(again).rejects.toSatisfy(isUniqueViolation);
    await store.db.insertInto('contacts').values(contact('ctc_m5', 'zoe.aberg@example.se', 'zoe.aberg@example.se')).execute();
    expect((await findByEmail(store.db, 'wsp_m', 'zoe.aberg@example.se'))?.id).toBe('ctc_m5');
  });
});
