// stripe-bridge/targets in Node (ESM and, bundled, CommonJS): loads its wasm once, synchronously.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { initSync } from '../build/targets-wasm/stripe_bridge_targets.js';
import { targets } from './runtime.mjs';

const here = typeof __dirname === 'string' ? __dirname : dirname(fileURLToPath(import.meta.url));
initSync({ module: readFileSync(join(here, 'stripe_bridge_targets_bg.wasm')) });
targets.markReady();

export * from './targets-api.mjs';
