//! Configuration from `wrangler.toml` vars and `wrangler secret`s, with the defaults README lists.

use stripe_bridge::delivery::{check_downstream_url, RetryPolicy};
use stripe_bridge::mapping::Profile;
use stripe_bridge::mode::ModeGuard;
use stripe_bridge::signature::{SignatureError, Tolerance, DEFAULT_TOLERANCE_SECS};
use stripe_bridge::standard_webhooks::WebhookSigner;
use stripe_bridge::NormalizeOptions;
use worker::Env;

/// Default request body limit: 1 MiB (Stripe events are a few KB).
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;
/// Stripe retries for up to 3 days: dedup entries live that long.
pub const DEFAULT_DEDUP_TTL_SECS: u64 = 3 * 24 * 60 * 60;
pub const DEFAULT_DOWNSTREAM_TIMEOUT_MS: u64 = 10_000;
pub const DEFAULT_RETRY_BASE_SECS: u32 = 10;
pub const DEFAULT_RETRY_MAX_SECS: u32 = stripe_bridge::delivery::QUEUE_MAX_DELAY_SECS;
/// Dead letters are kept this long (`DEAD_LETTER_TTL_DAYS`).
pub const DEFAULT_DEAD_LETTER_TTL_DAYS: u64 = 30;
pub const DEFAULT_DLQ_NAME: &str = "stripe-bridge-dlq";

pub const KV_DEDUP: &str = "DEDUP";
pub const KV_DEAD_LETTERS: &str = "DEAD_LETTERS";
pub const QUEUE_FORWARD: &str = "FORWARD_QUEUE";
/// The `OrderBook` Durable Objects (one per Stripe account and mode).
pub const BOOKS: &str = "BOOKS";
/// The `PayoutLedger` Durable Objects (one per payout, and one per report run).
pub const PAYOUTS: &str = "PAYOUTS";
/// The `Stats` Durable Object (one): the console's counters.
pub const STATS: &str = "STATS";
/// The reconcile queue: one step of a payout reconciliation (or one report file) per message.
pub const QUEUE_RECONCILE: &str = "RECONCILE_QUEUE";
pub const DEFAULT_RECONCILE_QUEUE_NAME: &str = "stripe-bridge-reconcile";

/// The reconcile queue's name (`RECONCILE_QUEUE_NAME`), to tell its batches apart.
pub fn reconcile_queue_name(env: &Env) -> String {
    text(env, "RECONCILE_QUEUE_NAME").unwrap_or_else(|| DEFAULT_RECONCILE_QUEUE_NAME.to_owned())
}

/// `FETCH_FEES`: read a paid charge's balance transaction for its fee and net (default on when
/// `STRIPE_SECRET_KEY` is set; `0` turns it off).
pub fn fetch_fees(env: &Env) -> bool {
    text(env, "FETCH_FEES").as_deref() != Some("0")
}

/// What is forwarded for an order: one state forward per change (default), or each event's
/// record (`FORWARD=events`, for receivers that want a log).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ForwardMode {
    State,
    Events,
}

/// `FORWARD`: `state` (default) or `events`.
pub fn forward_mode(env: &Env) -> Result<ForwardMode, ConfigError> {
    match text(env, "FORWARD").as_deref() {
        None | Some("state") => Ok(ForwardMode::State),
        Some("events") => Ok(ForwardMode::Events),
        Some(_) => Err(ConfigError("FORWARD must be state or events".into())),
    }
}

/// The target profile: `MAPPING_JSON` (a custom or configured mapping) wins over
/// `TARGET_PROFILE` (a name); default: the record.
pub fn profile(env: &Env) -> Result<Profile, ConfigError> {
    let profile_text = text(env, "MAPPING_JSON")
        .or_else(|| text(env, "TARGET_PROFILE"))
        .unwrap_or_else(|| "record".to_owned());
    Profile::parse(&profile_text)
        .map_err(|e| ConfigError(format!("TARGET_PROFILE/MAPPING_JSON: {e}")))
}

