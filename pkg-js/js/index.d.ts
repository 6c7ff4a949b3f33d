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

/** The events a deployment accepts (default `any`). */
export type Mode = 'test' | 'live' | 'any';
/** A connected account id, or `platform` for events without an `account`. */
export type AccountFilter = `acct_${string}` | 'platform';

export interface NormalizeOptions {
  /** Metadata keys holding the order reference, in order (default: order_id, orderId, order, invoice_id, order_guid). */
  orderKeys?: string[];
  /**
   * The mode guard: events of another mode give an `ignored` record with the `reason` (never
   * merged into an order). Anything but test, live or any throws StripeInvalidArgumentError
   * with code `invalid_mode`.
   */
  mode?: Mode;
  /** The accounts accepted (default: any); events of others are `ignored` with the reason. Code `invalid_mode` when an entry is neither. */
  accounts?: AccountFilter[];
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
  /** A dispute prevented by Visa's Rapid Dispute Resolution: refunded automatically (never a win). */
  | 'dispute_prevented'
  | 'void'
  | 'uncollectible'
  | 'payout_pending'
  | 'payout_paid'
  | 'payout_failed'
  | 'payout_canceled'
  | 'customer_active'
  | 'customer_deleted'
  /** Radar's early fraud warning on a charge: a flag on the payment, not a payment status. */
  | 'fraud_warning'
  /** A Radar review was opened (a flag). */
  | 'review_open'
  /** A Radar review was closed (a flag). */
  | 'review_closed'
  /** reporting.report_run.succeeded: the run's `file` can be downloaded (`report_type`, `payout`). */
  | 'report_ready'
  /** reporting.report_run.failed (`reason`: the run's error). */
  | 'report_failed'
  /** reporting.report_type.updated: new data for `report_type`. */
  | 'report_type_updated'
  /** file.created (`file`). */
  | 'file_created'
  /** A mapped event whose object could not be read (`reason` names the field); never changes an order. */
  | 'unreadable'
  /** An event type that is not mapped, or one the mode guard refused (`reason` says why). */
  | 'ignored';

/** What a status is about (see statusConcern): only `payment` and `flag` records concern an order. */
export type Concern = 'payment' | 'flag' | 'payout' | 'customer' | 'report' | 'nothing';

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
  /** Refund/dispute/cancellation reason, a fraud type; for `unreadable` the field that could not be read; for mode-ignored records why. */
  reason: string | null;
  failure: Failure | null;
  /** Radar's risk level of the charge (`normal`, `elevated`, `highest`, ...). */
  risk_level: string | null;
  arrival_date: number | null;
  /** Reporting API: a run's report type, or the report type with new data. */
  report_type: string | null;
  /** A succeeded report run's file, or the file of `file.created`. */
  file: string | null;
}

/** The amounts of an order in one currency, in minor units. */
export interface OrderTotals {
  /** The largest amount any attempt asked for. */
  requested_minor: number;
  /** Money captured, summed over attempts (two payments count twice). */
  paid_minor: number;
  /** Refunds, each once by id, whose latest status is pending or succeeded. */
  refunded_minor: number;
  /** Taken back by lost disputes. */
  dispute_lost_minor: number;
  /** Returned in all: refunds, prevented disputes, lost disputes. */
  returned_minor: number;
}

/** One payment attempt: a PaymentIntent with its charges, session and invoice; a session without a PaymentIntent yet; an invoice; a lone charge. */
export interface OrderAttempt {
  id: string;
  status: Status | null;
  /** Why it failed (the newest failure of its objects), only while the attempt is `failed`. */
  failure: Failure | null;
  failed_at: number | null;
  /** The newest event time of its objects, Unix seconds. */
  updated_at: number;
  currency: string | null;
  amount_minor: number | null;
  amount_captured_minor: number;
  amount_refunded_minor: number;
  objects: string[];
  refunds: string[];
  disputes: string[];
  fraud_warning: boolean;
  review_open: boolean;
  risk_level: string | null;
}

/** What one payment object (PaymentIntent, Checkout Session, invoice, invoice payment, charge) last said. */
export interface ObjectObservation {
  object: string;
  status: Status | null;
  at: number;
  /** The latest failure it reported (kept after a later success). */
  failure: Failure | null;
  failed_at: number | null;
  currency: string | null;
  amount_minor: number | null;
  captured_minor: number;
  refunded_minor: number | null;
  refunded_at: number | null;
  fee_minor: number | null;
  net_minor: number | null;
  settlement_currency: string | null;
  risk_level: string | null;
  links: string[];
}

/**
 * A refund, a dispute, or a flag (early fraud warning, review): what it last said and the payment
 * it names. One shape for all three, as the core keeps them (`state::Linked`).
 */
