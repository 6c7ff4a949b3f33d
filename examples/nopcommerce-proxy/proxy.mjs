// The nopCommerce proxy: receives the stripe-bridge Worker's signed forwards (Standard Webhooks
// headers: webhook-id, webhook-timestamp, webhook-signature) and applies each to the
// nopCommerce order it names, in one transaction with the order row locked.
//
// It takes the two bodies the Worker can send, told apart by `sequence` + `state` at the top
// level:
//
//   - A state forward (the Worker's default, FORWARD=state): one per change of an order's state,
//       { "order_ref": "1001", "sequence": 3, "event_ids": ["evt_…"], "state": <v2 OrderState>,
//         "mapping": <optional profile output, not used here> }
//     The order is found by `order_ref` (its Id, its OrderGuid when the reference is a GUID, or
//     its CustomOrderNumber). `sequence` grows by one per change of that order: a forward whose
//     sequence is not higher than the last applied one ("StripeBridgeOrderState"."Sequence") is
//     answered 200 "stale" and changes nothing, so queue reordering and retries never move an
//     order backwards. Otherwise the forwarded state (the Worker's truth, validated by
//     upgradeOrderState) replaces the stored one and the order is updated from it.
//   - A normalized record (FORWARD=events, with TARGET_PROFILE=record): merged into the stored
//     state (mergeOrderState); a record that changes nothing is a duplicate. Refunds and disputes
//     carry no order reference: they find their order by the Stripe ids of its stored state
//     (GIN index, see schema.sql), and answer 409 until the payment that names the order is in.
//
// Either way the update comes from the whole state through stripe-bridge's nopCommerce plan
// (planNopCommerceUpdate: nopCommerce's own guards), so delivery order does not matter.
//
// Answers: 200 applied / duplicate / stale / ignored (payouts, customers and other records that
// concern no order); 400 bad signature or a body that is neither kind; 405 not a POST; 409 no
// such order (yet: the Worker's queue retries); 413 body over `maxBodyBytes` (256 KB by
// default); 422 a record or state that cannot be applied (unreadable record, state this version
// cannot read, a merge the state refuses: retried, then kept in the Worker's dead letters);
// 500 database or other errors (retried). Nothing is acknowledged unless it was applied or
// there was nothing to apply.
import { createServer } from 'node:http';
import { fromMinorUnits, statusConcern, verifyStandardWebhook } from 'stripe-bridge';
import { mergeOrderState, planNopCommerceUpdate, upgradeOrderState } from 'stripe-bridge/targets';

/** The default limit of a request body: a state forward of a large order is a few tens of KB. */
export const MAX_BODY_BYTES = 256 * 1024;

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

const nonEmpty = (s) => typeof s === 'string' && s !== '';

/**
 * The ids of the payment a record names (PaymentIntent, charge, Checkout Session, invoice), by
 * which an order already linked to them is found; never empty strings. (Refunds and disputes
 * always name their charge or PaymentIntent.)
 */
