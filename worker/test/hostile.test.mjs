// Hostile HTTP against the built Worker in workerd (issue 14): malformed and huge requests,
// chunked and slow bodies, wrong methods on every route, odd paths, admin routes without or
// with wrong tokens, bad signatures. Never a 500 (none of these is a configuration error),
// never a record accepted or forwarded from a bad signature.
// Run: bash scripts/build-worker.sh && node --test worker/test/hostile.test.mjs
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { connect } from 'node:net';
import { after, before, test } from 'node:test';
import { ADMIN_TOKEN, STRIPE_SECRET, startDownstream, startWorker } from './harness.mjs';

let mf;
let downstream;
let base;

before(async () => {
  downstream = await startDownstream();
  mf = await startWorker({ downstreamUrl: downstream.url });
  base = await mf.ready;
});
after(async () => {
  await mf?.dispose();
  await downstream?.close();
});

const sign = (payload, secret = STRIPE_SECRET, t = Math.floor(Date.now() / 1000)) =>
  `t=${t},v1=${createHmac('sha256', secret).update(`${t}.${payload}`).digest('hex')}`;
const event = (id) => JSON.stringify({
  id, object: 'event', type: 'payment_intent.succeeded', created: Math.floor(Date.now() / 1000), livemode: false,
  data: { object: { id: `pi_${id}`, object: 'payment_intent', amount: 1000, currency: 'usd', status: 'succeeded', metadata: { order_id: `H-${id}` } } },
});
const fetchWorker = (path, init = {}) => fetch(new URL(path, base), { ...init, redirect: 'manual' });
const ROUTES = ['/webhooks/stripe', '/healthz', '/healthz?deep=1', '/orders/1001', '/orders/1001/sync', '/payouts/po_1',
  '/payouts/po_1/reconcile', '/reports/frr_1', '/refunds', '/customers', '/payments/pi_1/capture', '/payments/pi_1/cancel',
  '/payment-requests', '/dead-letters', '/dead-letters/replay', '/dead-letters/evt_1/replay', '/nope'];
const ADMIN = ['/healthz?deep=1', '/orders/1001', '/orders/1001/sync', '/payouts/po_1', '/payouts/po_1/reconcile', '/reports/frr_1',
  '/refunds', '/customers', '/payments/pi_1/capture', '/payments/pi_1/cancel', '/payment-requests', '/dead-letters',
  '/dead-letters/replay', '/dead-letters/evt_1/replay', '/admin/stats', '/admin/stats?hours=99999', '/admin/orders?q=pi_1',
  '/admin/orders/1001', '/admin/payouts', '/admin/config'];

function notServerError(res, what) {
  assert.ok(res.status < 500, `${what}: ${res.status}`);
}

