//! WebAssembly bindings of the stripe-bridge core for the npm package.
//!
//! A thin layer: every function converts its arguments, calls the core, and converts the
//! result. Records cross the boundary as one packed string of their values (`packed`: the JS
//! side builds the object with a literal whose keys come from [`record_keys`] at build time;
//! three times faster than `JSON.parse` of the record's JSON); amounts are strings; errors are
//! plain objects `{ kind, code, message }` that the JS wrapper turns into `Error` subclasses. No
//! logic lives here. The order state (merge, upgrade) is in the targets module
//! (`stripe-bridge/targets`): it is most of the core's code, and this module has a size budget.

#![forbid(unsafe_code)]
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::cell::Cell;
use stripe_bridge::mode::ModeGuard;
use stripe_bridge::money::{self, Currency};

use stripe_bridge::signature::{self, Secret, SignatureHeader, Tolerance, Verifier};
use stripe_bridge::standard_webhooks::WebhookSecret;
use stripe_bridge::{normalize_json, NormalizeOptions, Record, Status};
use stripe_bridge_js_common::{argument_error, js_error, json_error, packed, to_js, whole_seconds};
use wasm_bindgen::prelude::*;

/// A configured verifier: secrets and tolerance, with the HMAC keys prepared once.
#[wasm_bindgen]
pub struct WasmVerifier {
    inner: Verifier,
    /// The header [`prepare`](Self::prepare) read, for the `verifyPrepared*` call that follows
    /// it synchronously (taken by that call).
    prepared: Cell<Option<SignatureHeader>>,
}

#[wasm_bindgen]
impl WasmVerifier {
    /// `tolerance`: seconds (>= 1), or `undefined` for the check turned off.
    #[wasm_bindgen(constructor)]
    pub fn new(secrets: Vec<String>, tolerance: Option<f64>) -> Result<WasmVerifier, JsValue> {
        let tolerance = match tolerance {
            None => Tolerance::Disabled,
            Some(secs) => {
                let secs = whole_seconds(secs, "tolerance")?;
                let secs = u64::try_from(secs)
                    .map_err(|_| argument_error("tolerance must not be negative"))?;
                Tolerance::seconds(secs).map_err(to_js)?
            }
        };
        let inner = Verifier::new(secrets)
            .map_err(to_js)?
            .with_tolerance(tolerance);
        Ok(WasmVerifier {
            inner,
            prepared: Cell::new(None),
        })
    }

    /// Verifies the raw body; returns the index of the secret that matched.
    pub fn verify(&self, payload: &[u8], header: &str, now: f64) -> Result<u32, JsValue> {
        let now = whole_seconds(now, "now")?;
        let ok = self.inner.verify_at(payload, header, now).map_err(to_js)?;
        Ok(u32::try_from(ok.secret_index).unwrap_or(u32::MAX))
    }

    /// Verifies with HMACs computed by the platform (`macs`: 32 bytes per secret, in order, of
    /// HMAC-SHA256 over `"{signedTimestamp}.{payload}"`; with `inner`, each HMAC's inner
    /// digest, which the core finishes: `Verifier::mac_from_inner`); returns the matching
    /// secret's index. For callers that await between reading the timestamp and this call.
    #[wasm_bindgen(js_name = verifyMacs)]
    pub fn verify_macs(
        &self,
        header: &str,
        payload_len: u32,
        now: f64,
        macs: &[u8],
        inner: bool,
    ) -> Result<u32, JsValue> {
        self.check_macs(&read_header(header, payload_len, now)?, now, macs, inner)
    }

    /// Reads the header (after `now` and the body's presence) for a synchronous
    /// `verifyPrepared*` call after the platform's HMACs; returns the timestamp they sign. The
    /// header crosses into wasm and is read once instead of twice (`signedTimestamp`, then
    /// `verifyMacs`).
    pub fn prepare(&self, header: &str, payload_len: u32, now: f64) -> Result<f64, JsValue> {
        let parsed = read_header(header, payload_len, now)?;
        let t = js_timestamp(parsed.timestamp)?;
        self.prepared.set(Some(parsed));
        Ok(t)
    }

    /// [`verify_macs`](Self::verify_macs) of the header the last [`prepare`](Self::prepare)
    /// read (each prepared header is used once).
    #[wasm_bindgen(js_name = verifyPrepared)]
    pub fn verify_prepared(&self, now: f64, macs: &[u8], inner: bool) -> Result<u32, JsValue> {
        let parsed = self
            .prepared
            .take()
            .ok_or_else(|| argument_error("verifyPrepared follows a prepare call"))?;
        self.check_macs(&parsed, now, macs, inner)
    }

