export * from './index.js';

/** Fetches and instantiates the WebAssembly module once (default: the .wasm next to browser.mjs). */
export function init(input?: string | URL | Request | Response | BufferSource | WebAssembly.Module): Promise<void>;
/** Instantiates synchronously from bytes or a compiled module. */
export function initSync(module: BufferSource | WebAssembly.Module): void;
