//! The CLI's Stripe API client: one retry loop ([`stripe_api::classify`]) for every request,
//! blocking (ureq).

use std::time::Duration;

use stripe_bridge::payment_request::{self, StripeRequest};
use stripe_bridge::stripe_api::{self, ApiError, Outcome};
use stripe_bridge::Error;

use clap::Args;

use crate::Failure;

/// Bodies over this size are refused (a payout page with sources is well under 1 MiB; a report
/// file of a busy month can reach a few MiB).
const BODY_LIMIT: u64 = 64 * 1024 * 1024;

/// How to reach Stripe's API: every command that calls it takes these.
#[derive(Args)]
pub struct ApiArgs {
    /// Stripe secret or restricted key (STRIPE_SECRET_KEY; what it must be allowed depends on
    /// the command).
    #[arg(long = "api-key", env = "STRIPE_SECRET_KEY", hide_env_values = true)]
    api_key: Option<String>,
    /// Stripe's API base URL (a local stand-in in tests).
    #[arg(long, default_value = stripe_api::API_BASE)]
    api_base: String,
    /// Retries of each request after the first attempt.
    #[arg(long, default_value_t = stripe_api::DEFAULT_MAX_RETRIES)]
    max_retries: u32,
}

impl ApiArgs {
    pub fn client(&self) -> Result<Client, Failure> {
        Client::new(self.api_key.clone(), &self.api_base, self.max_retries)
    }
}

/// A Stripe API client for one key and base URL.
pub struct Client {
    agent: ureq::Agent,
    key: String,
    base: String,
    max_retries: u32,
}

/// One request: method, full URL, and a form body with its Idempotency-Key for a POST.
struct Call<'a> {
    url: String,
    post: Option<&'a StripeRequest>,
}

impl Client {
    /// Checks the key and the base URL (https, or http to a loopback stand-in) first.
    pub fn new(key: Option<String>, base: &str, max_retries: u32) -> Result<Client, Failure> {
        let key = key.unwrap_or_default();
        payment_request::check_api_key(&key).map_err(Error::from)?;
        stripe_api::check_api_base(base).map_err(Error::from)?;
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(80)))
            .build()
            .into();
        Ok(Client {
            agent,
            key,
            base: base.trim_end_matches('/').to_owned(),
            max_retries,
        })
    }

    /// `GET` a path of the API (`/v1/...`, with its query).
    pub fn get(&self, path: &str) -> Result<Vec<u8>, Failure> {
        self.call(&Call {
            url: format!("{}{path}", self.base),
            post: None,
        })
        .map_err(|e| (*e).into())
    }

    /// `GET` an object that may no longer exist: `None` on Stripe's 404.
    pub fn get_optional(&self, path: &str) -> Result<Option<Vec<u8>>, Failure> {
        let call = Call {
            url: format!("{}{path}", self.base),
            post: None,
        };
        match self.call(&call) {
            Ok(body) => Ok(Some(body)),
            Err(e) if e.status == 404 => Ok(None),
            Err(e) => Err((*e).into()),
        }
    }

    /// `POST` a built request (same Idempotency-Key on every retry).
    pub fn post(&self, request: &StripeRequest) -> Result<Vec<u8>, Failure> {
        self.call(&Call {
            url: format!("{}{}", self.base, request.path),
            post: Some(request),
        })
        .map_err(|e| (*e).into())
    }

    fn call(&self, call: &Call) -> Result<Vec<u8>, Box<ApiError>> {
        let mut attempt = 0;
        loop {
            match self.once(call, attempt) {
                (Outcome::Success, body) => return Ok(body),
                (Outcome::Retry { delay_ms, error }, _) => {
                    eprintln!("retrying in {delay_ms} ms: {error}");
                    std::thread::sleep(Duration::from_millis(delay_ms));
                    attempt += 1;
                }
                (Outcome::Fail { error }, _) => return Err(Box::new(error)),
            }
        }
    }

    /// One try: what it means, and the body.
    fn once(&self, call: &Call, attempt: u32) -> (Outcome, Vec<u8>) {
        let jitter = jitter_permille();
        let sent = match call.post {
            Some(request) => stripe_api::request_headers(request, &self.key)
                .iter()
                .fold(self.agent.post(&call.url), |r, (n, v)| r.header(*n, v))
                .send(request.body.as_bytes()),
            None => stripe_api::get_headers(&self.key)
                .iter()
                .fold(self.agent.get(&call.url), |r, (n, v)| r.header(*n, v))
                .call(),
        };
        let mut response = match sent {
            Ok(response) => response,
            // ureq's message names the host and the failure, never the headers.
            Err(e) => {
                let outcome =
                    stripe_api::classify_network(&e.to_string(), attempt, self.max_retries, jitter);
                return (outcome, Vec::new());
            }
        };
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let (should_retry, request_id) = (header("stripe-should-retry"), header("request-id"));
        let status = response.status().as_u16();
        let body = response
            .body_mut()
            .with_config()
            .limit(BODY_LIMIT)
            .read_to_vec()
            .unwrap_or_default();
        let outcome = stripe_api::classify(
            status,
            should_retry.as_deref(),
            request_id.as_deref(),
            &body,
            attempt,
            self.max_retries,
            jitter,
        );
        (outcome, body)
    }
}

/// 0..=1000 from the clock: spreads retries of several processes apart.
fn jitter_permille() -> u32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos() % 1001)
        .unwrap_or(500)
}

/// Reads a JSON body Stripe sent.
pub fn json(body: &[u8]) -> Result<serde_json::Value, Failure> {
    serde_json::from_slice(body).map_err(|e| Failure {
        kind: "stripe_api",
        code: "api_error",
        message: format!("Stripe answered with a body that is not JSON: {e}"),
    })
}

impl From<ApiError> for Failure {
    fn from(e: ApiError) -> Self {
        Error::from(e).into()
    }
}
