// The native HMAC providers (pkg-js/js/runtime.mjs) against Node's createHmac, the oracle:
// random secrets (multi-byte, longer than SHA-256's 64-byte block), bodies of every size (past
// the reused message buffer and its limit), string and byte payloads, several secrets. The
// one-shot-hash provider gives inner digests: the test finishes them itself (RFC 2104's outer
// hash, written here) before comparing; the core's finishing is checked in src/signature.rs.
import assert from 'node:assert/strict';
import * as nodeCrypto from 'node:crypto';
import { test } from 'node:test';
import { innerDigestsWithHash, macsWith, nodeCryptoMacs } from '../js/runtime.mjs';
import { rng } from './helpers.mjs';

const hasHash = typeof nodeCrypto.hash === 'function'; // Node >= 20.12
const skip = hasHash ? false : 'node:crypto has no one-shot hash (Node < 20.12)';

const ALPHABET = ['a', 'Z', '0', '_', ' ', 'é', '€', '😀', '\ud800', '\u0000'];

function randomText(next, length) {
  let s = '';
  while (s.length < length) s += ALPHABET[Math.floor(next() * ALPHABET.length)];
  return s;
}

function oracle(secrets, timestamp, payload) {
  return Buffer.concat(secrets.map((s) => nodeCrypto.createHmac('sha256', s).update(`${timestamp}.`).update(payload).digest()));
}

/** RFC 2104's outer hash over 32-byte inner digests, one per secret. */
function finished(secrets, inners) {
  return Buffer.concat(
    secrets.map((secret, i) => {
      let key = Buffer.from(secret);
      if (key.length > 64) key = nodeCrypto.createHash('sha256').update(key).digest();
      const opad = Buffer.alloc(64, 0x5c).map((b, j) => b ^ (key[j] ?? 0));
      return nodeCrypto.createHash('sha256').update(opad).update(inners.subarray(32 * i, 32 * i + 32)).digest();
    }),
  );
}

/** A provider's result as full MACs. */
const macsOf = (macs, secrets, inners) => (macs.inner === true ? finished(secrets, Buffer.from(inners)) : Buffer.from(inners));

const providers = {
  ...(hasHash ? { 'one-shot hash': innerDigestsWithHash(nodeCrypto.hash) } : {}),
  createHmac: macsWith(nodeCrypto.createHmac),
  'nodeCryptoMacs without hash (Node 18)': nodeCryptoMacs({ createHmac: nodeCrypto.createHmac }),
};

test('the fast provider is chosen only for a hash that gives SHA-256 as bytes', { skip }, () => {
  assert.equal(nodeCryptoMacs(nodeCrypto).inner, true);
  const hex = (alg, data) => nodeCrypto.hash(alg, data, 'hex');
  for (const hash of [hex, () => new Uint8Array(32), () => { throw new Error('no'); }, undefined]) {
    const macs = nodeCryptoMacs({ hash, createHmac: nodeCrypto.createHmac });
    assert.notEqual(macs.inner, true);
    assert.deepEqual(Buffer.from(macs(['whsec_a'], 1, 'x')), oracle(['whsec_a'], 1, 'x'));
  }
});

for (const [label, macs] of Object.entries(providers)) {
  test(`${label}: equal to createHmac for random secrets, bodies and timestamps`, () => {
    const next = rng(1307);
    const sizes = [0, 1, 63, 64, 65, 3000, 16 * 1024, 16 * 1024 + 1, 40_000, 1024 * 1024 + 7];
    for (let i = 0; i < 300; i++) {
      const secrets = Array.from({ length: 1 + Math.floor(next() * 3) }, () => `whsec_${randomText(next, Math.floor(next() * 120))}`);
      const size = i < sizes.length ? sizes[i] : Math.floor(next() * 5000);
      const text = randomText(next, size);
      const payload = i % 2 === 0 ? text : Buffer.from(text);
      const timestamp = Math.floor(next() * 2 ** 33) - (i % 7 === 0 ? 2 ** 32 : 0);
      const got = macsOf(macs, secrets, macs(secrets, timestamp, payload));
      assert.deepEqual(got, oracle(secrets, timestamp, payload), `case ${i}: ${secrets.length} secret(s), ${size} units`);
    }
  });
}

test('one-shot hash: a body changed between calls gives its own MAC (nothing kept from the last call)', { skip }, () => {
  const macs = innerDigestsWithHash(nodeCrypto.hash);
  assert.equal(macs.inner, true);
  const mac = (secrets, t, body) => macsOf(macs, secrets, macs(secrets, t, body));
  const body = Buffer.from('{"id":"evt_1"}');
  const first = mac(['whsec_a'], 1, body);
  body[2] ^= 1;
  assert.deepEqual(mac(['whsec_a'], 1, body), oracle(['whsec_a'], 1, body));
  assert.notDeepEqual(mac(['whsec_a'], 1, body), first);
  // The key cache holds 32 secrets; older ones are prepared again when they come back.
  for (let i = 0; i < 40; i++) assert.deepEqual(mac([`whsec_${i}`], 2, body), oracle([`whsec_${i}`], 2, body));
  assert.deepEqual(mac(['whsec_0', 'whsec_39'], 3, body), oracle(['whsec_0', 'whsec_39'], 3, body));
});
