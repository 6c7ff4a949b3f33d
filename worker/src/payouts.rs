//! Payout reconciliation at the edge. `payout.reconciliation_completed` (or `payout.paid`)
//! starts a job in the payout's `PayoutLedger` Durable Object; the reconcile queue carries one
//! step per message (one page of balance transactions, or one batch of charges and
//! PaymentIntents), so an invocation stays far under the free plan's 50 subrequests; the
//! ledger keeps the lines, decides the next step with the core's [`Job`], and forwards the
//! finished reconciliation in parts through the outbox. `reporting.report_run.succeeded`
//! downloads the run's file and reads it with the core. Thin: paths, paging, decisions and
//! totals are the core's.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use stripe_bridge::delivery::ForwardMessage;
use stripe_bridge::event::Event;
use stripe_bridge::normalize::Concern;
use stripe_bridge::reconcile::fetch::{self, Lookup};
use stripe_bridge::reconcile::job::{self, Job, Next, ReportRun, Step, Trigger};
use stripe_bridge::reconcile::{balance, report, Line, Payout, Reconciliation, Source};
use stripe_bridge::stripe_api::ApiError;
use stripe_bridge::Record;
use worker::{
    durable_object, DurableObject, Env, MessageBatch, MessageExt, QueueRetryOptionsBuilder,
    Request, Response, Result, State, Storage,
};

use crate::config::{self, StripeConfig};
use crate::store::{self, encode, get_json, put_all};
use crate::stripe::{self as stripe_client, Call};
use crate::{at, log, Outcome};

/// Lines per stored chunk (one storage value each).
const CHUNK: usize = 100;
/// Wait before a step whose Stripe call failed is tried again.
const STEP_RETRY_SECS: u32 = 60;

/// A message of the reconcile queue.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FinanceMessage {
    Step {
        book: String,
        payout: Payout,
        step: Step,
    },
    Report {
        book: String,
        run: ReportRun,
    },
}

/// After the book accepted a payout or report event: start what it asks for. Never fails the
/// webhook (it is already accepted); problems are logged, and `POST /payouts/{id}/reconcile`
/// starts a reconciliation by hand.
pub async fn on_event(env: &Env, record: &Record, body: &[u8]) {
    if !matches!(record.status.concern(), Concern::Payout | Concern::Report) {
        return;
    }
    let Ok(event) = Event::from_slice(body) else {
        return;
    };
    let book = stripe_bridge::order_book::partition(record);
    let started = match job::trigger(&event) {
        Trigger::Payout(payout) => start(env, &book, payout, false).await.map(|_| ()),
        Trigger::Report(run) => enqueue(env, &FinanceMessage::Report { book, run }).await,
        Trigger::Nothing(why) => {
            if record.status.concern() == Concern::Payout {
                log(
                    json!({ "reconcile": "not_started", "event_id": record.event_id, "reason": why }),
                );
            }
            Ok(())
        }
    };
    if let Err(e) = started {
        log(
            json!({ "reconcile": "start_failed", "event_id": record.event_id, "error": e.to_string() }),
        );
    }
}

fn ledger(env: &Env, name: &str) -> Result<worker::Stub> {
    env.durable_object(config::PAYOUTS)?
        .id_from_name(name)?
        .get_stub()
}

fn ledger_name(book: &str, payout_id: &str) -> String {
    format!("{book}:{payout_id}")
}

/// Asks the payout's ledger to start a job (once; `restart` drops an earlier one) and queues
/// its first step. Whether a job was started.
async fn start(env: &Env, book: &str, payout: Payout, restart: bool) -> Result<bool> {
    StripeConfig::from_env(env).map_err(|e| worker::Error::RustError(e.0))?;
    let answer: Value = call_ledger(
        env,
        &ledger_name(book, &payout.id),
        "/start",
        &json!({ "book": book, "payout": payout, "restart": restart }),
    )
    .await?;
    let Some(step) = answer.get("step").filter(|s| !s.is_null()) else {
        return Ok(false);
    };
    let step: Step = serde_json::from_value(step.clone())?;
    let payout_id = payout.id.clone();
    enqueue(
        env,
        &FinanceMessage::Step {
            book: book.to_owned(),
            payout,
            step,
        },
    )
    .await?;
    crate::stats::note_payout(env, book, &payout_id).await;
    Ok(true)
}

