//! Payment requests for orders: the exact Stripe request bodies (Checkout Session,
//! PaymentIntent, Payment Link) in Stripe's form encoding, validated first, with a deterministic
//! idempotency key per (order, amount, currency, attempt) — and the browser-safe Payment Link
//! URL helper.
//!
//! Validation happens before anything is built: lines must add up to the total exactly in
//! minor units, amounts must be representable in the currency and within Stripe's charge
//! limits, metadata within Stripe's limits. An invalid order gives one error naming the field;
//! nothing partial is produced.
//!
//! ```
//! use stripe_bridge::payment_request::{checkout_session, Order};
//!
//! let text = std::fs::read_to_string("tests/fixtures/orders/order-1001.json").unwrap();
//! let order: Order = serde_json::from_str(&text).unwrap();
//! let request = checkout_session(&order).unwrap();
//! assert_eq!((request.method, request.path.as_str(), request.amount_minor), ("POST", "/v1/checkout/sessions", 5040));
//! assert!(request.body.contains("client_reference_id=1001"));
//!
//! let mut wrong = order.clone();
//! wrong.total = "50.41".into();
//! let error = checkout_session(&wrong).unwrap_err();
//! assert_eq!((error.field.as_str(), error.code), ("total", "total_mismatch"));
//! ```

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::money::{check_charge_amount, to_minor, Currency, MoneyError};

/// Stripe's metadata limits.
pub const METADATA_MAX_KEYS: usize = 50;
pub const METADATA_MAX_KEY_LEN: usize = 40;
pub const METADATA_MAX_VALUE_LEN: usize = 500;
/// Metadata keys stripe-bridge sets from the order (an order's own metadata may not use them).
pub const RESERVED_METADATA_KEYS: &[&str] = &["order_id", "customer_id", "customer_name"];
/// `client_reference_id` (Checkout) and Payment Link URL parameter limit.
pub const CLIENT_REFERENCE_MAX_LEN: usize = 200;
/// Checkout Sessions take at most 100 line items in payment mode, Payment Links 20.
pub const CHECKOUT_MAX_LINES: usize = 100;
pub const PAYMENT_LINK_MAX_LINES: usize = 20;
/// `description` of a PaymentIntent.
pub const DESCRIPTION_MAX_LEN: usize = 1000;
/// Hosts of Stripe Payment Links.
pub const PAYMENT_LINK_HOSTS: &[&str] = &["buy.stripe.com", "donate.stripe.com"];
/// Checkout's `locale` values.
pub const LOCALES: &[&str] = &[
    "auto", "bg", "cs", "da", "de", "el", "en", "en-GB", "es", "es-419", "et", "fi", "fil", "fr",
    "fr-CA", "hr", "hu", "id", "it", "ja", "ko", "lt", "lv", "ms", "mt", "nb", "nl", "pl", "pt",
    "pt-BR", "ro", "ru", "sk", "sl", "sv", "th", "tr", "vi", "zh", "zh-HK", "zh-TW",
];

/// An order that cannot be turned into a payment request. `field` names the offending part
/// (`lines[1].unit_price`, `total`, `metadata.order_id`, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestError {
    pub field: String,
    pub code: &'static str,
    pub message: String,
}

impl RequestError {
    pub(crate) fn new(
        field: impl Into<String>,
        code: &'static str,
        message: impl Into<String>,
    ) -> Self {
        RequestError {
            field: field.into(),
            code,
            message: message.into(),
        }
    }

    pub(crate) fn money(field: impl Into<String>, e: MoneyError) -> Self {
        RequestError::new(field, e.code(), e.to_string())
    }

    pub fn code(&self) -> &'static str {
        self.code
    }
}

impl fmt::Display for RequestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

impl std::error::Error for RequestError {}

/// One order line: `unit_price` is a decimal string in major units.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderLine {
    pub name: String,
    pub quantity: u32,
    pub unit_price: String,
    #[serde(default)]
    pub description: Option<String>,
}

/// A tax or shipping line: a name and an amount (decimal string).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExtraLine {
    pub name: String,
    pub amount: String,
}

/// An order asking for an online payment (JSON field names are the public contract).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Order {
    /// The shop's order id: `client_reference_id` and `metadata.order_id`.
    pub id: String,
    /// The shop's customer id (`metadata.customer_id`).
    #[serde(default)]
    pub customer_id: Option<String>,
    /// An existing Stripe customer (`cus_...`); Stripe then takes the email from it.
    #[serde(default)]
    pub stripe_customer: Option<String>,
    #[serde(default)]
    pub customer_email: Option<String>,
    /// The customer's name (`metadata.customer_name`, so it shows on the payment in Stripe).
    #[serde(default)]
    pub customer_name: Option<String>,
    pub currency: String,
    pub lines: Vec<OrderLine>,
    #[serde(default)]
    pub tax: Option<ExtraLine>,
    #[serde(default)]
    pub shipping: Option<ExtraLine>,
    /// The order total (decimal string): must equal lines + tax + shipping exactly.
    pub total: String,
    #[serde(default)]
    pub success_url: Option<String>,
    #[serde(default)]
    pub cancel_url: Option<String>,
    #[serde(default)]
    pub locale: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    /// More metadata, added to what stripe-bridge sets (order_id, customer_id, customer_name).
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    /// Payment attempt number for this order: a new attempt (after a failed or expired one)
    /// gets a new idempotency key; a retry of the same attempt never creates a second payment.
    #[serde(default)]
    pub attempt: u32,
}

