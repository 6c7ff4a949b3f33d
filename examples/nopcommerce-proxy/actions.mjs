// The shop's side: what nopCommerce decides and never pays back itself, asked of the stripe-bridge
// Worker (POST /refunds, POST /payments/{pi}/cancel; bearer SHOP_API_TOKEN), each exactly once.
//
//   - Return requests: a "ReturnRequest" in the approved status (ReturnAuthorized = 20 unless
//     configured) asks for one refund of OrderItem.UnitPriceInclTax x ReturnRequest.Quantity
//     (primary store currency), converted to the order's customer currency with
//     Order.CurrencyRate and rounded half to even to that currency's decimals, as the nopCommerce
//     plan converts the order total (or to the multiple Stripe takes: KWD 10 fils, ISK whole
//     krónur; refundAmount). return_id "rr_<Id>".
//   - Cancelled orders (OrderStatusId 40) whose stored Stripe state ("StripeBridgeOrderState")
//     holds money: an authorization (the main attempt `authorized`) is canceled; captured money
//     is refunded in full (all that remains; return_id "cancel_<OrderId>").
//
// Exactly once: each action gets its row ("StripeBridgeReturnRefund", "StripeBridgeOrderCancel";
// the primary key is the return request / order) holding the request body, written before
// anything is sent; every retry sends that body again, so the Worker's idempotency key (per
// order, return id, payment and amount) makes Stripe act once even when an answer was lost. A
// sender locks the row (FOR UPDATE SKIP LOCKED) from the request until the answer is recorded,
// in one transaction with the order note: two proxies never send the same action at once, and a
// proxy that stops in between leaves the row due (sent again, the Worker answers with the same
// refund). Answers: 2xx created (note "Stripe refund re_… of 12.34 EUR requested for return
// request #N"); 400, 422 and 404 unknown_order refused (note "… refused: <message>", never
// retried); anything else (5xx, network errors, timeouts, 401, 429, ...) failed, retried at
// "NextAttemptOnUtc" (retryDelayMs doubling per attempt, at most maxRetryDelayMs).
//
// Driven by processShopActions (processReturns + processCancelledOrders), which the poll loop
// (startShopActions, server.mjs: RETURNS_POLL_MS) runs; tests call them directly.
import { currencyExponent, fromMinorUnits, toMinorUnits } from 'stripe-bridge';
import { NOP_ORDER_STATUS, upgradeOrderState } from 'stripe-bridge/targets';

/** nopCommerce's ReturnRequestStatus. */
export const RETURN_REQUEST_STATUS = Object.freeze({
  Pending: 0,
  Received: 10,
  ReturnAuthorized: 20,
  ItemsRepaired: 30,
  ItemsRefunded: 40,
  RequestRejected: 50,
  Cancelled: 60,
});

/** The reason every refund and cancellation the proxy asks for gives Stripe. */
const REASON = 'requested_by_customer';
const nonEmpty = (s) => typeof s === 'string' && s !== '';
const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
const NOW = `(now() at time zone 'utc')`;

// ---------------------------------------------------------------------------------------------
// Amounts
// ---------------------------------------------------------------------------------------------

/** A decimal text ("19.9900", "-1", "0.9") as an integer and its scale, exactly. */
function parseDecimal(text) {
  const m = /^([+-]?)(\d+)(?:\.(\d*))?$/.exec(String(text).trim());
  if (!m) throw new RangeError(`not a decimal number: ${JSON.stringify(text)}`);
  const fraction = m[3] ?? '';
  const digits = BigInt(m[2] + fraction);
  return { value: m[1] === '-' ? -digits : digits, scale: fraction.length };
}

/** `value / 10^scale` rounded half to even to `exponent` decimals, as an integer of 10^-exponent. */
function roundHalfEven(value, scale, exponent) {
  if (scale <= exponent) return value * 10n ** BigInt(exponent - scale);
  const divisor = 10n ** BigInt(scale - exponent);
  const negative = value < 0n;
  const magnitude = negative ? -value : value;
  let quotient = magnitude / divisor;
  const twice = (magnitude % divisor) * 2n;
  if (twice > divisor || (twice === divisor && quotient % 2n === 1n)) quotient += 1n;
  return negative ? -quotient : quotient;
}