/// A configuration problem: the Worker answers 500 (Stripe retries while it is fixed).
#[derive(Debug)]
pub struct ConfigError(pub String);

/// A string binding: a secret or a plain var.
pub fn text(env: &Env, name: &str) -> Option<String> {
    env.secret(name)
        .map(|s| s.to_string())
        .or_else(|_| env.var(name).map(|v| v.to_string()))
        .ok()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
}

fn number<T: std::str::FromStr>(env: &Env, name: &str, default: T) -> Result<T, ConfigError> {
    match text(env, name) {
        None => Ok(default),
        Some(v) => v
            .parse()
            .map_err(|_| ConfigError(format!("{name} must be a whole number"))),
    }
}

/// What the webhook receiver needs.
pub struct ReceiveConfig {
    pub secrets: Vec<String>,
    pub tolerance: Tolerance,
    pub max_body_bytes: usize,
    pub normalize: NormalizeOptions,
}

impl ReceiveConfig {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let secrets: Vec<String> = text(env, "STRIPE_WEBHOOK_SECRET")
            .ok_or_else(|| ConfigError("STRIPE_WEBHOOK_SECRET is not set".into()))?
            .split(',')
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect();
        let tolerance =
            Tolerance::seconds(number(env, "TOLERANCE_SECONDS", DEFAULT_TOLERANCE_SECS)?)
                .map_err(|e: SignatureError| ConfigError(format!("TOLERANCE_SECONDS: {e}")))?;
        let mut normalize = match text(env, "ORDER_KEYS") {
            Some(keys) => NormalizeOptions::with_order_keys(
                keys.split(',').map(str::trim).filter(|k| !k.is_empty()),
            ),
            None => NormalizeOptions::default(),
        };
        normalize.mode = mode_guard(env)?;
        // Checked here too, so a bad setting answers 500 before anything is accepted.
        profile(env)?;
        forward_mode(env)?;
        Ok(ReceiveConfig {
            secrets,
            tolerance,
            max_body_bytes: number(env, "MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES)?,
            normalize,
        })
    }
}

/// The modes and accounts accepted: `STRIPE_MODE` (`test`, `live` or `any`; unset: any) and
/// `STRIPE_ACCOUNTS` (`acct_…` ids and `platform`, comma-separated; unset or `any`: any).
/// Events of others are acknowledged as `ignored` with the reason, never forwarded.
fn mode_guard(env: &Env) -> Result<ModeGuard, ConfigError> {
    let mode = text(env, "STRIPE_MODE").unwrap_or_default();
    let accounts = text(env, "STRIPE_ACCOUNTS")
        .filter(|a| a != "any")
        .unwrap_or_default();
    // Checked apart first, so the error names the setting that is wrong.
    ModeGuard::parse(&mode, "")
        .map_err(|e| ConfigError(format!("STRIPE_MODE ({}): {e}", e.code())))?;
    ModeGuard::parse(&mode, &accounts)
        .map_err(|e| ConfigError(format!("STRIPE_ACCOUNTS ({}): {e}", e.code())))
}

/// What the queue consumer needs to deliver downstream.
pub struct ForwardConfig {
    pub url: String,
    /// One or two secrets (comma-separated while rotating): each forward carries a signature
    /// of every one.
    pub signer: WebhookSigner,
    pub timeout_ms: u64,
    pub retry: RetryPolicy,
    pub dedup_ttl_secs: u64,
    pub dead_letter_ttl_secs: u64,
}

