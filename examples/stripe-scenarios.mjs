// Deterministic Stripe payout scenarios for the stand-in (fake-stripe-api.mjs) and for tests of
// payout reconciliation, and single payments of an order (authorizedPayment, paidPayment) for the
// tests of refunds, capture and cancel. Each returns `{ objects, payouts, expected }`, ready for
// `stripe.seed(scenario)`: Stripe-shaped objects (from Stripe's fixtures), which balance
// transactions each payout paid out, and the figures a correct reconciliation must find,
// computed here from what was generated (independently of the Rust and npm code under test).
// Same options, same objects, byte for byte: a seeded PRNG, no Math.random, no clock.
import { currencyExponent, MANUAL_PAYOUT_MESSAGE, stripeObject } from './fake-stripe-api.mjs';

const DAY = 86400;
const ALNUM = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** A seeded PRNG (sfc32, seeded by an FNV-1a hash of `seed`, a number or string). */
export function prng(seed) {
  let h = 2166136261;
  for (const ch of String(seed)) h = Math.imul(h ^ ch.codePointAt(0), 16777619) >>> 0;
  let [a, b, c, d] = [h, h ^ 0x9e3779b9, h ^ 0x85ebca6b, h ^ 0xc2b2ae35];
  const next = () => {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (((c << 21) | (c >>> 11)) + t) | 0;
    return (t >>> 0) / 4294967296;
  };
  for (let i = 0; i < 16; i++) next();
  const int = (lo, hi) => lo + Math.floor(next() * (hi - lo + 1));
  return {
    next,
    int,
    pick: (xs) => xs[int(0, xs.length - 1)],
    id: (prefix, n = 24) => prefix + Array.from({ length: n }, () => ALNUM[int(0, 61)]).join(''),
  };
}

// ---- Amounts (minor units) --------------------------------------------------------------------

const unit = (currency) => 10 ** currencyExponent(currency);

/** A customer's charge: 5 to 500 major units (JPY 500 to 50,000); three-decimal amounts end in 0, as Stripe requires. */
function chargeAmount(rng, currency) {
  const e = currencyExponent(currency);
  if (e === 0) return rng.int(500, 50000);
  if (e === 3) return rng.int(500, 50000) * 10;
  return rng.int(500, 50000);
}

// Major units of the settlement currency per major unit of the customer's (decimal text, as
// Stripe's exchange_rate: `amount` in A times the rate is the `amount` in B, in major units).
const RATES_FROM_EUR = { usd: '1.0847', gbp: '0.86914', jpy: '162.3719', kwd: '0.334127', chf: '0.95821' };
const RATE_FROM_USD_TO_EUR = '0.921913';

/** `minor` of `from` converted at `rateText` into minor units of `to`, rounded half up, exactly. */
export function convertMinor(minor, from, to, rateText) {
  const [whole, frac = ''] = rateText.split('.');
  const rate = BigInt(whole + frac);
  const num = BigInt(minor) * rate * 10n ** BigInt(currencyExponent(to));
  const den = 10n ** BigInt(frac.length + currencyExponent(from));
  return Number((2n * num + den) / (2n * den));
}

/** fee_details: Stripe's fee on every charge, an application fee on every third, tax on the fee on every fourth. */
function feeDetails(b, settled, index) {
  const e = currencyExponent(b.currency);
  const fixed = e === 0 ? 0 : 3 * 10 ** (e - 1);
  const stripeFee = Math.round((settled * 290) / 10000) + fixed;
  const fee = (type, amount, description, application = null) => ({ amount, application, currency: b.currency, description, type });
  const details = [fee('stripe_fee', stripeFee, 'Stripe processing fees')];
  if (index % 3 === 0) details.push(fee('application_fee', Math.round(settled / 100), 'Marketplace commission', b.application));
  if (index % 4 === 0) details.push(fee('tax', Math.round(stripeFee / 5), 'VAT on Stripe fees'));
  return details;
}

// ---- The builder: objects, payout membership, and the lines of the payout under test ----------

