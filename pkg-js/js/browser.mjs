// Browser and bundler entry: fetch and instantiate the wasm once with `await init()`.
import initWasm, { initSync as initWasmSync } from '../build/wasm/stripe_bridge.js';
import { browserLoader, core, macsWithSubtle } from './runtime.mjs';

// The *Async functions hash with the Web Crypto API (secure contexts only; elsewhere in wasm).
if (globalThis.crypto?.subtle) core.setAsyncMacs(macsWithSubtle(globalThis.crypto.subtle));

core.setNotReadyHint('call `await init()` (or initSync) before using stripe-bridge in the browser');

const loader = browserLoader(core, initWasm, initWasmSync, () => new URL('./stripe_bridge_bg.wasm', import.meta.url));

/**
 * Loads the WebAssembly module once. `input` may be a URL, Response, bytes or a
 * WebAssembly.Module; by default the .wasm next to this file is fetched.
 */
export const init = loader.init;

/** Synchronous initialization from bytes or a WebAssembly.Module you already have. */
export const initSync = loader.initSync;

export * from './api.mjs';
