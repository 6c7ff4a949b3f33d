// Payout reconciliation in workerd: payout.reconciliation_completed starts a job that reads a
// 1,000-transaction payout from the Stripe API stand-in (examples/fake-stripe-api.mjs, seeded with
// examples/stripe-scenarios.mjs) page by page through the reconcile queue, finds the orders of
// refunds of earlier payments, keeps the result for GET /payouts/{id} and forwards it in parts.
// The expectations are the scenario's own figures, computed when it was generated.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import * as sb from '../../pkg-js/dist/node.mjs';
import { startFakeStripe } from '../../examples/fake-stripe-api.mjs';
import { manualPayoutScenario, payoutScenario } from '../../examples/stripe-scenarios.mjs';
import { ADMIN_TOKEN, STRIPE_SECRET, startDownstream, startWorker, waitFor } from './harness.mjs';

const STRIPE_SECRET_KEY = 'sk_test_51WorkerPayoutsKeyForTheLoopbackStandIn';
const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };

function event(type, object, id = `evt_${type}_${object.id}`) {
  return JSON.stringify({ id, object: 'event', type, created: 1700000000, livemode: false, api_version: '2025-09-30.clover', data: { object } });
}

function post(mf, body) {
  const sig = sb.generateTestHeader({ payload: body, secret: STRIPE_SECRET });
  return mf.dispatchFetch('http://worker/webhooks/stripe', { method: 'POST', body, headers: { 'stripe-signature': sig } });
}

// The columns asked of a report run (a run gives exactly these): Stripe's defaults and the order.
const REPORT_COLUMNS = [
  'balance_transaction_id', 'created_utc', 'available_on_utc', 'currency', 'gross', 'fee', 'net', 'reporting_category',
  'source_id', 'customer_facing_amount', 'customer_facing_currency', 'automatic_payout_id',
  'automatic_payout_effective_at_utc', 'payment_intent_id', 'charge_id', 'payment_metadata[order_id]',
];

const get = (mf, path) => mf.dispatchFetch(`http://worker${path}`, { headers: auth });
const objectOf = (scenario, id) => scenario.objects.find((o) => o.id === id);

async function finished(mf, payoutId) {
  return waitFor(
    async () => {
      const res = await get(mf, `/payouts/${payoutId}`);
      if (res.status !== 200) return null;
      const body = await res.json();
      return body.status === 'done' || body.status === 'failed' ? body : null;
    },
    { ms: 60000, what: `payout ${payoutId} reconciled` },
  );
}

/** The reconciliation's figures in the shape of the scenario's `expected`. */
function figures(r) {
  const categories = Object.fromEntries(
    Object.entries(r.totals).map(([k, t]) => [k, { count: t.count, gross: t.gross_minor, fee: t.fee_minor, net: t.net_minor }]),
  );
  const orders = Object.fromEntries(
    Object.entries(r.orders).map(([k, o]) => [k, { gross: o.gross_minor, fees: o.fee_minor, refunds: o.refunds_minor, disputes: o.disputes_minor, net: o.net_minor }]),
  );
  return { categories, orders };
}

