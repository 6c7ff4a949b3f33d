// Cloudflare Workers / workerd entry: the runtime imports the .wasm as a compiled module.
import wasmModule from './stripe_bridge_bg.wasm';
import { initSync } from '../build/wasm/stripe_bridge.js';
import { core, nodeCryptoMacs, macsWithSubtle } from './runtime.mjs';

initSync({ module: wasmModule });
core.markReady();

// With the nodejs_compat flag, workerd has a synchronous native HMAC (BoringSSL) behind
// node:crypto, reachable without a static import (which would fail without the flag).
const nodeCrypto = globalThis.process?.getBuiltinModule?.('node:crypto');
if (typeof nodeCrypto?.createHmac === 'function') core.setNativeMacs(nodeCryptoMacs(nodeCrypto));
// Without it, the *Async functions hash with the Web Crypto API (native, but asynchronous).
if (globalThis.crypto?.subtle) core.setAsyncMacs(macsWithSubtle(globalThis.crypto.subtle));

export * from './api.mjs';
