// The nopCommerce proxy against a real PostgreSQL server (scripts/with-postgres.sh sets
// DATABASE_URL) with nopCommerce's Order/OrderNote tables: paid, partially refunded, refunded
// and disputed orders end in the right states; duplicates and out-of-order deliveries do not
// corrupt them; customer currencies, shipping status, abandoned sessions, orders found by
// OrderGuid and states stored by version 1; state forwards (sequence order, stale and duplicate
// forwards, refunds before payments); what is refused (too large, unknown orders, invalid
// states, unreadable records), what is ignored (payouts, customers), lookups that never match
// empty ids and use the index; and the whole path Stripe event -> Worker (workerd) -> proxy ->
// database works, with the Worker's default forwards and with FORWARD=events.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from 'node:http';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { generateTestHeader, normalizeEvent, signStandardWebhook } from 'stripe-bridge';
import { mergeOrderState, upgradeOrderState } from 'stripe-bridge/targets';
import { MAX_BODY_BYTES, ORDER_BY_STRIPE_IDS, createProxy, orderGuid, stateNoteRecord } from '../proxy.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = join(here, '../../..');
const SECRET = 'whsec_bm9wY29tbWVyY2UtcHJveHktdGVzdC1zZWNyZXQ=';

assert.ok(process.env.DATABASE_URL, 'run through scripts/with-postgres.sh (it starts PostgreSQL and sets DATABASE_URL)');

let admin;
let pool;
let server;
let url;
/** The proxy's log lines (one object per request). */
const proxyLog = [];
const database = `nop_proxy_test_${process.pid}`;

