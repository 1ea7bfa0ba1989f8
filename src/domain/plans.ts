// Plan limits, from the product description's storage and retention table.
import type { Plan } from '../config.js';

export interface PlanLimits {
  /** null: unlimited. */
  contacts: number | null;
  /** Days conversations are kept; null: the workspace's own setting (enterprise). */
  conversation_retention_days: number | null;
  /** Days export files are kept; 0: only the last export. null: custom. */
  export_history_days: number | null;
}

export const PLAN_LIMITS: Record<Plan, PlanLimits> = {
  free: { contacts: 100, conversation_retention_days: 30, export_history_days: 0 },
  pro: { contacts: 5_000, conversation_retention_days: 365, export_history_days: 90 },
  business: { contacts: 50_000, conversation_retention_days: 730, export_history_days: 365 },
  enterprise: { contacts: null, conversation_retention_days: null, export_history_days: null },
};

/** A workspace's limits: its plan's, with the operator's contact limit and (enterprise) retention. */
export function limitsOf(ws: { plan: string; contact_limit: number | null; retention_days: number | null }): PlanLimits {
  const base = PLAN_LIMITS[ws.plan as Plan] ?? PLAN_LIMITS.enterprise;
  return {
    ...base,
    contacts: ws.contact_limit ?? base.contacts,
    conversation_retention_days: base.conversation_retention_days ?? ws.retention_days,
  };
}
