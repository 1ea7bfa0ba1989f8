// Token buckets: per API key and per session (RATE_LIMIT_PER_SECOND, bursts of twice that), and for
// failed sign-ins per address and per email (SIGNIN_FAILURES_PER_MINUTE). In memory on SQLite, where one
// process serves; in PostgreSQL when several processes share the database, so a limit holds across them.
import { createHash, createHmac } from 'node:crypto';
import { deleteIdleBuckets, takeToken } from '../store/rate-buckets.js';
import type { ServiceDeps } from './deps.js';

export interface Allowance {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** Seconds until the bucket is full again (allowed) or holds a token (refused). */
  resetSeconds: number;
}

export function createRateLimiter({ store, clock, rateLimitPerSecond, signinFailuresPerMinute, rateLimitSalt }: ServiceDeps) {
  const memory = new Map<string, { tokens: number; at: number }>();

  async function take(name: string, capacity: number, perSecond: number, cost: number): Promise<number> {
    // Bucket names hold addresses and ids: only a keyed hash of them is kept, in memory or in the table.
    const bucket = createHmac('sha256', rateLimitSalt).update(name).digest('base64url').slice(0, 32);
    const now = clock.now();
    if (store.dialect === 'postgres') return takeToken(store.db, bucket, capacity, perSecond, cost, now);
    const b = memory.get(bucket) ?? { tokens: capacity, at: now };
    b.tokens = Math.max(-1, Math.min(capacity, b.tokens + (Math.max(0, now - b.at) * perSecond) / 1000) - cost);
    b.at = Math.max(b.at, now);
    memory.set(bucket, b);
    return b.tokens;
  }

  function allowance(left: number, capacity: number, perSecond: number, limit: number): Allowance {
    const allowed = left >= 0;
    const missing = allowed ? capacity - left : 1 - left;
    return { allowed, limit, remaining: Math.max(0, Math.floor(left)), resetSeconds: Math.max(1, Math.ceil(missing / perSecond)) };
  }

  const emailBucket = (email: string) => 'signin-email:' + createHash('sha256').update(email.trim().toLowerCase()).digest('hex').slice(0, 32);

  return {
    enabled: rateLimitPerSecond > 0,

    /** One request of a caller (`who`: a key, a session's user, or an address). */
    async request(who: string): Promise<Allowance | null> {
      if (rateLimitPerSecond <= 0) return null;
      const capacity = rateLimitPerSecond * 2;
      return allowance(await take('req:' + who, capacity, rateLimitPerSecond, 1), capacity, rateLimitPerSecond, rateLimitPerSecond);
    },

    /** Whether a sign-in may be tried now; seconds to wait when not. */
    async signInBlocked(address: string, email: string): Promise<number | null> {
      if (signinFailuresPerMinute <= 0) return null;
      const perSecond = signinFailuresPerMinute / 60;
      for (const bucket of ['signin-ip:' + address, emailBucket(email)]) {
        const left = await take(bucket, signinFailuresPerMinute, perSecond, 0);
        if (left < 1) return Math.max(1, Math.ceil((1 - left) / perSecond));
      }
      return null;
    },

    async signInFailed(address: string, email: string): Promise<void> {
      if (signinFailuresPerMinute <= 0) return;
      const perSecond = signinFailuresPerMinute / 60;
      for (const bucket of ['signin-ip:' + address, emailBucket(email)]) await take(bucket, signinFailuresPerMinute, perSecond, 1);
    },

    /** Forgets buckets idle long enough to be full again. */
    async sweep(): Promise<void> {
      const now = clock.now();
      for (const [k, b] of memory) if (now - b.at > 120_000) memory.delete(k);
      if (store.dialect === 'postgres') await deleteIdleBuckets(store.db, now - 120_000);
    },
  };
}

export type RateLimiter = ReturnType<typeof createRateLimiter>;
