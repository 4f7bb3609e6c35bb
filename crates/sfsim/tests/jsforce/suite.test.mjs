// An independent Salesforce client, jsforce, against sfsim: if jsforce is happy, the shapes,
// statuses and headers are right. Run: SFSIM_BIN=/path/to/sfsim npm test
//
// Starts the sfsim binary on a free loopback port with the control API and 1,100 contacts (six
// pages of 200), and stops it at the end.

import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import jsforce from 'jsforce';

const CLIENT_ID = 'companion-demo';
const CLIENT_SECRET = 'companion-demo-secret';
const REDIRECT_URI = 'http://127.0.0.1:53682/callback';
const PASSWORD = 'demo1234';
const ADMIN = 'admin@demo.example';
const REP = 'rep@demo.example';
const VERSION = '58.0';
const CONTACTS = 1100;

let sim;
let baseUrl;

/** Starts sfsim and resolves with its base URL from the first stdout line. */
function startSim() {
  const bin = process.env.SFSIM_BIN;
  if (!bin) {
    throw new Error('set SFSIM_BIN to the sfsim binary, e.g. target/debug/sfsim');
  }
  sim = spawn(bin, ['--listen', '127.0.0.1:0', '--control', '--contacts', String(CONTACTS)], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, RUST_LOG: process.env.RUST_LOG ?? 'sfsim=warn' },
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('sfsim did not start within 30 s')), 30_000);
    sim.once('error', reject);
    sim.once('exit', (code) => reject(new Error(`sfsim exited early with ${code}`)));
    createInterface({ input: sim.stdout }).once('line', (line) => {
      clearTimeout(timer);
      const match = line.match(/^sfsim listening on (http:\/\/\S+)$/);
      if (match) resolve(match[1]);
      else reject(new Error(`unexpected first line: ${line}`));
    });
  });
}

function oauth2(extra = {}) {
  return new jsforce.OAuth2({
    loginUrl: baseUrl,
    clientId: CLIENT_ID,
    clientSecret: CLIENT_SECRET,
    redirectUri: REDIRECT_URI,
    ...extra,
  });
}

