// UI end-to-end tests: the built UI (ui/dist) in Debian's Chromium, driven by playwright-core,
// with the Tauri shell replaced by a scriptable fake (fake-shell.js). Each scenario runs at phone
// and desktop size and saves a screenshot to <repo>/target/ui-screenshots/.
// Usage: npm run build && npm run test:e2e  [-- --only <scenario-name-substring>]
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import AxeBuilder from '@axe-core/playwright';
import { installFakeShell } from './fake-shell.js';
import {
  accounts,
  contacts,
  leads,
  leadSources,
  leadStatuses,
  LOCAL_LEAD,
  opportunities,
  pending,
  priorities,
  rep,
  stages,
  tasks,
  unreachable,
} from './fixtures.mjs';
import { serve } from './server.mjs';

const uiDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const distDir = join(uiDir, 'dist');
const screenshotDir = process.env.UI_SCREENSHOT_DIR ?? resolve(uiDir, '..', 'target', 'ui-screenshots');
const chromiumPath = process.env.CHROMIUM ?? '/usr/bin/chromium';

const PHONE = { width: 390, height: 844, touch: true };
const DESKTOP = { width: 1280, height: 800, touch: false };
const SERVER_UNREACHABLE = "Can't reach the Companion server. Check your connection and try again.";
const SIGN_IN_FAILED = 'Sign-in failed — try again';

const replica = {
  contacts,
  accountList: accounts,
  opportunities,
  leads,
  tasks,
  pending,
  picklists: {
    'Opportunity.StageName': stages,
    'Lead.Status': leadStatuses,
    'Lead.LeadSource': leadSources,
    'Task.Priority': priorities,
  },
};
const signedIn = { signedIn: true, user: rep, online: true, ...replica };
const signedOut = { signedIn: false, user: rep, ...replica, lastSyncedAt: null };
const calm = { ...signedIn, pending: [] };
const AXE_TAGS = ['wcag2a', 'wcag2aa', 'wcag21aa', 'wcag22aa'];

// ---------- small assertion helpers (playwright-core has no `expect`) ----------

class Failure extends Error {}

