// The CommonJS build: require() works synchronously, with the same API.
const assert = require('node:assert/strict');
const { test } = require('node:test');

test('require() gives the whole API, initialized', () => {
  const sb = require('../dist/node.cjs');
  for (const name of ['constructEvent', 'verifyHeader', 'verifyAndNormalize', 'normalizeEvent', 'statusConcern', 'generateTestHeader', 'toMinorUnits', 'fromMinorUnits', 'currencyExponent', 'StripeSignatureVerificationError', 'DEFAULT_TOLERANCE']) {
    assert.ok(name in sb, name);
  }
  // The order state is in stripe-bridge/targets.
  assert.ok(!('mergeOrderState' in sb) && !('upgradeOrderState' in sb));
  const body = '{"id":"evt_1","object":"event","type":"payment_intent.succeeded","created":1,"data":{"object":{"id":"pi_1","object":"payment_intent","amount":1999,"currency":"eur","status":"succeeded","metadata":{"order_id":"A"}}}}';
  const header = sb.generateTestHeader({ payload: body, secret: 'whsec_cjs', timestamp: 1 });
  const record = sb.verifyAndNormalize(body, header, 'whsec_cjs', { now: 1 });
  assert.equal(record.amount, '19.99');
  assert.equal(record.order_ref, 'A');
  assert.equal(sb.DEFAULT_TOLERANCE, 300);
});

test('require() of stripe-bridge/targets gives the order state, initialized', () => {
  const sb = require('../dist/node.cjs');
  const targets = require('../dist/targets-node.cjs');
  const body = '{"id":"evt_1","object":"event","type":"payment_intent.succeeded","created":1,"data":{"object":{"id":"pi_1","object":"payment_intent","amount":1999,"currency":"eur","status":"succeeded","metadata":{"order_id":"A"}}}}';
  const state = targets.mergeOrderState(null, sb.normalizeEvent(body));
  assert.equal(state.schema_version, 2);
  assert.equal(state.amount_paid, '19.99');
  assert.deepEqual(targets.upgradeOrderState(state), state);
});
