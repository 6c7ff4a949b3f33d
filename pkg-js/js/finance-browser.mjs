// stripe-bridge/finance in browsers and bundlers: `await init()` once. Reconciliation from
// data the page already has (balance transactions, a report file) and the target mappings;
// reading Stripe's API needs a secret key, which never belongs in a browser.
import initWasm, { initSync as initWasmSync } from '../build/finance-wasm/stripe_bridge_finance.js';
import { browserLoader, finance } from './runtime.mjs';

finance.setNotReadyHint('call `await init()` from stripe-bridge/finance before using it in the browser');

const loader = browserLoader(finance, initWasm, initWasmSync, () => new URL('./stripe_bridge_finance_bg.wasm', import.meta.url));

/** Loads the finance WebAssembly module once (default: the .wasm next to this file). */
export const init = loader.init;

/** Synchronous initialization from bytes or a WebAssembly.Module. */
export const initSync = loader.initSync;

export * from './finance-api.mjs';
