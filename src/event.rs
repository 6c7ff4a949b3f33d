//! The Stripe event envelope and the parts of Stripe objects stripe-bridge reads.
//!
//! Reading is envelope first: [`Event::from_slice`] reads only `id`, `type`, `created`,
//! `livemode`, `account` and `api_version` (the last three leniently) and keeps `data.object` as
//! JSON text. [`Event::read_object`] reads the object later, and only for event types that are
//! mapped, so a foreign shape in an ignored event type can never refuse an event Stripe signed.
//! Inside an object, a field of an unexpected type is dropped unless the caller needs it; then
//! the object is [`Unreadable`], with the field's path (never its value).
//!
//! Every object field is optional and unknown fields are ignored, so the same types read events
//! of any API version: 2020-era shapes (`PaymentIntent.charges`, `Invoice.charge` /
//! `Invoice.payment_intent`, `Charge.refunds`) and 2022-11-15+ / 2025 "basil" shapes
//! (`PaymentIntent.latest_charge`, `Invoice.payments`, `Invoice.parent.subscription_details`,
//! `invoice_payment` objects, Checkout `collected_information`). Fields that can be either an
//! id or an expanded object are [`Expandable`].

use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;

/// Why an event could not be read at all: its envelope is not JSON, or has no `id`, `type` or
/// `created`. Only this refuses an event; problems inside `data.object` give [`Unreadable`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventError {
    /// What was wrong, without echoing values from the payload.
    pub message: String,
}

impl EventError {
    pub fn code(&self) -> &'static str {
        "malformed_event"
    }

    fn new(message: &str) -> Self {
        EventError {
            message: message.to_owned(),
        }
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
            Category::Data => "the event is not a JSON object with id, type and created",
        };
        EventError {
            message: format!("{what} (line {}, column {})", e.line(), e.column()),
        }
    }
}

/// Why a mapped event's `data.object` cannot be read. The event is still accepted: its record
/// has status `unreadable` and this reason; it never changes an order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreadable {
    /// The field path and what was wrong with it, never its value
    /// (`data.object.amount has an unexpected type`).
    pub reason: String,
}

impl fmt::Display for Unreadable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.reason)
    }
}

/// A Stripe event (`"object": "event"`): the envelope, and `data.object` as JSON text.
#[derive(Debug, Clone)]
pub struct Event {
    pub id: String,
    pub event_type: String,
    /// Unix seconds (thin v2 events' RFC 3339 `created` is converted).
    pub created: i64,
    pub livemode: bool,
    pub api_version: Option<String>,
    /// The connected account the event is about (Connect), if any.
    pub account: Option<String>,
    /// `data.object`, unparsed; `None` when the event carries none (thin v2 events).
    data_object: Option<Box<RawValue>>,
}

/// The envelope as it is read: everything but the three required fields is lenient. `O` is how
/// `data.object` is read: raw text ([`Event::from_slice`]) or the object itself
/// ([`Event::parse_with_object`]).
#[derive(Deserialize)]
#[serde(bound(deserialize = "O: Deserialize<'de>"))]
struct Envelope<O> {
    #[serde(default, deserialize_with = "lenient::string")]
    id: Option<String>,
    #[serde(rename = "type", default, deserialize_with = "lenient::string")]
    event_type: Option<String>,
    #[serde(default, deserialize_with = "lenient::time")]
    created: Option<i64>,
    #[serde(default, deserialize_with = "lenient::boolean")]
    livemode: Option<bool>,
    #[serde(default, deserialize_with = "lenient::string")]
    api_version: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    account: Option<String>,
    /// `data.object`, read in the same pass; `None` when `data` is not an object or has none.
    #[serde(default)]
    data: DataObject<O>,
}

impl<O> Envelope<O> {
    /// The event (without its raw object) and `data.object`, or why the envelope is refused.
    fn split(self) -> Result<(Event, Option<O>), EventError> {
        let id = self.id.filter(|s| !s.is_empty());
        let event_type = self.event_type.filter(|s| !s.is_empty());
        let (Some(id), Some(event_type)) = (id, event_type) else {
            return Err(EventError::new(
                "the event has no id or type (a non-empty string)",
            ));
        };
        let Some(created) = self.created else {
            return Err(EventError::new(
                "the event has no created time (Unix seconds or RFC 3339)",
            ));
        };
        let event = Event {
            id,
            event_type,
            created,
            livemode: self.livemode.unwrap_or(false),
            api_version: self.api_version,
            account: self.account,
            data_object: None,
        };
        Ok((event, self.data.0))
    }
}

/// `data.object` when `data` is a JSON object that has one (the last one wins); any other
/// `data` reads as absent.
struct DataObject<O>(Option<O>);

