//! Target mappings: turn a normalized [`Record`] into the update a specific system expects.
//!
//! Built-in profiles: `nopcommerce` (nopCommerce's payment/order status ids, amounts, ids and
//! an order note), `salesforce` (a Composite API upsert request), `erp` (an order/invoice
//! status document), `order-feed` (a logistics/OMS payment line), `record` (the normalized
//! record itself), and custom JSON mappings ([`custom::CustomMapping`]).
//!
//! Every mapping returns JSON text (amounts exact: decimal strings, or exact JSON numbers
//! where the target needs numbers), or `None` when the record means nothing to the target
//! (an ignored event type, a customer update for an order feed, ...).

use std::fmt;

use rust_decimal::Decimal;
use serde::Deserialize;

use crate::normalize::{Concern, Record, Status};
use crate::state::OrderState;

pub mod custom;
pub mod erp;
pub mod nopcommerce;
pub mod order_feed;
pub mod payout;
pub mod salesforce;

/// A mapping that cannot be loaded or applied. `entry` names the offending part of a mapping
/// file (`fields.total`, `status_map.payed`, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MappingError {
    pub entry: String,
    pub message: String,
}

impl MappingError {
    pub fn new(entry: impl Into<String>, message: impl Into<String>) -> Self {
        MappingError {
            entry: entry.into(),
            message: message.into(),
        }
    }

    pub fn code(&self) -> &'static str {
        "invalid_mapping"
    }
}

impl fmt::Display for MappingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.entry.is_empty() {
            write!(f, "invalid mapping: {}", self.message)
        } else {
            write!(f, "invalid mapping: {}: {}", self.entry, self.message)
        }
    }
}

impl std::error::Error for MappingError {}

/// The profile names accepted by [`Profile::parse`].
pub const PROFILE_NAMES: &[&str] = &["record", "nopcommerce", "salesforce", "erp", "order-feed"];

/// A target profile.
#[derive(Debug, Clone)]
pub enum Profile {
    /// The normalized record, unchanged.
    Record,
    NopCommerce,
    Salesforce(Box<salesforce::SalesforceConfig>),
    Erp,
    OrderFeed,
    Custom(custom::CustomMapping),
}

/// A configured built-in profile given as JSON: `{"profile": "salesforce", "salesforce": {...}}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProfileFile {
    profile: String,
    #[serde(default)]
    salesforce: Option<salesforce::SalesforceConfig>,
}

impl Profile {
    /// A profile by name (`nopcommerce`, `salesforce`, `erp`, `order-feed`, `record`), or from
    /// JSON text (a configured built-in or a custom mapping).
    pub fn parse(name_or_json: &str) -> Result<Profile, MappingError> {
        let text = name_or_json.trim();
        if text.starts_with('{') {
            return Profile::from_json(text);
        }
        match text {
            "record" | "" => Ok(Profile::Record),
            "nopcommerce" => Ok(Profile::NopCommerce),
            "salesforce" => Ok(Profile::Salesforce(Box::default())),
            "erp" => Ok(Profile::Erp),
            "order-feed" | "order_feed" => Ok(Profile::OrderFeed),
            other => Err(MappingError::new(
                "profile",
                format!(
                    "unknown profile {:?}; expected one of {} or a JSON mapping",
                    other.chars().take(40).collect::<String>(),
                    PROFILE_NAMES.join(", ")
                ),
            )),
        }
    }

    fn from_json(text: &str) -> Result<Profile, MappingError> {
        let value: serde_json::Value = serde_json::from_str(text).map_err(|e| {
            MappingError::new(
                "",
                format!("not valid JSON (line {}, column {})", e.line(), e.column()),
            )
        })?;
        if value.get("profile").is_none() {
            return custom::CustomMapping::from_value(&value).map(Profile::Custom);
        }
        // Read from the text again (not from the Value): one deserializer kind keeps the
        // wasm smaller.
        let file: ProfileFile =
            serde_json::from_str(text).map_err(|e| MappingError::new("profile", e.to_string()))?;
        match (file.profile.as_str(), file.salesforce) {
            ("salesforce", Some(config)) => {
                config.validate()?;
                Ok(Profile::Salesforce(Box::new(config)))
            }
            (name, None) => Profile::parse(name),
            (_, Some(_)) => Err(MappingError::new(
                "salesforce",
                "only the salesforce profile takes a \"salesforce\" configuration",
            )),
        }
    }

