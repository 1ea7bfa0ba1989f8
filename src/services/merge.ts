// Merge: fold one contact into another (API.md's rules). The target keeps its values and fills its
// empty fields from the other; tags are the union; metadata merges with the target's keys winning;
// conversations, visitors, notes, consents and events move; baselines add; the other contact is gone.
import { actorOf, type Principal } from '../domain/access.js';
import { LIMITS, searchKeys } from '../domain/contact.js';
import { Invalid, NotFound } from '../domain/errors.js';
import { newId } from '../domain/ids.js';
import * as contacts from '../store/contacts.js';
import { moveContactBelongings } from '../store/conversations.js';
import * as events from '../store/events.js';
import { purgeIdempotentForContact } from '../store/idempotency.js';
import type { ContactRow } from '../store/schema.js';
import { type ContactView, presentContact } from './contact-view.js';
import { diff } from './contact-rows.js';
import type { ConversationService } from './conversations.js';
import type { ServiceDeps } from './deps.js';

const FILLED = ['name', 'email', 'phone', 'company', 'page_url', 'ip_country'] as const;

export function createMergeService({ store, clock }: ServiceDeps, conversations: ConversationService) {
  return {
    async merge(p: Principal, targetId: string, fromId: string): Promise<ContactView> {
      if (targetId === fromId) throw Invalid.field('from', 'must be another contact than the one merged into');
      const row = await store.transaction(async (trx) => {
        await contacts.serialiseMatchingWrites(trx, store.dialect, p.workspaceId);
        const target = await contacts.getContact(trx, p.workspaceId, targetId);
        if (!target) throw new NotFound('contact');
        const other = await contacts.getContact(trx, p.workspaceId, fromId);
        if (!other) throw new NotFound('contact to merge from');
        const now = clock.now();

        const next: ContactRow = { ...target };
        for (const k of FILLED) if (next[k] === null) next[k] = other[k];
        next.email_lower = next.email?.toLowerCase() ?? null;
        // The union and the merged metadata keep the limits of a contact: over them the merge is refused
        // whole rather than a tag or a key silently dropped.
        const tags = [...new Set([...(JSON.parse(target.tags) as string[]), ...(JSON.parse(other.tags) as string[])])];
        if (tags.length > LIMITS.tagsPerContact) {
          throw Invalid.field('from', `the merged contact would hold ${tags.length} tags, over the ${LIMITS.tagsPerContact} a contact may have; remove some first`);
        }
        next.tags = JSON.stringify(tags);
        next.metadata = JSON.stringify({ ...(JSON.parse(other.metadata) as object), ...(JSON.parse(target.metadata) as object) });
        if (Buffer.byteLength(next.metadata) > LIMITS.metadataBytes) {
          throw Invalid.field('from', `the merged metadata would exceed ${LIMITS.metadataBytes} bytes as JSON; remove some keys first`);
        }
        next.baseline_count = target.baseline_count + other.baseline_count;
        // A contact without a baseline was first seen no later than its creation: that floor merges too.
        const firsts = [target.baseline_first_seen ?? target.created_at, other.baseline_first_seen ?? other.created_at];
        const lasts = [target.baseline_last_seen, other.baseline_last_seen].filter((v): v is number => v !== null);
        next.baseline_first_seen = firsts.length ? Math.min(...firsts) : null;
        next.baseline_last_seen = lasts.length ? Math.max(...lasts) : null;
        next.created_at = Math.min(target.created_at, other.created_at);
        Object.assign(next, searchKeys(next));

        // The other row goes first, so its email and phone are free for the target to take.
        await moveContactBelongings(trx, p.workspaceId, other.id, target.id);
        await purgeIdempotentForContact(trx, p.workspaceId, other.id);
        await contacts.deleteContact(trx, p.workspaceId, other.id);
        await contacts.updateContact(trx, p.workspaceId, target.id, { ...diff(target, next), updated_at: now });
        await contacts.replaceTags(trx, p.workspaceId, target.id, tags, true);
        const merged = await conversations.refreshAutoFields(trx, { ...next, updated_at: now }, now);
        await events.appendEvents(trx, [{
          id: newId('event'), workspace_id: p.workspaceId, contact_id: target.id, type: 'contact.merged', actor: JSON.stringify(actorOf(p)),
          data: JSON.stringify({ ...presentContact(merged), merged_id: other.id }), occurred_at: now, timeline_only: 0,
        }]);
        return merged;
      });
      return presentContact(row);
    },
  };
}

export type MergeService = ReturnType<typeof createMergeService>;
