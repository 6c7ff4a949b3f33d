//! The Stripe event envelope and the parts of Stripe objects stripe-bridge reads.
//!
//! Every field is optional and unknown fields are ignored, so the same types read events of
//! any API version: 2020-era shapes (`PaymentIntent.charges`, `Invoice.charge` /
//! `Invoice.payment_intent`, `Charge.refunds`) and 2022-11-15+ / 2025 "basil" shapes
//! (`PaymentIntent.latest_charge`, `Invoice.payments`, `Invoice.parent.subscription_details`,
//! `invoice_payment` objects, Checkout `collected_information`). Fields that can be either an
//! id or an expanded object are [`Expandable`].

use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;

/// Why an event could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventError {
    /// What was wrong, without echoing values from the payload.
    pub message: String,
}

impl EventError {
    pub fn code(&self) -> &'static str {
        "malformed_event"
    }
}

impl fmt::Display for EventError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "malformed Stripe event: {}", self.message)
    }
}

impl std::error::Error for EventError {}

impl From<serde_json::Error> for EventError {
    /// The message names the kind of problem and where it is, never a value from the payload
    /// (serde_json's own messages quote the offending value).
    fn from(e: serde_json::Error) -> Self {
        use serde_json::error::Category;
        let what = match e.classify() {
            Category::Io => "the event could not be read",
            Category::Syntax => "the event is not valid JSON",
            Category::Eof => "the event JSON ends too early",
            Category::Data => "a field has the wrong type, a value is out of range, or a required field (id, type, created) is missing",
        };
        EventError {
            message: format!("{what} (line {}, column {})", e.line(), e.column()),
        }
    }
}

/// A Stripe event (`"object": "event"`).
#[derive(Debug, Clone, Deserialize)]
pub struct Event {
    pub id: String,
    #[serde(rename = "type")]
    pub event_type: String,
    #[serde(deserialize_with = "unix_time")]
    pub created: i64,
    #[serde(default)]
    pub livemode: bool,
    #[serde(default)]
    pub api_version: Option<String>,
    /// The connected account the event is about (Connect), if any.
    #[serde(default)]
    pub account: Option<String>,
    #[serde(default)]
    pub data: Option<EventData>,
}

impl Event {
    /// Parses an event from its JSON bytes.
    pub fn from_slice(json: &[u8]) -> Result<Event, EventError> {
        let event: Event = serde_json::from_slice(json)?;
        if event.id.is_empty() || event.event_type.is_empty() {
            return Err(EventError {
                message: "the event has an empty id or type".into(),
            });
        }
        Ok(event)
    }

