import { signInProblem, syncFailure, type SignInProblem } from './errors';
import type { AppError, AppStatus, ContactSummary, OutboxCounts, ServerSetting, SyncProgress, User } from './types';

/**
 * The app's state and every way it changes, as a pure reducer: the controller feeds it what the
 * shell says and what the rep does, the components only read it.
 */
export type Screen = 'starting' | 'sign_in' | 'contacts';

export interface State {
  screen: Screen;
  user: User | null;
  signIn: {
    /** `waiting`: the browser is open and the result will arrive as an event. */
    phase: 'idle' | 'waiting';
    problem: SignInProblem | null;
  };
  /** `null` until known. `false` shows the offline banner. */
  online: boolean | null;
  lastSyncedAt: string | null;
  /** A sync this screen asked for is running. */
  syncing: boolean;
  /** The shell reports a sync it started itself. */
  shellSyncing: boolean;
  progress: SyncProgress | null;
  /** The gateway no longer accepts the session: contacts stay, the rep is asked to sign in. */
  reauthRequired: boolean;
  /** A problem that is neither offline nor reauth, shown once until dismissed. */
  notice: string | null;
  /**
   * The list's rows. The whole list has one per contact, `undefined` where its page is not read
   * (yet, or any more); matches are the ones read so far.
   */
  contacts: (ContactSummary | undefined)[];
  /** False until the first list arrives, so "no contacts" is not shown before we know. */
  contactsLoaded: boolean;
  /** The search text the shown list answers. */
  query: string;
  /** All contacts on the device, or the matches of `query` (from core). */
  contactsTotal: number;
  /** False while searching: core ranks matches and does not count them. */
  totalExact: boolean;
  /** More pages of the list exist (keyset paging). */
  hasMore: boolean;
  /** The outbox by state (from core's status). */
  outbox: OutboxCounts;
  /** Records on this device per object, and the space they take (from core's status). */
  counts: Record<string, number>;
  storageBytes: number | null;
  /** The replica on this device cannot be opened: the rep is offered "Start fresh". */
  replicaUnreadable: boolean;
  /** Bumped whenever the shell says records or the outbox changed: screens reload. */
  revision: number;
  /** The Companion server (from core's status); `null` until known. */
  server: ServerSetting | null;
}

export const emptyOutbox: OutboxCounts = {
  pending: 0,
  waiting: 0,
  sending: 0,
  failed: 0,
  conflicts: 0,
  waiting_for_sign_in: 0,
};

export const initialState: State = {
  screen: 'starting',
  user: null,
  signIn: { phase: 'idle', problem: null },
  online: null,
  lastSyncedAt: null,
  syncing: false,
  shellSyncing: false,
  progress: null,
  reauthRequired: false,
  notice: null,
  contacts: [],
  contactsLoaded: false,
  query: '',
  contactsTotal: 0,
  totalExact: true,
  hasMore: false,
  outbox: emptyOutbox,
  counts: {},
  storageBytes: null,
  replicaUnreadable: false,
  revision: 0,
  server: null,
};

export type Action =
  | { type: 'status'; status: AppStatus }
  | { type: 'startup_failed'; error: AppError }
  | { type: 'sign_in_requested' }
  | { type: 'sign_in_rejected'; error: AppError }
  | { type: 'sign_in_failed'; error: AppError }
  | { type: 'sign_in_complete'; user: User }
  | { type: 'sync_started' }
  | { type: 'sync_progress'; progress: SyncProgress }
  | { type: 'sync_succeeded'; at?: string }
  | { type: 'sync_rejected'; error: AppError }
  | { type: 'contacts_loaded'; query: string; contacts: (ContactSummary | undefined)[]; total?: number; totalExact?: boolean; hasMore?: boolean }
  | { type: 'contacts_page'; start: number; contacts: ContactSummary[]; total: number; dropped: [number, number][] }
  | { type: 'contacts_more'; contacts: ContactSummary[]; total: number; hasMore: boolean }
  | { type: 'changed' }
  | { type: 'replica_unreadable' }
  | { type: 'started_fresh' }
  | { type: 'contacts_failed'; error: AppError }
  | { type: 'signed_out' }
  | { type: 'sign_out_failed'; error: AppError }
  | { type: 'notice_dismissed' };