impl ForwardConfig {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let url = text(env, "DOWNSTREAM_URL")
            .ok_or_else(|| ConfigError("DOWNSTREAM_URL is not set".into()))?;
        check_downstream_url(&url).map_err(|e| ConfigError(format!("DOWNSTREAM_URL {e}")))?;
        let secret = text(env, "DOWNSTREAM_SECRET")
            .ok_or_else(|| ConfigError("DOWNSTREAM_SECRET is not set".into()))?;
        let signer = WebhookSigner::parse(&secret)
            .map_err(|e| ConfigError(format!("DOWNSTREAM_SECRET: {e}")))?;
        let days: u64 = number(env, "DEAD_LETTER_TTL_DAYS", DEFAULT_DEAD_LETTER_TTL_DAYS)?;
        Ok(ForwardConfig {
            url,
            signer,
            timeout_ms: number(env, "DOWNSTREAM_TIMEOUT_MS", DEFAULT_DOWNSTREAM_TIMEOUT_MS)?,
            retry: RetryPolicy {
                base_secs: number(env, "RETRY_BASE_SECONDS", DEFAULT_RETRY_BASE_SECS)?,
                max_secs: number(env, "RETRY_MAX_SECONDS", DEFAULT_RETRY_MAX_SECS)?,
            },
            dedup_ttl_secs: number(env, "DEDUP_TTL_SECONDS", DEFAULT_DEDUP_TTL_SECS)?.max(60),
            // KV's minimum TTL is 60 s.
            dead_letter_ttl_secs: days.saturating_mul(86_400).max(60),
        })
    }
}

/// The dead-letter queue's name (to tell its batches from the forward queue's).
pub fn dlq_name(env: &Env) -> String {
    text(env, "DEAD_LETTER_QUEUE").unwrap_or_else(|| DEFAULT_DLQ_NAME.to_owned())
}

/// Per-attempt timeout of a Stripe API call.
pub const DEFAULT_STRIPE_TIMEOUT_MS: u64 = 30_000;

/// What `POST /payment-requests` needs (the route is on when SHOP_API_TOKEN is set).
pub struct StripeConfig {
    pub api_key: String,
    pub api_base: String,
    /// Where report files are downloaded (`https://files.stripe.com`; a stand-in in tests).
    pub files_base: String,
    pub max_retries: u32,
    pub timeout_ms: u64,
    pub max_body_bytes: usize,
    /// The Connect account the calls act for (`Stripe-Account`); `None`: the platform.
    pub account: Option<String>,
}

impl StripeConfig {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let api_key = text(env, "STRIPE_SECRET_KEY")
            .ok_or_else(|| ConfigError("STRIPE_SECRET_KEY is not set".into()))?;
        // The messages name the setting, never the key.
        stripe_bridge::payment_request::check_api_key(&api_key)
            .map_err(|e| ConfigError(format!("STRIPE_SECRET_KEY {}", e.message)))?;
        let api_base = text(env, "STRIPE_API_BASE")
            .unwrap_or_else(|| stripe_bridge::stripe_api::API_BASE.to_owned());
        stripe_bridge::stripe_api::check_api_base(&api_base)
            .map_err(|e| ConfigError(format!("STRIPE_API_BASE {}", e.message)))?;
        let max_retries = number(
            env,
            "STRIPE_MAX_RETRIES",
            stripe_bridge::stripe_api::DEFAULT_MAX_RETRIES,
        )?;
        if max_retries > 10 {
            return Err(ConfigError("STRIPE_MAX_RETRIES must be at most 10".into()));
        }
        let files_base = text(env, "STRIPE_FILES_BASE")
            .unwrap_or_else(|| stripe_bridge::stripe_api::FILES_BASE.to_owned());
        stripe_bridge::stripe_api::check_api_base(&files_base)
            .map_err(|e| ConfigError(format!("STRIPE_FILES_BASE {}", e.message)))?;
        Ok(StripeConfig {
            api_key,
            api_base: api_base.trim_end_matches('/').to_owned(),
            files_base: files_base.trim_end_matches('/').to_owned(),
            max_retries,
            timeout_ms: number(env, "STRIPE_TIMEOUT_MS", DEFAULT_STRIPE_TIMEOUT_MS)?.max(1),
            max_body_bytes: number(env, "MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES)?,
            account: None,
        })
    }

    /// The same settings, acting for the Connect account of `book` (its `Stripe-Account`), or
    /// for the platform when the book is the platform's.
    pub fn for_book(mut self, book: &str) -> Self {
        self.account = stripe_bridge::order_book::account_of(book).map(str::to_owned);
        self
    }
}
