// The shop's operations through the Worker in workerd (bearer SHOP_API_TOKEN), against the
// Stripe API stand-in: refunds checked against the order's state in its book and never made
// twice (a retry after a lost answer gets the first refund back), capture and cancel, customers
// found again, order updates on the order's PaymentIntent.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import * as sb from '../../pkg-js/dist/node.mjs';
import { startFakeStripe } from '../../examples/fake-stripe-api.mjs';
import { authorizedPayment, paidPayment } from '../../examples/stripe-scenarios.mjs';
import { STRIPE_SECRET, startWorker } from './harness.mjs';

const SHOP_API_TOKEN = 'shop-token-for-the-shop-tests';
const STRIPE_SECRET_KEY = 'sk_test_51WorkerShopKeyForTheLoopbackStandIn';
let n = 0;

function webhook(mf, type, object) {
  const body = JSON.stringify({ id: `evt_shop_${++n}`, object: 'event', type, created: 1700000000 + n, livemode: false, data: { object } });
  const sig = sb.generateTestHeader({ payload: body, secret: STRIPE_SECRET });
  return mf.dispatchFetch('http://worker/webhooks/stripe', { method: 'POST', body, headers: { 'stripe-signature': sig } }).then((r) => r.json());
}

function shop(mf, path, body, token = SHOP_API_TOKEN) {
  const headers = { 'content-type': 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  return mf.dispatchFetch(`http://worker${path}`, { method: 'POST', headers, body: JSON.stringify(body) }).then(async (r) => ({ status: r.status, body: await r.json() }));
}

describe('shop operations through the Worker', () => {
  let mf;
  let stripe;
  const paid = paidPayment({ currency: 'eur', amount: '50.40', orderId: 'W-1' });
  const auth = authorizedPayment({ currency: 'usd', amount: 2000, orderId: 'W-2' });
  const auth2 = authorizedPayment({ currency: 'usd', amount: 900, orderId: 'W-3', seed: 2 });
  before(async () => {
    stripe = await startFakeStripe({ apiKey: STRIPE_SECRET_KEY });
    for (const s of [paid, auth, auth2]) stripe.seed(s);
    mf = await startWorker({
      downstreamUrl: 'http://127.0.0.1:9/unused',
      vars: { SHOP_API_TOKEN, STRIPE_SECRET_KEY, STRIPE_API_BASE: stripe.url, STRIPE_MAX_RETRIES: '1', FETCH_FEES: '0' },
    });
    for (const id of [paid.expected.paymentIntentId, paid.expected.chargeId]) {
      const object = stripe.get(id);
      const result = await webhook(mf, object.object === 'charge' ? 'charge.succeeded' : 'payment_intent.succeeded', object);
      assert.equal(result.result, 'accepted', JSON.stringify(result));
    }
  });
  after(async () => {
    await mf?.dispose();
    await stripe?.close();
  });

  test('a refund is checked against the book, made once, and a retry gets it back', async () => {
    const input = { order_id: 'W-1', amount: '10.00', currency: 'EUR', reason: 'requested_by_customer', return_id: 'rr_1' };
    const first = await shop(mf, '/refunds', input);
    assert.equal(first.status, 200, JSON.stringify(first.body));
    assert.equal(first.body.refunds.length, 1);
    assert.equal(first.body.refunds[0].amount_minor, 1000);
    // The refund's webhook arrives before the shop retries (its answer was lost).
    await webhook(mf, 'refund.created', stripe.get(first.body.refunds[0].id));
    const again = await shop(mf, '/refunds', input);
    assert.equal(again.status, 200, JSON.stringify(again.body));
    assert.equal(again.body.replayed, true);
    assert.equal(again.body.refunds[0].id, first.body.refunds[0].id);
    assert.equal(stripe.objects.filter((o) => o.object === 'refund').length, 1);
    const over = await shop(mf, '/refunds', { ...input, amount: '40.41', return_id: 'rr_2' });
    assert.equal(over.status, 422);
    assert.equal(over.body.error.code, 'amount_too_large');
    const unknown = await shop(mf, '/refunds', { ...input, order_id: 'nope' });
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.result, 'unknown_order');
    assert.equal((await shop(mf, '/refunds', input, null)).status, 401);
    assert.equal((await shop(mf, '/refunds', { ...input, extra: 1 })).status, 400);
  });

  test('a refund split over payments that fails part-way: the same input again makes only the rest, as planned', async () => {
    // Three payments of 30.00 for one order; 35.00 is asked: 30.00 from one, 5.00 from another.
    const payments = [11, 12, 13].map((seed) => paidPayment({ currency: 'eur', amount: '30.00', orderId: 'W-4', seed }));
    for (const p of payments) {
      stripe.seed(p);
      for (const id of [p.expected.paymentIntentId, p.expected.chargeId]) {
        const object = stripe.get(id);
        assert.equal((await webhook(mf, object.object === 'charge' ? 'charge.succeeded' : 'payment_intent.succeeded', object)).result, 'accepted');
      }
    }
    const input = { order_id: 'W-4', amount: '35.00', currency: 'EUR', return_id: 'rr_split' };
    const refundsOfW4 = () => stripe.objects.filter((o) => o.object === 'refund' && o.metadata?.order_id === 'W-4');
    // The first part is made; the second fails (twice: STRIPE_MAX_RETRIES is 1).
    stripe.fail(undefined, { status: 500 }, { status: 500 });
    const first = await shop(mf, '/refunds', input);
    assert.equal(first.status, 502, JSON.stringify(first.body));
    assert.equal(first.body.refunds.length, 1);
    assert.equal(first.body.refunds[0].amount_minor, 3000);
    // Its webhook arrives: the order's state now shows that payment refunded.
    const made = stripe.get(first.body.refunds[0].id);
    assert.equal((await webhook(mf, 'refund.created', made)).result, 'accepted');
    const again = await shop(mf, '/refunds', input);
    assert.equal(again.status, 200, JSON.stringify(again.body));
    assert.deepEqual(again.body.refunds.map((r) => r.amount_minor), [3000, 500]);
    assert.equal(again.body.refunds[0].id, made.id);
    // 35.00 refunded in all (splitting again over the new state would have made 30.00 + 5.00 more).
    assert.equal(refundsOfW4().reduce((sum, r) => sum + r.amount, 0), 3500);
    const third = await shop(mf, '/refunds', input);
    assert.equal(third.body.replayed, true);
    assert.equal(refundsOfW4().length, 2);
  });

  test('an authorization is captured in part; another is canceled', async () => {
    const pi = auth.expected.paymentIntentId;
    const captured = await shop(mf, `/payments/${pi}/capture`, { order_id: 'W-2', amount: '15.00', currency: 'usd' });
    assert.equal(captured.status, 200, JSON.stringify(captured.body));
    assert.equal(captured.body.result, 'captured');
    assert.equal(captured.body.amount_received, 1500);
    const canceled = await shop(mf, `/payments/${auth2.expected.paymentIntentId}/cancel`, { order_id: 'W-3', reason: 'requested_by_customer' });
    assert.equal(canceled.status, 200, JSON.stringify(canceled.body));
    assert.equal(canceled.body.status, 'canceled');
    const again = await shop(mf, `/payments/${pi}/capture`, { order_id: 'W-2', currency: 'usd' });
    assert.equal(again.status, 422, 'Stripe refuses capturing a captured PaymentIntent');
    assert.equal(again.body.result, 'stripe_refused');
  });

  test('a customer is created once, then updated; an order syncs to its PaymentIntent', async () => {
    const customer = { customer_id: 'C-9', email: 'jenny@example.com', name: 'Jenny Rosen' };
    const created = await shop(mf, '/customers', customer);
    assert.equal(created.status, 200, JSON.stringify(created.body));
    assert.equal(created.body.result, 'created');
    const updated = await shop(mf, '/customers', { ...customer, phone: '+4930123456' });
    assert.equal(updated.body.result, 'updated');
    assert.equal(updated.body.id, created.body.id);
    const synced = await shop(mf, '/orders/W-1/sync', { order_number: 'SO-1', order_status: 'shipped' });
    assert.equal(synced.status, 200, JSON.stringify(synced.body));
    assert.equal(synced.body.id, paid.expected.paymentIntentId);
    assert.equal(stripe.get(paid.expected.paymentIntentId).metadata.order_number, 'SO-1');
  });

  test('bodies of any shape are refused with 400, never a crash', async () => {
    for (const body of [[1], 'text', 42, null, { order_id: 7, order_number: 5 }]) {
      for (const path of ['/orders/W-1/sync', `/payments/${auth.expected.paymentIntentId}/capture`, '/refunds', '/customers']) {
        const res = await shop(mf, path, body);
        assert.equal(res.status, 400, `${path} ${JSON.stringify(body)}: ${JSON.stringify(res.body)}`);
        assert.equal(res.body.error.code, 'invalid_request');
      }
    }
  });
});
