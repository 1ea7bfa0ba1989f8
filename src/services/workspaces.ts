// Workspaces and their settings: plan, consent, retention, default phone region and time zone.
import { getCountries } from 'libphonenumber-js';
import { PLANS, type Plan } from '../config.js';
import { Invalid, NotFound, type FieldError } from '../domain/errors.js';
import { newId } from '../domain/ids.js';
import { limitsOf, type PlanLimits } from '../domain/plans.js';
import { canonicalTimeZone } from '../domain/time.js';
import type { Tx } from '../store/db.js';
import type { WorkspaceRow } from '../store/schema.js';
import * as workspaces from '../store/workspaces.js';
import { appendEvents } from '../store/events.js';
import type { ServiceDeps } from './deps.js';
import { enforceContactLimit } from './plan-limits.js';

export interface WorkspaceView {
  id: string;
  name: string;
  plan: Plan;
  limits: PlanLimits;
  usage: { contacts: number; archived_contacts: number };
  consent_required: boolean;
  consent_text: string | null;
  retention_days: number | null;
  default_phone_region: string | null;
  timezone: string;
  created_at: string;
}

export interface WorkspacePatch {
  name?: string;
  plan?: string;
  consent_required?: boolean;
  consent_text?: string | null;
  retention_days?: number | null;
  default_phone_region?: string | null;
  timezone?: string;
}

const REGIONS = new Set<string>(getCountries());

export function createWorkspaceService({ store, clock, defaultPlan }: ServiceDeps) {
  async function present(db: Tx, row: WorkspaceRow): Promise<WorkspaceView> {
    const [all, archived] = await Promise.all([
      workspaces.countWorkspaceContacts(db, row.id, false),
      workspaces.countWorkspaceContacts(db, row.id, true),
    ]);
    return {
      id: row.id,
      name: row.name,
      plan: row.plan as Plan,
      limits: limitsOf(row),
      usage: { contacts: all, archived_contacts: archived },
      consent_required: row.consent_required === 1,
      consent_text: row.consent_text,
      retention_days: row.retention_days,
      default_phone_region: row.default_phone_region,
      timezone: row.timezone,
      created_at: new Date(row.created_at).toISOString(),
    };
  }

  function newRow(name: string, isDefault: boolean): WorkspaceRow {
    const now = clock.now();
    return {
      id: newId('workspace'), name, plan: defaultPlan, contact_limit: null, consent_required: 0, consent_text: null,
      retention_days: null, default_phone_region: null, timezone: 'UTC', is_default: isDefault ? 1 : 0,
      created_at: now, updated_at: now,
    };
  }

  return {
    async create(name: string): Promise<WorkspaceRow> {
      const trimmed = name.trim();
      if (!trimmed || trimmed.length > 200) throw Invalid.field('name', 'must be 1 to 200 characters');
      const row = newRow(trimmed, false);
      await store.transaction((trx) => workspaces.insertWorkspace(trx, row));
      return row;
    },

    /** The default workspace, created on first use (by the CLI's first key, or the setup page later). */
    async ensureDefault(): Promise<WorkspaceRow> {
      const found = await workspaces.getDefaultWorkspace(store.db);
      if (found) return found;
      try {
        const row = newRow('Default workspace', true);
        await store.transaction((trx) => workspaces.insertWorkspace(trx, row));
        return row;
      } catch (error) {
        // Two processes raced to create it: the unique index on is_default kept one.
        const again = await workspaces.getDefaultWorkspace(store.db);
        if (again) return again;
        throw error;
      }
    },

    async get(id: string): Promise<WorkspaceRow> {
      const row = await workspaces.getWorkspace(store.db, id);
      if (!row) throw new NotFound('workspace');
      return row;
    },

    async view(id: string): Promise<WorkspaceView> {
      return present(store.db, await this.get(id));
    },

    async update(id: string, patch: WorkspacePatch): Promise<WorkspaceView> {
      const errors: FieldError[] = [];
      const changes: Partial<WorkspaceRow> = {};
      if (patch.name !== undefined) {
        const n = patch.name.trim();
        if (!n || n.length > 200) errors.push({ field: 'name', message: 'must be 1 to 200 characters' });
        else changes.name = n;
      }
      if (patch.plan !== undefined) {
        if (!(PLANS as readonly string[]).includes(patch.plan)) errors.push({ field: 'plan', message: `must be one of ${PLANS.join(', ')}` });
        else changes.plan = patch.plan;
      }
      if (patch.consent_required !== undefined) changes.consent_required = patch.consent_required ? 1 : 0;
      if (patch.consent_text !== undefined) {
        const t = patch.consent_text?.trim() || null;
        if (t !== null && (t.length > 2000 || t.includes('\u0000'))) errors.push({ field: 'consent_text', message: 'must be at most 2000 characters' });
        else changes.consent_text = t;
      }
      if (patch.retention_days !== undefined) {
        const d = patch.retention_days;
        if (d !== null && (!Number.isInteger(d) || d < 1 || d > 36500)) errors.push({ field: 'retention_days', message: 'must be a whole number of days from 1 to 36500, or null' });
        else changes.retention_days = d;
      }
      if (patch.default_phone_region !== undefined) {
        const r = patch.default_phone_region?.trim().toUpperCase() || null;
        if (r !== null && !REGIONS.has(r)) errors.push({ field: 'default_phone_region', message: 'must be an ISO 3166 country code with a phone numbering plan, or null' });
        else changes.default_phone_region = r;
      }
      if (patch.timezone !== undefined) {
        const tz = patch.timezone.trim();
        const canonical = tz && tz.length <= 64 ? canonicalTimeZone(tz) : null;
        if (!canonical) errors.push({ field: 'timezone', message: 'must be an IANA time zone name such as Europe/Berlin' });
        else changes.timezone = canonical;
      }
      if (errors.length) throw new Invalid(errors);
      await this.get(id);
      if (Object.keys(changes).length) await this.change(id, changes);
      return this.view(id);
    },

    /** The operator's contact limit for one workspace (null: the plan's). */
    async setContactLimit(id: string, limit: number | null): Promise<WorkspaceView> {
      if (limit !== null && (!Number.isSafeInteger(limit) || limit < 0)) throw Invalid.field('contact_limit', 'must be a whole number from 0, or null for the plan\'s');
      await this.get(id);
      await this.change(id, { contact_limit: limit });
      return this.view(id);
    },

    /** Writes settings; a smaller limit archives what no longer fits, in the same transaction. */
    async change(id: string, changes: Partial<WorkspaceRow>): Promise<void> {
      const now = clock.now();
      await store.transaction(async (trx) => {
        await workspaces.updateWorkspace(trx, id, { ...changes, updated_at: now });
        const row = await workspaces.getWorkspace(trx, id);
        if (row) await appendEvents(trx, await enforceContactLimit(trx, row, now));
      });
    },
  };
}

export type WorkspaceService = ReturnType<typeof createWorkspaceService>;
