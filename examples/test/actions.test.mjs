// The Stripe API stand-in (examples/fake-stripe-api.mjs) serving the shop's actions: every POST
// validated from Stripe's OpenAPI description (spec3.json) with the newer parameters of
// examples/stripe-api-newer.json overlaid; refunds, capture, cancel, PaymentIntent updates,
// customers and their (eventually consistent) search, with Stripe's error wording; the single
// payments of examples/stripe-scenarios.mjs. Run: node --test examples/test/
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, beforeEach, describe, test } from 'node:test';
import {
  checkSchema,
  newerParameters,
  parseForm,
  parseSearchQuery,
  postSchema,
  servedEndpoints,
  startFakeStripe,
  stripeSpec,
} from '../fake-stripe-api.mjs';
import { authorizedPayment, paidPayment } from '../stripe-scenarios.mjs';

const KEY = 'sk_test_51StandInKeyForActionTests000';
const root = fileURLToPath(new URL('../../', import.meta.url));

function client(stripe) {
  const headers = { authorization: `Bearer ${KEY}` };
  const answer = async (res) => ({ status: res.status, headers: res.headers, json: await res.json() });
  return {
    get: async (path) => answer(await fetch(stripe.url + path, { headers })),
    post: async (path, body = '', key) =>
      answer(
        await fetch(stripe.url + path, {
          method: 'POST',
          headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded', ...(key ? { 'idempotency-key': key } : {}) },
          body,
        }),
      ),
  };
}

const form = (fields) => new URLSearchParams(fields).toString();
const bareSchema = (path) => stripeSpec().paths[path].post.requestBody.content['application/x-www-form-urlencoded'].schema;

/** Every parameter of `body` that spec3.json alone refuses (unknown ones removed, missing ones noted), `[n]` written `[]`. */
function refusedBySpec3(path, body) {
  const f = parseForm(body);
  const refused = new Set();
  for (let n = 0; n < 200; n++) {
    try {
      checkSchema(bareSchema(path), f);
      return refused;
    } catch (e) {
      const steps = /^([^[\]]+)((?:\[[^[\]]*\])*)$/.exec(e.param);
      const path_ = [steps[1], ...[...steps[2].matchAll(/\[([^[\]]*)\]/g)].map((x) => x[1])];
      let node = f;
      for (const step of path_.slice(0, -1)) node = node[step];
      refused.add(`${e.code} ${e.param.replace(/\[\d+\]/g, '[]')}`);
      if (e.code === 'parameter_unknown') delete node[path_.at(-1)];
      else if (e.code === 'parameter_missing') node[path_.at(-1)] = 'x';
      else throw e;
    }
  }
  throw new Error('too many refusals');
}

const ORDER = {
  id: '1002',
  customer_id: 'C-77',
  customer_email: 'jenny.rosen@example.com',
  customer_name: 'Jenny Rosen',
  currency: 'eur',
  lines: [
    { name: 'Espresso beans 1 kg', quantity: 2, unit_price: '8.99' },
    { name: 'Milk frother', quantity: 1, unit_price: '24.50', description: 'Stainless steel' },
  ],
  tax: { name: 'VAT 7%', amount: '2.97' },
  total: '45.45',
  success_url: 'https://shop.example.com/orders/1002/thanks',
  locale: 'de',
  metadata: { channel: 'web' },
};

// The request bodies the contract of the actions describes (refunds, capture, cancel, customers, order sync).
const ACTION_BODIES = {
  '/v1/refunds': 'payment_intent=pi_1&amount=1000&reason=requested_by_customer&metadata[order_id]=1001&metadata[return_id]=rr_7&metadata[credit_note_id]=cn_1&metadata[channel]=web',
  '/v1/payment_intents/{intent}/capture': 'amount_to_capture=3000&metadata[order_id]=1001',
  '/v1/payment_intents/{intent}/cancel': 'cancellation_reason=requested_by_customer',
  '/v1/customers': 'email=jenny%40example.com&name=Jenny+Rosen&phone=%2B4930123456&description=Shop+customer+C-77&address[line1]=Unter+den+Linden+1&address[line2]=&address[city]=Berlin&address[state]=BE&address[postal_code]=10117&address[country]=DE&metadata[customer_id]=C-77',
  '/v1/customers/{customer}': 'email=jenny%40example.com&name=Jenny+Rosen&metadata[customer_id]=C-77',
  '/v1/payment_intents/{intent}': 'description=Order+1001&metadata[order_id]=1001&metadata[order_number]=2024-1001&metadata[order_status]=shipped',
};

