// The order books (Durable Objects) end to end in workerd: exact dedup under concurrency, state
// forwards with growing sequences, refunds that overtake their payment, stale attempts,
// a backend that is down for a (simulated) day, a restart of the runtime, and the admin routes.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { ADMIN_TOKEN, DOWNSTREAM_SECRET, STRIPE_SECRET, repoRoot, startDownstream, startWorker, waitFor } from './harness.mjs';
import * as sb from '../../pkg-js/dist/node.mjs';
import * as targets from '../../pkg-js/dist/targets-node.mjs';

const fixture = (name) => JSON.parse(readFileSync(join(repoRoot, 'tests/fixtures/events', name), 'utf8'));
const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };

/** A fixture as a new event of order `order`: its own event id, payment ids and order ref. */
function event(name, id, order, { created } = {}) {
  const text = JSON.stringify(fixture(name))
    .replaceAll('Order1001', `Order${order}`)
    .replaceAll('"order_id":"1001"', `"order_id":"${order}"`)
    .replaceAll('"client_reference_id":"1001"', `"client_reference_id":"${order}"`);
  const e = JSON.parse(text);
  const object = e.data.object;
  if (object.metadata?.order_id) object.metadata.order_id = order;
  if (object.client_reference_id) object.client_reference_id = order;
  e.id = id;
  if (created) e.created = created;
  return JSON.stringify(e);
}

function post(mf, body) {
  const sig = sb.generateTestHeader({ payload: body, secret: STRIPE_SECRET });
  return mf.dispatchFetch('http://worker/webhooks/stripe', { method: 'POST', body, headers: { 'stripe-signature': sig } });
}

/** What a receiver keeps: per order, the forward with the highest sequence. */
function latest(downstream) {
  const best = new Map();
  for (const r of downstream.delivered()) {
    const f = JSON.parse(r.body);
    if (typeof f.sequence !== 'number') continue;
    if (!best.has(f.order_ref) || best.get(f.order_ref).sequence < f.sequence) best.set(f.order_ref, f);
  }
  return best;
}

/** The state the npm package merges from the same events (an independent fold). */
function merged(bodies) {
  let state = null;
  for (const body of bodies) state = targets.mergeOrderState(state, sb.normalizeEvent(body));
  return state;
}

