import type { Config } from '../config.js';
import { type Clock, systemClock } from '../domain/time.js';
import { openStore, type Store } from '../store/db.js';
import { createApiKeyService } from './api-keys.js';
import { createContactService } from './contacts.js';
import { createIdempotencyService } from './idempotency.js';
import type { ServiceDeps } from './deps.js';
import { createWorkspaceService } from './workspaces.js';

export function createServices(deps: ServiceDeps) {
  return {
    deps,
    workspaces: createWorkspaceService(deps),
    keys: createApiKeyService(deps),
    contacts: createContactService(deps),
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
  return createServices({ store, clock, defaultPlan: config.defaultPlan });
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
