// `npm pack` output installed into an empty project works there: require (CJS), import (ESM),
// the browser build in headless Chromium, and the exports map's workerd/browser conditions.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { build } from 'esbuild';
import { launchChromium, serveStatic } from './browser-harness.mjs';
import { pkgDir } from './helpers.mjs';

let project;
const EVENT = '{"id":"evt_pack","object":"event","type":"payment_intent.succeeded","created":1,"data":{"object":{"id":"pi_1","object":"payment_intent","amount":500,"currency":"jpy","status":"succeeded","metadata":{"order_id":"P-1"}}}}';

before(() => {
  project = mkdtempSync(join(tmpdir(), 'stripe-bridge-pack-'));
  execFileSync('npm', ['pack', '--silent', '--pack-destination', project], { cwd: pkgDir, stdio: ['ignore', 'pipe', 'inherit'] });
  const tarball = readdirSync(project).find((f) => f.endsWith('.tgz'));
  assert.ok(tarball, 'npm pack produced a tarball');
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true, version: '1.0.0' }));
  execFileSync('npm', ['install', '--offline', '--no-audit', '--no-fund', '--loglevel=error', `./${tarball}`], { cwd: project, stdio: 'inherit' });
});
after(() => rmSync(project, { recursive: true, force: true }));

const script = (code) =>
  `const body = ${JSON.stringify(EVENT)};\n${code}\n` +
  `const h = sb.generateTestHeader({ payload: body, secret: 'whsec_p', timestamp: 1 });\n` +
  `const r = sb.verifyAndNormalize(body, h, 'whsec_p', { now: 1 });\n` +
  `if (r.amount !== '500' || r.order_ref !== 'P-1') throw new Error(JSON.stringify(r));\n` +
  `try { sb.constructEvent(body, h, 'whsec_q', { now: 1 }); throw new Error('accepted'); } catch (e) { if (e.type !== 'StripeSignatureVerificationError') throw e; }\n` +
  `console.log('ok');`;

test('the tarball holds only the built package', () => {
  const listing = execFileSync('npm', ['pack', '--dry-run', '--json'], { cwd: pkgDir, encoding: 'utf8' });
  const files = JSON.parse(listing)[0].files.map((f) => f.path).sort();
  assert.deepEqual(files, [
    'README.md', 'dist/browser.d.ts', 'dist/browser.mjs',
    'dist/finance-api.d.ts', 'dist/finance-browser.d.ts', 'dist/finance-browser.mjs', 'dist/finance-node.cjs',
    'dist/finance-node.mjs', 'dist/finance-workerd.mjs', 'dist/finance.d.cts', 'dist/finance.d.ts',
    'dist/index.d.cts', 'dist/index.d.ts',
    'dist/node.cjs', 'dist/node.mjs',
    'dist/payments-browser.d.ts', 'dist/payments-browser.mjs', 'dist/payments-builders.d.ts', 'dist/payments-node.cjs',
    'dist/payments-node.mjs', 'dist/payments-workerd.mjs', 'dist/payments.d.cts', 'dist/payments.d.ts',
    'dist/stripe_bridge_bg.wasm', 'dist/stripe_bridge_finance_bg.wasm', 'dist/stripe_bridge_payments_bg.wasm',
    'dist/stripe_bridge_targets_bg.wasm',
    'dist/targets-browser.d.ts', 'dist/targets-browser.mjs', 'dist/targets-node.cjs', 'dist/targets-node.mjs',
    'dist/targets-workerd.mjs', 'dist/targets.d.cts', 'dist/targets.d.ts', 'dist/workerd.mjs', 'package.json',
  ]);
});

test('require() in the consumer project', () => {
  writeFileSync(
    join(project, 'cjs.cjs'),
    script("const sb = require('stripe-bridge');") +
      "\nconst t = require('stripe-bridge/targets');\nif (t.mapToTarget(r, 'order-feed').order_ref !== 'P-1') throw new Error('targets');" +
      "\nconst s = t.mergeOrderState(null, r);\nif (s.amount_paid !== '500' || t.upgradeOrderState(s).status !== 'paid') throw new Error('state');" +
      "\nif ('mergeOrderState' in sb || 'upgradeOrderState' in sb) throw new Error('the main entry still has the order state');" +
      "\nconst p = require('stripe-bridge/payments');\nif (typeof p.createCheckoutSession !== 'function' || !p.paymentLinkUrl('https://buy.stripe.com/x', { clientReferenceId: 'P-1' }).endsWith('=P-1')) throw new Error('payments');",
  );
  assert.equal(execFileSync('node', ['cjs.cjs'], { cwd: project, encoding: 'utf8' }).trim(), 'ok');
});

