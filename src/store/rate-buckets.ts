// Token buckets shared by every process (PostgreSQL): one atomic upsert takes a token and refills by
// the time passed, so a limit holds however many processes serve.
import { sql } from 'kysely';
import type { Tx } from './db.js';

/** Takes `cost` tokens (0 only reads); returns the tokens left, negative when the bucket was empty. */
export async function takeToken(db: Tx, bucket: string, capacity: number, perSecond: number, cost: number, now: number): Promise<number> {
  const r = await sql<{ tokens: number }>`
    INSERT INTO rate_buckets (bucket, tokens, updated_at) VALUES (${bucket}, ${capacity - cost}, ${now})
    ON CONFLICT (bucket) DO UPDATE SET
      tokens = GREATEST(-1, LEAST(${capacity}::float8, rate_buckets.tokens + GREATEST(0, ${now} - rate_buckets.updated_at) * ${perSecond}::float8 / 1000.0) - ${cost}),
      updated_at = GREATEST(rate_buckets.updated_at, ${now})
    RETURNING tokens`.execute(db);
  return Number(r.rows[0]?.tokens ?? 0);
}

export async function deleteIdleBuckets(db: Tx, before: number): Promise<void> {
  await db.deleteFrom('rate_buckets').where('updated_at', '<', before).execute();
}
