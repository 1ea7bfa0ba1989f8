// The server under test as a child process, the key command, and cleanup that also runs on errors,
// Ctrl-C and SIGTERM: every child is stopped and every registered cleanup (a PostgreSQL schema) runs.
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CLI = path.join(ROOT, 'bin', 'chatsby-contacts.js');

const children = new Set();
const cleanups = new Set();

export const log = (msg) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);

/**
 * Registers an async cleanup; returns a function that runs it once and unregisters it. Every caller
 * waits for the same run (a signal and the main flow may clean up at the same time).
 */
export function onCleanup(fn) {
  let running = null;
  const run = () => {
    running ??= (async () => {
      cleanups.delete(run);
      await fn();
    })();
    return running;
  };
  cleanups.add(run);
  return run;
}

export async function cleanupAll() {
  for (const run of [...cleanups].reverse()) {
    try {
      await run();
    } catch (error) {
      log(`cleanup failed: ${error.message}`);
    }
  }
}

let installed = false;
let stopping = null;
/** The signal that interrupted the run, or null: an interrupted run writes no report. */
export const interrupted = () => stopping;

export function installExitHandlers() {
  if (installed) return;
  installed = true;
  // Last resort: nothing we started outlives us.
  process.on('exit', () => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.once(signal, () => {
      stopping = signal;
      log(`${signal}: stopping the server and cleaning up`);
      const hardStop = setTimeout(() => process.exit(130), 30_000);
      hardStop.unref();
      cleanupAll().finally(() => process.exit(130));
    });
  }
}

function waitForExit(child, ms) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/** The environment of the product's processes: the caller's, with these set and `unset` removed. */
export function productEnv(set, unset = []) {
  const env = { ...process.env, ...set };
  for (const k of unset) delete env[k];
  return env;
}

/** Starts `chatsby-contacts serve` and resolves once it prints its URL. */
export async function startServer(env, label) {
  const child = spawn(process.execPath, [CLI, 'serve'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  child.once('exit', () => children.delete(child));
  const tail = [];
  const logged = new Map();
  let announced = false;
  const keep = (stream, name) => {
    let rest = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk) => {
      const lines = (rest + chunk).split('\n');
      rest = lines.pop();
      for (const line of lines) {
        tail.push(line);
        if (tail.length > 40) tail.shift();
        // After start-up only warnings and errors reach the output (LOG_LEVEL=warn): show them, and
        // count them by message for the report.
        if (announced && line.trim()) {
          process.stderr.write(`[${label} ${name}] ${line.slice(0, 300)}\n`);
          let message = line.slice(0, 200);
          try {
            const entry = JSON.parse(line);
            message = `${entry.level >= 50 ? 'error' : 'warn'}: ${entry.err?.message ?? entry.msg ?? message}`;
          } catch {
            // not a JSON log line
          }
          logged.set(message, (logged.get(message) ?? 0) + 1);
        }
      }
    });
  };
  keep(child.stdout, 'out');
  keep(child.stderr, 'err');
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${label}: no URL after 120 s\n${tail.join('\n')}`)), 120_000);
    const check = () => {
      const m = tail.join('\n').match(/running at (http:\/\/\S+)/);
      if (m) {
        clearTimeout(timer);
        child.stdout.off('data', check);
        resolve(m[1].replace('0.0.0.0', '127.0.0.1'));
      }
    };
    child.stdout.on('data', check);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${label} exited during start (${code ?? signal})\n${tail.join('\n')}`));
    });
  });
  announced = true;
  const stop = onCleanup(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    // SIGTERM finishes requests in flight and checkpoints SQLite's WAL; a big WAL takes a while.
    if (!(await waitForExit(child, 120_000))) {
      log(`${label} did not stop within 120 s; killing it`);
      child.kill('SIGKILL');
      await waitForExit(child, 10_000);
    }
  });
  return {
    url,
    pid: child.pid,
    alive: () => child.exitCode === null && child.signalCode === null,
    output: () => tail.join('\n'),
    /** What the server logged after start, by message: [[message, times], ...]. */
    logged: () => [...logged.entries()],
    memory: () => readMemory(child.pid),
    stop,
  };
}

