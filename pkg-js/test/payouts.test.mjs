// Payout reconciliation in the npm package (stripe-bridge/payments): from balance transactions,
// from Stripe's API (the stand-in on 127.0.0.1, every page, orders of older payments, retries),
// from the itemized report, the balance summary, and the targets. The expectations are the
// scenario's own figures (examples/stripe-scenarios.mjs), computed when it was generated.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import * as payments from '../dist/finance-node.mjs';
import { startFakeStripe } from '../../examples/fake-stripe-api.mjs';
import { payoutScenario } from '../../examples/stripe-scenarios.mjs';

const apiKey = 'sk_test_51NpmPayoutsKeyForTheLoopbackStandIn';

function figures(r) {
  const categories = Object.fromEntries(Object.entries(r.totals).map(([k, t]) => [k, { count: t.count, gross: t.gross_minor, fee: t.fee_minor, net: t.net_minor }]));
  const orders = Object.fromEntries(
    Object.entries(r.orders).map(([k, o]) => [k, { gross: o.gross_minor, fees: o.fee_minor, refunds: o.refunds_minor, disputes: o.disputes_minor, net: o.net_minor }]),
  );
  return { categories, orders };
}

/** What `GET /v1/balance_transactions?payout=` lists, with sources expanded, from the scenario. */
function listed(scenario) {
  const byId = new Map(scenario.objects.map((o) => [o.id, o]));
  const ids = scenario.payouts[scenario.expected.payoutId];
  return ids.map((id) => {
    const t = structuredClone(byId.get(id));
    if (typeof t.source === 'string' && byId.has(t.source)) t.source = structuredClone(byId.get(t.source));
    return t;
  });
}

describe('payout reconciliation (npm)', () => {
  let stripe;
  before(async () => {
    stripe = await startFakeStripe({ apiKey });
  });
  after(() => stripe?.close());

  for (const currency of ['usd', 'jpy', 'kwd']) {
    test(`reconcilePayout: ${currency} payouts balance to the minor unit, a dropped line is found`, () => {
      for (const seed of [1, 2, 3]) {
        const scenario = payoutScenario({ seed: `npm-${currency}-${seed}`, transactions: 150, currency });
        const payout = scenario.objects.find((o) => o.id === scenario.expected.payoutId);
        const txns = listed(scenario);
        const r = payments.reconcilePayout(payout, txns);
        assert.equal(r.balanced, true, r.likely_cause);
        assert.equal(r.lines.length, scenario.expected.lineCount);
        assert.deepEqual(figures(r), { categories: scenario.expected.categories, orders: scenario.expected.orders });
        const dropped = txns.filter((t) => t.type === 'charge').at(-1);
        const short = payments.reconcilePayout(payout, txns.filter((t) => t !== dropped));
        assert.equal(short.balanced, false);
        assert.equal(short.difference_minor, dropped.net);
        assert.match(short.likely_cause, /missing/);
      }
    });
  }

  test('fetchPayoutReconciliation reads every page, finds older payments\' orders, retries a 503', async () => {
    stripe.reset();
    const scenario = payoutScenario({ seed: 'npm-api', transactions: 430, refundMetadata: false });
    stripe.seed(scenario);
    stripe.fail({ status: 503 });
    const retries = [];
    const r = await payments.fetchPayoutReconciliation(scenario.expected.payoutId, { apiKey, apiBase: stripe.url, onRetry: (x) => retries.push(x) });
    assert.equal(retries.length, 1);
    assert.equal(r.balanced, true, r.likely_cause);
    assert.deepEqual(figures(r), { categories: scenario.expected.categories, orders: scenario.expected.orders });
    const pages = stripe.requests.filter((q) => q.path.startsWith('/v1/balance_transactions?') && q.status === 200);
    assert.equal(pages.length, Math.ceil(scenario.expected.listCount / 100));
    assert.ok(stripe.requests.some((q) => q.path.startsWith('/v1/charges/')), 'refunds of earlier payments: their charges were read');
    assert.ok(stripe.requests.every((q) => q.headers.authorization === `Bearer ${apiKey}`));
  });

  test('a report file gives the same payout; the balance summary adds up', async () => {
    stripe.reset();
    const scenario = payoutScenario({ seed: 'npm-report', transactions: 90, currency: 'kwd' });
    stripe.seed(scenario);
    const payout = scenario.objects.find((o) => o.id === scenario.expected.payoutId);
    const headers = { authorization: `Bearer ${apiKey}`, 'content-type': 'application/x-www-form-urlencoded' };
    const columns = ['balance_transaction_id', 'created_utc', 'currency', 'gross', 'fee', 'net', 'reporting_category', 'source_id', 'automatic_payout_id', 'charge_id', 'payment_metadata[order_id]'];
    const form = new URLSearchParams([['report_type', 'payout_reconciliation.itemized.5'], ['parameters[payout]', payout.id], ...columns.map((c) => ['parameters[columns][]', c])]);
    const run = await fetch(`${stripe.url}/v1/reporting/report_runs`, { method: 'POST', headers, body: form.toString() }).then((r) => r.json());
    let done;
    do done = await fetch(`${stripe.url}/v1/reporting/report_runs/${run.id}`, { headers }).then((r) => r.json());
    while (done.status !== 'succeeded');
    const csv = await fetch(`${stripe.url}/v1/files/${done.result.id}/contents`, { headers }).then((r) => r.text());
    const [r] = payments.reconcilePayoutReport(csv, payout);
    assert.equal(r.balanced, true);
    assert.equal(r.currency, 'KWD');
    assert.deepEqual(figures(r), { categories: scenario.expected.categories, orders: scenario.expected.orders });
    assert.match(payments.payoutReconciliationCsv(r), /^balance_transaction_id,/);
    assert.throws(() => payments.reconcilePayoutReport('gross,net\n1,2\n'), (e) => e.kind === 'reconcile' && e.code === 'missing_column');

    const summaries = payments.balanceSummary(scenario.objects.filter((o) => o.object === 'balance_transaction'), payout.created - 10 * 86400, payout.created + 1);
    for (const s of summaries) {
      assert.equal(s.ending_balance_minor, s.starting_balance_minor + s.activity_minor + s.payouts_minor);
      assert.equal(s.balanced, true);
    }
  });

  test('bad arguments are typed errors', () => {
    assert.throws(() => payments.reconcilePayout(null, []), (e) => e.code === 'invalid_argument');
    assert.throws(() => payments.reconcilePayout({ id: 'po_1', amount: 1, currency: 'usd' }, {}), (e) => e.code === 'invalid_argument');
    return assert.rejects(payments.fetchPayoutReconciliation('../x', { apiKey, apiBase: stripe.url }), (e) => e.code === 'invalid_id');
  });
});
