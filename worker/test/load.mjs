#!/usr/bin/env node
// Load and fault run of the order books (FORWARD=state; bounded, loopback only, stops by
// itself). Signed events of ~1 order per 4 events in realistic lifecycles (worker/test/
// load-orders.mjs: failed and abandoned attempts before the paid one, refunds and disputes,
// some without order metadata and some delivered before their payment, three currencies),
// shuffled within each order, 20 % duplicates (some sent twice at the same moment), into the
// Worker in workerd; a flaky backend (5xx, timeouts, a few forwards it refuses until it is
// healed) that keeps, per order, the state with the highest sequence. Then, for every order,
// the state the backend ended with must equal an independent merge of the same events with the
// npm package's mergeOrderState (and so must the book's own entry, GET /orders/{ref}).
// Exits 1 if an event was accepted twice or not at all, an order's final state never arrived,
// any order's state differs, or a forward's signature, id or body is wrong.
//   node worker/test/load.mjs [--events 10000] [--concurrency 16] [--deadline-seconds 600]
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ADMIN_TOKEN, DOWNSTREAM_SECRET, STRIPE_SECRET, repoRoot, startDownstream, startWorker, waitFor, workerdCpuMeter } from './harness.mjs';
import { deliveryOrder, generate, makeRand } from './load-orders.mjs';
import * as sb from '../../pkg-js/dist/node.mjs';
import { mergeOrderState } from '../../pkg-js/dist/targets-node.mjs';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const EVENTS = arg('events', 10_000);
const CONCURRENCY = arg('concurrency', 16);
const DUPLICATE_SHARE = 0.2;
const DEADLINE_MS = arg('deadline-seconds', 600) * 1000;
const BOOK = 'platform:test';
const started = Date.now();
const deadline = setTimeout(() => {
  console.error(`load run exceeded ${DEADLINE_MS / 1000} s; stopping`);
  process.exit(2);
}, DEADLINE_MS);
const seconds = (ms) => (ms / 1000).toFixed(1);

// --- the events -------------------------------------------------------------------------
const rand = makeRand(0x2026_1122);
const gen = generate({
  events: EVENTS,
  rand,
  fixturesDir: join(repoRoot, 'tests/fixtures/events'),
  strays: Math.min(10, Math.floor(EVENTS / 1000)),
  payouts: Math.min(50, Math.floor(EVENTS / 200)),
});
const orders = gen.orders;
const unique = [...orders.flatMap((o) => o.events), ...gen.strays, ...gen.payouts];

// Delivery: each order's events shuffled (an overtaking refund or dispute first, well ahead of
// the rest), orders overlapping (an order's events spread over ~60 sends); payouts and stray
// refunds anywhere.
const keyed = [];
const perOrder = (EVENTS - gen.strays.length - gen.payouts.length) / Math.max(1, orders.length);
orders.forEach((order, i) => {
  const list = deliveryOrder(order, rand);
  order.delivery = list;
  const base = i * perOrder;
  const keys = list.filter((e) => !e.early).map(() => base + rand() * 60).sort((a, b) => a - b);
  let k = 0;
  for (const e of list) keyed.push({ key: e.early ? base - 40 - rand() * 20 : keys[k++], ev: e });
});
for (const e of [...gen.strays, ...gen.payouts]) keyed.push({ key: rand() * EVENTS, ev: e });
keyed.sort((a, b) => a.key - b.key);
const sends = keyed.map(({ ev }) => ({ ev, copies: 1 }));
// 20 % of all requests are duplicates: 30 % of them sent together with the first delivery
// (the same event twice at the same moment), the others later, as Stripe's retries would be.
const dupCount = Math.round((unique.length * DUPLICATE_SHARE) / (1 - DUPLICATE_SHARE));
let concurrentDups = 0;
for (let d = 0; d < dupCount; d++) {
  const i = Math.floor(rand() * sends.length);
  if (rand() < 0.3 && sends[i].copies === 1 && !sends[i].duplicate) {
    sends[i].copies = 2;
    concurrentDups++;
  } else {
    const at = i + 1 + Math.floor(rand() ** 2 * (sends.length - i));
    sends.splice(at, 0, { ev: sends[i].ev, copies: 1, duplicate: true });
  }
}
const requests = sends.reduce((n, s) => n + s.copies, 0);

