//! Stripe's Reporting API files: itemized payout reconciliation and balance summary CSVs.