describe('POST validation: spec3.json with examples/stripe-api-newer.json overlaid', () => {
  let stripe;
  let api;
  before(async () => {
    stripe = await startFakeStripe({ apiKey: KEY });
    api = client(stripe);
  });
  after(() => stripe.close());

  /** A valid request for every POST endpoint served, with the objects it needs created first. */
  async function validRequests() {
    stripe.reset();
    stripe.seed(paidPayment({ orderId: 'V-1' }));
    const paid = paidPayment({ orderId: 'V-1' }).expected;
    const customer = (await api.post('/v1/customers', 'email=v%40example.com')).json.id;
    const intent = () => api.post('/v1/payment_intents', 'amount=1000&currency=eur').then((r) => r.json.id);
    return {
      '/v1/checkout/sessions': ['/v1/checkout/sessions', 'mode=payment&success_url=https%3A%2F%2Fshop.example.com%2Fok&line_items[0][price_data][currency]=eur&line_items[0][price_data][product_data][name]=Tea&line_items[0][price_data][unit_amount]=500&line_items[0][quantity]=1'],
      '/v1/payment_intents': ['/v1/payment_intents', 'amount=1000&currency=eur'],
      '/v1/payment_intents/{intent}/capture': [`/v1/payment_intents/${stripe.seed(authorizedPayment({ orderId: 'V-2' })) && authorizedPayment({ orderId: 'V-2' }).expected.paymentIntentId}/capture`, 'metadata[captured_by]=shop'],
      '/v1/payment_intents/{intent}/cancel': [`/v1/payment_intents/${await intent()}/cancel`, 'expand[]=latest_charge'],
      '/v1/payment_intents/{intent}': [`/v1/payment_intents/${await intent()}`, 'description=Order+V-1'],
      '/v1/payment_links': ['/v1/payment_links', 'line_items[0][price_data][currency]=eur&line_items[0][price_data][product_data][name]=Tea&line_items[0][price_data][unit_amount]=500&line_items[0][quantity]=1'],
      '/v1/refunds': ['/v1/refunds', `payment_intent=${paid.paymentIntentId}&amount=100`],
      '/v1/customers': ['/v1/customers', 'email=w%40example.com'],
      '/v1/customers/{customer}': [`/v1/customers/${customer}`, 'description=W'],
      '/v1/reporting/report_runs': ['/v1/reporting/report_runs', 'report_type=balance.summary.1&parameters[interval_start]=1&parameters[interval_end]=2'],
    };
  }

  // Per endpoint: a parameter outside its enum and a string over its maxLength, with Stripe's message.
  const BAD = {
    '/v1/checkout/sessions': [['locale=klingon', 'locale', /^Invalid locale: must be one of auto, bg, cs, .*, \.\.\.$/], [`client_reference_id=${'r'.repeat(201)}`, 'client_reference_id', 200]],
    '/v1/payment_intents': [['capture_method=later', 'capture_method', 'Invalid capture_method: must be one of automatic, automatic_async, or manual'], [`description=${'d'.repeat(1001)}`, 'description', 1000]],
    '/v1/payment_intents/{intent}/capture': [['amount_to_capture=all', 'amount_to_capture', 'Invalid integer: all', 'parameter_invalid_integer'], [`statement_descriptor=${'s'.repeat(23)}`, 'statement_descriptor', 22]],
    '/v1/payment_intents/{intent}/cancel': [['cancellation_reason=bored', 'cancellation_reason', 'Invalid cancellation_reason: must be one of abandoned, duplicate, fraudulent, or requested_by_customer'], [`cancellation_reason=${'c'.repeat(5001)}`, 'cancellation_reason', 5000]],
    '/v1/payment_intents/{intent}': [['setup_future_usage=sometimes', 'setup_future_usage', 'Invalid setup_future_usage: must be one of , off_session, or on_session'], [`statement_descriptor_suffix=${'s'.repeat(23)}`, 'statement_descriptor_suffix', 22]],
    '/v1/payment_links': [['after_completion[type]=elsewhere', 'after_completion[type]', 'Invalid after_completion[type]: must be one of hosted_confirmation, or redirect'], [`after_completion[type]=redirect&after_completion[redirect][url]=https%3A%2F%2F${'u'.repeat(2041)}`, 'after_completion[redirect][url]', 2048]],
    '/v1/refunds': [['reason=changed_mind', 'reason', 'Invalid reason: must be one of duplicate, fraudulent, or requested_by_customer'], [`instructions_email=x&charge=${'c'.repeat(5001)}`, 'charge', 5000]],
    '/v1/customers': [['tax_exempt=sometimes', 'tax_exempt', 'Invalid tax_exempt: must be one of , exempt, none, or reverse'], [`phone=${'1'.repeat(21)}`, 'phone', 20]],
    '/v1/customers/{customer}': [['tax_exempt=sometimes', 'tax_exempt', 'Invalid tax_exempt: must be one of , exempt, none, or reverse'], [`name=${'n'.repeat(257)}`, 'name', 256]],
    '/v1/reporting/report_runs': [['parameters[timezone]=Mars%2FOlympus', 'parameters[timezone]', /^Invalid parameters\[timezone\]: must be one of Africa\/Abidjan, .*, \.\.\.$/], [`parameters[reporting_category]=${'t'.repeat(5001)}`, 'parameters[reporting_category]', 5000]],
  };

  test('every POST served is validated from the description: an unknown parameter, a wrong enum, a too-long string', async () => {
    const served = servedEndpoints().filter((e) => e.method === 'POST').map((e) => e.path);
    assert.deepEqual(new Set(Object.keys(BAD)), new Set(served), 'a case for every POST endpoint served');
    const requests = await validRequests();
    for (const path of served) {
      const [url, body] = requests[path];
      const expectError = async (extra, code, param, message) => {
        const res = await api.post(url, `${body}&${extra}`);
        assert.equal(res.status, 400, `${path} ${extra.slice(0, 60)}: ${JSON.stringify(res.json)}`);
        assert.deepEqual([res.json.error.type, res.json.error.code, res.json.error.param], ['invalid_request_error', code, param], path);
        assert.equal(res.json.error.doc_url, `https://stripe.com/docs/error-codes/${code.replace(/_/g, '-')}`);
        if (message instanceof RegExp) assert.match(res.json.error.message, message, path);
        else assert.equal(res.json.error.message, message, path);
      };
      await expectError('colour=blue', 'parameter_unknown', 'colour', 'Received unknown parameter: colour');
      const [[enumExtra, enumParam, enumMessage, enumCode = 'parameter_invalid'], [longExtra, longParam, max]] = BAD[path];
      await expectError(enumExtra, enumCode, enumParam, enumMessage);
      const long = parseForm(longExtra);
      const value = longParam.split(/[[\]]+/).filter(Boolean).reduce((node, k) => node[k], long);
      await expectError(longExtra, 'string_length_exceeds_maximum', longParam, `Invalid string: ${value.slice(0, 20)}...; must be at most ${max} characters`);
      const ok = await api.post(url, body);
      assert.equal(ok.status, 200, `${path} accepts the valid body: ${JSON.stringify(ok.json)}`);
    }
    assert.equal(stripe.requests.filter((r) => r.method === 'POST' && r.status === 400).length, 3 * served.length);
  });

  test('nested bracket keys, arrays, $ref/anyOf, required: typed errors in Stripe words', async () => {
    const cases = [
      ['/v1/payment_links', 'line_items[0][price_data][currency]=eur&line_items[0][price_data][product_data][description]=x&line_items[0][quantity]=1', 'parameter_missing', 'line_items[0][price_data][product_data][name]', 'Missing required param: line_items[0][price_data][product_data][name].'],
      ['/v1/payment_links', 'line_items[0][price_data][product_data][name]=T&line_items[0][quantity]=1', 'parameter_missing', 'line_items[0][price_data][currency]', 'Missing required param: line_items[0][price_data][currency].'],
      ['/v1/payment_links', 'line_items[0][price_data][currency]=eur&line_items[0][price_data][product_data][name]=T&line_items[0][price_data][unit_amount]=5&line_items[0][quantity]=1&line_items[0][price_data][colour]=red', 'parameter_unknown', 'line_items[0][price_data][colour]', 'Received unknown parameter: line_items[0][price_data][colour]'],
      ['/v1/payment_links', 'line_items[1][price_data][currency]=eur', 'parameter_invalid', 'line_items', 'Invalid array: line_items'],
      ['/v1/payment_links', 'line_items[0][price_data][currency]=eur&line_items[0][price_data][product_data][name]=T&line_items[0][price_data][unit_amount]=5&line_items[0][quantity]=1&restrictions[completed_sessions][limit]=one', 'parameter_invalid_integer', 'restrictions[completed_sessions][limit]', 'Invalid integer: one'],
      ['/v1/payment_links', 'line_items[0][price_data][currency]=eur&line_items[0][price_data][product_data][name]=T&line_items[0][price_data][unit_amount]=5&line_items[0][quantity]=1&restrictions[completed_sessions][count]=1', 'parameter_unknown', 'restrictions[completed_sessions][count]', 'Received unknown parameter: restrictions[completed_sessions][count]'],
      ['/v1/payment_links', 'line_items[0][quantity]=1', 'parameter_missing', 'line_items[0][price_data]', 'You must specify either price or price_data for line_items[0].'],
      ['/v1/customers', 'address[city]=Berlin&address[planet]=Earth', 'parameter_unknown', 'address[planet]', 'Received unknown parameter: address[planet]'],
      ['/v1/customers', 'metadata[a][b]=c', 'parameter_invalid_string', 'metadata[a]', 'Invalid string: metadata[a] must be a string'],
      ['/v1/payment_intents', 'currency=eur', 'parameter_missing', 'amount', 'Missing required param: amount.'],
      ['/v1/payment_intents', 'amount=10.5&currency=eur', 'parameter_invalid_integer', 'amount', 'Invalid integer: 10.5'],
      ['/v1/payment_intents', 'amount=1000&currency=eur&automatic_payment_methods[enabled]=yes', 'parameter_invalid_boolean', 'automatic_payment_methods[enabled]', 'Invalid boolean: yes'],
      ['/v1/payment_intents', 'amount=1000&currency=eur&automatic_payment_methods[allow_redirects]=never', 'parameter_missing', 'automatic_payment_methods[enabled]', 'Missing required param: automatic_payment_methods[enabled].'],
      ['/v1/payment_intents', 'amount=1000&currency=eur&payment_method_types=card', 'parameter_invalid', 'payment_method_types', 'Invalid array: payment_method_types'],
    ];
    for (const [path, body, code, param, message] of cases) {
      const res = await api.post(path, body);
      assert.equal(res.status, 400, `${path} ${body}`);
      assert.deepEqual([res.json.error.code, res.json.error.param, res.json.error.message], [code, param, message], body);
    }
  });

  test('the checks the description cannot express apply to every POST: metadata limits, amounts, currencies, emails, URLs, customers', async () => {
    const meta = (n) => Array.from({ length: n }, (_, i) => `metadata[k${i}]=v`).join('&');
    const cases = [
      ['/v1/refunds', `charge=ch_1&${meta(51)}`, 'parameter_invalid', 'metadata', 'Invalid metadata: metadata can have at most 50 keys.'],
      ['/v1/customers', `metadata[${'k'.repeat(41)}]=v`, 'parameter_invalid', `metadata[${'k'.repeat(41)}]`, `Metadata keys can have up to 40 characters, but the key '${'k'.repeat(41)}' has 41 characters.`],
      ['/v1/payment_intents/pi_x', `metadata[note]=${'v'.repeat(501)}`, 'parameter_invalid', 'metadata[note]', "Metadata values can have up to 500 characters, but the value of 'note' has 501 characters."],
      ['/v1/payment_intents/pi_x/capture', `metadata[a]=1&${meta(50)}`, 'parameter_invalid', 'metadata', 'Invalid metadata: metadata can have at most 50 keys.'],
      ['/v1/payment_intents', 'amount=0&currency=eur', 'parameter_invalid_integer', 'amount', 'This value must be greater than or equal to 1.'],
      ['/v1/payment_intents', 'amount=100000000&currency=eur', 'amount_too_large', 'amount', 'Amount must be no more than 99999999'],
      ['/v1/refunds', 'charge=ch_1&amount=-5', 'parameter_invalid_integer', 'amount', 'This value must be greater than or equal to 1.'],
      ['/v1/payment_intents/pi_x/capture', 'amount_to_capture=0', 'parameter_invalid_integer', 'amount_to_capture', 'This value must be greater than or equal to 1.'],
      ['/v1/payment_intents', 'amount=100&currency=EUR', 'parameter_invalid', 'currency', undefined],
      ['/v1/customers', 'email=jenny', 'email_invalid', 'email', 'Invalid email address: jenny'],
      ['/v1/payment_intents', 'amount=100&currency=eur&customer=cus_nobody', 'resource_missing', 'customer', "No such customer: 'cus_nobody'"],
      ['/v1/checkout/sessions', 'mode=payment&success_url=ftp%3A%2F%2Fx', 'url_invalid', 'success_url', 'Not a valid URL'],
      ['/v1/checkout/sessions', 'success_url=https%3A%2F%2Fx.example', 'parameter_missing', 'mode', 'Missing required param: mode.'],
      ['/v1/checkout/sessions', 'mode=payment', 'parameter_missing', 'success_url', 'Missing required param: success_url.'],
    ];
    for (const [path, body, code, param, message] of cases) {
      const res = await api.post(path, body);
      assert.equal(res.status, 400, `${path} ${body.slice(0, 80)}`);
      assert.deepEqual([res.json.error.code, res.json.error.param], [code, param], body.slice(0, 80));
      if (message) assert.equal(res.json.error.message, message);
    }
  });

  test('stripe-api-newer.json: each entry is newer than spec3.json, used by the validator, and cites its changelog entry', async () => {
    const list = newerParameters();
    assert.equal(list.description_api_version, stripeSpec().info.version);
    assert.ok(list.parameters.length >= 3);
    for (const entry of list.parameters) {
      const where = `${entry.path} ${entry.parameter}`;
      assert.ok(stripeSpec().paths[entry.path]?.post, `${where}: a POST of spec3.json`);
      const { title, date, url, api_version: version } = entry.changelog ?? {};
      assert.ok(title && title.length > 10, `${where}: changelog title`);
      assert.match(date, /^\d{4}-\d{2}-\d{2}$/, `${where}: changelog date`);
      assert.ok(date > list.description_api_version, `${where}: newer than the description (${date})`);
      assert.match(url, /^https:\/\/(docs\.stripe\.com\/changelog\/|github\.com\/stripe\/)/, `${where}: changelog url`);
      assert.ok(version === null || /^\d{4}-\d{2}-\d{2}\.[a-z]+$/.test(version), `${where}: api_version`);
      assert.ok(entry.schema && typeof entry.schema === 'object', `${where}: schema`);
    }
    // The overlay: the listed parameters are in the schema the stand-in validates with, not in spec3.json.
    const links = postSchema('/v1/payment_links');
    assert.ok(links.properties.restrictions && !bareSchema('/v1/payment_links').properties.restrictions);
    assert.ok(links.properties.line_items.items.properties.price_data);
    assert.deepEqual(links.properties.line_items.items.required, ['quantity'], 'price is no longer required');
    assert.deepEqual(bareSchema('/v1/payment_links').properties.line_items.items.required, ['price', 'quantity'], 'spec3.json itself is untouched');
    assert.ok(!bareSchema('/v1/payment_links').properties.payment_intent_data.properties.metadata);
  });

  test("the project's request bodies: accepted with the newer list, refused by spec3.json alone on exactly the listed parameters", async (t) => {
    const bin = `${root}target/debug/stripe-bridge`;
    if (!existsSync(bin)) return t.skip('target/debug/stripe-bridge is not built (cargo build)');
    const build = (kind, order) => JSON.parse(execFileSync(bin, ['payment-request', kind], { input: JSON.stringify(order), cwd: root }).toString());
    const withShipping = { ...ORDER, shipping: { name: 'DHL Standard', amount: '4.95' }, total: '50.40', cancel_url: 'https://shop.example.com/cart', description: 'Order 1002 (web)' };
    const requests = [build('checkout', withShipping), build('payment-intent', withShipping), build('payment-link', ORDER)];
    const needed = new Set();
    for (const r of requests) {
      checkSchema(postSchema(r.path), parseForm(r.body));
      for (const refused of refusedBySpec3(r.path, r.body)) needed.add(`${r.path} ${refused}`);
      const res = await api.post(r.path, r.body, r.idempotency_key);
      assert.equal(res.status, 200, `${r.path}: ${JSON.stringify(res.json)}`);
    }
    const listed = new Set();
    for (const e of newerParameters().parameters) {
      listed.add(`${e.path} parameter_unknown ${e.parameter}`);
      for (const p of e.no_longer_required ?? []) listed.add(`${e.path} parameter_missing ${p}`);
    }
    assert.deepEqual(needed, listed, 'the list holds what the project sends beyond spec3.json, and nothing else');
    // The action bodies of the contract (refunds, capture, cancel, customers, order sync) need nothing newer.
    for (const [path, body] of Object.entries(ACTION_BODIES)) assert.deepEqual(refusedBySpec3(path, body), new Set(), path);
  });

  test("the shop's action commands (refund, capture, cancel, customer, sync-order): bodies spec3.json accepts as they are", async (t) => {
    const bin = `${root}target/debug/stripe-bridge`;
    if (!existsSync(bin) || !/\n\s+sync-order\s/.test(execFileSync(bin, ['--help']).toString())) return t.skip('target/debug/stripe-bridge has no action commands (cargo build)');
    const run = (args, input) => JSON.parse(execFileSync(bin, args, { input: JSON.stringify(input), cwd: root }).toString());
    const dir = mkdtempSync(join(tmpdir(), 'stand-in-actions-'));
    const state = join(dir, 'state.json');
    writeFileSync(state, execFileSync(bin, ['merge', 'tests/fixtures/events/pi_succeeded_basil.json', 'tests/fixtures/events/refund_created_basil.json'], { cwd: root }));
    const requests = [
      ...run(['refund', '--state', state], { order_id: '1001', currency: 'usd', amount: '10.00', return_id: 'rr_12', reason: 'requested_by_customer', metadata: { channel: 'web' } }),
      run(['capture'], { order_id: '1001', payment_intent: 'pi_3Abc', amount: '30.00', currency: 'EUR', metadata: { channel: 'web' } }),
      run(['cancel'], { order_id: '1001', payment_intent: 'pi_3Abc', reason: 'requested_by_customer' }),
      run(['customer'], { customer_id: 'C-77', email: 'jenny@example.com', name: 'Jenny Rosen', phone: '+4930123', description: 'VIP', address: { line1: 'Hauptstr. 1', line2: '2. OG', city: 'Berlin', state: 'BE', postal_code: '10115', country: 'de' }, metadata: { tier: 'gold' } }),
      run(['customer', '--stripe-customer', 'cus_123'], { customer_id: 'C-77', email: 'jenny@example.com' }),
      run(['sync-order'], { order_id: '1001', payment_intent: 'pi_3Abc', order_number: '2024-1001', order_status: 'shipped', description: 'Order 1001' }),
    ];
    assert.equal(requests.length, 6);
    for (const r of requests) {
      const template = servedEndpoints().find((e) => e.method === 'POST' && new RegExp(`^${e.path.replace(/\{[^}]+\}/g, '[^/]+')}$`).test(r.path)).path;
      assert.deepEqual(refusedBySpec3(template, r.body), new Set(), `${r.path}: ${r.body}`);
      checkSchema(postSchema(template), parseForm(r.body));
    }
  });

  test('a Payment Link with inline price_data and a single-use restriction is created as Stripe shows it', async () => {
    const body = 'line_items[0][price_data][currency]=eur&line_items[0][price_data][product_data][name]=Tea&line_items[0][price_data][unit_amount]=500&line_items[0][quantity]=2&payment_intent_data[metadata][order_id]=1002&restrictions[completed_sessions][limit]=1&metadata[order_id]=1002';
    const link = (await api.post('/v1/payment_links', body)).json;
    assert.deepEqual([link.object, link.currency, link.restrictions, link.payment_intent_data.metadata], ['payment_link', 'eur', { completed_sessions: { count: 0, limit: 1 } }, { order_id: '1002' }]);
    const byPrice = await api.post('/v1/payment_links', 'line_items[0][price]=price_123&line_items[0][quantity]=1');
    assert.deepEqual([byPrice.status, byPrice.json.error.code, byPrice.json.error.message], [400, 'resource_missing', "No such price: 'price_123'"]);
  });
});

