// A typed CommonJS consumer.
import sb = require('stripe-bridge');

const record: sb.NormalizedRecord = sb.normalizeEvent('{}');
const cents: number = sb.toMinorUnits('1.00', 'eur');
const err: typeof sb.StripeSignatureVerificationError = sb.StripeSignatureVerificationError;
export = { record, cents, err };
