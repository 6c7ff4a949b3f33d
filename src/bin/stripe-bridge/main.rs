//! `stripe-bridge`: sign, verify and normalize Stripe webhooks from the command line.

#![forbid(unsafe_code)]

mod client;
mod finance;
mod shop;

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use stripe_bridge::mapping::Profile;
use stripe_bridge::mode::ModeGuard;
use stripe_bridge::payment_request::{self, LinkParams, Order};
use stripe_bridge::signature::{self, Secret, Tolerance, Verifier};
use stripe_bridge::{normalize_json, Error, Event, NormalizeOptions, OrderState, Record, Status};

/// Verify, normalize and sign Stripe webhooks.
///
/// Bodies are read from standard input as raw bytes, exactly as Stripe sent them.
/// Errors are printed on one line as `error[<kind>/<code>]: <message>` and exit with status 1.
/// An event that is accepted but not used (its object cannot be read, or it is of a mode or
/// account not accepted) is not an error: its record is printed, with one
/// `note: <event id> <status>: <reason>` line on standard error.
#[derive(Parser)]
#[command(name = "stripe-bridge", version, about, long_about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print a Stripe-Signature header for the body on stdin (like stripe-node's
    /// generateTestHeaderString).
    Sign {
        #[command(flatten)]
        signing: SigningSecretArgs,
        /// Unix time to sign with [default: now].
        #[arg(long)]
        timestamp: Option<i64>,
    },
    /// Verify the body on stdin against a Stripe-Signature header; print the event id.
    Verify {
        #[command(flatten)]
        secrets: SecretArgs,
        /// The Stripe-Signature header value.
        #[arg(long)]
        header: String,
        #[command(flatten)]
        time: TimeArgs,
    },
    /// Normalize the Stripe event on stdin and print the record as JSON.
    Normalize {
        #[command(flatten)]
        normalize: NormalizeArgs,
        /// Pretty-print the JSON.
        #[arg(long)]
        pretty: bool,
    },
    /// Normalize the Stripe event on stdin and map it for a target system; prints the target's
    /// JSON, or `null` when the event means nothing to it.
    Map {
        /// nopcommerce, salesforce, erp, order-feed, record, or a JSON mapping file.
        #[arg(long)]
        profile: String,
        #[command(flatten)]
        normalize: NormalizeArgs,
        /// Pretty-print the JSON.
        #[arg(long)]
        pretty: bool,
    },
    /// Sign Stripe event files with a webhook secret and POST them to a receiver (e.g. the
    /// local Worker at http://127.0.0.1:8787/webhooks/stripe), as Stripe would.
    Replay {
        /// The receiver's URL.
        #[arg(long)]
        to: String,
        #[command(flatten)]
        signing: SigningSecretArgs,
        /// Stripe event JSON files, sent in this order.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Normalize event files and merge them, in the order given, into one order state.
    Merge {
        /// Stripe event JSON files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        #[command(flatten)]
        normalize: NormalizeArgs,
    },
    /// Build the Stripe request for the order JSON on stdin and print it (method, path, form
    /// body, Idempotency-Key); with --send, send it to Stripe and print Stripe's object.
    PaymentRequest {
        /// What to create.
        #[arg(value_enum)]
        kind: RequestKind,
        /// Send the request (needs STRIPE_SECRET_KEY); retries 429, 5xx and network errors
        /// with backoff and the same Idempotency-Key.
        #[arg(long)]
        send: bool,
        /// For --send.
        #[command(flatten)]
        api: client::ApiArgs,
        /// Pretty-print the JSON.
        #[arg(long)]
        pretty: bool,
    },
    /// Refund an order: the RefundInput JSON on stdin, checked against --state (the order's
    /// state); prints the requests (one per payment), or with --send Stripe's refunds.
    Refund(shop::RefundArgs),
    /// Capture an authorization: the CaptureInput JSON on stdin (checked against --state when
    /// given); prints the request, or with --send Stripe's PaymentIntent.
    Capture(shop::AuthorizationArgs),
    /// Cancel a PaymentIntent: the CancelInput JSON on stdin (checked against --state when
    /// given); prints the request, or with --send Stripe's PaymentIntent.
    Cancel(shop::AuthorizationArgs),
    /// Create or update a customer: the ShopCustomer JSON on stdin; prints the create request
    /// (update with --stripe-customer), or with --send searches Stripe by the shop's id and
    /// updates or creates, printing Stripe's customer.
    Customer(shop::CustomerArgs),
    /// Put the shop's order number and status on the PaymentIntent: the OrderUpdate JSON on
    /// stdin; prints the request, or with --send Stripe's PaymentIntent.
    SyncOrder(shop::SyncOrderArgs),
    /// Reconcile a payout: every balance transaction paid out in it (all pages), per
    /// reporting category and per order, checked exactly against the payout amount; exits with
    /// status 1 when it does not balance, after printing the result.
    Reconcile(finance::ReconcileArgs),
    /// Balance summary of an interval, per currency (from the API or a balance.summary.1 file).
    Balance(finance::BalanceArgs),
    /// Print a Payment Link URL with Stripe's URL parameters (safe to hand to a browser).
    PaymentLinkUrl {
        /// The Payment Link (https://buy.stripe.com/...).
        url: String,
        /// client_reference_id: the order id (letters, digits, - and _; up to 200).
        #[arg(long)]
        client_reference_id: Option<String>,
        #[arg(long)]
        prefilled_email: Option<String>,
        #[arg(long)]
        locale: Option<String>,
        #[arg(long)]
        prefilled_promo_code: Option<String>,
    },
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum RequestKind {
    /// A hosted Checkout Session (POST /v1/checkout/sessions).
    Checkout,
    /// A PaymentIntent (POST /v1/payment_intents).
    PaymentIntent,
    /// A Payment Link (POST /v1/payment_links).
    PaymentLink,
}

#[derive(Args)]
struct SecretArgs {
    /// Signing secret; repeat (or separate with commas) to accept several while rolling secrets.
    #[arg(
        long = "secret",
        env = "STRIPE_WEBHOOK_SECRET",
        hide_env_values = true,
        value_delimiter = ',',
        required = true
    )]
    secrets: Vec<String>,
}

