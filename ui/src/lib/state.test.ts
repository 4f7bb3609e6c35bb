import { describe, expect, it } from 'vitest';
import { initialState, isOffline, isSyncing, reduce, type Action, type State } from './state';
import type { AppStatus, User } from './types';

const rep: User = {
  user_id: '005000000000001AAA',
  org_id: '00D000000000001AAA',
  username: 'rep@demo.example',
  display_name: 'Riley Rep',
  email: 'rep@demo.example',
};

const status = (fields: Partial<AppStatus>): AppStatus => ({
  signed_in: false,
  user: null,
  online: null,
  last_synced_at: null,
  syncing: false,
  outbox: { pending: 0, waiting: 0, sending: 0, failed: 0, conflicts: 0, waiting_for_sign_in: 0 },
  reauth_required: false,
  counts: {},
  storage_bytes: null,
  server: { url: 'https://companion.example.com', source: 'chosen', preset: null, can_change: true },
  ...fields,
});

const run = (...actions: Action[]): State => actions.reduce(reduce, initialState);

describe('first screen', () => {
  it('is sign-in when nobody is signed in', () => {
    expect(run({ type: 'status', status: status({}) }).screen).toBe('sign_in');
  });

  it('is sign-in on a first start, knowing no server and the administrator preset', () => {
    const none = { url: null, source: 'none' as const, preset: 'https://companion.acme.example', can_change: true };
    const state = run({ type: 'status', status: status({ server: none }) });
    expect(state.screen).toBe('sign_in');
    expect(state.server).toEqual(none);
    const chosen = { ...none, url: 'https://companion.acme.example', source: 'chosen' as const };
    expect(run({ type: 'status', status: status({ server: none }) }, { type: 'status', status: status({ server: chosen }) }).server).toEqual(chosen);
  });

  it('is the contacts when a session exists, even offline', () => {
    const state = run({ type: 'status', status: status({ signed_in: true, user: rep, online: false }) });
    expect(state.screen).toBe('contacts');
    expect(state.user).toEqual(rep);
    expect(isOffline(state)).toBe(true);
  });

  it('is sign-in with the reason when the shell cannot answer', () => {
    const state = run({ type: 'startup_failed', error: { kind: 'startup', message: 'no data dir' } });
    expect(state.screen).toBe('sign_in');
    expect(state.signIn.problem?.detail).toBe('no data dir');
  });
});

describe('sign-in', () => {
  const signedOut = run({ type: 'status', status: status({}) });

  it('waits for the browser, then opens the contacts', () => {
    const waiting = reduce(signedOut, { type: 'sign_in_requested' });
    expect(waiting.signIn.phase).toBe('waiting');
    const done = reduce(waiting, { type: 'sign_in_complete', user: rep });
    expect(done.screen).toBe('contacts');
    expect(done.user).toEqual(rep);
    expect(done.signIn).toEqual({ phase: 'idle', problem: null });
  });

  it('a state mismatch says "Sign-in failed — try again" and can be retried', () => {
    const failed = reduce(reduce(signedOut, { type: 'sign_in_requested' }), {
      type: 'sign_in_failed',
      error: { kind: 'state_mismatch', message: 'This sign-in was not started here.' },
    });
    expect(failed.screen).toBe('sign_in');
    expect(failed.signIn.problem).toEqual({
      title: 'Sign-in failed — try again',
      detail: 'This sign-in was not started here.',
    });
    expect(reduce(failed, { type: 'sign_in_requested' }).signIn.problem).toBeNull();
  });

  it('an unreachable server says so plainly', () => {
    const failed = reduce(signedOut, { type: 'sign_in_rejected', error: { kind: 'offline', message: 'tcp connect' } });
    expect(failed.signIn.problem).toEqual({
      title: "Can't reach the Companion server.",
      detail: 'Check your connection and try again.',
    });
    expect(failed.signIn.phase).toBe('idle');
  });

  it('a status saying signed in while on the sign-in screen opens the contacts', () => {
    const state = reduce(signedOut, { type: 'status', status: status({ signed_in: true, user: rep }) });
    expect(state.screen).toBe('contacts');
  });
});

describe('sync', () => {
  const contacts = run({ type: 'status', status: status({ signed_in: true, user: rep }) });

  it('tracks progress and records when it finished', () => {
    let state = reduce(contacts, { type: 'sync_started' });
    expect(isSyncing(state)).toBe(true);
    state = reduce(state, { type: 'sync_progress', progress: { object: 'Contact', done: 10, total: 200 } });
    expect(state.progress?.done).toBe(10);
    state = reduce(state, { type: 'sync_succeeded', at: '2026-11-22T12:00:00.000Z' });
    expect(isSyncing(state)).toBe(false);
    expect(state.progress).toBeNull();
    expect(state.online).toBe(true);
    expect(state.lastSyncedAt).toBe('2026-11-22T12:00:00.000Z');
  });

  it('offline keeps the contacts and shows the banner', () => {
    let state = reduce(contacts, {
      type: 'contacts_loaded',
      query: '',
      contacts: [{ id: '1', name: 'A', first_name: null, last_name: 'A', email: null, phone: null, title: null, account_name: null, pending: null }],
    });
    state = reduce(reduce(state, { type: 'sync_started' }), {
      type: 'sync_rejected',
      error: { kind: 'offline', message: 'gateway unreachable' },
    });
    expect(isOffline(state)).toBe(true);
    expect(state.contacts).toHaveLength(1);
    expect(state.notice).toBeNull();
  });

  it('reauth_required keeps the contacts screen and asks to sign in', () => {
    const state = reduce(reduce(contacts, { type: 'sync_started' }), {
      type: 'sync_rejected',
      error: { kind: 'reauth_required', message: 'Sign in again' },
    });
    expect(state.screen).toBe('contacts');
    expect(state.reauthRequired).toBe(true);
    expect(isOffline(state)).toBe(false);
    const again = reduce(state, { type: 'sign_in_complete', user: rep });
    expect(again.reauthRequired).toBe(false);
  });

  it('other failures become a dismissable notice', () => {
    let state = reduce(contacts, { type: 'sync_rejected', error: { kind: 'upstream_unavailable', message: 'Salesforce is down' } });
    expect(state.notice).toBe("Couldn't sync: Salesforce is down");
    state = reduce(state, { type: 'notice_dismissed' });
    expect(state.notice).toBeNull();
  });

  it('a status without news does not forget what we know', () => {
    let state = reduce(contacts, { type: 'sync_succeeded', at: '2026-11-22T12:00:00.000Z' });
    state = reduce(state, { type: 'status', status: status({ signed_in: true, online: null, last_synced_at: null }) });
    expect(state.online).toBe(true);
    expect(state.lastSyncedAt).toBe('2026-11-22T12:00:00.000Z');
    state = reduce(state, { type: 'status', status: status({ signed_in: true, online: false, syncing: true }) });
    expect(isOffline(state)).toBe(true);
    expect(isSyncing(state)).toBe(true);
  });

  it('a status saying signed out does not hide the contacts mid-session', () => {
    const state = reduce(contacts, { type: 'status', status: status({ signed_in: false }) });
    expect(state.screen).toBe('contacts');
  });
});

describe('sign-out', () => {
  it('returns to sign-in and forgets the rep', () => {
    const state = run(
      { type: 'status', status: status({ signed_in: true, user: rep, online: false }) },
      { type: 'signed_out' },
    );
    expect(state.screen).toBe('sign_in');
    expect(state.user).toBeNull();
    expect(state.contacts).toEqual([]);
    expect(isOffline(state)).toBe(false);
  });
});