    /// [`verify_prepared`](Self::verify_prepared), then normalizes `payload` in the same call;
    /// returns the record packed.
    #[wasm_bindgen(js_name = verifyPreparedAndNormalize)]
    pub fn verify_prepared_and_normalize(
        &self,
        payload: &[u8],
        now: f64,
        macs: &[u8],
        inner: bool,
        normalizer: &WasmNormalizer,
    ) -> Result<String, JsValue> {
        self.verify_prepared(now, macs, inner)?;
        normalizer.normalize(payload)
    }

    /// [`verify_macs`](Self::verify_macs), then normalizes `payload` in the same call; returns
    /// the record packed.
    #[wasm_bindgen(js_name = verifyMacsAndNormalize)]
    pub fn verify_macs_and_normalize(
        &self,
        header: &str,
        payload: &[u8],
        now: f64,
        macs: &[u8],
        inner: bool,
        normalizer: &WasmNormalizer,
    ) -> Result<String, JsValue> {
        let len = u32::try_from(payload.len()).unwrap_or(u32::MAX);
        self.verify_macs(header, len, now, macs, inner)?;
        normalizer.normalize(payload)
    }

    /// Verifies, then normalizes; returns the record packed.
    #[wasm_bindgen(js_name = verifyAndNormalize)]
    pub fn verify_and_normalize(
        &self,
        payload: &[u8],
        header: &str,
        now: f64,
        normalizer: &WasmNormalizer,
    ) -> Result<String, JsValue> {
        let now = whole_seconds(now, "now")?;
        let record = stripe_bridge::verify_and_normalize(
            &self.inner,
            payload,
            header,
            now,
            &normalizer.options,
        )
        .map_err(to_js)?;
        record_out(&record)
    }
}

/// Normalization options (the metadata keys for the order reference, the accepted mode and
/// accounts), prepared once.
#[wasm_bindgen]
pub struct WasmNormalizer {
    options: NormalizeOptions,
}

#[wasm_bindgen]
impl WasmNormalizer {
    /// `order_keys`: `undefined` for the defaults. `mode`: `test`, `live` or `any`; `accounts`:
    /// `acct_…` ids and `platform`; `undefined` for any (see `ModeGuard::parse`).
    #[wasm_bindgen(constructor)]
    pub fn new(
        order_keys: Option<Vec<String>>,
        mode: Option<String>,
        accounts: Option<Vec<String>>,
    ) -> Result<WasmNormalizer, JsValue> {
        let mut options = match order_keys {
            Some(keys) => NormalizeOptions::with_order_keys(keys),
            None => NormalizeOptions::default(),
        };
        let accounts = accounts.map(|a| a.join(",")).unwrap_or_default();
        options.mode = ModeGuard::parse(mode.as_deref().unwrap_or_default(), &accounts)
            .map_err(|e| js_error("argument", e.code(), &e.message))?;
        Ok(WasmNormalizer { options })
    }

    /// Normalizes the event JSON (UTF-8 bytes); returns the record packed.
    pub fn normalize(&self, event_json: &[u8]) -> Result<String, JsValue> {
        let record = normalize_json(event_json, &self.options).map_err(to_js)?;
        record_out(&record)
    }
}

/// A record for JS: packed (starts with `\u{1}`), or JSON text (starts with `{`) should the
/// record ever not pack.
fn record_out(record: &Record) -> Result<String, JsValue> {
    packed::pack(record)
        .or_else(|_| serde_json::to_string(record))
        .map_err(json_error)
}

/// The record's field names in the order its packed form holds their values (read at build
/// time to generate the JS object literal).
#[wasm_bindgen(js_name = recordKeys)]
pub fn record_keys() -> Result<Vec<String>, JsValue> {
    let any = br#"{"id":"evt_keys","type":"keys","created":0}"#;
    let record = normalize_json(any, &NormalizeOptions::default()).map_err(to_js)?;
    let names = packed::field_names(&record).map_err(json_error)?;
    Ok(names.into_iter().map(str::to_owned).collect())
}

/// What a record status is about (`Status::concern`): `payment` and `flag` concern an order's
/// payment; `payout`, `customer`, `report` and `nothing` (ignored, unreadable) do not.
#[wasm_bindgen(js_name = statusConcern)]
pub fn status_concern(status: &str) -> Result<String, JsValue> {
    let status = Status::ALL
        .into_iter()
        .find(|s| s.as_str() == status)
        .ok_or_else(|| argument_error("not a record status"))?;
    Ok(status.concern().as_str().to_owned())
}

