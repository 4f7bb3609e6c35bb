import { describe, expect, it } from 'vitest';
import type { Backend, BackendEvents } from './backend';
import { Controller, PAGE_SIZE } from './controller';
import type { AppStatus, ContactSummary, SyncReport, User } from './types';

const rep: User = {
  user_id: '005000000000001AAA',
  org_id: '00D000000000001AAA',
  username: 'rep@demo.example',
  display_name: 'Riley Rep',
  email: 'rep@demo.example',
};

const person = (id: string, name: string): ContactSummary => ({
  id,
  name,
  first_name: null,
  last_name: name,
  email: null,
  phone: null,
  title: null,
  account_name: null,
  pending: null,
});

interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** A shell whose answers the test hands out one by one, recording every call in order. */
class FakeShell {
  calls: string[] = [];
  handlers: BackendEvents | null = null;
  status = { signed_in: false, user: null, online: null, last_synced_at: null, syncing: false } as AppStatus;
  signInResult: Deferred<void> | null = null;
  syncs: Deferred<SyncReport>[] = [];
  lists: Deferred<ContactSummary[]>[] = [];

  async getStatus() {
    this.calls.push('get_status');
    return this.status;
  }
  signIn(loginHost?: string | null) {
    this.calls.push(loginHost ? `sign_in(${loginHost})` : 'sign_in');
    this.signInResult = deferred();
    return this.signInResult.promise;
  }
  listContacts(search: string | null) {
    this.calls.push(`list_contacts(${search === null ? 'null' : JSON.stringify(search)})`);
    const next = deferred<ContactSummary[]>();
    this.lists.push(next);
    return next.promise;
  }
  listContactsPage(query: { search: string | null; limit: number }) {
    return this.listContacts(query.search).then((items) => ({ items, total: items.length }));
  }
  syncNow() {
    this.calls.push('sync_now');
    const next = deferred<SyncReport>();
    this.syncs.push(next);
    return next.promise;
  }
  async signOut() {
    this.calls.push('sign_out');
  }
  setServerAnswer: Error | { kind: string; message: string } | null = null;
  async setServer(url: string) {
    this.calls.push(`set_server(${url})`);
    if (this.setServerAnswer) throw this.setServerAnswer;
    this.status = { ...this.status, server: { url, source: 'chosen', preset: null, can_change: true } } as AppStatus;
    return { url, login_hosts: [] };
  }
  async listLoginHosts() {
    this.calls.push('list_login_hosts');
    throw { kind: 'offline', message: 'no network' };
  }
  async subscribe(handlers: BackendEvents) {
    this.calls.push('subscribe');
    this.handlers = handlers;
    return () => {
      this.handlers = null;
    };
  }
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 0));
const report = { accounts: 40, contacts: 200, pages: 1 } as SyncReport;

async function signedInApp() {
  const shell = new FakeShell();
  shell.status = { signed_in: true, user: rep, online: null, last_synced_at: null, syncing: false } as AppStatus;
  const controller = new Controller(shell as unknown as Backend);
  await controller.start();
  return { shell, controller };
}

