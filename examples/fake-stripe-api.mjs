#!/usr/bin/env node
// A local stand-in for Stripe's API on 127.0.0.1, for the tests of the payment-request clients
// (npm package, CLI, Worker), of payout reconciliation, and for `make run` (no Stripe account or
// network needed):   STRIPE_SECRET_KEY=sk_test_... node examples/fake-stripe-api.mjs [port]
// (as a program it also serves a demo payout from stripe-scenarios.mjs and prints its id).
//
// It checks what Stripe checks on the wire: the method and path, the secret key in
// `Authorization: Bearer` (or HTTP Basic, as `curl -u sk_test_...:`), `Stripe-Version`, the form encoding, every parameter against the
// endpoint's known parameters (unknown, missing, mistyped and over-long ones give Stripe's 400
// `invalid_request_error`), metadata limits, and the Idempotency-Key: a repeated key with the
// same parameters replays the saved response (`Idempotent-Replayed: true`), with other parameters
// it is a 400 `idempotency_error`. Answers are Stripe-shaped objects and errors.
//
// Served: POST /v1/checkout/sessions, /v1/payment_intents, /v1/payment_links (hand-written
// schemas below); and, checked against Stripe's OpenAPI description (spec3.json) and shaped by
// its fixtures (fixtures3.json): GET /v1/payouts[/{id}], GET /v1/balance_transactions[/{id}]
// (filters payout, type, currency, source, created; cursors; expand[]), GET /v1/charges/{id},
// /v1/payment_intents/{id}, /v1/refunds/{id}, /v1/disputes/{id}, POST /v1/reporting/report_runs,
// GET /v1/reporting/report_runs/{id}, GET /v1/files/{id} and /v1/files/{id}/contents (the report
// CSVs, rendered from the store). Objects are seeded with `seed(...)` / `seedFile(...)`.
//
// Faults are scripted per request (POST or GET) with `fail(...)`: `{ status, error?, headers?,
// saved? }` answers an error (saved: replayed to later requests with the same key, as Stripe
// saves a 500 once execution began); `{ drop: 'before' | 'after' }` closes the connection before
// or after the request is carried out; `{ hang: true }` never answers.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join, resolve as resolvePath } from 'node:path';
import { fileURLToPath } from 'node:url';

const LOCALES = 'auto bg cs da de el en en-GB es es-419 et fi fil fr fr-CA hr hu id it ja ko lt lv ms mt nb nl pl pt pt-BR ro ru sk sl sv th tr vi zh zh-HK zh-TW'.split(' ');

// Parameter schemas: { type, required?, max?, values?, items?, fields?, maxItems? }; integers
// take { min?, amount? } (amount: false for a count, which the 8-digit amount cap does not bind).
const str = (max = 5000, extra = {}) => ({ type: 'string', max, ...extra });
const int = (min = 0, extra = {}) => ({ type: 'integer', min, ...extra });
// Stripe's integer parameters are 64-bit.
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const currency = { type: 'currency', required: true };
const metadata = { type: 'metadata' };
const productData = { type: 'object', required: true, fields: { name: str(5000, { required: true }), description: str(40000) } };
const priceData = {
  type: 'object',
  fields: { currency, product_data: productData, unit_amount: int(0, { required: true }) },
};
const lineItem = (quantityRequired) => ({
  type: 'object',
  fields: { price_data: { ...priceData, required: true }, quantity: int(1, { required: quantityRequired }) },
});

const ENDPOINTS = {
  '/v1/checkout/sessions': {
    prefix: 'cs_test_',
    schema: {
      mode: { type: 'enum', values: ['payment', 'setup', 'subscription'], required: true },
      line_items: { type: 'array', maxItems: 100, items: lineItem(false) },
      shipping_options: {
        type: 'array',
        maxItems: 5,
        items: {
          type: 'object',
          fields: {
            shipping_rate_data: {
              type: 'object',
              required: true,
              fields: {
                type: { type: 'enum', values: ['fixed_amount'] },
                display_name: str(100, { required: true }),
                fixed_amount: { type: 'object', fields: { amount: int(0, { required: true }), currency } },
              },
            },
          },
        },
      },
      success_url: { type: 'url', max: 5000 },
      cancel_url: { type: 'url', max: 5000 },
      client_reference_id: str(200),
      customer: { type: 'id', prefix: 'cus_' },
      customer_email: { type: 'email' },
      locale: { type: 'enum', values: LOCALES },
      metadata,
      payment_intent_data: { type: 'object', fields: { metadata, description: str(1000) } },
    },
  },
  '/v1/payment_intents': {
    prefix: 'pi_',
    schema: {
      amount: int(1, { required: true }),
      currency,
      automatic_payment_methods: { type: 'object', fields: { enabled: { type: 'boolean', required: true } } },
      customer: { type: 'id', prefix: 'cus_' },
      receipt_email: { type: 'email' },
      description: str(1000),
      metadata,
    },
  },
  '/v1/payment_links': {
    prefix: 'plink_',
    schema: {
      line_items: { type: 'array', maxItems: 20, required: true, items: lineItem(true) },
      metadata,
      payment_intent_data: { type: 'object', fields: { metadata, description: str(1000) } },
      after_completion: {
        type: 'object',
        fields: {
          type: { type: 'enum', values: ['redirect', 'hosted_confirmation'], required: true },
          redirect: { type: 'object', fields: { url: { type: 'url', max: 2048, required: true } } },
        },
      },
      // Stripe's OpenAPI (restrictions_params / completed_sessions_params, since December 2023):
      // `completed_sessions` is required inside `restrictions`, `limit` required inside it, type
      // integer, with no minimum or maximum declared; so any 64-bit integer passes here.
      restrictions: {
        type: 'object',
        fields: {
          completed_sessions: {
            type: 'object',
            required: true,
            fields: { limit: { type: 'integer', amount: false, required: true } },
          },
        },
      },
    },
  },
};

class ParamError extends Error {
  constructor(code, param, message, status = 400) {
    super(message);
    this.code = code;
    this.param = param;
    this.status = status;
  }
}

/**
 * Parses a form body (or a query string) in Stripe's bracket notation into nested objects;
 * arrays are objects indexed from 0 (`a[0]=x`), and `a[]=x&a[]=y` appends (`{ a: { 0: 'x', 1: 'y' } }`).
 */
export function parseForm(body) {
  const root = {};
  for (const [key, value] of new URLSearchParams(body)) {
    const m = /^([^[\]]+)((?:\[[^[\]]*\])*)$/.exec(key);
    if (!m) throw new ParamError('parameter_unknown', key, `Invalid parameter name: ${key}`);
    const path = [m[1], ...[...m[2].matchAll(/\[([^[\]]*)\]/g)].map((x) => x[1])];
    let node = root;
    for (let i = 0; i < path.length - 1; i++) {
      const step = path[i] === '' ? String(Object.keys(node).length) : path[i];
      node[step] ??= {};
      node = node[step];
      if (typeof node !== 'object') throw new ParamError('parameter_invalid', key, `Invalid hash: ${path.slice(0, i + 1).join('.')}`);
    }
    const last = path[path.length - 1] === '' ? String(Object.keys(node).length) : path[path.length - 1];
    if (Object.prototype.hasOwnProperty.call(node, last)) throw new ParamError('parameter_duplicate', key, `Duplicate parameter: ${key}`);
    node[last] = value;
  }
  return root;
}

