// The nopCommerce proxy against a real PostgreSQL server (scripts/with-postgres.sh sets
// DATABASE_URL) with nopCommerce's Order/OrderNote tables: paid, partially refunded, refunded
// and disputed orders end in the right states; duplicates and out-of-order deliveries do not
// corrupt them; and the whole path Stripe event -> Worker (workerd) -> proxy -> database works.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { generateTestHeader, normalizeEvent, signStandardWebhook } from 'stripe-bridge';
import { createProxy } from '../proxy.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = join(here, '../../..');
const SECRET = 'whsec_bm9wY29tbWVyY2UtcHJveHktdGVzdC1zZWNyZXQ=';

assert.ok(process.env.DATABASE_URL, 'run through scripts/with-postgres.sh (it starts PostgreSQL and sets DATABASE_URL)');

let admin;
let pool;
let server;
let url;
const database = `nop_proxy_test_${process.pid}`;

before(async () => {
  admin = new pg.Client({ connectionString: process.env.DATABASE_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${database}`);
  const dbUrl = new URL(process.env.DATABASE_URL);
  dbUrl.pathname = `/${database}`;
  pool = new pg.Pool({ connectionString: dbUrl.toString(), max: 4 });
  await pool.query(readFileSync(join(here, '../schema.sql'), 'utf8'));
  server = createProxy({ pool, secret: SECRET, storeCurrency: 'USD' });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${server.address().port}/`;
});

after(async () => {
  await new Promise((resolve) => server?.close(resolve));
  await pool?.end();
  await admin?.query(`DROP DATABASE IF EXISTS ${database}`);
  await admin?.end();
});

/** A nopCommerce order as checkout leaves it: pending payment, pending order. */
async function createOrder(id, total = '21.98') {
  await pool.query(
    `INSERT INTO "Order" ("Id", "OrderGuid", "StoreId", "CustomerId", "OrderStatusId", "ShippingStatusId", "PaymentStatusId",
       "PaymentMethodSystemName", "CustomerCurrencyCode", "CurrencyRate", "OrderTotal", "RefundedAmount", "Deleted", "CreatedOnUtc", "CustomOrderNumber")
     VALUES ($1, gen_random_uuid(), 1, 1, 10, 20, 10, 'Payments.StripeBridge', 'USD', 1, $2, 0, false, now() at time zone 'utc', $3)`,
    [id, total, `NOP-${id}`],
  );
}

async function order(id) {
  const { rows } = await pool.query(
    `SELECT "PaymentStatusId", "OrderStatusId", "RefundedAmount"::text AS "RefundedAmount", "PaidDateUtc" IS NOT NULL AS "Paid",
            "AuthorizationTransactionId", "CaptureTransactionId" FROM "Order" WHERE "Id" = $1`,
    [id],
  );
  const notes = await pool.query('SELECT "Note" FROM "OrderNote" WHERE "OrderId" = $1 ORDER BY "Id"', [id]);
  return { ...rows[0], notes: notes.rows.map((r) => r.Note) };
}

/** A fixture's normalized record, made to belong to `orderId` (own ids, own order reference). */
function record(name, orderId, { tag = orderId } = {}) {
  const event = JSON.parse(readFileSync(join(repoRoot, 'tests/fixtures/events', name), 'utf8'));
  event.id = `${event.id}_${tag}`;
  const text = JSON.stringify(event)
    .replaceAll('pi_3QbasilOrder1001', `pi_order_${orderId}`)
    .replaceAll('ch_3QbasilOrder1001', `ch_order_${orderId}`)
    .replaceAll('"order_id":"1001"', `"order_id":"${orderId}"`)
    .replaceAll('"client_reference_id":"1001"', `"client_reference_id":"${orderId}"`);
  return normalizeEvent(text);
}

/** POSTs a record as the Worker does (Standard Webhooks signature). */
async function forward(rec, secret = SECRET) {
  const body = JSON.stringify(rec);
  const headers = { 'content-type': 'application/json', ...signStandardWebhook({ id: rec.event_id, payload: body, secret }) };
  const res = await fetch(url, { method: 'POST', body, headers });
  return { status: res.status, ...(await res.json()) };
}

/** Delivers records like the Worker's queue: what answers 409 is retried after the others. */
async function deliver(records) {
  let pending = records;
  for (let round = 0; round < 5 && pending.length; round++) {
    const retry = [];
    for (const r of pending) {
      const res = await forward(r);
      if (res.status === 409) retry.push(r);
      else assert.equal(res.status, 200, JSON.stringify(res));
    }
    pending = retry;
  }
  assert.equal(pending.length, 0, 'every record applied within the retries');
}

describe('nopCommerce proxy on PostgreSQL', () => {
  test('a paid order: Paid, Processing, paid date, transaction ids, notes', async () => {
    await createOrder(2001);
    await deliver([record('pi_succeeded_basil.json', 2001)]);
    const o = await order(2001);
    assert.equal(o.PaymentStatusId, 30);
    assert.equal(o.OrderStatusId, 20);
    assert.equal(o.Paid, true);
    assert.equal(o.AuthorizationTransactionId, 'pi_order_2001');
    assert.equal(o.CaptureTransactionId, 'ch_order_2001');
    assert.match(o.notes[0], /^Stripe payment_intent\.succeeded .*payment of 21\.98 USD received/);
    assert.deepEqual(o.notes.slice(1), ['Order has been marked as paid', 'Order status has been changed to Processing']);
  });

  test('a partially refunded order', async () => {
    await createOrder(2002);
    await deliver([record('pi_succeeded_basil.json', 2002), record('refund_created_basil.json', 2002), record('charge_refunded_partial_basil.json', 2002)]);
    const o = await order(2002);
    assert.equal(o.PaymentStatusId, 35);
    assert.equal(o.RefundedAmount, '5.0000');
    assert.ok(o.notes.includes('Order has been marked as partially refunded. Amount = 5.00 USD'));
    // The refund counted once, though two events reported it.
    assert.equal(o.notes.filter((n) => n.startsWith('Order has been marked as')).length, 2);
  });

  test('a refunded order', async () => {
    await createOrder(2003);
    const full = record('charge_refunded_partial_basil.json', 2003);
    full.amount_refunded = '21.98';
    full.amount_refunded_minor = 2198;
    full.status = 'refunded';
    await deliver([record('pi_succeeded_basil.json', 2003), full]);
    const o = await order(2003);
    assert.equal(o.PaymentStatusId, 40);
    assert.equal(o.RefundedAmount, '21.9800');
    assert.ok(o.notes.includes('Order has been marked as refunded. Amount = 21.98 USD'));
  });

  test('a disputed order keeps its payment status and gets the dispute in its notes', async () => {
    await createOrder(2004);
    await deliver([record('pi_succeeded_basil.json', 2004), record('dispute_created_basil.json', 2004), record('dispute_closed_lost_basil.json', 2004)]);
    const o = await order(2004);
    assert.equal(o.PaymentStatusId, 30);
    assert.ok(o.notes.some((n) => /dispute of 16\.98 USD open.*reason: fraudulent/.test(n)));
    assert.ok(o.notes.some((n) => /dispute lost; 16\.98 USD withdrawn/.test(n)));
  });

  test('a duplicate delivery changes nothing', async () => {
    await createOrder(2005);
    const paid = record('pi_succeeded_basil.json', 2005);
    await deliver([paid]);
    const once = await order(2005);
    for (let i = 0; i < 3; i++) {
      const res = await forward(paid);
      assert.deepEqual([res.status, res.result], [200, 'duplicate']);
    }
    assert.deepEqual(await order(2005), once);
  });

  test('out-of-order delivery ends like in-order delivery', async () => {
    const names = ['pi_created_basil.json', 'pi_succeeded_basil.json', 'refund_created_basil.json', 'charge_refunded_partial_basil.json', 'refund_failed_basil.json'];
    await createOrder(2006);
    await createOrder(2007);
    await deliver(names.map((n) => record(n, 2006)));
    const reversed = names.map((n) => record(n, 2007)).reverse();
    await deliver([...reversed, reversed[1], reversed[0]]);
    const [a, b] = [await order(2006), await order(2007)];
    const rowOf = ({ notes, AuthorizationTransactionId, CaptureTransactionId, ...row }) => row;
    assert.deepEqual(rowOf(b), rowOf(a));
    assert.equal(a.PaymentStatusId, 35);
    assert.equal(a.RefundedAmount, '5.0000');
  });

  test('a paid amount short of the order total does not mark it paid', async () => {
    await createOrder(2008, '30.00');
    await deliver([record('pi_succeeded_basil.json', 2008)]);
    const o = await order(2008);
    assert.equal(o.PaymentStatusId, 10);
    assert.ok(o.notes.some((n) => n.includes('does not cover the order total 30 USD')));
  });

  test('a bad signature is refused and writes nothing', async () => {
    await createOrder(2009);
    const res = await forward(record('pi_succeeded_basil.json', 2009), 'whsec_b3RoZXItc2VjcmV0');
    assert.deepEqual([res.status, res.result, res.code], [400, 'bad_signature', 'no_match']);
    const o = await order(2009);
    assert.equal(o.PaymentStatusId, 10);
    assert.equal(o.notes.length, 0);
  });
});

describe('Stripe -> Worker (workerd) -> proxy -> nopCommerce database', () => {
  test('signed Stripe events, delivered twice and out of order, end in the right order row', async () => {
    const { startWorker, waitFor } = await import(join(repoRoot, 'worker/test/harness.mjs'));
    const { STRIPE_SECRET } = await import(join(repoRoot, 'worker/test/harness.mjs'));
    await createOrder(3001);
    const mf = await startWorker({ downstreamUrl: url, vars: { DOWNSTREAM_SECRET: SECRET } });
    try {
      const events = ['refund_created_basil.json', 'pi_succeeded_basil.json', 'charge_refunded_partial_basil.json', 'pi_created_basil.json'].map((name) => {
        const e = JSON.parse(readFileSync(join(repoRoot, 'tests/fixtures/events', name), 'utf8'));
        e.id = `${e.id}_e2e`;
        return JSON.stringify(e).replaceAll('pi_3QbasilOrder1001', 'pi_order_3001').replaceAll('ch_3QbasilOrder1001', 'ch_order_3001').replaceAll('"order_id":"1001"', '"order_id":"3001"');
      });
      for (const body of [...events, events[1]]) {
        const res = await mf.dispatchFetch('http://worker/webhooks/stripe', {
          method: 'POST',
          body,
          headers: { 'stripe-signature': generateTestHeader({ payload: body, secret: STRIPE_SECRET }) },
        });
        assert.equal(res.status, 200);
      }
      // The refund overtook its payment: the proxy answers 409 and the Worker's queue retries it.
      const final = await waitFor(async () => {
        const o = await order(3001);
        return o.PaymentStatusId === 35 ? o : null;
      }, { what: 'order 3001 partially refunded', ms: 30000 });
      assert.equal(final.OrderStatusId, 20);
      assert.equal(final.RefundedAmount, '5.0000');
      assert.equal(final.CaptureTransactionId, 'ch_order_3001');
    } finally {
      await mf.dispose();
    }
  });
});