test('bad signatures are refused and nothing is stored or forwarded', async () => {
  const bodies = [event('evt_hostile_1'), '', 'not json', '{"id":"evt_x"}', 'x'.repeat(100_000)];
  const headers = (body) => [undefined, '', 'garbage', 't=abc,v1=00', sign(`${body}x`), sign(body, 'whsec_wrong'),
    sign(body, STRIPE_SECRET, 1), `t=${Math.floor(Date.now() / 1000)},v0=${'0'.repeat(64)}`, `${sign(body)}`.toUpperCase(),
    `t=1,${'v1=0,'.repeat(2000)}`];
  for (const body of bodies) {
    for (const sig of headers(body)) {
      const res = await fetchWorker('/webhooks/stripe', { method: 'POST', body, headers: sig === undefined ? {} : { 'stripe-signature': sig } });
      const text = await res.text();
      notServerError(res, `signature ${String(sig).slice(0, 40)}`);
      assert.ok(res.status >= 400, `refused: ${res.status} ${text.slice(0, 200)}`);
      assert.ok(!/"result":"(accepted|duplicate)"/.test(text), text.slice(0, 200));
    }
  }
  // The order never existed.
  const order = await fetchWorker('/orders/H-evt_hostile_1', { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  notServerError(order, 'order lookup');
  assert.notEqual(order.status, 200);
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(downstream.received.length, 0, 'nothing forwarded');
});

test('wrong methods and odd paths never give a 500', async () => {
  for (const path of ROUTES) {
    for (const method of ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']) {
      const res = await fetchWorker(path, { method, body: ['GET', 'HEAD'].includes(method) ? undefined : '{}' });
      await res.arrayBuffer();
      notServerError(res, `${method} ${path}`);
    }
  }
  const odd = ['/webhooks/stripe/', '//webhooks/stripe', '/webhooks/%73tripe', '/webhooks/stripe/..', '/orders/..%2F..%2Fetc',
    '/orders/../dead-letters', '/orders/%00', '/orders/%ff%fe', '/orders/日本語', '/orders/😀', `/orders/${'a'.repeat(8000)}`,
    '/payouts/..%2Fdead-letters/reconcile', '/dead-letters/%2e%2e/replay', '/healthz?deep=%ff', '/healthz?deep=1&deep=2',
    '/payments/pi_1%2Fcapture', '/payments//capture', '/%', '/orders/%'];
  for (const path of odd) {
    for (const method of ['GET', 'POST']) {
      let res;
      try {
        res = await fetchWorker(path, { method, body: method === 'POST' ? '{}' : undefined });
      } catch {
        continue; // the runtime closed the connection (e.g. a path too long for it): no answer, no 500
      }
      await res.arrayBuffer();
      notServerError(res, `${method} ${path}`);
    }
  }
});

test('admin routes without or with a wrong token are refused', async () => {
  for (const path of ADMIN) {
    for (const auth of [undefined, '', 'Bearer', 'Bearer ', 'Bearer nope', `Bearer ${ADMIN_TOKEN}x`, `bearer${ADMIN_TOKEN}`,
      `Basic ${Buffer.from(`admin:${ADMIN_TOKEN}`).toString('base64')}`, `Bearer ${ADMIN_TOKEN.slice(0, -1)}`]) {
      const method = /reconcile|replay|refunds|customers|capture|cancel|payment-requests|sync/.test(path) ? 'POST' : 'GET';
      const res = await fetchWorker(path, { method, body: method === 'POST' ? '{}' : undefined, headers: auth === undefined ? {} : { authorization: auth } });
      const text = await res.text();
      notServerError(res, `${method} ${path} ${auth}`);
      assert.ok([401, 403, 404, 405].includes(res.status), `${method} ${path} with ${auth}: ${res.status} ${text.slice(0, 120)}`);
    }
  }
});

test('huge and chunked bodies', async () => {
  const huge = 'x'.repeat(8 * 1024 * 1024);
  let res;
  try {
    res = await fetchWorker('/webhooks/stripe', { method: 'POST', body: huge, headers: { 'stripe-signature': sign(huge) } });
  } catch (e) {
    // The runtime may answer 413 and close before the 8 MB upload ends: the client then sees
    // the connection cut (refused, nothing accepted). Any other failure is a failure.
    const code = e.cause && e.cause.code;
    assert.ok(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET'].includes(code), `huge body: ${e} ${code}`);
  }
  if (res) {
    notServerError(res, 'huge body');
    assert.ok(res.status >= 400);
    await res.arrayBuffer();
  }
  // A valid event streamed in many small chunks (Transfer-Encoding: chunked) is the same event.
  const body = event('evt_hostile_chunked');
  const stream = new ReadableStream({
    start(controller) {
      for (let i = 0; i < body.length; i += 7) controller.enqueue(new TextEncoder().encode(body.slice(i, i + 7)));
      controller.close();
    },
  });
  res = await fetchWorker('/webhooks/stripe', { method: 'POST', body: stream, duplex: 'half', headers: { 'stripe-signature': sign(body) } });
  const text = await res.text();
  assert.equal(res.status, 200, text);
  // A streamed body that is tampered with on the way is refused.
  const tampered = new ReadableStream({ start(c) { c.enqueue(new TextEncoder().encode(body)); c.enqueue(new TextEncoder().encode(' ')); c.close(); } });
  res = await fetchWorker('/webhooks/stripe', { method: 'POST', body: tampered, duplex: 'half', headers: { 'stripe-signature': sign(body) } });
  notServerError(res, 'tampered stream');
  assert.ok(res.status >= 400);
  await res.arrayBuffer();
});

/** Sends raw bytes (optionally in timed pieces) and returns what came back before the close. */
function raw(pieces, { wait = 3000 } = {}) {
  const url = new URL(base);
  return new Promise((resolve) => {
    const socket = connect(Number(url.port), url.hostname);
    const chunks = [];
    socket.on('data', (c) => chunks.push(c));
    socket.on('error', () => {});
    const done = () => resolve(Buffer.concat(chunks).toString('latin1'));
    socket.on('close', done);
    socket.setTimeout(wait, () => socket.destroy());
    (async () => {
      for (const p of pieces) {
        if (typeof p === 'number') await new Promise((r) => setTimeout(r, p));
        else if (!socket.destroyed) socket.write(p);
      }
    })();
  });
}

test('malformed requests on a raw socket', async () => {
  const host = `Host: ${new URL(base).host}\r\n`;
  const cases = [
    `POST /webhooks/stripe HTTP/1.1\r\n${host}Stripe-Signature t=1\r\nContent-Length: 2\r\n\r\n{}`,
    `POST /webhooks/stripe HTTP/1.1\r\n${host}Stripe-Signature: ${'v1='.repeat(30000)}\r\nContent-Length: 2\r\n\r\n{}`,
    `POST /webhooks/stripe HTTP/1.1\r\n${host}Content-Length: 5\r\nContent-Length: 7\r\n\r\n{}{}{}{}`,
    `POST /webhooks/stripe HTTP/1.1\r\n${host}Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n`,
    `POST /webhooks/stripe HTTP/1.1\r\n${host}Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n`,
    `POST /webhooks/stripe HTTP/1.1\r\n${host}Content-Length: -1\r\n\r\n`,
    `POST /webhooks/stripe HTTP/1.1\r\n${host}Stripe-Signature: t=1\u0000,v1=00\r\nContent-Length: 2\r\n\r\n{}`,
    `GET /orders/\u00ff\u00fe HTTP/1.1\r\n${host}\r\n`,
    `GET /../../etc/passwd HTTP/1.1\r\n${host}\r\n`,
    `BREW /webhooks/stripe HTTP/1.1\r\n${host}\r\n`,
    `GET /dead-letters HTTP/1.1\r\n${host}Authorization: Bearer ${ADMIN_TOKEN}\u0007\r\n\r\n`,
    `GET /healthz HTTP/9.9\r\n${host}\r\n`,
    'garbage\r\n\r\n',
  ];
  for (const c of cases) {
    const reply = await raw([c]);
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(reply)?.[1] || 0);
    // Two different Content-Length values: workerd's HTTP layer answers 500 before the Worker
    // runs (not the Worker's code; Cloudflare's edge refuses such a request with a 400).
    if (/Content-Length: (5\r\nContent-Length: 7|-1)/.test(c) && /^HTTP\/1\.1 500[^]*\r\n\r\nInternal Server Error$/.test(reply)) continue;
    // An unknown method: the runtime's 501 Not Implemented (right by RFC 9110), not an error.
    if (/^(BREW|garbage)/.test(c) && status === 501) continue;
    assert.ok(status < 500, `${JSON.stringify(c.slice(0, 80))}: ${reply.slice(0, 80)}`);
    assert.ok(!reply.includes('"result":"accepted"'), reply.slice(0, 200));
  }
});

test('slow and truncated bodies', async () => {
  const body = event('evt_hostile_slow');
  const head = `POST /webhooks/stripe HTTP/1.1\r\nHost: ${new URL(base).host}\r\nStripe-Signature: ${sign(body)}\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`;
  // Slow but complete: accepted (a slow sender is not an attack on correctness).
  const pieces = [head];
  for (let i = 0; i < body.length; i += 40) pieces.push(200, body.slice(i, i + 40));
  const slow = await raw(pieces, { wait: 15000 });
  assert.match(slow, /^HTTP\/1\.1 200/, slow.slice(0, 200));
  // Truncated: the sender stops half-way and hangs up; nothing accepted, the Worker lives on.
  const truncated = await raw([head.replace('evt_hostile_slow', 'x'), body.slice(0, 50), 500], { wait: 1000 });
  assert.ok(!truncated.includes('"result":"accepted"'));
  const health = await fetchWorker('/healthz');
  assert.equal(health.status, 200);
  await health.arrayBuffer();
});
