// Differential fuzzing against the Node references (run by `make fuzz`):
// - Stripe-Signature: our npm verifyHeader / constructEvent / verifyAndNormalize against
//   stripe-node's webhooks (signature.verifyHeader, constructEvent), on mutated headers,
//   payloads, timestamps and secrets: the same accept/refuse, except where we are stricter or
//   more lenient on purpose (README; each such case is checked to be exactly that).
// - Standard Webhooks: our verifyStandardWebhook against the npm `standardwebhooks` package.
// Usage: node fuzz/differential/webhooks.mjs [--seconds 30] [--cases N] [--seed S]
// A disagreement prints the case as JSON and exits 1.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const require = createRequire(join(root, 'package.json'));
const stripe = require('stripe')('sk_test_differential_offline');
const { Webhook } = require('standardwebhooks');
const sb = await import(join(root, 'pkg-js/dist/node.mjs'));

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const seconds = arg('seconds', 30);
const maxCases = arg('cases', Infinity);
let seed = BigInt(arg('seed', Date.now() % 1e9));
const startSeed = seed;
const rand = () => {
  seed ^= seed >> 12n; seed ^= (seed << 25n) & 0xffffffffffffffffn; seed ^= seed >> 27n;
  return Number(((seed * 0x2545f4914f6cdd1dn) & 0xffffffffffffffffn) >> 11n) / 2 ** 53;
};
const int = (n) => Math.floor(rand() * n);
const pick = (list) => list[int(list.length)];
const ALPHABET = ['a', 'f', '0', '9', 'F', ' ', '\t', ',', '=', 't', 'v', '1', '0', '-', '+', '.', '"', '{', '}', 'é', '😀', '\n', 'A', '/', '_'];

function mutate(s, times) {
  for (let k = 0; k < times; k++) {
    const chars = [...s];
    const i = int(chars.length + 1);
    switch (int(6)) {
      case 0: chars.splice(i, 0, pick(ALPHABET)); break; // insert
      case 1: chars.splice(i, 1); break; // delete
      case 2: chars.splice(i, 1, pick(ALPHABET)); break; // replace
      case 3: { const j = int(chars.length + 1); chars.splice(i, 0, ...chars.slice(Math.min(i, j), Math.max(i, j))); break; } // duplicate a run
      case 4: if (chars[i]) chars[i] = chars[i] === chars[i].toUpperCase() ? chars[i].toLowerCase() : chars[i].toUpperCase(); break;
      default: chars.splice(i, 0, ' '); break;
    }
    s = chars.join('');
  }
  return s;
}

function kind(fn) {
  try { fn(); return 'ok'; } catch (e) { return e.code || e.name || String(e.message).slice(0, 40); }
}
const theirsStripe = (payload, header, secret, tolerance, now) =>
  kind(() => stripe.webhooks.signature.verifyHeader(payload, header, secret, tolerance, undefined, now * 1000));

/** Why our answer may differ from stripe-node's here (documented deliberate differences), or null. */
function deliberate(c, ours, theirs) {
  const items = c.header.split(',').map((i) => i.split('='));
  if (ours === 'ok') {
    // We ignore spaces around items, keys and values; stripe-node does not.
    const tidy = items.map((kv) => kv.map((x) => x.trim()).join('=')).join(',');
    if (theirsStripe(c.payload, tidy, c.secret, c.tolerance, c.now) === 'ok') return 'spaces';
    // We skip a v1 that is not 64 lower-case hex digits; stripe-node compares it and throws
    // (crypto.timingSafeEqual's RangeError when a non-ASCII character changes its byte length).
    const wellFormed = items
      .filter(([k, ...v]) => k.trim() !== 'v1' || /^[0-9a-f]{64}$/.test(v.join('=').trim()))
      .map((kv) => kv.map((x) => x.trim()).join('=')).join(',');
    return theirsStripe(c.payload, wellFormed, c.secret, c.tolerance, c.now) === 'ok' ? 'malformed_v1_skipped' : null;
  }
  const ts = items.filter(([k]) => k.trim() === 't').map(([, ...v]) => v.join('=').trim());
  if (ours === 'timestamp_outside_tolerance' && ts.length && Number(ts[0]) > c.now) return 'future'; // we check both sides
  if (ours === 'malformed_header' && (ts.some((t) => !/^[0-9]+$/.test(t)) || new Set(ts).size > 1)) return 'lenient_t';
  // stripe-node reads `v1=<hex>=junk` as `<hex>` (split on "=", extra parts dropped); we skip it.
  if ((ours === 'no_signatures' || ours === 'no_match') && items.some(([k, ...v]) => k.trim() === 'v1' && v.length > 1)) return 'v1_with_extra_equals';
  if (ours === 'no_signatures' || ours === 'no_match') {
    // stripe-node reads `t=` with parseInt and takes the first v1 after a leading space only
    // in its own way; we decide on the trimmed items: both checked by the spaces rule above.
    const tidy = items.map((kv) => kv.map((x) => x.trim()).join('=')).join(',');
    if (tidy !== c.header) return 'spaces';
  }
  return null;
}

