// The shop's operations in stripe-bridge/payments against the Stripe API stand-in (which checks
// every body against Stripe's OpenAPI description and keeps state as Stripe does): refunds
// checked against the order's state and never made twice, capture and cancel of an
// authorization, customers found again by the shop's id, order updates.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import * as payments from '../dist/payments-node.mjs';
import * as sb from '../dist/node.mjs';
import * as targets from '../dist/targets-node.mjs';
import { startFakeStripe } from '../../examples/fake-stripe-api.mjs';
import { authorizedPayment, paidPayment } from '../../examples/stripe-scenarios.mjs';

const apiKey = 'sk_test_51NpmShopKeyForTheLoopbackStandIn';
let n = 0;

/** The order state after Stripe's events about these objects (as the Worker would merge them). */
function stateOf(...objects) {
  let state = null;
  for (const object of objects) {
    const type = object.object === 'refund' ? 'refund.created' : object.object === 'charge' ? 'charge.succeeded' : 'payment_intent.succeeded';
    const body = JSON.stringify({ id: `evt_${++n}`, object: 'event', type, created: 1700000000 + n, livemode: false, data: { object } });
    state = targets.mergeOrderState(state, sb.normalizeEvent(body));
  }
  return state;
}

describe('shop operations (npm)', () => {
  let stripe;
  const options = () => ({ apiKey, apiBase: stripe.url });
  before(async () => {
    stripe = await startFakeStripe({ apiKey });
  });
  after(() => stripe?.close());

  test('a partial refund, retried, is made once; more than remains is refused before Stripe', async () => {
    const scenario = paidPayment({ currency: 'eur', amount: '50.40', orderId: 'S-1' });
    stripe.seed(scenario);
    const { paymentIntentId, chargeId } = scenario.expected;
    const state = stateOf(stripe.get(paymentIntentId), stripe.get(chargeId));
    const input = { order_id: 'S-1', amount: '20.00', currency: 'EUR', reason: 'requested_by_customer', return_id: 'rr_7' };
    const [first] = await payments.createRefunds(input, state, options());
    assert.equal(first.amount, 2000);
    assert.equal(first.metadata.return_id, 'rr_7');
    const [again] = await payments.createRefunds(input, state, options());
    assert.equal(again.id, first.id, 'the same request, the same refund');
    assert.equal(again.lastResponse.replayed, true);
    assert.equal(stripe.objects.filter((o) => o.object === 'refund').length, 1);
    const after = targets.mergeOrderState(state, sb.normalizeEvent(JSON.stringify({ id: 'evt_r1', object: 'event', type: 'refund.created', created: 1700009999, data: { object: stripe.get(first.id) } })));
    assert.throws(
      () => payments.buildRefunds({ ...input, amount: '30.41', return_id: 'rr_8' }, after),
      (e) => e.type === 'StripePaymentRequestError' && e.code === 'amount_too_large',
    );
    const rest = await payments.createRefunds({ order_id: 'S-1', currency: 'eur', return_id: 'rr_9' }, after, options());
    assert.equal(rest[0].amount, 3040, 'no amount: all that remains');
    assert.throws(() => payments.buildRefunds({ ...input, currency: 'usd' }, state), (e) => e.code === 'currency_mismatch');
  });

  test('a split refund failing part-way: the error names the requests not made, and sending them finishes it', async () => {
    const scenarios = [21, 22, 23].map((seed) => paidPayment({ currency: 'eur', amount: '30.00', orderId: 'S-9', seed }));
    for (const s of scenarios) stripe.seed(s);
    const state = stateOf(...scenarios.flatMap((s) => [stripe.get(s.expected.paymentIntentId), stripe.get(s.expected.chargeId)]));
    const input = { order_id: 'S-9', amount: '35.00', currency: 'EUR', return_id: 'rr_split' };
    stripe.fail(undefined, { status: 400, error: { type: 'invalid_request_error', code: 'parameter_invalid_integer', message: 'no' } });
    const failure = await payments.createRefunds(input, state, options()).then(() => assert.fail('resolved'), (e) => e);
    assert.deepEqual(failure.refunds.map((r) => r.amount), [3000]);
    assert.deepEqual(failure.remaining.map((r) => r.amount_minor), [500]);
    const rest = await Promise.all(failure.remaining.map((r) => payments.sendStripeRequest(r, options())));
    const made = stripe.objects.filter((o) => o.object === 'refund' && o.metadata?.order_id === 'S-9');
    assert.equal(made.reduce((sum, r) => sum + r.amount, 0), 3500);
    // The same input with the same state: the same plan and keys, nothing made again.
    const again = await payments.createRefunds(input, state, options());
    assert.deepEqual(again.map((r) => r.id), [failure.refunds[0].id, rest[0].id]);
    assert.equal(stripe.objects.filter((o) => o.object === 'refund' && o.metadata?.order_id === 'S-9').length, 2);
  });

  test('an authorization is captured in part, or canceled; a paid one is not canceled', async () => {
    const auth = authorizedPayment({ currency: 'usd', amount: 2000, orderId: 'S-2' });
    stripe.seed(auth);
    const pi = auth.expected.paymentIntentId;
    const captured = await payments.capturePayment({ order_id: 'S-2', payment_intent: pi, amount: '15.00', currency: 'usd' }, options());
    assert.equal(captured.status, 'succeeded');
    assert.equal(captured.amount_received, 1500);
    const other = authorizedPayment({ currency: 'usd', amount: 900, orderId: 'S-3', seed: 2 });
    stripe.seed(other);
    const canceled = await payments.cancelPayment({ order_id: 'S-3', payment_intent: other.expected.paymentIntentId, reason: 'requested_by_customer' }, options());
    assert.equal(canceled.status, 'canceled');
    const paid = paidPayment({ currency: 'usd', amount: 1000, orderId: 'S-4', seed: 3 });
    const state = stateOf(...paid.objects.filter((o) => o.object !== 'balance_transaction'));
    assert.throws(() => payments.buildCancel({ order_id: 'S-4', payment_intent: paid.expected.paymentIntentId }, state), (e) => e.code === 'already_captured');
  });

  test('a shop customer is created once, then found by its id and updated', async () => {
    const customer = { customer_id: 'C-42', email: 'jenny@example.com', name: 'Jenny Rosen', address: { city: 'Berlin', country: 'DE' } };
    const created = await payments.syncCustomer(customer, options());
    assert.equal(created.result, 'created');
    assert.equal(created.customer.metadata.customer_id, 'C-42');
    const updated = await payments.syncCustomer({ ...customer, name: 'Jenny R.' }, options());
    assert.equal(updated.result, 'updated');
    assert.equal(updated.customer.id, created.customer.id);
    assert.equal(stripe.objects.filter((o) => o.object === 'customer').length, 1);
  });

  test('an order update sets number and status on its PaymentIntent', async () => {
    const paid = paidPayment({ currency: 'jpy', amount: 5000, orderId: 'S-5', seed: 4 });
    stripe.seed(paid);
    const pi = await payments.updateOrderPayment({ order_id: 'S-5', payment_intent: paid.expected.paymentIntentId, order_number: 'SO-5', order_status: 'shipped' }, options());
    assert.equal(pi.metadata.order_number, 'SO-5');
    assert.equal(pi.metadata.order_status, 'shipped');
    assert.throws(() => payments.buildOrderUpdate({ order_id: 'S-5', payment_intent: '../x' }), (e) => e.code === 'invalid_id');
  });
});
