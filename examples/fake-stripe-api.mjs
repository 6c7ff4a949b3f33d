#!/usr/bin/env node
// A local stand-in for Stripe's API on 127.0.0.1, for the tests of the payment-request clients
// (npm package, CLI, Worker) and for `make run` (no Stripe account or network needed):
//   STRIPE_SECRET_KEY=sk_test_... node examples/fake-stripe-api.mjs [port] It checks what Stripe checks on the wire: the method and path, the
// secret key in `Authorization: Bearer`, `Stripe-Version`, the form encoding, every parameter
// against the endpoint's known parameters (unknown, missing, mistyped and over-long ones give
// Stripe's 400 `invalid_request_error`), metadata limits, and the Idempotency-Key: a repeated key
// with the same parameters replays the saved response (`Idempotent-Replayed: true`), with other
// parameters it is a 400 `idempotency_error`. Answers are Stripe-shaped objects and errors.
//
// Faults are scripted per request with `fail(...)`: `{ status, error?, headers?, saved? }`
// answers an error (saved: replayed to later requests with the same key, as Stripe saves a
// 500 once execution began); `{ drop: 'before' | 'after' }` closes the connection before or
// after the object is created; `{ hang: true }` never answers.
import { createServer } from 'node:http';
import { randomBytes } from 'node:crypto';
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
  constructor(code, param, message) {
    super(message);
    this.code = code;
    this.param = param;
  }
}

/** Parses a form body in Stripe's bracket notation into nested objects and arrays. */
export function parseForm(body) {
  const root = {};
  for (const [key, value] of new URLSearchParams(body)) {
    const m = /^([^[\]]+)((?:\[[^[\]]*\])*)$/.exec(key);
    if (!m) throw new ParamError('parameter_unknown', key, `Invalid parameter name: ${key}`);
    const path = [m[1], ...[...m[2].matchAll(/\[([^[\]]*)\]/g)].map((x) => x[1])];
    let node = root;
    for (let i = 0; i < path.length - 1; i++) {
      node[path[i]] ??= {};
      node = node[path[i]];
      if (typeof node !== 'object') throw new ParamError('parameter_invalid', key, `Invalid hash: ${path.slice(0, i + 1).join('.')}`);
    }
    const last = path[path.length - 1];
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

/** Starts the stand-in on 127.0.0.1 (`port` 0: a free one); `onRequest(record)` sees each answer. */
export async function startFakeStripe({ apiKey, apiVersion, port = 0, onRequest } = {}) {
  if (!apiKey?.startsWith('sk_test_')) throw new Error('startFakeStripe needs { apiKey: "sk_test_..." }');
  const requests = [];
  const faults = [];
  const saved = new Map(); // idempotency key -> { path, body, status, headers, payload }
  const objects = [];

  const server = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const headers = req.headers;
      const record = { method: req.method, path: req.url, headers, body, form: null, status: null, replayed: false };
      requests.push(record);
      const requestId = id('req_', 14);
      const send = (status, payload, extra = {}) => {
        record.status = status;
        record.response = payload;
        res.writeHead(status, { 'content-type': 'application/json', 'request-id': requestId, 'stripe-version': headers['stripe-version'] ?? apiVersion ?? '', ...extra });
        res.end(JSON.stringify(payload));
        onRequest?.(record);
      };
      const fault = faults.shift();
      if (fault?.hang) {
        record.status = 'hung';
        return;
      }
      if (fault?.drop === 'before') {
        record.status = 'dropped';
        req.socket.destroy();
        return;
      }
      // Authentication comes first, as at Stripe.
      const auth = headers.authorization ?? '';
      if (auth !== `Bearer ${apiKey}`) {
        const given = auth.replace(/^Bearer /, '');
        const masked = given ? `${given.slice(0, 8)}${'*'.repeat(Math.max(0, given.length - 12))}${given.slice(-4)}` : '';
        return send(401, errorBody('invalid_request_error', undefined, given ? `Invalid API Key provided: ${masked}` : 'You did not provide an API key.'));
      }
      const endpoint = ENDPOINTS[req.url];
      if (!endpoint) return send(404, errorBody('invalid_request_error', undefined, `Unrecognized request URL (${req.method}: ${req.url}).`));
      if (req.method !== 'POST') return send(405, errorBody('invalid_request_error', undefined, `Unrecognized request URL (${req.method}: ${req.url}).`));
      if (!/^application\/x-www-form-urlencoded/.test(headers['content-type'] ?? '')) {
        return send(400, errorBody('invalid_request_error', undefined, 'Invalid request: the body must be application/x-www-form-urlencoded.'));
      }
      if (apiVersion && headers['stripe-version'] !== apiVersion) {
        return send(400, errorBody('invalid_request_error', undefined, `Invalid Stripe API version: ${headers['stripe-version']}`));
      }
      const key = headers['idempotency-key'];
      if (key !== undefined && key.length > 255) return send(400, errorBody('invalid_request_error', undefined, 'Idempotency keys are up to 255 characters long.'));
      if (key !== undefined && saved.has(key)) {
        const first = saved.get(key);
        if (first.path !== req.url || first.body !== body) {
          return send(
            400,
            errorBody('idempotency_error', undefined, `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${key}' if you meant to execute a different request.`),
          );
        }
        record.replayed = true;
        return send(first.status, first.payload, { ...first.headers, 'idempotent-replayed': 'true' });
      }
      if (fault?.status) {
        const payload = fault.error ? { error: fault.error } : errorBody('api_error', undefined, 'An unknown error occurred');
        if (fault.saved && key !== undefined) saved.set(key, { path: req.url, body, status: fault.status, headers: fault.headers ?? {}, payload });
        return send(fault.status, payload, fault.headers ?? {});
      }
      let object;
      try {
        record.form = parseForm(body);
        checkFields(endpoint.schema, record.form, []);
        object = create(req.url, record.form, endpoint.prefix);
      } catch (e) {
        if (!(e instanceof ParamError)) throw e;
        // Validation failures are not saved for the idempotency key (Stripe saves results only
        // once the endpoint runs).
        return send(400, errorBody('invalid_request_error', e.code, e.message, e.param));
      }
      objects.push(object);
      if (key !== undefined) saved.set(key, { path: req.url, body, status: 200, headers: {}, payload: object });
      if (fault?.drop === 'after') {
        record.status = 'dropped';
        req.socket.destroy();
        return;
      }
      send(200, object);
    });
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    /** Every request seen: `{ method, path, headers, body, form, status, replayed }`. */
    requests,
    /** Objects created (one per successful, non-replayed request). */
    objects,
    /** Scripts faults for the next requests, in order. */
    fail(...next) {
      faults.push(...next);
    },
    reset() {
      requests.length = 0;
      objects.length = 0;
      faults.length = 0;
      saved.clear();
    },
    close() {
      server.closeAllConnections?.();
      return new Promise((resolve) => server.close(resolve));
    },
  };
}

// As a program: serve until stopped, one line per request.
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
    onRequest: (r) => {
      const what = r.response?.error ? `${r.response.error.type}: ${r.response.error.message}` : `${r.response?.object} ${r.response?.id}`;
      console.log(`stripe stand-in ${r.method} ${r.path} -> ${r.status}${r.replayed ? ' (replayed)' : ''} ${what}`);
    },
  });
  console.log(`Stripe API stand-in on ${stripe.url} (test mode, nothing leaves this machine)`);
}