    /// The profile's name, for logs and the CLI.
    pub fn name(&self) -> &str {
        match self {
            Profile::Record => "record",
            Profile::NopCommerce => "nopcommerce",
            Profile::Salesforce(_) => "salesforce",
            Profile::Erp => "erp",
            Profile::OrderFeed => "order-feed",
            Profile::Custom(m) => m.name.as_deref().unwrap_or("custom"),
        }
    }

    /// Maps one record to the target's JSON, or `None` when there is nothing to send. Each
    /// output describes its own event: a receiver applying them must cope with Stripe's
    /// delivery order itself (or use [`Profile::map_with_state`]).
    pub fn map(&self, record: &Record) -> Result<Option<String>, MappingError> {
        self.map_view(record, None)
    }

    /// Maps a record after merging it into its order's `state`: status, amounts, ids and the
    /// latest event come from the merged state, so the last output is the same whatever order
    /// the events arrived in, and a duplicate gives the same output again.
    pub fn map_with_state(
        &self,
        record: &Record,
        state: &OrderState,
    ) -> Result<Option<String>, MappingError> {
        self.map_view(record, Some(state))
    }

    /// Maps a reconciled payout to the target's JSON (ERP journal, nopCommerce order notes,
    /// Salesforce payout and transaction records, order-feed settlements, or the reconciliation
    /// itself for `record`); `None` for custom mappings. See [`payout::map_for_profile`].
    pub fn map_payout(
        &self,
        payout: &crate::reconcile::Payout,
        reconciliation: &crate::reconcile::Reconciliation,
    ) -> Result<Option<String>, payout::PayoutMapError> {
        payout::map_for_profile(self, payout, reconciliation)
    }

    fn map_view(
        &self,
        record: &Record,
        state: Option<&OrderState>,
    ) -> Result<Option<String>, MappingError> {
        // Ignored and unreadable records mean nothing to any target.
        if record.status.concern() == Concern::Nothing {
            return Ok(None);
        }
        let view = View::new(record, state);
        Ok(match self {
            Profile::Record => Some(json(record)),
            Profile::NopCommerce => nopcommerce::update_for(&view).map(|u| json(&u)),
            Profile::Salesforce(config) => salesforce::request_for(&view, config),
            Profile::Erp => erp::document_for(&view).map(|d| json(&d)),
            Profile::OrderFeed => order_feed::line_for(&view).map(|l| json(&l)),
            Profile::Custom(mapping) => mapping.apply(&view)?,
        })
    }
}

/// A record as the profiles read it: on its own, or consolidated with its order's merged
/// state (status, amounts, ids and latest event taken from the state).
pub struct View<'a> {
    pub record: &'a Record,
    pub state: Option<&'a OrderState>,
}

impl<'a> View<'a> {
    pub fn new(record: &'a Record, state: Option<&'a OrderState>) -> Self {
        View { record, state }
    }

    /// Whether this view speaks for the whole order payment (merged state).
    pub fn consolidated(&self) -> bool {
        self.state.is_some()
    }

    pub fn status(&self) -> Status {
        self.state
            .and_then(|s| s.status)
            .unwrap_or(self.record.status)
    }

    /// The payment amount: what was paid (else the order amount) in the merged state; the
    /// record's own amount otherwise.
    pub fn amount(&self) -> Option<Decimal> {
        match self.state {
            Some(s) => s.amount_paid.or(s.amount_requested).or(self.record.amount),
            None => self.record.amount,
        }
    }

    pub fn amount_refunded(&self) -> Option<Decimal> {
        match self.state {
            Some(s) if s.amount_refunded_minor.unwrap_or(0) > 0 => s.amount_refunded,
            Some(_) => None,
            None => self.record.amount_refunded,
        }
    }

