// The browser-safe JavaScript API of stripe-bridge/finance: payout reconciliation from balance
// transactions or a report file, balance summaries, payouts mapped onto the targets, over the
// finance wasm module. Nothing here takes or sends an API key.
import {
  reconcilePayout as wasmReconcilePayout,
  reconcilePayoutReport as wasmReconcileReport,
  balanceSummary as wasmBalanceSummary,
  balanceSummaryFromReport as wasmBalanceFromReport,
  payoutReconciliationCsv as wasmReconciliationCsv,
} from '../build/finance-wasm/stripe_bridge_finance.js';
import { finance } from './runtime.mjs';
import { callWith, makeError, objectBytes } from './errors.mjs';

export { StripeBridgeError, StripeInvalidArgumentError, StripeReconcileError } from './errors.mjs';

const call = (fn) => callWith(finance, fn);
const encoder = new TextEncoder();

function listBytes(value, what) {
  if (!Array.isArray(value)) throw makeError('argument', 'invalid_argument', `${what} must be an array.`);
  return encoder.encode(JSON.stringify(value));
}

function textBytes(value, what) {
  if (typeof value === 'string') return encoder.encode(value);
  if (value instanceof Uint8Array) return value;
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  throw makeError('argument', 'invalid_argument', `${what} must be a string, Uint8Array or ArrayBuffer.`);
}

/**
 * Itemizes a payout from its balance transactions (as Stripe lists them, ideally with
 * `expand[]=data.source`) and checks exactly that their nets add up to the payout amount:
 * `{ payout_id, currency, lines, totals, orders, balanced, difference_minor, likely_cause, ... }`
 * with amounts as exact decimal strings and `_minor` integers.
 */
export function reconcilePayout(payout, balanceTransactions) {
  const txns = listBytes(balanceTransactions, 'balanceTransactions');
  return JSON.parse(call(() => wasmReconcilePayout(objectBytes(payout, 'The payout'), txns)));
}

/**
 * Reconciliations from a `payout_reconciliation.itemized.*` CSV (the Dashboard's or a report
 * run's file): `[reconciliation]` of `payout` when given (checked against its amount), else one
 * per payout in the file (its amount taken from the file, with a warning saying so).
 */
export function reconcilePayoutReport(csv, payout) {
  const bytes = textBytes(csv, 'csv');
  const p = payout === undefined ? undefined : objectBytes(payout, 'The payout');
  return JSON.parse(call(() => wasmReconcileReport(bytes, p)));
}

/** Balance summary per currency for `[start, end)` (Unix seconds) from balance transactions. */
export function balanceSummary(balanceTransactions, start, end) {
  const txns = listBytes(balanceTransactions, 'balanceTransactions');
  return JSON.parse(call(() => wasmBalanceSummary(txns, start, end)));
}

/** Balance summary per currency from a `balance.summary.1` CSV. */
export function balanceSummaryFromReport(csv) {
  return JSON.parse(call(() => wasmBalanceFromReport(textBytes(csv, 'csv'))));
}

/** A reconciliation as CSV, with the column names of Stripe's itemized report. */
export function payoutReconciliationCsv(reconciliation) {
  return call(() => wasmReconciliationCsv(objectBytes(reconciliation, 'The reconciliation')));
}
