// The operator console in headless Chromium (playwright-core, /usr/bin/chromium) against the
// built Worker in workerd: log in, find an order after its events, see its status change when a
// refund arrives, replay a dead letter after the backend recovers, open a payout and download
// its CSV, the configuration page without secrets; and what a caller without the token, the
// cookie or the CSRF token gets (nothing). Screenshots: target/console-screenshots/ (every
// page, full length, and 1200x800 views); CONSOLE_DOCS=1 also refreshes the README's in
// docs/console/ (so a test run does not rewrite files of the checkout).
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { chromium } from 'playwright-core';
import * as sb from '../../pkg-js/dist/node.mjs';
import { startFakeStripe } from '../../examples/fake-stripe-api.mjs';
import { payoutScenario } from '../../examples/stripe-scenarios.mjs';
import { ADMIN_TOKEN, DOWNSTREAM_SECRET, STRIPE_SECRET, repoRoot, startDownstream, startWorker, waitFor } from './harness.mjs';

const STRIPE_SECRET_KEY = 'sk_test_51ConsoleKeyForTheLoopbackStandIn';
const SHOTS = join(repoRoot, 'target/console-screenshots');
const DOCS = process.env.CONSOLE_DOCS === '1' ? join(repoRoot, 'docs/console') : join(SHOTS, 'views');
const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };
const fixture = (name) => readFileSync(join(repoRoot, 'tests/fixtures/events', name), 'utf8');

/** A fixture as an event of order `order` (its own event id and payment ids). */
function event(name, id, order) {
  const e = JSON.parse(fixture(name).replaceAll('Order1001', `Order${order}`));
  if (e.data.object.metadata?.order_id) e.data.object.metadata.order_id = order;
  e.id = id;
  e.created = Math.floor(Date.now() / 1000) - 60;
  return JSON.stringify(e);
}

function post(mf, body) {
  const sig = sb.generateTestHeader({ payload: body, secret: STRIPE_SECRET });
  return mf.dispatchFetch('http://worker/webhooks/stripe', { method: 'POST', body, headers: { 'stripe-signature': sig } });
}