export function stripeIds(record) {
  const ids = [record.payment_intent, record.charge, record.checkout_session, record.invoice].filter(nonEmpty);
  return [...new Set(ids)];
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
 * The order an order reference names, locked until commit: by Id (a number), by OrderGuid (a
 * GUID), else by CustomOrderNumber. Null for an absent or empty reference.
 */
async function lockOrderByRef(client, ref) {
  if (!nonEmpty(ref)) return null;
  const lookups = [];
  if (/^\d{1,10}$/.test(ref) && Number(ref) <= 2147483647) lookups.push(['"Id" = $1', Number(ref)]);
  const guid = orderGuid(ref);
  if (guid) lookups.push(['"OrderGuid" = $1::uuid', guid]);
  lookups.push(['"CustomOrderNumber" = $1', ref]);
  for (const [where, value] of lookups) {
    const { rows } = await client.query(
      `SELECT ${ORDER_COLUMNS} FROM "Order" WHERE NOT "Deleted" AND ${where} ORDER BY "Id" LIMIT 1 FOR UPDATE`,
      [value],
    );
    if (rows[0]) return rows[0];
  }
  return null;
}

/**
 * The query that finds the order linked to any of some Stripe ids through the stored states
 * (the GIN index "IX_StripeBridgeOrderState_PaymentIds"), then the order by its primary key.
 * The linked ids are computed first (ARRAY(...), an init plan): joined instead, ORDER BY +
 * LIMIT 1 tempts the planner into walking every state or order in "Id" order, hoping for an
 * early match. Exported for tests (EXPLAIN).
 */
export const ORDER_BY_STRIPE_IDS = `SELECT ${ORDER_COLUMNS} FROM "Order"
  WHERE NOT "Deleted" AND "Id" = ANY (ARRAY(
    SELECT s."OrderId" FROM "StripeBridgeOrderState" s WHERE "StripeBridgePaymentIds"(s."State") && $1::text[]))
  ORDER BY "Id" LIMIT 1 FOR UPDATE`;

/** The order already linked to one of `ids` (non-empty strings), locked until commit, or null. */
async function lockOrderByStripeIds(client, ids) {
  if (!ids.length) return null;
  const { rows } = await client.query(ORDER_BY_STRIPE_IDS, [ids]);
  return rows[0] ?? null;
}

/** The order as planNopCommerceUpdate reads it. */
function nopOrder(row, storeCurrency) {
  return {
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
}

/** Writes a plan: the order's columns, its notes, and the state (with the sequence of a state forward). */
async function writePlan(client, orderId, plan, state, sequence) {
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
    values.push(orderId);
    await client.query(`UPDATE "Order" SET ${sets.join(', ')} WHERE "Id" = $${values.length}`, values);
  }
  for (const note of plan.notes) {
    await client.query(
      `INSERT INTO "OrderNote" ("OrderId", "Note", "DownloadId", "DisplayToCustomer", "CreatedOnUtc") VALUES ($1, $2, 0, false, now() at time zone 'utc')`,
      [orderId, note],
    );
  }
  await writeState(client, orderId, state, sequence);
}

/** Stores an order's state; `sequence` null keeps the stored one (records carry none). */
async function writeState(client, orderId, state, sequence) {
  await client.query(
    `INSERT INTO "StripeBridgeOrderState" ("OrderId", "State", "Sequence", "UpdatedOnUtc") VALUES ($1, $2, $3, now() at time zone 'utc')
     ON CONFLICT ("OrderId") DO UPDATE SET "State" = EXCLUDED."State",
       "Sequence" = COALESCE(EXCLUDED."Sequence", "StripeBridgeOrderState"."Sequence"), "UpdatedOnUtc" = EXCLUDED."UpdatedOnUtc"`,
    [orderId, JSON.stringify(state), sequence],
  );
}

/** Runs `fn(client)` in a transaction; `fn` returns `{ commit, ...outcome }`. */
async function inTransaction(pool, fn) {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const { commit, ...outcome } = await fn(client);
    await client.query(commit ? 'COMMIT' : 'ROLLBACK');
    return outcome;
  } catch (e) {
    await client.query('ROLLBACK').catch(() => {});
    throw e;
  } finally {
    client.release();
  }
}

/**
 * Applies one normalized record. Returns `{ result, orderId?, plan?, reason? }` where result is
 * `applied`, `duplicate`, `ignored` (not about an order's payment: payouts, customers, ignored
 * records), `unreadable` (a record whose Stripe object could not be read), `unknown_order` (no
 * order known for it yet, e.g. a refund delivered before its payment) or `refused` (the stored
 * state cannot take it). Throws on database errors and on a stored state this version cannot
 * read.
 */
