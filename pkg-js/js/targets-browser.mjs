// stripe-bridge/targets in browsers and bundlers: `await init()` once.
import initWasm, { initSync as initWasmSync } from '../build/targets-wasm/stripe_bridge_targets.js';
import { targets } from './runtime.mjs';

targets.setNotReadyHint('call `await init()` from stripe-bridge/targets before mapping in the browser');

let loading;

/** Loads the targets WebAssembly module once (default: the .wasm next to this file). */
export function init(input) {
  if (!loading) {
    const source = input === undefined ? new URL('./stripe_bridge_targets_bg.wasm', import.meta.url) : input;
    loading = initWasm({ module_or_path: source }).then(() => targets.markReady());
  }
  return loading;
}

/** Synchronous initialization from bytes or a WebAssembly.Module. */
export function initSync(module) {
  if (!loading) {
    initWasmSync({ module });
    targets.markReady();
    loading = Promise.resolve();
  }
}

export * from './targets-api.mjs';