async function eventually(what, check, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      last = await check();
      if (last === true) return;
    } catch (error) {
      last = error.message;
    }
    if (Date.now() > deadline) throw new Failure(`${what} (last seen: ${JSON.stringify(last)})`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function expectText(locator, text, what = `text ${JSON.stringify(text)}`) {
  await eventually(what, async () => {
    const seen = (await locator.first().innerText({ timeout: 500 })).replace(/\s+/g, ' ').trim();
    return seen.includes(text) ? true : seen;
  });
}

async function expectVisible(locator, what) {
  await locator.first().waitFor({ state: 'visible', timeout: 5000 }).catch(() => {
    throw new Failure(`${what} is not visible`);
  });
}

const fake = (page, expression) => page.evaluate(`window.__fake.${expression}`);
const rowNames = (page) => page.getByTestId('contact-row').locator('.name').allInnerTexts();

async function idleAfterSyncs(page, count) {
  await eventually(`${count} sync(s) finished`, async () => (await fake(page, 'syncsFinished')) >= count);
  await eventually('progress bar gone', async () => (await page.getByTestId('sync-progress').count()) === 0);
}

const isPhone = (page) => page.viewportSize().width < 1024;
const byTestId = (page, id) => page.getByTestId(id);
const pendingCount = async (page) => {
  const badge = page.locator('[data-testid=pending-count]:visible');
  return (await badge.count()) ? Number((await badge.first().innerText()).trim()) : 0;
};
const focusedText = (page) => page.evaluate(() => document.activeElement?.textContent?.trim() ?? '');
const hashOf = (page) => page.evaluate(() => location.hash);

async function openContact(page, name) {
  const row = page.getByTestId('contact-row').filter({ hasText: name }).first();
  await eventually('the list is loaded', async () => (await page.getByTestId('contact-row').count()) > 0);
  // The list is virtualized: a contact further down is found by searching, as a rep would.
  if (!(await row.isVisible())) await page.getByTestId('search').fill(name);
  await row.click();
  await eventually(`${name}'s heading has focus`, async () => ((await focusedText(page)) === name ? true : await focusedText(page)));
}

async function expectGone(locator, what) {
  await eventually(`${what} gone`, async () => (await locator.count()) === 0);
}

async function fakeArgs(page, cmd) {
  return page.evaluate((c) => window.__fake.callsOf(c), cmd);
}

async function noCallsTo(page, cmd) {
  const calls = await fake(page, 'calls');
  if (calls.includes(cmd)) throw new Failure(`${cmd} was called`);
}

// ---------- scenarios ----------

const scenarios = [
  {
    name: 'sign-in-screen',
    shell: signedOut,
    async run(page) {
      await expectText(page.locator('h1'), 'Companion');
      await expectText(page.getByTestId('sign-in'), 'Sign in with Salesforce');
      if ((await page.getByTestId('sign-in-error').count()) !== 0) throw new Failure('an error shows before any sign-in');
      await expectText(page.getByTestId('server-info'), 'https://companion.example.com');
      await expectVisible(page.getByTestId('change-server'), 'Change (the server)');
      await eventually('the login hosts were asked for', async () => (await fake(page, 'calls')).includes('list_login_hosts'));
      if ((await page.getByTestId('login-hosts').count()) !== 0) throw new Failure('a login-host choice with only one host');
    },
  },
  {
    name: 'choose-server-first-start',
    shell: {
      ...signedOut,
      signIn: 'complete',
      server: { url: null, source: 'none', preset: 'https://companion.acme.example', can_change: true },
      serverAnswers: {
        'http://companion.acme.example': {
          kind: 'insecure_url',
          message: 'http://companion.acme.example is not secure (http://). Companion only talks to a server over https://; ask your administrator for the https:// address.',
        },
        'https://intranet.acme.example': {
          kind: 'not_a_companion_server',
          message: 'https://intranet.acme.example answered, but it is not a Companion server. Check the address with your administrator.',
        },
        'https://companion.acme.exmaple': {
          kind: 'unreachable',
          message: 'Nothing answered at https://companion.acme.exmaple. Check the address and your connection, then try again.',
        },
      },
      loginHosts: [
        { label: 'Production', url: 'https://login.salesforce.com', authorize_url: 'https://login.salesforce.com/services/oauth2/authorize' },
        { label: 'Sandbox', url: 'https://test.salesforce.com', authorize_url: 'https://test.salesforce.com/services/oauth2/authorize' },
        { label: 'Acme (My Domain)', url: 'https://acme.my.salesforce.com', authorize_url: 'https://acme.my.salesforce.com/services/oauth2/authorize' },
      ],
    },
    async run(page) {
      // First start: asked for the server, prefilled with the administrator's preset; no sign-in yet.
      await expectText(page.locator('h1'), "Your company's Companion server");
      const address = page.getByLabel('Server address');
      await eventually('the preset prefilled', async () => (await address.inputValue()) === 'https://companion.acme.example');
      if ((await page.getByTestId('sign-in').count()) !== 0) throw new Failure('sign-in offered before a server is chosen');

      for (const [typed, title, detail] of [
        ['https://companion.acme.exmaple', 'No answer from that address.', 'Nothing answered at https://companion.acme.exmaple'],
        ['https://intranet.acme.example', "That isn't a Companion server.", 'not a Companion server'],
        ['http://companion.acme.example', "That address isn't secure.", 'only talks to a server over https://'],
      ]) {
        await address.fill(typed);
        await page.getByTestId('server-continue').click();
        await expectText(page.getByTestId('server-error'), title);
        await expectText(page.getByTestId('server-error'), detail);
        if ((await address.getAttribute('aria-invalid')) !== 'true') throw new Failure('the field is not marked invalid');
      }
      await page.screenshot({ path: this.shotPath.replace(/\.png$/, '-insecure.png') });
      await this.axe(page, 'an insecure address refused');
      if ((await page.getByTestId('sign-in').count()) !== 0) throw new Failure('a refused server was accepted');

      await address.fill('https://companion.acme.example');
      await page.getByTestId('server-continue').click();
      await expectText(page.getByTestId('server-info'), 'https://companion.acme.example');
      const [chosen] = (await fakeArgs(page, 'set_server')).slice(-1);
      if (chosen.url !== 'https://companion.acme.example') throw new Failure(JSON.stringify(chosen));

      // The gateway allows three login hosts: the rep picks one, the default first.
      const hosts = page.getByTestId('login-hosts');
      await expectText(hosts, 'Sign in to');
      for (const label of ['Production', 'Sandbox', 'Acme (My Domain)']) await expectText(hosts, label);
      if (!(await page.getByRole('radio', { name: /Production/ }).isChecked())) throw new Failure('Production is not the default');
      await page.getByRole('radio', { name: /Sandbox/ }).check();
      await page.screenshot({ path: this.shotPath });
      await this.axe(page, 'the login-host choice');
      await page.getByTestId('sign-in').click();
      await expectVisible(page.getByTestId('contact-list'), 'the contact list');
      const [args] = await fakeArgs(page, 'sign_in');
      if (args.loginHost !== 'https://test.salesforce.com') throw new Failure(`signed in at ${JSON.stringify(args)}`);
    },
    ownScreenshot: true,
  },
  {
    name: 'change-server-when-signed-out',
    shell: { ...signedOut, server: { url: 'https://companion.example.com', source: 'chosen', preset: null, can_change: true } },
    async run(page) {
      await page.getByTestId('change-server').click();
      await expectText(page.locator('h1'), "Your company's Companion server");
      const address = page.getByLabel('Server address');
      await eventually('the server in use prefilled', async () => (await address.inputValue()) === 'https://companion.example.com');
      await address.fill('https://companion.eu.example.com');
      await page.getByTestId('server-continue').click();
      await expectText(page.getByTestId('server-info'), 'https://companion.eu.example.com');
      await expectVisible(page.getByTestId('sign-in'), 'the sign-in button');
    },
  },
  {
    name: 'sign-in-then-contacts',
    shell: { ...signedOut, signIn: 'complete', signInDelayMs: 700 },
    async run(page) {
      await page.getByTestId('sign-in').click();
      await expectText(page.getByTestId('sign-in-waiting'), 'Finish signing in in your browser…');
      await expectVisible(page.getByTestId('sign-in'), 'the sign-in button (retry) while waiting');
      await expectVisible(page.getByTestId('contact-list'), 'the contact list');
      await idleAfterSyncs(page, 1);
      await expectText(page.getByTestId('contact-count'), `${contacts.length} contacts`);
      const names = await rowNames(page);
      for (const name of ['Ana Souza', 'Ben Okafor', 'Carla Jiménez']) {
        if (!names.includes(name)) throw new Failure(`${name} is not listed`);
      }
      await expectText(page.locator('[data-pane=list] header'), rep.display_name);
      const calls = await fake(page, 'calls');
      const expected = ['get_status', 'list_login_hosts', 'sign_in', 'list_contacts_page', 'sync_now', 'get_status', 'list_contacts_page'];
      if (JSON.stringify(calls) !== JSON.stringify(expected)) {
        throw new Failure(`calls were ${JSON.stringify(calls)}, expected ${JSON.stringify(expected)}`);
      }
    },
  },
  {
    name: 'search-filters',
    shell: signedIn,
    async run(page) {
      await idleAfterSyncs(page, 1);
      await page.getByTestId('search').fill('initech');
      const initech = contacts.filter((c) => c.account_name === 'Initech').map((c) => c.name);
      await eventually(`only Initech's ${initech.length} contacts listed`, async () => {
        const names = await rowNames(page);
        return JSON.stringify(names) === JSON.stringify(initech) ? true : names;
      });
      await expectText(page.getByTestId('contact-count'), `${initech.length} contacts matching “initech”`);
      await page.getByTestId('search').fill('zzz-nobody');
      await expectText(page.getByTestId('empty-state'), 'No contacts match “zzz-nobody”');
      await page.getByTestId('search').fill('carla');
      await eventually('one contact', async () => JSON.stringify(await rowNames(page)) === '["Carla Jiménez"]');
      const searches = await fake(page, 'listArgs');
      if (!searches.includes('carla') || searches.includes('c')) {
        throw new Failure(`search should be debounced and sent as typed text; saw ${JSON.stringify(searches)}`);
      }
    },
  },
  {
    name: 'sign-in-state-mismatch',
    shell: { ...signedOut, signIn: 'state_mismatch' },
    async run(page) {
      await page.getByTestId('sign-in').click();
      await expectText(page.getByTestId('sign-in-error'), SIGN_IN_FAILED);
      await expectText(page.getByTestId('sign-in-error'), 'did not match');
      if ((await page.getByTestId('contact-list').count()) !== 0) throw new Failure('contacts shown after a failed sign-in');
      await expectVisible(page.getByTestId('sign-in'), 'the sign-in button for a retry');
    },
  },
  {
    name: 'sign-in-gateway-unreachable',
    shell: { ...signedOut, signIn: 'offline' },
    async run(page) {
      await page.getByTestId('sign-in').click();
      await expectText(page.getByTestId('sign-in-error'), SERVER_UNREACHABLE);
      if ((await page.getByTestId('sign-in-waiting').count()) !== 0) throw new Failure('still says it is waiting');
    },
  },
  {
    name: 'offline-banner',
    shell: {
      ...signedIn,
      online: false,
      sync: 'offline',
      lastSyncedAt: new Date(Date.now() - 3 * 3600 * 1000).toISOString(),
    },
    async run(page) {
      await expectText(page.getByTestId('offline-banner'), 'Offline — showing what is saved on this device');
      await expectText(page.getByTestId('offline-banner'), 'Last synced 3 hours ago');
      await idleAfterSyncs(page, 1);
      await eventually('contacts still listed', async () => (await page.getByTestId('contact-count').innerText()).startsWith(`${contacts.length} contacts`));
      await expectVisible(page.getByTestId('offline-banner'), 'the offline banner after the failed sync');
    },
  },
  {
    name: 'reauth-banner',
    shell: { ...signedIn, sync: 'reauth', signIn: 'complete', signInDelayMs: 200 },
    async run(page) {
      await expectText(page.getByTestId('reauth-banner'), 'Sign in again to sync');
      await eventually('contacts still listed', async () => (await page.getByTestId('contact-count').innerText()).startsWith(`${contacts.length} contacts`));
      await eventually('pending count badge shows 5', async () => (await pendingCount(page)) === 5);
      await page.screenshot({ path: this.shotPath });
      await page.getByTestId('reauth-sign-in').click();
      await eventually('sign_in called', async () => (await fake(page, 'calls')).includes('sign_in'));
      // Signed in again: the banner goes, the screen and every pending change stay.
      await expectGone(page.getByTestId('reauth-banner'), 'the reauth banner');
      await eventually('contacts still listed', async () => (await page.getByTestId('contact-count').innerText()).startsWith(`${contacts.length} contacts`));
      if ((await pendingCount(page)) !== 5) throw new Failure('pending changes were lost by signing in again');
    },
    ownScreenshot: true,
  },
  {
    name: 'refresh-button',
    shell: { ...signedIn, syncStepMs: 150 },
    async run(page) {
      await idleAfterSyncs(page, 1);
      await page.getByTestId('refresh').click();
      await expectVisible(page.getByTestId('sync-progress'), 'the progress bar');
      await eventually('sync_now called again', async () => (await fake(page, 'syncsStarted')) === 2);
      // The spinning refresh icon respects reduced motion (these tests run with it on).
      const spin = () => page.locator('[data-testid=refresh] svg').evaluate((svg) => getComputedStyle(svg).animationDuration);
      const still = await spin();
      if (parseFloat(still) > 0.001) throw new Failure(`the icon spins for ${still} with reduced motion`);
      await page.emulateMedia({ reducedMotion: 'no-preference' });
      const moving = await spin();
      await page.emulateMedia({ reducedMotion: 'reduce' });
      if (moving !== '0.9s') throw new Failure(`the icon spins for ${moving} without reduced motion`);
      await page.waitForTimeout(400);
    },
    screenshotWhile: true,
    async after(page) {
      await idleAfterSyncs(page, 2);
    },
  },
  {
    name: 'ctrl-r-refresh',
    shell: signedIn,
    async run(page) {
      await idleAfterSyncs(page, 1);
      await page.keyboard.press('Control+r');
      await eventually('sync_now called by Ctrl+R', async () => (await fake(page, 'syncsStarted')) === 2);
      await idleAfterSyncs(page, 2);
      await page.keyboard.press('F5');
      await eventually('sync_now called by F5', async () => (await fake(page, 'syncsStarted')) === 3);
      await idleAfterSyncs(page, 3);
      // A reload would have re-created the fake and forgotten these calls.
      const calls = await fake(page, 'calls');
      if (calls.filter((c) => c === 'sync_now').length !== 3) throw new Failure('the page reloaded');
    },
  },
  {
    name: 'pull-to-refresh',
    sizes: [PHONE],
    shell: signedIn,
    async run(page) {
      await idleAfterSyncs(page, 1);
      const box = await page.getByTestId('contact-list').boundingBox();
      const x = Math.round(box.x + box.width / 2);
      let y = Math.round(box.y + 40);
      const cdp = await page.context().newCDPSession(page);
      await cdp.send('Input.dispatchTouchEvent', { type: 'touchStart', touchPoints: [{ x, y }] });
      for (let step = 0; step < 12; step++) {
        y += 20;
        await cdp.send('Input.dispatchTouchEvent', { type: 'touchMove', touchPoints: [{ x, y }] });
      }
      await expectVisible(page.getByTestId('pull-indicator'), 'the pull indicator');
      await page.screenshot({ path: this.shotPath });
      await cdp.send('Input.dispatchTouchEvent', { type: 'touchEnd', touchPoints: [] });
      await eventually('sync_now called by the pull', async () => (await fake(page, 'syncsStarted')) === 2);
      await idleAfterSyncs(page, 2);
      // A short pull does not refresh.
      y = Math.round(box.y + 40);
      await cdp.send('Input.dispatchTouchEvent', { type: 'touchStart', touchPoints: [{ x, y }] });
      await cdp.send('Input.dispatchTouchEvent', { type: 'touchMove', touchPoints: [{ x, y: y + 60 }] });
      await cdp.send('Input.dispatchTouchEvent', { type: 'touchEnd', touchPoints: [] });
      await page.waitForTimeout(300);
      if ((await fake(page, 'syncsStarted')) !== 2) throw new Failure('a short pull refreshed');
    },
    ownScreenshot: true,
  },
  {
    name: 'contacts-paged-virtualized',
    shell: { ...calm, extraContacts: 1500 },
    async run(page) {
      const total = contacts.length + 1500;
      await expectText(page.getByTestId('contact-count'), `${total.toLocaleString('en')} contacts`);
      const rendered = await page.getByTestId('contact-row').count();
      if (rendered === 0 || rendered > 120) throw new Failure(`${rendered} rows in the DOM: the list is not virtualized`);
      const pages = await fakeArgs(page, 'list_contacts_page');
      if (pages[0].query.limit > 500) throw new Failure(`first page asked for ${pages[0].query.limit} rows`);
      // The scroller is as tall as the whole list from the start: its scroll bar is every contact.
      const height = await page.locator('[data-pane=list] .scroller').evaluate((el) => el.scrollHeight);
      if (height < total * 60) throw new Failure(`the list is ${height}px tall for ${total} contacts`);
      // Scrolling on reads the next page by keyset.
      await eventually('the next page is read by keyset as the rep scrolls', async () => {
        await page.locator('[data-pane=list] .scroller').evaluate((el) => el.scrollBy(0, el.clientHeight));
        const later = (await fakeArgs(page, 'list_contacts_page')).slice(1).filter((a) => a.query.after);
        return later.length > 0 ? true : 'no keyset page (after: {name, id}) yet';
      }, 15000);
      // A jump to the end reads the last page (by offset) and the last contact shows up.
      await eventually('the last contact is reachable by scrolling', async () => {
        await page.locator('[data-pane=list] .scroller').evaluate((el) => el.scrollTo(0, el.scrollHeight));
        return (await rowNames(page)).includes('Zed Person 01499') ? true : (await rowNames(page)).slice(-1);
      }, 15000);
      const jumped = (await fakeArgs(page, 'list_contacts_page')).filter((a) => !a.query.after && a.query.offset > 0);
      if (jumped.length === 0) throw new Failure('the end of the list was not read by offset');
    },
  },
  {
    name: 'contact-detail',
    shell: signedIn,
    async run(page) {
      await idleAfterSyncs(page, 1);
      const ana = contacts[0];
      await openContact(page, ana.name);
      await expectText(page.getByTestId('contact-detail').locator('header'), `${ana.title} · ${ana.account_name}`);
      const call = page.getByTestId('call');
      if ((await call.getAttribute('href')) !== 'tel:+14155550134') throw new Failure(`Call links to ${await call.getAttribute('href')}`);
      if ((await page.getByTestId('email').getAttribute('href')) !== `mailto:${ana.email}`) throw new Failure('Email is not a mailto: link');
      await expectText(page.getByTestId('account-link'), ana.account_name);
      await expectText(page.getByTestId('related-opportunity').first(), 'Northwind — Fleet renewal');
      await expectText(page.getByTestId('activity'), 'Send quote');
      if (isPhone(page)) {
        if ((await page.getByTestId('contact-list').count()) !== 0) throw new Failure('phone shows the list behind the record');
      } else {
        await expectVisible(page.getByTestId('contact-list'), 'the list beside the record on desktop');
        const current = page.locator('[data-testid=contact-row][aria-current=page]');
        await expectText(current, ana.name);
      }
      if ((await hashOf(page)) !== `#/contacts/${ana.id}`) throw new Failure(`hash is ${await hashOf(page)}`);
    },
  },
  {
    name: 'contact-without-phone-or-email',
    shell: calm,
    async run(page) {
      await openContact(page, unreachable.name);
      await expectVisible(page.getByTestId('log-call'), 'Log a call');
      if ((await page.getByTestId('call').count()) + (await page.getByTestId('email').count()) !== 0) {
        throw new Failure('Call or Email shown for a contact with neither');
      }
    },
  },
  {
    name: 'log-call-keeps-input-on-error',
    shell: { ...signedIn, online: false, sync: 'offline' },
    async run(page) {
      const ana = contacts[0];
      await openContact(page, ana.name);
      await page.getByTestId('log-call').click();
      const form = page.getByTestId('log-call-form');
      await expectVisible(form, 'the Log a call form');
      await eventually('the form heading has focus', async () => (await focusedText(page)) === 'Log a call');
      await form.getByTestId('field-subject').fill('');
      await form.getByTestId('field-comments').fill('Asked for a revised quote by Friday.');
      await form.getByTestId('save').click();
      await expectText(form.getByTestId('error-subject'), 'Enter a subject.');
      if ((await form.getByTestId('field-comments').inputValue()) !== 'Asked for a revised quote by Friday.') throw new Failure('the comments were lost');
      await noCallsTo(page, 'log_call');
      await page.screenshot({ path: this.shotPath });
      await this.axe(page, 'form error');
      await form.getByRole('button', { name: 'Left voicemail' }).click();
      await form.getByTestId('save').click();
      await expectGone(page.getByTestId('form-dialog'), 'the form');
      await expectText(page.getByTestId('toast'), 'Call saved on this device. It goes to Salesforce when you are back online.');
      const [args] = await fakeArgs(page, 'log_call');
      if (args.call.about !== ana.id || args.call.subject !== 'Left voicemail' || !args.call.comments.includes('revised quote')) {
        throw new Failure(`log_call got ${JSON.stringify(args)}`);
      }
      await expectText(page.getByTestId('activity'), 'Left voicemail');
      await eventually('pending count went to 6', async () => (await pendingCount(page)) === 6);
      await expectVisible(page.getByTestId('activity').getByTestId('pending-marker'), 'a pending marker on the new call');
    },
    ownScreenshot: true,
  },
  {
    name: 'log-call-about-a-deal-with-its-contact',
    shell: calm,
    async run(page) {
      const opp = opportunities[0];
      const wendy = contacts.find((c) => c.name === 'Wendy Zhao');
      await page.goto(`${this.baseUrl}#/opportunities/${opp.id}`);
      await page.getByTestId('log-call').click();
      const form = page.getByTestId('log-call-form');
      // The account's contacts, to say who the call was with.
      await expectVisible(form.getByTestId('field-contact'), 'the contact picker');
      const options = await form.getByTestId('field-contact').locator('option').allInnerTexts();
      if (!options.some((o) => o.startsWith('Wendy Zhao'))) throw new Failure(`picker offers ${JSON.stringify(options)}`);
      if (options.some((o) => o.startsWith('Samuel Adeyemi'))) throw new Failure('the picker offers another account\'s contact');
      await form.getByTestId('field-minutes').fill('a while');
      await form.getByTestId('save').click();
      await expectText(form.getByTestId('error-minutes'), 'Enter the minutes as a number, like 15.');
      await noCallsTo(page, 'log_call');
      await page.screenshot({ path: this.shotPath });
      await this.axe(page, 'call about a deal');
      await form.getByTestId('field-contact').selectOption(wendy.id);
      await form.getByTestId('field-minutes').fill('12');
      await form.getByTestId('save').click();
      await expectGone(page.getByTestId('form-dialog'), 'the form');
      const [args] = await fakeArgs(page, 'log_call');
      if (args.call.about !== opp.id || args.call.contact_id !== wendy.id || args.call.duration_seconds !== 720) {
        throw new Failure(`log_call got ${JSON.stringify(args)}`);
      }
    },
    ownScreenshot: true,
  },
  {
    name: 'new-task-quick-picks',
    shell: calm,
    async run(page) {
      await openContact(page, contacts[1].name);
      await page.getByTestId('new-task').click();
      const form = page.getByTestId('new-task-form');
      await form.getByRole('button', { name: 'Send quote' }).click();
      await form.getByTestId('due-next-week').click();
      await form.getByTestId('field-priority').selectOption('High');
      const due = await form.getByTestId('field-due').inputValue();
      const monday = new Date(due + 'T12:00:00');
      if (monday.getDay() !== 1 || monday <= new Date()) throw new Failure(`"Next week" picked ${due}`);
      await page.screenshot({ path: this.shotPath });
      await form.getByTestId('save').click();
      await expectGone(page.getByTestId('form-dialog'), 'the form');
      const [args] = await fakeArgs(page, 'create_task');
      if (args.task.subject !== 'Send quote' || args.task.due !== due || args.task.priority !== 'High') throw new Failure(JSON.stringify(args));
    },
    ownScreenshot: true,
  },
  {
    name: 'edit-contact',
    shell: calm,
    async run(page) {
      const ana = contacts[0];
      await openContact(page, ana.name);
      await page.getByTestId('edit').click();
      const form = page.getByTestId('contact-form');
      await form.getByTestId('field-email').fill('ana@');
      await form.getByTestId('field-title').fill('SVP Operations');
      await form.getByTestId('save').click();
      await expectText(form.getByTestId('error-email'), 'Enter an email');
      if ((await form.getByTestId('field-title').inputValue()) !== 'SVP Operations') throw new Failure('the title typed was lost');
      await form.getByTestId('field-email').fill(ana.email);
      await form.getByTestId('save').click();
      await expectGone(page.getByTestId('form-dialog'), 'the form');
      const [args] = await fakeArgs(page, 'update_contact');
      if (JSON.stringify(args.changes) !== JSON.stringify({ title: 'SVP Operations' })) throw new Failure(JSON.stringify(args));
      await expectText(page.getByTestId('contact-detail').locator('header'), 'SVP Operations');
      await expectVisible(page.getByTestId('contact-detail').getByTestId('pending-marker'), 'the pending marker on the contact');
    },
  },
  {
    name: 'account-detail',
    shell: calm,
    async run(page) {
      await openContact(page, contacts[0].name);
      await page.getByTestId('account-link').click();
      await eventually('the account heading has focus', async () => (await focusedText(page)) === 'Northwind Traders');
      const map = await page.getByTestId('map').getAttribute('href');
      const address = '100 Market Street, San Francisco, CA, 94105, USA';
      if (map !== `https://maps.google.com/?q=${encodeURIComponent(address)}`) throw new Failure(`maps link ${map}`);
      await expectText(page.getByTestId('account-detail').locator('dl'), address);
      const website = await page.getByTestId('website').getAttribute('href');
      if (website !== 'https://www.northwind.example') throw new Failure(`website link ${website}`);
      // Links out open in the system (the shell's opener takes target=_blank links).
      for (const id of ['call', 'website', 'map']) {
        if ((await page.getByTestId(id).getAttribute('target')) !== '_blank') throw new Failure(`${id} does not open outside the app`);
      }
      const names = await page.getByTestId('account-contact').locator('.primary-text').allInnerTexts();
      const expected = contacts.filter((c) => c.account_name === 'Northwind Traders').map((c) => c.name);
      if (JSON.stringify(names) !== JSON.stringify(expected)) throw new Failure(`account contacts ${JSON.stringify(names)}`);
      await expectText(page.getByTestId('activity'), 'Follow up');
    },
  },
  {
    name: 'opportunities-filter-sort',
    shell: calm,
    async run(page) {
      await page.getByTestId('nav-opportunities').click();
      await eventually('all opportunities', async () => (await page.getByTestId('opportunity-row').count()) === opportunities.length);
      await page.getByTestId('sort').selectOption('amount_desc');
      await eventually('biggest deal first', async () => (await page.getByTestId('opportunity-row').first().innerText()).includes('Umbrella — Clinic rollout'));
      await page.getByTestId('filter-closing').selectOption('7');
      await eventually('closing within 7 days: 2 deals', async () => {
        const names = await page.getByTestId('opportunity-row').locator('.name').allInnerTexts();
        return names.length === 2 && names.every((n) => ['Northwind — Fleet renewal', 'Acme — Robotics pilot'].includes(n)) ? true : names;
      });
      await page.getByTestId('filter-closing').selectOption('');
      await page.getByTestId('filter-stage').selectOption('Prospecting');
      await eventually('one prospecting deal', async () => JSON.stringify(await page.getByTestId('opportunity-row').locator('.name').allInnerTexts()) === '["Stark — Warehouse sensors"]');
      await expectText(page.getByTestId('opportunity-count'), '1 opportunity · $18,000');
    },
  },
  {
    name: 'opportunity-stage-path',
    shell: calm,
    async run(page) {
      const opp = opportunities[0];
      await page.goto(`${this.baseUrl}#/opportunities/${opp.id}`);
      await eventually('the stage path is drawn', async () => (await page.getByTestId('stage').count()) === stages.length);
      await expectText(page.locator('[data-testid=stage][aria-current=step]'), 'Negotiation/Review');
      await expectText(page.getByTestId('probability'), '90%');
      await page.screenshot({ path: this.shotPath });
      await this.axe(page, 'before the move');
      await page.locator('[data-testid=stage][data-stage="Proposal/Price Quote"]').click();
      await expectText(page.locator('[data-testid=stage][aria-current=step]'), 'Proposal/Price Quote');
      await expectText(page.getByTestId('probability'), '75%');
      const [args] = await fakeArgs(page, 'update_opportunity');
      if (args.id !== opp.id || args.changes.stage !== 'Proposal/Price Quote') throw new Failure(JSON.stringify(args));
      await expectVisible(page.getByTestId('opportunity-detail').getByTestId('pending-marker'), 'pending marker');
      // A closed stage asks first.
      await page.locator('[data-testid=stage][data-stage="Closed Won"]').click();
      await expectText(page.getByTestId('confirm-stage'), 'This marks the deal as won');
      await page.keyboard.press('Escape');
      await expectGone(page.getByTestId('confirm-stage'), 'the confirmation');
      if ((await fakeArgs(page, 'update_opportunity')).length !== 1) throw new Failure('Escape still moved the stage');
      await page.locator('[data-testid=stage][data-stage="Closed Won"]').click();
      await page.getByTestId('confirm-stage').getByTestId('confirm').click();
      await expectText(page.getByTestId('stage-name'), 'Closed Won');
    },
    ownScreenshot: true,
  },
  {
    name: 'edit-opportunity',
    shell: calm,
    async run(page) {
      const opp = opportunities[2];
      await page.goto(`${this.baseUrl}#/opportunities/${opp.id}/edit`);
      const form = page.getByTestId('opportunity-form');
      await expectVisible(form, 'the edit form (restored from the URL)');
      await form.getByTestId('field-amount').fill('lots');
      await form.getByTestId('field-next_step').fill('Call the CFO');
      await form.getByTestId('save').click();
      await expectText(form.getByTestId('error-amount'), 'Enter an amount');
      if ((await form.getByTestId('field-next_step').inputValue()) !== 'Call the CFO') throw new Failure('next step lost');
      await form.getByTestId('field-amount').fill('61,500');
      await form.getByTestId('save').click();
      await expectGone(page.getByTestId('form-dialog'), 'the form');
      await expectText(page.getByTestId('amount'), '$61,500');
      const [args] = await fakeArgs(page, 'update_opportunity');
      if (args.changes.amount !== 61500 || args.changes.next_step !== 'Call the CFO') throw new Failure(JSON.stringify(args));
      // Esc closed nothing here; check Esc on a form now.
      await page.getByTestId('edit').click();
      await expectVisible(page.getByTestId('opportunity-form'), 'the edit form again');
      await page.keyboard.press('Escape');
      await expectGone(page.getByTestId('form-dialog'), 'the form after Esc');
      if ((await hashOf(page)) !== `#/opportunities/${opp.id}`) throw new Failure(`Esc left the hash at ${await hashOf(page)}`);
    },
  },
  {
    name: 'leads-and-offline-lead',
    shell: { ...signedIn, online: false, sync: 'offline' },
    async run(page) {
      await page.getByTestId('nav-leads').click();
      await eventually('4 leads', async () => (await page.getByTestId('lead-row').count()) === leads.length);
      const local = page.getByTestId('lead-row').filter({ hasText: 'Mara Lindgren' });
      await expectVisible(local.getByTestId('pending-marker'), 'the pending marker on the lead made offline');
      await local.click();
      await eventually('lead heading focused', async () => (await focusedText(page)) === 'Mara Lindgren');
      await expectText(page.getByTestId('lead-detail'), 'Made on this device');
      await page.screenshot({ path: this.shotPath });
      await this.axe(page, 'local lead');
      await page.getByTestId('log-call').click();
      await page.getByTestId('log-call-form').getByTestId('save').click();
      await expectGone(page.getByTestId('form-dialog'), 'the form');
      const [args] = await fakeArgs(page, 'log_call');
      if (args.call.about !== LOCAL_LEAD) throw new Failure(`call about ${args.call.about}`);
      await eventually('the call is in the lead activity', async () => (await page.getByTestId('activity-item').count()) === 2);
    },
    ownScreenshot: true,
  },
  {
    name: 'new-lead',
    shell: { ...calm, online: false, sync: 'offline' },
    async run(page) {
      await idleAfterSyncs(page, 1);
      if (isPhone(page)) await page.getByTestId('new-lead').click();
      else await page.keyboard.press('Control+n');
      const form = page.getByTestId('lead-form');
      await expectVisible(form, 'the New lead form');
      await eventually('lead status picklist filled', async () => (await form.getByTestId('field-status').inputValue()) === 'Open - Not Contacted');
      await form.getByTestId('field-first_name').fill('Jonas');
      await form.getByTestId('field-email').fill('jonas@nordlicht.example');
      await form.getByTestId('save').click();
      await expectText(form.getByTestId('error-last_name'), 'Enter a last name.');
      await expectText(form.getByTestId('error-company'), 'Enter a company.');
      await eventually('focus on the first wrong field', async () => page.evaluate(() => document.activeElement?.id === 'last_name'));
      if ((await form.getByTestId('field-first_name').inputValue()) !== 'Jonas') throw new Failure('first name lost');
      await page.screenshot({ path: this.shotPath });
      await this.axe(page, 'lead form errors');
      await form.getByTestId('field-last_name').fill('Berg');
      await form.getByTestId('field-company').fill('Nordlicht GmbH');
      await form.getByTestId('field-lead_source').selectOption('Trade Show');
      await form.getByTestId('save').click();
      await expectGone(page.getByTestId('form-dialog'), 'the form');
      await eventually('the new lead opens', async () => (await focusedText(page)) === 'Jonas Berg');
      const [args] = await fakeArgs(page, 'create_lead');
      const want = { first_name: 'Jonas', last_name: 'Berg', company: 'Nordlicht GmbH', email: 'jonas@nordlicht.example', lead_source: 'Trade Show', status: 'Open - Not Contacted' };
      for (const [key, value] of Object.entries(want)) if (args.lead[key] !== value) throw new Failure(`create_lead ${key}=${args.lead[key]}`);
      await eventually('pending count 1', async () => (await pendingCount(page)) === 1);
      if (!(await hashOf(page)).startsWith('#/leads/local-00Q-')) throw new Failure(`hash ${await hashOf(page)}`);
    },
    ownScreenshot: true,
  },
  {
    name: 'search-everything',
    shell: calm,
    async run(page) {
      if (isPhone(page)) await page.locator('a[aria-label="Search everything"]').click();
      else await page.getByTestId('nav-search').click();
      await page.getByTestId('global-search').fill('north');
      await eventually('contacts, accounts and opportunities found', async () => {
        const kinds = await page.getByTestId('search-hit').evaluateAll((els) => [...new Set(els.map((e) => e.dataset.object))]);
        return ['Account', 'Opportunity'].every((k) => kinds.includes(k)) ? true : kinds;
      });
      const first = await page.getByTestId('search-hit').first().innerText();
      if (!first.toLowerCase().includes('northwind')) throw new Failure(`best hit is ${first}`);
      if (!(await hashOf(page)).includes('q=north')) throw new Failure('the query is not in the URL');
      await page.screenshot({ path: this.shotPath });
      await this.axe(page, 'results');
      await page.getByTestId('search-hit').filter({ hasText: 'Fleet renewal' }).click();
      await eventually('the opportunity opens', async () => (await focusedText(page)) === 'Northwind — Fleet renewal');
      await page.goBack();
      await eventually('back returns to the results', async () => (await page.getByTestId('global-search').inputValue()) === 'north');
    },
    ownScreenshot: true,
  },
  {
    name: 'pending-list',
    shell: signedIn,
    async run(page) {
      await page.getByTestId('nav-pending').click();
      await eventually('five pending rows', async () => (await page.getByTestId('pending-row').count()) === 5);
      const states = await page.getByTestId('pending-row').evaluateAll((els) => els.map((e) => e.dataset.state));
      if (JSON.stringify(states) !== JSON.stringify(['conflict', 'failed', 'waiting_for_sign_in', 'sending', 'waiting'])) {
        throw new Failure(`rows in order ${JSON.stringify(states)}`);
      }
      for (const label of ['Conflict', 'Failed', 'Waiting for sign-in', 'Sending', 'Waiting to send']) {
        await expectText(page.getByTestId('pending-list'), label);
      }
      if ((await pendingCount(page)) !== 5) throw new Failure('the badge does not say 5');
    },
  },
  {
    name: 'pending-conflict-keep-mine',
    shell: signedIn,
    async run(page) {
      await page.goto(`${this.baseUrl}#/pending/w-conflict`);
      const stage = page.locator('[data-testid=conflict-field][data-field=StageName]');
      await expectText(stage.getByTestId('mine'), 'Negotiation/Review');
      await expectText(stage.getByTestId('theirs'), 'Closed Lost');
      await page.screenshot({ path: this.shotPath });
      await this.axe(page, 'conflict');
      await stage.getByTestId('keep-mine').click();
      await eventually('keep_mine sent for StageName', async () => JSON.stringify(await fake(page, 'resolutions')) === JSON.stringify([{ key: 'w-conflict', resolution: 'keep_mine', fields: ['StageName'] }]));
      await expectGone(stage, 'the settled StageName conflict');
      await page.locator('[data-testid=conflict-field][data-field=Amount]').getByTestId('use-theirs').click();
      await eventually('the conflict is settled', async () => (await fake(page, 'resolutions')).length === 2);
    },
    ownScreenshot: true,
  },
  {
    name: 'pending-failed-retry',
    shell: signedIn,
    async run(page) {
      await page.getByTestId('nav-pending').click();
      await page.locator('[data-testid=pending-row][data-state=failed]').click();
      const form = page.getByTestId('retry-form');
      await expectText(form.getByTestId('error-email'), 'invalid email address: pat@quinn');
      if ((await form.getByTestId('field-email').inputValue()) !== 'pat@quinn') throw new Failure('the failed value is not in the field');
      await expectText(form.getByTestId('salesforce-error'), 'could not save this lead');
      await page.screenshot({ path: this.shotPath });
      await this.axe(page, 'failed form');
      await form.getByTestId('field-email').fill('pat@quinn.example');
      await form.getByTestId('retry-save').click();
      const [args] = await eventually('retry_write', async () => (await fakeArgs(page, 'retry_write')).length === 1).then(() => fakeArgs(page, 'retry_write'));
      if (args.key !== 'w-failed' || JSON.stringify(args.changes) !== JSON.stringify({ Email: 'pat@quinn.example' })) throw new Failure(JSON.stringify(args));
      await eventually('no failed row left', async () => (await page.locator('[data-testid=pending-row][data-state=failed]').count()) === 0);
    },
    ownScreenshot: true,
  },
  {
    name: 'pending-discard-and-send-now',
    shell: signedIn,
    async run(page) {
      await page.goto(`${this.baseUrl}#/pending/w-signin`);
      await page.getByTestId('discard').click();
      await expectText(page.getByTestId('confirm-discard'), 'will not reach Salesforce');
      await page.screenshot({ path: this.shotPath });
      await this.axe(page, 'discard confirmation');
      await page.getByTestId('confirm-discard').getByTestId('confirm').click();
      await eventually('4 left', async () => (await pendingCount(page)) === 4);
      await page.getByTestId('send-now').click();
      await expectText(page.getByTestId('send-result'), '2 changes sent.');
      await eventually('only the conflict and the failure stay', async () => (await page.getByTestId('pending-row').count()) === 2);
      await eventually('badge 2', async () => (await pendingCount(page)) === 2);
    },
    ownScreenshot: true,
  },
  {
    name: 'settings-sign-out-names-pending',
    // The last sync time is core's (what the shell says after the sync), not the webview's clock.
    shell: { ...signedIn, syncedAt: new Date(Date.now() - 7 * 60_000).toISOString() },
    async run(page) {
      await idleAfterSyncs(page, 1);
      await page.getByTestId(isPhone(page) ? 'open-settings' : 'nav-settings').click();
      await eventually('the Settings heading has focus', async () => (await focusedText(page)) === 'Settings');
      await expectText(page.getByTestId('account-info'), rep.display_name);
      await expectText(page.getByTestId('org-id'), rep.org_id);
      await expectText(page.getByTestId('server-url'), 'https://companion.example.com');
      await expectText(page.getByTestId('server-url'), 'Sign out to change it.');
      await expectText(page.getByTestId('device-info'), `${contacts.length} contacts`);
      await expectText(page.getByTestId('storage'), '46 MB');
      await expectText(page.getByTestId('last-sync'), 'minutes ago');
      await page.getByTestId('sign-out').click();
      await expectText(page.getByTestId('sign-out-warning'), '5 changes made on this device have not reached Salesforce');
      await expectText(page.getByTestId('sign-out-warning'), 'new lead');
      await page.screenshot({ path: this.shotPath });
      await this.axe(page, 'sign-out confirmation');
      await noCallsTo(page, 'sign_out');
      await page.getByTestId('confirm-sign-out').getByTestId('confirm').click();
      await expectVisible(page.getByTestId('sign-in'), 'the sign-in screen');
      const [args] = await fakeArgs(page, 'sign_out');
      if (args.discardPending !== true) throw new Failure(JSON.stringify(args));
    },
    ownScreenshot: true,
  },
  {
    name: 'first-sync-progress',
    shell: { ...calm, lastSyncedAt: null, syncStepMs: 400, syncContactTotal: 48000 },
    async run(page) {
      await expectText(page.getByTestId('first-sync'), 'please stay online');
      await expectText(page.getByTestId('first-sync-detail'), 'of 48,000');
      await expectVisible(page.getByTestId('sync-progress'), 'the progress bar');
      await eventually('an estimate', async () => /left|almost done/.test(await page.getByTestId('first-sync-detail').innerText()));
    },
    screenshotWhile: true,
  },
  {
    name: 'replica-unreadable-start-fresh',
    shell: { ...calm, unreadable: true },
    async run(page) {
      await expectText(page.getByTestId('replica-unreadable'), "can't be opened");
      await page.screenshot({ path: this.shotPath });
      await this.axe(page, 'unreadable');
      await page.getByTestId('start-fresh').click();
      await expectGone(page.getByTestId('replica-unreadable'), 'the unreadable banner');
      if (!(await fake(page, 'calls')).includes('start_fresh')) throw new Failure('start_fresh not called');
      await eventually('contacts listed again', async () => (await page.getByTestId('contact-count').innerText()).startsWith(`${contacts.length} contacts`));
    },
    ownScreenshot: true,
  },
  {
    name: 'restart-lands-where-left-and-back-works',
    shell: calm,
    async run(page) {
      const opp = opportunities[3];
      await page.goto(`${this.baseUrl}#/opportunities/${opp.id}`);
      await expectText(page.getByTestId('opportunity-detail').locator('h1'), opp.name);
      await page.getByTestId('account-link').click();
      await eventually('account open', async () => (await focusedText(page)) === opp.account_name);
      await page.goBack();
      await eventually('back to the opportunity', async () => (await hashOf(page)) === `#/opportunities/${opp.id}`);
      await page.reload();
      await expectText(page.getByTestId('opportunity-detail').locator('h1'), opp.name);
    },
  },
  {
    name: 'keyboard-search-arrows-enter',
    sizes: [DESKTOP],
    shell: calm,
    async run(page) {
      await eventually('rows', async () => (await rowNames(page)).length > 0);
      await page.locator('body').click({ position: { x: 5, y: 790 } });
      await page.keyboard.press('/');
      await eventually('/ focused search', async () => page.evaluate(() => document.activeElement?.getAttribute('data-testid') === 'search'));
      await page.keyboard.press('ArrowDown');
      await eventually('first row focused', async () => (await focusedText(page)).includes(contacts[0].name));
      await page.keyboard.press('ArrowDown');
      await page.keyboard.press('ArrowDown');
      await eventually('third row focused', async () => (await focusedText(page)).includes(contacts[2].name));
      await page.keyboard.press('Enter');
      await eventually('third contact open', async () => (await focusedText(page)) === contacts[2].name);
      await page.keyboard.press('Control+n');
      await expectVisible(page.getByTestId('lead-form'), 'New lead form via Ctrl+N');
      await page.keyboard.press('Escape');
      await expectGone(page.getByTestId('form-dialog'), 'the form after Esc');
    },
  },
  {
    name: 'screens-follow-shell-events',
    shell: calm,
    async run(page) {
      const ana = contacts[0];
      await openContact(page, ana.name);
      await page.evaluate((id) => window.__fake.changeRecord(id, { title: 'Chief Operating Officer' }), ana.id);
      await expectText(page.getByTestId('contact-detail').locator('header'), 'Chief Operating Officer');
      await page.evaluate(() => window.__fake.setOnline(false));
      await expectVisible(page.getByTestId('offline-banner'), 'the offline banner after status-changed');
    },
  },

];

// ---------- runner ----------

/** axe-core with the WCAG 2.2 AA tags (target-size included): no violation allowed. */
async function axeCheck(page, what) {
  const results = await new AxeBuilder({ page }).withTags(AXE_TAGS).analyze();
  if (results.violations.length) {
    const detail = results.violations
      .map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(' | ')}`)
      .join('; ');
    throw new Failure(`axe found ${results.violations.length} violation(s) ${what}: ${detail}`);
  }
}

/** On the phone every control the rep taps is at least 44×44 px (axe checks 24). */
async function touchTargets(page, what) {
  const small = await page.evaluate(() => {
    const found = [];
    for (const el of document.querySelectorAll('button, a.btn, a.row-link, a.tab, .chip, input:not([type=hidden]), select')) {
      const rect = el.getBoundingClientRect();
      if (rect.width === 0 || rect.height === 0) continue;
      if (el.closest('[inert]') || getComputedStyle(el).visibility === 'hidden') continue;
      if (rect.width < 43.5 || rect.height < 43.5) {
        found.push(`${el.tagName.toLowerCase()}${el.dataset.testid ? `[${el.dataset.testid}]` : ''} "${(el.getAttribute('aria-label') ?? el.textContent ?? '').trim().slice(0, 30)}" ${Math.round(rect.width)}×${Math.round(rect.height)}`);
      }
    }
    return found;
  });
  if (small.length) throw new Failure(`touch targets under 44 px ${what}: ${small.slice(0, 6).join(', ')}`);
}

/** The page as it is now: axe in light and dark, a dark screenshot, and touch targets on a phone. */
async function checkBothSchemes(page, size, darkShot, what) {
  await axeCheck(page, `${what} (light)`);
  await page.emulateMedia({ colorScheme: 'dark' });
  try {
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
    await page.screenshot({ path: darkShot });
    await axeCheck(page, `${what} (dark)`);
  } finally {
    await page.emulateMedia({ colorScheme: 'light' });
  }
  if (size.touch) await touchTargets(page, what);
}

async function runOne(browser, baseUrl, scenario, size) {
  const label = `${scenario.name}-${size.width}x${size.height}`;
  const shotPath = join(screenshotDir, `${label}.png`);
  const context = await browser.newContext({
    viewport: { width: size.width, height: size.height },
    hasTouch: size.touch,
    isMobile: size.touch,
    deviceScaleFactor: size.touch ? 2 : 1,
    colorScheme: 'light',
    reducedMotion: 'reduce',
    locale: 'en-US',
  });
  const problems = [];
  // The webview never talks to the network: anything but the UI's own files fails the test.
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith(baseUrl)) return route.continue();
    problems.push(`unexpected request to ${url}`);
    return route.abort();
  });
  const page = await context.newPage();
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console error: ${message.text()}`);
  });
  await page.addInitScript(installFakeShell, scenario.shell);
  let moments = 0;
  const self = {
    shotPath,
    baseUrl,
    // A moment worth checking mid-scenario (its light screenshot is taken by the scenario).
    axe: (p, what) => checkBothSchemes(p, size, join(screenshotDir, `${label}-dark${moments++ ? `-${moments}` : ''}.png`), what),
  };
  try {
    await page.goto(baseUrl);
    await scenario.run.call(self, page);
    if (!scenario.ownScreenshot) await page.screenshot({ path: shotPath });
    await checkBothSchemes(page, size, join(screenshotDir, `${label}-end-dark.png`), 'at the end');
    if (scenario.after) await scenario.after(page);
    if (problems.length) throw new Failure(problems.join('; '));
    console.log(`ok   ${label}`);
    return true;
  } catch (error) {
    const failedShot = join(screenshotDir, `FAILED-${label}.png`);
    await page.screenshot({ path: failedShot }).catch(() => {});
    console.log(`FAIL ${label}: ${error.message}${problems.length ? ` [${problems.join('; ')}]` : ''}`);
    if (!(error instanceof Failure)) console.log(error.stack);
    return false;
  } finally {
    await context.close();
  }
}