async fn enqueue(env: &Env, message: &FinanceMessage) -> Result<()> {
    env.queue(config::QUEUE_RECONCILE)?.send(message).await
}

/// POSTs JSON to a ledger and reads its JSON answer.
async fn call_ledger<T: Serialize>(env: &Env, name: &str, path: &str, body: &T) -> Result<Value> {
    let mut init = worker::RequestInit::new();
    init.with_method(worker::Method::Post)
        .with_body(Some(encode(body)?.into()));
    let request = Request::new_with_init(&format!("https://ledger{path}"), &init)?;
    let mut response = ledger(env, name)?.fetch_with_request(request).await?;
    match response.status_code() {
        200 => response.json().await,
        404 => Ok(Value::Null),
        status => Err(worker::Error::RustError(format!(
            "ledger answered {status}: {}",
            response.text().await.unwrap_or_default()
        ))),
    }
}

/// The reconcile queue: one message per invocation in wrangler.toml; a step whose Stripe call
/// failed after its retries waits and runs again, one Stripe refused for good is recorded.
pub async fn consume<T>(batch: &MessageBatch<T>, env: &Env) {
    for raw in batch.raw_iter() {
        let message = match worker::Message::<FinanceMessage>::try_from(raw) {
            Ok(m) => m,
            Err(e) => {
                log(
                    json!({ "queue": "reconcile", "outcome": "unreadable_message", "error": e.to_string() }),
                );
                continue;
            }
        };
        match handle(env, message.body()).await {
            Ok(()) => message.ack(),
            Err(Failure::Retry(error)) => {
                log(json!({ "queue": "reconcile", "outcome": "retry", "error": error }));
                message.retry_with_options(
                    &QueueRetryOptionsBuilder::new()
                        .with_delay_seconds(STEP_RETRY_SECS)
                        .build(),
                );
            }
            Err(Failure::Final(error)) => {
                log(json!({ "queue": "reconcile", "outcome": "failed", "error": error }));
                fail(env, message.body(), &error).await;
                message.ack();
            }
        }
    }
}

/// Why a step did not finish.
enum Failure {
    /// Stripe or storage unavailable: try the step again later.
    Retry(String),
    /// Stripe refused (or answered what cannot be read): recorded on the job.
    Final(String),
}

impl From<worker::Error> for Failure {
    fn from(e: worker::Error) -> Self {
        Failure::Retry(e.to_string())
    }
}

impl From<ApiError> for Failure {
    fn from(e: ApiError) -> Self {
        let retryable = e.status == 0 || e.status == 429 || e.status >= 500;
        if retryable {
            Failure::Retry(e.to_string())
        } else {
            Failure::Final(e.to_string())
        }
    }
}

impl From<stripe_bridge::Error> for Failure {
    fn from(e: stripe_bridge::Error) -> Self {
        Failure::Final(e.to_string())
    }
}

async fn fail(env: &Env, message: &FinanceMessage, error: &str) {
    let name = match message {
        FinanceMessage::Step { book, payout, .. } => ledger_name(book, &payout.id),
        FinanceMessage::Report { book, run } => ledger_name(book, &run.id),
    };
    if let Err(e) = call_ledger(env, &name, "/fail", &json!({ "error": error })).await {
        log(
            json!({ "queue": "reconcile", "outcome": "fail_not_recorded", "error": e.to_string() }),
        );
    }
}

async fn handle(env: &Env, message: &FinanceMessage) -> std::result::Result<(), Failure> {
    let config = StripeConfig::from_env(env).map_err(|e| Failure::Retry(e.0))?;
    let book = match message {
        FinanceMessage::Step { book, .. } | FinanceMessage::Report { book, .. } => book,
    };
    // A connected account's payout is read on that account (Stripe-Account).
    let config = config.for_book(book);
    match message {
        FinanceMessage::Step { book, payout, step } => {
            let answer = match step {
                Step::Page { page, cursor } => {
                    read_page(env, &config, book, payout, *page, cursor.as_deref()).await?
                }
                Step::Lookups { round, lookups } => {
                    read_lookups(env, &config, book, payout, *round, lookups).await?
                }
            };
            if let Some(step) = answer.get("step").filter(|s| !s.is_null()) {
                let step: Step = serde_json::from_value(step.clone())
                    .map_err(|e| Failure::Final(e.to_string()))?;
                let next = FinanceMessage::Step {
                    book: book.clone(),
                    payout: payout.clone(),
                    step,
                };
                enqueue(env, &next).await?;
            }
            Ok(())
        }
        FinanceMessage::Report { book, run } => read_report(env, &config, book, run).await,
    }
}

