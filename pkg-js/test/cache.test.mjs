// The package's one cache rule (pkg-js/js/cache.mjs): at most 32 entries, the oldest made is
// dropped and handed back (to be freed). Then end to end: verifiers, normalizers and mapping
// profiles past the limit, including the ones the fast paths keep aside (the last secret, the
// default options), still work after they were dropped and freed.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, test } from 'node:test';
import { CACHE_LIMIT, cached } from '../js/cache.mjs';
import { macsWithSubtle } from '../js/runtime.mjs';
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

// A getter, toJSON or headers.get of the caller's that calls the package again (here: enough
// new secrets, options or profiles to drop every cached object) must not free an object the
// outer call already holds, nor overwrite its body in the reused encoding buffer.
for (const [label, getApi] of [
  ['node entry', async () => nodeApi],
  ['wasm-only entry', wasmOnlyApi],
]) {
  describe(`${label}: re-entrant callers`, async () => {
    const sb = await getApi();
    const expected = sb.normalizeEvent(EVENT);
    const churnVerifiers = () => {
      for (let i = 0; i <= CACHE_LIMIT; i++) sb.verifyHeader(EVENT, sign(`whsec_churn_${i}`), `whsec_churn_${i}`, { now: T });
    };
    const churnNormalizers = () => {
      for (let i = 0; i <= CACHE_LIMIT; i++) sb.normalizeEvent(EVENT, { orderKeys: [`churn_${i}`] });
    };
    const churning = () => ({
      get now() {
        churnVerifiers();
        churnNormalizers();
        return T;
      },
    });

    test('options getters', async () => {
      for (const secret of ['whsec_first', ['whsec_x', 'whsec_first']]) {
        sb.verifyHeader(EVENT, sign('whsec_first'), secret, { now: T });
        assert.equal(sb.verifyHeader(EVENT, sign('whsec_first'), secret, churning()), true);
        assert.deepEqual(sb.verifyAndNormalize(EVENT, sign('whsec_first'), secret, churning()), expected);
        assert.deepEqual(sb.constructEvent(Buffer.from(EVENT), sign('whsec_first'), secret, churning()), JSON.parse(EVENT));
        assert.deepEqual(await sb.verifyAndNormalizeAsync(EVENT, sign('whsec_first'), secret, churning()), expected);
        assert.equal(await sb.verifyHeaderAsync(EVENT, sign('whsec_first'), secret, churning()), true);
      }
    });

    test('an event object whose toJSON normalizes other events', () => {
      const event = { toJSON: () => (churnNormalizers(), JSON.parse(EVENT)) };
      assert.deepEqual(sb.normalizeEvent(event), expected);
    });

    test('Standard Webhooks headers whose get verifies with other secrets', () => {
      const secret = 'whsec_' + Buffer.from('standard webhooks secret 0123456').toString('base64');
      const signed = sb.signStandardWebhook({ id: 'msg_1', payload: EVENT, secret, timestamp: T });
      const headers = {
        get(name) {
          for (let i = 0; i <= CACHE_LIMIT; i++) {
            const other = 'whsec_' + Buffer.from(`other secret number ${String(i).padStart(12, '0')}`).toString('base64');
            sb.signStandardWebhook({ id: 'msg_2', payload: `{"n":${i}}`, secret: other, timestamp: T });
          }
          sb.normalizeEvent('{"id":"evt_other","type":"charge.failed","created":2,"data":{"object":{}}}');
          return signed[name];
        },
      };
      assert.deepEqual(sb.verifyStandardWebhook(EVENT, headers, secret, { now: T }), JSON.parse(EVENT));
      // Only another string body through the reused encoding buffer, nothing dropped.
      const other = '{"id":"evt_other","type":"charge.failed","created":2,"data":{"object":{"amount":1}}}';
      const encoding = { get: (name) => (sb.normalizeEvent(other), signed[name]) };
      assert.deepEqual(sb.verifyStandardWebhook(EVENT, encoding, secret, { now: T }), JSON.parse(EVENT));
    });
  });
}

test('a record whose toJSON maps with other profiles', () => {
  const record = nodeApi.normalizeEvent(EVENT);
  const mapping = { fields: { total: { path: 'amount' } } };
  targets.mapToTarget(record, mapping);
  const churning = {
    toJSON() {
      for (let i = 0; i <= CACHE_LIMIT; i++) targets.mapToTarget(record, { fields: { [`f_${i}`]: { path: 'amount' } } });
      return record;
    },
  };
  assert.deepEqual(targets.mapToTarget(churning, mapping), { total: '10.50' });
});

test('Web Crypto keys: imported once per secret, again once dropped, a failed import retried', async () => {
  const imports = [];
  let failNext = false;
  const subtle = {
    importKey: async (format, raw) => {
      const secret = new TextDecoder().decode(raw);
      imports.push(secret);
      if (failNext) {
        failNext = false;
        throw new Error('import failed');
      }
      return { secret };
    },
    sign: async (alg, key, data) => createHmac('sha256', key.secret).update(data).digest().buffer,
  };
  const macs = macsWithSubtle(subtle);
  const body = new TextEncoder().encode(EVENT);
  const expect = (secret) => new Uint8Array(createHmac('sha256', secret).update(`${T}.`).update(EVENT).digest());
  for (let i = 0; i < 40; i++) assert.deepEqual(await macs([`whsec_${i}`], T, body), expect(`whsec_${i}`));
  for (let i = 39; i >= 8; i--) assert.deepEqual(await macs([`whsec_${i}`], T, body), expect(`whsec_${i}`));
  assert.equal(imports.length, 40, 'the 32 kept keys are not imported again');
  assert.deepEqual(await macs(['whsec_0'], T, body), expect('whsec_0'));
  assert.deepEqual(imports.slice(40), ['whsec_0'], 'a dropped key is imported again');
  // Two calls at once for a new secret share one import.
  await Promise.all([macs(['whsec_new'], T, body), macs(['whsec_new'], T, body)]);
  assert.equal(imports.filter((s) => s === 'whsec_new').length, 1);
  failNext = true;
  await assert.rejects(macs(['whsec_flaky'], T, body), /import failed/);
  assert.deepEqual(await macs(['whsec_flaky'], T, body), expect('whsec_flaky'), 'a failed import is tried again');
  assert.equal(imports.filter((s) => s === 'whsec_flaky').length, 2);
});
