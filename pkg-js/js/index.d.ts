// Type declarations of the stripe-bridge npm package (all entry points share them; the
// browser entry adds `init`/`initSync`, see browser.d.ts).

/** Raw webhook body: exactly the bytes Stripe sent (a string is encoded as UTF-8). */
export type Payload = string | Uint8Array | ArrayBuffer | ArrayBufferView;

export interface VerifyOptions {
  /** Seconds the signed timestamp may differ from now, in either direction (>= 1; default 300), or `false` to skip the check. 0 is an error. */
  tolerance?: number | false;
  /** The current time: Unix seconds or a Date (default: now). */
  now?: number | Date;
}

export interface NormalizeOptions {
  /** Metadata keys holding the order reference, in order (default: order_id, orderId, order, invoice_id). */
  orderKeys?: string[];
}

export type Status =
  | 'pending'
  | 'requires_action'
  | 'authorized'
  | 'paid'
  | 'partially_refunded'
  | 'refunded'
  | 'failed'
  | 'canceled'
  | 'expired'
  | 'disputed'
  | 'dispute_won'
  | 'dispute_lost'
  | 'void'
  | 'uncollectible'
  | 'payout_pending'
  | 'payout_paid'
  | 'payout_failed'
  | 'customer_active'
  | 'customer_deleted'
  | 'ignored';

/** A decimal amount in major units, exact, with the currency's decimals: "12.34", "500", "1.230". */
export type DecimalString = string;

export interface Failure {
  code: string | null;
  message: string | null;
  decline_code?: string;
}

/** The normalized record: one per Stripe event. */
export interface NormalizedRecord {
  event_id: string;
  event_type: string;
  /** Event creation time, Unix seconds. */
  created: number;
  livemode: boolean;
  account: string | null;
  api_version: string | null;
  object: string | null;
  object_id: string | null;
  status: Status;
  order_ref: string | null;
  customer_id: string | null;
  customer_email: string | null;
  customer_name: string | null;
  /** Upper-case ISO code. */
  currency: string | null;
  amount: DecimalString | null;
  amount_minor: number | null;
  amount_refunded: DecimalString | null;
  amount_refunded_minor: number | null;
  fee: DecimalString | null;
  fee_minor: number | null;
  net: DecimalString | null;
  net_minor: number | null;
  settlement_currency: string | null;
  payment_intent: string | null;
  charge: string | null;
  refund: string | null;
  dispute: string | null;
  invoice: string | null;
  checkout_session: string | null;
  payout: string | null;
  subscription: string | null;
  balance_transaction: string | null;
  payment_method_type: string | null;
  reason: string | null;
  failure: Failure | null;
  arrival_date: number | null;
}

/** An order's state merged from its records (pass it back as it is to the next merge). */
export interface OrderState {
  order_ref: string | null;
  status: Status | null;
  currency: string | null;
  amount: DecimalString | null;
  amount_minor: number | null;
  amount_paid: DecimalString | null;
  amount_paid_minor: number | null;
  amount_refunded: DecimalString | null;
  amount_refunded_minor: number;
  customer_id: string | null;
  payment_intents: string[];
  charges: string[];
  invoices: string[];
  checkout_sessions: string[];
  payouts: string[];
  refunds: Record<string, { stage: number; amount_minor: number }>;
  disputes: Record<string, Status>;
  last_event_at: number | null;
  last_event_id: string | null;
  paid_at: number | null;
  paid_charge: string | null;
  fee_minor: number | null;
  net_minor: number | null;
  settlement_currency: string | null;
  payment_method_type: string | null;
  /** Internal merge bookkeeping. */
  base: unknown;
  /** Internal merge bookkeeping. */
  charge_refunded: unknown;
}

/** A Stripe event as parsed by constructEvent (the JSON object Stripe sent). */
export interface StripeEvent {
  id: string;
  object: string;
  type: string;
  created: number;
  livemode: boolean;
  api_version?: string | null;
  account?: string;
  data: { object: { id?: string; object?: string; [key: string]: unknown }; previous_attributes?: Record<string, unknown> };
  [key: string]: unknown;
}