impl<O> Default for DataObject<O> {
    fn default() -> Self {
        DataObject(None)
    }
}

impl<'de, O: Deserialize<'de>> Deserialize<'de> for DataObject<O> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct DataVisitor<O>(PhantomData<O>);
        impl<'de, O: Deserialize<'de>> Visitor<'de> for DataVisitor<O> {
            type Value = DataObject<O>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("the event's data")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut object = None;
                while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                    if key == "object" {
                        object = Some(map.next_value::<O>()?);
                    } else {
                        map.next_value::<de::IgnoredAny>()?;
                    }
                }
                Ok(DataObject(object))
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                while seq.next_element::<de::IgnoredAny>()?.is_some() {}
                Ok(DataObject(None))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
                Ok(DataObject(None))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
                Ok(DataObject(None))
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
                Ok(DataObject(None))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
                Ok(DataObject(None))
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
                Ok(DataObject(None))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(DataObject(None))
            }
        }
        d.deserialize_any(DataVisitor(PhantomData))
    }
}

/// A [`StripeObject`] read only from a JSON object (serde's derived reader would also take an
/// array's items as the fields, in order). Boxed: the struct is large (over 2 KB), and moving
/// it through the envelope's layers by value cost a sixth of normalization in copies.
struct ObjectOnly(Box<StripeObject>);

impl<'de> Deserialize<'de> for ObjectOnly {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct ObjectVisitor;
        impl<'de> Visitor<'de> for ObjectVisitor {
            type Value = ObjectOnly;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a Stripe object")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<ObjectOnly, A::Error> {
                StripeObject::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(|object| ObjectOnly(Box::new(object)))
            }
        }
        d.deserialize_map(ObjectVisitor)
    }
}

impl Event {
    /// The envelope and `data.object` in one pass, when both read without the lenient reader
    /// (every well-formed event: the fast path of normalization). `None`: read them with
    /// [`Event::from_slice`] and [`Event::read_object`], which decide exactly what is wrong.
    /// The event returned carries no raw object ([`Event::object_json`] is `None`).
    pub fn parse_with_object(json: &[u8]) -> Option<(Event, Box<StripeObject>)> {
        // Read as text, so the object's reader is the one `read_object` uses (one copy of it
        // in the .wasm).
        let text = std::str::from_utf8(json).ok()?;
        let envelope: Envelope<ObjectOnly> = serde_json::from_str(text).ok()?;
        let (event, object) = envelope.split().ok()?;
        Some((event, object?.0))
    }

    /// Reads the envelope of an event from its JSON bytes. Refused only when the bytes are not
    /// a JSON object, or `id`, `type` or `created` is missing, empty or of the wrong type.
    /// A key given twice counts with its last value, as in `JSON.parse` and Stripe's libraries.
    pub fn from_slice(json: &[u8]) -> Result<Event, EventError> {
        match serde_json::from_slice::<Envelope<&RawValue>>(json) {
            Ok(envelope) => Event::from_envelope(envelope),
            Err(e) => match last_key_wins(json) {
                Some(text) => Event::from_envelope(serde_json::from_str(&text)?),
                None => Err(e.into()),
            },
        }
    }

    fn from_envelope(envelope: Envelope<&RawValue>) -> Result<Event, EventError> {
        let (mut event, raw) = envelope.split()?;
        event.data_object = raw
            .filter(|raw| raw.get() != "null")
            .map(RawValue::to_owned);
        Ok(event)
    }

    /// Whether the event carries a `data.object`.
    pub fn has_object(&self) -> bool {
        self.data_object.is_some()
    }

    /// `data.object` as JSON text, if the event carries one.
    pub fn object_json(&self) -> Option<&str> {
        self.data_object.as_deref().map(RawValue::get)
    }

    /// Reads `data.object` (`None` when the event has none). A field of an unexpected type is
    /// dropped, unless its name is in `needed`: then the object is [`Unreadable`].
    pub fn read_object(&self, needed: &[&str]) -> Result<Option<Box<StripeObject>>, Unreadable> {
        let Some(raw) = self.object_json() else {
            return Ok(None);
        };
        // serde's derived reader would take an array's items as the fields, in order.
        if !raw.trim_start().starts_with('{') {
            return Err(Unreadable {
                reason: "data.object is not a JSON object".to_owned(),
            });
        }
        if let Ok(ObjectOnly(object)) = serde_json::from_str::<ObjectOnly>(raw) {
            return Ok(Some(object));
        }
        read_leniently(raw, needed).map(Some)
    }
}

/// The envelope's JSON with each top-level key once (its last value), when it is a JSON object
/// (serde's derived reader refuses a repeated field; `data` keeps its last `object` itself).
fn last_key_wins(json: &[u8]) -> Option<String> {
    let fields: BTreeMap<String, &RawValue> = serde_json::from_slice(json).ok()?;
    serde_json::to_string(&fields).ok()
}

