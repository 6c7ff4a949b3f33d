#!/usr/bin/env node
// Runs the nopCommerce proxy:
//   DATABASE_URL=postgres://... DOWNSTREAM_SECRET=whsec_... STORE_CURRENCY=USD PORT=8788 node server.mjs
// (optional MAX_BODY_BYTES, default 262144) and point the Worker's DOWNSTREAM_URL at it. Apply
// schema.sql to the database first (again after each upgrade: it is idempotent).
import pg from 'pg';
import { createProxy } from './proxy.mjs';

const { DATABASE_URL, DOWNSTREAM_SECRET, STORE_CURRENCY = 'USD', PORT = '8788', MAX_BODY_BYTES } = process.env;
if (!DATABASE_URL || !DOWNSTREAM_SECRET) {
  console.error('set DATABASE_URL and DOWNSTREAM_SECRET');
  process.exit(2);
}
const maxBodyBytes = MAX_BODY_BYTES === undefined ? undefined : Number(MAX_BODY_BYTES);
if (maxBodyBytes !== undefined && !(Number.isSafeInteger(maxBodyBytes) && maxBodyBytes > 0)) {
  console.error('MAX_BODY_BYTES must be a positive integer');
  process.exit(2);
}
const pool = new pg.Pool({ connectionString: DATABASE_URL, max: 8 });
createProxy({ pool, secret: DOWNSTREAM_SECRET, storeCurrency: STORE_CURRENCY, maxBodyBytes, log: (e) => console.log(JSON.stringify(e)) }).listen(
  Number(PORT),
  '127.0.0.1',
  () => console.log(`nopCommerce proxy on http://127.0.0.1:${PORT}/`),
);