    /// The object the event is about (`data.object`), if the event carries one
    /// (thin events of the v2 API do not).
    pub fn object(&self) -> Option<&StripeObject> {
        self.data.as_ref().map(|d| &d.object)
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct EventData {
    pub object: StripeObject,
}

/// The fields of Stripe objects that stripe-bridge reads: one struct for all object types,
/// each field present only on the objects that have it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct StripeObject {
    pub id: Option<String>,
    pub object: Option<String>,
    pub status: Option<String>,
    pub currency: Option<String>,
    pub created: Option<i64>,
    pub metadata: Metadata,
    pub customer: Option<Expandable<Ref>>,
    pub description: Option<String>,

    // Amounts (minor units).
    pub amount: Option<i64>,
    pub amount_received: Option<i64>,
    pub amount_capturable: Option<i64>,
    pub amount_captured: Option<i64>,
    pub amount_refunded: Option<i64>,
    pub amount_total: Option<i64>,
    pub amount_due: Option<i64>,
    pub amount_paid: Option<i64>,
    pub amount_remaining: Option<i64>,
    pub amount_requested: Option<i64>,
    pub total: Option<i64>,

    // Links to other objects.
    pub payment_intent: Option<Expandable<Ref>>,
    pub charge: Option<Expandable<Ref>>,
    pub latest_charge: Option<Expandable<ChargeSummary>>,
    /// Pre-2022-11-15 PaymentIntents: the list of charges, newest first.
    pub charges: Option<List<ChargeSummary>>,
    pub invoice: Option<Expandable<Ref>>,
    pub subscription: Option<Expandable<Ref>>,
    pub dispute: Option<Expandable<Ref>>,
    pub balance_transaction: Option<Expandable<BalanceTransaction>>,
    /// Disputes: the balance transactions (withdrawal, reinstatement) with their fees.
    pub balance_transactions: Option<Vec<BalanceTransaction>>,
    /// Pre-2022-11-15 Charges: the list of refunds, newest first (only ids are read).
    pub refunds: Option<List<Ref>>,

    // Charge / PaymentIntent details.
    pub paid: Option<bool>,
    pub captured: Option<bool>,
    pub refunded: Option<bool>,
    pub disputed: Option<bool>,
    pub payment_method_details: Option<TypeOnly>,
    pub payment_method_types: Option<Vec<String>>,
    pub failure_code: Option<String>,
    pub failure_message: Option<String>,
    pub failure_reason: Option<String>,
    pub last_payment_error: Option<PaymentError>,
    pub cancellation_reason: Option<String>,
    pub reason: Option<String>,
    pub destination_details: Option<TypeOnly>,

    // Checkout Sessions.
    pub payment_status: Option<String>,
    pub client_reference_id: Option<String>,
    pub customer_email: Option<String>,
    pub customer_details: Option<CustomerDetails>,
    pub mode: Option<String>,

    // Invoices (2020 shapes and 2025-03-31.basil shapes).
    pub number: Option<String>,
    pub subscription_details: Option<SubscriptionDetails>,
    pub parent: Option<InvoiceParent>,
    pub payments: Option<List<InvoicePayment>>,
    /// `invoice_payment` objects: what paid the invoice.
    pub payment: Option<PaymentRef>,
    pub status_transitions: Option<StatusTransitions>,

    // Payouts.
    pub arrival_date: Option<i64>,
    pub method: Option<String>,

    // Customers.
    pub email: Option<String>,
    pub name: Option<String>,
    pub deleted: Option<bool>,
}

impl StripeObject {
    /// A metadata value by key, ignoring empty values.
    pub fn meta(&self, key: &str) -> Option<&str> {
        self.metadata.get(key)
    }
}

/// The fields read from a charge inside a PaymentIntent (`latest_charge` when expanded, or an
/// entry of the pre-2022-11-15 `charges` list). A separate, flat type keeps [`StripeObject`]
/// non-recursive, so nesting in the input cannot deepen the parser's stack.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ChargeSummary {
    pub id: Option<String>,
    pub amount_refunded: Option<i64>,
    pub balance_transaction: Option<Expandable<BalanceTransaction>>,
    pub payment_method_details: Option<TypeOnly>,
}

impl HasId for ChargeSummary {
    fn object_id(&self) -> Option<&str> {
        self.id.as_deref()
    }
}

/// An object reference: only its id is read.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Ref {
    pub id: Option<String>,
}

/// A field that is an id, or the object itself when expanded.
#[derive(Debug, Clone)]
pub enum Expandable<T> {
    Id(String),
    Object(T),
}

/// Objects that have an id.
pub trait HasId {
    fn object_id(&self) -> Option<&str>;
}

impl HasId for Ref {
    fn object_id(&self) -> Option<&str> {
        self.id.as_deref()
    }
}
impl HasId for StripeObject {
    fn object_id(&self) -> Option<&str> {
        self.id.as_deref()
    }
}
impl HasId for BalanceTransaction {
    fn object_id(&self) -> Option<&str> {
        self.id.as_deref()
    }
}

impl<T: HasId> Expandable<T> {
    pub fn id(&self) -> Option<&str> {
        match self {
            Expandable::Id(id) => Some(id.as_str()),
            Expandable::Object(o) => o.object_id(),
        }
        .filter(|id| !id.is_empty())
    }