const display = (path) => path.map((p, i) => (i === 0 ? p : `[${p}]`)).join('');

function check(schema, value, path) {
  const name = display(path);
  switch (schema.type) {
    case 'string':
    case 'url':
    case 'email':
    case 'id':
    case 'enum':
    case 'currency': {
      if (typeof value !== 'string') throw new ParamError('parameter_invalid_string', name, `Invalid string: ${name} must be a string`);
      if (schema.max && value.length > schema.max) {
        throw new ParamError('string_length_exceeds_maximum', name, `Invalid string: ${value.slice(0, 20)}...; must be at most ${schema.max} characters`);
      }
      if (schema.type === 'url' && !/^https?:\/\/[^\s]+$/.test(value)) throw new ParamError('url_invalid', name, 'Not a valid URL');
      if (schema.type === 'email' && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(value)) throw new ParamError('email_invalid', name, `Invalid email address: ${value}`);
      if (schema.type === 'id' && !value.startsWith(schema.prefix)) throw new ParamError('resource_missing', name, `No such customer: '${value}'`);
      if (schema.type === 'enum' && !schema.values.includes(value)) {
        throw new ParamError('parameter_invalid', name, `Invalid ${name}: must be one of ${schema.values.join(', ')}`);
      }
      if (schema.type === 'currency' && !/^[a-z]{3}$/.test(value)) {
        throw new ParamError('parameter_invalid', name, `Invalid currency: ${value}. Stripe currently supports these currencies: ... (three-letter ISO codes, in lowercase)`);
      }
      return;
    }
    case 'integer': {
      if (typeof value !== 'string' || !/^-?\d+$/.test(value)) throw new ParamError('parameter_invalid_integer', name, `Invalid integer: ${value}`);
      const n = BigInt(value);
      if (schema.min !== undefined && n < BigInt(schema.min)) throw new ParamError('parameter_invalid_integer', name, `This value must be greater than or equal to ${schema.min}.`);
      if (schema.amount !== false && n > 99999999n) throw new ParamError('amount_too_large', name, 'Amount must be no more than 99999999');
      if (n < INT64_MIN || n > INT64_MAX) throw new ParamError('parameter_invalid_integer', name, `Invalid integer: ${value}`);
      return;
    }
    case 'boolean':
      if (value !== 'true' && value !== 'false') throw new ParamError('parameter_invalid_boolean', name, `Invalid boolean: ${value}`);
      return;
    case 'metadata': {
      if (typeof value !== 'object') throw new ParamError('parameter_invalid', name, 'Invalid hash');
      const keys = Object.keys(value);
      if (keys.length > 50) throw new ParamError('parameter_invalid', name, 'Invalid metadata: metadata can have at most 50 keys.');
      for (const k of keys) {
        if (k.length > 40) throw new ParamError('parameter_invalid', `${name}[${k}]`, `Metadata keys can have up to 40 characters, but the key '${k}' has ${k.length} characters.`);
        if (typeof value[k] !== 'string') throw new ParamError('parameter_invalid', `${name}[${k}]`, 'Invalid metadata value: must be a string');
        if (value[k].length > 500) throw new ParamError('parameter_invalid', `${name}[${k}]`, `Metadata values can have up to 500 characters, but the value of '${k}' has ${value[k].length} characters.`);
      }
      return;
    }
    case 'array': {
      if (typeof value !== 'object') throw new ParamError('parameter_invalid', name, `Invalid array: ${name}`);
      const indexes = Object.keys(value);
      indexes.forEach((k, i) => {
        if (k !== String(i)) throw new ParamError('parameter_invalid', name, `Invalid array: ${name} must be indexed from 0 without gaps`);
      });
      if (indexes.length > schema.maxItems) throw new ParamError('parameter_invalid', name, `Invalid array: ${name} can have at most ${schema.maxItems} items`);
      indexes.forEach((k) => check(schema.items, value[k], [...path, k]));
      return;
    }
    case 'object': {
      if (typeof value !== 'object') throw new ParamError('parameter_invalid', name, `Invalid hash: ${name}`);
      checkFields(schema.fields, value, path);
      return;
    }
    default:
      throw new Error(`schema type ${schema.type}`);
  }
}

function checkFields(fields, obj, path) {
  for (const key of Object.keys(obj)) {
    if (!fields[key]) throw new ParamError('parameter_unknown', display([...path, key]), `Received unknown parameter: ${display([...path, key])}`);
  }
  for (const [key, schema] of Object.entries(fields)) {
    if (obj[key] === undefined) {
      if (schema.required) throw new ParamError('parameter_missing', display([...path, key]), `Missing required param: ${display([...path, key])}.`);
      continue;
    }
    check(schema, obj[key], [...path, key]);
  }
}

const id = (prefix, n = 24) => prefix + randomBytes(n).toString('base64url').replace(/[-_]/g, 'x').slice(0, n);

/** The object Stripe would create, from the checked parameters. */
function create(path, p, prefix) {
  const objectId = id(prefix);
  const created = Math.floor(Date.now() / 1000);
  if (path === '/v1/checkout/sessions') {
    const items = p.line_items ?? [];
    const subtotal = Object.values(items).reduce((s, li) => s + Number(li.price_data.unit_amount) * Number(li.quantity ?? 1), 0);
    const shipping = Number(p.shipping_options?.[0]?.shipping_rate_data?.fixed_amount?.amount ?? 0);
    const currencies = new Set(Object.values(items).map((li) => li.price_data.currency));
    if (currencies.size > 1) throw new ParamError('parameter_invalid', 'line_items', 'All line items must use the same currency.');
    if (p.customer && p.customer_email) throw new ParamError('parameter_invalid', 'customer_email', 'You may only specify one of these parameters: customer, customer_email.');
    if (p.mode === 'payment' && !p.success_url) throw new ParamError('parameter_missing', 'success_url', 'Missing required param: success_url.');
    return {
      id: objectId,
      object: 'checkout.session',
      amount_subtotal: subtotal,
      amount_total: subtotal + shipping,
      cancel_url: p.cancel_url ?? null,
      client_reference_id: p.client_reference_id ?? null,
      created,
      currency: [...currencies][0] ?? null,
      customer: p.customer ?? null,
      customer_email: p.customer_email ?? null,
      expires_at: created + 24 * 3600,
      livemode: false,
      locale: p.locale ?? null,
      metadata: p.metadata ?? {},
      mode: p.mode,
      payment_intent: null,
      payment_status: 'unpaid',
      shipping_cost: shipping ? { amount_total: shipping } : null,
      status: 'open',
      success_url: p.success_url ?? null,
      url: `https://checkout.stripe.com/c/pay/${objectId}#fidkdWxOYHwnPyd1blpxYHZxWjA0`,
    };
  }
  if (path === '/v1/payment_intents') {
    return {
      id: objectId,
      object: 'payment_intent',
      amount: Number(p.amount),
      automatic_payment_methods: p.automatic_payment_methods ? { enabled: p.automatic_payment_methods.enabled === 'true' } : null,
      client_secret: `${objectId}_secret_${randomBytes(12).toString('hex')}`,
      created,
      currency: p.currency,
      customer: p.customer ?? null,
      description: p.description ?? null,
      livemode: false,
      metadata: p.metadata ?? {},
      receipt_email: p.receipt_email ?? null,
      status: 'requires_payment_method',
    };
  }
  return {
    id: objectId,
    object: 'payment_link',
    active: true,
    after_completion: p.after_completion
      ? { type: p.after_completion.type, redirect: p.after_completion.redirect ?? null }
      : { type: 'hosted_confirmation', hosted_confirmation: { custom_message: null } },
    currency: Object.values(p.line_items)[0].price_data.currency,
    livemode: false,
    metadata: p.metadata ?? {},
    // As Stripe reports it: null without restrictions; `count` of completed sessions starts at 0.
    restrictions: p.restrictions
      ? { completed_sessions: { count: 0, limit: Number(p.restrictions.completed_sessions.limit) } }
      : null,
    url: `https://buy.stripe.com/test_${randomBytes(9).toString('base64url').replace(/[-_]/g, 'x')}`,
  };
}

