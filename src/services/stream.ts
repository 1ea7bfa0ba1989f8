// Following a workspace's events as they happen, from a position: the outbox read in seq order. One
// poller per process asks the events table every `pollMs`, so a change made by any process (another
// API process on PostgreSQL, the CLI) reaches every stream, and nothing is kept in memory that another
// process would need. A position is an event's seq: resuming after it misses nothing and repeats nothing
// (on PostgreSQL, unless a transaction stays open longer than `maxSettleMs`).
import type { Selectable } from 'kysely';
import type { Principal } from '../domain/access.js';
import { toIso } from '../domain/time.js';
import type { EventRow } from '../store/schema.js';
import * as outbox from '../store/outbox.js';
import type { ServiceDeps } from './deps.js';

/** An event as API.md documents its body, with its seq (the stream's position). */
export interface StreamEvent {
  seq: number;
  type: string;
  body: { id: string; event: string; occurred_at: string; data: unknown };
}

/** Where a subscription's events go. */
export interface StreamSink {
  /** Events in seq order, each batch after the previous one. */
  send(events: StreamEvent[]): void;
  /** False while the sink is still writing out what it was sent: the poller skips it until it is true. */
  ready(): boolean;
  /** The service stopped: no more events will come. */
  end(): void;
}

export interface Subscription {
  /** The seq the subscription started after. */
  readonly after: number;
  close(): void;
}

export interface StreamOptions {
  /** How often the events table is asked for new events. */
  pollMs?: number;
  /** At most this many events per subscription per poll. */
  batch?: number;
  /**
   * PostgreSQL: how long a seq may wait for the transactions that could still commit below it. A
   * transaction running longer than this (one left open by hand) no longer holds every stream back.
   */
  maxSettleMs?: number;
}

interface Subscriber {
  workspaceId: string;
  cursor: number;
  sink: StreamSink;
  closed: boolean;
}

export function presentEvent(row: Selectable<EventRow>): StreamEvent {
  return {
    seq: row.seq,
    type: row.type,
    body: { id: row.id, event: row.type, occurred_at: toIso(row.occurred_at), data: JSON.parse(row.data) as unknown },
  };
}

export function createStreamService(deps: ServiceDeps, opts: StreamOptions = {}) {
  const { store } = deps;
  const pollMs = opts.pollMs ?? 500;
  const batch = opts.batch ?? 200;
  const maxSettleMs = opts.maxSettleMs ?? 10_000;
  const subscribers = new Set<Subscriber>();
  let loop: Promise<void> | null = null;
  let wake: (() => void) | null = null;
  let stopped = false;

  // SQLite commits one writer at a time, seqs in commit order: what is visible is settled. PostgreSQL
  // commits concurrently, so the settled end trails what is visible (see outbox.outboxSnapshot).
  let settled = 0;
  const unsettled: Array<{ xmax: bigint; top: number; since: number }> = [];

  async function settledEnd(): Promise<number> {
    if (store.dialect === 'sqlite') return outbox.lastEventSeq(store.db);
    const snap = await outbox.outboxSnapshot(store.db);
    const xmin = BigInt(snap.xmin);
    // Real time, not the service clock: this is about transactions running now.
    const now = performance.now();
    if (xmin === BigInt(snap.xmax)) {
      // Nothing was running: everything visible is settled.
      settled = Math.max(settled, snap.top);
      unsettled.length = 0;
      return settled;
    }
    if (snap.top > settled) unsettled.push({ xmax: BigInt(snap.xmax), top: snap.top, since: now });
    while (unsettled.length && (unsettled[0]!.xmax <= xmin || now - unsettled[0]!.since >= maxSettleMs)) {
      settled = Math.max(settled, unsettled.shift()!.top);
    }
    return settled;
  }

  /**
   * Where a stream that starts now begins: after every event committed so far, before every event
   * committed from now on. On PostgreSQL, transactions running now may yet commit seqs below the
   * highest visible one: wait for them to end and begin before the lowest seq they committed (the
   * events committed just before it, above that seq, are then sent too: sent twice is better than lost).
   */
  async function currentEnd(): Promise<number> {
    if (store.dialect === 'sqlite') return outbox.lastEventSeq(store.db);
    const snap = await outbox.outboxSnapshot(store.db);
    if (snap.xmin === snap.xmax) return snap.top;
    // Transactions are short: what they wrote sits among the last seqs.
    const floor = Math.max(0, snap.top - 1000);
    const before = new Set(await outbox.seqsBetween(store.db, floor, snap.top));
    const deadline = performance.now() + maxSettleMs;
    while (performance.now() < deadline && !stopped) {
      await new Promise((r) => setTimeout(r, 10));
      if (BigInt((await outbox.outboxSnapshot(store.db)).xmin) >= BigInt(snap.xmax)) break;
    }
    const late = (await outbox.seqsBetween(store.db, floor, snap.top)).filter((seq) => !before.has(seq));
    return late.length ? Math.min(...late) - 1 : snap.top;
  }

  async function poll(): Promise<void> {
    const end = await settledEnd();
    // Subscribers of one workspace at one position share a query (a dashboard's tabs, after the first poll).
    const groups = new Map<string, Subscriber[]>();
    for (const s of subscribers) {
      if (s.closed || s.cursor >= end || !s.sink.ready()) continue;
      const key = `${s.workspaceId}\n${s.cursor}`;
      const group = groups.get(key);
      if (group) group.push(s);
      else groups.set(key, [s]);
    }
    for (const group of groups.values()) {
      const { workspaceId, cursor } = group[0]!;
      const rows = await outbox.eventsAfter(store.db, workspaceId, cursor, batch, end);
      const events = rows.map(presentEvent);
      // A full batch may have more behind it: carry on from its last seq; otherwise all up to `end` is read.
      const next = rows.length === batch ? rows[rows.length - 1]!.seq : end;
      for (const s of group) {
        if (s.closed) continue;
        s.cursor = next;
        if (events.length) s.sink.send(events);
      }
    }
  }

  async function run(): Promise<void> {
    let quick = false;
    while (!stopped && subscribers.size) {
      try {
        await poll();
      } catch {
        // A database that does not answer this time may the next; the streams stay open meanwhile.
      }
      // Seqs waiting to settle usually settle within milliseconds: look again soon, once.
      quick = !quick && unsettled.length > 0;
      const waitMs = quick ? Math.min(pollMs, 50) : pollMs;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, waitMs);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = null;
    }
    loop = null;
  }

  return {
    /**
     * Follows the caller's workspace after `after` (an event's seq), or from the current end when
     * `after` is null: only events that happen from now on. A position beyond the end (another
     * database's) is taken as the end.
     */
    async subscribe(p: Principal, after: number | null, sink: StreamSink): Promise<Subscription> {
      const start = after === null ? await currentEnd() : Math.min(after, await outbox.lastEventSeq(store.db));
      const s: Subscriber = { workspaceId: p.workspaceId, cursor: start, sink, closed: stopped };
      if (stopped) sink.end();
      else {
        subscribers.add(s);
        loop ??= run();
      }
      return {
        after: start,
        close() {
          s.closed = true;
          subscribers.delete(s);
        },
      };
    },

    /** Ends every subscription and stops polling (the server is stopping). */
    async close(): Promise<void> {
      stopped = true;
      for (const s of subscribers) {
        s.closed = true;
        s.sink.end();
      }
      subscribers.clear();
      wake?.();
      await loop;
    },
  };
}

export type StreamService = ReturnType<typeof createStreamService>;