/// The slow path of [`Event::read_object`]: find the top-level fields that cannot be read (each
/// tried alone, with the same parser), refuse if one is needed, else read the rest.
fn read_leniently(raw: &str, needed: &[&str]) -> Result<Box<StripeObject>, Unreadable> {
    let fields: BTreeMap<String, &RawValue> =
        serde_json::from_str(raw).map_err(|_| Unreadable {
            reason: "data.object is not a JSON object".to_owned(),
        })?;
    let mut readable = String::with_capacity(raw.len());
    readable.push('{');
    for (name, value) in &fields {
        let key = serde_json::to_string(name).unwrap_or_default();
        let field = format!("{{{key}:{}}}", value.get());
        if serde_json::from_str::<ObjectOnly>(&field).is_err() {
            if needed.contains(&name.as_str()) {
                return Err(Unreadable {
                    reason: format!("data.object.{} has an unexpected type", printable(name)),
                });
            }
            continue;
        }
        if readable.len() > 1 {
            readable.push(',');
        }
        let inner = field.strip_prefix('{').and_then(|f| f.strip_suffix('}'));
        readable.push_str(inner.unwrap_or_default());
    }
    readable.push('}');
    serde_json::from_str::<ObjectOnly>(&readable)
        .map(|o| o.0)
        .map_err(|_| Unreadable {
            reason: "data.object could not be read".to_owned(),
        })
}

/// A field name as it may appear in a reason: Stripe's names are short ASCII identifiers;
/// anything else is shortened and stripped of control characters.
fn printable(name: &str) -> String {
    name.chars().filter(|c| !c.is_control()).take(64).collect()
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
    /// Charges: Radar's assessment (`risk_level`).
    pub outcome: Option<Outcome>,

    // Radar early fraud warnings and reviews.
    pub fraud_type: Option<String>,
    pub actionable: Option<bool>,
    pub open: Option<bool>,
    pub closed_reason: Option<String>,

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

    // Reporting API report runs and Files.
    pub report_type: Option<String>,
    /// A report run's file, once it succeeded.
    pub result: Option<Expandable<Ref>>,
    pub parameters: Option<ReportParameters>,
    /// A report run's error, when it failed.
    pub error: Option<String>,
}

/// The parameters of a report run that say what it covers.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, Deserialize)]
#[serde(default)]
pub struct ReportParameters {
    pub payout: Option<String>,
    pub currency: Option<String>,
    pub interval_start: Option<i64>,
    pub interval_end: Option<i64>,
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
    pub amount: Option<i64>,
    pub amount_captured: Option<i64>,
    pub captured: Option<bool>,
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

/// `Charge.outcome`: only Radar's risk level is read.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Outcome {
    pub risk_level: Option<String>,
    /// `issuer_declined`, `blocked`, `invalid`, `authorized`, ...
    #[serde(rename = "type")]
    pub outcome_type: Option<String>,
    /// For an issuer's decline, the decline code (`insufficient_funds`, ...).
    pub reason: Option<String>,
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

/// Lenient readers for envelope fields: a value of another type reads as absent (and is
/// consumed, whatever its nesting), so it can never fail the envelope.
mod lenient {
    use super::{de, fmt, parse_rfc3339, Deserializer, MapAccess, Visitor};

    /// A scalar seen where one was expected.
    enum Scalar {
        Bool(bool),
        Int(i64),
        Str(String),
        Other,
    }

    struct ScalarVisitor;

    impl<'de> Visitor<'de> for ScalarVisitor {
        type Value = Scalar;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("any JSON value")
        }
        fn visit_bool<E: de::Error>(self, v: bool) -> Result<Scalar, E> {
            Ok(Scalar::Bool(v))
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Scalar, E> {
            Ok(Scalar::Int(v))
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Scalar, E> {
            Ok(i64::try_from(v).map_or(Scalar::Other, Scalar::Int))
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Scalar, E> {
            Ok(Scalar::Other)
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Scalar, E> {
            Ok(Scalar::Str(v.to_owned()))
        }
        fn visit_string<E: de::Error>(self, v: String) -> Result<Scalar, E> {
            Ok(Scalar::Str(v))
        }
        fn visit_unit<E: de::Error>(self) -> Result<Scalar, E> {
            Ok(Scalar::Other)
        }
        fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Scalar, A::Error> {
            while seq.next_element::<de::IgnoredAny>()?.is_some() {}
            Ok(Scalar::Other)
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Scalar, A::Error> {
            while map
                .next_entry::<de::IgnoredAny, de::IgnoredAny>()?
                .is_some()
            {}
            Ok(Scalar::Other)
        }
    }

    fn scalar<'de, D: Deserializer<'de>>(d: D) -> Result<Scalar, D::Error> {
        d.deserialize_any(ScalarVisitor)
    }

    pub fn string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
        Ok(match scalar(d)? {
            Scalar::Str(s) => Some(s),
            _ => None,
        })
    }

    pub fn boolean<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
        Ok(match scalar(d)? {
            Scalar::Bool(b) => Some(b),
            _ => None,
        })
    }

    /// Event `created`: Unix seconds; thin (v2) events carry an RFC 3339 string instead.
    pub fn time<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
        Ok(match scalar(d)? {
            Scalar::Int(t) => Some(t),
            Scalar::Str(s) => parse_rfc3339(&s),
            _ => None,
        })
    }
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
        assert!(!e.has_object());
        assert!(!e.livemode);
        assert!(e.read_object(&[]).unwrap().is_none());
    }

