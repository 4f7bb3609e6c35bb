// The fake Tauri shell injected into the page with `page.addInitScript` before the built UI loads.
// It implements what @tauri-apps/api/core and /event use: `__TAURI_INTERNALS__.invoke`,
// `transformCallback`, `unregisterCallback`, and `plugin:event|listen` / `unlisten` (as the api's
// own mocks.js does), so the production bundle runs unchanged. The scenario decides how the
// commands answer; `window.__fake` lets the test drive and inspect it.
//
// This function is serialised into the page: it must not use anything from its module.
export function installFakeShell(config) {
  const callbacks = new Map();
  const listeners = new Map();
  let nextCallbackId = 1;

  const status = {
    signed_in: Boolean(config.signedIn),
    user: config.signedIn ? config.user : null,
    online: config.online === undefined ? null : config.online,
    last_synced_at: config.lastSyncedAt ?? null,
    syncing: false,
  };
  const fake = { calls: [], syncsStarted: 0, syncsFinished: 0, status };
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  const clone = (value) => JSON.parse(JSON.stringify(value));

  function transformCallback(callback, once = false) {
    const id = nextCallbackId++;
    callbacks.set(id, (data) => {
      if (once) callbacks.delete(id);
      if (callback) callback(data);
    });
    return id;
  }

  function emit(event, payload) {
    for (const handlerId of [...(listeners.get(event) ?? [])]) {
      const callback = callbacks.get(handlerId);
      if (callback) callback({ event, id: handlerId, payload: clone(payload) });
    }
  }

  function eventPlugin(cmd, args) {
    switch (cmd) {
      case 'plugin:event|listen': {
        if (!listeners.has(args.event)) listeners.set(args.event, []);
        listeners.get(args.event).push(args.handler);
        return args.handler;
      }
      case 'plugin:event|unlisten': {
        const handlers = listeners.get(args.event) ?? [];
        const index = handlers.indexOf(args.eventId);
        if (index !== -1) handlers.splice(index, 1);
        return null;
      }
      default:
        throw { kind: 'unknown_command', message: `the fake shell has no ${cmd}` };
    }
  }

  function matches(contact, search) {
    const needle = search.toLowerCase();
    return [contact.name, contact.email, contact.title, contact.account_name, contact.phone].some(
      (field) => typeof field === 'string' && field.toLowerCase().includes(needle),
    );
  }

  async function syncNow() {
    fake.syncsStarted++;
    status.syncing = true;
    try {
      await sleep(config.syncLatencyMs ?? 120);
      if (config.sync === 'offline') {
        status.online = false;
        emit('status-changed', { ...status, syncing: false });
        throw { kind: 'offline', message: 'The Companion server could not be reached.' };
      }
      if (config.sync === 'reauth') {
        status.online = true;
        throw { kind: 'reauth_required', message: 'Your Salesforce session has ended. Sign in again.' };
      }
      const plan = [
        ['Account', config.accounts ?? 6],
        ['Contact', config.contacts.length],
      ];
      for (const [object, total] of plan) {
        for (let done = 0; done <= total; done += Math.max(1, Math.ceil(total / 4))) {
          emit('sync-progress', { object, done, total });
          await sleep(config.syncStepMs ?? 60);
        }
        emit('sync-progress', { object, done: total, total });
      }
      status.online = true;
      status.last_synced_at = new Date().toISOString();
      return { accounts: config.accounts ?? 6, contacts: config.contacts.length, pages: 1 };
    } finally {
      status.syncing = false;
      fake.syncsFinished++;
    }
  }

  async function invoke(cmd, args = {}) {
    if (cmd.startsWith('plugin:event|')) return eventPlugin(cmd, args);
    fake.calls.push({ cmd, args: clone(args ?? {}) });
    switch (cmd) {
      case 'get_status':
        return clone(status);
      case 'sign_in':
        if (config.signIn === 'offline') {
          await sleep(50);
          throw { kind: 'offline', message: 'error sending request for url (http://127.0.0.1:8710/v1/auth/config)' };
        }
        // The browser round trip; then the deep link arrives and the shell emits the outcome.
        setTimeout(() => {
          if (config.signIn === 'state_mismatch') {
            emit('sign-in-failed', {
              kind: 'state_mismatch',
              message: 'The sign-in response did not match the request this device started.',
            });
          } else if (config.signIn === 'complete') {
            status.signed_in = true;
            status.user = config.user;
            emit('sign-in-complete', config.user);
          }
        }, config.signInDelayMs ?? 400);
        return null;
      case 'list_contacts': {
        const search = args.search;
        const found = config.contacts.filter((c) => search === null || matches(c, search));
        return clone(found);
      }
      case 'sync_now':
        return syncNow();
      case 'sign_out':
        status.signed_in = false;
        status.user = null;
        return null;
      default:
        throw { kind: 'unknown_command', message: `the fake shell has no ${cmd}` };
    }
  }

  window.__TAURI_INTERNALS__ = {
    invoke,
    transformCallback,
    unregisterCallback: (id) => callbacks.delete(id),
    runCallback: (id, data) => callbacks.get(id)?.(data),
    callbacks,
    metadata: {
      currentWindow: { label: 'main' },
      currentWebview: { windowLabel: 'main', label: 'main' },
    },
  };
  window.__TAURI_EVENT_PLUGIN_INTERNALS__ = {
    unregisterListener: (_event, id) => callbacks.delete(id),
  };
  window.__fake = {
    ...fake,
    get calls() {
      return fake.calls.map((call) => call.cmd);
    },
    get listArgs() {
      return fake.calls.filter((call) => call.cmd === 'list_contacts').map((call) => call.args.search);
    },
    get syncsStarted() {
      return fake.syncsStarted;
    },
    get syncsFinished() {
      return fake.syncsFinished;
    },
    emit,
  };
}