const errorBody = (type, code, message, param) => ({
  error: { type, ...(code ? { code, doc_url: `https://stripe.com/docs/error-codes/${code.replace(/_/g, '-')}` } : {}), message, ...(param ? { param } : {}) },
});

// ---- Stripe's API description and example objects, read in place -----------------------------
// spec3.json (OpenAPI, API version 2023-08-16) and fixtures3.json (one example object per type),
// from ../../shared/stripe-openapi/ or the directory in STRIPE_OPENAPI_DIR; parsed on first use.

const openapiFile = (name) => {
  const dir = process.env.STRIPE_OPENAPI_DIR;
  return dir ? join(resolvePath(dir), name) : fileURLToPath(new URL(`../../shared/stripe-openapi/${name}`, import.meta.url));
};
let spec;
let fixtures;

/** Stripe's OpenAPI description (spec3.json). */
export function stripeSpec() {
  spec ??= JSON.parse(readFileSync(openapiFile('spec3.json'), 'utf8'));
  return spec;
}

const stripeFixtures = () => (fixtures ??= JSON.parse(readFileSync(openapiFile('fixtures3.json'), 'utf8')).resources);
const componentSchema = (type) => stripeSpec().components.schemas[type];

/** Follows `$ref`s to the schema they name. */
function deref(schema) {
  let s = schema;
  while (s?.$ref) s = componentSchema(s.$ref.slice('#/components/schemas/'.length));
  return s;
}

// A fixture's links to other example objects: ids (`txn_1Pga...`: a random part with capitals
// or digits, unlike `balance_transaction`) and expanded objects.
const FOREIGN_ID = /^[a-z]+(?:_[a-z]+)*_(?=[A-Za-z0-9]*[A-Z0-9])[A-Za-z0-9]{10,}$/;

function unlinked(value, key, own) {
  if (key === 'id' || key === 'object') return value;
  if (value !== own && typeof value === 'string' && FOREIGN_ID.test(value)) return null;
  if (Array.isArray(value)) return value.map((v) => unlinked(v, undefined, own));
  if (!value || typeof value !== 'object') return value;
  if (value.object === 'list') return { ...value, data: [], has_more: false };
  if (value.object && value.id) return null;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, unlinked(v, k, own)]));
}

/**
 * A Stripe object of `type` shaped as Stripe's fixture for it: the fixture's fields that the
 * API version of spec3.json knows, its links to other example objects cleared, then `values`.
 */
export function stripeObject(type, values = {}) {
  const fixture = stripeFixtures()[type];
  if (!fixture) return { object: type, ...values };
  const known = componentSchema(type)?.properties;
  const own = values.id ?? fixture.id;
  const base = {};
  for (const [k, v] of Object.entries(JSON.parse(JSON.stringify(fixture).replaceAll(fixture.id, own)))) {
    if (!known || k in known) base[k] = unlinked(v, k, own);
  }
  if ('livemode' in base) base.livemode = false;
  return { ...base, ...values };
}

// ---- Currencies: amounts in minor units; reports show them in major units -------------------
// Stripe's zero-decimal and three-decimal currencies (stripe.com/docs/currencies); others: 2.
const ZERO_DECIMAL = new Set('bif clp djf gnf jpy kmf krw mga pyg rwf ugx vnd vuv xaf xof xpf'.split(' '));
const THREE_DECIMAL = new Set('bhd jod kwd omr tnd'.split(' '));

/** Digits after the decimal point in API amounts of `currency`. */
export function currencyExponent(currency) {
  const c = String(currency).toLowerCase();
  if (ZERO_DECIMAL.has(c)) return 0;
  return THREE_DECIMAL.has(c) ? 3 : 2;
}

/** `minor` (integer or BigInt) as a decimal in major units: 1234 usd -> "12.34", jpy -> "1234". */
export function formatMinor(minor, currency) {
  const e = currencyExponent(currency);
  const n = BigInt(minor);
  const digits = (n < 0n ? -n : n).toString().padStart(e + 1, '0');
  const text = e ? `${digits.slice(0, -e)}.${digits.slice(-e)}` : digits;
  return n < 0n ? `-${text}` : text;
}

// ---- Parameters checked against spec3.json --------------------------------------------------
// Values are strings and nested objects, as parseForm gives them. Objects with `properties` and
// no `additionalProperties` are closed, as Stripe treats them; `x-stripeBypassValidation` enums
// are not enforced (Stripe does not either).

const kindOf = (s) => s?.type ?? (s?.properties || s?.additionalProperties ? 'object' : undefined);
const isStructured = (s) => ['object', 'array'].includes(kindOf(deref(s)));
const isBlankEnum = (s) => s.enum?.length === 1 && s.enum[0] === '';
const unknownParam = (name) => new ParamError('parameter_unknown', name, `Received unknown parameter: ${name}`);

/** Throws a ParamError (Stripe's wording) unless `value` fits the OpenAPI `schema`. */
export function checkSchema(schema, value, path = []) {
  const s = deref(schema);
  if (s === true || !s) return;
  if (s.anyOf) return checkAnyOf(s.anyOf, value, path);
  SCHEMA_CHECKS[kindOf(s)]?.(s, value, path);
}

function checkAnyOf(branches, value, path) {
  const failures = [];
  for (const branch of branches) {
    try {
      return checkSchema(branch, value, path);
    } catch (e) {
      if (!(e instanceof ParamError)) throw e;
      failures.push({ branch: deref(branch), e });
    }
  }
  const structured = typeof value === 'object';
  const best = failures.find((f) => isStructured(f.branch) === structured && !isBlankEnum(f.branch)) ?? failures[0];
  throw best.e;
}

function checkObject(schema, value, path) {
  const name = display(path);
  if (typeof value !== 'object') throw new ParamError('parameter_invalid', name, `Invalid hash: ${name}`);
  const props = schema.properties ?? {};
  const extra = schema.additionalProperties ?? (schema.properties ? false : true);
  for (const [key, v] of Object.entries(value)) {
    const sub = props[key] ?? extra;
    if (sub === false) throw unknownParam(display([...path, key]));
    checkSchema(sub, v, [...path, key]);
  }
  for (const key of schema.required ?? []) {
    const missing = display([...path, key]);
    if (value[key] === undefined) throw new ParamError('parameter_missing', missing, `Missing required param: ${missing}.`);
  }
}

