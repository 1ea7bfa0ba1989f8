import { createHash } from 'node:crypto';
import type { Config } from '../config.js';
import { type Clock, systemClock } from '../domain/time.js';
import { createMailer } from '../integrations/mail.js';
import { createJobRunner, type JobKind } from '../jobs/runner.js';
import { openStore, type Store } from '../store/db.js';
import { createAccountService } from './accounts.js';
import { createApiKeyService } from './api-keys.js';
import { createContactService } from './contacts.js';
import { createAutomationService } from './automations.js';
import { createConversationService } from './conversations.js';
import { createDataExportService } from './data-export.js';
import { createExportService } from './exports.js';
import { createImportService } from './imports.js';
import { createRetentionService } from './retention.js';
import { createIdempotencyService } from './idempotency.js';
import { createMergeService } from './merge.js';
import { createRateLimiter } from './rate-limits.js';
import { createStreamService } from './stream.js';
import type { ServiceDeps } from './deps.js';
import { createWorkspaceService } from './workspaces.js';

export function createServices(deps: ServiceDeps) {
  const kinds: Record<string, JobKind> = {};
  const jobs = createJobRunner(deps.store, deps.clock, kinds);
  const exports = createExportService({ ...deps, poke: () => jobs.poke() });
  kinds.export = { run: (payload, _job, ctx) => exports.run(payload, ctx), maxAttempts: 3, failed: (payload, message) => exports.failed(payload, message) };
  const workspaces = createWorkspaceService(deps);
  const automations = createAutomationService(deps);
  const conversations = createConversationService(deps, automations);
  const contacts = createContactService(deps, automations, { forgetFiles: (person) => exports.forget(person) });
  const imports = createImportService({ ...deps, poke: () => jobs.poke() }, contacts);
  kinds.import = { run: (payload, _job, ctx) => imports.run(payload, ctx), maxAttempts: 3, failed: (payload, message) => imports.failed(payload, message) };
  const retention = createRetentionService(deps, () => jobs.poke());
  // The scheduled maintenance: conversations past retention, expired export files and reports.
  kinds.retention = {
    run: async () => {
      await retention.run();
      await exports.sweep();
      await imports.sweep();
    },
    maxAttempts: 3,
  };
  return {
    automations,
    contacts,
    imports,
    retention,
    conversations,
    merges: createMergeService(deps, conversations),
    deps,
    jobs,
    exports,
    workspaces,
    accounts: createAccountService(deps, workspaces),
    limits: createRateLimiter(deps),
    stream: createStreamService(deps),
    dataExports: createDataExportService(deps),
    keys: createApiKeyService(deps),
    idempotency: createIdempotencyService(deps),
  };
}

export type Services = ReturnType<typeof createServices>;

/** Opens the configured database, migrates it and builds the services on it. */
export async function openServices(config: Config, clock: Clock = systemClock): Promise<Services> {
  const store: Store = openStore(config.database, config.sqliteSynchronous);
  try {
    await store.migrate();
  } catch (error) {
    await store.close();
    throw error;
  }
  return createServices({
    store, clock, defaultPlan: config.defaultPlan, sessionIdleMs: config.sessionIdleMinutes * 60_000,
    rateLimitPerSecond: config.rateLimitPerSecond, signinFailuresPerMinute: config.signinFailuresPerMinute,
    filesDir: config.filesDir, publicUrl: config.publicUrl, mailer: createMailer(config.mail), importMaxBytes: config.importMaxBytes,
    // Shared by every process of one database, and not in the database itself.
    rateLimitSalt: createHash('sha256').update('rate-limits:' + (config.database.kind === 'postgres' ? config.database.url : config.database.file)).digest('hex'),
  });
}

/** Applies pending migrations and reports their names. */
export async function migrateDatabase(config: Config): Promise<string[]> {
  const store = openStore(config.database, config.sqliteSynchronous);
  try {
    return await store.migrate();
  } finally {
    await store.close();
  }
}