#[derive(Args)]
struct SigningSecretArgs {
    /// The signing secret (whsec_...). With several (comma-separated, as in
    /// STRIPE_WEBHOOK_SECRET while rolling), the first signs.
    #[arg(
        long = "secret",
        env = "STRIPE_WEBHOOK_SECRET",
        hide_env_values = true,
        value_delimiter = ',',
        required = true
    )]
    secrets: Vec<String>,
}

impl SigningSecretArgs {
    /// The secret that signs: the first non-blank one.
    fn secret(self) -> Result<Secret, Failure> {
        self.secrets
            .into_iter()
            .find(|s| !s.trim().is_empty())
            .map(Secret::from)
            .ok_or_else(|| Error::from(signature::SignatureError::NoSecrets).into())
    }
}

#[derive(Args)]
struct TimeArgs {
    /// Maximum age (and future skew) of the signed timestamp, in seconds; must be at least 1.
    #[arg(long, default_value_t = signature::DEFAULT_TOLERANCE_SECS, conflicts_with = "no_tolerance")]
    tolerance: u64,
    /// Skip the timestamp check (for replaying stored events only).
    #[arg(long)]
    no_tolerance: bool,
    /// Unix time to check against [default: now].
    #[arg(long)]
    now: Option<i64>,
}

/// How events are normalized: shared by every command that normalizes.
#[derive(Args)]
struct NormalizeArgs {
    /// Metadata keys holding the order reference, in order of preference.
    #[arg(long, value_delimiter = ',', default_values_t = stripe_bridge::normalize::DEFAULT_ORDER_KEYS.iter().map(|k| k.to_string()))]
    order_keys: Vec<String>,
    /// The mode of events to accept: test, live or any. Events of the other mode are
    /// acknowledged but ignored, with the reason.
    #[arg(long, env = "STRIPE_BRIDGE_MODE", default_value = "any")]
    mode: String,
    /// The accounts whose events to accept (default: any): connected account ids (acct_...)
    /// and `platform` (the platform's own events), comma-separated. Events of other accounts
    /// are acknowledged but ignored, with the reason.
    #[arg(long, env = "STRIPE_BRIDGE_ACCOUNTS")]
    accounts: Option<String>,
}

