// The nopCommerce proxy: receives the stripe-bridge Worker's signed forwards (normalized
// records, Standard Webhooks signature), and applies each to the nopCommerce order it names,
// in one transaction, idempotently: the order's merged Stripe state is kept beside it, a
// record that changes nothing is a duplicate, and the update comes from the merged state
// through stripe-bridge's nopCommerce plan (nopCommerce's own guards), so delivery order does
// not matter.
import { createServer } from 'node:http';
import { statusConcern, verifyStandardWebhook } from 'stripe-bridge';
import { mergeOrderState, planNopCommerceUpdate, upgradeOrderState } from 'stripe-bridge/targets';

// PaidDateUtc (UTC, without time zone) as ISO 8601 text, whatever the server's time zone;
// decimals as text (exact).
const ORDER_COLUMNS = `"Id", "OrderTotal"::text AS "OrderTotal", "PaymentStatusId", "OrderStatusId", "ShippingStatusId",
  "RefundedAmount"::text AS "RefundedAmount", "CustomerCurrencyCode", "CurrencyRate"::text AS "CurrencyRate",
  to_char("PaidDateUtc", 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS "PaidDateUtc",
  "AuthorizationTransactionId", "CaptureTransactionId", "CustomOrderNumber"`;

/** .NET's Guid formats (`D`, `B`, `N`): an order reference that is one names "OrderGuid". */
const GUID = /^\{?([0-9a-f]{8})-?([0-9a-f]{4})-?([0-9a-f]{4})-?([0-9a-f]{4})-?([0-9a-f]{12})\}?$/i;

/** The order GUID an order reference names, in PostgreSQL's form, or null. */
export function orderGuid(ref) {
  const m = GUID.exec(ref);
  return m ? m.slice(1).join('-').toLowerCase() : null;
}

/** The ids of Stripe objects a record names, by which an order already linked to them is found. */
function stripeIds(record) {
  return [record.payment_intent, record.charge, record.checkout_session, record.invoice].filter((id) => typeof id === 'string' && id);
}