const multiples = new Map();

/**
 * How many minor units Stripe takes an amount of `currency` in (1; 10 for the three-decimal
 * currencies; 100 for ISK and UGX), as stripe-bridge's money rules say: the smallest multiple
 * toMinorUnits accepts (the Worker checks refund amounts with the same rules).
 */
function chargeMultiple(currency) {
  let multiple = multiples.get(currency);
  if (multiple === undefined) {
    multiple = [1, 10, 100, 1000].find((m) => {
      try {
        toMinorUnits(fromMinorUnits(m, currency), currency);
        return true;
      } catch {
        return false;
      }
    });
    if (multiple === undefined) throw new RangeError(`no amount of ${currency} is accepted`);
    multiples.set(currency, multiple);
  }
  return multiple;
}

/**
 * What a return of `quantity` items at `unitPrice` (OrderItem.UnitPriceInclTax, primary store
 * currency) is worth in the currency Stripe charged, the way the nopCommerce plan
 * (planNopCommerceUpdate) reads an order: in `customerCurrency` at `rate` (Order.CurrencyRate)
 * when the order has a customer currency other than the primary one and a non-zero rate, else in
 * `storeCurrency`; exact, rounded once, half to even (.NET's Math.Round), to the currency's
 * decimals (currencyExponent), or, where Stripe takes only multiples of its minor unit (KWD and
 * the other three-decimal currencies: 10; ISK, UGX: 100), to that multiple, which is what the
 * Worker accepts. Returns `{ amount, amountMinor, currency }` (amount as fromMinorUnits writes
 * it: "12.34", JPY "500", KWD "1.230"). Throws on an unknown currency or an unreadable number.
 */
export function refundAmount({ unitPrice, quantity, storeCurrency, customerCurrency = null, rate = null }) {
  if (!Number.isSafeInteger(quantity)) throw new RangeError(`quantity must be an integer, not ${JSON.stringify(quantity)}`);
  const customer = nonEmpty(customerCurrency) ? customerCurrency.trim() : null;
  const rated = rate === null || rate === undefined ? null : parseDecimal(rate);
  const converted = customer !== null && customer.toUpperCase() !== String(storeCurrency ?? '').toUpperCase() && rated !== null && rated.value !== 0n;
  const code = converted ? customer : storeCurrency;
  if (!nonEmpty(code)) throw new RangeError('the order has no currency (set the store currency)');
  const currency = code.toUpperCase();
  const exponent = currencyExponent(currency);
  const unit = parseDecimal(unitPrice);
  const factor = converted ? rated : { value: 1n, scale: 0 };
  const multiple = BigInt(chargeMultiple(currency));
  // Rounded to units of `multiple` minor units: one rounding, never two.
  const units = roundHalfEven(unit.value * BigInt(quantity) * factor.value, unit.scale + factor.scale + String(multiple).length - 1, exponent);
  const minor = units * multiple;
  return { amount: fromMinorUnits(minor, currency), amountMinor: minor, currency };
}

/** A minor amount as "12.34 EUR" (the minor units and the code if the currency is unknown). */
function money(minor, currency) {
  try {
    return `${fromMinorUnits(minor, currency)} ${currency.toUpperCase()}`;
  } catch {
    return `${minor} (minor units) ${currency}`;
  }
}

// ---------------------------------------------------------------------------------------------
// Order states
// ---------------------------------------------------------------------------------------------

/**
 * The attempt that speaks for an order, as stripe-bridge's core picks it (OrderState::
 * main_attempt): the first that took money, else the first holding an authorization, else the
 * most recently updated.
 */
export function mainAttempt(state) {
  const attempts = Array.isArray(state?.attempts) ? state.attempts.filter(isObject) : [];
  return (
    attempts.find((a) => a.amount_captured_minor > 0) ??
    attempts.find((a) => a.status === 'authorized') ??
    attempts.reduce((best, a) => (best === null || a.updated_at > best.updated_at || (a.updated_at === best.updated_at && a.id < best.id) ? a : best), null)
  );
}

