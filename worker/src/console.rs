//! The operator console, served by the Worker: a login form that sets a signed, expiring
//! session cookie (`stripe_bridge::console::session`: never the admin token itself), five pages
//! (a static shell plus `console/app.js`, which reads the admin JSON routes), and those admin
//! routes (`/admin/stats`, `/admin/orders`, `/admin/orders/{ref}`, `/admin/payouts`,
//! `/admin/config`). Every admin route takes the bearer token or the session cookie; a
//! state-changing request with the cookie also needs the session's CSRF token and a same-origin
//! `Origin`.

use serde_json::{json, Value};
use stripe_bridge::console::{session, view};
use stripe_bridge::delivery::{dedup_key, DedupEntry};
use stripe_bridge::order_book::OrderEntry;
use worker::{Env, Method, Request};

use crate::config::{self, text};
use crate::{at, book, book_of, log, query, set, stats, Outcome};

const LOGIN_HTML: &str = include_str!("../console/login.html");
const SHELL_HTML: &str = include_str!("../console/shell.html");
const APP_CSS: &str = include_str!("../console/app.css");
const APP_JS: &str = include_str!("../console/app.js");

/// The pages: path, name (for `app.js` and the navigation), title.
const PAGES: [(&str, &str, &str); 5] = [
    ("/console/", "overview", "Overview"),
    ("/console/orders", "orders", "Orders"),
    ("/console/dead-letters", "dead-letters", "Dead letters"),
    ("/console/payouts", "payouts", "Payouts"),
    ("/console/config", "config", "Configuration"),
];

/// Secrets the configuration page reports as set or not (never their values).
const SECRETS: [&str; 5] = [
    "STRIPE_WEBHOOK_SECRET",
    "DOWNSTREAM_SECRET",
    "ADMIN_TOKEN",
    "SHOP_API_TOKEN",
    "STRIPE_SECRET_KEY",
];

/// Plain settings shown as they are.
const SETTINGS: [&str; 11] = [
    "FORWARD",
    "TARGET_PROFILE",
    "STRIPE_MODE",
    "STRIPE_ACCOUNTS",
    "TOLERANCE_SECONDS",
    "MAX_BODY_BYTES",
    "DOWNSTREAM_TIMEOUT_MS",
    "RETRY_BASE_SECONDS",
    "RETRY_MAX_SECONDS",
    "DEAD_LETTER_TTL_DAYS",
    "FETCH_FEES",
];

/// URL settings: shown without user, password, query or fragment.
const URL_SETTINGS: [&str; 3] = ["DOWNSTREAM_URL", "STRIPE_API_BASE", "STRIPE_FILES_BASE"];

/// `/console…` and `/admin/…`. Off (404) without `ADMIN_TOKEN`.
pub async fn route(req: Request, env: &Env, path: &str, method: &Method) -> Outcome {
    let Some(token) = text(env, "ADMIN_TOKEN") else {
        return Outcome::new(404, "not_found");
    };
    match (path, method) {
        ("/console", Method::Get) => redirect("/console/"),
        ("/console/app.css", Method::Get) => asset("text/css; charset=utf-8", APP_CSS),
        ("/console/app.js", Method::Get) => asset("text/javascript; charset=utf-8", APP_JS),
        ("/console/login", Method::Get) => match session_of(&req, &token) {
            Some(_) => redirect("/console/"),
            None => login_page(200, None),
        },
        ("/console/login", Method::Post) => login(req, &token).await,
        ("/console/logout", Method::Post) => logout(req, &token).await,
        (p, Method::Get) if p.starts_with("/admin/") => {
            crate::admin(&req, env, admin_get(&req, env, p)).await
        }
        (p, Method::Get) => page(&req, &token, p),
        _ => Outcome::new(405, "method_not_allowed"),
    }
}

/// Admin routes: the bearer token, or the console's session cookie (then a state-changing
/// request also needs the session's CSRF token in `x-csrf-token` and a same-origin `Origin`).
/// 404 when `ADMIN_TOKEN` is not set, 401 without valid credentials, 403 without the CSRF token.
pub(crate) fn authorize(req: &Request, env: &Env) -> Result<(), Outcome> {
    let refused = match crate::bearer(req, env, "ADMIN_TOKEN") {
        Ok(()) => return Ok(()),
        Err(refused) if refused.status == 404 => return Err(refused),
        Err(refused) => refused,
    };
    let token = text(env, "ADMIN_TOKEN").unwrap_or_default();
    let Some(session) = session_of(req, &token) else {
        return Err(refused);
    };
    let safe = matches!(req.method(), Method::Get | Method::Head);
    let csrf = header(req, "x-csrf-token").unwrap_or_default();
    if safe || (session::csrf_valid(&token, &session, &csrf) && same_origin(req)) {
        Ok(())
    } else {
        Err(Outcome::new(403, "csrf_refused"))
    }
}