async function waitForChromium() {
  // Debian's chromium may still be installing when the tests start.
  for (let attempt = 0; attempt < 60 && !existsSync(chromiumPath); attempt++) {
    if (attempt === 0) console.log(`waiting for ${chromiumPath} …`);
    await new Promise((r) => setTimeout(r, 5000));
  }
  if (!existsSync(chromiumPath)) throw new Error(`${chromiumPath} not found (apt-get install chromium)`);
}

async function main() {
  if (!existsSync(join(distDir, 'index.html'))) {
    console.error(`${distDir}/index.html is missing: run \`npm run build\` first`);
    process.exit(2);
  }
  const only = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1] : null;
  mkdirSync(screenshotDir, { recursive: true });
  for (const name of readdirSync(screenshotDir)) {
    if (name.startsWith('FAILED-')) rmSync(join(screenshotDir, name));
  }
  await waitForChromium();
  const server = await serve(distDir);
  const browser = await chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      // No --user-data-dir: Playwright refuses it with launch(), and gives every launch a fresh
      // temporary profile of its own (which it deletes on close).
    ],
  });
  let passed = 0;
  let failed = 0;
  try {
    for (const scenario of scenarios) {
      if (only && !scenario.name.includes(only)) continue;
      for (const size of scenario.sizes ?? [PHONE, DESKTOP]) {
        if (await runOne(browser, server.url, scenario, size)) passed++;
        else failed++;
      }
    }
  } finally {
    await browser.close();
    await server.close();
  }
  console.log(`screenshots in ${screenshotDir}`);
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed === 0 && passed > 0 ? 0 : 1);
}

main().catch((error) => {
  console.error(error);
  console.log('0 passed, 1 failed');
  process.exit(1);
});
