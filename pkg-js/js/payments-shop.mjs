// The shop's operations on Stripe in stripe-bridge/payments (Node and Workers entries only: they
// take a secret key): refunds, captures, cancellations, customers and order updates. The core
// builds and checks each request (against the order's state where it matters); they are sent
// through the client's one retry loop with their deterministic Idempotency-Keys.
import {
  buildCancel as wasmCancel,
  buildCapture as wasmCapture,
  buildCustomerCreate as wasmCustomerCreate,
  buildCustomerUpdate as wasmCustomerUpdate,
  buildOrderUpdate as wasmOrderUpdate,
  buildRefunds as wasmRefunds,
  customerSearchPath,
  foundCustomer,
} from '../build/payments-wasm/stripe_bridge_payments.js';
import { payments } from './runtime.mjs';
import { callWith, makeError, objectBytes } from './errors.mjs';
import { sendStripeRequest } from './payments-client.mjs';
import { clientOptions, getBytes } from './stripe-client.mjs';

const call = (fn) => callWith(payments, fn);
const optional = (state) => (state === undefined || state === null ? undefined : objectBytes(state, 'The order state'));

/** The refund requests for `input` ({ order_id, payment?, amount?, currency, reason?, return_id?, credit_note_id?, metadata? }), checked against the order's v2 state. */
export function buildRefunds(input, state) {
  return JSON.parse(call(() => wasmRefunds(objectBytes(input, 'The refund'), objectBytes(state, 'The order state'))));
}

/** The capture request ({ order_id, payment_intent, amount?, currency, metadata? }); checked against `state` when given. */
export function buildCapture(input, state) {
  return JSON.parse(call(() => wasmCapture(objectBytes(input, 'The capture'), optional(state))));
}

/** The cancellation request ({ order_id, payment_intent, reason? }); refused for a payment that took money when `state` is given. */
export function buildCancel(input, state) {
  return JSON.parse(call(() => wasmCancel(objectBytes(input, 'The cancellation'), optional(state))));
}

/** The request that sets order number, status and description on the order's PaymentIntent. */
export function buildOrderUpdate(update) {
  return JSON.parse(call(() => wasmOrderUpdate(objectBytes(update, 'The order update'))));
}

/**
 * Refunds: every request `buildRefunds` makes, sent in order. Resolves to Stripe's refunds; a
 * failure part-way rejects with the error: `.refunds` holds those already made and
 * `.remaining` the planned requests not made. To finish, send `.remaining` (each with
 * `sendStripeRequest`), or the same input with the same `state` (the same plan and keys:
 * nothing is made twice). Not the input with a newer state: by then it counts the refunds made,
 * and a refund split over several payments would be split again, for more than was asked.
 */
export async function createRefunds(input, state, options) {
  const requests = buildRefunds(input, state);
  const refunds = [];
  for (const [i, request] of requests.entries()) {
    try {
      refunds.push(await sendStripeRequest(request, options));
    } catch (e) {
      e.refunds = refunds;
      e.remaining = requests.slice(i);
      throw e;
    }
  }
  return refunds;
}

/** Captures an authorized PaymentIntent (all, or `amount`); resolves to Stripe's PaymentIntent. */
export async function capturePayment(input, options, { state } = {}) {
  return sendStripeRequest(buildCapture(input, state), options);
}

/** Cancels a PaymentIntent that took no money; resolves to Stripe's PaymentIntent. */
export async function cancelPayment(input, options, { state } = {}) {
  return sendStripeRequest(buildCancel(input, state), options);
}

/** Sets order number, status and description on the order's PaymentIntent. */
export async function updateOrderPayment(update, options) {
  return sendStripeRequest(buildOrderUpdate(update), options);
}

/**
 * The Stripe Customer of a shop customer ({ customer_id, email?, name?, phone?, description?,
 * address?, metadata? }): `stripeCustomer` when you keep the mapping, else found by Stripe's
 * search on `metadata['customer_id']` (which can lag a new customer by up to a minute), then
 * updated, or created (keyed by the shop's id and the body: a retry never creates twice).
 * Resolves to `{ result: 'created' | 'updated', customer }`.
 */
export async function syncCustomer(customer, options, { stripeCustomer } = {}) {
  if (customer === null || typeof customer !== 'object' || typeof customer.customer_id !== 'string') {
    throw makeError('argument', 'invalid_argument', 'customer must be an object with a customer_id (the shop\'s id).');
  }
  let id = stripeCustomer;
  if (id === undefined) {
    const body = await getBytes(call(() => customerSearchPath(customer.customer_id)), clientOptions(options));
    id = call(() => foundCustomer(body)) ?? undefined;
  }
  const bytes = objectBytes(customer, 'The customer');
  const request = JSON.parse(call(() => (id ? wasmCustomerUpdate(id, bytes) : wasmCustomerCreate(bytes))));
  return { result: id ? 'updated' : 'created', customer: await sendStripeRequest(request, options) };
}