function builder({ seed, currency, salt = 0 }) {
  const rng = prng(salt ? `${seed}:${currency}:${salt}` : `${seed}:${currency}`);
  return { rng, currency, objects: [], payouts: {}, payoutIds: {}, lines: [], orderSeq: 100000, application: rng.id('ca_', 16), bank: rng.id('ba_') };
}

const add = (b, type, values) => {
  const o = stripeObject(type, values);
  b.objects.push(o);
  return o;
};

function balanceTransaction(b, values) {
  const { amount, fee = 0, created } = values;
  return add(b, 'balance_transaction', {
    id: b.rng.id('txn_'),
    available_on: Math.floor(created / DAY) * DAY + 2 * DAY,
    currency: b.currency,
    description: null,
    exchange_rate: null,
    fee_details: [],
    status: 'available',
    ...values,
    fee,
    net: amount - fee,
  });
}

/** Records a transaction as paid out in `payout`; lines of the payout under test also feed `expected`. */
function paidOut(b, payoutKey, txn, order = null) {
  (b.payouts[payoutKey] ??= []).push(txn.id);
  if (payoutKey === b.mainKey) b.lines.push({ category: txn.reporting_category, gross: txn.amount, fee: txn.fee, net: txn.net, order });
}

/** A PaymentIntent, its succeeded charge and the charge's balance transaction. */
function charge(b, { created, index, foreign = null }) {
  const order = `ORD-${++b.orderSeq}`;
  const currency = foreign?.currency ?? b.currency;
  const amount = foreign?.amount ?? chargeAmount(b.rng, b.currency);
  const settled = foreign ? convertMinor(amount, currency, b.currency, foreign.rate) : amount;
  const [piId, chId] = [b.rng.id('pi_'), b.rng.id('ch_')];
  const txn = chargeTransaction(b, { chId, order, created, index, settled, rate: foreign?.rate });
  const payment = { amount, created, currency, metadata: { order_id: order } };
  paymentIntent(b, { ...payment, piId, chId, metadata: index % 2 === 0 ? payment.metadata : {} });
  const ch = add(b, 'charge', {
    ...payment,
    id: chId,
    amount_captured: amount,
    balance_transaction: txn.id,
    billing_details: billing(b),
    captured: true,
    description: `Order ${order}`,
    payment_intent: piId,
    payment_method: b.rng.id('pm_'),
    payment_method_details: card(b, foreign),
    receipt_url: null,
    refunds: { object: 'list', data: [], has_more: false, url: `/v1/charges/${chId}/refunds` },
    source: null,
    transfer_data: null,
  });
  return { ch, txn, order };
}

function chargeTransaction(b, { chId, order, created, index, settled, rate }) {
  const details = feeDetails(b, settled, index);
  return balanceTransaction(b, {
    amount: settled,
    created,
    description: `Order ${order}`,
    exchange_rate: rate ? Number(rate) : null,
    fee: details.reduce((s, f) => s + f.amount, 0),
    fee_details: details,
    reporting_category: 'charge',
    source: chId,
    type: 'charge',
  });
}

const paymentIntent = (b, { piId, chId, amount, created, currency, metadata }) =>
  add(b, 'payment_intent', {
    id: piId,
    amount,
    amount_received: amount,
    canceled_at: null,
    client_secret: `${piId}_secret_${b.rng.id('', 16)}`,
    created,
    currency,
    last_payment_error: null,
    latest_charge: chId,
    metadata,
    next_action: null,
    processing: null,
    status: 'succeeded',
    transfer_data: null,
  });

const billing = (b) => ({
  address: { city: null, country: null, line1: null, line2: null, postal_code: null, state: null },
  email: `customer${b.rng.int(1, 99999)}@example.com`,
  name: b.rng.pick(['Jenny Rosen', 'Kenji Sato', 'Amal Haddad', 'Lena Vogel', 'Ravi Iyer']),
  phone: null,
});

const card = (b, foreign) => ({
  card: {
    brand: b.rng.pick(['visa', 'mastercard', 'amex']),
    country: foreign ? 'DE' : 'US',
    exp_month: b.rng.int(1, 12),
    exp_year: 2030,
    funding: b.rng.pick(['credit', 'debit']),
    last4: String(b.rng.int(1000, 9999)),
  },
  type: 'card',
});

