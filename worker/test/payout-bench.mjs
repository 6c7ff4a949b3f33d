#!/usr/bin/env node
// Benchmark: the Worker reconciles a payout of N balance transactions (default 10,000) from the
// Stripe API stand-in, one page per queue message, in workerd (Miniflare). Prints the time from
// the start to the kept result, the workerd process's CPU time (an upper bound of the Worker's
// own: it includes the Durable Object, Queues and Miniflare), the steps and the parts forwarded.
// Checks the result balances and matches the scenario's own figures; prints numbers, never
// fails on time.   node worker/test/payout-bench.mjs [--transactions 10000]
import { startFakeStripe } from '../../examples/fake-stripe-api.mjs';
import { payoutScenario } from '../../examples/stripe-scenarios.mjs';
import { ADMIN_TOKEN, startDownstream, startWorker, waitFor, workerdCpuMeter } from './harness.mjs';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const transactions = arg('transactions', 10000);
const STRIPE_SECRET_KEY = 'sk_test_51PayoutBenchKeyForTheLoopbackStandIn';
const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };

const scenario = payoutScenario({ seed: 'bench', transactions, refundMetadata: false });
const stripe = await startFakeStripe({ apiKey: STRIPE_SECRET_KEY });
stripe.seed(scenario);
const downstream = await startDownstream();
const mf = await startWorker({
  downstreamUrl: downstream.url,
  vars: { STRIPE_SECRET_KEY, STRIPE_API_BASE: stripe.url, STRIPE_FILES_BASE: stripe.url },
});
const cpu = workerdCpuMeter();
try {
  const id = scenario.expected.payoutId;
  const cpu0 = cpu();
  const t0 = performance.now();
  const started = await mf.dispatchFetch(`http://worker/payouts/${id}/reconcile`, { method: 'POST', headers: auth });
  if (started.status !== 202) throw new Error(`not started: ${started.status} ${await started.text()}`);
  const body = await waitFor(
    async () => {
      const res = await mf.dispatchFetch(`http://worker/payouts/${id}`, { headers: auth });
      const b = res.status === 200 ? await res.json() : null;
      return b && (b.status === 'done' || b.status === 'failed') ? b : null;
    },
    { ms: 600000, what: 'the reconciliation' },
  );
  const ms = performance.now() - t0;
  const cpuS = cpu() - cpu0;
  const r = body.reconciliation;
  if (body.status !== 'done' || !r.balanced || r.lines.length !== scenario.expected.lineCount || r.net_minor !== scenario.expected.netTotal) {
    throw new Error(`wrong result: ${JSON.stringify({ status: body.status, error: body.error, balanced: r?.balanced, lines: r?.lines.length })}`);
  }
  const gets = stripe.requests.filter((q) => q.method === 'GET');
  const pages = gets.filter((q) => q.path.startsWith('/v1/balance_transactions?')).length;
  const lookups = gets.filter((q) => /^\/v1\/(charges|payment_intents)\//.test(q.path)).length;
  const parts = await waitFor(() => {
    const got = downstream.delivered().filter((d) => d.id?.startsWith(`${id}.`));
    return got.length > 0 && got.length >= JSON.parse(got[0].body).parts ? got : null;
  });
  console.log(`payout reconciliation in the Worker (workerd via Miniflare, ${transactions} transactions, stand-in on 127.0.0.1)`);
  console.log(`  result        balanced, ${r.lines.length} lines, ${Object.keys(r.orders).length} orders, ${r.payout_amount} ${r.currency}`);
  console.log(`  steps         ${pages} pages of 100 + ${Math.ceil(lookups / 40)} lookup steps (${lookups} charges/PaymentIntents of older payments), one queue message each; at most 41 Stripe calls per invocation`);
  console.log(`  time          ${(ms / 1000).toFixed(2)} s from the start to the kept result (${(ms / (pages + Math.ceil(lookups / 40))).toFixed(1)} ms per step, queue latency included)`);
  console.log(`  CPU           ${cpuS.toFixed(2)} s of the workerd process in all (${((1000 * cpuS) / (pages + Math.ceil(lookups / 40))).toFixed(1)} ms per step: Worker, Durable Object, Queues and Miniflare together, an upper bound of the Worker's own)`);
  console.log(`  forwarded     ${parts.length} parts (each within a queue message's 128 KB)`);
} finally {
  await mf.dispose();
  await stripe.close();
  await downstream.close();
}
