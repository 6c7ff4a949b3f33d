//! A payout reconciliation mapped onto the targets: ERP journal, nopCommerce notes, Salesforce
//! records, order feed settlement entries.
