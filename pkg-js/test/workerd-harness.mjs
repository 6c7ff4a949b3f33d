// A Miniflare (real workerd) instance running one of the package's test or bench Workers, with
// the package's modules and .wasm resolved from pkg-js/.
import { join } from 'node:path';
import { Miniflare } from 'miniflare';
import { pkgDir } from './helpers.mjs';

export function workerd({ script, flags = [], bindings = {} }) {
  return new Miniflare({
    modules: true,
    scriptPath: join(pkgDir, script),
    modulesRoot: pkgDir,
    modulesRules: [
      { type: 'ESModule', include: ['**/*.mjs'] },
      { type: 'CompiledWasm', include: ['**/*.wasm'] },
    ],
    compatibilityDate: '2026-04-01',
    compatibilityFlags: flags,
    bindings,
    cf: false,
  });
}