async fn get(config: &StripeConfig, call: Call<'_>) -> std::result::Result<Vec<u8>, Failure> {
    let (answer, _) = stripe_client::send(config, call).await;
    Ok(answer?.body)
}

async fn read_page(
    env: &Env,
    config: &StripeConfig,
    book: &str,
    payout: &Payout,
    page: u32,
    cursor: Option<&str>,
) -> std::result::Result<Value, Failure> {
    let path = fetch::page_path(&payout.id, cursor).map_err(stripe_bridge::Error::from)?;
    let listed = fetch::parse_page(&get(config, Call::Get(&path)).await?)?;
    let (lines, warnings) = fetch::lines_of(payout, &listed.data);
    let body = json!({
        "page": page,
        "next_cursor": listed.next_cursor(),
        "lines": lines,
        "warnings": warnings,
    });
    Ok(call_ledger(env, &ledger_name(book, &payout.id), "/page", &body).await?)
}

async fn read_lookups(
    env: &Env,
    config: &StripeConfig,
    book: &str,
    payout: &Payout,
    round: u32,
    lookups: &[Lookup],
) -> std::result::Result<Value, Failure> {
    let mut found: Vec<Source> = Vec::new();
    for lookup in lookups {
        let path = fetch::lookup_path(lookup).map_err(stripe_bridge::Error::from)?;
        let (answer, _) = stripe_client::send(config, Call::Get(&path)).await;
        match answer {
            Ok(a) => found.push(fetch::parse_source(&a.body)?),
            // Gone (deleted test data): noted as found with no order, not asked again.
            Err(e) if e.status == 404 => found.push(lookup.not_found()),
            Err(e) => return Err(e.into()),
        }
    }
    let body = json!({ "round": round, "found": found });
    Ok(call_ledger(env, &ledger_name(book, &payout.id), "/lookups", &body).await?)
}

/// Downloads a succeeded run's file and reads it: a payout reconciliation per payout in an
/// itemized file (each checked against its payout, read from Stripe), or a balance summary.
async fn read_report(
    env: &Env,
    config: &StripeConfig,
    book: &str,
    run: &ReportRun,
) -> std::result::Result<(), Failure> {
    let path = run
        .result
        .as_ref()
        .and_then(|f| f.contents_path())
        .ok_or_else(|| Failure::Final("the report run has no readable file".into()))?;
    let csv = get(config, Call::File(&path)).await?;
    let invalid = |e: report::ReportError| Failure::Final(format!("report {}: {e}", run.id));
    if run.report_type.starts_with("balance.summary.") {
        let summaries = balance::balance_summary_from_csv(&csv).map_err(invalid)?;
        let body = json!({ "run": run, "summaries": summaries });
        call_ledger(env, &ledger_name(book, &run.id), "/summary", &body).await?;
        return Ok(());
    }
    for group in report::payouts_in_report(&csv).map_err(invalid)? {
        let payout_id = group.payout_id.clone();
        if run
            .parameters
            .payout
            .as_deref()
            .is_some_and(|p| p != payout_id)
        {
            continue;
        }
        let path = fetch::payout_path(&payout_id).map_err(stripe_bridge::Error::from)?;
        let payout = fetch::parse_payout(&get(config, Call::Get(&path)).await?)?;
        let r = group.reconcile_with(&payout);
        let body = json!({ "book": book, "run": run.id, "payout": payout, "reconciliation": r });
        call_ledger(env, &ledger_name(book, &payout_id), "/report", &body).await?;
    }
    Ok(())
}