    pub fn expanded(&self) -> Option<&T> {
        match self {
            Expandable::Id(_) => None,
            Expandable::Object(o) => Some(o),
        }
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Expandable<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ExpandableVisitor<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for ExpandableVisitor<T> {
            type Value = Expandable<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an id string or an expanded object")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Expandable::Id(v.to_owned()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(Expandable::Id(v))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                T::deserialize(de::value::MapAccessDeserializer::new(map)).map(Expandable::Object)
            }
        }
        deserializer.deserialize_any(ExpandableVisitor(PhantomData))
    }
}

/// A Stripe list object: only `data` is read.
#[derive(Debug, Clone, Deserialize)]
pub struct List<T> {
    #[serde(default = "Vec::new")]
    pub data: Vec<T>,
}

/// Metadata: string keys to string values. Non-string values (never sent by Stripe) are
/// kept as their JSON text for numbers and booleans and dropped otherwise.
#[derive(Debug, Clone, Default)]
pub struct Metadata(pub Vec<(String, String)>);

impl Metadata {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.trim().is_empty())
    }
}

impl<'de> Deserialize<'de> for Metadata {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct MetadataVisitor;
        impl<'de> Visitor<'de> for MetadataVisitor {
            type Value = Metadata;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a metadata object")
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(Metadata::default())
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut entries = Vec::new();
                while let Some((key, MetaValue(value))) = map.next_entry::<String, MetaValue>()? {
                    if let Some(value) = value {
                        entries.push((key, value));
                    }
                }
                Ok(Metadata(entries))
            }
        }
        deserializer.deserialize_any(MetadataVisitor)
    }
}

/// One metadata value: strings as they are, integers and booleans as text, anything else dropped.
struct MetaValue(Option<String>);

