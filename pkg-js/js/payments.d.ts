// Types of stripe-bridge/payments in Node and Workers: the builders plus the Stripe API client.
import type { StripeBridgeError } from './index.js';
import type { PaymentOrder, StripeRequest } from './payments-builders.js';

export * from './payments-builders.js';

/** Like stripe-node's errors. */
export class StripeApiError extends StripeBridgeError {
  /** `StripeCardError`, `StripeInvalidRequestError`, `StripeRateLimitError`, `StripeAPIError`, `StripeIdempotencyError`, `StripeAuthenticationError`, `StripePermissionError`, `StripeConnectionError`. */
  readonly type: string;
  /** Stripe's `error.type`: `card_error`, `invalid_request_error`, `api_error`, `idempotency_error`. */
  rawType?: string;
  /** Stripe's `error.code` (`card_declined`, `rate_limit`, `parameter_missing`, ...); its `error.type` when it gave no code; `connection_error` without a response. */
  readonly code: string;
  decline_code?: string;
  param?: string;
  requestId?: string;
  /** HTTP status; 0 when Stripe could not be reached. */
  statusCode: number;
  idempotencyKey: string;
  attempts: number;
}
export class StripeCardError extends StripeApiError {}
export class StripeInvalidRequestError extends StripeApiError {}
export class StripeRateLimitError extends StripeApiError {}
export class StripeAPIError extends StripeApiError {}
export class StripeIdempotencyError extends StripeApiError {}
export class StripeAuthenticationError extends StripeApiError {}
export class StripePermissionError extends StripeApiError {}
export class StripeConnectionError extends StripeApiError {}

export interface StripeClientOptions {
  /** A secret (sk_test_/sk_live_) or restricted (rk_) key. */
  apiKey: string;
  /** Default: globalThis.fetch. */
  fetch?: (input: string, init: RequestInit) => Promise<Response>;
  /** Default https://api.stripe.com; http only to 127.0.0.1/localhost. */
  apiBase?: string;
  /** Default: the version the bodies are written for (stripeApiVersion()). */
  stripeVersion?: string;
  /** Retries after the first attempt (0-10, default 3). */
  maxRetries?: number;
  /** Per attempt (default 80000). */
  timeoutMs?: number;
  /** Called before each retry. */
  onRetry?: (info: { attempt: number; delayMs: number; error: StripeApiError }) => void;
}

export interface LastResponse {
  requestId?: string;
  statusCode: number;
  idempotencyKey: string;
  attempts: number;
  /** Stripe answered with the saved result of an earlier request with the same key (`Idempotent-Replayed`). */
  replayed: boolean;
}

/** A Stripe object as returned by the API, with a non-enumerable `lastResponse`. */
export type StripeObject<T = Record<string, unknown>> = T & { readonly lastResponse: LastResponse };

export interface CheckoutSession {
  id: string;
  object: 'checkout.session';
  url: string | null;
  amount_total: number | null;
  currency: string | null;
  client_reference_id: string | null;
  metadata: Record<string, string>;
  [key: string]: unknown;
}

export interface PaymentIntent {
  id: string;
  object: 'payment_intent';
  amount: number;
  currency: string;
  client_secret: string | null;
  status: string;
  metadata: Record<string, string>;
  [key: string]: unknown;
}

export interface PaymentLink {
  id: string;
  object: 'payment_link';
  url: string;
  active: boolean;
  metadata: Record<string, string>;
  [key: string]: unknown;
}

export function stripeApiVersion(): string;
export function sendStripeRequest(request: StripeRequest, options: StripeClientOptions): Promise<StripeObject>;
export function createCheckoutSession(order: PaymentOrder, options: StripeClientOptions): Promise<StripeObject<CheckoutSession>>;
export function createPaymentIntent(order: PaymentOrder, options: StripeClientOptions): Promise<StripeObject<PaymentIntent>>;
export function createPaymentLink(order: PaymentOrder, options: StripeClientOptions): Promise<StripeObject<PaymentLink>>;

/** An order's v2 state (from stripe-bridge/targets' mergeOrderState, or the Worker's GET /orders/{ref}). */
export type OrderStateLike = Record<string, unknown>;

/** A refund the shop asks for; amounts are decimal strings in major units. */
export interface RefundInput {
  order_id: string;
  /** pi_… or ch_… of the order; omitted: the order's payments, largest remaining first. */
  payment?: string;
  /** Omitted: all that remains refundable. */
  amount?: string;
  currency: string;
  reason?: 'duplicate' | 'fraudulent' | 'requested_by_customer';
  /** The shop's return request id (part of the idempotency key). */
  return_id?: string;
  credit_note_id?: string;
  metadata?: Record<string, string>;
}
export interface CaptureInput { order_id: string; payment_intent: string; amount?: string; currency: string; metadata?: Record<string, string> }
export interface CancelInput { order_id: string; payment_intent: string; reason?: 'abandoned' | 'duplicate' | 'fraudulent' | 'requested_by_customer' }
export interface ShopCustomer {
  /** The shop's customer id (kept as metadata.customer_id; found again by it). */
  customer_id: string;
  email?: string;
  name?: string;
  phone?: string;
  description?: string;
  address?: { line1?: string; line2?: string; city?: string; state?: string; postal_code?: string; country?: string };
  metadata?: Record<string, string>;
}
export interface OrderUpdate { order_id: string; payment_intent: string; order_number?: string; order_status?: string; description?: string; metadata?: Record<string, string> }

export function buildRefunds(input: RefundInput, state: OrderStateLike): StripeRequest[];
export function buildCapture(input: CaptureInput, state?: OrderStateLike): StripeRequest;
export function buildCancel(input: CancelInput, state?: OrderStateLike): StripeRequest;
export function buildOrderUpdate(update: OrderUpdate): StripeRequest;
/**
 * Sends every request of `buildRefunds`. A failure part-way rejects with the error, carrying
 * `refunds` (those made) and `remaining` (the planned requests not made): send those, or the
 * same input with the same state, never the input with a newer state (a split would be redone).
 */
export function createRefunds(input: RefundInput, state: OrderStateLike, options: StripeClientOptions): Promise<StripeObject[]>;
export function capturePayment(input: CaptureInput, options: StripeClientOptions, extra?: { state?: OrderStateLike }): Promise<StripeObject<PaymentIntent>>;
export function cancelPayment(input: CancelInput, options: StripeClientOptions, extra?: { state?: OrderStateLike }): Promise<StripeObject<PaymentIntent>>;
export function updateOrderPayment(update: OrderUpdate, options: StripeClientOptions): Promise<StripeObject<PaymentIntent>>;
export function syncCustomer(customer: ShopCustomer, options: StripeClientOptions, extra?: { stripeCustomer?: string }): Promise<{ result: 'created' | 'updated'; customer: StripeObject }>;
