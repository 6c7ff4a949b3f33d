// The package's one rule for what it keeps per secret or per options (verifiers, normalizers,
// mapping profiles, HMAC keys): at most CACHE_LIMIT entries, the oldest made dropped for room.
// Handlers call with the same few secrets and options, so the limit only bounds memory when a
// caller passes ever-new ones.

export const CACHE_LIMIT = 32;

/**
 * `map`'s value for `key`, made by `make(key)` when missing. When the map is full, its oldest entry
 * is removed and, once the new one is kept, handed to `dropped(value, key)` (which frees a wasm
 * object, for instance). If `make` throws, nothing is kept or dropped.
 */
export function cached(map, key, make, dropped) {
  let value = map.get(key);
  if (value === undefined) {
    value = make(key);
    let oldest;
    if (map.size >= CACHE_LIMIT) {
      oldest = map.entries().next().value;
      map.delete(oldest[0]);
    }
    map.set(key, value);
    if (oldest && dropped) dropped(oldest[1], oldest[0]);
  }
  return value;
}
