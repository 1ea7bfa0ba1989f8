// A real server on loopback for each test file, on its own SQLite file or its own PostgreSQL schema
// (DATABASE_URL set), dropped afterwards so runs never collide.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { loadConfig, type Config } from '../../src/config.js';
import type { Scope } from '../../src/domain/access.js';
import type { Clock } from '../../src/domain/time.js';
import { startServer, type RunningServer } from '../../src/http/server.js';

export const usingPostgres = Boolean(process.env.DATABASE_URL);

export interface TestDatabase {
  env: Record<string, string>;
  dir: string;
  drop(): Promise<void>;
}

/** A fresh database: a temporary directory with a SQLite file, or a new PostgreSQL schema. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chatsby-test-'));
  if (!usingPostgres) {
    return { env: { DATA_DIR: dir }, dir, drop: async () => fs.rmSync(dir, { recursive: true, force: true }) };
  }
  const schema = 't_' + randomBytes(6).toString('hex');
  const url = process.env.DATABASE_URL!;
  return {
    env: { DATA_DIR: dir, DATABASE_URL: url, DATABASE_SCHEMA: schema },
    dir,
    async drop() {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await client.end();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function testConfig(db: TestDatabase, extra: Record<string, string> = {}): Config {
  return loadConfig({ HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'silent', ...db.env, ...extra });
}

export interface TestServer {
  url: string;
  server: RunningServer;
  db: TestDatabase;
  config: Config;
  /** A workspace of its own with a key of the given scopes. */
  workspace(name?: string): Promise<{ id: string; key: string; keyFor(scopes: Scope[]): Promise<string> }>;
  close(): Promise<void>;
}

export async function startTestServer(opts: { env?: Record<string, string>; clock?: Clock } = {}): Promise<TestServer> {
  const db = await createTestDatabase();
  const config = testConfig(db, opts.env);
  let server: RunningServer;
  try {
    server = await startServer(config, opts.clock);
  } catch (error) {
    // A server that failed to start must not leave its schema behind for later runs to trip on.
    await db.drop();
    throw error;
  }
  const { workspaces, keys } = server.services;
  return {
    url: server.url,
    server,
    db,
    config,
    async workspace(name = 'Test workspace') {
      const ws = await workspaces.create(name);
      const keyFor = async (scopes: Scope[]) => (await keys.create(ws.id, scopes, 'test')).secret;
      return { id: ws.id, key: await keyFor(['read', 'write', 'admin']), keyFor };
    },
    async close() {
      await server.close();
      await db.drop();
    },
  };
}

export interface Answer<T = any> {
  status: number;
  headers: Headers;
  body: T;
}

/** A small HTTP client: JSON in and out, the key as a Bearer token. */
export function client(baseUrl: string, key?: string) {
  async function call<T = any>(method: string, url: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer<T>> {
    const h: Record<string, string> = { ...headers };
    if (key) h.authorization = `Bearer ${key}`;
    let payload: string | undefined;
    if (body !== undefined) {
      payload = typeof body === 'string' ? body : JSON.stringify(body);
      h['content-type'] ??= 'application/json';
    }
    const res = await fetch(baseUrl + url, { method, headers: h, body: payload });
    const text = await res.text();
    let parsed: unknown = text;
    if (text && /json/.test(res.headers.get('content-type') ?? '')) parsed = JSON.parse(text);
    return { status: res.status, headers: res.headers, body: parsed as T };
  }
  return {
    call,
    get: <T = any>(url: string, headers?: Record<string, string>) => call<T>('GET', url, undefined, headers),
    post: <T = any>(url: string, body?: unknown, headers?: Record<string, string>) => call<T>('POST', url, body ?? {}, headers),
    patch: <T = any>(url: string, body: unknown, headers?: Record<string, string>) => call<T>('PATCH', url, body, headers),
    delete: <T = any>(url: string, headers?: Record<string, string>) => call<T>('DELETE', url, undefined, headers),
  };
}

export type Client = ReturnType<typeof client>;

/** A clock the test moves by hand. */
export function manualClock(start = Date.parse('2026-03-15T10:30:00.000Z')): Clock & { set(ms: number): void; advance(ms: number): void } {
  let now = start;
  return { now: () => now, set: (ms) => { now = ms; }, advance: (ms) => { now += ms; } };
}
