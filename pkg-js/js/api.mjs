// The JavaScript API of stripe-bridge over the WebAssembly core. Every entry point (Node,
// browser, workerd) initializes the wasm module once, then re-exports this file.
import {
  WasmVerifier,
  WasmNormalizer,
  signHeader,
  signedTimestamp as wasmSignedTimestamp,
  statusConcern as wasmStatusConcern,
  toMinorUnits as wasmToMinor,
  fromMinorUnits as wasmFromMinor,
  currencyExponent as wasmExponent,
  WasmStandardWebhook,
} from '../build/wasm/stripe_bridge.js';
import { recordOf, RECORD_KEYS } from '../build/wasm/record-shape.mjs';
import { core } from './runtime.mjs';
import { callWith, makeError } from './errors.mjs';
import { cached } from './cache.mjs';

export {
  StripeBridgeError,
  StripeSignatureVerificationError,
  StripeEventError,
  StripeMoneyError,
  StripeStateError,
  StripeMappingError,
  WebhookVerificationError,
  StripeInvalidArgumentError,
} from './errors.mjs';

/** Stripe's default timestamp tolerance, in seconds. */
export const DEFAULT_TOLERANCE = 300;

const call = (fn) => callWith(core, fn);

const FIELD_COUNT = RECORD_KEYS.length;

/**
 * A record from the webhook module: packed (`\u0001`, then per field a tag, its text and
 * `\u0000`; see pkg-js/common/src/packed.rs) or, should a record ever not pack, JSON text.
 */
function record(text) {
  if (text.charCodeAt(0) !== 1) return JSON.parse(text);
  const values = new Array(FIELD_COUNT);
  let pos = 1;
  for (let i = 0; i < FIELD_COUNT; i++) {
    const end = text.indexOf('\u0000', pos);
    values[i] = packedValue(text, pos, end);
    pos = end + 1;
  }
  return recordOf(values);
}

function packedValue(text, pos, end) {
  switch (text.charCodeAt(pos)) {
    case 0x6e: // n
      return null;
    case 0x73: // s
      return text.slice(pos + 1, end);
    case 0x69: // i: an integer, read as JSON.parse reads one
      return Number(text.slice(pos + 1, end));
    case 0x74: // t
      return true;
    case 0x66: // f
      return false;
    default: // j: JSON
      return JSON.parse(text.slice(pos + 1, end));
  }
}

const decoder = new TextDecoder();

function payloadBytes(payload) {
  if (typeof payload === 'string') return core.utf8(payload);
  if (payload instanceof Uint8Array) return payload; // Buffer is a Uint8Array
  if (payload instanceof ArrayBuffer) return new Uint8Array(payload);
  if (ArrayBuffer.isView(payload)) return new Uint8Array(payload.buffer, payload.byteOffset, payload.byteLength);
  if (payload === undefined || payload === null) return new Uint8Array(0);
  throw makeError(
    'signature',
    'invalid_payload_type',
    'Webhook payload must be the raw request body as a string, Buffer or Uint8Array; it was a ' +
      `${typeof payload}. Signature verification is impossible on a parsed and re-serialized body.`,
  );
}

function headerString(header) {
  if (typeof header === 'string') return header;
  if (header === undefined || header === null) return '';
  if (header instanceof Uint8Array) return decoder.decode(header);
  if (Array.isArray(header)) {
    throw makeError('signature', 'malformed_header', 'The stripe-signature header was an array; pass the single header value.');
  }
  throw makeError('argument', 'invalid_argument', 'The stripe-signature header must be a string.');
}

function secretList(secret) {
  const list = Array.isArray(secret) ? secret : [secret];
  for (const s of list) {
    if (typeof s !== 'string') {
      throw makeError('argument', 'invalid_argument', 'The signing secret must be a string or an array of strings.');
    }
  }
  return list;
}

function nowSeconds(now) {
  if (now === undefined || now === null) return Math.floor(Date.now() / 1000);
  if (now instanceof Date) return Math.floor(now.getTime() / 1000);
  if (typeof now === 'number') return now;
  throw makeError('argument', 'invalid_argument', '`now` must be Unix seconds (a number) or a Date.');
}

