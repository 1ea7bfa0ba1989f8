// Retention: conversations idle longer than the plan keeps them are purged (messages with them), and
// each purged conversation folds into its contact's baseline, so conversation_count, first_seen and
// last_seen never change. Runs as a scheduled job: one per hour across all processes, each batch its
// own transaction, so a run that stops half way is finished by the next one.
import { limitsOf } from '../domain/plans.js';
import * as contacts from '../store/contacts.js';
import * as convs from '../store/conversations.js';
import { enqueueJob, purgeFinishedJobs } from '../store/jobs.js';
import { newId } from '../domain/ids.js';
import type { ConversationRow } from '../store/schema.js';
import { listWorkspaces } from '../store/workspaces.js';
import type { ServiceDeps } from './deps.js';

const DAY = 86_400_000;
const BATCH = 500;
export const RETENTION_EVERY_MS = 3600_000;

export function createRetentionService({ store, clock }: ServiceDeps, poke: () => void) {
  /** Purges one batch of a workspace's old conversations; how many went. */
  async function purgeBatch(workspaceId: string, cutoff: number): Promise<number> {
    return store.transaction(async (trx) => {
      const old = await convs.conversationsIdleBefore(trx, workspaceId, cutoff, BATCH);
      const byContact = new Map<string, ConversationRow[]>();
      for (const c of old) if (c.contact_id) byContact.set(c.contact_id, [...(byContact.get(c.contact_id) ?? []), c]);
      for (const [contactId, list] of byContact) {
        const row = await contacts.getContact(trx, workspaceId, contactId);
        if (!row) continue;
        const first = Math.min(...list.map((c) => c.started_at));
        const last = Math.max(...list.map((c) => c.last_message_at ?? c.started_at));
        await contacts.updateContact(trx, workspaceId, contactId, {
          baseline_count: row.baseline_count + list.length,
          baseline_first_seen: Math.min(row.baseline_first_seen ?? row.created_at, first),
          baseline_last_seen: Math.max(row.baseline_last_seen ?? last, last),
        });
      }
      await convs.deleteConversations(trx, workspaceId, old.map((c) => c.id));
      return old.length;
    });
  }

  return {
    /** Purges what every workspace's plan no longer keeps; the number of conversations purged. */
    async run(): Promise<number> {
      const now = clock.now();
      let purged = 0;
      for (const ws of await listWorkspaces(store.db)) {
        const days = limitsOf(ws).conversation_retention_days;
        if (days === null) continue;
        for (;;) {
          const n = await purgeBatch(ws.id, now - days * DAY);
          purged += n;
          if (n < BATCH) break;
        }
      }
      await store.transaction((trx) => purgeFinishedJobs(trx, now - 7 * DAY));
      return purged;
    },

    /** Queues this hour's run, once across all processes (the queue's dedupe key). */
    async schedule(): Promise<void> {
      const now = clock.now();
      const slot = Math.floor(now / RETENTION_EVERY_MS);
      const queued = await store.transaction((trx) => enqueueJob(trx, {
        id: newId('job'), workspace_id: null, kind: 'retention', payload: '{}', run_at: now, dedupe_key: `retention:${slot}`,
      }, now));
      if (queued) poke();
    },
  };
}

export type RetentionService = ReturnType<typeof createRetentionService>;
