// Types of stripe-bridge/payments in browsers: builders and the Payment Link URL helper only.
export * from './payments-builders.js';

/** Fetches and instantiates the payments WebAssembly module once. */
export function init(input?: string | URL | Request | Response | BufferSource | WebAssembly.Module): Promise<void>;
/** Instantiates synchronously from bytes or a compiled module. */
export function initSync(module: BufferSource | WebAssembly.Module): void;
