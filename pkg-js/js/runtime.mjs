// Per-module state (internal; not re-exported): whether the wasm is instantiated, and an
// optional native HMAC provider.

export function makeRuntime(defaultHint) {
  let ready = false;
  let hint = defaultHint;
  let macProvider = null;
  return {
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

/** A native-MAC provider from a Node-style `createHmac` (Node's or workerd's node:crypto). */
export function macsWith(createHmac) {
  return (secrets, timestamp, payload) => {
    const out = new Uint8Array(32 * secrets.length);
    const prefix = `${timestamp}.`;
    for (let i = 0; i < secrets.length; i++) {
      out.set(createHmac('sha256', secrets[i]).update(prefix).update(payload).digest(), 32 * i);
    }
    return out;
  };
}