/** The payout of the transactions recorded under `key` (amount: the exact sum of their nets), and its own row. */
function payout(b, key, { created, arrival, status = 'paid', automatic = true, amount }) {
  const poId = b.rng.id('po_');
  const total = amount ?? sumNet(b, key);
  b.payoutIds[key] = poId;
  const own = balanceTransaction(b, {
    amount: -total, available_on: created, created, description: 'STRIPE PAYOUT', reporting_category: 'payout', source: poId, type: 'payout',
  });
  const po = add(b, 'payout', {
    id: poId, amount: total, arrival_date: arrival, automatic, balance_transaction: own.id, created, currency: b.currency, description: 'STRIPE PAYOUT',
    destination: b.bank, method: 'standard', reconciliation_status: automatic ? 'completed' : 'not_applicable', status,
  });
  if (automatic) (b.payouts[key] ??= []).push(own.id);
  return { po, own };
}

const sumNet = (b, key) => {
  const ids = new Set(b.payouts[key] ?? []);
  return b.objects.filter((o) => ids.has(o.id)).reduce((s, t) => s + t.net, 0);
};

/** Times spread over [from, from + span), every tenth equal to the one before (ties for the list order). */
function times(b, count, from, span) {
  const out = [];
  for (let i = 0; i < count; i++) out.push(i % 10 === 9 ? out[i - 1] : from + b.rng.int(0, span - 1));
  return out;
}

// ---- The pieces of a payout scenario -----------------------------------------------------------

/** A failed earlier automatic payout; its reversal (payout_failure, +amount) is paid out in the main payout. */
function failedPayout(b, base) {
  times(b, 2, base - 9 * DAY, 2 * DAY).forEach((t, i) => paidOut(b, 'failed', charge(b, { created: t, index: i + 1 }).txn));
  const { po } = payout(b, 'failed', { created: base - 6 * DAY, arrival: base - 4 * DAY, status: 'failed' });
  const reversal = balanceTransaction(b, { amount: po.amount, created: base - 3 * DAY + 7200, reporting_category: 'payout_reversal', source: po.id, type: 'payout_failure' });
  Object.assign(po, { failure_balance_transaction: reversal.id, failure_code: 'account_closed', failure_message: 'The bank account has been closed.' });
  paidOut(b, b.mainKey, reversal);
  return po;
}

/** Charges paid out in an earlier payout, refunded (in part or in full) within the main payout's window. */
function refundsOfEarlierCharges(b, base, count, refundMetadata) {
  const charges = times(b, count, base - 6 * DAY, 2 * DAY).map((t, i) => charge(b, { created: t, index: i + 2 }));
  charges.forEach((c) => paidOut(b, 'earlier', c.txn));
  const { po } = payout(b, 'earlier', { created: base - 3 * DAY, arrival: base - DAY });
  times(b, count, base - 3 * DAY, 2 * DAY).forEach((t, i) => refund(b, charges[i], t, refundMetadata));
  return po;
}

function refund(b, { ch, order }, created, withMetadata) {
  const step = currencyExponent(ch.currency) === 3 ? 10 : 1; // three-decimal amounts end in 0
  const amount = b.rng.int(0, 1) ? ch.amount : Math.max(step, Math.floor(ch.amount / 2 / step) * step);
  const reId = b.rng.id('re_');
  const txn = balanceTransaction(b, { amount: -amount, created, description: `REFUND FOR CHARGE (Order ${order})`, reporting_category: 'refund', source: reId, type: 'refund' });
  add(b, 'refund', {
    id: reId, amount, balance_transaction: txn.id, charge: ch.id, created, currency: ch.currency, metadata: withMetadata ? { order_id: order } : {},
    payment_intent: ch.payment_intent, reason: 'requested_by_customer', status: 'succeeded',
  });
  Object.assign(ch, { amount_refunded: ch.amount_refunded + amount, refunded: ch.amount_refunded + amount === ch.amount });
  paidOut(b, b.mainKey, txn, order);
}