// Verifiers (secrets + tolerance, HMAC keys prepared) and normalizers are cached: building
// them per call would redo the key schedule for every webhook. A dropped one is freed.
const verifiers = new Map();
const normalizers = new Map();

function keep(map, key, make) {
  return cached(map, key, make, forget);
}

function forget(oldest) {
  if (lastVerifier.verifier === oldest) lastVerifier = { secret: undefined, tolerance: undefined, verifier: undefined };
  if (defaultNormalizer === oldest) defaultNormalizer = undefined;
  oldest.free();
}

/**
 * The caller's options, each read once into a plain object before any cached verifier or
 * normalizer is looked up: a getter on them could call this package again, and the cache could
 * then drop (and free) an object this call already holds.
 */
function optionValues(options) {
  if (options === undefined || options === null) return undefined;
  const { tolerance, now, orderKeys, mode, accounts } = options;
  return { tolerance, now, orderKeys, mode, accounts };
}

// The last (secret, tolerance) pair and its verifier: webhook handlers call with the same
// secret every time, so this skips building the cache key.
let lastVerifier = { secret: undefined, tolerance: undefined, verifier: undefined };

function verifierFor(secret, options) {
  const tolerance = options && options.tolerance !== undefined ? options.tolerance : DEFAULT_TOLERANCE;
  if (typeof secret === 'string' && secret === lastVerifier.secret && tolerance === lastVerifier.tolerance) {
    return lastVerifier.verifier;
  }
  const verifier = buildVerifier(secret, tolerance);
  if (typeof secret === 'string') lastVerifier = { secret, tolerance, verifier };
  return verifier;
}

function buildVerifier(secret, tolerance) {
  const secrets = secretList(secret);
  if (tolerance !== false && typeof tolerance !== 'number') {
    throw makeError('argument', 'invalid_argument', '`tolerance` must be a number of seconds (>= 1) or false to disable the check.');
  }
  const key = JSON.stringify([secrets, tolerance]);
  return keep(verifiers, key, () => call(() => new WasmVerifier(secrets, tolerance === false ? undefined : tolerance)));
}

// The normalizer of the default options (most calls pass no order keys, mode or accounts).
let defaultNormalizer;

function normalizerFor(options) {
  if (options === undefined || (options.orderKeys === undefined && options.mode === undefined && options.accounts === undefined)) {
    if (defaultNormalizer === undefined) defaultNormalizer = buildNormalizer(options);
    return defaultNormalizer;
  }
  return buildNormalizer(options);
}

function buildNormalizer(options) {
  const keys = options && options.orderKeys;
  if (keys !== undefined && (!Array.isArray(keys) || keys.some((k) => typeof k !== 'string'))) {
    throw makeError('argument', 'invalid_argument', '`orderKeys` must be an array of strings.');
  }
  // The mode guard: which mode (test, live, any) and accounts (acct_… ids, `platform`) are
  // accepted; the core parses and checks them (code invalid_mode).
  const mode = options && options.mode;
  const accounts = options && options.accounts;
  if (mode !== undefined && typeof mode !== 'string') {
    throw makeError('argument', 'invalid_mode', '`mode` must be "test", "live" or "any".');
  }
  if (accounts !== undefined && (!Array.isArray(accounts) || accounts.some((a) => typeof a !== 'string'))) {
    throw makeError('argument', 'invalid_mode', '`accounts` must be an array of acct_… ids and "platform".');
  }
  const key = keys === undefined && mode === undefined && accounts === undefined ? '' : JSON.stringify([keys, mode, accounts]);
  return keep(normalizers, key, () => call(() => new WasmNormalizer(keys, mode, accounts)));
}

/**
 * Checks the signature. Where the platform has native HMAC (Node's OpenSSL), the core parses
 * the header and the platform hashes; the core then compares in constant time and checks the
 * tolerance. Elsewhere the core does everything in wasm. `payload` is a string or bytes.
 */
function verifyPayload(payload, header, secret, options) {
  const verifier = verifierFor(secret, options);
  const now = nowSeconds(options && options.now);
  const macs = core.nativeMacs();
  if (macs) {
    const computed = preparedMacs(verifier, macs, payload, header, secret, now);
    call(() => verifier.verifyPrepared(now, computed, macs.inner === true));
  } else {
    call(() => verifier.verify(payloadBytes(payload), header, now));
  }
}

