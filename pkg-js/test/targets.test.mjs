// stripe-bridge/targets (the second wasm module: order state and mappings) and the Standard
// Webhooks helpers: the same answers as the Rust CLI, order-independent with state, typed errors.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { Webhook } from 'standardwebhooks';
import * as sb from '../dist/node.mjs';
import * as targets from '../dist/targets-node.mjs';
import { fixture, here, jsonFiles, ownFixturesDir, realFixturesDir, repoRoot } from './helpers.mjs';

const cli = join(repoRoot, 'target/debug/stripe-bridge');
const CUSTOM = { status_map: { paid: 'PAID', '*': 'OTHER' }, require: ['order_ref'], fields: { order: { path: 'order_ref' }, state: { status: true }, total: { path: 'amount' }, note: { template: 'Stripe {event_type}' } } };

describe('mergeOrderState', () => {
  const names = [
    'pi_created_basil.json',
    'pi_succeeded_basil.json',
    'refund_created_basil.json',
    'charge_refunded_partial_basil.json',
    'refund_failed_basil.json',
  ];
  const records = names.map((n) => sb.normalizeEvent(fixture(n)));

  test('any order, with duplicates, gives the same state', () => {
    const fold = (list) => list.reduce((state, r) => targets.mergeOrderState(state, r), null);
    const expected = fold(records);
    assert.equal(expected.status, 'partially_refunded');
    assert.equal(expected.amount_refunded, '5.00');
    assert.equal(expected.amount_paid, '21.98');
    assert.deepEqual(fold([...records].reverse()), expected);
    assert.deepEqual(fold([...records, ...records]), expected);
    assert.deepEqual(fold([records[2], records[2], records[1], records[0], records[4], records[3]]), expected);
  });

  test('the state is schema version 2 with attempts and per-currency totals', () => {
    const state = records.reduce((s, r) => targets.mergeOrderState(s, r), null);
    assert.equal(state.schema_version, 2);
    assert.equal(state.order_ref, '1001');
    assert.equal(state.currency, 'USD');
    assert.equal(state.amount_requested, '21.98');
    assert.equal(state.amount_paid_minor, 2198);
    assert.equal(state.amount_refunded_minor, 500);
    assert.deepEqual(state.totals, { USD: { requested_minor: 2198, paid_minor: 2198, refunded_minor: 500, dispute_lost_minor: 0, returned_minor: 500 } });
    assert.equal(state.attempts.length, 1);
    assert.equal(state.attempts[0].id, 'pi_3QbasilOrder1001');
    assert.equal(state.attempts[0].status, 'paid');
    assert.deepEqual(state.attempts[0].refunds, ['re_3QbasilOrder1001a', 're_3QbasilOrder1001b']);
    assert.equal(state.attempts[0].amount_refunded_minor, 500);
    assert.equal(state.refunds.re_3QbasilOrder1001a.status, 'refunded');
    assert.equal(state.refunds.re_3QbasilOrder1001b.status, 'failed');
    assert.deepEqual(state.conflicts, []);
    assert.equal(state.overpaid, false);
  });

  test('the input state is not modified; records of another currency are kept, never refused', () => {
    const state = targets.mergeOrderState(null, records[1]);
    const copy = structuredClone(state);
    targets.mergeOrderState(state, records[2]);
    assert.deepEqual(state, copy);
    // A second payment in EUR: both currencies stay in `totals`, the top-level amounts are null
    // and `conflicts` names the disagreement, whatever the order of arrival.
    const eur = { ...records[1], event_id: 'evt_eur', object_id: 'pi_eur', payment_intent: 'pi_eur', charge: 'ch_eur', currency: 'EUR', amount: '18.00', amount_minor: 1800 };
    const both = targets.mergeOrderState(state, eur);
    assert.deepEqual(targets.mergeOrderState(targets.mergeOrderState(null, eur), records[1]), both);
    assert.equal(both.totals.USD.paid_minor, 2198);
    assert.equal(both.totals.EUR.paid_minor, 1800);
    assert.deepEqual(both.conflicts, ['currencies: EUR, USD']);
    assert.equal(both.currency, null);
    assert.equal(both.amount_paid, null);
    assert.equal(both.amount_paid_minor, null);
    assert.equal(both.status, 'paid');
    assert.equal(both.attempts.length, 2);
    // Another order's reference is kept too, and named.
    const other = targets.mergeOrderState(state, { ...records[1], event_id: 'evt_other', order_ref: '1002' });
    assert.equal(other.order_ref, '1001');
    assert.deepEqual(other.order_refs, ['1001', '1002']);
    assert.deepEqual(other.conflicts, ['order refs: 1001, 1002']);
  });

  test('refusals are typed', () => {
    const state = targets.mergeOrderState(null, records[1]);
    // A currency Stripe does not support cannot become an amount.
    assert.throws(() => targets.mergeOrderState(state, { ...records[1], event_id: 'evt_x', object_id: 'pi_x', payment_intent: 'pi_x', currency: 'ZZZ' }), (e) => e instanceof targets.StripeStateError && e.code === 'invalid_state');
    assert.throws(() => targets.mergeOrderState(state, null), targets.StripeInvalidArgumentError);
    assert.throws(() => targets.mergeOrderState({ objects: 5 }, records[1]), (e) => e instanceof targets.StripeInvalidArgumentError && e.code === 'invalid_json');
    assert.throws(() => targets.mergeOrderState({ ...state, schema_version: 3 }, records[1]), (e) => e.code === 'invalid_json' && /newer version/.test(e.message));
  });

  test('a state stored by version 1 is read and upgraded', () => {
    // What version 1's `stripe-bridge merge` wrote for pi_created, pi_succeeded, refund_created
    // and charge_refunded_partial (no schema_version; base, charge_refunded, payment_intents...).
    const v1 = JSON.parse(readFileSync(join(here, 'fixtures/state-v1-partially-refunded.json'), 'utf8'));
    assert.equal(v1.schema_version, undefined);
    assert.ok(v1.base && v1.payment_intents);
    const failed = records[4];
    const upgraded = targets.mergeOrderState(v1, failed);
    assert.equal(upgraded.schema_version, 2);
    assert.equal(upgraded.order_ref, '1001');
    assert.equal(upgraded.status, 'partially_refunded');
    assert.equal(upgraded.currency, 'USD');
    assert.equal(upgraded.amount_paid, '21.98');
    assert.equal(upgraded.amount_refunded, '5.00');
    assert.equal(upgraded.customer_id, 'cus_RbasilJenny');
    assert.equal(upgraded.paid_charge, 'ch_3QbasilOrder1001');
    assert.equal(upgraded.attempts.length, 1);
    assert.equal(upgraded.attempts[0].id, 'pi_3QbasilOrder1001');
    assert.ok(!('base' in upgraded) && !('payment_intents' in upgraded));
    // It then ends where version 2 ends with the same records, and a duplicate changes nothing.
    const v2 = records.reduce((s, r) => targets.mergeOrderState(s, r), null);
    for (const key of ['status', 'amount_paid_minor', 'amount_refunded_minor', 'totals', 'paid_at', 'paid_charge', 'last_event_id']) {
      assert.deepEqual(upgraded[key], v2[key], key);
    }
    assert.deepEqual(targets.mergeOrderState(upgraded, failed), upgraded);
    // upgradeOrderState reads it alone: a PaymentIntent record already in it changes nothing
    // (a refund or charge record adds what version 1 did not keep, e.g. the refund's PaymentIntent).
    const read = targets.upgradeOrderState(v1);
    assert.equal(read.schema_version, 2);
    assert.deepEqual(targets.mergeOrderState(read, records[1]), read, 'a duplicate of a record version 1 merged');
    assert.deepEqual(targets.mergeOrderState(read, records[0]), read);
    assert.deepEqual(targets.upgradeOrderState(read), read);
    assert.throws(() => targets.upgradeOrderState('{}'), targets.StripeInvalidArgumentError);
  });
});

