//! Salesforce-style CRM: a Composite API request (`POST /services/data/vXX.X/composite`) that
//! upserts records by external-ID fields holding Stripe ids — the customer as Account and
//! Contact, the payment as a payment record (status picklist `paid`, `open`, `void`,
//! `refunded`, `disputed`; amount, currency, fee, net, payout), payouts as payout records.
//! Object and field API names come from [`SalesforceConfig`] (defaults below). Amounts are
//! exact JSON numbers (Salesforce number fields refuse strings), never floats.

use std::fmt::Write as _;

use rust_decimal::Decimal;
use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize, Serializer};
use serde_json::value::RawValue;

use crate::mapping::{iso8601, MappingError, View};
use crate::normalize::Status;

/// Object and field API names. Every field can be renamed; set a field to `""` to leave it out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SalesforceConfig {
    pub api_version: String,
    pub all_or_none: bool,
    pub account: AccountConfig,
    pub contact: ContactConfig,
    pub payment: PaymentConfig,
    pub payout: PayoutConfig,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AccountConfig {
    pub enabled: bool,
    pub object: String,
    pub external_id: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ContactConfig {
    pub enabled: bool,
    pub object: String,
    pub external_id: String,
    pub last_name: String,
    pub first_name: String,
    pub email: String,
    pub account: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PaymentConfig {
    pub object: String,
    pub external_id: String,
    pub status: String,
    pub amount: String,
    pub amount_refunded: String,
    pub currency: String,
    pub fee: String,
    pub net: String,
    pub payout: String,
    pub order_ref: String,
    pub charge: String,
    pub invoice: String,
    pub payment_method: String,
    pub last_event: String,
    pub last_event_at: String,
    pub account: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PayoutConfig {
    pub enabled: bool,
    pub object: String,
    pub external_id: String,
    pub status: String,
    pub amount: String,
    pub currency: String,
    pub arrival_date: String,
}

impl Default for SalesforceConfig {
    fn default() -> Self {
        SalesforceConfig {
            api_version: "v60.0".into(),
            all_or_none: true,
            account: AccountConfig::default(),
            contact: ContactConfig::default(),
            payment: PaymentConfig::default(),
            payout: PayoutConfig::default(),
        }
    }
}

impl Default for AccountConfig {
    fn default() -> Self {
        AccountConfig {
            enabled: true,
            object: "Account".into(),
            external_id: "Stripe_Customer_Id__c".into(),
            name: "Name".into(),
        }
    }
}

impl Default for ContactConfig {
    fn default() -> Self {
        ContactConfig {
            enabled: true,
            object: "Contact".into(),
            external_id: "Stripe_Customer_Id__c".into(),
            last_name: "LastName".into(),
            first_name: "FirstName".into(),
            email: "Email".into(),
            account: "AccountId".into(),
        }
    }
}

impl Default for PaymentConfig {
    fn default() -> Self {
        PaymentConfig {
            object: "Stripe_Payment__c".into(),
            external_id: "Stripe_Payment_Id__c".into(),
            status: "Status__c".into(),
            amount: "Amount__c".into(),
            amount_refunded: "Amount_Refunded__c".into(),
            currency: "Currency__c".into(),
            fee: "Fee__c".into(),
            net: "Net__c".into(),
            payout: "Payout_Id__c".into(),
            order_ref: "Order_Reference__c".into(),
            charge: "Stripe_Charge_Id__c".into(),
            invoice: "Stripe_Invoice_Id__c".into(),
            payment_method: "Payment_Method__c".into(),
            last_event: "Last_Stripe_Event__c".into(),
            last_event_at: "Last_Stripe_Event_At__c".into(),
            account: "Account__c".into(),
        }
    }
}

impl Default for PayoutConfig {
    fn default() -> Self {
        PayoutConfig {
            enabled: true,
            object: "Stripe_Payout__c".into(),
            external_id: "Stripe_Payout_Id__c".into(),
            status: "Status__c".into(),
            amount: "Amount__c".into(),
            currency: "Currency__c".into(),
            arrival_date: "Arrival_Date__c".into(),
        }
    }
}

/// A Salesforce API name (object or field): a letter, then letters, digits and `_`.
pub(crate) fn is_api_name(name: &str) -> bool {
    name.bytes().next().is_some_and(|b| b.is_ascii_alphabetic())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

impl SalesforceConfig {
    /// Reads overrides from JSON text (missing entries keep their defaults) and checks every name.
    pub fn from_json(text: &str) -> Result<Self, MappingError> {
        let config: SalesforceConfig = serde_json::from_str(text)
            .map_err(|e| MappingError::new("salesforce", e.to_string()))?;
        config.validate()?;
        Ok(config)
    }

    /// Checks every object and field name.
    pub fn validate(&self) -> Result<(), MappingError> {
        let version_ok = self
            .api_version
            .strip_prefix('v')
            .is_some_and(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit() || b == b'.'));
        if !version_ok {
            return Err(MappingError::new(
                "salesforce.api_version",
                "expected a version like \"v60.0\"",
            ));
        }
        let p = &self.payment;
        let a = &self.account;
        let c = &self.contact;
        let o = &self.payout;
        let names: [(&str, &str, bool); 31] = [
            ("account.object", &a.object, true),
            ("account.external_id", &a.external_id, true),
            ("account.name", &a.name, false),
            ("contact.object", &c.object, true),
            ("contact.external_id", &c.external_id, true),
            ("contact.last_name", &c.last_name, false),
            ("contact.first_name", &c.first_name, false),
            ("contact.email", &c.email, false),
            ("contact.account", &c.account, false),
            ("payment.object", &p.object, true),
            ("payment.external_id", &p.external_id, true),
            ("payment.status", &p.status, false),
            ("payment.amount", &p.amount, false),
            ("payment.amount_refunded", &p.amount_refunded, false),
            ("payment.currency", &p.currency, false),
            ("payment.fee", &p.fee, false),
            ("payment.net", &p.net, false),
            ("payment.payout", &p.payout, false),
            ("payment.order_ref", &p.order_ref, false),
            ("payment.charge", &p.charge, false),
            ("payment.invoice", &p.invoice, false),
            ("payment.payment_method", &p.payment_method, false),
            ("payment.last_event", &p.last_event, false),
            ("payment.last_event_at", &p.last_event_at, false),
            ("payment.account", &p.account, false),
            ("payout.object", &o.object, true),
            ("payout.external_id", &o.external_id, true),
            ("payout.status", &o.status, false),
            ("payout.amount", &o.amount, false),
            ("payout.currency", &o.currency, false),
            ("payout.arrival_date", &o.arrival_date, false),
        ];
        for (entry, name, required) in names {
            if (required || !name.is_empty()) && !is_api_name(name) {
                return Err(MappingError::new(
                    format!("salesforce.{entry}"),
                    format!("{name:?} is not a Salesforce API name (letters, digits, underscores)"),
                ));
            }
        }
        Ok(())
    }
}

/// The payment status picklist value for a record status.
pub fn payment_picklist(status: Status) -> Option<&'static str> {
    Some(match status {
        Status::Paid | Status::DisputeWon => "paid",
        Status::Pending | Status::RequiresAction | Status::Authorized | Status::Failed => "open",
        Status::Canceled | Status::Expired | Status::Void | Status::Uncollectible => "void",
        Status::PartiallyRefunded | Status::Refunded | Status::DisputePrevented => "refunded",
        Status::Disputed | Status::DisputeLost => "disputed",
        _ => return None,
    })
}

fn payout_picklist(status: Status) -> Option<&'static str> {
    Some(match status {
        Status::PayoutPaid => "paid",
        Status::PayoutPending => "pending",
        Status::PayoutFailed => "failed",
        Status::PayoutCanceled => "canceled",
        _ => return None,
    })
}

/// A record body: field name to raw JSON (strings quoted, amounts as exact numbers).
#[derive(Default)]
struct Body(Vec<(String, Box<RawValue>)>);

impl Body {
    fn text(&mut self, field: &str, value: Option<&str>) {
        if let (false, Some(v)) = (field.is_empty(), value) {
            if let Ok(raw) = RawValue::from_string(serde_json::to_string(v).unwrap_or_default()) {
                self.0.push((field.to_owned(), raw));
            }
        }
    }

    fn number(&mut self, field: &str, value: Option<Decimal>) {
        if let (false, Some(v)) = (field.is_empty(), value) {
            // A Decimal prints as a plain JSON number literal ("21.98", "-31.98", "5000").
            if let Ok(raw) = RawValue::from_string(v.to_string()) {
                self.0.push((field.to_owned(), raw));
            }
        }
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Serialize for Body {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Subrequest {
    method: &'static str,
    url: String,
    reference_id: &'static str,
    body: Body,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Composite {
    all_or_none: bool,
    composite_request: Vec<Subrequest>,
}

/// Percent-encodes an external id for the URL path (Stripe ids need none; be safe anyway).
fn path_segment(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

fn upsert(
    config: &SalesforceConfig,
    object: &str,
    external_id: &str,
    value: &str,
    reference_id: &'static str,
    body: Body,
) -> Subrequest {
    Subrequest {
        method: "PATCH",
        url: format!(
            "/services/data/{}/sobjects/{object}/{external_id}/{}",
            config.api_version,
            path_segment(value)
        ),
        reference_id,
        body,
    }
}

/// The Composite request for a record, as JSON text; `None` when nothing maps.
pub fn request_for(view: &View<'_>, config: &SalesforceConfig) -> Option<String> {
    let record = view.record;
    let status = view.status();
    let mut requests = Vec::new();
    let customer = record.customer_id.as_deref();
    let mut has_account = false;
    // Only events that know the customer's name or email write the Account (Salesforce needs
    // a name; a bare id would overwrite a real name depending on delivery order).
    let known_name = record
        .customer_name
        .as_deref()
        .or(record.customer_email.as_deref());
    if let (Some(customer), Some(name), true) = (customer, known_name, config.account.enabled) {
        let a = &config.account;
        let mut body = Body::default();
        body.text(&a.name, Some(name));
        requests.push(upsert(
            config,
            &a.object,
            &a.external_id,
            customer,
            "account",
            body,
        ));
        has_account = true;
    }
    if let (Some(customer), true) = (customer, config.contact.enabled) {
        if record.customer_email.is_some() || record.customer_name.is_some() {
            let c = &config.contact;
            let mut body = Body::default();
            let full = record.customer_name.as_deref().unwrap_or_default().trim();
            let (first, last) = match full.rsplit_once(' ') {
                Some((first, last)) => (Some(first), last),
                None if !full.is_empty() => (None, full),
                None => (None, record.customer_email.as_deref().unwrap_or(customer)),
            };
            body.text(&c.last_name, Some(last));
            body.text(&c.first_name, first);
            body.text(&c.email, record.customer_email.as_deref());
            if has_account {
                body.text(&c.account, Some("@{account.id}"));
            }
            requests.push(upsert(
                config,
                &c.object,
                &c.external_id,
                customer,
                "contact",
                body,
            ));
        }
    }
    let payment_key = view
        .payment_intent()
        .or(view.charge())
        .or(view.invoice())
        .or(record.checkout_session.as_deref());
    if let (Some(key), Some(picklist)) = (payment_key, payment_picklist(status)) {
        let p = &config.payment;
        let mut body = Body::default();
        body.text(&p.status, Some(picklist));
        // A refund's or dispute's own amount is not the payment's.
        if !view.amount_is_not_payment() {
            body.number(&p.amount, view.amount());
        }
        if view.consolidated() || record.object.as_deref() != Some("refund") {
            body.number(&p.amount_refunded, view.amount_refunded());
        }
        body.text(&p.currency, record.currency.as_deref());
        let (fee, net) = view.fee_and_net();
        body.number(&p.fee, fee);
        body.number(&p.net, net);
        body.text(&p.payout, record.payout.as_deref());
        body.text(&p.order_ref, view.order_ref());
        body.text(&p.charge, view.charge());
        body.text(&p.invoice, view.invoice());
        body.text(&p.payment_method, view.payment_method_type());
        let (last_event, last_at) = view.last_event();
        body.text(&p.last_event, Some(last_event));
        body.text(&p.last_event_at, Some(&iso8601(last_at)));
        if has_account {
            body.text(&p.account, Some("@{account.id}"));
        }
        requests.push(upsert(
            config,
            &p.object,
            &p.external_id,
            key,
            "payment",
            body,
        ));
    }
    if let (Some(payout), Some(picklist), true) = (
        record.payout.as_deref(),
        payout_picklist(status),
        config.payout.enabled,
    ) {
        let o = &config.payout;
        let mut body = Body::default();
        body.text(&o.status, Some(picklist));
        body.number(&o.amount, record.amount);
        body.text(&o.currency, record.currency.as_deref());
        body.text(&o.arrival_date, record.arrival_date.map(iso8601).as_deref());
        if !body.is_empty() {
            requests.push(upsert(
                config,
                &o.object,
                &o.external_id,
                payout,
                "payout",
                body,
            ));
        }
    }
    if requests.is_empty() {
        return None;
    }
    serde_json::to_string(&Composite {
        all_or_none: config.all_or_none,
        composite_request: requests,
    })
    .ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalize::{normalize_json, NormalizeOptions};
    use serde_json::Value;

    use crate::normalize::Record;

    fn sf(record: &Record, config: &SalesforceConfig) -> Option<String> {
        request_for(&View::new(record, None), config)
    }

    fn rec(json: &str) -> Record {
        normalize_json(json.as_bytes(), &NormalizeOptions::default()).unwrap()
    }

    fn checkout() -> Record {
        rec(
            r#"{"id":"evt_1","type":"checkout.session.completed","created":1735689121,"data":{"object":{"id":"cs_1","object":"checkout.session","status":"complete","payment_status":"paid","amount_total":2198,"currency":"usd","customer":"cus_1","customer_details":{"email":"jenny@example.com","name":"Jenny Rosen"},"payment_intent":"pi_1","client_reference_id":"1001"}}}"#,
        )
    }

    #[test]
    fn upserts_account_contact_and_payment_with_exact_numbers() {
        let text = sf(&checkout(), &SalesforceConfig::default()).unwrap();
        assert!(text.contains(r#""Amount__c":21.98"#), "{text}");
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["allOrNone"], true);
        let reqs = v["compositeRequest"].as_array().unwrap();
        assert_eq!(reqs.len(), 3);
        assert_eq!(
            reqs[0]["url"],
            "/services/data/v60.0/sobjects/Account/Stripe_Customer_Id__c/cus_1"
        );
        assert_eq!(reqs[0]["method"], "PATCH");
        assert_eq!(reqs[0]["body"]["Name"], "Jenny Rosen");
        assert_eq!(reqs[1]["body"]["LastName"], "Rosen");
        assert_eq!(reqs[1]["body"]["FirstName"], "Jenny");
        assert_eq!(reqs[1]["body"]["AccountId"], "@{account.id}");
        assert_eq!(
            reqs[2]["url"],
            "/services/data/v60.0/sobjects/Stripe_Payment__c/Stripe_Payment_Id__c/pi_1"
        );
        assert_eq!(reqs[2]["body"]["Status__c"], "paid");
        assert_eq!(reqs[2]["body"]["Currency__c"], "USD");
        assert_eq!(reqs[2]["body"]["Order_Reference__c"], "1001");
        assert_eq!(reqs[2]["referenceId"], "payment");
    }

    #[test]
    fn refunds_and_disputes_update_the_payment_record_status() {
        let refund = rec(
            r#"{"id":"evt_2","type":"charge.refunded","created":2,"data":{"object":{"id":"ch_1","object":"charge","amount":2198,"amount_refunded":500,"captured":true,"currency":"usd","status":"succeeded","payment_intent":"pi_1","balance_transaction":{"id":"txn_1","fee":94,"net":2104,"currency":"usd"}}}}"#,
        );
        let text = sf(&refund, &SalesforceConfig::default()).unwrap();
        assert!(text.contains(r#""Amount_Refunded__c":5.00"#), "{text}");
        assert!(text.contains(r#""Fee__c":0.94,"Net__c":21.04"#), "{text}");
        let v: Value = serde_json::from_str(&text).unwrap();
        let body = &v["compositeRequest"][0]["body"];
        assert_eq!(
            v["compositeRequest"][0]["url"],
            "/services/data/v60.0/sobjects/Stripe_Payment__c/Stripe_Payment_Id__c/pi_1"
        );
        assert_eq!(body["Status__c"], "refunded");
        let dispute = rec(
            r#"{"id":"evt_3","type":"charge.dispute.created","created":3,"data":{"object":{"id":"dp_1","object":"dispute","amount":2198,"currency":"usd","status":"needs_response","charge":"ch_1","payment_intent":"pi_1"}}}"#,
        );
        let v: Value =
            serde_json::from_str(&sf(&dispute, &SalesforceConfig::default()).unwrap()).unwrap();
        assert_eq!(v["compositeRequest"][0]["body"]["Status__c"], "disputed");
        assert!(v["compositeRequest"][0]["body"].get("Amount__c").is_none());
    }

    #[test]
    fn payouts_and_configured_names() {
        let payout = rec(
            r#"{"id":"evt_4","type":"payout.paid","created":4,"data":{"object":{"id":"po_1","object":"payout","amount":104512,"currency":"eur","status":"paid","arrival_date":1736208000}}}"#,
        );
        let text = sf(&payout, &SalesforceConfig::default()).unwrap();
        assert!(text.contains(r#""Amount__c":1045.12"#), "{text}");
        assert!(text.contains("Stripe_Payout__c/Stripe_Payout_Id__c/po_1"));
        let config = SalesforceConfig::from_json(
            &serde_json::json!({
                "api_version": "v61.0",
                "payment": {"object": "Payment__c", "amount": "Total__c", "fee": ""},
                "contact": {"enabled": false}
            })
            .to_string(),
        )
        .unwrap();
        let text = sf(&checkout(), &config).unwrap();
        assert!(
            text.contains("/services/data/v61.0/sobjects/Payment__c/Stripe_Payment_Id__c/pi_1"),
            "{text}"
        );
        assert!(text.contains(r#""Total__c":21.98"#));
        assert!(!text.contains("Contact"));
    }

    #[test]
    fn bad_configuration_names_the_entry() {
        let err = SalesforceConfig::from_json(
            &serde_json::json!({"payment": {"amount": "Amount c"}}).to_string(),
        )
        .unwrap_err();
        assert_eq!(err.entry, "salesforce.payment.amount");
        let err = SalesforceConfig::from_json(
            &serde_json::json!({"payment": {"amuont": "X"}}).to_string(),
        )
        .unwrap_err();
        assert!(err.message.contains("amuont"), "{err}");
        let err =
            SalesforceConfig::from_json(&serde_json::json!({"api_version": "60"}).to_string())
                .unwrap_err();
        assert_eq!(err.entry, "salesforce.api_version");
        let err = SalesforceConfig::from_json(
            &serde_json::json!({"payment": {"object": ""}}).to_string(),
        )
        .unwrap_err();
        assert_eq!(err.entry, "salesforce.payment.object");
    }

    #[test]
    fn nothing_to_send_for_unmapped_records() {
        let r = rec(
            r#"{"id":"evt_5","type":"setup_intent.succeeded","created":5,"data":{"object":{"id":"seti_1","object":"setup_intent"}}}"#,
        );
        assert_eq!(sf(&r, &SalesforceConfig::default()), None);
    }
}