/**
 * The platform's HMACs of `payload` (one per secret) for the timestamp the core reads from the
 * header; the verifier keeps the header it read for the `verifyPrepared*` call that must follow
 * synchronously (the secrets are listed first: nothing outside this package runs in between).
 */
function preparedMacs(verifier, macs, payload, header, secret, now) {
  const secrets = secretList(secret);
  const length = typeof payload === 'string' ? payload.length : payload.byteLength;
  const t = call(() => verifier.prepare(header, length, now));
  return macs(secrets, t, payload);
}

/**
 * Verifies the raw body against the Stripe-Signature header. Returns true or throws a
 * StripeSignatureVerificationError.
 */
export function verifyHeader(payload, header, secret, options) {
  const o = optionValues(options);
  verifyPayload(typeof payload === 'string' ? payload : payloadBytes(payload), headerString(header), secret, o);
  return true;
}

/** Verifies, then returns the parsed event (like stripe-node's constructEvent, but synchronous everywhere). */
export function constructEvent(payload, header, secret, options) {
  const o = optionValues(options);
  const body = typeof payload === 'string' ? payload : payloadBytes(payload);
  verifyPayload(body, headerString(header), secret, o);
  return parsedEvent(typeof body === 'string' ? body : decoder.decode(body));
}

/** The event of a verified body's text, or a StripeEventError. */
function parsedEvent(text) {
  let event;
  try {
    event = JSON.parse(text);
  } catch {
    throw makeError('event', 'malformed_event', 'The webhook payload is correctly signed but is not valid JSON.');
  }
  if (event === null || typeof event !== 'object' || Array.isArray(event)) {
    throw makeError('event', 'malformed_event', 'The webhook payload is not a Stripe event object.');
  }
  return event;
}

/** Verifies and normalizes in one call: the webhook fast path. Returns the normalized record. */
export function verifyAndNormalize(payload, header, secret, options) {
  // The options first (a getter on them could call this package again), then the cached
  // objects, the body's bytes last: they may be in the reused encoding buffer until the wasm
  // call copies them.
  const o = optionValues(options);
  const verifier = verifierFor(secret, o);
  const now = nowSeconds(o && o.now);
  const normalizer = normalizerFor(o);
  const h = headerString(header);
  const bytes = payloadBytes(payload);
  const macs = core.nativeMacs();
  if (macs) {
    // The platform's HMAC, then one call into wasm that checks it and normalizes.
    const computed = preparedMacs(verifier, macs, bytes, h, secret, now);
    return record(call(() => verifier.verifyPreparedAndNormalize(bytes, now, computed, macs.inner === true, normalizer)));
  }
  return record(call(() => verifier.verifyAndNormalize(bytes, h, now, normalizer)));
}

/**
 * The asynchronous functions: where the platform's only native HMAC is the Web Crypto API
 * (workerd without nodejs_compat, browsers) they hash with it, which is faster than SHA-256 in
 * wasm; elsewhere they do what the synchronous ones do (`sync`). The core still reads the
 * header, compares in constant time and checks the tolerance. Errors are rejections, with the
 * classes and codes of the synchronous functions (their checks run first, in the same order).
 * `then(bytes, header, macs, inner, options)` finishes after the platform's HMACs (`inner`: the
 * provider gave inner digests, which the core finishes; `options`: the values read on entry).
 */
async function verifiedAsync(payload, header, secret, given, normalizes, sync, then) {
  const options = optionValues(given);
  const macs = core.nativeMacs() || core.asyncMacs();
  if (!macs) return sync(payload, header, secret, options);
  verifierFor(secret, options);
  const now = nowSeconds(options && options.now);
  if (normalizes) normalizerFor(options);
  const h = headerString(header);
  // The body is copied before the first await: the caller's array could change meanwhile
  // (what is verified must be what is read), and the reused encoding buffer would.
  // (`new Uint8Array(view)` copies; a Buffer's `slice` would not.)
  const bytes = typeof payload === 'string' ? ownedUtf8.encode(payload) : new Uint8Array(payloadBytes(payload));
  const t = call(() => wasmSignedTimestamp(h, bytes.byteLength, now));
  let computed;
  try {
    computed = await macs(secretList(secret), t, bytes);
  } catch (e) {
    throw makeError('signature', 'hmac_failed', `The platform's HMAC failed (${(e && e.name) || 'error'}); the signature could not be checked.`);
  }
  return then(bytes, h, computed, macs.inner === true, options);
}

