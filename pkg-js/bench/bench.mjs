#!/usr/bin/env node
// Prints ops/s of stripe-bridge's webhook functions against stripe-node's, on real Stripe
// payloads: in Node (one process) and inside workerd (Miniflare). Numbers, not pass/fail.
//   node pkg-js/bench/bench.mjs [--quick]
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { build } from 'esbuild';
import * as sb from '../dist/node.mjs';
import { pkgDir, realFixturesDir, ownFixturesDir } from '../test/helpers.mjs';
import { workerd } from '../test/workerd-harness.mjs';

const require = createRequire(import.meta.url);
const stripe = require('stripe')('sk_test_bench_offline');
const quick = process.argv.includes('--quick');
const SECRET = 'whsec_bench_0123456789abcdefghijklmnopqrstuv';
const FIXTURES = [
  [realFixturesDir, 'charge_succeeded.json'],
  [realFixturesDir, 'checkout_session_completed.json'],
  [realFixturesDir, 'charge_refunded.json'],
  [ownFixturesDir, 'invoice_paid_basil.json'],
];

// ops/s from the process's CPU time (user + system), not the wall clock: on a shared machine
// time spent descheduled would count against whichever case was running. Best of several
// rounds, the cases interleaved so drift hits all of them alike.
function cpuOpsPerSec(fn, ms) {
  let n = 0;
  const start = process.cpuUsage();
  let used = 0;
  while (used < ms * 1000) {
    for (let i = 0; i < 200; i++) fn();
    n += 200;
    const d = process.cpuUsage(start);
    used = d.user + d.system;
  }
  return (n * 1e6) / used;
}

function bestOpsPerSec(cases, { rounds = quick ? 3 : 7, ms = quick ? 60 : 150 } = {}) {
  const best = Object.fromEntries(Object.keys(cases).map((k) => [k, 0]));
  for (const fn of Object.values(cases)) for (let i = 0; i < 500; i++) fn();
  for (let round = 0; round < rounds; round++) {
    for (const [label, fn] of Object.entries(cases)) best[label] = Math.max(best[label], cpuOpsPerSec(fn, ms));
  }
  return best;
}

const fmt = (x) => Math.round(x).toLocaleString('en-US').padStart(9);
const rows = [];
console.log('Node', process.version, '— ops/s (higher is better); ratio = ours / stripe-node constructEvent');
for (const [dir, name] of FIXTURES) {
  const body = readFileSync(join(dir, name), 'utf8');
  const buf = Buffer.from(body);
  const t = Math.floor(Date.now() / 1000);
  const header = stripe.webhooks.generateTestHeaderString({ payload: body, secret: SECRET, timestamp: t });
  const cases = bestOpsPerSec({
    'stripe-node constructEvent': () => stripe.webhooks.constructEvent(body, header, SECRET),
    'ours constructEvent': () => sb.constructEvent(body, header, SECRET),
    'ours verifyHeader': () => sb.verifyHeader(body, header, SECRET),
    'ours verifyAndNormalize(string)': () => sb.verifyAndNormalize(body, header, SECRET),
    'ours verifyAndNormalize(Buffer)': () => sb.verifyAndNormalize(buf, header, SECRET),
    'ours normalizeEvent(Buffer)': () => sb.normalizeEvent(buf),
    'JSON.parse alone': () => JSON.parse(body),
  });
  const base = cases['stripe-node constructEvent'];
  console.log(`\n${name} (${buf.length} B)`);
  for (const [label, ops] of Object.entries(cases)) {
    console.log(`  ${label.padEnd(34)} ${fmt(ops)} ops/s  ${(ops / base).toFixed(2)}x`);
  }
  rows.push({ name, base, ...cases });
}

// workerd: stripe-node's Worker build with its SubtleCrypto provider (async; sync crypto does
// not exist there) versus our synchronous calls.
await build({
  stdin: { contents: "export { default } from 'stripe';", resolveDir: pkgDir },
  bundle: true,
  format: 'esm',
  platform: 'neutral',
  conditions: ['worker', 'browser'],
  mainFields: ['module', 'main'],
  outfile: join(pkgDir, 'build/stripe-worker.mjs'),
  logLevel: 'error',
});
// Two Workers: without flags our synchronous functions hash in wasm and the *Async ones with
// Web Crypto; with nodejs_compat both use workerd's native node:crypto. stripe-node's
// constructEventAsync (Web Crypto either way) is timed in the first. `-bytes`: the body passed
// as bytes (as `request.arrayBuffer()` gives it) instead of text.
const WORKERD_IMPLS = ['ours-verifyHeader', 'ours-constructEvent', 'ours-verifyAndNormalize', 'ours-constructEventAsync', 'ours-verifyAndNormalizeAsync', 'ours-verifyAndNormalizeAsync-bytes'];
const worker = (flags) => workerd({ script: 'bench/worker.mjs', flags, bindings: { SECRET } });
const plain = worker([]);
const compat = worker(['nodejs_compat']);
try {
  const { version } = (await import('miniflare/package.json', { with: { type: 'json' } })).default;
  console.log(`\nworkerd (Miniflare ${version}) — ops/s; ratio = ours / stripe-node constructEventAsync (SubtleCrypto)`);
  const n = quick ? 1000 : 4000;
  for (const [dir, name] of FIXTURES) {
    const body = readFileSync(join(dir, name), 'utf8');
    const t = Math.floor(Date.now() / 1000);
    const header = stripe.webhooks.generateTestHeaderString({ payload: body, secret: SECRET, timestamp: t });
    const timed = async (mf, impl, count) => {
      const start = process.hrtime.bigint();
      const res = await mf.dispatchFetch(`http://bench/?impl=${impl}&n=${count}&t=${t}`, { method: 'POST', body, headers: { 'stripe-signature': header } });
      const json = await res.json();
      if (!json.ok) throw new Error(`${impl} failed: ${JSON.stringify(json)}`);
      return Number(process.hrtime.bigint() - start);
    };
    // Every case is timed once per round, the rounds interleaved (a slower spell of the machine
    // falls on all cases alike); best of the rounds, each minus the cost of an empty loop of the
    // same length (its least over a few tries: a noisy empty round must not make a round look free).
    const cases = [[plain, 'stripe-constructEventAsync', 'stripe-node constructEventAsync']];
    for (const [mf, label] of [[plain, 'no flags'], [compat, 'nodejs_compat']]) {
      for (const impl of WORKERD_IMPLS) cases.push([mf, impl, `${impl.replace('-', ' ').replace('-bytes', ' (bytes)')} (${label})`]);
    }
    const overhead = new Map();
    for (const mf of [plain, compat]) {
      let least = Infinity;
      for (let i = 0; i < 5; i++) least = Math.min(least, await timed(mf, 'none', n));
      overhead.set(mf, least);
    }
    for (const [mf, impl] of cases) await timed(mf, impl, 200);
    const best = cases.map(() => 0);
    for (let round = 0; round < (quick ? 3 : 7); round++) {
      for (const [i, [mf, impl]] of cases.entries()) {
        const total = await timed(mf, impl, n);
        if (total > overhead.get(mf)) best[i] = Math.max(best[i], (n * 1e9) / (total - overhead.get(mf)));
      }
    }
    console.log(`\n${name} (${Buffer.byteLength(body)} B)`);
    for (const [i, [, , label]] of cases.entries()) {
      console.log(`  ${label.padEnd(52)} ${fmt(best[i])} ops/s  ${(best[i] / best[0]).toFixed(2)}x`);
    }
  }
} finally {
  await plain.dispose();
  await compat.dispose();
}