fn header(req: &Request, name: &str) -> Option<String> {
    req.headers().get(name).ok().flatten()
}

fn now_secs() -> i64 {
    i64::try_from(crate::now_ms() / 1000).unwrap_or(i64::MAX)
}

/// The request's valid session value, if its cookie holds one.
fn session_of(req: &Request, token: &str) -> Option<String> {
    let cookies = header(req, "cookie")?;
    let value = session::from_cookie_header(&cookies)?;
    session::verify(token, value, now_secs()).then(|| value.to_owned())
}

/// Whether the request's `Origin` (when sent) is its own URL's origin.
fn same_origin(req: &Request) -> bool {
    let own = req
        .url()
        .map(|u| u.origin().ascii_serialization())
        .unwrap_or_default();
    session::same_origin(header(req, "origin").as_deref(), &own)
}

/// Headers of every console response: no caching, no framing, scripts and styles only from
/// the Worker itself. (`Referrer-Policy: same-origin`, not `no-referrer`: with the latter
/// Chromium sends `Origin: null` on form posts, which the origin check refuses.)
fn secured(outcome: Outcome) -> Outcome {
    outcome
        .with_header("cache-control", "no-store")
        .with_header(
            "content-security-policy",
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        )
        .with_header("x-content-type-options", "nosniff")
        .with_header("x-frame-options", "DENY")
        .with_header("referrer-policy", "same-origin")
}

fn redirect(to: &str) -> Outcome {
    secured(Outcome::new(303, "redirect").with_text("text/plain; charset=utf-8", String::new()))
        .with_header("location", to)
}

fn html(status: u16, outcome: &'static str, body: String) -> Outcome {
    secured(Outcome::new(status, outcome).with_text("text/html; charset=utf-8", body))
}

fn asset(content_type: &'static str, body: &str) -> Outcome {
    Outcome::new(200, "ok")
        .with_text(content_type, body.to_owned())
        .with_header("cache-control", "no-cache")
        .with_header("x-content-type-options", "nosniff")
}