/// A request to send to Stripe's API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StripeRequest {
    pub method: &'static str,
    /// The API path, with the object's id where it has one (`/v1/payment_intents/pi_…/capture`).
    pub path: String,
    /// `application/x-www-form-urlencoded` body in Stripe's bracket notation.
    pub body: String,
    pub idempotency_key: String,
    pub amount_minor: i64,
    pub currency: String,
}

/// An order checked against Stripe's rules, amounts in minor units.
struct Checked<'a> {
    order: &'a Order,
    currency: Currency,
    /// Each line's unit amount.
    units: Vec<i64>,
    tax: Option<i64>,
    shipping: Option<i64>,
    total: i64,
    metadata: Vec<(String, String)>,
}

/// A required text: not blank, at most `max` characters, no control characters.
pub(crate) fn check_text(field: &str, value: &str, max: usize) -> Result<(), RequestError> {
    if value.trim().is_empty() {
        return Err(RequestError::new(field, "required", "must not be empty"));
    }
    if value.chars().count() > max {
        return Err(RequestError::new(
            field,
            "too_long",
            format!("must be at most {max} characters"),
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(RequestError::new(
            field,
            "invalid_characters",
            "must not contain control characters",
        ));
    }
    Ok(())
}

/// An email address Stripe accepts (at most 512 characters).
pub(crate) fn check_email(field: &str, email: &str) -> Result<(), RequestError> {
    check_text(field, email, 512)?;
    let valid = email.split_once('@').is_some_and(|(local, domain)| {
        !local.is_empty()
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
    }) && !email.chars().any(char::is_whitespace);
    if valid {
        Ok(())
    } else {
        Err(RequestError::new(
            field,
            "invalid_email",
            "is not an email address",
        ))
    }
}

fn check_url(field: &str, url: &str) -> Result<(), RequestError> {
    check_text(field, url, 2048)?;
    let https = url.starts_with("https://") && url.len() > "https://".len();
    let local = ["http://localhost", "http://127.0.0.1"].iter().any(|p| {
        url.strip_prefix(p)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with([':', '/']))
    });
    if (https || local) && !url.chars().any(char::is_whitespace) {
        Ok(())
    } else {
        Err(RequestError::new(
            field,
            "invalid_url",
            "must be an https:// URL (http:// only for localhost)",
        ))
    }
}

fn amount(field: &str, text: &str, currency: &Currency) -> Result<i64, RequestError> {
    to_minor(text, currency.code()).map_err(|e| RequestError::money(field, e))
}

/// The metadata of a request: `ours` (set by stripe-bridge) first, then `extra` (the caller's),
/// checked against Stripe's limits; `extra` may not use a `reserved` key.
pub(crate) fn checked_metadata(
    mut ours: Vec<(String, String)>,
    extra: &BTreeMap<String, String>,
    reserved: &[&str],
) -> Result<Vec<(String, String)>, RequestError> {
    for (key, value) in extra {
        let field = format!("metadata.{key}");
        if reserved.contains(&key.as_str()) {
            return Err(RequestError::new(
                field,
                "reserved_key",
                "is set by stripe-bridge",
            ));
        }
        if key.is_empty() || key.chars().count() > METADATA_MAX_KEY_LEN || key.contains(['[', ']'])
        {
            return Err(RequestError::new(
                field,
                "invalid_metadata_key",
                format!("keys are 1 to {METADATA_MAX_KEY_LEN} characters, without [ or ]"),
            ));
        }
        if value.chars().count() > METADATA_MAX_VALUE_LEN {
            return Err(RequestError::new(
                field,
                "metadata_value_too_long",
                format!("values are at most {METADATA_MAX_VALUE_LEN} characters"),
            ));
        }
        ours.push((key.clone(), value.clone()));
    }
    if ours.len() > METADATA_MAX_KEYS {
        return Err(RequestError::new(
            "metadata",
            "too_many_metadata_keys",
            format!("at most {METADATA_MAX_KEYS} keys, including the ones stripe-bridge sets"),
        ));
    }
    Ok(ours)
}

fn check(order: &Order) -> Result<Checked<'_>, RequestError> {
    check_text("id", &order.id, CLIENT_REFERENCE_MAX_LEN)?;
    // Only Stripe's presentment currencies: others are `unknown_currency`, never two decimals.
    let currency =
        Currency::new(&order.currency).map_err(|e| RequestError::money("currency", e))?;
    if order.lines.is_empty() {
        return Err(RequestError::new(
            "lines",
            "required",
            "an order needs at least one line",
        ));
    }
    if order.lines.len() > CHECKOUT_MAX_LINES {
        return Err(RequestError::new(
            "lines",
            "too_many",
            format!("at most {CHECKOUT_MAX_LINES} lines"),
        ));
    }
    let mut units = Vec::with_capacity(order.lines.len());
    let mut line_totals = Vec::with_capacity(order.lines.len());
    for (i, line) in order.lines.iter().enumerate() {
        check_text(&format!("lines[{i}].name"), &line.name, 5000)?;
        if let Some(d) = &line.description {
            check_text(&format!("lines[{i}].description"), d, 5000)?;
        }
        if line.quantity == 0 {
            return Err(RequestError::new(
                format!("lines[{i}].quantity"),
                "invalid_quantity",
                "must be at least 1",
            ));
        }
        let unit = amount(
            &format!("lines[{i}].unit_price"),
            &line.unit_price,
            &currency,
        )?;
        if unit < 0 {
            return Err(RequestError::new(
                format!("lines[{i}].unit_price"),
                "negative_amount",
                "must not be negative",
            ));
        }
        let total = unit.checked_mul(i64::from(line.quantity)).ok_or_else(|| {
            RequestError::new(
                format!("lines[{i}]"),
                "amount_overflow",
                "quantity × unit price is too large",
            )
        })?;
        units.push(unit);
        line_totals.push(total);
    }
    let extra = |field: &str, line: &Option<ExtraLine>| -> Result<Option<i64>, RequestError> {
        let Some(line) = line else { return Ok(None) };
        check_text(&format!("{field}.name"), &line.name, 5000)?;
        let minor = amount(&format!("{field}.amount"), &line.amount, &currency)?;
        if minor < 0 {
            return Err(RequestError::new(
                format!("{field}.amount"),
                "negative_amount",
                "must not be negative",
            ));
        }
        Ok(Some(minor))
    };
    let tax = extra("tax", &order.tax)?;
    let shipping = extra("shipping", &order.shipping)?;
    let total = amount("total", &order.total, &currency)?;
    let sum = line_totals
        .iter()
        .chain(tax.iter())
        .chain(shipping.iter())
        .try_fold(0i64, |acc, v| acc.checked_add(*v))
        .ok_or_else(|| {
            RequestError::new(
                "lines",
                "amount_overflow",
                "the lines add up to more than can be charged",
            )
        })?;
    if sum != total {
        let fmt = |m: i64| crate::money::format_minor(m, &currency);
        return Err(RequestError::new(
            "total",
            "total_mismatch",
            format!(
                "lines, tax and shipping add up to {} {}, not the total {} {}",
                fmt(sum),
                currency.code(),
                fmt(total),
                currency.code()
            ),
        ));
    }
    check_charge_amount(total, &currency).map_err(|e| RequestError::money("total", e))?;
    if let Some(email) = &order.customer_email {
        check_email("customer_email", email)?;
    }
    if let Some(name) = &order.customer_name {
        check_text("customer_name", name, 256)?;
    }
    if let Some(id) = &order.customer_id {
        check_text("customer_id", id, METADATA_MAX_VALUE_LEN)?;
    }
    if let Some(customer) = &order.stripe_customer {
        let valid = customer.starts_with("cus_")
            && customer.len() > 4
            && customer
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if !valid {
            return Err(RequestError::new(
                "stripe_customer",
                "invalid_customer",
                "must be a Stripe customer id (cus_...)",
            ));
        }
    }
    for (field, url) in [
        ("success_url", &order.success_url),
        ("cancel_url", &order.cancel_url),
    ] {
        if let Some(url) = url {
            check_url(field, url)?;
        }
    }
    if let Some(locale) = &order.locale {
        if !LOCALES.contains(&locale.as_str()) {
            return Err(RequestError::new(
                "locale",
                "invalid_locale",
                format!("must be one of {}", LOCALES.join(", ")),
            ));
        }
    }
    if let Some(d) = &order.description {
        check_text("description", d, DESCRIPTION_MAX_LEN)?;
    }
    // Metadata: ours first; the order's own may not overwrite them.
    let mut metadata = vec![("order_id".to_owned(), order.id.clone())];
    if let Some(id) = &order.customer_id {
        metadata.push(("customer_id".to_owned(), id.clone()));
    }
    if let Some(name) = &order.customer_name {
        metadata.push(("customer_name".to_owned(), name.clone()));
    }
    let metadata = checked_metadata(metadata, &order.metadata, RESERVED_METADATA_KEYS)?;
    Ok(Checked {
        order,
        currency,
        units,
        tax,
        shipping,
        total,
        metadata,
    })
}

