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

// Three wasm modules: the webhook module (verify, normalize, money, Standard Webhooks), the
// targets module (order state merge and upgrade, mappings) and the payments module (request
// builders, Payment Link URLs, Stripe API errors), so each entry point loads only what it uses.
// `profile`: the cargo profile (root Cargo.toml). The targets module holds most of the core's
// serde code and no hash loop, so it is built with opt-level "z" (wasm-small); the others with
// "s" and the hash at full speed (wasm). The targets crate is a cdylib only, so LTO applies to it
// (an rlib crate type beside it turns LTO off: see pkg-js/targets/Cargo.toml).
const MODULES = [
  { crate: 'stripe-bridge-wasm', raw: 'stripe_bridge_wasm', name: 'stripe_bridge', gen: join(here, 'build/wasm'), prefix: '', profile: 'wasm' },
  { crate: 'stripe-bridge-targets-wasm', raw: 'stripe_bridge_targets_wasm', name: 'stripe_bridge_targets', gen: join(here, 'build/targets-wasm'), prefix: 'targets-', profile: 'wasm-small' },
  { crate: 'stripe-bridge-payments-wasm', raw: 'stripe_bridge_payments_wasm', name: 'stripe_bridge_payments', gen: join(here, 'build/payments-wasm'), prefix: 'payments-', profile: 'wasm-small' },
  { crate: 'stripe-bridge-finance-wasm', raw: 'stripe_bridge_finance_wasm', name: 'stripe_bridge_finance', gen: join(here, 'build/finance-wasm'), prefix: 'finance-', profile: 'wasm-small' },
];

// One cargo invocation per profile (a profile applies to the whole invocation).
for (const profile of [...new Set(MODULES.map((m) => m.profile))]) {
  const crates = MODULES.filter((m) => m.profile === profile);
  console.error(`==> cargo build --profile ${profile} (wasm32-unknown-unknown: ${crates.map((m) => m.crate).join(', ')})`);
  run('cargo', ['build', '--profile', profile, '--target', 'wasm32-unknown-unknown', ...crates.flatMap((m) => ['-p', m.crate])]);
}

const dist = join(here, 'dist');
rmSync(dist, { recursive: true, force: true });
mkdirSync(dist, { recursive: true });
for (const m of MODULES) {
  rmSync(m.gen, { recursive: true, force: true });
  console.error(`==> wasm-bindgen --target web (${m.name})`);
  run(wasmBindgen, ['--target', 'web', '--out-dir', m.gen, '--out-name', m.name, join(root, `target/wasm32-unknown-unknown/${m.profile}/${m.raw}.wasm`)]);
  console.error(`==> wasm-opt ${OPT_FLAGS[0]} (${m.name})`);
  run(join(root, 'node_modules/.bin/wasm-opt'), [...OPT_FLAGS, join(m.gen, `${m.name}_bg.wasm`), '-o', join(dist, `${m.name}_bg.wasm`)]);
}

console.error('==> esbuild entry points');
const common = { bundle: true, logLevel: 'warning', target: 'es2020', legalComments: 'none' };
const entries = [];
// A workerd entry imports its .wasm files as modules (finance's also loads payments').
const wasmFiles = MODULES.map((m) => `./${m.name}_bg.wasm`);
for (const { prefix } of MODULES) {
  entries.push(
    build({ ...common, entryPoints: [join(here, `js/${prefix}node.mjs`)], outfile: join(dist, `${prefix}node.mjs`), format: 'esm', platform: 'node' }),
    build({
      ...common,
      entryPoints: [join(here, `js/${prefix}node.mjs`)],
      outfile: join(dist, `${prefix}node.cjs`),
      format: 'cjs',
      platform: 'node',
      // import.meta is only read when __dirname is missing, which never happens in CommonJS.
      logOverride: { 'empty-import-meta': 'silent' },
    }),
    build({ ...common, entryPoints: [join(here, `js/${prefix}browser.mjs`)], outfile: join(dist, `${prefix}browser.mjs`), format: 'esm', platform: 'browser' }),
    build({
      ...common,
      entryPoints: [join(here, `js/${prefix}workerd.mjs`)],
      outfile: join(dist, `${prefix}workerd.mjs`),
      format: 'esm',
      platform: 'neutral',
      external: wasmFiles,
    }),
  );
}
await Promise.all(entries);

for (const [from, to] of [
  ['index.d.ts', ['index.d.ts', 'index.d.cts']],
  ['browser.d.ts', ['browser.d.ts']],
  ['targets.d.ts', ['targets.d.ts', 'targets.d.cts']],
  ['targets-browser.d.ts', ['targets-browser.d.ts']],
  ['payments-builders.d.ts', ['payments-builders.d.ts']],
  ['payments.d.ts', ['payments.d.ts', 'payments.d.cts']],
  ['payments-browser.d.ts', ['payments-browser.d.ts']],
  ['finance-api.d.ts', ['finance-api.d.ts']],
  ['finance.d.ts', ['finance.d.ts', 'finance.d.cts']],
  ['finance-browser.d.ts', ['finance-browser.d.ts']],
]) {
  const text = readFileSync(join(here, 'js', from), 'utf8');
  for (const name of to) writeFileSync(join(dist, name), text);
}

const kb = (n) => `${(n / 1024).toFixed(1)} KB`;
let over = false;
for (const m of MODULES) {
  const wasm = readFileSync(join(dist, `${m.name}_bg.wasm`));
  const gz = gzipSync(wasm, { level: 9 }).length;
  console.log(`${m.name}_bg.wasm: ${kb(wasm.length)} raw, ${kb(gz)} gzipped (budget ${kb(GZIP_BUDGET)} gzipped)`);
  if (gz > GZIP_BUDGET) {
    console.error(`size budget exceeded: ${m.name}_bg.wasm is ${kb(gz)} > ${kb(GZIP_BUDGET)} gzipped`);
    over = true;
  }
}
for (const f of MODULES.flatMap((m) => [`${m.prefix}node.mjs`, `${m.prefix}browser.mjs`, `${m.prefix}workerd.mjs`])) {
  const size = statSync(join(dist, f)).size;
  console.log(`${f}: ${kb(size)} raw, ${kb(gzipSync(readFileSync(join(dist, f))).length)} gzipped`);
}
if (over) process.exit(1);