// Stripe's dispute fee: 15.00 (JPY 1,500; three-decimal currencies 5.000).
const disputeFee = (currency) => ({ 0: 1500, 2: 1500, 3: 5000 })[currencyExponent(currency)];

/** A lost dispute (adjustment, reporting category `dispute`, with the fee); `reversed`: won back later (`dispute_reversal`). */
function dispute(b, { ch, txn: chargeTxn, order }, reversed, end) {
  const dpId = b.rng.id('dp_');
  const fee = disputeFee(b.currency);
  const created = b.rng.int(chargeTxn.created + 1, end - 2);
  const row = (sign, at, description) =>
    balanceTransaction(b, {
      amount: sign * ch.amount,
      created: at,
      description: `${description} for ${ch.id}`,
      fee: -sign * fee,
      fee_details: [{ amount: -sign * fee, application: null, currency: b.currency, description: sign < 0 ? 'Dispute fee' : 'Dispute fee refund', type: 'stripe_fee' }],
      reporting_category: sign < 0 ? 'dispute' : 'dispute_reversal',
      source: dpId,
      type: 'adjustment',
    });
  const rows = [row(-1, created, 'Chargeback withdrawal')];
  if (reversed) rows.push(row(1, b.rng.int(created + 1, end - 1), 'Chargeback reversal'));
  add(b, 'dispute', {
    id: dpId,
    amount: ch.amount,
    balance_transactions: rows.map((r) => structuredClone(r)),
    charge: ch.id,
    created,
    currency: ch.currency,
    is_charge_refundable: false,
    payment_intent: ch.payment_intent,
    reason: 'fraudulent',
    status: reversed ? 'won' : 'lost',
  });
  ch.disputed = true;
  rows.forEach((r) => paidOut(b, b.mainKey, r, order));
}

/** A charge in another currency settled in the payout currency at Stripe's exchange_rate. */
function foreignCharge(b, created, index) {
  const currency = b.currency === 'eur' ? 'usd' : 'eur';
  const rate = currency === 'usd' ? RATE_FROM_USD_TO_EUR : (RATES_FROM_EUR[b.currency] ?? '1.1');
  const amount = b.rng.int(500, 50000);
  const c = charge(b, { created, index, foreign: { currency, amount, rate } });
  paidOut(b, b.mainKey, c.txn, c.order);
  return { chargeId: c.ch.id, transactionId: c.txn.id, amount, currency, exchangeRate: rate, settled: c.txn.amount };
}

function stripeFeeRow(b, created) {
  const amount = -10 * unit(b.currency);
  const txn = balanceTransaction(b, { amount, created, description: 'Billing - Usage Fee', reporting_category: 'fee', source: null, type: 'stripe_fee' });
  paidOut(b, b.mainKey, txn);
}

// ---- expected: the figures a reconciliation of the main payout must find ----------------------

function summarize(lines) {
  const categories = {};
  const orders = {};
  for (const l of lines) {
    const c = (categories[l.category] ??= { count: 0, gross: 0, fee: 0, net: 0 });
    Object.assign(c, { count: c.count + 1, gross: c.gross + l.gross, fee: c.fee + l.fee, net: c.net + l.net });
    if (!l.order) continue;
    const o = (orders[l.order] ??= { gross: 0, fees: 0, refunds: 0, disputes: 0, net: 0 });
    const bucket = l.category.startsWith('refund') ? 'refunds' : l.category.startsWith('dispute') ? 'disputes' : 'gross';
    Object.assign(o, { [bucket]: o[bucket] + l.gross, fees: o.fees + l.fee, net: o.net + l.net });
  }
  const total = (k) => lines.reduce((s, l) => s + l[k], 0);
  return { categories, orders, feeTotal: total('fee'), netTotal: total('net') };
}

