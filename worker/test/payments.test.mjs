// POST /payment-requests in workerd (Miniflare): the Worker creates Checkout Sessions on a local
// stand-in of Stripe's API (examples/fake-stripe-api.mjs on 127.0.0.1) with STRIPE_SECRET_KEY.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { buildCheckoutSession } from '../../pkg-js/dist/payments-node.mjs';
import { startFakeStripe } from '../../examples/fake-stripe-api.mjs';
import { repoRoot, startWorker } from './harness.mjs';

const SHOP_API_TOKEN = 'shop-token-for-the-worker-tests';
const STRIPE_SECRET_KEY = 'sk_test_51WorkerFakeKeyForTheLoopbackStandIn';
const order = (changes = {}) => ({ ...JSON.parse(readFileSync(join(repoRoot, 'tests/fixtures/orders/order-1001.json'), 'utf8')), ...changes });

function create(mf, body, { token = SHOP_API_TOKEN, method = 'POST' } = {}) {
  const headers = { 'content-type': 'application/json' };
  if (token !== null) headers.authorization = `Bearer ${token}`;
  return mf.dispatchFetch('http://worker/payment-requests', { method, headers, body: typeof body === 'string' ? body : JSON.stringify(body) });
}

describe('POST /payment-requests', () => {
  let mf;
  let stripe;
  before(async () => {
    stripe = await startFakeStripe({ apiKey: STRIPE_SECRET_KEY, apiVersion: '2025-09-30.clover' });
    mf = await startWorker({
      downstreamUrl: 'http://127.0.0.1:9/unused',
      vars: { SHOP_API_TOKEN, STRIPE_SECRET_KEY, STRIPE_API_BASE: stripe.url, STRIPE_MAX_RETRIES: '2', STRIPE_TIMEOUT_MS: '2000' },
    });
  });
  after(async () => {
    await mf?.dispose();
    await stripe?.close();
  });

  test('needs the shop token', async () => {
    stripe.reset();
    for (const token of [null, 'wrong', `${SHOP_API_TOKEN}x`, '']) {
      const res = await create(mf, order(), { token });
      assert.equal(res.status, 401, String(token));
      assert.deepEqual(await res.json(), { result: 'unauthorized' });
    }
    const get = await create(mf, undefined, { method: 'GET' });
    assert.equal(get.status, 405);
    assert.equal(get.headers.get('allow'), 'POST');
    assert.equal(stripe.requests.length, 0);
  });

  test('creates a Checkout Session and answers its id and URL', async () => {
    stripe.reset();
    const res = await create(mf, order());
    assert.equal(res.status, 200);
    const body = await res.json();
    const built = buildCheckoutSession(order());
    assert.equal(body.result, 'created');
    assert.match(body.id, /^cs_test_/);
    assert.equal(body.url, stripe.objects[0].url);
    assert.deepEqual(
      [body.order_id, body.amount_minor, body.currency, body.idempotency_key, body.replayed],
      ['1001', 5040, 'EUR', built.idempotency_key, false],
    );
    assert.equal(typeof body.expires_at, 'number');
    const [req] = stripe.requests;
    assert.equal(req.path, '/v1/checkout/sessions');
    assert.equal(req.headers.authorization, `Bearer ${STRIPE_SECRET_KEY}`);
    assert.equal(req.headers['idempotency-key'], built.idempotency_key);
    assert.equal(req.headers['stripe-version'], '2025-09-30.clover');
    assert.equal(req.headers['content-type'], 'application/x-www-form-urlencoded');
    assert.equal(req.body, built.body, 'the same core builds the same body in the Worker and in npm');
    assert.equal(stripe.objects[0].amount_total, 5040);
  });

  test('the same order again gets the same session (Stripe replays the idempotent request)', async () => {
    stripe.reset();
    const first = await (await create(mf, order())).json();
    const again = await (await create(mf, order())).json();
    assert.equal(again.id, first.id);
    assert.equal(again.replayed, true);
    assert.equal(stripe.objects.length, 1);
    const next = await (await create(mf, order({ attempt: 1 }))).json();
    assert.notEqual(next.id, first.id);
  });

  test('an invalid order is a 400 naming the field, and nothing reaches Stripe', async () => {
    stripe.reset();
    const cases = [
      [order({ total: '50.41' }), 'total', 'total_mismatch'],
      [order({ currency: 'jpy' }), 'lines[0].unit_price', 'amount_too_precise'],
      [order({ success_url: undefined }), 'success_url', 'required'],
      [order({ colour: 'blue' }), 'order', 'invalid_order'],
      ['{"id":', 'order', 'invalid_order'],
    ];
    for (const [o, field, code] of cases) {
      const res = await create(mf, o);
      assert.equal(res.status, 400);
      const body = await res.json();
      assert.equal(body.result, 'invalid_order');
      assert.deepEqual([body.error.field, body.error.code], [field, code], body.error.message);
    }
    assert.equal(stripe.requests.length, 0);
  });

  test('Stripe 500 then 429: retried with the same key, then created', async () => {
    stripe.reset();
    stripe.fail({ status: 500 }, { status: 429, error: { type: 'invalid_request_error', code: 'rate_limit', message: 'Too many requests' } });
    const body = await (await create(mf, order({ attempt: 7 }))).json();
    assert.equal(body.result, 'created');
    assert.equal(stripe.requests.length, 3);
    assert.equal(new Set(stripe.requests.map((r) => r.headers['idempotency-key'])).size, 1);
    assert.equal(stripe.objects.length, 1);
  });

  test('a response lost after creation: the retry gets the same session, no second one', async () => {
    stripe.reset();
    stripe.fail({ drop: 'after' });
    const body = await (await create(mf, order({ attempt: 8 }))).json();
    assert.equal(body.result, 'created');
    assert.equal(body.id, stripe.objects[0].id);
    assert.equal(body.replayed, true);
    assert.equal(stripe.objects.length, 1);
  });

  test("Stripe's refusals are a 422 with Stripe's error, not retried", async () => {
    stripe.reset();
    stripe.fail({ status: 400, error: { type: 'invalid_request_error', code: 'parameter_invalid_string', param: 'locale', message: 'Invalid locale' } });
    const res = await create(mf, order({ attempt: 9 }));
    assert.equal(res.status, 422);
    const body = await res.json();
    assert.equal(body.result, 'stripe_refused');
    assert.deepEqual(
      [body.stripe.type, body.stripe.code, body.stripe.param, body.stripe.status, body.attempts],
      ['StripeInvalidRequestError', 'parameter_invalid_string', 'locale', 400, 1],
    );
    assert.match(body.stripe.request_id, /^req_/);
    assert.equal(stripe.requests.length, 1);
  });

  test('Stripe down or unreachable: 502 after the retries, so the shop tries again later', async () => {
    stripe.reset();
    stripe.fail({ status: 503 }, { status: 503 }, { status: 503 });
    const res = await create(mf, order({ attempt: 10 }));
    assert.equal(res.status, 502);
    const body = await res.json();
    assert.deepEqual([body.result, body.attempts, body.stripe.type], ['stripe_unavailable', 3, 'StripeAPIError']);
    assert.equal(stripe.requests.length, 3);
    stripe.reset();
    stripe.fail({ hang: true }, { hang: true }, { hang: true });
    const slow = await create(mf, order({ attempt: 11 }));
    assert.equal(slow.status, 502);
    const slowBody = await slow.json();
    assert.equal(slowBody.result, 'stripe_unreachable');
    assert.match(slowBody.stripe.message, /timed out after 2000 ms/);
  });

  test('logs name the order and the request, never the secret key or the shop token', async () => {
    await new Promise((r) => setTimeout(r, 200));
    const lines = mf.logs.join('\n');
    assert.ok(lines.includes('"payment_request":"checkout_session"'), 'a log line per payment request');
    assert.ok(!lines.includes(STRIPE_SECRET_KEY) && !lines.includes('sk_test_51Worker'));
    assert.ok(!lines.includes(SHOP_API_TOKEN));
  });
});

describe('POST /payment-requests with a key Stripe refuses', () => {
  test('is a 500 stripe_auth_failed (the Worker needs fixing), without the key', async () => {
    const stripe = await startFakeStripe({ apiKey: 'sk_test_51TheRealKeyThatTheWorkerDoesNotHave' });
    const mf = await startWorker({
      downstreamUrl: 'http://127.0.0.1:9/unused',
      vars: { SHOP_API_TOKEN, STRIPE_SECRET_KEY, STRIPE_API_BASE: stripe.url },
    });
    try {
      const res = await create(mf, order());
      assert.equal(res.status, 500);
      const text = await res.text();
      const body = JSON.parse(text);
      assert.deepEqual([body.result, body.stripe.type, body.attempts], ['stripe_auth_failed', 'StripeAuthenticationError', 1]);
      assert.ok(!text.includes(STRIPE_SECRET_KEY.slice(12)), text);
    } finally {
      await mf.dispose();
      await stripe.close();
    }
  });
});