describe('Controller', () => {
  it('listens before asking for the status, so no event is lost', async () => {
    const shell = new FakeShell();
    await new Controller(shell as unknown as Backend).start();
    expect(shell.calls.slice(0, 2)).toEqual(['subscribe', 'get_status']);
  });

  it('opens the contacts with the local list first, then syncs, then reloads', async () => {
    const { shell, controller } = await signedInApp();
    expect(shell.calls).toEqual(['subscribe', 'get_status', 'list_contacts(null)']);
    shell.lists[0].resolve([person('1', 'Local Lou')]);
    await settle();
    expect(controller.state.contacts.map((c) => c?.name)).toEqual(['Local Lou']);
    expect(shell.calls.at(-1)).toBe('sync_now');
    expect(controller.state.syncing).toBe(true);

    shell.status = { ...shell.status, last_synced_at: '2026-11-22T12:00:00.000Z' };
    shell.syncs[0].resolve(report);
    await settle();
    expect(shell.calls.slice(-2)).toEqual(['get_status', 'list_contacts(null)']);
    shell.lists[1].resolve([person('1', 'Local Lou'), person('2', 'Synced Sam')]);
    await settle();
    expect(controller.state.contacts).toHaveLength(2);
    expect(controller.state.syncing).toBe(false);
    expect(controller.state.lastSyncedAt).toBe('2026-11-22T12:00:00.000Z');
  });

  it('signs in through the browser and starts a sync when the shell reports success', async () => {
    const shell = new FakeShell();
    const controller = new Controller(shell as unknown as Backend);
    await controller.start();
    expect(controller.state.screen).toBe('sign_in');

    void controller.signIn();
    await settle();
    expect(controller.state.signIn.phase).toBe('waiting');
    shell.signInResult!.resolve();
    await settle();
    expect(controller.state.signIn.phase).toBe('waiting');

    shell.handlers!.signInComplete(rep);
    expect(controller.state.screen).toBe('contacts');
    shell.lists[0].resolve([]);
    await settle();
    expect(shell.calls.slice(-2)).toEqual(['list_contacts(null)', 'sync_now']);
  });

  it('shows why sign-in could not start', async () => {
    const shell = new FakeShell();
    const controller = new Controller(shell as unknown as Backend);
    await controller.start();
    void controller.signIn();
    shell.signInResult!.reject({ kind: 'offline', message: 'connection refused' });
    await settle();
    expect(controller.state.signIn.problem).toEqual({
      title: "Can't reach the Companion server.",
      detail: 'Check your connection and try again.',
    });
  });

  it('a first start chooses the server, then signs in at the login host the rep picked', async () => {
    const shell = new FakeShell();
    shell.status = {
      ...shell.status,
      server: { url: null, source: 'none', preset: 'https://companion.acme.example', can_change: true },
    } as AppStatus;
    const controller = new Controller(shell as unknown as Backend);
    await controller.start();
    expect(controller.state.server?.url).toBeNull();
    expect(controller.state.server?.preset).toBe('https://companion.acme.example');

    shell.setServerAnswer = { kind: 'insecure_url', message: 'not secure' };
    await expect(controller.setServer('http://companion.acme.example')).rejects.toEqual({
      kind: 'insecure_url',
      message: 'not secure',
    });
    expect(controller.state.server?.url).toBeNull();

    shell.setServerAnswer = null;
    await controller.setServer('https://companion.acme.example');
    expect(controller.state.server?.url).toBe('https://companion.acme.example');
    expect(await controller.loginHosts()).toEqual([]); // offline: no choice, the default host
    void controller.signIn('https://test.salesforce.com');
    await settle();
    expect(shell.calls).toContain('sign_in(https://test.salesforce.com)');
  });

  it('shows "Sign-in failed — try again" when the shell reports a failed callback', async () => {
    const shell = new FakeShell();
    const controller = new Controller(shell as unknown as Backend);
    await controller.start();
    void controller.signIn();
    shell.handlers!.signInFailed({ kind: 'state_mismatch', message: 'state does not match' });
    expect(controller.state.signIn.problem?.title).toBe('Sign-in failed — try again');
    expect(controller.state.screen).toBe('sign_in');
  });

  it('a second refresh while one runs joins it instead of syncing twice', async () => {
    const { shell, controller } = await signedInApp();
    shell.lists[0].resolve([]);
    await settle();
    void controller.refresh();
    void controller.refresh();
    expect(shell.calls.filter((c) => c === 'sync_now')).toHaveLength(1);
    shell.syncs[0].resolve(report);
    await settle();
    shell.lists[1].resolve([]);
    await settle();
    void controller.refresh();
    expect(shell.calls.filter((c) => c === 'sync_now')).toHaveLength(2);
  });

  it('offline: the saved contacts stay and the banner shows', async () => {
    const { shell, controller } = await signedInApp();
    shell.lists[0].resolve([person('1', 'Saved Sue')]);
    await settle();
    shell.syncs[0].reject({ kind: 'offline', message: 'gateway unreachable' });
    await settle();
    expect(controller.state.online).toBe(false);
    expect(controller.state.contacts.map((c) => c?.name)).toEqual(['Saved Sue']);
    expect(controller.state.syncing).toBe(false);
  });

  it('after reauth, signing in again syncs without leaving the contacts', async () => {
    const { shell, controller } = await signedInApp();
    shell.lists[0].resolve([person('1', 'Saved Sue')]);
    await settle();
    shell.syncs[0].reject({ kind: 'reauth_required', message: 'Sign in again' });
    await settle();
    expect(controller.state.reauthRequired).toBe(true);

    void controller.signIn();
    shell.handlers!.signInComplete(rep);
    await settle();
    expect(controller.state.reauthRequired).toBe(false);
    expect(controller.state.contacts).toHaveLength(1);
    expect(shell.calls.filter((c) => c === 'sync_now')).toHaveLength(2);
  });

  it('only the newest search answer is shown', async () => {
    const { shell, controller } = await signedInApp();
    shell.lists[0].resolve([]);
    await settle();
    void controller.search('an');
    void controller.search('ann ');
    expect(shell.calls.slice(-2)).toEqual(['list_contacts("an")', 'list_contacts("ann")']);
    shell.lists[2].resolve([person('3', 'Ann Lee')]);
    await settle();
    shell.lists[1].resolve([person('3', 'Ann Lee'), person('4', 'Dan Anders')]);
    await settle();
    expect(controller.state.contacts.map((c) => c?.name)).toEqual(['Ann Lee']);
    expect(controller.state.query).toBe('ann');
  });

  it('a refresh reloads the list for the current search', async () => {
    const { shell, controller } = await signedInApp();
    shell.lists[0].resolve([]);
    await settle();
    void controller.search('ann');
    shell.lists[1].resolve([]);
    shell.syncs[0].resolve(report);
    await settle();
    expect(shell.calls.at(-1)).toBe('list_contacts("ann")');
  });

  it('sign-out goes back to the sign-in screen', async () => {
    const { shell, controller } = await signedInApp();
    shell.lists[0].resolve([person('1', 'Saved Sue')]);
    await settle();
    await controller.signOut();
    expect(shell.calls).toContain('sign_out');
    expect(controller.state.screen).toBe('sign_in');
    expect(controller.state.contacts).toEqual([]);
  });
});

