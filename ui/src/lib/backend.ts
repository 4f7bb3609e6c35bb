import { invoke } from '@tauri-apps/api/core';
import { listen } from '@tauri-apps/api/event';
import { pageFromAll } from './paging';
import type {
  AppError,
  AppStatus,
  BackgroundEvent,
  ContactChanges,
  ContactPage,
  ContactPageQuery,
  ContactSummary,
  DiscardReport,
  LeadDetail,
  LeadQuery,
  LeadSummary,
  NewCall,
  NewFollowUp,
  NewLead,
  OpportunityChanges,
  OpportunityDetail,
  ContactDetail,
  OpportunityQuery,
  OpportunitySummary,
  PendingWrite,
  PicklistEntry,
  PushReport,
  RecordDetail,
  Resolution,
  SearchHit,
  SyncProgress,
  SyncReport,
  TaskSummary,
  User,
  AccountSummary,
  JsonValue,
} from './types';

/** What the screens need from the shell. `tauriBackend` is the real one; tests pass a fake. */
export interface Backend {
  getStatus(): Promise<AppStatus>;
  signIn(): Promise<void>;
  listContacts(search: string | null): Promise<ContactSummary[]>;
  listContactsPage(query: ContactPageQuery): Promise<ContactPage>;
  listAccounts(limit: number | null, offset: number): Promise<AccountSummary[]>;
  listOpportunities(query: OpportunityQuery): Promise<OpportunitySummary[]>;
  listLeads(query: LeadQuery): Promise<LeadSummary[]>;
  getRecord(id: string): Promise<RecordDetail>;
  search(text: string): Promise<SearchHit[]>;
  getPicklist(object: string, field: string): Promise<PicklistEntry[]>;
  syncNow(): Promise<SyncReport>;
  signOut(discardPending?: boolean): Promise<void>;
  startFresh(): Promise<void>;
  createLead(lead: NewLead): Promise<LeadDetail>;
  logCall(call: NewCall): Promise<TaskSummary>;
  createTask(task: NewFollowUp): Promise<TaskSummary>;
  updateOpportunity(id: string, changes: OpportunityChanges): Promise<OpportunityDetail>;
  updateContact(id: string, changes: ContactChanges): Promise<ContactDetail>;
  listPending(): Promise<PendingWrite[]>;
  resolveConflict(key: string, resolution: Resolution, fields: string[] | null): Promise<string | null>;
  retryWrite(key: string, changes: Record<string, JsonValue>): Promise<string>;
  discardWrite(key: string): Promise<DiscardReport>;
  pushNow(): Promise<PushReport>;
  /** Subscribes to the shell's events; resolves to a function that unsubscribes. */
  subscribe(handlers: BackendEvents): Promise<() => void>;
}

export interface BackendEvents {
  signInComplete(user: User): void;
  signInFailed(error: AppError): void;
  syncProgress(progress: SyncProgress): void;
  statusChanged(status: AppStatus): void;
  outboxChanged?(): void;
  recordsChanged?(): void;
  backgroundSync?(event: BackgroundEvent): void;
}

/** Event names the shell emits. */
export const events = {
  signInComplete: 'sign-in-complete',
  signInFailed: 'sign-in-failed',
  syncProgress: 'sync-progress',
  statusChanged: 'status-changed',
  outboxChanged: 'outbox-changed',
  recordsChanged: 'records-changed',
  backgroundSync: 'background-sync',
} as const;

/** A shell without the command (an older build): Tauri rejects with "command … not found". */
export function isMissingCommand(error: unknown): boolean {
  const text =
    typeof error === 'string'
      ? error
      : typeof error === 'object' && error !== null
        ? `${(error as { kind?: unknown }).kind ?? ''} ${(error as { message?: unknown }).message ?? ''}`
        : '';
  return /unknown_command|not found|not allowed|no such command/i.test(text);
}

/** Commands the shell answered "not found" to: the fallback is used from then on. */
const missing = new Set<string>();

async function withFallback<T>(command: string, primary: () => Promise<T>, fallback: () => Promise<T>): Promise<T> {
  if (missing.has(command)) return fallback();
  try {
    return await primary();
  } catch (error) {
    if (!isMissingCommand(error)) throw error;
    missing.add(command);
    return fallback();
  }
}

