#!/usr/bin/env node
// A static file server on 127.0.0.1 for the package's browser example (and the browser tests):
//   node pkg-js/examples/browser/serve.mjs [port]   then open http://127.0.0.1:8790/examples/browser/
// Serves pkg-js/ (the page imports ../../dist/payments-browser.mjs), .wasm as application/wasm.
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { dirname, extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';

const TYPES = { '.html': 'text/html; charset=utf-8', '.mjs': 'text/javascript', '.js': 'text/javascript', '.wasm': 'application/wasm', '.json': 'application/json', '.css': 'text/css', '.png': 'image/png' };

/** Serves `root` on 127.0.0.1 (`port` 0: a free one). */
export async function serveStatic(root, port = 0) {
  const server = createServer((req, res) => {
    const path = normalize(join(root, decodeURIComponent(new URL(req.url, 'http://x').pathname)));
    const file = path.endsWith('/') ? join(path, 'index.html') : path;
    if (!file.startsWith(root) || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404).end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[extname(file)] || 'application/octet-stream' });
    createReadStream(file).pipe(res);
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  return { url: `http://127.0.0.1:${server.address().port}`, close: () => new Promise((r) => server.close(r)) };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const pkgDir = join(dirname(fileURLToPath(import.meta.url)), '../..');
  if (!existsSync(join(pkgDir, 'dist/payments-browser.mjs'))) {
    console.error('build the package first: node pkg-js/build.mjs');
    process.exit(2);
  }
  const server = await serveStatic(pkgDir, Number(process.argv[2] || 8790));
  console.log(`browser example: ${server.url}/examples/browser/`);
}