describe('order books (FORWARD=state)', () => {
  let mf;
  let downstream;
  before(async () => {
    downstream = await startDownstream();
    mf = await startWorker({ downstreamUrl: downstream.url, vars: { FORWARD: 'state' }, consumer: { maxRetries: 3 } });
  });
  after(async () => {
    await mf?.dispose();
    await downstream?.close();
  });

  test('the same event 20 times at once is accepted once and forwarded once', async () => {
    const body = event('pi_succeeded_basil.json', 'evt_book_burst', 'B1');
    const answers = await Promise.all(Array.from({ length: 20 }, () => post(mf, body).then((r) => r.json())));
    assert.equal(answers.filter((a) => a.result === 'accepted').length, 1, JSON.stringify(answers));
    assert.equal(answers.filter((a) => a.result === 'duplicate').length, 19);
    const got = await waitFor(() => latest(downstream).get('B1'), { what: 'the forward' });
    assert.equal(got.sequence, 1);
    assert.deepEqual(got.event_ids, ['evt_book_burst']);
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(downstream.delivered().filter((r) => JSON.parse(r.body).order_ref === 'B1').length, 1);
  });

  test('a refund before its payment waits, then both arrive in one state; sequences only grow', async () => {
    const refund = event('refund_created_basil.json', 'evt_book_refund', 'B2');
    const paid = event('pi_succeeded_basil.json', 'evt_book_paid', 'B2');
    const first = await (await post(mf, refund)).json();
    assert.equal(first.result, 'accepted');
    assert.equal(first.waiting, true, 'a refund without order metadata waits for its payment');
    const second = await (await post(mf, paid)).json();
    assert.equal(second.order_ref, 'B2');
    assert.equal(second.order_status, 'partially_refunded');
    const got = await waitFor(() => latest(downstream).get('B2'), { what: 'the forward' });
    assert.equal(got.state.status, 'partially_refunded');
    assert.deepEqual([...got.event_ids].sort(), ['evt_book_paid', 'evt_book_refund']);
    // The same state as an independent merge of the same events.
    assert.deepEqual(got.state, merged([refund, paid]));
    // Verified like any Standard Webhooks delivery; the webhook-id names the forward, not the event.
    const delivery = downstream.delivered().find((r) => JSON.parse(r.body).order_ref === 'B2');
    new Webhook(DOWNSTREAM_SECRET).verify(delivery.body, delivery.headers);
    assert.match(delivery.headers['webhook-id'], /^sb_[0-9a-f]{24}_1$/);
  });

  test('a stale attempt never moves the order back: the last forward says paid', async () => {
    const created = event('pi_created_basil.json', 'evt_book_created', 'B3');
    const paid = event('pi_succeeded_basil.json', 'evt_book_paid3', 'B3');
    const expired = event('checkout_session_expired_clover.json', 'evt_book_expired', 'B3');
    for (const body of [paid, expired, created]) assert.equal((await (await post(mf, body)).json()).result, 'accepted');
    await waitFor(() => latest(downstream).get('B3')?.state.attempts.length === 2, { what: 'forwards' });
    await new Promise((r) => setTimeout(r, 500));
    const last = latest(downstream).get('B3');
    assert.equal(last.state.status, 'paid');
    assert.deepEqual(last.state, merged([created, paid, expired]));
    // Changes only: the late `created` changed nothing, so it has no forward of its own.
    const sequences = downstream.delivered().map((r) => JSON.parse(r.body)).filter((f) => f.order_ref === 'B3').map((f) => f.sequence);
    assert.deepEqual([...new Set(sequences)].sort(), [...Array(last.sequence).keys()].map((i) => i + 1));
  });

  test('waiting records are released in chains: invoice payment → charge → refund', async () => {
    const raw = (name, id, edit) => {
      const e = fixture(name);
      e.id = id;
      edit?.(e.data.object);
      return JSON.stringify(e);
    };
    const inpay = raw('invoice_payment_paid_basil.json', 'evt_chain_inpay');
    // A charge of the invoice's PaymentIntent, without order metadata: it names only its PI.
    const charge = raw('charge_succeeded_basil.json', 'evt_chain_charge', (o) => {
      Object.assign(o, { id: 'ch_3QbasilSub42', payment_intent: 'pi_3QbasilSub42', metadata: {}, amount: 1500, amount_captured: 1500 });
    });
    const refund = raw('refund_created_basil.json', 'evt_chain_refund', (o) => {
      Object.assign(o, { id: 're_chain_1', charge: 'ch_3QbasilSub42', payment_intent: null, amount: 500 });
    });
    const invoice = raw('invoice_paid_basil.json', 'evt_chain_invoice');
    for (const body of [refund, inpay, charge]) assert.equal((await (await post(mf, body)).json()).waiting, true);
    assert.equal((await (await post(mf, invoice)).json()).order_ref, 'SUB-42');
    const entry = await (await mf.dispatchFetch('http://worker/orders/SUB-42', { headers: auth })).json();
    assert.deepEqual([...entry.event_ids].sort(), ['evt_chain_charge', 'evt_chain_inpay', 'evt_chain_invoice', 'evt_chain_refund']);
    assert.deepEqual(entry.state, merged([refund, inpay, charge, invoice]));
    assert.equal(entry.state.status, 'partially_refunded');
  });

  test('GET /orders/{ref} (admin) returns the state, sequence and event ids', async () => {
    assert.equal((await mf.dispatchFetch('http://worker/orders/B2')).status, 401);
    const res = await mf.dispatchFetch('http://worker/orders/B2', { headers: auth });
    assert.equal(res.status, 200);
    const entry = await res.json();
    assert.equal(entry.order_ref, 'B2');
    assert.equal(entry.state.status, 'partially_refunded');
    assert.deepEqual([...entry.event_ids].sort(), ['evt_book_paid', 'evt_book_refund']);
    assert.equal((await mf.dispatchFetch('http://worker/orders/nope', { headers: auth })).status, 404);
    // A reference with characters a path percent-encodes ('+' is itself, not a space).
    const ref = '#B7 ü+1';
    assert.equal((await (await post(mf, event('pi_succeeded_basil.json', 'evt_book_encoded', ref))).json()).order_ref, ref);
    const encoded = await mf.dispatchFetch(`http://worker/orders/${encodeURIComponent(ref)}`, { headers: auth });
    assert.equal(encoded.status, 200);
    assert.equal((await encoded.json()).order_ref, ref);
  });

  test('GET /healthz?deep=1 (admin) checks the configuration; details never reach anonymous callers', async () => {
    assert.equal((await mf.dispatchFetch('http://worker/healthz?deep=1')).status, 401);
    const res = await mf.dispatchFetch('http://worker/healthz?deep=1', { headers: auth });
    assert.equal(res.status, 200);
    const { checks } = await res.json();
    assert.deepEqual(Object.keys(checks).sort(), ['books', 'dead_letters', 'forward', 'payout_ledgers', 'queue', 'receive', 'reconcile_queue']);
    assert.ok(Object.values(checks).every((v) => v === 'ok'), JSON.stringify(checks));
  });
});

