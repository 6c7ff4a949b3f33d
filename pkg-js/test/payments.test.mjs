// stripe-bridge/payments: the request builders, the Payment Link URL helper and the Stripe API
// client, against a local stand-in of Stripe's API (examples/fake-stripe-api.mjs) on 127.0.0.1.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as payments from 'stripe-bridge/payments';
import { parseForm, startFakeStripe } from '../../examples/fake-stripe-api.mjs';
import { repoRoot, rng } from './helpers.mjs';

const {
  buildCheckoutSession,
  buildPaymentIntent,
  buildPaymentLink,
  createCheckoutSession,
  createPaymentIntent,
  createPaymentLink,
  paymentLinkUrl,
  sendStripeRequest,
  stripeApiVersion,
  StripeApiError,
  StripeAPIError,
  StripeAuthenticationError,
  StripeCardError,
  StripeConnectionError,
  StripeInvalidRequestError,
  StripePaymentRequestError,
  StripeRateLimitError,
} = payments;

const KEY = 'sk_test_51FakeKeyForTheLoopbackStandIn0001';
const order1001 = () => JSON.parse(readFileSync(join(repoRoot, 'tests/fixtures/orders/order-1001.json'), 'utf8'));
const noShipping = () => {
  const o = order1001();
  delete o.shipping;
  o.total = '45.45';
  return o;
};

function assertNoKey(error) {
  const text = `${error.message} ${JSON.stringify(error)} ${error.stack}`;
  assert.ok(!text.includes(KEY), 'the secret key never appears in an error');
}

describe('builders', () => {
  test('Checkout Session: every form field of the order', () => {
    const r = buildCheckoutSession(order1001());
    assert.equal(r.method, 'POST');
    assert.equal(r.path, '/v1/checkout/sessions');
    assert.equal(r.amount_minor, 5040);
    assert.equal(r.currency, 'EUR');
    assert.match(r.idempotency_key, /^sb-checkout-[0-9a-f]{40}$/);
    const price = (name, unit_amount, description) => ({
      currency: 'eur',
      product_data: description ? { name, description } : { name },
      unit_amount: String(unit_amount),
    });
    const meta = { order_id: '1001', customer_id: 'C-77', customer_name: 'Jenny Rosen', channel: 'web' };
    assert.deepEqual(parseForm(r.body), {
      mode: 'payment',
      line_items: {
        0: { price_data: price('Espresso beans 1 kg', 899), quantity: '2' },
        1: { price_data: price('Milk frother', 2450, 'Stainless steel'), quantity: '1' },
        2: { price_data: price('VAT 7%', 297), quantity: '1' },
      },
      shipping_options: { 0: { shipping_rate_data: { type: 'fixed_amount', display_name: 'DHL Standard', fixed_amount: { amount: '495', currency: 'eur' } } } },
      success_url: 'https://shop.example.com/orders/1001/thanks',
      cancel_url: 'https://shop.example.com/cart',
      client_reference_id: '1001',
      customer_email: 'jenny.rosen@example.com',
      locale: 'de',
      metadata: meta,
      payment_intent_data: { metadata: meta },
    });
  });

  test('PaymentIntent and Payment Link bodies', () => {
    const pi = parseForm(buildPaymentIntent(order1001()).body);
    assert.deepEqual(pi, {
      amount: '5040',
      currency: 'eur',
      automatic_payment_methods: { enabled: 'true' },
      receipt_email: 'jenny.rosen@example.com',
      description: 'Order 1001',
      metadata: { order_id: '1001', customer_id: 'C-77', customer_name: 'Jenny Rosen', channel: 'web' },
    });
    const link = buildPaymentLink(noShipping());
    assert.equal(link.path, '/v1/payment_links');
    const form = parseForm(link.body);
    assert.equal(form.line_items[2].price_data.product_data.name, 'VAT 7%');
    assert.deepEqual(form.after_completion, { type: 'redirect', redirect: { url: 'https://shop.example.com/orders/1001/thanks' } });
    // Single-use: Stripe deactivates the link after one completed Checkout Session.
    assert.deepEqual(form.restrictions, { completed_sessions: { limit: '1' } });
  });

  test('the same order gives the same key; a new attempt or amount a new one', () => {
    const a = buildCheckoutSession(order1001()).idempotency_key;
    assert.equal(buildCheckoutSession(order1001()).idempotency_key, a);
    assert.notEqual(buildCheckoutSession({ ...order1001(), attempt: 1 }).idempotency_key, a);
    assert.notEqual(buildPaymentIntent(order1001()).idempotency_key.replace('payment_intent', 'checkout'), a);
    const cheaper = noShipping();
    assert.notEqual(buildCheckoutSession(cheaper).idempotency_key, a);
  });

  test('invalid orders throw one typed error naming the field', () => {
    const cases = [
      [(o) => (o.total = '50.41'), 'total', 'total_mismatch', /add up to 50.40 EUR, not the total 50.41 EUR/],
      [(o) => (o.lines[0].unit_price = '8.999'), 'lines[0].unit_price', 'amount_too_precise'],
      [(o) => (o.lines[1].quantity = 0), 'lines[1].quantity', 'invalid_quantity'],
      [(o) => (o.currency = 'jpy'), 'lines[0].unit_price', 'amount_too_precise'],
      [(o) => (o.metadata = { order_id: 'x' }), 'metadata.order_id', 'reserved_key'],
      [(o) => (o.metadata = { ['k'.repeat(41)]: 'v' }), `metadata.${'k'.repeat(41)}`, 'invalid_metadata_key'],
      [(o) => (o.customer_email = 'jenny'), 'customer_email', 'invalid_email'],
      [(o) => (o.success_url = 'http://shop.example.com/thanks'), 'success_url', 'invalid_url'],
      [(o) => (o.locale = 'klingon'), 'locale', 'invalid_locale'],
    ];
    for (const [change, field, code, message] of cases) {
      const o = order1001();
      change(o);
      assert.throws(
        () => buildCheckoutSession(o),
        (e) => {
          assert.ok(e instanceof StripePaymentRequestError, e.name);
          assert.equal(e.type, 'StripePaymentRequestError');
          assert.equal(e.kind, 'payment_request');
          assert.deepEqual([e.field, e.code], [field, code], e.message);
          if (message) assert.match(e.message, message);
          return true;
        },
      );
    }
    assert.throws(() => buildCheckoutSession({ ...order1001(), totl: '1' }), (e) => e.code === 'invalid_order' && /unknown field `totl`/.test(e.message));
    assert.throws(() => buildCheckoutSession(null), (e) => e.code === 'invalid_argument');
    assert.throws(() => buildPaymentLink(order1001()), (e) => e.field === 'shipping' && e.code === 'unsupported');
  });
});

