// Configuration: read once from the environment, with documented defaults, and a bad value stops the
// process with a message that names the variable (and, from the CLI, exit code 2).
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';
import { assertBuilt, childEnv, runCli } from './support/processes.js';

/** The error loadConfig throws for `env`, or null when it accepts it. */
function errorOf(env: Record<string, string>): Error | null {
  try {
    loadConfig(env);
    return null;
  } catch (error) {
    return error as Error;
  }
}

describe('loadConfig defaults', () => {
  it('serves on 127.0.0.1:3000 from SQLite at ./data/contacts.db, with new workspaces on enterprise', () => {
    const config = loadConfig({});
    expect(config.host).toBe('127.0.0.1');
    expect(config.port).toBe(3000);
    expect(config.dataDir).toBe(path.resolve('./data'));
    expect(config.database).toEqual({ kind: 'sqlite', file: path.join(path.resolve('./data'), 'contacts.db') });
    expect(config.defaultPlan).toBe('enterprise');
  });

  it('reads nothing but the environment it is given', () => {
    const previous = process.env.PORT;
    process.env.PORT = '4999';
    try {
      expect(loadConfig({}).port).toBe(3000);
    } finally {
      if (previous === undefined) delete process.env.PORT;
      else process.env.PORT = previous;
    }
  });

  it('keeps the SQLite file at $DATA_DIR/contacts.db', () => {
    const config = loadConfig({ DATA_DIR: '/var/lib/chatsby' });
    expect(config.dataDir).toBe('/var/lib/chatsby');
    expect(config.database).toEqual({ kind: 'sqlite', file: '/var/lib/chatsby/contacts.db' });
    expect(loadConfig({ DATA_DIR: 'relative/dir' }).database).toEqual({ kind: 'sqlite', file: path.resolve('relative/dir/contacts.db') });
  });

  it('takes HOST, PORT, DEFAULT_PLAN and a PostgreSQL DATABASE_URL with its schema', () => {
    const config = loadConfig({
      HOST: '0.0.0.0', PORT: '8080', DEFAULT_PLAN: 'pro', DATABASE_URL: 'postgres://app:secret@db.internal:5432/chatsby', DATABASE_SCHEMA: 'tenant_a',
    });
    expect(config.host).toBe('0.0.0.0');
    expect(config.port).toBe(8080);
    expect(config.defaultPlan).toBe('pro');
    expect(config.database).toMatchObject({ kind: 'postgres', url: 'postgres://app:secret@db.internal:5432/chatsby', schema: 'tenant_a' });
    expect(loadConfig({ DATABASE_URL: 'postgresql://localhost/x' }).database).toMatchObject({ kind: 'postgres', schema: null });
    expect(loadConfig({ PORT: '0' }).port).toBe(0);
    expect(loadConfig({ PORT: '65535' }).port).toBe(65535);
  });
});

describe('loadConfig refuses a bad value, naming the variable', () => {
  const cases: Array<[string, Record<string, string>]> = [
    ['PORT', { PORT: 'abc' }],
    ['PORT', { PORT: '-1' }],
    ['PORT', { PORT: '65536' }],
    ['PORT', { PORT: '3000.5' }],
    ['PORT', { PORT: '1e3' }],
    ['PORT', { PORT: '80 80' }],
    ['DEFAULT_PLAN', { DEFAULT_PLAN: 'gold' }],
    ['DEFAULT_PLAN', { DEFAULT_PLAN: 'enterprise-plus' }],
    ['DATABASE_URL', { DATABASE_URL: 'mysql://localhost/chatsby' }],
    ['DATABASE_URL', { DATABASE_URL: 'localhost:5432' }],
    ['DATABASE_URL', { DATABASE_URL: 'postgres://user@host:notaport/db' }],
    ['DATABASE_URL', { DATABASE_URL: 'postgres://[::1/db' }],
    ['DATABASE_SCHEMA', { DATABASE_URL: 'postgres://localhost/x', DATABASE_SCHEMA: 'Robert"); DROP TABLE' }],
    ['LOG_LEVEL', { LOG_LEVEL: 'loud' }],
  ];

  it.each(cases)('%s: %j', (variable, env) => {
    const error = errorOf(env);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).variable).toBe(variable);
    expect(error!.message).toMatch(new RegExp(`^${variable}\\b`));
  });

  it('does not put the password of a bad DATABASE_URL in the message', () => {
    const error = errorOf({ DATABASE_URL: 'postgres://app:hunter2@db:notaport/x' });
    expect(error).toBeInstanceOf(ConfigError);
    expect(error!.message).toMatch(/^DATABASE_URL/);
    expect(error!.message).not.toContain('hunter2');
  });
});

describe('the CLI with a bad setting', () => {
  it('serve with PORT=abc exits 2 with one line naming PORT, and listens on nothing', async () => {
    assertBuilt();
    const r = await runCli(['serve'], childEnv({ DATA_DIR: '/nonexistent/never-created', PORT: 'abc' }));
    expect(r.code).toBe(2);
    const lines = r.stderr.split('\n').filter((l) => l.trim() !== '');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/PORT/);
    expect(lines[0]).toMatch(/abc/);
    expect(r.stdout).not.toMatch(/is running/);
  });

  it('serve with DEFAULT_PLAN=gold or a mysql DATABASE_URL exits 2 naming the variable', async () => {
    assertBuilt();
    const [plan, url] = await Promise.all([
      runCli(['serve'], childEnv({ DATA_DIR: '/nonexistent/never-created', DEFAULT_PLAN: 'gold' })),
      runCli(['migrate'], childEnv({ DATABASE_URL: 'mysql://localhost/chatsby' })),
    ]);
    expect(plan.code).toBe(2);
    expect(plan.stderr.trim()).toMatch(/^chatsby-contacts: DEFAULT_PLAN\b/);
    expect(url.code).toBe(2);
    expect(url.stderr.trim()).toMatch(/^chatsby-contacts: DATABASE_URL\b/);
  });
});
