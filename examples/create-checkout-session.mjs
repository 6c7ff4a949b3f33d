#!/usr/bin/env node
// Creates a Checkout Session for an order with the npm package (stripe-bridge/payments) and
// prints its id and URL; a card/API error is printed with Stripe's code and request id.
//   STRIPE_SECRET_KEY=sk_test_... [STRIPE_API_BASE=http://127.0.0.1:12111] \
//     node examples/create-checkout-session.mjs tests/fixtures/orders/order-1001.json
// (In an app: `import { createCheckoutSession } from 'stripe-bridge/payments'`.)
import { readFileSync } from 'node:fs';
import { createCheckoutSession, StripeApiError, StripePaymentRequestError } from '../pkg-js/dist/payments-node.mjs';

const order = JSON.parse(readFileSync(process.argv[2] || 'tests/fixtures/orders/order-1001.json', 'utf8'));
try {
  const session = await createCheckoutSession(order, {
    apiKey: process.env.STRIPE_SECRET_KEY,
    ...(process.env.STRIPE_API_BASE ? { apiBase: process.env.STRIPE_API_BASE } : {}),
    onRetry: ({ attempt, delayMs, error }) => console.error(`retry ${attempt} in ${delayMs} ms: ${error.message}`),
  });
  console.log(JSON.stringify({ id: session.id, url: session.url, attempts: session.lastResponse.attempts }));
} catch (e) {
  if (e instanceof StripePaymentRequestError) console.error(`order refused: ${e.field}: ${e.code}: ${e.message}`);
  else if (e instanceof StripeApiError) console.error(`${e.type} ${e.code} (HTTP ${e.statusCode}, request ${e.requestId ?? '-'}): ${e.message}`);
  else throw e;
  process.exitCode = 1;
}
