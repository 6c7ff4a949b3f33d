// stripe-bridge/finance in Cloudflare Workers / workerd.
import wasmModule from './stripe_bridge_finance_bg.wasm';
import { initSync } from '../build/finance-wasm/stripe_bridge_finance.js';
import { finance } from './runtime.mjs';
import './payments-workerd.mjs';

initSync({ module: wasmModule });
finance.markReady();

export * from './finance-api.mjs';
export * from './finance-client.mjs';