impl NormalizeArgs {
    /// The options, or a failure when --mode or --accounts cannot be read.
    fn options(&self) -> Result<NormalizeOptions, Failure> {
        let mode = ModeGuard::parse(&self.mode, self.accounts.as_deref().unwrap_or_default())
            .map_err(|e| Failure {
                kind: "mode",
                code: e.code(),
                message: e.to_string(),
            })?;
        Ok(NormalizeOptions {
            mode,
            ..NormalizeOptions::with_order_keys(self.order_keys.iter().cloned())
        })
    }
}

/// For a record of an event that was accepted but is not used (its object cannot be read, or
/// the mode guard ignored it): one `note: <event id> <status>: <reason>` line on stderr.
fn note_unused(record: &Record) {
    let unused = match record.status {
        Status::Unreadable => true,
        // Ignored records carry a reason only when the mode guard ignored them.
        Status::Ignored => record.reason.is_some(),
        _ => false,
    };
    if unused {
        let reason = record.reason.as_deref().unwrap_or("no reason given");
        eprintln!(
            "note: {} {}: {}",
            record.event_id.replace(['\n', '\r'], " "),
            record.status,
            reason.replace(['\n', '\r'], " ")
        );
    }
}

/// A failure to report: kind, code and message.
struct Failure {
    kind: &'static str,
    code: &'static str,
    message: String,
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure {
            kind: e.kind(),
            code: e.code(),
            message: e.to_string(),
        }
    }
}

fn io_failure(what: &str, e: std::io::Error) -> Failure {
    Failure {
        kind: "io",
        code: "io_error",
        message: format!("{what}: {e}"),
    }
}

fn read_stdin() -> Result<Vec<u8>, Failure> {
    let mut body = Vec::new();
    std::io::stdin()
        .read_to_end(&mut body)
        .map_err(|e| io_failure("reading standard input", e))?;
    Ok(body)
}

fn print(text: &str) -> Result<(), Failure> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{text}").map_err(|e| io_failure("writing standard output", e))
}

fn to_json<T: serde::Serialize>(value: &T, pretty: bool) -> Result<String, Failure> {
    let json = if pretty {
        serde_json::to_string_pretty(value)
    } else {
        serde_json::to_string(value)
    };
    json.map_err(|e| Failure {
        kind: "io",
        code: "json",
        message: e.to_string(),
    })
}