/** The PaymentIntent of an attempt: its id, else the PaymentIntent among its objects. */
function paymentIntentOf(state, attempt) {
  if (nonEmpty(attempt.id) && attempt.id.startsWith('pi_')) return attempt.id;
  const objects = Array.isArray(attempt.objects) ? attempt.objects.filter(nonEmpty) : [];
  return objects.find((id) => state.objects?.[id]?.object === 'payment_intent') ?? objects.find((id) => id.startsWith('pi_')) ?? null;
}

/**
 * What a cancelled order's (v2) state asks for: `{ action: 'refund', currency }` when the main
 * attempt captured and the order has not given all it took back, `{ action: 'cancel', paymentIntent,
 * amountMinor, currency }` when the main attempt holds an authorization, else null.
 */
export function cancellationAction(state) {
  const main = mainAttempt(state);
  if (!main) return null;
  const currency = nonEmpty(main.currency) ? main.currency.toUpperCase() : nonEmpty(state.currency) ? state.currency.toUpperCase() : null;
  if (main.amount_captured_minor > 0) {
    // What the order took and has not given back (refunds, each counted once whether known one by
    // one or from the charge's own figure; disputes lost or prevented), in that currency.
    const totals = isObject(state.totals) ? state.totals : {};
    const left = (t) => isObject(t) && t.paid_minor > (t.returned_minor ?? 0);
    const refundable = currency ? left(totals[currency]) : Object.values(totals).some(left);
    return refundable ? { action: 'refund', currency } : null;
  }
  if (main.status === 'authorized') {
    return { action: 'cancel', paymentIntent: paymentIntentOf(state, main), amountMinor: main.amount_minor ?? null, currency };
  }
  return null;
}

// ---------------------------------------------------------------------------------------------
// Options
// ---------------------------------------------------------------------------------------------

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/**
 * The options every function here takes, checked and with defaults: `{ workerUrl, token,
 * storeCurrency, approvedStatus = 20, setRefunded = false, since = null, retryDelayMs = 30000,
 * maxRetryDelayMs = 3600000, timeoutMs = 30000, batch = 100, log, fetch }`. The Worker's URL must
 * be https (http only on loopback: the token goes with every request).
 */
export function shopActionOptions(options = {}) {
  const {
    workerUrl,
    token,
    storeCurrency,
    approvedStatus = RETURN_REQUEST_STATUS.ReturnAuthorized,
    setRefunded = false,
    since = null,
    retryDelayMs = 30_000,
    maxRetryDelayMs = 3_600_000,
    timeoutMs = 30_000,
    batch = 100,
    log = () => {},
    fetch: fetchFn = globalThis.fetch,
  } = options;
  let base;
  try {
    base = new URL(workerUrl);
  } catch {
    throw new TypeError('workerUrl (WORKER_URL) must be the Worker\'s URL');
  }
  if (!(base.protocol === 'https:' || (base.protocol === 'http:' && LOOPBACK.has(base.hostname)))) {
    throw new TypeError('workerUrl (WORKER_URL) must be https (http only on 127.0.0.1/localhost)');
  }
  if (!base.pathname.endsWith('/')) base.pathname += '/';
  base.search = '';
  base.hash = '';
  if (!nonEmpty(token)) throw new TypeError('token (SHOP_API_TOKEN) must be set');
  if (!nonEmpty(storeCurrency)) throw new TypeError('storeCurrency (STORE_CURRENCY) must be set');
  if (!Object.values(RETURN_REQUEST_STATUS).includes(approvedStatus)) {
    throw new TypeError(`approvedStatus (RETURN_APPROVED_STATUS) must be a ReturnRequestStatus: ${Object.entries(RETURN_REQUEST_STATUS).map(([k, v]) => `${v} ${k}`).join(', ')}`);
  }
  let sinceUtc = null;
  if (since !== null && since !== undefined && since !== '') {
    const date = since instanceof Date ? since : new Date(since);
    if (Number.isNaN(date.getTime())) throw new TypeError('since (ACTIONS_SINCE) must be an ISO 8601 time');
    sinceUtc = date.toISOString().replace('Z', '');
  }
  for (const [name, value] of Object.entries({ retryDelayMs, maxRetryDelayMs, timeoutMs, batch })) {
    if (!Number.isSafeInteger(value) || value < 0 || (value === 0 && (name === 'timeoutMs' || name === 'batch'))) {
      throw new TypeError(`${name} must be a ${name === 'timeoutMs' || name === 'batch' ? 'positive' : 'non-negative'} integer`);
    }
  }
  return {
    base,
    token,
    storeCurrency: storeCurrency.toUpperCase(),
    approvedStatus,
    setRefunded: setRefunded === true,
    since: sinceUtc,
    retryDelayMs,
    maxRetryDelayMs,
    timeoutMs,
    batch,
    log,
    fetch: fetchFn,
  };
}