// --- the backend ----------------------------------------------------------------------
// Per order the state with the highest sequence (lower ones are stale and ignored, as a
// receiver must); event forwards (payouts) by webhook id. It fails ~15 % of attempts with a
// 5xx, lets ~3 % hang past the Worker's 300 ms timeout (it has processed them: the Worker
// retries a forward that was applied), and refuses ~0.4 % of forwards ("poison") until healed.
const hash = (text, alg = 'sha256') => createHash(alg).update(text).digest('hex');
const webhookId = (ref, sequence) => `sb_${hash(`${BOOK}\0${ref}`).slice(0, 24)}_${sequence}`;
const isPoison = (id) => parseInt(hash(id, 'sha1').slice(0, 4), 16) < 0.004 * 65536;
const backend = {
  healed: false,
  best: new Map(), // order_ref -> { sequence, state, event_ids }
  bodyAt: new Map(), // order_ref#sequence -> sha1 of the body (one body per sequence)
  conflicts: [], // a sequence with two different bodies, or a webhook id that is not its order's
  eventForwards: new Set(),
  stale: 0,
  applied: 0,
  poisonSeen: new Set(),
};
const flaky = makeRand(0xbac_e2d);
const firstSeen = new Set();
function receive(id, body) {
  if (!firstSeen.has(id) && !backend.healed) {
    firstSeen.add(id);
    backend.lastAt = Date.now();
  }
  if (!id.startsWith('sb_')) {
    backend.eventForwards.add(id);
    return;
  }
  const f = JSON.parse(body);
  // All orders are in one book here (the platform account, test mode).
  if (f.book !== undefined && f.book !== BOOK) backend.conflicts.push(`${id}: book ${f.book}`);
  if (id !== webhookId(f.order_ref, f.sequence)) backend.conflicts.push(`${id}: webhook id of ${f.order_ref} #${f.sequence}?`);
  const at = `${f.order_ref}#${f.sequence}`;
  const digest = hash(body, 'sha1');
  const before = backend.bodyAt.get(at);
  if (before === undefined) backend.bodyAt.set(at, digest);
  else if (before !== digest) backend.conflicts.push(`${at}: two different bodies`);
  const best = backend.best.get(f.order_ref);
  if (best && best.sequence >= f.sequence) {
    backend.stale++;
    return;
  }
  backend.applied++;
  backend.best.set(f.order_ref, { sequence: f.sequence, state: f.state, event_ids: f.event_ids });
}
const downstream = await startDownstream(async (id, attempt, body) => {
  if (!backend.healed && isPoison(id)) {
    backend.poisonSeen.add(id);
    return 500;
  }
  const r = flaky();
  if (r < 0.15) return 503;
  receive(id, body);
  if (r < 0.18) {
    await new Promise((resolve) => setTimeout(resolve, 800));
    return 200; // processed, but too late: the Worker gave up at 300 ms and retries
  }
  return 200;
});

// 8 retries (the run's backoff caps at 2 s) instead of wrangler.toml's 19: a poison forward is
// dead-lettered in ~15 s; an ordinary one fails 9 times in a row with p = 0.18^9 ≈ 2e-7.
// Batches of 100 (the most Cloudflare allows) instead of 10: Miniflare runs a queue's batches
// one at a time (Cloudflare runs several consumers at once), and a batch lasts as long as its
// slowest delivery (a timeout).
const MAX_RETRIES = 8;
const BATCH = 100;
const mf = await startWorker({
  downstreamUrl: downstream.url,
  vars: { FORWARD: 'state', DOWNSTREAM_TIMEOUT_MS: '300', RETRY_MAX_SECONDS: '2' },
  consumer: { maxRetries: MAX_RETRIES, maxBatchSize: BATCH },
});

// CPU time of the workerd process (harness.mjs: workerd reports no CPU time per request locally).
const workerdCpu = workerdCpuMeter();