export async function applyRecord(pool, record, { storeCurrency }) {
  if (record.status === 'unreadable') return { result: 'unreadable', reason: record.reason ?? null };
  // The core says which statuses concern an order (its payment, or a flag on it).
  let concern;
  try {
    concern = statusConcern(record.status);
  } catch (e) {
    return { result: 'invalid_record', reason: e.message };
  }
  if (concern !== 'payment' && concern !== 'flag') return { result: 'ignored' };
  try {
    // Checked before the database: a body that is not a normalized record is refused (400).
    mergeOrderState(null, record);
  } catch (e) {
    if (e.type !== 'StripeStateError') return { result: 'invalid_record', reason: e.message };
  }
  return inTransaction(pool, async (client) => {
    // The order its reference names; else (refunds and disputes carry no order reference) the
    // order whose stored state already knows its PaymentIntent, charge, Checkout Session or
    // invoice. Locked until commit.
    const row = (await lockOrderByRef(client, record.order_ref)) ?? (await lockOrderByStripeIds(client, stripeIds(record)));
    if (!row) return { commit: false, result: 'unknown_order' };
    const saved = await client.query('SELECT "State" FROM "StripeBridgeOrderState" WHERE "OrderId" = $1 FOR UPDATE', [row.Id]);
    // A state stored by version 1 is read as the current version (so a record it already holds
    // is still a duplicate), then merged. A stored state this version cannot read (written by a
    // newer one) throws: 500, retried.
    const before = saved.rows[0] ? upgradeOrderState(saved.rows[0].State) : null;
    let after;
    try {
      after = mergeOrderState(before, record);
    } catch (e) {
      // A record the state cannot take (e.g. an amount overflow): 422, so it ends with the
      // Worker's dead letters rather than vanishing.
      if (e.type === 'StripeStateError') return { commit: false, result: 'refused', orderId: row.Id, reason: e.message };
      throw e;
    }
    // (jsonb reorders keys: compare canonical forms.)
    if (before && canonical(after) === canonical(before)) return { commit: false, result: 'duplicate', orderId: row.Id };
    const plan = planNopCommerceUpdate(nopOrder(row, storeCurrency), after, record);
    await writePlan(client, row.Id, plan, after, null);
    return { commit: true, result: 'applied', orderId: row.Id, plan };
  });
}

/** Whether a verified body is a state forward (`sequence` and `state` at the top level) rather than a record. */
export function isStateForward(body) {
  return body !== null && typeof body === 'object' && !Array.isArray(body) && 'sequence' in body && 'state' in body;
}

/** Why a state forward's body is malformed, or null. */
function forwardProblem(forward) {
  if (!nonEmpty(forward.order_ref)) return 'order_ref must be a non-empty string';
  if (!Number.isSafeInteger(forward.sequence) || forward.sequence < 1) return 'sequence must be a positive integer';
  if (forward.state === null || typeof forward.state !== 'object' || Array.isArray(forward.state)) return 'state must be an object';
  if (forward.event_ids !== undefined && !(Array.isArray(forward.event_ids) && forward.event_ids.every(nonEmpty))) {
    return 'event_ids must be a list of event ids';
  }
  return null;
}

/** The latest of a state's disputes (by time, then id), or null. */
function latestDispute(state) {
  const disputes = Object.entries(state.disputes ?? {});
  disputes.sort(([a, x], [b, y]) => x.at - y.at || (a < b ? -1 : 1));
  const last = disputes.at(-1);
  return last ? { id: last[0], ...last[1] } : null;
}

/**
 * A record-shaped summary of a forwarded state, for the note planNopCommerceUpdate writes first
 * ("Stripe order.state (evt_…): payment of 21.98 USD received [pi_…, ch_…]"): the events that
 * changed the state, its status and amounts, its PaymentIntent and charge. The plan reads the
 * record only for that note (and for a paid date when the state has none: `created`, the
 * state's last event time).
 */
