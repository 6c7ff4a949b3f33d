#!/usr/bin/env node
// Builds the npm package into pkg-js/dist: the core compiled to wasm32 (cargo), JS glue from the
// pinned wasm-bindgen CLI, wasm-opt from npm binaryen, then the entry points bundled by esbuild.
// Prints the .wasm size raw and gzipped (budget: 150 KB gzipped).
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const WASM_BINDGEN_VERSION = '0.2.130';
const GZIP_BUDGET = 150 * 1024;
const OPT_FLAGS = [
  process.env.WASM_OPT_LEVEL || '-O3',
  '--enable-bulk-memory',
  '--enable-nontrapping-float-to-int',
  '--enable-sign-ext',
  '--enable-mutable-globals',
  '--enable-reference-types',
  '--enable-multivalue',
];

function run(cmd, args, opts = {}) {
  execFileSync(cmd, args, { stdio: 'inherit', cwd: root, ...opts });
}

const wasmBindgen = process.env.WASM_BINDGEN_BIN || 'wasm-bindgen';
const version = execFileSync(wasmBindgen, ['--version'], { encoding: 'utf8' }).trim();
if (!version.endsWith(WASM_BINDGEN_VERSION)) {
  throw new Error(`${wasmBindgen} is "${version}", need ${WASM_BINDGEN_VERSION} (run scripts/setup.sh)`);
}

console.error('==> cargo build --profile wasm (wasm32-unknown-unknown)');
run('cargo', ['build', '--profile', 'wasm', '--target', 'wasm32-unknown-unknown', '-p', 'stripe-bridge-wasm']);
const rawWasm = join(root, 'target/wasm32-unknown-unknown/wasm/stripe_bridge_wasm.wasm');

const gen = join(here, 'build/wasm');
rmSync(gen, { recursive: true, force: true });
console.error('==> wasm-bindgen --target web');
run(wasmBindgen, ['--target', 'web', '--out-dir', gen, '--out-name', 'stripe_bridge', rawWasm]);

const dist = join(here, 'dist');
rmSync(dist, { recursive: true, force: true });
mkdirSync(dist, { recursive: true });
const wasmOut = join(dist, 'stripe_bridge_bg.wasm');
console.error(`==> wasm-opt ${OPT_FLAGS[0]}`);
run(join(root, 'node_modules/.bin/wasm-opt'), [...OPT_FLAGS, join(gen, 'stripe_bridge_bg.wasm'), '-o', wasmOut]);

console.error('==> esbuild entry points');
const common = { bundle: true, logLevel: 'warning', target: 'es2020', legalComments: 'none' };
await Promise.all([
  build({ ...common, entryPoints: [join(here, 'js/node.mjs')], outfile: join(dist, 'node.mjs'), format: 'esm', platform: 'node' }),
  build({
    ...common,
    entryPoints: [join(here, 'js/node.mjs')],
    outfile: join(dist, 'node.cjs'),
    format: 'cjs',
    platform: 'node',
    // import.meta is only read when __dirname is missing, which never happens in CommonJS.
    logOverride: { 'empty-import-meta': 'silent' },
  }),
  build({ ...common, entryPoints: [join(here, 'js/browser.mjs')], outfile: join(dist, 'browser.mjs'), format: 'esm', platform: 'browser' }),
  build({
    ...common,
    entryPoints: [join(here, 'js/workerd.mjs')],
    outfile: join(dist, 'workerd.mjs'),
    format: 'esm',
    platform: 'neutral',
    external: ['./stripe_bridge_bg.wasm'],
  }),
]);

const types = readFileSync(join(here, 'js/index.d.ts'), 'utf8');
writeFileSync(join(dist, 'index.d.ts'), types);
writeFileSync(join(dist, 'index.d.cts'), types);
writeFileSync(join(dist, 'browser.d.ts'), readFileSync(join(here, 'js/browser.d.ts'), 'utf8'));

const wasm = readFileSync(wasmOut);
const gz = gzipSync(wasm, { level: 9 }).length;
const kb = (n) => `${(n / 1024).toFixed(1)} KB`;
console.log(`stripe_bridge_bg.wasm: ${kb(wasm.length)} raw, ${kb(gz)} gzipped (budget ${kb(GZIP_BUDGET)} gzipped)`);
for (const f of ['node.mjs', 'node.cjs', 'browser.mjs', 'workerd.mjs']) {
  const size = statSync(join(dist, f)).size;
  console.log(`${f}: ${kb(size)} raw, ${kb(gzipSync(readFileSync(join(dist, f))).length)} gzipped`);
}
if (gz > GZIP_BUDGET) {
  console.error(`size budget exceeded: ${kb(gz)} > ${kb(GZIP_BUDGET)} gzipped`);
  process.exit(1);
}
