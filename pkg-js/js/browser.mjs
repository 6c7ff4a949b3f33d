// Browser and bundler entry: fetch and instantiate the wasm once with `await init()`.
import initWasm, { initSync as initWasmSync } from '../build/wasm/stripe_bridge.js';
import { core } from './runtime.mjs';

core.setNotReadyHint('call `await init()` (or initSync) before using stripe-bridge in the browser');

let loading;

/**
 * Loads the WebAssembly module once. `input` may be a URL, Response, bytes or a
 * WebAssembly.Module; by default the .wasm next to this file is fetched.
 */
export function init(input) {
  if (!loading) {
    const source = input === undefined ? new URL('./stripe_bridge_bg.wasm', import.meta.url) : input;
    loading = initWasm({ module_or_path: source }).then(() => {
      core.markReady();
    });
  }
  return loading;
}

/** Synchronous initialization from bytes or a WebAssembly.Module you already have. */
export function initSync(module) {
  if (!loading) {
    initWasmSync({ module });
    core.markReady();
    loading = Promise.resolve();
  }
}

export * from './api.mjs';