export function stateNoteRecord(forward, state) {
  const ids = (forward.event_ids ?? []).filter(nonEmpty);
  const shown = ids.length > 3 ? `${ids.slice(-3).join(', ')} and ${ids.length - 3} more` : ids.join(', ');
  const status = state.status ?? (state.fraud_warning ? 'fraud_warning' : state.review_open ? 'review_open' : 'pending');
  const charge = nonEmpty(state.paid_charge) ? state.paid_charge : null;
  // The PaymentIntent of the charge that took the money, else of the latest attempt.
  const objects = Object.entries(state.objects ?? {});
  const linked = charge && objects.find(([, o]) => o?.object === 'payment_intent' && o.links?.includes(charge));
  const lastAttempt = (state.attempts ?? []).filter((a) => nonEmpty(a?.id)).at(-1);
  const paymentIntent = linked ? linked[0] : lastAttempt?.id?.startsWith('pi_') ? lastAttempt.id : null;
  const record = {
    event_id: shown || state.last_event_id || `sequence ${forward.sequence}`,
    event_type: 'order.state',
    created: Number.isSafeInteger(state.last_event_at) ? state.last_event_at : Math.floor(Date.now() / 1000),
    livemode: false,
    account: null,
    api_version: null,
    object: null,
    object_id: null,
    status,
    order_ref: forward.order_ref,
    customer_id: null,
    customer_email: null,
    customer_name: null,
    currency: state.currency ?? null,
    amount: null,
    amount_minor: null,
    amount_refunded: null,
    amount_refunded_minor: null,
    fee: null,
    fee_minor: null,
    net: null,
    net_minor: null,
    settlement_currency: null,
    payment_intent: paymentIntent,
    charge,
    refund: null,
    dispute: null,
    invoice: null,
    checkout_session: null,
    payout: null,
    subscription: null,
    balance_transaction: null,
    payment_method_type: state.payment_method_type ?? null,
    reason: null,
    failure: null,
    risk_level: state.risk_level ?? null,
    arrival_date: null,
  };
  if (status === 'paid') record.amount = state.amount_paid ?? null;
  else if (status === 'authorized') record.amount = state.amount_requested ?? null;
  else if (status === 'partially_refunded' || status === 'refunded') record.amount_refunded = state.amount_refunded ?? null;
  else if (status === 'disputed' || status === 'dispute_lost' || status === 'dispute_prevented' || status === 'dispute_won') {
    const dispute = latestDispute(state);
    if (dispute) {
      record.dispute = dispute.id;
      record.reason = dispute.reason ?? null;
      if (nonEmpty(dispute.currency) && Number.isSafeInteger(dispute.amount_minor)) {
        try {
          record.amount = fromMinorUnits(dispute.amount_minor, dispute.currency);
          record.currency = dispute.currency;
        } catch {
          // An amount that does not format: the note goes without it.
        }
      }
    }
  }
  return record;
}

/**
 * Applies one state forward `{ order_ref, sequence, event_ids, state, mapping? }`. Returns
 * `{ result, orderId?, sequence?, appliedSequence?, plan?, reason? }` where result is `applied`,
 * `duplicate` (a new sequence of the state already stored: only the sequence is kept), `stale`
 * (a sequence not higher than the last applied one: nothing changes), `unknown_order`,
 * `invalid_forward` (a malformed body) or `invalid_state` (a state this version cannot read).
 * Throws on database errors.
 */
export async function applyStateForward(pool, forward, { storeCurrency }) {
  const problem = forwardProblem(forward);
  if (problem) return { result: 'invalid_forward', reason: problem };
  let after;
  try {
    // The Worker's truth, read (and so validated) as this version's state.
    after = upgradeOrderState(forward.state);
  } catch (e) {
    return { result: 'invalid_state', reason: e.message };
  }
  const { sequence } = forward;
  return inTransaction(pool, async (client) => {
    const row = await lockOrderByRef(client, forward.order_ref);
    if (!row) return { commit: false, result: 'unknown_order', sequence };
    const saved = await client.query('SELECT "State", "Sequence" FROM "StripeBridgeOrderState" WHERE "OrderId" = $1 FOR UPDATE', [row.Id]);
    const stored = saved.rows[0];
    // bigint arrives as text.
    const applied = stored?.Sequence == null ? null : Number(stored.Sequence);
    if (applied !== null && sequence <= applied) {
      return { commit: false, result: 'stale', orderId: row.Id, sequence, appliedSequence: applied };
    }
    let before = null;
    if (stored) {
      try {
        before = upgradeOrderState(stored.State);
      } catch {
        // A stored state this version cannot read is replaced by the forwarded one, which is
        // complete (the plan reads the order row, not the old state).
      }
    }
    if (before && canonical(before) === canonical(after)) {
      // The same state (its records were applied already): keep the sequence, no note.
      await writeState(client, row.Id, after, sequence);
      return { commit: true, result: 'duplicate', orderId: row.Id, sequence };
    }
    const plan = planNopCommerceUpdate(nopOrder(row, storeCurrency), after, stateNoteRecord(forward, after));
    await writePlan(client, row.Id, plan, after, sequence);
    return { commit: true, result: 'applied', orderId: row.Id, sequence, plan };
  });
}

