// The Stripe API client of stripe-bridge/payments (Node and Workers only: it takes a secret
// key). Sends the requests the builders made; what a response means (success, retry with
// backoff, or a typed error) is decided by the core, so the CLI, this client and the Worker
// behave the same.
import {
  apiDefaults,
  checkApiBase,
  checkApiKey,
  classifyNetworkError,
  classifyResponse,
} from '../build/payments-wasm/stripe_bridge_payments.js';
import { payments } from './runtime.mjs';
import { StripeBridgeError, callWith, makeError } from './errors.mjs';
import { buildCheckoutSession, buildPaymentIntent, buildPaymentLink } from './payments-api.mjs';

const call = (fn) => callWith(payments, fn);

/**
 * Stripe answered with an error, or could not be reached. Like stripe-node's errors: `.type`
 * is the class name (`StripeCardError`, ...), `.rawType` Stripe's `error.type`, `.code`
 * Stripe's code (`card_declined`, `rate_limit`, ...; its error type when it gave no code),
 * `.decline_code`, `.param`,
 * `.requestId`, `.statusCode` (0 when there was no response), plus `.idempotencyKey` and
 * `.attempts`.
 */
export class StripeApiError extends StripeBridgeError {}
export class StripeCardError extends StripeApiError {}
export class StripeInvalidRequestError extends StripeApiError {}
export class StripeRateLimitError extends StripeApiError {}
export class StripeAPIError extends StripeApiError {}
export class StripeIdempotencyError extends StripeApiError {}
export class StripeAuthenticationError extends StripeApiError {}
export class StripePermissionError extends StripeApiError {}
export class StripeConnectionError extends StripeApiError {}

const API_ERROR_CLASSES = {
  StripeCardError,
  StripeInvalidRequestError,
  StripeRateLimitError,
  StripeAPIError,
  StripeIdempotencyError,
  StripeAuthenticationError,
  StripePermissionError,
  StripeConnectionError,
};

function apiError(e, idempotencyKey, attempts) {
  const Class = API_ERROR_CLASSES[e.kind] || StripeApiError;
  let message = e.message;
  if (e.request_id) message += ` (request ${e.request_id})`;
  // Stripe's code; without one, its error type (as stripe-node users branch on either).
  const code = e.code ?? e.error_type ?? (e.status === 0 ? 'connection_error' : 'api_error');
  const error = new Class(message, { type: e.kind, code, kind: 'stripe_api' });
  error.rawType = e.error_type ?? undefined;
  error.decline_code = e.decline_code ?? undefined;
  error.param = e.param ?? undefined;
  error.requestId = e.request_id ?? undefined;
  error.statusCode = e.status;
  error.idempotencyKey = idempotencyKey;
  error.attempts = attempts;
  return error;
}

const DEFAULTS = { timeoutMs: 80_000 };
let defaults;
function apiDefault(name) {
  defaults ??= call(() => apiDefaults());
  return defaults[name];
}

/** The Stripe-Version this package's request bodies are written for. */
export function stripeApiVersion() {
  return apiDefault('apiVersion');
}