/// `POST /payouts/{id}/reconcile[?account=…&mode=…][&restart=1]` (admin): reads the payout
/// and starts its reconciliation (for payouts paid before the Worker was set up, or again).
pub async fn reconcile_route(env: &Env, book: &str, payout_id: &str, restart: bool) -> Outcome {
    let config = match StripeConfig::from_env(env) {
        Ok(c) => c.for_book(book),
        Err(e) => return crate::config_error(e),
    };
    let Ok(path) = fetch::payout_path(payout_id) else {
        return Outcome::new(404, "not_found");
    };
    let payout = match get(&config, Call::Get(&path)).await {
        Ok(body) => match fetch::parse_payout(&body) {
            Ok(p) => p,
            Err(e) => {
                return Outcome::new(502, "stripe_invalid")
                    .with_detail(json!({ "error": e.to_string() }))
            }
        },
        Err(Failure::Final(e)) => {
            return Outcome::new(422, "stripe_refused").with_detail(json!({ "error": e }))
        }
        Err(Failure::Retry(e)) => {
            return Outcome::new(502, "stripe_unavailable").with_detail(json!({ "error": e }))
        }
    };
    if let fetch::Start::Never(why) =
        fetch::when_to_reconcile("payout.reconciliation_completed", &payout)
    {
        return Outcome::new(409, "not_itemizable").with_detail(json!({ "reason": why }));
    }
    match start(env, book, payout, restart).await {
        Ok(true) => Outcome::new(202, "started"),
        Ok(false) => Outcome::new(200, "already_started"),
        Err(e) => {
            log(json!({ "reconcile": "start_failed", "error": e.to_string() }));
            Outcome::new(503, "ledger_unavailable")
        }
    }
}

/// `GET /payouts/{id}[?format=csv]` and `GET /reports/{run id}` (admin): what the ledger holds.
pub async fn get_route(env: &Env, book: &str, id: &str, csv: bool) -> Outcome {
    match call_ledger(env, &ledger_name(book, id), "/get", &json!({})).await {
        Ok(Value::Null) => Outcome::new(404, "not_found"),
        Ok(found) if csv => match found
            .get("reconciliation")
            .cloned()
            .map(serde_json::from_value::<Reconciliation>)
        {
            Some(Ok(r)) => {
                Outcome::new(200, "ok").with_text("text/csv; charset=utf-8", report::to_csv(&r))
            }
            _ => Outcome::new(409, "not_finished").with_detail(found),
        },
        Ok(found) => Outcome::new(200, "ok").with_detail(found),
        Err(e) => {
            log(json!({ "outcome": "ledger_unavailable", "error": e.to_string() }));
            Outcome::new(503, "ledger_unavailable")
        }
    }
}

/// One payout's reconciliation (or one report run's balance summary): the job, the lines read
/// so far, the result, and the outbox of its forwards.
#[durable_object]
pub struct PayoutLedger {
    state: State,
    env: Env,
}

impl DurableObject for PayoutLedger {
    fn new(state: State, env: Env) -> Self {
        PayoutLedger { state, env }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let path = req.path();
        let body: Value = req.json().await.unwrap_or(Value::Null);
        let answer = match path.as_str() {
            "/start" => self.start(body).await?,
            "/page" => self.page(body).await?,
            "/lookups" => self.lookups(body).await?,
            "/report" => self.report(body).await?,
            "/summary" => self.put(&[("summary", encode(&body)?)], "stored").await?,
            "/fail" => {
                self.put(
                    &[
                        ("status", encode(&"failed")?),
                        ("error", encode(&at(&body, "error"))?),
                    ],
                    "failed",
                )
                .await?
            }
            "/get" => match self.read().await? {
                Some(found) => found,
                None => return Response::error("nothing here", 404),
            },
            _ => return Response::error("not found", 404),
        };
        Response::from_json(&answer)
    }

    async fn alarm(&self) -> Result<Response> {
        store::flush_outbox(&self.env, &self.storage()).await?;
        Response::ok("")
    }
}

impl PayoutLedger {
    fn storage(&self) -> Storage {
        self.state.storage()
    }

    async fn put(&self, entries: &[(&str, String)], result: &str) -> Result<Value> {
        let writes = entries
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect();
        put_all(&self.storage(), writes).await?;
        Ok(json!({ "result": result }))
    }

