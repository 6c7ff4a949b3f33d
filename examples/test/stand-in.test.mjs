// The Stripe API stand-in (examples/fake-stripe-api.mjs) serving payout reconciliation: lists and
// cursors over seeded scenarios (examples/stripe-scenarios.mjs), expand[], filters, validation
// against Stripe's OpenAPI description, Stripe's error wording, report runs and their CSVs,
// faults on GET. Run: node --test examples/test/
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { currencyExponent, formatMinor, MANUAL_PAYOUT_MESSAGE, startFakeStripe } from '../fake-stripe-api.mjs';
import { convertMinor, manualPayoutScenario, payoutScenario, prng } from '../stripe-scenarios.mjs';

const KEY = 'sk_test_51StandInKeyForExamplesTests';
const VERSION = '2023-08-16';

function client(stripe, { key = KEY, version = VERSION } = {}) {
  const headers = { authorization: `Bearer ${key}`, 'stripe-version': version };
  const get = async (path, init = {}) => {
    const res = await fetch(stripe.url + path, { headers, ...init });
    const text = await res.text();
    return { status: res.status, headers: res.headers, text, json: res.headers.get('content-type') === 'application/json' ? JSON.parse(text) : null };
  };
  const post = (path, body) => get(path, { method: 'POST', headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' }, body });
  return { get, post };
}

/** Every page of a list, following `starting_after` (or `ending_before` backwards from `from`). */
async function pages(api, path, { limit = 100, backwardsFrom } = {}) {
  const out = [];
  let cursor = backwardsFrom;
  for (;;) {
    const dir = backwardsFrom ? 'ending_before' : 'starting_after';
    const page = (await api.get(`${path}&limit=${limit}${cursor ? `&${dir}=${cursor}` : ''}`)).json;
    out.push(page);
    if (!page.has_more) return out;
    cursor = backwardsFrom ? page.data[0].id : page.data.at(-1).id;
  }
}

function parseCsv(text) {
  const rows = [];
  for (const line of text.trimEnd().split('\n')) {
    const cells = [];
    for (const m of line.matchAll(/("(?:[^"]|"")*"|[^,]*)(,|$)/g)) {
      cells.push(m[1].startsWith('"') ? m[1].slice(1, -1).replace(/""/g, '"') : m[1]);
      if (m[2] === '') break;
    }
    rows.push(cells);
  }
  const [header, ...body] = rows;
  return body.map((cells) => Object.fromEntries(header.map((h, i) => [h, cells[i]])));
}

/** A report decimal back to minor units, checking it has exactly the currency's decimals. */
function toMinor(text, currency) {
  const e = currencyExponent(currency);
  assert.match(text, e ? new RegExp(`^-?\\d+\\.\\d{${e}}$`) : /^-?\d+$/, `${text} in ${currency}`);
  return Number(text.replace('.', ''));
}

const byNewest = (a, b) => b.created - a.created || (a.id < b.id ? 1 : -1);

describe('Stripe stand-in: payouts and balance transactions', () => {
  let stripe;
  let api;
  const big = payoutScenario({ seed: 42, transactions: 999 });
  const manual = manualPayoutScenario({ seed: 3 });
  before(async () => {
    stripe = await startFakeStripe({ apiKey: KEY, apiVersion: VERSION });
    api = client(stripe);
    stripe.seed(big);
    stripe.seed(manual);
  });
  after(() => stripe.close());

  test('paging 1,000 transactions of a payout, 100 a page: 10 pages, no duplicates, no gaps', async () => {
    const { payoutId, listCount, payoutAmount, ownTransactionId } = big.expected;
    assert.equal(listCount, 1000);
    const forward = await pages(api, `/v1/balance_transactions?payout=${payoutId}`);
    assert.equal(forward.length, 10);
    assert.deepEqual(forward.map((p) => [p.object, p.url, p.data.length]), Array(10).fill(['list', '/v1/balance_transactions', 100]));
    assert.deepEqual(forward.map((p) => p.has_more), [...Array(9).fill(true), false]);
    const rows = forward.flatMap((p) => p.data);
    assert.equal(new Set(rows.map((t) => t.id)).size, 1000);
    assert.deepEqual(new Set(rows.map((t) => t.id)), new Set(big.payouts[payoutId]));
    assert.deepEqual(rows, [...rows].sort(byNewest), 'newest first across pages');
    assert.ok(rows.some((t, i) => i > 0 && t.created === rows[i - 1].created), 'equal times occur (tiebreak by id)');
    const own = rows.find((t) => t.id === ownTransactionId);
    assert.deepEqual([own.type, own.reporting_category, own.amount, own.source], ['payout', 'payout', -payoutAmount, payoutId]);
    assert.equal(rows.reduce((s, t) => s + t.net, 0), 0, 'the lines net exactly the payout');
    const backward = await pages(api, `/v1/balance_transactions?payout=${payoutId}`, { backwardsFrom: rows.at(-1).id });
    assert.deepEqual(backward.reverse().flatMap((p) => p.data).map((t) => t.id), rows.slice(0, -1).map((t) => t.id));
    const ten = (await api.get(`/v1/balance_transactions?payout=${payoutId}`)).json;
    assert.deepEqual([ten.data.length, ten.has_more], [10, true], 'limit defaults to 10');
  });

  test('expand[]: data.source, nested paths, retrieve; unexpandable fields refused', async () => {
    const { payoutId, foreign } = big.expected;
    const page = (await api.get(`/v1/balance_transactions?payout=${payoutId}&limit=100&expand[]=data.source&expand[]=data.source.payment_intent`)).json;
    const charges = page.data.filter((t) => t.type === 'charge');
    assert.ok(charges.length > 50);
    for (const t of charges) {
      assert.equal(t.source.object, 'charge');
      assert.equal(t.source.balance_transaction, t.id);
      assert.match(t.source.metadata.order_id, /^ORD-\d+$/);
      assert.equal(t.source.payment_intent.object, 'payment_intent');
      assert.equal(t.source.payment_intent.latest_charge, t.source.id);
    }
    const fx = (await api.get(`/v1/balance_transactions/${foreign.transactionId}?expand[]=source`)).json;
    assert.deepEqual([fx.source.id, fx.source.currency, fx.source.amount, fx.currency, fx.amount], [foreign.chargeId, 'eur', foreign.amount, 'usd', foreign.settled]);
    assert.equal(fx.exchange_rate, Number(foreign.exchangeRate));
    assert.match(JSON.stringify(fx), /"exchange_rate":1\.0847[,}]/, 'a decimal JSON number');
    const plain = (await api.get(`/v1/balance_transactions/${foreign.transactionId}`)).json;
    assert.equal(plain.source, foreign.chargeId);
    const dispute = big.objects.find((o) => o.object === 'dispute');
    const dp = (await api.get(`/v1/disputes/${dispute.id}?expand[]=charge`)).json;
    assert.deepEqual([dp.charge.id, dp.charge.disputed, dp.balance_transactions[0].reporting_category], [dispute.charge, true, 'dispute']);
    const bad = await api.get('/v1/balance_transactions?expand[]=data.fee');
    assert.equal(bad.status, 400);
    assert.equal(bad.json.error.message, 'This property cannot be expanded (fee).');
    const deep = await api.get('/v1/balance_transactions?expand[]=data.source.payment_intent.customer.x');
    assert.equal(deep.status, 400);
    assert.match(deep.json.error.message, /more than 4 levels/);
    const nowhere = await api.get('/v1/balance_transactions?expand[]=data.source.nothing');
    assert.deepEqual([nowhere.status, nowhere.json.error.message], [400, 'This property cannot be expanded (nothing).']);
    const own = await api.get(`/v1/payouts/${payoutId}?expand[]=customer`);
    assert.deepEqual([own.status, own.json.error.message], [400, 'This property cannot be expanded (customer).'], 'strict on the object asked for');
  });

  test('filters: payout, type, currency, source, created (range and exact)', async () => {
    const { payoutId, categories, foreign, payoutFailureTransactionId, failedPayoutId } = big.expected;
    const count = async (q) => (await pages(api, `/v1/balance_transactions?${q}`)).flatMap((p) => p.data);
    assert.equal((await count(`payout=${payoutId}&type=refund`)).length, categories.refund.count);
    assert.equal((await count(`payout=${payoutId}&type=adjustment`)).length, categories.dispute.count + categories.dispute_reversal.count);
    assert.deepEqual((await count(`payout=${payoutId}&type=payout_failure`)).map((t) => [t.id, t.reporting_category, t.source]), [
      [payoutFailureTransactionId, 'payout_reversal', failedPayoutId],
    ]);
    assert.equal((await count(`payout=${payoutId}&currency=EUR`)).length, 0, 'settled in usd');
    assert.deepEqual((await count(`source=${foreign.chargeId}`)).map((t) => t.id), [foreign.transactionId]);
    const all = await count('currency=usd');
    assert.ok(all.length > 1000, 'unfiltered: earlier payouts too');
    const sorted = [...all].sort(byNewest);
    const [from, to] = [sorted[600].created, sorted[200].created];
    const window = await count(`created[gte]=${from}&created[lt]=${to}`);
    assert.deepEqual(window.map((t) => t.id), sorted.filter((t) => t.created >= from && t.created < to).map((t) => t.id));
    const exact = await count(`created=${from}`);
    assert.ok(exact.length >= 1 && exact.every((t) => t.created === from));
    const failed = await count(`payout=${failedPayoutId}`);
    assert.equal(failed.length, 3, 'the failed payout: two charges and its own row');
  });

  test('GET /v1/payouts: retrieve and list with filters', async () => {
    const po = (await api.get(`/v1/payouts/${big.expected.payoutId}`)).json;
    assert.deepEqual([po.object, po.amount, po.automatic, po.balance_transaction, po.status], ['payout', big.expected.payoutAmount, true, big.expected.ownTransactionId, 'paid']);
    const failed = (await api.get('/v1/payouts?status=failed')).json;
    assert.deepEqual(failed.data.map((p) => p.id), [big.expected.failedPayoutId]);
    assert.equal(failed.url, '/v1/payouts');
    const all = (await api.get('/v1/payouts?limit=100')).json.data;
    assert.equal(all.length, 4);
    assert.deepEqual(all, [...all].sort(byNewest));
  });

  test('query validation from spec3.json: unknown parameters, types, limit range, cursors', async () => {
    const cases = [
      ['/v1/balance_transactions?payoutt=po_1', 'parameter_unknown', 'payoutt', 'Received unknown parameter: payoutt'],
      ['/v1/balance_transactions?limit=0', 'parameter_invalid_integer', 'limit', 'This value must be greater than or equal to 1.'],
      ['/v1/balance_transactions?limit=101', 'parameter_invalid_integer', 'limit', 'This value must be less than or equal to 100.'],
      ['/v1/balance_transactions?limit=ten', 'parameter_invalid_integer', 'limit', 'Invalid integer: ten'],
      ['/v1/balance_transactions?created[after]=1', 'parameter_unknown', 'created[after]', 'Received unknown parameter: created[after]'],
      ['/v1/balance_transactions?created[gt]=yesterday', 'parameter_invalid_integer', 'created[gt]', 'Invalid integer: yesterday'],
      ['/v1/balance_transactions?expand=data.source', 'parameter_invalid', 'expand', 'Invalid array: expand'],
      [`/v1/balance_transactions?type=${'x'.repeat(5001)}`, 'string_length_exceeds_maximum', 'type', 'Invalid string: xxxxxxxxxxxxxxxxxxxx...; must be at most 5000 characters'],
      ['/v1/payouts/po_1?limit=3', 'parameter_unknown', 'limit', 'Received unknown parameter: limit'],
      ['/v1/payouts?arrival_date[gte]=soon', 'parameter_invalid_integer', 'arrival_date[gte]', 'Invalid integer: soon'],
      ['/v1/balance_transactions?starting_after=txn_a&ending_before=txn_b', 'parameter_invalid', 'ending_before', 'You may only specify one of these parameters: ending_before, starting_after.'],
      ['/v1/balance_transactions?starting_after=txn_nope', 'resource_missing', 'starting_after', "No such balance_transaction: 'txn_nope'"],
      ['/v1/balance_transactions?payout=po_nope', 'resource_missing', 'payout', "No such payout: 'po_nope'"],
    ];
    for (const [path, code, param, message] of cases) {
      const res = await api.get(path);
      assert.equal(res.status, 400, path);
      assert.deepEqual(res.json.error, { type: 'invalid_request_error', code, doc_url: `https://stripe.com/docs/error-codes/${code.replace(/_/g, '-')}`, message, param }, path);
    }
    const pi = big.objects.find((o) => o.object === 'payment_intent');
    assert.equal((await api.get(`/v1/payment_intents/${pi.id}?client_secret=${pi.client_secret}`)).status, 200, 'a documented query parameter');
  });

  test("404s in Stripe's words; authentication, version and method as for POST", async () => {
    const cases = [
      ['/v1/payouts/po_x', "No such payout: 'po_x'"],
      ['/v1/balance_transactions/txn_x', "No such balance_transaction: 'txn_x'"],
      ['/v1/charges/ch_x', "No such charge: 'ch_x'"],
      ['/v1/payment_intents/pi_x', "No such payment_intent: 'pi_x'"],
      ['/v1/refunds/re_x', "No such refund: 're_x'"],
      ['/v1/disputes/dp_x', "No such dispute: 'dp_x'"],
      ['/v1/files/file_x', "No such file upload: 'file_x'"],
      [`/v1/charges/${big.expected.payoutId}`, `No such charge: '${big.expected.payoutId}'`],
    ];
    for (const [path, message] of cases) {
      const res = await api.get(path);
      assert.equal(res.status, 404, path);
      assert.deepEqual([res.json.error.type, res.json.error.code, res.json.error.message, res.json.error.param], ['invalid_request_error', 'resource_missing', message, 'id']);
    }
    assert.equal((await client(stripe, { key: 'sk_test_wrong' }).get('/v1/payouts')).status, 401);
    const basic = { authorization: `Basic ${Buffer.from(`${KEY}:`).toString('base64')}`, 'stripe-version': VERSION };
    assert.equal((await api.get('/v1/payouts', { headers: basic })).status, 200, 'HTTP Basic, as `curl -u sk_test_...:`');
    assert.equal((await api.get('/v1/payouts', { headers: { authorization: KEY, 'stripe-version': VERSION } })).status, 401, 'no scheme');
    const withBody = await new Promise((resolve, reject) => {
      const req = request(`${stripe.url}/v1/payouts`, { method: 'GET', headers: { authorization: `Bearer ${KEY}`, 'stripe-version': VERSION, 'content-length': 3 } }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode));
      });
      req.on('error', reject);
      req.end('a=1');
    });
    assert.equal(withBody, 400, 'a GET has no body');
    const old = await client(stripe, { version: '2020-08-27' }).get('/v1/payouts');
    assert.deepEqual([old.status, old.json.error.message], [400, 'Invalid Stripe API version: 2020-08-27']);
    assert.equal((await api.get('/v1/payouts', { method: 'POST', headers: { authorization: `Bearer ${KEY}`, 'stripe-version': VERSION, 'content-type': 'application/x-www-form-urlencoded' } })).status, 405);
    assert.equal((await api.get('/v1/invoices')).status, 404, 'a path the stand-in does not serve');
  });

  test('a manual payout cannot be itemized: 400 for its transactions and its report', async () => {
    const res = await api.get(`/v1/balance_transactions?payout=${manual.expected.payoutId}`);
    assert.equal(res.status, manual.expected.error.status);
    assert.deepEqual([res.json.error.type, res.json.error.message, res.json.error.param], ['invalid_request_error', MANUAL_PAYOUT_MESSAGE, 'payout']);
    const po = (await api.get(`/v1/payouts/${manual.expected.payoutId}`)).json;
    assert.deepEqual([po.automatic, po.amount], [false, manual.expected.payoutAmount]);
    const run = await api.post('/v1/reporting/report_runs', `report_type=payout_reconciliation.itemized.5&parameters[payout]=${manual.expected.payoutId}`);
    assert.equal(run.status, 400);
    assert.match(run.json.error.message, /only available for automatic payouts/);
  });

  test('faults apply to GETs: an error status, a dropped connection, a hang', async () => {
    const path = `/v1/payouts/${big.expected.payoutId}`;
    stripe.fail({ status: 500 }, { status: 429, error: { type: 'invalid_request_error', code: 'rate_limit', message: 'Too many requests' } });
    assert.equal((await api.get(path)).status, 500);
    const limited = await api.get(path);
    assert.deepEqual([limited.status, limited.json.error.code], [429, 'rate_limit']);
    assert.equal((await api.get(path)).status, 200);
    stripe.fail({ drop: 'before' });
    await assert.rejects(api.get(path));
    stripe.fail({ drop: 'after' });
    await assert.rejects(api.get(path));
    stripe.fail({ hang: true });
    await assert.rejects(api.get(path, { signal: AbortSignal.timeout(200) }), { name: 'TimeoutError' });
    assert.equal((await api.get(path)).status, 200);
    assert.deepEqual(stripe.requests.slice(-7).map((r) => r.status), [500, 429, 200, 'dropped', 'dropped', 'hung', 200]);
  });

  test("Stripe's own Node client pages the payout with auto-pagination", async (t) => {
    let Stripe;
    try {
      ({ default: Stripe } = await import('stripe'));
    } catch {
      return t.skip('the stripe npm package is not installed');
    }
    const { port } = new URL(stripe.url);
    const sdk = new Stripe(KEY, { apiVersion: VERSION, host: '127.0.0.1', port: Number(port), protocol: 'http', maxNetworkRetries: 0 });
    const all = await sdk.balanceTransactions.list({ payout: big.expected.payoutId, limit: 100, expand: ['data.source'] }).autoPagingToArray({ limit: 5000 });
    assert.equal(all.length, big.expected.listCount);
    const err = await sdk.payouts.retrieve('po_missing').catch((e) => e);
    assert.deepEqual([err.type, err.statusCode, err.code, err.message], ['StripeInvalidRequestError', 404, 'resource_missing', "No such payout: 'po_missing'"]);
  });
});

