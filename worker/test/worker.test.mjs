// End to end through workerd (Miniflare) with the built Worker and a real local HTTP server as
// the shop backend.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { ADMIN_TOKEN, DOWNSTREAM_SECRET, STRIPE_SECRET, repoRoot, startDownstream, startWorker, waitFor } from './harness.mjs';
import * as sb from '../../pkg-js/dist/node.mjs';

const fixture = (name) => readFileSync(join(repoRoot, 'tests/fixtures/events', name), 'utf8');

/** A fresh copy of a fixture with its own event id (every test owns its events). */
function event(name, id) {
  const e = JSON.parse(fixture(name));
  e.id = id;
  return JSON.stringify(e);
}

function post(mf, body, { secret = STRIPE_SECRET, header, method = 'POST', path = '/webhooks/stripe' } = {}) {
  const sig = header ?? sb.generateTestHeader({ payload: body, secret });
  return mf.dispatchFetch(`http://worker${path}`, { method, body: method === 'GET' ? undefined : body, headers: { 'stripe-signature': sig } });
}

describe('stripe-bridge Worker', () => {
  let mf;
  let downstream;
  // Per event id: how the backend answers each attempt.
  const plans = new Map();
  before(async () => {
    downstream = await startDownstream((id, attempt) => {
      const plan = plans.get(id);
      return plan ? plan(attempt) : 200;
    });
    mf = await startWorker({ downstreamUrl: downstream.url, consumer: { maxRetries: 3 } });
  });
  after(async () => {
    await mf?.dispose();
    await downstream?.close();
  });

  const deliveredFor = (id) => downstream.delivered().filter((r) => r.id === id);

  test('a signed event is forwarded once, with a valid Standard Webhooks signature', async () => {
    const body = event('pi_succeeded_basil.json', 'evt_e2e_forward');
    const res = await post(mf, body);
    assert.equal(res.status, 200);
    const accepted = await res.json();
    assert.equal(accepted.result, 'accepted');
    assert.equal(accepted.event_id, 'evt_e2e_forward');
    assert.equal(accepted.status, 'paid');
    assert.equal(accepted.order_ref, '1001');
    const [got] = await waitFor(() => deliveredFor('evt_e2e_forward').length && deliveredFor('evt_e2e_forward'), { what: 'delivery' });
    // Any Standard Webhooks library verifies it (the npm reference implementation here).
    const verified = new Webhook(DOWNSTREAM_SECRET).verify(got.body, got.headers);
    assert.equal(verified.event_id, 'evt_e2e_forward');
    assert.deepEqual(verified, sb.normalizeEvent(body));
    assert.equal(got.headers['webhook-id'], 'evt_e2e_forward');
    assert.equal(got.headers['content-type'], 'application/json');
    // Only the normalized record travels: no raw event, no secrets.
    assert.ok(!got.body.includes('client_secret') && !got.body.includes(STRIPE_SECRET));
    await waitFor(async () => (await (await mf.getKVNamespace('DEDUP')).get('evt:evt_e2e_forward', 'json'))?.state === 'delivered', { what: 'delivered state' });
  });

  test('the same event again is not forwarded twice', async () => {
    const body = event('charge_succeeded_basil.json', 'evt_e2e_dup');
    assert.equal((await (await post(mf, body)).json()).result, 'accepted');
    await waitFor(() => deliveredFor('evt_e2e_dup').length === 1, { what: 'first delivery' });
    for (let i = 0; i < 3; i++) {
      const res = await post(mf, body);
      assert.equal(res.status, 200);
      assert.equal((await res.json()).result, 'duplicate');
    }
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(downstream.received.filter((r) => r.id === 'evt_e2e_dup').length, 1);
  });

  test('a bad signature gets 400 and writes nothing', async () => {
    const body = event('pi_succeeded_basil.json', 'evt_e2e_badsig');
    for (const opts of [{ secret: 'whsec_wrong' }, { header: '' }, { header: 't=1,v1=abc' }]) {
      const res = await post(mf, body, opts);
      assert.equal(res.status, 400);
      assert.equal((await res.json()).result, 'bad_signature');
    }
    const signedTampered = sb.generateTestHeader({ payload: body, secret: STRIPE_SECRET });
    const res = await post(mf, body.replace('2198', '2199'), { header: signedTampered });
    assert.equal((await res.json()).error, 'no_match');
    assert.equal(await (await mf.getKVNamespace('DEDUP')).get('evt:evt_e2e_badsig'), null);
    await new Promise((r) => setTimeout(r, 1200));
    assert.equal(downstream.received.filter((r) => r.id === 'evt_e2e_badsig').length, 0);
  });

  test('a downstream that fails, then succeeds, receives the event', async () => {
    plans.set('evt_e2e_flaky', (attempt) => (attempt <= 2 ? 503 : 200));
    const body = event('refund_created_basil.json', 'evt_e2e_flaky');
    assert.equal((await (await post(mf, body)).json()).result, 'accepted');
    await waitFor(() => deliveredFor('evt_e2e_flaky').length === 1, { what: 'delivery after failures' });
    const attempts = downstream.received.filter((r) => r.id === 'evt_e2e_flaky').map((r) => r.status);
    assert.deepEqual(attempts, [503, 503, 200]);
  });

  test('one that always fails ends in the dead-letter queue; a replayed dead letter is delivered', async () => {
    let fixed = false;
    plans.set('evt_e2e_dead', () => (fixed ? 200 : 500));
    const body = event('invoice_paid_basil.json', 'evt_e2e_dead');
    assert.equal((await (await post(mf, body)).json()).result, 'accepted');
    const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };
    const listed = await waitFor(
      async () => {
        const res = await mf.dispatchFetch('http://worker/dead-letters', { headers: auth });
        const json = await res.json();
        return json.dead_letters?.find((d) => d.event_id === 'evt_e2e_dead');
      },
      { what: 'dead letter', ms: 30000 },
    );
    assert.equal(listed.event_type, 'invoice.paid');
    assert.equal(listed.last_error, 'HTTP 500');
    // maxRetries 3: the first attempt and three retries.
    assert.equal(downstream.received.filter((r) => r.id === 'evt_e2e_dead').length, 4);
    assert.equal((await (await mf.getKVNamespace('DEDUP')).get('evt:evt_e2e_dead', 'json')).state, 'dead_lettered');
    // Kept without the customer's e-mail or name, and only for DEAD_LETTER_TTL_DAYS.
    const letters = await mf.getKVNamespace('DEAD_LETTERS');
    const kept = await letters.get('dl:evt_e2e_dead', 'json');
    assert.ok(!('customer_email' in JSON.parse(kept.message.body)) && !('customer_name' in JSON.parse(kept.message.body)), kept.message.body);
    const { keys } = await letters.list({ prefix: 'dl:evt_e2e_dead' });
    const days = (keys[0].expiration - Date.now() / 1000) / 86400;
    assert.ok(days > 29 && days <= 30, `expires in ${days} days`);
    // The admin routes need the token.
    assert.equal((await mf.dispatchFetch('http://worker/dead-letters')).status, 401);
    assert.equal((await mf.dispatchFetch('http://worker/dead-letters/evt_e2e_dead/replay', { method: 'POST', headers: { authorization: 'Bearer nope' } })).status, 401);
    fixed = true;
    const replay = await mf.dispatchFetch('http://worker/dead-letters/evt_e2e_dead/replay', { method: 'POST', headers: auth });
    assert.equal(replay.status, 202);
    await waitFor(() => deliveredFor('evt_e2e_dead').length === 1, { what: 'replayed delivery' });
    const verified = new Webhook(DOWNSTREAM_SECRET).verify(deliveredFor('evt_e2e_dead')[0].body, deliveredFor('evt_e2e_dead')[0].headers);
    assert.equal(verified.invoice, 'in_1QbasilSub42');
    const after = await (await mf.dispatchFetch('http://worker/dead-letters', { headers: auth })).json();
    assert.ok(!after.dead_letters.some((d) => d.event_id === 'evt_e2e_dead'));
    assert.equal((await mf.dispatchFetch('http://worker/dead-letters/evt_missing/replay', { method: 'POST', headers: auth })).status, 404);
  });

  test('bulk replay: every undelivered dead letter, or those since a time', async () => {
    let fixed = false;
    const ids = ['evt_e2e_bulk_1', 'evt_e2e_bulk_2'];
    for (const id of ids) plans.set(id, () => (fixed ? 200 : 500));
    for (const id of ids) assert.equal((await (await post(mf, event('invoice_paid_basil.json', id))).json()).result, 'accepted');
    const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };
    const listed = async () => (await (await mf.dispatchFetch('http://worker/dead-letters', { headers: auth })).json()).dead_letters;
    await waitFor(async () => (await listed()).filter((d) => ids.includes(d.event_id)).length === 2, { what: 'two dead letters', ms: 30000 });
    fixed = true;
    // Since a time in the future: nothing; then all.
    const none = await (await mf.dispatchFetch(`http://worker/dead-letters/replay?since=${Date.now() + 3600000}`, { method: 'POST', headers: auth })).json();
    assert.equal(none.replayed, 0);
    const res = await mf.dispatchFetch('http://worker/dead-letters/replay', { method: 'POST', headers: auth });
    assert.equal(res.status, 202);
    assert.ok((await res.json()).replayed >= 2);
    await waitFor(() => ids.every((id) => deliveredFor(id).length === 1), { what: 'bulk replayed deliveries' });
    assert.equal((await mf.dispatchFetch('http://worker/dead-letters/replay', { method: 'POST' })).status, 401);
  });

  test('ignored event types are acknowledged, recorded, not forwarded', async () => {
    const e = JSON.parse(fixture('pi_succeeded_basil.json'));
    Object.assign(e, { id: 'evt_e2e_ignored', type: 'setup_intent.succeeded' });
    e.data.object = { id: 'seti_1', object: 'setup_intent', status: 'succeeded' };
    const body = JSON.stringify(e);
    assert.deepEqual(await (await post(mf, body)).json(), { result: 'ignored', event_id: 'evt_e2e_ignored' });
    assert.equal((await (await post(mf, body)).json()).result, 'duplicate');
    await new Promise((r) => setTimeout(r, 1200));
    assert.equal(downstream.received.filter((r) => r.id === 'evt_e2e_ignored').length, 0);
  });

  test('one structured JSON log line per request, never secrets or payloads', async () => {
    const body = event('checkout_session_completed_clover.json', 'evt_e2e_logs');
    await post(mf, body);
    const line = await waitFor(() => mf.logs.find((l) => l.includes('"evt_e2e_logs"') && l.includes('"path"')), { what: 'log line' });
    const entry = JSON.parse(line.slice(line.indexOf('{')));
    assert.equal(entry.outcome, 'accepted');
    assert.equal(entry.event_type, 'checkout.session.completed');
    assert.equal(entry.status, 200);
    assert.equal(typeof entry.latency_ms, 'number');
    const all = mf.logs.join('\n');
    for (const secret of [STRIPE_SECRET, DOWNSTREAM_SECRET, ADMIN_TOKEN, 'jenny.rosen@example.com', 'Oyster Point', '_secret_redacted']) {
      assert.ok(!all.includes(secret), `logs must not contain ${secret}`);
    }
  });

  test('the CLI replay command signs event files and posts them to the Worker', async () => {
    const cli = join(repoRoot, 'target/debug/stripe-bridge');
    const base = await mf.ready;
    const files = ['payout_paid_basil.json', 'invoice_payment_paid_basil.json'].map((f) => join(repoRoot, 'tests/fixtures/events', f));
    const out = execFileSync(cli, ['replay', '--to', new URL('/webhooks/stripe', base).toString(), '--secret', STRIPE_SECRET, ...files], { encoding: 'utf8' });
    assert.equal(out.trim().split('\n').length, 2);
    assert.ok(out.split('\n').filter(Boolean).every((line) => line.includes('-> 200') && line.includes('"result":"accepted"')), out);
    await waitFor(() => deliveredFor('evt_basil_po_paid').length && deliveredFor('evt_basil_inpay_paid').length, { what: 'replayed events delivered' });
  });

  test('HTTP contract: 400 malformed, 405, 404, 413, healthz', async () => {
    const notJson = 'definitely not json';
    let res = await post(mf, notJson);
    assert.equal(res.status, 400);
    assert.equal((await res.json()).result, 'malformed_event');
    res = await post(mf, '{}', { method: 'GET' });
    assert.equal(res.status, 405);
    assert.equal(res.headers.get('allow'), 'POST');
    res = await post(mf, '{}', { method: 'PUT' });
    assert.equal(res.status, 405);
    res = await mf.dispatchFetch('http://worker/nope');
    assert.equal(res.status, 404);
    // Without SHOP_API_TOKEN the payment route is off.
    res = await mf.dispatchFetch('http://worker/payment-requests', { method: 'POST', body: '{}', headers: { authorization: 'Bearer ' } });
    assert.equal(res.status, 404);
    const big = 'x'.repeat(1024 * 1024 + 1);
    res = await post(mf, big);
    assert.equal(res.status, 413);
    res = await mf.dispatchFetch('http://worker/healthz');
    assert.equal(res.status, 200);
    assert.equal((await res.json()).result, 'ok');
  });
});

