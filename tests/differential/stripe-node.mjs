// Reference side of the differential test: signs and verifies Stripe-Signature headers with the
// real npm `stripe` package (runs offline; no API calls). Driven by tests/differential_stripe_node.rs.
//
// stdin:  {"op":"sign","cases":[{"payload":"...","secret":"...","timestamp":123}]}
//      or {"op":"verify","cases":[{"payload":"...","header":"...","secrets":["..."],"tolerance":300,"now":123}]}
// stdout: {"headers":["t=...,v1=..."]}  or  {"results":[{"ok":true}|{"ok":false,"error":"..."}]}
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const Stripe = require('stripe');
const stripe = Stripe('sk_test_differential_offline');

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const input = JSON.parse(Buffer.concat(chunks).toString('utf8'));

function verifyAny(c) {
  // stripe-node takes one secret; a webhook with several accepts when any of them verifies.
  let last;
  for (const secret of c.secrets) {
    try {
      stripe.webhooks.signature.verifyHeader(c.payload, c.header, secret, c.tolerance, undefined, c.now * 1000);
      return { ok: true };
    } catch (e) {
      last = e;
    }
  }
  return { ok: false, error: String(last && last.message), type: last && last.type };
}

let out;
if (input.op === 'sign') {
  out = {
    headers: input.cases.map((c) =>
      stripe.webhooks.generateTestHeaderString({ payload: c.payload, secret: c.secret, timestamp: c.timestamp }),
    ),
  };
} else if (input.op === 'verify') {
  out = { results: input.cases.map(verifyAny) };
} else {
  throw new Error(`unknown op ${input.op}`);
}
process.stdout.write(JSON.stringify(out));