fn login_page(status: u16, error: Option<&str>) -> Outcome {
    let message = error
        .map(|e| format!(r#"<p class="error" role="alert" id="login-error">{e}</p>"#))
        .unwrap_or_default();
    let outcome = if status == 200 { "ok" } else { "unauthorized" };
    html(status, outcome, LOGIN_HTML.replace("{{error}}", &message))
}

/// A field of an `application/x-www-form-urlencoded` body.
fn form_field(body: &[u8], name: &str) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?;
    let url = worker::Url::parse(&format!("https://form/?{text}")).ok()?;
    let found = url.query_pairs().find(|(k, _)| k == name);
    found.map(|(_, v)| v.into_owned())
}

/// `POST /console/login` (`token`): the admin token, compared in constant time, gives a session.
async fn login(mut req: Request, token: &str) -> Outcome {
    if !same_origin(&req) {
        return Outcome::new(403, "cross_origin");
    }
    let body = match crate::read_body(&mut req, 4096).await {
        Ok(body) => body,
        Err(refused) => return refused,
    };
    let given = form_field(&body, "token").unwrap_or_default();
    if !stripe_bridge::signature::tokens_equal(given.trim(), token) {
        log(json!({ "console": "login_refused" }));
        return login_page(401, Some("That token is not the admin token."));
    }
    let Some(nonce) = random_nonce() else {
        return crate::config_error(config::ConfigError(
            "crypto.getRandomValues is unavailable".into(),
        ));
    };
    let value = session::issue(token, now_secs(), &nonce);
    log(json!({ "console": "login" }));
    redirect("/console/").with_header("set-cookie", session::set_cookie(&value))
}

/// 16 bytes from the runtime's CSPRNG (`crypto.getRandomValues`) for a new session.
fn random_nonce() -> Option<[u8; 16]> {
    use worker::js_sys::{global, Function, Reflect, Uint8Array};
    use worker::wasm_bindgen::JsCast;
    let crypto = Reflect::get(&global(), &"crypto".into()).ok()?;
    let fill: Function = Reflect::get(&crypto, &"getRandomValues".into())
        .ok()?
        .dyn_into()
        .ok()?;
    let bytes = Uint8Array::new_with_length(16);
    fill.call1(&crypto, &bytes).ok()?;
    bytes.to_vec().try_into().ok()
}

/// `POST /console/logout` (`csrf`): ends the session in the browser.
async fn logout(mut req: Request, token: &str) -> Outcome {
    let Some(value) = session_of(&req, token) else {
        return redirect("/console/login").with_header("set-cookie", session::clear_cookie());
    };
    let body = crate::read_body(&mut req, 4096).await.unwrap_or_default();
    let csrf = form_field(&body, "csrf").unwrap_or_default();
    if !same_origin(&req) || !session::csrf_valid(token, &value, &csrf) {
        return Outcome::new(403, "csrf_refused");
    }
    redirect("/console/login").with_header("set-cookie", session::clear_cookie())
}

/// A console page: the shell with the page's name and the session's CSRF token; without a
/// session, the login form.
fn page(req: &Request, token: &str, path: &str) -> Outcome {
    let Some((_, name, title)) = PAGES.iter().find(|(p, _, _)| *p == path) else {
        return Outcome::new(404, "not_found");
    };
    let Some(value) = session_of(req, token) else {
        return redirect("/console/login");
    };
    let current = format!(r#"data-nav="{name}""#);
    let body = SHELL_HTML
        .replace("{{page}}", name)
        .replace("{{title}}", title)
        .replace("{{csrf}}", &session::csrf_token(token, &value))
        .replace(&current, &format!(r#"{current} aria-current="page""#));
    html(200, "ok", body)
}

async fn admin_get(req: &Request, env: &Env, path: &str) -> Outcome {
    match path {
        "/admin/stats" => stats_route(req, env).await,
        "/admin/orders" => search_route(req, env).await,
        "/admin/payouts" => payouts_route(env).await,
        "/admin/config" => config_route(env),
        p if p.starts_with("/admin/orders/") => {
            order_route(req, env, p.trim_start_matches("/admin/orders/")).await
        }
        _ => Outcome::new(404, "not_found"),
    }
}

fn unavailable(what: &'static str, e: &worker::Error) -> Outcome {
    log(json!({ "outcome": what, "error": e.to_string() }));
    Outcome::new(503, what)
}

/// `GET /admin/stats[?hours=24]`: per hour (oldest first) webhooks received by outcome and
/// delivery attempts by result, their totals, the retry backlog and the dead letters.
async fn stats_route(req: &Request, env: &Env) -> Outcome {
    let hours = query(req, "hours")
        .and_then(|h| h.parse::<u64>().ok())
        .unwrap_or(24);
    let mut overview = match stats::read(env, hours).await {
        Ok(o) => o,
        Err(e) => return unavailable("stats_unavailable", &e),
    };
    set(&mut overview, "dead_letters", dead_letter_counts(env).await);
    Outcome::new(200, "ok").with_detail(overview)
}

/// The dead letters by kind (up to 1,000 counted; `more` when there are more).
async fn dead_letter_counts(env: &Env) -> Value {
    let Ok(kv) = env.kv(config::KV_DEAD_LETTERS) else {
        return Value::Null;
    };
    let list = kv.list().prefix("dl:".to_owned()).limit(1000);
    let Ok(page) = list.execute().await else {
        return Value::Null;
    };
    let unreadable = page
        .keys
        .iter()
        .filter(|k| at(k.metadata.as_ref().unwrap_or(&Value::Null), "kind") == "unreadable")
        .count();
    json!({
        "total": page.keys.len(),
        "undelivered": page.keys.len().saturating_sub(unreadable),
        "unreadable": unreadable,
        "more": !page.list_complete,
    })
}

/// `GET /admin/orders?q=…[&account=…&mode=…]`: orders by reference, Stripe payment id or
/// customer id, and references starting with `q`.
async fn search_route(req: &Request, env: &Env) -> Outcome {
    let q = query(req, "q").unwrap_or_default();
    let book = book_of(env, req);
    match book::search(env, &book, q.trim()).await {
        Ok(mut found) => {
            set(&mut found, "book", json!(book));
            set(&mut found, "q", json!(q.trim()));
            Outcome::new(200, "ok").with_detail(found)
        }
        Err(e) => unavailable("book_unavailable", &e),
    }
}

/// `GET /admin/orders/{ref}[?account=…&mode=…]`: the order's entry, its attempts with amounts
/// in the currency's decimals, and its timeline with each forward's delivery state.
async fn order_route(req: &Request, env: &Env, order_ref: &str) -> Outcome {
    let order_ref = crate::path_id(order_ref);
    let book = book_of(env, req);
    let entry = match book::order(env, &book, &order_ref).await {
        Ok(Some(entry)) => entry,
        Ok(None) => return Outcome::new(404, "not_found"),
        Err(e) => return unavailable("book_unavailable", &e),
    };
    let attempts = serde_json::from_value::<OrderEntry>(entry.clone())
        .map(|e| json!(view::attempts(&e.state)))
        .unwrap_or(Value::Null);
    let mut timeline = match book::timeline(env, &book, &order_ref).await {
        Ok(t) => t,
        Err(e) => return unavailable("book_unavailable", &e),
    };
    with_deliveries(env, &mut timeline).await;
    Outcome::new(200, "ok").with_detail(json!({
        "book": book,
        "order": entry,
        "attempts": attempts,
        "timeline": timeline,
    }))
}

/// Adds to the newest 20 forwards of a timeline their delivery state (KV `DEDUP`, kept
/// `DEDUP_TTL_SECONDS`): `retrying` with the last error, `delivered`, `dead_lettered`, ….
async fn with_deliveries(env: &Env, timeline: &mut Value) {
    let Ok(kv) = env.kv(config::KV_DEDUP) else {
        return;
    };
    let Some(entries) = timeline.as_array_mut() else {
        return;
    };
    let forwards = entries
        .iter_mut()
        .rev()
        .filter(|e| at(e, "kind") == "forward");
    for entry in forwards.take(20) {
        let id = at(entry, "id").as_str().unwrap_or_default().to_owned();
        let state = kv.get(&dedup_key(&id)).json::<DedupEntry>().await;
        let delivery = match state {
            Ok(Some(d)) => {
                json!({ "state": d.state, "at_ms": d.at_ms, "last_error": d.last_error })
            }
            Ok(None) => json!({ "state": "unknown" }),
            Err(_) => Value::Null,
        };
        set(entry, "delivery", delivery);
    }
}

/// `GET /admin/payouts`: the payouts whose reconciliation started lately, newest first
/// (`{book, id, at_ms}`); `GET /payouts/{id}` has each one's result.
async fn payouts_route(env: &Env) -> Outcome {
    match stats::payouts(env).await {
        Ok(list) => Outcome::new(200, "ok").with_detail(list),
        Err(e) => unavailable("stats_unavailable", &e),
    }
}

/// `GET /admin/config`: which secrets are set (never their values) and the plain settings;
/// `GET /healthz?deep=1` checks them.
fn config_route(env: &Env) -> Outcome {
    let secrets: serde_json::Map<String, Value> = SECRETS
        .iter()
        .map(|name| (name.to_string(), json!(text(env, name).is_some())))
        .collect();
    let mut settings: serde_json::Map<String, Value> = SETTINGS
        .iter()
        .map(|name| (name.to_string(), json!(text(env, name))))
        .collect();
    for name in URL_SETTINGS {
        let url = text(env, name).map(|u| without_credentials(&u));
        settings.insert(name.into(), json!(url));
    }
    settings.insert(
        "MAPPING_JSON".into(),
        json!(text(env, "MAPPING_JSON").map(|_| "set")),
    );
    let webhook_secrets = text(env, "STRIPE_WEBHOOK_SECRET")
        .map_or(0, |s| s.split(',').filter(|p| !p.trim().is_empty()).count());
    let stats_binding = match env.durable_object(config::STATS) {
        Ok(_) => json!("ok"),
        Err(e) => json!(e.to_string()),
    };
    Outcome::new(200, "ok").with_detail(json!({
        "console_stats": stats_binding,
        "secrets": secrets,
        "webhook_secret_count": webhook_secrets,
        "settings": settings,
    }))
}

/// A URL without user, password, query or fragment (they may hold credentials).
fn without_credentials(url: &str) -> String {
    match worker::Url::parse(url) {
        Ok(mut u) => {
            let _ = u.set_username("");
            let _ = u.set_password(None);
            u.set_query(None);
            u.set_fragment(None);
            u.to_string()
        }
        Err(_) => "(not a URL)".to_owned(),
    }
}

/// What the replay of dead letters adds to the counters.
pub async fn count_replayed(env: &Env, replayed: u64) {
    if replayed > 0 {
        let tally = stripe_bridge::console::stats::Tally::replayed(crate::now_ms(), replayed);
        stats::add(env, tally).await;
    }
}
