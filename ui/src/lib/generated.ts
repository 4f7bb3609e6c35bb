// Generated from the Rust types by src-tauri/src/bindings.rs (ts-rs): do not edit.
// `UPDATE_BINDINGS=1 cargo test -p companion-app bindings` writes it again.

import type { AccountSummary } from './bindings/AccountSummary';
import type { AppError } from './bindings/AppError';
import type { AppStatus } from './bindings/AppStatus';
import type { BackgroundEvent } from './bindings/BackgroundEvent';
import type { ContactChanges } from './bindings/ContactChanges';
import type { ContactDetail } from './bindings/ContactDetail';
import type { ContactPage } from './bindings/ContactPage';
import type { ContactQuery } from './bindings/ContactQuery';
import type { ContactSummary } from './bindings/ContactSummary';
import type { DiscardReport } from './bindings/DiscardReport';
import type { LeadDetail } from './bindings/LeadDetail';
import type { LeadQuery } from './bindings/LeadQuery';
import type { LeadSummary } from './bindings/LeadSummary';
import type { LoginHost } from './bindings/LoginHost';
import type { NewCall } from './bindings/NewCall';
import type { NewFollowUp } from './bindings/NewFollowUp';
import type { NewLead } from './bindings/NewLead';
import type { OpportunityChanges } from './bindings/OpportunityChanges';
import type { OpportunityDetail } from './bindings/OpportunityDetail';
import type { OpportunityQuery } from './bindings/OpportunityQuery';
import type { OpportunitySummary } from './bindings/OpportunitySummary';
import type { PendingWrite } from './bindings/PendingWrite';
import type { PicklistEntry } from './bindings/PicklistEntry';
import type { PushReport } from './bindings/PushReport';
import type { RecordDetail } from './bindings/RecordDetail';
import type { Resolution } from './bindings/Resolution';
import type { SearchHit } from './bindings/SearchHit';
import type { ServerCheck } from './bindings/ServerCheck';
import type { ServerSetting } from './bindings/ServerSetting';
import type { SyncProgress } from './bindings/SyncProgress';
import type { SyncReport } from './bindings/SyncReport';
import type { TaskSummary } from './bindings/TaskSummary';
import type { User } from './bindings/User';
import type { JsonValue } from './bindings/serde_json/JsonValue';

export type { AccountDetail } from './bindings/AccountDetail';
export type { AccountSummary } from './bindings/AccountSummary';
export type { AppError } from './bindings/AppError';
export type { AppStatus } from './bindings/AppStatus';
export type { BackgroundEvent } from './bindings/BackgroundEvent';
export type { ContactChanges } from './bindings/ContactChanges';
export type { ContactDetail } from './bindings/ContactDetail';
export type { ContactKey } from './bindings/ContactKey';
export type { ContactPage } from './bindings/ContactPage';
export type { ContactQuery } from './bindings/ContactQuery';
export type { ContactSummary } from './bindings/ContactSummary';
export type { DiscardReport } from './bindings/DiscardReport';
export type { FieldConflict } from './bindings/FieldConflict';
export type { LeadDetail } from './bindings/LeadDetail';
export type { LeadQuery } from './bindings/LeadQuery';
export type { LeadSummary } from './bindings/LeadSummary';
export type { LoginHost } from './bindings/LoginHost';
export type { NewCall } from './bindings/NewCall';
export type { NewFollowUp } from './bindings/NewFollowUp';
export type { NewLead } from './bindings/NewLead';
export type { OpportunityChanges } from './bindings/OpportunityChanges';
export type { OpportunityDetail } from './bindings/OpportunityDetail';
export type { OpportunityQuery } from './bindings/OpportunityQuery';
export type { OpportunitySort } from './bindings/OpportunitySort';
export type { OpportunitySummary } from './bindings/OpportunitySummary';
export type { OutboxCounts } from './bindings/OutboxCounts';
export type { PendingState } from './bindings/PendingState';
export type { PendingWrite } from './bindings/PendingWrite';
export type { PicklistEntry } from './bindings/PicklistEntry';
export type { PushReport } from './bindings/PushReport';
export type { RecordDetail } from './bindings/RecordDetail';
export type { Resolution } from './bindings/Resolution';
export type { SearchHit } from './bindings/SearchHit';
export type { ServerCheck } from './bindings/ServerCheck';
export type { ServerSetting } from './bindings/ServerSetting';
export type { ServerSource } from './bindings/ServerSource';
export type { SyncProgress } from './bindings/SyncProgress';
export type { SyncReport } from './bindings/SyncReport';
export type { TaskSummary } from './bindings/TaskSummary';
export type { User } from './bindings/User';
export type { WriteError } from './bindings/WriteError';
export type { WriteKind } from './bindings/WriteKind';
export type { JsonValue } from './bindings/serde_json/JsonValue';

/** Every command: the arguments `invoke` takes and what it resolves to. */
export interface Commands {
  get_status: { args: {  }; result: AppStatus };
  sign_in: { args: { loginHost?: string | null }; result: null };
  sign_out: { args: { discardPending?: boolean | null }; result: null };
  list_contacts: { args: { search?: string | null }; result: Array<ContactSummary> };
  list_contacts_page: { args: { query: ContactQuery }; result: ContactPage };
  list_accounts: { args: { limit?: number | null; offset?: number | null }; result: Array<AccountSummary> };
  list_opportunities: { args: { query?: OpportunityQuery | null }; result: Array<OpportunitySummary> };
  get_record: { args: { id: string }; result: RecordDetail };
  search: { args: { text: string }; result: Array<SearchHit> };
  sync_now: { args: {  }; result: SyncReport };
  list_leads: { args: { query?: LeadQuery | null }; result: Array<LeadSummary> };
  create_lead: { args: { lead: NewLead }; result: LeadDetail };
  log_call: { args: { call: NewCall }; result: TaskSummary };
  create_task: { args: { task: NewFollowUp }; result: TaskSummary };
  update_opportunity: { args: { id: string; changes: OpportunityChanges }; result: OpportunityDetail };
  update_contact: { args: { id: string; changes: ContactChanges }; result: ContactDetail };
  list_pending: { args: {  }; result: Array<PendingWrite> };
  resolve_conflict: { args: { key: string; resolution: Resolution; fields?: Array<string> | null }; result: string | null };
  retry_write: { args: { key: string; changes: Record<string, JsonValue> }; result: string };
  discard_write: { args: { key: string }; result: DiscardReport };
  push_now: { args: {  }; result: PushReport };
  get_picklist: { args: { object: string; field: string }; result: Array<PicklistEntry> };
  start_fresh: { args: {  }; result: null };
  get_server: { args: {  }; result: ServerSetting };
  check_server: { args: { url: string }; result: ServerCheck };
  set_server: { args: { url: string }; result: ServerCheck };
  list_login_hosts: { args: {  }; result: Array<LoginHost> };
}

/** Every event the shell emits, with its payload. */
export interface Events {
  'sign-in-complete': User;
  'sign-in-failed': AppError;
  'status-changed': AppStatus;
  'sync-progress': SyncProgress;
  'background-sync': BackgroundEvent;
  'outbox-changed': null;
  'records-changed': null;
}