describe('paymentLinkUrl', () => {
  const base = 'https://buy.stripe.com/test_eVa5nPg1j1wm';
  test("adds Stripe's URL parameters, encoded", () => {
    assert.equal(paymentLinkUrl(base), base);
    assert.equal(
      paymentLinkUrl(base, { clientReferenceId: 'order_1001', prefilledEmail: 'jenny+shop@example.com', locale: 'fr', prefilledPromoCode: 'SPRING-25' }),
      `${base}?client_reference_id=order_1001&prefilled_email=jenny%2Bshop%40example.com&locale=fr&prefilled_promo_code=SPRING-25`,
    );
    assert.equal(paymentLinkUrl('https://donate.stripe.com/abc', { clientReferenceId: 'A-1', prefilledEmail: '' }), 'https://donate.stripe.com/abc?client_reference_id=A-1');
  });
  test('refuses what Stripe would silently drop, and non-Stripe hosts', () => {
    const bad = [
      [base, { clientReferenceId: 'order 1001' }, 'clientReferenceId', 'invalid_client_reference_id'],
      [base, { clientReferenceId: 'x'.repeat(201) }, 'clientReferenceId', 'invalid_client_reference_id'],
      [base, { clientReferenceId: 'bestellung/1001' }, 'clientReferenceId', 'invalid_client_reference_id'],
      [base, { prefilledEmail: 'jenny' }, 'prefilledEmail', 'invalid_email'],
      [base, { locale: 'xx' }, 'locale', 'invalid_locale'],
      [base, { prefilledPromoCode: 'A B' }, 'prefilledPromoCode', 'invalid_promo_code'],
      [base, { clientReferenceId: 1001 }, 'clientReferenceId', 'invalid_params'],
      ['http://buy.stripe.com/test_1', {}, 'url', 'invalid_url'],
      ['https://buy.stripe.com.evil.example/test_1', {}, 'url', 'invalid_host'],
      ['https://evil.example/buy.stripe.com/test_1', {}, 'url', 'invalid_host'],
      ['https://buy.stripe.com/test_1?client_reference_id=x', {}, 'url', 'invalid_url'],
      [undefined, {}, 'url', 'invalid_url'],
    ];
    for (const [url, params, field, code] of bad) {
      assert.throws(
        () => paymentLinkUrl(url, params),
        (e) => e instanceof StripePaymentRequestError && e.field === field && e.code === code,
        `${url} ${JSON.stringify(params)}`,
      );
    }
    assert.throws(() => paymentLinkUrl(base, { clientReferenceID: 'x' }), (e) => e.code === 'invalid_params' && /clientReferenceID/.test(e.message));
  });
});

