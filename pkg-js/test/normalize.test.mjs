// Normalization, order-state merge and money through the package, cross-checked against the
// Rust CLI (one core, same answers).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import * as sb from '../dist/node.mjs';
import { fixture, here, jsonFiles, ownFixturesDir, realFixturesDir, repoRoot } from './helpers.mjs';

const cli = join(repoRoot, 'target/debug/stripe-bridge');

describe('normalizeEvent', () => {
  test('object, JSON text and bytes give the same record', () => {
    const bytes = fixture('pi_succeeded_basil.json');
    const fromBytes = sb.normalizeEvent(bytes);
    assert.deepEqual(sb.normalizeEvent(bytes.toString('utf8')), fromBytes);
    assert.deepEqual(sb.normalizeEvent(JSON.parse(bytes)), fromBytes);
    assert.equal(fromBytes.status, 'paid');
    assert.equal(fromBytes.amount, '21.98');
    assert.equal(fromBytes.amount_minor, 2198);
    assert.equal(fromBytes.currency, 'USD');
    assert.equal(fromBytes.order_ref, '1001');
  });

  test('orderKeys option', () => {
    const r = sb.normalizeEvent(fixture('checkout_session_completed_clover.json'), { orderKeys: ['customer_id'] });
    assert.equal(r.order_ref, 'C-77');
    assert.throws(() => sb.normalizeEvent('{}', { orderKeys: 'order_id' }), sb.StripeInvalidArgumentError);
  });

  test('malformed events are StripeEventError without payload values', () => {
    for (const bad of ['not json', '{"id":"evt_1"}', '{"id":"evt_1","type":"x","created":"4242424242424242"}']) {
      assert.throws(
        () => sb.normalizeEvent(bad),
        (e) => e instanceof sb.StripeEventError && e.code === 'malformed_event' && !e.message.includes('4242'),
      );
    }
    assert.throws(() => sb.normalizeEvent(42), sb.StripeInvalidArgumentError);
  });

  test('a mapped event whose object has a foreign shape is an unreadable record, never an error', () => {
    const event = JSON.parse(fixture('pi_succeeded_basil.json'));
    // Another object under the event type, and a needed field of another JSON type.
    const foreign = { ...event, data: { object: { id: 'cn_1', object: 'credit_note', amount: 4242 } } };
    const wrongType = structuredClone(event);
    wrongType.data.object.amount = { value: '4242' };
    for (const e of [foreign, wrongType, { ...event, data: {} }]) {
      const r = sb.normalizeEvent(e);
      assert.equal(r.status, 'unreadable');
      assert.equal(r.event_id, event.id);
      assert.equal(r.order_ref, null);
      assert.equal(typeof r.reason, 'string');
      assert.ok(!r.reason.includes('4242'), r.reason);
      assert.equal(sb.statusConcern(r.status), 'nothing');
    }
    assert.match(sb.normalizeEvent(foreign).reason, /data\.object\.object/);
    assert.match(sb.normalizeEvent(wrongType).reason, /amount/);
    // An unreadable record never changes an order.
    const state = sb.mergeOrderState(null, sb.normalizeEvent(event));
    assert.deepEqual(sb.mergeOrderState(state, sb.normalizeEvent(foreign)), state);
    // A field the record does not need is dropped, not a reason to refuse.
    const extra = structuredClone(event);
    extra.data.object.description = { not: 'a string' };
    assert.equal(sb.normalizeEvent(extra).status, 'paid');
  });

  test('mode guard: other modes and accounts are ignored with the reason', () => {
    const test = JSON.parse(fixture('pi_succeeded_basil.json'));
    assert.equal(test.livemode, false);
    const live = { ...test, id: 'evt_live', livemode: true };
    const connected = { ...test, id: 'evt_acct', account: 'acct_1Connected' };
    assert.equal(sb.normalizeEvent(live, { mode: 'any' }).status, 'paid');
    const refused = sb.normalizeEvent(live, { mode: 'test' });
    assert.equal(refused.status, 'ignored');
    assert.equal(refused.event_id, 'evt_live');
    assert.match(refused.reason, /live-mode event; this deployment accepts test mode only/);
    assert.equal(sb.mergeOrderState(null, refused).last_event_id, null, 'never merged into an order');
    assert.equal(sb.normalizeEvent(test, { mode: 'test', orderKeys: ['order_id'] }).status, 'paid');
    assert.equal(sb.normalizeEvent(test, { mode: 'live' }).status, 'ignored');
    // Accounts: connected ids, and `platform` for events without an account.
    assert.equal(sb.normalizeEvent(connected, { accounts: ['acct_1Connected'] }).status, 'paid');
    assert.equal(sb.normalizeEvent(test, { accounts: ['acct_1Connected'] }).status, 'ignored');
    assert.match(sb.normalizeEvent(test, { accounts: ['acct_1Connected'] }).reason, /platform event/);
    assert.equal(sb.normalizeEvent(test, { accounts: ['platform'] }).status, 'paid');
    assert.equal(sb.normalizeEvent(connected, { accounts: ['platform', 'acct_other'] }).status, 'ignored');
    // The same options on the webhook fast path.
    const body = JSON.stringify(live);
    const header = sb.generateTestHeader({ payload: body, secret: 'whsec_m', timestamp: 1000 });
    assert.equal(sb.verifyAndNormalize(body, header, 'whsec_m', { now: 1000, mode: 'test' }).status, 'ignored');
    assert.equal(sb.verifyAndNormalize(body, header, 'whsec_m', { now: 1000, mode: 'live' }).status, 'paid');
    // Invalid configuration is a typed error, never a silent "any".
    for (const options of [{ mode: 'production' }, { mode: 1 }, { accounts: ['cus_1'] }, { accounts: 'acct_1' }, { mode: 'test', accounts: ['acct_1', 'sk_live_x'] }]) {
      assert.throws(
        () => sb.normalizeEvent(test, options),
        (e) => e instanceof sb.StripeInvalidArgumentError && e.code === 'invalid_mode' && e.kind === 'argument',
        JSON.stringify(options),
      );
    }
    assert.throws(() => sb.verifyAndNormalize(body, header, 'whsec_m', { now: 1000, mode: 'prod' }), (e) => e.code === 'invalid_mode');
  });

  test('statusConcern comes from the core', () => {
    assert.equal(sb.statusConcern('paid'), 'payment');
    assert.equal(sb.statusConcern('dispute_prevented'), 'payment');
    assert.equal(sb.statusConcern('fraud_warning'), 'flag');
    assert.equal(sb.statusConcern('review_closed'), 'flag');
    assert.equal(sb.statusConcern('payout_paid'), 'payout');
    assert.equal(sb.statusConcern('customer_deleted'), 'customer');
    assert.equal(sb.statusConcern('ignored'), 'nothing');
    assert.throws(() => sb.statusConcern('succeeded'), (e) => e instanceof sb.StripeInvalidArgumentError);
    assert.throws(() => sb.statusConcern(undefined), sb.StripeInvalidArgumentError);
  });

  test('every fixture gives exactly what the Rust CLI gives', { skip: !existsSync(cli) && 'build the CLI first (cargo build)' }, () => {
    const files = [...jsonFiles(ownFixturesDir), ...jsonFiles(realFixturesDir)];
    assert.ok(files.length >= 27 + (existsSync(realFixturesDir) ? 71 : 0));
    for (const { name, bytes } of files) {
      const expected = JSON.parse(execFileSync(cli, ['normalize'], { input: bytes }));
      assert.deepEqual(sb.normalizeEvent(bytes), expected, name);
    }
  });
});