/// A form body in Stripe's bracket notation.
#[derive(Default)]
pub(crate) struct Form(Vec<(String, String)>);

impl Form {
    pub(crate) fn add(&mut self, key: impl Into<String>, value: impl Into<String>) {
        self.0.push((key.into(), value.into()));
    }

    pub(crate) fn metadata(&mut self, prefix: &str, metadata: &[(String, String)]) {
        for (k, v) in metadata {
            self.add(format!("{prefix}[{k}]"), v.clone());
        }
    }

    pub(crate) fn encode(&self) -> String {
        form_urlencoded::Serializer::new(String::new())
            .extend_pairs(self.0.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .finish()
    }
}

/// `Idempotency-Key` for a request kind and an order attempt: the same order, amount,
/// currency and attempt always give the same key (Stripe then never creates a second payment),
/// a new attempt or a changed amount a new one.
pub fn idempotency_key(
    kind: &str,
    order_id: &str,
    amount_minor: i64,
    currency: &str,
    attempt: u32,
) -> String {
    hashed_key(
        kind,
        &[
            order_id,
            &amount_minor.to_string(),
            &currency.to_ascii_lowercase(),
            &attempt.to_string(),
        ],
    )
}

/// `sb-{kind}-` and 40 hex digits of a SHA-256 over `kind` and `parts`, each prefixed with its
/// length (so no two lists of parts collide by concatenation): every idempotency key of the
/// crate.
pub(crate) fn hashed_key(kind: &str, parts: &[&str]) -> String {
    let mut hash = Sha256::new();
    for part in std::iter::once(&kind).chain(parts) {
        hash.update((part.len() as u64).to_be_bytes());
        hash.update(part.as_bytes());
    }
    format!(
        "sb-{kind}-{}",
        hex::encode(hash.finalize()).get(..40).unwrap_or_default()
    )
}

fn request(
    kind: &'static str,
    path: &'static str,
    checked: &Checked<'_>,
    form: Form,
) -> StripeRequest {
    StripeRequest {
        method: "POST",
        path: path.to_owned(),
        body: form.encode(),
        idempotency_key: idempotency_key(
            kind,
            &checked.order.id,
            checked.total,
            checked.currency.code(),
            checked.order.attempt,
        ),
        amount_minor: checked.total,
        currency: checked.currency.code().to_owned(),
    }
}

fn line_items(form: &mut Form, c: &Checked<'_>) {
    let currency = c.currency.stripe_code();
    let mut i = 0;
    let mut item =
        |form: &mut Form, name: &str, description: Option<&str>, unit: i64, quantity: u32| {
            let p = format!("line_items[{i}]");
            form.add(format!("{p}[price_data][currency]"), currency.clone());
            form.add(format!("{p}[price_data][product_data][name]"), name);
            if let Some(d) = description {
                form.add(format!("{p}[price_data][product_data][description]"), d);
            }
            form.add(format!("{p}[price_data][unit_amount]"), unit.to_string());
            form.add(format!("{p}[quantity]"), quantity.to_string());
            i += 1;
        };
    for (line, unit) in c.order.lines.iter().zip(&c.units) {
        item(
            form,
            &line.name,
            line.description.as_deref(),
            *unit,
            line.quantity,
        );
    }
    if let (Some(tax), Some(minor)) = (&c.order.tax, c.tax) {
        item(form, &tax.name, None, minor, 1);
    }
}

/// `POST /v1/checkout/sessions` (mode `payment`): price_data line items (tax as a line, shipping
/// as a fixed-amount shipping option), `client_reference_id` = order id, metadata on the
/// session and on the PaymentIntent it creates, the customer's email, locale and URLs.
pub fn checkout_session(order: &Order) -> Result<StripeRequest, RequestError> {
    let c = check(order)?;
    if order.lines.len() + usize::from(c.tax.is_some()) > CHECKOUT_MAX_LINES {
        return Err(RequestError::new(
            "lines",
            "too_many",
            format!("a Checkout Session takes at most {CHECKOUT_MAX_LINES} lines, the tax line included"),
        ));
    }
    let success = order.success_url.as_deref().ok_or_else(|| {
        RequestError::new(
            "success_url",
            "required",
            "a hosted Checkout Session needs a success_url",
        )
    })?;
    let mut form = Form::default();
    form.add("mode", "payment");
    line_items(&mut form, &c);
    if let (Some(shipping), Some(minor)) = (&order.shipping, c.shipping) {
        let p = "shipping_options[0][shipping_rate_data]";
        form.add(format!("{p}[type]"), "fixed_amount");
        form.add(format!("{p}[display_name]"), shipping.name.clone());
        form.add(format!("{p}[fixed_amount][amount]"), minor.to_string());
        form.add(
            format!("{p}[fixed_amount][currency]"),
            c.currency.stripe_code(),
        );
    }
    form.add("success_url", success);
    if let Some(cancel) = &order.cancel_url {
        form.add("cancel_url", cancel.clone());
    }
    form.add("client_reference_id", order.id.clone());
    // Stripe refuses customer and customer_email together: the customer's own email wins.
    match (&order.stripe_customer, &order.customer_email) {
        (Some(customer), _) => form.add("customer", customer.clone()),
        (None, Some(email)) => form.add("customer_email", email.clone()),
        (None, None) => {}
    }
    if let Some(locale) = &order.locale {
        form.add("locale", locale.clone());
    }
    form.metadata("metadata", &c.metadata);
    form.metadata("payment_intent_data[metadata]", &c.metadata);
    if let Some(d) = &order.description {
        form.add("payment_intent_data[description]", d.clone());
    }
    Ok(request("checkout", "/v1/checkout/sessions", &c, form))
}

/// `POST /v1/payment_intents`: the total, automatic payment methods, metadata, receipt email,
/// description.
pub fn payment_intent(order: &Order) -> Result<StripeRequest, RequestError> {
    let c = check(order)?;
    let mut form = Form::default();
    form.add("amount", c.total.to_string());
    form.add("currency", c.currency.stripe_code());
    form.add("automatic_payment_methods[enabled]", "true");
    if let Some(customer) = &order.stripe_customer {
        form.add("customer", customer.clone());
    }
    if let Some(email) = &order.customer_email {
        form.add("receipt_email", email.clone());
    }
    let description = order
        .description
        .clone()
        .unwrap_or_else(|| format!("Order {}", order.id));
    form.add("description", description);
    form.metadata("metadata", &c.metadata);
    Ok(request("payment_intent", "/v1/payment_intents", &c, form))
}

/// Completed Checkout Sessions a per-order Payment Link accepts before Stripe deactivates it
/// (`restrictions[completed_sessions][limit]`): one order, one payment.
pub const PAYMENT_LINK_COMPLETED_SESSIONS_LIMIT: u32 = 1;

/// `POST /v1/payment_links` with price_data line items (accepted since API version
/// 2025-07-30.basil; send a `Stripe-Version` at least that recent), metadata on the link (copied
/// to its Checkout Sessions) and on the PaymentIntent, and a redirect after payment. Shipping
/// cannot be priced inline on a Payment Link: orders with shipping are refused.
///
/// The link is single-use: `restrictions[completed_sessions][limit]=1`, so Stripe deactivates
/// it once one Checkout Session on it completes and the order cannot be paid twice through it
/// (in Stripe's API since December 2023, stripe-node 14.8.0 of 2023-12-07: an additive
/// change, not tied to an API version).
pub fn payment_link(order: &Order) -> Result<StripeRequest, RequestError> {
    let c = check(order)?;
    if order.lines.len() + usize::from(order.tax.is_some()) > PAYMENT_LINK_MAX_LINES {
        return Err(RequestError::new(
            "lines",
            "too_many",
            format!("a Payment Link takes at most {PAYMENT_LINK_MAX_LINES} lines"),
        ));
    }
    if order.shipping.is_some() {
        return Err(RequestError::new(
            "shipping",
            "unsupported",
            "a Payment Link cannot price shipping inline; use a Checkout Session, or add shipping as a line",
        ));
    }
    let mut form = Form::default();
    line_items(&mut form, &c);
    form.metadata("metadata", &c.metadata);
    form.metadata("payment_intent_data[metadata]", &c.metadata);
    if let Some(url) = &order.success_url {
        form.add("after_completion[type]", "redirect");
        form.add("after_completion[redirect][url]", url.clone());
    }
    form.add(
        "restrictions[completed_sessions][limit]",
        PAYMENT_LINK_COMPLETED_SESSIONS_LIMIT.to_string(),
    );
    Ok(request("payment_link", "/v1/payment_links", &c, form))
}

/// Checks that `key` is a Stripe secret or restricted API key (`sk_`/`rk_`, test or live) before
/// anything is sent; the key itself never appears in the error.
pub fn check_api_key(key: &str) -> Result<(), RequestError> {
    let valid = ["sk_test_", "sk_live_", "rk_test_", "rk_live_"]
        .iter()
        .any(|p| key.strip_prefix(p).is_some_and(|rest| !rest.is_empty()))
        && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if valid {
        return Ok(());
    }
    let message = if key.starts_with("pk_") {
        "is a publishable key; creating payments needs a secret (sk_) or restricted (rk_) key"
    } else {
        "must be a Stripe secret (sk_test_/sk_live_) or restricted (rk_) key"
    };
    Err(RequestError::new("apiKey", "invalid_api_key", message))
}

/// Options of a Payment Link URL (Stripe's documented URL parameters).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct LinkParams {
    pub client_reference_id: Option<String>,
    pub prefilled_email: Option<String>,
    pub locale: Option<String>,
    pub prefilled_promo_code: Option<String>,
}

