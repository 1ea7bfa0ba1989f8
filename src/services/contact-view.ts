// The presenter: a contact row in, the public JSON out. Column names that are not API fields never leave
// here, and unset fields are null, never missing.
import type { ContactRow } from '../store/schema.js';
import { toIso } from '../domain/time.js';

export interface ContactView {
  id: string;
  name: string | null;
  email: string | null;
  phone: string | null;
  company: string | null;
  source: string;
  first_seen: string;
  last_seen: string;
  conversation_count: number;
  page_url: string | null;
  ip_country: string | null;
  tags: string[];
  metadata: Record<string, unknown>;
  lifecycle_stage: string;
  archived: boolean;
  created_at: string;
  updated_at: string;
}

export function presentContact(row: ContactRow): ContactView {
  return {
    id: row.id,
    name: row.name,
    email: row.email,
    phone: row.phone,
    company: row.company,
    source: row.source,
    first_seen: toIso(row.first_seen),
    last_seen: toIso(row.last_seen),
    conversation_count: row.conversation_count,
    page_url: row.page_url,
    ip_country: row.ip_country,
    tags: JSON.parse(row.tags) as string[],
    metadata: JSON.parse(row.metadata) as Record<string, unknown>,
    lifecycle_stage: row.lifecycle_stage,
    archived: row.archived === 1,
    created_at: toIso(row.created_at),
    updated_at: toIso(row.updated_at),
  };
}