function checkArray(schema, value, path) {
  const name = display(path);
  const keys = value && typeof value === 'object' ? Object.keys(value) : null;
  if (!keys || keys.some((k, i) => k !== String(i))) throw new ParamError('parameter_invalid', name, `Invalid array: ${name}`);
  for (const k of keys) checkSchema(schema.items, value[k], [...path, k]);
}

function checkInteger(schema, value, path) {
  const name = display(path);
  const ok = typeof value === 'string' && /^-?\d+$/.test(value) && BigInt(value) >= INT64_MIN && BigInt(value) <= INT64_MAX;
  if (!ok) throw new ParamError('parameter_invalid_integer', name, `Invalid integer: ${typeof value === 'string' ? value : name}`);
}

function checkNumber(schema, value, path) {
  const name = display(path);
  if (typeof value !== 'string' || !/^-?\d+(\.\d+)?$/.test(value)) throw new ParamError('parameter_invalid', name, `Invalid decimal: ${typeof value === 'string' ? value : name}`);
}

function checkBoolean(schema, value, path) {
  const name = display(path);
  if (value !== 'true' && value !== 'false') throw new ParamError('parameter_invalid_boolean', name, `Invalid boolean: ${typeof value === 'string' ? value : name}`);
}

function checkString(schema, value, path) {
  const name = display(path);
  if (typeof value !== 'string') throw new ParamError('parameter_invalid_string', name, `Invalid string: ${name} must be a string`);
  if (schema.format === 'decimal') checkNumber(schema, value, path);
  if (schema.maxLength !== undefined && value.length > schema.maxLength) {
    throw new ParamError('string_length_exceeds_maximum', name, `Invalid string: ${value.slice(0, 20)}...; must be at most ${schema.maxLength} characters`);
  }
  if (schema.enum && !schema['x-stripeBypassValidation'] && !schema.enum.includes(value)) {
    const shown = schema.enum.length > 12 ? `${schema.enum.slice(0, 12).join(', ')}, ...` : schema.enum.join(', ');
    throw new ParamError('parameter_invalid', name, `Invalid ${name}: must be one of ${shown}`);
  }
}

const SCHEMA_CHECKS = { object: checkObject, array: checkArray, integer: checkInteger, number: checkNumber, boolean: checkBoolean, string: checkString };

const operation = (path, method) => stripeSpec().paths[path]?.[method.toLowerCase()];
const formSchema = (op) => op?.requestBody?.content?.['application/x-www-form-urlencoded']?.schema ?? { type: 'object', properties: {} };

/** The query parameters of an operation (`in: query`) as one closed object schema. */
function querySchema(op) {
  const properties = {};
  for (const p of op?.parameters ?? []) if (p.in === 'query') properties[p.name] = p.schema;
  return { type: 'object', properties, additionalProperties: false };
}

// `limit` is a bare integer in spec3.json; its description bounds it: 1 to 100, default 10.
function checkLimit(query) {
  if (query.limit === undefined) return 10;
  const n = Number(query.limit);
  if (n < 1) throw new ParamError('parameter_invalid_integer', 'limit', 'This value must be greater than or equal to 1.');
  if (n > 100) throw new ParamError('parameter_invalid_integer', 'limit', 'This value must be less than or equal to 100.');
  return n;
}

// ---- The store: seeded and created objects, file contents, payouts' transactions -----------

const idOf = (v) => (v && typeof v === 'object' ? v.id : v) ?? null;
const now = () => Math.floor(Date.now() / 1000);
const NOUNS = { file: 'file upload' };

const createStore = () => ({ byId: new Map(), contents: new Map(), payoutOf: new Map(), runs: new Map() });

function clearStore(store) {
  for (const part of Object.values(store)) part.clear();
}

/** Adds a Stripe object, its missing fields filled from Stripe's fixture for its type. */
function put(store, object) {
  if (!object?.id || !object.object) throw new Error('seed: every object needs an `id` and an `object` type');
  const full = stripeObject(object.object, object);
  store.byId.set(full.id, full);
  const own = full.object === 'payout' ? idOf(full.balance_transaction) : null;
  if (own) store.payoutOf.set(own, full.id);
  return full;
}

/** Adds a file object and its contents (string or Buffer), served at `<url>/v1/files/<id>/contents`. */
function putFile(store, baseUrl, file, contents) {
  const fileId = file.id ?? id('file_');
  const size = Buffer.byteLength(contents);
  const full = put(store, { ...file, id: fileId, object: 'file', size, url: file.url ?? `${baseUrl}/v1/files/${fileId}/contents` });
  store.contents.set(fileId, contents);
  return full;
}

/** Seeds `objects`, or `{ objects, payouts: { po_id: [txn ids paid out in it] }, files: [{ file, contents }] }`. */
function seedStore(store, baseUrl, input) {
  const { objects = [], payouts = {}, files = [] } = Array.isArray(input) ? { objects: input } : input;
  for (const o of objects) put(store, o);
  for (const [payout, txns] of Object.entries(payouts)) for (const txn of txns) store.payoutOf.set(txn, payout);
  for (const f of files) putFile(store, baseUrl, f.file, f.contents);
  return { objects: objects.length, files: files.length };
}

const ofType = (store, type) => [...store.byId.values()].filter((o) => o.object === type);

function find(store, type, objectId, param = 'id', status = 404) {
  const o = store.byId.get(objectId);
  if (o?.object === type) return o;
  throw new ParamError('resource_missing', param, `No such ${NOUNS[type] ?? type}: '${objectId}'`, status);
}

// ---- Lists: newest first, cursors, filters ---------------------------------------------------

/** Stripe's list order: created descending; equal times by id, descending (stable). */
const newestFirst = (a, b) => b.created - a.created || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);

function inRange(value, range) {
  if (range === undefined) return true;
  if (typeof range === 'string') return value === Number(range);
  const { gt, gte, lt, lte } = range;
  const ok = (bound, test) => bound === undefined || test(Number(bound));
  return ok(gt, (b) => value > b) && ok(gte, (b) => value >= b) && ok(lt, (b) => value < b) && ok(lte, (b) => value <= b);
}

function paginate(store, items, query, { limit, url, type }) {
  const { starting_after: after, ending_before: before } = query;
  if (after && before) throw new ParamError('parameter_invalid', 'ending_before', 'You may only specify one of these parameters: ending_before, starting_after.');
  const sorted = [...items].sort(newestFirst);
  let page;
  let hasMore;
  if (before) {
    const cursor = find(store, type, before, 'ending_before', 400);
    const newer = sorted.filter((x) => newestFirst(x, cursor) < 0);
    [page, hasMore] = [newer.slice(-limit), newer.length > limit];
  } else {
    const cursor = after && find(store, type, after, 'starting_after', 400);
    const rest = cursor ? sorted.filter((x) => newestFirst(x, cursor) > 0) : sorted;
    [page, hasMore] = [rest.slice(0, limit), rest.length > limit];
  }
  return { object: 'list', data: page.map((o) => structuredClone(o)), has_more: hasMore, url };
}