// --- sending --------------------------------------------------------------------------
const counts = { accepted: 0, waiting: 0, duplicate: 0, other: 0 };
const acceptedTimes = new Map(); // event id -> accepted answers
const answeredWaiting = new Set(); // event ids answered "accepted", waiting for their order
const answeredSequence = new Map(); // order_ref -> highest sequence in an answer
const latencies = [];
const retryLater = [];
async function post(ev) {
  const header = sb.generateTestHeader({ payload: ev.body, secret: STRIPE_SECRET });
  const t0 = process.hrtime.bigint();
  const res = await mf.dispatchFetch('http://worker/webhooks/stripe', {
    method: 'POST',
    body: ev.body,
    headers: { 'stripe-signature': header, 'content-type': 'application/json' },
  });
  const json = await res.json().catch(() => ({}));
  latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
  if (res.status === 200 && json.result === 'accepted') {
    counts.accepted++;
    acceptedTimes.set(ev.id, (acceptedTimes.get(ev.id) || 0) + 1);
    if (json.waiting) {
      counts.waiting++;
      answeredWaiting.add(ev.id);
    }
    if (json.order_ref && typeof json.sequence === 'number') {
      answeredSequence.set(json.order_ref, Math.max(answeredSequence.get(json.order_ref) || 0, json.sequence));
    }
  } else if (res.status === 200 && json.result === 'duplicate') {
    counts.duplicate++;
  } else {
    // Stripe would deliver it again: so do we, after the rest.
    counts.other++;
    if (counts.other <= 5) console.error('unexpected response', res.status, json);
    retryLater.push(ev);
  }
}
const cpu0 = workerdCpu();
const node0 = process.cpuUsage();
const sendStarted = Date.now();
let next = 0;
async function sender() {
  while (next < sends.length) {
    const { ev, copies } = sends[next++];
    await Promise.all(Array.from({ length: copies }, () => post(ev)));
  }
}
await Promise.all(Array.from({ length: CONCURRENCY }, sender));
for (let round = 0; retryLater.length && round < 5; round++) {
  const again = retryLater.splice(0);
  await new Promise((r) => setTimeout(r, 1000));
  for (const ev of again) await post(ev);
}
const sendMs = Date.now() - sendStarted;
const cpuSend = workerdCpu() - cpu0;
const attemptsSend = downstream.received.length;
const nodeSend = process.cpuUsage(node0);

// --- what the books hold --------------------------------------------------------------
const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };
const book = new Map(); // order_ref -> entry
{
  let i = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (i < orders.length) {
        const ref = orders[i++].ref;
        const res = await mf.dispatchFetch(`http://worker/orders/${encodeURIComponent(ref)}`, { headers: auth });
        const json = await res.json();
        if (res.status === 200) book.set(ref, json);
      }
    }),
  );
}
// The order's last sequence: its book's (GET /orders/{ref}), never below what an answer said.
const finalSequence = (ref) => Math.max(book.get(ref)?.sequence ?? 0, answeredSequence.get(ref) ?? 0);
const cpuAfterBook = workerdCpu();
const attemptsAfterBook = downstream.received.length;

// --- delivery: until every order's final state (and every payout) arrived or was dead-lettered
const deadLetters = await mf.getKVNamespace('DEAD_LETTERS');
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
const missing = (dead = new Set()) => [
  ...orders
    .filter((o) => (backend.best.get(o.ref)?.sequence ?? 0) < finalSequence(o.ref))
    .map((o) => webhookId(o.ref, finalSequence(o.ref)))
    .filter((id) => !dead.has(id)),
  ...gen.payouts.map((e) => e.id).filter((id) => !backend.eventForwards.has(id) && !dead.has(id)),
];
const remainingMs = () => Math.max(10_000, DEADLINE_MS - (Date.now() - started) - 15_000);
let dead = new Set();
let timedOut = false;
let lastDeadCheck = 0;
try {
  await waitFor(
    async () => {
      const pending = missing().length;
      if (pending > 0 && pending > backend.poisonSeen.size) return false;
      // The dead letters are listed once a second (the listing is work for workerd too).
      if (Date.now() - lastDeadCheck < 1000) return false;
      lastDeadCheck = Date.now();
      dead = await deadIds();
      // Every poison forward tried so far has run out of retries, and nothing else is missing.
      return [...backend.poisonSeen].every((id) => dead.has(id)) && missing(dead).length === 0;
    },
    { ms: remainingMs(), what: 'every final state delivered or dead-lettered' },
  );
} catch {
  timedOut = true;
  dead = await deadIds();
}
const settledMs = Date.now() - started;
const cpuSettled = workerdCpu();
const attemptsSettled = downstream.received.length;
const deadLettered = dead.size;
const deadPoison = [...dead].filter((id) => isPoison(id)).length;

