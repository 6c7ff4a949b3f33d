#!/usr/bin/env node
// Runs the nopCommerce proxy:
//   DATABASE_URL=postgres://... DOWNSTREAM_SECRET=whsec_... STORE_CURRENCY=USD PORT=8788 node server.mjs
// and point the Worker's DOWNSTREAM_URL at it.
import pg from 'pg';
import { createProxy } from './proxy.mjs';

const { DATABASE_URL, DOWNSTREAM_SECRET, STORE_CURRENCY = 'USD', PORT = '8788' } = process.env;
if (!DATABASE_URL || !DOWNSTREAM_SECRET) {
  console.error('set DATABASE_URL and DOWNSTREAM_SECRET');
  process.exit(2);
}
const pool = new pg.Pool({ connectionString: DATABASE_URL, max: 8 });
createProxy({ pool, secret: DOWNSTREAM_SECRET, storeCurrency: STORE_CURRENCY, log: (e) => console.log(JSON.stringify(e)) }).listen(
  Number(PORT),
  '127.0.0.1',
  () => console.log(`nopCommerce proxy on http://127.0.0.1:${PORT}/`),
);
