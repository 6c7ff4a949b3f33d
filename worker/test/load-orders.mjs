// Orders for the load and fault run (worker/test/load.mjs): Stripe events in realistic
// lifecycles, built from the fixtures in tests/fixtures/events/ with new ids, amounts,
// currencies, times and order references. Pure and deterministic for a given `rand`.
//
// Lifecycles (shares are per order; each order has one currency):
//   direct        PaymentIntent created [requires_action] succeeded, charge succeeded [fee]
//   retry         the same PaymentIntent fails once (declined charge), then succeeds
//   new_attempt   a PaymentIntent fails [and is canceled], a second one is paid
//   checkout      [an expired Checkout Session], a completed one, its PaymentIntent and charge
//                 (in a third of them without order metadata: they join through the session)
//   async_failed  a Checkout Session whose SEPA debit failed, then a second one that is paid
//   auth_capture  authorized (manual capture), then captured [fee]
//   subscription  invoice.paid (order ref in the subscription's metadata), invoice_payment.paid
//                 and the charge (no order metadata: they join through the invoice and the
//                 PaymentIntent) [after a failed first try of the invoice]
//   unpaid        an expired Checkout Session, or a canceled PaymentIntent, or an
//                 authorization that expired
// Paid orders may then get refunds (partial or full, one or two, some failing; refund events
// without order metadata that join through charge/payment_intent, some with it; charge.refunded
// with the cumulative amount) and disputes (created, then won / lost / prevented).
// Refunds and disputes without order metadata are, in some orders, delivered before anything
// else of their order (they wait in the book until their payment arrives).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const FIXTURES = [
  'pi_created_basil', 'pi_requires_action_basil', 'pi_payment_failed_basil', 'pi_succeeded_basil',
  'pi_amount_capturable_updated_basil', 'pi_canceled_expired_basil', 'charge_succeeded_basil',
  'charge_updated_expanded_fee_basil', 'charge_refunded_partial_basil', 'charge_expired_auth_basil',
  'checkout_session_completed_clover', 'checkout_session_expired_clover',
  'checkout_session_async_failed_clover', 'refund_created_basil', 'refund_failed_basil',
  'dispute_created_basil', 'dispute_closed_lost_basil', 'dispute_closed_prevented_2025',
  'invoice_paid_basil', 'invoice_payment_failed_basil', 'invoice_payment_paid_basil',
  'payout_paid_basil', 'payout_failed_basil',
];

