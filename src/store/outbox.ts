// Reading the events table as an outbox: outgoing events in seq order, and how far that order is
// settled. Written by events.ts, in the transaction of each change.
import { sql } from 'kysely';
import type { Tx } from './db.js';

/** A workspace's outgoing events (never the timeline-only ones) after a position, oldest first. */
export async function eventsAfter(db: Tx, workspaceId: string, afterSeq: number, limit: number, upToSeq: number | null = null) {
  let q = db.selectFrom('events').selectAll().where('workspace_id', '=', workspaceId).where('seq', '>', afterSeq).where('timeline_only', '=', 0);
  if (upToSeq !== null) q = q.where('seq', '<=', upToSeq);
  return q.orderBy('seq').limit(limit).execute();
}

/** The highest seq written so far, 0 when there is none. */
export async function lastEventSeq(db: Tx): Promise<number> {
  const row = await db.selectFrom('events').select((eb) => eb.fn.max('seq').as('top')).executeTakeFirst();
  return Number(row?.top ?? 0);
}

export interface OutboxSnapshot {
  /** The highest seq this snapshot sees. */
  top: number;
  /** The oldest transaction still running (xid8 as decimal text); equal to `xmax` when none is. */
  xmin: string;
  /** The first transaction id not yet assigned. */
  xmax: string;
}

/**
 * PostgreSQL only. Seqs are taken at insert and made visible at commit, so a transaction still running
 * may yet commit seqs below `top`. The transactions that can do so are the ones this snapshot sees
 * running, all below `xmax`: once a later snapshot's `xmin` reaches this `xmax`, every seq up to `top`
 * is settled. One statement, so `top` and the snapshot agree.
 */
export async function outboxSnapshot(db: Tx): Promise<OutboxSnapshot> {
  const { rows } = await sql<{ top: number | string | null; xmin: string; xmax: string }>`
    SELECT (SELECT max(seq) FROM events) AS top, pg_snapshot_xmin(s)::text AS xmin, pg_snapshot_xmax(s)::text AS xmax
    FROM pg_current_snapshot() AS s`.execute(db);
  const row = rows[0]!;
  return { top: Number(row.top ?? 0), xmin: row.xmin, xmax: row.xmax };
}

/** The seqs visible in (afterSeq, upToSeq], of every workspace: compared later, they show which commits came in between. */
export async function seqsBetween(db: Tx, afterSeq: number, upToSeq: number): Promise<number[]> {
  const rows = await db.selectFrom('events').select('seq').where('seq', '>', afterSeq).where('seq', '<=', upToSeq).execute();
  return rows.map((r) => Number(r.seq));
}
