// Whether the wasm module is instantiated. Internal: not re-exported by the entry points.
let ready = false;
let notReadyHint = 'the WebAssembly module is not initialized';

export function markReady() {
  ready = true;
}

export function setNotReadyHint(hint) {
  notReadyHint = hint;
}

export function isReady() {
  return ready;
}

export function notReadyMessage() {
  return notReadyHint;
}

// A native HMAC-SHA256 (Node's OpenSSL with SHA extensions is several times faster than
// SHA-256 in wasm): (secrets, timestamp, payload) -> Uint8Array of 32 bytes per secret.
let macProvider = null;

export function setNativeMacs(provider) {
  macProvider = provider;
}

export function nativeMacs() {
  return macProvider;
}

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