// Stripe's answer for `payout=` on a manual payout, as quoted by users of the API (the docs:
// "For automatic Stripe payouts only").
export const MANUAL_PAYOUT_MESSAGE = 'Balance transaction history can only be filtered on automatic transfers, not manual.';

/** The transactions paid out in an automatic payout, its own `payout` row included. */
function paidOutIn(store, payoutId, items) {
  const payout = find(store, 'payout', payoutId, 'payout', 400);
  if (!payout.automatic) throw new ParamError(undefined, 'payout', MANUAL_PAYOUT_MESSAGE);
  return items.filter((t) => store.payoutOf.get(t.id) === payout.id);
}

function listBalanceTransactions({ store, query }) {
  const limit = checkLimit(query);
  let items = ofType(store, 'balance_transaction');
  if (query.payout !== undefined) items = paidOutIn(store, query.payout, items);
  const is = (wanted, actual) => wanted === undefined || actual === wanted;
  items = items.filter(
    (t) =>
      is(query.type, t.type) &&
      is(query.currency?.toLowerCase(), t.currency) &&
      is(query.source, idOf(t.source)) &&
      inRange(t.created, query.created),
  );
  const list = paginate(store, items, query, { limit, url: '/v1/balance_transactions', type: 'balance_transaction' });
  return expandAll(store, list, expandPaths(query));
}

function listPayouts({ store, query }) {
  const limit = checkLimit(query);
  const items = ofType(store, 'payout').filter(
    (p) =>
      (query.status === undefined || p.status === query.status) &&
      (query.destination === undefined || idOf(p.destination) === query.destination) &&
      inRange(p.created, query.created) &&
      inRange(p.arrival_date, query.arrival_date),
  );
  return expandAll(store, paginate(store, items, query, { limit, url: '/v1/payouts', type: 'payout' }), expandPaths(query));
}

// ---- expand[]: ids replaced by the objects, along dotted paths (`data.source`) ----------------
// A field must be expandable (x-expandableFields) on the object asked for and on a list's items.
// Past an expansion the object may be of several types (a balance transaction's `source`), so
// there a field is skipped where it does not apply, and refused only if no Stripe object has it.

const MAX_EXPAND_DEPTH = 4;
const expandPaths = (params) => Object.values(params.expand ?? {});
const expandable = (o) => (o.object === 'list' ? ['data'] : (componentSchema(o.object)?.['x-expandableFields'] ?? []));
let anyExpandable;
const expandableSomewhere = (field) =>
  (anyExpandable ??= new Set(Object.values(stripeSpec().components.schemas).flatMap((s) => s['x-expandableFields'] ?? []))).has(field);

function expandAll(store, object, paths) {
  for (const path of paths) {
    const parts = path.split('.');
    if (parts.length > MAX_EXPAND_DEPTH) {
      throw new ParamError('parameter_invalid', 'expand', `You cannot expand more than ${MAX_EXPAND_DEPTH} levels of a property. Property: ${path}`);
    }
    expandInto(store, object, parts, true);
  }
  return object;
}

function expandInto(store, holder, [field, ...rest], strict) {
  if (!holder || typeof holder !== 'object') return;
  if (!expandable(holder).includes(field)) {
    if (strict || !expandableSomewhere(field)) throw new ParamError('parameter_invalid', 'expand', `This property cannot be expanded (${field}).`);
    return;
  }
  const one = (v) => (typeof v === 'string' && store.byId.has(v) ? structuredClone(store.byId.get(v)) : v);
  holder[field] = Array.isArray(holder[field]) ? holder[field].map(one) : one(holder[field]);
  const itemsOfList = holder.object === 'list';
  if (rest.length) for (const item of [holder[field]].flat()) expandInto(store, item, rest, strict && itemsOfList);
}

const retrieve = (type) => ({ store, params, query }) => expandAll(store, structuredClone(find(store, type, params.id)), expandPaths(query));

// ---- Reporting API: report runs, their files, and the CSVs rendered from the store -----------
// The CSVs are rendered here from the store, independently of the Rust parser (an oracle).

const PAYOUT_CATEGORIES = new Set(['payout', 'payout_reversal']);
const SUMMARY_COLUMNS = ['category', 'description', 'net_amount', 'currency'];

// Stripe's documented columns of payout_reconciliation.itemized.5 served here; the first 16,
// in Stripe's documented order, are the default set.
const ITEMIZED_DEFAULTS = [
  'automatic_payout_id', 'automatic_payout_effective_at', 'balance_transaction_id', 'created_utc', 'created',
  'available_on_utc', 'available_on', 'currency', 'gross', 'fee', 'net', 'reporting_category', 'source_id',
  'description', 'customer_facing_amount', 'customer_facing_currency',
];

const timeFormats = new Map();