    async fn start(&self, body: Value) -> Result<Value> {
        let storage = self.storage();
        let restart = at(&body, "restart").as_bool().unwrap_or(false);
        if !restart {
            if let Some(job) = get_json::<Job>(&storage, "job").await? {
                // Started, but nothing applied yet (queuing the first step may have failed):
                // the first step again; a copy of it is ignored by the job.
                let first = job.is_unstarted().then(|| Job::new(job.payout.clone()).1);
                return Ok(json!({ "step": first }));
            }
        }
        if restart {
            storage.delete_all().await?;
        }
        let payout: Payout = serde_json::from_value(at(&body, "payout").clone())?;
        let (job, step) = Job::new(payout);
        let book = at(&body, "book").as_str().unwrap_or_default().to_owned();
        put_all(
            &storage,
            vec![
                ("payout".into(), encode(&job.payout)?),
                ("job".into(), encode(&job)?),
                ("book".into(), encode(&book)?),
                ("status".into(), encode(&"reading")?),
            ],
        )
        .await?;
        Ok(json!({ "step": step }))
    }

    async fn job(&self) -> Result<Job> {
        get_json::<Job>(&self.storage(), "job")
            .await?
            .ok_or_else(|| worker::Error::RustError("no job".into()))
    }

    async fn page(&self, body: Value) -> Result<Value> {
        let mut job = self.job().await?;
        let page = at(&body, "page")
            .as_u64()
            .and_then(|p| u32::try_from(p).ok())
            .unwrap_or(u32::MAX);
        let cursor = at(&body, "next_cursor").as_str().map(str::to_owned);
        let warnings: Vec<String> =
            serde_json::from_value(at(&body, "warnings").clone()).unwrap_or_default();
        let next = job.after_page(page, cursor, warnings);
        if next == Next::Duplicate {
            return self.again(job.is_last_page(page)).await;
        }
        put_all(
            &self.storage(),
            vec![
                (format!("lines:{page:06}"), encode(&at(&body, "lines"))?),
                ("job".into(), encode(&job)?),
            ],
        )
        .await?;
        self.next(job, next).await
    }

    async fn lookups(&self, body: Value) -> Result<Value> {
        let mut job = self.job().await?;
        let round = at(&body, "round")
            .as_u64()
            .and_then(|p| u32::try_from(p).ok())
            .unwrap_or(u32::MAX);
        let found: Vec<Source> = serde_json::from_value(at(&body, "found").clone())?;
        let next = job.after_lookups(round, found);
        if next == Next::Duplicate {
            return self.again(job.is_last_round(round)).await;
        }
        self.storage().put("job", encode(&job)?).await?;
        self.next(job, next).await
    }

    /// The next step, or the end: the reconciliation kept and forwarded.
    async fn next(&self, mut job: Job, next: Next) -> Result<Value> {
        let step = match next {
            Next::Step(step) => Some(step),
            Next::Duplicate => None,
            Next::LinesNeeded => {
                let lines = self.chunks::<Line>("lines:").await?;
                match job.after_pages(&lines) {
                    Some(step) => Some(step),
                    None => {
                        let r = job.finish(lines);
                        self.keep(&r, "api").await?;
                        None
                    }
                }
            }
        };
        put_all(
            &self.storage(),
            vec![
                ("job".into(), encode(&job)?),
                ("pending".into(), encode(&step)?),
            ],
        )
        .await?;
        Ok(json!({ "step": step }))
    }

    /// A step delivered again: when it is the last one applied, its message was retried
    /// (queuing the step after it may have failed), so that step is given again (a copy is
    /// ignored by the job); an older one leads nowhere.
    async fn again(&self, last: bool) -> Result<Value> {
        let pending = if last {
            get_json::<Option<Step>>(&self.storage(), "pending")
                .await?
                .flatten()
        } else {
            None
        };
        Ok(json!({ "step": pending }))
    }

    /// Every value under `prefix`, in key order, concatenated.
    async fn chunks<T: serde::de::DeserializeOwned>(&self, prefix: &str) -> Result<Vec<T>> {
        let options = worker::ListOptions::new().prefix(prefix);
        let stored = self.storage().list_with_options(options).await?;
        let mut all = Vec::new();
        for entry in stored.values() {
            let text = entry?.as_string().unwrap_or_default();
            let chunk: Vec<T> = serde_json::from_str(&text)?;
            all.extend(chunk);
        }
        Ok(all)
    }

