import type { Backend } from './backend';
import { toAppError } from './errors';
import { initialState, reduce, type Action, type State } from './state';
import type { ContactSummary, LoginHost, ServerCheck } from './types';

/** Contacts per page of the list (keyset paging from core). */
export const PAGE_SIZE = 200;
/** Pages of the whole list kept each side of the rows on screen; further ones are let go. */
const KEEP_PAGES = 4;

/** Writes `items` into `rows` from `start`, within the list's length. */
function fillRows(rows: (ContactSummary | undefined)[], start: number, items: ContactSummary[]): void {
  items.forEach((item, i) => {
    if (start + i < rows.length) rows[start + i] = item;
  });
}

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
  /** The rows on screen, as the list last said. */
  private shown = { start: 0, end: 0 };
  /** Pages of the whole list read or being read, by number. */
  private readonly pages = new Map<number, 'reading' | 'loaded'>();

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
      performance.mark('companion:listening');
      const status = await this.backend.getStatus();
      performance.mark('companion:status');
      this.dispatch({ type: 'status', status });
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

  /**
   * Opens the browser at `loginHost` (none: the server's default); the outcome arrives as
   * `sign-in-complete` or `sign-in-failed`.
   */
  async signIn(loginHost: string | null = null): Promise<void> {
    this.dispatch({ type: 'sign_in_requested' });
    try {
      await (loginHost ? this.backend.signIn(loginHost) : this.backend.signIn());
    } catch (error) {
      this.dispatch({ type: 'sign_in_rejected', error: toAppError(error) });
    }
  }

  /**
   * Checks `url` and makes it this device's server; the status then shows it. Rejects with the
   * shell's `{kind, message}` when the address is refused.
   */
  async setServer(url: string): Promise<ServerCheck> {
    const chosen = await this.backend.setServer(url);
    await this.refreshStatus();
    return chosen;
  }

  /** The login hosts the server allows; none when it cannot be asked (offline). */
  async loginHosts(): Promise<LoginHost[]> {
    try {
      return await this.backend.listLoginHosts();
    } catch {
      return [];
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

  /**
   * Shows the contacts matching `text` (all of them when blank). The whole list has a row for
   * every contact from the start (so its scroll bar is the whole list), read a page at a time as
   * rows come into view; matches are ranked by core and come a page at a time as the rep scrolls
   * to their end. `keepPlace` (records changed) reads again the pages on screen rather than the
   * first, so a rep far down the list stays there.
   */
  async search(text: string, keepPlace = false): Promise<void> {
    const query = text.trim();
    const loaded = this.current.contacts.length;
    this.requestedQuery = query;
    const request = ++this.listRequest;
    this.loadingMore = null;
    this.pages.clear();
    try {
      if (query === '') {
        const wanted = keepPlace ? [0, ...this.pagesAround(this.shown)] : [0];
        const numbers = [...new Set(wanted)];
        for (const n of numbers) this.pages.set(n, 'reading');
        const answers = await Promise.all(
          numbers.map((n) => this.backend.listContactsPage({ search: null, after: null, limit: PAGE_SIZE, offset: n * PAGE_SIZE })),
        );
        if (request !== this.listRequest) return;
        if (performance.getEntriesByName('companion:first-page').length === 0) performance.mark('companion:first-page');
        const total = Math.max(answers[0].total ?? 0, answers[0].items.length);
        const rows = new Array<ContactSummary | undefined>(total);
        numbers.forEach((n, k) => {
          fillRows(rows, n * PAGE_SIZE, answers[k].items);
          this.pages.set(n, 'loaded');
        });
        this.dispatch({ type: 'contacts_loaded', query, contacts: rows, total, totalExact: true, hasMore: false });
        this.showRows(this.shown.start, this.shown.end);
      } else {
        const limit = keepPlace ? Math.max(PAGE_SIZE, loaded) : PAGE_SIZE;
        const page = await this.backend.listContactsPage({ search: query, after: null, limit, offset: 0 });
        if (request !== this.listRequest) return;
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
        // Nothing is being read any more: the next scroll asks again.
        this.pages.clear();
        this.dispatch({ type: 'contacts_failed', error: toAppError(error) });
      }
    }
  }

  /**
   * The list shows rows `start`..`end`. The whole list reads the pages around them it has not
   * read (by keyset after the row before when that is loaded, by offset after a jump) and lets
   * go of pages far away, so memory stays flat however far the rep scrolls. Matches load on
   * near their end.
   */
  showRows(start: number, end: number): void {
    this.shown = { start: Math.max(0, start), end: Math.max(start, end) };
    if (!this.current.contactsLoaded) return;
    if (this.requestedQuery !== '') {
      if (this.current.hasMore && end >= this.current.contacts.length - 40) void this.loadMore();
      return;
    }
    for (const n of this.pagesAround(this.shown)) {
      if (!this.pages.has(n)) void this.readPage(n);
    }
  }

  /** The pages holding `rows`, half a page more each side, within the list. */
  private pagesAround(rows: { start: number; end: number }): number[] {
    const last = Math.max(0, Math.ceil(this.current.contacts.length / PAGE_SIZE) - 1);
    const from = Math.max(0, Math.floor((rows.start - PAGE_SIZE / 2) / PAGE_SIZE));
    const to = Math.min(last, Math.floor((rows.end + PAGE_SIZE / 2) / PAGE_SIZE));
    const numbers = [];
    for (let n = from; n <= to; n++) numbers.push(n);
    return numbers;
  }

  private async readPage(n: number): Promise<void> {
    const request = this.listRequest;
    this.pages.set(n, 'reading');
    const start = n * PAGE_SIZE;
    const before = this.pages.get(n - 1) === 'loaded' ? this.current.contacts[start - 1] : undefined;
    const query = before
      ? { search: null, after: { name: before.name, id: before.id }, limit: PAGE_SIZE, offset: 0 }
      : { search: null, after: null, limit: PAGE_SIZE, offset: start };
    try {
      const page = await this.backend.listContactsPage(query);
      if (request !== this.listRequest) return;
      this.pages.set(n, 'loaded');
      const keep = this.pagesAround({ start: this.shown.start - KEEP_PAGES * PAGE_SIZE, end: this.shown.end + KEEP_PAGES * PAGE_SIZE });
      const dropped = [...this.pages.keys()].filter((p) => p !== 0 && this.pages.get(p) === 'loaded' && !keep.includes(p));
      for (const p of dropped) this.pages.delete(p);
      this.dispatch({
        type: 'contacts_page',
        start,
        contacts: page.items,
        total: page.total ?? this.current.contacts.length,
        dropped: dropped.map((p) => [p * PAGE_SIZE, (p + 1) * PAGE_SIZE]),
      });
    } catch (error) {
      if (request !== this.listRequest) return;
      this.pages.delete(n);
      this.dispatch({ type: 'contacts_failed', error: toAppError(error) });
    }
  }

  /** The next page of matches, when the list is scrolled near their end. Calls while one loads join it. */
  loadMore(): Promise<void> {
    if (!this.current.hasMore) return Promise.resolve();
    if (!this.loadingMore) {
      const request = this.listRequest;
      // Ranked matches page by offset.
      const query = { search: this.requestedQuery, after: null, offset: this.current.contacts.length, limit: PAGE_SIZE };
      this.loadingMore = this.backend
        .listContactsPage(query)
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
      void this.search(this.requestedQuery, true);
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
    await this.search(this.requestedQuery, true);
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
