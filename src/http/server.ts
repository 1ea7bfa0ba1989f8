// Starts the HTTP server on the configured database and stops it cleanly: on SIGTERM, requests in flight
// finish, new ones are refused, then the database is closed (checkpointed on SQLite).
import pino from 'pino';
import type { Config } from '../config.js';
import { type Clock, systemClock } from '../domain/time.js';
import { openServices, type Services } from '../services/container.js';
import { buildApp } from './app.js';

export interface RunningServer {
  url: string;
  /** While no owner exists: the one-time link that creates the first one (valid one hour). */
  setupUrl: string | null;
  services: Services;
  /**
   * Stops: for `graceMs` new requests are still served (answered with `Connection: close`), so requests
   * already on the wire when SIGTERM came are not cut off; then the listener closes, requests in flight
   * finish, and the database is closed.
   */
  close(graceMs?: number): Promise<void>;
}

export async function startServer(config: Config, clock: Clock = systemClock): Promise<RunningServer> {
  const services = await openServices(config, clock);
  const logger = pino({ level: config.logLevel, base: undefined });
  const draining = { value: false };
  const app = await buildApp(services, { logger, trustProxy: config.trustProxy, draining });
  const address = await app.listen({ host: config.host, port: config.port });
  // While no owner exists, a one-time link to create one (printed by `serve`: the only secret the
  // server writes out).
  const setupToken = await services.accounts.issueSetupToken();
  const base = address.replace('0.0.0.0', '127.0.0.1').replace('[::]', '[::1]');
  const { store } = services.deps;
  if (config.runJobs) {
    services.jobs.start();
    // Retention and file sweeps: queued once an hour across all processes, run by whichever is free.
    void services.retention.schedule().catch(() => undefined);
  }
  const schedule = setInterval(() => {
    if (config.runJobs) void services.retention.schedule().catch(() => undefined);
  }, 5 * 60_000);
  schedule.unref();

  // Stored idempotent answers live 24 hours.
  const sweep = setInterval(() => {
    void services.limits.sweep().catch(() => undefined);
    void services.accounts.purgeExpiredSessions().catch(() => undefined);
    void services.idempotency.purgeExpired().catch((err: unknown) => {
      logger.warn({ err: { message: (err as Error).message } }, 'idempotency sweep failed');
    });
  }, 10 * 60_000);
  sweep.unref();

  let closing: Promise<void> | null = null;
  return {
    url: address,
    setupUrl: setupToken ? `${base}/setup?token=${setupToken}` : null,
    services,
    close(graceMs = 0) {
      closing ??= (async () => {
        clearInterval(sweep);
        clearInterval(schedule);
        draining.value = true;
        if (graceMs > 0) await new Promise((r) => setTimeout(r, graceMs));
        // The grace is wall time, and the event loop may have spent it busy (a group commit runs as one
        // chain of microtasks): connections still waiting in the listen backlog, or requests not yet
        // read, would be reset by closing the listener. Two turns of the loop accept them and read them.
        for (let turn = 0; turn < 2; turn++) await new Promise((r) => setImmediate(r));
        // Fastify closes the connections that are idle when closing starts; a keep-alive connection
        // whose response finishes later would otherwise hold the close until its keep-alive timeout.
        const idle = setInterval(() => app.server.closeIdleConnections(), 100);
        await app.close().finally(() => clearInterval(idle));
        await services.jobs.stop();
        services.deps.mailer?.close();
        await store.close();
      })();
      return closing;
    },
  };
}