before(async () => {
  admin = new pg.Client({ connectionString: process.env.DATABASE_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${database}`);
  const dbUrl = new URL(process.env.DATABASE_URL);
  dbUrl.pathname = `/${database}`;
  pool = new pg.Pool({ connectionString: dbUrl.toString(), max: 4 });
  await pool.query(readFileSync(join(here, '../schema.sql'), 'utf8'));
  server = createProxy({ pool, secret: SECRET, storeCurrency: 'USD', log: (e) => proxyLog.push(e) });
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

/** The sequence of the last state forward applied to an order (null: none). */
async function storedSequence(id) {
  const { rows } = await pool.query('SELECT "Sequence"::int AS "Sequence" FROM "StripeBridgeOrderState" WHERE "OrderId" = $1', [id]);
  return rows[0]?.Sequence ?? null;
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

/**
 * The state forwards the Worker's order book sends for `steps` (a record, or records applied
 * together — e.g. a refund that waited for its payment): each step that changes the order's
 * state is forwarded with the next sequence, the ids of the events that changed it and the state.
 */
function stateForwards(orderRef, steps) {
  let state = null;
  let sequence = 0;
  const forwards = [];
  for (const step of steps) {
    const changed = [];
    for (const r of [step].flat()) {
      const next = mergeOrderState(state, r);
      if (JSON.stringify(next) !== JSON.stringify(state)) changed.push(r.event_id);
      state = next;
    }
    if (changed.length) forwards.push({ order_ref: orderRef, sequence: ++sequence, event_ids: changed, state });
  }
  return forwards;
}

/** POSTs a state forward as the Worker does: its webhook id names the order and the sequence. */
async function forwardState(body, { id = `sb_test_${body.order_ref}_${body.sequence}` } = {}) {
  const text = JSON.stringify(body);
  const headers = { 'content-type': 'application/json', ...signStandardWebhook({ id, payload: text, secret: SECRET }) };
  const res = await fetch(url, { method: 'POST', body: text, headers });
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

  test('payouts and customers are acknowledged as ignored and touch no order; an unreadable record is refused', async () => {
    await createOrder(2022);
    const before = await pool.query('SELECT count(*)::int AS n FROM "OrderNote"');
    // Even with an order reference in their metadata.
    const withRef = (e) => {
      e.data.object.metadata = { order_id: '2022' };
    };
    for (const r of [record('payout_paid_basil.json', 2022, { patch: withRef }), record('customer_created_basil.json', 2022, { patch: withRef })]) {
      const res = await forward(r);
      assert.deepEqual([res.status, res.result, res.order_id], [200, 'ignored', null], r.status);
    }
    // Never a silent 200 for what cannot be applied: the Worker retries it, then keeps it with
    // its dead letters.
    const unreadable = record('pi_succeeded_basil.json', 2022, { patch: (e) => (e.data.object.amount = 'lots') });
    assert.equal(unreadable.status, 'unreadable');
    const res = await forward(unreadable);
    assert.deepEqual([res.status, res.result], [422, 'unreadable']);
    const o = await order(2022);
    assert.equal(o.PaymentStatusId, 10);
    assert.equal(o.notes.length, 0);
    assert.equal(await storedState(2022), null);
    assert.equal((await pool.query('SELECT count(*)::int AS n FROM "OrderNote"')).rows[0].n, before.rows[0].n);
  });

  test('a bad signature is refused and writes nothing', async () => {
    await createOrder(2009);
    const res = await forward(record('pi_succeeded_basil.json', 2009), 'whsec_b3RoZXItc2VjcmV0');
    assert.deepEqual([res.status, res.result, res.code], [400, 'bad_signature', 'no_match']);
    const o = await order(2009);
    assert.equal(o.PaymentStatusId, 10);
    assert.equal(o.notes.length, 0);
  });

  test('state forwards applied in order: the order follows the state, the sequence is kept', async () => {
    await createOrder(4001);
    const names = ['pi_created_basil.json', 'pi_succeeded_basil.json', 'refund_created_basil.json', 'charge_refunded_partial_basil.json'];
    const records = names.map((n) => record(n, 4001));
    const forwards = stateForwards('4001', records);
    assert.deepEqual(forwards.map((f) => f.event_ids), names.map((n, i) => [records[i].event_id]));
    for (const f of forwards) {
      const res = await forwardState(f);
      assert.deepEqual([res.status, res.result, res.order_id, res.sequence], [200, 'applied', 4001, f.sequence]);
    }
    const o = await order(4001);
    assert.equal(o.PaymentStatusId, 35);
    assert.equal(o.OrderStatusId, 20);
    assert.equal(o.RefundedAmount, '5.0000');
    assert.equal(o.Paid, true);
    assert.equal(o.AuthorizationTransactionId, 'pi_order_4001');
    assert.equal(o.CaptureTransactionId, 'ch_order_4001');
    assert.deepEqual(o.notes, [
      'Stripe order.state (evt_basil_pi_created_4001): payment pending [pi_order_4001]',
      'Stripe order.state (evt_basil_pi_succeeded_4001): payment of 21.98 USD received [pi_order_4001, ch_order_4001]',
      'Order has been marked as paid',
      'Order status has been changed to Processing',
      'Stripe order.state (evt_basil_re_created_4001): refunded 5.00 USD in total [pi_order_4001, ch_order_4001]',
      'Order has been marked as partially refunded. Amount = 5.00 USD',
      // charge.refunded reports the refund refund.created brought: the state learns the
      // charge's refunded total, the refund counts once.
      'Stripe order.state (evt_basil_ch_refunded_4001): refunded 5.00 USD in total [pi_order_4001, ch_order_4001]',
    ]);
    assert.equal(await storedSequence(4001), 4);
    assert.deepEqual(await storedState(4001), upgradeOrderState(forwards[3].state));
    // The same events as records (FORWARD=events) are duplicates: the proxy's merge agrees with
    // the Worker's state; the refund (no order reference) finds the order by the state's ids.
    assert.equal(records[2].order_ref, null);
    for (const r of records) {
      const res = await forward(r);
      assert.deepEqual([res.status, res.result, res.order_id], [200, 'duplicate', 4001], r.event_id);
    }
    assert.equal(await storedSequence(4001), 4);
    assert.ok(proxyLog.some((l) => l.kind === 'state' && l.order_ref === '4001' && l.sequence === 4 && l.outcome === 'applied'));
  });

  test('a lower sequence after a higher one is ignored and changes nothing', async () => {
    await createOrder(4002);
    const [created, paid, refunded] = stateForwards('4002', ['pi_created_basil.json', 'pi_succeeded_basil.json', 'refund_created_basil.json'].map((n) => record(n, 4002)));
    assert.equal(refunded.sequence, 3);
    assert.equal((await forwardState(created)).result, 'applied');
    // Sequence 2 is still in the queue; 3 arrives first: each state is complete, 3 holds 2.
    assert.equal((await forwardState(refunded)).result, 'applied');
    const snapshot = await order(4002);
    const state = await storedState(4002);
    assert.equal(snapshot.PaymentStatusId, 35);
    assert.equal(snapshot.RefundedAmount, '5.0000');
    for (const f of [paid, created]) {
      const res = await forwardState(f);
      assert.deepEqual([res.status, res.result, res.order_id, res.sequence, res.applied_sequence], [200, 'stale', 4002, f.sequence, 3]);
    }
    assert.deepEqual(await order(4002), snapshot);
    assert.deepEqual(await storedState(4002), state);
    assert.equal(await storedSequence(4002), 3);
  });

  test('a duplicate forward (same webhook id and sequence) changes nothing', async () => {
    await createOrder(4003);
    const [created, paid] = stateForwards('4003', ['pi_created_basil.json', 'pi_succeeded_basil.json'].map((n) => record(n, 4003)));
    assert.equal((await forwardState(created)).result, 'applied');
    assert.equal((await forwardState(paid)).result, 'applied');
    const once = await order(4003);
    assert.equal(once.PaymentStatusId, 30);
    for (let i = 0; i < 3; i++) {
      const res = await forwardState(paid);
      assert.deepEqual([res.status, res.result, res.applied_sequence], [200, 'stale', 2]);
    }
    assert.deepEqual(await order(4003), once);
    assert.equal(await storedSequence(4003), 2);
    // A new sequence of a state the proxy already holds (its events came as records before
    // the Worker switched to state forwards): the sequence is kept, no note, nothing else.
    await createOrder(4013);
    await deliver(['pi_created_basil.json', 'pi_succeeded_basil.json'].map((n) => record(n, 4013)));
    const before = await order(4013);
    assert.equal(await storedSequence(4013), null);
    const [both] = stateForwards('4013', [['pi_created_basil.json', 'pi_succeeded_basil.json'].map((n) => record(n, 4013))]);
    const res = await forwardState(both);
    assert.deepEqual([res.status, res.result, res.sequence], [200, 'duplicate', 1]);
    assert.deepEqual(await order(4013), before);
    assert.equal(await storedSequence(4013), 1);
  });

  test('a refund before its payment: state forwards end right in any order', async () => {
    // The refund names the order (metadata): forwarded alone (sequence 1), then with the payment (2).
    const refundWithRef = (id) => record('refund_created_basil.json', id, { patch: (e) => (e.data.object.metadata = { order_id: String(id) }) });
    await createOrder(4004);
    const [refundOnly, both] = stateForwards('4004', [refundWithRef(4004), record('pi_succeeded_basil.json', 4004)]);
    assert.equal(both.sequence, 2);
    assert.equal((await forwardState(refundOnly)).result, 'applied');
    const early = await order(4004);
    assert.equal(early.PaymentStatusId, 10, 'no money taken yet: nothing refunded on the order');
    assert.equal(early.RefundedAmount, '0.0000');
    assert.equal((await forwardState(both)).result, 'applied');
    // The refund (no order reference) waited in the Worker for its payment: one forward with both.
    await createOrder(4005);
    const [together] = stateForwards('4005', [[record('refund_created_basil.json', 4005), record('pi_succeeded_basil.json', 4005)]]);
    assert.deepEqual(together.event_ids, ['evt_basil_re_created_4005', 'evt_basil_pi_succeeded_4005']);
    assert.equal((await forwardState(together)).result, 'applied');
    // Delivered out of order: the older state is stale.
    await createOrder(4006);
    const [first, second] = stateForwards('4006', [refundWithRef(4006), record('pi_succeeded_basil.json', 4006)]);
    assert.equal((await forwardState(second)).result, 'applied');
    assert.equal((await forwardState(first)).result, 'stale');
    const rowOf = ({ notes, AuthorizationTransactionId, CaptureTransactionId, ...row }) => row;
    const ends = await Promise.all([4004, 4005, 4006].map(order));
    for (const o of ends) {
      assert.equal(o.PaymentStatusId, 35);
      assert.equal(o.OrderStatusId, 20);
      assert.equal(o.RefundedAmount, '5.0000');
      assert.equal(o.Paid, true);
      assert.deepEqual(rowOf(o), rowOf(ends[0]));
      assert.equal(o.notes.filter((n) => n.startsWith('Order has been marked as partially refunded')).length, 1);
    }
  });

  test('a body over the limit is refused with 413 before it is read, and writes nothing', async () => {
    await createOrder(4007);
    const big = record('pi_succeeded_basil.json', 4007);
    big.padding = 'x'.repeat(MAX_BODY_BYTES);
    // Its Content-Length says it is too large: refused without reading it.
    const declared = await forward(big);
    assert.deepEqual([declared.status, declared.result, declared.limit], [413, 'too_large', MAX_BODY_BYTES]);
    // Chunked (no Content-Length): refused once the limit is passed.
    const status = await new Promise((resolve, reject) => {
      let done = false;
      const req = request(url, { method: 'POST', headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' } }, (res) => {
        done = true;
        res.resume();
        resolve(res.statusCode);
      });
      req.on('error', (e) => (done ? undefined : reject(e)));
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      let sent = 0;
      const write = () => {
        while (sent < 6 && !done) {
          sent++;
          if (!req.write(chunk)) {
            req.once('drain', write);
            return;
          }
        }
        req.end();
      };
      write();
    });
    assert.equal(status, 413);
    const o = await order(4007);
    assert.equal(o.PaymentStatusId, 10);
    assert.equal(o.notes.length, 0);
    // Within the limit, the same record applies.
    const res = await forward(record('pi_succeeded_basil.json', 4007));
    assert.deepEqual([res.status, res.result], [200, 'applied']);
  });

  test('a record without a PaymentIntent never matches orders whose stored ids are empty', async () => {
    await createOrder(4008);
    await createOrder(4009);
    await pool.query(`UPDATE "Order" SET "AuthorizationTransactionId" = '', "CaptureTransactionId" = '' WHERE "Id" IN (4008, 4009)`);
    const v1 = v1State('state-v1-pending.json', 4008);
    v1.payment_intents = [''];
    v1.charges = [''];
    const v2 = { schema_version: 2, objects: { '': { object: 'payment_intent', links: [''] } }, attempts: [{ id: '', objects: [''] }], paid_charge: '' };
    await pool.query(
      `INSERT INTO "StripeBridgeOrderState" ("OrderId", "State", "UpdatedOnUtc") VALUES (4008, $1, now()), (4009, $2, now())`,
      [JSON.stringify(v1), JSON.stringify(v2)],
    );
    const ids = await pool.query(`SELECT "StripeBridgePaymentIds"("State") AS ids FROM "StripeBridgeOrderState" WHERE "OrderId" IN (4008, 4009)`);
    assert.deepEqual(ids.rows.map((r) => r.ids), [[], []]);
    // A refund whose PaymentIntent is absent (null) or empty, and whose charge is empty.
    const refund = record('refund_created_basil.json', 4008);
    assert.equal(refund.order_ref, null);
    for (const paymentIntent of [null, '']) {
      const res = await forward({ ...refund, event_id: `${refund.event_id}_${paymentIntent}`, payment_intent: paymentIntent, charge: '' });
      assert.deepEqual([res.status, res.result, res.order_id], [409, 'unknown_order', null]);
    }
    // Nor does the lookup itself, asked for an empty id.
    assert.equal((await pool.query(ORDER_BY_STRIPE_IDS, [['']])).rows.length, 0);
    for (const id of [4008, 4009]) {
      const o = await order(id);
      assert.equal(o.PaymentStatusId, 10);
      assert.equal(o.notes.length, 0);
    }
    // An empty order reference names no order either.
    const res = await forward({ ...refund, event_id: `${refund.event_id}_emptyref`, order_ref: '', payment_intent: null, charge: null });
    assert.equal(res.status, 409);
  });

  test('the order lookup by Stripe ids uses its GIN index', async () => {
    const { rows } = await pool.query(`SELECT indexdef FROM pg_indexes WHERE indexname = 'IX_StripeBridgeOrderState_PaymentIds'`);
    assert.match(rows[0]?.indexdef ?? '', /USING gin \("StripeBridgePaymentIds"\("State"\)\)/);
    // A shop's worth of orders with states: the planner takes the index by itself.
    await pool.query(
      `INSERT INTO "Order" ("Id", "OrderGuid", "StoreId", "CustomerId", "OrderStatusId", "ShippingStatusId", "PaymentStatusId",
         "PaymentMethodSystemName", "CustomerCurrencyCode", "CurrencyRate", "OrderTotal", "RefundedAmount", "Deleted", "CreatedOnUtc", "CustomOrderNumber")
       SELECT g, gen_random_uuid(), 1, 1, 20, 20, 30, 'Payments.StripeBridge', 'USD', 1, 10, 0, false, now(), 'BULK-' || g FROM generate_series(100000, 119999) g`,
    );
    await pool.query(
      `INSERT INTO "StripeBridgeOrderState" ("OrderId", "State", "UpdatedOnUtc")
       SELECT g, jsonb_build_object('schema_version', 2, 'objects', jsonb_build_object('pi_bulk_' || g,
                jsonb_build_object('object', 'payment_intent', 'links', jsonb_build_array('ch_bulk_' || g)))), now()
       FROM generate_series(100000, 119999) g`,
    );
    try {
      await pool.query('ANALYZE "Order"');
      await pool.query('ANALYZE "StripeBridgeOrderState"');
      const explain = await pool.query(`EXPLAIN ${ORDER_BY_STRIPE_IDS}`, [['ch_bulk_100123']]);
      const plan = explain.rows.map((r) => r['QUERY PLAN']).join('\n');
      assert.match(plan, /Bitmap Index Scan on "IX_StripeBridgeOrderState_PaymentIds"/, plan);
      assert.match(plan, /Index Scan using "PK_Order" on "Order".*\n\s+Index Cond: \("Id" = ANY/, plan);
      assert.doesNotMatch(plan, /Seq Scan/, plan);
      // A charge known only as a PaymentIntent's link finds its order.
      const found = await pool.query(ORDER_BY_STRIPE_IDS, [['ch_bulk_100123']]);
      assert.equal(found.rows[0]?.Id, 100123);
    } finally {
      await pool.query('DELETE FROM "Order" WHERE "Id" BETWEEN 100000 AND 119999');
    }
  });

  test('an unknown order is answered 409 until it exists; malformed forwards and unreadable states are refused', async () => {
    const [f] = stateForwards('4010', [record('pi_succeeded_basil.json', 4010)]);
    for (const ref of ['4010', 'NOP-NONE', '00000000-0000-0000-0000-000000000002']) {
      const res = await forwardState({ ...f, order_ref: ref });
      assert.deepEqual([res.status, res.result, res.order_id], [409, 'unknown_order', null], ref);
    }
    // The Worker's queue retries it: once the order exists, it applies.
    await createOrder(4010);
    assert.deepEqual([(await forwardState(f)).status, (await order(4010)).PaymentStatusId], [200, 30]);
    // A record with an unknown reference and no known payment is 409 as well.
    const stray = record('pi_succeeded_basil.json', 4098, { ref: '4098' });
    assert.equal((await forward(stray)).status, 409);
    const before = await order(4010);
    // Malformed forwards (400) and a state this version cannot read (422): nothing written.
    for (const [body, status, result] of [
      [{ ...f, sequence: 0 }, 400, 'invalid_forward'],
      [{ ...f, sequence: '2' }, 400, 'invalid_forward'],
      [{ ...f, sequence: 2, order_ref: '' }, 400, 'invalid_forward'],
      [{ ...f, sequence: 2, state: [] }, 400, 'invalid_forward'],
      [{ ...f, sequence: 2, state: { ...f.state, schema_version: 99 } }, 422, 'invalid_state'],
      // A profile's mapping is neither a record nor a state forward (TARGET_PROFILE must be record).
      [{ order_id: '4010', payment_status_id: 40 }, 400, 'invalid_record'],
      // Nor is something with a record's id and status only.
      [{ event_id: 'evt_x', status: 'paid', order_ref: '4010' }, 400, 'invalid_record'],
      [{ ...stray, event_id: 'evt_y', status: 'not_a_status' }, 400, 'invalid_record'],
    ]) {
      const res = await forwardState(body, { id: `sb_bad_${status}_${result}` });
      assert.deepEqual([res.status, res.result], [status, result], JSON.stringify(body).slice(0, 80));
    }
    assert.deepEqual(await order(4010), before);
    assert.equal(await storedSequence(4010), 1);
  });

  test('a stored state this version cannot read: records answer 500, a newer state forward replaces it', async () => {
    await createOrder(4011);
    await pool.query(
      `INSERT INTO "StripeBridgeOrderState" ("OrderId", "State", "Sequence", "UpdatedOnUtc") VALUES (4011, '{"schema_version": 99}', 1, now())`,
    );
    const res = await forward(record('pi_succeeded_basil.json', 4011));
    assert.deepEqual([res.status, res.result], [500, 'error']);
    assert.equal((await order(4011)).notes.length, 0);
    const [, paid] = stateForwards('4011', ['pi_created_basil.json', 'pi_succeeded_basil.json'].map((n) => record(n, 4011)));
    assert.equal((await forwardState(paid)).result, 'applied');
    assert.equal((await order(4011)).PaymentStatusId, 30);
    assert.equal((await storedState(4011)).schema_version, 2);
  });

  test('schema.sql upgrades an earlier install, runs again, and reads any stored JSON', async () => {
    const client = await pool.connect();
    try {
      await client.query('CREATE SCHEMA earlier_install');
      await client.query('SET search_path TO earlier_install, public');
      // The proxy's table as the previous version created it (no "Sequence").
      await client.query(`CREATE TABLE "Order" ("Id" serial PRIMARY KEY)`);
      await client.query(`CREATE TABLE "StripeBridgeOrderState" ("OrderId" integer PRIMARY KEY REFERENCES "Order" ("Id"), "State" jsonb NOT NULL, "UpdatedOnUtc" timestamp NOT NULL)`);
      await client.query(`INSERT INTO "Order" VALUES (1)`);
      await client.query(`INSERT INTO "StripeBridgeOrderState" VALUES (1, '{"payment_intents": ["pi_1"], "charges": ["ch_1"]}', now())`);
      const schema = readFileSync(join(here, '../schema.sql'), 'utf8');
      await client.query(schema);
      await client.query(schema);
      const { rows } = await client.query(`SELECT "Sequence", "StripeBridgePaymentIds"("State") AS ids FROM "StripeBridgeOrderState"`);
      assert.deepEqual(rows, [{ Sequence: null, ids: ['ch_1', 'pi_1'] }]);
      // Whatever JSON is stored, the index expression answers (never an error that would fail the write).
      for (const state of ['{}', '[]', '"x"', '{"objects": [1], "attempts": "x", "payment_intents": {"a": 1}, "refunds": 3, "paid_charge": 7}']) {
        const ids = await client.query(`SELECT "StripeBridgePaymentIds"($1::jsonb) AS ids`, [state]);
        assert.deepEqual(ids.rows[0].ids, [], state);
      }
    } finally {
      await client.query('RESET search_path').catch(() => {});
      await client.query('DROP SCHEMA IF EXISTS earlier_install CASCADE').catch(() => {});
      client.release();
    }
  });

  test('the note of a state forward names its events, amounts and payment', () => {
    const [, , refunded] = stateForwards('1', ['pi_created_basil.json', 'pi_succeeded_basil.json', 'refund_created_basil.json'].map((n) => record(n, 1)));
    const r = stateNoteRecord(refunded, refunded.state);
    assert.deepEqual(
      [r.event_id, r.event_type, r.status, r.amount_refunded, r.currency, r.payment_intent, r.charge, r.created],
      ['evt_basil_re_created_1', 'order.state', 'partially_refunded', '5.00', 'USD', 'pi_order_1', 'ch_order_1', refunded.state.last_event_at],
    );
    const many = stateNoteRecord({ ...refunded, event_ids: ['evt_1', 'evt_2', 'evt_3', 'evt_4', 'evt_5'] }, refunded.state);
    assert.equal(many.event_id, 'evt_3, evt_4, evt_5 and 2 more');
  });
});

/**
 * Sends the fixtures' events for `orderId` to the Worker (signed as Stripe does, the refund
 * first, the payment twice) and waits until the order is partially refunded.
 */
async function throughTheWorker(orderId, vars) {
  const { startWorker, waitFor, STRIPE_SECRET } = await import(join(repoRoot, 'worker/test/harness.mjs'));
  await createOrder(orderId);
  const mf = await startWorker({ downstreamUrl: url, vars: { DOWNSTREAM_SECRET: SECRET, ...vars } });
  try {
    const events = ['refund_created_basil.json', 'pi_succeeded_basil.json', 'charge_refunded_partial_basil.json', 'pi_created_basil.json'].map((name) => {
      const e = JSON.parse(readFileSync(join(repoRoot, 'tests/fixtures/events', name), 'utf8'));
      e.id = `${e.id}_e2e_${orderId}`;
      return JSON.stringify(e)
        .replaceAll('pi_3QbasilOrder1001', `pi_order_${orderId}`)
        .replaceAll('ch_3QbasilOrder1001', `ch_order_${orderId}`)
        .replaceAll('re_3QbasilOrder1001', `re_order_${orderId}`)
        .replaceAll('"order_id":"1001"', `"order_id":"${orderId}"`);
    });
    for (const body of [...events, events[1]]) {
      const res = await mf.dispatchFetch('http://worker/webhooks/stripe', {
        method: 'POST',
        body,
        headers: { 'stripe-signature': generateTestHeader({ payload: body, secret: STRIPE_SECRET }) },
      });
      assert.equal(res.status, 200);
    }
    // The refund overtook its payment: the Worker holds it until the payment names the order,
    // or the proxy answers 409 and the Worker's queue retries it.
    const final = await waitFor(async () => {
      const o = await order(orderId);
      return o.PaymentStatusId === 35 ? o : null;
    }, { what: `order ${orderId} partially refunded (proxy log: ${JSON.stringify(proxyLog.filter((l) => l.order_id === orderId || l.order_ref === String(orderId)))})`, ms: 30000 });
    assert.equal(final.OrderStatusId, 20);
    assert.equal(final.RefundedAmount, '5.0000');
    assert.equal(final.CaptureTransactionId, `ch_order_${orderId}`);
    assert.equal(final.notes.filter((n) => n.startsWith('Order has been marked as partially refunded')).length, 1);
    return proxyLog.filter((l) => l.order_id === orderId);
  } finally {
    await mf.dispose();
  }
}

describe('Stripe -> Worker (workerd) -> proxy -> nopCommerce database', () => {
  test('signed Stripe events, delivered twice and out of order, end in the right order row (FORWARD=state, the default)', async () => {
    // (Set explicitly: the Worker's test harness defaults to events for its delivery suites.)
    const seen = await throughTheWorker(3001, { FORWARD: 'state' });
    assert.ok(seen.length > 0 && seen.every((l) => l.kind === 'state'), JSON.stringify(seen));
  });

  test('the same with FORWARD=events (records)', async () => {
    const seen = await throughTheWorker(3002, { FORWARD: 'events' });
    assert.ok(seen.length > 0 && seen.every((l) => l.kind === 'record'), JSON.stringify(seen));
  });
});
