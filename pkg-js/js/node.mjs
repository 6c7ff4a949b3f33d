// Node entry (ESM and, bundled to CommonJS, `require`): loads the wasm synchronously, once.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { initSync } from '../build/wasm/stripe_bridge.js';
import { markReady } from './runtime.mjs';

const here = typeof __dirname === 'string' ? __dirname : dirname(fileURLToPath(import.meta.url));
initSync({ module: readFileSync(join(here, 'stripe_bridge_bg.wasm')) });
markReady();

export * from './api.mjs';
