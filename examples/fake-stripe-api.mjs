#!/usr/bin/env node
// A local stand-in for Stripe's API on 127.0.0.1, for the tests of the payment-request clients
// (npm package, CLI, Worker), of the shop's actions (refunds, capture, cancel, customers, order
// sync), of payout reconciliation, and for `make run` (no Stripe account or network needed):
//   STRIPE_SECRET_KEY=sk_test_... node examples/fake-stripe-api.mjs [port]
// (as a program it also serves a demo payout from stripe-scenarios.mjs and prints its id).
//
// It checks what Stripe checks on the wire: the method and path, the secret key in
// `Authorization: Bearer` (or HTTP Basic, as `curl -u sk_test_...:`), `Stripe-Version`, the form
// encoding, and every parameter of every request against Stripe's OpenAPI description
// (spec3.json, API version 2023-08-16) with the parameters Stripe added since then overlaid from
// ONE list, examples/stripe-api-newer.json (each with its changelog entry): unknown, missing,
// mistyped, out-of-enum and over-long parameters give Stripe's 400 `invalid_request_error`.
// Then the checks the description cannot express (metadata limits, amounts, currencies, emails,
// URLs, existing customers), and the Idempotency-Key: a repeated key with the same parameters
// replays the saved response (`Idempotent-Replayed: true`), with other parameters it is a 400
// `idempotency_error`. Answers are Stripe-shaped objects (Stripe's fixtures3.json adjusted with
// the request's values) and errors in Stripe's words.
//
// Served (POST): /v1/checkout/sessions, /v1/payment_intents, /v1/payment_intents/{intent}
// (update), /v1/payment_intents/{intent}/capture, /v1/payment_intents/{intent}/cancel,
// /v1/payment_links, /v1/refunds, /v1/customers, /v1/customers/{customer},
// /v1/reporting/report_runs. (GET): /v1/payouts[/{id}], /v1/balance_transactions[/{id}] (filters
// payout, type, currency, source, created; cursors; expand[]), /v1/charges/{id},
// /v1/payment_intents/{id}, /v1/refunds/{id}, /v1/disputes/{id}, /v1/customers[/{id}],
// /v1/customers/search (metadata['key']:'value', email, name, phone; eventually consistent with
// `searchDelayMs`), /v1/reporting/report_runs/{id}, /v1/files/{id} and /v1/files/{id}/contents
// (the report CSVs, rendered from the store). Objects are seeded with `seed(...)` /
// `seedFile(...)`; `confirm(pi)` does what the customer's browser does to a PaymentIntent.
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

// Stripe's integer parameters are 64-bit.
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

