//! The `Stats` Durable Object (one, named `stats`): the console's hourly counters
//! (`stripe_bridge::console::stats`), the retry backlog, and the payouts seen lately. Counting
//! never fails or slows what is counted: the webhook path counts after its answer
//! (`ctx.wait_until`), the queue consumer once per batch, and a lost count is only logged.

use serde_json::{json, Value};
use stripe_bridge::console::stats::{self, Bucket, Tally};
use worker::{durable_object, DurableObject, Env, Request, Response, Result, State, Storage};

use crate::store::{encode, get_json, put_all};
use crate::{config, log, now_ms};

const BACKLOG: &str = "backlog";
const PAYOUTS: &str = "payouts";
/// How many recent payouts the console lists.
const MAX_PAYOUTS: usize = 50;

fn retry_key(forward_id: &str) -> String {
    format!("r:{forward_id}")
}

fn stub(env: &Env) -> Result<worker::Stub> {
    env.durable_object(config::STATS)?
        .id_from_name("stats")?
        .get_stub()
}

async fn call(env: &Env, path: &str, body: Option<String>) -> Result<Value> {
    let mut init = worker::RequestInit::new();
    if let Some(body) = body {
        init.with_method(worker::Method::Post)
            .with_body(Some(body.into()));
    }
    let request = Request::new_with_init(&format!("https://stats{path}"), &init)?;
    let mut response = stub(env)?.fetch_with_request(request).await?;
    match response.status_code() {
        200 => response.json().await,
        status => Err(worker::Error::RustError(format!("stats answered {status}"))),
    }
}

/// Adds a tally; a failure is logged, never returned.
pub async fn add(env: &Env, tally: Tally) {
    if tally.is_empty() {
        return;
    }
    let sent = match encode(&tally) {
        Ok(body) => call(env, "/add", Some(body)).await.map(|_| ()),
        Err(e) => Err(e),
    };
    if let Err(e) = sent {
        log(json!({ "stats": "not_counted", "error": e.to_string() }));
    }
}

/// Notes a payout whose reconciliation started (for the console's list).
pub async fn note_payout(env: &Env, book: &str, payout_id: &str) {
    let body = json!({ "book": book, "id": payout_id, "at_ms": now_ms() }).to_string();
    if let Err(e) = call(env, "/payout", Some(body)).await {
        log(json!({ "stats": "payout_not_noted", "error": e.to_string() }));
    }
}

/// The overview of the last `hours` hours and the retry backlog.
pub async fn read(env: &Env, hours: u64) -> Result<Value> {
    call(env, &format!("/read?hours={hours}&now={}", now_ms()), None).await
}

/// The payouts noted lately, newest first.
pub async fn payouts(env: &Env) -> Result<Value> {
    call(env, "/payouts", None).await
}

#[durable_object]
pub struct Stats {
    state: State,
}

impl DurableObject for Stats {
    fn new(state: State, _env: Env) -> Self {
        Stats { state }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let url = req.url()?;
        let param = |name: &str| {
            url.query_pairs()
                .find(|(k, _)| k == name)
                .and_then(|(_, v)| v.parse::<u64>().ok())
        };
        match url.path() {
            "/add" => {
                let tally: Tally = req.json().await?;
                self.add(&tally).await?;
                Response::from_json(&json!({ "result": "ok" }))
            }
            "/read" => {
                let now = param("now").unwrap_or_else(now_ms);
                self.read(now, param("hours").unwrap_or(24)).await
            }
            "/payout" => {
                let payout: Value = req.json().await?;
                self.note_payout(payout).await?;
                Response::from_json(&json!({ "result": "ok" }))
            }
            "/payouts" => {
                let list: Vec<Value> = get_json(&self.storage(), PAYOUTS)
                    .await?
                    .unwrap_or_default();
                Response::from_json(&json!({ "payouts": list }))
            }
            _ => Response::error("not found", 404),
        }
    }
}

impl Stats {
    fn storage(&self) -> Storage {
        self.state.storage()
    }

    /// Only storage is awaited, so the object's input gate makes each add atomic.
    async fn add(&self, tally: &Tally) -> Result<()> {
        let storage = self.storage();
        let hour = stats::hour_of(if tally.at_ms == 0 {
            now_ms()
        } else {
            tally.at_ms
        });
        let key = stats::bucket_key(hour);
        let stored = get_json::<Bucket>(&storage, &key).await?;
        if stored.is_none() {
            self.prune(hour).await?;
        }
        let mut bucket = stored.unwrap_or_else(|| Bucket::new(hour));
        bucket.add(tally);
        let mut backlog: u64 = get_json(&storage, BACKLOG).await?.unwrap_or(0);
        let mut writes = vec![(key, encode(&bucket)?)];
        for id in &tally.retrying {
            let k = retry_key(id);
            if storage.get::<String>(&k).await?.is_none() && !writes.iter().any(|(w, _)| *w == k) {
                backlog = backlog.saturating_add(1);
                writes.push((k, now_ms().to_string()));
            }
        }
        let mut settled = Vec::new();
        for id in &tally.settled {
            let k = retry_key(id);
            if storage.get::<String>(&k).await?.is_some() {
                backlog = backlog.saturating_sub(1);
                settled.push(k);
            }
        }
        writes.push((BACKLOG.to_owned(), backlog.to_string()));
        put_all(&storage, writes).await?;
        if !settled.is_empty() {
            storage.delete_multiple(settled).await?;
        }
        Ok(())
    }

    /// Drops the buckets past the retention (once per new hour).
    async fn prune(&self, now_hour: u64) -> Result<()> {
        let expired: Vec<String> = self
            .buckets()
            .await?
            .into_iter()
            .filter(|b| stats::is_expired(b.hour, now_hour))
            .map(|b| stats::bucket_key(b.hour))
            .collect();
        if !expired.is_empty() {
            self.storage().delete_multiple(expired).await?;
        }
        Ok(())
    }

    async fn buckets(&self) -> Result<Vec<Bucket>> {
        let options = worker::ListOptions::new().prefix("h:");
        let map = self.storage().list_with_options(options).await?;
        Ok(map
            .values()
            .into_iter()
            .filter_map(|v| v.ok().and_then(|v| v.as_string()))
            .filter_map(|text| serde_json::from_str::<Bucket>(&text).ok())
            .collect())
    }

    async fn read(&self, now: u64, hours: u64) -> Result<Response> {
        let overview = stats::overview(&self.buckets().await?, now, hours);
        let backlog: u64 = get_json(&self.storage(), BACKLOG).await?.unwrap_or(0);
        Response::from_json(&json!({
            "hours": overview.hours,
            "totals": overview.totals,
            "retry_backlog": backlog,
        }))
    }

    async fn note_payout(&self, payout: Value) -> Result<()> {
        let storage = self.storage();
        let mut list: Vec<Value> = get_json(&storage, PAYOUTS).await?.unwrap_or_default();
        list.retain(|p| p.get("id") != payout.get("id") || p.get("book") != payout.get("book"));
        list.insert(0, payout);
        list.truncate(MAX_PAYOUTS);
        storage.put(PAYOUTS, encode(&list)?).await
    }
}
