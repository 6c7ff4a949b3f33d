//! The `OrderBook` Durable Object: one per Stripe account and mode (`stripe_bridge::order_book`).
//!
//! It accepts each event id exactly once (strongly consistent storage), applies an order's
//! records one at a time to its v2 state, keeps an index from Stripe payment ids to orders (so a
//! refund without order metadata finds its order, and one that overtakes its payment waits for
//! it), and hands each change of an order's state to the forward queue through an outbox: the
//! outbox entry is written with the state, before the answer; an alarm sends what the queue did
//! not take. Everything here is storage and I/O; the decisions are the core's.

use serde::{Deserialize, Serialize};
use serde_json::json;
use stripe_bridge::console::timeline;
use stripe_bridge::delivery::ForwardMessage;
use stripe_bridge::mapping::Profile;
use stripe_bridge::normalize::Concern;
use stripe_bridge::order_book::{keys, link_ids, Forward, OrderEntry};
use stripe_bridge::Record;
use worker::{durable_object, DurableObject, Env, Request, Response, Result, State, Storage};

use crate::config::{self, ForwardMode};
use crate::log;
use crate::store::{self, encode, get_json, outbox_key, put_all};

/// What the book answers the Worker.
#[derive(Debug, Serialize, Deserialize)]
pub struct Applied {
    /// `accepted`, `duplicate`, `waiting` (kept until its order is known), `recorded` (an event
    /// that is not forwarded: ignored or unreadable).
    pub result: String,
    #[serde(default)]
    pub order_ref: Option<String>,
    #[serde(default)]
    pub sequence: Option<u64>,
    #[serde(default)]
    pub order_status: Option<String>,
}

impl Applied {
    fn new(result: &str) -> Self {
        Applied {
            result: result.to_owned(),
            order_ref: None,
            sequence: None,
            order_status: None,
        }
    }
}

/// What is kept per accepted event: enough for operators, never the payload.
#[derive(Serialize, Deserialize)]
struct Seen {
    event_type: String,
    order_ref: Option<String>,
    at_ms: u64,
}

/// The Durable Object of a book (`account:mode`).
fn stub(env: &Env, book: &str) -> Result<worker::Stub> {
    env.durable_object(config::BOOKS)?
        .id_from_name(book)?
        .get_stub()
}

/// Sends a record to the book of its account and mode.
pub async fn apply(env: &Env, record: &Record) -> Result<Applied> {
    let book = stripe_bridge::order_book::partition(record);
    let stub = stub(env, &book)?;
    let headers = worker::Headers::new();
    headers.set("content-type", "application/json")?;
    headers.set("x-book", &book)?;
    let mut init = worker::RequestInit::new();
    init.with_method(worker::Method::Post)
        .with_headers(headers)
        .with_body(Some(encode(record)?.into()));
    let request = Request::new_with_init("https://book/apply", &init)?;
    let mut response = stub.fetch_with_request(request).await?;
    if response.status_code() != 200 {
        let text = response.text().await.unwrap_or_default();
        return Err(worker::Error::RustError(format!(
            "book answered {}: {text}",
            response.status_code()
        )));
    }
    response.json().await
}

/// Forgets that the book saw an event (its dedup key), so a new delivery of it is applied:
/// only for an event that changed nothing (an unreadable one). `true` when it was known.
pub async fn forget(env: &Env, book: &str, event_id: &str) -> Result<bool> {
    let stub = stub(env, book)?;
    let mut url = worker::Url::parse("https://book/forget")?;
    url.query_pairs_mut().append_pair("event", event_id);
    let mut init = worker::RequestInit::new();
    init.with_method(worker::Method::Post);
    let request = Request::new_with_init(url.as_str(), &init)?;
    let mut response = stub.fetch_with_request(request).await?;
    if response.status_code() != 200 {
        return Err(worker::Error::RustError(format!(
            "book answered {}",
            response.status_code()
        )));
    }
    let answer: serde_json::Value = response.json().await?;
    Ok(answer.get("forgotten") == Some(&json!(true)))
}