const ownedUtf8 = new TextEncoder();

/**
 * After the await: the core checks the platform's MACs. The verifier is looked up again: a
 * cache eviction meanwhile would have freed the one seen before.
 */
function checkMacs(bytes, h, secret, options, computed, inner) {
  const verifier = verifierFor(secret, options);
  call(() => verifier.verifyMacs(h, bytes.byteLength, nowSeconds(options && options.now), computed, inner));
}

/** verifyHeader, with the Web Crypto API's HMAC where that is the platform's native one. */
export function verifyHeaderAsync(payload, header, secret, options) {
  return verifiedAsync(payload, header, secret, options, false, verifyHeader, (bytes, h, computed, inner, o) => {
    checkMacs(bytes, h, secret, o, computed, inner);
    return true;
  });
}

/** constructEvent, with the Web Crypto API's HMAC where that is the platform's native one (like stripe-node's constructEventAsync). */
export function constructEventAsync(payload, header, secret, options) {
  return verifiedAsync(payload, header, secret, options, false, constructEvent, (bytes, h, computed, inner, o) => {
    checkMacs(bytes, h, secret, o, computed, inner);
    // A string body is parsed as given, as constructEvent does (no round trip through UTF-8).
    return parsedEvent(typeof payload === 'string' ? payload : decoder.decode(bytes));
  });
}

/** verifyAndNormalize, with the Web Crypto API's HMAC where that is the platform's native one. */
export function verifyAndNormalizeAsync(payload, header, secret, options) {
  return verifiedAsync(payload, header, secret, options, true, verifyAndNormalize, (bytes, h, computed, inner, o) => {
    // Looked up after the await, as in checkMacs.
    const verifier = verifierFor(secret, o);
    const now = nowSeconds(o && o.now);
    return record(call(() => verifier.verifyMacsAndNormalize(h, bytes, now, computed, inner, normalizerFor(o))));
  });
}

/** Normalizes a Stripe event (an object, JSON text or bytes) into the platform-neutral record. */
export function normalizeEvent(event, options) {
  // The options and an event object's JSON first (a getter or toJSON could call this package
  // again), then the normalizer; the bytes last: they may be in the reused encoding buffer
  // until wasm copies them.
  const o = optionValues(options);
  const raw = typeof event === 'string' || event instanceof Uint8Array || event instanceof ArrayBuffer;
  const json = !raw && event !== null && typeof event === 'object' ? JSON.stringify(event) : undefined;
  const normalizer = normalizerFor(o);
  let bytes;
  if (raw) {
    bytes = payloadBytes(event);
  } else if (json !== undefined) {
    bytes = core.utf8(json);
  } else {
    throw makeError('argument', 'invalid_argument', 'normalizeEvent takes an event object, JSON text or bytes.');
  }
  return record(call(() => normalizer.normalize(bytes)));
}

/**
 * What a record status is about: `payment` (the payment of an order), `flag` (a fraud warning
 * or review on an order's payment), `payout`, `customer`, or `nothing` (ignored, unreadable).
 * Only `payment` and `flag` records can change an order.
 */
export function statusConcern(status) {
  if (typeof status !== 'string') throw makeError('argument', 'invalid_argument', 'statusConcern takes a record status (a string).');
  return call(() => wasmStatusConcern(status));
}

/** A Stripe-Signature header for a payload, like stripe-node's generateTestHeaderString. */
export function generateTestHeader({ payload, secret, timestamp } = {}) {
  if (typeof secret !== 'string') {
    throw makeError('argument', 'invalid_argument', 'generateTestHeader needs { payload, secret }.');
  }
  const bytes = payloadBytes(payload);
  return call(() => signHeader(bytes, secret, timestamp === undefined ? nowSeconds() : nowSeconds(timestamp)));
}

