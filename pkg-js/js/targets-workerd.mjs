// stripe-bridge/targets in Cloudflare Workers / workerd.
import wasmModule from './stripe_bridge_targets_bg.wasm';
import { initSync } from '../build/targets-wasm/stripe_bridge_targets.js';
import { targets } from './runtime.mjs';

initSync({ module: wasmModule });
targets.markReady();

export * from './targets-api.mjs';
