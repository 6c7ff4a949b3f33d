// Cloudflare Workers / workerd entry: the runtime imports the .wasm as a compiled module.
import wasmModule from './stripe_bridge_bg.wasm';
import { initSync } from '../build/wasm/stripe_bridge.js';
import { markReady } from './runtime.mjs';

initSync({ module: wasmModule });
markReady();

export * from './api.mjs';
