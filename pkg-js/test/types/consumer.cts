// A typed CommonJS consumer.
import sb = require('stripe-bridge');
import targets = require('stripe-bridge/targets');

const record: sb.NormalizedRecord = sb.normalizeEvent('{}', { mode: 'test', accounts: ['platform'] });
const state: sb.OrderState = targets.mergeOrderState(null, record);
const again: targets.OrderState = targets.upgradeOrderState(state);
const version: 2 = state.schema_version;
const cents: number = sb.toMinorUnits('1.00', 'eur');
const err: typeof sb.StripeSignatureVerificationError = sb.StripeSignatureVerificationError;
import pay = require('stripe-bridge/payments');
const request: pay.StripeRequest = pay.buildPaymentIntent({ id: '1', currency: 'jpy', lines: [{ name: 'Tea', quantity: 1, unit_price: '500' }], total: '500' });
const session: Promise<pay.CheckoutSession> = pay.createCheckoutSession({ id: '1', currency: 'jpy', lines: [], total: '0' }, { apiKey: 'sk_test_1' });
export = { record, state, again, version, cents, err, request, session };