describe('order books: a backend down for a simulated day, two signing secrets, a restart', () => {
  test('everything is delivered after the outage, signed with both secrets; a restart loses nothing', async () => {
    const persist = mkdtempSync(join(tmpdir(), 'sb-books-'));
    let down = true;
    const downstream = await startDownstream(() => (down ? 503 : 200));
    const second = 'whsec_c2Vjb25kLXN0cmlwZS1icmlkZ2UtZG93bnN0cmVhbS1rZXk=';
    // RETRY_BASE_SECONDS 1 / RETRY_MAX_SECONDS 2: a day of Stripe's backoff in seconds.
    const vars = { FORWARD: 'state', RETRY_MAX_SECONDS: '2', DOWNSTREAM_SECRET: `${DOWNSTREAM_SECRET},${second}` };
    const start = () => startWorker({ downstreamUrl: downstream.url, vars, consumer: { maxRetries: 50 }, persist });
    let mf = await start();
    try {
      const bodies = ['pi_created_basil.json', 'pi_succeeded_basil.json', 'refund_created_basil.json'].map((n, i) => event(n, `evt_book_day_${i}`, 'B4'));
      for (const body of bodies) assert.equal((await (await post(mf, body)).json()).result, 'accepted');
      await waitFor(() => downstream.received.length >= 6, { what: 'failed attempts' });
      down = false;
      const last = await waitFor(() => {
        const f = latest(downstream).get('B4');
        return f?.state.status === 'partially_refunded' && f;
      }, { what: 'delivery after the outage', ms: 30000 });
      assert.deepEqual(last.state, merged(bodies));
      const delivery = downstream.delivered().at(-1);
      for (const secret of [DOWNSTREAM_SECRET, second]) new Webhook(secret).verify(delivery.body, delivery.headers);
      // Restart the runtime on the same storage: the events are still known, the order too.
      await mf.dispose();
      mf = await start();
      assert.equal((await (await post(mf, bodies[1])).json()).result, 'duplicate');
      const entry = await (await mf.dispatchFetch('http://worker/orders/B4', { headers: auth })).json();
      assert.equal(entry.state.status, 'partially_refunded');
      assert.equal(entry.sequence, last.sequence);
    } finally {
      await mf.dispose();
      await downstream.close();
      rmSync(persist, { recursive: true, force: true });
    }
  });
});