/**
 * An automatic payout of `transactions` balance transactions (its own `payout` row not counted):
 * charges of PaymentIntents (order_id in the charge's metadata; every other PaymentIntent has it
 * too), fees with stripe_fee / application_fee / tax components, refunds of charges paid out in an
 * earlier payout, disputes (one won back), one charge in another currency, the reversal of a failed
 * earlier payout, a Stripe fee row. Options: `seed`, `transactions` (>= 7), `currency` ('usd',
 * 'jpy', 'kwd', ...), `refunds`, `disputes`, `refundMetadata` (order_id on refunds, default true),
 * `payoutCreated` (unix, default 2023-11-14). A draw that would not net a positive payout (a few
 * tiny ones) is redrawn with a salted seed, deterministically.
 */
export function payoutScenario(options = {}) {
  for (let salt = 0; ; salt++) {
    const scenario = drawPayoutScenario(options, salt);
    if (scenario || salt === 99) return scenario ?? failNoPayout(options);
  }
}

const failNoPayout = ({ seed, transactions }) => {
  throw new RangeError(`payoutScenario: no positive payout from ${transactions} transactions (seed ${seed}); use more`);
};

function drawPayoutScenario({ seed = 1, transactions = 1000, currency = 'usd', refunds, disputes, refundMetadata = true, payoutCreated = 1699920000 }, salt) {
  const b = builder({ seed, currency: currency.toLowerCase(), salt });
  b.mainKey = 'main';
  const counts = { refunds: refunds ?? Math.max(1, Math.floor(transactions / 40)), disputes: disputes ?? Math.max(1, Math.floor(transactions / 200)) };
  const charges = transactions - counts.refunds - counts.disputes - (counts.disputes > 0 ? 1 : 0) - 3;
  if (charges < Math.max(1, counts.disputes)) throw new RangeError(`payoutScenario: ${transactions} transactions are too few for ${counts.refunds} refunds and ${counts.disputes} disputes`);
  const base = payoutCreated;
  const [start, end] = [base - 3 * DAY, base - DAY];
  const failed = failedPayout(b, base);
  const earlier = refundsOfEarlierCharges(b, base, counts.refunds, refundMetadata);
  const sold = times(b, charges, start, end - start - 3600).map((t, i) => charge(b, { created: t, index: i }));
  sold.forEach((c) => paidOut(b, b.mainKey, c.txn, c.order));
  sold.slice(0, counts.disputes).forEach((c, i) => dispute(b, c, i === 0, end));
  const foreign = foreignCharge(b, start + 4242, charges + 1);
  stripeFeeRow(b, start + 600);
  if (sumNet(b, 'main') <= 0) return null;
  const { po, own } = payout(b, 'main', { created: base, arrival: base + 2 * DAY });
  return finish(b, po, own, { earlierPayoutId: earlier.id, failedPayoutId: failed.id, payoutFailureTransactionId: failed.failure_balance_transaction, foreign });
}

/** `{ objects, payouts, expected }`: `payouts` maps each payout id to what `GET ?payout=` lists. */
function finish(b, po, own, refs) {
  const payouts = Object.fromEntries(Object.entries(b.payouts).map(([key, txns]) => [b.payoutIds[key], txns]));
  const expected = {
    payoutId: po.id,
    currency: b.currency,
    payoutAmount: po.amount,
    ownTransactionId: own.id,
    lineCount: b.lines.length,
    listCount: b.lines.length + 1,
    ...summarize(b.lines),
    ...refs,
  };
  return { objects: b.objects, payouts, expected };
}

/**
 * A manual payout (`automatic: false`): Stripe does not tie transactions to it, so listing its
 * transactions is refused (`expected.error`). Options: `seed`, `transactions` (charges before it), `currency`.
 */
export function manualPayoutScenario({ seed = 1, transactions = 20, currency = 'usd', payoutCreated = 1699920000 } = {}) {
  const b = builder({ seed: `manual:${seed}`, currency: currency.toLowerCase() });
  const sold = times(b, transactions, payoutCreated - 3 * DAY, 2 * DAY).map((t, i) => charge(b, { created: t, index: i }));
  const available = sold.reduce((s, c) => s + c.txn.net, 0);
  const amount = Math.floor(available / unit(b.currency) / 2) * unit(b.currency);
  const { po, own } = payout(b, 'manual', { created: payoutCreated, arrival: payoutCreated + DAY, automatic: false, amount });
  const expected = { payoutId: po.id, currency: b.currency, payoutAmount: amount, ownTransactionId: own.id, automatic: false, error: { status: 400, message: MANUAL_PAYOUT_MESSAGE } };
  return { objects: b.objects, payouts: {}, expected };
}

