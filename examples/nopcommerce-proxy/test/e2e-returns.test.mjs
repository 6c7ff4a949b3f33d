// End to end on PostgreSQL: a return request approved in nopCommerce's tables becomes one refund
// at the Stripe API stand-in (proxy -> the real Worker in workerd -> Stripe), and Stripe's refund
// webhooks come back through the Worker to the proxy, which marks the order PartiallyRefunded,
// then Refunded after the second return, with the notes. Run through scripts/with-postgres.sh.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { generateTestHeader } from 'stripe-bridge';
import { createProxy, processReturns } from '../proxy.mjs';
import { startFakeStripe } from '../../fake-stripe-api.mjs';
import { paidPayment } from '../../stripe-scenarios.mjs';
import { DOWNSTREAM_SECRET, STRIPE_SECRET, startWorker, waitFor } from '../../../worker/test/harness.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const TOKEN = 'shop-token-e2e-returns';
const KEY = 'sk_test_51E2eReturnsKeyForTheLoopbackStandIn';
const ORDER = 4001;
const database = `nop_proxy_e2e_${process.pid}`;

describe('return request -> refund at Stripe -> webhooks -> order row', () => {
  let admin;
  let pool;
  let proxy;
  let stripe;
  let mf;
  let workerUrl;
  let n = 0;
  const payment = paidPayment({ currency: 'usd', amount: '21.98', orderId: String(ORDER), seed: 'e2e' });

  const webhook = async (type, object) => {
    const body = JSON.stringify({ id: `evt_e2e_${++n}`, object: 'event', type, created: 1700000000 + n, livemode: false, data: { object } });
    const res = await mf.dispatchFetch('http://worker/webhooks/stripe', { method: 'POST', body, headers: { 'stripe-signature': generateTestHeader({ payload: body, secret: STRIPE_SECRET }) } });
    assert.equal(res.status, 200, await res.text());
  };
  const order = async () => (await pool.query(`SELECT "PaymentStatusId", "RefundedAmount" FROM "Order" WHERE "Id" = $1`, [ORDER])).rows[0];
  const notes = async () => (await pool.query(`SELECT "Note" FROM "OrderNote" WHERE "OrderId" = $1 ORDER BY "Id"`, [ORDER])).rows.map((r) => r.Note);
  const refundsAtStripe = () => stripe.objects.filter((o) => o.object === 'refund');
  const returns = () => processReturns(pool, { workerUrl, token: TOKEN, storeCurrency: 'USD' });

  before(async () => {
    admin = new pg.Client({ connectionString: process.env.DATABASE_URL });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${database}`);
    const url = new URL(process.env.DATABASE_URL);
    url.pathname = `/${database}`;
    pool = new pg.Pool({ connectionString: url.toString(), max: 4 });
    await pool.query(readFileSync(join(here, '../schema.sql'), 'utf8'));
    proxy = createProxy({ pool, secret: DOWNSTREAM_SECRET, storeCurrency: 'USD' });
    await new Promise((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    stripe = await startFakeStripe({ apiKey: KEY });
    stripe.seed(payment);
    mf = await startWorker({
      downstreamUrl: `http://127.0.0.1:${proxy.address().port}/stripe-bridge`,
      vars: { FORWARD: 'state', SHOP_API_TOKEN: TOKEN, STRIPE_SECRET_KEY: KEY, STRIPE_API_BASE: stripe.url, FETCH_FEES: '0' },
    });
    workerUrl = String(await mf.ready).replace(/\/$/, '');
    await pool.query(
      `INSERT INTO "Order" ("Id", "OrderGuid", "StoreId", "CustomerId", "OrderStatusId", "ShippingStatusId", "PaymentStatusId",
         "PaymentMethodSystemName", "CustomerCurrencyCode", "CurrencyRate", "OrderTotal", "RefundedAmount", "Deleted", "CreatedOnUtc", "CustomOrderNumber")
       VALUES ($1, gen_random_uuid(), 1, 1, 10, 20, 10, 'Payments.StripeBridge', 'USD', 1, 21.98, 0, false, now() at time zone 'utc', $2)`,
      [ORDER, String(ORDER)],
    );
    for (const item of [1, 2]) {
      await pool.query(
        `INSERT INTO "OrderItem" ("Id", "OrderItemGuid", "OrderId", "ProductId", "Quantity", "UnitPriceInclTax", "UnitPriceExclTax", "PriceInclTax",
           "PriceExclTax", "DiscountAmountInclTax", "DiscountAmountExclTax", "OriginalProductCost", "DownloadCount", "IsDownloadActivated")
         VALUES ($1, gen_random_uuid(), $2, $1, 1, 10.99, 10.99, 10.99, 10.99, 0, 0, 0, 0, false)`,
        [ORDER * 10 + item, ORDER],
      );
    }
  });

  after(async () => {
    await mf?.dispose();
    await stripe?.close();
    await new Promise((resolve) => proxy?.close(resolve));
    await pool?.end();
    await admin?.query(`DROP DATABASE IF EXISTS ${database}`);
    await admin?.end();
  });

  const approveReturn = (id, item) =>
    pool.query(
      `INSERT INTO "ReturnRequest" ("Id", "CustomNumber", "StoreId", "OrderItemId", "CustomerId", "Quantity", "ReturnedQuantity", "ReasonForReturn",
         "RequestedAction", "CustomerComments", "UploadedFileId", "StaffNotes", "ReturnRequestStatusId", "CreatedOnUtc", "UpdatedOnUtc")
       VALUES ($1::int, $1::text, 1, $2, 1, 1, 0, 'Wrong size', 'Refund', '', 0, '', 20, now() at time zone 'utc', now() at time zone 'utc')`,
      [id, item],
    );

  /** Stripe's webhooks of the refund and of its charge, as Stripe sends them, to the Worker. */
  const refundWebhooks = async (refundId) => {
    await webhook('refund.created', stripe.get(refundId));
    await webhook('charge.refunded', stripe.get(payment.expected.chargeId));
  };

  test('the payment reaches the order', async () => {
    await webhook('payment_intent.succeeded', stripe.get(payment.expected.paymentIntentId));
    await webhook('charge.succeeded', stripe.get(payment.expected.chargeId));
    await waitFor(async () => (await order()).PaymentStatusId === 30, { what: 'order paid' });
  });

  test('an approved return is refunded once at Stripe; its webhooks make the order PartiallyRefunded', async () => {
    await approveReturn(501, ORDER * 10 + 1);
    await returns();
    await returns();
    assert.equal(refundsAtStripe().length, 1);
    const [refund] = refundsAtStripe();
    assert.equal(refund.amount, 1099);
    assert.equal(refund.metadata.return_id, 'rr_501');
    await refundWebhooks(refund.id);
    const o = await waitFor(async () => {
      const row = await order();
      return row.PaymentStatusId === 35 ? row : null;
    }, { what: 'order partially refunded' });
    assert.equal(o.RefundedAmount, '10.9900');
    const text = (await notes()).join('\n');
    assert.match(text, new RegExp(`Stripe refund ${refund.id} of 10\\.99 USD`));
    assert.match(text, /partially refunded/);
  });

  test('the second return refunds the rest: Refunded', async () => {
    await approveReturn(502, ORDER * 10 + 2);
    await returns();
    assert.equal(refundsAtStripe().length, 2);
    await refundWebhooks(refundsAtStripe()[1].id);
    const o = await waitFor(async () => {
      const row = await order();
      return row.PaymentStatusId === 40 ? row : null;
    }, { what: 'order refunded' });
    assert.equal(o.RefundedAmount, '21.9800');
    await returns();
    assert.equal(refundsAtStripe().length, 2, 'nothing more to refund, nothing sent again');
  });
});
