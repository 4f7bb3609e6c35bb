// The shell's command contract (src-tauri/src/commands.rs, crates/core): the serde forms of the
// Rust types, field names snake_case as sent. Written by reading the Rust until
// `generated.ts` (ts-rs) lands; then these re-export from it under the same names.

export interface User {
  user_id: string;
  org_id: string;
  username: string;
  display_name: string;
  email: string | null;
}

/** writes.rs `OutboxCounts`. */
export interface OutboxCounts {
  pending: number;
  waiting: number;
  sending: number;
  failed: number;
  conflicts: number;
  waiting_for_sign_in: number;
}

export interface AppStatus {
  signed_in: boolean;
  user: User | null;
  /** `null` until the gateway has been tried. */
  online: boolean | null;
  /** RFC 3339, from core. */
  last_synced_at: string | null;
  syncing: boolean;
  outbox?: OutboxCounts;
  reauth_required?: boolean;
  /** Records on this device per object (coming: the shell adds it). */
  counts?: Record<string, number>;
  storage_bytes?: number | null;
}

export type PendingState = 'waiting' | 'sending' | 'failed' | 'conflict' | 'waiting_for_sign_in';

export interface ContactSummary {
  id: string;
  name: string;
  first_name: string | null;
  last_name: string | null;
  email: string | null;
  phone: string | null;
  title: string | null;
  account_name: string | null;
  pending?: PendingState | null;
}

export interface ContactPage {
  items: ContactSummary[];
  /** All contacts; `null` when searching (matches are ranked, not counted). */
  total: number | null;
}

export interface ContactPageQuery {
  search: string | null;
  /** Keyset paging of the whole list (not when searching: `offset` then). */
  after: { name: string; id: string } | null;
  limit: number;
  offset?: number;
}

export interface AccountSummary {
  id: string;
  name: string;
  industry: string | null;
  phone: string | null;
  billing_city: string | null;
}

export interface TaskSummary {
  id: string;
  subject: string | null;
  status: string;
  priority: string | null;
  task_subtype: string | null;
  activity_date: string | null;
  who_id: string | null;
  what_id: string | null;
  description: string | null;
  is_closed: boolean;
  pending: PendingState | null;
}

export interface OpportunitySummary {
  id: string;
  name: string;
  stage_name: string;
  amount: number | null;
  close_date: string;
  probability: number | null;
  is_closed: boolean;
  is_won: boolean;
  account_id: string | null;
  account_name: string | null;
  next_step: string | null;
  pending: PendingState | null;
}

export interface ContactDetail {
  id: string;
  name: string;
  first_name: string | null;
  last_name: string;
  email: string | null;
  phone: string | null;
  mobile_phone: string | null;
  title: string | null;
  account_id: string | null;
  owner_id: string;
  system_modstamp: string;
  pending: PendingState | null;
  account: AccountSummary | null;
  open_opportunities: OpportunitySummary[];
  recent_tasks: TaskSummary[];
}

export interface AccountDetail extends AccountSummary {
  owner_id: string;
  system_modstamp: string;
  contacts: ContactSummary[];
  open_opportunities: OpportunitySummary[];
  recent_tasks: TaskSummary[];
  /** Not replicated yet; shown when the shell sends them. */
  website?: string | null;
  billing_street?: string | null;
  billing_state?: string | null;
  billing_postal_code?: string | null;
  billing_country?: string | null;
}

export interface OpportunityDetail extends OpportunitySummary {
  owner_id: string;
  system_modstamp: string;
  account: AccountSummary | null;
  recent_tasks: TaskSummary[];
}

export interface LeadSummary {
  id: string;
  name: string;
  first_name: string | null;
  last_name: string;
  company: string;
  title: string | null;
  email: string | null;
  phone: string | null;
  mobile_phone: string | null;
  status: string;
  lead_source: string | null;
  pending: PendingState | null;
}

export interface LeadDetail extends LeadSummary {
  owner_id: string;
  system_modstamp: string;
  recent_tasks: TaskSummary[];
}