describe('refunds', () => {
  let stripe;
  let api;
  beforeEach(async () => {
    await stripe?.close();
    stripe = await startFakeStripe({ apiKey: KEY });
    api = client(stripe);
  });
  after(() => stripe.close());

  test('a full refund (no amount): what remains, as a succeeded refund; the charge shows it; GET /v1/refunds/{id}', async () => {
    const paid = paidPayment({ currency: 'eur', amount: 5040, orderId: '1001' });
    stripe.seed(paid);
    const res = await api.post('/v1/refunds', form({ payment_intent: paid.expected.paymentIntentId, reason: 'requested_by_customer', 'metadata[order_id]': '1001', 'metadata[return_id]': 'rr_7' }));
    assert.equal(res.status, 200, JSON.stringify(res.json));
    const refund = res.json;
    assert.match(refund.id, /^re_/);
    assert.deepEqual(
      [refund.object, refund.amount, refund.currency, refund.status, refund.charge, refund.payment_intent, refund.reason, refund.metadata],
      ['refund', 5040, 'eur', 'succeeded', paid.expected.chargeId, paid.expected.paymentIntentId, 'requested_by_customer', { order_id: '1001', return_id: 'rr_7' }],
    );
    assert.match(refund.balance_transaction, /^txn_/);
    const txn = stripe.get(refund.balance_transaction);
    assert.deepEqual([txn.type, txn.reporting_category, txn.amount, txn.source], ['refund', 'refund', -5040, refund.id]);
    assert.deepEqual((await api.get(`/v1/refunds/${refund.id}`)).json, refund);
    const charge = (await api.get(`/v1/charges/${paid.expected.chargeId}`)).json;
    assert.deepEqual([charge.amount_captured, charge.amount_refunded, charge.refunded], [5040, 5040, true]);
    assert.deepEqual(charge.refunds.data.map((r) => r.id), [refund.id]);
    assert.deepEqual(stripe.objects.map((o) => o.id), [refund.id]);
  });

  test('partial refunds up to the captured amount, by payment_intent or by charge; JPY and KWD amounts', async () => {
    const paid = paidPayment({ currency: 'usd', amount: 8000, orderId: 'P-1' });
    stripe.seed(paid);
    const first = await api.post('/v1/refunds', form({ payment_intent: paid.expected.paymentIntentId, amount: '5000' }));
    assert.deepEqual([first.status, first.json.amount], [200, 5000]);
    let charge = stripe.get(paid.expected.chargeId);
    assert.deepEqual([charge.amount_refunded, charge.refunded], [5000, false]);
    const second = await api.post('/v1/refunds', form({ charge: paid.expected.chargeId }));
    assert.deepEqual([second.status, second.json.amount, second.json.payment_intent], [200, 3000, paid.expected.paymentIntentId]);
    charge = stripe.get(paid.expected.chargeId);
    assert.deepEqual([charge.amount_refunded, charge.refunded, charge.refunds.data.length], [8000, true, 2]);
    for (const [currency, amount, part] of [['jpy', 500, 120], ['kwd', 1230, 410]]) {
      const p = paidPayment({ currency, amount, orderId: `P-${currency}` });
      stripe.seed(p);
      const r = await api.post('/v1/refunds', form({ payment_intent: p.expected.paymentIntentId, amount: String(part) }));
      assert.deepEqual([r.status, r.json.amount, r.json.currency], [200, part, currency]);
    }
  });

  test("more than remains is refused in Stripe's words (no error code); a fully refunded charge is charge_already_refunded", async () => {
    const paid = paidPayment({ currency: 'usd', amount: 8000, orderId: 'O-1' });
    stripe.seed(paid);
    const over = await api.post('/v1/refunds', form({ payment_intent: paid.expected.paymentIntentId, amount: '9000' }));
    assert.equal(over.status, 400);
    assert.deepEqual(over.json.error, { type: 'invalid_request_error', message: 'Refund amount ($90.00) is greater than charge amount ($80.00)', param: 'amount' });
    await api.post('/v1/refunds', form({ payment_intent: paid.expected.paymentIntentId, amount: '5000' }));
    const more = await api.post('/v1/refunds', form({ payment_intent: paid.expected.paymentIntentId, amount: '4000' }));
    assert.deepEqual(more.json.error, { type: 'invalid_request_error', message: 'Refund amount ($40.00) is greater than unrefunded amount on charge ($30.00)', param: 'amount' });
    assert.equal((await api.post('/v1/refunds', form({ payment_intent: paid.expected.paymentIntentId }))).json.amount, 3000);
    const again = await api.post('/v1/refunds', form({ payment_intent: paid.expected.paymentIntentId }));
    assert.equal(again.status, 400);
    assert.deepEqual(again.json.error, {
      type: 'invalid_request_error',
      code: 'charge_already_refunded',
      doc_url: 'https://stripe.com/docs/error-codes/charge-already-refunded',
      message: `Charge ${paid.expected.chargeId} has already been refunded.`,
    });
    const eur = paidPayment({ currency: 'eur', amount: 5040, orderId: 'O-2', refunded: 1000 });
    stripe.seed(eur);
    const overEur = await api.post('/v1/refunds', form({ charge: eur.expected.chargeId, amount: '5000' }));
    assert.equal(overEur.json.error.message, 'Refund amount (€50.00) is greater than unrefunded amount on charge (€40.40)');
    assert.equal(stripe.get(paid.expected.chargeId).amount_refunded, 8000);
  });

  test('a second full refund of the same payment is refused; nothing is refunded twice', async () => {
    const paid = paidPayment({ orderId: 'F-2' });
    stripe.seed(paid);
    const first = await api.post('/v1/refunds', form({ payment_intent: paid.expected.paymentIntentId }), 'sb-refund-a');
    const second = await api.post('/v1/refunds', form({ payment_intent: paid.expected.paymentIntentId }), 'sb-refund-b');
    assert.deepEqual([first.status, second.status, second.json.error.code], [200, 400, 'charge_already_refunded']);
    assert.equal(stripe.objects.length, 1);
    assert.equal(stripe.get(paid.expected.chargeId).amount_refunded, paid.expected.amount);
  });

  test('idempotent replay: the same key and parameters return the same refund and create nothing; other parameters are an idempotency_error', async () => {
    const paid = paidPayment({ currency: 'eur', amount: 5040, orderId: 'I-1' });
    stripe.seed(paid);
    const body = form({ payment_intent: paid.expected.paymentIntentId, amount: '1000', 'metadata[order_id]': 'I-1' });
    const first = await api.post('/v1/refunds', body, 'sb-refund-1');
    const replay = await api.post('/v1/refunds', body, 'sb-refund-1');
    assert.equal(replay.headers.get('idempotent-replayed'), 'true');
    assert.equal(first.headers.get('idempotent-replayed'), null);
    assert.deepEqual(replay.json, first.json);
    assert.equal(stripe.objects.length, 1);
    assert.equal(stripe.get(paid.expected.chargeId).amount_refunded, 1000);
    const other = await api.post('/v1/refunds', form({ payment_intent: paid.expected.paymentIntentId, amount: '2000' }), 'sb-refund-1');
    assert.equal(other.status, 400);
    assert.equal(other.json.error.type, 'idempotency_error');
    assert.match(other.json.error.message, /^Keys for idempotent requests can only be used with the same parameters they were first used with\./);
    // A response lost after the refund was made: the retry with the same key gets it, once.
    stripe.fail({ drop: 'after' });
    const lostBody = form({ payment_intent: paid.expected.paymentIntentId, amount: '500' });
    await assert.rejects(api.post('/v1/refunds', lostBody, 'sb-refund-2'));
    const retried = await api.post('/v1/refunds', lostBody, 'sb-refund-2');
    assert.deepEqual([retried.status, retried.headers.get('idempotent-replayed'), stripe.objects.length], [200, 'true', 2]);
    assert.equal(stripe.get(paid.expected.chargeId).amount_refunded, 1500);
    // A refusal by the running endpoint is its saved result too; a validation error is not.
    const tooMuch = form({ payment_intent: paid.expected.paymentIntentId, amount: '9999' });
    const refused = await api.post('/v1/refunds', tooMuch, 'sb-refund-3');
    const refusedAgain = await api.post('/v1/refunds', tooMuch, 'sb-refund-3');
    assert.deepEqual([refused.status, refusedAgain.status, refusedAgain.headers.get('idempotent-replayed')], [400, 400, 'true']);
    assert.equal((await api.post('/v1/refunds', 'charge=ch_1&reason=oops', 'sb-refund-4')).status, 400);
    const valid = await api.post('/v1/refunds', form({ payment_intent: paid.expected.paymentIntentId, amount: '100' }), 'sb-refund-4');
    assert.deepEqual([valid.status, valid.headers.get('idempotent-replayed')], [200, null], 'a key whose first use failed validation is still free');
  });

  test('refused: an uncaptured authorization (cancel it instead), a payment without a successful charge, a disputed charge, unknown ids', async () => {
    const auth = authorizedPayment({ currency: 'eur', amount: 5040, orderId: 'U-1' });
    stripe.seed(auth);
    for (const body of [form({ payment_intent: auth.expected.paymentIntentId }), form({ charge: auth.expected.chargeId, amount: '100' })]) {
      const res = await api.post('/v1/refunds', body);
      assert.equal(res.status, 400);
      assert.deepEqual(res.json.error, {
        type: 'invalid_request_error',
        message: `This uncaptured Charge was created by a PaymentIntent (${auth.expected.paymentIntentId}). You must cancel the PaymentIntent to reverse the authorization instead of refunding the Charge directly. For more information, see https://stripe.com/docs/payments/place-a-hold-on-a-payment-method`,
      });
    }
    const fresh = (await api.post('/v1/payment_intents', 'amount=900&currency=usd')).json;
    const none = await api.post('/v1/refunds', form({ payment_intent: fresh.id }));
    assert.deepEqual(none.json.error, { type: 'invalid_request_error', message: `This PaymentIntent (${fresh.id}) does not have a successful charge to refund.` });
    await api.post(`/v1/payment_intents/${auth.expected.paymentIntentId}/cancel`, '');
    assert.equal((await api.post('/v1/refunds', form({ charge: auth.expected.chargeId }))).json.error.message, `This PaymentIntent (${auth.expected.paymentIntentId}) does not have a successful charge to refund.`);
    const neither = await api.post('/v1/refunds', 'amount=100');
    assert.deepEqual(neither.json.error, { type: 'invalid_request_error', message: 'One of the following params should be provided for this request: payment_intent or charge.' });
    const disputed = paidPayment({ orderId: 'D-1', disputed: true });
    stripe.seed(disputed);
    const chargeback = await api.post('/v1/refunds', form({ payment_intent: disputed.expected.paymentIntentId }));
    assert.deepEqual([chargeback.status, chargeback.json.error.code, chargeback.json.error.message], [400, 'charge_disputed', `Charge ${disputed.expected.chargeId} has been charged back; cannot issue a refund.`]);
    const missing = await api.post('/v1/refunds', 'charge=ch_missing');
    assert.deepEqual([missing.status, missing.json.error.code, missing.json.error.message], [404, 'resource_missing', "No such charge: 'ch_missing'"]);
    const missingPi = await api.post('/v1/refunds', 'payment_intent=pi_missing');
    assert.deepEqual([missingPi.status, missingPi.json.error.code, missingPi.json.error.message], [404, 'resource_missing', "No such payment_intent: 'pi_missing'"]);
    assert.equal(stripe.objects.filter((o) => o.object === 'refund').length, 0);
  });

  test('a partially captured payment refunds only what was captured (the released rest counts as refunded)', async () => {
    const part = paidPayment({ currency: 'eur', amount: 5040, amountCaptured: 3000, orderId: 'PC-1' });
    stripe.seed(part);
    assert.deepEqual([part.expected.amountCaptured, part.expected.refundable], [3000, 3000]);
    const over = await api.post('/v1/refunds', form({ payment_intent: part.expected.paymentIntentId, amount: '3001' }));
    assert.equal(over.json.error.message, 'Refund amount (€30.01) is greater than unrefunded amount on charge (€30.00)');
    const all = await api.post('/v1/refunds', form({ payment_intent: part.expected.paymentIntentId }));
    assert.deepEqual([all.status, all.json.amount], [200, 3000]);
    assert.equal(stripe.get(part.expected.chargeId).refunded, true);
  });
});

