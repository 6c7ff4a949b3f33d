// The Stripe API client shared by stripe-bridge/payments and stripe-bridge/finance (Node and
// Workers only: it takes a secret key): one retry loop for every call; what a response means
// (success, retry with backoff, or a typed error) is decided by the core, so the CLI, this
// client and the Worker behave the same. Internal: the entry points re-export what is public.
import {
  apiDefaults,
  checkApiBase,
  checkApiKey,
  classifyNetworkError,
  classifyResponse,
} from '../build/payments-wasm/stripe_bridge_payments.js';
import { payments } from './runtime.mjs';
import { StripeBridgeError, callWith, makeError } from './errors.mjs';

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

/** The options every call takes, checked once: `{ apiKey, fetch?, apiBase?, stripeVersion?, maxRetries?, timeoutMs? }`. */
export function clientOptions(options = {}) {
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
  return { apiKey, apiBase: apiBase.replace(/\/+$/, ''), stripeVersion, timeoutMs, maxRetries, fetchFn, onRetry: options.onRetry };
}

/**
 * The one retry loop of the client: sends `call` (`{ method, path, body?, idempotencyKey? }`)
 * until the core says success or stop. Resolves to `{ bytes, response, attempts }`.
 */
export async function send(call_, o) {
  const headers = { authorization: `Bearer ${o.apiKey}`, 'stripe-version': o.stripeVersion };
  if (call_.method === 'POST') {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    headers['idempotency-key'] = call_.idempotencyKey;
  }
  const url = o.apiBase + call_.path;
  for (let attempt = 0; ; attempt++) {
    const jitter = Math.floor(Math.random() * 1001);
    let outcome;
    let response;
    let bytes;
    try {
      // Called unbound, as a plain function (workerd's fetch refuses any other `this`).
      const fetchFn = o.fetchFn;
      response = await fetchFn(url, { method: call_.method, headers, body: call_.body, signal: AbortSignal.timeout(o.timeoutMs) });
      bytes = new Uint8Array(await response.arrayBuffer());
    } catch (e) {
      response = undefined;
      outcome = JSON.parse(call(() => classifyNetworkError(describe(e, o.timeoutMs), attempt, o.maxRetries, jitter)));
    }
    if (response) {
      const header = (name) => response.headers.get(name) ?? undefined;
      outcome = JSON.parse(
        call(() => classifyResponse(response.status, header('stripe-should-retry'), header('request-id'), bytes, attempt, o.maxRetries, jitter)),
      );
      if (outcome.outcome === 'success') return { bytes, response, attempts: attempt + 1 };
    }
    if (outcome.outcome === 'fail') throw apiError(outcome.error, call_.idempotencyKey, attempt + 1);
    o.onRetry?.({ attempt: attempt + 1, delayMs: outcome.delay_ms, error: apiError(outcome.error, call_.idempotencyKey, attempt + 1) });
    await sleep(outcome.delay_ms);
  }
}

export function parseObject({ bytes, response }, idempotencyKey, attempts) {
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    throw apiError({ kind: 'StripeAPIError', status: response.status, message: 'Stripe answered with a body that is not JSON', request_id: response.headers.get('request-id') ?? undefined }, idempotencyKey, attempts);
  }
}

/** `GET` a path of Stripe's API, as bytes (retried like every call). */
export async function getBytes(path, o) {
  return (await send({ method: 'GET', path }, o)).bytes;
}
