// The fake Tauri shell injected into the page with `page.addInitScript` before the built UI loads.
// It implements what @tauri-apps/api/core and /event use: `__TAURI_INTERNALS__.invoke`,
// `transformCallback`, `unregisterCallback`, and `plugin:event|listen` / `unlisten` (as the api's
// own mocks.js does), so the production bundle runs unchanged. Every command of
// src-tauri/src/commands.rs answers with the Rust types' serde shapes, over a small in-memory
// replica and outbox seeded from fixtures.mjs; writes emit outbox-changed / status-changed as the
// real shell does. The scenario decides how sync and sign-in answer; `window.__fake` lets the
// test drive and inspect it.
//
// This function is serialised into the page: it must not use anything from its module.
export function installFakeShell(config) {
  const callbacks = new Map();
  const listeners = new Map();
  let nextCallbackId = 1;
  let localSeq = 1;
  const clone = (value) => JSON.parse(JSON.stringify(value));
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  const db = {
    contacts: clone(config.contacts ?? []),
    accounts: clone(config.accountList ?? []),
    opportunities: clone(config.opportunities ?? []),
    leads: clone(config.leads ?? []),
    tasks: clone(config.tasks ?? []),
    pending: clone(config.pending ?? []),
  };
  for (let i = 0; i < (config.extraContacts ?? 0); i++) {
    const n = String(i).padStart(5, '0');
    db.contacts.push({
      id: `003Zz0000${n}ZZZZ`.slice(0, 18),
      name: `Zed Person ${n}`,
      first_name: 'Zed',
      last_name: `Person ${n}`,
      email: null,
      phone: null,
      mobile_phone: null,
      title: 'Buyer',
      account_name: null,
      account_id: null,
      pending: null,
    });
  }
  const picklists = config.picklists ?? {};

  const status = {
    signed_in: Boolean(config.signedIn),
    user: config.signedIn ? config.user : null,
    online: config.online === undefined ? null : config.online,
    last_synced_at: config.lastSyncedAt === undefined ? new Date(Date.now() - 4 * 60_000).toISOString() : config.lastSyncedAt,
    syncing: false,
    outbox: null,
    reauth_required: Boolean(config.reauthRequired),
    counts: {},
    storage_bytes: 48_300_000,
    server: clone(
      config.server ?? { url: 'https://companion.example.com', source: 'chosen', preset: null, can_change: !config.signedIn },
    ),
  };
  const loginHosts = () =>
    clone(
      config.loginHosts ?? [
        { label: 'Production', url: 'https://login.salesforce.com', authorize_url: 'https://login.salesforce.com/services/oauth2/authorize' },
      ],
    );
  const fake = { calls: [], syncsStarted: 0, syncsFinished: 0 };

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
      if (callback) callback({ event, id: handlerId, payload: payload === undefined ? null : clone(payload) });
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

  // ---------- the replica's views ----------

  const rank = { conflict: 0, failed: 1, waiting_for_sign_in: 2, sending: 3, waiting: 4 };
  function pendingOf(id) {
    let best = null;
    for (const write of db.pending) {
      if (write.record_id === id && (best === null || rank[write.state] < rank[best])) best = write.state;
    }
    return best;
  }
  function outboxCounts() {
    const counts = { pending: db.pending.length, waiting: 0, sending: 0, failed: 0, conflicts: 0, waiting_for_sign_in: 0 };
    for (const write of db.pending) {
      if (write.state === 'conflict') counts.conflicts++;
      else if (write.state === 'waiting_for_sign_in') {
        counts.waiting_for_sign_in++;
        counts.waiting++;
      } else counts[write.state]++;
    }
    return counts;
  }
  function currentStatus() {
    status.outbox = outboxCounts();
    status.counts = {
      Account: db.accounts.length,
      Contact: db.contacts.length,
      Opportunity: db.opportunities.length,
      Lead: db.leads.length,
      Task: db.tasks.length,
    };
    return clone(status);
  }
  function outboxChanged() {
    emit('outbox-changed', null);
    emit('status-changed', currentStatus());
  }

  const byName = (a, b) => a.name.toLowerCase().localeCompare(b.name.toLowerCase(), 'en') || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
  const contactSummary = (c) => ({
    id: c.id,
    name: c.name,
    first_name: c.first_name,
    last_name: c.last_name,
    email: c.email,
    phone: c.phone,
    title: c.title,
    account_name: c.account_name,
    pending: pendingOf(c.id),
  });
  const opportunitySummary = (o) => ({ ...o, pending: pendingOf(o.id) });
  const accountSummary = (a) => (a ? { id: a.id, name: a.name, industry: a.industry, phone: a.phone, billing_city: a.billing_city } : null);
  const taskSummary = (t) => ({ ...t, pending: pendingOf(t.id) ?? t.pending ?? null });
  const leadSummary = (l) => ({ ...l, pending: pendingOf(l.id) });
  const words = (text) => text.toLowerCase().split(/\s+/).filter(Boolean);
  function matches(fields, search) {
    const haystack = fields.filter((f) => typeof f === 'string').join(' ').toLowerCase();
    const hayWords = haystack.split(/[\s@.,]+/);
    return words(search).every((word) => hayWords.some((h) => h.startsWith(word)) || haystack.includes(word));
  }
  const recentTasks = (key, id) =>
    db.tasks.filter((t) => t[key] === id).sort((a, b) => (b.activity_date ?? '').localeCompare(a.activity_date ?? '')).map(taskSummary);
  const openOpps = (accountId) => db.opportunities.filter((o) => o.account_id === accountId && !o.is_closed).map(opportunitySummary);

  function getRecord(id) {
    const contact = db.contacts.find((c) => c.id === id);
    if (contact) {
      const account = db.accounts.find((a) => a.id === contact.account_id);
      return {
        object: 'Contact',
        ...contactSummary(contact),
        mobile_phone: contact.mobile_phone ?? null,
        account_id: contact.account_id,
        owner_id: config.user?.user_id ?? '005',
        system_modstamp: '2026-11-01T10:00:00.000Z',
        account: accountSummary(account),
        open_opportunities: contact.account_id ? openOpps(contact.account_id) : [],
        recent_tasks: recentTasks('who_id', id),
      };
    }
    const account = db.accounts.find((a) => a.id === id);
    if (account) {
      return {
        object: 'Account',
        ...accountSummary(account),
        website: account.website,
        billing_street: account.billing_street,
        billing_state: account.billing_state,
        billing_postal_code: account.billing_postal_code,
        billing_country: account.billing_country,
        owner_id: '005',
        system_modstamp: '2026-11-01T10:00:00.000Z',
        contacts: db.contacts.filter((c) => c.account_id === id).sort(byName).map(contactSummary),
        open_opportunities: openOpps(id),
        recent_tasks: recentTasks('what_id', id),
      };
    }
    const opp = db.opportunities.find((o) => o.id === id);
    if (opp) {
      return {
        object: 'Opportunity',
        ...opportunitySummary(opp),
        owner_id: '005',
        system_modstamp: '2026-11-01T10:00:00.000Z',
        account: accountSummary(db.accounts.find((a) => a.id === opp.account_id)),
        recent_tasks: recentTasks('what_id', id),
      };
    }
    const lead = db.leads.find((l) => l.id === id);
    if (lead) {
      return { object: 'Lead', ...leadSummary(lead), owner_id: '005', system_modstamp: '', recent_tasks: recentTasks('who_id', id) };
    }
    const task = db.tasks.find((t) => t.id === id);
    if (task) return { object: 'Task', ...taskSummary(task) };
    throw { kind: 'bad_input', message: `No record with id ${id} on this device.` };
  }

  function newKey() {
    return `w-${Date.now().toString(36)}-${localSeq++}`;
  }
  function localId(prefix) {
    return `local-${prefix}-${(Date.now() + localSeq++).toString(16)}`;
  }
  function queue(write) {
    db.pending.push({ attempts: 0, saved_at: new Date().toISOString(), state: status.online === false ? 'waiting' : 'waiting', ...write });
    outboxChanged();
  }
  const today = () => {
    const d = new Date();
    return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
  };
  const nameOf = (id) =>
    db.contacts.find((c) => c.id === id)?.name ??
    db.leads.find((l) => l.id === id)?.name ??
    db.opportunities.find((o) => o.id === id)?.name ??
    db.accounts.find((a) => a.id === id)?.name ??
    null;
  const badInput = (message) => ({ kind: 'bad_input', message });

  function addTask(kind, input, fields) {
    if (!nameOf(input.about)) throw badInput(`No record with id ${input.about} on this device.`);
    const id = localId('00T');
    const who = /^(003|00Q)|^local-(003|00Q)/.test(input.about) ? input.about : (input.contact_id ?? null);
    const what = who === input.about ? null : input.about;
    const task = {
      id,
      subject: fields.Subject,
      status: kind === 'log_call' ? 'Completed' : 'Not Started',
      priority: fields.Priority ?? 'Normal',
      task_subtype: kind === 'log_call' ? 'Call' : 'Task',
      activity_date: fields.ActivityDate,
      who_id: who,
      what_id: what,
      description: fields.Description ?? null,
      is_closed: kind === 'log_call',
      pending: 'waiting',
    };
    db.tasks.push(task);
    queue({ key: newKey(), kind, object: 'Task', record_id: id, record_name: nameOf(input.about), fields });
    return taskSummary(task);
  }

  // ---------- sync ----------

  async function syncNow() {
    fake.syncsStarted++;
    status.syncing = true;
    try {
      await sleep(config.syncLatencyMs ?? 120);
      if (config.sync === 'offline') {
        status.online = false;
        emit('status-changed', { ...currentStatus(), syncing: false });
        throw { kind: 'offline', message: 'The Companion server could not be reached.' };
      }
      if (config.sync === 'reauth') {
        status.online = true;
        status.reauth_required = true;
        throw { kind: 'reauth_required', message: 'Your Salesforce session has ended. Sign in again.' };
      }
      if (config.sync === 'unreadable') {
        throw { kind: 'replica_unreadable', message: "The data on this device can't be read with this device's key." };
      }
      const plan = [
        ['Account', db.accounts.length],
        ['Contact', config.syncContactTotal ?? db.contacts.length],
        ['Opportunity', db.opportunities.length],
      ];
      for (const [object, total] of plan) {
        for (let done = 0; done <= total; done += Math.max(1, Math.ceil(total / 4))) {
          emit('sync-progress', { object, done, total });
          await sleep(config.syncStepMs ?? 60);
        }
        emit('sync-progress', { object, done: total, total });
      }
      // Changes that could go, went.
      const before = db.pending.length;
      if (config.sendOnSync) db.pending = db.pending.filter((w) => w.state === 'failed' || w.state === 'conflict');
      status.online = true;
      status.reauth_required = false;
      status.last_synced_at = config.syncedAt ?? new Date().toISOString();
      if (before !== db.pending.length) outboxChanged();
      emit('records-changed', null);
      return { accounts: db.accounts.length, contacts: db.contacts.length, opportunities: 0, tasks: 0, leads: 0, removed: 0, pages: 1 };
    } finally {
      status.syncing = false;
      fake.syncsFinished++;
      emit('status-changed', currentStatus());
    }
  }

  // ---------- commands ----------

  async function invoke(cmd, args = {}) {
    if (cmd.startsWith('plugin:event|')) return eventPlugin(cmd, args);
    fake.calls.push({ cmd, args: clone(args ?? {}) });
    if (config.unreadable && !['get_status', 'sign_in', 'sign_out', 'start_fresh'].includes(cmd)) {
      throw { kind: 'replica_unreadable', message: "The data on this device can't be read with this device's key." };
    }
    switch (cmd) {
      case 'get_status':
        return currentStatus();
      case 'get_server':
        return clone(status.server);
      case 'list_login_hosts':
        return loginHosts();
      case 'check_server':
      case 'set_server': {
        // The check's round trip; addresses in `serverAnswers` are refused with that error.
        await sleep(config.serverCheckMs ?? 300);
        const url = String(args.url ?? '').trim();
        const refused = (config.serverAnswers ?? {})[url];
        if (refused) throw clone(refused);
        if (cmd === 'set_server') {
          if (!status.server.can_change) throw { kind: 'server_locked', message: 'Sign out before changing the server.' };
          status.server = { ...status.server, url, source: 'chosen' };
          emit('status-changed', currentStatus());
        }
        return { url, login_hosts: loginHosts() };
      }
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
            status.server = { ...status.server, can_change: false };
            status.reauth_required = false;
            config.sync = undefined;
            emit('sign-in-complete', config.user);
          }
        }, config.signInDelayMs ?? 400);
        return null;
      case 'list_contacts': {
        const search = args.search;
        return db.contacts
          .filter((c) => search === null || search === undefined || matches([c.name, c.email, c.title, c.account_name, c.phone], search))
          .sort(byName)
          .map(contactSummary);
      }
      case 'list_contacts_page': {
        const query = args.query ?? {};
        const search = query.search && query.search.trim() ? query.search : null;
        let list = db.contacts
          .filter((c) => search === null || matches([c.name, c.email, c.title, c.account_name, c.phone], search))
          .sort(byName);
        const total = search === null ? list.length : null;
        if (search === null && query.after) list = list.filter((c) => byName(c, query.after) > 0);
        else list = list.slice(query.offset ?? 0);
        return { items: list.slice(0, query.limit ?? list.length).map(contactSummary), total };
      }
      case 'list_accounts':
        return db.accounts.map(accountSummary).slice(args.offset ?? 0, (args.offset ?? 0) + (args.limit ?? 1e9));
      case 'list_opportunities': {
        const q = args.query ?? {};
        const todayText = today();
        const limit = new Date();
        limit.setDate(limit.getDate() + (q.closing_within_days ?? 0));
        const limitText = `${limit.getFullYear()}-${String(limit.getMonth() + 1).padStart(2, '0')}-${String(limit.getDate()).padStart(2, '0')}`;
        let list = db.opportunities.filter(
          (o) =>
            (!q.stage || o.stage_name === q.stage) &&
            (q.closing_within_days == null || (!o.is_closed && o.close_date >= todayText && o.close_date <= limitText)),
        );
        if (q.sort === 'amount_desc') list = list.sort((a, b) => (b.amount ?? -1) - (a.amount ?? -1));
        else if (q.sort === 'name') list = list.sort(byName);
        else list = list.sort((a, b) => a.close_date.localeCompare(b.close_date));
        return list.map(opportunitySummary);
      }
      case 'list_leads': {
        const search = args.query?.search;
        return db.leads
          .filter((l) => !search || matches([l.name, l.company, l.email, l.title], search))
          .sort(byName)
          .map(leadSummary);
      }
      case 'get_record':
        await sleep(config.readLatencyMs ?? 0);
        return getRecord(args.id);
      case 'search': {
        const text = args.text ?? '';
        const hits = [
          ...db.contacts
            .filter((c) => matches([c.name, c.email, c.title, c.account_name], text))
            .map((c) => ({ object: 'Contact', id: c.id, title: c.name, subtitle: [c.title, c.account_name].filter(Boolean).join(' · ') || null, pending: pendingOf(c.id) })),
          ...db.accounts
            .filter((a) => matches([a.name, a.billing_city], text))
            .map((a) => ({ object: 'Account', id: a.id, title: a.name, subtitle: a.billing_city, pending: null })),
          ...db.opportunities
            .filter((o) => matches([o.name, o.account_name], text))
            .map((o) => ({ object: 'Opportunity', id: o.id, title: o.name, subtitle: `${o.account_name} · ${o.stage_name}`, pending: pendingOf(o.id) })),
          ...db.leads
            .filter((l) => matches([l.name, l.company], text))
            .map((l) => ({ object: 'Lead', id: l.id, title: l.name, subtitle: l.company, pending: pendingOf(l.id) })),
        ];
        // Best first: a title that starts with the text before one that merely contains it.
        const lower = text.toLowerCase();
        return hits.sort((a, b) => Number(!a.title.toLowerCase().startsWith(lower)) - Number(!b.title.toLowerCase().startsWith(lower))).slice(0, 50);
      }
      case 'get_picklist':
        return clone(picklists[`${args.object}.${args.field}`] ?? []);
      case 'sync_now':
        return syncNow();
      case 'sign_out': {
        if (db.pending.length > 0 && args.discardPending !== true) {
          const n = db.pending.length;
          throw { kind: 'pending_changes', message: `${n} changes made on this device have not reached Salesforce yet.` };
        }
        db.pending = [];
        status.signed_in = false;
        status.user = null;
        status.server = { ...status.server, can_change: status.server.source !== 'fixed' };
        return null;
      }
      case 'start_fresh':
        config.unreadable = false;
        config.sync = undefined;
        status.last_synced_at = null;
        emit('status-changed', currentStatus());
        return null;
      case 'create_lead': {
        const lead = args.lead ?? {};
        if (!lead.last_name?.trim()) throw badInput('LastName is required.');
        if (!lead.company?.trim()) throw badInput('Company is required.');
        const id = localId('00Q');
        const status_ = lead.status ?? picklists['Lead.Status']?.find((s) => s.default)?.value ?? 'Open - Not Contacted';
        const record = {
          id,
          name: [lead.first_name, lead.last_name].filter(Boolean).join(' '),
          first_name: lead.first_name ?? null,
          last_name: lead.last_name,
          company: lead.company,
          title: lead.title ?? null,
          email: lead.email ?? null,
          phone: lead.phone ?? null,
          mobile_phone: lead.mobile_phone ?? null,
          status: status_,
          lead_source: lead.lead_source ?? null,
          pending: 'waiting',
        };
        db.leads.push(record);
        const fields = { LastName: lead.last_name, Company: lead.company };
        if (lead.first_name) fields.FirstName = lead.first_name;
        if (lead.email) fields.Email = lead.email;
        if (lead.lead_source) fields.LeadSource = lead.lead_source;
        fields.Status = status_;
        queue({ key: newKey(), kind: 'create_lead', object: 'Lead', record_id: id, record_name: record.name, fields });
        emit('records-changed', null);
        return { ...leadSummary(record), owner_id: '005', system_modstamp: '', recent_tasks: [] };
      }
      case 'log_call': {
        const call = args.call ?? {};
        const fields = { Subject: call.subject ?? 'Call', ActivityDate: call.date ?? today() };
        if (call.comments) fields.Description = call.comments;
        return addTask('log_call', call, fields);
      }
      case 'create_task': {
        const task = args.task ?? {};
        if (!task.subject?.trim()) throw badInput('Subject is required.');
        if (!/^\d{4}-\d{2}-\d{2}$/.test(task.due ?? '')) throw badInput(`ActivityDate: ${JSON.stringify(task.due)} is not a date (YYYY-MM-DD)`);
        return addTask('new_task', task, { Subject: task.subject, ActivityDate: task.due, Priority: task.priority ?? 'Normal' });
      }
      case 'update_opportunity': {
        const opp = db.opportunities.find((o) => o.id === args.id);
        if (!opp) throw badInput(`No opportunity ${args.id} on this device.`);
        const c = args.changes ?? {};
        const fields = {};
        const base = {};
        if (c.stage != null) {
          const stage = (picklists['Opportunity.StageName'] ?? []).find((s) => s.value === c.stage);
          if (!stage) throw badInput(`StageName: ${c.stage} is not one of the org's stages.`);
          base.StageName = opp.stage_name;
          fields.StageName = c.stage;
          opp.stage_name = c.stage;
          opp.probability = stage.probability ?? opp.probability;
          opp.is_closed = Boolean(stage.closed);
          opp.is_won = Boolean(stage.won);
        }
        if (c.amount != null) {
          base.Amount = opp.amount;
          fields.Amount = c.amount;
          opp.amount = c.amount;
        }
        if (c.close_date != null) {
          base.CloseDate = opp.close_date;
          fields.CloseDate = c.close_date;
          opp.close_date = c.close_date;
        }
        if (c.next_step != null) {
          base.NextStep = opp.next_step;
          fields.NextStep = c.next_step || null;
          opp.next_step = c.next_step || null;
        }
        queue({ key: newKey(), kind: 'update_opportunity', object: 'Opportunity', record_id: opp.id, record_name: opp.name, fields, base });
        emit('records-changed', null);
        const { object: _o, ...detail } = getRecord(opp.id);
        return detail;
      }
      case 'update_contact': {
        const contact = db.contacts.find((x) => x.id === args.id);
        if (!contact) throw badInput(`No contact ${args.id} on this device.`);
        const map = { phone: 'Phone', mobile_phone: 'MobilePhone', email: 'Email', title: 'Title' };
        const fields = {};
        const base = {};
        for (const [key, sf] of Object.entries(map)) {
          const value = args.changes?.[key];
          if (value === undefined || value === null) continue;
          base[sf] = contact[key] ?? null;
          fields[sf] = value === '' ? null : value;
          contact[key] = value === '' ? null : value;
        }
        queue({ key: newKey(), kind: 'update_contact', object: 'Contact', record_id: contact.id, record_name: contact.name, fields, base });
        emit('records-changed', null);
        const { object: _o, ...detail } = getRecord(contact.id);
        return detail;
      }
      case 'list_pending':
        return clone(db.pending);
      case 'resolve_conflict': {
        const write = db.pending.find((w) => w.key === args.key);
        if (!write || write.state !== 'conflict') throw badInput(`No conflict ${args.key}.`);
        const fields = args.fields && args.fields.length ? args.fields : write.conflicts.map((c) => c.field);
        fake.resolutions = [...(fake.resolutions ?? []), { key: args.key, resolution: args.resolution, fields }];
        write.conflicts = write.conflicts.filter((c) => !fields.includes(c.field));
        if (args.resolution === 'use_theirs') for (const f of fields) delete write.fields[f];
        if (write.conflicts.length === 0) {
          if (Object.keys(write.fields).length === 0 || args.resolution === 'keep_mine') {
            // Kept values go again; with nothing left, the write is done.
            db.pending = db.pending.filter((w) => w !== write);
            if (args.resolution === 'keep_mine') {
              db.pending.push({ ...write, key: newKey(), state: 'waiting', conflicts: undefined });
            }
          } else write.state = 'waiting';
        }
        outboxChanged();
        const still = db.pending.find((w) => w.record_id === write.record_id && w.kind === write.kind);
        return still ? still.key : null;
      }
      case 'retry_write': {
        const write = db.pending.find((w) => w.key === args.key);
        if (!write) throw badInput(`No change ${args.key}.`);
        for (const [field, value] of Object.entries(args.changes ?? {})) write.fields[field] = value;
        if (typeof write.fields.Email === 'string' && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(write.fields.Email)) {
          write.error = { ...write.error, fields: { Email: `Email: invalid email address: ${write.fields.Email}` } };
          outboxChanged();
          return write.key;
        }
        write.state = 'waiting';
        delete write.error;
        write.key = newKey();
        outboxChanged();
        return write.key;
      }
      case 'discard_write': {
        const write = db.pending.find((w) => w.key === args.key);
        if (!write) throw badInput(`No change ${args.key}.`);
        const gone = db.pending.filter((w) => w === write || (write.kind === 'create_lead' && w.record_name === write.record_name && w.kind !== 'create_lead'));
        db.pending = db.pending.filter((w) => !gone.includes(w));
        if (write.kind === 'create_lead') db.leads = db.leads.filter((l) => l.id !== write.record_id);
        outboxChanged();
        emit('records-changed', null);
        return { discarded: gone.length };
      }
      case 'push_now': {
        await sleep(80);
        if (status.online === false || config.sync === 'offline') {
          return { sent: 0, failed: 0, conflicts: 0, waiting: db.pending.length, requests: 0 };
        }
        const going = db.pending.filter((w) => w.state === 'waiting' || w.state === 'sending');
        db.pending = db.pending.filter((w) => !going.includes(w));
        for (const w of going) {
          const record = db.leads.find((l) => l.id === w.record_id) ?? db.tasks.find((t) => t.id === w.record_id);
          if (record) record.pending = null;
        }
        outboxChanged();
        emit('records-changed', null);
        return { sent: going.length, failed: 0, conflicts: 0, waiting: 0, requests: 1 };
      }
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
    get calls() {
      return fake.calls.map((call) => call.cmd);
    },
    callsOf(cmd) {
      return clone(fake.calls.filter((call) => call.cmd === cmd).map((call) => call.args));
    },
    get listArgs() {
      return fake.calls
        .filter((call) => call.cmd === 'list_contacts' || call.cmd === 'list_contacts_page')
        .map((call) => (call.cmd === 'list_contacts' ? call.args.search : call.args.query.search));
    },
    get syncsStarted() {
      return fake.syncsStarted;
    },
    get syncsFinished() {
      return fake.syncsFinished;
    },
    get resolutions() {
      return clone(fake.resolutions ?? []);
    },
    get db() {
      return clone(db);
    },
    setOnline(online) {
      status.online = online;
      config.sync = online ? undefined : 'offline';
      emit('status-changed', currentStatus());
    },
    /** A background sync elsewhere changed records (as core's records-changed). */
    changeRecord(id, changes) {
      const record = [...db.contacts, ...db.opportunities, ...db.leads].find((r) => r.id === id);
      Object.assign(record, changes);
      emit('records-changed', null);
    },
    emit,
  };
}
