// The Stripe API stand-in for the CLI's finance tests (tests/reconcile_cli.rs): seeds a payout
// with refunds of earlier payments (orders found through their charges) and a manual payout,
// asks the stand-in's Reporting API for the payout's itemized report and a balance summary,
// prints one JSON line `{ url, expected, manual, itemized, balance, interval }`, and serves
// until its standard input closes.
import { startFakeStripe } from '../../examples/fake-stripe-api.mjs';
import { manualPayoutScenario, payoutScenario } from '../../examples/stripe-scenarios.mjs';

const apiKey = process.env.STRIPE_SECRET_KEY;
const stripe = await startFakeStripe({ apiKey });
const main = payoutScenario({ seed: 'cli', transactions: Number(process.argv[2] || 250), refundMetadata: false });
const manual = manualPayoutScenario({ seed: 'cli' });
stripe.seed(main);
stripe.seed(manual);

const headers = { authorization: `Bearer ${apiKey}` };
const COLUMNS = [
  'balance_transaction_id', 'created_utc', 'available_on_utc', 'currency', 'gross', 'fee', 'net', 'reporting_category',
  'source_id', 'customer_facing_amount', 'customer_facing_currency', 'automatic_payout_id', 'payment_intent_id',
  'charge_id', 'payment_metadata[order_id]',
];

/** Runs a report at the stand-in, as a user would at Stripe, and downloads its file. */
async function report(type, parameters) {
  const body = new URLSearchParams([['report_type', type], ...parameters]);
  const run = await fetch(`${stripe.url}/v1/reporting/report_runs`, {
    method: 'POST',
    headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' },
    body: body.toString(),
  }).then((r) => r.json());
  if (!run.id) throw new Error(JSON.stringify(run));
  for (;;) {
    const done = await fetch(`${stripe.url}/v1/reporting/report_runs/${run.id}`, { headers }).then((r) => r.json());
    if (done.status === 'succeeded') return fetch(`${stripe.url}/v1/files/${done.result.id}/contents`, { headers }).then((r) => r.text());
    await new Promise((r) => setTimeout(r, 10));
  }
}

const payout = main.objects.find((o) => o.id === main.expected.payoutId);
const interval = { start: payout.created - 2 * 86400, end: payout.created + 1 };
const itemized = await report('payout_reconciliation.itemized.5', [
  ['parameters[payout]', main.expected.payoutId],
  ...COLUMNS.map((c) => ['parameters[columns][]', c]),
]);
const balance = await report('balance.summary.1', [
  ['parameters[interval_start]', String(interval.start)],
  ['parameters[interval_end]', String(interval.end)],
]);
console.log(JSON.stringify({ url: stripe.url, expected: main.expected, manual: manual.expected, itemized, balance, interval }));
process.stdin.on('end', async () => {
  await stripe.close();
  process.exit(0);
});
process.stdin.resume();
