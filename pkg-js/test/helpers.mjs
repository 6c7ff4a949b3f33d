// Shared helpers of the node --test suites.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const here = dirname(fileURLToPath(import.meta.url));
export const pkgDir = join(here, '..');
export const repoRoot = join(pkgDir, '..');
export const distDir = join(pkgDir, 'dist');
export const ownFixturesDir = join(repoRoot, 'tests/fixtures/events');
export const realFixturesDir = process.env.STRIPE_BRIDGE_FIXTURES || join(repoRoot, '../shared/fixtures/stripe-events');

export function fixture(name) {
  return readFileSync(join(ownFixturesDir, name));
}

export function jsonFiles(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => ({ name: f, bytes: readFileSync(join(dir, f)) }));
}

/** The browser entry, initialized synchronously in Node: every call then runs the wasm HMAC. */
export async function wasmOnlyApi() {
  const api = await import(join(distDir, 'browser.mjs'));
  api.initSync(readFileSync(join(distDir, 'stripe_bridge_bg.wasm')));
  return api;
}

/** Deterministic xorshift PRNG for reproducible random cases. */
export function rng(seed) {
  let s = BigInt(seed);
  return () => {
    s ^= s >> 12n;
    s ^= (s << 25n) & 0xffffffffffffffffn;
    s ^= s >> 27n;
    return Number(((s * 0x2545f4914f6cdd1dn) & 0xffffffffffffffffn) >> 11n) / 2 ** 53;
  };
}