    /// Found by the normalize fuzz target: a real event with its envelope keys given twice was
    /// refused ("not a JSON object with id, type and created"). JSON.parse, stripe-node and
    /// serde_json's Value read the last value of each key; so does the envelope now.
    #[test]
    fn repeated_envelope_keys_count_with_their_last_value() {
        let json = br#"{"id":"evt_1","type":"charge.failed","created":1,"livemode":true,
            "data":{"object":{"id":"ch_old"}},"type":"charge.succeeded","created":1700000000,
            "livemode":false,"data":{"object":{"id":"ch_1","object":"charge","amount":10}},"id":"evt_2"}"#;
        let oracle: serde_json::Value = serde_json::from_slice(json).unwrap();
        let event = Event::from_slice(json).unwrap();
        assert_eq!(event.id, oracle["id"].as_str().unwrap());
        assert_eq!(event.event_type, oracle["type"].as_str().unwrap());
        assert_eq!(Some(event.created), oracle["created"].as_i64());
        assert_eq!(Some(event.livemode), oracle["livemode"].as_bool());
        let object = event.read_object(&[]).unwrap().unwrap();
        assert_eq!(
            object.id.as_deref(),
            oracle["data"]["object"]["id"].as_str()
        );
        // Still refused when the last value of a required key is unreadable.
        let err = Event::from_slice(br#"{"id":"evt_1","type":"t","created":1,"id":7}"#);
        assert!(err.is_err());
    }

    #[test]
    fn envelope_is_read_leniently() {
        let e = Event::from_slice(
            br#"{"id":"evt_1","type":"x.y","created":5,"livemode":"yes","account":{"id":1},
                 "api_version":7,"data":"not an object","request":[1,{"a":[]}]}"#,
        )
        .unwrap();
        assert!(!e.livemode);
        assert_eq!(e.account, None);
        assert_eq!(e.api_version, None);
        assert!(!e.has_object());
        let e =
            Event::from_slice(br#"{"id":"evt_1","type":"x.y","created":5,"data":{"object":null}}"#)
                .unwrap();
        assert!(!e.has_object());
    }

    #[test]
    fn foreign_fields_are_dropped_unless_needed() {
        let e = Event::from_slice(
            br#"{"id":"evt_1","type":"x.y","created":5,"data":{"object":
                {"id":"cn_1","object":"credit_note","amount":{"value":5},"refunds":[{"refund":"re_1"}],"currency":"usd"}}}"#,
        )
        .unwrap();
        let o = e.read_object(&["id", "currency"]).unwrap().unwrap();
        assert_eq!(o.id.as_deref(), Some("cn_1"));
        assert_eq!(o.amount, None);
        assert!(o.refunds.is_none());
        assert_eq!(o.currency.as_deref(), Some("usd"));
        let err = e.read_object(&["amount"]).unwrap_err();
        assert_eq!(err.reason, "data.object.amount has an unexpected type");
        let e = Event::from_slice(
            br#"{"id":"evt_1","type":"x.y","created":5,"data":{"object":"SECRET-ish"}}"#,
        )
        .unwrap();
        let err = e.read_object(&[]).unwrap_err();
        assert!(!err.reason.contains("SECRET"), "{err}");
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
        let e = Event::from_slice(
            br#"{"id":"evt_1","type":"x","created":1,"data":{"object":{"amount":"secret-ish"}}}"#,
        )
        .unwrap();
        let err = e.read_object(&["amount"]).unwrap_err();
        assert!(!err.to_string().contains("secret-ish"), "{err}");
        let err =
            Event::from_slice(br#"{"id":"evt_1","type":"x","created":4242424242424242424242}"#)
                .unwrap_err();
        assert!(!err.to_string().contains("4242"), "{err}");
        let err = Event::from_slice(br#"{"id":"evt_1","type":"x","created":1,"x":"SECRET-PII"#)
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
