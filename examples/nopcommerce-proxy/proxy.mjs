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
// And the payout forwards (told apart by `type`), with TARGET_PROFILE=nopcommerce:
//
//   - `payout.reconciliation` parts (webhook id `<payout>.<part>`): acknowledged and logged.
//   - `payout.mapping` (webhook id `<payout>.mapping.<chunk>`): `{ type, payout_id, chunk: 1,
//     chunks: 1, mapping }`, or, for a mapping over 96,000 bytes, `chunks` messages with `text`
//     pieces of its JSON. Chunks are kept ("StripeBridgePayoutChunk") until all are in; then, in
//     the same transaction, each note of the mapping becomes one "OrderNote" of the order its
//     `order_id` names (found as an `order_ref` is), once per payout and order
//     ("StripeBridgePayoutNote"). Orders that do not exist are skipped and listed in the answer.
//     See applyPayoutMapping.
//
// Answers: 200 applied / duplicate / stale / ignored (payouts, customers and other records that
// concern no order; payout reconciliation parts); 202 stored (a payout mapping chunk, waiting
// for the others); 400 bad signature or a body that is none of these kinds; 405 not a POST; 409 no
// such order (yet: the Worker's queue retries); 413 body over `maxBodyBytes` (256 KB by
// default); 422 a record or state that cannot be applied (unreadable record, state this version
// cannot read, a merge the state refuses, a payout mapping that is not a nopCommerce mapping of
// its payout: retried, then kept in the Worker's dead letters);
// 500 database or other errors (retried). Nothing is acknowledged unless it was applied or
// there was nothing to apply.
//
// The shop's side (refunds for approved return requests, cancelled orders' authorizations and
// payments) is in actions.mjs, re-exported here.
import { createServer } from 'node:http';
import { fromMinorUnits, statusConcern, verifyStandardWebhook } from 'stripe-bridge';
import { mergeOrderState, planNopCommerceUpdate, upgradeOrderState } from 'stripe-bridge/targets';

export {
  RETURN_REQUEST_STATUS,
  cancellationAction,
  mainAttempt,
  processCancelledOrders,
  processReturns,
  processShopActions,
  refundAmount,
  shopActionOptions,
  startShopActions,
} from './actions.mjs';

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
  const id = orderIdOf(ref);
  if (id !== null) lookups.push(['"Id" = $1', id]);
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

/** The order id an order reference can be (decimal digits, an integer column), or null. */
function orderIdOf(ref) {
  return /^\d{1,10}$/.test(ref) && Number(ref) <= 2147483647 ? Number(ref) : null;
}

/**
 * The orders many references name, found as lockOrderByRef finds one (by Id, else by OrderGuid,
 * else by CustomOrderNumber; the lowest Id of several; never deleted orders) but in at most two
 * queries, not locked: a Map from each reference found to its order's Id. (The custom order
 * numbers of the references not found otherwise are matched in one join: where no index covers
 * "CustomOrderNumber", a lookup per reference would make a payout of a thousand orders a
 * thousand scans of "Order".)
 */
