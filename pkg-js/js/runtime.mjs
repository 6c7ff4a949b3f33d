// Per-module state (internal; not re-exported): whether the wasm is instantiated, and an
// optional native HMAC provider.

export function makeRuntime(defaultHint) {
  let ready = false;
  let hint = defaultHint;
  let macProvider = null;
  const textEncoder = new TextEncoder();
  let utf8 = (text) => textEncoder.encode(text);
  return {
    /** UTF-8 bytes of a string body (Node's Buffer.from is faster than TextEncoder there). */
    setUtf8Encoder(encode) {
      utf8 = encode;
    },
    utf8(text) {
      return utf8(text);
    },
    markReady() {
      ready = true;
    },
    isReady() {
      return ready;
    },
    setNotReadyHint(text) {
      hint = text;
    },
    notReadyMessage() {
      return hint;
    },
    // A native HMAC-SHA256 (OpenSSL/BoringSSL with SHA extensions is several times faster
    // than SHA-256 in wasm): (secrets, timestamp, payload) -> Uint8Array of 32 bytes per secret.
    setNativeMacs(provider) {
      macProvider = provider;
    },
    nativeMacs() {
      return macProvider;
    },
  };
}

/** The webhook module's runtime. */
export const core = makeRuntime('the WebAssembly module is not initialized');
/** The targets module's runtime. */
export const targets = makeRuntime('the stripe-bridge/targets WebAssembly module is not initialized');
/** The payments module's runtime. */
export const payments = makeRuntime('the stripe-bridge/payments WebAssembly module is not initialized');
/** The finance module's runtime. */
export const finance = makeRuntime('the stripe-bridge/finance WebAssembly module is not initialized');

/** A native-MAC provider from a Node-style `createHmac` (Node's or workerd's node:crypto). */
export function macsWith(createHmac) {
  return (secrets, timestamp, payload) => {
    const prefix = `${timestamp}.`;
    // One secret (the usual case): the digest itself, without a copy.
    if (secrets.length === 1) return createHmac('sha256', secrets[0]).update(prefix).update(payload).digest();
    const out = new Uint8Array(32 * secrets.length);
    for (let i = 0; i < secrets.length; i++) {
      out.set(createHmac('sha256', secrets[i]).update(prefix).update(payload).digest(), 32 * i);
    }
    return out;
  };
}

/**
 * `init` / `initSync` of a browser entry: loads the module once. `wasmUrl()` gives the default
 * location (the .wasm next to the entry file).
 */
export function browserLoader(runtime, initWasm, initWasmSync, wasmUrl) {
  let loading;
  return {
    init(input) {
      if (!loading) {
        loading = initWasm({ module_or_path: input === undefined ? wasmUrl() : input }).then(() => runtime.markReady());
      }
      return loading;
    },
    initSync(module) {
      if (!loading) {
        initWasmSync({ module });
        runtime.markReady();
        loading = Promise.resolve();
      }
    },
  };
}