/** A unix time as Stripe's reports write it, "YYYY-MM-DD HH:MM:SS", in time zone `tz`. */
function reportTime(unix, tz = 'Etc/UTC') {
  if (unix === null || unix === undefined) return '';
  if (!timeFormats.has(tz)) {
    try {
      const options = { timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' };
      timeFormats.set(tz, new Intl.DateTimeFormat('en-CA', options));
    } catch {
      throw new ParamError('parameter_invalid', 'parameters[timezone]', `Unsupported time zone: ${tz}`);
    }
  }
  const p = Object.fromEntries(timeFormats.get(tz).formatToParts(new Date(unix * 1000)).map((x) => [x.type, x.value]));
  return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}:${p.second}`;
}

// The related payment's metadata: the PaymentIntent's, or the charge's when it has none (Stripe's docs).
const paymentMetadata = (r) => (Object.keys(r.pi?.metadata ?? {}).length ? r.pi.metadata : (r.charge?.metadata ?? {}));

/** The amount the customer saw (charge, refund or dispute), signed as the transaction. */
function customerFacing(r) {
  const o = r.refund ?? r.dispute ?? (r.source?.object === 'charge' ? r.charge : null);
  if (!o?.currency) return null;
  const sign = r.txn.amount < 0 ? -1 : 1;
  return { amount: formatMinor(sign * o.amount, o.currency), currency: o.currency };
}

const ITEMIZED_COLUMNS = {
  automatic_payout_id: (r) => r.payout.id,
  automatic_payout_effective_at: (r, tz) => reportTime(r.payout.arrival_date, tz),
  automatic_payout_effective_at_utc: (r) => reportTime(r.payout.arrival_date),
  balance_transaction_id: (r) => r.txn.id,
  created_utc: (r) => reportTime(r.txn.created),
  created: (r, tz) => reportTime(r.txn.created, tz),
  available_on_utc: (r) => reportTime(r.txn.available_on),
  available_on: (r, tz) => reportTime(r.txn.available_on, tz),
  currency: (r) => r.txn.currency,
  gross: (r) => formatMinor(r.txn.amount, r.txn.currency),
  fee: (r) => formatMinor(r.txn.fee, r.txn.currency),
  net: (r) => formatMinor(r.txn.net, r.txn.currency),
  reporting_category: (r) => r.txn.reporting_category,
  source_id: (r) => idOf(r.txn.source),
  description: (r) => r.txn.description,
  customer_facing_amount: (r) => customerFacing(r)?.amount,
  customer_facing_currency: (r) => customerFacing(r)?.currency,
  customer_id: (r) => idOf(r.charge?.customer),
  customer_email: (r) => r.charge?.billing_details?.email ?? r.charge?.receipt_email,
  customer_name: (r) => r.charge?.billing_details?.name,
  charge_id: (r) => r.charge?.id,
  payment_intent_id: (r) => idOf(r.charge?.payment_intent),
  charge_created_utc: (r) => reportTime(r.charge?.created),
  charge_created: (r, tz) => reportTime(r.charge?.created, tz),
  invoice_id: (r) => idOf(r.charge?.invoice),
  payment_method_type: (r) => r.charge?.payment_method_details?.type,
  card_brand: (r) => r.charge?.payment_method_details?.card?.brand,
  card_funding: (r) => r.charge?.payment_method_details?.card?.funding,
  card_country: (r) => r.charge?.payment_method_details?.card?.country,
  statement_descriptor: (r) => r.charge?.calculated_statement_descriptor,
  dispute_reason: (r) => r.dispute?.reason,
};

const METADATA_COLUMN = /^(payment|refund|transfer)_metadata\[([^\]]+)\]$/;

function itemizedCell(column, r, tz) {
  const meta = METADATA_COLUMN.exec(column);
  if (!meta) return ITEMIZED_COLUMNS[column](r, tz);
  if (meta[1] === 'payment') return paymentMetadata(r)[meta[2]];
  return meta[1] === 'refund' ? r.refund?.metadata?.[meta[2]] : undefined;
}

const csvCell = (v) => {
  const s = v === null || v === undefined ? '' : String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};
const toCsv = (header, rows) => `${[header, ...rows].map((row) => row.map(csvCell).join(',')).join('\n')}\n`;

const isOwnRow = (t, payout) => t.id === idOf(payout.balance_transaction) || (t.type === 'payout' && idOf(t.source) === payout.id);
const inInterval = (time, p) => p.interval_start === undefined || (time >= p.interval_start && time < p.interval_end);
const oldestFirst = (a, b) => newestFirst(b, a);

/** A transaction with the objects a report row draws from. */
function rowContext(store, txn, payout) {
  const look = (v) => store.byId.get(idOf(v)) ?? null;
  const source = look(txn.source);
  const charge = source?.object === 'charge' ? source : look(source?.charge);
  const pi = look(charge?.payment_intent ?? source?.payment_intent);
  const refund = source?.object === 'refund' ? source : null;
  const dispute = source?.object === 'dispute' ? source : null;
  return { txn, payout, source, charge, pi, refund, dispute };
}

/** payout_reconciliation.itemized.5: one row per transaction paid out, the payouts' own rows left out. */
function renderItemized(store, p) {
  const payouts = new Map(
    ofType(store, 'payout')
      .filter((po) => po.automatic && (p.payout === undefined || po.id === p.payout) && inInterval(po.arrival_date, p))
      .map((po) => [po.id, po]),
  );
  const rows = ofType(store, 'balance_transaction')
    .map((t) => [t, payouts.get(store.payoutOf.get(t.id))])
    .filter(([t, po]) => po && !isOwnRow(t, po))
    .filter(([t]) => (p.currency === undefined || t.currency === p.currency.toLowerCase()) && (p.reporting_category === undefined || t.reporting_category === p.reporting_category))
    .sort(([a], [b]) => oldestFirst(a, b))
    .map(([t, po]) => rowContext(store, t, po));
  const columns = p.columns ?? ITEMIZED_DEFAULTS;
  return toCsv(columns, rows.map((r) => columns.map((c) => itemizedCell(c, r, p.timezone))));
}

/** balance.summary.1: per currency, starting balance, activity, payouts, ending balance. */
function renderSummary(store, p) {
  const txns = ofType(store, 'balance_transaction').filter((t) => p.currency === undefined || t.currency === p.currency.toLowerCase());
  const currencies = [...new Set(txns.map((t) => t.currency))].sort();
  const rows = currencies.flatMap((c) => summaryRows(txns.filter((t) => t.currency === c), c, p));
  const columns = p.columns ?? SUMMARY_COLUMNS;
  return toCsv(columns, rows.map((row) => columns.map((k) => row[k])));
}

function summaryRows(txns, currency, p) {
  const sum = (test) => txns.filter(test).reduce((s, t) => s + BigInt(t.net), 0n);
  const during = (t) => t.created >= p.interval_start && t.created < p.interval_end;
  const start = sum((t) => t.created < p.interval_start);
  const activity = sum((t) => during(t) && !PAYOUT_CATEGORIES.has(t.reporting_category));
  const payouts = sum((t) => during(t) && PAYOUT_CATEGORIES.has(t.reporting_category));
  const day = (unix) => reportTime(unix, p.timezone).slice(0, 10);
  const row = (category, description, minor) => ({ category, description, net_amount: formatMinor(minor, currency), currency });
  return [
    row('starting_balance', `Starting balance (${day(p.interval_start)})`, start),
    row('activity', 'Activity', activity),
    row('payouts', 'Less payouts', payouts),
    row('ending_balance', `Ending balance (${day(p.interval_end)})`, start + activity + payouts),
  ];
}

function checkInterval(p) {
  for (const k of ['interval_start', 'interval_end']) {
    if (p[k] === undefined) throw new ParamError('parameter_missing', `parameters[${k}]`, `Missing required param: parameters[${k}].`);
  }
  if (p.interval_end <= p.interval_start) {
    throw new ParamError('parameter_invalid', 'parameters[interval_end]', 'parameters[interval_end] must be after parameters[interval_start].');
  }
}

function checkItemized(store, p) {
  if (p.payout === undefined || p.interval_start !== undefined || p.interval_end !== undefined) checkInterval(p);
  if (p.payout === undefined) return;
  const payout = find(store, 'payout', p.payout, 'parameters[payout]', 400);
  if (!payout.automatic) {
    throw new ParamError(undefined, 'parameters[payout]', `The payout reconciliation report is only available for automatic payouts; ${payout.id} is a manual payout.`);
  }
}

const REPORT_TYPES = {
  'payout_reconciliation.itemized.5': {
    accepts: (c) => c in ITEMIZED_COLUMNS || METADATA_COLUMN.test(c),
    check: checkItemized,
    render: renderItemized,
  },
  'balance.summary.1': { accepts: (c) => SUMMARY_COLUMNS.includes(c), check: (store, p) => checkInterval(p), render: renderSummary },
};

/** The run's parameters as Stripe echoes them: integers as numbers, columns as an array. */
function runParameters(form) {
  const p = { ...form };
  for (const k of ['interval_start', 'interval_end']) if (p[k] !== undefined) p[k] = Number(p[k]);
  if (p.columns !== undefined) p.columns = Object.values(p.columns);
  return p;
}

function createReportRun({ store, form, ctx }) {
  const type = REPORT_TYPES[form.report_type];
  if (!type) {
    throw new ParamError('parameter_invalid', 'report_type', `Invalid report_type: ${form.report_type} (this stand-in runs ${Object.keys(REPORT_TYPES).join(', ')})`);
  }
  const p = runParameters(form.parameters ?? {});
  (p.columns ?? []).forEach((c, i) => {
    if (!type.accepts(c)) throw new ParamError('parameter_invalid', `parameters[columns][${i}]`, `Invalid column for ${form.report_type}: ${c}`);
  });
  type.check(store, p);
  const values = { id: id('frr_'), created: now(), error: null, parameters: p, report_type: form.report_type, result: null, status: 'pending', succeeded_at: null };
  const run = put(store, { ...values, object: 'reporting.report_run' });
  store.runs.set(run.id, { readyAt: ctx.reportDelayMs === undefined ? null : Date.now() + ctx.reportDelayMs });
  return structuredClone(run);
}

function finishRun(store, run, ctx) {
  try {
    const csv = REPORT_TYPES[run.report_type].render(store, run.parameters);
    const created = now();
    const file = {
      id: id('file_'),
      created,
      expires_at: created + 365 * 86400,
      filename: `${run.id}.csv`,
      links: { object: 'list', data: [], has_more: false, url: '/v1/file_links' },
      purpose: 'finance_report_run',
      title: `FinanceReportRun ${run.id}`,
      type: 'csv',
    };
    file.links.url = `/v1/file_links?file=${file.id}`;
    Object.assign(run, { result: putFile(store, ctx.baseUrl, file, csv), status: 'succeeded', succeeded_at: created });
  } catch (e) {
    if (!(e instanceof ParamError)) throw e;
    Object.assign(run, { status: 'failed', error: e.message });
  }
}

/** A run is pending when created; the next retrieve (or the first after `reportDelayMs`) finishes it. */
function retrieveReportRun({ store, params, query, ctx }) {
  const run = find(store, 'reporting.report_run', params.id);
  const { readyAt } = store.runs.get(run.id) ?? { readyAt: null };
  if (run.status === 'pending' && (readyAt === null || Date.now() >= readyAt)) finishRun(store, run, ctx);
  return expandAll(store, structuredClone(run), expandPaths(query));
}

const CONTENT_TYPES = { csv: 'text/csv', pdf: 'application/pdf', json: 'application/json', txt: 'text/plain' };

function fileContents({ store, params }) {
  const file = find(store, 'file', params.id);
  const raw = store.contents.get(file.id);
  if (raw === undefined) throw new ParamError('resource_missing', 'id', `No such file upload: '${file.id}'`, 404);
  return { raw, contentType: CONTENT_TYPES[file.type] ?? 'application/octet-stream' };
}

// ---- Routes ----------------------------------------------------------------------------------
// GET query strings and the report_runs form body are checked against the operation in
// spec3.json; the creation endpoints above keep their hand-written schemas.

const ROUTES = [
  ...Object.keys(ENDPOINTS).map((path) => ({ method: 'POST', path, endpoint: ENDPOINTS[path] })),
  { method: 'POST', path: '/v1/reporting/report_runs', run: createReportRun },
  { method: 'GET', path: '/v1/payouts', run: listPayouts },
  { method: 'GET', path: '/v1/payouts/{payout}', run: retrieve('payout') },
  { method: 'GET', path: '/v1/balance_transactions', run: listBalanceTransactions },
  { method: 'GET', path: '/v1/balance_transactions/{id}', run: retrieve('balance_transaction') },
  { method: 'GET', path: '/v1/charges/{charge}', run: retrieve('charge') },
  { method: 'GET', path: '/v1/payment_intents/{intent}', run: retrieve('payment_intent') },
  { method: 'GET', path: '/v1/refunds/{refund}', run: retrieve('refund') },
  { method: 'GET', path: '/v1/disputes/{dispute}', run: retrieve('dispute') },
  { method: 'GET', path: '/v1/reporting/report_runs/{report_run}', run: retrieveReportRun },
  { method: 'GET', path: '/v1/files/{file}', run: retrieve('file') },
  { method: 'GET', path: '/v1/files/{file}/contents', run: fileContents },
].map((r) => ({ ...r, pattern: new RegExp(`^${r.path.replace(/\{[^}]+\}/g, '([^/]+)')}$`) }));

/** `{ route, params }` for a method and path, or `{ known }` (the path is served for another method). */
function matchRoute(method, pathname) {
  const hits = ROUTES.map((route) => ({ route, m: route.pattern.exec(pathname) })).filter((h) => h.m);
  const hit = hits.find((h) => h.route.method === method);
  if (!hit) return { known: hits.length > 0 };
  return { route: hit.route, params: { id: hit.m[1] === undefined ? undefined : decodeURIComponent(hit.m[1]) } };
}

/** Answers a GET: the query checked against spec3.json, then the route's handler. */
function answerGet(route, params, query, context) {
  checkSchema(querySchema(operation(route.path, 'GET')), query);
  return route.run({ ...context, params, query });
}

/** Answers a POST's checked form: a spec3.json-checked route, or a hand-written creation schema. */
function answerPost(route, form, context) {
  if (!route.run) {
    checkFields(route.endpoint.schema, form, []);
    return create(route.path, form, route.endpoint.prefix);
  }
  checkSchema(formSchema(operation(route.path, 'POST')), form);
  return expandAll(context.store, route.run({ ...context, form }), expandPaths(form));
}

// ---- The server ------------------------------------------------------------------------------

// The secret key as a Bearer token, or as the user name of HTTP Basic auth (`curl -u sk_test_...:`).
function givenKey(authorization) {
  if (!/^Basic /.test(authorization)) return authorization.replace(/^Bearer /, '');
  return Buffer.from(authorization.slice(6), 'base64').toString('utf8').replace(/:.*$/s, '');
}

function authError(authorization = '', apiKey) {
  const given = givenKey(authorization);
  if (/^(Bearer|Basic) /.test(authorization) && given === apiKey) return null;
  const masked = given ? `${given.slice(0, 8)}${'*'.repeat(Math.max(0, given.length - 12))}${given.slice(-4)}` : '';
  return errorBody('invalid_request_error', undefined, given ? `Invalid API Key provided: ${masked}` : 'You did not provide an API key.');
}

/** What Stripe refuses before looking at parameters: the body's encoding, a GET body, the version. */
function envelopeError(method, headers, body, apiVersion) {
  if (method === 'POST' && !/^application\/x-www-form-urlencoded/.test(headers['content-type'] ?? '')) {
    return 'Invalid request: the body must be application/x-www-form-urlencoded.';
  }
  if (method === 'GET' && body.length > 0) return 'Invalid request: a GET request has no body; send parameters in the query string.';
  if (apiVersion && headers['stripe-version'] !== apiVersion) return `Invalid Stripe API version: ${headers['stripe-version']}`;
  return null;
}

const faultPayload = (fault) => (fault.error ? { error: fault.error } : errorBody('api_error', undefined, 'An unknown error occurred'));

/**
 * Starts the stand-in on 127.0.0.1 (`port` 0: a free one); `onRequest(record)` sees each answer.
 * `reportDelayMs`: a report run succeeds on the first retrieve this long after its creation
 * (default: on the first retrieve).
 */
export async function startFakeStripe({ apiKey, apiVersion, port = 0, onRequest, reportDelayMs } = {}) {
  if (!apiKey?.startsWith('sk_test_')) throw new Error('startFakeStripe needs { apiKey: "sk_test_..." }');
  const requests = [];
  const faults = [];
  const saved = new Map(); // idempotency key -> { path, body, status, headers, payload }
  const objects = [];
  const store = createStore();
  const ctx = { baseUrl: '', reportDelayMs };

  const server = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => serve(req, res, Buffer.concat(chunks).toString('utf8')));
  });

  function serve(req, res, body) {
    const headers = req.headers;
    const record = { method: req.method, path: req.url, headers, body, form: null, query: null, status: null, replayed: false };
    requests.push(record);
    const requestId = id('req_', 14);
    const send = (status, payload, extra = {}, contentType = 'application/json') => {
      record.status = status;
      record.response = payload;
      res.writeHead(status, { 'content-type': contentType, 'request-id': requestId, 'stripe-version': headers['stripe-version'] ?? apiVersion ?? '', ...extra });
      res.end(typeof payload === 'string' || Buffer.isBuffer(payload) ? payload : JSON.stringify(payload));
      onRequest?.(record);
    };
    const drop = () => {
      record.status = 'dropped';
      req.socket.destroy();
    };
    const sendError = (e) => {
      if (e instanceof ParamError) return send(e.status, errorBody('invalid_request_error', e.code, e.message, e.param));
      console.error('stripe stand-in: unexpected error', e);
      return send(500, errorBody('api_error', undefined, 'An unknown error occurred'));
    };
    const fault = faults.shift();
    if (fault?.hang) {
      record.status = 'hung';
      return;
    }
    if (fault?.drop === 'before') return drop();
    // Authentication comes first, as at Stripe.
    const denied = authError(headers.authorization, apiKey);
    if (denied) return send(401, denied);
    const url = new URL(req.url, 'http://127.0.0.1');
    const { route, params, known } = matchRoute(req.method, url.pathname);
    if (!route) return send(known ? 405 : 404, errorBody('invalid_request_error', undefined, `Unrecognized request URL (${req.method}: ${url.pathname}).`));
    const refused = envelopeError(req.method, headers, body, apiVersion);
    if (refused) return send(400, errorBody('invalid_request_error', undefined, refused));
    const context = { store, ctx };
    if (req.method === 'GET') return serveGet({ route, params, url, record, fault, send, drop, sendError, context });
    return servePost({ route, body, headers, record, fault, send, drop, sendError, context });
  }

  function serveGet({ route, params, url, record, fault, send, drop, sendError, context }) {
    if (fault?.status) return send(fault.status, faultPayload(fault), fault.headers ?? {});
    let answer;
    try {
      record.query = parseForm(url.search.slice(1));
      answer = answerGet(route, params, record.query, context);
    } catch (e) {
      return sendError(e);
    }
    if (fault?.drop === 'after') return drop();
    if (answer.raw !== undefined) return send(200, answer.raw, {}, answer.contentType);
    send(200, answer);
  }

  function servePost({ route, body, headers, record, fault, send, drop, sendError, context }) {
    const path = route.path;
    const key = headers['idempotency-key'];
    if (key !== undefined && key.length > 255) return send(400, errorBody('invalid_request_error', undefined, 'Idempotency keys are up to 255 characters long.'));
    if (key !== undefined && saved.has(key)) {
      const first = saved.get(key);
      if (first.path !== path || first.body !== body) {
        return send(
          400,
          errorBody('idempotency_error', undefined, `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${key}' if you meant to execute a different request.`),
        );
      }
      record.replayed = true;
      return send(first.status, first.payload, { ...first.headers, 'idempotent-replayed': 'true' });
    }
    if (fault?.status) {
      const payload = faultPayload(fault);
      if (fault.saved && key !== undefined) saved.set(key, { path, body, status: fault.status, headers: fault.headers ?? {}, payload });
      return send(fault.status, payload, fault.headers ?? {});
    }
    let object;
    try {
      record.form = parseForm(body);
      object = answerPost(route, record.form, context);
    } catch (e) {
      // Validation failures are not saved for the idempotency key (Stripe saves results only
      // once the endpoint runs).
      return sendError(e);
    }
    objects.push(object);
    if (!route.run) store.byId.set(object.id, object);
    if (key !== undefined) saved.set(key, { path, body, status: 200, headers: {}, payload: object });
    if (fault?.drop === 'after') return drop();
    send(200, object);
  }

  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  ctx.baseUrl = `http://127.0.0.1:${server.address().port}`;
  return {
    url: ctx.baseUrl,
    /** Every request seen: `{ method, path, headers, body, form, query, status, replayed }`. */
    requests,
    /** Objects created (one per successful, non-replayed POST). */
    objects,
    /** Scripts faults for the next requests (POST or GET), in order. */
    fail(...next) {
      faults.push(...next);
    },
    /**
     * Adds Stripe objects to the store: an array, or `{ objects, payouts, files }` (what the
     * scenarios of stripe-scenarios.mjs return); `payouts` maps a payout id to the ids of the
     * balance transactions paid out in it (a payout's own row is linked by its `balance_transaction`).
     */
    seed(input) {
      return seedStore(store, ctx.baseUrl, input);
    },
    /** Adds a File object and its contents, served at `<url>/v1/files/<id>/contents`. */
    seedFile(file, contents) {
      return putFile(store, ctx.baseUrl, file, contents);
    },
    reset() {
      requests.length = 0;
      objects.length = 0;
      faults.length = 0;
      saved.clear();
      clearStore(store);
    },
    close() {
      server.closeAllConnections?.();
      return new Promise((resolve) => server.close(resolve));
    },
  };
}

