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
