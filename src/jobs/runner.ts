// Runs durable jobs in this process: claims due jobs from the queue table, keeps their lease alive while
// they run, retries failures with backoff, and stops cleanly. Any number of processes can run one: the
// queue's claim gives each job to one worker at a time.
import { randomBytes } from 'node:crypto';
import type { Clock } from '../domain/time.js';
import type { Store } from '../store/db.js';
import * as jobs from '../store/jobs.js';
import type { JobRow } from '../store/schema.js';

export interface JobContext {
  /** Aborted when the lease is lost (another worker took over) or the process is stopping. */
  signal: AbortSignal;
  attempt: number;
}

export type JobHandler = (payload: unknown, job: JobRow, ctx: JobContext) => Promise<void>;

export interface JobKind {
  run: JobHandler;
  /** Attempts before the job fails for good (then `failed` is called). */
  maxAttempts: number;
  /** Called once when the job has failed for good, to record it where users see it. */
  failed?: (payload: unknown, message: string) => Promise<void>;
}

export interface JobRunnerOptions {
  concurrency?: number;
  pollMs?: number;
  leaseMs?: number;
}

/** Thrown by a job that must not be retried (bad input that will not get better). */
export class PermanentJobError extends Error {}

export function createJobRunner(store: Store, clock: Clock, kinds: Record<string, JobKind>, opts: JobRunnerOptions = {}) {
  const concurrency = opts.concurrency ?? 2;
  const pollMs = opts.pollMs ?? 1000;
  const leaseMs = opts.leaseMs ?? 10_000;
  const worker = `w_${process.pid}_${randomBytes(4).toString('hex')}`;
  const stopping = new AbortController();
  let loops: Promise<void>[] = [];
  const idle = new Set<() => void>();

  async function sleep(ms: number): Promise<void> {
    await new Promise<void>((resolve) => {
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        idle.delete(done);
        stopping.signal.removeEventListener('abort', done);
        resolve();
      }
      idle.add(done);
      stopping.signal.addEventListener('abort', done, { once: true });
    });
  }

  async function runOne(job: JobRow): Promise<void> {
    const kind = kinds[job.kind];
    const lost = new AbortController();
    const signal = AbortSignal.any([lost.signal, stopping.signal]);
    const renew = setInterval(() => {
      void jobs.renewLease(store.db, job.id, worker, Date.now() + leaseMs)
        .then((held) => { if (!held) lost.abort(new Error('lease lost')); })
        .catch(() => undefined);
    }, Math.max(100, Math.floor(leaseMs / 3)));
    try {
      if (!kind) throw new PermanentJobError(`no worker for jobs of kind ${job.kind}`);
      await kind.run(JSON.parse(job.payload), job, { signal, attempt: job.attempts });
      clearInterval(renew);
      await store.transaction((trx) => jobs.finishJob(trx, job.id, worker, clock.now()));
    } catch (error) {
      clearInterval(renew);
      // Lost: another worker has it. Stopping: hand it back at once, for the next worker to resume.
      if (lost.signal.aborted) return;
      if (stopping.signal.aborted) {
        await store.transaction((trx) => jobs.releaseJob(trx, job.id, worker, clock.now())).catch(() => undefined);
        return;
      }
      const message = error instanceof Error ? error.message : String(error);
      const permanent = error instanceof PermanentJobError || !kind || job.attempts >= kind.maxAttempts;
      const retryAt = permanent ? null : clock.now() + Math.min(60_000, 1000 * 2 ** job.attempts);
      await store.transaction((trx) => jobs.failJob(trx, job.id, worker, message, clock.now(), retryAt));
      if (permanent && kind?.failed) await kind.failed(JSON.parse(job.payload), message).catch(() => undefined);
    }
  }

  async function loop(): Promise<void> {
    while (!stopping.signal.aborted) {
      let job: JobRow | null = null;
      try {
        const real = Date.now();
        job = await store.transaction((trx) => jobs.claimJob(trx, store.dialect, worker, clock.now(), real, real + leaseMs));
      } catch {
        // The database is away for a moment (restart, failover): try again at the next tick.
      }
      if (job) await runOne(job);
      else await sleep(pollMs);
    }
  }

  return {
    worker,
    start(): void {
      if (loops.length) return;
      loops = Array.from({ length: concurrency }, () => loop());
    },
    /** A job was queued here: look now rather than at the next poll. */
    poke(): void {
      for (const done of [...idle]) done();
    },
    /** Stops taking jobs; jobs running are interrupted and resumed by the next worker. */
    async stop(): Promise<void> {
      stopping.abort();
      await Promise.all(loops);
    },
  };
}

export type JobRunner = ReturnType<typeof createJobRunner>;