async function orderIdsByRefs(client, refs) {
  const found = new Map();
  const unique = [...new Set(refs.filter(nonEmpty))];
  const byId = unique.filter((r) => orderIdOf(r) !== null);
  const byGuid = unique.filter((r) => orderGuid(r) !== null);
  const parts = [];
  const values = [];
  if (byId.length) {
    values.push(byId, byId.map(orderIdOf));
    parts.push(`SELECT r.ref, min(o."Id") AS "Id" FROM unnest($${values.length - 1}::text[], $${values.length}::int[]) AS r(ref, id)
      JOIN "Order" o ON o."Id" = r.id WHERE NOT o."Deleted" GROUP BY r.ref`);
  }
  if (byGuid.length) {
    values.push(byGuid, byGuid.map(orderGuid));
    parts.push(`SELECT r.ref, min(o."Id") AS "Id" FROM unnest($${values.length - 1}::text[], $${values.length}::uuid[]) AS r(ref, guid)
      JOIN "Order" o ON o."OrderGuid" = r.guid WHERE NOT o."Deleted" GROUP BY r.ref`);
  }
  if (parts.length) {
    // (No reference is both: a GUID has 32 hex digits, an id at most 10 digits.)
    const { rows } = await client.query(parts.join(' UNION ALL '), values);
    for (const row of rows) found.set(row.ref, row.Id);
  }
  const rest = unique.filter((r) => !found.has(r));
  if (rest.length) {
    const { rows } = await client.query(
      `SELECT r.ref, min(o."Id") AS "Id" FROM unnest($1::text[]) AS r(ref)
       JOIN "Order" o ON o."CustomOrderNumber" = r.ref::citext WHERE NOT o."Deleted" GROUP BY r.ref`,
      [rest],
    );
    for (const row of rows) found.set(row.ref, row.Id);
  }
  return found;
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
  // A note the order already has is not written again: a state that stays failed over several
  // changes (charge.failed, then payment_intent.payment_failed) says "Payment failed" once.
  for (const note of plan.notes) {
    await client.query(
      `INSERT INTO "OrderNote" ("OrderId", "Note", "DownloadId", "DisplayToCustomer", "CreatedOnUtc")
       SELECT $1, $2::text, 0, false, now() at time zone 'utc'
       WHERE NOT EXISTS (SELECT 1 FROM "OrderNote" WHERE "OrderId" = $1 AND "Note" = $2::text)`,
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

// ---------------------------------------------------------------------------------------------
// Payouts (TARGET_PROFILE=nopcommerce): the Worker forwards each reconciled payout in parts
// (`payout.reconciliation`, acknowledged and logged only) and then its mapping
// (`payout.mapping`): one internal order note per order settled in the payout. A mapping over
// the Worker's inline limit comes as `chunks` messages of `text` that, joined in chunk order, are
// the mapping's JSON; chunks arrive in any order and more than once, so they are kept in
// "StripeBridgePayoutChunk" until the set is complete. Each note is written once per payout and
// order ("StripeBridgePayoutNote"), however often the mapping is delivered or the payout
// reconciled again.
// ---------------------------------------------------------------------------------------------

/** Most chunks a mapping may announce (each at most ~96 KB of text: ~96 MB in all). */
export const MAX_PAYOUT_CHUNKS = 1000;
/** Unknown order references listed in an answer or a log line (all are counted). */
const MAX_LISTED_REFS = 100;

const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
/** PostgreSQL text cannot hold NUL. */
const storable = (s) => typeof s === 'string' && !s.includes('\u0000');

/** Whether a verified body is one of the Worker's payout forwards (`type` payout.mapping / payout.reconciliation). */
export function payoutKind(body) {
  if (!isObject(body) || isStateForward(body)) return null;
  if (body.type === 'payout.mapping') return 'payout_mapping';
  if (body.type === 'payout.reconciliation') return 'payout_reconciliation';
  return null;
}

/** Why a `payout.mapping` message is malformed, or null. */
function payoutMessageProblem(m) {
  if (!nonEmpty(m.payout_id) || m.payout_id.length > 255 || !storable(m.payout_id)) return 'payout_id must be a non-empty string';
  if (!Number.isSafeInteger(m.chunks) || m.chunks < 1 || m.chunks > MAX_PAYOUT_CHUNKS) return `chunks must be an integer from 1 to ${MAX_PAYOUT_CHUNKS}`;
  if (!Number.isSafeInteger(m.chunk) || m.chunk < 1 || m.chunk > m.chunks) return 'chunk must be an integer from 1 to chunks';
  const inline = 'mapping' in m;
  if (inline === 'text' in m) return 'exactly one of mapping and text';
  if (inline && m.chunks !== 1) return 'an inline mapping is chunk 1 of 1';
  if (inline && !isObject(m.mapping)) return 'mapping must be an object';
  if (!inline && !storable(m.text)) return 'text must be a string (without NUL)';
  return null;
}

/**
 * The notes of a nopCommerce payout mapping (`{ profile: "nopcommerce", payout_id, arrival_date,
 * notes: [{ order_id, order_note, display_to_customer }] }`), or `{ problem }`.
 */
export function payoutNotes(mapping, payoutId) {
  if (!isObject(mapping)) return { problem: 'the mapping is not a JSON object' };
  if (mapping.profile !== 'nopcommerce') return { problem: `a mapping for profile ${JSON.stringify(mapping.profile ?? null)}, not nopcommerce (TARGET_PROFILE)` };
  if (mapping.payout_id !== payoutId) return { problem: `the mapping is for payout ${JSON.stringify(mapping.payout_id ?? null)}, the message for ${payoutId}` };
  if (!Array.isArray(mapping.notes)) return { problem: 'notes must be a list' };
  for (const [i, n] of mapping.notes.entries()) {
    if (!isObject(n) || !nonEmpty(n.order_id) || !storable(n.order_id) || !nonEmpty(n.order_note) || !storable(n.order_note)) {
      return { problem: `note ${i + 1} needs an order_id and an order_note (non-empty strings)` };
    }
    if (n.display_to_customer !== undefined && typeof n.display_to_customer !== 'boolean') {
      return { problem: `note ${i + 1}: display_to_customer must be a boolean` };
    }
  }
  return { notes: mapping.notes };
}

/**
 * Writes a payout's notes in the caller's transaction: each note's order found as state
 * forwards find theirs (orderIdsByRefs), notes of one order (two references naming it) joined
 * into one, and an "OrderNote" inserted for each order this payout has not noted yet. Returns
 * `{ notesAdded, notesPresent, unknownOrders }` (the references no order has).
 */
async function writePayoutNotes(client, payoutId, notes) {
  const byOrder = new Map();
  const unknownOrders = [];
  const resolved = await orderIdsByRefs(client, notes.map((n) => n.order_id));
  for (const note of notes) {
    const orderId = resolved.get(note.order_id) ?? null;
    if (orderId === null) {
      unknownOrders.push(note.order_id);
      continue;
    }
    const seen = byOrder.get(orderId);
    if (seen) {
      seen.text.push(note.order_note);
      seen.display &&= note.display_to_customer === true;
    } else {
      byOrder.set(orderId, { text: [note.order_note], display: note.display_to_customer === true });
    }
  }
  if (!byOrder.size) return { notesAdded: 0, notesPresent: 0, unknownOrders };
  // Claim (payout, order) first: an order claimed before (an earlier delivery or reconciliation)
  // gets no second note.
  const { rows: claimed } = await client.query(
    `INSERT INTO "StripeBridgePayoutNote" ("PayoutId", "OrderId", "CreatedOnUtc")
     SELECT $1, o, now() at time zone 'utc' FROM unnest($2::int[]) AS o
     ON CONFLICT ("PayoutId", "OrderId") DO NOTHING RETURNING "OrderId"`,
    [payoutId, [...byOrder.keys()]],
  );
  const fresh = new Set(claimed.map((r) => r.OrderId));
  const add = [...byOrder].filter(([orderId]) => fresh.has(orderId));
  if (add.length) {
    // In the mapping's order; each note's id kept with its claim.
    await client.query(
      `WITH n AS (
         INSERT INTO "OrderNote" ("OrderId", "Note", "DownloadId", "DisplayToCustomer", "CreatedOnUtc")
         SELECT o, t, 0, d, now() at time zone 'utc' FROM unnest($2::int[], $3::text[], $4::boolean[]) WITH ORDINALITY AS v(o, t, d, i) ORDER BY i
         RETURNING "Id", "OrderId")
       UPDATE "StripeBridgePayoutNote" p SET "OrderNoteId" = n."Id" FROM n WHERE p."PayoutId" = $1 AND p."OrderId" = n."OrderId"`,
      [payoutId, add.map(([o]) => o), add.map(([, v]) => v.text.join('\n')), add.map(([, v]) => v.display)],
    );
  }
  return { notesAdded: add.length, notesPresent: byOrder.size - add.length, unknownOrders };
}

/** Serializes the transactions of one payout (its chunks, its notes) until commit. */
async function lockPayout(client, payoutId) {
  await client.query(`SELECT pg_advisory_xact_lock(hashtextextended('stripe-bridge payout ' || $1, 0))`, [payoutId]);
}

/**
 * Applies one `payout.mapping` message. Returns `{ result, payoutId, chunk, chunks, received?,
 * notesAdded?, notesPresent?, unknownOrders?, reason? }` where result is `applied` (the mapping
 * was complete: its new notes written, possibly none), `duplicate` (complete, nothing new:
 * every order of it that exists already has its note for this payout), `stored` (a chunk kept
 * until the others arrive), `invalid_payout_mapping` (a malformed message) or `invalid_mapping`
 * (a complete mapping that
 * does not read as a nopCommerce mapping for this payout; the chunk is kept, in case a chunk of
 * another reconciliation of the payout is what spoils the set, until its own arrives). Unknown
 * orders are skipped (and listed): answering 2xx, the Worker does not retry the whole payout for
 * an order that may never exist; a delivery after the order exists adds its note. Throws on
 * database errors.
 */
export async function applyPayoutMapping(pool, message) {
  const problem = payoutMessageProblem(message);
  const { payout_id: payoutId, chunk, chunks } = message;
  const base = { payoutId: nonEmpty(payoutId) ? payoutId : null, chunk: chunk ?? null, chunks: chunks ?? null };
  if (problem) return { ...base, result: 'invalid_payout_mapping', reason: problem };
  const apply = async (client, mapping) => {
    const { notes, problem: invalid } = payoutNotes(mapping, payoutId);
    if (invalid) return { result: 'invalid_mapping', reason: invalid };
    const written = await writePayoutNotes(client, payoutId, notes);
    const result = written.notesAdded === 0 && written.notesPresent > 0 ? 'duplicate' : 'applied';
    return { result, ...written };
  };
  if ('mapping' in message) {
    return inTransaction(pool, async (client) => {
      await lockPayout(client, payoutId);
      const outcome = await apply(client, message.mapping);
      return { commit: outcome.result !== 'invalid_mapping', ...base, ...outcome };
    });
  }
  return inTransaction(pool, async (client) => {
    await lockPayout(client, payoutId);
    // The newest copy of a chunk wins: a delivery again brings the same text, a later
    // reconciliation of the payout its own.
    await client.query(
      `INSERT INTO "StripeBridgePayoutChunk" ("PayoutId", "Chunk", "Chunks", "Text", "ReceivedOnUtc") VALUES ($1, $2, $3, $4, now() at time zone 'utc')
       ON CONFLICT ("PayoutId", "Chunk") DO UPDATE SET "Chunks" = EXCLUDED."Chunks", "Text" = EXCLUDED."Text", "ReceivedOnUtc" = EXCLUDED."ReceivedOnUtc"`,
      [payoutId, chunk, chunks, message.text],
    );
    const { rows } = await client.query(
      `SELECT "Text" FROM "StripeBridgePayoutChunk" WHERE "PayoutId" = $1 AND "Chunks" = $2 ORDER BY "Chunk"`,
      [payoutId, chunks],
    );
    if (rows.length < chunks) return { commit: true, ...base, result: 'stored', received: rows.length };
    let mapping;
    try {
      mapping = JSON.parse(rows.map((r) => r.Text).join(''));
    } catch (e) {
      return { commit: true, ...base, result: 'invalid_mapping', received: rows.length, reason: `the joined chunks are not JSON (${e.message})` };
    }
    const outcome = await apply(client, mapping);
    if (outcome.result !== 'invalid_mapping') {
      // Chunks another reconciliation announced in another count can never complete a set now.
      await client.query(`DELETE FROM "StripeBridgePayoutChunk" WHERE "PayoutId" = $1 AND "Chunks" <> $2`, [payoutId, chunks]);
    }
    return { commit: true, ...base, received: rows.length, ...outcome };
  });
}

/** A `payout.reconciliation` part: acknowledged (nothing to write), summarized for the log. */
export function payoutReconciliationPart(body) {
  const summary = isObject(body.summary) ? body.summary : {};
  return {
    result: 'ignored',
    payoutId: nonEmpty(body.payout_id) ? body.payout_id : null,
    part: Number.isSafeInteger(body.part) ? body.part : null,
    parts: Number.isSafeInteger(body.parts) ? body.parts : null,
    balanced: typeof summary.balanced === 'boolean' ? summary.balanced : null,
  };
}

/** The answer (and log fields) of a payout forward's outcome. */
function payoutFields(outcome) {
  const fields = { payout_id: outcome.payoutId ?? null };
  for (const [key, name] of [['part', 'part'], ['parts', 'parts'], ['balanced', 'balanced'], ['chunk', 'chunk'], ['chunks', 'chunks'],
    ['received', 'received'], ['notesAdded', 'notes_added'], ['notesPresent', 'notes_present']]) {
    if (outcome[key] !== undefined) fields[name] = outcome[key];
  }
  if (outcome.unknownOrders) {
    fields.unknown_orders = outcome.unknownOrders.length;
    if (outcome.unknownOrders.length) fields.unknown_order_refs = outcome.unknownOrders.slice(0, MAX_LISTED_REFS);
  }
  if (outcome.reason) fields.reason = outcome.reason;
  return fields;
}

/** HTTP status of each outcome: only what was applied, or needs nothing, is acknowledged. */
const STATUS = {
  applied: 200,
  duplicate: 200,
  stale: 200,
  ignored: 200,
  stored: 202,
  invalid_forward: 400,
  invalid_payout_mapping: 400,
  invalid_record: 400,
  unknown_order: 409,
  refused: 422,
  unreadable: 422,
  invalid_state: 422,
  invalid_mapping: 422,
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
 * The HTTP service: POST a forward (Standard Webhooks signed with `secret`), a state forward, a
 * record or a payout forward (see the top of this file for the answers).
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
    const payoutForward = payoutKind(payload);
    if (payoutForward) {
      try {
        const outcome = payoutForward === 'payout_mapping' ? await applyPayoutMapping(pool, payload) : payoutReconciliationPart(payload);
        const fields = payoutFields(outcome);
        log({ outcome: outcome.result, kind: payoutForward, webhook_id: webhookId, ...fields });
        reply(res, STATUS[outcome.result] ?? 500, { result: outcome.result, ...fields });
      } catch (e) {
        log({ outcome: 'error', kind: payoutForward, webhook_id: webhookId, payout_id: payload.payout_id ?? null, error: e.message });
        reply(res, 500, { result: 'error' });
      }
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
