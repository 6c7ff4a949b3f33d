//! The Worker's HTTP routes: which operation a request's method and path name. Pure (no
//! runtime types), so the table is tested here and fuzzed (`fuzz/fuzz_targets/routes.rs`) apart
//! from the Worker, which only calls [`Route::of`] and runs the handler.
//!
//! Ids taken from a path are passed on as they are (percent-encoded, possibly empty or odd);
//! each handler checks its own (`stripe_api::is_path_id`, the order book's reference rules).

/// Where Stripe sends webhooks (point the dashboard at `https://<worker>/webhooks/stripe`).
pub const WEBHOOK_PATH: &str = "/webhooks/stripe";
/// Where the shop asks for a payment (Checkout Session or Payment Link).
pub const PAYMENT_REQUESTS_PATH: &str = "/payment-requests";

/// One operation of the Worker, with the ids its path carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route<'a> {
    /// `GET|HEAD /healthz` (`?deep=1`: the admin's deep check).
    Health,
    /// `POST /webhooks/stripe`.
    Webhook,
    /// `POST /payment-requests`.
    PaymentRequest,
    /// `GET /orders/{ref}`.
    Order(&'a str),
    /// `POST /orders/{ref}/sync`.
    SyncOrder(&'a str),
    /// `POST /payouts/{id}/reconcile`.
    ReconcilePayout(&'a str),
    /// `GET /payouts/{id}`.
    Payout(&'a str),
    /// `GET /reports/{id}`.
    Report(&'a str),
    /// `POST /refunds`.
    Refunds,
    /// `POST /customers`.
    Customers,
    /// `POST /payments/{id}/capture`.
    Capture(&'a str),
    /// `POST /payments/{id}/cancel`.
    Cancel(&'a str),
    /// `GET /dead-letters`.
    DeadLetters,
    /// `POST /dead-letters/replay`.
    ReplayAll,
    /// `POST /dead-letters/{id}/replay`.
    Replay(&'a str),
    /// `POST /dead-letters/{id}/release`: forget an unreadable event, so Stripe can resend it.
    Release(&'a str),
    /// `/console`, `/console/…` and `/admin/…`, any method: the console's own table.
    Console,
    /// The webhook or payment-request path with another method than `POST`.
    MethodNotAllowed,
    NotFound,
}

impl<'a> Route<'a> {
    /// The route of a request (`method` as sent, e.g. `"GET"`; `path` without the query).
    pub fn of(method: &str, path: &'a str) -> Route<'a> {
        if path == "/console" || path.starts_with("/console/") || path.starts_with("/admin/") {
            return Route::Console;
        }
        match method {
            "GET" => Route::get(path),
            "HEAD" if path == "/healthz" => Route::Health,
            "POST" => Route::post(path),
            _ if path == WEBHOOK_PATH || path == PAYMENT_REQUESTS_PATH => Route::MethodNotAllowed,
            _ => Route::NotFound,
        }
    }

    fn get(path: &'a str) -> Route<'a> {
        if let Some(rest) = path.strip_prefix("/orders/") {
            return Route::Order(rest);
        }
        if let Some(rest) = path.strip_prefix("/payouts/") {
            return Route::Payout(rest);
        }
        if let Some(rest) = path.strip_prefix("/reports/") {
            return Route::Report(rest);
        }
        match path {
            "/healthz" => Route::Health,
            "/dead-letters" => Route::DeadLetters,
            WEBHOOK_PATH | PAYMENT_REQUESTS_PATH => Route::MethodNotAllowed,
            _ => Route::NotFound,
        }
    }

    fn post(path: &'a str) -> Route<'a> {
        match path {
            WEBHOOK_PATH => return Route::Webhook,
            PAYMENT_REQUESTS_PATH => return Route::PaymentRequest,
            "/refunds" => return Route::Refunds,
            "/customers" => return Route::Customers,
            "/dead-letters/replay" => return Route::ReplayAll,
            _ => {}
        }
        let between = |prefix: &str, suffix: &str| {
            path.strip_prefix(prefix)
                .and_then(|rest| rest.strip_suffix(suffix))
        };
        if let Some(id) = between("/orders/", "/sync") {
            Route::SyncOrder(id)
        } else if let Some(id) = between("/payouts/", "/reconcile") {
            Route::ReconcilePayout(id)
        } else if let Some(id) = between("/payments/", "/capture") {
            Route::Capture(id)
        } else if let Some(id) = between("/payments/", "/cancel") {
            Route::Cancel(id)
        } else if let Some(id) = between("/dead-letters/", "/replay") {
            Route::Replay(id)
        } else if let Some(id) = between("/dead-letters/", "/release") {
            Route::Release(id)
        } else {
            Route::NotFound
        }
    }

    /// The method and path of this route (for `Console`, `MethodNotAllowed` and `NotFound`,
    /// one path that has it). `Route::of` of them gives this route back.
    pub fn request(&self) -> (&'static str, String) {
        let post = |p: String| ("POST", p);
        let get = |p: String| ("GET", p);
        match self {
            Route::Health => get("/healthz".into()),
            Route::Webhook => post(WEBHOOK_PATH.into()),
            Route::PaymentRequest => post(PAYMENT_REQUESTS_PATH.into()),
            Route::Order(id) => get(format!("/orders/{id}")),
            Route::SyncOrder(id) => post(format!("/orders/{id}/sync")),
            Route::ReconcilePayout(id) => post(format!("/payouts/{id}/reconcile")),
            Route::Payout(id) => get(format!("/payouts/{id}")),
            Route::Report(id) => get(format!("/reports/{id}")),
            Route::Refunds => post("/refunds".into()),
            Route::Customers => post("/customers".into()),
            Route::Capture(id) => post(format!("/payments/{id}/capture")),
            Route::Cancel(id) => post(format!("/payments/{id}/cancel")),
            Route::DeadLetters => get("/dead-letters".into()),
            Route::ReplayAll => post("/dead-letters/replay".into()),
            Route::Replay(id) => post(format!("/dead-letters/{id}/replay")),
            Route::Release(id) => post(format!("/dead-letters/{id}/release")),
            Route::Console => get("/console/".into()),
            Route::MethodNotAllowed => get(WEBHOOK_PATH.into()),
            Route::NotFound => get("/".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table() {
        let cases: &[(&str, &str, Route)] = &[
            ("GET", "/healthz", Route::Health),
            ("HEAD", "/healthz", Route::Health),
            ("POST", "/healthz", Route::NotFound),
            ("POST", "/webhooks/stripe", Route::Webhook),
            ("GET", "/webhooks/stripe", Route::MethodNotAllowed),
            ("PUT", "/payment-requests", Route::MethodNotAllowed),
            ("POST", "/payment-requests", Route::PaymentRequest),
            ("GET", "/orders/1001", Route::Order("1001")),
            ("GET", "/orders/a/b", Route::Order("a/b")),
            ("POST", "/orders/1001/sync", Route::SyncOrder("1001")),
            ("POST", "/orders/sync", Route::NotFound),
            ("POST", "/orders/1001", Route::NotFound),
            (
                "POST",
                "/payouts/po_1/reconcile",
                Route::ReconcilePayout("po_1"),
            ),
            ("GET", "/payouts/po_1", Route::Payout("po_1")),
            ("GET", "/reports/frr_1", Route::Report("frr_1")),
            ("POST", "/refunds", Route::Refunds),
            ("GET", "/refunds", Route::NotFound),
            ("POST", "/customers", Route::Customers),
            ("POST", "/payments/pi_1/capture", Route::Capture("pi_1")),
            ("POST", "/payments/pi_1/cancel", Route::Cancel("pi_1")),
            ("POST", "/payments/pi_1", Route::NotFound),
            ("GET", "/dead-letters", Route::DeadLetters),
            ("POST", "/dead-letters/replay", Route::ReplayAll),
            ("POST", "/dead-letters/evt_1/replay", Route::Replay("evt_1")),
            ("DELETE", "/dead-letters/evt_1/replay", Route::NotFound),
            (
                "POST",
                "/dead-letters/evt_1/release",
                Route::Release("evt_1"),
            ),
            ("GET", "/dead-letters/evt_1/release", Route::NotFound),
            ("GET", "/console", Route::Console),
            ("POST", "/console/login", Route::Console),
            ("GET", "/admin/stats", Route::Console),
            ("GET", "/consoles", Route::NotFound),
            ("GET", "/", Route::NotFound),
            ("GET", "", Route::NotFound),
        ];
        for (method, path, want) in cases {
            assert_eq!(Route::of(method, path), *want, "{method} {path}");
        }
    }

    #[test]
    fn every_route_reads_back_from_its_request() {
        let ids = [
            "",
            "1001",
            "a/b",
            "po_1/reconcile",
            "a/replay",
            "a/release",
            "%2F..",
            "é",
        ];
        for id in ids {
            for route in [
                Route::Order(id),
                Route::SyncOrder(id),
                Route::ReconcilePayout(id),
                Route::Payout(id),
                Route::Report(id),
                Route::Capture(id),
                Route::Cancel(id),
                Route::Replay(id),
                Route::Release(id),
            ] {
                let (method, path) = route.request();
                assert_eq!(Route::of(method, &path), route, "{method} {path}");
            }
        }
    }
}
