// The asynchronous webhook functions in headless Chromium, where they hash with the Web Crypto
// API: the same records, events and errors as the synchronous functions (HMAC in wasm there)
// and as Node.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import * as sb from '../dist/node.mjs';
import { launchChromium, serveStatic } from './browser-harness.mjs';
import { fixture, pkgDir } from './helpers.mjs';

describe('browser: the async functions use Web Crypto and agree with everything else', () => {
  let server;
  let browser;
  let page;
  before(async () => {
    server = await serveStatic(pkgDir);
    browser = await launchChromium();
    page = await browser.newPage();
    // Any page of the served origin (127.0.0.1 is a secure context: crypto.subtle exists).
    await page.goto(`${server.url}/examples/browser/`);
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  test('records, events and errors', async () => {
    const secrets = ['whsec_old', 'whsec_browser'];
    const t = Math.floor(Date.now() / 1000);
    const cases = [];
    for (const name of ['checkout_session_completed_clover.json', 'pi_succeeded_basil.json', 'charge_refunded_partial_basil.json']) {
      const body = fixture(name).toString('utf8');
      for (const secret of secrets) cases.push({ body, header: sb.generateTestHeader({ payload: body, secret }) });
    }
    const body = fixture('pi_succeeded_basil.json').toString('utf8');
    cases.push(
      { body, header: sb.generateTestHeader({ payload: body, secret: 'whsec_wrong' }) },
      { body: `${body} `, header: sb.generateTestHeader({ payload: body, secret: 'whsec_browser' }) },
      { body, header: sb.generateTestHeader({ payload: body, secret: 'whsec_browser', timestamp: t - 301 }) },
      { body, header: '' },
    );
    const { out: results, blank, mutated } = await page.evaluate(
      async ({ cases, secrets, t }) => {
        const pkg = await import('/dist/browser.mjs');
        await pkg.init();
        const outcome = async (fn) => {
          try {
            return { ok: await fn() };
          } catch (e) {
            return { error: { type: e.type, code: e.code } };
          }
        };
        const out = [];
        for (const { body, header } of cases) {
          const options = { now: t };
          out.push({
            subtle: typeof crypto.subtle?.sign === 'function',
            async: await outcome(() => pkg.verifyAndNormalizeAsync(body, header, secrets, options)),
            sync: await outcome(() => pkg.verifyAndNormalize(body, header, secrets, options)),
            event: await outcome(() => pkg.constructEventAsync(new TextEncoder().encode(body), header, secrets, options)),
            header: await outcome(() => pkg.verifyHeaderAsync(body, header, secrets, options)),
          });
        }
        // A blank secret is the core's no_secrets, not an error of Web Crypto's key import.
        const blank = await outcome(() => pkg.verifyAndNormalizeAsync(cases[0].body, cases[0].header, ['whsec_old', ''], { now: t }));
        // The caller's array changes while Web Crypto hashes: the signed bytes are what is read.
        const bytes = new TextEncoder().encode(cases[0].body);
        const pending = pkg.verifyAndNormalizeAsync(bytes, cases[0].header, secrets, { now: t });
        bytes.fill(32);
        const mutated = await outcome(() => pending);
        return { out, blank, mutated };
      },
      { cases, secrets, t },
    );
    for (const [i, { body, header }] of cases.entries()) {
      let expected;
      try {
        expected = { ok: sb.verifyAndNormalize(body, header, secrets, { now: t }) };
      } catch (e) {
        expected = { error: { type: e.type, code: e.code } };
      }
      const got = results[i];
      assert.equal(got.subtle, true);
      assert.deepEqual(got.async, expected, `case ${i}`);
      assert.deepEqual(got.sync, expected, `case ${i}`);
      assert.deepEqual(got.event, expected.ok ? { ok: JSON.parse(body) } : expected, `case ${i}`);
      assert.deepEqual(got.header, expected.ok ? { ok: true } : expected, `case ${i}`);
    }
    assert.deepEqual(mutated, { ok: sb.verifyAndNormalize(cases[0].body, cases[0].header, secrets, { now: t }) });
    assert.deepEqual(blank, { error: { type: 'StripeSignatureVerificationError', code: 'no_secrets' } });
    assert.ok(results.filter((r) => r.async.ok).length === 6 && results.filter((r) => r.async.error).length === 4);
  });
});