describe('verifyAndNormalize', () => {
  test('verifies, then returns the record', () => {
    const body = fixture('refund_created_basil.json');
    const header = sb.generateTestHeader({ payload: body, secret: 'whsec_x', timestamp: 1735775600 });
    const r = sb.verifyAndNormalize(body, header, 'whsec_x', { now: 1735775601 });
    assert.equal(r.status, 'refunded');
    assert.equal(r.refund, 're_3QbasilOrder1001a');
    assert.throws(
      () => sb.verifyAndNormalize(body, header, 'whsec_y', { now: 1735775601 }),
      (e) => e.type === 'StripeSignatureVerificationError' && e.code === 'no_match',
    );
  });
});

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
    const fold = (list) => list.reduce((state, r) => sb.mergeOrderState(state, r), null);
    const expected = fold(records);
    assert.equal(expected.status, 'partially_refunded');
    assert.equal(expected.amount_refunded, '5.00');
    assert.equal(expected.amount_paid, '21.98');
    assert.deepEqual(fold([...records].reverse()), expected);
    assert.deepEqual(fold([...records, ...records]), expected);
    assert.deepEqual(fold([records[2], records[2], records[1], records[0], records[4], records[3]]), expected);
  });

  test('the state is schema version 2 with attempts and per-currency totals', () => {
    const state = records.reduce((s, r) => sb.mergeOrderState(s, r), null);
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
    const state = sb.mergeOrderState(null, records[1]);
    const copy = structuredClone(state);
    sb.mergeOrderState(state, records[2]);
    assert.deepEqual(state, copy);
    // A second payment in EUR: both currencies stay in `totals`, the top-level amounts are null
    // and `conflicts` names the disagreement, whatever the order of arrival.
    const eur = { ...records[1], event_id: 'evt_eur', object_id: 'pi_eur', payment_intent: 'pi_eur', charge: 'ch_eur', currency: 'EUR', amount: '18.00', amount_minor: 1800 };
    const both = sb.mergeOrderState(state, eur);
    assert.deepEqual(sb.mergeOrderState(sb.mergeOrderState(null, eur), records[1]), both);
    assert.equal(both.totals.USD.paid_minor, 2198);
    assert.equal(both.totals.EUR.paid_minor, 1800);
    assert.deepEqual(both.conflicts, ['currencies: EUR, USD']);
    assert.equal(both.currency, null);
    assert.equal(both.amount_paid, null);
    assert.equal(both.amount_paid_minor, null);
    assert.equal(both.status, 'paid');
    assert.equal(both.attempts.length, 2);
    // Another order's reference is kept too, and named.
    const other = sb.mergeOrderState(state, { ...records[1], event_id: 'evt_other', order_ref: '1002' });
    assert.equal(other.order_ref, '1001');
    assert.deepEqual(other.order_refs, ['1001', '1002']);
    assert.deepEqual(other.conflicts, ['order refs: 1001, 1002']);
  });

  test('refusals are typed', () => {
    const state = sb.mergeOrderState(null, records[1]);
    // A currency Stripe does not support cannot become an amount.
    assert.throws(() => sb.mergeOrderState(state, { ...records[1], event_id: 'evt_x', object_id: 'pi_x', payment_intent: 'pi_x', currency: 'ZZZ' }), (e) => e instanceof sb.StripeStateError && e.code === 'invalid_state');
    assert.throws(() => sb.mergeOrderState(state, null), sb.StripeInvalidArgumentError);
    assert.throws(() => sb.mergeOrderState({ objects: 5 }, records[1]), (e) => e instanceof sb.StripeInvalidArgumentError && e.code === 'invalid_json');
    assert.throws(() => sb.mergeOrderState({ ...state, schema_version: 3 }, records[1]), (e) => e.code === 'invalid_json' && /newer version/.test(e.message));
  });

  test('a state stored by version 1 is read and upgraded', () => {
    // What version 1's `stripe-bridge merge` wrote for pi_created, pi_succeeded, refund_created
    // and charge_refunded_partial (no schema_version; base, charge_refunded, payment_intents...).
    const v1 = JSON.parse(readFileSync(join(here, 'fixtures/state-v1-partially-refunded.json'), 'utf8'));
    assert.equal(v1.schema_version, undefined);
    assert.ok(v1.base && v1.payment_intents);
    const failed = records[4];
    const upgraded = sb.mergeOrderState(v1, failed);
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
    const v2 = records.reduce((s, r) => sb.mergeOrderState(s, r), null);
    for (const key of ['status', 'amount_paid_minor', 'amount_refunded_minor', 'totals', 'paid_at', 'paid_charge', 'last_event_id']) {
      assert.deepEqual(upgraded[key], v2[key], key);
    }
    assert.deepEqual(sb.mergeOrderState(upgraded, failed), upgraded);
    // upgradeOrderState reads it alone: a PaymentIntent record already in it changes nothing
    // (a refund or charge record adds what version 1 did not keep, e.g. the refund's PaymentIntent).
    const read = sb.upgradeOrderState(v1);
    assert.equal(read.schema_version, 2);
    assert.deepEqual(sb.mergeOrderState(read, records[1]), read, 'a duplicate of a record version 1 merged');
    assert.deepEqual(sb.mergeOrderState(read, records[0]), read);
    assert.deepEqual(sb.upgradeOrderState(read), read);
    assert.throws(() => sb.upgradeOrderState('{}'), sb.StripeInvalidArgumentError);
  });
});

