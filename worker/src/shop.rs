//! The shop's operations on Stripe (bearer `SHOP_API_TOKEN`): refunds, captures and
//! cancellations of an order's payments, customers, and order updates on the PaymentIntent.
//! The core builds and checks each request (against the order's state, read from its order
//! book); this module reads the JSON, sends through the one Stripe client, and answers.

use serde::de::DeserializeOwned;
use serde_json::{json, Value};
use stripe_bridge::actions::{
    self, CancelInput, CaptureInput, OrderUpdate, RefundInput, ShopCustomer,
};
use stripe_bridge::payment_request::{RequestError, StripeRequest};
use stripe_bridge::OrderState;
use worker::{Env, Request};

use crate::config::{self, StripeConfig};
use crate::payments::stripe_failure;
use crate::stripe::{self as stripe_client, Call};
use crate::{at, bearer, book, config_error, log, read_body, set, Outcome};

/// What the shop sent, checked for the token and read as `T`; or the answer to give.
async fn input<T: DeserializeOwned>(
    req: &mut Request,
    env: &Env,
) -> Result<(T, StripeConfig), Outcome> {
    bearer(req, env, "SHOP_API_TOKEN")?;
    let config = StripeConfig::from_env(env).map_err(config_error)?;
    let body = read_body(req, config.max_body_bytes).await?;
    let value = serde_json::from_slice(&body).map_err(|e| {
        refused(RequestError {
            field: "body".into(),
            code: "invalid_request",
            message: format!("the request JSON: {e}"),
        })
    })?;
    Ok((value, config))
}

/// Our own refusal, before anything was sent to Stripe.
fn refused(e: RequestError) -> Outcome {
    let status = if e.code == "invalid_request" {
        400
    } else {
        422
    };
    Outcome::new(status, "refused").with_detail(json!({
        "error": { "field": e.field, "code": e.code, "message": e.to_string() },
    }))
}

/// The order's state from its book, or the answer when there is none.
async fn state(env: &Env, book: &str, order_id: &str) -> Result<OrderState, Outcome> {
    match book::order(env, book, order_id).await {
        Ok(Some(entry)) => serde_json::from_value(at(&entry, "state").clone())
            .map_err(|_| Outcome::new(500, "state_unreadable")),
        Ok(None) => Err(Outcome::new(404, "unknown_order")),
        Err(e) => {
            log(json!({ "outcome": "book_unavailable", "error": e.to_string() }));
            Err(Outcome::new(503, "book_unavailable"))
        }
    }
}

/// Sends one built request: Stripe's object, or the answer for the failure.
async fn send(config: &StripeConfig, request: &StripeRequest) -> Result<(Value, bool), Outcome> {
    let (answer, attempts) = stripe_client::post_object(config, request).await;
    answer.map_err(|e| stripe_failure(&e, &request.idempotency_key, attempts))
}

/// `POST /refunds`: one refund per payment the amount comes from.
pub async fn refund(mut req: Request, env: &Env, book: &str) -> Outcome {
    let (input, config) = match input::<RefundInput>(&mut req, env).await {
        Ok((input, config)) => (input, config.for_book(book)),
        Err(answer) => return answer,
    };
    // The same request again (its answer was lost): what Stripe did the first time, before the
    // state (which now counts that refund) could refuse it.
    // Per book: the same input for another Connect account is another request.
    let fingerprint = format!("{book}:{}", input.fingerprint());
    if let Some(done) = recall(env, &fingerprint).await {
        return Outcome::new(200, "created")
            .with_detail(json!({ "refunds": done, "replayed": true }));
    }
    let mut plan = match planned(env, book, &input, &fingerprint).await {
        Ok(plan) => plan,
        Err(answer) => return answer,
    };
    while let Some(part) = plan.requests.get(plan.made.len()) {
        let request = part.request();
        match send(&config, &request).await {
            Ok((refund, replayed)) => plan.made.push(json!({
                "id": at(&refund, "id"), "status": at(&refund, "status"), "amount_minor": request.amount_minor,
                "currency": request.currency, "payment_intent": at(&refund, "payment_intent"),
                "charge": at(&refund, "charge"), "idempotency_key": request.idempotency_key,
                "replayed": replayed,
            })),
            // Those already made are said; the same input again sends only the rest.
            Err(answer) => return answer.with_extra("refunds", json!(plan.made)),
        }
        keep_plan(env, &fingerprint, &plan).await;
    }
    log(json!({ "shop": "refund", "order_id": input.order_id, "refunds": plan.made.len() }));
    remember(env, &fingerprint, &json!(plan.made)).await;
    Outcome::new(200, "created").with_detail(json!({ "refunds": plan.made }))
}

/// A refund request's parts as planned, and the refunds made of them so far (kept in KV
/// `DEDUP` under the request's fingerprint, as long as its answer is). A retry after a failure
/// part-way sends only the parts not made, as planned: splitting again over the state, which by
/// then counts the parts made, would refund more than was asked.
#[derive(serde::Serialize, serde::Deserialize)]
struct RefundPlan {
    requests: Vec<PlannedRefund>,
    made: Vec<Value>,
}

