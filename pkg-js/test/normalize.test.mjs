// Normalization and money through the package, cross-checked against the Rust CLI (one core,
// same answers). The order-state merge is in stripe-bridge/targets (targets.test.mjs).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import * as sb from '../dist/node.mjs';
import { mergeOrderState } from '../dist/targets-node.mjs';
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
    const state = mergeOrderState(null, sb.normalizeEvent(event));
    assert.deepEqual(mergeOrderState(state, sb.normalizeEvent(foreign)), state);
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
    assert.equal(mergeOrderState(null, refused).last_event_id, null, 'never merged into an order');
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

  // Records cross from wasm packed (values only, NUL after each; see packed.rs): values with
  // NUL, control characters, non-ASCII text, nested objects, big and negative integers must
  // read back exactly as the CLI's JSON has them, keys in the same order.
  test('awkward values read back exactly as the Rust CLI gives them', { skip: !existsSync(cli) && 'build the CLI first (cargo build)' }, () => {
    // Fixed cases, then random strings of any code points (seeded, so a failure reproduces).
    let seed = 20261202;
    const rand = (n) => ((seed = (seed * 1103515245 + 12345) % 2147483648) % n);
    const pools = [[0, 32], [32, 127], [127, 2048], [0x2000, 0x2100], [0xe000, 0x10000], [0x10000, 0x10ffff]];
    const randomText = () => {
      let text = '';
      for (let n = rand(24); n > 0; n--) {
        const [lo, hi] = pools[rand(pools.length)];
        text += String.fromCodePoint(lo + rand(hi - lo));
      }
      return text;
    };
    const awkward = ['A\u0000B', '\u0001', 'Zoë 🧾 ß\n\t"\\', '', 'x'.repeat(300), '\u2028', ...Array.from({ length: 60 }, randomText)];
    const failed = JSON.parse(fixture('pi_succeeded_basil.json'));
    for (const [i, text] of awkward.entries()) {
      const event = structuredClone(failed);
      event.type = 'payment_intent.payment_failed';
      event.data.object.metadata = { order_id: text };
      event.data.object.status = 'requires_payment_method';
      event.data.object.last_payment_error = { code: 'card_declined', message: text, decline_code: i % 2 ? 'insufficient_funds' : undefined };
      event.data.object.amount = [0, 1, -1, 2 ** 53 + 1, 9007199254740993, 999999999999][i % 6] + (i >= 6 ? rand(1e9) : 0);
      const bytes = Buffer.from(JSON.stringify(event));
      const expected = JSON.parse(execFileSync(cli, ['normalize'], { input: bytes }));
      const got = sb.normalizeEvent(bytes);
      assert.deepEqual(got, expected, JSON.stringify(text));
      assert.deepEqual(Object.keys(got), Object.keys(expected));
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
