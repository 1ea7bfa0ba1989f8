// The only module that reads process.env: every setting is parsed and checked once, at start, and a bad
// value stops the process with a message that names the variable.
import path from 'node:path';

export const PLANS = ['free', 'pro', 'business', 'enterprise'] as const;
export type Plan = (typeof PLANS)[number];

export interface Config {
  host: string;
  port: number;
  dataDir: string;
  /** `sqlite:<file>` when DATABASE_URL is unset, else the PostgreSQL URL. */
  database: { kind: 'sqlite'; file: string } | { kind: 'postgres'; url: string; schema: string | null; poolSize: number };
  defaultPlan: Plan;
  logLevel: string;
  /** SQLite's `synchronous`: FULL survives power loss, NORMAL survives a killed process. */
  sqliteSynchronous: 'FULL' | 'NORMAL';
  trustProxy: boolean | string;
  rateLimitPerSecond: number;
  signinFailuresPerMinute: number;
  /** A session unused this long is signed out. */
  sessionIdleMinutes: number;
  /** Where export and import files live (shared storage when several processes run). */
  filesDir: string;
  /** The address people reach the server at, for links in mail; null: the address of the request. */
  publicUrl: string | null;
  /** Mail for finished exports; null: no mail is sent. */
  mail: { url: string; from: string } | null;
  /** Whether this process also runs background jobs (exports, imports, retention). */
  runJobs: boolean;
  /** Largest import file accepted, in bytes. */
  importMaxBytes: number;
}

export class ConfigError extends Error {
  constructor(readonly variable: string, message: string) {
    super(`${variable}: ${message}`);
  }
}

type Env = Record<string, string | undefined>;

function text(env: Env, name: string, fallback: string): string {
  const v = env[name];
  return v === undefined || v.trim() === '' ? fallback : v.trim();
}

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = text(env, name, String(fallback));
  if (!/^\d+$/.test(raw)) throw new ConfigError(name, `must be a whole number, got "${raw}"`);
  const n = Number(raw);
  if (n < min || n > max) throw new ConfigError(name, `must be between ${min} and ${max}, got ${n}`);
  return n;
}

function oneOf<T extends string>(env: Env, name: string, allowed: readonly T[], fallback: T): T {
  const raw = text(env, name, fallback);
  const found = allowed.find((a) => a === raw.toLowerCase() || a === raw.toUpperCase());
  if (!found) throw new ConfigError(name, `must be one of ${allowed.join(', ')}, got "${raw}"`);
  return found;
}

export function loadConfig(env: Env = process.env): Config {
  const host = text(env, 'HOST', '127.0.0.1');
  const port = integer(env, 'PORT', 3000, 0, 65535);
  const dataDir = path.resolve(text(env, 'DATA_DIR', './data'));
  const url = text(env, 'DATABASE_URL', '');
  let database: Config['database'];
  if (url === '') {
    database = { kind: 'sqlite', file: path.join(dataDir, 'contacts.db') };
  } else if (/^postgres(ql)?:\/\//.test(url)) {
    try {
      new URL(url);
    } catch {
      throw new ConfigError('DATABASE_URL', 'is not a valid URL');
    }
    const schema = text(env, 'DATABASE_SCHEMA', '');
    if (schema !== '' && !/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) {
      throw new ConfigError('DATABASE_SCHEMA', 'must be a lowercase SQL identifier');
    }
    database = { kind: 'postgres', url, schema: schema || null, poolSize: integer(env, 'DATABASE_POOL_SIZE', 10, 1, 200) };
  } else if (url.startsWith('sqlite:')) {
    database = { kind: 'sqlite', file: path.resolve(url.slice('sqlite:'.length)) };
  } else {
    throw new ConfigError('DATABASE_URL', 'must start with postgres:// or sqlite:');
  }
  const trust = text(env, 'TRUST_PROXY', 'false');
  const publicUrl = text(env, 'PUBLIC_URL', '');
  if (publicUrl !== '' && !/^https?:\/\/[^/]+\/?$/.test(publicUrl)) throw new ConfigError('PUBLIC_URL', 'must be an http(s) origin such as https://contacts.example.com');
  const smtpUrl = text(env, 'SMTP_URL', '');
  if (smtpUrl !== '' && !/^smtps?:\/\//.test(smtpUrl)) throw new ConfigError('SMTP_URL', 'must start with smtp:// or smtps://');
  const jobs = text(env, 'RUN_JOBS', 'true');
  if (jobs !== 'true' && jobs !== 'false') throw new ConfigError('RUN_JOBS', `must be true or false, got "${jobs}"`);
  return {
    host,
    port,
    dataDir,
    database,
    defaultPlan: oneOf(env, 'DEFAULT_PLAN', PLANS, 'enterprise'),
    logLevel: oneOf(env, 'LOG_LEVEL', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const, 'info'),
    sqliteSynchronous: oneOf(env, 'SQLITE_SYNCHRONOUS', ['FULL', 'NORMAL'] as const, 'FULL'),
    trustProxy: trust === 'true' ? true : trust === 'false' ? false : trust,
    rateLimitPerSecond: integer(env, 'RATE_LIMIT_PER_SECOND', 1000, 0, 1_000_000),
    signinFailuresPerMinute: integer(env, 'SIGNIN_FAILURES_PER_MINUTE', 10, 0, 100_000),
    sessionIdleMinutes: integer(env, 'SESSION_IDLE_MINUTES', 720, 1, 525_600),
    filesDir: path.resolve(text(env, 'FILES_DIR', path.join(dataDir, 'files'))),
    publicUrl: publicUrl === '' ? null : publicUrl.replace(/\/$/, ''),
    mail: smtpUrl === '' ? null : { url: smtpUrl, from: text(env, 'MAIL_FROM', 'Chatsby Contacts <contacts@localhost>') },
    runJobs: jobs === 'true',
    importMaxBytes: integer(env, 'IMPORT_MAX_MB', 1024, 1, 1_048_576) * 1024 * 1024,
  };
}