    /// Stripe's fee and net for the payment: the merged state's, or the record's own when the
    /// record is the payment (a dispute's fees are not the payment's).
    pub fn fee_and_net(&self) -> (Option<Decimal>, Option<Decimal>) {
        match self.state {
            Some(s) => {
                let currency = s
                    .settlement_currency
                    .as_deref()
                    .and_then(|c| crate::money::Currency::new(c).ok());
                let dec =
                    |m: Option<i64>| Some(crate::money::minor_to_decimal(m?, currency.as_ref()?));
                (dec(s.fee_minor), dec(s.net_minor))
            }
            None if matches!(
                self.record.object.as_deref(),
                Some("charge" | "payment_intent")
            ) =>
            {
                (self.record.fee, self.record.net)
            }
            None => (None, None),
        }
    }

    /// Whether `amount` is this record's own amount of a refund or dispute (not a payment's).
    pub fn amount_is_not_payment(&self) -> bool {
        !self.consolidated() && matches!(self.record.object.as_deref(), Some("refund" | "dispute"))
    }

    pub fn payment_intent(&self) -> Option<&str> {
        self.state
            .and_then(OrderState::payment_intent)
            .or(self.record.payment_intent.as_deref())
    }

    /// The charge: the one that took the money (merged state), else the first known.
    pub fn charge(&self) -> Option<&str> {
        self.state
            .and_then(OrderState::charge)
            .or(self.record.charge.as_deref())
    }

    pub fn invoice(&self) -> Option<&str> {
        self.state
            .and_then(OrderState::invoice)
            .or(self.record.invoice.as_deref())
    }

    pub fn order_ref(&self) -> Option<&str> {
        self.state
            .and_then(|s| s.order_ref.as_deref())
            .or(self.record.order_ref.as_deref())
    }

    pub fn payment_method_type(&self) -> Option<&str> {
        match self.state {
            Some(s) => s.payment_method_type.as_deref(),
            None => self.record.payment_method_type.as_deref(),
        }
    }

    /// The latest event (id, Unix time): the state's newest, or the record's own.
    pub fn last_event(&self) -> (&str, i64) {
        match self
            .state
            .and_then(|s| s.last_event_id.as_deref().zip(s.last_event_at))
        {
            Some(latest) => latest,
            None => (&self.record.event_id, self.record.created),
        }
    }

    /// When the money was taken (merged state), or this record's time if it says paid.
    pub fn paid_at(&self) -> Option<i64> {
        match self.state {
            Some(s) => s.paid_at,
            None => (self.record.status == Status::Paid).then_some(self.record.created),
        }
    }
}

/// JSON text of a mapping output (plain data: serialization cannot fail).
fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

/// ISO 8601 UTC text of Unix seconds (`2025-01-01T00:00:00Z`), for targets that want dates.
pub fn iso8601(unix: i64) -> String {
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        (secs % 3600) / 60,
        secs % 60
    )
}

/// Proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z.saturating_add(719_468);
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_dates() {
        assert_eq!(iso8601(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso8601(1_735_689_120), "2024-12-31T23:52:00Z");
        assert_eq!(iso8601(1_709_208_000), "2024-02-29T12:00:00Z");
        assert_eq!(iso8601(-1), "1969-12-31T23:59:59Z");
        for t in [0, 951_782_400, 1_709_208_000, 4_102_444_800] {
            assert_eq!(crate::event::parse_rfc3339(&iso8601(t)), Some(t));
        }
    }

    #[test]
    fn profiles_by_name_and_errors() {
        for name in PROFILE_NAMES {
            assert_eq!(Profile::parse(name).unwrap().name(), *name);
        }
        let err = Profile::parse("nopcomerce").unwrap_err();
        assert_eq!(err.entry, "profile");
        assert!(err.to_string().contains("nopcommerce"), "{err}");
        assert_eq!(Profile::parse("{not json").unwrap_err().entry, "");
        assert_eq!(
            Profile::parse(r#"{"profile":"erp"}"#).unwrap().name(),
            "erp"
        );
        assert!(Profile::parse(r#"{"profile":"erp","salesforce":{}}"#).is_err());
    }
}