/// An order's entry (state, sequence, event ids) from its book, as JSON.
pub async fn order(env: &Env, book: &str, order_ref: &str) -> Result<Option<serde_json::Value>> {
    let stub = stub(env, book)?;
    let mut url = worker::Url::parse("https://book/order")?;
    url.query_pairs_mut().append_pair("ref", order_ref);
    let mut response = stub.fetch_with_str(url.as_str()).await?;
    match response.status_code() {
        200 => Ok(Some(response.json().await?)),
        404 => Ok(None),
        status => Err(worker::Error::RustError(format!("book answered {status}"))),
    }
}

#[durable_object]
pub struct OrderBook {
    state: State,
    env: Env,
}

impl DurableObject for OrderBook {
    fn new(state: State, env: Env) -> Self {
        OrderBook { state, env }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let path = req.path();
        match path.as_str() {
            "/apply" => {
                let book = req.headers().get("x-book")?.unwrap_or_default();
                let record: Record = req.json().await?;
                let applied = self.apply(&book, &record).await?;
                Response::from_json(&applied)
            }
            "/order" => {
                let url = req.url()?;
                let order_ref = url.query_pairs().find(|(k, _)| k == "ref");
                let Some((_, order_ref)) = order_ref else {
                    return Response::error("ref is required", 400);
                };
                match get_json::<OrderEntry>(&self.storage(), &keys::order(&order_ref)).await? {
                    Some(entry) => Response::from_json(&entry),
                    None => Response::error("no such order", 404),
                }
            }
            "/search" => {
                let url = req.url()?;
                let q = url.query_pairs().find(|(k, _)| k == "q");
                let q = q.map(|(_, v)| v.trim().to_owned()).unwrap_or_default();
                Response::from_json(&json!({ "orders": self.search(&q).await? }))
            }
            "/forget" => {
                let url = req.url()?;
                let event = url.query_pairs().find(|(k, _)| k == "event");
                let Some((_, event_id)) = event else {
                    return Response::error("event is required", 400);
                };
                let key = keys::event(&event_id);
                let known = self.storage().get::<String>(&key).await?.is_some();
                if known {
                    self.storage().delete(&key).await?;
                }
                Response::from_json(&json!({ "forgotten": known }))
            }
            "/timeline" => {
                let url = req.url()?;
                let order_ref = url.query_pairs().find(|(k, _)| k == "ref");
                let Some((_, order_ref)) = order_ref else {
                    return Response::error("ref is required", 400);
                };
                let list: Vec<timeline::Entry> =
                    get_json(&self.storage(), &timeline::key(&order_ref))
                        .await?
                        .unwrap_or_default();
                Response::from_json(&list)
            }
            _ => Response::error("not found", 404),
        }
    }

    async fn alarm(&self) -> Result<Response> {
        store::flush_outbox(&self.env, &self.storage()).await?;
        Response::ok("")
    }
}

impl OrderBook {
    fn storage(&self) -> Storage {
        self.state.storage()
    }

    /// Accepts one record: dedup, then by its concern. Only storage is awaited until the
    /// record and its forward are kept, so the object's input gate keeps other requests out:
    /// two deliveries of one event, even at the same moment, are applied once.
    async fn apply(&self, book: &str, record: &Record) -> Result<Applied> {
        let storage = self.storage();
        let event_key = keys::event(&record.event_id);
        if storage.get::<String>(&event_key).await?.is_some() {
            return Ok(Applied::new("duplicate"));
        }
        let mode = config::forward_mode(&self.env).map_err(|e| worker::Error::RustError(e.0))?;
        let profile = config::profile(&self.env).map_err(|e| worker::Error::RustError(e.0))?;
        let applied = match record.status.concern() {
            Concern::Payment | Concern::Flag => {
                self.apply_payment(book, record, mode, &profile).await?
            }
            Concern::Payout | Concern::Customer | Concern::Report => {
                // No order: forwarded as a record (or the profile's mapping of it).
                let message = event_message(record, &profile)?;
                let mut writes: Vec<(String, String)> = Vec::new();
                writes.push((event_key, seen(record, None)?));
                if let Some(message) = &message {
                    writes.push((outbox_key(&message.event_id), encode(message)?));
                }
                put_all(&storage, writes).await?;
                if let Some(message) = message {
                    store::send(&self.env, &storage, message).await?;
                }
                Applied::new("accepted")
            }
            Concern::Nothing => {
                storage
                    .put(&event_key, encode(&seen_value(record, None))?)
                    .await?;
                Applied::new("recorded")
            }
        };
        Ok(applied)
    }

