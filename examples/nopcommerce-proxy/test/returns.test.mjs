// The shop's side of the proxy (actions.mjs) against a real PostgreSQL server
// (scripts/with-postgres.sh sets DATABASE_URL) and a fake Worker on 127.0.0.1 written here: it
// records every request and answers per test as the Worker's contract says (POST /refunds: 200
// {"result":"created","refunds":[…]}, 422 refusals, 503/502 while Stripe is down, a dropped
// connection; POST /payments/{pi}/cancel: 200 {"result":"canceled",…}), and it keeps Stripe's
// side like the real one: one refund per idempotency-relevant body (order, return id, amount),
// however often it is asked. Approved return requests are refunded once, at the right amount in
// the customer currency; retries send the same body; refusals are noted and never retried; two
// proxies at once send each action once; cancelled orders get their authorization canceled or
// their payment refunded once.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, afterEach, before, beforeEach, describe, test } from 'node:test';
import pg from 'pg';
import { normalizeEvent, toMinorUnits } from 'stripe-bridge';
import { mergeOrderState, planNopCommerceUpdate } from 'stripe-bridge/targets';
import {
  RETURN_REQUEST_STATUS,
  processCancelledOrders,
  processReturns,
  processShopActions,
  refundAmount,
  shopActionOptions,
  startShopActions,
} from '../proxy.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = join(here, '../../..');
const TOKEN = 'shop_test_token_7f3a';
const REASON = 'requested_by_customer';

assert.ok(process.env.DATABASE_URL, 'run through scripts/with-postgres.sh (it starts PostgreSQL and sets DATABASE_URL)');

let admin;
let pool;
let dbUrl;
const database = `nop_proxy_returns_${process.pid}`;
/** The proxy's log lines. */
let actionLog = [];

// ---------------------------------------------------------------------------------------------
// The fake Worker
// ---------------------------------------------------------------------------------------------

/**
 * The Worker's shop routes as the contract describes them. `plan(key, steps)`: how to answer the
 * next requests for a key (a refund's return_id, a cancellation's PaymentIntent), in turn; a
 * step is 'ok', 'drop' (the connection closes without an answer), 'ok-then-503' (Stripe made the
 * refund, the answer is lost: 503), or `{ status, body }`. Unplanned requests get 'ok'.
 */
function fakeWorker() {
  const worker = {
    requests: [],
    /** Stripe's refunds by idempotency-relevant body, as Stripe keeps them by key. */
    refunds: new Map(),
    canceled: new Map(),
    plans: new Map(),
    delayMs: 0,
    /** The amount a refund without `amount` (all that remains) comes to, by order_id (minor units). */
    remaining: new Map(),
    plan(key, steps) {
      this.plans.set(key, [...steps]);
    },
    reset() {
      this.requests = [];
      this.refunds.clear();
      this.canceled.clear();
      this.plans.clear();
      this.remaining.clear();
      this.delayMs = 0;
    },
  };
  const refund = (body) => {
    const key = JSON.stringify([body.order_id, body.return_id ?? null, body.amount ?? null]);
    const existing = worker.refunds.get(key);
    if (existing) return { ...existing, replayed: true };
    const minor = body.amount !== undefined ? toMinorUnits(body.amount, body.currency) : worker.remaining.get(body.order_id) ?? 2198;
    const made = {
      id: `re_fake_${worker.refunds.size + 1}`,
      amount_minor: minor,
      currency: body.currency.toUpperCase(),
      status: 'succeeded',
      payment_intent: `pi_of_${body.order_id}`,
      idempotency_key: `sb-refund-${Buffer.from(key).toString('hex').slice(0, 24)}`,
      replayed: false,
    };
    worker.refunds.set(key, made);
    return made;
  };
  const server = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      const text = Buffer.concat(chunks).toString('utf8');
      let body = null;
      try {
        body = JSON.parse(text);
      } catch {
        // Recorded as text.
      }
      const entry = { method: req.method, path: req.url, authorization: req.headers.authorization, contentType: req.headers['content-type'], text, body };
      worker.requests.push(entry);
      const cancel = /^\/payments\/([^/]+)\/cancel$/.exec(req.url ?? '');
      const key = cancel ? cancel[1] : body?.return_id;
      const step = worker.plans.get(key)?.shift() ?? 'ok';
      if (worker.delayMs) await new Promise((r) => setTimeout(r, worker.delayMs));
      const reply = (status, answer) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
      if (step === 'drop') {
        req.socket.destroy();
        return;
      }
      if (typeof step === 'object') {
        reply(step.status, step.body);
        return;
      }
      if (cancel) {
        worker.canceled.set(cancel[1], (worker.canceled.get(cancel[1]) ?? 0) + 1);
        reply(200, { result: 'canceled', id: cancel[1], status: 'canceled', idempotency_key: `sb-cancel-${cancel[1]}`, replayed: worker.canceled.get(cancel[1]) > 1 });
        return;
      }
      if (req.url !== '/refunds') {
        reply(404, { result: 'not_found' });
        return;
      }
      const made = refund(body);
      if (step === 'ok-then-503') {
        reply(503, { result: 'stripe_rate_limited' });
        return;
      }
      reply(200, { result: 'created', refunds: [made] });
    });
  });
  return { worker, server };
}