describe('the order state lives in stripe-bridge/targets', () => {
  const BODY = '{"id":"evt_test_webhook","object":"event","type":"payment_intent.succeeded","created":1700000000,"data":{"object":{"id":"pi_1","object":"payment_intent","amount":1230,"currency":"kwd","status":"succeeded","metadata":{"order_id":"W-1"}}}}';

  test('mergeOrderState and upgradeOrderState are exported here, no longer by the main entry', () => {
    const cjs = createRequire(import.meta.url)('../dist/targets-node.cjs');
    for (const entry of [targets, cjs]) {
      assert.equal(typeof entry.mergeOrderState, 'function');
      assert.equal(typeof entry.upgradeOrderState, 'function');
    }
    const main = [sb, createRequire(import.meta.url)('../dist/node.cjs')];
    for (const entry of main) {
      assert.ok(!('mergeOrderState' in entry) && !('upgradeOrderState' in entry));
      assert.equal(typeof entry.statusConcern, 'function', 'statusConcern stays in the main module');
    }
    // Not even inside the webhook module's bindings.
    const names = WebAssembly.Module.exports(new WebAssembly.Module(readFileSync(join(here, '../dist/stripe_bridge_bg.wasm')))).map((e) => e.name);
    assert.ok(names.includes('statusConcern'));
    assert.ok(!names.some((n) => /OrderState/i.test(n)), names.join(' '));
  });

  test('the bindings: a new state, duplicates, unreadable input, a version-1 state (KWD)', () => {
    const record = sb.normalizeEvent(BODY);
    const state = targets.mergeOrderState(null, record);
    assert.equal(state.status, 'paid');
    assert.deepEqual(targets.mergeOrderState(undefined, record), state);
    assert.deepEqual(targets.mergeOrderState(state, record), state);
    const code = (fn) => {
      try {
        fn();
      } catch (e) {
        assert.ok(e instanceof targets.StripeBridgeError, `${e}`);
        return e.code;
      }
      return 'no error';
    };
    assert.equal(code(() => targets.mergeOrderState(42, record)), 'invalid_json');
    assert.equal(code(() => targets.mergeOrderState({ objects: 5 }, record)), 'invalid_json');
    assert.equal(code(() => targets.mergeOrderState(null, {})), 'invalid_json');
    assert.equal(code(() => targets.mergeOrderState(null, 'paid')), 'invalid_argument');
    assert.equal(code(() => targets.upgradeOrderState({ schema_version: 3 })), 'invalid_json');
    assert.equal(code(() => targets.upgradeOrderState(null)), 'invalid_argument');
    // A state stored by version 1 (no schema_version), as its CLI wrote it: paid 1.230 KWD, 0.500 refunded.
    const v1 = {"order_ref":"W-1","status":"partially_refunded","currency":"KWD","amount":"1.230","amount_minor":1230,"amount_paid":"1.230","amount_paid_minor":1230,"amount_refunded":"0.500","amount_refunded_minor":500,"customer_id":null,"payment_intents":["pi_1"],"charges":["ch_1"],"invoices":[],"checkout_sessions":[],"payouts":[],"refunds":{"re_1":{"stage":2,"at":1700000100,"amount_minor":500,"charge":"ch_1"}},"disputes":{},"last_event_at":1700000100,"last_event_id":"evt_r","paid_charge":"ch_1","fee_minor":null,"net_minor":null,"settlement_currency":null,"payment_method_type":null,"paid_at":1700000000,"base":{"tier":4,"at":0,"rank":0,"status":"paid"},"charge_refunded":{}};
    const merged = targets.mergeOrderState(v1, record);
    assert.equal(merged.schema_version, 2);
    assert.equal(merged.status, 'partially_refunded');
    assert.equal(merged.amount_refunded, '0.500');
    assert.equal(merged.attempts[0].id, 'pi_1');
    // Read alone, the stored state upgrades to the same as merging a duplicate into it.
    const upgraded = targets.upgradeOrderState(v1);
    assert.deepEqual(targets.mergeOrderState(upgraded, record), merged);
    assert.deepEqual(targets.upgradeOrderState(upgraded), upgraded);
  });
});