/// One planned `POST /v1/refunds`, as kept.
#[derive(serde::Serialize, serde::Deserialize)]
struct PlannedRefund {
    body: String,
    idempotency_key: String,
    amount_minor: i64,
    currency: String,
}

impl PlannedRefund {
    fn of(r: &StripeRequest) -> Self {
        PlannedRefund {
            body: r.body.clone(),
            idempotency_key: r.idempotency_key.clone(),
            amount_minor: r.amount_minor,
            currency: r.currency.clone(),
        }
    }

    fn request(&self) -> StripeRequest {
        StripeRequest {
            method: "POST",
            path: "/v1/refunds".to_owned(),
            body: self.body.clone(),
            idempotency_key: self.idempotency_key.clone(),
            amount_minor: self.amount_minor,
            currency: self.currency.clone(),
        }
    }
}

/// The plan kept for this request, or a new one from the order's state, kept before anything
/// is sent (when it cannot be kept: 503, nothing sent).
async fn planned(
    env: &Env,
    book: &str,
    input: &RefundInput,
    fingerprint: &str,
) -> Result<RefundPlan, Outcome> {
    let kv = env
        .kv(config::KV_DEDUP)
        .map_err(|_| Outcome::new(503, "storage_unavailable"))?;
    if let Ok(Some(plan)) = kv.get(&plan_key(fingerprint)).json::<RefundPlan>().await {
        return Ok(plan);
    }
    let state = state(env, book, &input.order_id).await?;
    let requests = actions::refunds(input, &state).map_err(refused)?;
    let plan = RefundPlan {
        requests: requests.iter().map(PlannedRefund::of).collect(),
        made: Vec::new(),
    };
    put(env, &plan_key(fingerprint), &json!(plan))
        .await
        .map_err(|_| Outcome::new(503, "storage_unavailable"))?;
    Ok(plan)
}

fn plan_key(fingerprint: &str) -> String {
    format!("plan:{fingerprint}")
}

/// Keeps the parts made so far; if that fails, a retry within Stripe's 24 hours still gets
/// the parts made back by their idempotency keys.
async fn keep_plan(env: &Env, fingerprint: &str, plan: &RefundPlan) {
    if let Err(e) = put(env, &plan_key(fingerprint), &json!(plan)).await {
        log(json!({ "shop": "refund_plan_not_kept", "error": e }));
    }
}

/// Refund requests already done, by fingerprint (KV `DEDUP`, kept 3 days: longer than any
/// shop retries the same request).
async fn recall(env: &Env, fingerprint: &str) -> Option<Value> {
    let kv = env.kv(config::KV_DEDUP).ok()?;
    let text = kv.get(&format!("req:{fingerprint}")).text().await.ok()??;
    serde_json::from_str(&text).ok()
}

async fn remember(env: &Env, fingerprint: &str, refunds: &Value) {
    if let Err(e) = put(env, &format!("req:{fingerprint}"), refunds).await {
        log(json!({ "shop": "refund_not_remembered", "error": e }));
    }
}

/// Puts a value in KV `DEDUP` for as long as events are deduplicated (3 days by default).
async fn put(env: &Env, key: &str, value: &Value) -> Result<(), String> {
    let kv = env.kv(config::KV_DEDUP).map_err(|e| e.to_string())?;
    kv.put(key, value.to_string())
        .map_err(|e| e.to_string())?
        .expiration_ttl(config::DEFAULT_DEDUP_TTL_SECS)
        .execute()
        .await
        .map_err(|e| e.to_string())
}

/// `POST /payments/{pi}/capture` and `…/cancel`.
pub async fn authorization(mut req: Request, env: &Env, book: &str, pi: &str, op: &str) -> Outcome {
    let (body, config) = match input::<Value>(&mut req, env).await {
        Ok((body, config)) => (body, config.for_book(book)),
        Err(answer) => return answer,
    };
    let mut body = body;
    if let Some(map) = body.as_object_mut() {
        map.insert("payment_intent".into(), json!(pi));
    }
    let order_id = at(&body, "order_id")
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let state = state(env, book, &order_id).await.ok();
    let built = match op {
        "capture" => serde_json::from_value::<CaptureInput>(body)
            .map_err(invalid)
            .and_then(|i| actions::capture(&i, state.as_ref())),
        _ => serde_json::from_value::<CancelInput>(body)
            .map_err(invalid)
            .and_then(|i| actions::cancel(&i, state.as_ref())),
    };
    let request = match built {
        Ok(r) => r,
        Err(e) => return refused(e),
    };
    match send(&config, &request).await {
        Ok((pi, replayed)) => {
            let result = if op == "capture" {
                "captured"
            } else {
                "canceled"
            };
            log(json!({ "shop": op, "order_id": order_id, "payment_intent": at(&pi, "id") }));
            Outcome::new(200, result).with_detail(json!({
                "id": at(&pi, "id"), "status": at(&pi, "status"), "amount_received": at(&pi, "amount_received"),
                "idempotency_key": request.idempotency_key, "replayed": replayed,
            }))
        }
        Err(answer) => answer,
    }
}

