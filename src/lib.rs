//! # stripe-bridge
//!
//! Verify Stripe webhooks, normalize Stripe events of any API version into one
//! platform-neutral [`Record`], keep an order's state right under out-of-order and duplicate
//! delivery, and do all money arithmetic exactly in Stripe's minor units.
//!
//! ```
//! use stripe_bridge::{signature::{sign, Secret, Verifier}, NormalizeOptions};
//!
//! let body = br#"{"id":"evt_1","object":"event","type":"payment_intent.succeeded","created":1700000000,
//!   "data":{"object":{"id":"pi_1","object":"payment_intent","amount":1999,"currency":"eur",
//!   "status":"succeeded","metadata":{"order_id":"1001"}}}}"#;
//! let header = sign(body, &Secret::from("whsec_example"), 1_700_000_000);
//!
//! let verifier = Verifier::new(["whsec_example"]).unwrap();
//! let record = stripe_bridge::verify_and_normalize(
//!     &verifier, body, &header, 1_700_000_010, &NormalizeOptions::default(),
//! ).unwrap();
//! assert_eq!(record.order_ref.as_deref(), Some("1001"));
//! assert_eq!(record.status.as_str(), "paid");
//! assert_eq!(record.amount.unwrap().to_string(), "19.99");
//! ```
//!
//! The crate is pure Rust with no wasm or Cloudflare dependency; it builds for
//! `wasm32-unknown-unknown`, where the caller passes the current time.

#![forbid(unsafe_code)]
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

use std::fmt;

pub mod actions;
pub mod console;
pub mod delivery;
pub mod event;
pub mod mapping;
pub mod mode;
pub mod money;
pub mod normalize;
pub mod order_book;
pub mod payment_request;
pub mod reconcile;
pub mod routes;
pub mod signature;
pub mod standard_webhooks;
pub mod state;
pub mod stripe_api;

pub use event::{Event, EventError};
pub use money::{Currency, MoneyError};
pub use normalize::{normalize, normalize_json, NormalizeError, NormalizeOptions, Record, Status};
pub use signature::{SignatureError, Tolerance, Verifier};
pub use state::{MergeError, MergeOutcome, OrderState};

/// Any error of the crate, with a stable `kind` and `code` for programs.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    Signature(SignatureError),
    Normalize(NormalizeError),
    Money(MoneyError),
    Merge(MergeError),
    Mapping(mapping::MappingError),
    StandardWebhook(standard_webhooks::StandardWebhookError),
    PaymentRequest(payment_request::RequestError),
    StripeApi(Box<stripe_api::ApiError>),
}

impl Error {
    /// The area: `signature`, `event`, `money`, `state`, `mapping`, `standard_webhooks`,
    /// `payment_request` or `stripe_api`.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::Signature(_) => "signature",
            Error::Normalize(_) => "event",
            Error::Money(_) => "money",
            Error::Merge(_) => "state",
            Error::Mapping(_) => "mapping",
            Error::StandardWebhook(_) => "standard_webhooks",
            Error::PaymentRequest(_) => "payment_request",
            Error::StripeApi(_) => "stripe_api",
        }
    }

    /// The specific reason, e.g. `no_match` or `timestamp_outside_tolerance`.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Signature(e) => e.code(),
            Error::Normalize(e) => e.code(),
            Error::Money(e) => e.code(),
            Error::Merge(e) => e.code(),
            Error::Mapping(e) => e.code(),
            Error::StandardWebhook(e) => e.code(),
            Error::PaymentRequest(e) => e.code(),
            Error::StripeApi(e) => e.class(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Signature(e) => e.fmt(f),
            Error::Normalize(e) => e.fmt(f),
            Error::Money(e) => e.fmt(f),
            Error::Merge(e) => e.fmt(f),
            Error::Mapping(e) => e.fmt(f),
            Error::StandardWebhook(e) => e.fmt(f),
            Error::PaymentRequest(e) => e.fmt(f),
            Error::StripeApi(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for Error {}

impl From<SignatureError> for Error {
    fn from(e: SignatureError) -> Self {
        Error::Signature(e)
    }
}
impl From<NormalizeError> for Error {
    fn from(e: NormalizeError) -> Self {
        Error::Normalize(e)
    }
}
impl From<EventError> for Error {
    fn from(e: EventError) -> Self {
        Error::Normalize(NormalizeError::Event(e))
    }
}
impl From<MoneyError> for Error {
    fn from(e: MoneyError) -> Self {
        Error::Money(e)
    }
}
impl From<mapping::MappingError> for Error {
    fn from(e: mapping::MappingError) -> Self {
        Error::Mapping(e)
    }
}
impl From<standard_webhooks::StandardWebhookError> for Error {
    fn from(e: standard_webhooks::StandardWebhookError) -> Self {
        Error::StandardWebhook(e)
    }
}
impl From<payment_request::RequestError> for Error {
    fn from(e: payment_request::RequestError) -> Self {
        Error::PaymentRequest(e)
    }
}
impl From<stripe_api::ApiError> for Error {
    fn from(e: stripe_api::ApiError) -> Self {
        Error::StripeApi(Box::new(e))
    }
}
impl From<MergeError> for Error {
    fn from(e: MergeError) -> Self {
        Error::Merge(e)
    }
}

/// Verifies the raw body against the `Stripe-Signature` header, then normalizes it: the
/// webhook fast path. `now` is the current Unix time.
pub fn verify_and_normalize(
    verifier: &Verifier,
    payload: &[u8],
    header: &str,
    now: i64,
    options: &NormalizeOptions,
) -> Result<Record, Error> {
    verifier.verify_at(payload, header, now)?;
    Ok(normalize_json(payload, options)?)
}
