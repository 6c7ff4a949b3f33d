// Per-module state (internal; not re-exported): whether the wasm is instantiated, and an
// optional native HMAC provider.

import { cached } from './cache.mjs';

/** Bodies above this many bytes (worst case) are encoded into a fresh array, not kept around. */
const SCRATCH_LIMIT = 1024 * 1024;
/** SHA-256's block size, the HMAC key's padded length. */
const HMAC_BLOCK = 64;

/**
 * A buffer reused across calls: `take(need)` gives it, grown to at least `need` bytes, or
 * `undefined` beyond SCRATCH_LIMIT (the caller then allocates its own, which is not kept).
 */
function reusedBuffer(initial) {
  let buf = new Uint8Array(initial);
  return (need) => {
    if (need > buf.length) {
      if (need > SCRATCH_LIMIT) return undefined;
      buf = new Uint8Array(need);
    }
    return buf;
  };
}

export function makeRuntime(defaultHint) {
  let ready = false;
  let hint = defaultHint;
  let macProvider = null;
  let asyncMacProvider = null;
  const textEncoder = new TextEncoder();
  // String bodies are encoded into one reused buffer (`encodeInto`: 0.18 µs for 3 KB in Node,
  // against 0.95 µs for Buffer.from and 1.8 µs for TextEncoder.encode, which allocate). The
  // bytes are only valid until the next call: every caller hands them to the HMAC and to wasm
  // (which copies them) synchronously and never keeps them.
  const scratchFor = reusedBuffer(16 * 1024);
  return {
    /** UTF-8 bytes of a string body, in the reused buffer (see above). */
    utf8(text) {
      // UTF-8 needs at most 3 bytes per UTF-16 code unit.
      const scratch = scratchFor(text.length * 3);
      if (scratch === undefined) return textEncoder.encode(text);
      const { written } = textEncoder.encodeInto(text, scratch);
      return scratch.subarray(0, written);
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
    // than SHA-256 in wasm): (secrets, timestamp, payload) -> Uint8Array of 32 bytes per secret;
    // a provider marked `inner: true` gives each HMAC's inner digest, which the core finishes.
    setNativeMacs(provider) {
      macProvider = provider;
    },
    nativeMacs() {
      return macProvider;
    },
    // An asynchronous platform HMAC (the Web Crypto API) for the *Async functions where no
    // synchronous native one exists: same signature, returns a Promise.
    setAsyncMacs(provider) {
      asyncMacProvider = provider;
    },
    asyncMacs() {
      return asyncMacProvider;
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
    return joinedMacs(secrets.map((secret) => createHmac('sha256', secret).update(prefix).update(payload).digest()));
  };
}

/**
 * A native-MAC provider from a one-shot `hash(algorithm, data, 'buffer')` (node:crypto since
 * Node 20.12) that gives each HMAC's inner digest, SHA-256(K^ipad | message) (RFC 2104), with
 * each secret's padded key prepared once; the core finishes it with one SHA-256 block
 * (`Verifier::mac_from_inner`), so each secret costs one native call. Measured in Node 20 for a
 * 3.1 KB body: `createHmac` 3.35 µs, two one-shot hashes 2.9 µs, one 2.1 µs (+ ~0.2 µs in
 * wasm). The message is laid out in one reused buffer (only ever hashed synchronously).
 */
export function innerDigestsWithHash(hash) {
  const encoder = new TextEncoder();
  const pads = new Map();
  const messageFor = reusedBuffer(HMAC_BLOCK + 16 * 1024);
  const makePad = (secret) => {
    let key = encoder.encode(secret);
    if (key.length > HMAC_BLOCK) key = hash('sha256', key, 'buffer');
    const pad = new Uint8Array(HMAC_BLOCK).fill(0x36);
    key.forEach((k, i) => (pad[i] ^= k));
    return pad;
  };
  const padFor = (secret) => cached(pads, secret, makePad);
  const provider = (secrets, timestamp, payload) => {
    const prefix = `${timestamp}.`;
    const max = HMAC_BLOCK + prefix.length + (typeof payload === 'string' ? payload.length * 3 : payload.byteLength);
    const buf = messageFor(max) ?? new Uint8Array(max);
    let n = HMAC_BLOCK + encoder.encodeInto(prefix, buf.subarray(HMAC_BLOCK)).written;
    if (typeof payload === 'string') {
      n += encoder.encodeInto(payload, buf.subarray(n)).written;
    } else {
      buf.set(payload, n);
      n += payload.byteLength;
    }
    const signed = buf.subarray(0, n);
    const inners = secrets.map((secret) => {
      buf.set(padFor(secret));
      return hash('sha256', signed, 'buffer');
    });
    buf.fill(0, 0, HMAC_BLOCK); // no padded key left in the reused buffer
    return joinedMacs(inners);
  };
  provider.inner = true;
  return provider;
}

/**
 * The synchronous native HMAC a `node:crypto` module offers (Node's, or workerd's with
 * nodejs_compat): one-shot `hash` where it exists, else `createHmac`.
 */
export function nodeCryptoMacs(nodeCrypto) {
  return oneShotSha256Works(nodeCrypto.hash) ? innerDigestsWithHash(nodeCrypto.hash) : macsWith(nodeCrypto.createHmac);
}

/** SHA-256 of the empty string (FIPS 180-4), to check a `hash` before relying on it. */
const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

/**
 * Whether `hash('sha256', bytes, 'buffer')` gives SHA-256 as 32 bytes: the entry is also loaded
 * by other runtimes' Node compatibility layers, whose `hash` might differ (a wrong one would
 * only ever refuse, but every webhook).
 */
function oneShotSha256Works(hash) {
  if (typeof hash !== 'function') return false;
  try {
    const digest = hash('sha256', new Uint8Array(0), 'buffer');
    return digest instanceof Uint8Array && Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('') === EMPTY_SHA256;
  } catch {
    return false;
  }
}

/** One 32-byte MAC per secret, in order, as the core takes them (one secret: the MAC itself, no copy). */
function joinedMacs(macs) {
  if (macs.length === 1) return macs[0];
  const out = new Uint8Array(32 * macs.length);
  macs.forEach((mac, i) => out.set(mac, 32 * i));
  return out;
}

/**
 * An asynchronous MAC provider from the Web Crypto API (workerd without nodejs_compat,
 * browsers): native HMAC-SHA256, about three times faster than SHA-256 in wasm for a 3 KB body
 * in workerd. Each secret's key is imported once and kept (as a non-extractable CryptoKey).
 */
export function macsWithSubtle(subtle) {
  const importing = new Map();
  const imported = new Map();
  const encoder = new TextEncoder();
  const importKey = (secret) => {
    const key = subtle.importKey('raw', encoder.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
    // Kept once imported; a failed import is forgotten, so the next call tries again.
    key.then(
      (k) => importing.get(secret) === key && imported.set(secret, k),
      () => importing.get(secret) === key && importing.delete(secret),
    );
    return key;
  };
  const forget = (_, oldest) => imported.delete(oldest);
  const keyFor = (secret) => cached(importing, secret, importKey, forget);
  const sign = async (secret, signed) => new Uint8Array(await subtle.sign('HMAC', imported.get(secret) ?? (await keyFor(secret)), signed));
  return async (secrets, timestamp, payload) => {
    const prefix = encoder.encode(`${timestamp}.`);
    const signed = new Uint8Array(prefix.length + payload.length);
    signed.set(prefix);
    signed.set(payload, prefix.length);
    return joinedMacs(await Promise.all(secrets.map((secret) => sign(secret, signed))));
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