    async fn apply_payment(
        &self,
        book: &str,
        record: &Record,
        mode: ForwardMode,
        profile: &Profile,
    ) -> Result<Applied> {
        let storage = self.storage();
        let ids = link_ids(record);
        let order_ref = match &record.order_ref {
            Some(r) => Some(r.clone()),
            None => self.find_order(&ids).await?,
        };
        let Some(order_ref) = order_ref else {
            return self.wait(record, &ids).await;
        };
        let order_key = keys::order(&order_ref);
        let mut entry = get_json::<OrderEntry>(&storage, &order_key)
            .await?
            .unwrap_or_else(|| OrderEntry::new(order_ref.clone()));
        let (waiting, released_ids) = self.release(record, &ids).await?;
        let mut records: Vec<&Record> = vec![record];
        records.extend(waiting.iter());
        records.sort_by(|a, b| (a.created, &a.event_id).cmp(&(b.created, &b.event_id)));
        let forward = entry
            .apply(&records, book, Some(profile).filter(|p| !is_record(p)))
            .map_err(|e| worker::Error::RustError(e.to_string()))?;
        let mut writes: Vec<(String, String)> = Vec::new();
        writes.push((order_key, encode(&entry)?));
        for r in &records {
            writes.push((keys::event(&r.event_id), seen(r, Some(&order_ref))?));
            for id in link_ids(r) {
                writes.push((keys::index(&id), order_ref.clone()));
            }
        }
        let mut messages = Vec::new();
        match mode {
            ForwardMode::State => messages.extend(forward.map(state_message)),
            ForwardMode::Events => {
                for r in &records {
                    messages.extend(event_message(r, profile)?);
                }
            }
        }
        for message in &messages {
            writes.push((outbox_key(&message.event_id), encode(message)?));
        }
        let status = entry.state.status.map(|s| s.as_str());
        let after = (status, entry.sequence);
        writes.extend(
            self.operator_writes(&order_ref, &records, &messages, after)
                .await?,
        );
        put_all(&storage, writes).await?;
        let consumed: Vec<String> = waiting
            .iter()
            .map(|r| keys::orphan(&r.event_id))
            .chain(released_ids.iter().map(|id| keys::waiting(id)))
            .collect();
        if !waiting.is_empty() {
            storage.delete_multiple(consumed).await?;
        }
        for message in messages {
            store::send(&self.env, &storage, message).await?;
        }
        Ok(Applied {
            result: "accepted".to_owned(),
            order_ref: Some(order_ref),
            sequence: Some(entry.sequence),
            order_status: entry.state.status.map(|s| s.as_str().to_owned()),
        })
    }

    /// What the console reads, written with the order: its timeline (the events, the forwards)
    /// and the customer index for search.
    async fn operator_writes(
        &self,
        order_ref: &str,
        records: &[&Record],
        messages: &[ForwardMessage],
        (order_status, sequence): (Option<&str>, u64),
    ) -> Result<Vec<(String, String)>> {
        let storage = self.storage();
        let now = crate::now_ms();
        let key = timeline::key(order_ref);
        let mut list: Vec<timeline::Entry> = get_json(&storage, &key).await?.unwrap_or_default();
        let events = records.iter().map(|r| timeline::event(r, now));
        let forwards = messages.iter().map(|m| {
            let sequence = (m.event_type == "order.state").then_some(sequence);
            timeline::forward(&m.event_id, &m.event_type, sequence, order_status, now)
        });
        timeline::append(&mut list, events.chain(forwards));
        let mut writes = vec![(key, encode(&list)?)];
        let mut customers: Vec<&str> = records
            .iter()
            .filter_map(|r| r.customer_id.as_deref())
            .collect();
        customers.sort_unstable();
        customers.dedup();
        for customer in customers {
            let key = timeline::customer_key(customer);
            let mut orders: Vec<String> = get_json(&storage, &key).await?.unwrap_or_default();
            if timeline::add_customer_order(&mut orders, order_ref) {
                writes.push((key, encode(&orders)?));
            }
        }
        Ok(writes)
    }

