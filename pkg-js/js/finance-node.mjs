// stripe-bridge/finance in Node (ESM and, bundled, CommonJS): loads its wasm (and the payments
// module's, whose Stripe client it uses) once, synchronously.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { initSync } from '../build/finance-wasm/stripe_bridge_finance.js';
import { finance } from './runtime.mjs';
import './payments-node.mjs';

const here = typeof __dirname === 'string' ? __dirname : dirname(fileURLToPath(import.meta.url));
initSync({ module: readFileSync(join(here, 'stripe_bridge_finance_bg.wasm')) });
finance.markReady();

export * from './finance-api.mjs';
export * from './finance-client.mjs';