/** companion.rs `RecordDetail`: `#[serde(tag = "object")]`. */
export type RecordDetail =
  | ({ object: 'Contact' } & ContactDetail)
  | ({ object: 'Account' } & AccountDetail)
  | ({ object: 'Opportunity' } & OpportunityDetail)
  | ({ object: 'Lead' } & LeadDetail)
  | ({ object: 'Task' } & TaskSummary);

export type SearchObject = 'Contact' | 'Account' | 'Opportunity' | 'Lead';

export interface SearchHit {
  object: SearchObject;
  id: string;
  title: string;
  subtitle: string | null;
  pending: PendingState | null;
}

export type OpportunitySort = 'close_date' | 'amount_desc' | 'name';

export interface OpportunityQuery {
  stage?: string | null;
  closing_within_days?: number | null;
  min_amount?: number | null;
  sort?: OpportunitySort;
  limit?: number | null;
  offset?: number;
}

export interface LeadQuery {
  search?: string | null;
  limit?: number | null;
  offset?: number;
}

export interface NewLead {
  first_name: string | null;
  last_name: string;
  company: string;
  title: string | null;
  email: string | null;
  phone: string | null;
  mobile_phone: string | null;
  lead_source: string | null;
  status: string | null;
}

export interface NewCall {
  about: string;
  subject: string | null;
  comments: string | null;
  date: string | null;
  duration_seconds?: number | null;
  contact_id?: string | null;
}

export interface NewFollowUp {
  about: string;
  subject: string;
  due: string;
  priority: string | null;
  reminder_at?: string | null;
  contact_id?: string | null;
}

export interface OpportunityChanges {
  stage?: string | null;
  amount?: number | null;
  close_date?: string | null;
  next_step?: string | null;
}

export interface ContactChanges {
  phone?: string | null;
  mobile_phone?: string | null;
  email?: string | null;
  title?: string | null;
}

export type WriteKind = 'create_lead' | 'log_call' | 'new_task' | 'update_opportunity' | 'update_contact';

export interface WriteError {
  code: string;
  message: string;
  /** Salesforce field → what is wrong with it. */
  fields?: Record<string, string>;
}

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

export interface FieldConflict {
  field: string;
  base: JsonValue;
  mine: JsonValue;
  theirs: JsonValue;
}

export interface PendingWrite {
  key: string;
  kind: WriteKind;
  object: string;
  record_id: string;
  record_name: string | null;
  state: PendingState;
  fields: Record<string, JsonValue>;
  base?: Record<string, JsonValue>;
  error?: WriteError;
  conflicts?: FieldConflict[];
  waiting_for?: string;
  held_back_by?: string;
  attempts: number;
  next_attempt_at?: string;
  saved_at: string;
}

export type Resolution = 'keep_mine' | 'use_theirs';

export interface PushReport {
  sent: number;
  failed: number;
  conflicts: number;
  waiting: number;
  requests: number;
}

export interface DiscardReport {
  discarded: number;
}

export interface PicklistEntry {
  value: string;
  label: string;
  default: boolean;
  probability?: number;
  closed?: boolean;
  won?: boolean;
}

export interface SyncReport {
  accounts: number;
  contacts: number;
  opportunities?: number;
  tasks?: number;
  leads?: number;
  removed?: number;
  pages: number;
  pushed?: PushReport;
}

export interface SyncProgress {
  object: string;
  done: number;
  total: number | null;
}

/** core background.rs `BackgroundEvent` (`#[serde(tag = "event")]`). */
export type BackgroundEvent =
  | { event: 'synced' }
  | ({ event: 'pushed' } & PushReport)
  | { event: 'offline'; retry_in_ms: number }
  | { event: 'reauth_required' }
  | { event: 'failed'; kind: string; message: string };

/** Every error that reaches the UI. Show `message`, switch on `kind`. */
export interface AppError {
  kind: string;
  message: string;
}
