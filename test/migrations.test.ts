// Migrations run on a database as the version before them left it. 0006 changes rows as well as the
// schema: it moves the email sort into the unique email index, keyed (workspace_id, email_key,
// email_lower), which means what the old index did only if every key is the folded form of the
// lowercase address; rows written otherwise get their key folded again. 0007 moves the writing of new
// contacts' search-index rows (SQLite) from a trigger to insertContacts: rows indexed either way are
// found. 0008 folds the final sigma ς as σ in the search keys of the rows that hold one.
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isUniqueViolation, openStore, type Store } from '../src/store/db.js';
import { newRow } from '../src/services/contact-rows.js';
import { findByEmail, findByIdentities, insertContacts } from '../src/store/contacts.js';
import { countContacts } from '../src/store/contact-list.js';
import { parseFilter } from '../src/domain/contact-query.js';
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
    expect(await store.migrate('0006_email_sort')).toEqual(['0006_email_sort']);
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

describe('0007: search-index rows of new contacts written with them, not by a trigger', () => {
  const found = (q: string) => countContacts(store.db, store.dialect, 'wsp_m', parseFilter({ q }, { timezone: 'UTC', now: T }));

  it('finds the contacts indexed before it and those inserted after it, one at a time or many', async () => {
    expect(await store.migrate('0007_search_index_on_insert')).toEqual(['0007_search_index_on_insert']);
    expect(await found('example.se')).toBe(2);
    await store.transaction((trx) => insertContacts(trx, store.dialect, [contact('ctc_m6', 'quentin.one@later.example', 'quentin.one@later.example')]));
    await store.transaction((trx) => insertContacts(trx, store.dialect, Array.from({ length: 700 }, (_, i) =>
      contact(`ctc_n${i}`, `many.${i}@bulk.example`, `many.${i}@bulk.example`))));
    expect(await found('quentin')).toBe(1);
    expect(await found('bulk.example')).toBe(700);
    expect(await found('many.699@')).toBe(1);
    expect(await found('example.se')).toBe(2);
  });
});

describe('0008: the final sigma folded as sigma', () => {
  const found = (q: string) => countContacts(store.db, store.dialect, 'wsp_m', parseFilter({ q }, { timezone: 'UTC', now: T }));
  /** The keys as builds before 0008 folded them: lowercase, so a word-final Σ became ς. */
  const older = (s: string) => s.normalize('NFKD').replace(/\p{M}+/gu, '').toLowerCase();

  it('writes the keys again, so that upper and lower case find the same contacts', async () => {
    const name = 'ΝΊΚΟΣ ΠΑΠΑΣ';
    const row = { ...newRow('wsp_m', { name, source: 'api' }, T), id: 'ctc_sigma' };
    await store.transaction((trx) => insertContacts(trx, store.dialect, [{ ...row, name_key: older(name), word_prefixes: '  νι  πα  ct' }]));
    expect((await store.db.selectFrom('contacts').select('name_key').where('id', '=', 'ctc_sigma').executeTakeFirstOrThrow()).name_key).toBe('νικος παπας');
    expect(await store.migrate()).toEqual(['0008_final_sigma']);
    const after = await store.db.selectFrom('contacts').select(['name_key', 'word_prefixes']).where('id', '=', 'ctc_sigma').executeTakeFirstOrThrow();
    expect(after.name_key).toBe('νικοσ παπασ');
    for (const q of ['ΠΑΣ', 'πας', 'πασ', 'ΚΟΣ ΠΑ', 'νίκος']) expect(await found(q), q).toBe(1);
    expect(await found('πα')).toBe(1);
  });
});
