//! The Worker's request routing (`routes::Route::of`: the table the Worker dispatches on).
//!
//! Input: a method index byte ++ the path bytes (lossy UTF-8, as a URL path reaches the Worker).
//!
//! Invariants: no panic; the route's own request reads back as the same route; a route with
//! an id or a fixed path names exactly the path it came from (the parse loses nothing, so no
//! two paths share an order, payout or letter by accident); an id never carries the route's
//! own prefix or suffix off the path; only `/console…` and `/admin/…` reach the console.
#![no_main]

use libfuzzer_sys::fuzz_target;
use stripe_bridge::routes::Route;

const METHODS: [&str; 8] = [
    "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "get",
];

fuzz_target!(|data: &[u8]| {
    let Some((m, path)) = data.split_first() else {
        return;
    };
    let method = METHODS[usize::from(*m) % METHODS.len()];
    let path = String::from_utf8_lossy(path);
    let route = Route::of(method, &path);
    let (m2, p2) = route.request();
    assert_eq!(
        Route::of(m2, &p2),
        route,
        "{method} {path:?} -> {route:?} -> {m2} {p2:?}"
    );
    match route {
        Route::Console => assert!(
            path == "/console" || path.starts_with("/console/") || path.starts_with("/admin/")
        ),
        Route::NotFound | Route::MethodNotAllowed => {}
        Route::Health if method == "HEAD" => assert_eq!(path, "/healthz"),
        _ => {
            assert_eq!(m2, method, "{path:?}");
            assert_eq!(p2, path, "{method} -> {route:?}");
        }
    }
});
