// stripe-bridge/payments in Node (ESM and, bundled, CommonJS): loads its wasm once,
// synchronously; builders, the Payment Link URL helper and the Stripe API client.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { initSync } from '../build/payments-wasm/stripe_bridge_payments.js';
import { payments } from './runtime.mjs';

const here = typeof __dirname === 'string' ? __dirname : dirname(fileURLToPath(import.meta.url));
initSync({ module: readFileSync(join(here, 'stripe_bridge_payments_bg.wasm')) });
payments.markReady();

export * from './payments-api.mjs';
export * from './payments-client.mjs';
export * from './payments-shop.mjs';
