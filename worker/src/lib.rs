//! The stripe-bridge Cloudflare Worker: receives Stripe webhooks at the edge, verifies and
//! normalizes them with the core, dedups by event id in KV, and forwards the records to the
//! shop's backend through a Queue (retries with backoff, dead letters kept for replay).
//!
//! Thin over the core: HTTP routing, KV, Queues and fetch live here; verification,
//! normalization, the queue message, the dedup states and the retry policy live in
//! `stripe_bridge`.

#![forbid(unsafe_code)]
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
// The Worker runs on wasm32, where its error values (the answer it gives, Stripe's error) are
// half their 64-bit size and within clippy's limit; the lint is checked there (`make test`).
#![cfg_attr(not(target_arch = "wasm32"), allow(clippy::result_large_err))]

mod book;
mod config;
mod console;
mod payments;
mod payouts;
mod shop;
mod stats;
mod store;
mod stripe;

use std::time::Duration;

use futures_util::future::{join_all, select, Either};
use serde::Serialize;
use serde_json::json;
use stripe_bridge::console::stats::Tally;
use stripe_bridge::delivery::{
    dead_letter_key, dedup_key, is_delivered, redact_personal, DedupEntry, DeliveryState,
    ForwardMessage,
};
use stripe_bridge::routes::{Route, WEBHOOK_PATH};
use stripe_bridge::signature::Verifier;
use stripe_bridge::{verify_and_normalize, Record, Status};
use worker::{
    console_log, event, AbortController, Context, Date, Delay, Env, Fetch, Headers, KvStore,
    Message, MessageBatch, MessageExt, Method, QueueRetryOptionsBuilder, Request, RequestInit,
    Response, Result,
};

use config::{dlq_name, text, ConfigError, ForwardConfig, ReceiveConfig};

pub(crate) fn now_ms() -> u64 {
    Date::now().as_millis()
}

/// A field of a JSON value, `null` when absent or when the value is not an object (never a
/// panic, whatever the shape of the input).
pub(crate) fn at<'a>(value: &'a serde_json::Value, key: &str) -> &'a serde_json::Value {
    value.get(key).unwrap_or(&serde_json::Value::Null)
}

/// Sets a field of a JSON object; a value that is not an object is left alone.
pub(crate) fn set(value: &mut serde_json::Value, key: &str, field: serde_json::Value) {
    if let Some(map) = value.as_object_mut() {
        map.insert(key.to_owned(), field);
    }
}

/// One structured log line (JSON). Never secrets, payloads or card data.
pub(crate) fn log(fields: serde_json::Value) {
    console_log!("{}", fields);
}

fn json_response(status: u16, body: serde_json::Value) -> Result<Response> {
    Ok(Response::from_json(&body)?.with_status(status))
}