/** The payout `node examples/fake-stripe-api.mjs` serves: 60 transactions in USD. */
export const demoScenario = () => payoutScenario({ seed: 'demo', transactions: 60 });

// ---- Single payments for the shop's actions (refunds, capture, cancel) ------------------------

/** Stripe's minor units for `amount`: an integer of minor units, or a decimal string of major units ("12.34"). */
function minorUnits(amount, currency) {
  if (Number.isSafeInteger(amount) && amount > 0) return amount;
  const e = currencyExponent(currency);
  const m = typeof amount === 'string' ? /^(\d+)(?:\.(\d+))?$/.exec(amount) : null;
  if (!m || (m[2] ?? '').length > e) throw new RangeError(`amount: ${amount} is not a positive amount of ${currency}`);
  const minor = Number(m[1]) * 10 ** e + Number((m[2] ?? '').padEnd(e, '0') || 0);
  if (!(minor > 0)) throw new RangeError(`amount: ${amount} is not a positive amount of ${currency}`);
  return minor;
}

/**
 * A PaymentIntent and its charge, as Stripe has them once the customer has confirmed: shared by
 * authorizedPayment (capture_method manual, `requires_capture`) and paidPayment (`succeeded`).
 */
function singlePayment(kind, { currency = 'eur', amount = 5040, orderId = '1001', seed = orderId, created = 1700000000, metadata, customer = null, description } = {}) {
  const c = currency.toLowerCase();
  const minor = minorUnits(amount, c);
  const rng = prng(`${kind}:${seed}:${c}:${minor}`);
  const [piId, chId, pmId] = [rng.id('pi_'), rng.id('ch_'), rng.id('pm_')];
  const meta = metadata ?? { order_id: String(orderId) };
  const text = description ?? `Order ${orderId}`;
  const b = { rng };
  const pi = stripeObject('payment_intent', {
    id: piId, amount: minor, amount_capturable: 0, amount_details: { tip: {} }, amount_received: 0, automatic_payment_methods: { enabled: true },
    canceled_at: null, cancellation_reason: null, capture_method: 'automatic', client_secret: `${piId}_secret_${rng.id('', 16)}`, created,
    currency: c, customer, description: text, last_payment_error: null, latest_charge: chId, metadata: meta, next_action: null,
    payment_method: pmId, payment_method_types: ['card'], processing: null, shipping: null, status: 'succeeded', transfer_data: null,
  });
  const charge = stripeObject('charge', {
    id: chId, amount: minor, amount_captured: 0, amount_refunded: 0, balance_transaction: null, billing_details: billing(b), captured: false,
    created, currency: c, customer, description: text, disputed: false, metadata: { ...meta }, paid: true, payment_intent: piId,
    outcome: { network_status: 'approved_by_network', reason: null, risk_level: 'normal', seller_message: 'Payment complete.', type: 'authorized' },
    payment_method: pmId, payment_method_details: card(b, null), receipt_url: null, refunded: false,
    refunds: { object: 'list', data: [], has_more: false, url: `/v1/charges/${chId}/refunds` }, shipping: null, source: null, status: 'succeeded', transfer_data: null,
  });
  return { rng, pi, charge, minor, currency: c, orderId: String(orderId) };
}

/**
 * An authorized, not yet captured card payment for an order: a PaymentIntent with
 * capture_method `manual` in status `requires_capture` (amount_capturable = amount) and its
 * uncaptured charge (captured false, amount_captured 0, no balance transaction), ready for
 * `stripe.seed(...)`. Options: `currency` (default eur), `amount` (minor units, or a decimal
 * string of major units; default 5040), `orderId` (metadata.order_id), `seed`, `created`, `metadata`, `customer`, `description`.
 * Returns `{ objects, payouts: {}, expected: { paymentIntentId, chargeId, amount, currency, orderId, status } }`.
 */
