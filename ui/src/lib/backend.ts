import { invoke } from '@tauri-apps/api/core';
import { listen } from '@tauri-apps/api/event';
import type { AppError, AppStatus, ContactSummary, SyncProgress, SyncReport, User } from './types';

/** What the screens need from the shell. `tauriBackend` is the real one; tests pass a fake. */
export interface Backend {
  getStatus(): Promise<AppStatus>;
  signIn(): Promise<void>;
  listContacts(search: string | null): Promise<ContactSummary[]>;
  syncNow(): Promise<SyncReport>;
  signOut(): Promise<void>;
  /** Subscribes to the shell's events; resolves to a function that unsubscribes. */
  subscribe(handlers: BackendEvents): Promise<() => void>;
}

export interface BackendEvents {
  signInComplete(user: User): void;
  signInFailed(error: AppError): void;
  syncProgress(progress: SyncProgress): void;
  statusChanged(status: AppStatus): void;
}

/** Event names the shell emits. */
export const events = {
  signInComplete: 'sign-in-complete',
  signInFailed: 'sign-in-failed',
  syncProgress: 'sync-progress',
  statusChanged: 'status-changed',
} as const;

export const tauriBackend: Backend = {
  getStatus: () => invoke<AppStatus>('get_status'),
  signIn: () => invoke<void>('sign_in'),
  listContacts: (search) => invoke<ContactSummary[]>('list_contacts', { search }),
  syncNow: () => invoke<SyncReport>('sync_now'),
  signOut: () => invoke<void>('sign_out'),
  async subscribe(handlers) {
    const unlisteners = await Promise.all([
      listen<User>(events.signInComplete, (e) => handlers.signInComplete(e.payload)),
      listen<AppError>(events.signInFailed, (e) => handlers.signInFailed(e.payload)),
      listen<SyncProgress>(events.syncProgress, (e) => handlers.syncProgress(e.payload)),
      listen<AppStatus>(events.statusChanged, (e) => handlers.statusChanged(e.payload)),
    ]);
    return () => unlisteners.forEach((unlisten) => unlisten());
  },
};
