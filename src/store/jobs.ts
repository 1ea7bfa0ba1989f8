// The durable job queue: a row per job, claimed under a lease. A worker that dies stops renewing its
// lease and another takes the job over when the lease runs out; on PostgreSQL, claims skip rows another
// worker is claiming at the same moment (FOR UPDATE SKIP LOCKED), so no job has two workers.
import { sql } from 'kysely';
import type { Dialect, Tx } from './db.js';
import type { JobRow } from './schema.js';

export type NewJob = Pick<JobRow, 'id' | 'workspace_id' | 'kind' | 'payload' | 'run_at'> & { dedupe_key?: string | null };

/** Queues a job; with a `dedupe_key` already queued (a scheduled run another process queued), nothing. */
export async function enqueueJob(db: Tx, job: NewJob, now: number): Promise<boolean> {
  const result = await db.insertInto('jobs')
    .values({ ...job, dedupe_key: job.dedupe_key ?? null, status: 'queued', attempts: 0, locked_by: null, locked_until: null, last_error: null, created_at: now, updated_at: now })
    .onConflict((oc) => oc.column('dedupe_key').doNothing())
    .executeTakeFirst();
  return Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
}

/**
 * Takes the next due job (queued and due, or running under a lease that ran out) for `worker` until
 * `leaseUntil`. `now` is the queue's time for due dates; `leaseNow` real time for leases.
 */
export async function claimJob(db: Tx, dialect: Dialect, worker: string, now: number, leaseNow: number, leaseUntil: number): Promise<JobRow | null> {
  const lock = dialect === 'postgres' ? sql`FOR UPDATE SKIP LOCKED` : sql``;
  const result = await sql<JobRow>`
    UPDATE jobs SET status = 'running', locked_by = ${worker}, locked_until = ${leaseUntil},
      attempts = attempts + 1, updated_at = ${now}
    WHERE id = (
      SELECT id FROM jobs
      WHERE (status = 'queued' AND run_at <= ${now}) OR (status = 'running' AND locked_until < ${leaseNow})
      ORDER BY run_at, id LIMIT 1 ${lock})
    RETURNING *`.execute(db);
  return result.rows[0] ?? null;
}

/** Renews the lease; false when another worker has taken the job over (this one must stop). */
export async function renewLease(db: Tx, id: string, worker: string, leaseUntil: number): Promise<boolean> {
  const r = await db.updateTable('jobs').set({ locked_until: leaseUntil })
    .where('id', '=', id).where('locked_by', '=', worker).where('status', '=', 'running').executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

export async function finishJob(db: Tx, id: string, worker: string, now: number): Promise<void> {
  await db.updateTable('jobs').set({ status: 'done', locked_by: null, locked_until: null, updated_at: now })
    .where('id', '=', id).where('locked_by', '=', worker).execute();
}

/** Hands a job back (the process is stopping): queued again, the attempt not counted. */
export async function releaseJob(db: Tx, id: string, worker: string, now: number): Promise<void> {
  await db.updateTable('jobs').set({ status: 'queued', attempts: sql<number>`attempts - 1`, locked_by: null, locked_until: null, updated_at: now })
    .where('id', '=', id).where('locked_by', '=', worker).execute();
}

/** A failed attempt: queued again at `retryAt`, or failed for good when `retryAt` is null. */
export async function failJob(db: Tx, id: string, worker: string, error: string, now: number, retryAt: number | null): Promise<void> {
  await db.updateTable('jobs')
    .set({ status: retryAt === null ? 'failed' : 'queued', run_at: retryAt ?? now, last_error: error.slice(0, 2000), locked_by: null, locked_until: null, updated_at: now })
    .where('id', '=', id).where('locked_by', '=', worker).execute();
}

/** Finished jobs are kept a while for operators to look at, then dropped. */
export async function purgeFinishedJobs(db: Tx, before: number): Promise<void> {
  await db.deleteFrom('jobs').where('status', 'in', ['done', 'failed']).where('updated_at', '<', before).execute();
}
