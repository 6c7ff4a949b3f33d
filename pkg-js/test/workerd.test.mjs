// The package inside workerd (Miniflare runs the real Workers runtime): a signed event is
// verified and normalized synchronously; a bad signature is a typed error.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import * as sb from '../dist/node.mjs';
import * as targets from '../dist/targets-node.mjs';
import { fixture } from './helpers.mjs';
import { workerd } from './workerd-harness.mjs';
import { startFakeStripe } from '../../examples/fake-stripe-api.mjs';
import { payoutScenario } from '../../examples/stripe-scenarios.mjs';

const STRIPE_KEY = 'sk_test_51WorkerdFakeKeyForTheStandIn';
const ORDER = { id: 'W-1', currency: 'chf', lines: [{ name: 'Käse', quantity: 2, unit_price: '12.50' }], total: '25.00', success_url: 'https://shop.example.com/ok' };

// Without flags the HMAC runs in wasm; with nodejs_compat, workerd's native node:crypto.
for (const flags of [[], ['nodejs_compat']]) {
  describe(`workerd, compatibility flags [${flags}]`, () => {
    let mf;
    let stripe;
    before(async () => {
      stripe = await startFakeStripe({ apiKey: STRIPE_KEY });
      mf = workerd({ script: 'test/workerd/worker.mjs', flags, bindings: { SECRET: 'whsec_old,whsec_workerd', STRIPE_KEY, STRIPE_BASE: stripe.url } });
      await mf.ready;
    });
    after(async () => {
      await mf?.dispose();
      await stripe?.close();
    });

    test('stripe-bridge/payments creates a Checkout Session from inside workerd (with a retry)', async () => {
      stripe.fail({ status: 502 });
      const res = await mf.dispatchFetch('http://localhost/pay', { method: 'POST', body: JSON.stringify(ORDER) });
      const body = await res.json();
      assert.equal(res.status, 200, JSON.stringify(body));
      assert.match(body.id, /^cs_test_/);
      assert.equal(body.attempts, 2);
      assert.equal(stripe.objects.at(-1).amount_total, 2500);
      assert.equal(stripe.objects.at(-1).currency, 'chf');
    });

    test('stripe-bridge/finance reconciles a payout from inside workerd, every page', async () => {
      const scenario = payoutScenario({ seed: `workerd-${flags}`, transactions: 230, refundMetadata: false });
      stripe.seed(scenario);
      stripe.fail({ status: 503 });
      const res = await mf.dispatchFetch(`http://localhost/payout?id=${scenario.expected.payoutId}`, { method: 'POST', body: '' });
      const r = await res.json();
      assert.equal(res.status, 200, JSON.stringify(r));
      assert.equal(r.balanced, true, r.likely_cause);
      assert.equal(r.lines.length, scenario.expected.lineCount);
      assert.equal(r.net_minor, scenario.expected.netTotal);
      assert.deepEqual(Object.keys(r.orders).sort(), Object.keys(scenario.expected.orders).sort());
    });

    test('verifies and normalizes a signed event inside workerd', async () => {
      const body = fixture('checkout_session_completed_clover.json');
      const header = sb.generateTestHeader({ payload: body, secret: 'whsec_workerd' });
      const res = await mf.dispatchFetch('http://localhost/', { method: 'POST', body, headers: { 'stripe-signature': header } });
      assert.equal(res.status, 200);
      const record = await res.json();
      assert.deepEqual(record, sb.normalizeEvent(body));
      assert.equal(record.status, 'paid');
      assert.equal(record.order_ref, '1001');
    });

    test('constructEvent returns the event; money helpers work', async () => {
      const body = fixture('pi_succeeded_basil.json');
      const header = sb.generateTestHeader({ payload: body, secret: 'whsec_workerd' });
      let res = await mf.dispatchFetch('http://localhost/event', { method: 'POST', body, headers: { 'stripe-signature': header } });
      assert.equal((await res.json()).id, 'evt_basil_pi_succeeded');
      res = await mf.dispatchFetch('http://localhost/money?amount=1.23&currency=kwd', { method: 'POST', body: 'x' });
      assert.deepEqual(await res.json(), { minor: 1230 });
    });

    test('stripe-bridge/targets merges and upgrades order states inside workerd, as in Node', async () => {
      const records = ['pi_succeeded_basil.json', 'refund_created_basil.json'].map((n) => sb.normalizeEvent(fixture(n)));
      const res = await mf.dispatchFetch('http://localhost/state', { method: 'POST', body: records.map((r) => JSON.stringify(r)).join('\n') });
      const got = await res.json();
      assert.equal(res.status, 200, JSON.stringify(got));
      const expected = records.reduce((s, r) => targets.mergeOrderState(s, r), null);
      assert.deepEqual(got.state, expected);
      assert.equal(got.state.status, 'partially_refunded');
      assert.deepEqual(got.mapped, targets.mapToTarget(records[1], 'nopcommerce', { state: expected }));
      assert.equal(got.mainHasState, false, 'the webhook entry has no order-state functions');
      // A stored state read back (upgradeOrderState) and a duplicate merged: unchanged.
      const again = await mf.dispatchFetch(`http://localhost/state?stored=${encodeURIComponent(JSON.stringify(expected))}`, { method: 'POST', body: JSON.stringify(records[1]) });
      assert.deepEqual((await again.json()).state, expected);
    });

    test('the async functions give what the synchronous ones give, records and errors', async () => {
      const secrets = ['whsec_old', 'whsec_workerd'];
      const post = (path, body, header) => mf.dispatchFetch(`http://localhost${path}`, { method: 'POST', body, headers: header === undefined ? {} : { 'stripe-signature': header } });
      for (const name of ['checkout_session_completed_clover.json', 'pi_succeeded_basil.json', 'refund_created_basil.json', 'invoice_paid_basil.json']) {
        const body = fixture(name);
        // Either secret matches (the first, then the second of the rolled pair).
        for (const secret of secrets) {
          const header = sb.generateTestHeader({ payload: body, secret });
          const record = await (await post('/async', body, header)).json();
          assert.deepEqual(record, sb.verifyAndNormalize(body, header, secrets), name);
          assert.deepEqual(await (await post('/async-bytes', body, header)).json(), record, name);
          assert.deepEqual(await (await post('/async-event', body, header)).json(), JSON.parse(body), name);
          assert.equal(await (await post('/async-header', body, header)).json(), true);
        }
      }
      // Non-ASCII and astral text, and a string body past the 1 MB worst-case layout.
      for (const units of [40, 1_200_000]) {
        const note = 'Zoë 🧾 '.repeat(units / 8);
        const body = `{"id":"evt_big","type":"charge.succeeded","created":1700000000,"data":{"object":{"id":"ch_1","object":"charge","description":"${note}"}}}`;
        const header = sb.generateTestHeader({ payload: body, secret: 'whsec_workerd' });
        const expected = sb.verifyAndNormalize(body, header, secrets);
        assert.deepEqual(await (await post('/async', body, header)).json(), expected, `${units}`);
        assert.deepEqual(await (await post('/async-bytes', body, header)).json(), expected, `${units}`);
        for (const path of ['/async', '/async-bytes']) assert.equal((await post(path, body.replace('evt_big', 'evt_bis'), header)).status, 400);
      }
      // Each failure is the same error, with the same code, as in the synchronous path.
      const body = fixture('pi_succeeded_basil.json');
      const t = Math.floor(Date.now() / 1000);
      const cases = [
        ['wrong secret', body, sb.generateTestHeader({ payload: body, secret: 'whsec_wrong' }), ''],
        ['tampered body', `${body} `, sb.generateTestHeader({ payload: body, secret: 'whsec_workerd' }), ''],
        ['too old', body, sb.generateTestHeader({ payload: body, secret: 'whsec_workerd', timestamp: t - 301 }), `?now=${t}`],
        ['no header', body, undefined, ''],
        ['malformed header', body, 't=abc,v1=00', ''],
      ];
      for (const [what, payload, header, query] of cases) {
        let expected;
        try {
          sb.verifyAndNormalize(payload, header, secrets, query ? { now: t } : undefined);
        } catch (e) {
          expected = { type: e.type, code: e.code };
        }
        assert.ok(expected, what);
        for (const path of ['/async', '/async-bytes', '/async-event', '/async-header']) {
          const res = await post(path + query, payload, header);
          assert.equal(res.status, 400, `${what} ${path}`);
          const err = await res.json();
          assert.deepEqual({ type: err.type, code: err.code }, expected, `${what} ${path}`);
        }
      }
    });

    test('a bad signature is a StripeSignatureVerificationError inside workerd', async () => {
      const body = fixture('pi_succeeded_basil.json');
      const header = sb.generateTestHeader({ payload: body, secret: 'whsec_wrong' });
      const res = await mf.dispatchFetch('http://localhost/', { method: 'POST', body, headers: { 'stripe-signature': header } });
      assert.equal(res.status, 400);
      const err = await res.json();
      assert.equal(err.type, 'StripeSignatureVerificationError');
      assert.equal(err.code, 'no_match');
    });
  });
}