/** Deterministic randomness (mulberry32). */
export function makeRand(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Fisher-Yates, in place. */
export function shuffle(list, rand) {
  for (let i = list.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [list[i], list[j]] = [list[j], list[i]];
  }
  return list;
}

const pick = (rand, weighted) => {
  const total = weighted.reduce((n, [, w]) => n + w, 0);
  let r = rand() * total;
  for (const [value, w] of weighted) {
    if ((r -= w) < 0) return value;
  }
  return weighted[weighted.length - 1][0];
};

const FLOWS = [
  ['direct', 30], ['retry', 7], ['new_attempt', 10], ['checkout', 22], ['async_failed', 5],
  ['auth_capture', 5], ['subscription', 8], ['unpaid', 13],
];
const CURRENCIES = [['usd', 78], ['eur', 14], ['jpy', 8]];

/**
 * Builds orders until `events` events exist (`strays` of them refunds of payments no order
 * ever names: they wait forever; `payouts` payout events that belong to no order).
 * Returns { orders: [{ ref, flow, events: [ev] }], strays: [ev], payouts: [ev] } where
 * ev = { id, type, body (JSON text), order (ref or null), early (delivered first) }.
 */
export function generate({ events, rand, fixturesDir, strays = 10, payouts = 50, base = 1_767_225_600 }) {
  const tpl = Object.fromEntries(
    FIXTURES.map((name) => [name, JSON.parse(readFileSync(join(fixturesDir, `${name}.json`), 'utf8'))]),
  );
  let serial = 0;
  const eventId = () => `evt_ld${(serial++).toString(36).padStart(7, '0')}`;
  const make = (name, type, created, patch) => {
    const e = structuredClone(tpl[name]);
    e.id = eventId();
    e.type = type;
    e.created = created;
    patch(e.data.object, e);
    return e;
  };
  const out = { orders: [], strays: [], payouts: [] };
  const wrap = (e, order, extra = {}) => ({ id: e.id, type: e.type, body: JSON.stringify(e), order, early: false, ...extra });

  const budget = Math.max(0, events - Math.min(strays, events) - Math.min(payouts, events));
  let total = 0;
  for (let n = 0; total < budget; n++) {
    const order = buildOrder(n);
    // Never more events than asked: the last order is cut to fit (it stays a valid prefix).
    order.events = order.events.slice(0, budget - total);
    total += order.events.length;
    out.orders.push(order);
  }
  for (let k = 0; k < Math.min(strays, events - total); k++) {
    const t = base + k * 97;
    const e = make('refund_created_basil', 'refund.created', t, (o) => {
      o.id = `re_ldstray${k}`;
      o.charge = `ch_ldstray${k}`;
      o.payment_intent = `pi_ldstray${k}`;
      o.amount = 100 + k;
      o.created = t;
      o.metadata = {};
    });
    out.strays.push(wrap(e, null, { stray: true }));
  }
  total += out.strays.length;
  for (let k = 0; total < events; k++, total++) {
    const t = base + 3600 + k * 600;
    const failed = rand() < 0.1;
    const e = make(failed ? 'payout_failed_basil' : 'payout_paid_basil', failed ? 'payout.failed' : 'payout.paid', t, (o) => {
      o.id = `po_ld${k}`;
      o.amount = 10_000 + Math.floor(rand() * 500_000);
      o.created = t - 86_400;
      o.arrival_date = t;
    });
    out.payouts.push(wrap(e, null));
  }
  return out;

  function buildOrder(n) {
    const ref = `LD-${String(n).padStart(5, '0')}`;
    const cur = pick(rand, CURRENCIES);
    const amount = cur === 'jpy' ? 500 + Math.floor(rand() * 30_000) : 500 + Math.floor(rand() * 45_000);
    const cus = `cus_ld${n}`;
    const flow = pick(rand, FLOWS);
    const evs = [];
    let t = base + n * 45;
    const step = (s = 5 + Math.floor(rand() * 60)) => (t += s);
    const ids = (p, k = '') => `${p}_ld${n}${k}`;
    const meta = () => ({ order_id: ref });

    const pi = (type, name, piId, { status, charge = null, received = 0, capturable = 0, metadata = meta(), failedCharge } = {}) =>
      make(name, type, step(), (o) => {
        Object.assign(o, {
          id: piId, amount, currency: cur, customer: cus, description: `Order ${ref}`,
          client_secret: `${piId}_secret_redacted`, created: t, metadata, status,
          latest_charge: charge, amount_received: received, amount_capturable: capturable,
        });
        if (o.last_payment_error && failedCharge) o.last_payment_error.charge = failedCharge;
        if (type === 'payment_intent.canceled') o.canceled_at = t;
      });
    const charge = (type, name, chId, piId, { metadata = meta(), refunded = 0, previous, fee = false, captured = amount } = {}) =>
      make(name, type, step(), (o, e) => {
        Object.assign(o, {
          id: chId, amount, amount_captured: captured, amount_refunded: refunded, currency: cur,
          customer: cus, description: `Order ${ref}`, created: t, metadata, payment_intent: piId,
          refunded: refunded >= amount,
        });
        if (fee) {
          const feeMinor = Math.round(amount * 0.029) + (cur === 'jpy' ? 0 : 30);
          Object.assign(o.balance_transaction, {
            id: `txn_ld${n}`, amount, currency: cur, fee: feeMinor, net: amount - feeMinor, source: chId,
            created: t,
          });
          o.balance_transaction.fee_details = [{ amount: feeMinor, currency: cur, type: 'stripe_fee' }];
        } else if (typeof o.balance_transaction === 'string' || o.balance_transaction === null) {
          o.balance_transaction = name === 'charge_expired_auth_basil' ? null : `txn_ld${n}`;
        }
        if (previous !== undefined) e.data.previous_attributes = { amount_refunded: previous };
      });
    const session = (type, name, csId, piId, { paymentStatus, status } = {}) =>
      make(name, type, step(), (o) => {
        Object.assign(o, {
          id: csId, amount_subtotal: amount, amount_total: amount, currency: cur, client_reference_id: ref,
          created: t - 30, expires_at: t + 86_400, payment_intent: piId, payment_status: paymentStatus, status,
          success_url: `https://shop.example.com/orders/${ref}/thanks`,
        });
      });
    const push = (e, extra) => evs.push(wrap(e, ref, extra));

    let paid = null; // { pi, ch } of the payment that took the money
    switch (flow) {
      case 'direct': {
        const [p, c] = [ids('pi'), ids('ch')];
        push(pi('payment_intent.created', 'pi_created_basil', p, { status: 'requires_payment_method' }));
        if (rand() < 0.15) push(pi('payment_intent.requires_action', 'pi_requires_action_basil', p, { status: 'requires_action' }));
        push(charge('charge.succeeded', 'charge_succeeded_basil', c, p));
        push(pi('payment_intent.succeeded', 'pi_succeeded_basil', p, { status: 'succeeded', charge: c, received: amount }));
        if (rand() < 0.25) push(charge('charge.updated', 'charge_updated_expanded_fee_basil', c, p, { fee: true }));
        paid = { pi: p, ch: c };
        break;
      }
      case 'retry': {
        const [p, d, c] = [ids('pi'), ids('ch', 'd'), ids('ch')];
        push(pi('payment_intent.created', 'pi_created_basil', p, { status: 'requires_payment_method' }));
        push(pi('payment_intent.payment_failed', 'pi_payment_failed_basil', p, { status: 'requires_payment_method', charge: d, failedCharge: d }));
        push(charge('charge.succeeded', 'charge_succeeded_basil', c, p));
        push(pi('payment_intent.succeeded', 'pi_succeeded_basil', p, { status: 'succeeded', charge: c, received: amount }));
        paid = { pi: p, ch: c };
        break;
      }
      case 'new_attempt': {
        const [pa, da, pb, cb] = [ids('pi', 'a'), ids('ch', 'ad'), ids('pi', 'b'), ids('ch', 'b')];
        push(pi('payment_intent.created', 'pi_created_basil', pa, { status: 'requires_payment_method' }));
        push(pi('payment_intent.payment_failed', 'pi_payment_failed_basil', pa, { status: 'requires_payment_method', charge: da, failedCharge: da }));
        if (rand() < 0.5) push(pi('payment_intent.canceled', 'pi_canceled_expired_basil', pa, { status: 'canceled', charge: da }));
        push(pi('payment_intent.created', 'pi_created_basil', pb, { status: 'requires_payment_method' }));
        push(pi('payment_intent.succeeded', 'pi_succeeded_basil', pb, { status: 'succeeded', charge: cb, received: amount }));
        push(charge('charge.succeeded', 'charge_succeeded_basil', cb, pb));
        paid = { pi: pb, ch: cb };
        break;
      }
      case 'checkout': {
        const [csa, csb, p, c] = [ids('cs_test', 'a'), ids('cs_test', 'b'), ids('pi'), ids('ch')];
        // A third of shops set no payment_intent_data.metadata: the PaymentIntent and its
        // charge name no order and join through the session (or wait for it).
        const metadata = rand() < 0.33 ? {} : meta();
        if (rand() < 0.4) push(session('checkout.session.expired', 'checkout_session_expired_clover', csa, null, { paymentStatus: 'unpaid', status: 'expired' }));
        push(session('checkout.session.completed', 'checkout_session_completed_clover', csb, p, { paymentStatus: 'paid', status: 'complete' }));
        push(charge('charge.succeeded', 'charge_succeeded_basil', c, p, { metadata }));
        push(pi('payment_intent.succeeded', 'pi_succeeded_basil', p, { status: 'succeeded', charge: c, received: amount, metadata }));
        if (rand() < 0.3) push(charge('charge.updated', 'charge_updated_expanded_fee_basil', c, p, { fee: true, metadata }));
        paid = { pi: p, ch: c, metadata };
        break;
      }
      case 'async_failed': {
        const [csa, pa, csb, pb, cb] = [ids('cs_test', 'a'), ids('pi', 'a'), ids('cs_test', 'b'), ids('pi', 'b'), ids('ch', 'b')];
        push(session('checkout.session.async_payment_failed', 'checkout_session_async_failed_clover', csa, pa, { paymentStatus: 'unpaid', status: 'complete' }));
        if (rand() < 0.5) push(pi('payment_intent.payment_failed', 'pi_payment_failed_basil', pa, { status: 'requires_payment_method', charge: ids('ch', 'ad'), failedCharge: ids('ch', 'ad') }));
        push(session('checkout.session.completed', 'checkout_session_completed_clover', csb, pb, { paymentStatus: 'paid', status: 'complete' }));
        push(pi('payment_intent.succeeded', 'pi_succeeded_basil', pb, { status: 'succeeded', charge: cb, received: amount }));
        push(charge('charge.succeeded', 'charge_succeeded_basil', cb, pb));
        paid = { pi: pb, ch: cb };
        break;
      }
      case 'auth_capture': {
        const [p, c] = [ids('pi'), ids('ch')];
        push(pi('payment_intent.created', 'pi_created_basil', p, { status: 'requires_payment_method' }));
        push(pi('payment_intent.amount_capturable_updated', 'pi_amount_capturable_updated_basil', p, { status: 'requires_capture', charge: c, capturable: amount }));
        push(charge('charge.captured', 'charge_succeeded_basil', c, p));
        push(pi('payment_intent.succeeded', 'pi_succeeded_basil', p, { status: 'succeeded', charge: c, received: amount }));
        if (rand() < 0.5) push(charge('charge.updated', 'charge_updated_expanded_fee_basil', c, p, { fee: true }));
        paid = { pi: p, ch: c };
        break;
      }
      case 'subscription': {
        const [inv, p, c] = [ids('in'), ids('pi'), ids('ch')];
        const invoice = (type, name, status) =>
          make(name, type, step(), (o) => {
            Object.assign(o, {
              id: inv, amount_due: amount, amount_paid: status === 'paid' ? amount : 0,
              amount_remaining: status === 'paid' ? 0 : amount, currency: cur, customer: cus,
              created: t - 60, status, subtotal: amount, total: amount, number: `LD-${n}-0001`,
            });
            o.parent.subscription_details = { metadata: { order_id: ref }, subscription: ids('sub') };
            o.lines.data[0].amount = amount;
            o.lines.data[0].currency = cur;
          });
        if (rand() < 0.3) push(invoice('invoice.payment_failed', 'invoice_payment_failed_basil', 'open'));
        push(invoice('invoice.paid', 'invoice_paid_basil', 'paid'));
        push(make('invoice_payment_paid_basil', 'invoice_payment.paid', step(), (o) => {
          Object.assign(o, { id: ids('inpay'), amount_paid: amount, amount_requested: amount, currency: cur, invoice: inv, created: t - 5 });
          o.payment.payment_intent = p;
        }));
        push(charge('charge.succeeded', 'charge_succeeded_basil', c, p, { metadata: {} }));
        paid = { pi: p, ch: c, metadata: {} };
        break;
      }
      default: {
        const how = pick(rand, [['expired_session', 5], ['canceled', 3], ['auth_expired', 2]]);
        if (how === 'expired_session') {
          push(session('checkout.session.expired', 'checkout_session_expired_clover', ids('cs_test', 'a'), null, { paymentStatus: 'unpaid', status: 'expired' }));
        } else if (how === 'canceled') {
          const p = ids('pi');
          push(pi('payment_intent.created', 'pi_created_basil', p, { status: 'requires_payment_method' }));
          push(pi('payment_intent.canceled', 'pi_canceled_expired_basil', p, { status: 'canceled' }));
        } else {
          const [p, c] = [ids('pi'), ids('ch')];
          push(pi('payment_intent.created', 'pi_created_basil', p, { status: 'requires_payment_method' }));
          push(pi('payment_intent.amount_capturable_updated', 'pi_amount_capturable_updated_basil', p, { status: 'requires_capture', charge: c, capturable: amount }));
          step(7 * 86_400);
          push(charge('charge.expired', 'charge_expired_auth_basil', c, p, { captured: 0 }));
          push(pi('payment_intent.canceled', 'pi_canceled_expired_basil', p, { status: 'canceled', charge: c }));
        }
      }
    }

    if (paid && rand() < 0.24) {
      step(86_400);
      const count = rand() < 0.3 ? 2 : 1;
      let refundedSoFar = 0;
      for (let k = 0; k < count; k++) {
        const left = amount - refundedSoFar;
        const full = k === count - 1 && rand() < 0.35;
        const refund = full ? left : Math.max(1, Math.floor(left * (0.1 + rand() * 0.4)));
        const reId = ids('re', String.fromCharCode(97 + k));
        const withMeta = rand() < 0.2;
        const fails = rand() < 0.08;
        const created = step();
        push(make('refund_created_basil', 'refund.created', created, (o) => {
          Object.assign(o, {
            id: reId, amount: refund, currency: cur, charge: paid.ch, payment_intent: paid.pi, created,
            metadata: withMeta ? meta() : {}, status: fails ? 'pending' : 'succeeded',
          });
        }));
        if (fails) {
          push(make('refund_failed_basil', 'refund.failed', step(3600), (o) => {
            Object.assign(o, { id: reId, amount: refund, currency: cur, charge: paid.ch, payment_intent: paid.pi, created, metadata: withMeta ? meta() : {} });
          }));
          continue;
        }
        if (rand() < 0.6) {
          push(charge('charge.refunded', 'charge_refunded_partial_basil', paid.ch, paid.pi, {
            refunded: refundedSoFar + refund, previous: refundedSoFar, metadata: paid.metadata ?? meta(),
          }));
        }
        refundedSoFar += refund;
      }
    }
    if (paid && rand() < 0.06) {
      step(5 * 86_400);
      const dp = ids('dp');
      const disputed = amount - Math.floor(rand() * amount * 0.2);
      const created = step();
      const dispute = (type, name, status) =>
        make(name, type, type.endsWith('created') ? created : step(10 * 86_400), (o) => {
          Object.assign(o, { id: dp, amount: disputed, currency: cur, charge: paid.ch, payment_intent: paid.pi, created, status });
          if (o.balance_transactions?.length) {
            Object.assign(o.balance_transactions[0], { id: `txn_ld${n}dp`, amount: -disputed, currency: cur, net: -disputed - 1500, source: dp });
          }
        });
      const outcome = pick(rand, [['won', 4], ['lost', 4], ['prevented', 2]]);
      if (outcome !== 'prevented') push(dispute('charge.dispute.created', 'dispute_created_basil', 'needs_response'));
      push(dispute('charge.dispute.closed', outcome === 'prevented' ? 'dispute_closed_prevented_2025' : 'dispute_closed_lost_basil', outcome));
    }
    // Refunds and disputes without order metadata that overtake their payment: in 40 % of the
    // orders that have one, the first of them is delivered before everything else.
    const orphanable = evs.filter((e) => /^(refund|charge\.dispute)\./.test(e.type) && !JSON.parse(e.body).data.object.metadata?.order_id);
    if (orphanable.length && rand() < 0.4) orphanable[0].early = true;
    return { ref, flow, events: evs };
  }
}

/**
 * The delivery order of one order's events: shuffled, with an `early` event first (a refund or
 * dispute that overtakes its payment).
 */
export function deliveryOrder(order, rand) {
  const early = order.events.filter((e) => e.early);
  const rest = shuffle(order.events.filter((e) => !e.early), rand);
  return [...early, ...rest];
}
