import type { Backend } from './backend';
import { toAppError } from './errors';
import { nextCursor } from './paging';
import { initialState, reduce, type Action, type State } from './state';

/** Contacts per page of the list (keyset paging from core). */
export const PAGE_SIZE = 200;

/**
 * Runs the app: turns the rep's actions into shell calls and the shell's answers and events into
 * state. One instance per window. Record screens read their own records through `backend` and
 * reload when `state.revision` moves (the shell's records-changed / outbox-changed events).
 */
export class Controller {
  private current: State = initialState;
  private readonly listeners = new Set<(state: State) => void>();
  private unsubscribe: (() => void) | null = null;
  private runningSync: Promise<void> | null = null;
  /** Only the newest list request may replace the list (answers can arrive out of order). */
  private listRequest = 0;
  private loadingMore: Promise<void> | null = null;
  /** What the rep last searched for; a refresh reloads that. */
  private requestedQuery = '';

  constructor(readonly backend: Backend) {}

  get state(): State {
    return this.current;
  }

  subscribe(listener: (state: State) => void): () => void {
    this.listeners.add(listener);
    listener(this.current);
    return () => this.listeners.delete(listener);
  }

  /** Listens to the shell first (so no event is missed), then asks where we are. */
  async start(): Promise<void> {
    try {
      this.unsubscribe = await this.backend.subscribe({
        signInComplete: (user) => this.dispatch({ type: 'sign_in_complete', user }),
        signInFailed: (error) => this.dispatch({ type: 'sign_in_failed', error: toAppError(error) }),
        syncProgress: (progress) => this.dispatch({ type: 'sync_progress', progress }),
        statusChanged: (status) => this.dispatch({ type: 'status', status }),
        outboxChanged: () => this.changed(),
        recordsChanged: () => this.changed(),
        backgroundSync: (event) => {
          if (event.event === 'synced' || event.event === 'pushed') this.changed();
        },
      });
      this.dispatch({ type: 'status', status: await this.backend.getStatus() });
    } catch (error) {
      const appError = toAppError(error);
      if (appError.kind === 'replica_unreadable') this.dispatch({ type: 'replica_unreadable' });
      else this.dispatch({ type: 'startup_failed', error: appError });
    }
  }

  stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = null;
  }

  /** Opens the browser; the outcome arrives as `sign-in-complete` or `sign-in-failed`. */
  async signIn(): Promise<void> {
    this.dispatch({ type: 'sign_in_requested' });
    try {
      await this.backend.signIn();
    } catch (error) {
      this.dispatch({ type: 'sign_in_rejected', error: toAppError(error) });
    }
  }

  /** Pull-to-refresh, the refresh button and Ctrl+R. A refresh while one runs joins it. */
  refresh(): Promise<void> {
    if (!this.runningSync) {
      this.runningSync = this.sync().finally(() => {
        this.runningSync = null;
      });
    }
    return this.runningSync;
  }

  /** Shows the first page of contacts matching `text` (all of them when blank). */
  async search(text: string, keep = 0): Promise<void> {
    const query = text.trim();
    this.requestedQuery = query;
    const request = ++this.listRequest;
    this.loadingMore = null;
    const limit = Math.max(PAGE_SIZE, keep);
    try {
      const page = await this.backend.listContactsPage({ search: query === '' ? null : query, after: null, limit, offset: 0 });
      if (request === this.listRequest) {
        this.dispatch({
          type: 'contacts_loaded',
          query,
          contacts: page.items,
          total: page.total ?? page.items.length,
          totalExact: page.total !== null,
          hasMore: page.items.length === limit && (page.total === null || page.items.length < page.total),
        });
      }
    } catch (error) {
      if (request === this.listRequest) {
        this.dispatch({ type: 'contacts_failed', error: toAppError(error) });
      }
    }
  }

  /** The next page, when the list is scrolled near its end. Calls while one loads join it. */
  loadMore(): Promise<void> {
    if (!this.current.hasMore) return Promise.resolve();
    if (!this.loadingMore) {
      const request = this.listRequest;
      const query = this.requestedQuery;
      // The whole list pages by keyset (name, id); ranked matches by offset.
      const page =
        query === ''
          ? { search: null, after: nextCursor(this.current.contacts), limit: PAGE_SIZE, offset: 0 }
          : { search: query, after: null, offset: this.current.contacts.length, limit: PAGE_SIZE };
      this.loadingMore = this.backend
        .listContactsPage(page)
        .then((page) => {
          if (request !== this.listRequest) return;
          this.dispatch({
            type: 'contacts_more',
            contacts: page.items,
            total: page.total ?? this.current.contacts.length + page.items.length,
            hasMore: page.items.length === PAGE_SIZE,
          });
        })
        .catch((error) => {
          if (request === this.listRequest) this.dispatch({ type: 'contacts_failed', error: toAppError(error) });
        })
        .finally(() => {
          if (request === this.listRequest) this.loadingMore = null;
        });
    }
    return this.loadingMore;
  }

  /** Signs out; with changes not yet sent the shell refuses unless `discardPending`. */
  async signOut(discardPending = false): Promise<void> {
    try {
      await this.backend.signOut(discardPending);
      this.listRequest++;
      this.requestedQuery = '';
      this.dispatch({ type: 'signed_out' });
    } catch (error) {
      this.dispatch({ type: 'sign_out_failed', error: toAppError(error) });
      throw error;
    }
  }

  /** A replica that cannot be opened: drop it and sync from scratch. */
  async startFresh(): Promise<void> {
    await this.backend.startFresh();
    this.dispatch({ type: 'started_fresh' });
    await this.refreshStatus();
    await this.search('');
    void this.refresh();
  }

  /** Asks core for the status again (counts, last sync, outbox). */
  async refreshStatus(): Promise<void> {
    try {
      this.dispatch({ type: 'status', status: await this.backend.getStatus() });
    } catch {
      // The next event brings it.
    }
  }

  dismissNotice(): void {
    this.dispatch({ type: 'notice_dismissed' });
  }

  /** Records or the outbox changed in the shell: screens reload, the list keeps its length. */
  changed(): void {
    this.dispatch({ type: 'changed' });
    // A sync this screen started reloads the list when it ends.
    if (this.runningSync) return;
    if (this.current.screen === 'contacts' && this.current.contactsLoaded) {
      void this.search(this.requestedQuery, this.current.contacts.length);
    }
  }

  private async sync(): Promise<void> {
    this.dispatch({ type: 'sync_started' });
    try {
      await this.backend.syncNow();
      this.dispatch({ type: 'sync_succeeded' });
    } catch (error) {
      this.dispatch({ type: 'sync_rejected', error: toAppError(error) });
      return;
    }
    // The last sync time is core's, never this webview's clock.
    await this.refreshStatus();
    this.dispatch({ type: 'changed' });
    await this.search(this.requestedQuery, this.current.contacts.length);
  }

  /** The app opens: what is on the device first, then what is new. */
  private async openContacts(): Promise<void> {
    await this.search('');
    await this.refresh();
  }

  private dispatch(action: Action): void {
    const before = this.current;
    this.current = reduce(before, action);
    for (const listener of this.listeners) listener(this.current);

    if (before.screen !== 'contacts' && this.current.screen === 'contacts') {
      void this.openContacts();
    } else if (action.type === 'sign_in_complete' && before.screen === 'contacts') {
      // Signed in again after `reauth_required`: everything is on screen, bring it up to date.
      void this.refresh();
    }
  }
}