    /// Keeps a finished reconciliation (its lines in chunks) and forwards it in parts.
    async fn keep(&self, r: &Reconciliation, source: &str) -> Result<()> {
        let storage = self.storage();
        let book = get_json::<String>(&storage, "book")
            .await?
            .unwrap_or_default();
        let mut summary = r.clone();
        summary.lines = Vec::new();
        let mut writes: Vec<(String, String)> = vec![
            ("result".into(), encode(&summary)?),
            ("status".into(), encode(&"done")?),
            ("source".into(), encode(&source)?),
        ];
        for (i, chunk) in r.lines.chunks(CHUNK).enumerate() {
            writes.push((format!("final:{i:06}"), encode(&chunk)?));
        }
        let payout = get_json::<Payout>(&storage, "payout").await?;
        let messages = forward_messages(&self.env, &book, payout.as_ref(), r)?;
        for m in &messages {
            writes.push((store::outbox_key(&m.event_id), encode(m)?));
        }
        put_all(&storage, writes).await?;
        log(
            json!({ "reconcile": "done", "payout": r.payout_id, "lines": r.lines.len(), "balanced": r.balanced, "source": source }),
        );
        for m in messages {
            store::send(&self.env, &storage, m).await?;
        }
        Ok(())
    }

    /// A reconciliation read from a report file: kept unless the API's is already there.
    async fn report(&self, body: Value) -> Result<Value> {
        let storage = self.storage();
        let r: Reconciliation = serde_json::from_value(at(&body, "reconciliation").clone())?;
        if get_json::<String>(&storage, "status").await?.as_deref() == Some("done") {
            return Ok(json!({ "result": "kept_api_result" }));
        }
        let book = at(&body, "book").as_str().unwrap_or_default();
        let payout: Payout = serde_json::from_value(at(&body, "payout").clone())?;
        put_all(
            &storage,
            vec![
                ("book".into(), encode(&book)?),
                ("payout".into(), encode(&payout)?),
            ],
        )
        .await?;
        self.keep(&r, "report").await?;
        Ok(json!({ "result": "stored" }))
    }

    async fn read(&self) -> Result<Option<Value>> {
        let storage = self.storage();
        if let Some(summary) = get_json::<Value>(&storage, "summary").await? {
            return Ok(Some(summary));
        }
        let Some(status) = get_json::<String>(&storage, "status").await? else {
            return Ok(None);
        };
        let error = get_json::<Value>(&storage, "error").await?;
        let job = get_json::<Job>(&storage, "job").await?;
        let reconciliation = match get_json::<Reconciliation>(&storage, "result").await? {
            Some(mut r) => {
                r.lines = self.chunks::<Line>("final:").await?;
                Some(r)
            }
            None => None,
        };
        Ok(Some(json!({
            "status": status,
            "error": error,
            "pages": job.as_ref().map(|j| j.pages),
            "source": get_json::<String>(&storage, "source").await?,
            "reconciliation": reconciliation,
        })))
    }
}

/// The forwards of a reconciliation: one message per part (webhook id `<payout>.<part>`),
/// then the target profile's mapping of it (`<payout>.mapping.<chunk>`), if any.
fn forward_messages(
    env: &Env,
    book: &str,
    payout: Option<&Payout>,
    r: &Reconciliation,
) -> Result<Vec<ForwardMessage>> {
    let message = |id: String, event_type: &str, body: &Value| -> Result<ForwardMessage> {
        Ok(ForwardMessage {
            event_id: id,
            event_type: event_type.to_owned(),
            body: encode(body)?,
        })
    };
    let mut messages = Vec::new();
    for part in job::parts(book, r) {
        let id = format!("{}.{}", r.payout_id, at(&part, "part"));
        messages.push(message(id, "payout.reconciliation", &part)?);
    }
    let profile = config::profile(env).map_err(|e| worker::Error::RustError(e.0))?;
    let mapping = match (payout, &profile) {
        (_, stripe_bridge::mapping::Profile::Record) | (None, _) => None,
        (Some(payout), profile) => profile
            .map_payout(payout, r)
            .map_err(|e| worker::Error::RustError(e.to_string()))?,
    };
    for part in mapping
        .as_deref()
        .map(|m| job::mapping_parts(&r.payout_id, m))
        .unwrap_or_default()
    {
        let id = format!("{}.mapping.{}", r.payout_id, at(&part, "chunk"));
        messages.push(message(id, "payout.mapping", &part)?);
    }
    Ok(messages)
}
