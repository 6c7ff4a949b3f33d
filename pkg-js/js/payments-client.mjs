// The Stripe API client of stripe-bridge/payments (Node and Workers only: it takes a secret
// key). Sends the requests the builders made, through the shared client's one retry loop.
import { buildCheckoutSession, buildPaymentIntent, buildPaymentLink } from './payments-api.mjs';
import { makeError } from './errors.mjs';
import { clientOptions, parseObject, send } from './stripe-client.mjs';

export {
  StripeApiError,
  StripeCardError,
  StripeInvalidRequestError,
  StripeRateLimitError,
  StripeAPIError,
  StripeIdempotencyError,
  StripeAuthenticationError,
  StripePermissionError,
  StripeConnectionError,
  stripeApiVersion,
} from './stripe-client.mjs';

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
  const o = clientOptions(options);
  const answer = await send({ method: 'POST', path: request.path, body: request.body, idempotencyKey: request.idempotency_key }, o);
  const object = parseObject(answer, request.idempotency_key, answer.attempts);
  const header = (name) => answer.response.headers.get(name) ?? undefined;
  Object.defineProperty(object, 'lastResponse', {
    value: {
      requestId: header('request-id'),
      statusCode: answer.response.status,
      idempotencyKey: request.idempotency_key,
      attempts: answer.attempts,
      // Stripe answered with the saved result of an earlier request with this key.
      replayed: header('idempotent-replayed') === 'true',
    },
    enumerable: false,
  });
  return object;
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
