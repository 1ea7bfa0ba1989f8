// Row types of the tables that the code reads and writes today (see migrations.ts for all of them).
import type { Generated } from 'kysely';

export interface WorkspaceRow {
  id: string;
  name: string;
  plan: string;
  contact_limit: number | null;
  consent_required: number;
  consent_text: string | null;
  retention_days: number | null;
  default_phone_region: string | null;
  timezone: string;
  is_default: number;
  automations_seeded?: number;
  created_at: number;
  updated_at: number;
}

export interface ApiKeyRow {
  id: string;
  workspace_id: string;
  name: string | null;
  prefix: string;
  key_hash: string;
  scopes: string;
  created_at: number;
  last_used_at: number | null;
  revoked_at: number | null;
}

export interface ContactRow {
  id: string;
  workspace_id: string;
  name: string | null;
  email: string | null;
  email_lower: string | null;
  phone: string | null;
  company: string | null;
  source: string;
  first_seen: number;
  last_seen: number;
  conversation_count: number;
  page_url: string | null;
  ip_country: string | null;
  tags: string;
  metadata: string;
  lifecycle_stage: string;
  stage_manual: number;
  archived: number;
  baseline_count: number;
  baseline_first_seen: number | null;
  baseline_last_seen: number | null;
  created_at: number;
  updated_at: number;
  name_key: string | null;
  email_key: string | null;
  phone_digits: string | null;
  word_prefixes: string;
}

export interface ContactTagRow {
  contact_id: string;
  tag: string;
  workspace_id: string;
}

export interface NoteRow {
  id: string;
  workspace_id: string;
  contact_id: string;
  body: string;
  author: string;
  created_at: number;
}

export interface EventRow {
  seq: Generated<number>;
  id: string;
  workspace_id: string;
  contact_id: string | null;
  type: string;
  actor: string | null;
  data: string;
  occurred_at: number;
  timeline_only: number;
}

export interface IdempotencyRow {
  principal: string;
  idem_key: string;
  workspace_id: string;
  request_hash: string;
  status_code: number | null;
  response_body: string | null;
  contact_id: string | null;
  created_at: number;
}

export interface JobRow {
  id: string;
  workspace_id: string | null;
  kind: string;
  payload: string;
  status: 'queued' | 'running' | 'done' | 'failed';
  run_at: number;
  attempts: number;
  locked_by: string | null;
  locked_until: number | null;
  last_error: string | null;
  dedupe_key: string | null;
  created_at: number;
  updated_at: number;
}

export type TaskStatus = 'queued' | 'running' | 'completed' | 'failed';

export interface ExportRow {
  id: string;
  workspace_id: string;
  requested_by: string | null;
  filters: string;
  fields: string;
  format: string;
  status: TaskStatus;
  row_count: number;
  progress: number;
  file_path: string | null;
  token_hash: string | null;
  download_token: string | null;
  origin: string | null;
  error: string | null;
  created_at: number;
  completed_at: number | null;
  file_deleted_at: number | null;
}

export interface ImportRow {
  id: string;
  workspace_id: string;
  requested_by: string | null;
  options: string;
  status: TaskStatus;
  progress: number;
  created: number;
  updated: number;
  skipped: number;
  failed: number;
  file_path: string | null;
  report_path: string | null;
  report_bytes: number;
  report_token: string | null;
  cursor_row: number;
  notes: string;
  error: string | null;
  created_at: number;
  completed_at: number | null;
}

export interface ErasureReceiptRow {
  id: string;
  workspace_id: string;
  contact_id: string;
  erased_by: string | null;
  removed: string;
  erased_at: number;
}

export interface SuppressionRow {
  workspace_id: string;
  identity_hash: string;
  created_at: number;
}

export type Role = 'viewer' | 'member' | 'admin' | 'owner';

export interface UserRow {
  id: string;
  email: string;
  email_lower: string;
  password_hash: string;
  created_at: number;
  updated_at: number;
}

export interface MembershipRow {
  workspace_id: string;
  user_id: string;
  role: Role;
  created_at: number;
}

export interface SessionRow {
  id_hash: string;
  user_id: string;
  workspace_id: string;
  created_at: number;
  last_active_at: number;
  expires_at: number;
}

export interface SetupTokenRow {
  token_hash: string;
  expires_at: number;
  used_at: number | null;
}

export interface RateBucketRow {
  bucket: string;
  tokens: number;
  updated_at: number;
}

export interface AgentRow {
  id: string;
  workspace_id: string;
  name: string;
  widget_key: string;
  allowed_origins: string;
  is_default: number;
  created_at: number;
}

export interface VisitorRow {
  id: string;
  workspace_id: string;
  channel: string;
  external_id: string;
  contact_id: string | null;
  first_seen: number;
}

export interface ConversationRow {
  id: string;
  workspace_id: string;
  agent_id: string;
  visitor_id: string | null;
  contact_id: string | null;
  channel: string;
  page_url: string | null;
  ip_country: string | null;
  token_hash: string | null;
  started_at: number;
  last_message_at: number | null;
  message_count: number;
}

export interface MessageRow {
  id: string;
  workspace_id: string;
  conversation_id: string;
  role: string;
  text: string;
  at: number;
  seq: number;
}

export interface ConsentRow {
  id: string;
  workspace_id: string;
  contact_id: string;
  given: number;
  channel: string | null;
  wording: string | null;
  at: number;
}

export interface AutomationRow {
  id: string;
  workspace_id: string;
  name: string;
  enabled: number;
  when_json: string;
  then_json: string;
  created_at: number;
  updated_at: number;
}

export interface Tables {
  automations: AutomationRow;
  consents: ConsentRow;
  agents: AgentRow;
  visitors: VisitorRow;
  conversations: ConversationRow;
  messages: MessageRow;
  users: UserRow;
  memberships: MembershipRow;
  sessions: SessionRow;
  setup_tokens: SetupTokenRow;
  rate_buckets: RateBucketRow;
  workspaces: WorkspaceRow;
  api_keys: ApiKeyRow;
  contacts: ContactRow;
  contact_tags: ContactTagRow;
  notes: NoteRow;
  events: EventRow;
  idempotency_keys: IdempotencyRow;
  suppressions: SuppressionRow;
  jobs: JobRow;
  exports: ExportRow;
  imports: ImportRow;
  erasure_receipts: ErasureReceiptRow;
}