class ParamError extends Error {
  /** `extra`: more fields of Stripe's error object (`payment_intent`, `charge`). */
  constructor(code, param, message, status = 400, extra = {}) {
    super(message);
    this.code = code;
    this.param = param;
    this.status = status;
    this.extra = extra;
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

const id = (prefix, n = 24) => prefix + randomBytes(n).toString('base64url').replace(/[-_]/g, 'x').slice(0, n);

const errorBody = (type, code, message, param, extra = {}) => ({
  error: { type, ...(code ? { code, doc_url: `https://stripe.com/docs/error-codes/${code.replace(/_/g, '-')}` } : {}), message, ...(param ? { param } : {}), ...extra },
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
// are not enforced (Stripe does not either), except those a route lists in `enforceEnums`
// (checkout locales, cancellation reasons: see validatePost).

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
  if (schema.enum && !schema['x-stripeBypassValidation'] && !schema.enum.includes(value)) throw enumError(name, schema.enum);
}

/** Stripe's wording for a value outside an enum: "Invalid reason: must be one of duplicate, fraudulent, or requested_by_customer". */
function enumError(name, values) {
  const shown = values.length > 12 ? `${values.slice(0, 12).join(', ')}, ...` : values.length > 1 ? `${values.slice(0, -1).join(', ')}, or ${values.at(-1)}` : values.join('');
  return new ParamError('parameter_invalid', name, `Invalid ${name}: must be one of ${shown}`);
}

const SCHEMA_CHECKS = { object: checkObject, array: checkArray, integer: checkInteger, number: checkNumber, boolean: checkBoolean, string: checkString };

const operation = (path, method) => stripeSpec().paths[path]?.[method.toLowerCase()];
const formSchema = (op) => op?.requestBody?.content?.['application/x-www-form-urlencoded']?.schema ?? { type: 'object', properties: {} };

/** The query parameters of an operation (`in: query`) as one closed object schema. */
function querySchema(op) {
  const properties = {};
  const required = [];
  for (const p of op?.parameters ?? []) {
    if (p.in !== 'query') continue;
    properties[p.name] = p.schema;
    if (p.required) required.push(p.name);
  }
  return { type: 'object', properties, required, additionalProperties: false };
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

// searchIndex: what the search API sees of each searchable object, `[{ at, snapshot }]` per id
// (a write becomes searchable at `at`: now + searchDelayMs, as Stripe's index lags its writes).
const createStore = () => ({ byId: new Map(), contents: new Map(), payoutOf: new Map(), runs: new Map(), searchIndex: new Map() });

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
  if (SEARCHABLE.has(full.object)) index(store, full, 0); // seeded: searchable at once
  return full;
}

const SEARCHABLE = new Set(['customer']);

/** Records a write for the search API, visible from `at` (ms since the epoch). */
function index(store, object, at) {
  const entries = store.searchIndex.get(object.id) ?? [];
  entries.push({ at, snapshot: structuredClone(object) });
  store.searchIndex.set(object.id, entries);
}

/** The searchable objects of `type` as the index sees them now (each id's newest visible write). */
function indexed(store, type) {
  const t = Date.now();
  const out = [];
  for (const entries of store.searchIndex.values()) {
    const visible = entries.filter((e) => e.at <= t).at(-1);
    if (visible?.snapshot.object === type) out.push(visible.snapshot);
  }
  return out;
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
const LISTS = new Set(['list', 'search_result']);
const expandable = (o) => (LISTS.has(o.object) ? ['data'] : (componentSchema(o.object)?.['x-expandableFields'] ?? []));
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
  const itemsOfList = LISTS.has(holder.object);
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

// ---- POST bodies: spec3.json with the newer parameters overlaid ------------------------------
// examples/stripe-api-newer.json lists, in one place, the parameters stripe-bridge sends that
// Stripe added after the description's API version (2023-08-16), each with its changelog entry.
// The overlay copies what it changes ($refs included), so spec3.json itself is never modified.

const NEWER_FILE = fileURLToPath(new URL('./stripe-api-newer.json', import.meta.url));
let newer;

/** The list of parameters newer than spec3.json (examples/stripe-api-newer.json). */
export function newerParameters() {
  newer ??= JSON.parse(readFileSync(NEWER_FILE, 'utf8'));
  return newer;
}

/** `line_items[][price_data]` -> ['line_items', '[]', 'price_data']. */
function bracketSteps(parameter) {
  const m = /^([^[\]]+)((?:\[[^[\]]*\])*)$/.exec(parameter);
  if (!m) throw new Error(`stripe-api-newer.json: not a bracket path: ${parameter}`);
  return [m[1], ...[...m[2].matchAll(/\[([^[\]]*)\]/g)].map((x) => (x[1] === '' ? '[]' : x[1]))];
}

/** The schema at holder[key], made this overlay's own: a $ref copied in, an anyOf's structured branch. */
function ownSchema(holder, key, parameter) {
  let s = holder[key];
  if (s?.$ref) s = holder[key] = structuredClone(deref(s));
  if (s?.anyOf) {
    const branch = s.anyOf.findIndex((b) => isStructured(b));
    if (branch < 0) throw new Error(`stripe-api-newer.json: ${parameter}: nothing to extend in spec3.json`);
    return ownSchema(s.anyOf, branch, parameter);
  }
  return s;
}

function stepInto(schema, step, parameter) {
  if (step === '[]') {
    if (kindOf(schema) !== 'array') throw new Error(`stripe-api-newer.json: ${parameter}: not an array in spec3.json`);
    return ownSchema(schema, 'items', parameter);
  }
  if (!schema.properties?.[step]) throw new Error(`stripe-api-newer.json: ${parameter}: spec3.json has no ${step} there`);
  return ownSchema(schema.properties, step, parameter);
}

/** The object schema holding the last step of `parameter`, and that step. */
function parentOf(schema, parameter) {
  const steps = bracketSteps(parameter);
  let node = schema;
  for (const step of steps.slice(0, -1)) node = stepInto(node, step, parameter);
  if (kindOf(node) !== 'object') throw new Error(`stripe-api-newer.json: ${parameter}: its parent is not an object in spec3.json`);
  return { node, last: steps.at(-1) };
}

/** Adds one newer parameter to a (copied) form schema; refuses one spec3.json already has. */
function overlay(schema, entry) {
  const { node, last } = parentOf(schema, entry.parameter);
  if (node.properties?.[last]) throw new Error(`stripe-api-newer.json: ${entry.parameter} is already in spec3.json (${entry.path}); remove it from the list`);
  node.properties = { ...node.properties, [last]: entry.schema };
  if (entry.required) node.required = [...new Set([...(node.required ?? []), last])];
  for (const loosened of entry.no_longer_required ?? []) {
    const parent = parentOf(schema, loosened);
    parent.node.required = (parent.node.required ?? []).filter((k) => k !== parent.last);
  }
}

const postSchemas = new Map();

/** The form schema of `POST path`: spec3.json's, with the newer parameters of that path overlaid. */
export function postSchema(path) {
  if (!postSchemas.has(path)) {
    const schema = structuredClone(formSchema(operation(path, 'POST')));
    for (const entry of newerParameters().parameters) {
      if (entry.path === path && (entry.method ?? 'POST') === 'POST') overlay(schema, entry);
    }
    postSchemas.set(path, schema);
  }
  return postSchemas.get(path);
}

// ---- What every POST is checked for beyond the description -----------------------------------
// Stripe's documented limits that spec3.json cannot express: metadata (50 keys, keys up to 40
// characters, values up to 500), amounts (integers of minor units, up to 8 digits), currencies
// (three lowercase letters), email addresses, http(s) URLs, and customers that exist.

const AMOUNT_KEYS = new Set(['amount', 'unit_amount', 'amount_to_capture']);
const URL_KEYS = new Set(['success_url', 'cancel_url', 'return_url']);
const EMAIL_KEYS = new Set(['email', 'customer_email', 'receipt_email']);
const MAX_AMOUNT = 99999999n;

function checkMetadata(value, name) {
  if (typeof value !== 'object') return; // '' unsets all keys
  const keys = Object.keys(value);
  if (keys.length > 50) throw new ParamError('parameter_invalid', name, 'Invalid metadata: metadata can have at most 50 keys.');
  for (const k of keys) {
    if (k.length > 40) throw new ParamError('parameter_invalid', `${name}[${k}]`, `Metadata keys can have up to 40 characters, but the key '${k}' has ${k.length} characters.`);
    if (value[k].length > 500) throw new ParamError('parameter_invalid', `${name}[${k}]`, `Metadata values can have up to 500 characters, but the value of '${k}' has ${value[k].length} characters.`);
  }
}

/** The lowest value of an integer parameter: top-level amounts and quantities are positive. */
function minimumOf(key, depth) {
  if (key === 'quantity' || key === 'amount_to_capture' || (key === 'amount' && depth === 0)) return 1n;
  return AMOUNT_KEYS.has(key) ? 0n : null;
}

function checkValue(key, value, path, parentKey) {
  const name = display(path);
  if (key === 'metadata') return checkMetadata(value, name);
  if (typeof value !== 'string') return;
  const min = minimumOf(key, path.length - 1);
  if (min !== null && /^-?\d+$/.test(value)) {
    if (BigInt(value) < min) throw new ParamError('parameter_invalid_integer', name, `This value must be greater than or equal to ${min}.`);
    if (AMOUNT_KEYS.has(key) && BigInt(value) > MAX_AMOUNT) throw new ParamError('amount_too_large', name, 'Amount must be no more than 99999999');
  }
  if (key === 'currency' && !/^[a-z]{3}$/.test(value)) {
    throw new ParamError('parameter_invalid', name, `Invalid currency: ${value}. Stripe currently supports these currencies: ... (three-letter ISO codes, in lowercase)`);
  }
  if ((URL_KEYS.has(key) || (key === 'url' && parentKey === 'redirect')) && !/^https?:\/\/[^\s]+$/.test(value)) throw new ParamError('url_invalid', name, 'Not a valid URL');
  if (EMAIL_KEYS.has(key) && value !== '' && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(value)) throw new ParamError('email_invalid', name, `Invalid email address: ${value}`);
}

function walkForm(node, path, parentKey) {
  for (const [key, value] of Object.entries(node)) {
    checkValue(key, value, [...path, key], parentKey);
    if (typeof value === 'object' && key !== 'metadata') walkForm(value, [...path, key], key);
  }
}

/** Throws Stripe's 400 for a POST form that does not fit the description or Stripe's other rules. */
function validatePost(route, form, { store }) {
  checkSchema(postSchema(route.path), form);
  walkForm(form, [], null);
  if (typeof form.customer === 'string' && form.customer !== '' && route.customerMustExist) {
    const c = store.byId.get(form.customer);
    if (c?.object !== 'customer') throw new ParamError('resource_missing', 'customer', `No such customer: '${form.customer}'`);
  }
  // Enums spec3.json marks x-stripeBypassValidation that the stand-in holds callers to anyway:
  // Stripe's API reference lists their values (checkout locales, cancellation reasons).
  const schema = postSchema(route.path);
  for (const field of route.enforceEnums ?? []) {
    const values = deref(schema.properties[field]).enum;
    if (form[field] !== undefined && !values.includes(form[field])) throw enumError(field, values);
  }
  route.check?.(form, store);
}

// ---- Metadata and objects -------------------------------------------------------------------

/** Metadata as set on creation: '' values (unset) dropped. */
const metadataOf = (m) => (m && typeof m === 'object' ? Object.fromEntries(Object.entries(m).filter(([, v]) => v !== '')) : {});

/** Stripe's update semantics: `metadata=''` clears all, `metadata[k]=''` removes k, others set. */
function mergeMetadata(current, m) {
  if (m === undefined) return current;
  if (m === '') return {};
  const out = { ...current };
  for (const [k, v] of Object.entries(m)) {
    if (v === '') delete out[k];
    else out[k] = v;
  }
  return out;
}

const listOf = (url) => ({ object: 'list', data: [], has_more: false, url });
const emptyToNull = (v) => (v === '' ? null : v);
const copy = (o) => structuredClone(o);

/** A balance transaction for a charge (+) or a refund (-); Stripe's fee is left at 0 here. */
function balanceTransactionFor(store, { amount, currency, source, type, description }) {
  const created = now();
  const txn = stripeObject('balance_transaction', {
    id: id('txn_'), amount, available_on: created + 2 * 86400, created, currency, description, exchange_rate: null,
    fee: 0, fee_details: [], net: amount, reporting_category: type, source, status: 'pending', type,
  });
  store.byId.set(txn.id, txn);
  return txn;
}

/** The object a state error shows: Stripe attaches the PaymentIntent to payment_intent_unexpected_state. */
const unexpectedState = (pi, message) => new ParamError('payment_intent_unexpected_state', undefined, message, 400, { payment_intent: copy(pi) });

// ---- Checkout Sessions and Payment Links (answers as before: hand-shaped from the request) -----

const lineItems = (p) => Object.values(p.line_items ?? {});

/** One of price / price_data per line item, and one currency for all (Stripe's rules). */
function checkLineItems(form) {
  lineItems(form).forEach((li, i) => {
    if (li.price === undefined && li.price_data === undefined) {
      throw new ParamError('parameter_missing', `line_items[${i}][price_data]`, `You must specify either price or price_data for line_items[${i}].`);
    }
    if (li.price !== undefined) throw new ParamError('resource_missing', `line_items[${i}][price]`, `No such price: '${li.price}'`);
  });
  if (new Set(lineItems(form).map((li) => li.price_data.currency)).size > 1) {
    throw new ParamError('parameter_invalid', 'line_items', 'All line items must use the same currency.');
  }
}

function checkCheckoutSession(form) {
  if (form.mode === undefined) throw new ParamError('parameter_missing', 'mode', 'Missing required param: mode.');
  checkLineItems(form);
  if (form.customer && form.customer_email) {
    throw new ParamError('parameter_invalid', 'customer_email', 'You may only specify one of these parameters: customer, customer_email.');
  }
}

function createCheckoutSession({ store, form: p }) {
  const objectId = id('cs_test_');
  const created = now();
  const items = lineItems(p);
  const subtotal = items.reduce((s, li) => s + Number(li.price_data.unit_amount ?? 0) * Number(li.quantity ?? 1), 0);
  const shipping = Number(p.shipping_options?.[0]?.shipping_rate_data?.fixed_amount?.amount ?? 0);
  const session = {
    id: objectId,
    object: 'checkout.session',
    amount_subtotal: subtotal,
    amount_total: subtotal + shipping,
    cancel_url: p.cancel_url ?? null,
    client_reference_id: p.client_reference_id ?? null,
    created,
    currency: items[0]?.price_data.currency ?? null,
    customer: p.customer ?? null,
    customer_email: p.customer_email ?? null,
    expires_at: created + 24 * 3600,
    livemode: false,
    locale: p.locale ?? null,
    metadata: metadataOf(p.metadata),
    mode: p.mode,
    payment_intent: null,
    payment_status: 'unpaid',
    shipping_cost: shipping ? { amount_total: shipping } : null,
    status: 'open',
    success_url: p.success_url ?? null,
    url: `https://checkout.stripe.com/c/pay/${objectId}#fidkdWxOYHwnPyd1blpxYHZxWjA0`,
  };
  store.byId.set(session.id, session);
  return copy(session);
}

function createPaymentLink({ store, form: p }) {
  const link = {
    id: id('plink_'),
    object: 'payment_link',
    active: true,
    after_completion: p.after_completion
      ? { type: p.after_completion.type, redirect: p.after_completion.redirect ?? null }
      : { type: 'hosted_confirmation', hosted_confirmation: { custom_message: null } },
    currency: lineItems(p)[0].price_data.currency,
    livemode: false,
    metadata: metadataOf(p.metadata),
    payment_intent_data: p.payment_intent_data ? { capture_method: p.payment_intent_data.capture_method ?? null, metadata: metadataOf(p.payment_intent_data.metadata) } : null,
    // As Stripe reports it: null without restrictions; `count` of completed sessions starts at 0.
    restrictions: p.restrictions ? { completed_sessions: { count: 0, limit: Number(p.restrictions.completed_sessions.limit) } } : null,
    url: `https://buy.stripe.com/test_${randomBytes(9).toString('base64url').replace(/[-_]/g, 'x')}`,
  };
  store.byId.set(link.id, link);
  return copy(link);
}

// ---- PaymentIntents: create, confirm (the customer's side), capture, cancel, update -----------

// What a fresh PaymentIntent has, where Stripe's fixture shows an example of something else.
const FRESH_INTENT = {
  amount_capturable: 0, amount_details: { tip: {} }, amount_received: 0, application: null, application_fee_amount: null,
  canceled_at: null, cancellation_reason: null, invoice: null, last_payment_error: null, latest_charge: null, livemode: false,
  next_action: null, on_behalf_of: null, payment_method: null, processing: null, review: null, shipping: null,
  statement_descriptor: null, statement_descriptor_suffix: null, transfer_data: null, transfer_group: null,
};

function createPaymentIntent({ store, form: p }) {
  const piId = id('pi_');
  const pi = stripeObject('payment_intent', {
    ...FRESH_INTENT,
    id: piId,
    amount: Number(p.amount),
    automatic_payment_methods: p.automatic_payment_methods
      ? { enabled: p.automatic_payment_methods.enabled === 'true', ...(p.automatic_payment_methods.allow_redirects ? { allow_redirects: p.automatic_payment_methods.allow_redirects } : {}) }
      : null,
    capture_method: p.capture_method ?? 'automatic',
    client_secret: `${piId}_secret_${randomBytes(12).toString('hex')}`,
    confirmation_method: p.confirmation_method ?? 'automatic',
    created: now(),
    currency: p.currency,
    customer: emptyToNull(p.customer ?? null),
    description: p.description ?? null,
    metadata: metadataOf(p.metadata),
    payment_method: p.payment_method ?? null,
    payment_method_types: p.payment_method_types ? Object.values(p.payment_method_types) : ['card'],
    receipt_email: p.receipt_email ?? null,
    setup_future_usage: p.setup_future_usage ?? null,
    statement_descriptor: p.statement_descriptor ?? null,
    statement_descriptor_suffix: p.statement_descriptor_suffix ?? null,
    status: p.payment_method ? 'requires_confirmation' : 'requires_payment_method',
    transfer_group: p.transfer_group ?? null,
  });
  store.byId.set(pi.id, pi);
  if (p.confirm === 'true') {
    if (!p.payment_method) {
      throw unexpectedState(pi, "You cannot confirm this PaymentIntent because it's missing a payment method. You can either update the PaymentIntent with a payment method and then confirm it again, or confirm it again directly with a payment method.");
    }
    confirmIntent(store, pi, p.payment_method);
  }
  return copy(pi);
}

const CONFIRMABLE = new Set(['requires_payment_method', 'requires_confirmation', 'requires_action']);

/**
 * What a successful confirmation does (Stripe.js in the customer's browser, or confirm=true): a
 * succeeded card charge; captured at once, or authorized only (`requires_capture`) with
 * capture_method=manual.
 */
function confirmIntent(store, pi, paymentMethod = 'pm_card_visa') {
  if (!CONFIRMABLE.has(pi.status)) {
    throw unexpectedState(pi, `You cannot confirm this PaymentIntent because it has a status of ${pi.status}. Only a PaymentIntent with one of the following statuses may be confirmed: requires_payment_method, requires_confirmation, requires_action.`);
  }
  const manual = pi.capture_method === 'manual';
  const chId = id('ch_');
  const txn = manual ? null : balanceTransactionFor(store, { amount: pi.amount, currency: pi.currency, source: chId, type: 'charge', description: pi.description });
  const charge = stripeObject('charge', {
    id: chId, amount: pi.amount, amount_captured: manual ? 0 : pi.amount, amount_refunded: 0, application: null, application_fee: null,
    application_fee_amount: null, balance_transaction: txn?.id ?? null, calculated_statement_descriptor: 'STRIPE-BRIDGE', captured: !manual,
    created: now(), currency: pi.currency, customer: pi.customer, description: pi.description, disputed: false, failure_code: null,
    failure_message: null, fraud_details: {}, metadata: { ...pi.metadata }, paid: true, payment_intent: pi.id, payment_method: paymentMethod,
    receipt_email: pi.receipt_email, receipt_url: null, refunded: false, refunds: listOf(`/v1/charges/${chId}/refunds`), review: null,
    shipping: null, status: 'succeeded', transfer_data: null, transfer_group: null,
    billing_details: { address: { city: null, country: null, line1: null, line2: null, postal_code: null, state: null }, email: null, name: null, phone: null },
    outcome: { network_status: 'approved_by_network', reason: null, risk_level: 'normal', seller_message: 'Payment complete.', type: 'authorized' },
  });
  const cardDetails = charge.payment_method_details?.card;
  if (cardDetails) {
    cardDetails.amount_authorized = pi.amount;
    if (cardDetails.overcapture) cardDetails.overcapture.maximum_amount_capturable = pi.amount;
  }
  store.byId.set(charge.id, charge);
  Object.assign(pi, {
    latest_charge: charge.id,
    payment_method: paymentMethod,
    status: manual ? 'requires_capture' : 'succeeded',
    amount_capturable: manual ? pi.amount : 0,
    amount_received: manual ? 0 : pi.amount,
  });
  return copy(pi);
}

const chargeOf = (store, pi) => store.byId.get(idOf(pi.latest_charge)) ?? null;

function capturePaymentIntent({ store, params, form }) {
  const pi = find(store, 'payment_intent', params.id, 'intent');
  if (pi.status !== 'requires_capture') {
    throw unexpectedState(pi, `This PaymentIntent could not be captured because it has a status of ${pi.status}. Only a PaymentIntent with one of the following statuses may be captured: requires_capture.`);
  }
  const amount = form.amount_to_capture === undefined ? pi.amount_capturable : Number(form.amount_to_capture);
  if (amount > pi.amount_capturable) {
    throw new ParamError('amount_too_large', 'amount_to_capture', 'The payment could not be captured because the requested capture amount is greater than the amount you can capture for this charge.');
  }
  const charge = chargeOf(store, pi);
  if (charge) {
    const txn = balanceTransactionFor(store, { amount, currency: charge.currency, source: charge.id, type: 'charge', description: charge.description });
    // The part not captured is released: Stripe reports it as refunded on the charge.
    const released = charge.amount - amount;
    Object.assign(charge, { captured: true, amount_captured: amount, amount_refunded: charge.amount_refunded + released, balance_transaction: txn.id });
    charge.refunded = charge.amount_refunded >= charge.amount;
  }
  Object.assign(pi, {
    status: 'succeeded',
    amount_received: amount,
    amount_capturable: 0,
    metadata: mergeMetadata(pi.metadata, form.metadata),
    ...(form.statement_descriptor !== undefined ? { statement_descriptor: form.statement_descriptor } : {}),
    ...(form.statement_descriptor_suffix !== undefined ? { statement_descriptor_suffix: form.statement_descriptor_suffix } : {}),
  });
  return copy(pi);
}

// Stripe's API reference: cancelable in these statuses ("or, in rare cases, processing").
const CANCELABLE = ['requires_payment_method', 'requires_capture', 'requires_confirmation', 'requires_action', 'processing'];

function cancelPaymentIntent({ store, params, form }) {
  const pi = find(store, 'payment_intent', params.id, 'intent');
  if (!CANCELABLE.includes(pi.status)) {
    throw unexpectedState(pi, `You cannot cancel this PaymentIntent because it has a status of ${pi.status}. Only a PaymentIntent with one of the following statuses may be canceled: ${CANCELABLE.join(', ')}.`);
  }
  const charge = chargeOf(store, pi);
  if (pi.status === 'requires_capture' && charge) {
    // The authorization is released: the uncaptured amount shows as refunded on the charge.
    Object.assign(charge, { amount_refunded: charge.amount, refunded: true });
  }
  Object.assign(pi, { status: 'canceled', canceled_at: now(), cancellation_reason: form.cancellation_reason ?? null, amount_capturable: 0 });
  return copy(pi);
}

// Fields Stripe lets an update change only before the payment is confirmed.
const BEFORE_CONFIRMATION = ['amount', 'currency', 'capture_method', 'payment_method', 'payment_method_types'];

function updatePaymentIntent({ store, params, form }) {
  const pi = find(store, 'payment_intent', params.id, 'intent');
  for (const field of BEFORE_CONFIRMATION) {
    if (form[field] !== undefined && !CONFIRMABLE.has(pi.status)) {
      throw unexpectedState(pi, `This PaymentIntent's ${field} could not be updated because it has a status of ${pi.status}. You may only update the ${field} of a PaymentIntent with one of the following statuses: requires_payment_method, requires_confirmation, requires_action.`);
    }
  }
  const set = (field, value) => {
    if (value !== undefined) pi[field] = value;
  };
  set('amount', form.amount === undefined ? undefined : Number(form.amount));
  set('currency', form.currency);
  set('capture_method', form.capture_method);
  set('payment_method', form.payment_method);
  set('payment_method_types', form.payment_method_types === undefined ? undefined : Object.values(form.payment_method_types));
  for (const field of ['description', 'receipt_email', 'customer', 'statement_descriptor', 'statement_descriptor_suffix', 'transfer_group', 'setup_future_usage']) {
    set(field, form[field] === undefined ? undefined : emptyToNull(form[field]));
  }
  if (form.shipping !== undefined) pi.shipping = emptyToNull(form.shipping);
  pi.metadata = mergeMetadata(pi.metadata, form.metadata);
  if (form.payment_method !== undefined && pi.status === 'requires_payment_method') pi.status = 'requires_confirmation';
  return copy(pi);
}

// ---- Refunds ----------------------------------------------------------------------------------
// Checked as Stripe does (wording as recorded from Stripe where known): the payment must have a
// captured, succeeded charge; an authorization is canceled, not refunded; the amount defaults to
// what remains and may not exceed it; a fully refunded charge and a disputed one are refused.

/** An amount as Stripe writes it in refund errors: "$40.00", "€12.34", "¥500". */
const money = (minor, currency) =>
  new Intl.NumberFormat('en-US', { style: 'currency', currency: currency.toUpperCase() }).format(Number(formatMinor(minor, currency)));

const noSuccessfulCharge = (pi) => new ParamError(undefined, undefined, `This PaymentIntent (${pi.id}) does not have a successful charge to refund.`);
const uncapturedCharge = (pi) =>
  new ParamError(
    undefined,
    undefined,
    `This uncaptured Charge was created by a PaymentIntent (${pi.id}). You must cancel the PaymentIntent to reverse the authorization instead of refunding the Charge directly. For more information, see https://stripe.com/docs/payments/place-a-hold-on-a-payment-method`,
  );

/** The charge a refund request names (by payment_intent or charge), refused unless refundable. */
function refundableCharge(store, form) {
  if (form.payment_intent === undefined && form.charge === undefined) {
    throw new ParamError(undefined, undefined, 'One of the following params should be provided for this request: payment_intent or charge.');
  }
  let pi = null;
  let charge;
  if (form.payment_intent !== undefined) {
    pi = find(store, 'payment_intent', form.payment_intent);
    charge = chargeOf(store, pi);
    if (form.charge !== undefined && form.charge !== charge?.id) throw new ParamError(undefined, 'charge', `Charge ${form.charge} does not belong to PaymentIntent ${pi.id}.`);
  } else {
    charge = find(store, 'charge', form.charge);
    pi = store.byId.get(idOf(charge.payment_intent)) ?? null;
  }
  if (pi && pi.status === 'requires_capture' && charge && !charge.captured) throw uncapturedCharge(pi);
  if (pi && (pi.status !== 'succeeded' || !charge || charge.status !== 'succeeded')) throw noSuccessfulCharge(pi);
  if (!pi && (charge.status !== 'succeeded' || !charge.captured)) throw new ParamError(undefined, 'charge', `Charge ${charge.id} has not been captured and cannot be refunded.`);
  return { pi, charge };
}

function createRefund({ store, form }) {
  const { pi, charge } = refundableCharge(store, form);
  if (charge.disputed) throw new ParamError('charge_disputed', undefined, `Charge ${charge.id} has been charged back; cannot issue a refund.`);
  const remaining = charge.amount - charge.amount_refunded;
  if (remaining <= 0) throw new ParamError('charge_already_refunded', undefined, `Charge ${charge.id} has already been refunded.`);
  const amount = form.amount === undefined ? remaining : Number(form.amount);
  if (amount > remaining) {
    const limit = charge.amount_refunded === 0 ? `charge amount (${money(charge.amount, charge.currency)})` : `unrefunded amount on charge (${money(remaining, charge.currency)})`;
    throw new ParamError(undefined, 'amount', `Refund amount (${money(amount, charge.currency)}) is greater than ${limit}`);
  }
  const reId = id('re_');
  const txn = balanceTransactionFor(store, { amount: -amount, currency: charge.currency, source: reId, type: 'refund', description: 'REFUND FOR CHARGE' });
  const refund = stripeObject('refund', {
    id: reId, amount, balance_transaction: txn.id, charge: charge.id, created: now(), currency: charge.currency, description: null,
    metadata: metadataOf(form.metadata), payment_intent: pi?.id ?? null, reason: form.reason ?? null, receipt_number: null, status: 'succeeded',
  });
  store.byId.set(refund.id, refund);
  charge.amount_refunded += amount;
  charge.refunded = charge.amount_refunded >= charge.amount;
  if (charge.refunds?.object === 'list') charge.refunds.data.unshift(copy(refund));
  return copy(refund);
}

// ---- Customers and their search ----------------------------------------------------------------

const CUSTOMER_FIELDS = ['email', 'name', 'phone', 'description', 'balance', 'invoice_prefix', 'preferred_locales', 'tax_exempt'];

/** Customer fields from a create/update form ('' clears a field). */
function customerValues(form) {
  const v = {};
  for (const f of CUSTOMER_FIELDS) {
    if (form[f] === undefined) continue;
    v[f] = f === 'balance' ? Number(form[f]) : f === 'preferred_locales' ? Object.values(form[f] || {}) : emptyToNull(form[f]);
  }
  if (form.address !== undefined) {
    v.address = form.address === '' ? null : { city: null, country: null, line1: null, line2: null, postal_code: null, state: null, ...form.address };
  }
  if (form.shipping !== undefined) v.shipping = emptyToNull(form.shipping);
  return v;
}

function createCustomer({ store, form, ctx }) {
  const customer = stripeObject('customer', {
    id: id('cus_', 14), address: null, balance: 0, created: now(), currency: null, default_source: null, delinquent: false, description: null,
    discount: null, email: null, invoice_prefix: randomBytes(4).toString('hex').toUpperCase(), livemode: false, name: null, phone: null,
    preferred_locales: [], shipping: null, tax_exempt: 'none', test_clock: null,
    ...customerValues(form),
    metadata: metadataOf(form.metadata),
  });
  store.byId.set(customer.id, customer);
  index(store, customer, Date.now() + (ctx.searchDelayMs ?? 0));
  return copy(customer);
}

function updateCustomer({ store, params, form, ctx }) {
  const customer = find(store, 'customer', params.id, 'customer');
  Object.assign(customer, customerValues(form), { metadata: mergeMetadata(customer.metadata, form.metadata) });
  index(store, customer, Date.now() + (ctx.searchDelayMs ?? 0));
  return copy(customer);
}

function listCustomers({ store, query }) {
  const limit = checkLimit(query);
  const items = ofType(store, 'customer').filter((c) => (query.email === undefined || c.email === query.email) && inRange(c.created, query.created));
  return expandAll(store, paginate(store, items, query, { limit, url: '/v1/customers', type: 'customer' }), expandPaths(query));
}

// Stripe's search query language, the subset served: clauses `field:value` joined by spaces or
// AND (case-insensitive), `-` to negate one; fields metadata['key'] (exact match), email, name,
// phone (exact, case-insensitive). Values are quoted with ' or ", a backslash escapes the next
// character (\' \" \\); unquoted values may be letters, digits and _ . @ + -.
const CUSTOMER_SEARCH_FIELDS = { email: (c) => c.email, name: (c) => c.name, phone: (c) => c.phone };

/** Parses a search query into predicates; a query outside the subset is a 400 naming the spot. */
export function parseSearchQuery(text) {
  let i = 0;
  const fail = (why) => {
    throw new ParamError('parameter_invalid', 'query', `Invalid search query: ${why} at position ${i} of ${JSON.stringify(text)}.`);
  };
  const skipSpaces = () => {
    while (/\s/.test(text[i] ?? '')) i++;
  };
  const quoted = () => {
    const quote = text[i];
    if (quote !== "'" && quote !== '"') {
      const bare = /^[\w.@+-]+/.exec(text.slice(i));
      if (!bare) fail('expected a value in quotes');
      i += bare[0].length;
      return bare[0];
    }
    let out = '';
    for (i++; i < text.length && text[i] !== quote; i++) {
      if (text[i] === '\\') i++;
      if (i < text.length) out += text[i];
    }
    if (text[i] !== quote) fail('unterminated string');
    i++;
    return out;
  };
  const clauses = [];
  for (skipSpaces(); i < text.length; skipSpaces()) {
    if (clauses.length) {
      const joiner = /^(AND|OR)\s/i.exec(text.slice(i));
      if (joiner?.[1].toUpperCase() === 'OR') fail('OR is not supported by this stand-in');
      if (joiner) {
        i += joiner[0].length;
        skipSpaces();
      }
    }
    const negate = text[i] === '-';
    if (negate) i++;
    const field = /^[a-z_]+/.exec(text.slice(i))?.[0];
    if (!field) fail('expected a field');
    i += field.length;
    let get;
    let exact = false;
    if (field === 'metadata') {
      if (text[i] !== '[') fail("expected metadata['key']");
      i++;
      const key = quoted();
      if (text[i] !== ']') fail("expected ] after metadata['key'");
      i++;
      get = (c) => c.metadata?.[key];
      exact = true;
    } else if (CUSTOMER_SEARCH_FIELDS[field]) {
      get = CUSTOMER_SEARCH_FIELDS[field];
    } else {
      fail(`unsupported field ${field}`);
    }
    if (text[i] !== ':') fail('expected : (exact match; this stand-in serves no other operator)');
    i++;
    const value = quoted();
    const same = (v) => typeof v === 'string' && (exact ? v === value : v.toLowerCase() === value.toLowerCase());
    clauses.push(negate ? (c) => !same(get(c)) : (c) => same(get(c)));
  }
  if (!clauses.length) fail('empty query');
  return clauses;
}

const pageToken = (offset) => `page_${Buffer.from(JSON.stringify({ offset })).toString('base64url')}`;

function pageOffset(page) {
  try {
    const { offset } = JSON.parse(Buffer.from(page.replace(/^page_/, ''), 'base64url').toString('utf8'));
    if (Number.isInteger(offset) && offset >= 0) return offset;
  } catch {
    // falls through to the 400
  }
  throw new ParamError('parameter_invalid', 'page', `Invalid page: ${page}`);
}

/** GET /v1/customers/search: what the (possibly lagging) index matches, newest first. */
function searchCustomers({ store, query }) {
  const limit = checkLimit(query);
  const clauses = parseSearchQuery(query.query);
  const offset = query.page === undefined ? 0 : pageOffset(query.page);
  const matches = indexed(store, 'customer').filter((c) => clauses.every((test) => test(c))).sort(newestFirst);
  const hasMore = matches.length > offset + limit;
  const result = { object: 'search_result', data: matches.slice(offset, offset + limit), has_more: hasMore, next_page: hasMore ? pageToken(offset + limit) : null, url: '/v1/customers/search' };
  return expandAll(store, result, expandPaths(query));
}

// ---- Routes ----------------------------------------------------------------------------------
// Every GET query string and every POST body is checked against its operation in spec3.json
// (POST: with examples/stripe-api-newer.json overlaid), then by the route's own `check`.
// `creates`: the POST creates an object (listed in `objects`); `customerMustExist`: a `customer`
// parameter must name a customer of the store; `enforceEnums`: x-stripeBypassValidation enums
// held to their listed values.

const ROUTES = [
  { method: 'POST', path: '/v1/checkout/sessions', run: createCheckoutSession, check: checkCheckoutSession, creates: true, customerMustExist: true, enforceEnums: ['locale'] },
  { method: 'POST', path: '/v1/payment_intents', run: createPaymentIntent, creates: true, customerMustExist: true },
  { method: 'POST', path: '/v1/payment_intents/{intent}/capture', run: capturePaymentIntent },
  { method: 'POST', path: '/v1/payment_intents/{intent}/cancel', run: cancelPaymentIntent, enforceEnums: ['cancellation_reason'] },
  { method: 'POST', path: '/v1/payment_intents/{intent}', run: updatePaymentIntent, customerMustExist: true },
  { method: 'POST', path: '/v1/payment_links', run: createPaymentLink, check: checkLineItems, creates: true },
  { method: 'POST', path: '/v1/refunds', run: createRefund, creates: true },
  { method: 'POST', path: '/v1/customers', run: createCustomer, creates: true },
  { method: 'POST', path: '/v1/customers/{customer}', run: updateCustomer },
  { method: 'POST', path: '/v1/reporting/report_runs', run: createReportRun, creates: true },
  { method: 'GET', path: '/v1/payouts', run: listPayouts },
  { method: 'GET', path: '/v1/payouts/{payout}', run: retrieve('payout') },
  { method: 'GET', path: '/v1/balance_transactions', run: listBalanceTransactions },
  { method: 'GET', path: '/v1/balance_transactions/{id}', run: retrieve('balance_transaction') },
  { method: 'GET', path: '/v1/charges/{charge}', run: retrieve('charge') },
  { method: 'GET', path: '/v1/payment_intents/{intent}', run: retrieve('payment_intent') },
  { method: 'GET', path: '/v1/refunds/{refund}', run: retrieve('refund') },
  { method: 'GET', path: '/v1/disputes/{dispute}', run: retrieve('dispute') },
  { method: 'GET', path: '/v1/customers', run: listCustomers },
  { method: 'GET', path: '/v1/customers/search', run: searchCustomers },
  { method: 'GET', path: '/v1/customers/{customer}', run: retrieve('customer') },
  { method: 'GET', path: '/v1/reporting/report_runs/{report_run}', run: retrieveReportRun },
  { method: 'GET', path: '/v1/files/{file}', run: retrieve('file') },
  { method: 'GET', path: '/v1/files/{file}/contents', run: fileContents },
].map((r) => ({ ...r, pattern: new RegExp(`^${r.path.replace(/\{[^}]+\}/g, '([^/]+)')}$`) }));

/** The endpoints served: `[{ method, path }]` (paths as in spec3.json). */
export const servedEndpoints = () => ROUTES.map(({ method, path }) => ({ method, path }));

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

/** Carries out a checked POST: the route's handler, then expand[]. */
function runPost(route, params, form, context) {
  return expandAll(context.store, route.run({ ...context, params, form }), expandPaths(form));
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

const paramErrorBody = (e) => errorBody('invalid_request_error', e.code, e.message, e.param, e.extra);

const faultPayload = (fault) => (fault.error ? { error: fault.error } : errorBody('api_error', undefined, 'An unknown error occurred'));

/**
 * Starts the stand-in on 127.0.0.1 (`port` 0: a free one); `onRequest(record)` sees each answer.
 * `reportDelayMs`: a report run succeeds on the first retrieve this long after its creation
 * (default: on the first retrieve). `searchDelayMs` (default 0): a customer created or updated
 * through the API shows in GET /v1/customers/search only this long after the write (Stripe's
 * search is eventually consistent: "under normal operating conditions, data is searchable in
 * under 1 minute"); seeded customers are searchable at once.
 */
export async function startFakeStripe({ apiKey, apiVersion, port = 0, onRequest, reportDelayMs, searchDelayMs = 0 } = {}) {
  if (!apiKey?.startsWith('sk_test_')) throw new Error('startFakeStripe needs { apiKey: "sk_test_..." }');
  const requests = [];
  const faults = [];
  const saved = new Map(); // idempotency key -> { path, body, status, headers, payload }
  const objects = [];
  const store = createStore();
  const ctx = { baseUrl: '', reportDelayMs, searchDelayMs };

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
      if (e instanceof ParamError) return send(e.status, paramErrorBody(e));
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
    return servePost({ route, params, body, headers, record, fault, send, drop, sendError, context });
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

  function servePost({ route, params, body, headers, record, fault, send, drop, sendError, context }) {
    const path = new URL(record.path, 'http://127.0.0.1').pathname;
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
    try {
      record.form = parseForm(body);
      validatePost(route, record.form, context);
    } catch (e) {
      // Validation failures are not saved for the idempotency key: Stripe saves a result only
      // once the endpoint began to run.
      return sendError(e);
    }
    let object;
    try {
      object = runPost(route, params, record.form, context);
    } catch (e) {
      if (!(e instanceof ParamError)) return sendError(e);
      // A refusal by the running endpoint (over-refund, wrong state...) is its result: saved,
      // so a retry with the same key gets the same answer.
      const payload = paramErrorBody(e);
      if (key !== undefined) saved.set(key, { path, body, status: e.status, headers: {}, payload });
      return send(e.status, payload);
    }
    if (route.creates) objects.push(object);
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
    /** Objects created (one per successful, non-replayed POST that creates; updates, captures and cancels are not listed). */
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
    /**
     * Confirms a PaymentIntent as the customer's browser would (Stripe.js): a succeeded card
     * charge; the PaymentIntent `succeeded`, or `requires_capture` with capture_method=manual.
     */
    confirm(paymentIntentId, { paymentMethod = 'pm_card_visa' } = {}) {
      return confirmIntent(store, find(store, 'payment_intent', paymentIntentId), paymentMethod);
    },
    /** A copy of a stored object (seeded or created), or undefined. */
    get(objectId) {
      const o = store.byId.get(objectId);
      return o === undefined ? undefined : structuredClone(o);
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
  return ['list', 'search_result'].includes(r.response?.object) ? `${r.response.object} of ${r.response.data.length}` : `${r.response?.object} ${r.response?.id}`;
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