/// A Payment Link URL with its parameters, for browsers: no secret involved. The base must be
/// an `https://` link on a Stripe Payment Link host; `client_reference_id` is 1-200 letters,
/// digits, `-` or `_` (Stripe drops other values silently, so they are refused here).
pub fn payment_link_url(base: &str, params: &LinkParams) -> Result<String, RequestError> {
    let rest = base.trim().strip_prefix("https://").ok_or_else(|| {
        RequestError::new(
            "url",
            "invalid_url",
            "must be an https:// Stripe Payment Link",
        )
    })?;
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    if !PAYMENT_LINK_HOSTS.contains(&host) {
        return Err(RequestError::new(
            "url",
            "invalid_host",
            format!("must be on {}", PAYMENT_LINK_HOSTS.join(" or ")),
        ));
    }
    let link_id_ok = !path.is_empty()
        && path.len() <= 200
        && path.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if !link_id_ok {
        return Err(RequestError::new(
            "url",
            "invalid_url",
            "must be a Payment Link like https://buy.stripe.com/test_abc123 (no query or fragment)",
        ));
    }
    let mut query = form_urlencoded::Serializer::new(String::new());
    if let Some(reference) = &params.client_reference_id {
        let valid = !reference.is_empty()
            && reference.len() <= CLIENT_REFERENCE_MAX_LEN
            && reference
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !valid {
            return Err(RequestError::new(
                "clientReferenceId",
                "invalid_client_reference_id",
                "must be 1 to 200 letters, digits, - or _",
            ));
        }
        query.append_pair("client_reference_id", reference);
    }
    if let Some(email) = &params.prefilled_email {
        check_email("prefilledEmail", email)?;
        query.append_pair("prefilled_email", email);
    }
    if let Some(locale) = &params.locale {
        if !LOCALES.contains(&locale.as_str()) {
            return Err(RequestError::new(
                "locale",
                "invalid_locale",
                format!("must be one of {}", LOCALES.join(", ")),
            ));
        }
        query.append_pair("locale", locale);
    }
    if let Some(code) = &params.prefilled_promo_code {
        let valid = !code.is_empty()
            && code.len() <= 100
            && code
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !valid {
            return Err(RequestError::new(
                "prefilledPromoCode",
                "invalid_promo_code",
                "must be 1 to 100 letters, digits, - or _",
            ));
        }
        query.append_pair("prefilled_promo_code", code);
    }
    let query = query.finish();
    Ok(if query.is_empty() {
        format!("https://{host}/{path}")
    } else {
        format!("https://{host}/{path}?{query}")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order() -> Order {
        serde_json::from_value(serde_json::json!({
            "id": "1001",
            "customer_id": "C-77",
            "customer_email": "jenny.rosen@example.com",
            "currency": "usd",
            "lines": [
                {"name": "Pro plan", "quantity": 2, "unit_price": "8.99"},
                {"name": "Sticker", "quantity": 1, "unit_price": "1.50"}
            ],
            "tax": {"name": "VAT", "amount": "1.50"},
            "shipping": {"name": "Standard", "amount": "4.95"},
            "total": "25.93",
            "success_url": "https://shop.example.com/orders/1001/thanks",
            "cancel_url": "https://shop.example.com/cart",
            "locale": "de"
        }))
        .unwrap()
    }

    fn pairs(body: &str) -> Vec<(String, String)> {
        form_urlencoded::parse(body.as_bytes())
            .into_owned()
            .collect()
    }

    /// Stripe: "For `payment` mode, there is a maximum of 100 line items"; the tax is one of them.
    #[test]
    fn checkout_counts_the_tax_line_against_the_limit() {
        let mut o = order();
        let line = o.lines[1].clone();
        o.lines = vec![line; CHECKOUT_MAX_LINES - 1];
        o.shipping = None;
        o.total = "150.00".into();
        let r = checkout_session(&o).unwrap();
        let items = pairs(&r.body)
            .iter()
            .filter(|(k, _)| k.ends_with("[quantity]"))
            .count();
        assert_eq!(items, CHECKOUT_MAX_LINES);
        o.lines.push(o.lines[0].clone());
        o.total = "151.50".into();
        let e = checkout_session(&o).unwrap_err();
        assert_eq!((e.field.as_str(), e.code), ("lines", "too_many"));
        o.tax = None;
        o.total = "150.00".into();
        assert!(checkout_session(&o).is_ok());
    }

    #[test]
    fn checkout_session_body() {
        let r = checkout_session(&order()).unwrap();
        assert_eq!(
            (r.method, r.path.as_str(), r.amount_minor),
            ("POST", "/v1/checkout/sessions", 2593)
        );
        let expected: Vec<(&str, &str)> = vec![
            ("mode", "payment"),
            ("line_items[0][price_data][currency]", "usd"),
            ("line_items[0][price_data][product_data][name]", "Pro plan"),
            ("line_items[0][price_data][unit_amount]", "899"),
            ("line_items[0][quantity]", "2"),
            ("line_items[1][price_data][currency]", "usd"),
            ("line_items[1][price_data][product_data][name]", "Sticker"),
            ("line_items[1][price_data][unit_amount]", "150"),
            ("line_items[1][quantity]", "1"),
            ("line_items[2][price_data][currency]", "usd"),
            ("line_items[2][price_data][product_data][name]", "VAT"),
            ("line_items[2][price_data][unit_amount]", "150"),
            ("line_items[2][quantity]", "1"),
            (
                "shipping_options[0][shipping_rate_data][type]",
                "fixed_amount",
            ),
            (
                "shipping_options[0][shipping_rate_data][display_name]",
                "Standard",
            ),
            (
                "shipping_options[0][shipping_rate_data][fixed_amount][amount]",
                "495",
            ),
            (
                "shipping_options[0][shipping_rate_data][fixed_amount][currency]",
                "usd",
            ),
            ("success_url", "https://shop.example.com/orders/1001/thanks"),
            ("cancel_url", "https://shop.example.com/cart"),
            ("client_reference_id", "1001"),
            ("customer_email", "jenny.rosen@example.com"),
            ("locale", "de"),
            ("metadata[order_id]", "1001"),
            ("metadata[customer_id]", "C-77"),
            ("payment_intent_data[metadata][order_id]", "1001"),
            ("payment_intent_data[metadata][customer_id]", "C-77"),
        ];
        let got = pairs(&r.body);
        assert_eq!(
            got.iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect::<Vec<_>>(),
            expected
        );
        assert!(
            r.body
                .starts_with("mode=payment&line_items%5B0%5D%5Bprice_data%5D%5Bcurrency%5D=usd"),
            "{}",
            r.body
        );
    }

    #[test]
    fn payment_intent_and_link_bodies() {
        let pi = payment_intent(&order()).unwrap();
        let got = pairs(&pi.body);
        assert_eq!(got[0], ("amount".into(), "2593".into()));
        assert_eq!(got[1], ("currency".into(), "usd".into()));
        assert!(got.contains(&("automatic_payment_methods[enabled]".into(), "true".into())));
        assert!(got.contains(&("receipt_email".into(), "jenny.rosen@example.com".into())));
        assert!(got.contains(&("description".into(), "Order 1001".into())));
        assert!(got.contains(&("metadata[order_id]".into(), "1001".into())));
        let mut no_shipping = order();
        no_shipping.shipping = None;
        no_shipping.total = "20.98".into();
        let link = payment_link(&no_shipping).unwrap();
        let got = pairs(&link.body);
        assert!(got.contains(&(
            "line_items[2][price_data][product_data][name]".into(),
            "VAT".into()
        )));
        assert!(got.contains(&("after_completion[type]".into(), "redirect".into())));
        assert!(got.contains(&(
            "payment_intent_data[metadata][customer_id]".into(),
            "C-77".into()
        )));
        assert_eq!(payment_link(&order()).unwrap_err().field, "shipping");
    }

    #[test]
    fn payment_link_body_is_single_use() {
        let mut o = order();
        o.shipping = None;
        o.total = "20.98".into();
        let link = payment_link(&o).unwrap();
        assert_eq!(
            (link.method, link.path.as_str(), link.amount_minor),
            ("POST", "/v1/payment_links", 2098)
        );
        let expected: Vec<(&str, &str)> = vec![
            ("line_items[0][price_data][currency]", "usd"),
            ("line_items[0][price_data][product_data][name]", "Pro plan"),
            ("line_items[0][price_data][unit_amount]", "899"),
            ("line_items[0][quantity]", "2"),
            ("line_items[1][price_data][currency]", "usd"),
            ("line_items[1][price_data][product_data][name]", "Sticker"),
            ("line_items[1][price_data][unit_amount]", "150"),
            ("line_items[1][quantity]", "1"),
            ("line_items[2][price_data][currency]", "usd"),
            ("line_items[2][price_data][product_data][name]", "VAT"),
            ("line_items[2][price_data][unit_amount]", "150"),
            ("line_items[2][quantity]", "1"),
            ("metadata[order_id]", "1001"),
            ("metadata[customer_id]", "C-77"),
            ("payment_intent_data[metadata][order_id]", "1001"),
            ("payment_intent_data[metadata][customer_id]", "C-77"),
            ("after_completion[type]", "redirect"),
            (
                "after_completion[redirect][url]",
                "https://shop.example.com/orders/1001/thanks",
            ),
            ("restrictions[completed_sessions][limit]", "1"),
        ];
        let got = pairs(&link.body);
        assert_eq!(
            got.iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect::<Vec<_>>(),
            expected
        );
        // Stripe's bracket notation, percent-encoded on the wire.
        assert!(
            link.body
                .ends_with("&restrictions%5Bcompleted_sessions%5D%5Blimit%5D=1"),
            "{}",
            link.body
        );
        // Without a success_url (no redirect) the link is still single-use.
        o.success_url = None;
        let got = pairs(&payment_link(&o).unwrap().body);
        assert!(got.contains(&("restrictions[completed_sessions][limit]".into(), "1".into())));
        assert!(!got.iter().any(|(k, _)| k.starts_with("after_completion")));
        // Checkout Sessions and PaymentIntents are single-payment by nature: no restriction.
        for other in [checkout_session(&order()), payment_intent(&order())] {
            assert!(!other.unwrap().body.contains("restrictions"));
        }
    }

    #[test]
    fn idempotency_keys_are_deterministic_per_attempt() {
        let a = checkout_session(&order()).unwrap().idempotency_key;
        assert_eq!(a, checkout_session(&order()).unwrap().idempotency_key);
        assert!(a.starts_with("sb-checkout-") && a.len() <= 255);
        let mut next = order();
        next.attempt = 1;
        assert_ne!(checkout_session(&next).unwrap().idempotency_key, a);
        assert_ne!(payment_intent(&order()).unwrap().idempotency_key, a);
        // Different fields never collide by concatenation.
        assert_ne!(
            idempotency_key("k", "1", 23, "usd", 0),
            idempotency_key("k", "12", 3, "usd", 0)
        );
    }

    #[test]
    fn zero_and_three_decimal_currencies() {
        let mut o = order();
        o.currency = "jpy".into();
        o.lines = vec![OrderLine {
            name: "Tea".into(),
            quantity: 3,
            unit_price: "500".into(),
            description: None,
        }];
        o.tax = None;
        o.shipping = None;
        o.total = "1500".into();
        let r = checkout_session(&o).unwrap();
        assert!(pairs(&r.body).contains(&(
            "line_items[0][price_data][unit_amount]".into(),
            "500".into()
        )));
        o.lines[0].unit_price = "500.5".into();
        assert_eq!(checkout_session(&o).unwrap_err().code, "amount_too_precise");
        o.currency = "kwd".into();
        o.lines[0].unit_price = "1.234".into();
        o.total = "3.702".into();
        assert_eq!(
            checkout_session(&o).unwrap_err().field,
            "lines[0].unit_price"
        );
    }

    #[test]
    fn each_invalid_order_names_its_field() {
        type Case = (fn(&mut Order), &'static str, &'static str);
        let cases: Vec<Case> = vec![
            (|o| o.total = "25.94".into(), "total", "total_mismatch"),
            (
                |o| o.lines[1].unit_price = "1.505".into(),
                "lines[1].unit_price",
                "amount_too_precise",
            ),
            (
                |o| o.lines[0].quantity = 0,
                "lines[0].quantity",
                "invalid_quantity",
            ),
            (
                |o| o.lines[0].name = " ".into(),
                "lines[0].name",
                "required",
            ),
            (|o| o.lines.clear(), "lines", "required"),
            (|o| o.currency = "us".into(), "currency", "invalid_currency"),
            (
                |o| o.currency = "xcg".into(),
                "currency",
                "unknown_currency",
            ),
            (
                |o| o.currency = "XAU".into(),
                "currency",
                "unknown_currency",
            ),
            (
                |o| o.customer_email = Some("jenny".into()),
                "customer_email",
                "invalid_email",
            ),
            (
                |o| o.success_url = Some("http://shop.example.com/".into()),
                "success_url",
                "invalid_url",
            ),
            (|o| o.success_url = None, "success_url", "required"),
            (
                |o| o.locale = Some("de-DE".into()),
                "locale",
                "invalid_locale",
            ),
            (|o| o.id = "x".repeat(201), "id", "too_long"),
            (
                |o| {
                    o.metadata.insert("order_id".into(), "2".into());
                },
                "metadata.order_id",
                "reserved_key",
            ),
            (
                |o| {
                    o.metadata.insert("a[b]".into(), "2".into());
                },
                "metadata.a[b]",
                "invalid_metadata_key",
            ),
            (
                |o| {
                    o.metadata.insert("k".into(), "v".repeat(501));
                },
                "metadata.k",
                "metadata_value_too_long",
            ),
            (
                |o| {
                    for i in 0..49 {
                        o.metadata.insert(format!("k{i}"), "v".into());
                    }
                },
                "metadata",
                "too_many_metadata_keys",
            ),
            (
                |o| o.stripe_customer = Some("C-77".into()),
                "stripe_customer",
                "invalid_customer",
            ),
            (
                |o| {
                    o.lines = vec![OrderLine {
                        name: "Gum".into(),
                        quantity: 1,
                        unit_price: "0.10".into(),
                        description: None,
                    }];
                    o.tax = None;
                    o.shipping = None;
                    o.total = "0.10".into();
                },
                "total",
                "amount_below_minimum",
            ),
            (
                |o| {
                    o.lines = vec![OrderLine {
                        name: "Car".into(),
                        quantity: 1,
                        unit_price: "1000000.00".into(),
                        description: None,
                    }];
                    o.tax = None;
                    o.shipping = None;
                    o.total = "1000000.00".into();
                },
                "total",
                "amount_above_maximum",
            ),
            (
                |o| o.lines[0].unit_price = "-1.00".into(),
                "lines[0].unit_price",
                "negative_amount",
            ),
        ];
        for (change, field, code) in cases {
            let mut o = order();
            change(&mut o);
            let e = checkout_session(&o).unwrap_err();
            assert_eq!((e.field.as_str(), e.code), (field, code), "{e}");
        }
        // A Stripe customer replaces the email (Stripe refuses both).
        let mut o = order();
        o.stripe_customer = Some("cus_RbasilJenny".into());
        let body = checkout_session(&o).unwrap().body;
        assert!(body.contains("customer=cus_RbasilJenny") && !body.contains("customer_email"));
    }

    #[test]
    fn unknown_order_fields_are_refused() {
        let err = serde_json::from_value::<Order>(
            serde_json::json!({"id":"1","currency":"usd","lines":[],"total":"1","totl":"2"}),
        )
        .unwrap_err();
        assert!(err.to_string().contains("totl"));
    }

    #[test]
    fn customer_name_goes_into_metadata_and_reserved_keys_stay_reserved() {
        let mut o = order();
        o.customer_name = Some("Jenny Rosen".into());
        let got = pairs(&payment_intent(&o).unwrap().body);
        assert!(got.contains(&("metadata[customer_name]".into(), "Jenny Rosen".into())));
        o.customer_id = None;
        o.metadata.insert("customer_id".into(), "C-1".into());
        assert_eq!(payment_intent(&o).unwrap_err().code, "reserved_key");
    }

    #[test]
    fn api_keys() {
        for ok in ["sk_test_51abc", "sk_live_x", "rk_test_51abc"] {
            assert!(check_api_key(ok).is_ok(), "{ok}");
        }
        for bad in [
            "pk_test_51abc",
            "sk_test_",
            "",
            "whsec_abc",
            "sk_test_abc def",
            "Bearer sk_test_1",
        ] {
            let e = check_api_key(bad).unwrap_err();
            assert_eq!((e.field.as_str(), e.code), ("apiKey", "invalid_api_key"));
            assert!(
                bad.len() <= 8 || !e.to_string().contains(bad),
                "the key is not echoed"
            );
        }
        assert!(check_api_key("pk_live_1")
            .unwrap_err()
            .message
            .contains("publishable"));
    }

    #[test]
    fn payment_link_urls() {
        let params = LinkParams {
            client_reference_id: Some("order_1001".into()),
            prefilled_email: Some("jenny+shop@example.com".into()),
            locale: Some("fr".into()),
            prefilled_promo_code: Some("SPRING-25".into()),
        };
        assert_eq!(
            payment_link_url("https://buy.stripe.com/test_eVa5mG0Ld", &params).unwrap(),
            "https://buy.stripe.com/test_eVa5mG0Ld?client_reference_id=order_1001&prefilled_email=jenny%2Bshop%40example.com&locale=fr&prefilled_promo_code=SPRING-25"
        );
        assert_eq!(
            payment_link_url("https://buy.stripe.com/abc", &LinkParams::default()).unwrap(),
            "https://buy.stripe.com/abc"
        );
        for (base, field) in [
            ("http://buy.stripe.com/abc", "url"),
            ("https://evil.example.com/abc", "url"),
            ("https://buy.stripe.com.evil.com/abc", "url"),
            ("https://buy.stripe.com/", "url"),
            ("https://buy.stripe.com/abc?x=1", "url"),
        ] {
            assert_eq!(
                payment_link_url(base, &LinkParams::default())
                    .unwrap_err()
                    .field,
                field,
                "{base}"
            );
        }
        let bad = |p: LinkParams| {
            payment_link_url("https://buy.stripe.com/abc", &p)
                .unwrap_err()
                .field
        };
        assert_eq!(
            bad(LinkParams {
                client_reference_id: Some("order 1001".into()),
                ..LinkParams::default()
            }),
            "clientReferenceId"
        );
        assert_eq!(
            bad(LinkParams {
                client_reference_id: Some("x".repeat(201)),
                ..LinkParams::default()
            }),
            "clientReferenceId"
        );
        assert_eq!(
            bad(LinkParams {
                prefilled_email: Some("nope".into()),
                ..LinkParams::default()
            }),
            "prefilledEmail"
        );
        assert_eq!(
            bad(LinkParams {
                locale: Some("xx".into()),
                ..LinkParams::default()
            }),
            "locale"
        );
        assert_eq!(
            bad(LinkParams {
                prefilled_promo_code: Some("A B".into()),
                ..LinkParams::default()
            }),
            "prefilledPromoCode"
        );
    }
}
