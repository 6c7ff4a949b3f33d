// Types of stripe-bridge/finance in browsers: the pure functions only.
export * from './finance-api.js';

/** Fetches and instantiates the finance WebAssembly module once. */
export function init(input?: string | URL | Request | Response | BufferSource | WebAssembly.Module): Promise<void>;
/** Instantiates synchronously from bytes or a compiled module. */
export function initSync(module: BufferSource | WebAssembly.Module): void;
