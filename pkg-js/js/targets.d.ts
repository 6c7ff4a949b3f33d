// Types of stripe-bridge/targets: the order state and target mappings (a second wasm module).
import type { NormalizedRecord, OrderState, OrderStateV1, StripeBridgeError, Status } from './index.js';

export { StripeBridgeError, StripeStateError, StripeInvalidArgumentError } from './index.js';
// The record and order-state types, declared once (in the main entry's types) and importable
// from either entry point.
export type {
  NormalizedRecord,
  Status,
  DecimalString,
  Failure,
  OrderState,
  OrderStateV1,
  OrderTotals,
  OrderAttempt,
  ObjectObservation,
  LinkedObservation,
  RefundObservation,
  DisputeObservation,
  FlagObservation,
} from './index.js';

/**
 * Merges a record into an order's state (null for a new order; a version-1 state is upgraded);
 * returns the new state. Throws StripeStateError (code `invalid_state`) for an inconsistent
 * state or an overflow, StripeInvalidArgumentError (code `invalid_json`) for an unreadable one.
 */
export function mergeOrderState(state: OrderState | OrderStateV1 | null | undefined, record: NormalizedRecord): OrderState;
/**
 * A stored state of any schema version in the current one (version 1 upgraded, derived fields
 * recomputed). Compare mergeOrderState's result with this, not with the stored JSON, to tell a
 * duplicate record.
 */
export function upgradeOrderState(state: OrderState | OrderStateV1): OrderState;
/** A target profile or mapping file is invalid; `.message` names the bad entry. */
export class StripeMappingError extends StripeBridgeError {}

export type ProfileName = 'record' | 'nopcommerce' | 'salesforce' | 'erp' | 'order-feed';

/** A custom mapping (see README: Custom mappings). */
export interface CustomMapping {
  name?: string;
  status_map?: Partial<Record<Status | '*', unknown>>;
  require?: string[];
  fields: Record<string, { path: string; default?: unknown } | { status: true } | { const: unknown } | { template: string }>;
}

/** The salesforce profile with object/field API names overridden. */
export interface SalesforceProfile {
  profile: 'salesforce';
  salesforce: {
    api_version?: string;
    all_or_none?: boolean;
    account?: Partial<Record<'object' | 'external_id' | 'name', string>> & { enabled?: boolean };
    contact?: Partial<Record<'object' | 'external_id' | 'last_name' | 'first_name' | 'email' | 'account', string>> & { enabled?: boolean };
    payment?: Partial<Record<'object' | 'external_id' | 'status' | 'amount' | 'amount_refunded' | 'currency' | 'fee' | 'net' | 'payout' | 'order_ref' | 'charge' | 'invoice' | 'payment_method' | 'last_event' | 'last_event_at' | 'account', string>>;
    payout?: Partial<Record<'object' | 'external_id' | 'status' | 'amount' | 'currency' | 'arrival_date', string>> & { enabled?: boolean };
  };
}

export type Profile = ProfileName | CustomMapping | SalesforceProfile | { profile: ProfileName };

/** The nopcommerce profile's output. */
export interface NopCommerceUpdate {
  profile: 'nopcommerce';
  event_id: string;
  event_type: string;
  order_id: string | null;
  payment_status_id: 10 | 20 | 30 | 35 | 40 | 50 | null;
  order_status_id: 20 | null;
  currency: string | null;
  paid_amount: string | null;
  refunded_amount: string | null;
  refund_ids: string[];
  authorization_transaction_id: string | null;
  capture_transaction_id: string | null;
  paid_date_utc: string | null;
  order_note: string;
}

/** The salesforce profile's output: a Composite API request body. */
export interface SalesforceComposite {
  allOrNone: boolean;
  compositeRequest: { method: 'PATCH'; url: string; referenceId: 'account' | 'contact' | 'payment' | 'payout'; body: Record<string, string | number> }[];
}