export function reduce(state: State, action: Action): State {
  switch (action.type) {
    case 'status': {
      const status = action.status;
      const next: State = {
        ...state,
        user: status.user ?? state.user,
        // The shell says `null` when it has not tried yet; that does not undo what we learned.
        online: status.online ?? state.online,
        lastSyncedAt: status.last_synced_at ?? state.lastSyncedAt,
        shellSyncing: status.syncing,
        // Older shells sent no outbox, counts or size: what we knew stays.
        outbox: status.outbox ?? state.outbox,
        counts: status.counts ?? state.counts,
        storageBytes: status.storage_bytes === undefined ? state.storageBytes : status.storage_bytes,
        reauthRequired: status.reauth_required ?? state.reauthRequired,
        server: status.server ?? state.server,
      };
      // The status decides the first screen only. Afterwards the contacts stay until the rep
      // signs out: a lost session shows up as `reauth_required` from sync, with the data kept.
      if (state.screen === 'starting') {
        next.screen = status.signed_in ? 'contacts' : 'sign_in';
      } else if (state.screen === 'sign_in' && status.signed_in && status.user) {
        next.screen = 'contacts';
        next.signIn = { phase: 'idle', problem: null };
      }
      return next;
    }
    case 'startup_failed':
      return {
        ...state,
        screen: 'sign_in',
        signIn: { phase: 'idle', problem: { title: 'Companion could not start', detail: action.error.message } },
      };
    case 'sign_in_requested':
      return { ...state, signIn: { phase: 'waiting', problem: null } };
    case 'sign_in_rejected':
    case 'sign_in_failed':
      return { ...state, signIn: { phase: 'idle', problem: signInProblem(action.error) } };
    case 'sign_in_complete':
      return {
        ...state,
        screen: 'contacts',
        user: action.user,
        signIn: { phase: 'idle', problem: null },
        reauthRequired: false,
      };
    case 'sync_started':
      return { ...state, syncing: true, progress: null, notice: null };
    case 'sync_progress':
      return { ...state, progress: action.progress };
    case 'sync_succeeded':
      return {
        ...state,
        syncing: false,
        progress: null,
        online: true,
        lastSyncedAt: action.at ?? state.lastSyncedAt,
        reauthRequired: false,
      };
    case 'sync_rejected': {
      const base = { ...state, syncing: false, progress: null };
      if (action.error.kind === 'replica_unreadable') return { ...base, replicaUnreadable: true };
      switch (syncFailure(action.error)) {
        case 'offline':
          return { ...base, online: false };
        case 'reauth':
          // The gateway answered, so we are online; the session is what is missing.
          return { ...base, online: true, reauthRequired: true };
        default:
          return { ...base, notice: `Couldn't sync: ${action.error.message}` };
      }
    }
    case 'contacts_loaded':
      return {
        ...state,
        contacts: action.contacts,
        contactsLoaded: true,
        query: action.query,
        contactsTotal: action.total ?? action.contacts.length,
        totalExact: action.totalExact ?? true,
        hasMore: action.hasMore ?? false,
      };
    case 'contacts_page': {
      const rows = state.contacts.slice();
      rows.length = action.total;
      for (const [from, to] of action.dropped) {
        for (let i = from; i < Math.min(to, rows.length); i++) rows[i] = undefined;
      }
      action.contacts.forEach((contact, i) => {
        if (action.start + i < rows.length) rows[action.start + i] = contact;
      });
      return { ...state, contacts: rows, contactsTotal: action.total };
    }
    case 'contacts_more': {
      const seen = new Set(state.contacts.map((c) => c?.id));
      return {
        ...state,
        contacts: [...state.contacts, ...action.contacts.filter((c) => !seen.has(c.id))],
        contactsTotal: action.total,
        hasMore: action.hasMore,
      };
    }
    case 'changed':
      return { ...state, revision: state.revision + 1 };
    case 'replica_unreadable':
      return { ...state, replicaUnreadable: true, contactsLoaded: true };
    case 'started_fresh':
      return { ...state, replicaUnreadable: false, contacts: [], contactsTotal: 0, hasMore: false, revision: state.revision + 1 };
    case 'contacts_failed':
      if (action.error.kind === 'replica_unreadable') return { ...state, replicaUnreadable: true, contactsLoaded: true };
      return { ...state, contactsLoaded: true, notice: `Couldn't read contacts: ${action.error.message}` };
    case 'signed_out':
      return { ...initialState, screen: 'sign_in' };
    case 'sign_out_failed':
      return { ...state, notice: `Couldn't sign out: ${action.error.message}` };
    case 'notice_dismissed':
      return { ...state, notice: null };
  }
}

/** The offline banner shows whenever the gateway is known to be unreachable. */
export function isOffline(state: State): boolean {
  return state.online === false;
}

export function isSyncing(state: State): boolean {
  return state.syncing || state.shellSyncing;
}