fn run(cli: Cli) -> Result<(), Failure> {
    match cli.command {
        Command::Sign { signing, timestamp } => {
            let secret = signing.secret()?;
            let body = read_stdin()?;
            let timestamp = timestamp.unwrap_or_else(signature::unix_now);
            print(&signature::sign(&body, &secret, timestamp))
        }
        Command::Verify {
            secrets,
            header,
            time,
        } => {
            let body = read_stdin()?;
            let tolerance = if time.no_tolerance {
                Tolerance::Disabled
            } else {
                Tolerance::seconds(time.tolerance).map_err(Error::from)?
            };
            let verifier = Verifier::new(secrets.secrets)
                .map_err(Error::from)?
                .with_tolerance(tolerance);
            let now = time.now.unwrap_or_else(signature::unix_now);
            verifier
                .verify_at(&body, &header, now)
                .map_err(Error::from)?;
            let event = Event::from_slice(&body).map_err(Error::from)?;
            print(&event.id)
        }
        Command::Normalize { normalize, pretty } => {
            let options = normalize.options()?;
            let body = read_stdin()?;
            let record = normalize_json(&body, &options).map_err(Error::from)?;
            print(&to_json(&record, pretty)?)?;
            note_unused(&record);
            Ok(())
        }
        Command::Map {
            profile,
            normalize,
            pretty,
        } => {
            let options = normalize.options()?;
            let profile = load_profile(&profile)?;
            let body = read_stdin()?;
            let record = normalize_json(&body, &options).map_err(Error::from)?;
            note_unused(&record);
            let mapped = profile.map(&record).map_err(mapping_failure)?;
            match mapped {
                None => print("null"),
                Some(json) if pretty => {
                    let value: serde_json::Value =
                        serde_json::from_str(&json).map_err(|e| Failure {
                            kind: "io",
                            code: "json",
                            message: e.to_string(),
                        })?;
                    print(&to_json(&value, true)?)
                }
                Some(json) => print(&json),
            }
        }
        Command::Replay { to, signing, files } => {
            let secret = signing.secret()?;
            let mut failed = 0;
            for file in &files {
                let body = std::fs::read(file)
                    .map_err(|e| io_failure(&format!("reading {}", file.display()), e))?;
                let header = signature::sign(&body, &secret, signature::unix_now());
                match post(&to, &body, &header) {
                    Ok((status, text)) => {
                        if !(200..300).contains(&status) {
                            failed += 1;
                        }
                        print(&format!("{} -> {status} {}", file.display(), text.trim()))?;
                    }
                    Err(message) => {
                        failed += 1;
                        print(&format!("{} -> error: {message}", file.display()))?;
                    }
                }
            }
            if failed > 0 {
                return Err(Failure {
                    kind: "io",
                    code: "replay_failed",
                    message: format!("{failed} of {} events were not accepted", files.len()),
                });
            }
            Ok(())
        }
        Command::Merge { files, normalize } => {
            let options = normalize.options()?;
            let mut state = OrderState::default();
            for file in &files {
                let body = std::fs::read(file)
                    .map_err(|e| io_failure(&format!("reading {}", file.display()), e))?;
                let record = normalize_json(&body, &options).map_err(|e| Failure {
                    message: format!("{}: {e}", file.display()),
                    ..Failure::from(Error::from(e))
                })?;
                // Unreadable and ignored records leave the state alone; the others merge.
                note_unused(&record);
                state.merge(&record).map_err(|e| Failure {
                    message: format!("{}: {e}", file.display()),
                    ..Failure::from(Error::from(e))
                })?;
            }
            print(&to_json(&state, true)?)
        }
        Command::PaymentRequest {
            kind,
            send,
            api,
            pretty,
        } => {
            let body = read_stdin()?;
            let order: Order = serde_json::from_slice(&body).map_err(|e| Failure {
                kind: "payment_request",
                code: "invalid_order",
                message: format!("the order JSON: {e}"),
            })?;
            let request = match kind {
                RequestKind::Checkout => payment_request::checkout_session(&order),
                RequestKind::PaymentIntent => payment_request::payment_intent(&order),
                RequestKind::PaymentLink => payment_request::payment_link(&order),
            }
            .map_err(Error::from)?;
            if !send {
                return print(&to_json(&request, pretty)?);
            }
            let object = client::json(&api.client()?.post(&request)?)?;
            print(&to_json(&object, pretty)?)
        }
        Command::Refund(args) => shop::refund(args),
        Command::Capture(args) => shop::capture(args),
        Command::Cancel(args) => shop::cancel(args),
        Command::Customer(args) => shop::customer(args),
        Command::SyncOrder(args) => shop::sync_order(args),
        Command::Reconcile(args) => finance::reconcile(args),
        Command::Balance(args) => finance::balance(args),
        Command::PaymentLinkUrl {
            url,
            client_reference_id,
            prefilled_email,
            locale,
            prefilled_promo_code,
        } => {
            let params = LinkParams {
                client_reference_id,
                prefilled_email,
                locale,
                prefilled_promo_code,
            };
            print(&payment_request::payment_link_url(&url, &params).map_err(Error::from)?)
        }
    }
}

/// A profile by name, or from a JSON mapping file.
pub(crate) fn load_profile(profile: &str) -> Result<Profile, Failure> {
    let is_file = profile.ends_with(".json") || std::path::Path::new(profile).is_file();
    if !is_file {
        return Profile::parse(profile).map_err(mapping_failure);
    }
    let text = std::fs::read_to_string(profile)
        .map_err(|e| io_failure(&format!("reading {profile}"), e))?;
    Profile::parse(&text).map_err(|e| Failure {
        message: format!("{profile}: {e}"),
        ..mapping_failure(e)
    })
}

fn mapping_failure(e: stripe_bridge::mapping::MappingError) -> Failure {
    Failure {
        kind: "mapping",
        code: "invalid_mapping",
        message: e.to_string(),
    }
}

/// POSTs a signed event; the status and body, or why there is none.
fn post(url: &str, body: &[u8], header: &str) -> Result<(u16, String), String> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(std::time::Duration::from_secs(30)))
        .build()
        .into();
    let mut response = agent
        .post(url)
        .header("content-type", "application/json")
        .header("stripe-signature", header)
        .send(body)
        .map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    let text = response.body_mut().read_to_string().unwrap_or_default();
    Ok((status, text))
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            let message = f.message.replace(['\n', '\r'], " ");
            eprintln!("error[{}/{}]: {message}", f.kind, f.code);
            ExitCode::FAILURE
        }
    }
}