const { worker, server: workerServer } = fakeWorker();
let workerUrl;

before(async () => {
  admin = new pg.Client({ connectionString: process.env.DATABASE_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${database}`);
  const url = new URL(process.env.DATABASE_URL);
  url.pathname = `/${database}`;
  dbUrl = url.toString();
  pool = new pg.Pool({ connectionString: dbUrl, max: 8 });
  const schema = readFileSync(join(here, '../schema.sql'), 'utf8');
  await pool.query(schema);
  // Idempotent, with the new tables too.
  await pool.query(schema);
  await new Promise((resolve) => workerServer.listen(0, '127.0.0.1', resolve));
  workerUrl = `http://127.0.0.1:${workerServer.address().port}`;
});

after(async () => {
  await new Promise((resolve) => workerServer.close(resolve));
  await pool?.end();
  await admin?.query(`DROP DATABASE IF EXISTS ${database}`);
  await admin?.end();
});

// Each test starts from an empty shop: processReturns acts on every approved return request.
beforeEach(async () => {
  worker.reset();
  actionLog = [];
  await pool.query(`TRUNCATE "StripeBridgeReturnRefund", "StripeBridgeOrderCancel", "ReturnRequest", "OrderItem", "OrderNote", "StripeBridgeOrderState", "Order" CASCADE`);
});

afterEach(() => {
  // A request the proxy sent must always carry the token and JSON.
  for (const r of worker.requests) {
    assert.equal(r.method, 'POST');
    assert.equal(r.authorization, `Bearer ${TOKEN}`);
    assert.equal(r.contentType, 'application/json');
  }
});

const options = (extra = {}) => ({ workerUrl, token: TOKEN, storeCurrency: 'USD', log: (e) => actionLog.push(e), ...extra });

// ---------------------------------------------------------------------------------------------
// The shop
// ---------------------------------------------------------------------------------------------

/** An order (primary currency USD), Processing and paid unless said otherwise. */
async function createOrder(id, { customerCurrency = 'USD', rate = '1', status = 20, payment = 30, created = null } = {}) {
  await pool.query(
    `INSERT INTO "Order" ("Id", "OrderGuid", "StoreId", "CustomerId", "OrderStatusId", "ShippingStatusId", "PaymentStatusId",
       "PaymentMethodSystemName", "CustomerCurrencyCode", "CurrencyRate", "OrderTotal", "RefundedAmount", "Deleted", "CreatedOnUtc", "CustomOrderNumber")
     VALUES ($1, gen_random_uuid(), 1, 1, $2, 20, $3, 'Payments.StripeBridge', $4, $5, 100, 0, false, COALESCE($6::timestamp, now() at time zone 'utc'), $7)`,
    [id, status, payment, customerCurrency, rate, created, `NOP-${id}`],
  );
}

/** An order line: `quantity` at `unitPrice` (primary currency, incl. tax). */
async function addItem(id, orderId, { unitPrice, quantity = 1 }) {
  await pool.query(
    `INSERT INTO "OrderItem" ("Id", "OrderItemGuid", "OrderId", "ProductId", "Quantity", "UnitPriceInclTax", "UnitPriceExclTax", "PriceInclTax",
       "PriceExclTax", "DiscountAmountInclTax", "DiscountAmountExclTax", "OriginalProductCost", "DownloadCount", "IsDownloadActivated")
     VALUES ($1, gen_random_uuid(), $2, 1, $3, $4, $4, $4::numeric * $3::int, $4::numeric * $3::int, 0, 0, 0, 0, false)`,
    [id, orderId, quantity, unitPrice],
  );
}

/** A return request of `quantity` items of an order line, in `status` (ReturnAuthorized by default). */
async function addReturn(id, itemId, { quantity = 1, status = RETURN_REQUEST_STATUS.ReturnAuthorized, updated = null } = {}) {
  await pool.query(
    `INSERT INTO "ReturnRequest" ("Id", "CustomNumber", "StoreId", "OrderItemId", "CustomerId", "Quantity", "ReturnedQuantity", "ReasonForReturn",
       "RequestedAction", "CustomerComments", "UploadedFileId", "StaffNotes", "ReturnRequestStatusId", "CreatedOnUtc", "UpdatedOnUtc")
     VALUES ($1::int, $1::text, 1, $2, 1, $3, 0, 'Wrong product', 'Refund', '', 0, '', $4, now() at time zone 'utc', COALESCE($5::timestamp, now() at time zone 'utc'))`,
    [id, itemId, quantity, status, updated],
  );
}

/** An order with one line and a return of it: `{ orderId, itemId, returnId }` share `id`. */
async function orderWithReturn(id, { unitPrice = '10.0000', quantity = 1, returned = quantity, status, customerCurrency, rate, state } = {}) {
  await createOrder(id, { customerCurrency, rate });
  await addItem(id, id, { unitPrice, quantity });
  await addReturn(id, id, { quantity: returned, status });
  if (state) await storeState(id, state);
}

let eventSeq = 0;
/** A fixture event, patched (`patch(object, event)`), normalized. */
function record(name, patch) {
  const event = JSON.parse(readFileSync(join(repoRoot, 'tests/fixtures/events', name), 'utf8'));
  event.id = `${event.id}_${++eventSeq}`;
  patch(event.data.object, event);
  return normalizeEvent(event);
}

/** A PaymentIntent that took `amountMinor` for order reference `ref`. */
function paidRecord(ref, { pi, currency = 'usd', amountMinor = 2198 }) {
  return record('pi_succeeded_basil.json', (o) => {
    Object.assign(o, { id: pi, latest_charge: pi.replace(/^pi_/, 'ch_'), currency, amount: amountMinor, amount_received: amountMinor, metadata: { order_id: ref } });
  });
}

/** A PaymentIntent holding an authorization of `amountMinor` for order reference `ref`. */
function authorizedRecord(ref, { pi, currency = 'usd', amountMinor = 2198 }) {
  return record('pi_amount_capturable_updated_basil.json', (o) => {
    Object.assign(o, { id: pi, latest_charge: pi.replace(/^pi_/, 'ch_'), currency, amount: amountMinor, amount_capturable: amountMinor, metadata: { order_id: ref } });
  });
}

/** The order's charge refunded by `refundedMinor` (of 2198). */
function refundedRecord(ref, { pi, refundedMinor }) {
  return record('charge_refunded_partial_basil.json', (o) => {
    Object.assign(o, { id: pi.replace(/^pi_/, 'ch_'), payment_intent: pi, amount_refunded: refundedMinor, refunded: refundedMinor === o.amount, metadata: { order_id: ref } });
  });
}

const stateOf = (...records) => records.reduce((state, r) => mergeOrderState(state, r), null);

async function storeState(orderId, state) {
  await pool.query(
    `INSERT INTO "StripeBridgeOrderState" ("OrderId", "State", "Sequence", "UpdatedOnUtc") VALUES ($1, $2, 1, now() at time zone 'utc')`,
    [orderId, JSON.stringify(state)],
  );
}

async function notesOf(orderId) {
  const { rows } = await pool.query('SELECT "Note", "DisplayToCustomer" FROM "OrderNote" WHERE "OrderId" = $1 ORDER BY "Id"', [orderId]);
  assert.ok(rows.every((r) => r.DisplayToCustomer === false));
  return rows.map((r) => r.Note);
}

async function refundRow(returnId) {
  const { rows } = await pool.query(
    `SELECT "OrderId", "Status", "Request", "RefundIds", "LastError", "Attempts", "NextAttemptOnUtc" IS NOT NULL AS "Scheduled",
       extract(epoch FROM "NextAttemptOnUtc" - "LastAttemptOnUtc")::int AS "DelayS"
     FROM "StripeBridgeReturnRefund" WHERE "ReturnRequestId" = $1`,
    [returnId],
  );
  return rows[0] ?? null;
}

async function cancelRow(orderId) {
  const { rows } = await pool.query(
    `SELECT "Action", "Path", "Status", "Request", "RefundIds", "LastError", "Attempts" FROM "StripeBridgeOrderCancel" WHERE "OrderId" = $1`,
    [orderId],
  );
  return rows[0] ?? null;
}

async function returnStatus(id) {
  return (await pool.query('SELECT "ReturnRequestStatusId" AS s FROM "ReturnRequest" WHERE "Id" = $1', [id])).rows[0].s;
}

/** Makes a failed row due now (as if its delay had passed). */
async function makeDue(table, key, id) {
  await pool.query(`UPDATE "${table}" SET "NextAttemptOnUtc" = now() at time zone 'utc' - interval '1 second' WHERE "${key}" = $1`, [id]);
}

const bodies = () => worker.requests.map((r) => r.body);
const zero = { enrolled: 0, created: 0, refused: 0, failed: 0 };

// ---------------------------------------------------------------------------------------------

describe('return requests -> POST /refunds', () => {
  test('an approved return asks for one refund: unit price x quantity at the order rate, in the customer currency, for the order Stripe knows', async () => {
    // Paid in EUR at 0.9 EUR per USD; the payment named the order by its custom number.
    await orderWithReturn(101, {
      unitPrice: '19.9900',
      quantity: 3,
      returned: 2,
      customerCurrency: 'EUR',
      rate: '0.9000',
      state: stateOf(paidRecord('NOP-101', { pi: 'pi_order_101', currency: 'eur', amountMinor: 5397 })),
    });
    // No Stripe state stored: the order id.
    await orderWithReturn(102, { unitPrice: '5.0000' });
    const summary = await processReturns(pool, options());
    assert.deepEqual(summary, { enrolled: 2, created: 2, refused: 0, failed: 0 });
    assert.deepEqual(worker.requests.map((r) => r.path), ['/refunds', '/refunds']);
    assert.deepEqual(bodies(), [
      { order_id: 'NOP-101', amount: '35.98', currency: 'EUR', reason: REASON, return_id: 'rr_101' },
      { order_id: '102', amount: '5.00', currency: 'USD', reason: REASON, return_id: 'rr_102' },
    ]);
    const row = await refundRow(101);
    assert.deepEqual(
      { ...row, Request: undefined },
      { OrderId: 101, Status: 'created', Request: undefined, RefundIds: ['re_fake_1'], LastError: null, Attempts: 1, Scheduled: false, DelayS: null },
    );
    assert.deepEqual(row.Request, bodies()[0]);
    assert.deepEqual(await notesOf(101), ['Stripe refund re_fake_1 of 35.98 EUR requested for return request #101']);
    assert.deepEqual(await notesOf(102), ['Stripe refund re_fake_2 of 5.00 USD requested for return request #102']);
    // RETURN_SET_REFUNDED is off: the return request keeps its status.
    assert.equal(await returnStatus(101), RETURN_REQUEST_STATUS.ReturnAuthorized);
    // Again (the next poll): nothing more.
    assert.deepEqual(await processReturns(pool, options({ retryDelayMs: 0 })), zero);
    assert.equal(worker.requests.length, 2);
    assert.equal(worker.refunds.size, 2);
    assert.equal((await notesOf(101)).length, 1);
    assert.ok(actionLog.some((l) => l.action === 'return_refund' && l.key === 101 && l.outcome === 'created' && l.refund_ids?.[0] === 're_fake_1'));
  });

  test('amounts are exact, half to even to the currency\'s decimals (JPY, EUR; KWD and ISK: to what Stripe takes), as the nopCommerce plan converts', async () => {
    // [return id, unit price, quantity, customer currency, rate, primary total, expected amount, currency]
    const cases = [
      [201, '1.0000', 5, 'JPY', '150.5000', '5.0000', '752', 'JPY'], // 752.5: to even (half up would be 753)
      [202, '19.9900', 3, 'JPY', '151.2345', '59.9700', '9070', 'JPY'], // 9069.532965
      // KWD: three decimals, but Stripe takes multiples of 10 fils (the Worker refuses 1.234).
      [203, '2.4690', 1, 'KWD', '0.5000', '2.4690', '1.230', 'KWD'], // 1.2345
      [204, '12.3450', 2, 'KWD', '0.3071', '24.6900', '7.580', 'KWD'], // 7.582299
      [205, '1.0000', 2, 'KWD', '1.5000', '2.0000', '3.000', 'KWD'], // three decimals written out
      [211, '2.4900', 1, 'KWD', '0.5000', '2.4900', '1.240', 'KWD'], // 1.245: to even (half up: 1.250)
      [212, '2.4700', 1, 'KWD', '0.5000', '2.4700', '1.240', 'KWD'], // 1.235: to even
      // ISK: whole krónur only.
      [213, '1.0000', 1, 'ISK', '124.5000', '1.0000', '124.00', 'ISK'], // 124.5: to even
      [206, '10.0100', 1, 'EUR', '0.5000', '10.0100', '5.00', 'EUR'], // 5.005: to even
      [207, '10.0300', 1, 'EUR', '0.5000', '10.0300', '5.02', 'EUR'], // 5.015: to even
      [208, '0.1250', 1, 'USD', '1.0000', '0.1250', '0.12', 'USD'], // the primary currency
      [209, '3.3350', 1, 'EUR', '0.0000', '3.3350', '3.34', 'USD'], // no usable rate: the primary currency
      [210, '99999.9999', 7, 'JPY', '151.2345', '699999.9993', '105864150', 'JPY'], // 105864149.89413585
    ];
    for (const [id, unitPrice, quantity, customerCurrency, rate] of cases) {
      await orderWithReturn(id, { unitPrice, quantity, customerCurrency, rate });
    }
    const summary = await processReturns(pool, options());
    assert.deepEqual(summary, { enrolled: cases.length, created: cases.length, refused: 0, failed: 0 });
    const sent = new Map(bodies().map((b) => [b.return_id, b]));
    for (const [id, unitPrice, quantity, customerCurrency, rate, primary, amount, currency] of cases) {
      assert.deepEqual(sent.get(`rr_${id}`), { order_id: String(id), amount, currency, reason: REASON, return_id: `rr_${id}` }, `return ${id}`);
      assert.deepEqual(refundAmount({ unitPrice, quantity, storeCurrency: 'USD', customerCurrency, rate }), {
        amount,
        amountMinor: BigInt(toMinorUnits(amount, currency)),
        currency,
      });
      // The nopCommerce plan reads an order of this total the same way: a payment of one minor
      // unit "does not cover the order total <amount> <currency>" (in the currency's decimals:
      // where Stripe takes every minor unit, the same amount).
      if (['KWD', 'ISK'].includes(currency)) continue;
      const paid = paidRecord(String(id), { pi: `pi_plan_${id}`, currency: currency.toLowerCase(), amountMinor: 1 });
      const plan = planNopCommerceUpdate(
        { id, order_total: primary, currency: 'USD', customer_currency_code: customerCurrency, currency_rate: rate, payment_status_id: 10, order_status_id: 10, shipping_status_id: 20 },
        stateOf(paid),
        paid,
      );
      const note = plan.notes.find((n) => n.includes('does not cover the order total'));
      const [, total, code] = / the order total (\S+) ([A-Z]{3}):/.exec(note);
      assert.equal(code, currency, note);
      assert.equal(toMinorUnits(total, code), toMinorUnits(amount, currency), `return ${id}: the plan says ${note}`);
    }
  });

  test('what the proxy cannot ask for (no amount, an unknown currency) is refused with a note, never sent', async () => {
    await orderWithReturn(301, { unitPrice: '0.0000' });
    await orderWithReturn(302, { unitPrice: '10.0000', customerCurrency: 'XYZ', rate: '2.0000' });
    assert.deepEqual(await processReturns(pool, options()), { enrolled: 2, created: 0, refused: 2, failed: 0 });
    assert.equal(worker.requests.length, 0);
    assert.deepEqual(await notesOf(301), ['Stripe refund for return request #301 refused: nothing to refund (0.00 USD)']);
    assert.match((await notesOf(302))[0], /^Stripe refund for return request #302 refused: the refund amount cannot be computed: unknown currency XYZ/);
    assert.equal((await refundRow(302)).Status, 'refused');
    assert.deepEqual(await processReturns(pool, options({ retryDelayMs: 0 })), zero);
    assert.equal((await notesOf(301)).length, 1);
  });

  test('a 503 (Stripe made the refund, the answer was lost), then success: the same body again, one Stripe refund, one note', async () => {
    await orderWithReturn(401, { unitPrice: '12.3400', customerCurrency: 'EUR', rate: '1.0000' });
    worker.plan('rr_401', ['ok-then-503', 'ok']);
    assert.deepEqual(await processReturns(pool, options()), { enrolled: 1, created: 0, refused: 0, failed: 1 });
    let row = await refundRow(401);
    assert.deepEqual([row.Status, row.Attempts, row.LastError, row.Scheduled, row.DelayS], ['failed', 1, 'HTTP 503 stripe_rate_limited', true, 30]);
    assert.deepEqual(await notesOf(401), []);
    // Not due yet (30 s): the next poll sends nothing.
    assert.deepEqual(await processReturns(pool, options()), zero);
    assert.equal(worker.requests.length, 1);
    await makeDue('StripeBridgeReturnRefund', 'ReturnRequestId', 401);
    assert.deepEqual(await processReturns(pool, options()), { enrolled: 0, created: 1, refused: 0, failed: 0 });
    assert.equal(worker.requests.length, 2);
    // Byte for byte the same request: the Worker's idempotency key is the same, Stripe made one refund.
    assert.equal(worker.requests[0].text, worker.requests[1].text);
    assert.deepEqual(bodies()[0], { order_id: '401', amount: '12.34', currency: 'EUR', reason: REASON, return_id: 'rr_401' });
    assert.equal(worker.refunds.size, 1);
    row = await refundRow(401);
    assert.deepEqual([row.Status, row.Attempts, row.LastError, row.Scheduled, row.RefundIds], ['created', 2, null, false, ['re_fake_1']]);
    assert.deepEqual(await notesOf(401), ['Stripe refund re_fake_1 of 12.34 EUR requested for return request #401']);
  });

  test('dropped connections are retried with the same body, each time later (the delay doubles)', async () => {
    await orderWithReturn(501, { unitPrice: '7.5000', quantity: 2 });
    worker.plan('rr_501', ['drop', 'drop', 'ok']);
    const slow = options({ retryDelayMs: 60_000 });
    assert.deepEqual(await processReturns(pool, slow), { enrolled: 1, created: 0, refused: 0, failed: 1 });
    let row = await refundRow(501);
    assert.deepEqual([row.Status, row.Attempts, row.DelayS], ['failed', 1, 60]);
    assert.match(row.LastError, /^network error: /);
    await makeDue('StripeBridgeReturnRefund', 'ReturnRequestId', 501);
    assert.deepEqual(await processReturns(pool, slow), { enrolled: 0, created: 0, refused: 0, failed: 1 });
    row = await refundRow(501);
    assert.deepEqual([row.Status, row.Attempts, row.DelayS], ['failed', 2, 120]);
    await makeDue('StripeBridgeReturnRefund', 'ReturnRequestId', 501);
    assert.deepEqual(await processReturns(pool, slow), { enrolled: 0, created: 1, refused: 0, failed: 0 });
    assert.equal(worker.requests.length, 3);
    assert.equal(new Set(worker.requests.map((r) => r.text)).size, 1);
    assert.deepEqual(bodies()[0], { order_id: '501', amount: '15.00', currency: 'USD', reason: REASON, return_id: 'rr_501' });
    assert.deepEqual(await notesOf(501), ['Stripe refund re_fake_1 of 15.00 USD requested for return request #501']);
    assert.deepEqual((await refundRow(501)).Attempts, 3);
  });

  test('a 422 refusal is recorded with a note and never asked again (also 400 and unknown orders); 401 and other 404s are retried', async () => {
    for (const id of [601, 602, 603, 604, 605, 606]) await orderWithReturn(id, { unitPrice: '50.0000', customerCurrency: 'EUR', rate: '1.0000' });
    worker.plan('rr_601', [{ status: 422, body: { result: 'refused', error: { field: 'amount', code: 'amount_too_large', message: 'amount 50.00 EUR is more than the 20.00 EUR left to refund' } } }]);
    worker.plan('rr_602', [{ status: 422, body: { result: 'stripe_refused', stripe: { type: 'invalid_request_error', code: 'charge_already_refunded', message: 'Charge ch_1 has already been refunded.' } } }]);
    worker.plan('rr_603', [{ status: 404, body: { result: 'unknown_order' } }]);
    worker.plan('rr_604', [{ status: 400, body: { result: 'refused', error: { field: 'body', code: 'invalid_request', message: 'the request JSON: unknown field `foo`' } } }]);
    worker.plan('rr_605', [{ status: 401, body: { result: 'unauthorized' } }, 'ok']);
    worker.plan('rr_606', [{ status: 404, body: { result: 'not_found' } }, 'ok']);
    assert.deepEqual(await processReturns(pool, options({ retryDelayMs: 0 })), { enrolled: 6, created: 0, refused: 4, failed: 2 });
    assert.deepEqual(await notesOf(601), ['Stripe refund for return request #601 refused: amount 50.00 EUR is more than the 20.00 EUR left to refund']);
    assert.deepEqual(await notesOf(602), ['Stripe refund for return request #602 refused: Stripe: Charge ch_1 has already been refunded.']);
    assert.deepEqual(await notesOf(603), ['Stripe refund for return request #603 refused: the Worker has no Stripe payment for this order (unknown_order)']);
    assert.deepEqual(await notesOf(604), ['Stripe refund for return request #604 refused: the request JSON: unknown field `foo`']);
    const refused = await refundRow(601);
    assert.deepEqual([refused.Status, refused.Attempts, refused.Scheduled, refused.RefundIds], ['refused', 1, false, []]);
    assert.equal(refused.LastError, 'amount 50.00 EUR is more than the 20.00 EUR left to refund');
    assert.deepEqual([(await refundRow(605)).LastError, (await refundRow(606)).LastError], ['HTTP 401 unauthorized', 'HTTP 404 not_found']);
    assert.deepEqual(await notesOf(605), []);
    // The next poll: only the two that may work now are sent again.
    assert.deepEqual(await processReturns(pool, options({ retryDelayMs: 0 })), { enrolled: 0, created: 2, refused: 0, failed: 0 });
    assert.deepEqual(worker.requests.slice(6).map((r) => r.body.return_id).sort(), ['rr_605', 'rr_606']);
    assert.deepEqual(await processReturns(pool, options({ retryDelayMs: 0 })), zero);
    assert.equal(worker.requests.length, 8);
    for (const id of [601, 602, 603, 604]) assert.equal((await notesOf(id)).length, 1);
  });

  test('a return request not in the approved status asks for nothing; once approved, it is refunded', async () => {
    const others = [RETURN_REQUEST_STATUS.Pending, RETURN_REQUEST_STATUS.Received, RETURN_REQUEST_STATUS.ItemsRepaired, RETURN_REQUEST_STATUS.ItemsRefunded, RETURN_REQUEST_STATUS.RequestRejected, RETURN_REQUEST_STATUS.Cancelled];
    for (const [i, status] of others.entries()) await orderWithReturn(701 + i, { unitPrice: '9.0000', status });
    assert.deepEqual(await processReturns(pool, options()), zero);
    assert.equal(worker.requests.length, 0);
    assert.equal((await pool.query('SELECT count(*)::int AS n FROM "StripeBridgeReturnRefund"')).rows[0].n, 0);
    // The admin authorizes the pending one.
    await pool.query(`UPDATE "ReturnRequest" SET "ReturnRequestStatusId" = 20 WHERE "Id" = 701`);
    assert.deepEqual(await processReturns(pool, options()), { enrolled: 1, created: 1, refused: 0, failed: 0 });
    assert.deepEqual(bodies(), [{ order_id: '701', amount: '9.00', currency: 'USD', reason: REASON, return_id: 'rr_701' }]);
  });

  test('two proxies at the same time send each refund once', async () => {
    const ids = [801, 802, 803, 804, 805, 806];
    for (const id of ids) await orderWithReturn(id, { unitPrice: `${id}.0000` });
    worker.delayMs = 100;
    const second = new pg.Pool({ connectionString: dbUrl, max: 4 });
    try {
      const summaries = await Promise.all([processReturns(pool, options()), processReturns(second, options()), processReturns(pool, options())]);
      const sum = (k) => summaries.reduce((n, s) => n + s[k], 0);
      assert.deepEqual([sum('enrolled'), sum('created'), sum('refused'), sum('failed')], [6, 6, 0, 0]);
      // They did share the work (each skipping the rows another held).
      assert.ok(summaries.filter((s) => s.created > 0).length >= 2, JSON.stringify(summaries));
    } finally {
      await second.end();
    }
    assert.equal(worker.requests.length, 6);
    assert.deepEqual(bodies().map((b) => b.return_id).sort(), ids.map((id) => `rr_${id}`));
    for (const id of ids) {
      assert.equal((await refundRow(id)).Status, 'created');
      assert.equal((await notesOf(id)).length, 1);
    }
  });

  test('the approved status is configurable (RETURN_APPROVED_STATUS); RETURN_SET_REFUNDED=1 marks refunded returns ItemsRefunded', async () => {
    await orderWithReturn(901, { unitPrice: '4.0000', status: RETURN_REQUEST_STATUS.Received });
    await orderWithReturn(902, { unitPrice: '4.0000', status: RETURN_REQUEST_STATUS.ReturnAuthorized });
    await orderWithReturn(903, { unitPrice: '4.0000', status: RETURN_REQUEST_STATUS.Received });
    worker.plan('rr_903', [{ status: 422, body: { result: 'refused', error: { field: 'payment', code: 'not_captured', message: 'the payment was not captured' } } }]);
    const received = options({ approvedStatus: RETURN_REQUEST_STATUS.Received, setRefunded: true });
    assert.deepEqual(await processReturns(pool, received), { enrolled: 2, created: 1, refused: 1, failed: 0 });
    assert.deepEqual(bodies().map((b) => b.return_id), ['rr_901', 'rr_903']);
    assert.equal(await returnStatus(901), RETURN_REQUEST_STATUS.ItemsRefunded);
    // Refused: left as it was, for the admin to decide.
    assert.equal(await returnStatus(903), RETURN_REQUEST_STATUS.Received);
    assert.equal(await returnStatus(902), RETURN_REQUEST_STATUS.ReturnAuthorized);
    assert.equal(await refundRow(902), null);
    assert.deepEqual(await processReturns(pool, received), zero);
    assert.throws(() => shopActionOptions(options({ approvedStatus: 25 })), /approvedStatus \(RETURN_APPROVED_STATUS\) must be a ReturnRequestStatus/);
  });

  test('ACTIONS_SINCE leaves return requests changed and orders created before it alone', async () => {
    await orderWithReturn(951, { unitPrice: '3.0000' });
    await createOrder(952);
    await addItem(952, 952, { unitPrice: '3.0000' });
    await addReturn(952, 952, { updated: '2020-01-01 00:00:00' });
    await createOrder(953, { status: 40, payment: 20, created: '2020-01-01 00:00:00' });
    await storeState(953, stateOf(authorizedRecord('953', { pi: 'pi_auth_953' })));
    const since = options({ since: '2024-01-01T00:00:00Z' });
    const summary = await processShopActions(pool, since);
    assert.deepEqual(summary, { returns: { enrolled: 1, created: 1, refused: 0, failed: 0 }, cancellations: zero });
    assert.deepEqual(bodies().map((b) => b.return_id), ['rr_951']);
  });
});

describe('cancelled orders', () => {
  test('a cancelled order holding an authorization: its PaymentIntent is canceled once', async () => {
    await createOrder(1001, { status: 40, payment: 20 });
    await storeState(1001, stateOf(authorizedRecord('1001', { pi: 'pi_auth_1001' })));
    // Not cancelled, or nothing held: nothing to do.
    await createOrder(1002, { status: 20, payment: 20 });
    await storeState(1002, stateOf(authorizedRecord('1002', { pi: 'pi_auth_1002' })));
    await createOrder(1003, { status: 40, payment: 10 });
    const summary = await processCancelledOrders(pool, options());
    assert.deepEqual(summary, { enrolled: 1, created: 1, refused: 0, failed: 0 });
    assert.deepEqual(worker.requests.map((r) => [r.path, r.body]), [['/payments/pi_auth_1001/cancel', { order_id: '1001', reason: REASON }]]);
    assert.deepEqual(await notesOf(1001), ['Stripe authorization pi_auth_1001 of 21.98 USD canceled for the cancelled order']);
    const row = await cancelRow(1001);
    assert.deepEqual([row.Action, row.Path, row.Status, row.Attempts], ['cancel', '/payments/pi_auth_1001/cancel', 'created', 1]);
    assert.deepEqual(await processCancelledOrders(pool, options({ retryDelayMs: 0 })), zero);
    assert.equal(worker.requests.length, 1);
    assert.deepEqual(await notesOf(1002), []);
    assert.equal(await cancelRow(1003), null);
  });

  test('a cancellation that fails (503) is sent again with the same body; a refused one (422) is noted and not retried', async () => {
    for (const id of [1101, 1102]) {
      await createOrder(id, { status: 40, payment: 20 });
      await storeState(id, stateOf(authorizedRecord(`NOP-${id}`, { pi: `pi_auth_${id}` })));
    }
    worker.plan('pi_auth_1101', [{ status: 503, body: { result: 'stripe_rate_limited' } }, 'ok']);
    worker.plan('pi_auth_1102', [{ status: 422, body: { result: 'refused', error: { field: 'payment_intent', code: 'already_captured', message: 'the payment was captured: refund it instead' } } }]);
    assert.deepEqual(await processCancelledOrders(pool, options()), { enrolled: 2, created: 0, refused: 1, failed: 1 });
    assert.deepEqual(await notesOf(1102), ['Stripe cancellation of pi_auth_1102 for the cancelled order refused: the payment was captured: refund it instead']);
    assert.deepEqual(await notesOf(1101), []);
    await makeDue('StripeBridgeOrderCancel', 'OrderId', 1101);
    assert.deepEqual(await processCancelledOrders(pool, options()), { enrolled: 0, created: 1, refused: 0, failed: 0 });
    const sent = worker.requests.filter((r) => r.path === '/payments/pi_auth_1101/cancel');
    assert.equal(sent.length, 2);
    assert.equal(sent[0].text, sent[1].text);
    assert.deepEqual(sent[0].body, { order_id: 'NOP-1101', reason: REASON });
    assert.deepEqual(await notesOf(1101), ['Stripe authorization pi_auth_1101 of 21.98 USD canceled for the cancelled order']);
    assert.deepEqual(await processCancelledOrders(pool, options({ retryDelayMs: 0 })), zero);
    assert.equal(worker.requests.length, 3);
  });

  test('a cancelled order that was paid: one full refund of what remains (return_id cancel_<id>)', async () => {
    await createOrder(1201, { status: 40, payment: 30 });
    await storeState(1201, stateOf(paidRecord('NOP-1201', { pi: 'pi_order_1201' })));
    // Partly refunded already: the Worker refunds what remains (the fake: 16.98).
    await createOrder(1202, { status: 40, payment: 35 });
    await storeState(1202, stateOf(paidRecord('1202', { pi: 'pi_order_1202' }), refundedRecord('1202', { pi: 'pi_order_1202', refundedMinor: 500 })));
    worker.remaining.set('1202', 1698);
    // Refunded in full already: nothing to do.
    await createOrder(1203, { status: 40, payment: 40 });
    await storeState(1203, stateOf(paidRecord('1203', { pi: 'pi_order_1203' }), refundedRecord('1203', { pi: 'pi_order_1203', refundedMinor: 2198 })));
    // Paid, not cancelled: nothing.
    await createOrder(1204, { status: 30, payment: 30 });
    await storeState(1204, stateOf(paidRecord('1204', { pi: 'pi_order_1204' })));
    assert.deepEqual(await processCancelledOrders(pool, options()), { enrolled: 2, created: 2, refused: 0, failed: 0 });
    assert.deepEqual(
      worker.requests.map((r) => [r.path, r.body]),
      [
        ['/refunds', { order_id: 'NOP-1201', currency: 'USD', reason: REASON, return_id: 'cancel_1201' }],
        ['/refunds', { order_id: '1202', currency: 'USD', reason: REASON, return_id: 'cancel_1202' }],
      ],
    );
    assert.deepEqual(await notesOf(1201), ['Stripe refund re_fake_1 of 21.98 USD requested for the cancelled order']);
    assert.deepEqual(await notesOf(1202), ['Stripe refund re_fake_2 of 16.98 USD requested for the cancelled order']);
    const row = await cancelRow(1201);
    assert.deepEqual([row.Action, row.Path, row.Status, row.RefundIds], ['refund', '/refunds', 'created', ['re_fake_1']]);
    assert.equal(await cancelRow(1203), null);
    assert.equal(await cancelRow(1204), null);
    assert.deepEqual(await processCancelledOrders(pool, options({ retryDelayMs: 0 })), zero);
    assert.equal(worker.requests.length, 2);
  });
});

describe('the poll loop', () => {
  test('startShopActions refunds returns and cancels authorizations every RETURNS_POLL_MS, and stops', async () => {
    await orderWithReturn(1301, { unitPrice: '2.5000', quantity: 2 });
    await createOrder(1302, { status: 40, payment: 20 });
    await storeState(1302, stateOf(authorizedRecord('1302', { pi: 'pi_auth_1302' })));
    const loop = startShopActions(pool, { ...options(), pollMs: 20 });
    try {
      for (let i = 0; i < 250 && worker.requests.length < 2; i++) await new Promise((r) => setTimeout(r, 20));
      // A return approved while the loop runs is noticed by a later run.
      await orderWithReturn(1303, { unitPrice: '1.0000' });
      for (let i = 0; i < 250 && worker.requests.length < 3; i++) await new Promise((r) => setTimeout(r, 20));
    } finally {
      await loop.stop();
    }
    assert.deepEqual(worker.requests.map((r) => r.path).sort(), ['/payments/pi_auth_1302/cancel', '/refunds', '/refunds']);
    assert.deepEqual(bodies().filter((b) => b.return_id).map((b) => [b.return_id, b.amount]), [['rr_1301', '5.00'], ['rr_1303', '1.00']]);
    await new Promise((r) => setTimeout(r, 60));
    assert.equal(worker.requests.length, 3, 'nothing after stop');
    assert.ok(actionLog.some((l) => l.action === 'poll' && l.returns?.created === 1));
  });

  test('options are checked: https (http only on loopback), a token, a positive poll interval', () => {
    assert.throws(() => shopActionOptions(options({ workerUrl: 'http://stripe-bridge.example.com' })), /must be https/);
    assert.throws(() => shopActionOptions(options({ workerUrl: 'not a url' })), /WORKER_URL/);
    assert.throws(() => shopActionOptions(options({ token: '' })), /SHOP_API_TOKEN/);
    assert.throws(() => shopActionOptions(options({ since: 'yesterday' })), /ACTIONS_SINCE/);
    assert.throws(() => startShopActions(pool, { ...options(), pollMs: 0 }), /RETURNS_POLL_MS/);
    const o = shopActionOptions(options({ workerUrl: 'https://stripe-bridge.example.workers.dev/shop?x=1' }));
    assert.equal(o.base.href, 'https://stripe-bridge.example.workers.dev/shop/');
    assert.equal(o.approvedStatus, 20);
    assert.equal(o.setRefunded, false);
  });
});
