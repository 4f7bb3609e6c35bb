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
  ServerCheck,
  LoginHost,
  SyncProgress,
  SyncReport,
  TaskSummary,
  User,
  AccountSummary,
  JsonValue,
  Commands,
} from './types';

/** What the screens need from the shell. `tauriBackend` is the real one; tests pass a fake. */
export interface Backend {
  getStatus(): Promise<AppStatus>;
  /** Opens the browser at `loginHost` (one of `listLoginHosts`' urls; none: the default). */
  signIn(loginHost?: string | null): Promise<null | void>;
  /** Checks the address and makes it this device's server (only while signed out). */
  setServer(url: string): Promise<ServerCheck>;
  /** The Salesforce login hosts the server allows, the default first. */
  listLoginHosts(): Promise<LoginHost[]>;
  listContacts(search: string | null): Promise<ContactSummary[]>;
  listContactsPage(query: ContactPageQuery): Promise<ContactPage>;
  listAccounts(limit: number | null, offset: number): Promise<AccountSummary[]>;
  listOpportunities(query: OpportunityQuery): Promise<OpportunitySummary[]>;
  listLeads(query: LeadQuery): Promise<LeadSummary[]>;
  getRecord(id: string): Promise<RecordDetail>;
  search(text: string): Promise<SearchHit[]>;
  getPicklist(object: string, field: string): Promise<PicklistEntry[]>;
  syncNow(): Promise<SyncReport>;
  signOut(discardPending?: boolean): Promise<null | void>;
  startFresh(): Promise<null | void>;
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

/**
 * `invoke`, typed by the generated `Commands`: a command's name, arguments and answer are
 * checked against the Rust signatures at compile time.
 */
function call<K extends keyof Commands>(
  command: K,
  ...args: keyof Commands[K]['args'] extends never ? [] : [Commands[K]['args']]
): Promise<Commands[K]['result']> {
  return invoke<Commands[K]['result']>(command, args[0] as Record<string, unknown> | undefined);
}

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
  getStatus: () => call('get_status'),
  signIn: (loginHost) => call('sign_in', { loginHost: loginHost ?? null }),
  setServer: (url) => call('set_server', { url }),
  listLoginHosts: () => call('list_login_hosts'),
  listContacts: (search) => call('list_contacts', { search }),
  listContactsPage: (query) =>
    withFallback(
      'list_contacts_page',
      () => call('list_contacts_page', { query }),
      async () => pageFromAll(await call('list_contacts', { search: query.search }), query),
    ),
  listAccounts: (limit, offset) => call('list_accounts', { limit, offset }),
  listOpportunities: (query) => call('list_opportunities', { query }),
  listLeads: (query) => call('list_leads', { query }),
  getRecord: (id) => call('get_record', { id }),
  search: (text) => call('search', { text }),
  getPicklist: (object, field) =>
    withFallback(
      'get_picklist',
      () => call('get_picklist', { object, field }),
      async () => defaultPicklists[`${object}.${field}`] ?? [],
    ),
  syncNow: () => call('sync_now'),
  signOut: (discardPending) => call('sign_out', { discardPending: discardPending ?? false }),
  startFresh: () => call('start_fresh'),
  createLead: (lead) => call('create_lead', { lead }),
  logCall: (newCall) => call('log_call', { call: newCall }),
  createTask: (task) => call('create_task', { task }),
  updateOpportunity: (id, changes) => call('update_opportunity', { id, changes }),
  updateContact: (id, changes) => call('update_contact', { id, changes }),
  listPending: () => call('list_pending'),
  resolveConflict: (key, resolution, fields) =>
    call('resolve_conflict', { key, resolution, fields }),
  retryWrite: (key, changes) => call('retry_write', { key, changes }),
  discardWrite: (key) => call('discard_write', { key }),
  pushNow: () => call('push_now'),
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