/** VmRSS and VmHWM (peak) of a process, in MiB. */
export function readMemory(pid) {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (name) => Number(status.match(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm'))?.[1] ?? NaN);
    return { rssMiB: kb('VmRSS') / 1024, peakMiB: kb('VmHWM') / 1024 };
  } catch {
    return { rssMiB: NaN, peakMiB: NaN };
  }
}

/** `chatsby-contacts keys create --scopes read,write,admin`: the key (last line) and its workspace. */
export function createAdminKey(env) {
  return new Promise((resolve, reject) => {
    const child = execFile(process.execPath, [CLI, 'keys', 'create', '--scopes', 'read,write,admin', '--name', 'bench'],
      { cwd: ROOT, env, timeout: 120_000 }, (error, stdout, stderr) => {
        if (error) return reject(new Error(`keys create failed: ${error.message}\n${stdout}${stderr}`));
        const lines = stdout.trim().split('\n');
        resolve({ key: lines[lines.length - 1].trim(), workspaceId: stdout.match(/for workspace (\S+?);/)?.[1] ?? null });
      });
    children.add(child);
    child.once('exit', () => children.delete(child));
  });
}

/** Runs a command to completion with its stdout written to `file` (the generator). */
export function runToFile(cmd, args, file) {
  return new Promise((resolve, reject) => {
    const out = fs.createWriteStream(file);
    const child = spawn(cmd, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    children.add(child);
    child.stdout.pipe(out);
    let code;
    let pending = 2;
    const done = () => (--pending === 0 ? (code === 0 ? resolve() : reject(new Error(`${path.basename(args[0])} exited with ${code}`))) : undefined);
    child.once('exit', (c, signal) => {
      children.delete(child);
      code = c ?? signal;
      done();
    });
    out.once('finish', done);
    out.once('error', reject);
  });
}

/** `chatsby-contacts users create`: a dashboard user in the bench's workspace (the browser phase). */
export function createUser(env, { email, password, role, workspace }) {
  const args = [CLI, 'users', 'create', '--email', email, '--password', password, '--role', role];
  if (workspace) args.push('--workspace', workspace);
  return new Promise((resolve, reject) => {
    const child = execFile(process.execPath, args, { cwd: ROOT, env, timeout: 120_000 }, (error, stdout, stderr) => {
      if (error) return reject(new Error(`users create failed: ${error.message}\n${stdout}${stderr}`));
      resolve(stdout.trim());
    });
    children.add(child);
    child.once('exit', () => children.delete(child));
  });
}

/**
 * CPU time so far, in clock ticks: the whole machine's (busy time of /proc/stat) and, by pid, that of
 * this process and its descendants (the server, the browser). Two snapshots give how much of the
 * machine other processes took in between (`cpuBetween`): what makes a browser's long tasks noisy.
 */
export function cpuSnapshot() {
  try {
    const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal: busy is all but idle and iowait.
    const busy = f[0] + f[1] + f[2] + f[5] + f[6] + (f[7] || 0);
    const procs = new Map();
    for (const pid of fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
      try {
        const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
        const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        procs.set(Number(pid), { ppid: Number(rest[1]), ticks: Number(rest[11]) + Number(rest[12]) });
      } catch {
        // gone meanwhile
      }
    }
    const ours = new Map([[process.pid, procs.get(process.pid)?.ticks ?? 0]]);
    for (let grew = true; grew;) {
      grew = false;
      for (const [pid, p] of procs) {
        if (!ours.has(pid) && ours.has(p.ppid)) {
          ours.set(pid, p.ticks);
          grew = true;
        }
      }
    }
    return { at: Date.now(), busy, ours };
  } catch {
    return null;
  }
}

/**
 * Cores' worth of CPU used between two snapshots, by us (bench, server, browser) and by everything
 * else. A process of ours that ended in between is not seen (its time counts as others').
 */
export function cpuBetween(a, b, ticksPerSecond = 100) {
  if (!a || !b || b.at <= a.at) return null;
  const seconds = (b.at - a.at) / 1000;
  let ours = 0;
  for (const [pid, ticks] of b.ours) ours += ticks - (a.ours.get(pid) ?? 0);
  const busy = b.busy - a.busy;
  return { seconds, oursCores: ours / ticksPerSecond / seconds, othersCores: Math.max(0, busy - ours) / ticksPerSecond / seconds };
}
