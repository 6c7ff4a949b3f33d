// stripe-bridge/targets in browsers and bundlers: `await init()` once.
import initWasm, { initSync as initWasmSync } from '../build/targets-wasm/stripe_bridge_targets.js';
import { browserLoader, targets } from './runtime.mjs';

targets.setNotReadyHint('call `await init()` from stripe-bridge/targets before mapping in the browser');

const loader = browserLoader(targets, initWasm, initWasmSync, () => new URL('./stripe_bridge_targets_bg.wasm', import.meta.url));

/** Loads the targets WebAssembly module once (default: the .wasm next to this file). */
export const init = loader.init;

/** Synchronous initialization from bytes or a WebAssembly.Module. */
export const initSync = loader.initSync;

export * from './targets-api.mjs';