describe('mapToTarget', () => {
  test('every profile gives what the Rust CLI gives, on every fixture', { skip: !existsSync(cli) && 'build the CLI first' }, () => {
    const dir = mkdtempSync(join(tmpdir(), 'sb-map-'));
    const customFile = join(dir, 'custom.json');
    writeFileSync(customFile, JSON.stringify(CUSTOM));
    const files = [...jsonFiles(ownFixturesDir), ...jsonFiles(realFixturesDir)];
    let mapped = 0;
    for (const [profile, cliProfile] of [['nopcommerce', 'nopcommerce'], ['salesforce', 'salesforce'], ['erp', 'erp'], ['order-feed', 'order-feed'], [CUSTOM, customFile]]) {
      for (const { name, bytes } of files) {
        const expected = JSON.parse(execFileSync(cli, ['map', '--profile', cliProfile], { input: bytes }));
        const got = targets.mapToTarget(sb.normalizeEvent(bytes), profile);
        assert.deepEqual(got, expected, `${JSON.stringify(profile)} ${name}`);
        if (got) mapped++;
      }
    }
    assert.ok(mapped > 150, `${mapped} mapped outputs`);
  });

  test('with the merged state, outputs do not depend on delivery order', () => {
    const names = ['pi_created_basil.json', 'pi_succeeded_basil.json', 'charge_updated_expanded_fee_basil.json', 'refund_created_basil.json', 'charge_refunded_partial_basil.json'];
    const records = names.map((n) => sb.normalizeEvent(fixture(n)));
    const last = (order) => {
      let state = null;
      let out = null;
      for (const i of order) {
        state = targets.mergeOrderState(state, records[i]);
        out = targets.mapToTarget(records[i], 'salesforce', { state });
      }
      return out.compositeRequest.find((r) => r.referenceId === 'payment').body;
    };
    const a = last([0, 1, 2, 3, 4]);
    const b = last([4, 3, 2, 1, 0, 3, 1]);
    assert.deepEqual(b, a);
    assert.equal(a.Status__c, 'refunded');
    assert.equal(a.Amount__c, 21.98);
    assert.equal(a.Amount_Refunded__c, 5);
    assert.equal(a.Fee__c, 0.94);
  });

  test('configured salesforce names, nothing-to-send, and errors that name the entry', () => {
    const r = sb.normalizeEvent(fixture('pi_succeeded_basil.json'));
    const out = targets.mapToTarget(r, { profile: 'salesforce', salesforce: { payment: { object: 'Payment__c' } } });
    assert.match(out.compositeRequest[0].url, /sobjects\/Payment__c\//);
    assert.equal(targets.mapToTarget(sb.normalizeEvent(fixture('customer_created_basil.json')), 'order-feed'), null);
    for (const [profile, entry] of [
      ['nopcomerce', 'profile'],
      [{ fields: { t: { path: 'amout' } } }, 'fields.t.path'],
      [{ status_map: { payed: 'P' }, fields: { s: { status: true } } }, 'status_map.payed'],
      [{ profile: 'salesforce', salesforce: { payment: { amount: 'Amount c' } } }, 'salesforce.payment.amount'],
    ]) {
      assert.throws(
        () => targets.mapToTarget(r, profile),
        (e) => e.type === 'StripeMappingError' && e.code === 'invalid_mapping' && e.message.includes(entry),
      );
      assert.throws(() => targets.loadProfile(profile), targets.StripeMappingError);
    }
    assert.equal(targets.loadProfile(CUSTOM), true);
  });

  test('planNopCommerceUpdate applies nopCommerce guards', () => {
    const paid = sb.normalizeEvent(fixture('pi_succeeded_basil.json'));
    const refund = sb.normalizeEvent(fixture('refund_created_basil.json'));
    const state = targets.mergeOrderState(targets.mergeOrderState(null, paid), refund);
    const order = { id: 1001, order_total: '21.9800', currency: 'USD', payment_status_id: 10, order_status_id: 10, refunded_amount: '0.0000' };
    const plan = targets.planNopCommerceUpdate(order, state, refund);
    assert.equal(plan.payment_status_id, targets.NOP_PAYMENT_STATUS.PartiallyRefunded);
    assert.equal(plan.order_status_id, targets.NOP_ORDER_STATUS.Processing);
    assert.equal(plan.refunded_amount, '5.00');
    assert.ok(plan.notes.includes('Order has been marked as paid'));
    assert.ok(plan.notes.some((n) => n.startsWith('Order has been marked as partially refunded')));
    const short = targets.planNopCommerceUpdate({ ...order, order_total: '99.00' }, state, refund);
    assert.equal(short.payment_status_id, null);
    assert.throws(() => targets.planNopCommerceUpdate({ id: 1 }, state, refund), (e) => e.code === 'invalid_json');
  });

  test('planNopCommerceUpdate: customer currency, shipping status, a state stored by version 1', () => {
    const paid = sb.normalizeEvent(fixture('pi_succeeded_basil.json'));
    const state = targets.mergeOrderState(null, paid);
    const order = { id: 1001, order_total: '21.9800', currency: 'USD', payment_status_id: 10, order_status_id: 10, refunded_amount: '0.0000' };
    // No shipping needed: paid and Complete, as nopCommerce's CheckOrderStatus does.
    const done = targets.planNopCommerceUpdate({ ...order, shipping_status_id: targets.NOP_SHIPPING_STATUS.ShippingNotRequired }, state, paid);
    assert.equal(done.payment_status_id, targets.NOP_PAYMENT_STATUS.Paid);
    assert.equal(done.order_status_id, targets.NOP_ORDER_STATUS.Complete);
    const waiting = targets.planNopCommerceUpdate({ ...order, shipping_status_id: targets.NOP_SHIPPING_STATUS.NotYetShipped }, state, paid);
    assert.equal(waiting.order_status_id, targets.NOP_ORDER_STATUS.Processing);
    // The customer paid in EUR: 21.98 USD primary x 0.9 = 19.78 EUR is what Stripe must have taken.
    const eurPaid = { ...paid, event_id: 'evt_eur', currency: 'EUR', amount: '19.78', amount_minor: 1978 };
    const eurState = targets.mergeOrderState(null, eurPaid);
    const eurOrder = { ...order, customer_currency_code: 'EUR', currency_rate: '0.9000' };
    assert.equal(targets.planNopCommerceUpdate(eurOrder, eurState, eurPaid).payment_status_id, targets.NOP_PAYMENT_STATUS.Paid);
    assert.equal(targets.planNopCommerceUpdate({ ...eurOrder, currency_rate: 1.1 }, eurState, eurPaid).payment_status_id, null);
    // The plan reads a state merged onto one stored by version 1.
    const v1 = JSON.parse(readFileSync(join(here, 'fixtures/state-v1-partially-refunded.json'), 'utf8'));
    const refund = sb.normalizeEvent(fixture('refund_failed_basil.json'));
    const upgraded = targets.mergeOrderState(v1, refund);
    const plan = targets.planNopCommerceUpdate({ ...order, payment_status_id: 30, order_status_id: 20 }, upgraded, refund);
    assert.equal(plan.payment_status_id, targets.NOP_PAYMENT_STATUS.PartiallyRefunded);
    assert.equal(plan.refunded_amount, '5.00');
  });
});

describe('Standard Webhooks', () => {
  const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
  test('signs like the reference library and verifies what it signs', () => {
    const body = '{"test": 2432232314}';
    const headers = sb.signStandardWebhook({ id: 'msg_p5jXN8AQM9LWM0D4loKWxJek', payload: body, secret, timestamp: 1614265330 });
    assert.equal(headers['webhook-signature'], 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');
    const now = Math.floor(Date.now() / 1000);
    const fresh = sb.signStandardWebhook({ id: 'evt_1', payload: body, secret });
    assert.deepEqual(new Webhook(secret).verify(body, fresh), { test: 2432232314 });
    const theirs = new Webhook(secret).sign('evt_2', new Date(now * 1000), body);
    const reqHeaders = { 'webhook-id': 'evt_2', 'webhook-timestamp': String(now), 'webhook-signature': theirs };
    assert.deepEqual(sb.verifyStandardWebhook(body, reqHeaders, secret), { test: 2432232314 });
    assert.deepEqual(sb.verifyStandardWebhook(Buffer.from(body), new Headers(reqHeaders), secret), { test: 2432232314 });
  });

  test('rejections are typed', () => {
    const body = '{"a":1}';
    const h = sb.signStandardWebhook({ id: 'evt_1', payload: body, secret, timestamp: 1000 });
    const code = (fn) => {
      try {
        fn();
      } catch (e) {
        assert.equal(e.type, 'WebhookVerificationError');
        return e.code;
      }
      return 'ok';
    };
    assert.equal(code(() => sb.verifyStandardWebhook(body, h, secret, { now: 1000 })), 'ok');
    assert.equal(code(() => sb.verifyStandardWebhook('{"a":2}', h, secret, { now: 1000 })), 'no_match');
    assert.equal(code(() => sb.verifyStandardWebhook(body, h, secret, { now: 1301 })), 'timestamp_outside_tolerance');
    assert.equal(code(() => sb.verifyStandardWebhook(body, { ...h, 'webhook-id': '' }, secret, { now: 1000 })), 'missing_header');
    assert.equal(code(() => sb.verifyStandardWebhook(body, h, 'whsec_%%%', { now: 1000 })), 'invalid_secret');
  });
});
