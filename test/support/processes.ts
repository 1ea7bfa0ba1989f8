// The built CLI and server as child processes, on the environment of a test database: what an operator
// runs, with nothing of ours mocked. Needs `npm run build` first (dist/ is what bin/ imports).
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll } from 'vitest';
import { createTestDatabase, type TestDatabase } from './server.js';

export const BIN = fileURLToPath(new URL('../../bin/chatsby-contacts.js', import.meta.url));
const BUILT = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

/** Settings the product reads: never inherited from the shell that runs the tests. */
const PRODUCT_VARIABLES = [
  'HOST', 'PORT', 'DATA_DIR', 'DATABASE_URL', 'DATABASE_SCHEMA', 'DATABASE_POOL_SIZE', 'DEFAULT_PLAN', 'LOG_LEVEL',
  'SQLITE_SYNCHRONOUS', 'TRUST_PROXY', 'RATE_LIMIT_PER_SECOND',
];

export function assertBuilt(): void {
  if (!fs.existsSync(BUILT)) throw new Error(`${BUILT} is missing: run "npm run build" before these tests`);
}

/** The environment of a child: the test database's variables over a clean copy of ours. */
export function childEnv(dbEnv: Record<string, string>, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of PRODUCT_VARIABLES) delete env[name];
  return { ...env, LOG_LEVEL: 'warn', ...dbEnv, ...extra };
}

/** A port nobody listens on right now: listen on port 0, note the port, close. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs `node bin/chatsby-contacts.js ...args` to the end. */
export function runCli(args: string[], env: NodeJS.ProcessEnv, timeoutMs = 30_000): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
    child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`chatsby-contacts ${args.join(' ')} did not finish in ${timeoutMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, timeoutMs);
    child.once('error', reject);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** The last non-empty line of a command's output: where the CLI prints ids and keys. */
export function lastLine(text: string): string {
  const lines = text.split('\n').map((l) => l.trim()).filter(Boolean);
  return lines[lines.length - 1] ?? '';
}

export interface ServerProcess {
  url: string;
  port: number;
  child: ChildProcess;
  /** stdout and stderr so far, for failure messages. */
  output(): string;
  /** Resolves when the process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM (or the given signal) and wait for the exit; SIGKILL after `graceMs`. */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** `chatsby-contacts serve` on a free port; resolves once GET /healthz answers 200. */
export async function startServerProcess(env: NodeJS.ProcessEnv, timeoutMs = 30_000): Promise<ServerProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, [BIN, 'serve'], {
    env: { ...env, HOST: '127.0.0.1', PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => { output += d; });
  child.stderr.setEncoding('utf8').on('data', (d: string) => { output += d; });
  let exitedWith: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      exitedWith = { code, signal };
      resolve(exitedWith);
    });
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (exitedWith) throw new Error(`the server exited before it answered (${JSON.stringify(exitedWith)}):\n${output}`);
    try {
      const res = await fetch(url + '/healthz');
      if (res.status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`the server did not answer /healthz within ${timeoutMs} ms:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url,
    port,
    child,
    output: () => output,
    exited,
    async stop(signal = 'SIGTERM', graceMs = 15_000) {
      if (exitedWith) return exitedWith;
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      const result = await exited;
      clearTimeout(timer);
      return result;
    },
  };
}

/**
 * A test database for this file (or describe block) and the server processes started on it: built
 * before its tests, and after them every process still running killed and the database dropped.
 */
export function serverProcesses(): { readonly db: TestDatabase; start(env: NodeJS.ProcessEnv): Promise<ServerProcess> } {
  let db: TestDatabase | undefined;
  const started: ServerProcess[] = [];
  beforeAll(async () => {
    assertBuilt();
    db = await createTestDatabase();
  });
  afterAll(async () => {
    for (const s of started) await s.stop('SIGKILL');
    await db?.drop();
  });
  return {
    get db() {
      if (!db) throw new Error('the test database is made in beforeAll');
      return db;
    },
    async start(env) {
      const s = await startServerProcess(env);
      started.push(s);
      return s;
    },
  };
}
