// Types of stripe-bridge/payments shared by every entry point: the order, the built request,
// the builders and the Payment Link URL helper (no secret key anywhere).
import type { StripeBridgeError } from './index.js';

export { StripeBridgeError, StripeInvalidArgumentError } from './index.js';

/** An order cannot become a payment request. */
export class StripePaymentRequestError extends StripeBridgeError {
  /** The offending part: `total`, `lines[1].unit_price`, `metadata.order_id`, `url`, ... */
  field?: string;
}

/** Amounts are decimal strings in major units (`"8.99"` EUR, `"500"` JPY, `"1.230"` KWD). */
export interface OrderLine {
  name: string;
  quantity: number;
  unit_price: string;
  description?: string;
}

export interface ExtraLine {
  name: string;
  amount: string;
}

/** An order asking for an online payment (unknown fields are refused). */
export interface PaymentOrder {
  /** The shop's order id: client_reference_id and metadata.order_id (1-200 characters). */
  id: string;
  /** The shop's customer id (metadata.customer_id). */
  customer_id?: string;
  /** An existing Stripe customer (cus_...); replaces customer_email on a Checkout Session. */
  stripe_customer?: string;
  customer_email?: string;
  customer_name?: string;
  /** ISO 4217 code, any case. */
  currency: string;
  lines: OrderLine[];
  /** Added as a line item. */
  tax?: ExtraLine;
  /** A fixed-amount shipping option on a Checkout Session (a Payment Link refuses it). */
  shipping?: ExtraLine;
  /** Must equal lines + tax + shipping exactly. */
  total: string;
  /** https (http only for localhost); required for a Checkout Session. */
  success_url?: string;
  cancel_url?: string;
  locale?: string;
  description?: string;
  /** More metadata (order_id and customer_id are set by stripe-bridge). */
  metadata?: Record<string, string>;
  /** Payment attempt: a new attempt gets a new Idempotency-Key. Default 0. */
  attempt?: number;
}

/** A request for Stripe's API. */
export interface StripeRequest {
  method: 'POST';
  path: '/v1/checkout/sessions' | '/v1/payment_intents' | '/v1/payment_links';
  /** application/x-www-form-urlencoded, Stripe's bracket notation. */
  body: string;
  /** Deterministic per (kind, order id, amount, currency, attempt). */
  idempotency_key: string;
  /** The total in minor units. */
  amount_minor: number;
  /** ISO code, upper case. */
  currency: string;
}

export const PAYMENT_LINK_HOSTS: readonly ['buy.stripe.com', 'donate.stripe.com'];

export function buildCheckoutSession(order: PaymentOrder): StripeRequest;
export function buildPaymentIntent(order: PaymentOrder): StripeRequest;
export function buildPaymentLink(order: PaymentOrder): StripeRequest;

/** Stripe's documented Payment Link URL parameters. */
export interface PaymentLinkParams {
  /** 1-200 letters, digits, - or _. */
  clientReferenceId?: string;
  prefilledEmail?: string;
  locale?: string;
  prefilledPromoCode?: string;
}

/** A Payment Link URL with its parameters (https buy.stripe.com / donate.stripe.com links only). */
export function paymentLinkUrl(baseUrl: string, params?: PaymentLinkParams): string;