describe('operator console', () => {
  let mf;
  let base;
  let stripe;
  let downstream;
  let browser;
  let page;
  let recovered = false;
  const scenario = payoutScenario({ seed: 'console', transactions: 60 });
  before(async () => {
    mkdirSync(SHOTS, { recursive: true });
    mkdirSync(DOCS, { recursive: true });
    stripe = await startFakeStripe({ apiKey: STRIPE_SECRET_KEY, apiVersion: '2025-09-30.clover' });
    stripe.seed(scenario);
    // The backend refuses order CDL's forwards until it "recovers".
    downstream = await startDownstream((id, attempt, body) => (!recovered && body.includes('"order_ref":"CDL"') ? 500 : 200));
    mf = await startWorker({
      downstreamUrl: downstream.url,
      vars: { FORWARD: 'state', STRIPE_SECRET_KEY, STRIPE_API_BASE: stripe.url, STRIPE_FILES_BASE: stripe.url, STRIPE_MAX_RETRIES: '1' },
      consumer: { maxRetries: 2 },
    });
    // Miniflare listens on 127.0.0.1; Chromium treats http://127.0.0.1 as a secure context,
    // so it keeps the Secure, __Host- cookie there (as it does in `make run`).
    base = (await mf.ready).origin;
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
    page = await browser.newPage({ viewport: { width: 1200, height: 800 }, acceptDownloads: true });
    console.log(`# screenshots: ${SHOTS} (full pages) and ${DOCS} (README)`);
  });
  after(async () => {
    await browser?.close();
    await mf?.dispose();
    await stripe?.close();
    await downstream?.close();
  });

  async function shoot(name) {
    await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
    await page.screenshot({ path: join(DOCS, `${name}.png`) });
  }

  test('logging in with the admin token opens the overview; the session cookie is HttpOnly, Secure, SameSite=Strict', async () => {
    await page.goto(`${base}/console/`);
    assert.match(page.url(), /\/console\/login$/, 'no session: the login form');
    await shoot('login');
    await page.fill('#token', 'not-the-token');
    await page.click('button[type=submit]');
    assert.match(await page.textContent('#login-error'), /not the admin token/);
    await page.fill('#token', ADMIN_TOKEN);
    await page.click('button[type=submit]');
    await page.waitForSelector('h1:text("Overview")');
    const [cookie] = await page.context().cookies();
    assert.equal(cookie.name, '__Host-sb_console');
    assert.equal(cookie.httpOnly, true);
    assert.equal(cookie.secure, true);
    assert.equal(cookie.sameSite, 'Strict');
    assert.equal(cookie.path, '/');
    assert.ok(!cookie.value.includes(ADMIN_TOKEN), 'the token is never in the cookie');
    // Keyboard: the first Tab reaches the skip link, which moves focus to the content.
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Skip to content');
    await page.keyboard.press('Enter');
    assert.equal(await page.evaluate(() => document.activeElement.id), 'main');
  });

  test('an order is found by its PaymentIntent and its customer; a refund changes its status', async () => {
    assert.equal((await (await post(mf, event('pi_succeeded_basil.json', 'evt_console_paid', 'C1'))).json()).result, 'accepted');
    await page.goto(`${base}/console/orders`);
    await page.fill('#q', 'pi_3QbasilOrderC1');
    await page.click('button:text("Search")');
    await page.click('a:text-is("C1")');
    assert.equal(await page.textContent('#order-status'), 'paid');
    assert.equal((await (await post(mf, event('refund_created_basil.json', 'evt_console_refund', 'C1'))).json()).result, 'accepted');
    await page.reload();
    assert.equal(await page.textContent('#order-status'), 'partially_refunded');
    const timeline = await page.textContent('.timeline');
    assert.match(timeline, /payment_intent\.succeeded/);
    assert.match(timeline, /refund\.created/);
    assert.match(timeline, /sequence 2/);
    assert.match(await page.textContent('table'), /21\.98 USD/);
    assert.match(await page.textContent('main'), /re_3QbasilOrderC1a: refunded 5\.00 USD/);
    await waitFor(async () => {
      await page.reload();
      return /delivery: delivered/.test(await page.textContent('.timeline'));
    }, { what: 'the forwards delivered' });
    await shoot('orders');
    // By customer.
    await page.goto(`${base}/console/orders?q=cus_RbasilJenny`);
    assert.match(await page.textContent('table'), /C1.*customer/s);
  });

  test('a dead letter is replayed from the console once the backend recovers', async () => {
    await post(mf, event('pi_succeeded_basil.json', 'evt_console_dl', 'CDL'));
    const letter = await waitFor(async () => {
      const body = await (await mf.dispatchFetch('http://worker/dead-letters', { headers: auth })).json();
      return body.dead_letters.find((l) => l.kind === 'undelivered');
    }, { ms: 30000, what: 'the dead letter' });
    recovered = true;
    await page.goto(`${base}/console/dead-letters`);
    await page.waitForSelector(`th:text("${letter.event_id}")`);
    await page.click('summary:text("Last error")');
    assert.match(await page.textContent('details[open]'), /HTTP 500/);
    await shoot('dead-letters');
    await page.fill('#filter', 'no such thing');
    assert.equal(await page.locator('tbody tr').count(), 0, 'the filter hides what does not match');
    await page.fill('#filter', 'order.state');
    await page.click(`tr:has(th:text("${letter.event_id}")) button:text("Replay")`);
    await page.waitForSelector('#status:text("Replayed 1 of 1")');
    await waitFor(() => downstream.delivered().some((d) => d.body.includes('"order_ref":"CDL"')), { what: 'the replayed forward' });
    assert.equal(await page.locator(`th:text("${letter.event_id}")`).count(), 0, 'gone from the list');
  });

  test('a payout opens with its reconciliation and its CSV downloads', async () => {
    const { expected } = scenario;
    const payout = scenario.objects.find((o) => o.id === expected.payoutId);
    const body = JSON.stringify({ id: 'evt_console_payout', object: 'event', type: 'payout.reconciliation_completed', created: 1700000000, livemode: false, api_version: '2025-09-30.clover', data: { object: payout } });
    assert.equal((await (await post(mf, body)).json()).result, 'accepted');
    await waitFor(async () => {
      const res = await mf.dispatchFetch(`http://worker/payouts/${expected.payoutId}`, { headers: auth });
      return res.status === 200 && (await res.json()).status === 'done';
    }, { ms: 60000, what: 'the reconciliation' });
    await page.goto(`${base}/console/payouts`);
    await page.click(`a:text("${expected.payoutId}")`);
    assert.match(await page.textContent('#payout-verdict'), /^BALANCED/);
    assert.equal(await page.textContent('#payout-status'), 'done');
    await shoot('payouts');
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#csv-link')]);
    const csv = readFileSync(await download.path(), 'utf8').trim().split('\n');
    assert.equal(csv.length, expected.lineCount + 1);
    assert.match(csv[0], /^balance_transaction_id,/);
    assert.equal(download.suggestedFilename(), `${expected.payoutId}.csv`);
  });

  test('the configuration page says what is set, never a secret', async () => {
    await page.goto(`${base}/console/config`);
    await page.waitForSelector('#health');
    assert.match(await page.textContent('#health'), /^HEALTHY/);
    const text = await page.textContent('main');
    assert.match(text, /STRIPE_WEBHOOK_SECRETset \(2\)/);
    assert.match(text, /SHOP_API_TOKENnot set/);
    const html = await page.content();
    for (const secret of [STRIPE_SECRET, 'whsec_old_rolled_secret', DOWNSTREAM_SECRET, ADMIN_TOKEN, STRIPE_SECRET_KEY]) assert.ok(!html.includes(secret), 'a secret on the page');
    await shoot('config');
  });

  test('the overview counts what happened, per hour and by outcome', async () => {
    await post(mf, event('pi_succeeded_basil.json', 'evt_console_paid', 'C1')); // a duplicate
    await post(mf, '{"not":"signed"}').catch(() => {}); // refused (no signature)
    const stats = await waitFor(async () => {
      const s = await (await mf.dispatchFetch('http://worker/admin/stats', { headers: auth })).json();
      return s.totals.received.duplicate >= 1 && s.totals.received.refused >= 1 ? s : null;
    }, { what: 'the counters' });
    assert.equal(stats.totals.received.accepted, 4, JSON.stringify(stats.totals));
    assert.equal(stats.hours.length, 24);
    assert.ok(stats.totals.deliveries.delivered >= 3);
    assert.equal(stats.totals.deliveries.dead_lettered, 1);
    assert.equal(stats.totals.deliveries.replayed, 1);
    assert.ok(stats.totals.deliveries.retried >= 3, 'CDL failed three times');
    assert.equal(stats.retry_backlog, 0, 'nothing left retrying');
    assert.equal(stats.dead_letters.total, 0);
    await page.goto(`${base}/console/`);
    await page.waitForSelector('.chart');
    const text = await page.textContent('main');
    assert.match(text, /Accepted4/);
    assert.match(text, /Duplicate1/);
    assert.match(text, /Refused \(4xx\)1/);
    await shoot('overview');
  });

  test('signing out ends the session in the browser', async () => {
    await page.goto(`${base}/console/orders`);
    await page.click('button:text("Sign out")');
    await page.waitForURL(/\/console\/login$/);
    await page.goto(`${base}/console/orders`);
    assert.match(page.url(), /\/console\/login$/);
  });
});