describe('PaymentIntents: capture, cancel, update', () => {
  let stripe;
  let api;
  beforeEach(async () => {
    await stripe?.close();
    stripe = await startFakeStripe({ apiKey: KEY });
    api = client(stripe);
  });
  after(() => stripe.close());

  test('full capture of an authorization: succeeded, amount_received, the charge captured with its balance transaction', async () => {
    const auth = authorizedPayment({ currency: 'eur', amount: 5040, orderId: '1001' });
    stripe.seed(auth);
    const res = await api.post(`/v1/payment_intents/${auth.expected.paymentIntentId}/capture`, 'metadata[captured_by]=shop');
    assert.equal(res.status, 200, JSON.stringify(res.json));
    assert.deepEqual([res.json.status, res.json.amount_received, res.json.amount_capturable, res.json.metadata], ['succeeded', 5040, 0, { order_id: '1001', captured_by: 'shop' }]);
    const charge = (await api.get(`/v1/charges/${auth.expected.chargeId}`)).json;
    assert.deepEqual([charge.captured, charge.amount_captured, charge.amount_refunded, charge.refunded], [true, 5040, 0, false]);
    assert.equal(stripe.get(charge.balance_transaction).amount, 5040);
    assert.equal(stripe.objects.length, 0, 'a capture creates no object of its own');
    const twice = await api.post(`/v1/payment_intents/${auth.expected.paymentIntentId}/capture`, '');
    assert.equal(twice.status, 400);
    assert.equal(twice.json.error.code, 'payment_intent_unexpected_state');
    assert.equal(twice.json.error.message, 'This PaymentIntent could not be captured because it has a status of succeeded. Only a PaymentIntent with one of the following statuses may be captured: requires_capture.');
    assert.equal(twice.json.error.payment_intent.id, auth.expected.paymentIntentId, "Stripe's error carries the PaymentIntent");
  });

  test('partial capture releases the rest; capturing more than authorized is amount_too_large', async () => {
    const auth = authorizedPayment({ currency: 'eur', amount: 5040, orderId: '1003' });
    stripe.seed(auth);
    const over = await api.post(`/v1/payment_intents/${auth.expected.paymentIntentId}/capture`, 'amount_to_capture=5041');
    assert.equal(over.status, 400);
    assert.deepEqual([over.json.error.code, over.json.error.param, over.json.error.message], ['amount_too_large', 'amount_to_capture', 'The payment could not be captured because the requested capture amount is greater than the amount you can capture for this charge.']);
    assert.equal(stripe.get(auth.expected.paymentIntentId).status, 'requires_capture', 'nothing changed');
    const part = await api.post(`/v1/payment_intents/${auth.expected.paymentIntentId}/capture`, 'amount_to_capture=3000');
    assert.deepEqual([part.json.status, part.json.amount_received, part.json.amount_capturable], ['succeeded', 3000, 0]);
    const charge = stripe.get(auth.expected.chargeId);
    assert.deepEqual([charge.amount_captured, charge.amount_refunded, charge.refunded], [3000, 2040, false]);
    const refund = await api.post('/v1/refunds', form({ payment_intent: auth.expected.paymentIntentId }));
    assert.deepEqual([refund.status, refund.json.amount], [200, 3000]);
  });

  test('capture refused unless authorized: a paid payment, an unconfirmed PaymentIntent, an unknown one', async () => {
    const paid = paidPayment({ orderId: 'N-1' });
    stripe.seed(paid);
    const res = await api.post(`/v1/payment_intents/${paid.expected.paymentIntentId}/capture`, '');
    assert.deepEqual([res.status, res.json.error.type, res.json.error.code], [400, 'invalid_request_error', 'payment_intent_unexpected_state']);
    const fresh = (await api.post('/v1/payment_intents', 'amount=1000&currency=eur&capture_method=manual')).json;
    const early = await api.post(`/v1/payment_intents/${fresh.id}/capture`, '');
    assert.match(early.json.error.message, /because it has a status of requires_payment_method\./);
    const unknown = await api.post('/v1/payment_intents/pi_unknown/capture', '');
    assert.deepEqual([unknown.status, unknown.json.error.code, unknown.json.error.param, unknown.json.error.message], [404, 'resource_missing', 'intent', "No such payment_intent: 'pi_unknown'"]);
  });

  test('a PaymentIntent created with capture_method=manual is requires_capture once confirmed (stripe.confirm or confirm=true), then capturable', async () => {
    const created = (await api.post('/v1/payment_intents', 'amount=2500&currency=usd&capture_method=manual&metadata[order_id]=M-1')).json;
    assert.deepEqual([created.status, created.capture_method, created.latest_charge], ['requires_payment_method', 'manual', null]);
    const confirmed = stripe.confirm(created.id);
    assert.deepEqual([confirmed.status, confirmed.amount_capturable, confirmed.amount_received], ['requires_capture', 2500, 0]);
    const charge = (await api.get(`/v1/charges/${confirmed.latest_charge}`)).json;
    assert.deepEqual([charge.captured, charge.amount_captured, charge.paid, charge.status, charge.payment_intent, charge.metadata], [false, 0, true, 'succeeded', created.id, { order_id: 'M-1' }]);
    assert.equal((await api.post(`/v1/payment_intents/${created.id}/capture`, '')).json.status, 'succeeded');
    const direct = (await api.post('/v1/payment_intents', 'amount=700&currency=usd&capture_method=manual&confirm=true&payment_method=pm_card_visa')).json;
    assert.deepEqual([direct.status, direct.amount_capturable], ['requires_capture', 700]);
    const automatic = (await api.post('/v1/payment_intents', 'amount=700&currency=usd&confirm=true&payment_method=pm_card_visa')).json;
    assert.deepEqual([automatic.status, automatic.amount_received, stripe.get(automatic.latest_charge).captured], ['succeeded', 700, true]);
    const noMethod = await api.post('/v1/payment_intents', 'amount=700&currency=usd&confirm=true');
    assert.deepEqual([noMethod.status, noMethod.json.error.code], [400, 'payment_intent_unexpected_state']);
  });

  test('cancel: allowed before capture (the authorization is released), with a cancellation_reason from the enum', async () => {
    const auth = authorizedPayment({ currency: 'eur', amount: 5040, orderId: 'C-1' });
    stripe.seed(auth);
    const bad = await api.post(`/v1/payment_intents/${auth.expected.paymentIntentId}/cancel`, 'cancellation_reason=bored');
    assert.deepEqual([bad.status, bad.json.error.code, bad.json.error.param], [400, 'parameter_invalid', 'cancellation_reason']);
    const res = await api.post(`/v1/payment_intents/${auth.expected.paymentIntentId}/cancel`, 'cancellation_reason=requested_by_customer');
    assert.equal(res.status, 200, JSON.stringify(res.json));
    assert.deepEqual([res.json.status, res.json.cancellation_reason, res.json.amount_capturable], ['canceled', 'requested_by_customer', 0]);
    assert.ok(res.json.canceled_at > 0);
    const charge = stripe.get(auth.expected.chargeId);
    assert.deepEqual([charge.captured, charge.amount_refunded, charge.refunded], [false, 5040, true]);
    const fresh = (await api.post('/v1/payment_intents', 'amount=1000&currency=eur')).json;
    const abandoned = await api.post(`/v1/payment_intents/${fresh.id}/cancel`, 'cancellation_reason=abandoned');
    assert.deepEqual([abandoned.json.status, abandoned.json.cancellation_reason], ['canceled', 'abandoned']);
    const capture = await api.post(`/v1/payment_intents/${auth.expected.paymentIntentId}/capture`, '');
    assert.match(capture.json.error.message, /has a status of canceled/);
  });

  test("cancel refused once money moved or already canceled: 400 payment_intent_unexpected_state in Stripe's words", async () => {
    const paid = paidPayment({ orderId: 'C-2' });
    stripe.seed(paid);
    const res = await api.post(`/v1/payment_intents/${paid.expected.paymentIntentId}/cancel`, 'cancellation_reason=duplicate');
    assert.equal(res.status, 400);
    assert.deepEqual([res.json.error.type, res.json.error.code, res.json.error.doc_url], ['invalid_request_error', 'payment_intent_unexpected_state', 'https://stripe.com/docs/error-codes/payment-intent-unexpected-state']);
    assert.equal(res.json.error.message, 'You cannot cancel this PaymentIntent because it has a status of succeeded. Only a PaymentIntent with one of the following statuses may be canceled: requires_payment_method, requires_capture, requires_confirmation, requires_action, processing.');
    assert.equal(res.json.error.payment_intent.status, 'succeeded');
    const fresh = (await api.post('/v1/payment_intents', 'amount=1000&currency=eur')).json;
    await api.post(`/v1/payment_intents/${fresh.id}/cancel`, '');
    const again = await api.post(`/v1/payment_intents/${fresh.id}/cancel`, '');
    assert.match(again.json.error.message, /^You cannot cancel this PaymentIntent because it has a status of canceled\./);
  });

  test('update: description and metadata (merged; an empty value removes a key) in any status; the amount only before confirmation', async () => {
    const paid = paidPayment({ currency: 'eur', amount: 5040, orderId: '1001', metadata: { order_id: '1001', channel: 'web' } });
    stripe.seed(paid);
    const path = `/v1/payment_intents/${paid.expected.paymentIntentId}`;
    const body = form({ description: 'Order 1001 (shipped)', 'metadata[order_status]': 'shipped', 'metadata[order_number]': '2024-1001', 'metadata[channel]': '' });
    const res = await api.post(path, body, 'sb-update-1');
    assert.equal(res.status, 200, JSON.stringify(res.json));
    assert.deepEqual([res.json.description, res.json.metadata, res.json.status], ['Order 1001 (shipped)', { order_id: '1001', order_status: 'shipped', order_number: '2024-1001' }, 'succeeded']);
    assert.deepEqual((await api.get(path)).json.metadata, res.json.metadata);
    const replay = await api.post(path, body, 'sb-update-1');
    assert.equal(replay.headers.get('idempotent-replayed'), 'true');
    const amount = await api.post(path, 'amount=6000');
    assert.deepEqual([amount.status, amount.json.error.code], [400, 'payment_intent_unexpected_state']);
    assert.match(amount.json.error.message, /^This PaymentIntent's amount could not be updated because it has a status of succeeded\./);
    const fresh = (await api.post('/v1/payment_intents', 'amount=1000&currency=eur')).json;
    const changed = await api.post(`/v1/payment_intents/${fresh.id}`, 'amount=1200&metadata=');
    assert.deepEqual([changed.json.amount, changed.json.metadata], [1200, {}]);
    const missing = await api.post('/v1/payment_intents/pi_nope', 'description=x');
    assert.deepEqual([missing.status, missing.json.error.code], [404, 'resource_missing']);
    assert.equal(stripe.objects.length, 1, 'updates create nothing');
  });
});

describe('customers and their search', () => {
  let stripe;
  let api;
  beforeEach(async () => {
    await stripe?.close();
    stripe = await startFakeStripe({ apiKey: KEY });
    api = client(stripe);
  });
  after(() => stripe.close());

  const search = (query, extra = '') => api.get(`/v1/customers/search?query=${encodeURIComponent(query)}${extra}`);

  test('create, retrieve, and find by metadata: a search_result, newest first', async () => {
    const body = 'email=jenny%40example.com&name=Jenny+Rosen&phone=%2B4930123456&description=Shop+customer+C-77&address[line1]=Unter+den+Linden+1&address[city]=Berlin&address[postal_code]=10117&address[country]=DE&metadata[customer_id]=C-77';
    const created = await api.post('/v1/customers', body, 'sb-customer-1');
    assert.equal(created.status, 200, JSON.stringify(created.json));
    const c = created.json;
    assert.match(c.id, /^cus_/);
    assert.deepEqual([c.object, c.email, c.name, c.phone, c.description, c.metadata, c.livemode, c.discount, c.shipping], ['customer', 'jenny@example.com', 'Jenny Rosen', '+4930123456', 'Shop customer C-77', { customer_id: 'C-77' }, false, null, null]);
    assert.deepEqual(c.address, { city: 'Berlin', country: 'DE', line1: 'Unter den Linden 1', line2: null, postal_code: '10117', state: null });
    assert.deepEqual((await api.get(`/v1/customers/${c.id}`)).json, c);
    assert.equal((await api.post('/v1/customers', body, 'sb-customer-1')).json.id, c.id, 'a retry with the key creates no second customer');
    await api.post('/v1/customers', 'email=other%40example.com&metadata[customer_id]=C-78');
    const found = await search("metadata['customer_id']:'C-77'");
    assert.equal(found.status, 200);
    assert.deepEqual(Object.keys(found.json).sort(), ['data', 'has_more', 'next_page', 'object', 'url']);
    assert.deepEqual([found.json.object, found.json.url, found.json.has_more, found.json.next_page], ['search_result', '/v1/customers/search', false, null]);
    assert.deepEqual(found.json.data.map((x) => x.id), [c.id]);
    assert.deepEqual((await search('metadata["customer_id"]:"C-77" AND email:\'JENNY@example.com\'')).json.data.map((x) => x.id), [c.id]);
    assert.deepEqual((await search("metadata['customer_id']:'C-7'")).json.data, [], 'metadata is an exact match');
    assert.equal((await search("-metadata['customer_id']:'C-77'")).json.data.length, 1);
    assert.equal((await api.get('/v1/customers?email=jenny%40example.com')).json.data.length, 1);
  });

  test("Stripe's quoting: a backslash escapes a quote or a backslash inside a quoted value", async () => {
    const id1 = (await api.post('/v1/customers', form({ 'metadata[customer_id]': "O'Brien \\ \"7\"" }))).json.id;
    assert.deepEqual((await search("metadata['customer_id']:'O\\'Brien \\\\ \"7\"'")).json.data.map((x) => x.id), [id1]);
    assert.deepEqual((await search('metadata[\'customer_id\']:"O\'Brien \\\\ \\"7\\""')).json.data.map((x) => x.id), [id1]);
    const clauses = parseSearchQuery("metadata['k']:'a\\'b'");
    assert.equal(clauses.length, 1);
    assert.ok(clauses[0]({ metadata: { k: "a'b" } }));
    for (const [query, why] of [["metadata['k']:'open", /unterminated string/], ["metadata['k']:'a' OR email:'b'", /OR is not supported/], ['email>5', /expected : /], ['', /empty query/], ["balance:'1'", /unsupported field balance/]]) {
      const res = await search(query);
      assert.deepEqual([res.status, res.json.error.code, res.json.error.param], [400, 'parameter_invalid', 'query'], query);
      assert.match(res.json.error.message, why, query);
    }
    const noQuery = await api.get('/v1/customers/search');
    assert.deepEqual([noQuery.status, noQuery.json.error.code, noQuery.json.error.message], [400, 'parameter_missing', 'Missing required param: query.']);
  });

  test('update: fields, address, metadata merged; the search finds the customer by the new values', async () => {
    const c = (await api.post('/v1/customers', 'email=jenny%40example.com&metadata[customer_id]=C-77&metadata[tier]=gold')).json;
    const res = await api.post(`/v1/customers/${c.id}`, 'name=Jenny+Rosen-Smith&address[city]=Hamburg&metadata[tier]=&metadata[segment]=b2c');
    assert.equal(res.status, 200, JSON.stringify(res.json));
    assert.deepEqual([res.json.id, res.json.email, res.json.name, res.json.address.city, res.json.metadata], [c.id, 'jenny@example.com', 'Jenny Rosen-Smith', 'Hamburg', { customer_id: 'C-77', segment: 'b2c' }]);
    assert.deepEqual((await api.get(`/v1/customers/${c.id}`)).json, res.json);
    assert.deepEqual((await search("metadata['segment']:'b2c'")).json.data.map((x) => x.name), ['Jenny Rosen-Smith']);
    assert.equal((await search("metadata['tier']:'gold'")).json.data.length, 0);
    const bad = await api.post(`/v1/customers/${c.id}`, 'email=not-an-email');
    assert.deepEqual([bad.status, bad.json.error.code], [400, 'email_invalid']);
    const unknown = await api.post('/v1/customers/cus_nobody', 'name=x');
    assert.deepEqual([unknown.status, unknown.json.error.code, unknown.json.error.message], [404, 'resource_missing', "No such customer: 'cus_nobody'"]);
    assert.equal(stripe.objects.length, 1, 'an update creates nothing');
    const session = await api.post('/v1/checkout/sessions', `mode=payment&success_url=https%3A%2F%2Fshop.example.com%2Fok&customer=${c.id}&line_items[0][price_data][currency]=eur&line_items[0][price_data][product_data][name]=Tea&line_items[0][price_data][unit_amount]=500&line_items[0][quantity]=1`);
    assert.deepEqual([session.status, session.json.customer], [200, c.id], 'a customer of the store may pay');
  });

  test('search pages with limit and next_page', async () => {
    for (let i = 0; i < 3; i++) await api.post('/v1/customers', `email=c${i}%40example.com&metadata[list]=x`);
    const first = await search("metadata['list']:'x'", '&limit=2');
    assert.deepEqual([first.json.data.length, first.json.has_more], [2, true]);
    assert.match(first.json.next_page, /^page_/);
    const second = await search("metadata['list']:'x'", `&limit=2&page=${first.json.next_page}`);
    assert.deepEqual([second.json.data.length, second.json.has_more, second.json.next_page], [1, false, null]);
    assert.equal(new Set([...first.json.data, ...second.json.data].map((x) => x.id)).size, 3);
    assert.equal((await search("metadata['list']:'x'", '&page=nonsense')).json.error.param, 'page');
  });

  test('searchDelayMs: the search is eventually consistent (writes show after the delay); retrieve is immediate', async () => {
    const slow = await startFakeStripe({ apiKey: KEY, searchDelayMs: 200 });
    try {
      const api2 = client(slow);
      const seeded = { id: 'cus_seeded0001', object: 'customer', created: 1700000000, email: 'old@example.com', metadata: { customer_id: 'C-1' } };
      slow.seed([seeded]);
      const find = (q) => api2.get(`/v1/customers/search?query=${encodeURIComponent(q)}`).then((r) => r.json.data);
      assert.equal((await find("metadata['customer_id']:'C-1'")).length, 1, 'seeded customers are searchable at once');
      const c = (await api2.post('/v1/customers', 'metadata[customer_id]=C-2&name=Before')).json;
      assert.equal((await api2.get(`/v1/customers/${c.id}`)).json.id, c.id);
      assert.deepEqual(await find("metadata['customer_id']:'C-2'"), [], 'not yet searchable');
      await new Promise((r) => setTimeout(r, 250));
      assert.deepEqual((await find("metadata['customer_id']:'C-2'")).map((x) => x.name), ['Before']);
      await api2.post(`/v1/customers/${c.id}`, 'name=After');
      assert.deepEqual((await find("metadata['customer_id']:'C-2'")).map((x) => x.name), ['Before'], 'the index still shows the old version');
      await new Promise((r) => setTimeout(r, 250));
      assert.deepEqual((await find("metadata['customer_id']:'C-2'")).map((x) => x.name), ['After']);
    } finally {
      await slow.close();
    }
  });
});

describe('stripe-scenarios: single payments', () => {
  test('authorizedPayment and paidPayment: deterministic, consistent objects and figures', () => {
    const a = authorizedPayment({ currency: 'EUR', amount: '50.40', orderId: '1001' });
    assert.deepEqual(a, authorizedPayment({ currency: 'eur', amount: 5040, orderId: '1001' }));
    const [pi, charge] = a.objects;
    assert.deepEqual([pi.object, pi.status, pi.capture_method, pi.amount, pi.amount_capturable, pi.amount_received, pi.latest_charge, pi.metadata], ['payment_intent', 'requires_capture', 'manual', 5040, 5040, 0, charge.id, { order_id: '1001' }]);
    assert.deepEqual([charge.object, charge.captured, charge.amount_captured, charge.amount_refunded, charge.balance_transaction, charge.payment_intent], ['charge', false, 0, 0, null, pi.id]);
    assert.deepEqual(a.expected, { paymentIntentId: pi.id, chargeId: charge.id, amount: 5040, currency: 'eur', orderId: '1001', status: 'requires_capture' });
    const p = paidPayment({ currency: 'kwd', amount: '12.340', orderId: 'K-1', amountCaptured: 10000, refunded: '2.000', disputed: true });
    const byType = {};
    for (const o of p.objects) (byType[o.object] ??= []).push(o);
    assert.deepEqual(Object.keys(byType).sort(), ['balance_transaction', 'charge', 'dispute', 'payment_intent', 'refund']);
    assert.deepEqual(p.expected, {
      paymentIntentId: byType.payment_intent[0].id, chargeId: byType.charge[0].id, amount: 12340, amountCaptured: 10000, amountRefunded: 2000,
      refundable: 8000, currency: 'kwd', orderId: 'K-1', status: 'succeeded', refundId: byType.refund[0].id, disputeId: byType.dispute[0].id,
    });
    const ch = byType.charge[0];
    assert.deepEqual([ch.captured, ch.amount_captured, ch.amount_refunded, ch.refunded, ch.disputed], [true, 10000, 2340 + 2000, false, true]);
    assert.notEqual(paidPayment({ orderId: 'X' }).expected.paymentIntentId, paidPayment({ orderId: 'Y' }).expected.paymentIntentId);
    assert.throws(() => paidPayment({ currency: 'jpy', amount: '5.5' }), RangeError);
    assert.throws(() => paidPayment({ amount: 100, amountCaptured: 200 }), RangeError);
  });
});
