// Lifecycle automation rules: a condition on what just happened and on the contact, and changes to make.
// Pure: the service runs them inside the transaction of the change that triggers them.
import { type LifecycleStage } from './contact.js';

export const TRIGGERS = ['conversation.started', 'lead.captured', 'contact.updated'] as const;
export type Trigger = (typeof TRIGGERS)[number];

export interface RuleWhen {
  on?: Trigger;
  conversation_count_min?: number;
  page_url_contains?: string;
  action?: string;
  tag?: string;
}

export interface RuleThen {
  add_tags?: string[];
  remove_tags?: string[];
  set_stage?: LifecycleStage;
}

export interface Rule {
  id: string;
  name: string;
  when: RuleWhen;
  then: RuleThen;
}

export interface Happening {
  trigger: Trigger;
  conversationCount: number;
  /** The conversation's page, else the contact's. */
  pageUrl: string | null;
  action: string | null;
  tags: string[];
}

/** The product's three examples, seeded into every workspace, each one switchable off. */
export const DEFAULT_RULES: Array<Omit<Rule, 'id'>> = [
  { name: 'Pricing page leads: pricing-intent', when: { on: 'lead.captured', page_url_contains: '/pricing' }, then: { add_tags: ['pricing-intent'] } },
  { name: '3 or more conversations: engaged', when: { conversation_count_min: 3 }, then: { add_tags: ['engaged'] } },
  { name: 'Demo booking: demo-requested', when: { action: 'demo_booking' }, then: { add_tags: ['demo-requested'] } },
];

const tagOf = (t: string): string => t.trim().toLowerCase();

export function matches(when: RuleWhen, h: Happening): boolean {
  if (when.on !== undefined && when.on !== h.trigger) return false;
  if (when.conversation_count_min !== undefined && h.conversationCount < when.conversation_count_min) return false;
  if (when.page_url_contains !== undefined && !(h.pageUrl ?? '').toLowerCase().includes(when.page_url_contains.trim().toLowerCase())) return false;
  if (when.action !== undefined && when.action.trim() !== h.action) return false;
  if (when.tag !== undefined && !h.tags.includes(tagOf(when.tag))) return false;
  return true;
}

/** The tags and stage after every matching rule, in order; what each rule changed, for the timeline. */
export function applyRules(rules: Rule[], h: Happening, stage: string): { tags: string[]; stage: string; applied: Array<{ rule: Rule; added: string[]; removed: string[] }> } {
  let tags = [...h.tags];
  const applied: Array<{ rule: Rule; added: string[]; removed: string[] }> = [];
  for (const rule of rules) {
    if (!matches(rule.when, { ...h, tags })) continue;
    // Rules are kept normalised; trimmed, lowercased and unique again here for rules stored before that.
    const added = [...new Set((rule.then.add_tags ?? []).map(tagOf))].filter((t) => t && !tags.includes(t));
    const removed = [...new Set((rule.then.remove_tags ?? []).map(tagOf))].filter((t) => tags.includes(t));
    tags = [...tags.filter((t) => !removed.includes(t)), ...added].slice(0, 50);
    const stageChange = rule.then.set_stage !== undefined && rule.then.set_stage !== stage;
    if (stageChange) stage = rule.then.set_stage!;
    if (added.length || removed.length || stageChange) applied.push({ rule, added, removed });
  }
  return { tags, stage, applied };
}
