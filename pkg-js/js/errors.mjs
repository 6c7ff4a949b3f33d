// The error classes of the package and the argument checks that throw them (shared source;
// each wasm module's bundle has a copy, so check `err.type` / `err.code` rather than
// `instanceof` across entry points).

/** Base class of every error stripe-bridge throws. */
export class StripeBridgeError extends Error {
  constructor(message, { type, code, kind } = {}) {
    super(message);
    this.name = type || 'StripeBridgeError';
    /** Error family, compatible with stripe-node's `err.type` for signature failures. */
    this.type = type || 'StripeBridgeError';
    /** Specific reason, e.g. `no_match`, `timestamp_outside_tolerance`, `amount_too_precise`. */
    this.code = code;
    /**
     * Area: `signature`, `event`, `money`, `state`, `mapping`, `standard_webhooks`,
     * `payment_request`, `stripe_api`, `reconcile`, `argument`.
     */
    this.kind = kind;
  }
}

/** A webhook failed verification (same `type` as stripe-node's error, so handlers keep working). */
export class StripeSignatureVerificationError extends StripeBridgeError {}
/** The payload is not a readable Stripe event. */
export class StripeEventError extends StripeBridgeError {}
/** An amount or currency was refused. */
export class StripeMoneyError extends StripeBridgeError {}
/** A record could not be merged into an order state. */
export class StripeStateError extends StripeBridgeError {}
/** A target profile or mapping file is invalid. */
export class StripeMappingError extends StripeBridgeError {}
/** A forwarded request failed Standard Webhooks verification. */
export class WebhookVerificationError extends StripeBridgeError {}
/** An argument has the wrong type or value. */
export class StripeInvalidArgumentError extends StripeBridgeError {}
/** An order cannot become a payment request; `.field` names the offending part (`total`, `lines[1].unit_price`). */
export class StripePaymentRequestError extends StripeBridgeError {}
/** A reconciliation input (a report file, a payout, its transactions) cannot be read. */
export class StripeReconcileError extends StripeBridgeError {}

const ERROR_CLASSES = {
  signature: [StripeSignatureVerificationError, 'StripeSignatureVerificationError'],
  event: [StripeEventError, 'StripeEventError'],
  money: [StripeMoneyError, 'StripeMoneyError'],
  state: [StripeStateError, 'StripeStateError'],
  mapping: [StripeMappingError, 'StripeMappingError'],
  standard_webhooks: [WebhookVerificationError, 'WebhookVerificationError'],
  argument: [StripeInvalidArgumentError, 'StripeInvalidArgumentError'],
  payment_request: [StripePaymentRequestError, 'StripePaymentRequestError'],
  reconcile: [StripeReconcileError, 'StripeReconcileError'],
};

export function makeError(kind, code, message, field) {
  const [Class, type] = ERROR_CLASSES[kind] || [StripeBridgeError, 'StripeBridgeError'];
  const error = new Class(message, { type, code, kind });
  if (field !== undefined) error.field = field;
  return error;
}

/** Runs a call into wasm, turning its `{kind, code, message}` errors into Error subclasses. */
export function callWith(runtime, fn) {
  if (!runtime.isReady()) {
    throw new StripeBridgeError(runtime.notReadyMessage(), { type: 'StripeBridgeError', code: 'not_initialized', kind: 'init' });
  }
  try {
    return fn();
  } catch (e) {
    if (e && typeof e === 'object' && typeof e.kind === 'string' && typeof e.code === 'string') {
      throw makeError(e.kind, e.code, e.message, e.field);
    }
    throw e;
  }
}

const encoder = new TextEncoder();

/** Throws StripeInvalidArgumentError unless `value` is a plain object (not null, not an array). */
export function checkObject(value, what) {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw makeError('argument', 'invalid_argument', `${what} must be an object.`);
  }
}

/** A plain object as UTF-8 JSON bytes for the wasm side. */
export function objectBytes(value, what) {
  checkObject(value, what);
  return encoder.encode(JSON.stringify(value));
}