/// What the receiver decided, for the response and the log line.
pub(crate) struct Outcome {
    status: u16,
    outcome: &'static str,
    event_id: Option<String>,
    event_type: Option<String>,
    /// Why an event was not forwarded (ignored by the mode guard, unreadable): a field path or
    /// a fixed sentence, never a value of the payload. Logged with the request.
    reason: Option<String>,
    detail: serde_json::Value,
    /// A body that is not JSON (a CSV download, a console page): content type and text.
    text: Option<(&'static str, String)>,
    /// Extra response headers (the console's cookies, redirects and security headers).
    headers: Vec<(&'static str, String)>,
}

impl Outcome {
    fn new(status: u16, outcome: &'static str) -> Self {
        Outcome {
            status,
            outcome,
            event_id: None,
            event_type: None,
            reason: None,
            detail: json!({}),
            text: None,
            headers: Vec::new(),
        }
    }

    fn with_header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    /// Adds one field to the detail (what was done before a failure).
    fn with_extra(mut self, key: &str, value: serde_json::Value) -> Self {
        if let Some(map) = self.detail.as_object_mut() {
            map.insert(key.to_owned(), value);
        }
        self
    }

    fn with_text(mut self, content_type: &'static str, text: String) -> Self {
        self.text = Some((content_type, text));
        self
    }

    fn with_detail(mut self, detail: serde_json::Value) -> Self {
        self.detail = detail;
        self
    }
}

#[event(fetch)]
async fn fetch(req: Request, env: Env, ctx: Context) -> Result<Response> {
    let started = now_ms();
    let path = req.path();
    let method = req.method();
    let outcome = route(req, &env, &path, &method).await;
    let latency_ms = now_ms().saturating_sub(started);
    if path == WEBHOOK_PATH {
        // Counted after the answer is sent: the console's figures never slow Stripe's request.
        let tally = Tally::webhook(started, outcome.status, outcome.outcome);
        ctx.wait_until(async move { stats::add(&env, tally).await });
    }
    let mut line = json!({
        "at": started,
        "method": method.to_string(),
        "path": path,
        "status": outcome.status,
        "outcome": outcome.outcome,
        "event_id": outcome.event_id,
        "event_type": outcome.event_type,
        "latency_ms": latency_ms,
    });
    if let (Some(map), Some(reason)) = (line.as_object_mut(), &outcome.reason) {
        map.insert("reason".into(), json!(reason));
    }
    log(line);
    let headers = Headers::new();
    for (name, value) in &outcome.headers {
        headers.append(name, value)?;
    }
    if let Some((content_type, text)) = outcome.text {
        headers.set("content-type", content_type)?;
        return Ok(Response::ok(text)?
            .with_status(outcome.status)
            .with_headers(headers));
    }
    let mut body = json!({ "result": outcome.outcome });
    if let (Some(map), Some(extra)) = (body.as_object_mut(), outcome.detail.as_object()) {
        map.extend(extra.clone());
        if let Some(id) = &outcome.event_id {
            map.insert("event_id".into(), json!(id));
        }
    }
    let response = json_response(outcome.status, body)?;
    headers.set("content-type", "application/json")?;
    if outcome.status == 405 {
        headers.set("allow", "POST")?;
    }
    Ok(response.with_headers(headers))
}

async fn route(req: Request, env: &Env, path: &str, method: &Method) -> Outcome {
    let book = || book_of(env, &req);
    match Route::of(method.as_ref(), path) {
        Route::Health if query(&req, "deep").is_some() => admin(&req, env, deep_health(env)).await,
        Route::Health => Outcome::new(200, "ok").with_detail(json!({ "service": "stripe-bridge" })),
        Route::Webhook => receive(req, env).await,
        Route::PaymentRequest => payments::create(req, env).await,
        Route::Order(order_ref) => admin(&req, env, order(env, &req, path_id(order_ref))).await,
        Route::SyncOrder(id) => {
            let book = book();
            shop::sync_order(req, env, &book, &path_id(id)).await
        }
        Route::ReconcilePayout(id) => {
            let restart = query(&req, "restart").is_some();
            admin(
                &req,
                env,
                payouts::reconcile_route(env, &book(), id, restart),
            )
            .await
        }
        Route::Payout(id) | Route::Report(id) => {
            let csv = query(&req, "format").as_deref() == Some("csv");
            admin(&req, env, payouts::get_route(env, &book(), id, csv)).await
        }
        Route::Refunds => {
            let book = book();
            shop::refund(req, env, &book).await
        }
        Route::Customers => shop::customer(req, env).await,
        Route::Capture(pi) => {
            let book = book();
            shop::authorization(req, env, &book, pi, "capture").await
        }
        Route::Cancel(pi) => {
            let book = book();
            shop::authorization(req, env, &book, pi, "cancel").await
        }
        Route::DeadLetters => admin(&req, env, list_dead_letters(env, &req)).await,
        Route::ReplayAll => admin(&req, env, replay_all(env, &req)).await,
        Route::Replay(id) => admin(&req, env, replay_counted(env, id.to_owned())).await,
        Route::Release(id) => admin(&req, env, release(env, id.to_owned())).await,
        Route::Console => console::route(req, env, path, method).await,
        Route::MethodNotAllowed => Outcome::new(405, "method_not_allowed"),
        Route::NotFound => Outcome::new(404, "not_found"),
    }
}

/// A configuration error: detailed in the log, never in the response (callers are not
/// authenticated).
/// A query parameter.
fn query(req: &Request, name: &str) -> Option<String> {
    req.url().ok().and_then(|u| {
        u.query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    })
}

/// `GET /healthz?deep=1` (admin): every configuration checked, each with its error if any.
async fn deep_health(env: &Env) -> Outcome {
    let check = |r: std::result::Result<(), ConfigError>| match r {
        Ok(()) => json!("ok"),
        Err(e) => json!(e.0),
    };
    let report = json!({
        "receive": check(ReceiveConfig::from_env(env).map(|_| ())),
        "forward": check(ForwardConfig::from_env(env).map(|_| ())),
        "books": check(env.durable_object(config::BOOKS).map(|_| ()).map_err(|e| ConfigError(e.to_string()))),
        "payout_ledgers": check(env.durable_object(config::PAYOUTS).map(|_| ()).map_err(|e| ConfigError(e.to_string()))),
        "reconcile_queue": check(env.queue(config::QUEUE_RECONCILE).map(|_| ()).map_err(|e| ConfigError(e.to_string()))),
        "queue": check(env.queue(config::QUEUE_FORWARD).map(|_| ()).map_err(|e| ConfigError(e.to_string()))),
        "dead_letters": check(env.kv(config::KV_DEAD_LETTERS).map(|_| ()).map_err(|e| ConfigError(e.to_string()))),
    });
    let healthy = report
        .as_object()
        .is_some_and(|m| m.values().all(|v| v == "ok"));
    Outcome::new(
        if healthy { 200 } else { 500 },
        if healthy { "ok" } else { "unhealthy" },
    )
    .with_detail(json!({ "checks": report }))
}

/// An id from a path, percent-decoded (`/orders/%231001` is order `#1001`; `+` stays `+`).
pub(crate) fn path_id(segment: &str) -> String {
    percent_encoding::percent_decode_str(segment)
        .decode_utf8_lossy()
        .into_owned()
}

/// `GET /orders/{order_ref}[?account=acct_…][&mode=live|test]` (admin): the order's entry in
/// its book (state, sequence, event ids). Defaults: the platform account; live mode when
/// `STRIPE_MODE=live`, else test.
async fn order(env: &Env, req: &Request, order_ref: String) -> Outcome {
    match book::order(env, &book_of(env, req), &order_ref).await {
        Ok(Some(entry)) => Outcome::new(200, "ok").with_detail(entry),
        Ok(None) => Outcome::new(404, "not_found"),
        Err(e) => {
            log(json!({ "outcome": "book_unavailable", "error": e.to_string() }));
            Outcome::new(503, "book_unavailable")
        }
    }
}

/// The book an admin request is about: `?account=acct_…` (default: the platform) and
/// `?mode=live|test` (default: live when `STRIPE_MODE=live`, else test).
fn book_of(env: &Env, req: &Request) -> String {
    let account = query(req, "account").unwrap_or_else(|| "platform".to_owned());
    let mode = query(req, "mode").unwrap_or_else(|| {
        if text(env, "STRIPE_MODE").as_deref() == Some("live") {
            "live".to_owned()
        } else {
            "test".to_owned()
        }
    });
    format!("{account}:{mode}")
}

pub(crate) fn config_error(e: ConfigError) -> Outcome {
    log(json!({ "outcome": "config_error", "error": e.0 }));
    Outcome::new(500, "config_error")
}

/// `POST /webhooks/stripe`.
async fn receive(mut req: Request, env: &Env) -> Outcome {
    let config = match ReceiveConfig::from_env(env) {
        Ok(c) => c,
        Err(e) => return config_error(e),
    };
    let body = match read_body(&mut req, config.max_body_bytes).await {
        Ok(b) => b,
        Err(refused) => return refused,
    };
    let header = req
        .headers()
        .get("stripe-signature")
        .ok()
        .flatten()
        .unwrap_or_default();
    let verifier = match Verifier::new(config.secrets.iter().map(String::as_str)) {
        Ok(v) => v.with_tolerance(config.tolerance),
        Err(e) => return config_error(ConfigError(format!("STRIPE_WEBHOOK_SECRET: {e}"))),
    };
    let now = i64::try_from(now_ms() / 1000).unwrap_or(i64::MAX);
    let record = match verify_and_normalize(&verifier, &body, &header, now, &config.normalize) {
        Ok(r) => r,
        Err(e) => {
            let outcome = if e.kind() == "signature" {
                "bad_signature"
            } else {
                "malformed_event"
            };
            return Outcome::new(400, outcome)
                .with_detail(json!({ "error": e.code(), "message": e.to_string() }));
        }
    };
    let mut record = record;
    if let Some(id) = record.missing_fee().map(str::to_owned) {
        with_fee(env, &mut record, &id).await;
    }
    let mut outcome = accept(env, &record).await;
    if outcome.status == 200 && outcome.outcome == "accepted" {
        payouts::on_event(env, &record, &body).await;
    }
    outcome.event_id = Some(record.event_id.clone());
    outcome.event_type = Some(record.event_type.clone());
    outcome
}

fn too_large(limit: usize) -> Outcome {
    Outcome::new(413, "payload_too_large").with_detail(json!({ "limit_bytes": limit }))
}

/// The request body, at most `limit` bytes: what is declared too large is refused before it is
/// read, then what actually came is checked (413); an unreadable body is a 400.
pub(crate) async fn read_body(
    req: &mut Request,
    limit: usize,
) -> std::result::Result<Vec<u8>, Outcome> {
    let declared = req
        .headers()
        .get("content-length")
        .ok()
        .flatten()
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(too_large(limit));
    }
    let body = req
        .bytes()
        .await
        .map_err(|_| Outcome::new(400, "unreadable_body"))?;
    if body.len() > limit {
        return Err(too_large(limit));
    }
    Ok(body)
}

/// Hands the record to its account's order book (exact dedup, the order's state, the forward
/// through the outbox and the queue). An unreadable record's dead letter is kept first. Only a
/// failure to keep something is a 5xx (Stripe retries; nothing is half-accepted).
async fn accept(env: &Env, record: &Record) -> Outcome {
    let unreadable = record.status == Status::Unreadable;
    if unreadable {
        if let Err(refused) = keep_unreadable(env, record).await {
            return refused;
        }
    }
    let applied = match book::apply(env, record).await {
        Ok(applied) => applied,
        Err(e) => {
            log(
                json!({ "outcome": "book_unavailable", "event_id": record.event_id, "error": e.to_string() }),
            );
            return Outcome::new(503, "book_unavailable");
        }
    };
    match applied.result.as_str() {
        "duplicate" => Outcome::new(200, "duplicate"),
        "recorded" if unreadable => {
            let reason = record.reason.clone().unwrap_or_default();
            let mut o = Outcome::new(200, "unreadable")
                .with_detail(json!({ "status": record.status, "reason": reason }));
            o.reason = Some(reason);
            o
        }
        "recorded" => ignored(record.reason.clone()),
        _ => Outcome::new(200, "accepted").with_detail(json!({
            "status": record.status,
            "order_ref": applied.order_ref,
            "sequence": applied.sequence,
            "order_status": applied.order_status,
            "waiting": applied.result == "waiting",
        })),
    }
}

/// How long the fee lookup may hold the answer to Stripe: one attempt, this long at most.
const FEE_LOOKUP_TIMEOUT_MS: u64 = 3_000;

/// A paid charge's fee and net from its balance transaction (`FETCH_FEES`, with
/// `STRIPE_SECRET_KEY`): one read of at most 3 s and no retries, since the webhook's answer
/// waits for it; without it the record goes on without fees (never a refused webhook).
async fn with_fee(env: &Env, record: &mut Record, balance_transaction: &str) {
    if !config::fetch_fees(env) {
        return;
    }
    let (Ok(mut stripe), Ok(path)) = (
        config::StripeConfig::from_env(env),
        stripe_bridge::reconcile::fetch::balance_transaction_path(balance_transaction),
    ) else {
        return;
    };
    stripe.max_retries = 0;
    stripe.timeout_ms = stripe.timeout_ms.min(FEE_LOOKUP_TIMEOUT_MS);
    // A connected account's charge: its balance transaction is read on that account.
    stripe.account = record.account.clone();
    let (answer, _) = stripe::send(&stripe, stripe::Call::Get(&path)).await;
    let read = answer.map_err(|e| e.to_string()).and_then(|a| {
        stripe_bridge::reconcile::fetch::parse_balance_transaction(&a.body)
            .map_err(|e| e.to_string())
    });
    match read {
        Ok(bt) => record.with_balance_transaction(&bt),
        Err(e) => log(json!({ "fees": "not_read", "event_id": record.event_id, "error": e })),
    }
}

/// `200 ignored`, with the reason when there is one (in the response and the log line).
fn ignored(reason: Option<String>) -> Outcome {
    let mut outcome = Outcome::new(200, "ignored");
    if let Some(reason) = reason {
        outcome = outcome.with_detail(json!({ "reason": reason }));
        outcome.reason = Some(reason);
    }
    outcome
}

/// A mapped event whose object could not be read: kept with the dead letters (kind
/// `unreadable`: the envelope and the reason, never the payload), never forwarded. When it
/// cannot be kept the answer is a 503 and nothing is recorded, so Stripe delivers it again.
async fn keep_unreadable(env: &Env, record: &Record) -> std::result::Result<(), Outcome> {
    let reason = record
        .reason
        .clone()
        .unwrap_or_else(|| "the event's object could not be read".to_owned());
    let letter = UnreadableLetter {
        kind: LetterKind::Unreadable,
        event_id: record.event_id.clone(),
        event_type: record.event_type.clone(),
        created: record.created,
        livemode: record.livemode,
        account: record.account.clone(),
        reason: reason.clone(),
        dead_at_ms: now_ms(),
    };
    let summary = DeadLetterSummary {
        kind: LetterKind::Unreadable,
        event_type: letter.event_type.clone(),
        dead_at_ms: letter.dead_at_ms,
        last_error: None,
        reason: Some(reason.clone()),
        created: Some(letter.created),
        livemode: Some(letter.livemode),
        account: letter.account.clone(),
    };
    store_dead_letter(env, &record.event_id, &letter, &summary)
        .await
        .map_err(|e| {
            log(json!({
                "outcome": "dead_letter_store_failed",
                "event_id": record.event_id,
                "event_type": record.event_type,
                "error": e,
            }));
            let mut o = Outcome::new(503, "storage_unavailable");
            o.reason = Some(reason);
            o
        })
}

async fn put_state(
    kv: Option<&KvStore>,
    key: &str,
    state: DeliveryState,
    event_type: &str,
    last_error: Option<String>,
    ttl_secs: u64,
) {
    let Some(kv) = kv else { return };
    let entry = DedupEntry {
        state,
        event_type: event_type.to_owned(),
        at_ms: now_ms(),
        last_error,
    };
    let result = match kv.put(key, &entry) {
        Ok(put) => put.expiration_ttl(ttl_secs).execute().await,
        Err(e) => Err(e),
    };
    if let Err(e) = result {
        log(json!({ "outcome": "dedup_write_failed", "key": key, "error": e.to_string() }));
    }
}

/// Queue batches: the forward queue delivers; the dead-letter queue keeps what ran out of retries.
#[event(queue)]
async fn queue(batch: MessageBatch<ForwardMessage>, env: Env, _ctx: Context) -> Result<()> {
    if batch.queue() == config::reconcile_queue_name(&env) {
        payouts::consume(&batch, &env).await;
        return Ok(());
    }
    // One unreadable message never fails its batch: it is logged and left out (acknowledged
    // with the batch), the others are handled.
    let messages: Vec<Message<ForwardMessage>> = batch
        .iter()
        .filter_map(|m| {
            m.map_err(|e| log(json!({ "queue": batch.queue(), "outcome": "unreadable_message", "error": e.to_string() })))
                .ok()
        })
        .collect();
    if batch.queue() == dlq_name(&env) {
        let kept = join_all(messages.iter().map(|m| keep_dead_letter(&env, m))).await;
        let letters = messages.iter().map(|m| m.body().event_id.clone()).zip(kept);
        stats::add(&env, Tally::dead_letters(now_ms(), letters)).await;
        return Ok(());
    }
    let config = match ForwardConfig::from_env(&env) {
        Ok(c) => c,
        Err(e) => {
            // Misconfigured: keep every message and wait like any failure (the default policy's
            // delay for each message's age), so the queue's retries span what they promise.
            log(json!({ "outcome": "config_error", "error": e.0 }));
            for m in &messages {
                retry_later(m, &stripe_bridge::delivery::RetryPolicy::DEFAULT);
            }
            return Ok(());
        }
    };
    let delivered = join_all(messages.iter().map(|m| deliver(&env, &config, m))).await;
    let attempts = messages
        .iter()
        .map(|m| m.body().event_id.clone())
        .zip(delivered);
    stats::add(&env, Tally::deliveries(now_ms(), attempts)).await;
    Ok(())
}

/// Retries a queued message after the policy's delay for its age (jittered by its event id);
/// the delay in seconds.
fn retry_later(
    message: &Message<ForwardMessage>,
    policy: &stripe_bridge::delivery::RetryPolicy,
) -> u32 {
    let elapsed = now_ms().saturating_sub(message.timestamp().as_millis()) / 1000;
    let delay = policy.delay_after(elapsed, &message.body().event_id);
    message.retry_with_options(
        &QueueRetryOptionsBuilder::new()
            .with_delay_seconds(delay)
            .build(),
    );
    delay
}

/// One delivery attempt: 2xx acks; anything else (or a timeout) retries with backoff. After
/// the queue's `max_retries` the message goes to the dead-letter queue. Whether it was delivered.
async fn deliver(env: &Env, config: &ForwardConfig, message: &Message<ForwardMessage>) -> bool {
    let started = now_ms();
    let m = message.body();
    let result = post_downstream(config, m).await;
    let dedup = env.kv(config::KV_DEDUP).ok();
    let key = dedup_key(&m.event_id);
    let latency_ms = now_ms().saturating_sub(started);
    match result {
        Ok(status) if is_delivered(status) => {
            message.ack();
            put_state(
                dedup.as_ref(),
                &key,
                DeliveryState::Delivered,
                &m.event_type,
                None,
                config.dedup_ttl_secs,
            )
            .await;
            log(
                json!({ "queue": "forward", "event_id": m.event_id, "outcome": "delivered", "status": status, "latency_ms": latency_ms }),
            );
            true
        }
        failure => {
            let error = match failure {
                Ok(status) => format!("HTTP {status}"),
                Err(e) => e,
            };
            let delay = retry_later(message, &config.retry);
            put_state(
                dedup.as_ref(),
                &key,
                DeliveryState::Retrying,
                &m.event_type,
                Some(error.clone()),
                config.dedup_ttl_secs,
            )
            .await;
            log(
                json!({ "queue": "forward", "event_id": m.event_id, "outcome": "retry", "error": error, "retry_in_s": delay, "latency_ms": latency_ms }),
            );
            false
        }
    }
}

/// Sends a request, giving up (and aborting it) after `timeout_ms`; the response, or why
/// there is none.
pub(crate) async fn send_with_timeout(
    request: Request,
    timeout_ms: u64,
) -> std::result::Result<Response, String> {
    let controller = AbortController::default();
    let signal = controller.signal();
    let fetcher = Fetch::Request(request);
    let fetch = Box::pin(fetcher.send_with_signal(&signal));
    let timeout = Box::pin(Delay::from(Duration::from_millis(timeout_ms)));
    let outcome = match select(fetch, timeout).await {
        Either::Left((Ok(response), _)) => Ok(response),
        Either::Left((Err(e), _)) => Err(format!("fetch failed: {e}")),
        Either::Right(_) => {
            controller.abort();
            Err(format!("timed out after {timeout_ms} ms"))
        }
    };
    outcome
}

/// POSTs the body with Standard Webhooks headers; the HTTP status, or why there is none.
async fn post_downstream(
    config: &ForwardConfig,
    m: &ForwardMessage,
) -> std::result::Result<u16, String> {
    let timestamp = i64::try_from(now_ms() / 1000).unwrap_or(i64::MAX);
    let headers = Headers::new();
    let set = |name: &str, value: &str| headers.set(name, value).map_err(|e| e.to_string());
    set("content-type", "application/json")?;
    set(
        "user-agent",
        concat!("stripe-bridge/", env!("CARGO_PKG_VERSION")),
    )?;
    for (name, value) in config
        .signer
        .headers(&m.event_id, timestamp, m.body.as_bytes())
    {
        set(name, &value)?;
    }
    let mut init = RequestInit::new();
    init.with_method(Method::Post)
        .with_headers(headers)
        .with_body(Some(m.body.clone().into()));
    let request = Request::new_with_init(&config.url, &init).map_err(|e| e.to_string())?;
    send_with_timeout(request, config.timeout_ms)
        .await
        .map(|r| r.status_code())
}

/// What a dead letter is: a record that ran out of delivery retries (replayable), or an event
/// whose object could not be read (nothing to forward).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
enum LetterKind {
    #[default]
    Undelivered,
    Unreadable,
}

/// A dead letter, as kept: the message, when, and the last delivery error.
#[derive(Serialize, serde::Deserialize)]
struct DeadLetter {
    /// Absent in letters kept before kinds existed.
    #[serde(default)]
    kind: LetterKind,
    message: ForwardMessage,
    dead_at_ms: u64,
    last_error: Option<String>,
}

/// An unreadable event, as kept: its envelope and why its object could not be read. Never the
/// raw payload or anything from its object (no amounts, names, emails or metadata).
#[derive(Serialize, serde::Deserialize)]
struct UnreadableLetter {
    kind: LetterKind,
    event_id: String,
    event_type: String,
    created: i64,
    livemode: bool,
    account: Option<String>,
    reason: String,
    dead_at_ms: u64,
}

/// Summary stored as KV metadata, so listing needs no reads per entry.
#[derive(Serialize, serde::Deserialize)]
struct DeadLetterSummary {
    #[serde(default)]
    kind: LetterKind,
    event_type: String,
    dead_at_ms: u64,
    last_error: Option<String>,
    // Unreadable letters only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    created: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    livemode: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    account: Option<String>,
}

/// Keeps a dead letter (`dl:<event id>`) with its summary as metadata.
async fn store_dead_letter<T: Serialize>(
    env: &Env,
    event_id: &str,
    letter: &T,
    summary: &DeadLetterSummary,
) -> std::result::Result<(), String> {
    let kv = env.kv(config::KV_DEAD_LETTERS).map_err(|e| e.to_string())?;
    // Kept for DEAD_LETTER_TTL_DAYS (default 30), then gone.
    let ttl = ForwardConfig::from_env(env)
        .map_or(config::DEFAULT_DEAD_LETTER_TTL_DAYS * 86_400, |c| {
            c.dead_letter_ttl_secs
        });
    kv.put(&dead_letter_key(event_id), letter)
        .and_then(|p| p.metadata(summary))
        .map(|p| p.expiration_ttl(ttl))
        .map_err(|e| e.to_string())?
        .execute()
        .await
        .map_err(|e| e.to_string())
}

/// Keeps a message that ran out of retries; whether it was kept.
async fn keep_dead_letter(env: &Env, message: &Message<ForwardMessage>) -> bool {
    let m = message.body();
    let ttl =
        ForwardConfig::from_env(env).map_or(config::DEFAULT_DEDUP_TTL_SECS, |c| c.dedup_ttl_secs);
    let dedup = env.kv(config::KV_DEDUP).ok();
    let key = dedup_key(&m.event_id);
    let last_error = match &dedup {
        Some(kv) => kv
            .get(&key)
            .json::<DedupEntry>()
            .await
            .ok()
            .flatten()
            .and_then(|e| e.last_error),
        None => None,
    };
    // No customer e-mail or name in what is kept: a replay forwards the redacted body.
    let mut kept = m.clone();
    kept.body = redact_personal(&kept.body);
    let letter = DeadLetter {
        kind: LetterKind::Undelivered,
        message: kept,
        dead_at_ms: now_ms(),
        last_error: last_error.clone(),
    };
    let summary = DeadLetterSummary {
        kind: LetterKind::Undelivered,
        event_type: m.event_type.clone(),
        dead_at_ms: letter.dead_at_ms,
        last_error: last_error.clone(),
        reason: None,
        created: None,
        livemode: None,
        account: None,
    };
    match store_dead_letter(env, &m.event_id, &letter, &summary).await {
        Ok(()) => {
            message.ack();
            put_state(
                dedup.as_ref(),
                &key,
                DeliveryState::DeadLettered,
                &m.event_type,
                last_error,
                ttl,
            )
            .await;
            log(json!({ "queue": "dead_letter", "event_id": m.event_id, "outcome": "kept" }));
            true
        }
        Err(e) => {
            // Not stored: let the dead-letter queue deliver it again rather than lose it, with
            // the default policy's backoff (an immediate retry would spend the queue's retries
            // within seconds of a storage outage).
            retry_later(message, &stripe_bridge::delivery::RetryPolicy::DEFAULT);
            log(
                json!({ "queue": "dead_letter", "event_id": m.event_id, "outcome": "store_failed", "error": e }),
            );
            false
        }
    }
}

/// Admin routes need `Authorization: Bearer <ADMIN_TOKEN>` or the console's session cookie
/// (with its CSRF token when they change something); without ADMIN_TOKEN they are off.
async fn admin(
    req: &Request,
    env: &Env,
    action: impl std::future::Future<Output = Outcome>,
) -> Outcome {
    match console::authorize(req, env) {
        // Admin answers may carry order, payout and letter data: never cached, never sniffed.
        Ok(()) => action
            .await
            .with_header("cache-control", "no-store")
            .with_header("x-content-type-options", "nosniff"),
        Err(refused) => refused,
    }
}

/// Checks `Authorization: Bearer <token>` against the secret `var` in constant time: 404 when
/// the secret is not set (the route is off), 401 when the header does not match.
pub(crate) fn bearer(req: &Request, env: &Env, var: &str) -> std::result::Result<(), Outcome> {
    let Some(token) = text(env, var) else {
        return Err(Outcome::new(404, "not_found"));
    };
    let given = req
        .headers()
        .get("authorization")
        .ok()
        .flatten()
        .unwrap_or_default();
    let expected = format!("Bearer {token}");
    if stripe_bridge::signature::tokens_equal(&given, &expected) {
        Ok(())
    } else {
        Err(Outcome::new(401, "unauthorized"))
    }
}

/// `GET /dead-letters[?cursor=...]`: up to 100 dead letters: undelivered ones with their last
/// error, unreadable ones with the reason and the event's envelope.
async fn list_dead_letters(env: &Env, req: &Request) -> Outcome {
    let kv = match env.kv(config::KV_DEAD_LETTERS) {
        Ok(kv) => kv,
        Err(_) => return Outcome::new(503, "storage_unavailable"),
    };
    let cursor = req.url().ok().and_then(|u| {
        u.query_pairs()
            .find(|(k, _)| k == "cursor")
            .map(|(_, v)| v.into_owned())
    });
    let mut list = kv.list().prefix("dl:".to_owned()).limit(100);
    if let Some(cursor) = cursor {
        list = list.cursor(cursor);
    }
    match list.execute().await {
        Ok(page) => {
            let letters: Vec<serde_json::Value> = page
                .keys
                .iter()
                .map(|k| {
                    let summary = k
                        .metadata
                        .clone()
                        .and_then(|m| serde_json::from_value::<DeadLetterSummary>(m).ok());
                    let mut letter = json!({
                        "event_id": k.name.trim_start_matches("dl:"),
                        "kind": summary.as_ref().map(|s| s.kind).unwrap_or_default(),
                        "event_type": summary.as_ref().map(|s| s.event_type.clone()),
                        "dead_at_ms": summary.as_ref().map(|s| s.dead_at_ms),
                        "last_error": summary.as_ref().and_then(|s| s.last_error.clone()),
                    });
                    if let (Some(map), Some(s)) = (letter.as_object_mut(), summary) {
                        if s.kind == LetterKind::Unreadable {
                            map.insert("reason".into(), json!(s.reason));
                            map.insert("created".into(), json!(s.created));
                            map.insert("livemode".into(), json!(s.livemode));
                            map.insert("account".into(), json!(s.account));
                        }
                    }
                    letter
                })
                .collect();
            Outcome::new(200, "ok").with_detail(json!({
                "dead_letters": letters,
                "cursor": if page.list_complete { None } else { page.cursor },
            }))
        }
        Err(e) => {
            log(json!({ "outcome": "storage_unavailable", "error": e.to_string() }));
            Outcome::new(503, "storage_unavailable")
        }
    }
}

/// `POST /dead-letters/{event_id}/replay`: queue it again, then drop it from the store. An
/// unreadable letter has nothing to forward: 409, and it stays listed.
async fn replay(env: &Env, event_id: String) -> Outcome {
    let (Ok(kv), Ok(queue)) = (
        env.kv(config::KV_DEAD_LETTERS),
        env.queue(config::QUEUE_FORWARD),
    ) else {
        return Outcome::new(503, "storage_unavailable");
    };
    let key = dead_letter_key(&event_id);
    let stored = match stored_letter(&kv, &key, &event_id).await {
        Ok(stored) => stored,
        Err(refused) => return refused,
    };
    if let Ok(unreadable) = serde_json::from_value::<UnreadableLetter>(stored.clone()) {
        if unreadable.kind == LetterKind::Unreadable {
            return not_replayable(unreadable);
        }
    }
    let Ok(letter) = serde_json::from_value::<DeadLetter>(stored) else {
        return Outcome::new(503, "storage_unavailable");
    };
    if queue.send(&letter.message).await.is_err() {
        return Outcome::new(503, "queue_unavailable");
    }
    // Queued again; if the delete fails the letter stays listed, and replaying twice is safe
    // (the downstream dedups by webhook-id).
    let _ = kv.delete(&key).await;
    let ttl =
        ForwardConfig::from_env(env).map_or(config::DEFAULT_DEDUP_TTL_SECS, |c| c.dedup_ttl_secs);
    put_state(
        env.kv(config::KV_DEDUP).ok().as_ref(),
        &dedup_key(&event_id),
        DeliveryState::Replayed,
        &letter.message.event_type,
        None,
        ttl,
    )
    .await;
    let mut o = Outcome::new(202, "replayed");
    o.event_id = Some(event_id);
    o.event_type = Some(letter.message.event_type);
    o
}

/// A dead letter as stored, or the answer when there is none (404) or it cannot be read (503).
async fn stored_letter(
    kv: &worker::kv::KvStore,
    key: &str,
    event_id: &str,
) -> std::result::Result<serde_json::Value, Outcome> {
    match kv.get(key).json::<serde_json::Value>().await {
        Ok(Some(stored)) => Ok(stored),
        Ok(None) => {
            let mut o = Outcome::new(404, "not_found");
            o.event_id = Some(event_id.to_owned());
            Err(o)
        }
        Err(_) => Err(Outcome::new(503, "storage_unavailable")),
    }
}

/// `POST /dead-letters/{event_id}/release`: for an unreadable letter only (it changed nothing),
/// its book forgets the event and the letter is dropped, so Stripe's resend of it is applied
/// like a new delivery. The book first: should dropping the letter fail, it stays listed and a
/// second release is harmless.
async fn release(env: &Env, event_id: String) -> Outcome {
    let Ok(kv) = env.kv(config::KV_DEAD_LETTERS) else {
        return Outcome::new(503, "storage_unavailable");
    };
    let key = dead_letter_key(&event_id);
    let stored = match stored_letter(&kv, &key, &event_id).await {
        Ok(stored) => stored,
        Err(refused) => return refused,
    };
    let letter = match serde_json::from_value::<UnreadableLetter>(stored) {
        Ok(letter) if letter.kind == LetterKind::Unreadable => letter,
        _ => {
            let mut o = Outcome::new(409, "not_unreadable").with_detail(json!({
                "message": "only an unreadable letter is released; an undelivered one is replayed",
            }));
            o.event_id = Some(event_id);
            return o;
        }
    };
    let book = stripe_bridge::order_book::partition_of(letter.account.as_deref(), letter.livemode);
    if let Err(e) = book::forget(env, &book, &event_id).await {
        log(json!({ "outcome": "book_unavailable", "event_id": event_id, "error": e.to_string() }));
        return Outcome::new(503, "book_unavailable");
    }
    let _ = kv.delete(&key).await;
    let mut o = Outcome::new(200, "released");
    o.event_id = Some(event_id);
    o
}

/// `POST /dead-letters/replay[?since=<Unix ms>]` (admin): replays every undelivered dead
/// letter (or those that died since), up to 500 per call; unreadable ones stay listed.
async fn replay_all(env: &Env, req: &Request) -> Outcome {
    let since: u64 = query(req, "since")
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let Ok(kv) = env.kv(config::KV_DEAD_LETTERS) else {
        return Outcome::new(503, "storage_unavailable");
    };
    let (mut replayed, mut skipped, mut cursor) = (0u32, 0u32, None::<String>);
    for _ in 0..5 {
        let mut list = kv.list().prefix("dl:".to_owned()).limit(100);
        if let Some(c) = cursor.take() {
            list = list.cursor(c);
        }
        let Ok(page) = list.execute().await else {
            return Outcome::new(503, "storage_unavailable");
        };
        for key in &page.keys {
            let summary = key
                .metadata
                .clone()
                .and_then(|m| serde_json::from_value::<DeadLetterSummary>(m).ok());
            let wanted = summary
                .as_ref()
                .is_some_and(|s| s.kind == LetterKind::Undelivered && s.dead_at_ms >= since);
            if !wanted {
                skipped += 1;
                continue;
            }
            let id = key.name.trim_start_matches("dl:").to_owned();
            if replay(env, id).await.status == 202 {
                replayed += 1;
            }
        }
        if page.list_complete {
            break;
        }
        cursor = page.cursor;
    }
    console::count_replayed(env, u64::from(replayed)).await;
    Outcome::new(202, "replayed").with_detail(json!({ "replayed": replayed, "skipped": skipped }))
}

/// [`replay`], counted for the console.
async fn replay_counted(env: &Env, event_id: String) -> Outcome {
    let outcome = replay(env, event_id).await;
    if outcome.status == 202 {
        console::count_replayed(env, 1).await;
    }
    outcome
}

/// `409` for an unreadable letter: the payload was never kept, so there is no record to queue.
fn not_replayable(letter: UnreadableLetter) -> Outcome {
    let message = format!(
        "an unreadable event has nothing to forward: stripe-bridge could not read its object \
         and kept only its envelope, never the payload. Once a stripe-bridge release reads it, \
         release it (POST /dead-letters/{}/release: the Worker forgets the event and drops this \
         letter) and resend the event from Stripe (Dashboard → Events → Resend, or \
         `stripe events resend`)",
        letter.event_id
    );
    let mut o = Outcome::new(409, "not_replayable").with_detail(json!({
        "kind": letter.kind,
        "reason": letter.reason,
        "message": message,
    }));
    o.event_id = Some(letter.event_id);
    o.event_type = Some(letter.event_type);
    o
}