export function authorizedPayment(options = {}) {
  const { pi, charge, minor, currency, orderId } = singlePayment('authorized', options);
  Object.assign(pi, { capture_method: 'manual', status: 'requires_capture', amount_capturable: minor });
  return { objects: [pi, charge], payouts: {}, expected: { paymentIntentId: pi.id, chargeId: charge.id, amount: minor, currency, orderId, status: 'requires_capture' } };
}

/**
 * A paid card payment for an order: a `succeeded` PaymentIntent, its captured charge and the
 * charge's balance transaction. `amountCaptured` (minor units, default all) captures part of an
 * authorization (the rest is released: counted in the charge's amount_refunded, as Stripe shows
 * it); `refunded` (minor units, default 0) adds a succeeded refund of that much; `disputed: true`
 * adds an open dispute (the charge is `disputed`). Other options as authorizedPayment. Returns
 * `{ objects, payouts: {}, expected: { paymentIntentId, chargeId, amount, amountCaptured, amountRefunded, refundable, currency, orderId, status, refundId?, disputeId? } }`.
 */
export function paidPayment({ amountCaptured, refunded: refundedAmount = 0, disputed = false, ...options } = {}) {
  const { rng, pi, charge, minor, currency, orderId } = singlePayment('paid', options);
  const captured = amountCaptured === undefined ? minor : minorUnits(amountCaptured, currency);
  const refunded = refundedAmount === 0 ? 0 : minorUnits(refundedAmount, currency);
  if (captured > minor) throw new RangeError(`paidPayment: amountCaptured ${captured} is more than the amount ${minor}`);
  if (refunded < 0 || refunded > captured) throw new RangeError(`paidPayment: refunded ${refunded} is not within 0..${captured}`);
  const b = { rng, currency, objects: [] };
  const txn = add(b, 'balance_transaction', {
    id: rng.id('txn_'), amount: captured, available_on: charge.created + 2 * DAY, created: charge.created, currency, description: charge.description,
    exchange_rate: null, fee: 0, fee_details: [], net: captured, reporting_category: 'charge', source: charge.id, status: 'available', type: 'charge',
  });
  Object.assign(pi, { capture_method: captured < minor ? 'manual' : 'automatic', amount_received: captured, status: 'succeeded' });
  Object.assign(charge, { captured: true, amount_captured: captured, amount_refunded: minor - captured, balance_transaction: txn.id, disputed });
  const expected = { paymentIntentId: pi.id, chargeId: charge.id, amount: minor, amountCaptured: captured, amountRefunded: refunded, refundable: captured - refunded, currency, orderId, status: 'succeeded' };
  if (refunded > 0) {
    const reId = rng.id('re_');
    const rtxn = add(b, 'balance_transaction', {
      id: rng.id('txn_'), amount: -refunded, available_on: charge.created + DAY, created: charge.created + 3600, currency, description: 'REFUND FOR CHARGE',
      exchange_rate: null, fee: 0, fee_details: [], net: -refunded, reporting_category: 'refund', source: reId, status: 'available', type: 'refund',
    });
    const refund = add(b, 'refund', {
      id: reId, amount: refunded, balance_transaction: rtxn.id, charge: charge.id, created: charge.created + 3600, currency, metadata: { order_id: orderId },
      payment_intent: pi.id, reason: 'requested_by_customer', status: 'succeeded',
    });
    charge.amount_refunded += refunded;
    charge.refunds.data.push(structuredClone(refund));
    expected.refundId = reId;
  }
  charge.refunded = charge.amount_refunded >= minor;
  if (disputed) {
    const dispute = add(b, 'dispute', {
      id: rng.id('dp_'), amount: captured - refunded, balance_transactions: [], charge: charge.id, created: charge.created + DAY, currency,
      is_charge_refundable: false, payment_intent: pi.id, reason: 'fraudulent', status: 'needs_response',
    });
    expected.disputeId = dispute.id;
  }
  return { objects: [pi, charge, ...b.objects], payouts: {}, expected };
}