describe('Stripe stand-in: report runs and their CSVs', () => {
  let stripe;
  let api;
  const usd = payoutScenario({ seed: 5, transactions: 120 });
  const jpy = payoutScenario({ seed: 5, transactions: 60, currency: 'jpy', payoutCreated: 1700524800 });
  const kwd = payoutScenario({ seed: 5, transactions: 60, currency: 'kwd', payoutCreated: 1701129600 });
  before(async () => {
    stripe = await startFakeStripe({ apiKey: KEY, apiVersion: VERSION });
    api = client(stripe);
    for (const s of [usd, jpy, kwd]) stripe.seed(s);
  });
  after(() => stripe.close());

  async function runReport(body) {
    const created = await api.post('/v1/reporting/report_runs', body);
    assert.equal(created.status, 200, created.text);
    assert.deepEqual([created.json.object, created.json.status, created.json.result], ['reporting.report_run', 'pending', null]);
    const run = (await api.get(`/v1/reporting/report_runs/${created.json.id}`)).json;
    assert.equal(run.status, 'succeeded', JSON.stringify(run.error));
    const file = (await api.get(`/v1/files/${run.result.id}`)).json;
    assert.deepEqual(file, run.result);
    const contents = await api.get(new URL(file.url).pathname);
    assert.equal(contents.headers.get('content-type'), 'text/csv');
    assert.equal(Buffer.byteLength(contents.text), file.size);
    return { run, file, rows: parseCsv(contents.text), text: contents.text };
  }

  test('lifecycle: pending, then succeeded with a finance_report_run file served by the stand-in', async () => {
    const { run, file, rows } = await runReport(`report_type=payout_reconciliation.itemized.5&parameters[payout]=${usd.expected.payoutId}`);
    assert.deepEqual(run.parameters, { payout: usd.expected.payoutId });
    assert.equal(run.report_type, 'payout_reconciliation.itemized.5');
    assert.ok(run.succeeded_at >= run.created);
    assert.deepEqual([file.object, file.purpose, file.type], ['file', 'finance_report_run', 'csv']);
    assert.equal(file.url, `${stripe.url}/v1/files/${file.id}/contents`);
    assert.equal(rows.length, usd.expected.lineCount, "one row per transaction, the payout's own row left out");
    assert.deepEqual(Object.keys(rows[0]).slice(0, 3), ['automatic_payout_id', 'automatic_payout_effective_at', 'balance_transaction_id']);
  });

  test('itemized CSV: nets add up to the payout, per currency exponent, with payment metadata', async () => {
    const columns = ['balance_transaction_id', 'reporting_category', 'gross', 'fee', 'net', 'currency', 'customer_facing_amount', 'customer_facing_currency', 'payment_metadata[order_id]'];
    const body = (s) => `report_type=payout_reconciliation.itemized.5&parameters[payout]=${s.expected.payoutId}&${columns.map((c) => `parameters[columns][]=${encodeURIComponent(c)}`).join('&')}`;
    for (const s of [usd, jpy, kwd]) {
      const { expected } = s;
      const { rows, run } = await runReport(body(s));
      assert.deepEqual(run.parameters.columns, columns);
      assert.deepEqual(Object.keys(rows[0]), columns);
      const net = rows.reduce((sum, r) => sum + toMinor(r.net, r.currency), 0);
      assert.equal(net, expected.payoutAmount, expected.currency);
      const fees = rows.reduce((sum, r) => sum + toMinor(r.fee, r.currency), 0);
      assert.equal(fees, expected.feeTotal);
      for (const [category, c] of Object.entries(expected.categories)) {
        const mine = rows.filter((r) => r.reporting_category === category);
        assert.deepEqual([mine.length, mine.reduce((sum, r) => sum + toMinor(r.gross, r.currency), 0)], [c.count, c.gross], category);
      }
      const orders = new Set(rows.map((r) => r['payment_metadata[order_id]']).filter(Boolean));
      assert.deepEqual(orders, new Set(Object.keys(expected.orders)), 'every order, refunds and disputes through their charge');
      const fx = rows.find((r) => r.balance_transaction_id === expected.foreign.transactionId);
      assert.deepEqual([fx.customer_facing_currency, toMinor(fx.customer_facing_amount, fx.customer_facing_currency)], [expected.foreign.currency, expected.foreign.amount]);
    }
    const jpyRows = (await runReport(body(jpy))).rows;
    assert.ok(jpyRows.every((r) => !r.gross.includes('.')), 'JPY has no decimals');
    const kwdRows = (await runReport(body(kwd))).rows;
    assert.ok(kwdRows.every((r) => /\.\d{3}$/.test(r.gross)), 'KWD has three');
  });

  test('itemized CSV by interval, time zone, refund metadata; quoting', async () => {
    const po = usd.objects.find((o) => o.id === usd.expected.payoutId);
    const cols = ['automatic_payout_id', 'automatic_payout_effective_at', 'automatic_payout_effective_at_utc', 'balance_transaction_id', 'refund_metadata[order_id]', 'description'];
    const q = `report_type=payout_reconciliation.itemized.5&parameters[interval_start]=${po.arrival_date}&parameters[interval_end]=${po.arrival_date + 1}&parameters[timezone]=Asia/Tokyo&${cols.map((c) => `parameters[columns][]=${c}`).join('&')}`;
    const { rows } = await runReport(q);
    assert.equal(rows.length, usd.expected.lineCount);
    assert.ok(rows.every((r) => r.automatic_payout_id === po.id));
    assert.equal(rows[0].automatic_payout_effective_at_utc, '2023-11-16 00:00:00');
    assert.equal(rows[0].automatic_payout_effective_at, '2023-11-16 09:00:00');
    const refunds = rows.filter((r) => r['refund_metadata[order_id]']);
    assert.equal(refunds.length, usd.expected.categories.refund.count);
    stripe.seed([{ id: 'txn_quoted', object: 'balance_transaction', type: 'charge', reporting_category: 'charge', amount: 100, fee: 0, net: 100, currency: 'usd', created: 1699840000, description: 'Order "7", with comma', source: null }]);
    stripe.seed({ objects: [], payouts: { [po.id]: ['txn_quoted'] } });
    const quoted = (await runReport(q)).rows.find((r) => r.balance_transaction_id === 'txn_quoted');
    assert.equal(quoted.description, 'Order "7", with comma');
    stripe.reset();
    for (const s of [usd, jpy, kwd]) stripe.seed(s);
  });

  test('balance.summary.1: starting balance, activity, payouts, ending balance per currency', async () => {
    const all = [usd, jpy, kwd].flatMap((s) => s.objects).filter((o) => o.object === 'balance_transaction' && o.currency === 'usd');
    const start = usd.expected.payoutId && usd.objects.find((o) => o.id === usd.expected.payoutId).created - 3 * 86400;
    const end = start + 4 * 86400;
    const { rows } = await runReport(`report_type=balance.summary.1&parameters[interval_start]=${start}&parameters[interval_end]=${end}&parameters[currency]=usd`);
    assert.deepEqual(rows.map((r) => [r.category, r.currency]), [['starting_balance', 'usd'], ['activity', 'usd'], ['payouts', 'usd'], ['ending_balance', 'usd']]);
    assert.deepEqual(rows.map((r) => r.description), ['Starting balance (2023-11-11)', 'Activity', 'Less payouts', 'Ending balance (2023-11-15)']);
    const sum = (test) => all.filter(test).reduce((s, t) => s + t.net, 0);
    const during = (t) => t.created >= start && t.created < end;
    const payoutish = (t) => ['payout', 'payout_reversal'].includes(t.reporting_category);
    const want = [sum((t) => t.created < start), sum((t) => during(t) && !payoutish(t)), sum((t) => during(t) && payoutish(t))];
    want.push(want[0] + want[1] + want[2]);
    assert.deepEqual(rows.map((r) => toMinor(r.net_amount, 'usd')), want);
    const every = (await runReport('report_type=balance.summary.1&parameters[interval_start]=1&parameters[interval_end]=1800000000')).rows;
    assert.deepEqual([...new Set(every.map((r) => r.currency))], ['jpy', 'kwd', 'usd']);
    assert.equal(every.find((r) => r.currency === 'kwd' && r.category === 'ending_balance').net_amount, formatMinor(kwd.objects.filter((o) => o.object === 'balance_transaction').reduce((s, t) => s + t.net, 0), 'kwd'));
  });

  test('report_runs body validated against spec3.json', async () => {
    const cases = [
      ['parameters[interval_start]=1', 'parameter_missing', 'report_type', 'Missing required param: report_type.'],
      ['report_type=balance.summary.1&parameters[foo]=1', 'parameter_unknown', 'parameters[foo]', 'Received unknown parameter: parameters[foo]'],
      ['report_type=balance.summary.1&params[interval_start]=1', 'parameter_unknown', 'params', 'Received unknown parameter: params'],
      ['report_type=balance.summary.1&parameters[interval_start]=monday', 'parameter_invalid_integer', 'parameters[interval_start]', 'Invalid integer: monday'],
      ['report_type=balance.summary.1&parameters[timezone]=Mars/Olympus', 'parameter_invalid', 'parameters[timezone]', undefined],
      ['report_type=balance.summary.1&parameters[columns]=net', 'parameter_invalid', 'parameters[columns]', 'Invalid array: parameters[columns]'],
      ['report_type=balance.summary.1&parameters=x', 'parameter_invalid', 'parameters', 'Invalid hash: parameters'],
      ['report_type=balance.summary.1&expand[0]=result&expand[2]=x', 'parameter_invalid', 'expand', 'Invalid array: expand'],
      ['report_type=balance.summary.1&parameters[interval_start]=5', 'parameter_missing', 'parameters[interval_end]', 'Missing required param: parameters[interval_end].'],
      ['report_type=balance.summary.1&parameters[interval_start]=5&parameters[interval_end]=5', 'parameter_invalid', 'parameters[interval_end]', undefined],
      ['report_type=balance.summary.1&parameters[interval_start]=1&parameters[interval_end]=2&parameters[columns][]=gross', 'parameter_invalid', 'parameters[columns][0]', undefined],
      ['report_type=payout_reconciliation.itemized.5&parameters[payout]=po_nope', 'resource_missing', 'parameters[payout]', "No such payout: 'po_nope'"],
      ['report_type=nope.1', 'parameter_invalid', 'report_type', undefined],
    ];
    for (const [body, code, param, message] of cases) {
      const res = await api.post('/v1/reporting/report_runs', body);
      assert.equal(res.status, 400, body);
      assert.deepEqual([res.json.error.code, res.json.error.param], [code, param], body);
      if (message) assert.equal(res.json.error.message, message, body);
    }
    const category = await api.post('/v1/reporting/report_runs', `report_type=payout_reconciliation.itemized.5&parameters[payout]=${usd.expected.payoutId}&parameters[reporting_category]=not_in_the_enum`);
    assert.equal(category.status, 200, 'x-stripeBypassValidation: Stripe does not enforce that enum');
  });

  test('reportDelayMs: pending until the delay has passed; idempotent creation', async () => {
    const slow = await startFakeStripe({ apiKey: KEY, reportDelayMs: 150 });
    try {
      const api2 = client(slow);
      slow.seed(usd);
      const body = `report_type=payout_reconciliation.itemized.5&parameters[payout]=${usd.expected.payoutId}`;
      const first = await api2.get('/v1/reporting/report_runs', { method: 'POST', headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/x-www-form-urlencoded', 'idempotency-key': 'run-1' }, body });
      const again = await api2.get('/v1/reporting/report_runs', { method: 'POST', headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/x-www-form-urlencoded', 'idempotency-key': 'run-1' }, body });
      assert.equal(again.headers.get('idempotent-replayed'), 'true');
      assert.equal(again.json.id, first.json.id);
      assert.equal(slow.objects.length, 1);
      assert.equal((await api2.get(`/v1/reporting/report_runs/${first.json.id}`)).json.status, 'pending');
      await new Promise((r) => setTimeout(r, 200));
      assert.equal((await api2.get(`/v1/reporting/report_runs/${first.json.id}`)).json.status, 'succeeded');
    } finally {
      await slow.close();
    }
  });

  test('seedFile serves any file; reset clears the store; created objects can be retrieved', async () => {
    const file = stripe.seedFile({ id: 'file_seeded', purpose: 'finance_report_run', type: 'csv' }, 'a,b\n1,2\n');
    assert.deepEqual([file.size, file.url], [8, `${stripe.url}/v1/files/file_seeded/contents`]);
    assert.equal((await api.get('/v1/files/file_seeded/contents')).text, 'a,b\n1,2\n');
    const created = await api.post('/v1/payment_intents', 'amount=1000&currency=usd');
    assert.equal((await api.get(`/v1/payment_intents/${created.json.id}`)).json.amount, 1000);
    stripe.reset();
    assert.equal((await api.get('/v1/files/file_seeded')).status, 404);
    assert.equal((await api.get(`/v1/payouts/${usd.expected.payoutId}`)).status, 404);
    for (const s of [usd, jpy, kwd]) stripe.seed(s);
  });
});

describe('stripe-scenarios: deterministic, self-consistent', () => {
  test('same options, same objects; another seed, others', () => {
    const a = JSON.stringify(payoutScenario({ seed: 9, transactions: 200 }));
    assert.equal(JSON.stringify(payoutScenario({ seed: 9, transactions: 200 })), a);
    assert.notEqual(JSON.stringify(payoutScenario({ seed: 10, transactions: 200 })), a);
    const r = prng('x');
    assert.deepEqual([r.int(1, 6), r.int(1, 6), r.id('po_', 8)], (() => {
      const q = prng('x');
      return [q.int(1, 6), q.int(1, 6), q.id('po_', 8)];
    })());
  });

  test('expected: payout amount = sum of nets = sum of category nets; orders and fees add up', () => {
    for (const currency of ['usd', 'jpy', 'kwd', 'eur']) {
      for (const seed of [1, 2, 3]) {
        const { objects, payouts, expected } = payoutScenario({ seed, transactions: 150, currency });
        const txns = new Map(objects.filter((o) => o.object === 'balance_transaction').map((t) => [t.id, t]));
        const lines = payouts[expected.payoutId].filter((id) => id !== expected.ownTransactionId).map((id) => txns.get(id));
        assert.equal(lines.length, 150);
        assert.equal(expected.lineCount, 150);
        assert.equal(lines.reduce((s, t) => s + t.net, 0), expected.payoutAmount);
        assert.equal(Object.values(expected.categories).reduce((s, c) => s + c.net, 0), expected.payoutAmount);
        assert.equal(Object.values(expected.categories).reduce((s, c) => s + c.fee, 0), expected.feeTotal);
        const orders = Object.values(expected.orders);
        for (const o of orders) assert.equal(o.gross + o.refunds + o.disputes - o.fees, o.net);
        for (const t of lines) assert.equal(t.fee, t.fee_details.reduce((s, f) => s + f.amount, 0), t.id);
        const kinds = new Set(lines.flatMap((t) => t.fee_details.map((f) => f.type)));
        assert.deepEqual(kinds, new Set(['stripe_fee', 'application_fee', 'tax']));
        assert.deepEqual(Object.keys(expected.categories).sort(), ['charge', 'dispute', 'dispute_reversal', 'fee', 'payout_reversal', 'refund']);
        const { amount, currency: from, exchangeRate, settled } = expected.foreign;
        assert.equal(settled, convertMinor(amount, from, currency, exchangeRate));
        const exact = (amount / 10 ** currencyExponent(from)) * Number(exchangeRate) * 10 ** currencyExponent(currency);
        assert.ok(Math.abs(settled - exact) <= 0.5 + 1e-6, `${settled} ~ ${exact}`);
        if (currency === 'kwd') assert.ok(lines.filter((t) => t.type === 'charge' && t.exchange_rate === null).every((t) => t.amount % 10 === 0));
      }
    }
  });

  test('refunds are of charges paid out earlier; the failed payout is reversed into this one', () => {
    const { objects, payouts, expected } = payoutScenario({ seed: 4, transactions: 100 });
    const get = (id) => objects.find((o) => o.id === id);
    const earlier = new Set(payouts[expected.earlierPayoutId]);
    const refunds = objects.filter((o) => o.object === 'refund');
    assert.ok(refunds.length >= 2);
    for (const r of refunds) assert.ok(earlier.has(get(r.charge).balance_transaction), 'refunded charge paid out in the earlier payout');
    const failed = get(expected.failedPayoutId);
    assert.deepEqual([failed.status, failed.automatic, failed.failure_balance_transaction], ['failed', true, expected.payoutFailureTransactionId]);
    const reversal = get(expected.payoutFailureTransactionId);
    assert.deepEqual([reversal.type, reversal.reporting_category, reversal.amount], ['payout_failure', 'payout_reversal', failed.amount]);
    assert.ok(payouts[expected.payoutId].includes(reversal.id));
    assert.equal(payouts[expected.failedPayoutId].reduce((s, id) => s + get(id).net, 0), 0, 'the failed payout balanced its own list');
  });

  test('small and odd sizes still make a positive, exact payout', () => {
    for (let seed = 0; seed < 60; seed++) {
      const { expected } = payoutScenario({ seed, transactions: 7, currency: ['usd', 'jpy', 'kwd'][seed % 3] });
      assert.ok(expected.payoutAmount > 0);
      assert.equal(expected.lineCount, 7);
    }
    assert.throws(() => payoutScenario({ transactions: 5 }), RangeError);
  });
});