fn invalid(e: serde_json::Error) -> RequestError {
    RequestError {
        field: "body".into(),
        code: "invalid_request",
        message: format!("the request JSON: {e}"),
    }
}

/// `POST /customers`: the Stripe Customer of a shop customer, found again by the id kept in
/// KV (`cus:<shop id>`), else by Stripe's search on `metadata['customer_id']`; updated when
/// found, created otherwise (keyed by the shop's id and the body, so a retry never creates
/// twice).
pub async fn customer(mut req: Request, env: &Env) -> Outcome {
    let (customer, config) = match input::<ShopCustomer>(&mut req, env).await {
        Ok(x) => x,
        Err(answer) => return answer,
    };
    let known = match find_customer(env, &config, &customer).await {
        Ok(id) => id,
        Err(answer) => return answer,
    };
    let (request, result) = match &known {
        Some(id) => (actions::update_customer(id, &customer), "updated"),
        None => (actions::create_customer(&customer), "created"),
    };
    let request = match request {
        Ok(r) => r,
        Err(e) => return refused(e),
    };
    match send(&config, &request).await {
        Ok((object, replayed)) => {
            let id = at(&object, "id").as_str().unwrap_or_default().to_owned();
            remember_customer(env, &customer.customer_id, &id).await;
            Outcome::new(200, result).with_detail(json!({
                "id": id, "customer_id": customer.customer_id, "replayed": replayed,
            }))
        }
        Err(answer) => answer,
    }
}

fn customer_key(shop_id: &str) -> String {
    format!("cus:{shop_id}")
}

async fn find_customer(
    env: &Env,
    config: &StripeConfig,
    customer: &ShopCustomer,
) -> Result<Option<String>, Outcome> {
    if let Ok(kv) = env.kv(config::KV_DEDUP) {
        if let Ok(Some(id)) = kv.get(&customer_key(&customer.customer_id)).text().await {
            return Ok(Some(id));
        }
    }
    let path = actions::customer_search_path(&customer.customer_id).map_err(refused)?;
    let (answer, attempts) = stripe_client::send(config, Call::Get(&path)).await;
    let body = answer.map_err(|e| stripe_failure(&e, "", attempts))?.body;
    actions::found_customer(&body).map_err(|e| {
        Outcome::new(502, "stripe_invalid").with_detail(json!({ "error": e.to_string() }))
    })
}

async fn remember_customer(env: &Env, shop_id: &str, stripe_id: &str) {
    let Ok(kv) = env.kv(config::KV_DEDUP) else {
        return;
    };
    let stored = match kv.put(&customer_key(shop_id), stripe_id) {
        Ok(put) => put.execute().await.map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    if let Err(e) = stored {
        log(json!({ "shop": "customer_not_remembered", "error": e }));
    }
}

/// `POST /orders/{id}/sync`: description and metadata on the order's PaymentIntent (the one
/// given, else its main attempt's in the order book).
pub async fn sync_order(mut req: Request, env: &Env, book: &str, order_id: &str) -> Outcome {
    let (mut body, config) = match input::<Value>(&mut req, env).await {
        Ok((body, config)) => (body, config.for_book(book)),
        Err(answer) => return answer,
    };
    if at(&body, "payment_intent").as_str().is_none() {
        let state = match state(env, book, order_id).await {
            Ok(s) => s,
            Err(answer) => return answer,
        };
        match main_payment_intent(&state) {
            Some(pi) => set(&mut body, "payment_intent", json!(pi)),
            None => return Outcome::new(409, "no_payment_intent"),
        }
    }
    if let Some(map) = body.as_object_mut() {
        map.insert("order_id".into(), json!(order_id));
    }
    let request = match serde_json::from_value::<OrderUpdate>(body)
        .map_err(invalid)
        .and_then(|u| actions::order_update(&u))
    {
        Ok(r) => r,
        Err(e) => return refused(e),
    };
    match send(&config, &request).await {
        Ok((pi, _)) => Outcome::new(200, "updated").with_detail(json!({ "id": at(&pi, "id") })),
        Err(answer) => answer,
    }
}

/// The PaymentIntent of the attempt that took the money, else of the newest attempt.
fn main_payment_intent(state: &OrderState) -> Option<String> {
    let is_pi = |id: &&String| id.starts_with("pi_");
    let paid = state
        .attempts
        .iter()
        .find(|a| a.amount_captured_minor > 0 && a.id.starts_with("pi_"));
    let newest = state
        .attempts
        .iter()
        .filter(|a| a.id.starts_with("pi_"))
        .max_by_key(|a| a.updated_at);
    paid.or(newest)
        .map(|a| a.id.clone())
        .or_else(|| state.objects.keys().find(is_pi).cloned())
}
