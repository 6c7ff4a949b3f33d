#!/usr/bin/env node
// Benchmark: the Worker's cold start, printed beside Cloudflare's limit (1 s startup): a fresh
// workerd (Miniflare) loading the Worker (its .wasm compiled and instantiated by workerd's V8;
// Node 20's V8 cannot compile it: it uses newer wasm features) and answering its first request,
// several times. Numbers, never pass/fail.   node worker/test/cold-start.mjs [--runs 5]
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot, startWorker } from './harness.mjs';

const i = process.argv.indexOf('--runs');
const runs = i > 0 ? Number(process.argv[i + 1]) : 5;
const wasm = readFileSync(join(repoRoot, 'worker/build/index_bg.wasm'));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const first = [];
for (let r = 0; r < runs; r++) {
  const t0 = performance.now();
  const mf = await startWorker({ downstreamUrl: 'http://127.0.0.1:9/unused' });
  const ready = performance.now();
  const res = await mf.dispatchFetch('http://worker/healthz');
  await res.text();
  first.push([ready - t0, performance.now() - ready]);
  await mf.dispose();
}
console.log(`Worker cold start (${(wasm.length / 1024 / 1024).toFixed(2)} MB .wasm; Cloudflare's startup limit: 1,000 ms)`);
console.log(`  workerd (Miniflare) up with the Worker and all bindings  median ${median(first.map((f) => f[0])).toFixed(0)} ms of ${runs} (the local runtime's own start included: an upper bound)`);
console.log(`  its first request (GET /healthz)                         median ${median(first.map((f) => f[1])).toFixed(1)} ms`);
