// Differential test against stripe-node (npm `stripe`, offline) in one Node process:
// 10,000 random cases per entry point (half signed by stripe-node, half by us), each verified
// by both; accept/reject outcomes and error kinds must be identical except where we are
// stricter on purpose (listed in README; asserted here case by case).
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import * as nodeApi from '../dist/node.mjs';
import { rng, wasmOnlyApi } from './helpers.mjs';

const require = createRequire(import.meta.url);
const stripe = require('stripe')('sk_test_differential_offline');
const CASES = 10_000;

const PARTS = ['a', 'Z', '0', ' ', '\n', '"', '\\', '{', '}', ':', ',', 'é', '€', '日本', '😀', 'evt_', '='];
const MUTATIONS = ['none', 'none', 'none', 'tamper', 'wrong_secret', 'rolled', 'extra_invalid_v1', 'extra_v0', 'only_v0', 'old', 'future', 'spaces', 'lenient_t', 'duplicate_t', 'uppercase_v1', 'short_v1'];
// Where we differ on purpose: [stripe-node, ours].
const DELIBERATE = {
  future: ['ok', 'timestamp_outside_tolerance'],
  spaces: ['no_signatures', 'ok'],
  lenient_t: ['ok', 'malformed_header'],
  duplicate_t: ['ok', 'malformed_header'],
  uppercase_v1: ['no_match', 'no_signatures'],
  short_v1: ['no_match', 'no_signatures'],
};

function kind(fn) {
  try {
    fn();
    return 'ok';
  } catch (e) {
    if (e.code && e.type === 'StripeSignatureVerificationError') return e.code;
    const m = String(e.message);
    if (m.includes('No signatures found matching')) return 'no_match';
    if (m.includes('No signatures found with expected scheme')) return 'no_signatures';
    if (m.includes('Unable to extract timestamp')) return 'malformed_header';
    if (m.includes('Timestamp outside the tolerance zone')) return 'timestamp_outside_tolerance';
    throw e;
  }
}

function nodeVerify(payload, header, secrets, tolerance, now) {
  let last;
  for (const s of secrets) {
    last = kind(() => stripe.webhooks.signature.verifyHeader(payload, header, s, tolerance, undefined, now * 1000));
    if (last === 'ok') return 'ok';
  }
  return last;
}

function makeCase(rand, signedByNode, sb) {
  const pick = (list) => list[Math.floor(rand() * list.length)];
  const mutation = pick(MUTATIONS);
  let payload = Array.from({ length: 1 + Math.floor(rand() * 200) }, () => pick(PARTS)).join('');
  const secret = `whsec_${Math.floor(rand() * 2 ** 52).toString(36)}`;
  const tolerance = 1 + Math.floor(rand() * 600);
  const t = 1_600_000_000 + Math.floor(rand() * 200_000_000);
  const skew = Math.floor(rand() * (tolerance + 1));
  let now = rand() < 0.5 ? t + skew : t - skew;
  if (mutation === 'old') now = t + tolerance + 1 + Math.floor(rand() * 1e5);
  if (mutation === 'future') now = t - tolerance - 1 - Math.floor(rand() * 1e5);
  let header = signedByNode
    ? stripe.webhooks.generateTestHeaderString({ payload, secret, timestamp: t })
    : sb.generateTestHeader({ payload, secret, timestamp: t });
  let secrets = [secret];
  const bogus = () => Array.from({ length: 64 }, () => '0123456789abcdef'[Math.floor(rand() * 16)]).join('');
  const sig = header.split(',v1=')[1];
  switch (mutation) {
    case 'tamper': payload += 'x'; break;
    case 'wrong_secret': secrets = [`${secret}_other`]; break;
    case 'rolled': secrets = ['whsec_old', secret]; break;
    case 'extra_invalid_v1': header = rand() < 0.5 ? `${header},v1=${bogus()}` : `t=${t},v1=${bogus()},v1=${sig}`; break;
    case 'extra_v0': header = `${header},v0=${bogus()}`; break;
    case 'only_v0': header = `t=${t},v0=${sig}`; break;
    case 'spaces': header = `t=${t}, v1=${sig}`; break;
    case 'lenient_t': header = `t=${t}abc,v1=${sig}`; break;
    case 'duplicate_t': header = `t=1,t=${t},v1=${sig}`; break;
    case 'uppercase_v1': header = `t=${t},v1=${sig.toUpperCase()}`; break;
    case 'short_v1': header = `t=${t},v1=deadbeef`; break;
  }
  return { mutation, payload, header, secrets, tolerance, now };
}

for (const [label, getApi] of [
  ['node entry (native HMAC)', async () => nodeApi],
  ['wasm-only entry', wasmOnlyApi],
]) {
  test(`${CASES} random cases vs stripe-node: ${label}`, async () => {
    const sb = await getApi();
    const rand = rng(label.length * 7919 + 20261122);
    const tally = { identical: 0, accepted: 0, deliberate: 0 };
    for (let i = 0; i < CASES; i++) {
      const c = makeCase(rand, i % 2 === 0, sb);
      const theirs = nodeVerify(c.payload, c.header, c.secrets, c.tolerance, c.now);
      const ours = kind(() => sb.verifyHeader(c.payload, c.header, c.secrets, { tolerance: c.tolerance, now: c.now }));
      const where = `case ${i} (${c.mutation}): ${JSON.stringify(c.header)}`;
      if (DELIBERATE[c.mutation]) {
        assert.deepEqual([theirs, ours], DELIBERATE[c.mutation], where);
        tally.deliberate++;
      } else {
        assert.equal(ours, theirs, where);
        tally.identical++;
        if (ours === 'ok') tally.accepted++;
      }
    }
    console.log(`differential (${label}): ${CASES} cases, ${tally.identical} identical (${tally.accepted} accepted), ${tally.deliberate} deliberate differences`);
    assert.ok(tally.identical >= 6000 && tally.accepted >= 2500);
  });
}
