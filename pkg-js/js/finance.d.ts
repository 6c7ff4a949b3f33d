// Types of stripe-bridge/finance in Node and Workers: the pure functions plus the client that
// reads a payout from Stripe's API.
import type { StripeClientOptions } from './payments.js';
import type { Reconciliation } from './finance-api.js';

export * from './finance-api.js';
export { StripeApiError, StripeAPIError, StripeAuthenticationError, StripeConnectionError, StripeInvalidRequestError, StripePermissionError, StripeRateLimitError, StripeClientOptions } from './payments.js';

/**
 * Reconciles a payout from Stripe's API: the payout, every page of its balance transactions
 * (100 per page, sources expanded), and the charges/PaymentIntents that name the orders of
 * older payments; retried like every call of the client.
 */
export function fetchPayoutReconciliation(payoutId: string, options: StripeClientOptions): Promise<Reconciliation>;