describe('stripe-bridge Worker with a target profile', () => {
  test('TARGET_PROFILE forwards the mapped body; MAPPING_JSON takes a custom mapping', async () => {
    const downstream = await startDownstream();
    const mapping = JSON.stringify({
      status_map: { paid: 'PAID', '*': 'OTHER' },
      require: ['order_ref'],
      fields: { order: { path: 'order_ref' }, state: { status: true }, total: { path: 'amount' } },
    });
    for (const [vars, check] of [
      [{ TARGET_PROFILE: 'nopcommerce' }, (body) => body.payment_status_id === 30 && body.order_id === '1001' && body.paid_amount === '21.98'],
      [{ TARGET_PROFILE: 'salesforce' }, (body) => body.compositeRequest[0].body.Status__c === 'paid'],
      [{ TARGET_PROFILE: 'erp', MAPPING_JSON: mapping }, (body) => body.order === '1001' && body.state === 'PAID' && body.total === '21.98'],
    ]) {
      const mf = await startWorker({ downstreamUrl: downstream.url, vars });
      try {
        const id = `evt_e2e_profile_${Object.values(vars).join('').length}`;
        const res = await post(mf, event('pi_succeeded_basil.json', id));
        assert.equal((await res.json()).result, 'accepted');
        const got = await waitFor(() => downstream.delivered().find((r) => r.id === id), { what: `${JSON.stringify(vars)} delivery` });
        const body = new Webhook(DOWNSTREAM_SECRET).verify(got.body, got.headers);
        assert.ok(check(body), `${JSON.stringify(vars)}: ${got.body}`);
        // Events the profile has nothing for are acknowledged and not forwarded.
        const customer = JSON.parse(fixture('customer_created_basil.json'));
        customer.id = `${id}_customer`;
        const skipped = await (await post(mf, JSON.stringify(customer))).json();
        // (Kept by the order book as accepted; nothing is forwarded for it.)
        assert.equal(skipped.result, 'accepted');
        await new Promise((r) => setTimeout(r, 300));
        if (vars.TARGET_PROFILE === 'nopcommerce') assert.ok(!downstream.received.some((r) => r.id === customer.id));
      } finally {
        await mf.dispose();
      }
    }
    // A broken mapping is a configuration error (500: Stripe retries while it is fixed).
    const mf = await startWorker({ downstreamUrl: downstream.url, vars: { MAPPING_JSON: '{"fields":{"x":{"path":"amout"}}}' } });
    try {
      const res = await post(mf, event('pi_succeeded_basil.json', 'evt_e2e_badmapping'));
      assert.equal(res.status, 500);
      assert.equal((await res.json()).error, undefined, 'details only in the log');
      assert.ok(mf.logs.some((l) => l.includes('config_error') && l.includes('fields.x.path: unknown record field')));
    } finally {
      await mf.dispose();
      await downstream.close();
    }
  });
});

describe('stripe-bridge Worker without a reachable queue', () => {
  test('an unavailable queue loses nothing: the event is kept in its order book (outbox), then a duplicate', async () => {
    const mf = await startWorker({ downstreamUrl: 'http://127.0.0.1:9/unused', withoutQueue: true });
    try {
      const body = event('pi_succeeded_basil.json', 'evt_e2e_noqueue');
      const res = await post(mf, body);
      assert.equal(res.status, 200);
      assert.equal((await res.json()).result, 'accepted');
      assert.ok(mf.logs.some((l) => l.includes('queue_unavailable')), 'the queue failure is logged');
      // Kept: Stripe's retry is a duplicate; the forward waits in the book's outbox for the queue.
      assert.equal((await (await post(mf, body)).json()).result, 'duplicate');
    } finally {
      await mf.dispose();
    }
  });
});
