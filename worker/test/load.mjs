#!/usr/bin/env node
// Load and fault run (bounded, loopback only, stops by itself): signed events with 20 %
// duplicates into the Worker in workerd, a flaky downstream (errors, timeouts, a few events it
// never accepts), then a count of what happened. Exits 1 if anything accepted was lost.
//   node worker/test/load.mjs [--events 10000] [--concurrency 64]
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startDownstream, startWorker, repoRoot, waitFor, ADMIN_TOKEN } from './harness.mjs';
import * as sb from '../../pkg-js/dist/node.mjs';
import { STRIPE_SECRET } from './harness.mjs';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const EVENTS = arg('events', 10_000);
const CONCURRENCY = arg('concurrency', 64);
const DUPLICATE_SHARE = 0.2;
const DEADLINE_MS = arg('deadline-seconds', 600) * 1000;
const started = Date.now();
const deadline = setTimeout(() => {
  console.error(`load run exceeded ${DEADLINE_MS / 1000} s; stopping`);
  process.exit(2);
}, DEADLINE_MS);

// Deterministic randomness.
let seed = 0x2026_1122n;
const rand = () => {
  seed ^= seed << 13n; seed &= 0xffffffffffffffffn;
  seed ^= seed >> 7n;
  seed ^= seed << 17n; seed &= 0xffffffffffffffffn;
  return Number(seed % 1_000_000n) / 1_000_000;
};

// The flaky backend: 15 % of attempts fail with 500, 3 % hang past the Worker's timeout,
// and 0.5 % of events ("poison") are never accepted, so they must end as dead letters.
const poison = new Set();
const downstream = await startDownstream(async (id) => {
  if (poison.has(id)) return 500;
  const r = rand();
  if (r < 0.03) {
    await new Promise((resolve) => setTimeout(resolve, 800));
    return 200; // too late: the Worker gave up at 300 ms and retries
  }
  return r < 0.18 ? 500 : 200;
});
const mf = await startWorker({
  downstreamUrl: downstream.url,
  // Short backoff caps keep the run bounded; the policy itself is unit-tested in the core.
  vars: { DOWNSTREAM_TIMEOUT_MS: '300', RETRY_MAX_SECONDS: '2' },
});

const template = JSON.parse(readFileSync(join(repoRoot, 'tests/fixtures/events/pi_succeeded_basil.json'), 'utf8'));
const bodies = [];
for (let i = 0; i < EVENTS; i++) {
  const e = structuredClone(template);
  e.id = `evt_load_${String(i).padStart(6, '0')}`;
  e.data.object.metadata.order_id = `LOAD-${i}`;
  e.data.object.amount = e.data.object.amount_received = 100 + i;
  bodies.push(JSON.stringify(e));
  if (rand() < 0.005) poison.add(e.id);
}
// 20 % of all sends are duplicates: a quarter of the events again (some right after the
// original, racing it; most later, as Stripe's retries would).
const sends = bodies.map((body, i) => ({ body, i }));
const dupCount = Math.round((EVENTS * DUPLICATE_SHARE) / (1 - DUPLICATE_SHARE));
for (let k = 0; k < dupCount; k++) {
  const i = Math.floor(rand() * EVENTS);
  const at = rand() < 0.1 ? Math.min(sends.length, i + 1 + Math.floor(rand() * 8)) : sends.length;
  sends.splice(at, 0, { body: bodies[i], i, duplicate: true });
}

const counts = { sent: 0, accepted: 0, duplicate: 0, other: 0 };
const acceptedIds = new Set();
const latencies = [];
let next = 0;
async function sender() {
  while (next < sends.length) {
    const { body } = sends[next++];
    const header = sb.generateTestHeader({ payload: body, secret: STRIPE_SECRET });
    const t0 = process.hrtime.bigint();
    const res = await mf.dispatchFetch('http://worker/webhooks/stripe', { method: 'POST', body, headers: { 'stripe-signature': header } });
    const json = await res.json();
    latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
    counts.sent++;
    if (res.status === 200 && json.result === 'accepted') {
      counts.accepted++;
      acceptedIds.add(json.event_id);
    } else if (res.status === 200 && json.result === 'duplicate') {
      counts.duplicate++;
    } else {
      counts.other++;
      console.error('unexpected response', res.status, json);
    }
  }
}
await Promise.all(Array.from({ length: CONCURRENCY }, sender));
const sendSeconds = (Date.now() - started) / 1000;

// Wait until every accepted event is delivered or dead-lettered.
const dedup = await mf.getKVNamespace('DEDUP');
const deadLetters = await mf.getKVNamespace('DEAD_LETTERS');
const deliveredIds = () => new Set(downstream.delivered().map((r) => r.id));
async function deadIds() {
  const ids = new Set();
  let cursor;
  do {
    const page = await deadLetters.list({ prefix: 'dl:', cursor });
    for (const k of page.keys) ids.add(k.name.slice(3));
    cursor = page.list_complete ? undefined : page.cursor;
  } while (cursor);
  return ids;
}
let settled;
try {
  settled = await waitFor(
    async () => {
      const delivered = deliveredIds();
      const dead = await deadIds();
      const pending = [...acceptedIds].filter((id) => !delivered.has(id) && !dead.has(id));
      return pending.length === 0 ? { delivered, dead } : null;
    },
    { ms: Math.max(10_000, DEADLINE_MS - (Date.now() - started) - 5_000), what: 'all accepted events to be delivered or dead-lettered' },
  );
} catch {
  settled = { delivered: deliveredIds(), dead: await deadIds() };
}
const { delivered, dead } = settled;
const lost = [...acceptedIds].filter((id) => !delivered.has(id) && !dead.has(id));
const receiptsPerId = new Map();
for (const r of downstream.delivered()) receiptsPerId.set(r.id, (receiptsPerId.get(r.id) || 0) + 1);
const duplicatesDelivered = [...receiptsPerId.values()].reduce((n, c) => n + c - 1, 0);
const attempts = downstream.received.length;
latencies.sort((a, b) => a - b);
const pct = (p) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))].toFixed(2);
const deadUnexpected = [...dead].filter((id) => !poison.has(id)).length;

console.log(`load and fault run: ${EVENTS} events, ${counts.sent} signed requests (${dupCount} duplicates, ${(100 * dupCount / counts.sent).toFixed(1)} %), concurrency ${CONCURRENCY}`);
console.log(`  accepted            ${counts.accepted}`);
console.log(`  duplicates          ${counts.duplicate}  (answered 200 "duplicate", not queued again)`);
console.log(`  other responses     ${counts.other}`);
console.log(`  delivered           ${delivered.size}  (${attempts} delivery attempts; backend failed ~18 % and always failed ${poison.size} poison events)`);
console.log(`  dead-lettered       ${dead.size}  (${poison.size} poison events; ${deadUnexpected} others)`);
console.log(`  lost                ${lost.length}`);
console.log(`  duplicates delivered ${duplicatesDelivered}  (same webhook-id twice at the backend; its idempotency key absorbs them)`);
console.log(`  webhook latency     p50 ${pct(50)} ms, p99 ${pct(99)} ms (Miniflare dispatchFetch, client side)`);
console.log(`  time                ${sendSeconds.toFixed(1)} s sending, ${((Date.now() - started) / 1000).toFixed(1)} s total`);

await mf.dispose();
await downstream.close();
clearTimeout(deadline);
if (lost.length > 0 || counts.other > 0) {
  console.error(`FAILED: ${lost.length} lost, ${counts.other} unexpected responses`);
  process.exit(1);
}
