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