async function control(path, body) {
  const response = await fetch(`${baseUrl}/__sim/${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  assert.ok(response.ok, `control ${path}: ${response.status}`);
  return response.status === 204 ? null : response.json();
}

async function passwordLogin(username = ADMIN) {
  const conn = new jsforce.Connection({ oauth2: oauth2(), version: VERSION });
  await conn.login(username, PASSWORD);
  return conn;
}

/** Plays the browser: opens jsforce's authorize URL, submits the login form, returns the code. */
async function browserLogin(authorizeUrl, username) {
  const page = await fetch(authorizeUrl);
  assert.equal(page.status, 200);
  assert.match(await page.text(), /name="password"/);
  const form = new URLSearchParams(new URL(authorizeUrl).searchParams);
  form.set('username', username);
  form.set('password', PASSWORD);
  const response = await fetch(`${baseUrl}/services/oauth2/authorize`, {
    method: 'POST',
    body: form,
    redirect: 'manual',
  });
  assert.equal(response.status, 302);
  const callback = new URL(response.headers.get('location'));
  assert.equal(`${callback.origin}${callback.pathname}`, REDIRECT_URI);
  return callback.searchParams;
}

before(async () => {
  baseUrl = await startSim();
});

after(() => {
  sim?.kill('SIGTERM');
});

describe('OAuth 2.0', () => {
  test('username-password login', async () => {
    const conn = await passwordLogin();
    assert.equal(conn.instanceUrl, baseUrl);
    assert.match(conn.accessToken, /^00D\w{12}!/);
    assert.equal(conn.refreshToken, undefined, 'the password grant gives no refresh token');
    assert.match(conn.userInfo.id, /^005\w{15}$/);
    assert.match(conn.userInfo.organizationId, /^00D\w{15}$/);
    const identity = await conn.identity();
    assert.equal(identity.username, ADMIN);
  });

  test('a wrong password is refused with invalid_grant', async () => {
    const conn = new jsforce.Connection({ oauth2: oauth2(), version: VERSION });
    await assert.rejects(conn.login(ADMIN, 'wrong'), (err) => {
      assert.equal(err.name, 'invalid_grant');
      assert.match(err.message, /authentication failure/);
      return true;
    });
  });

  test('authorization-code flow with PKCE (challenge without method)', async () => {
    const auth = oauth2({ useVerifier: true });
    const url = auth.getAuthorizationUrl({ scope: 'api refresh_token', state: 'js-state' });
    assert.ok(new URL(url).searchParams.get('code_challenge'), 'jsforce sends a challenge');
    const callback = await browserLogin(url, REP);
    assert.equal(callback.get('state'), 'js-state');
    const conn = new jsforce.Connection({ oauth2: auth, version: VERSION });
    const userInfo = await conn.authorize(callback.get('code'));
    assert.equal(conn.instanceUrl, baseUrl);
    assert.ok(conn.refreshToken, 'refresh_token scope gives a refresh token');
    assert.match(userInfo.id, /^005/);
    const result = await conn.query('SELECT Id FROM Account LIMIT 1');
    assert.equal(result.done, true);
  });

  test('a refresh after the admin expires every session', async () => {
    const auth = oauth2({ useVerifier: true });
    const callback = await browserLogin(auth.getAuthorizationUrl({ scope: 'api refresh_token' }), REP);
    const conn = new jsforce.Connection({ oauth2: auth, version: VERSION });
    await conn.authorize(callback.get('code'));
    const before = conn.accessToken;
    let refreshed = 0;
    conn.on('refresh', () => {
      refreshed += 1;
    });
    const statsBefore = await control('stats');
    await control('sessions/expire', {});
    const result = await conn.query('SELECT Id FROM Contact LIMIT 3');
    assert.equal(result.records.length, 3);
    assert.equal(refreshed, 1, 'jsforce refreshed once on the 401');
    assert.notEqual(conn.accessToken, before);
    const statsAfter = await control('stats');
    assert.equal(
      (statsAfter.token_requests.refresh_token ?? 0) - (statsBefore.token_requests.refresh_token ?? 0),
      1,
    );
  });
});

describe('REST', () => {
  let conn;
  before(async () => {
    conn = await passwordLogin();
  });

  test('query with autoFetch across at least 5 pages', async () => {
    const pagesBefore = (await control('stats')).endpoints['GET /services/data/{version}/query/{locator}'] ?? 0;
    const records = [];
    const result = await conn.query('SELECT Id, Name, Account.Name FROM Contact', {
      autoFetch: true,
      maxFetch: 100_000,
      headers: { 'Sforce-Query-Options': 'batchSize=200' },
    });
    records.push(...result.records);
    assert.equal(result.totalSize, CONTACTS);
    assert.equal(records.length, CONTACTS);
    assert.equal(new Set(records.map((r) => r.Id)).size, CONTACTS, 'no row twice');
    const pagesAfter = (await control('stats')).endpoints['GET /services/data/{version}/query/{locator}'];
    assert.ok(pagesAfter - pagesBefore >= 5, `followed ${pagesAfter - pagesBefore} nextRecordsUrl pages`);
    const withAccount = records.find((r) => r.Account);
    assert.equal(withAccount.Account.attributes.type, 'Account');
  });

  test('limitInfo is parsed from Sforce-Limit-Info', async () => {
    await conn.query('SELECT Id FROM Account LIMIT 1');
    const { used, limit } = conn.limitInfo.apiUsage;
    assert.equal(limit, 15000);
    assert.ok(used >= 1, `used ${used}`);
    const stats = await control('stats');
    assert.equal(used, stats.api_calls);
  });

  test('a query error reads through jsforce’s error object', async () => {
    await assert.rejects(conn.query('SELECT Id FROM Contact WHERE'), (err) => {
      assert.equal(err.errorCode, 'MALFORMED_QUERY');
      assert.match(err.message, /ERROR at Row:1:Column:/);
      return true;
    });
    await assert.rejects(conn.query('SELECT Nope FROM Contact'), (err) => {
      assert.equal(err.errorCode, 'INVALID_FIELD');
      assert.match(err.message, /No such column 'Nope' on entity 'Contact'/);
      return true;
    });
  });

  test('create, update, read and delete a Contact', async () => {
    const created = await conn.sobject('Contact').create({ FirstName: 'Jess', LastName: 'Forsyth' });
    assert.equal(created.success, true);
    assert.deepEqual(created.errors, []);
    assert.match(created.id, /^003\w{15}$/);
    const updated = await conn.sobject('Contact').update({ Id: created.id, Title: 'Buyer' });
    assert.equal(updated.success, true);
    const read = await conn.sobject('Contact').retrieve(created.id);
    assert.equal(read.Name, 'Jess Forsyth');
    assert.equal(read.Title, 'Buyer');
    const deleted = await conn.sobject('Contact').destroy(created.id);
    assert.equal(deleted.success, true);
    await assert.rejects(conn.sobject('Contact').retrieve(created.id), (err) => {
      assert.ok(['ENTITY_IS_DELETED', 'NOT_FOUND'].includes(err.errorCode), err.errorCode);
      return true;
    });
  });

  test('a validation error carries errorCode and fields', async () => {
    await assert.rejects(conn.sobject('Contact').create({ FirstName: 'No Last Name' }), (err) => {
      assert.equal(err.errorCode, 'REQUIRED_FIELD_MISSING');
      assert.deepEqual(err.data.fields, ['LastName'], 'fields, via error.data');
      assert.equal(err.message, 'Required fields are missing: [LastName]');
      return true;
    });
  });

  test('describe Opportunity', async () => {
    const describe = await conn.sobject('Opportunity').describe();
    assert.equal(describe.name, 'Opportunity');
    assert.equal(describe.keyPrefix, '006');
    const stage = describe.fields.find((f) => f.name === 'StageName');
    assert.equal(stage.type, 'picklist');
    const prospecting = stage.picklistValues.find((v) => v.value === 'Prospecting');
    assert.ok(prospecting, 'Prospecting is a stage');
    const closeDate = describe.fields.find((f) => f.name === 'CloseDate');
    assert.equal(closeDate.type, 'date');
    assert.equal(closeDate.nillable, false);
  });
});
