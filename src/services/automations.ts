// /v1/automations, and running the rules inside the transaction of the change that triggers them.
import { actorOf, type Principal } from '../domain/access.js';
import { applyRules, DEFAULT_RULES, type Rule, type RuleThen, type RuleWhen, type Trigger } from '../domain/automation.js';
import { normaliseTags } from '../domain/contact.js';
import { Invalid, NotFound } from '../domain/errors.js';
import { newId } from '../domain/ids.js';
import { toIso } from '../domain/time.js';
import * as automations from '../store/automations.js';
import * as contacts from '../store/contacts.js';
import type { Tx } from '../store/db.js';
import type { NewEvent } from '../store/events.js';
import type { AutomationRow, ContactRow } from '../store/schema.js';
import type { ServiceDeps } from './deps.js';
import type { Page } from './contacts.js';
import { pageOfWhole } from './cursors.js';

export interface AutomationView {
  id: string;
  name: string;
  enabled: boolean;
  when: RuleWhen;
  then: RuleThen;
  created_at: string;
  updated_at: string;
}

function view(r: AutomationRow): AutomationView {
  return { id: r.id, name: r.name, enabled: r.enabled === 1, when: JSON.parse(r.when_json) as RuleWhen, then: JSON.parse(r.then_json) as RuleThen, created_at: toIso(r.created_at), updated_at: toIso(r.updated_at) };
}

/**
 * The rule as it is kept: strings trimmed, the tag condition and the tags lowercased and unique (as a
 * contact's tags are), so that a rule matches what it says and never adds a tag twice; `422` otherwise.
 */
function normaliseRule<W extends RuleWhen | undefined, T extends RuleThen | undefined>(when: W, then: T): { when: W; then: T } {
  let w = when;
  if (when) {
    const out: RuleWhen = { ...when };
    if (when.page_url_contains !== undefined) {
      out.page_url_contains = when.page_url_contains.trim();
      if (!out.page_url_contains) throw Invalid.field('when.page_url_contains', 'must be 1 to 500 characters');
    }
    if (when.action !== undefined) {
      out.action = when.action.trim();
      if (!/^[a-z0-9_.-]{1,64}$/i.test(out.action)) throw Invalid.field('when.action', 'must be an action name of up to 64 characters');
    }
    if (when.tag !== undefined) {
      out.tag = when.tag.trim().toLowerCase();
      if (!out.tag) throw Invalid.field('when.tag', 'must be 1 to 64 characters');
    }
    w = out as W;
  }
  let t = then;
  if (then) {
    const out: RuleThen = { ...then };
    const errors: Array<{ field: string; message: string }> = [];
    for (const k of ['add_tags', 'remove_tags'] as const) {
      if (!then[k]) continue;
      const found: Array<{ field: string; message: string }> = [];
      out[k] = normaliseTags(then[k], found) ?? [];
      errors.push(...found.map((e) => ({ ...e, field: `then.${k}` })));
    }
    if (errors.length) throw new Invalid(errors);
    if (!out.add_tags?.length && !out.remove_tags?.length && !out.set_stage) throw Invalid.field('then', 'must add or remove a tag, or set a stage');
    t = out as T;
  }
  return { when: w, then: t };
}

