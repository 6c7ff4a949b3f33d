// stripe-bridge/payments in browsers and bundlers: `await init()` once. Builders and the
// Payment Link URL helper only: creating payments needs a secret key, which never belongs in
// a browser (use the Node/Workers entry or the Worker's /payment-requests route).
import initWasm, { initSync as initWasmSync } from '../build/payments-wasm/stripe_bridge_payments.js';
import { browserLoader, payments } from './runtime.mjs';

payments.setNotReadyHint('call `await init()` from stripe-bridge/payments before using it in the browser');

const loader = browserLoader(payments, initWasm, initWasmSync, () => new URL('./stripe_bridge_payments_bg.wasm', import.meta.url));

/** Loads the payments WebAssembly module once (default: the .wasm next to this file). */
export const init = loader.init;

/** Synchronous initialization from bytes or a WebAssembly.Module. */
export const initSync = loader.initSync;

export * from './payments-api.mjs';