export type ErrorKind = 'signature' | 'event' | 'money' | 'state' | 'mapping' | 'standard_webhooks' | 'payment_request' | 'stripe_api' | 'argument' | 'init';

export class StripeBridgeError extends Error {
  readonly type: string;
  readonly code: string;
  readonly kind: ErrorKind;
}
/** `type === 'StripeSignatureVerificationError'`, like stripe-node. Codes: no_payload, no_header, malformed_header, no_signatures, no_match, timestamp_outside_tolerance, no_secrets, invalid_tolerance, invalid_payload_type. */
export class StripeSignatureVerificationError extends StripeBridgeError {}
export class StripeEventError extends StripeBridgeError {}
export class StripeMoneyError extends StripeBridgeError {}
export class StripeStateError extends StripeBridgeError {}
export class StripeInvalidArgumentError extends StripeBridgeError {}
/** A target profile or mapping is invalid (stripe-bridge/targets). */
export class StripeMappingError extends StripeBridgeError {}
/** A forwarded request failed Standard Webhooks verification. Codes: missing_header, invalid_timestamp, timestamp_outside_tolerance, no_match, invalid_secret, invalid_json. */
export class WebhookVerificationError extends StripeBridgeError {}

export const DEFAULT_TOLERANCE: 300;

/** Verifies the raw body and returns the parsed event. Synchronous in every runtime. */
export function constructEvent(payload: Payload, header: string | Uint8Array | null | undefined, secret: string | string[], options?: VerifyOptions): StripeEvent;
/** Verifies the raw body; returns true or throws StripeSignatureVerificationError. */
export function verifyHeader(payload: Payload, header: string | Uint8Array | null | undefined, secret: string | string[], options?: VerifyOptions): true;
/** Verifies and normalizes in one call (the fast path). */
export function verifyAndNormalize(
  payload: Payload,
  header: string | Uint8Array | null | undefined,
  secret: string | string[],
  options?: VerifyOptions & NormalizeOptions,
): NormalizedRecord;
/** Normalizes an event object, JSON text or bytes. */
export function normalizeEvent(event: object | string | Uint8Array | ArrayBuffer, options?: NormalizeOptions): NormalizedRecord;
/** Merges a record into an order's state (null for a new order); returns the new state. */
export function mergeOrderState(state: OrderState | null | undefined, record: NormalizedRecord): OrderState;
/** A Stripe-Signature header value (`t=...,v1=...`), like stripe-node's generateTestHeaderString. */
export function generateTestHeader(options: { payload: Payload; secret: string; timestamp?: number | Date }): string;
/** "12.34" USD -> 1234; "500" JPY -> 500; "1.23" KWD -> 1230. Throws StripeMoneyError when not exact. */
export function toMinorUnits(amount: string, currency: string): number;
/** 1234 USD -> "12.34". */
export function fromMinorUnits(minor: number | bigint | string, currency: string): DecimalString;
/** 2 for USD, 0 for JPY, 3 for KWD. */
export function currencyExponent(currency: string): number;

/** Standard Webhooks headers, as a plain object (Node's req.headers) or a Headers. */
export type StandardWebhookHeaders = Record<string, string | string[] | undefined> | { get(name: string): string | null };
/** Verifies a Standard Webhooks request (what the Worker forwards) and returns its parsed JSON body. */
export function verifyStandardWebhook<T = NormalizedRecord>(payload: Payload, headers: StandardWebhookHeaders, secret: string, options?: { tolerance?: number; now?: number | Date }): T;
/** Standard Webhooks headers for a payload. */
export function signStandardWebhook(options: { id: string; payload: Payload; secret: string; timestamp?: number | Date }): { 'webhook-id': string; 'webhook-timestamp': string; 'webhook-signature': string };
