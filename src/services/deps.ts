import type { Plan } from '../config.js';
import type { Clock } from '../domain/time.js';
import type { Mailer } from '../integrations/mail.js';
import type { Store } from '../store/db.js';

/** What every service is built from: small and explicit, easy to hand a test's store and clock. */
export interface ServiceDeps {
  store: Store;
  clock: Clock;
  defaultPlan: Plan;
  /** Sessions unused this long are signed out. */
  sessionIdleMs: number;
  rateLimitPerSecond: number;
  /** Keys the names of shared rate-limit buckets, so no address is stored (see rate-limits.ts). */
  rateLimitSalt: string;
  signinFailuresPerMinute: number;
  /** Export and import files. */
  filesDir: string;
  /** The public origin for links in mail; null: the origin of the request that asked. */
  publicUrl: string | null;
  mailer: Mailer | null;
  /** Largest import file accepted, in bytes. */
  importMaxBytes: number;
}