export interface LinkedObservation {
  status: Status | null;
  at: number;
  amount_minor: number;
  currency: string | null;
  charge: string | null;
  payment_intent: string | null;
  /** A refund's or dispute's reason, a fraud warning's fraud type, a review's (closing) reason. */
  reason: string | null;
}

export type RefundObservation = LinkedObservation;
export type DisputeObservation = LinkedObservation;
/** An early fraud warning or a review. */
export type FlagObservation = LinkedObservation;

/**
 * An order's state merged from its records, schema version 2 (pass it back as it is to the
 * next merge). Everything from `order_refs` down is what Stripe said; the rest is derived.
 * mergeOrderState and upgradeOrderState are in `stripe-bridge/targets` (which re-exports these
 * types too).
 */
export interface OrderState {
  schema_version: 2;
  /** The order reference (the smallest, when records disagree: see `conflicts`). */
  order_ref: string | null;
  status: Status | null;
  /** The currency of the amounts below; null when the order has amounts in several currencies (see `totals`). */
  currency: string | null;
  amount_requested: DecimalString | null;
  amount_requested_minor: number | null;
  amount_paid: DecimalString | null;
  amount_paid_minor: number | null;
  amount_refunded: DecimalString | null;
  amount_refunded_minor: number | null;
  /** Per currency (upper-case code), when the order has any amount. */
  totals: Record<string, OrderTotals>;
  /** More captured than asked: paid twice or more. */
  overpaid: boolean;
  fraud_warning: boolean;
  review_open: boolean;
  risk_level: string | null;
  customer_id: string | null;
  payment_method_type: string | null;
  /** The earliest capture, Unix seconds. */
  paid_at: number | null;
  paid_charge: string | null;
  fee_minor: number | null;
  net_minor: number | null;
  settlement_currency: string | null;
  last_event_at: number | null;
  last_event_id: string | null;
  /** What disagreed between records, in words (`currencies: EUR, USD`, `order refs: A, B`). */
  conflicts: string[];
  attempts: OrderAttempt[];
  order_refs: string[];
  objects: Record<string, ObjectObservation>;
  refunds: Record<string, RefundObservation>;
  disputes: Record<string, DisputeObservation>;
  flags: Record<string, FlagObservation>;
  customers: string[];
  payment_method_types: string[];
}

/** A state stored by version 1 (no `schema_version`): mergeOrderState and upgradeOrderState (`stripe-bridge/targets`) read and upgrade it. */
export interface OrderStateV1 {
  schema_version?: undefined;
  order_ref: string | null;
  status: Status | null;
  currency: string | null;
  amount?: DecimalString | null;
  amount_minor?: number | null;
  amount_paid_minor?: number | null;
  payment_intents?: string[];
  charges?: string[];
  [key: string]: unknown;
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
/** `type === 'StripeSignatureVerificationError'`, like stripe-node. Codes: no_payload, no_header, malformed_header, no_signatures, no_match, timestamp_outside_tolerance, no_secrets, invalid_tolerance, invalid_payload_type; hmac_failed (the *Async functions only: the platform's Web Crypto HMAC failed). */
export class StripeSignatureVerificationError extends StripeBridgeError {}
export class StripeEventError extends StripeBridgeError {}
export class StripeMoneyError extends StripeBridgeError {}
/** A record could not be merged (code `invalid_state`: an inconsistent stored state or an overflow). */
export class StripeStateError extends StripeBridgeError {}
/** An argument has the wrong type or value (codes: invalid_argument, invalid_json, invalid_mode). */
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
/**
 * The asynchronous variants: where the platform's only native HMAC is the Web Crypto API
 * (workerd without nodejs_compat, browsers in a secure context) they hash with it (faster than
 * SHA-256 in wasm); in Node they do what the synchronous ones do. Errors are rejections with
 * the same classes and codes.
 */
export function verifyHeaderAsync(payload: Payload, header: string | Uint8Array | null | undefined, secret: string | string[], options?: VerifyOptions): Promise<true>;
/** constructEvent, asynchronously (see verifyHeaderAsync); like stripe-node's constructEventAsync. */
export function constructEventAsync(payload: Payload, header: string | Uint8Array | null | undefined, secret: string | string[], options?: VerifyOptions): Promise<StripeEvent>;
/** verifyAndNormalize, asynchronously (see verifyHeaderAsync): the fast path in workerd without nodejs_compat. */
export function verifyAndNormalizeAsync(
  payload: Payload,
  header: string | Uint8Array | null | undefined,
  secret: string | string[],
  options?: VerifyOptions & NormalizeOptions,
): Promise<NormalizedRecord>;
/** Normalizes an event object, JSON text or bytes. */
export function normalizeEvent(event: object | string | Uint8Array | ArrayBuffer, options?: NormalizeOptions): NormalizedRecord;
/** What a record status is about; only `payment` and `flag` records concern an order. */
export function statusConcern(status: Status): Concern;
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