// ---------------------------------------------------------------------------------------------
// The Worker
// ---------------------------------------------------------------------------------------------

/** The message of a refusal answer (`error.message`, Stripe's message, the result). */
function refusalMessage(status, answer) {
  if (isObject(answer?.error) && nonEmpty(answer.error.message)) return answer.error.message;
  const stripe = isObject(answer?.stripe) ? (isObject(answer.stripe.error) ? answer.stripe.error : answer.stripe) : null;
  if (stripe && nonEmpty(stripe.message)) return `Stripe: ${stripe.message}`;
  if (answer?.result === 'unknown_order') return 'the Worker has no Stripe payment for this order (unknown_order)';
  return `HTTP ${status}${nonEmpty(answer?.result) ? ` ${answer.result}` : ''}`;
}

/**
 * POSTs `body` to the Worker's `path`: `{ outcome: 'created' | 'refused' | 'failed', status,
 * answer, message }`. Only 2xx is done; 400, 422 and 404 unknown_order are refusals (asking
 * again gets the same answer); everything else may work later (Stripe or the Worker down, rate
 * limits, a token being rotated, a route not deployed yet).
 */
async function callWorker(o, path, body) {
  let res;
  let text;
  try {
    res = await o.fetch(new URL(path.replace(/^\/+/, ''), o.base), {
      method: 'POST',
      headers: { authorization: `Bearer ${o.token}`, 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(o.timeoutMs),
    });
    text = await res.text();
  } catch (e) {
    const cause = e?.cause?.code ?? e?.cause?.message;
    return { outcome: 'failed', status: res?.status ?? null, answer: null, message: `${e?.name === 'TimeoutError' ? 'timeout' : 'network error'}: ${e?.message}${cause ? ` (${cause})` : ''}` };
  }
  let answer = null;
  try {
    answer = JSON.parse(text);
  } catch {
    // Not JSON (a proxy's error page): the status decides.
  }
  const { status } = res;
  if (status >= 200 && status < 300) return { outcome: 'created', status, answer, message: null };
  if (status === 400 || status === 422 || (status === 404 && answer?.result === 'unknown_order')) {
    return { outcome: 'refused', status, answer, message: refusalMessage(status, answer) };
  }
  const detail = nonEmpty(answer?.result) ? answer.result : text.slice(0, 200).replace(/\s+/g, ' ').trim();
  return { outcome: 'failed', status, answer, message: `HTTP ${status}${detail ? ` ${detail}` : ''}` };
}

/** The refunds a 2xx answer of POST /refunds lists: ids and their sum in their currency. */
function refundsOf(answer) {
  const refunds = Array.isArray(answer?.refunds) ? answer.refunds.filter((r) => isObject(r) && nonEmpty(r.id)) : [];
  const ids = refunds.map((r) => r.id);
  const currencies = new Set(refunds.map((r) => (nonEmpty(r.currency) ? r.currency.toUpperCase() : null)));
  let total = null;
  if (refunds.length && currencies.size === 1 && !currencies.has(null) && refunds.every((r) => Number.isSafeInteger(r.amount_minor))) {
    total = money(refunds.reduce((sum, r) => sum + BigInt(r.amount_minor), 0n), [...currencies][0]);
  }
  return { ids, total };
}

/** "Stripe refund re_1 of 12.34 EUR requested for X" (several: "Stripe refunds re_1, re_2 of …"). */
function refundNote(answer, fallbackAmount, subject) {
  const { ids, total } = refundsOf(answer);
  const what = ids.length > 1 ? `Stripe refunds ${ids.join(', ')}` : ids.length ? `Stripe refund ${ids[0]}` : 'A Stripe refund';
  return { ids, note: `${what} of ${total ?? fallbackAmount} requested for ${subject}` };
}

// ---------------------------------------------------------------------------------------------
// Rows and sending
// ---------------------------------------------------------------------------------------------

async function inTransaction(pool, fn) {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (e) {
    await client.query('ROLLBACK').catch(() => {});
    throw e;
  } finally {
    client.release();
  }
}

async function addNote(client, orderId, note) {
  await client.query(
    `INSERT INTO "OrderNote" ("OrderId", "Note", "DownloadId", "DisplayToCustomer", "CreatedOnUtc") VALUES ($1, $2, 0, false, ${NOW})`,
    [orderId, note],
  );
}

/**
 * The two kinds of action rows. `due` selects one row that is due (not one of `$1`, the keys
 * this run tried already), locked, skipping rows another sender holds; `created` and `refused`
 * word the notes; `after` does what else a success does.
 */
const KINDS = {
  return_refund: {
    table: '"StripeBridgeReturnRefund"',
    key: '"ReturnRequestId"',
    due: `SELECT r."ReturnRequestId" AS "Key", r."OrderId", r."Request", r."Attempts", '/refunds' AS "Path", NULL AS "Action"
      FROM "StripeBridgeReturnRefund" r
      WHERE r."Status" IN ('requested', 'failed') AND r."NextAttemptOnUtc" <= ${NOW} AND r."ReturnRequestId" <> ALL ($1::int[])
      ORDER BY r."NextAttemptOnUtc", r."ReturnRequestId" LIMIT 1 FOR UPDATE SKIP LOCKED`,
    created(row, answer) {
      return refundNote(answer, `${row.Request.amount} ${row.Request.currency}`, `return request #${row.Key}`);
    },
    refused: (row, message) => `Stripe refund for return request #${row.Key} refused: ${message}`,
    async after(client, row, o) {
      if (!o.setRefunded) return;
      await client.query(
        `UPDATE "ReturnRequest" SET "ReturnRequestStatusId" = $2, "UpdatedOnUtc" = ${NOW} WHERE "Id" = $1 AND "ReturnRequestStatusId" = $3`,
        [row.Key, RETURN_REQUEST_STATUS.ItemsRefunded, o.approvedStatus],
      );
    },
  },
  order_cancel: {
    table: '"StripeBridgeOrderCancel"',
    key: '"OrderId"',
    due: `SELECT c."OrderId" AS "Key", c."OrderId", c."Request", c."Attempts", c."Path", c."Action"
      FROM "StripeBridgeOrderCancel" c
      WHERE c."Status" IN ('requested', 'failed') AND c."NextAttemptOnUtc" <= ${NOW} AND c."OrderId" <> ALL ($1::int[])
      ORDER BY c."NextAttemptOnUtc", c."OrderId" LIMIT 1 FOR UPDATE SKIP LOCKED`,
    created(row, answer) {
      if (row.Action === 'refund') return refundNote(answer, `all that remains in ${row.Request.currency}`, 'the cancelled order');
      const pi = row.Path.split('/')[2];
      const held = row.Request.amount_text ? ` of ${row.Request.amount_text}` : '';
      return { ids: [], note: `Stripe authorization ${pi}${held} canceled for the cancelled order` };
    },
    refused(row, message) {
      return row.Action === 'refund'
        ? `Stripe refund for the cancelled order refused: ${message}`
        : `Stripe cancellation of ${row.Path.split('/')[2]} for the cancelled order refused: ${message}`;
    },
    async after() {},
  },
};

/** The request body the Worker gets (the row keeps proxy-only fields too, prefixed `amount_text`). */
function workerBody(request) {
  const { amount_text: _shown, ...body } = request;
  return body;
}

/**
 * Sends the due rows of one kind, one transaction each (row locked from the request until the
 * answer and its note are recorded); each row at most once per run. Adds to `summary`.
 */
async function sendDue(pool, kindName, o, summary) {
  const kind = KINDS[kindName];
  const tried = [];
  while (tried.length < o.batch) {
    const sent = await inTransaction(pool, async (client) => {
      const { rows } = await client.query(kind.due, [tried]);
      const row = rows[0];
      if (!row) return false;
      tried.push(row.Key);
      const result = await callWorker(o, row.Path, workerBody(row.Request));
      let ids = [];
      let note = null;
      if (result.outcome === 'created') {
        ({ ids, note } = kind.created(row, result.answer));
      } else if (result.outcome === 'refused') {
        note = kind.refused(row, result.message);
      }
      const attempts = row.Attempts + 1;
      const delay = Math.min(o.retryDelayMs * 2 ** Math.min(attempts - 1, 30), o.maxRetryDelayMs);
      await client.query(
        `UPDATE ${kind.table} SET "Status" = $2, "RefundIds" = $3, "Response" = $4, "LastError" = $5, "Attempts" = $6,
           "NextAttemptOnUtc" = CASE WHEN $2 = 'failed' THEN ${NOW} + $7 * interval '1 millisecond' END,
           "LastAttemptOnUtc" = ${NOW}, "UpdatedOnUtc" = ${NOW}
         WHERE ${kind.key} = $1`,
        [row.Key, result.outcome, ids, result.answer === null ? null : JSON.stringify(result.answer), result.message, attempts, delay],
      );
      if (note) await addNote(client, row.OrderId, note);
      if (result.outcome === 'created') await kind.after(client, row, o);
      summary[result.outcome] += 1;
      o.log({
        action: kindName,
        key: row.Key,
        order_id: row.OrderId,
        path: row.Path,
        outcome: result.outcome,
        status: result.status,
        attempts,
        ...(ids.length ? { refund_ids: ids } : {}),
        ...(result.message ? { error: result.message } : {}),
        ...(result.outcome === 'failed' ? { retry_in_ms: delay } : {}),
      });
      return true;
    });
    if (!sent) break;
  }
}

/**
 * Records a new action: its row (status `requested`, due now; or `refused` with its note when
 * the proxy itself cannot build the request) unless one exists. Returns whether it was new.
 */
async function enroll(client, kindName, { key, orderId, request, path = null, action = null, problem = null, refusedNote = null }) {
  const kind = KINDS[kindName];
  const columns = ['"Status"', '"Request"', '"LastError"', '"NextAttemptOnUtc"', '"CreatedOnUtc"', '"UpdatedOnUtc"'];
  const values = [problem ? 'refused' : 'requested', JSON.stringify(request), problem];
  const exprs = ['$3', '$4', '$5', problem ? 'NULL' : NOW, NOW, NOW];
  let sql;
  if (kindName === 'return_refund') {
    sql = `INSERT INTO ${kind.table} ("ReturnRequestId", "OrderId", ${columns.join(', ')}) VALUES ($1, $2, ${exprs.join(', ')})`;
    values.unshift(key, orderId);
  } else {
    sql = `INSERT INTO ${kind.table} ("OrderId", "Action", "Path", ${columns.join(', ')}) VALUES ($1, $2, $6, ${exprs.join(', ')})`;
    values.unshift(orderId, action);
    values.push(path);
  }
  const { rowCount } = await client.query(`${sql} ON CONFLICT (${kind.key}) DO NOTHING`, values);
  if (rowCount && problem) await addNote(client, orderId, refusedNote);
  return rowCount === 1;
}

const emptySummary = () => ({ enrolled: 0, created: 0, refused: 0, failed: 0 });

/**
 * Return requests: each approved one (`approvedStatus`, and changed since `since` when set) of a
 * live order gets its refund row, then every due row is sent (see the top of this file). Returns
 * `{ enrolled, created, refused, failed }` (refused includes requests the proxy could not build:
 * an unknown currency, nothing to refund).
 */
export async function processReturns(pool, options) {
  const o = options?.base ? options : shopActionOptions(options);
  const summary = emptySummary();
  const { rows } = await pool.query(
    `SELECT rr."Id", rr."Quantity", oi."UnitPriceInclTax"::text AS "UnitPriceInclTax", o."Id" AS "OrderId",
       o."CustomerCurrencyCode", o."CurrencyRate"::text AS "CurrencyRate", s."State" ->> 'order_ref' AS "OrderRef"
     FROM "ReturnRequest" rr
     JOIN "OrderItem" oi ON oi."Id" = rr."OrderItemId"
     JOIN "Order" o ON o."Id" = oi."OrderId" AND NOT o."Deleted"
     LEFT JOIN "StripeBridgeOrderState" s ON s."OrderId" = o."Id"
     WHERE rr."ReturnRequestStatusId" = $1 AND ($2::timestamp IS NULL OR rr."UpdatedOnUtc" >= $2::timestamp)
       AND NOT EXISTS (SELECT 1 FROM "StripeBridgeReturnRefund" r WHERE r."ReturnRequestId" = rr."Id")
     ORDER BY rr."Id" LIMIT $3`,
    [o.approvedStatus, o.since, o.batch],
  );
  for (const row of rows) {
    // The order as Stripe knows it (the Worker's order book is keyed by the reference the
    // payment carried: Id, CustomOrderNumber or OrderGuid), else its id.
    const orderRef = nonEmpty(row.OrderRef) ? row.OrderRef : String(row.OrderId);
    const request = { order_id: orderRef, amount: null, currency: null, reason: REASON, return_id: `rr_${row.Id}` };
    let problem = null;
    try {
      const { amount, amountMinor, currency } = refundAmount({
        unitPrice: row.UnitPriceInclTax,
        quantity: row.Quantity,
        storeCurrency: o.storeCurrency,
        customerCurrency: row.CustomerCurrencyCode,
        rate: row.CurrencyRate,
      });
      Object.assign(request, { amount, currency });
      if (amountMinor <= 0n) problem = `nothing to refund (${amount} ${currency})`;
    } catch (e) {
      problem = `the refund amount cannot be computed: ${e.message}`;
    }
    const added = await inTransaction(pool, (client) =>
      enroll(client, 'return_refund', {
        key: row.Id,
        orderId: row.OrderId,
        request,
        problem,
        refusedNote: `Stripe refund for return request #${row.Id} refused: ${problem}`,
      }),
    );
    if (added) {
      summary.enrolled += 1;
      if (problem) summary.refused += 1;
      o.log({ action: 'return_refund', key: row.Id, order_id: row.OrderId, outcome: problem ? 'refused' : 'enrolled', ...(problem ? { error: problem } : {}) });
    }
  }
  await sendDue(pool, 'return_refund', o, summary);
  return summary;
}

/** The jsonpaths of a stored v2 state that may hold money: taken and not all given back, or an authorization. */
const HOLDS_MONEY = ['$.totals.* ? (@.paid_minor > @.returned_minor)', '$.attempts[*] ? (@.status == "authorized")'];

/**
 * Cancelled orders (OrderStatusId 40, not deleted, created since `since` when set) whose stored
 * Stripe state holds money get one action: the authorization canceled, or what was taken
 * refunded in full; then every due row is sent. Returns `{ enrolled, created, refused, failed }`.
 */
export async function processCancelledOrders(pool, options) {
  const o = options?.base ? options : shopActionOptions(options);
  const summary = emptySummary();
  const { rows } = await pool.query(
    `SELECT o."Id", s."State" FROM "Order" o JOIN "StripeBridgeOrderState" s ON s."OrderId" = o."Id"
     WHERE o."OrderStatusId" = $1 AND NOT o."Deleted" AND ($2::timestamp IS NULL OR o."CreatedOnUtc" >= $2::timestamp)
       AND NOT EXISTS (SELECT 1 FROM "StripeBridgeOrderCancel" c WHERE c."OrderId" = o."Id")
       AND (NOT (s."State" ? 'schema_version') OR jsonb_path_exists(s."State", $3::jsonpath, '{}', true)
         OR jsonb_path_exists(s."State", $5::jsonpath, '{}', true))
     ORDER BY o."Id" LIMIT $4`,
    [NOP_ORDER_STATUS.Cancelled, o.since, HOLDS_MONEY[0], o.batch, HOLDS_MONEY[1]],
  );
  for (const row of rows) {
    let state;
    try {
      state = upgradeOrderState(row.State);
    } catch (e) {
      o.log({ action: 'order_cancel', key: row.Id, order_id: row.Id, outcome: 'skipped', error: `stored state unreadable: ${e.message}` });
      continue;
    }
    const todo = cancellationAction(state);
    if (!todo) continue;
    const orderRef = nonEmpty(state.order_ref) ? state.order_ref : String(row.Id);
    let entry;
    if (todo.action === 'refund') {
      entry = {
        action: 'refund',
        path: '/refunds',
        request: { order_id: orderRef, currency: todo.currency, reason: REASON, return_id: `cancel_${row.Id}` },
        problem: todo.currency ? null : 'the payment has no currency',
      };
      entry.refusedNote = `Stripe refund for the cancelled order refused: ${entry.problem}`;
    } else {
      const pi = todo.paymentIntent;
      const usable = nonEmpty(pi) && /^[A-Za-z0-9_]+$/.test(pi);
      entry = {
        action: 'cancel',
        path: usable ? `/payments/${pi}/cancel` : '/payments/-/cancel',
        request: {
          order_id: orderRef,
          reason: REASON,
          ...(Number.isSafeInteger(todo.amountMinor) && todo.currency ? { amount_text: money(todo.amountMinor, todo.currency) } : {}),
        },
        problem: usable ? null : `no PaymentIntent to cancel (${JSON.stringify(pi)})`,
      };
      entry.refusedNote = `Stripe cancellation for the cancelled order refused: ${entry.problem}`;
    }
    const added = await inTransaction(pool, (client) => enroll(client, 'order_cancel', { key: row.Id, orderId: row.Id, ...entry }));
    if (added) {
      summary.enrolled += 1;
      if (entry.problem) summary.refused += 1;
      o.log({ action: 'order_cancel', key: row.Id, order_id: row.Id, kind: entry.action, outcome: entry.problem ? 'refused' : 'enrolled', ...(entry.problem ? { error: entry.problem } : {}) });
    }
  }
  await sendDue(pool, 'order_cancel', o, summary);
  return summary;
}

/** Both: `{ returns: summary, cancellations: summary }`. */
export async function processShopActions(pool, options) {
  const o = options?.base ? options : shopActionOptions(options);
  return { returns: await processReturns(pool, o), cancellations: await processCancelledOrders(pool, o) };
}

/**
 * The poll loop: processShopActions now and then `pollMs` after each run ends (runs never
 * overlap; errors are logged and the loop goes on). Returns `{ stop }` (resolves once a run in
 * progress ended). The timer does not keep the process alive on its own.
 */
export function startShopActions(pool, { pollMs = 10_000, ...options } = {}) {
  if (!Number.isSafeInteger(pollMs) || pollMs <= 0) throw new TypeError('pollMs (RETURNS_POLL_MS) must be a positive integer');
  const o = shopActionOptions(options);
  let stopped = false;
  let timer = null;
  let running = null;
  const tick = () => {
    running = processShopActions(pool, o)
      .then((summary) => {
        const r = summary.returns;
        const c = summary.cancellations;
        if (r.enrolled + r.created + r.refused + r.failed + c.enrolled + c.created + c.refused + c.failed > 0) o.log({ action: 'poll', ...summary });
      })
      .catch((e) => o.log({ action: 'poll', outcome: 'error', error: e.message }))
      .finally(() => {
        running = null;
        if (!stopped) {
          timer = setTimeout(tick, pollMs);
          timer.unref?.();
        }
      });
  };
  timer = setTimeout(tick, 0);
  timer.unref?.();
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
