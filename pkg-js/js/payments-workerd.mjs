// stripe-bridge/payments in Cloudflare Workers / workerd.
import wasmModule from './stripe_bridge_payments_bg.wasm';
import { initSync } from '../build/payments-wasm/stripe_bridge_payments.js';
import { payments } from './runtime.mjs';

initSync({ module: wasmModule });
payments.markReady();

export * from './payments-api.mjs';
export * from './payments-client.mjs';
export * from './payments-shop.mjs';