/** Stage, status, source and priority values an org ships with, until the shell sends the org's. */
export const defaultPicklists: Record<string, PicklistEntry[]> = {
  'Opportunity.StageName': [
    ['Prospecting', 10],
    ['Qualification', 10],
    ['Needs Analysis', 20],
    ['Value Proposition', 50],
    ['Id. Decision Makers', 60],
    ['Perception Analysis', 70],
    ['Proposal/Price Quote', 75],
    ['Negotiation/Review', 90],
    ['Closed Won', 100],
    ['Closed Lost', 0],
  ].map(([value, probability], index) => ({
    value: value as string,
    label: value as string,
    default: index === 0,
    probability: probability as number,
    closed: (value as string).startsWith('Closed'),
    won: value === 'Closed Won',
  })),
  'Lead.Status': ['Open - Not Contacted', 'Working - Contacted', 'Closed - Converted', 'Closed - Not Converted'].map(
    (value, index) => ({ value, label: value, default: index === 0 }),
  ),
  'Lead.LeadSource': ['Web', 'Phone Inquiry', 'Partner Referral', 'Purchased List', 'Trade Show', 'Other'].map(
    (value) => ({ value, label: value, default: false }),
  ),
  'Task.Priority': ['High', 'Normal', 'Low'].map((value) => ({ value, label: value, default: value === 'Normal' })),
};

export const tauriBackend: Backend = {
  getStatus: () => invoke<AppStatus>('get_status'),
  signIn: () => invoke<void>('sign_in'),
  listContacts: (search) => invoke<ContactSummary[]>('list_contacts', { search }),
  listContactsPage: (query) =>
    withFallback(
      'list_contacts_page',
      () => invoke<ContactPage>('list_contacts_page', { query }),
      async () => pageFromAll(await invoke<ContactSummary[]>('list_contacts', { search: query.search }), query),
    ),
  listAccounts: (limit, offset) => invoke<AccountSummary[]>('list_accounts', { limit, offset }),
  listOpportunities: (query) => invoke<OpportunitySummary[]>('list_opportunities', { query }),
  listLeads: (query) => invoke<LeadSummary[]>('list_leads', { query }),
  getRecord: (id) => invoke<RecordDetail>('get_record', { id }),
  search: (text) => invoke<SearchHit[]>('search', { text }),
  getPicklist: (object, field) =>
    withFallback(
      'get_picklist',
      () => invoke<PicklistEntry[]>('get_picklist', { object, field }),
      async () => defaultPicklists[`${object}.${field}`] ?? [],
    ),
  syncNow: () => invoke<SyncReport>('sync_now'),
  signOut: (discardPending) => invoke<void>('sign_out', { discardPending: discardPending ?? false }),
  startFresh: () => invoke<void>('start_fresh'),
  createLead: (lead) => invoke<LeadDetail>('create_lead', { lead }),
  logCall: (call) => invoke<TaskSummary>('log_call', { call }),
  createTask: (task) => invoke<TaskSummary>('create_task', { task }),
  updateOpportunity: (id, changes) => invoke<OpportunityDetail>('update_opportunity', { id, changes }),
  updateContact: (id, changes) => invoke<ContactDetail>('update_contact', { id, changes }),
  listPending: () => invoke<PendingWrite[]>('list_pending'),
  resolveConflict: (key, resolution, fields) =>
    invoke<string | null>('resolve_conflict', { key, resolution, fields }),
  retryWrite: (key, changes) => invoke<string>('retry_write', { key, changes }),
  discardWrite: (key) => invoke<DiscardReport>('discard_write', { key }),
  pushNow: () => invoke<PushReport>('push_now'),
  async subscribe(handlers) {
    const unlisteners = await Promise.all([
      listen<User>(events.signInComplete, (e) => handlers.signInComplete(e.payload)),
      listen<AppError>(events.signInFailed, (e) => handlers.signInFailed(e.payload)),
      listen<SyncProgress>(events.syncProgress, (e) => handlers.syncProgress(e.payload)),
      listen<AppStatus>(events.statusChanged, (e) => handlers.statusChanged(e.payload)),
      listen(events.outboxChanged, () => handlers.outboxChanged?.()),
      listen(events.recordsChanged, () => handlers.recordsChanged?.()),
      listen<BackgroundEvent>(events.backgroundSync, (e) => handlers.backgroundSync?.(e.payload)),
    ]);
    return () => unlisteners.forEach((unlisten) => unlisten());
  },
};