/** JSON text with object keys sorted, for comparing states read back from jsonb. */
function canonical(value) {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${canonical(value[k])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/**
 * Applies one normalized record. Returns `{ result, orderId?, plan? }` where result is
 * `applied`, `duplicate`, `skipped` (not about an order's payment: payouts, customers, ignored
 * and unreadable records), `unknown_order` (no order known for it yet, e.g. a refund delivered
 * before its payment) or `refused` (the stored state cannot take it).
 */
export async function applyRecord(pool, record, { storeCurrency }) {
  // The core says which statuses concern an order (its payment, or a flag on it).
  const concern = statusConcern(record.status);
  if (concern !== 'payment' && concern !== 'flag') return { result: 'skipped' };
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    // The order by id, custom order number or order GUID; refunds and disputes carry no order
    // reference, so by a PaymentIntent, charge, Checkout Session or invoice already recorded
    // for an order (in its transaction ids, or in its stored state: version 2 keeps them in
    // `objects`, version 1 in `payment_intents`, `charges`, ...). Locked until commit.
    const ref = record.order_ref ?? '';
    const byId = /^\d{1,10}$/.test(ref) && Number(ref) <= 2147483647 ? Number(ref) : -1;
    const guid = orderGuid(ref);
    const ids = stripeIds(record);
    const found = await client.query(
      `SELECT ${ORDER_COLUMNS} FROM "Order" o
        WHERE NOT "Deleted" AND (
          "Id" = $1 OR ("CustomOrderNumber" = $2 AND $2 <> '') OR "OrderGuid" = $3::uuid
          OR "AuthorizationTransactionId" = ANY($4::text[]) OR "CaptureTransactionId" = ANY($4::text[])
          OR EXISTS (SELECT 1 FROM "StripeBridgeOrderState" s WHERE s."OrderId" = o."Id"
                     AND (s."State"->'objects' ?| $4::text[]
                          OR s."State"->'payment_intents' ?| $4::text[] OR s."State"->'charges' ?| $4::text[]
                          OR s."State"->'checkout_sessions' ?| $4::text[] OR s."State"->'invoices' ?| $4::text[])))
        ORDER BY ("Id" = $1 OR "CustomOrderNumber" = $2 OR "OrderGuid" IS NOT DISTINCT FROM $3::uuid) DESC, "Id" LIMIT 1 FOR UPDATE`,
      [byId, ref, guid, ids],
    );
    const row = found.rows[0];
    if (!row) {
      await client.query('ROLLBACK');
      return { result: 'unknown_order' };
    }
    const saved = await client.query('SELECT "State" FROM "StripeBridgeOrderState" WHERE "OrderId" = $1 FOR UPDATE', [row.Id]);
    let before = null;
    let after;
    try {
      // A state stored by version 1 is read as the current version (so a record it already
      // holds is still a duplicate), then merged.
      before = saved.rows[0] ? upgradeOrderState(saved.rows[0].State) : null;
      after = mergeOrderState(before, record);
    } catch (e) {
      await client.query('ROLLBACK');
      // A record the state cannot take (e.g. an amount overflow) will never fit: acknowledged.
      // A stored state this version cannot read (written by a newer one) throws: 500, retried.
      if (e.type === 'StripeStateError') return { result: 'refused', orderId: row.Id, reason: e.message };
      throw e;
    }
    // (jsonb reorders keys: compare canonical forms.)
    if (before && canonical(after) === canonical(before)) {
      await client.query('ROLLBACK');
      return { result: 'duplicate', orderId: row.Id };
    }
    const order = {
      id: row.Id,
      order_total: row.OrderTotal,
      // OrderTotal is in the store's primary currency; the customer paid OrderTotal x
      // CurrencyRate in CustomerCurrencyCode, which is what Stripe charged.
      currency: storeCurrency,
      customer_currency_code: row.CustomerCurrencyCode,
      currency_rate: row.CurrencyRate,
      shipping_status_id: row.ShippingStatusId,
      payment_status_id: row.PaymentStatusId,
      order_status_id: row.OrderStatusId,
      refunded_amount: row.RefundedAmount,
      paid_date_utc: row.PaidDateUtc,
      authorization_transaction_id: row.AuthorizationTransactionId,
      capture_transaction_id: row.CaptureTransactionId,
    };
    const plan = planNopCommerceUpdate(order, after, record);
    const sets = [];
    const values = [];
    const set = (column, value) => {
      values.push(value);
      sets.push(`"${column}" = $${values.length}`);
    };
    if (plan.payment_status_id !== null) set('PaymentStatusId', plan.payment_status_id);
    if (plan.order_status_id !== null) set('OrderStatusId', plan.order_status_id);
    if (plan.refunded_amount !== null) set('RefundedAmount', plan.refunded_amount);
    if (plan.paid_date_utc !== null) set('PaidDateUtc', plan.paid_date_utc.replace('Z', ''));
    if (plan.authorization_transaction_id !== null) set('AuthorizationTransactionId', plan.authorization_transaction_id);
    if (plan.capture_transaction_id !== null) {
      set('CaptureTransactionId', plan.capture_transaction_id);
      set('CaptureTransactionResult', 'succeeded');
    }
    if (sets.length) {
      values.push(row.Id);
      await client.query(`UPDATE "Order" SET ${sets.join(', ')} WHERE "Id" = $${values.length}`, values);
    }
    for (const note of plan.notes) {
      await client.query(
        `INSERT INTO "OrderNote" ("OrderId", "Note", "DownloadId", "DisplayToCustomer", "CreatedOnUtc") VALUES ($1, $2, 0, false, now() at time zone 'utc')`,
        [row.Id, note],
      );
    }
    await client.query(
      `INSERT INTO "StripeBridgeOrderState" ("OrderId", "State", "UpdatedOnUtc") VALUES ($1, $2, now() at time zone 'utc')
       ON CONFLICT ("OrderId") DO UPDATE SET "State" = EXCLUDED."State", "UpdatedOnUtc" = EXCLUDED."UpdatedOnUtc"`,
      [row.Id, JSON.stringify(after)],
    );
    await client.query('COMMIT');
    return { result: 'applied', orderId: row.Id, plan };
  } catch (e) {
    await client.query('ROLLBACK').catch(() => {});
    throw e;
  } finally {
    client.release();
  }
}

/**
 * The HTTP service: POST a forwarded record (Standard Webhooks signed with `secret`).
 * 200 when applied, a duplicate, or nothing to apply; 400 on a bad signature (nothing
 * written); 409 when no order is known for the record yet and 500 when the database fails —
 * both make the Worker retry later (a refund that overtook its payment then finds the order).
 */
export function createProxy({ pool, secret, storeCurrency, log = () => {} }) {
  return createServer((req, res) => {
    if (req.method !== 'POST') {
      res.writeHead(405, { allow: 'POST' }).end();
      return;
    }
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      const body = Buffer.concat(chunks);
      let record;
      try {
        record = verifyStandardWebhook(body, req.headers, secret);
      } catch (e) {
        log({ outcome: 'bad_signature', code: e.code });
        res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ result: 'bad_signature', code: e.code }));
        return;
      }
      try {
        const outcome = await applyRecord(pool, record, { storeCurrency });
        log({ outcome: outcome.result, event_id: record.event_id, order_id: outcome.orderId ?? null });
        const status = outcome.result === 'unknown_order' ? 409 : 200;
        res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ result: outcome.result, order_id: outcome.orderId ?? null }));
      } catch (e) {
        log({ outcome: 'error', event_id: record.event_id, error: e.message });
        res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ result: 'error' }));
      }
    });
  });
}