describe('payout reconciliation', () => {
  let mf;
  let stripe;
  let downstream;
  // Refunds without order metadata: their orders are found through their charges.
  const scenario = payoutScenario({ seed: 'worker', transactions: 1000, refundMetadata: false });
  const small = payoutScenario({ seed: 'worker-report', transactions: 120, currency: 'jpy' });
  const manual = manualPayoutScenario({ seed: 'worker' });
  before(async () => {
    stripe = await startFakeStripe({ apiKey: STRIPE_SECRET_KEY, apiVersion: '2025-09-30.clover' });
    for (const s of [scenario, small, manual]) stripe.seed(s);
    downstream = await startDownstream();
    mf = await startWorker({
      downstreamUrl: downstream.url,
      vars: { STRIPE_SECRET_KEY, STRIPE_API_BASE: stripe.url, STRIPE_FILES_BASE: stripe.url, STRIPE_MAX_RETRIES: '2', TARGET_PROFILE: 'erp' },
    });
  });
  after(async () => {
    await mf?.dispose();
    await stripe?.close();
    await downstream?.close();
  });

  test('a 1,000-transaction payout is read page by page and balances to the minor unit', async () => {
    const { expected } = scenario;
    const payout = objectOf(scenario, expected.payoutId);
    const res = await post(mf, event('payout.reconciliation_completed', payout));
    assert.equal((await res.json()).result, 'accepted');
    const body = await finished(mf, expected.payoutId);
    assert.equal(body.status, 'done', JSON.stringify(body.error));
    const r = body.reconciliation;
    assert.equal(r.balanced, true, r.likely_cause);
    assert.equal(r.payout_amount_minor, expected.payoutAmount);
    assert.equal(r.lines.length, expected.lineCount);
    assert.equal(r.net_minor, expected.netTotal);
    const got = figures(r);
    assert.deepEqual(got.categories, expected.categories);
    assert.deepEqual(got.orders, expected.orders);
    // Every page once, 100 at a time, sources expanded.
    const pages = stripe.requests.filter((q) => q.method === 'GET' && q.path.startsWith('/v1/balance_transactions?'));
    assert.equal(pages.length, Math.ceil(expected.listCount / 100));
    assert.ok(pages.every((q) => q.path.includes('limit=100') && q.path.includes('expand%5B%5D=data.source')));
    assert.equal(new Set(pages.map((q) => q.path)).size, pages.length, 'no page read twice');
    // Refunds of payments paid out earlier reached their orders through their charges.
    const lookups = stripe.requests.filter((q) => q.method === 'GET' && /^\/v1\/(charges|payment_intents)\//.test(q.path));
    assert.ok(lookups.length > 0, 'older charges were read');
  });

  test('the result is forwarded in parts, then the ERP journal', async () => {
    const { expected } = scenario;
    const parts = await waitFor(() => {
      const got = downstream.delivered().map((d) => JSON.parse(d.body)).filter((b) => b.type === 'payout.reconciliation' && b.payout_id === expected.payoutId);
      return got.length > 0 && got.length === got[0].parts ? got : null;
    }, { what: 'every part' });
    assert.ok(parts.length > 1, 'a queue message holds only part of 1,000 lines');
    assert.deepEqual(parts.map((p) => p.part).sort((a, b) => a - b), parts.map((_, i) => i + 1));
    assert.equal(parts.reduce((n, p) => n + p.lines.length, 0), expected.lineCount);
    const orderRefs = parts.flatMap((p) => Object.keys(p.orders));
    assert.equal(new Set(orderRefs).size, orderRefs.length, 'every order in one part');
    assert.deepEqual(new Set(orderRefs), new Set(Object.keys(expected.orders)));
    assert.ok(parts.every((p) => p.summary.balanced && p.summary.payout_amount_minor === expected.payoutAmount));
    const mapping = await waitFor(() => {
      const got = downstream.delivered().map((d) => JSON.parse(d.body)).filter((b) => b.type === 'payout.mapping' && b.payout_id === expected.payoutId);
      return got.length > 0 && got.length === got[0].chunks ? got : null;
    }, { what: 'the mapping' }).catch((e) => {
      console.log(downstream.received.map((d) => `${d.id} ${d.status} ${d.body.slice(0, 80)}`).join('\n'));
      console.log(mf.logs.filter((l) => !/"outcome":"delivered"/.test(l)).slice(-20).join('\n'));
      throw e;
    });
    const text = mapping.sort((a, b) => a.chunk - b.chunk).map((m) => m.text ?? JSON.stringify(m.mapping)).join('');
    const journal = JSON.parse(text);
    assert.equal(journal.document_type, 'payout_journal');
    for (const j of journal.journals) assert.equal(j.total_debit_minor, j.total_credit_minor, j.currency);
  });

  test('a second start is ignored; the admin route restarts by hand', async () => {
    const { expected } = scenario;
    const payout = objectOf(scenario, expected.payoutId);
    const again = await post(mf, event('payout.paid', { ...payout, reconciliation_status: 'completed' }));
    assert.equal((await again.json()).result, 'accepted');
    const res = await mf.dispatchFetch(`http://worker/payouts/${expected.payoutId}/reconcile`, { method: 'POST', headers: auth });
    assert.equal(res.status, 200);
    assert.equal((await res.json()).result, 'already_started');
    const csv = await get(mf, `/payouts/${expected.payoutId}?format=csv`);
    assert.equal(csv.status, 200);
    assert.match(csv.headers.get('content-type'), /text\/csv/);
    const rows = (await csv.text()).trim().split('\n');
    assert.equal(rows.length, expected.lineCount + 1);
    assert.match(rows[0], /^balance_transaction_id,/);
  });

  test('a manual payout is not itemized; admin routes need the token', async () => {
    const payout = objectOf(manual, manual.expected.payoutId);
    await post(mf, event('payout.paid', payout));
    const res = await mf.dispatchFetch(`http://worker/payouts/${payout.id}/reconcile`, { method: 'POST', headers: auth });
    assert.equal(res.status, 409);
    assert.equal((await res.json()).result, 'not_itemizable');
    assert.equal((await get(mf, `/payouts/${payout.id}`)).status, 404);
    const anonymous = await mf.dispatchFetch(`http://worker/payouts/${scenario.expected.payoutId}`);
    assert.equal(anonymous.status, 401);
  });

  test('a succeeded payout reconciliation report run is downloaded and read', async () => {
    const { expected } = small;
    const created = await fetch(`${stripe.url}/v1/reporting/report_runs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${STRIPE_SECRET_KEY}`, 'content-type': 'application/x-www-form-urlencoded', 'stripe-version': '2025-09-30.clover' },
      body: new URLSearchParams([
        ['report_type', 'payout_reconciliation.itemized.5'],
        ['parameters[payout]', expected.payoutId],
        ...REPORT_COLUMNS.map((c) => ['parameters[columns][]', c]),
      ]).toString(),
    }).then((r) => r.json());
    assert.equal(created.object, 'reporting.report_run', JSON.stringify(created));
    const run = await waitFor(async () => {
      const r = await fetch(`${stripe.url}/v1/reporting/report_runs/${created.id}`, { headers: { authorization: `Bearer ${STRIPE_SECRET_KEY}`, 'stripe-version': '2025-09-30.clover' } }).then((x) => x.json());
      return r.status === 'succeeded' ? r : null;
    }, { what: 'the run' });
    const res = await post(mf, event('reporting.report_run.succeeded', run));
    assert.equal((await res.json()).result, 'accepted');
    const body = await finished(mf, expected.payoutId).catch((e) => {
      console.log(mf.logs.filter((l) => /reconcile|report/.test(l)).join('\n'));
      throw e;
    });
    assert.equal(body.source, 'report');
    const r = body.reconciliation;
    assert.equal(r.currency, 'JPY');
    assert.equal(r.balanced, true, r.likely_cause);
    assert.equal(r.lines.length, expected.lineCount);
    assert.deepEqual(figures(r).categories, expected.categories);
    assert.deepEqual(figures(r).orders, expected.orders);
  });

  test('a paid charge carries its fee and net from its balance transaction', async () => {
    const txn = scenario.objects.find((o) => o.object === 'balance_transaction' && o.type === 'charge');
    const charge = objectOf(scenario, typeof txn.source === 'string' ? txn.source : txn.source.id);
    const res = await post(mf, event('charge.succeeded', { ...charge, balance_transaction: txn.id }, 'evt_fee_charge'));
    const answer = await res.json();
    assert.equal(answer.result, 'accepted', JSON.stringify(answer));
    const order = await get(mf, `/orders/${encodeURIComponent(answer.order_ref)}`).then((r) => r.json());
    const text = JSON.stringify(order.state);
    assert.match(text, new RegExp(`"fee_minor":${txn.fee}\\b`), text);
    assert.match(text, new RegExp(`"net_minor":${txn.net}\\b`));
  });

  test("a connected account's charge: its fee is read on that account (Stripe-Account); the platform's without", async () => {
    const txn = scenario.objects.find((o) => o.object === 'balance_transaction' && o.type === 'charge');
    const charge = objectOf(scenario, typeof txn.source === 'string' ? txn.source : txn.source.id);
    const feeReads = () => stripe.requests.filter((r) => r.method === 'GET' && r.path.startsWith(`/v1/balance_transactions/${txn.id}`));
    const before = feeReads().length;
    const body = JSON.parse(event('charge.succeeded', { ...charge, id: 'ch_connected_fee', balance_transaction: txn.id }, 'evt_fee_connected'));
    body.account = 'acct_1ConnectedFee';
    assert.equal((await (await post(mf, JSON.stringify(body))).json()).result, 'accepted');
    const reads = feeReads().slice(before);
    assert.equal(reads.length, 1);
    assert.equal(reads[0].headers['stripe-account'], 'acct_1ConnectedFee');
    assert.ok(feeReads().slice(0, before).every((r) => r.headers['stripe-account'] === undefined), 'platform reads carry none');
  });

  test('a fee lookup that hangs holds the answer to Stripe 3 s at most, once, and the event goes on without fees', async () => {
    const txn = scenario.objects.find((o) => o.object === 'balance_transaction' && o.type === 'charge');
    const charge = objectOf(scenario, typeof txn.source === 'string' ? txn.source : txn.source.id);
    const before = stripe.requests.length;
    stripe.fail({ hang: true });
    const res = await post(mf, event('charge.succeeded', { ...charge, id: 'ch_fee_hangs', balance_transaction: txn.id }, 'evt_fee_hangs'));
    const answer = await res.json();
    assert.equal(answer.result, 'accepted', JSON.stringify(answer));
    assert.equal(stripe.requests.length - before, 1, 'one attempt, no retry');
    assert.ok(mf.logs.some((l) => l.includes('"fees":"not_read"') && l.includes('evt_fee_hangs')));
  });
});