impl<'de> Deserialize<'de> for MetaValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct MetaValueVisitor;
        impl<'de> Visitor<'de> for MetaValueVisitor {
            type Value = MetaValue;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a metadata value")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<MetaValue, E> {
                Ok(MetaValue(Some(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<MetaValue, E> {
                Ok(MetaValue(Some(v)))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<MetaValue, E> {
                Ok(MetaValue(Some(v.to_string())))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<MetaValue, E> {
                Ok(MetaValue(Some(v.to_string())))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<MetaValue, E> {
                Ok(MetaValue(Some(v.to_string())))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<MetaValue, E> {
                Ok(MetaValue(None))
            }
            fn visit_unit<E: de::Error>(self) -> Result<MetaValue, E> {
                Ok(MetaValue(None))
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<MetaValue, A::Error> {
                while seq.next_element::<de::IgnoredAny>()?.is_some() {}
                Ok(MetaValue(None))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<MetaValue, A::Error> {
                while map
                    .next_entry::<de::IgnoredAny, de::IgnoredAny>()?
                    .is_some()
                {}
                Ok(MetaValue(None))
            }
        }
        deserializer.deserialize_any(MetaValueVisitor)
    }
}

/// An object of which only the `type` is read (`payment_method_details`, `destination_details`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct TypeOnly {
    #[serde(rename = "type")]
    pub kind: Option<String>,
}

/// `PaymentIntent.last_payment_error`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct PaymentError {
    pub code: Option<String>,
    pub decline_code: Option<String>,
    pub message: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub payment_method: Option<Expandable<PaymentMethodRef>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct PaymentMethodRef {
    pub id: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
}

impl HasId for PaymentMethodRef {
    fn object_id(&self) -> Option<&str> {
        self.id.as_deref()
    }
}

/// A balance transaction: the money that actually moved, in the settlement currency.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct BalanceTransaction {
    pub id: Option<String>,
    pub amount: Option<i64>,
    pub fee: Option<i64>,
    pub net: Option<i64>,
    pub currency: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub source: Option<Expandable<Ref>>,
    pub reporting_category: Option<String>,
    pub available_on: Option<i64>,
    pub created: Option<i64>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct CustomerDetails {
    pub email: Option<String>,
    pub name: Option<String>,
}

/// `Invoice.subscription_details` (2020 shape) and `parent.subscription_details` (basil).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct SubscriptionDetails {
    pub metadata: Metadata,
    pub subscription: Option<Expandable<Ref>>,
}

/// `Invoice.parent` (2025-03-31.basil and later).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct InvoiceParent {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub subscription_details: Option<SubscriptionDetails>,
}

/// An entry of `Invoice.payments` (basil), or the shape of an `invoice_payment` object.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct InvoicePayment {
    pub id: Option<String>,
    pub amount_paid: Option<i64>,
    pub amount_requested: Option<i64>,
    pub currency: Option<String>,
    pub is_default: Option<bool>,
    pub status: Option<String>,
    pub payment: Option<PaymentRef>,
}

/// What paid an invoice: `{ "type": "payment_intent" | "charge", "payment_intent": ..., "charge": ... }`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct PaymentRef {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub payment_intent: Option<Expandable<Ref>>,
    pub charge: Option<Expandable<Ref>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct StatusTransitions {
    pub paid_at: Option<i64>,
    pub canceled_at: Option<i64>,
}

/// Event `created` is a Unix time; thin (v2) events carry an RFC 3339 string instead.
fn unix_time<'de, D: Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
    struct TimeVisitor;
    impl Visitor<'_> for TimeVisitor {
        type Value = i64;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a Unix timestamp or an RFC 3339 date-time")
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<i64, E> {
            Ok(v)
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<i64, E> {
            i64::try_from(v).map_err(|_| E::custom("timestamp out of range"))
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<i64, E> {
            parse_rfc3339(v).ok_or_else(|| E::custom("created is not an RFC 3339 date-time"))
        }
    }
    deserializer.deserialize_any(TimeVisitor)
}

/// Parses `YYYY-MM-DDTHH:MM:SS[.fff](Z|±HH:MM)` to Unix seconds (fractions dropped).
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    let num = |range: std::ops::Range<usize>| -> Option<i64> {
        let part = b.get(range)?;
        if part.is_empty() || !part.iter().all(u8::is_ascii_digit) {
            return None;
        }
        std::str::from_utf8(part).ok()?.parse().ok()
    };
    let sep = |i: usize, allowed: &[u8]| b.get(i).is_some_and(|c| allowed.contains(c));
    if !(sep(4, b"-") && sep(7, b"-") && sep(10, b"Tt ") && sep(13, b":") && sep(16, b":")) {
        return None;
    }
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 {
        return None;
    }
    if second > 60 {
        return None;
    }
    let mut rest = 19;
    if b.get(rest) == Some(&b'.') {
        rest += 1;
        while b.get(rest).is_some_and(u8::is_ascii_digit) {
            rest += 1;
        }
    }
    let offset = match b.get(rest..)? {
        [b'Z'] | [b'z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let digits = [*h1, *h2, *m1, *m2];
            if !digits.iter().all(u8::is_ascii_digit) {
                return None;
            }
            let h = i64::from(h1 - b'0') * 10 + i64::from(h2 - b'0');
            let m = i64::from(m1 - b'0') * 10 + i64::from(m2 - b'0');
            let off = h * 3600 + m * 60;
            if *sign == b'+' {
                off
            } else {
                -off
            }
        }
        _ => return None,
    };
    let days = days_from_civil(year, month, day);
    Some(days * 86_400 + hour * 3600 + minute * 60 + second - offset)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_minimal_event() {
        let e = Event::from_slice(br#"{"id":"evt_1","type":"x.y","created":5}"#).unwrap();
        assert_eq!(e.id, "evt_1");
        assert_eq!(e.event_type, "x.y");
        assert!(e.object().is_none());
        assert!(!e.livemode);
    }

    #[test]
    fn expandable_reads_ids_and_objects() {
        let o: StripeObject = serde_json::from_str(
            r#"{"customer":"cus_1","payment_intent":{"id":"pi_1","amount":5},
                "balance_transaction":{"id":"txn_1","fee":30,"net":970,"currency":"usd"},
                "latest_charge":{"id":"ch_1","payment_method_details":{"type":"card"}},
                "charge":null}"#,
        )
        .unwrap();
        assert_eq!(o.customer.unwrap().id(), Some("cus_1"));
        assert_eq!(o.payment_intent.unwrap().id(), Some("pi_1"));
        let bt = o.balance_transaction.unwrap();
        assert_eq!(bt.id(), Some("txn_1"));
        assert_eq!(bt.expanded().unwrap().fee, Some(30));
        let ch = o.latest_charge.unwrap();
        assert_eq!(ch.id(), Some("ch_1"));
        assert_eq!(
            ch.expanded()
                .unwrap()
                .payment_method_details
                .as_ref()
                .unwrap()
                .kind
                .as_deref(),
            Some("card")
        );
        assert!(o.charge.is_none());
    }

    #[test]
    fn metadata_tolerates_odd_values() {
        let o: StripeObject = serde_json::from_str(
            r#"{"metadata":{"order_id":"A1","n":5,"b":true,"x":null,"o":{},"empty":" "}}"#,
        )
        .unwrap();
        assert_eq!(o.meta("order_id"), Some("A1"));
        assert_eq!(o.meta("n"), Some("5"));
        assert_eq!(o.meta("b"), Some("true"));
        assert_eq!(o.meta("x"), None);
        assert_eq!(o.meta("empty"), None);
        let o: StripeObject = serde_json::from_str(r#"{"metadata":null}"#).unwrap();
        assert_eq!(o.meta("order_id"), None);
    }

    #[test]
    fn errors_do_not_echo_payload_values() {
        let err = Event::from_slice(br#"{"id":"evt_1","type":"x","created":"4242424242424242"}"#)
            .unwrap_err();
        assert!(!err.to_string().contains("4242"), "{err}");
        let err = Event::from_slice(
            br#"{"id":"evt_1","type":"x","created":1,"data":{"object":{"amount":"secret-ish"}}}"#,
        )
        .unwrap_err();
        assert!(!err.to_string().contains("secret-ish"), "{err}");
        let err =
            Event::from_slice(br#"{"id":"evt_1","type":"x","created":4242424242424242424242}"#)
                .unwrap_err();
        assert!(!err.to_string().contains("4242"), "{err}");
        let err = Event::from_slice(
            br#"{"id":"evt_1","type":"x","created":1,"data":{"object":{"amount":"x\"SECRET-PII"}}}"#,
        )
        .unwrap_err();
        assert!(!err.to_string().contains("SECRET"), "{err}");
        assert!(err.to_string().contains("line 1"), "{err}");
        assert!(Event::from_slice(b"not json").is_err());
        assert!(Event::from_slice(br#"{"id":"","type":"x","created":1}"#).is_err());
        assert!(Event::from_slice(br#"{"type":"x","created":1}"#).is_err());
    }

    #[test]
    fn rfc3339_times() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            parse_rfc3339("2024-02-29T12:00:00.123Z"),
            Some(1_709_208_000)
        );
        assert_eq!(
            parse_rfc3339("2024-02-29T14:00:00+02:00"),
            Some(1_709_208_000)
        );
        assert_eq!(parse_rfc3339("2024-02-29T12:00:00"), None);
        assert_eq!(parse_rfc3339("2024-13-01T00:00:00Z"), None);
        assert_eq!(parse_rfc3339("garbage"), None);
        let e = Event::from_slice(
            br#"{"id":"evt_1","object":"v2.core.event","type":"v1.billing.meter.error_report_triggered","created":"2024-09-17T06:20:52.246Z"}"#,
        )
        .unwrap();
        assert_eq!(e.created, 1_726_554_052);
    }
}