/** HTTP status of each outcome: only what was applied, or needs nothing, is acknowledged. */
const STATUS = {
  applied: 200,
  duplicate: 200,
  stale: 200,
  ignored: 200,
  invalid_forward: 400,
  invalid_record: 400,
  unknown_order: 409,
  refused: 422,
  unreadable: 422,
  invalid_state: 422,
};

function reply(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

/** Reads a request body up to `limit` bytes; null (413 sent, connection closed) when it is larger. */
function readBody(req, res, limit) {
  return new Promise((resolve, reject) => {
    const tooLarge = () => {
      res.writeHead(413, { 'content-type': 'application/json', connection: 'close' }).end(JSON.stringify({ result: 'too_large', limit }));
      resolve(null);
    };
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) {
      tooLarge();
      return;
    }
    const chunks = [];
    let size = 0;
    const onData = (chunk) => {
      size += chunk.length;
      if (size > limit) {
        // Stop keeping it; what still arrives is discarded until the connection closes.
        req.off('data', onData);
        chunks.length = 0;
        req.resume();
        tooLarge();
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.on('end', () => {
      if (size <= limit) resolve(Buffer.concat(chunks));
    });
    req.on('error', reject);
  });
}

/**
 * The HTTP service: POST a forward (Standard Webhooks signed with `secret`), a state forward or
 * a record (see the top of this file for the answers).
 */
export function createProxy({ pool, secret, storeCurrency, maxBodyBytes = MAX_BODY_BYTES, log = () => {} }) {
  return createServer(async (req, res) => {
    if (req.method !== 'POST') {
      res.writeHead(405, { allow: 'POST' }).end();
      return;
    }
    let body;
    try {
      body = await readBody(req, res, maxBodyBytes);
    } catch {
      if (!res.headersSent) reply(res, 400, { result: 'bad_request' });
      return;
    }
    const webhookId = req.headers['webhook-id'] ?? null;
    if (body === null) {
      log({ outcome: 'too_large', webhook_id: webhookId });
      return;
    }
    let payload;
    try {
      payload = verifyStandardWebhook(body, req.headers, secret);
    } catch (e) {
      log({ outcome: 'bad_signature', webhook_id: webhookId, code: e.code });
      reply(res, 400, { result: 'bad_signature', code: e.code });
      return;
    }
    const kind = isStateForward(payload) ? 'state' : 'record';
    try {
      let outcome;
      if (kind === 'state') {
        outcome = await applyStateForward(pool, payload, { storeCurrency });
      } else if (payload !== null && typeof payload === 'object' && nonEmpty(payload.event_id) && nonEmpty(payload.status)) {
        outcome = await applyRecord(pool, payload, { storeCurrency });
      } else {
        // E.g. a profile's mapping (the Worker's TARGET_PROFILE must be `record` with FORWARD=events).
        outcome = { result: 'invalid_record', reason: 'neither a state forward nor a normalized record' };
      }
      const status = STATUS[outcome.result] ?? 500;
      log({
        outcome: outcome.result,
        kind,
        webhook_id: webhookId,
        ...(kind === 'state' ? { order_ref: payload.order_ref ?? null, sequence: payload.sequence ?? null } : { event_id: payload?.event_id ?? null }),
        order_id: outcome.orderId ?? null,
        ...(outcome.reason ? { reason: outcome.reason } : {}),
      });
      reply(res, status, {
        result: outcome.result,
        order_id: outcome.orderId ?? null,
        ...(kind === 'state' && outcome.sequence !== undefined ? { sequence: outcome.sequence } : {}),
        ...(outcome.appliedSequence !== undefined ? { applied_sequence: outcome.appliedSequence } : {}),
        ...(outcome.reason ? { reason: outcome.reason } : {}),
      });
    } catch (e) {
      log({ outcome: 'error', kind, webhook_id: webhookId, error: e.message });
      reply(res, 500, { result: 'error' });
    }
  });
}
