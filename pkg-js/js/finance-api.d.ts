// Types of stripe-bridge/finance shared by every entry point: reconciliations, balance
// summaries and the target mappings of a payout (no secret key anywhere).
import { StripeBridgeError } from './index.js';

export { StripeBridgeError, StripeInvalidArgumentError } from './index.js';

/** A reconciliation input (a report file, a payout, its transactions) cannot be read. */
export class StripeReconcileError extends StripeBridgeError {}

/** Exact decimal in major units of the currency (`"12.34"`, `"500"`, `"1.230"`); null for a currency unknown here. */
export type Decimal = string | null;

/** Stripe's payout object (only these fields are read). */
export interface Payout {
  id: string;
  amount: number;
  currency: string;
  status?: string;
  automatic?: boolean;
  arrival_date?: number;
  reconciliation_status?: 'completed' | 'in_progress' | 'not_applicable' | null;
  balance_transaction?: string | { id: string } | null;
  [field: string]: unknown;
}

/** Stripe's balance transaction (as listed; `source` expanded or an id). */
export type BalanceTransaction = Record<string, unknown> & { id: string; amount: number; fee: number; net: number; currency: string };

export interface ReconciliationLine {
  balance_transaction_id: string;
  /** Stripe's balance transaction type (empty when read from a report file). */
  kind: string;
  reporting_category: string;
  created: number;
  available_on: number;
  /** Settlement currency, upper-case. */
  currency: string;
  gross_minor: number;
  fee_minor: number;
  net_minor: number;
  gross: Decimal;
  fee: Decimal;
  net: Decimal;
  fees: { kind: string; amount_minor: number; amount: Decimal; currency: string; description: string | null }[];
  source_id: string | null;
  source_object: string | null;
  charge_id: string | null;
  payment_intent_id: string | null;
  refund_id: string | null;
  dispute_id: string | null;
  order_ref: string | null;
  customer_facing_amount_minor: number | null;
  customer_facing_amount: Decimal;
  customer_facing_currency: string | null;
  exchange_rate: string | null;
}

export interface CategoryTotal { count: number; gross_minor: number; fee_minor: number; net_minor: number; gross: Decimal; fee: Decimal; net: Decimal }

export interface OrderSettlement {
  gross_minor: number; fee_minor: number; refunds_minor: number; disputes_minor: number; net_minor: number;
  gross: Decimal; fee: Decimal; refunds: Decimal; disputes: Decimal; net: Decimal;
}

export interface Reconciliation {
  payout_id: string;
  currency: string;
  payout_amount_minor: number;
  payout_amount: Decimal;
  lines: ReconciliationLine[];
  /** By reporting category. */
  totals: Record<string, CategoryTotal>;
  /** By order reference (refunds and disputes reach their order through their charge). */
  orders: Record<string, OrderSettlement>;
  net_minor: number;
  net: Decimal;
  /** The lines' nets add up to the payout amount, exactly. */
  balanced: boolean;
  /** Payout amount minus the lines' nets. */
  difference_minor: number;
  difference: Decimal;
  /** Manual payout, lines missing (a page not read?), extra lines or a reversal, ... */
  likely_cause: string | null;
  warnings: string[];
}

export interface BalanceSummary {
  currency: string;
  interval_start: number | null;
  interval_end: number | null;
  starting_balance_minor: number;
  starting_balance: Decimal;
  activity_by_category: Record<string, CategoryTotal>;
  activity_minor: number;
  activity: Decimal;
  payouts_minor: number;
  payouts: Decimal;
  ending_balance_minor: number;
  ending_balance: Decimal;
  balanced: boolean;
  warnings: string[];
  [field: string]: unknown;
}

/** Itemizes a payout from its balance transactions and checks it exactly. */
export function reconcilePayout(payout: Payout, balanceTransactions: BalanceTransaction[]): Reconciliation;
/** From a payout_reconciliation.itemized.* CSV: of `payout` (checked) or of every payout in the file. */
export function reconcilePayoutReport(csv: string | Uint8Array | ArrayBuffer, payout?: Payout): Reconciliation[];
/** Balance summary per currency for [start, end) (Unix seconds). */
export function balanceSummary(balanceTransactions: BalanceTransaction[], start: number, end: number): BalanceSummary[];
/** Balance summary per currency from a balance.summary.1 CSV. */
export function balanceSummaryFromReport(csv: string | Uint8Array | ArrayBuffer): BalanceSummary[];
/** The reconciliation as CSV with the column names of Stripe's report. */
export function payoutReconciliationCsv(reconciliation: Reconciliation): string;
