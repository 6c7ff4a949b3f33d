// The JavaScript API of stripe-bridge/targets: the order state (merge, upgrade) and target
// mappings over the second wasm module.
import {
  WasmProfile,
  planNopCommerce,
  mergeOrderState as wasmMerge,
  upgradeOrderState as wasmUpgrade,
} from '../build/targets-wasm/stripe_bridge_targets.js';
import { targets } from './runtime.mjs';
import { callWith, makeError, objectBytes } from './errors.mjs';
import { cached } from './cache.mjs';

export {
  StripeBridgeError,
  StripeMappingError,
  StripeStateError,
  StripeInvalidArgumentError,
} from './errors.mjs';

/** The built-in profile names. */
export const PROFILES = ['record', 'nopcommerce', 'salesforce', 'erp', 'order-feed'];

/** nopCommerce's PaymentStatus and OrderStatus ids. */
export const NOP_PAYMENT_STATUS = Object.freeze({ Pending: 10, Authorized: 20, Paid: 30, PartiallyRefunded: 35, Refunded: 40, Voided: 50 });
export const NOP_ORDER_STATUS = Object.freeze({ Pending: 10, Processing: 20, Complete: 30, Cancelled: 40 });
export const NOP_SHIPPING_STATUS = Object.freeze({ ShippingNotRequired: 10, NotYetShipped: 20, PartiallyShipped: 25, Shipped: 30, Delivered: 40 });

const call = (fn) => callWith(targets, fn);
const encoder = new TextEncoder();
const profiles = new Map();

/** Merges a normalized record into an order's state (null for a new order); returns the new state. */
export function mergeOrderState(state, record) {
  if (record === null || typeof record !== 'object') {
    throw makeError('argument', 'invalid_argument', 'mergeOrderState takes a normalized record object.');
  }
  const stateJson = state === null || state === undefined ? '' : JSON.stringify(state);
  return JSON.parse(call(() => wasmMerge(encoder.encode(stateJson), encoder.encode(JSON.stringify(record)))));
}

/**
 * A stored order state of any schema version in the current one (version 1, written before
 * `schema_version` existed, is upgraded; everything derived is recomputed). Compare the result
 * of mergeOrderState with this, not with the stored JSON, to tell a duplicate record.
 */
export function upgradeOrderState(state) {
  return JSON.parse(call(() => wasmUpgrade(objectBytes(state, 'state'))));
}

function profileFor(profile) {
  let key;
  if (typeof profile === 'string') key = profile;
  else if (profile !== null && typeof profile === 'object') key = JSON.stringify(profile);
  else throw makeError('argument', 'invalid_argument', 'The profile is a name (nopcommerce, salesforce, erp, order-feed, record) or a mapping object.');
  return cached(profiles, key, () => call(() => new WasmProfile(key)), (oldest) => oldest.free());
}

/**
 * Maps a normalized record for a target: `profile` is a name (`nopcommerce`, `salesforce`,
 * `erp`, `order-feed`, `record`), a custom mapping object, or `{ profile: 'salesforce',
 * salesforce: {...} }`. Returns the target's object, or null when the record means nothing to
 * it. With `{ state }` (the order's state after mergeOrderState), outputs speak for the whole
 * order and do not depend on delivery order.
 */
export function mapToTarget(record, profile, options = {}) {
  // The caller's objects are serialized before the cached profile is looked up: a toJSON could
  // call this package again, and the cache could then drop (and free) the profile.
  const recordJson = objectBytes(record, 'record');
  const stateJson = options.state ? objectBytes(options.state, 'options.state') : undefined;
  const p = profileFor(profile);
  const out = call(() => p.map(recordJson, stateJson));
  return out === undefined ? null : JSON.parse(out);
}

/** Checks a profile or mapping without mapping anything; throws StripeMappingError naming the bad entry. */
export function loadProfile(profile) {
  profileFor(profile);
  return true;
}

/**
 * The nopCommerce update of one order after merging `record` into the order's `state`, with
 * nopCommerce's own guards. `order`: `{ id, order_total, currency, customer_currency_code,
 * currency_rate, shipping_status_id, payment_status_id, order_status_id, refunded_amount,
 * paid_date_utc, authorization_transaction_id, capture_transaction_id }` (amounts as decimal
 * strings or numbers; `currency` is the store's primary currency, the one `order_total` is in).
 */
export function planNopCommerceUpdate(order, state, record) {
  return JSON.parse(call(() => planNopCommerce(objectBytes(order, 'order'), objectBytes(state, 'state'), objectBytes(record, 'record'))));
}