function describe(error, timeoutMs) {
  if (error?.name === 'TimeoutError' || error?.name === 'AbortError') return `no response within ${timeoutMs} ms`;
  const cause = error?.cause?.code ? ` (${error.cause.code})` : '';
  return `${error?.message || String(error)}${cause}`;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function checkRequest(request) {
  const ok =
    request !== null &&
    typeof request === 'object' &&
    request.method === 'POST' &&
    typeof request.path === 'string' &&
    request.path.startsWith('/v1/') &&
    typeof request.body === 'string' &&
    typeof request.idempotency_key === 'string' &&
    request.idempotency_key.length > 0;
  if (!ok) throw makeError('argument', 'invalid_argument', 'The request must come from buildCheckoutSession, buildPaymentIntent or buildPaymentLink.');
}

/**
 * Sends a built request to Stripe: `options` is `{ apiKey, fetch?, apiBase?, stripeVersion?,
 * maxRetries?, timeoutMs? }`. Retries network errors, timeouts, 429 and 5xx with backoff and
 * the same Idempotency-Key (Stripe then never creates a second object); other 4xx are final.
 * Resolves to Stripe's object (with a non-enumerable `lastResponse`: `{ requestId,
 * statusCode, idempotencyKey, attempts, replayed }`); rejects with a StripeApiError subclass.
 */
export async function sendStripeRequest(request, options = {}) {
  checkRequest(request);
  const { apiKey, apiBase = apiDefault('apiBase'), stripeVersion = apiDefault('apiVersion'), timeoutMs = DEFAULTS.timeoutMs } = options;
  const maxRetries = options.maxRetries ?? apiDefault('maxRetries');
  const fetchFn = options.fetch ?? globalThis.fetch;
  if (typeof apiKey !== 'string') throw makeError('payment_request', 'invalid_api_key', 'apiKey: a Stripe secret (sk_) or restricted (rk_) key is required', 'apiKey');
  call(() => checkApiKey(apiKey));
  if (typeof apiBase !== 'string') throw makeError('payment_request', 'invalid_api_base', 'apiBase: must be a string', 'apiBase');
  call(() => checkApiBase(apiBase));
  if (!Number.isInteger(maxRetries) || maxRetries < 0 || maxRetries > 10) throw makeError('argument', 'invalid_argument', 'maxRetries must be a whole number from 0 to 10.');
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1) throw makeError('argument', 'invalid_argument', 'timeoutMs must be a positive whole number.');
  if (typeof fetchFn !== 'function') throw makeError('argument', 'invalid_argument', 'No fetch: pass options.fetch.');
  const url = apiBase.replace(/\/+$/, '') + request.path;
  const headers = {
    authorization: `Bearer ${apiKey}`,
    'content-type': 'application/x-www-form-urlencoded',
    'idempotency-key': request.idempotency_key,
    'stripe-version': stripeVersion,
  };
  for (let attempt = 0; ; attempt++) {
    const jitter = Math.floor(Math.random() * 1001);
    let outcome;
    let response;
    let bytes;
    try {
      response = await fetchFn(url, { method: 'POST', headers, body: request.body, signal: AbortSignal.timeout(timeoutMs) });
      bytes = new Uint8Array(await response.arrayBuffer());
    } catch (e) {
      response = undefined;
      outcome = JSON.parse(call(() => classifyNetworkError(describe(e, timeoutMs), attempt, maxRetries, jitter)));
    }
    if (response) {
      const header = (name) => response.headers.get(name) ?? undefined;
      outcome = JSON.parse(
        call(() => classifyResponse(response.status, header('stripe-should-retry'), header('request-id'), bytes, attempt, maxRetries, jitter)),
      );
      if (outcome.outcome === 'success') {
        let object;
        try {
          object = JSON.parse(new TextDecoder().decode(bytes));
        } catch {
          throw apiError({ kind: 'StripeAPIError', status: response.status, message: 'Stripe answered with a body that is not JSON', request_id: header('request-id') }, request.idempotency_key, attempt + 1);
        }
        Object.defineProperty(object, 'lastResponse', {
          value: {
            requestId: header('request-id'),
            statusCode: response.status,
            idempotencyKey: request.idempotency_key,
            attempts: attempt + 1,
            // Stripe answered with the saved result of an earlier request with this key.
            replayed: header('idempotent-replayed') === 'true',
          },
          enumerable: false,
        });
        return object;
      }
    }
    if (outcome.outcome === 'fail') throw apiError(outcome.error, request.idempotency_key, attempt + 1);
    options.onRetry?.({ attempt: attempt + 1, delayMs: outcome.delay_ms, error: apiError(outcome.error, request.idempotency_key, attempt + 1) });
    await sleep(outcome.delay_ms);
  }
}

/** Creates a hosted Checkout Session for an order; resolves to Stripe's session (`id`, `url`, ...). */
export async function createCheckoutSession(order, options) {
  return sendStripeRequest(buildCheckoutSession(order), options);
}

/** Creates a PaymentIntent for an order; resolves to Stripe's PaymentIntent (`id`, `client_secret`, ...). */
export async function createPaymentIntent(order, options) {
  return sendStripeRequest(buildPaymentIntent(order), options);
}

/** Creates a Payment Link for an order; resolves to Stripe's Payment Link (`id`, `url`, ...). */
export async function createPaymentLink(order, options) {
  return sendStripeRequest(buildPaymentLink(order), options);
}