impl WasmVerifier {
    /// The core's check of the platform's MACs against a read header (see `verify_macs`).
    fn check_macs(
        &self,
        parsed: &SignatureHeader,
        now: f64,
        macs: &[u8],
        inner: bool,
    ) -> Result<u32, JsValue> {
        let now = whole_seconds(now, "now")?;
        if macs.len()
            != self
                .inner
                .secret_count()
                .saturating_mul(signature::SIGNATURE_LEN)
        {
            return Err(argument_error("one 32-byte HMAC per secret is required"));
        }
        let ok = self
            .inner
            .verify_signed(parsed, now, |_, index| {
                let start = index.checked_mul(signature::SIGNATURE_LEN)?;
                let end = start.checked_add(signature::SIGNATURE_LEN)?;
                let mac = macs.get(start..end)?.try_into().ok()?;
                if inner {
                    self.inner.mac_from_inner(index, &mac)
                } else {
                    Some(mac)
                }
            })
            .map_err(to_js)?;
        Ok(u32::try_from(ok.secret_index).unwrap_or(u32::MAX))
    }
}

/// A signed timestamp as a JS number: beyond 2^53 it could not be signed over exactly from
/// JS, so it is refused.
fn js_timestamp(t: i64) -> Result<f64, JsValue> {
    if t.unsigned_abs() > 9_007_199_254_740_991 {
        return Err(to_js(signature::SignatureError::MalformedHeader {
            reason: "the timestamp (t=) is out of range",
        }));
    }
    Ok(t as f64)
}

/// The timestamp a `Stripe-Signature` header signs (after `now` and the header and body
/// checks: [`read_header`]), for computing the HMACs natively before `verifyMacs`.
#[wasm_bindgen(js_name = signedTimestamp)]
pub fn signed_timestamp(header: &str, payload_len: u32, now: f64) -> Result<f64, JsValue> {
    js_timestamp(read_header(header, payload_len, now)?.timestamp)
}

/// The header read as every path reads it before the platform's HMACs: `now` checked first,
/// as the verification functions check it before the header (the same error for the same
/// input on every path), then the core's header and body checks.
fn read_header(header: &str, payload_len: u32, now: f64) -> Result<SignatureHeader, JsValue> {
    whole_seconds(now, "now")?;
    signature::checked_header(header, payload_len == 0).map_err(to_js)
}

/// `t=<timestamp>,v1=<hex>` for the payload (stripe-node's `generateTestHeaderString`).
#[wasm_bindgen(js_name = signHeader)]
pub fn sign_header(payload: &[u8], secret: &str, timestamp: f64) -> Result<String, JsValue> {
    let timestamp = whole_seconds(timestamp, "timestamp")?;
    if secret.trim().is_empty() {
        return Err(to_js(signature::SignatureError::NoSecrets));
    }
    Ok(signature::sign(payload, &Secret::from(secret), timestamp))
}

/// Major-unit decimal string -> minor units (as a decimal integer string, exact).
#[wasm_bindgen(js_name = toMinorUnits)]
pub fn to_minor_units(amount: &str, currency: &str) -> Result<String, JsValue> {
    money::to_minor(amount, currency)
        .map(|m| m.to_string())
        .map_err(to_js)
}

/// Minor units (a decimal integer string) -> major-unit decimal string with the currency's scale.
#[wasm_bindgen(js_name = fromMinorUnits)]
pub fn from_minor_units(minor: &str, currency: &str) -> Result<String, JsValue> {
    let minor: i64 = minor
        .parse()
        .map_err(|_| argument_error("minor units must be an integer"))?;
    money::from_minor(minor, currency)
        .map(|d| d.to_string())
        .map_err(to_js)
}

/// Decimal places of the currency in Stripe's API.
#[wasm_bindgen(js_name = currencyExponent)]
pub fn currency_exponent(currency: &str) -> Result<u32, JsValue> {
    Currency::new(currency).map(|c| c.exponent()).map_err(to_js)
}

/// A Standard Webhooks secret, for verifying and signing forwarded requests.
#[wasm_bindgen]
pub struct WasmStandardWebhook {
    secret: WebhookSecret,
}

#[wasm_bindgen]
impl WasmStandardWebhook {
    #[wasm_bindgen(constructor)]
    pub fn new(secret: &str) -> Result<WasmStandardWebhook, JsValue> {
        WebhookSecret::parse(secret)
            .map(|secret| WasmStandardWebhook { secret })
            .map_err(to_js)
    }

    pub fn verify(
        &self,
        id: &str,
        timestamp: &str,
        signature: &str,
        payload: &[u8],
        now: f64,
        tolerance: f64,
    ) -> Result<(), JsValue> {
        let now = whole_seconds(now, "now")?;
        let tolerance = u64::try_from(whole_seconds(tolerance, "tolerance")?)
            .map_err(|_| argument_error("tolerance must not be negative"))?;
        self.secret
            .verify(id, timestamp, signature, payload, now, tolerance)
            .map_err(to_js)
    }

    pub fn sign(&self, id: &str, timestamp: f64, payload: &[u8]) -> Result<String, JsValue> {
        let timestamp = whole_seconds(timestamp, "timestamp")?;
        Ok(self.secret.sign(id, timestamp, payload))
    }
}
