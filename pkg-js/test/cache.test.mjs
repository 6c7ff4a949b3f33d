// The package's one cache rule (pkg-js/js/cache.mjs): at most 32 entries, the oldest made is
// dropped and handed back (to be freed). Then end to end: verifiers, normalizers and mapping
// profiles past the limit, including the ones the fast paths keep aside (the last secret, the
// default options), still work after they were dropped and freed.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, test } from 'node:test';
import { CACHE_LIMIT, cached } from '../js/cache.mjs';
import * as nodeApi from '../dist/node.mjs';
import * as targets from '../dist/targets-node.mjs';
import { wasmOnlyApi } from './helpers.mjs';

test('cached: made once, oldest made dropped first, nothing kept or dropped when making throws', () => {
  const map = new Map();
  const dropped = [];
  let made = 0;
  const get = (key) => cached(map, key, () => ({ key, n: ++made }), (value, k) => dropped.push([k, value.key]));
  for (let i = 0; i < CACHE_LIMIT; i++) get(i);
  assert.equal(get(0).n, 1, 'a kept value is not made again');
  assert.equal(made, CACHE_LIMIT);
  assert.deepEqual(dropped, []);
  get(CACHE_LIMIT);
  assert.deepEqual(dropped, [[0, 0]], 'the first made goes first, even though it was used last');
  get(CACHE_LIMIT + 1);
  assert.deepEqual(dropped, [[0, 0], [1, 1]]);
  assert.equal(map.size, CACHE_LIMIT);
  assert.throws(() => cached(map, 'bad', () => { throw new Error('no'); }, () => assert.fail('dropped')), /no/);
  assert.equal(map.size, CACHE_LIMIT);
  assert.equal(map.has('bad'), false);
  assert.equal(get(0).n, CACHE_LIMIT + 3, 'a dropped key is made again');
});

const T = 1700000000;
const EVENT = '{"id":"evt_1","object":"event","type":"charge.succeeded","created":1,"data":{"object":{"id":"ch_1","object":"charge","amount":1050,"currency":"eur","paid":true,"metadata":{"order_id":"42"}}}}';
const sign = (secret) => `t=${T},v1=${createHmac('sha256', secret).update(`${T}.`).update(EVENT).digest('hex')}`;

for (const [label, getApi] of [
  ['node entry', async () => nodeApi],
  ['wasm-only entry', wasmOnlyApi],
]) {
  describe(label, async () => {
    const sb = await getApi();
    test('the last secret, dropped from the verifier cache and freed, verifies again', () => {
      const opts = { now: T };
      assert.equal(sb.verifyHeader(EVENT, sign('whsec_first'), 'whsec_first', opts), true);
      // Lists of secrets are cached but never become "the last secret".
      for (let i = 0; i <= CACHE_LIMIT; i++) {
        const secrets = [`whsec_${i}_a`, `whsec_${i}_b`];
        assert.equal(sb.verifyHeader(EVENT, sign(secrets[1]), secrets, opts), true);
      }
      assert.equal(sb.verifyHeader(EVENT, sign('whsec_first'), 'whsec_first', opts), true);
      const record = sb.verifyAndNormalize(EVENT, sign('whsec_first'), 'whsec_first', opts);
      assert.equal(record.amount, '10.50');
      assert.throws(() => sb.verifyHeader(EVENT, sign('whsec_other'), 'whsec_first', opts), (e) => e.code === 'no_match');
    });

    test('the default normalizer, dropped and freed, normalizes again', () => {
      const first = sb.normalizeEvent(EVENT);
      for (let i = 0; i <= CACHE_LIMIT; i++) {
        assert.equal(sb.normalizeEvent(EVENT, { orderKeys: [`key_${i}`, 'order_id'] }).order_ref, '42');
      }
      assert.deepEqual(sb.normalizeEvent(EVENT), first);
    });
  });
}

test('mapping profiles past the limit are made again when they come back', () => {
  const record = nodeApi.normalizeEvent(EVENT);
  const mapping = (i) => ({ fields: { [`field_${i}`]: { path: 'amount' } } });
  const first = targets.mapToTarget(record, mapping(0));
  for (let i = 1; i <= CACHE_LIMIT + 1; i++) assert.deepEqual(targets.mapToTarget(record, mapping(i)), { [`field_${i}`]: '10.50' });
  assert.deepEqual(targets.mapToTarget(record, mapping(0)), first);
});
