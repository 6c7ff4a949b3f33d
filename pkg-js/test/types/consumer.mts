// A typed ESM consumer: `tsc --noEmit` must accept it (and reject the @ts-expect-error lines).
import {
  constructEvent,
  verifyAndNormalize,
  verifyAndNormalizeAsync,
  verifyHeaderAsync,
  normalizeEvent,
  generateTestHeader,
  toMinorUnits,
  fromMinorUnits,
  currencyExponent,
  verifyHeader,
  StripeSignatureVerificationError,
  StripeBridgeError,
  DEFAULT_TOLERANCE,
  type NormalizedRecord,
  type OrderState,
  type Status,
  type ErrorKind,
  verifyStandardWebhook,
  signStandardWebhook,
  statusConcern,
  type Concern,
  type OrderAttempt,
  type OrderStateV1,
  type NormalizeOptions,
} from 'stripe-bridge';
import * as main from 'stripe-bridge';
import { fetchPayoutReconciliation, reconcilePayout, balanceSummaryFromReport, type Reconciliation } from 'stripe-bridge/finance';
import {
  mergeOrderState,
  upgradeOrderState,
  mapToTarget,
  planNopCommerceUpdate,
  loadProfile,
  NOP_PAYMENT_STATUS,
  NOP_SHIPPING_STATUS,
  type NopOrder,
  type NopPlan,
  type SalesforceComposite,
  type OrderState as TargetsOrderState,
  type OrderStateV1 as TargetsOrderStateV1,
} from 'stripe-bridge/targets';
import {
  buildCheckoutSession,
  buildPaymentIntent,
  createCheckoutSession,
  createPaymentIntent,
  paymentLinkUrl,
  StripeCardError,
  StripePaymentRequestError,
  type PaymentOrder,
  type StripeRequest,
} from 'stripe-bridge/payments';

const body: string = '{}';
const header: string = generateTestHeader({ payload: body, secret: 'whsec_x', timestamp: 1 });
const event = constructEvent(body, header, ['whsec_x', 'whsec_y'], { tolerance: 600, now: new Date() });
const id: string = event.id;
const record: NormalizedRecord = verifyAndNormalize(Buffer.from(body), header, 'whsec_x', { orderKeys: ['order_id'], tolerance: false });
const status: Status = record.status;
const later: Promise<NormalizedRecord> = verifyAndNormalizeAsync(body, header, ['whsec_x'], { now: 1 });
const verified: Promise<true> = verifyHeaderAsync(body, header, 'whsec_x');
// @ts-expect-error the async variant gives a Promise, not a record
const notYet: NormalizedRecord = verifyAndNormalizeAsync(body, header, 'whsec_x');
const amount: string | null = record.amount;
const minor: number | null = record.amount_minor;
let state: OrderState | null = null;
state = mergeOrderState(state, record);
state = mergeOrderState(state, normalizeEvent(event));
const ok: true = verifyHeader(new Uint8Array(), header, 'whsec_x');
const cents: number = toMinorUnits('12.34', 'usd');
const text: string = fromMinorUnits(1234n, 'usd');
const exp: number = currencyExponent('jpy');
const tol: 300 = DEFAULT_TOLERANCE;

try {
  constructEvent(body, header, 'whsec_x');
} catch (e) {
  if (e instanceof StripeSignatureVerificationError) {
    const code: string = e.code;
    const type: string = e.type;
  } else if (e instanceof StripeBridgeError) {
    const kind: ErrorKind = e.kind;
  }
}

// The mode guard and the new statuses.
const guarded: NormalizedRecord = normalizeEvent(event, { mode: 'live', accounts: ['acct_1', 'platform'], orderKeys: ['order_guid'] });
const options: NormalizeOptions = { mode: 'test' };
const unreadable: Status = 'unreadable';
const flags: Status[] = ['fraud_warning', 'review_open', 'review_closed', 'dispute_prevented'];
const risk: string | null = guarded.risk_level;
const concern: Concern = statusConcern(guarded.status);
// @ts-expect-error not a mode
normalizeEvent(event, { mode: 'production' });
// @ts-expect-error accounts are acct_ ids or platform
normalizeEvent(event, { accounts: ['cus_1'] });

