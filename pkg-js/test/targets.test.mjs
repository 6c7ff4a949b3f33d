// stripe-bridge/targets (the second wasm module) and the Standard Webhooks helpers: the same
// answers as the Rust CLI, order-independent with state, typed errors.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { Webhook } from 'standardwebhooks';
import * as sb from '../dist/node.mjs';
import * as targets from '../dist/targets-node.mjs';
import { fixture, here, jsonFiles, ownFixturesDir, realFixturesDir, repoRoot } from './helpers.mjs';

const cli = join(repoRoot, 'target/debug/stripe-bridge');
const CUSTOM = { status_map: { paid: 'PAID', '*': 'OTHER' }, require: ['order_ref'], fields: { order: { path: 'order_ref' }, state: { status: true }, total: { path: 'amount' }, note: { template: 'Stripe {event_type}' } } };

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
        state = sb.mergeOrderState(state, records[i]);
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
    const state = sb.mergeOrderState(sb.mergeOrderState(null, paid), refund);
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
    const state = sb.mergeOrderState(null, paid);
    const order = { id: 1001, order_total: '21.9800', currency: 'USD', payment_status_id: 10, order_status_id: 10, refunded_amount: '0.0000' };
    // No shipping needed: paid and Complete, as nopCommerce's CheckOrderStatus does.
    const done = targets.planNopCommerceUpdate({ ...order, shipping_status_id: targets.NOP_SHIPPING_STATUS.ShippingNotRequired }, state, paid);
    assert.equal(done.payment_status_id, targets.NOP_PAYMENT_STATUS.Paid);
    assert.equal(done.order_status_id, targets.NOP_ORDER_STATUS.Complete);
    const waiting = targets.planNopCommerceUpdate({ ...order, shipping_status_id: targets.NOP_SHIPPING_STATUS.NotYetShipped }, state, paid);
    assert.equal(waiting.order_status_id, targets.NOP_ORDER_STATUS.Processing);
    // The customer paid in EUR: 21.98 USD primary x 0.9 = 19.78 EUR is what Stripe must have taken.
    const eurPaid = { ...paid, event_id: 'evt_eur', currency: 'EUR', amount: '19.78', amount_minor: 1978 };
    const eurState = sb.mergeOrderState(null, eurPaid);
    const eurOrder = { ...order, customer_currency_code: 'EUR', currency_rate: '0.9000' };
    assert.equal(targets.planNopCommerceUpdate(eurOrder, eurState, eurPaid).payment_status_id, targets.NOP_PAYMENT_STATUS.Paid);
    assert.equal(targets.planNopCommerceUpdate({ ...eurOrder, currency_rate: 1.1 }, eurState, eurPaid).payment_status_id, null);
    // The plan reads a state merged onto one stored by version 1.
    const v1 = JSON.parse(readFileSync(join(here, 'fixtures/state-v1-partially-refunded.json'), 'utf8'));
    const refund = sb.normalizeEvent(fixture('refund_failed_basil.json'));
    const upgraded = sb.mergeOrderState(v1, refund);
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