function currencyArg(currency) {
  if (typeof currency !== 'string') throw makeError('argument', 'invalid_argument', 'currency must be a string such as "usd".');
  return currency;
}

/** "12.34" USD -> 1234. Amounts go in as strings (never floats); an amount that is not exactly representable throws. */
export function toMinorUnits(amount, currency) {
  if (typeof amount !== 'string') {
    throw makeError('money', 'invalid_amount', 'amount must be a decimal string such as "12.34" (never a float).');
  }
  const minor = call(() => wasmToMinor(amount, currencyArg(currency)));
  const n = Number(minor);
  if (!Number.isSafeInteger(n)) {
    throw makeError('money', 'amount_overflow', `amount ${amount} is beyond JavaScript's safe integer range in minor units`);
  }
  return n;
}

/** 1234 USD -> "12.34"; 500 JPY -> "500"; 1230 KWD -> "1.230". Minor units as a safe integer, bigint or integer string. */
export function fromMinorUnits(minor, currency) {
  let text;
  if (typeof minor === 'number') {
    if (!Number.isSafeInteger(minor)) throw makeError('money', 'invalid_amount', 'minor units must be a safe integer');
    text = String(minor);
  } else if (typeof minor === 'bigint') {
    text = minor.toString();
  } else if (typeof minor === 'string' && /^-?\d+$/.test(minor)) {
    text = minor;
  } else {
    throw makeError('money', 'invalid_amount', 'minor units must be an integer (number, bigint or string)');
  }
  return call(() => wasmFromMinor(text, currencyArg(currency)));
}

/** Decimal places of a currency in Stripe's API (0, 2 or 3). */
export function currencyExponent(currency) {
  return call(() => wasmExponent(currencyArg(currency)));
}

// Standard Webhooks (what the Worker forwards with): verify on the receiving side, sign for tests.
const standardSecrets = new Map();

function standardWebhookFor(secret) {
  if (typeof secret !== 'string') throw makeError('argument', 'invalid_argument', 'The Standard Webhooks secret must be a string (whsec_...).');
  return keep(standardSecrets, secret, () => call(() => new WasmStandardWebhook(secret)));
}

function headerValue(headers, name) {
  const value = typeof headers?.get === 'function' ? headers.get(name) : headers?.[name];
  return Array.isArray(value) ? value[0] : value ?? '';
}

/**
 * Verifies a request signed with Standard Webhooks headers (webhook-id, webhook-timestamp,
 * webhook-signature) and returns its parsed JSON body. `headers`: a plain object (Node's
 * `req.headers`) or a `Headers`. Options: `{ tolerance = 300, now }`.
 */
export function verifyStandardWebhook(payload, headers, secret, options = {}) {
  // The caller's values first (a getter or `headers.get` could call this package again), then
  // the cached verifier, the body's bytes last (they may be in the reused encoding buffer).
  const id = String(headerValue(headers, 'webhook-id'));
  const timestamp = String(headerValue(headers, 'webhook-timestamp'));
  const signature = String(headerValue(headers, 'webhook-signature'));
  const { tolerance: given, now } = options ?? {};
  const tolerance = given ?? 300;
  const at = nowSeconds(now);
  const verifier = standardWebhookFor(secret);
  const bytes = payloadBytes(payload);
  call(() => verifier.verify(id, timestamp, signature, bytes, at, tolerance));
  try {
    return JSON.parse(typeof payload === 'string' ? payload : decoder.decode(bytes));
  } catch {
    throw makeError('standard_webhooks', 'invalid_json', 'The verified body is not JSON.');
  }
}

/** Standard Webhooks headers for a payload: `{ 'webhook-id', 'webhook-timestamp', 'webhook-signature' }`. */
export function signStandardWebhook({ id, payload, secret, timestamp } = {}) {
  if (typeof id !== 'string' || !id) throw makeError('argument', 'invalid_argument', 'signStandardWebhook needs { id, payload, secret }.');
  const t = timestamp === undefined ? nowSeconds() : nowSeconds(timestamp);
  const signature = call(() => standardWebhookFor(secret).sign(id, t, payloadBytes(payload)));
  return { 'webhook-id': id, 'webhook-timestamp': String(t), 'webhook-signature': signature };
}