// The backend heals; the dead letters are replayed (POST /dead-letters/replay, 500 a call).
backend.healed = true;
let replayed = 0;
for (let round = 0; round < 20; round++) {
  const res = await mf.dispatchFetch('http://worker/dead-letters/replay', { method: 'POST', headers: auth });
  const json = await res.json();
  replayed += json.replayed || 0;
  if (!json.replayed) break;
}
try {
  await waitFor(() => missing().length === 0, { ms: Math.min(60_000, remainingMs()), what: 'replayed dead letters' });
} catch {
  timedOut = true;
}
const lostIds = missing();
const totalMs = Date.now() - started;
const cpuTotal = workerdCpu() - cpu0;

// --- checks -----------------------------------------------------------------------------
const canonical = (v) =>
  Array.isArray(v)
    ? `[${v.map(canonical).join(',')}]`
    : v && typeof v === 'object'
      ? `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`).join(',')}}`
      : JSON.stringify(v);
const FIELDS = ['status', 'currency', 'amount_paid_minor', 'amount_refunded_minor'];
const mismatch = { fields: [], whole: [], book: [] };
let equal = 0;
const forwardsPerOrder = [];
for (const order of orders) {
  // The independent merge: the same unique events, in the order they were generated.
  let expected = null;
  for (const e of order.events) expected = mergeOrderState(expected, sb.normalizeEvent(e.body));
  const got = backend.best.get(order.ref);
  forwardsPerOrder.push(finalSequence(order.ref));
  const entry = book.get(order.ref);
  const bookIds = new Set(entry?.event_ids ?? []);
  const notApplied = order.events.filter((e) => !bookIds.has(e.id));
  const detail = { order, expected, got: got?.state ?? null, entry, notApplied };
  if (!entry || canonical(entry.state) !== canonical(expected)) mismatch.book.push(detail);
  if (!got) continue; // counted as lost
  const fields = FIELDS.filter((f) => canonical(got.state[f]) !== canonical(expected[f]));
  if (fields.length) mismatch.fields.push({ ...detail, fields });
  if (canonical(got.state) !== canonical(expected)) mismatch.whole.push(detail);
  else if (got.sequence === finalSequence(order.ref)) equal++;
}
const duplicatesAccepted = [...acceptedTimes.values()].reduce((n, c) => n + Math.max(0, c - 1), 0);
const neverAccepted = unique.filter((e) => !acceptedTimes.has(e.id)).length;
const answeredBehind = orders.filter((o) => (answeredSequence.get(o.ref) || 0) !== finalSequence(o.ref)).length;

// Deliveries as the backend saw them.
const attempts = downstream.received.length;
const receipts = new Map();
for (const r of downstream.delivered()) receipts.set(r.id, (receipts.get(r.id) || 0) + 1);
const duplicatesDelivered = [...receipts.values()].reduce((n, c) => n + c - 1, 0);
let badSignatures = 0;
for (const r of downstream.received) {
  try {
    sb.verifyStandardWebhook(r.body, r.headers, DOWNSTREAM_SECRET, { tolerance: 3600 });
  } catch {
    badSignatures++;
  }
}
const stateForwards = forwardsPerOrder.reduce((a, b) => a + b, 0);

// The Worker's own timing of each webhook request (its JSON log line's latency_ms).
const workerLatency = [];
let waitingLogged = 0;
for (const line of mf.logs) {
  if (!line.startsWith('{')) continue;
  let j;
  try {
    j = JSON.parse(line);
  } catch {
    continue;
  }
  if (j.path === '/webhooks/stripe' && typeof j.latency_ms === 'number') workerLatency.push(j.latency_ms);
  if (j.book === 'waiting') waitingLogged++;
}
const pct = (list, p) => {
  if (!list.length) return NaN;
  const sorted = [...list].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
};
const mean = (list) => list.reduce((a, b) => a + b, 0) / Math.max(1, list.length);
const stillWaiting = unique.filter((e) => e.order && !(book.get(e.order)?.event_ids ?? []).includes(e.id)).length;

// --- report -----------------------------------------------------------------------------
const flows = {};
for (const o of orders) flows[o.flow] = (flows[o.flow] || 0) + 1;
const early = orders.filter((o) => o.events.some((e) => e.early)).length;
console.log(
  `load and fault run (FORWARD=state): ${unique.length} events for ${orders.length} orders` +
    ` (+ ${gen.payouts.length} payouts, ${gen.strays.length} stray refunds), ${requests} signed requests` +
    ` (${dupCount} duplicates, ${((100 * dupCount) / requests).toFixed(1)} %; ${concurrentDups} sent twice at the same moment), concurrency ${CONCURRENCY}`,
);
console.log(`  lifecycles          ${Object.entries(flows).map(([k, v]) => `${k} ${v}`).join(', ')}; ${early} orders with a refund/dispute sent before their payment`);
console.log(`  accepted            ${counts.accepted}  (unique events: ${unique.length}; ${counts.waiting} waited for their order, ${waitingLogged} "waiting" log lines)`);
console.log(`  duplicates          ${counts.duplicate}  answered 200 "duplicate" (of ${dupCount} duplicate requests)`);
console.log(`  duplicates accepted ${duplicatesAccepted}`);
console.log(`  other responses     ${counts.other}${counts.other ? ' (delivered again, as Stripe would)' : ''}`);
console.log(`  state forwards      ${stateForwards} (per order: mean ${mean(forwardsPerOrder).toFixed(2)}, max ${Math.max(...forwardsPerOrder)}); ${backend.eventForwards.size} payout forwards`);
console.log(`  delivery attempts   ${attempts} in queue batches of ${BATCH} (backend: ~15 % 5xx, ~3 % past the 300 ms timeout, ${backend.poisonSeen.size} poison forwards refused until healed); ${duplicatesDelivered} webhook ids delivered more than once, ${backend.stale} stale forwards ignored`);
console.log(`  dead-lettered       ${deadLettered}  (${deadPoison} poison, ${deadLettered - deadPoison} others); replayed ${replayed} after the backend healed`);
console.log(`  lost                ${lostIds.length}  (orders whose final state, or payouts, never reached the backend)`);
console.log(`  final state         ${equal}/${orders.length} orders equal to the npm mergeOrderState of their events (whole state); fields ${FIELDS.join(', ')} differ in ${mismatch.fields.length}; the book's own state differs in ${mismatch.book.length}`);
if (mismatch.whole.length) {
  const byFlow = {};
  for (const d of mismatch.whole) byFlow[d.order.flow] = (byFlow[d.order.flow] || 0) + 1;
  const stranded = mismatch.whole.filter((d) => d.notApplied.length).length;
  const strandedTypes = {};
  for (const d of mismatch.whole) for (const e of d.notApplied) strandedTypes[e.type] = (strandedTypes[e.type] || 0) + 1;
  console.log(`  differing orders    by lifecycle: ${Object.entries(byFlow).map(([k, v]) => `${k} ${v}`).join(', ')}; ${stranded} of them have events the book never applied (${Object.entries(strandedTypes).map(([k, v]) => `${k} ${v}`).join(', ')}), ${mismatch.whole.length - stranded} do not`);
}
const straysWaiting = gen.strays.filter((e) => answeredWaiting.has(e.id)).length;
console.log(`  stray refunds       ${gen.strays.length}, ${straysWaiting} of them answered "waiting" (no order ever names their payment: they wait for good; not part of any order, excluded from the checks)`);
console.log(`  never applied       ${stillWaiting}  (events of an order not in its book entry's event_ids: still waiting although their order is known)`);
console.log(`  answers             ${answeredBehind} orders whose highest answered sequence differs from the book's`);
console.log(`  signatures          ${badSignatures} forwarded requests with a bad Standard Webhooks signature; ${backend.conflicts.length} id/body conflicts`);
console.log(`  webhook latency     p50 ${pct(latencies, 50).toFixed(2)} ms, p99 ${pct(latencies, 99).toFixed(2)} ms (Miniflare dispatchFetch, client side)`);
console.log(`  Worker time         p50 ${pct(workerLatency, 50)} ms, p99 ${pct(workerLatency, 99)} ms, mean ${mean(workerLatency).toFixed(2)} ms per webhook (wall time from its log lines' latency_ms, not CPU time: Date.now() in workerd only advances across I/O)`);
// workerd's CPU per delivery attempt, from the phase after sending (deliveries and retries
// only), then the sending phase's CPU less the deliveries that ran meanwhile.
const cpuPerAttempt = (cpuSettled - cpuAfterBook) / Math.max(1, attemptsSettled - attemptsAfterBook);
const cpuPerWebhook = (cpuSend - attemptsSend * cpuPerAttempt) / requests;
if (!Number.isNaN(cpuTotal)) {
  console.log(`  CPU time            ${(1000 * cpuPerWebhook).toFixed(2)} ms per webhook request, ${(1000 * cpuPerAttempt).toFixed(2)} ms per delivery attempt (the workerd process's CPU time, user + system from /proc: it includes the Durable Object, KV, Queues and Miniflare's plumbing, so it bounds the Worker's own from above; workerd reports no CPU time per request locally, its tail events say cpuTime 0)`);
  console.log(`                      sending: ${cpuSend.toFixed(1)} s for ${requests} requests and the ${attemptsSend} delivery attempts meanwhile; after sending: ${(cpuSettled - cpuAfterBook).toFixed(1)} s for ${attemptsSettled - attemptsAfterBook} attempts; whole run ${cpuTotal.toFixed(1)} s; the driver (Node: signing, dispatch, backend) ${((nodeSend.user + nodeSend.system) / 1e6).toFixed(1)} s while sending`);
} else {
  console.log('  CPU time            (the workerd process was not found)');
}
console.log(`  time                ${seconds(sendMs)} s sending (${Math.round(requests / (sendMs / 1000))} requests/s), ${seconds(settledMs)} s until delivered or dead-lettered, ${seconds(totalMs)} s total${timedOut ? ' (TIMED OUT waiting)' : ''}; the last forward that was not poison first reached the backend at ${seconds((backend.lastAt ?? started) - started)} s`);