function stripeCase() {
  const now = 1_700_000_000 + int(1e8);
  const tolerance = pick([300, 1, 600]);
  const t = now + int(2 * tolerance + 1) - tolerance;
  let payload = JSON.stringify({ id: `evt_${int(1e6)}`, object: 'event', type: pick(['payment_intent.succeeded', 'charge.refunded']), created: t, data: { object: { id: 'pi_1', object: 'payment_intent', amount: int(1e5), currency: 'usd', status: 'succeeded', metadata: { order_id: `A-${int(100)}` } } } });
  let secret = `whsec_${int(2 ** 52).toString(36)}`;
  let header = stripe.webhooks.generateTestHeaderString({ payload, secret, timestamp: t });
  const extra = int(4);
  if (extra === 1) header = `${header},v0=${'0'.repeat(64)}`;
  if (extra === 2) header = `t=${t},v1=${'a'.repeat(64)},${header.split(',')[1]}`;
  const target = int(5);
  const times = 1 + int(3);
  if (target === 0) header = mutate(header, times);
  else if (target === 1) payload = mutate(payload, times);
  else if (target === 2) secret = mutate(secret, times);
  else if (target === 3) header = header.replace(/t=\d+/, `t=${t + pick([-1, 1, tolerance, -tolerance - 1, 10 ** 12])}`);
  // target 4: unmutated (must be accepted by both).
  return { payload, header, secret, tolerance, now, target };
}

function swCase(now) {
  const key = Buffer.from(Array.from({ length: 24 }, () => int(256))).toString('base64');
  let secret = `whsec_${key}`;
  const wh = new Webhook(secret);
  const id = `msg_${int(1e9).toString(36)}`;
  const ts = now - pick([0, 5, 200, -200, 400, -400]);
  let payload = JSON.stringify({ order_ref: `A-${int(100)}`, status: pick(['paid', 'refunded']), amount: `${int(1e4)}.00` });
  const headers = { 'webhook-id': id, 'webhook-timestamp': String(ts), 'webhook-signature': wh.sign(id, new Date(ts * 1000), payload) };
  const target = int(6);
  const times = 1 + int(3);
  if (target === 0) headers['webhook-signature'] = mutate(headers['webhook-signature'], times);
  else if (target === 1) payload = mutate(payload, times);
  else if (target === 2) headers['webhook-id'] = mutate(headers['webhook-id'], times);
  else if (target === 3) headers['webhook-timestamp'] = mutate(headers['webhook-timestamp'], times);
  else if (target === 4) secret = `whsec_${mutate(key, times)}`;
  return { payload, headers, secret, target };
}