test('import in the consumer project', () => {
  writeFileSync(
    join(project, 'esm.mjs'),
    script("import * as sb from 'stripe-bridge';\nimport { mapToTarget, mergeOrderState } from 'stripe-bridge/targets';\nimport { buildPaymentIntent } from 'stripe-bridge/payments';") +
      "\nif (mapToTarget(r, 'erp', { state: mergeOrderState(null, r) }).document_ref !== 'P-1') throw new Error('targets');" +
      "\nif ('mergeOrderState' in sb) throw new Error('the main entry still has the order state');" +
      "\nif (buildPaymentIntent({ id: 'P-1', currency: 'jpy', lines: [{ name: 'Tea', quantity: 1, unit_price: '500' }], total: '500' }).amount_minor !== 500) throw new Error('payments');",
  );
  assert.equal(execFileSync('node', ['esm.mjs'], { cwd: project, encoding: 'utf8' }).trim(), 'ok');
});

async function bundle(specifier, conditions, platform) {
  return build({
    stdin: { contents: `export * from '${specifier}';`, resolveDir: project },
    bundle: true, write: false, metafile: true, format: 'esm', platform, conditions, logLevel: 'silent',
    external: ['*.wasm', 'node:*'],
  });
}

async function resolved(specifier, conditions, platform) {
  const out = await bundle(specifier, conditions, platform);
  return Object.keys(out.metafile.inputs).find((p) => p.includes('stripe-bridge/dist/'));
}

test('the exports map resolves workerd, browser and node builds', async () => {
  for (const [specifier, prefix] of [['stripe-bridge', ''], ['stripe-bridge/targets', 'targets-'], ['stripe-bridge/payments', 'payments-']]) {
    assert.match(await resolved(specifier, ['workerd', 'worker'], 'neutral'), new RegExp(`dist/${prefix}workerd\\.mjs$`));
    assert.match(await resolved(specifier, [], 'browser'), new RegExp(`dist/${prefix}browser\\.mjs$`));
    assert.match(await resolved(specifier, [], 'node'), new RegExp(`dist/${prefix}node\\.mjs$`));
  }
});

test('no browser entry takes or sends a Stripe secret key', async () => {
  // What a bundler puts in a browser build of each entry point.
  for (const specifier of ['stripe-bridge', 'stripe-bridge/targets', 'stripe-bridge/payments']) {
    const code = (await bundle(specifier, [], 'browser')).outputFiles[0].text;
    for (const needle of ['apiKey', 'Bearer ', 'authorization', 'api.stripe.com', 'sk_test_', 'createCheckoutSession', 'sendStripeRequest']) {
      assert.ok(!code.includes(needle), `${specifier} browser build contains ${needle}`);
    }
  }
  // The Node entry does have the client, so the check above can fail.
  const node = (await bundle('stripe-bridge/payments', [], 'node')).outputFiles[0].text;
  assert.ok(node.includes('apiKey') && node.includes('createCheckoutSession'));
  // And the browser types declare none.
  const dts = execFileSync('cat', ['browser.d.ts', 'targets-browser.d.ts', 'payments-browser.d.ts', 'payments-builders.d.ts'], {
    cwd: join(project, 'node_modules/stripe-bridge/dist'),
    encoding: 'utf8',
  });
  assert.ok(!/apiKey|secretKey|createCheckoutSession|createPaymentIntent|createPaymentLink/.test(dts));
});

test('the browser build in headless Chromium', async () => {
  writeFileSync(
    join(project, 'index.html'),
    `<!doctype html><meta charset="utf-8"><title>pending</title>
<script type="module">
import { init, generateTestHeader, verifyAndNormalize, toMinorUnits } from './node_modules/stripe-bridge/dist/browser.mjs';
import * as payments from './node_modules/stripe-bridge/dist/payments-browser.mjs';
import * as targets from './node_modules/stripe-bridge/dist/targets-browser.mjs';
try {
  await init();
  await payments.init();
  await targets.init();
  const body = ${JSON.stringify(EVENT)};
  const header = generateTestHeader({ payload: body, secret: 'whsec_b' });
  const r = verifyAndNormalize(body, header, 'whsec_b');
  const link = payments.paymentLinkUrl('https://buy.stripe.com/test_b', { clientReferenceId: r.order_ref });
  const exported = Object.keys(payments).filter((k) => /create|send|key/i.test(k));
  const state = targets.upgradeOrderState(targets.mergeOrderState(null, r));
  const feed = targets.mapToTarget(r, 'order-feed', { state });
  document.title = JSON.stringify({ amount: r.amount, order: r.order_ref, minor: toMinorUnits('9.99', 'eur'), link, exported, state: [state.status, state.amount_paid, feed.order_ref] });
} catch (e) { document.title = 'error: ' + e.message; }
</script>`,
  );
  const server = await serveStatic(project);
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    await page.goto(`${server.url}/index.html`);
    await page.waitForFunction(() => document.title !== 'pending', null, { timeout: 15000 });
    assert.deepEqual(JSON.parse(await page.title()), {
      amount: '500',
      order: 'P-1',
      minor: 999,
      link: 'https://buy.stripe.com/test_b?client_reference_id=P-1',
      exported: [],
      state: ['paid', '500', 'P-1'],
    });
  } finally {
    await browser.close();
    await server.close();
  }
});