const show = (label, list) => {
  for (const d of list.slice(0, 3)) {
    console.log(`  ${label} ${d.order.ref} (${d.order.flow}): book sequence ${d.entry?.sequence}, events not applied: ${d.notApplied.map((e) => `${e.type} ${e.id}`).join(', ') || 'none'}`);
    console.log(`    delivered as: ${d.order.delivery.map((e) => e.type).join(' -> ')}`);
    if (d.fields) console.log(`    fields ${d.fields.map((f) => `${f}: got ${JSON.stringify(d.got?.[f])} expected ${JSON.stringify(d.expected[f])}`).join('; ')}`);
  }
};

await mf.dispose();
await downstream.close();
clearTimeout(deadline);
const failures = [];
if (counts.accepted !== unique.length || neverAccepted) failures.push(`${counts.accepted} accepted for ${unique.length} unique events (${neverAccepted} never accepted)`);
if (duplicatesAccepted) failures.push(`${duplicatesAccepted} duplicates accepted`);
if (lostIds.length) failures.push(`${lostIds.length} lost`);
if (mismatch.whole.length || mismatch.fields.length) failures.push(`${mismatch.whole.length} orders whose final state differs from the merge`);
if (stillWaiting) failures.push(`${stillWaiting} events of orders never applied to them`);
if (mismatch.book.length) failures.push(`${mismatch.book.length} orders whose book state differs from the merge`);
if (backend.conflicts.length) failures.push(`${backend.conflicts.length} id/body conflicts (${backend.conflicts.slice(0, 3).join('; ')})`);
if (badSignatures) failures.push(`${badSignatures} bad signatures`);
if (failures.length) {
  show('differs:', mismatch.fields.length ? mismatch.fields : mismatch.whole.length ? mismatch.whole : mismatch.book);
  show('differs:', mismatch.whole.filter((d) => !d.notApplied.length));
  console.log(`FAILED: ${failures.join('; ')}`);
  process.exitCode = 1;
}