    /// Orders for the console's search: `q` as an order reference, a Stripe payment id
    /// (PaymentIntent, charge, Checkout Session, invoice, refund, dispute) or a customer id,
    /// then order references starting with `q`; at most 50, each with its status.
    async fn search(&self, q: &str) -> Result<Vec<serde_json::Value>> {
        let storage = self.storage();
        let mut found: Vec<(String, &str)> = Vec::new();
        if !q.is_empty() {
            if storage.get::<String>(&keys::order(q)).await?.is_some() {
                found.push((q.to_owned(), "order_ref"));
            }
            if let Some(order_ref) = storage.get::<String>(&keys::index(q)).await? {
                found.push((order_ref, "payment_id"));
            }
            let customers: Vec<String> = get_json(&storage, &timeline::customer_key(q))
                .await?
                .unwrap_or_default();
            found.extend(customers.into_iter().rev().map(|o| (o, "customer")));
        }
        let prefix = keys::order(q);
        let options = worker::ListOptions::new().prefix(&prefix).limit(50);
        for value in storage.list_with_options(options).await?.values() {
            let text = value.ok().and_then(|v| v.as_string()).unwrap_or_default();
            if let Ok(entry) = serde_json::from_str::<OrderEntry>(&text) {
                found.push((entry.order_ref, "order_ref_prefix"));
            }
        }
        let mut seen: Vec<String> = Vec::new();
        let mut orders = Vec::new();
        for (order_ref, matched) in found {
            if seen.contains(&order_ref) || orders.len() >= 50 {
                continue;
            }
            seen.push(order_ref.clone());
            if let Some(entry) = get_json::<OrderEntry>(&storage, &keys::order(&order_ref)).await? {
                orders.push(summary(&entry, matched));
            }
        }
        Ok(orders)
    }

    /// The order of the first of `ids` the index knows.
    async fn find_order(&self, ids: &[String]) -> Result<Option<String>> {
        for id in ids {
            if let Some(order_ref) = self.storage().get::<String>(&keys::index(id)).await? {
                return Ok(Some(order_ref));
            }
        }
        Ok(None)
    }

    /// Keeps a record whose order is not known yet (a refund that overtook its payment), under
    /// each of its ids; it is applied when a record of its order names one of them.
    async fn wait(&self, record: &Record, ids: &[String]) -> Result<Applied> {
        let storage = self.storage();
        let mut writes: Vec<(String, String)> = Vec::new();
        writes.push((keys::event(&record.event_id), seen(record, None)?));
        writes.push((keys::orphan(&record.event_id), encode(record)?));
        for id in ids {
            let key = keys::waiting(id);
            let mut list: Vec<String> = get_json(&storage, &key).await?.unwrap_or_default();
            if !list.contains(&record.event_id) {
                list.push(record.event_id.clone());
            }
            writes.push((key, encode(&list)?));
        }
        put_all(&storage, writes).await?;
        log(json!({ "book": "waiting", "event_id": record.event_id, "ids": ids.len() }));
        Ok(Applied::new("waiting"))
    }

