// UI end-to-end tests: the built UI (ui/dist) in Debian's Chromium, driven by playwright-core,
// with the Tauri shell replaced by a scriptable fake (fake-shell.js). Each scenario runs at phone
// and desktop size and saves a screenshot to <repo>/target/ui-screenshots/.
// Usage: npm run build && npm run test:e2e  [-- --only <scenario-name-substring>]
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { installFakeShell } from './fake-shell.js';
import { contacts, rep } from './fixtures.mjs';
import { serve } from './server.mjs';

const uiDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const distDir = join(uiDir, 'dist');
const screenshotDir = process.env.UI_SCREENSHOT_DIR ?? resolve(uiDir, '..', 'target', 'ui-screenshots');
const chromiumPath = process.env.CHROMIUM ?? '/usr/bin/chromium';

const PHONE = { width: 390, height: 844, touch: true };
const DESKTOP = { width: 1280, height: 800, touch: false };
const SERVER_UNREACHABLE = "Can't reach the Companion server. Check your connection and try again.";
const SIGN_IN_FAILED = 'Sign-in failed — try again';

const signedIn = { signedIn: true, user: rep, contacts };
const signedOut = { signedIn: false, user: rep, contacts };

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

// ---------- scenarios ----------

const scenarios = [
  {
    name: 'sign-in-screen',
    shell: signedOut,
    async run(page) {
      await expectText(page.locator('h1'), 'Companion');
      await expectText(page.getByTestId('sign-in'), 'Sign in with Salesforce');
      if ((await page.getByTestId('sign-in-error').count()) !== 0) throw new Failure('an error shows before any sign-in');
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
      await eventually('all seeded contacts listed', async () => (await rowNames(page)).length === contacts.length);
      const names = await rowNames(page);
      for (const name of ['Ana Souza', 'Nadia Rahman', 'Yusuf Demir']) {
        if (!names.includes(name)) throw new Failure(`${name} is not listed`);
      }
      await expectText(page.getByTestId('user-name'), rep.display_name);
      const calls = await fake(page, 'calls');
      const expected = ['get_status', 'sign_in', 'list_contacts', 'sync_now', 'list_contacts'];
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
      await expectText(page.getByTestId('offline-banner'), 'Offline — showing contacts saved on this device');
      await expectText(page.getByTestId('offline-banner'), 'Last synced 3 hours ago');
      await idleAfterSyncs(page, 1);
      await eventually('contacts still listed', async () => (await rowNames(page)).length === contacts.length);
      await expectVisible(page.getByTestId('offline-banner'), 'the offline banner after the failed sync');
    },
  },
  {
    name: 'reauth-banner',
    shell: { ...signedIn, sync: 'reauth' },
    async run(page) {
      await expectText(page.getByTestId('reauth-banner'), 'Sign in again to sync');
      await eventually('contacts still listed', async () => (await rowNames(page)).length === contacts.length);
      await page.getByTestId('reauth-sign-in').click();
      await eventually('sign_in called', async () => (await fake(page, 'calls')).includes('sign_in'));
    },
  },
  {
    name: 'refresh-button',
    shell: { ...signedIn, syncStepMs: 150 },
    async run(page) {
      await idleAfterSyncs(page, 1);
      await page.getByTestId('refresh').click();
      await expectVisible(page.getByTestId('sync-progress'), 'the progress bar');
      await eventually('sync_now called again', async () => (await fake(page, 'syncsStarted')) === 2);
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
      if (calls.filter((c) => c === 'get_status').length !== 1) throw new Failure('the page reloaded');
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
];

// ---------- runner ----------

async function runOne(browser, baseUrl, scenario, size) {
  const label = `${scenario.name}-${size.width}x${size.height}`;
  const shotPath = join(screenshotDir, `${label}.png`);
  const context = await browser.newContext({
    viewport: { width: size.width, height: size.height },
    hasTouch: size.touch,
    isMobile: size.touch,
    deviceScaleFactor: size.touch ? 2 : 1,
    colorScheme: 'light',
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
  try {
    await page.goto(baseUrl);
    await scenario.run.call({ shotPath }, page);
    if (!scenario.ownScreenshot) await page.screenshot({ path: shotPath });
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
