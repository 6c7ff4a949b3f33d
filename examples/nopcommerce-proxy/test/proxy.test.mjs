// The nopCommerce proxy against a real PostgreSQL server (scripts/with-postgres.sh sets
// DATABASE_URL) with nopCommerce's Order/OrderNote tables: paid, partially refunded, refunded
// and disputed orders end in the right states; duplicates and out-of-order deliveries do not
// corrupt them; customer currencies, shipping status, abandoned sessions, orders found by
// OrderGuid and states stored by version 1; and the whole path Stripe event -> Worker
// (workerd) -> proxy -> database works.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { generateTestHeader, normalizeEvent, signStandardWebhook } from 'stripe-bridge';
import { createProxy, orderGuid } from '../proxy.mjs';

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

/**
 * A nopCommerce order as checkout leaves it: pending payment, pending order, not yet shipped,
 * in the primary currency (USD) unless a customer currency and rate are given.
 */
async function createOrder(id, { total = '21.98', shipping = 20, customerCurrency = 'USD', rate = '1', guid = null } = {}) {
  await pool.query(
    `INSERT INTO "Order" ("Id", "OrderGuid", "StoreId", "CustomerId", "OrderStatusId", "ShippingStatusId", "PaymentStatusId",
       "PaymentMethodSystemName", "CustomerCurrencyCode", "CurrencyRate", "OrderTotal", "RefundedAmount", "Deleted", "CreatedOnUtc", "CustomOrderNumber")
     VALUES ($1, COALESCE($6::uuid, gen_random_uuid()), 1, 1, 10, $4, 10, 'Payments.StripeBridge', $5, $7, $2, 0, false, now() at time zone 'utc', $3)`,
    [id, total, `NOP-${id}`, shipping, customerCurrency, guid, rate],
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

async function storedState(id) {
  const { rows } = await pool.query('SELECT "State" FROM "StripeBridgeOrderState" WHERE "OrderId" = $1', [id]);
  return rows[0]?.State ?? null;
}

/** Fixture text made to belong to `orderId`: own Stripe ids, own order reference. */
function ownIds(text, orderId, ref = String(orderId)) {
  return text
    .replaceAll('pi_3QbasilOrder1001', `pi_order_${orderId}`)
    .replaceAll('ch_3QbasilOrder1001', `ch_order_${orderId}`)
    .replaceAll('pi_3QbasilAuth', `pi_auth_${orderId}`)
    .replaceAll('ch_3QbasilAuth', `ch_auth_${orderId}`)
    .replaceAll('cs_test_a1Basil', `cs_test_${orderId}_`)
    .replace(/"order_id":"100\d"/g, `"order_id":"${ref}"`)
    .replace(/"client_reference_id":"100\d"/g, `"client_reference_id":"${ref}"`);
}

/**
 * A fixture's normalized record, made to belong to `orderId`. `patch` edits the event object
 * first; `ref` is the order reference it carries (default: the order id); `orderKeys` as the
 * Worker's ORDER_KEYS.
 */
function record(name, orderId, { tag = orderId, patch, ref, orderKeys } = {}) {
  const event = JSON.parse(readFileSync(join(repoRoot, 'tests/fixtures/events', name), 'utf8'));
  event.id = `${event.id}_${tag}`;
  patch?.(event);
  return normalizeEvent(ownIds(JSON.stringify(event), orderId, ref), orderKeys ? { orderKeys } : undefined);
}

/** A state as version 1 of stripe-bridge stored it (its `merge` output for fixtures), made to belong to `orderId`. */
function v1State(name, orderId) {
  const state = JSON.parse(ownIds(readFileSync(join(here, 'fixtures', name), 'utf8'), orderId));
  state.order_ref = String(orderId);
  state.last_event_id = `${state.last_event_id}_${orderId}`;
  return state;
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
    await createOrder(2008, { total: '30.00' });
    await deliver([record('pi_succeeded_basil.json', 2008)]);
    const o = await order(2008);
    assert.equal(o.PaymentStatusId, 10);
    assert.ok(o.notes.some((n) => n.includes('does not cover the order total 30 USD')));
  });

  test('a paid order that needs no shipping ends Complete', async () => {
    await createOrder(2010, { shipping: 10 });
    await deliver([record('pi_succeeded_basil.json', 2010)]);
    const o = await order(2010);
    assert.equal(o.PaymentStatusId, 30);
    assert.equal(o.OrderStatusId, 30);
    assert.deepEqual(o.notes.slice(1), ['Order has been marked as paid', 'Order status has been changed to Complete']);
    // Shipped or delivered orders complete too; one not yet shipped stays Processing (2001).
    await createOrder(2011, { shipping: 40 });
    await deliver([record('pi_succeeded_basil.json', 2011)]);
    assert.equal((await order(2011)).OrderStatusId, 30);
  });

  test('a customer-currency order: 20.0000 USD at 0.9000 EUR is paid by 18.00 EUR', async () => {
    await createOrder(2012, { total: '20.0000', customerCurrency: 'EUR', rate: '0.9000' });
    const eur = (e) => {
      e.data.object.currency = 'eur';
      e.data.object.amount = e.data.object.amount_received = 1800;
    };
    await deliver([record('pi_succeeded_basil.json', 2012, { patch: eur })]);
    const o = await order(2012);
    assert.equal(o.PaymentStatusId, 30);
    assert.equal(o.OrderStatusId, 20);
    assert.match(o.notes[0], /payment of 18\.00 EUR received/);
    assert.ok(o.notes.includes('Order has been marked as paid'));
    // 17.99 EUR does not cover it; neither do 18.00 USD (another currency than the customer's).
    await createOrder(2013, { total: '20.0000', customerCurrency: 'EUR', rate: '0.9000' });
    await deliver([record('pi_succeeded_basil.json', 2013, { patch: (e) => { eur(e); e.data.object.amount = e.data.object.amount_received = 1799; } })]);
    const short = await order(2013);
    assert.equal(short.PaymentStatusId, 10);
    assert.ok(short.notes.some((n) => n.includes('does not cover the order total 18 EUR')), short.notes.join('\n'));
    await createOrder(2014, { total: '20.0000', customerCurrency: 'EUR', rate: '0.9000' });
    await deliver([record('pi_succeeded_basil.json', 2014, { patch: (e) => { e.data.object.amount = e.data.object.amount_received = 1800; } })]);
    assert.equal((await order(2014)).PaymentStatusId, 10);
  });

  test('an abandoned session that expires after a payment never voids the order', async () => {
    // Paid through session B; session A, abandoned earlier, expires a day later.
    await createOrder(2015);
    const paid = [record('checkout_session_completed_clover.json', 2015), record('pi_succeeded_basil.json', 2015)];
    const expired = record('checkout_session_expired_clover.json', 2015);
    assert.equal(expired.status, 'expired');
    assert.equal(expired.order_ref, '2015');
    await deliver([...paid, expired]);
    const o = await order(2015);
    assert.equal(o.PaymentStatusId, 30);
    assert.equal(o.OrderStatusId, 20);
    assert.ok(o.notes.some((n) => /checkout\.session\.expired .*payment expired/.test(n)));
    assert.ok(!o.notes.some((n) => n.includes('voided')), o.notes.join('\n'));
    // Delivered first, the expiry changes nothing either (nothing is held yet, nothing to void).
    await createOrder(2016);
    await deliver([record('checkout_session_expired_clover.json', 2016), record('pi_succeeded_basil.json', 2016), record('checkout_session_completed_clover.json', 2016)]);
    assert.equal((await order(2016)).PaymentStatusId, 30);
    // An authorization, then the abandoned session expires: still Authorized, never Voided.
    await createOrder(2017);
    await deliver([record('pi_amount_capturable_updated_basil.json', 2017), record('checkout_session_expired_clover.json', 2017)]);
    const held = await order(2017);
    assert.equal(held.PaymentStatusId, 20);
    assert.equal(held.AuthorizationTransactionId, 'pi_auth_2017');
    assert.ok(!held.notes.some((n) => n.includes('voided')), held.notes.join('\n'));
  });

  test('an order found by its OrderGuid (order_guid metadata)', async () => {
    const guid = '6f9619ff-8b86-d011-b42d-00c04fc964ff';
    await createOrder(2018, { guid });
    // The payment plugin put the order GUID, not the id, in the metadata (.NET's "B" format
    // here); the Worker's ORDER_KEYS include order_guid (the default).
    const byGuid = (value) => (e) => {
      e.data.object.metadata = { order_guid: value };
    };
    const orderKeys = ['order_id', 'order_guid'];
    const paid = record('pi_succeeded_basil.json', 2018, { patch: byGuid(`{${guid.toUpperCase()}}`), orderKeys });
    assert.equal(paid.order_ref, `{${guid.toUpperCase()}}`);
    assert.equal(orderGuid(paid.order_ref), guid);
    const res = await forward(paid);
    assert.deepEqual([res.status, res.result, res.order_id], [200, 'applied', 2018]);
    const o = await order(2018);
    assert.equal(o.PaymentStatusId, 30);
    assert.equal(o.CaptureTransactionId, 'ch_order_2018');
    // A GUID no order has is unknown (409: the Worker retries), never another order.
    const stray = record('pi_succeeded_basil.json', 2019, { patch: byGuid('00000000-0000-0000-0000-000000000001'), orderKeys });
    assert.equal((await forward(stray)).status, 409);
    assert.equal(orderGuid('2018'), null);
    assert.equal(orderGuid('6f9619ff8b86d011b42d00c04fc964ff'), guid);
  });

  test('states stored by version 1 are read and upgraded', async () => {
    // Version 1 recorded the PaymentIntent as pending (the row has no transaction ids yet).
    await createOrder(2020);
    await pool.query(
      `INSERT INTO "StripeBridgeOrderState" ("OrderId", "State", "UpdatedOnUtc") VALUES ($1, $2, now() at time zone 'utc')`,
      [2020, JSON.stringify(v1State('state-v1-pending.json', 2020))],
    );
    // The refund overtakes the payment: found through the version-1 state's payment_intents.
    const refund = record('refund_created_basil.json', 2020);
    assert.equal(refund.order_ref, null);
    const res = await forward(refund);
    assert.deepEqual([res.status, res.result, res.order_id], [200, 'applied', 2020]);
    const upgraded = await storedState(2020);
    assert.equal(upgraded.schema_version, 2);
    assert.ok(!('payment_intents' in upgraded) && !('base' in upgraded));
    assert.deepEqual(Object.keys(upgraded.objects), ['pi_order_2020']);
    assert.equal(upgraded.refunds.re_3QbasilOrder1001a.amount_minor, 500);
    await deliver([record('pi_succeeded_basil.json', 2020)]);
    const o = await order(2020);
    assert.equal(o.PaymentStatusId, 35);
    assert.equal(o.RefundedAmount, '5.0000');
    // Version 1 marked this one paid; the same payment again is a duplicate, a refund applies.
    await createOrder(2021);
    await pool.query(
      `UPDATE "Order" SET "PaymentStatusId" = 30, "OrderStatusId" = 20, "PaidDateUtc" = '2025-01-01 00:32:00',
         "AuthorizationTransactionId" = 'pi_order_2021', "CaptureTransactionId" = 'ch_order_2021' WHERE "Id" = 2021`,
    );
    await pool.query(
      `INSERT INTO "StripeBridgeOrderState" ("OrderId", "State", "UpdatedOnUtc") VALUES ($1, $2, now() at time zone 'utc')`,
      [2021, JSON.stringify(v1State('state-v1-paid.json', 2021))],
    );
    const again = await forward(record('pi_succeeded_basil.json', 2021));
    assert.deepEqual([again.status, again.result], [200, 'duplicate']);
    assert.equal((await storedState(2021)).schema_version, undefined, 'a duplicate writes nothing');
    await deliver([record('refund_created_basil.json', 2021)]);
    const paid = await order(2021);
    assert.equal(paid.PaymentStatusId, 35);
    assert.equal(paid.RefundedAmount, '5.0000');
    assert.deepEqual(paid.notes.slice(1), ['Order has been marked as partially refunded. Amount = 5.00 USD']);
    assert.equal((await storedState(2021)).schema_version, 2);
  });

  test('records that do not concern an order are acknowledged and change nothing', async () => {
    await createOrder(2022);
    const unreadable = record('pi_succeeded_basil.json', 2022, { patch: (e) => (e.data.object.amount = 'lots') });
    assert.equal(unreadable.status, 'unreadable');
    for (const r of [unreadable, record('payout_paid_basil.json', 2022), record('customer_created_basil.json', 2022)]) {
      const res = await forward(r);
      assert.deepEqual([res.status, res.result], [200, 'skipped'], r.status);
    }
    const o = await order(2022);
    assert.equal(o.PaymentStatusId, 10);
    assert.equal(o.notes.length, 0);
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
