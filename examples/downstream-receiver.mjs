#!/usr/bin/env node
// A stand-in shop backend for local runs: receives the Worker's forwards on 127.0.0.1,
// verifies their Standard Webhooks signature (npm `standardwebhooks`, any such library works),
// prints one line per record and answers 200. Duplicate webhook-ids are reported, not re-applied.
//   DOWNSTREAM_SECRET=whsec_... node examples/downstream-receiver.mjs [port]
import { createServer } from 'node:http';
import { Webhook } from 'standardwebhooks';

const port = Number(process.argv[2] || process.env.DOWNSTREAM_PORT || 8788);
const secret = process.env.DOWNSTREAM_SECRET;
if (!secret) {
  console.error('set DOWNSTREAM_SECRET (the Standard Webhooks secret the Worker signs with)');
  process.exit(2);
}
const webhook = new Webhook(secret);
const seen = new Set();

createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks).toString('utf8');
    try {
      const forward = webhook.verify(body, req.headers);
      const id = req.headers['webhook-id'];
      const again = seen.has(id);
      seen.add(id);
      const head = `${again ? 'duplicate' : 'received '} ${id}`;
      if (typeof forward.sequence === 'number' && forward.state) {
        // A state forward (FORWARD=state): the order's whole state after a change.
        const { state } = forward;
        console.log(
          `${head} order.state order=${forward.order_ref} sequence=${forward.sequence} status=${state.status} ` +
            `paid=${state.amount_paid ?? '-'} refunded=${state.amount_refunded ?? '-'} ${state.currency ?? ''} ` +
            `events=${(forward.event_ids ?? []).join(',')}`,
        );
      } else {
        // A record (FORWARD=events, payouts, customers).
        console.log(
          `${head} ${forward.event_type} status=${forward.status} ` +
            `order=${forward.order_ref ?? '-'} amount=${forward.amount ?? '-'} ${forward.currency ?? ''}`,
        );
      }
      res.writeHead(200).end('ok');
    } catch (e) {
      console.log(`rejected: ${e.message}`);
      res.writeHead(400).end('bad signature');
    }
  });
}).listen(port, '127.0.0.1', () => console.log(`downstream receiver on http://127.0.0.1:${port}/stripe-bridge`));
