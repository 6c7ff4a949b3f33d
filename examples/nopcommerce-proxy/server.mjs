#!/usr/bin/env node
// Runs the nopCommerce proxy:
//   DATABASE_URL=postgres://... DOWNSTREAM_SECRET=whsec_... STORE_CURRENCY=USD PORT=8788 node server.mjs
// (optional MAX_BODY_BYTES, default 262144) and point the Worker's DOWNSTREAM_URL at it. Apply
// schema.sql to the database first (again after each upgrade: it is idempotent).
//
// The shop's side (actions.mjs) runs too when WORKER_URL is set: every RETURNS_POLL_MS (default
// 10000) approved return requests are refunded and cancelled orders' payments canceled or
// refunded through the Worker (POST /refunds, POST /payments/{pi}/cancel), with
//   WORKER_URL=https://stripe-bridge.<you>.workers.dev  SHOP_API_TOKEN=<the Worker's token>
//   RETURN_APPROVED_STATUS=20   (the ReturnRequestStatusId that means "refund it": ReturnAuthorized)
//   RETURN_SET_REFUNDED=1       (optional: a refunded return request becomes ItemsRefunded, 40)
//   ACTIONS_SINCE=2025-01-01T00:00:00Z (optional: leave return requests last changed, and orders
//                               created, before then alone: set it when turning this on in a
//                               shop whose older returns were refunded by hand)
import pg from 'pg';
import { createProxy, startShopActions } from './proxy.mjs';

const {
  DATABASE_URL,
  DOWNSTREAM_SECRET,
  STORE_CURRENCY = 'USD',
  PORT = '8788',
  MAX_BODY_BYTES,
  WORKER_URL,
  SHOP_API_TOKEN,
  RETURNS_POLL_MS = '10000',
  RETURN_APPROVED_STATUS = '20',
  RETURN_SET_REFUNDED,
  ACTIONS_SINCE,
} = process.env;
const fail = (message) => {
  console.error(message);
  process.exit(2);
};
if (!DATABASE_URL || !DOWNSTREAM_SECRET) fail('set DATABASE_URL and DOWNSTREAM_SECRET');
const maxBodyBytes = MAX_BODY_BYTES === undefined ? undefined : Number(MAX_BODY_BYTES);
if (maxBodyBytes !== undefined && !(Number.isSafeInteger(maxBodyBytes) && maxBodyBytes > 0)) fail('MAX_BODY_BYTES must be a positive integer');
const log = (e) => console.log(JSON.stringify(e));
const pool = new pg.Pool({ connectionString: DATABASE_URL, max: 8 });

let actions = null;
if (WORKER_URL) {
  const pollMs = Number(RETURNS_POLL_MS);
  const approvedStatus = Number(RETURN_APPROVED_STATUS);
  if (!/^\d+$/.test(RETURN_APPROVED_STATUS)) fail('RETURN_APPROVED_STATUS must be a ReturnRequestStatusId (20: ReturnAuthorized)');
  if (RETURN_SET_REFUNDED !== undefined && !['0', '1'].includes(RETURN_SET_REFUNDED)) fail('RETURN_SET_REFUNDED must be 0 or 1');
  if (!/^\d+$/.test(RETURNS_POLL_MS)) fail('RETURNS_POLL_MS must be a non-negative integer (0: off)');
  if (pollMs > 0) {
    try {
      actions = startShopActions(pool, {
        pollMs,
        workerUrl: WORKER_URL,
        token: SHOP_API_TOKEN,
        storeCurrency: STORE_CURRENCY,
        approvedStatus,
        setRefunded: RETURN_SET_REFUNDED === '1',
        since: ACTIONS_SINCE ?? null,
        log,
      });
    } catch (e) {
      fail(e.message);
    }
    console.log(`returns and cancelled orders -> ${WORKER_URL} every ${pollMs} ms`);
  }
}

const server = createProxy({ pool, secret: DOWNSTREAM_SECRET, storeCurrency: STORE_CURRENCY, maxBodyBytes, log }).listen(
  Number(PORT),
  '127.0.0.1',
  () => console.log(`nopCommerce proxy on http://127.0.0.1:${PORT}/`),
);

// A stop waits for a request to the Worker in progress, so its answer is recorded.
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, async () => {
    server.close();
    await actions?.stop();
    await pool.end();
    process.exit(0);
  });
}