describe('Controller paging', () => {
  /** A shell whose list has `total` contacts, answering pages as core does; records what was asked. */
  function pagedShell(total: number) {
    const all = Array.from({ length: total }, (_, i) => person(`id${i}`, `P${String(i).padStart(5, '0')}`));
    const asked: { search: string | null; after: { name: string; id: string } | null; limit: number; offset: number }[] = [];
    const backend = {
      subscribe: async () => () => {},
      getStatus: async () => ({ signed_in: true, user: rep, online: true, last_synced_at: 'x', syncing: false }) as AppStatus,
      listContactsPage: async (query: (typeof asked)[number]) => {
        asked.push(query);
        let start = query.offset;
        if (query.after) start = all.findIndex((c) => c.id === query.after!.id) + 1;
        const list = query.search ? all.filter((c) => c.name.includes(query.search!.toUpperCase())) : all;
        return { items: list.slice(start, start + query.limit), total: query.search ? null : total };
      },
      syncNow: async () => report,
    } as unknown as Backend;
    return { all, asked, controller: new Controller(backend) };
  }

  it('has a row for every contact and reads the pages that come into view', async () => {
    const { all, asked, controller } = pagedShell(PAGE_SIZE * 10 + 5);
    await controller.start();
    await settle();
    expect(controller.state.contacts).toHaveLength(all.length);
    expect(controller.state.contactsTotal).toBe(all.length);
    expect(controller.state.contacts[PAGE_SIZE - 1]?.id).toBe(all[PAGE_SIZE - 1].id);
    expect(controller.state.contacts[PAGE_SIZE]).toBeUndefined();

    // Scrolling on: the next page, by keyset after the last row read.
    controller.showRows(PAGE_SIZE - 20, PAGE_SIZE - 5);
    await settle();
    expect(asked.at(-1)).toEqual({ search: null, after: { name: all[PAGE_SIZE - 1].name, id: all[PAGE_SIZE - 1].id }, limit: PAGE_SIZE, offset: 0 });
    expect(controller.state.contacts[PAGE_SIZE]?.id).toBe(all[PAGE_SIZE].id);

    // A jump to the end (the scroll bar dragged): that page by offset; the last row is the last contact.
    controller.showRows(all.length - 10, all.length - 1);
    await settle();
    expect(asked.at(-1)).toMatchObject({ after: null, offset: PAGE_SIZE * 10 });
    expect(controller.state.contacts.at(-1)?.id).toBe(all.at(-1)!.id);
    // Pages far from the screen are let go; the first one is kept.
    expect(controller.state.contacts[PAGE_SIZE]).toBeUndefined();
    expect(controller.state.contacts[0]?.id).toBe(all[0].id);
    const loaded = controller.state.contacts.filter(Boolean).length;
    expect(loaded).toBeLessThan(PAGE_SIZE * 4);
  });

  it('matches come by offset as the rep scrolls to their end', async () => {
    const { asked, controller } = pagedShell(PAGE_SIZE * 3);
    await controller.start();
    await settle();
    await controller.search('p');
    expect(controller.state.totalExact).toBe(false);
    expect(controller.state.hasMore).toBe(true);
    controller.showRows(PAGE_SIZE - 20, PAGE_SIZE - 5);
    await settle();
    expect(asked.at(-1)).toEqual({ search: 'p', after: null, offset: PAGE_SIZE, limit: PAGE_SIZE });
    expect(controller.state.contacts).toHaveLength(PAGE_SIZE * 2);
  });

  it('records changed far down the list: the rows on screen are read again, the place kept', async () => {
    const { asked, controller } = pagedShell(PAGE_SIZE * 10);
    await controller.start();
    await settle();
    controller.showRows(PAGE_SIZE * 6 + 10, PAGE_SIZE * 6 + 20);
    await settle();
    asked.length = 0;
    controller.changed();
    await settle();
    const offsets = asked.map((q) => q.offset).sort((a, b) => a - b);
    expect(offsets).toEqual([0, PAGE_SIZE * 5, PAGE_SIZE * 6]);
    expect(controller.state.contacts[PAGE_SIZE * 6 + 15]).toBeDefined();
  });
});