describe('money', () => {
  test('to and from minor units, exactly', () => {
    assert.equal(sb.toMinorUnits('12.34', 'usd'), 1234);
    assert.equal(sb.toMinorUnits('500', 'JPY'), 500);
    assert.equal(sb.toMinorUnits('1.23', 'kwd'), 1230);
    assert.equal(sb.toMinorUnits('5', 'isk'), 500);
    assert.equal(sb.toMinorUnits('0.30', 'usd'), 30);
    assert.equal(sb.fromMinorUnits(1234, 'usd'), '12.34');
    assert.equal(sb.fromMinorUnits(1234n, 'usd'), '12.34');
    assert.equal(sb.fromMinorUnits('-5', 'usd'), '-0.05');
    assert.equal(sb.fromMinorUnits(1230, 'kwd'), '1.230');
    assert.equal(sb.fromMinorUnits(500, 'jpy'), '500');
    assert.equal(sb.currencyExponent('usd'), 2);
    assert.equal(sb.currencyExponent('JPY'), 0);
    assert.equal(sb.currencyExponent('bhd'), 3);
  });

  test('refusals: never rounded, never a float', () => {
    const code = (fn) => {
      try {
        fn();
      } catch (e) {
        assert.ok(e instanceof sb.StripeMoneyError, `${e}`);
        return e.code;
      }
      return 'no error';
    };
    assert.equal(code(() => sb.toMinorUnits('12.345', 'usd')), 'amount_too_precise');
    assert.equal(code(() => sb.toMinorUnits('1.234', 'kwd')), 'amount_not_a_multiple');
    assert.equal(code(() => sb.toMinorUnits('5.50', 'isk')), 'amount_not_a_multiple');
    assert.equal(code(() => sb.toMinorUnits(12.34, 'usd')), 'invalid_amount');
    assert.equal(code(() => sb.toMinorUnits('1e3', 'usd')), 'invalid_amount');
    assert.equal(code(() => sb.toMinorUnits('90071992547409.93', 'usd')), 'amount_overflow');
    assert.equal(code(() => sb.fromMinorUnits(1.5, 'usd')), 'invalid_amount');
    assert.equal(code(() => sb.fromMinorUnits('12a', 'usd')), 'invalid_amount');
    assert.equal(code(() => sb.currencyExponent('us')), 'invalid_currency');
  });
});
