// The browser-safe JavaScript API of stripe-bridge/payments: request builders and the Payment
// Link URL helper over the payments wasm module. Nothing here takes or sends an API key.
import {
  buildCheckoutSession as wasmCheckout,
  buildPaymentIntent as wasmPaymentIntent,
  buildPaymentLink as wasmPaymentLink,
  paymentLinkUrl as wasmLinkUrl,
} from '../build/payments-wasm/stripe_bridge_payments.js';
import { payments } from './runtime.mjs';
import { callWith, checkObject, makeError, objectBytes } from './errors.mjs';

export { StripeBridgeError, StripePaymentRequestError, StripeInvalidArgumentError } from './errors.mjs';

/** Hosts a Payment Link can be on. */
export const PAYMENT_LINK_HOSTS = Object.freeze(['buy.stripe.com', 'donate.stripe.com']);

const call = (fn) => callWith(payments, fn);

function build(wasmFn, order) {
  return JSON.parse(call(() => wasmFn(objectBytes(order, 'The order'))));
}

/**
 * The Checkout Session request for an order: `{ method, path, body, idempotency_key,
 * amount_minor, currency }`, `body` in Stripe's form encoding. Throws
 * StripePaymentRequestError (`.field`, `.code`) for an order Stripe would refuse or that does
 * not add up.
 */
export function buildCheckoutSession(order) {
  return build(wasmCheckout, order);
}

/** The PaymentIntent request for an order (see buildCheckoutSession). */
export function buildPaymentIntent(order) {
  return build(wasmPaymentIntent, order);
}

/** The Payment Link request for an order (see buildCheckoutSession); no shipping line. */
export function buildPaymentLink(order) {
  return build(wasmPaymentLink, order);
}

/**
 * A Payment Link URL with Stripe's URL parameters: `params` is `{ clientReferenceId,
 * prefilledEmail, locale, prefilledPromoCode }` (all optional). The base must be an https link
 * on buy.stripe.com or donate.stripe.com. Safe in browsers: no secret is involved.
 */
export function paymentLinkUrl(baseUrl, params = {}) {
  if (typeof baseUrl !== 'string') throw makeError('payment_request', 'invalid_url', 'url: must be an https:// Stripe Payment Link', 'url');
  checkObject(params, 'The link parameters');
  const clean = {};
  for (const [key, value] of Object.entries(params)) {
    if (value === undefined || value === null || value === '') continue;
    if (typeof value !== 'string') throw makeError('payment_request', 'invalid_params', `${key}: must be a string`, key);
    clean[key] = value;
  }
  return call(() => wasmLinkUrl(baseUrl, objectBytes(clean, 'The link parameters')));
}
