// Node entry (ESM and, bundled to CommonJS, `require`): loads the wasm synchronously, once.
import * as nodeCrypto from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { initSync } from '../build/wasm/stripe_bridge.js';
import { core, nodeCryptoMacs } from './runtime.mjs';

const here = typeof __dirname === 'string' ? __dirname : dirname(fileURLToPath(import.meta.url));
initSync({ module: readFileSync(join(here, 'stripe_bridge_bg.wasm')) });
core.markReady();

// HMAC with Node's OpenSSL; header parsing, comparison and tolerance stay in the core.
core.setNativeMacs(nodeCryptoMacs(nodeCrypto));

export * from './api.mjs';
