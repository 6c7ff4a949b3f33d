// The finance client of stripe-bridge/finance (Node and Workers only: it takes a secret key):
// reads a payout, every page of its balance transactions and the charges and PaymentIntents
// that name older payments' orders, through the shared client's one retry loop; what to ask
// and what it means is the core's (the finance wasm module).
import {
  finishPayout,
  lookupPath,
  nextLookups,
  payoutPagePath,
  payoutPath,
  readLookup,
  readPayoutPage,
} from '../build/finance-wasm/stripe_bridge_finance.js';
import { finance } from './runtime.mjs';
import { callWith, makeError } from './errors.mjs';
import { StripeApiError, clientOptions, getBytes } from './stripe-client.mjs';

export {
  StripeApiError,
  StripeAPIError,
  StripeAuthenticationError,
  StripeConnectionError,
  StripeInvalidRequestError,
  StripePermissionError,
  StripeRateLimitError,
} from './stripe-client.mjs';

const call = (fn) => callWith(finance, fn);
const encoder = new TextEncoder();

/** A charge or PaymentIntent; one that no longer exists (404) is noted as found without an order. */
async function lookUp(lookup, o) {
  const path = call(() => lookupPath(encoder.encode(JSON.stringify(lookup))));
  try {
    const body = await getBytes(path, o);
    return JSON.parse(call(() => readLookup(body)));
  } catch (e) {
    if (e instanceof StripeApiError && e.statusCode === 404) return { id: lookup.id, object: lookup.object };
    throw e;
  }
}

/**
 * Reconciles a payout from Stripe's API: the payout, every page of its balance transactions
 * (100 per page, sources expanded), and the charges and PaymentIntents that name the orders
 * of refunds and disputes of payments paid out earlier. `options` as for sendStripeRequest
 * (a restricted key needs read access to payouts, balance transactions, charges and
 * PaymentIntents). Resolves to the reconciliation (see reconcilePayout).
 */
export async function fetchPayoutReconciliation(payoutId, options = {}) {
  if (typeof payoutId !== 'string') throw makeError('argument', 'invalid_argument', 'payoutId must be a string (po_...).');
  const o = clientOptions(options);
  const payoutBytes = await getBytes(call(() => payoutPath(payoutId)), o);
  const payout = JSON.parse(new TextDecoder().decode(payoutBytes));
  const lines = [];
  const warnings = [];
  if (payout.automatic !== false) {
    let cursor;
    do {
      const body = await getBytes(call(() => payoutPagePath(payoutId, cursor)), o);
      const page = JSON.parse(call(() => readPayoutPage(payoutBytes, body)));
      lines.push(...page.lines);
      warnings.push(...page.warnings);
      cursor = page.next_cursor ?? undefined;
    } while (cursor);
  }
  const found = [];
  const linesBytes = encoder.encode(JSON.stringify(lines));
  for (;;) {
    const wanted = JSON.parse(call(() => nextLookups(linesBytes, encoder.encode(JSON.stringify(found)))));
    if (wanted.length === 0) break;
    for (const lookup of wanted) found.push(await lookUp(lookup, o));
  }
  return JSON.parse(call(() => finishPayout(payoutBytes, linesBytes, encoder.encode(JSON.stringify(warnings)), encoder.encode(JSON.stringify(found)))));
}

