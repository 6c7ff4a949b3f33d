// The browser example (pkg-js/examples/browser/) served on 127.0.0.1 and driven in headless
// Chromium: the order form produces the right Payment Link; bad input shows a clear message on
// the right field. Saves a screenshot of each state under pkg-js/build/screenshots/.
import assert from 'node:assert/strict';
import { mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { launchChromium, serveStatic } from './browser-harness.mjs';
import { pkgDir } from './helpers.mjs';

const SHOTS = join(pkgDir, 'build/screenshots');
const LINK = 'https://buy.stripe.com/test_eVa5nPg1j1wm';

describe('browser example: order form -> Pay link', () => {
  let server;
  let browser;
  let page;
  const pageErrors = [];
  before(async () => {
    mkdirSync(SHOTS, { recursive: true });
    server = await serveStatic(pkgDir);
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 720, height: 640 } });
    page.on('pageerror', (e) => pageErrors.push(e.message));
    page.on('console', (m) => m.type() === 'error' && pageErrors.push(m.text()));
    await page.goto(`${server.url}/examples/browser/`);
    await page.waitForSelector('body[data-ready="true"]', { timeout: 15000 });
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  async function fill({ link = LINK, orderId = '', email = '', locale = '', promo = '' }) {
    await page.fill('#link', link);
    await page.fill('#order-id', orderId);
    await page.fill('#email', email);
    await page.selectOption('#locale', locale);
    await page.fill('#promo', promo);
    await page.click('button[type=submit]');
  }

  const visible = (selector) => page.isVisible(selector);

  async function screenshot(t, name) {
    const path = join(SHOTS, `browser-example-${name}.png`);
    await page.screenshot({ path, fullPage: true });
    t.diagnostic(`screenshot: ${path} (${statSync(path).size} bytes)`);
  }

  test('a filled form gives the Payment Link with the order, email, language and promo code', async (t) => {
    await fill({ orderId: 'SO-1001', email: 'jenny+shop@example.com', locale: 'de', promo: 'SPRING-25' });
    assert.ok(await visible('#pay'));
    assert.ok(!(await visible('#error')));
    const expected = `${LINK}?client_reference_id=SO-1001&prefilled_email=jenny%2Bshop%40example.com&locale=de&prefilled_promo_code=SPRING-25`;
    assert.equal(await page.getAttribute('#pay', 'href'), expected);
    assert.equal(await page.textContent('#pay'), 'Pay order SO-1001');
    assert.equal(await page.textContent('#pay-url'), expected);
    await screenshot(t, 'link');
    // Only what was filled in goes into the link.
    await fill({ orderId: '1002' });
    assert.equal(await page.getAttribute('#pay', 'href'), `${LINK}?client_reference_id=1002`);
  });

  test('bad input: one clear message on the field, no link', async (t) => {
    const cases = [
      [{ orderId: '' }, 'order-id', 'Order number is required.'],
      [{ orderId: 'SO 1001/26' }, 'order-id', 'Order number must be 1 to 200 letters, digits, - or _.'],
      [{ orderId: 'x'.repeat(201) }, 'order-id', 'Order number must be 1 to 200 letters, digits, - or _.'],
      [{ orderId: '1001', email: 'jenny' }, 'email', 'Email is not an email address.'],
      [{ orderId: '1001', promo: '25% OFF' }, 'promo', 'Promotion code must be 1 to 100 letters, digits, - or _.'],
      [{ orderId: '1001', link: 'https://evil.example.com/pay' }, 'link', 'Payment Link must be on buy.stripe.com or donate.stripe.com.'],
      [{ orderId: '1001', link: 'http://buy.stripe.com/test_1' }, 'link', 'Payment Link must be an https:// Stripe Payment Link.'],
    ];
    for (const [input, field, message] of cases) {
      await fill(input);
      assert.equal(await page.textContent('#error'), message, JSON.stringify(input));
      assert.ok(await visible('#error'));
      assert.ok(!(await visible('#result')), 'no link next to an error');
      assert.equal(await page.getAttribute(`#${field}`, 'aria-invalid'), 'true');
      assert.equal(await page.evaluate(() => document.activeElement.id), field, 'focus moves to the field');
      assert.equal(await page.locator('[aria-invalid]').count(), 1, 'only that field is marked');
    }
    await fill({ orderId: 'SO 1001/26' });
    await screenshot(t, 'error');
    // Fixing the input clears the message.
    await fill({ orderId: 'SO-1001' });
    assert.ok(!(await visible('#error')));
    assert.equal(await page.locator('[aria-invalid]').count(), 0);
  });

  test('no errors in the page console', () => {
    assert.deepEqual(pageErrors, []);
  });
});
