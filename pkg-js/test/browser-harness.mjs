// Shared by the pack test and the browser tests: a static file server on 127.0.0.1 (the
// browser example's) and a headless Chromium (Debian's, driven by playwright-core).
import { chromium } from 'playwright-core';

export { serveStatic } from '../examples/browser/serve.mjs';

export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

export async function launchChromium() {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}