describe('console access control', () => {
  let mf;
  let downstream;
  const url = 'http://127.0.0.1:9/';
  before(async () => {
    downstream = await startDownstream();
    mf = await startWorker({ downstreamUrl: downstream.url, vars: { FORWARD: 'state' } });
  });
  after(async () => {
    await mf?.dispose();
    await downstream?.close();
  });
  const get = (path, headers = {}) => mf.dispatchFetch(`http://worker${path}`, { headers, redirect: 'manual' });
  const login = (token, headers = {}) => mf.dispatchFetch('http://worker/console/login', {
    method: 'POST', redirect: 'manual', body: new URLSearchParams({ token }).toString(),
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
  });
  const cookieOf = (res) => res.headers.get('set-cookie').split(';')[0];

  test('without the token or a session nothing is shown', async () => {
    void url;
    for (const path of ['/console/', '/console/orders', '/console/dead-letters', '/console/payouts', '/console/config']) {
      const res = await get(path);
      assert.equal(res.status, 303, path);
      assert.equal(res.headers.get('location'), '/console/login');
      assert.equal(await res.text(), '');
    }
    const forged = { cookie: '__Host-sb_console=v1.9999999999.00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff' };
    for (const path of ['/admin/stats', '/admin/orders?q=x', '/admin/orders/C1', '/admin/payouts', '/admin/config', '/dead-letters', '/healthz?deep=1']) {
      for (const headers of [{}, { authorization: 'Bearer wrong' }, forged, { cookie: `__Host-sb_console=${ADMIN_TOKEN}` }]) {
        const res = await get(path, headers);
        assert.equal(res.status, 401, `${path} ${JSON.stringify(headers)}`);
        assert.deepEqual(await res.json(), { result: 'unauthorized' });
      }
    }
    const wrong = await login('wrong-token');
    assert.equal(wrong.status, 401);
    assert.equal(wrong.headers.get('set-cookie'), null);
  });

  test('a login sets a signed session cookie; state changes need its CSRF token and the same origin', async () => {
    const res = await login(ADMIN_TOKEN);
    assert.equal(res.status, 303);
    const setCookie = res.headers.get('set-cookie');
    assert.match(setCookie, /^__Host-sb_console=v1\.\d+\.[0-9a-f]{32}\.[0-9a-f]{64}; Max-Age=43200; Path=\/; HttpOnly; Secure; SameSite=Strict$/);
    assert.ok(!setCookie.includes(ADMIN_TOKEN));
    const cookie = { cookie: cookieOf(res) };
    const stats = await get('/admin/stats', cookie);
    assert.equal(stats.status, 200);
    // Admin answers (JSON, CSV) are never cached or sniffed, whether read with cookie or token.
    for (const res of [stats, await get('/dead-letters', cookie)]) {
      assert.equal(res.headers.get('cache-control'), 'no-store');
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    }
    const shell = await get('/console/dead-letters', cookie);
    assert.equal(shell.status, 200);
    assert.match(shell.headers.get('content-security-policy'), /script-src 'self'/);
    assert.equal(shell.headers.get('cache-control'), 'no-store');
    const csrf = (await shell.text()).match(/name="csrf-token" content="([0-9a-f]{64})"/)[1];
    const replay = (headers) => mf.dispatchFetch('http://worker/dead-letters/replay', { method: 'POST', headers: { ...cookie, ...headers } });
    assert.equal((await replay({})).status, 403, 'no CSRF token');
    assert.equal((await replay({ 'x-csrf-token': '0'.repeat(64) })).status, 403, 'a wrong CSRF token');
    assert.equal((await replay({ 'x-csrf-token': csrf, origin: 'https://evil.example' })).status, 403, 'another origin');
    // Another login, in the same second: its own session (a random nonce), so the first
    // session's CSRF token is refused with it.
    const otherCookie = cookieOf(await login(ADMIN_TOKEN));
    assert.notEqual(otherCookie, cookie.cookie);
    assert.equal((await mf.dispatchFetch('http://worker/dead-letters/replay', { method: 'POST', headers: { cookie: otherCookie, 'x-csrf-token': csrf } })).status, 403, "another session's token");
    const ok = await replay({ 'x-csrf-token': csrf, origin: 'http://worker' });
    assert.equal(ok.status, 202);
    // The bearer token needs no CSRF token (it is not ambient).
    assert.equal((await mf.dispatchFetch('http://worker/dead-letters/replay', { method: 'POST', headers: auth })).status, 202);
    // A login posted from another origin is refused.
    assert.equal((await login(ADMIN_TOKEN, { origin: 'https://evil.example' })).status, 403);
    // Logout needs the CSRF token too, then clears the cookie.
    const logout = (body) => mf.dispatchFetch('http://worker/console/logout', { method: 'POST', redirect: 'manual', body, headers: { ...cookie, 'content-type': 'application/x-www-form-urlencoded' } });
    assert.equal((await logout('')).status, 403);
    const out = await logout(`csrf=${csrf}`);
    assert.equal(out.status, 303);
    assert.match(out.headers.get('set-cookie'), /^__Host-sb_console=; Max-Age=0;/);
  });
});