const started = Date.now();
const tally = { stripe: 0, stripeOk: 0, deliberate: {}, sw: 0, swOk: 0, swDeliberate: 0 };
function fail(what, c, ours, theirs) {
  console.error(`differential: ${what} disagree (seed ${startSeed}): ours=${ours} theirs=${theirs}\n${JSON.stringify(c)}`);
  process.exit(1);
}
let n = 0;
while (n < maxCases && Date.now() - started < seconds * 1000) {
  n++;
  const c = stripeCase();
  const ours = kind(() => sb.verifyHeader(c.payload, c.header, c.secret, { tolerance: c.tolerance, now: c.now }));
  const theirs = theirsStripe(c.payload, c.header, c.secret, c.tolerance, c.now);
  tally.stripe++;
  if (c.target === 4 && (ours !== 'ok' || theirs !== 'ok')) fail('unmutated Stripe signature', c, ours, theirs);
  if ((ours === 'ok') !== (theirs === 'ok')) {
    const why = deliberate(c, ours, theirs);
    if (!why) fail('Stripe-Signature', c, ours, theirs);
    tally.deliberate[why] = (tally.deliberate[why] || 0) + 1;
  } else if (ours === 'ok') tally.stripeOk++;
  // Our other entry points decide the same as verifyHeader.
  const viaEvent = kind(() => sb.constructEvent(c.payload, c.header, c.secret, { tolerance: c.tolerance, now: c.now }));
  const viaNormalize = kind(() => sb.verifyAndNormalize(c.payload, c.header, c.secret, { tolerance: c.tolerance, now: c.now }));
  if (ours !== 'ok' && (viaEvent === 'ok' || viaNormalize === 'ok')) fail('constructEvent/verifyAndNormalize vs verifyHeader', c, viaEvent + '/' + viaNormalize, ours);
  if (ours === 'ok' && theirs === 'ok') {
    // Both accept: stripe-node's constructEvent parses the same JSON we do (when it is JSON).
    const theirEvent = kind(() => stripe.webhooks.constructEvent(c.payload, c.header, c.secret, c.tolerance, undefined, c.now * 1000));
    if ((viaEvent === 'ok') !== (theirEvent === 'ok')) fail('constructEvent', c, viaEvent, theirEvent);
  }

  const now = Math.floor(Date.now() / 1000);
  const s = swCase(now);
  const swOurs = kind(() => sb.verifyStandardWebhook(s.payload, s.headers, s.secret, { now }));
  const swTheirs = kind(() => new Webhook(s.secret).verify(s.payload, s.headers));
  tally.sw++;
  if ((swOurs === 'ok') !== (swTheirs === 'ok')) {
    // Deliberate: we read the timestamp as digits only (the package uses parseInt: "123abc").
    const t = s.headers['webhook-timestamp'];
    const key = s.secret.replace(/^whsec_/, '');
    const canonical = Buffer.from(key, 'base64').toString('base64') === key && key.length > 0;
    if (swTheirs === 'ok' && !/^\s*[0-9]+\s*$/.test(t)) tally.swDeliberate++;
    // Deliberate: a secret that is not canonical base64 is a configuration error for us
    // (invalid_secret); the package decodes it leniently into some other key.
    else if (swOurs === 'invalid_secret' && !canonical) tally.swDeliberate++;
    // Deliberate: the package reads `v1,<sig>,junk` as `<sig>` (extra parts dropped); we refuse it.
    else if (swTheirs === 'ok' && s.headers['webhook-signature'].split(' ').some((e) => e.split(',').length > 2)) tally.swDeliberate++;
    // Deliberate: we trim whitespace around the secret (a secret pasted into an env file often
    // ends with a newline); the package fails to decode it. Exactly that case: the trimmed
    // secret must give the package our answer.
    else if (swOurs === 'ok' && s.secret !== s.secret.trim() && kind(() => new Webhook(s.secret.trim()).verify(s.payload, s.headers)) === 'ok') tally.swDeliberate++;
    else fail('Standard Webhooks', s, swOurs, swTheirs);
  } else if (swOurs === 'ok') tally.swOk++;
}
console.log(`differential: ${tally.stripe} Stripe-Signature cases (${tally.stripeOk} accepted by both, deliberate differences ${JSON.stringify(tally.deliberate)}), ${tally.sw} Standard Webhooks cases (${tally.swOk} accepted by both, ${tally.swDeliberate} deliberate), seed ${startSeed}, ${((Date.now() - started) / 1000).toFixed(1)} s`);