export interface ErpDocument {
  profile: 'erp';
  document_type: 'invoice' | 'order';
  document_ref: string;
  status: 'paid' | 'failed' | 'pending' | 'refunded' | 'credited';
  payment_reference: string | null;
  amount: string | null;
  amount_refunded: string | null;
  currency: string | null;
  paid_at: string | null;
  reconciliation_ref: string | null;
  invoice: string | null;
  balance_transaction: string | null;
  event_id: string;
  event_type: string;
}

export interface OrderFeedLine {
  profile: 'order-feed';
  order_ref: string;
  amount: string | null;
  currency: string | null;
  date: string;
  payment_method: string | null;
  transaction_ref: string | null;
  status: Status;
  event_id: string;
}

export const PROFILES: ProfileName[];
export const NOP_PAYMENT_STATUS: { readonly Pending: 10; readonly Authorized: 20; readonly Paid: 30; readonly PartiallyRefunded: 35; readonly Refunded: 40; readonly Voided: 50 };
export const NOP_ORDER_STATUS: { readonly Pending: 10; readonly Processing: 20; readonly Complete: 30; readonly Cancelled: 40 };
export const NOP_SHIPPING_STATUS: { readonly ShippingNotRequired: 10; readonly NotYetShipped: 20; readonly PartiallyShipped: 25; readonly Shipped: 30; readonly Delivered: 40 };

export interface MapOptions {
  /** The order's state after merging the record (mergeOrderState): outputs then speak for the whole order. */
  state?: OrderState;
}

export function mapToTarget(record: NormalizedRecord, profile: 'nopcommerce', options?: MapOptions): NopCommerceUpdate | null;
export function mapToTarget(record: NormalizedRecord, profile: 'salesforce' | SalesforceProfile, options?: MapOptions): SalesforceComposite | null;
export function mapToTarget(record: NormalizedRecord, profile: 'erp', options?: MapOptions): ErpDocument | null;
export function mapToTarget(record: NormalizedRecord, profile: 'order-feed', options?: MapOptions): OrderFeedLine | null;
export function mapToTarget(record: NormalizedRecord, profile: 'record', options?: MapOptions): NormalizedRecord | null;
export function mapToTarget(record: NormalizedRecord, profile: Profile, options?: MapOptions): Record<string, unknown> | null;

/** Validates a profile or mapping; throws StripeMappingError naming the bad entry. */
export function loadProfile(profile: Profile): true;

/** A nopCommerce Order row, as the plan reads it (amounts as decimal strings or numbers). */
export interface NopOrder {
  id: number;
  /** `OrderTotal`, in the store's primary currency. */
  order_total: string | number;
  /** The currency order_total is in (the store's primary currency); null: not checked. */
  currency?: string | null;
  /** `CustomerCurrencyCode`: the currency the customer paid in, when not the primary one. */
  customer_currency_code?: string | null;
  /** `CurrencyRate`: the customer paid `order_total × currency_rate` in `customer_currency_code`. */
  currency_rate?: string | number | null;
  /** `ShippingStatusId` (NOP_SHIPPING_STATUS); a paid order not needing shipping, shipped or delivered becomes Complete. Null: unknown. */
  shipping_status_id?: number | null;
  payment_status_id: number;
  order_status_id: number;
  refunded_amount?: string | number | null;
  paid_date_utc?: string | null;
  authorization_transaction_id?: string | null;
  capture_transaction_id?: string | null;
}

/** The changes to apply to the order (null: unchanged) and the notes to add. */
export interface NopPlan {
  order_id: number;
  payment_status_id: 10 | 20 | 30 | 35 | 40 | 50 | null;
  order_status_id: 10 | 20 | 30 | 40 | null;
  /** ISO 8601 UTC. */
  paid_date_utc: string | null;
  /** In the primary currency, 4 decimals when converted from the customer currency. */
  refunded_amount: string | null;
  authorization_transaction_id: string | null;
  capture_transaction_id: string | null;
  notes: string[];
}

export function planNopCommerceUpdate(order: NopOrder, state: OrderState, record: NormalizedRecord): NopPlan;