    /// Every waiting record the record's order now reaches: those waiting under its ids, then
    /// those waiting under the ids of the ones released, until none is new (an invoice payment
    /// releases a charge that releases a refund). Returns them and every id looked under.
    async fn release(&self, record: &Record, ids: &[String]) -> Result<(Vec<Record>, Vec<String>)> {
        let mut released: Vec<Record> = Vec::new();
        let mut looked: Vec<String> = ids.to_vec();
        let mut frontier: Vec<String> = ids.to_vec();
        // Bounded: each round needs a new record; 64 rounds is far beyond any real payment.
        for _ in 0..64 {
            let found = self.waiting_for(&frontier).await?;
            let new: Vec<Record> = found
                .into_iter()
                .filter(|r| r.event_id != record.event_id)
                .filter(|r| !released.iter().any(|w| w.event_id == r.event_id))
                .collect();
            if new.is_empty() {
                break;
            }
            frontier = new
                .iter()
                .flat_map(link_ids)
                .filter(|id| !looked.contains(id))
                .collect();
            frontier.sort_unstable();
            frontier.dedup();
            looked.extend(frontier.iter().cloned());
            released.extend(new);
        }
        Ok((released, looked))
    }

    /// The records waiting for any of `ids`.
    async fn waiting_for(&self, ids: &[String]) -> Result<Vec<Record>> {
        let storage = self.storage();
        let mut event_ids: Vec<String> = Vec::new();
        for id in ids {
            let list: Vec<String> = get_json(&storage, &keys::waiting(id))
                .await?
                .unwrap_or_default();
            for event_id in list {
                if !event_ids.contains(&event_id) {
                    event_ids.push(event_id);
                }
            }
        }
        let mut records = Vec::new();
        for event_id in event_ids {
            if let Some(r) = get_json::<Record>(&storage, &keys::orphan(&event_id)).await? {
                records.push(r);
            }
        }
        Ok(records)
    }
}

/// One search result: enough to pick the order.
fn summary(entry: &OrderEntry, matched: &str) -> serde_json::Value {
    json!({
        "order_ref": entry.order_ref,
        "matched": matched,
        "status": entry.state.status.map(|s| s.as_str()),
        "currency": entry.state.currency,
        "amount_paid": entry.state.amount_paid,
        "customer_id": entry.state.customer_id,
        "last_event_at": entry.state.last_event_at,
        "sequence": entry.sequence,
    })
}

/// The orders matching `q` in a book (the console's search).
pub async fn search(env: &Env, book: &str, q: &str) -> Result<serde_json::Value> {
    let mut url = worker::Url::parse("https://book/search")?;
    url.query_pairs_mut().append_pair("q", q);
    book_get(env, book, url).await
}

/// An order's timeline (events and forwards), oldest first.
pub async fn timeline(env: &Env, book: &str, order_ref: &str) -> Result<serde_json::Value> {
    let mut url = worker::Url::parse("https://book/timeline")?;
    url.query_pairs_mut().append_pair("ref", order_ref);
    book_get(env, book, url).await
}

async fn book_get(env: &Env, book: &str, url: worker::Url) -> Result<serde_json::Value> {
    let stub = stub(env, book)?;
    let mut response = stub.fetch_with_str(url.as_str()).await?;
    match response.status_code() {
        200 => response.json().await,
        status => Err(worker::Error::RustError(format!("book answered {status}"))),
    }
}

fn is_record(profile: &Profile) -> bool {
    matches!(profile, Profile::Record)
}

/// The queue message of a state forward (its webhook id is the message's id).
fn state_message(forward: Forward) -> ForwardMessage {
    ForwardMessage {
        event_id: forward.webhook_id,
        event_type: "order.state".to_owned(),
        body: forward.body,
    }
}

/// The queue message of one event's record (or its profile mapping): `FORWARD=events`, and
/// events that belong to no order (payouts, customers).
fn event_message(record: &Record, profile: &Profile) -> Result<Option<ForwardMessage>> {
    let body = profile
        .map(record)
        .map_err(|e| worker::Error::RustError(e.to_string()))?;
    Ok(match body {
        Some(body) => Some(
            ForwardMessage::new(record, body)
                .map_err(|e| worker::Error::RustError(e.to_string()))?,
        ),
        None => None,
    })
}

fn seen_value(record: &Record, order_ref: Option<&str>) -> Seen {
    Seen {
        event_type: record.event_type.clone(),
        order_ref: order_ref.map(str::to_owned),
        at_ms: crate::now_ms(),
    }
}

fn seen(record: &Record, order_ref: Option<&str>) -> Result<String> {
    encode(&seen_value(record, order_ref))
}