// Order state, schema version 2.
if (state) {
  const version: 2 = state.schema_version;
  const paidMinor: number | null = state.amount_paid_minor;
  const requested: string | null = state.amount_requested;
  const usd: number | undefined = state.totals['USD']?.paid_minor;
  const attempt: OrderAttempt | undefined = state.attempts[0];
  const attemptStatus: Status | null | undefined = attempt?.status;
  const conflicts: string[] = state.conflicts;
  const flagged: boolean = state.fraud_warning || state.review_open || state.overpaid;
  const refundStatus: Status | null | undefined = state.refunds['re_1']?.status;
  // @ts-expect-error version 1's fields are gone
  state.payment_intents;
}
// A stored version-1 state (e.g. from a database) is accepted and upgraded.
const stored: OrderStateV1 = JSON.parse('{}');
const upgraded: OrderState = mergeOrderState(stored, record);
// The state types are the same from either entry point; the functions only in stripe-bridge/targets.
const read: TargetsOrderState = upgradeOrderState(stored as TargetsOrderStateV1);
const same: OrderState = read;
// @ts-expect-error mergeOrderState moved to stripe-bridge/targets
main.mergeOrderState(null, record);
// @ts-expect-error upgradeOrderState moved to stripe-bridge/targets
main.upgradeOrderState(stored);

// @ts-expect-error amounts are strings, never floats
toMinorUnits(12.34, 'usd');
// @ts-expect-error tolerance is seconds or false
constructEvent(body, header, 'whsec_x', { tolerance: 'soon' });
// @ts-expect-error not a status
const wrong: Status = 'succeeded';

const headers = signStandardWebhook({ id: 'evt_1', payload: '{}', secret: 'whsec_c2VjcmV0' });
const forwarded: NormalizedRecord = verifyStandardWebhook('{}', headers, 'whsec_c2VjcmV0');
const nop = mapToTarget(record, 'nopcommerce');
const paidId: number | null | undefined = nop?.payment_status_id;
const sf: SalesforceComposite | null = mapToTarget(record, 'salesforce', { state: state ?? undefined });
const custom = mapToTarget(record, { fields: { order: { path: 'order_ref' } } });
const plan: NopPlan = planNopCommerceUpdate({ id: 1, order_total: '21.98', payment_status_id: NOP_PAYMENT_STATUS.Pending, order_status_id: 10 }, state!, record);
const row: NopOrder = {
  id: 2,
  order_total: '20.0000',
  currency: 'USD',
  customer_currency_code: 'EUR',
  currency_rate: '0.9000',
  shipping_status_id: NOP_SHIPPING_STATUS.ShippingNotRequired,
  payment_status_id: 10,
  order_status_id: 10,
};
const completed: 10 | 20 | 30 | 40 | null = planNopCommerceUpdate(row, upgraded, record).order_status_id;
// @ts-expect-error the rate is a decimal string or number
planNopCommerceUpdate({ ...row, currency_rate: true }, upgraded, record);
const loaded: true = loadProfile('erp');
// @ts-expect-error not a profile name
mapToTarget(record, 'nopcomerce');

const order: PaymentOrder = {
  id: '1001',
  currency: 'eur',
  lines: [{ name: 'Beans', quantity: 2, unit_price: '8.99' }],
  total: '17.98',
  success_url: 'https://shop.example.com/thanks',
};
const built: StripeRequest = buildCheckoutSession(order);
const key: string = built.idempotency_key;
const link: string = paymentLinkUrl('https://buy.stripe.com/test_1', { clientReferenceId: '1001' });
async function pay(): Promise<string | null> {
  try {
    const session = await createCheckoutSession(order, { apiKey: 'sk_test_1', maxRetries: 2 });
    const attempts: number = session.lastResponse.attempts;
    return session.url;
  } catch (e) {
    if (e instanceof StripeCardError) {
      const declined: string | undefined = e.decline_code;
      const requestId: string | undefined = e.requestId;
    } else if (e instanceof StripePaymentRequestError) {
      const field: string | undefined = e.field;
    }
    return null;
  }
}
// @ts-expect-error amounts are decimal strings
buildPaymentIntent({ ...order, total: 17.98 });
// @ts-expect-error the client needs an API key
createPaymentIntent(order, {});

export { id, status, amount, minor, ok, cents, text, exp, tol, wrong, forwarded, paidId, sf, custom, plan, loaded, key, link, pay };
export { options, unreadable, flags, risk, concern, completed, same };

// stripe-bridge/finance: a payout's reconciliation, typed.
async function payout(): Promise<string | null> {
  const r: Reconciliation = await fetchPayoutReconciliation('po_1', { apiKey: 'sk_test_1' });
  const local = reconcilePayout({ id: 'po_1', amount: 100, currency: 'usd' }, []);
  const balanced: boolean = r.balanced && local.balanced;
  const first: string | null = r.lines[0]?.order_ref ?? null;
  const summaries = balanceSummaryFromReport('category,description,net_amount,currency\n');
  const ending: number = summaries[0]?.ending_balance_minor ?? 0;
  return balanced ? first : String(ending);
}
// @ts-expect-error the client needs an API key
fetchPayoutReconciliation('po_1', {});

export { payout };
