import type { Backend } from './backend';
import { toAppError } from './errors';
import { initialState, reduce, type Action, type State } from './state';

/**
 * Runs the app: turns the rep's actions into shell calls and the shell's answers and events into
 * state. One instance per window.
 */
export class Controller {
  private current: State = initialState;
  private readonly listeners = new Set<(state: State) => void>();
  private unsubscribe: (() => void) | null = null;
  private runningSync: Promise<void> | null = null;
  /** Only the newest list request may replace the list (answers can arrive out of order). */
  private listRequest = 0;
  /** What the rep last searched for; a refresh reloads that. */
  private requestedQuery = '';

  constructor(
    private readonly backend: Backend,
    private readonly now: () => Date = () => new Date(),
  ) {}

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
      });
      this.dispatch({ type: 'status', status: await this.backend.getStatus() });
    } catch (error) {
      this.dispatch({ type: 'startup_failed', error: toAppError(error) });
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

  /** Shows the contacts matching `text` (all of them when blank). */
  async search(text: string): Promise<void> {
    const query = text.trim();
    this.requestedQuery = query;
    const request = ++this.listRequest;
    try {
      const contacts = await this.backend.listContacts(query === '' ? null : query);
      if (request === this.listRequest) {
        this.dispatch({ type: 'contacts_loaded', query, contacts });
      }
    } catch (error) {
      if (request === this.listRequest) {
        this.dispatch({ type: 'contacts_failed', error: toAppError(error) });
      }
    }
  }

  async signOut(): Promise<void> {
    try {
      await this.backend.signOut();
      this.listRequest++;
      this.requestedQuery = '';
      this.dispatch({ type: 'signed_out' });
    } catch (error) {
      this.dispatch({ type: 'sign_out_failed', error: toAppError(error) });
    }
  }

  dismissNotice(): void {
    this.dispatch({ type: 'notice_dismissed' });
  }

  private async sync(): Promise<void> {
    this.dispatch({ type: 'sync_started' });
    try {
      await this.backend.syncNow();
      this.dispatch({ type: 'sync_succeeded', at: this.now().toISOString() });
    } catch (error) {
      this.dispatch({ type: 'sync_rejected', error: toAppError(error) });
      return;
    }
    await this.search(this.requestedQuery);
  }

  /** The contacts screen opens: what is on the device first, then what is new. */
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
      // Signed in again after `reauth_required`: the contacts are on screen, bring them up to date.
      void this.refresh();
    }
  }
}