export function createAutomationService({ store, clock }: ServiceDeps) {
  /** The default rules, once per workspace (a rule switched off or deleted stays so). */
  async function seed(trx: Tx, workspaceId: string): Promise<void> {
    if (!(await automations.claimSeeding(trx, workspaceId))) return;
    const now = clock.now();
    await automations.insertAutomations(trx, DEFAULT_RULES.map((r, i) => ({
      id: newId('automation'), workspace_id: workspaceId, name: r.name, enabled: 1, when_json: JSON.stringify(r.when),
      then_json: JSON.stringify(r.then), created_at: now + i, updated_at: now + i,
    })));
  }

  return {
    async list(p: Principal, limit?: unknown, cursor?: unknown): Promise<Page<AutomationView>> {
      await store.transaction((trx) => seed(trx, p.workspaceId));
      return pageOfWhole(await automations.listAutomations(store.db, p.workspaceId), (r) => ({ at: r.created_at, id: r.id }), 'asc', limit, cursor, view);
    },

    async create(p: Principal, input: { name: string; enabled?: boolean; when: RuleWhen; then: RuleThen }): Promise<AutomationView> {
      const name = input.name.trim();
      if (!name || name.length > 200) throw Invalid.field('name', 'must be 1 to 200 characters');
      const rule = normaliseRule(input.when, input.then);
      const now = clock.now();
      const row: AutomationRow = { id: newId('automation'), workspace_id: p.workspaceId, name, enabled: input.enabled === false ? 0 : 1, when_json: JSON.stringify(rule.when), then_json: JSON.stringify(rule.then), created_at: now, updated_at: now };
      await store.transaction(async (trx) => {
        await seed(trx, p.workspaceId);
        await automations.insertAutomations(trx, [row]);
      });
      return view(row);
    },

    async update(p: Principal, id: string, patch: { name?: string; enabled?: boolean; when?: RuleWhen; then?: RuleThen }): Promise<AutomationView> {
      const rule = normaliseRule(patch.when, patch.then);
      const changes: Partial<AutomationRow> = { updated_at: clock.now() };
      if (patch.name !== undefined) {
        const name = patch.name.trim();
        if (!name || name.length > 200) throw Invalid.field('name', 'must be 1 to 200 characters');
        changes.name = name;
      }
      if (patch.enabled !== undefined) changes.enabled = patch.enabled ? 1 : 0;
      if (rule.when !== undefined) changes.when_json = JSON.stringify(rule.when);
      if (rule.then !== undefined) changes.then_json = JSON.stringify(rule.then);
      const row = await store.transaction(async (trx) => {
        await seed(trx, p.workspaceId);
        const found = await automations.getAutomation(trx, p.workspaceId, id);
        if (!found) throw new NotFound('automation rule');
        await automations.updateAutomation(trx, p.workspaceId, id, changes);
        return { ...found, ...changes };
      });
      return view(row);
    },

    async delete(p: Principal, id: string): Promise<void> {
      const done = await store.transaction((trx) => automations.deleteAutomation(trx, p.workspaceId, id));
      if (!done) throw new NotFound('automation rule');
    },

    /**
     * Runs the workspace's enabled rules on a contact after `trigger`, in the caller's transaction.
     * Returns the contact as the rules leave it, and the timeline entries of what they did.
     */
    async run(trx: Tx, p: Principal, row: ContactRow, trigger: Trigger, ctx: { pageUrl?: string | null; action?: string | null }): Promise<{ row: ContactRow; events: NewEvent[] }> {
      await seed(trx, row.workspace_id);
      const rules: Rule[] = (await automations.listAutomations(trx, row.workspace_id, true)).map((r) => ({ id: r.id, name: r.name, when: JSON.parse(r.when_json) as RuleWhen, then: JSON.parse(r.then_json) as RuleThen }));
      if (!rules.length) return { row, events: [] };
      const before = JSON.parse(row.tags) as string[];
      const result = applyRules(rules, { trigger, conversationCount: row.conversation_count, pageUrl: ctx.pageUrl ?? row.page_url, action: ctx.action ?? null, tags: before }, row.lifecycle_stage);
      if (!result.applied.length) return { row, events: [] };
      const now = clock.now();
      const next: ContactRow = { ...row, tags: JSON.stringify(result.tags), updated_at: now };
      if (result.stage !== row.lifecycle_stage) {
        next.lifecycle_stage = result.stage;
        next.stage_manual = 1;
      }
      await contacts.updateContact(trx, row.workspace_id, row.id, { tags: next.tags, lifecycle_stage: next.lifecycle_stage, stage_manual: next.stage_manual, updated_at: now });
      if (next.tags !== row.tags) await contacts.replaceTags(trx, row.workspace_id, row.id, result.tags, before.length > 0);
      const actor = JSON.stringify(actorOf(p));
      return {
        row: next,
        events: result.applied.map((a) => ({
          id: newId('event'), workspace_id: row.workspace_id, contact_id: row.id, type: 'automation.applied', actor,
          data: JSON.stringify({ rule_id: a.rule.id, name: a.rule.name, trigger, added_tags: a.added, removed_tags: a.removed, ...(a.rule.then.set_stage ? { stage: a.rule.then.set_stage } : {}) }),
          occurred_at: now, timeline_only: 1,
        })),
      };
    },
  };
}

export type AutomationService = ReturnType<typeof createAutomationService>;
