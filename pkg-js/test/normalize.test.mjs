// Normalization, order-state merge and money through the package, cross-checked against the
// Rust CLI (one core, same answers).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import * as sb from '../dist/node.mjs';
import { fixture, jsonFiles, ownFixturesDir, realFixturesDir, repoRoot } from './helpers.mjs';

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

  test('the input state is not modified; refusals are typed', () => {
    const state = sb.mergeOrderState(null, records[1]);
    const copy = structuredClone(state);
    sb.mergeOrderState(state, records[2]);
    assert.deepEqual(state, copy);
    const eur = { ...records[1], currency: 'EUR' };
    assert.throws(() => sb.mergeOrderState(state, eur), (e) => e instanceof sb.StripeStateError && e.code === 'currency_mismatch');
    assert.throws(() => sb.mergeOrderState(state, null), sb.StripeInvalidArgumentError);
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