function describeAnswer(r) {
  if (typeof r.response === 'string') return `${r.response.length} characters of CSV`;
  if (r.response?.error) return `${r.response.error.type}: ${r.response.error.message}`;
  return r.response?.object === 'list' ? `list of ${r.response.data.length}` : `${r.response?.object} ${r.response?.id}`;
}

// As a program: serve a demo payout until stopped, one line per request.
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const port = Number(process.argv[2] || process.env.STRIPE_PORT || 12111);
  const apiKey = process.env.STRIPE_SECRET_KEY;
  if (!apiKey?.startsWith('sk_test_')) {
    console.error('set STRIPE_SECRET_KEY=sk_test_... (the key the stand-in accepts)');
    process.exit(2);
  }
  const stripe = await startFakeStripe({
    apiKey,
    port,
    onRequest: (r) => console.log(`stripe stand-in ${r.method} ${r.path} -> ${r.status}${r.replayed ? ' (replayed)' : ''} ${describeAnswer(r)}`),
  });
  console.log(`Stripe API stand-in on ${stripe.url} (test mode, nothing leaves this machine)`);
  // Not awaited: stripe-scenarios.mjs imports this module, which must finish evaluating first.
  import('./stripe-scenarios.mjs')
    .then(({ demoScenario }) => {
      const demo = demoScenario();
      stripe.seed(demo);
      const { payoutId, lineCount } = demo.expected;
      console.log(`demo payout: ${payoutId} (${lineCount} transactions: GET /v1/balance_transactions?payout=${payoutId})`);
    })
    .catch((e) => console.error(`no demo payout (${e.message})`));
}