describe('Stripe API client against a local stand-in', () => {
  let stripe;
  before(async () => {
    stripe = await startFakeStripe({ apiKey: KEY, apiVersion: stripeApiVersion() });
  });
  after(() => stripe.close());
  const opts = (extra = {}) => ({ apiKey: KEY, apiBase: stripe.url, ...extra });

  test('creates a Checkout Session: headers, every field accepted, Stripe object back', async () => {
    stripe.reset();
    const built = buildCheckoutSession(order1001());
    const session = await createCheckoutSession(order1001(), opts());
    assert.equal(session.object, 'checkout.session');
    assert.match(session.id, /^cs_test_/);
    assert.ok(session.url.startsWith(`https://checkout.stripe.com/c/pay/${session.id}`));
    assert.equal(session.amount_total, built.amount_minor);
    assert.equal(session.client_reference_id, '1001');
    assert.deepEqual(session.metadata, { order_id: '1001', customer_id: 'C-77', customer_name: 'Jenny Rosen', channel: 'web' });
    assert.deepEqual(Object.keys(session.lastResponse).sort(), ['attempts', 'idempotencyKey', 'replayed', 'requestId', 'statusCode']);
    assert.equal(session.lastResponse.replayed, false);
    assert.equal(session.lastResponse.attempts, 1);
    assert.ok(!Object.keys(session).includes('lastResponse'), 'not enumerable');
    const [req] = stripe.requests;
    assert.equal(req.method, 'POST');
    assert.equal(req.path, '/v1/checkout/sessions');
    assert.equal(req.headers.authorization, `Bearer ${KEY}`);
    assert.equal(req.headers['idempotency-key'], built.idempotency_key);
    assert.equal(req.headers['stripe-version'], '2025-09-30.clover');
    assert.equal(req.headers['content-type'], 'application/x-www-form-urlencoded');
    assert.equal(req.body, built.body);
  });

  test('creates a PaymentIntent and a Payment Link', async () => {
    stripe.reset();
    const pi = await createPaymentIntent(order1001(), opts());
    assert.deepEqual([pi.object, pi.amount, pi.currency, pi.status], ['payment_intent', 5040, 'eur', 'requires_payment_method']);
    assert.match(pi.client_secret, /^pi_\w+_secret_/);
    const link = await createPaymentLink(noShipping(), opts());
    assert.equal(link.object, 'payment_link');
    assert.match(link.url, /^https:\/\/buy\.stripe\.com\/test_/);
    assert.deepEqual(link.restrictions, { completed_sessions: { count: 0, limit: 1 } });
    // The link the API returned takes the browser helper's parameters.
    assert.ok(paymentLinkUrl(link.url, { clientReferenceId: '1001' }).endsWith('?client_reference_id=1001'));
    assert.equal(stripe.objects.length, 2);
  });

  test('500 then 429: retried with backoff and the same Idempotency-Key', async () => {
    stripe.reset();
    stripe.fail({ status: 500 }, { status: 429, error: { type: 'invalid_request_error', code: 'rate_limit', message: 'Too many requests' } });
    const retries = [];
    const started = Date.now();
    const session = await createCheckoutSession(order1001(), opts({ onRetry: (r) => retries.push(r) }));
    const elapsed = Date.now() - started;
    assert.equal(session.lastResponse.attempts, 3);
    assert.equal(stripe.requests.length, 3);
    assert.equal(new Set(stripe.requests.map((r) => r.headers['idempotency-key'])).size, 1);
    assert.deepEqual(retries.map((r) => [r.attempt, r.error.constructor.name]), [
      [1, 'StripeAPIError'],
      [2, 'StripeRateLimitError'],
    ]);
    assert.ok(retries.every((r) => r.delayMs >= 500 && r.delayMs <= 1000), JSON.stringify(retries.map((r) => r.delayMs)));
    assert.ok(elapsed >= 1000, `backoff waited (${elapsed} ms)`);
  });

  test('a response lost after Stripe created the object: the retry gets the same object, no second one', async () => {
    stripe.reset();
    stripe.fail({ drop: 'after' });
    const session = await createCheckoutSession(order1001(), opts());
    assert.equal(stripe.objects.length, 1);
    assert.equal(session.id, stripe.objects[0].id);
    assert.deepEqual(stripe.requests.map((r) => [r.status, r.replayed]), [
      ['dropped', false],
      [200, true],
    ]);
    // Asking again later for the same order attempt is a replay too; a new attempt is a new session.
    assert.equal(session.lastResponse.replayed, true);
    const again = await createCheckoutSession(order1001(), opts());
    assert.equal(again.id, session.id);
    assert.equal(again.lastResponse.replayed, true);
    const next = await createCheckoutSession({ ...order1001(), attempt: 1 }, opts());
    assert.notEqual(next.id, session.id);
    assert.equal(stripe.objects.length, 2);
  });

  test('a card decline is final: StripeCardError with code, decline code and request id', async () => {
    stripe.reset();
    stripe.fail({ status: 402, error: { type: 'card_error', code: 'card_declined', decline_code: 'insufficient_funds', param: 'payment_method', message: 'Your card has insufficient funds.' } });
    const e = await createPaymentIntent(order1001(), opts()).then(() => assert.fail('resolved'), (e) => e);
    assert.ok(e instanceof StripeCardError && e instanceof StripeApiError);
    assert.equal(e.type, 'StripeCardError');
    assert.equal(e.rawType, 'card_error');
    assert.equal(e.code, 'card_declined');
    assert.equal(e.decline_code, 'insufficient_funds');
    assert.equal(e.param, 'payment_method');
    assert.equal(e.statusCode, 402);
    assert.match(e.requestId, /^req_/);
    assert.equal(e.message, `Your card has insufficient funds. (request ${e.requestId})`);
    assert.equal(e.attempts, 1);
    assert.equal(stripe.requests.length, 1, 'not retried');
    assertNoKey(e);
  });

  test("Stripe's own parameter validation: a 400 invalid_request_error is typed and not retried", async () => {
    stripe.reset();
    const built = buildCheckoutSession(order1001());
    const tampered = { ...built, body: `${built.body}&shipping_options[0][shipping_rate_data][fixed_amount][amount]=5` };
    const dup = await sendStripeRequest(tampered, opts()).then(() => assert.fail('resolved'), (e) => e);
    assert.ok(dup instanceof StripeInvalidRequestError);
    assert.equal(dup.code, 'parameter_duplicate');
    const unknown = await sendStripeRequest({ ...built, body: `${built.body}&colour=blue` }, opts()).then(() => assert.fail('resolved'), (e) => e);
    assert.deepEqual([unknown.code, unknown.param, unknown.statusCode], ['parameter_unknown', 'colour', 400]);
    assert.match(unknown.message, /^Received unknown parameter: colour \(request req_/);
    assert.equal(stripe.requests.length, 2);
    assert.equal(stripe.objects.length, 0);
  });

  test('the same key with other parameters is an idempotency error', async () => {
    stripe.reset();
    const built = buildCheckoutSession(order1001());
    await sendStripeRequest(built, opts());
    const other = buildCheckoutSession({ ...order1001(), locale: 'fr' });
    assert.equal(other.idempotency_key, built.idempotency_key, 'the key covers order, amount, currency and attempt');
    const e = await sendStripeRequest(other, opts()).then(() => assert.fail('resolved'), (e) => e);
    assert.equal(e.type, 'StripeIdempotencyError');
    assert.equal(e.rawType, 'idempotency_error');
    assert.match(e.message, /can only be used with the same parameters/);
  });

  test('a saved 500 with Stripe-Should-Retry: false is final; exhausted retries report the last error', async () => {
    stripe.reset();
    stripe.fail({ status: 500, saved: true, headers: { 'stripe-should-retry': 'false' } });
    const e = await createCheckoutSession(order1001(), opts()).then(() => assert.fail('resolved'), (e) => e);
    assert.ok(e instanceof StripeAPIError);
    assert.deepEqual([e.statusCode, e.attempts], [500, 1]);
    stripe.reset();
    stripe.fail({ status: 503 }, { status: 503 }, { status: 503 });
    const tired = await createCheckoutSession(order1001(), opts({ maxRetries: 2 })).then(() => assert.fail('resolved'), (e) => e);
    assert.deepEqual([tired.statusCode, tired.attempts, stripe.requests.length], [503, 3, 3]);
  });

  test('network errors and timeouts are retried, then a StripeConnectionError', async () => {
    const closed = await new Promise((resolve) => {
      const s = createServer();
      s.listen(0, '127.0.0.1', () => {
        const { port } = s.address();
        s.close(() => resolve(port));
      });
    });
    const refused = await createCheckoutSession(order1001(), { apiKey: KEY, apiBase: `http://127.0.0.1:${closed}`, maxRetries: 1 }).then(
      () => assert.fail('resolved'),
      (e) => e,
    );
    assert.ok(refused instanceof StripeConnectionError);
    assert.deepEqual([refused.statusCode, refused.code, refused.attempts], [0, 'connection_error', 2]);
    assert.match(refused.message, /could not reach Stripe: .*ECONNREFUSED/);
    assertNoKey(refused);
    stripe.reset();
    stripe.fail({ hang: true });
    const slow = await createCheckoutSession(order1001(), opts({ timeoutMs: 300, maxRetries: 0 })).then(() => assert.fail('resolved'), (e) => e);
    assert.ok(slow instanceof StripeConnectionError);
    assert.match(slow.message, /no response within 300 ms/);
    // The hung request, then a retry that succeeds.
    stripe.reset();
    stripe.fail({ hang: true });
    const ok = await createCheckoutSession(order1001(), opts({ timeoutMs: 300, maxRetries: 1 }));
    assert.equal(ok.lastResponse.attempts, 2);
  });

  test('keys and bases are checked before anything is sent; a wrong key is a typed 401', async () => {
    stripe.reset();
    const refused = [
      [{ apiKey: 'pk_test_51Publishable' }, 'apiKey', 'invalid_api_key'],
      [{ apiKey: undefined }, 'apiKey', 'invalid_api_key'],
      [{ apiKey: KEY, apiBase: 'http://api.stripe.com' }, 'apiBase', 'invalid_api_base'],
    ];
    for (const [o, field, code] of refused) {
      const e = await createCheckoutSession(order1001(), { apiBase: stripe.url, ...o }).then(() => assert.fail('resolved'), (e) => e);
      assert.deepEqual([e.constructor.name, e.field, e.code], ['StripePaymentRequestError', field, code]);
      assert.ok(!e.message.includes('51Publishable'));
    }
    await assert.rejects(createCheckoutSession(order1001(), opts({ maxRetries: 11 })), /maxRetries/);
    assert.equal(stripe.requests.length, 0);
    const wrong = 'sk_test_51SomebodyElsesKey00000000009999';
    const e = await createCheckoutSession(order1001(), { apiKey: wrong, apiBase: stripe.url }).then(() => assert.fail('resolved'), (e) => e);
    assert.ok(e instanceof StripeAuthenticationError);
    assert.equal(e.statusCode, 401);
    assert.ok(!e.message.includes(wrong), e.message);
    assert.equal(stripe.requests.length, 1);
  });

  test('a custom fetch is used (e.g. a proxy or instrumentation)', async () => {
    stripe.reset();
    const seen = [];
    const session = await createCheckoutSession(order1001(), opts({ fetch: (url, init) => (seen.push(url), fetch(url, init)) }));
    assert.deepEqual(seen, [`${stripe.url}/v1/checkout/sessions`]);
    assert.match(session.id, /^cs_test_/);
  });

  test("the README's runnable example (examples/create-checkout-session.mjs)", async () => {
    stripe.reset();
    const run = (key) =>
      new Promise((resolve) => {
        execFile('node', ['examples/create-checkout-session.mjs', 'tests/fixtures/orders/order-1001.json'], {
          cwd: repoRoot,
          env: { ...process.env, STRIPE_SECRET_KEY: key, STRIPE_API_BASE: stripe.url },
        }, (error, stdout, stderr) => resolve({ code: error?.code ?? 0, stdout, stderr }));
      });
    const ok = await run(KEY);
    assert.equal(ok.code, 0, ok.stderr);
    const printed = JSON.parse(ok.stdout);
    assert.equal(printed.id, stripe.objects[0].id);
    assert.equal(printed.url, stripe.objects[0].url);
    const refused = await run('sk_test_51NotTheKeyTheStandInKnows000');
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /^StripeAuthenticationError invalid_request_error \(HTTP 401, request req_\w+\): Invalid API Key provided/);
    assert.ok(!refused.stderr.includes('51NotTheKey'));
  });

  test('400 random orders across currencies: Stripe accepts every body and charges exactly the total', async () => {
    stripe.reset();
    const random = rng(20261122);
    const pick = (list) => list[Math.floor(random() * list.length)];
    // [currency, decimals, step in minor units, minimum total in minor units]
    const currencies = [
      ['usd', 2, 1, 50],
      ['eur', 2, 1, 50],
      ['jpy', 0, 1, 50],
      ['krw', 0, 1, 100],
      ['kwd', 3, 10, 100],
      ['bhd', 3, 10, 100],
      ['isk', 2, 100, 100],
      ['huf', 2, 1, 17500],
    ];
    const text = (minor, decimals) => (decimals === 0 ? String(minor) : `${Math.floor(minor / 10 ** decimals)}.${String(minor % 10 ** decimals).padStart(decimals, '0')}`);
    for (let i = 0; i < 400; i++) {
      const [currency, decimals, step, minimum] = pick(currencies);
      // Integers in minor units throughout; decimal strings only for the order.
      const units = Array.from({ length: 1 + Math.floor(random() * 4) }, () => [step * (minimum + Math.floor(random() * 5000)), 1 + Math.floor(random() * 3)]);
      const lines = units.map(([unit, quantity], j) => ({
        name: `Item ${j} — “${pick(['Kaffee', 'café', '茶', 'A&B=C', 'x+y%20'])}”`,
        quantity,
        unit_price: text(unit, decimals),
      }));
      const tax = random() < 0.5 ? step * Math.floor(random() * 300) : 0;
      const shipping = random() < 0.5 ? step * Math.floor(random() * 900) : 0;
      const total = units.reduce((s, [unit, quantity]) => s + unit * quantity, 0) + tax + shipping;
      const order = {
        id: `R-${i}`,
        currency: random() < 0.5 ? currency : currency.toUpperCase(),
        lines,
        ...(tax ? { tax: { name: 'Tax', amount: text(tax, decimals) } } : {}),
        ...(shipping ? { shipping: { name: 'Shipping', amount: text(shipping, decimals) } } : {}),
        total: text(total, decimals),
        success_url: `https://shop.example.com/ok?order=R-${i}&session={CHECKOUT_SESSION_ID}`,
        metadata: { batch: 'property' },
      };
      const session = await createCheckoutSession(order, opts({ maxRetries: 0 }));
      assert.equal(session.amount_total, total, JSON.stringify(order));
      assert.equal(session.currency, currency);
      assert.equal(session.client_reference_id, `R-${i}`);
      assert.equal(session.success_url, order.success_url);
    }
    assert.equal(stripe.objects.length, 400);
    assert.ok(stripe.requests.every((r) => r.status === 200));
  });
});
