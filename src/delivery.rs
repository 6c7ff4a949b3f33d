//! Reliable delivery of normalized records to a downstream system: the queue message, the
//! dedup state kept per Stripe event, and the retry policy. Pure: the Worker does the I/O.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::value::RawValue;

use crate::normalize::Record;

/// Cloudflare Queues' limit per message.
pub const MAX_QUEUE_MESSAGE_BYTES: usize = 128 * 1024;

/// What goes through the queue: the event id (the downstream idempotency key) and the exact
/// body to POST. Never the raw Stripe event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForwardMessage {
    pub event_id: String,
    pub event_type: String,
    /// The JSON body to forward (the normalized record, or its mapping for the target).
    pub body: String,
}

/// A message that cannot be queued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TooLarge {
    pub bytes: usize,
}

impl fmt::Display for TooLarge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the forwarded body is {} bytes; queue messages are limited to {MAX_QUEUE_MESSAGE_BYTES}",
            self.bytes
        )
    }
}

impl std::error::Error for TooLarge {}

impl ForwardMessage {
    /// A message forwarding `body` for `record`'s event.
    pub fn new(record: &Record, body: String) -> Result<Self, TooLarge> {
        let message = ForwardMessage {
            event_id: record.event_id.clone(),
            event_type: record.event_type.clone(),
            body,
        };
        // Ids, type and JSON framing are small; keep a margin for the queue's own encoding.
        let bytes = message
            .body
            .len()
            .saturating_add(message.event_id.len())
            .saturating_add(message.event_type.len())
            .saturating_add(256);
        if bytes > MAX_QUEUE_MESSAGE_BYTES {
            return Err(TooLarge { bytes });
        }
        Ok(message)
    }

    /// A message forwarding the normalized record itself.
    pub fn for_record(record: &Record) -> Result<Self, TooLarge> {
        // A Record always serializes (strings, numbers and decimals only).
        let body = serde_json::to_string(record).unwrap_or_default();
        ForwardMessage::new(record, body)
    }
}

/// Where an event is in its delivery, as kept in the dedup store (keyed by event id).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    /// Verified, but an event type that is not forwarded.
    Ignored,
    /// In the forward queue.
    Enqueued,
    /// A delivery attempt failed; the queue retries it.
    Retrying,
    /// The downstream answered 2xx.
    Delivered,
    /// Out of retries: kept in the dead-letter store for listing and replay.
    DeadLettered,
    /// Taken from the dead-letter store and queued again.
    Replayed,
}

/// One dedup entry. Any entry makes a later delivery of the same event a duplicate: the event
/// was either ignored or safely queued before.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DedupEntry {
    pub state: DeliveryState,
    pub event_type: String,
    /// When the state was recorded, Unix milliseconds.
    pub at_ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

/// The key of an event in the dedup store.
pub fn dedup_key(event_id: &str) -> String {
    format!("evt:{event_id}")
}

/// The key of an event in the dead-letter store.
pub fn dead_letter_key(event_id: &str) -> String {
    format!("dl:{event_id}")
}

/// Cloudflare Queues' longest delay of one retry (`delaySeconds`): 12 hours.
pub const QUEUE_MAX_DELAY_SECS: u32 = 43_200;
/// Cloudflare Queues' highest `max_retries` of a consumer.
pub const QUEUE_MAX_RETRIES: u32 = 100;
/// How long Stripe itself retries an undelivered webhook in live mode: 3 days. Forwarding
/// retries at least as long, so a downstream outage Stripe would have outlasted is outlasted
/// here too.
pub const STRIPE_RETRY_WINDOW_SECS: u64 = 3 * 24 * 3600;

/// Capped exponential backoff with deterministic jitter, for the forward queue's retries.
///
/// Retry `attempt` (1 for the first retry) waits nominally `base_secs · 2^(attempt-1)`,
/// capped at `max_secs` and at [`QUEUE_MAX_DELAY_SECS`]; the jitter takes off up to 20 % of
/// that (`⌈0.8·nominal⌉ ..= nominal`), chosen by a seed (see [`jitter_seed`]) so the Worker
/// needs no random numbers. A delay is never 0 and never above the cap. A `base_secs` of 0
/// counts as 1 s, and `max_secs` of 0 as 1 s.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub base_secs: u32,
    pub max_secs: u32,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy::DEFAULT
    }
}

impl RetryPolicy {
    /// 10 s doubling to 12 h: 19 retries (at the least 75.8 h, at the most 94.75 h) cover
    /// [`STRIPE_RETRY_WINDOW_SECS`].
    pub const DEFAULT: RetryPolicy = RetryPolicy {
        base_secs: 10,
        max_secs: QUEUE_MAX_DELAY_SECS,
    };

    /// The longest delay: `max_secs` within 1 ..= [`QUEUE_MAX_DELAY_SECS`].
    pub fn cap_secs(&self) -> u32 {
        self.max_secs.clamp(1, QUEUE_MAX_DELAY_SECS)
    }

    /// The delay of retry `attempt` before jitter (attempt 0 counts as 1): non-decreasing in
    /// `attempt`, within 1 ..= [`cap_secs`](Self::cap_secs).
    pub fn nominal_delay_secs(&self, attempt: u32) -> u32 {
        let cap = self.cap_secs();
        let base = u64::from(self.base_secs.clamp(1, cap));
        let shift = attempt.saturating_sub(1).min(32);
        let nominal = (base << shift).min(u64::from(cap));
        u32::try_from(nominal).unwrap_or(cap)
    }

    /// The shortest delay the jitter can give retry `attempt`: the nominal delay less 20 %
    /// (rounded so that it stays at least 1 s).
    pub fn min_delay_secs(&self, attempt: u32) -> u32 {
        let nominal = self.nominal_delay_secs(attempt);
        nominal - nominal / 5
    }

    /// The delay of retry `attempt` (1 for the first retry), jittered by `jitter_seed`:
    /// within [`min_delay_secs`](Self::min_delay_secs) ..=
    /// [`nominal_delay_secs`](Self::nominal_delay_secs), so never 0 and never above the cap.
    pub fn delay_secs(&self, attempt: u32, jitter_seed: u64) -> u32 {
        let nominal = self.nominal_delay_secs(attempt);
        let span = nominal / 5;
        let offset = mix64(jitter_seed) % (u64::from(span) + 1);
        // offset <= span, so this is at most the nominal delay.
        nominal - span + u32::try_from(offset).unwrap_or(0)
    }

    /// The shortest total wait of the first `retries` retries (every delay at its lower
    /// jitter bound): how long a queue with `max_retries = retries` keeps retrying at least.
    pub fn min_window_secs(&self, retries: u32) -> u64 {
        let cap_from = self.first_capped_attempt();
        let mut total = 0u64;
        for attempt in 1..=retries.min(cap_from.saturating_sub(1)) {
            total = total.saturating_add(u64::from(self.min_delay_secs(attempt)));
        }
        let capped = u64::from(retries.saturating_sub(cap_from.saturating_sub(1)));
        total.saturating_add(capped.saturating_mul(u64::from(self.min_delay_secs(cap_from))))
    }

    /// How many retries it takes for the waits to add up to `window_secs` even when every
    /// delay is at its lower jitter bound: the queue's `max_retries` that keeps retrying for
    /// at least the window (0 for an empty window). Compare with [`QUEUE_MAX_RETRIES`].
    pub fn attempts_for(&self, window_secs: u64) -> u32 {
        u32::try_from(self.retries_to_reach(window_secs)).unwrap_or(u32::MAX)
    }

    /// The retry number to pass to [`delay_secs`](Self::delay_secs) when the attempt count is
    /// unknown (workers-rs does not expose a queue message's `attempts`), estimated from the
    /// time since the message was first queued: the first attempt whose cumulative *minimum*
    /// delay exceeds `elapsed_secs` (1 at `elapsed_secs = 0`).
    ///
    /// The minimum (not the nominal) delay is what makes the estimate safe: retry `n` cannot
    /// start before the first `n - 1` minimum delays have passed, so the estimate is never
    /// below the true retry number, every retry waits at least its own minimum, and
    /// `max_retries = attempts_for(window)` keeps retrying for the whole window. With the
    /// nominal delay, a retry jittered short would be counted as the previous one and wait
    /// half as long. Processing time can only move the estimate up; while the delays double,
    /// the estimate is exact unless a delivery attempt takes longer than about 60 % of the
    /// time waited so far.
    pub fn attempt_from_elapsed(&self, elapsed_secs: u64) -> u32 {
        let attempt = self.retries_to_reach(elapsed_secs.saturating_add(1));
        u32::try_from(attempt).unwrap_or(u32::MAX)
    }

    /// The delay of the next retry of the message `key` (the event or webhook id), first
    /// queued `elapsed_secs` ago: [`attempt_from_elapsed`](Self::attempt_from_elapsed) with
    /// a jitter seeded by the key and the attempt.
    pub fn delay_after(&self, elapsed_secs: u64, key: &str) -> u32 {
        let attempt = self.attempt_from_elapsed(elapsed_secs);
        self.delay_secs(attempt, jitter_seed(key, attempt))
    }

    /// The first attempt whose nominal delay is the cap (every later one is too).
    fn first_capped_attempt(&self) -> u32 {
        let cap = self.cap_secs();
        // base >= 1 and cap <= 43_200 < 2^16: at most 17 doublings.
        (1..=33u32)
            .find(|&a| self.nominal_delay_secs(a) >= cap)
            .unwrap_or(33)
    }

    /// The fewest retries whose minimum delays add up to at least `target` seconds.
    fn retries_to_reach(&self, target: u64) -> u64 {
        let cap_from = self.first_capped_attempt();
        let mut total = 0u64;
        for attempt in 1..cap_from {
            if total >= target {
                return u64::from(attempt - 1);
            }
            total = total.saturating_add(u64::from(self.min_delay_secs(attempt)));
        }
        let done = u64::from(cap_from.saturating_sub(1));
        let per_retry = u64::from(self.min_delay_secs(cap_from).max(1));
        done.saturating_add(target.saturating_sub(total).div_ceil(per_retry))
    }
}

/// A jitter seed for retry `attempt` of the message `key` (e.g. the event id): stable for
/// the same pair, different across messages, so retries after an outage spread out.
pub fn jitter_seed(key: &str, attempt: u32) -> u64 {
    // FNV-1a, then the attempt; `delay_secs` mixes the result again.
    let hash = key.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    mix64(hash ^ ((u64::from(attempt) << 32) | u64::from(attempt)))
}

/// splitmix64's finalizer: spreads nearby seeds (0, 1, 2, ...) over the whole range.
fn mix64(seed: u64) -> u64 {
    let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The keys [`redact_personal`] removes: the normalized record's customer fields, and the
/// names, emails and phones of the target mappings (Salesforce: Account `Name`, Contact
/// `FirstName`, `LastName`, `Email`).
pub const PERSONAL_KEYS: &[&str] = &[
    "customer_email",
    "customer_name",
    "email",
    "name",
    "Email",
    "FirstName",
    "LastName",
    "Name",
    "Phone",
    "phone",
];

/// What [`redact_personal`] keeps of a body that is not a JSON object or array.
pub const NOT_KEPT: &str = "(not JSON; not kept)";

/// A forwarded body with personal data taken out, for the dead-letter store: every
/// [`PERSONAL_KEYS`] member is removed at any depth (a record, a state forward with its
/// `mapping`, or a target mapping such as a Salesforce composite request). The rest is kept
/// as it was: key order, duplicate keys and the exact text of numbers and strings (only
/// whitespace between tokens goes). A body that is not a JSON object or array gives
/// [`NOT_KEPT`].
///
/// Only keys are known: personal data under other names (a custom mapping's own output
/// names, or inside a string) stays.
pub fn redact_personal(body: &str) -> String {
    let Ok(raw) = serde_json::from_str::<&RawValue>(body) else {
        return NOT_KEPT.to_owned();
    };
    if !raw.get().starts_with(['{', '[']) {
        return NOT_KEPT.to_owned();
    }
    let mut out = String::with_capacity(body.len());
    if redact_into(raw, &mut out).is_err() {
        return NOT_KEPT.to_owned();
    }
    out
}

fn redact_into(value: &RawValue, out: &mut String) -> Result<(), serde_json::Error> {
    let text = value.get();
    if text.starts_with('{') {
        let Entries(entries) = serde_json::from_str(text)?;
        out.push('{');
        let mut first = true;
        for (key, value) in entries {
            if PERSONAL_KEYS.contains(&key.as_str()) {
                continue;
            }
            if !first {
                out.push(',');
            }
            first = false;
            out.push_str(&serde_json::to_string(&key)?);
            out.push(':');
            redact_into(value, out)?;
        }
        out.push('}');
    } else if text.starts_with('[') {
        let items: Vec<&RawValue> = serde_json::from_str(text)?;
        out.push('[');
        for (i, item) in items.into_iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            redact_into(item, out)?;
        }
        out.push(']');
    } else {
        out.push_str(text);
    }
    Ok(())
}

/// An object's members in order, values unparsed.
struct Entries<'a>(Vec<(String, &'a RawValue)>);

impl<'de> Deserialize<'de> for Entries<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Members;
        impl<'de> Visitor<'de> for Members {
            type Value = Entries<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = map.next_entry::<String, &'de RawValue>()? {
                    entries.push(entry);
                }
                Ok(Entries(entries))
            }
        }
        deserializer.deserialize_map(Members)
    }
}

/// Checks the downstream URL (where records and Standard Webhooks signatures are sent):
/// `https://`, or `http://` only to a loopback host (127.0.0.0/8, `localhost`, `[::1]`); no
/// `user:password@`, a host, a numeric port, no spaces or control characters. The error
/// names the rule, never the URL.
pub fn check_downstream_url(url: &str) -> Result<(), String> {
    check_http_url(url).map_err(str::to_owned)
}

/// The URL rules of [`check_downstream_url`], as the rule that fails. The authority is read
/// as the WHATWG URL parser (`fetch`) reads it for http(s): it ends at `/`, `\`, `?` or `#`.
pub(crate) fn check_http_url(url: &str) -> Result<(), &'static str> {
    const SCHEME: &str =
        "must be an https:// URL (http:// only to a loopback host: 127.0.0.0/8, localhost or [::1])";
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("must not contain spaces or control characters");
    }
    let (scheme, rest) = url.split_once("://").ok_or(SCHEME)?;
    let https = scheme.eq_ignore_ascii_case("https");
    if !https && !scheme.eq_ignore_ascii_case("http") {
        return Err(SCHEME);
    }
    let authority = rest.split(['/', '\\', '?', '#']).next().unwrap_or_default();
    if authority.contains('@') {
        return Err("must not contain user:password@ (credentials go in a header, not the URL)");
    }
    let (host, port) = split_host_port(authority).ok_or("must name a valid host")?;
    if host.is_empty() {
        return Err("must name a host");
    }
    if let Some(port) = port {
        let valid = !port.is_empty()
            && port.bytes().all(|b| b.is_ascii_digit())
            && port.parse::<u16>().is_ok_and(|p| p > 0);
        if !valid {
            return Err("must have a port from 1 to 65535");
        }
    }
    if https || is_loopback_host(host) {
        Ok(())
    } else {
        Err(SCHEME)
    }
}

/// `host[:port]` or `[ipv6][:port]` into the host (brackets kept) and the port text.
fn split_host_port(authority: &str) -> Option<(&str, Option<&str>)> {
    if authority.starts_with('[') {
        let end = authority.find(']')?;
        let (host, after) = authority.split_at_checked(end + 1)?;
        let inner = host.get(1..end)?;
        inner.parse::<Ipv6Addr>().ok()?;
        match after {
            "" => Some((host, None)),
            _ => Some((host, Some(after.strip_prefix(':')?))),
        }
    } else {
        match authority.split_once(':') {
            Some((_, port)) if port.contains(':') => None,
            Some((host, port)) => Some((host, Some(port))),
            None => Some((authority, None)),
        }
    }
}

/// Whether a URL host (as written in the URL, IPv6 in brackets) is the local machine:
/// `localhost` (any case), 127.0.0.0/8, or `[::1]`. Other spellings (`127.1`, `0x7f.0.0.1`,
/// `localhost.`, IPv4-mapped IPv6) are not recognized, so they count as remote.
pub(crate) fn is_loopback_host(host: &str) -> bool {
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    if let Some(inner) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        return inner.parse::<Ipv6Addr>().is_ok_and(|ip| ip.is_loopback());
    }
    host.parse::<Ipv4Addr>().is_ok_and(|ip| ip.is_loopback())
}

/// Whether a downstream HTTP status means delivered (2xx); anything else is retried.
pub fn is_delivered(status: u16) -> bool {
    (200..300).contains(&status)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalize::{normalize_json, NormalizeOptions};

    fn record() -> Record {
        normalize_json(
            br#"{"id":"evt_1","type":"payment_intent.succeeded","created":1,"data":{"object":{"id":"pi_1","object":"payment_intent","amount":100,"currency":"usd","status":"succeeded"}}}"#,
            &NormalizeOptions::default(),
        )
        .unwrap()
    }

    #[test]
    fn message_carries_the_record_not_the_event() {
        let m = ForwardMessage::for_record(&record()).unwrap();
        assert_eq!(m.event_id, "evt_1");
        assert_eq!(m.event_type, "payment_intent.succeeded");
        let body: serde_json::Value = serde_json::from_str(&m.body).unwrap();
        assert_eq!(body["amount"], "1.00");
        assert!(body.get("data").is_none());
    }

    #[test]
    fn oversized_bodies_are_refused() {
        let big = "x".repeat(MAX_QUEUE_MESSAGE_BYTES);
        assert!(ForwardMessage::new(&record(), big).is_err());
        assert!(ForwardMessage::new(&record(), "x".repeat(100_000)).is_ok());
    }

    const DAY: u64 = 24 * 3600;

    #[test]
    fn default_policy_numbers() {
        let p = RetryPolicy::DEFAULT;
        assert_eq!(RetryPolicy::default(), p);
        assert_eq!(STRIPE_RETRY_WINDOW_SECS, 259_200);
        let nominal: Vec<u32> = (1..=15).map(|a| p.nominal_delay_secs(a)).collect();
        assert_eq!(
            nominal,
            [
                10, 20, 40, 80, 160, 320, 640, 1280, 2560, 5120, 10_240, 20_480, 40_960, 43_200,
                43_200
            ]
        );
        let min: Vec<u32> = (1..=15).map(|a| p.min_delay_secs(a)).collect();
        assert_eq!(
            min,
            [
                8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16_384, 32_768, 34_560,
                34_560
            ]
        );
        let retries = p.attempts_for(STRIPE_RETRY_WINDOW_SECS);
        assert_eq!(retries, 19);
        assert!(retries <= QUEUE_MAX_RETRIES);
        // At the lower jitter bound: 75.8 h; without jitter: 94.75 h.
        assert_eq!(p.min_window_secs(retries), 272_888);
        assert!(p.min_window_secs(retries) >= 72 * 3600);
        assert!(p.min_window_secs(retries - 1) < STRIPE_RETRY_WINDOW_SECS);
        let nominal_total: u64 = (1..=retries)
            .map(|a| u64::from(p.nominal_delay_secs(a)))
            .sum();
        assert_eq!(nominal_total, 341_110);
        // Cloudflare's default message retention is 4 days.
        assert!(nominal_total < 4 * DAY);
    }

    #[test]
    fn default_max_retries_cover_three_days_whatever_the_jitter() {
        let p = RetryPolicy::DEFAULT;
        let retries = p.attempts_for(STRIPE_RETRY_WINDOW_SECS);
        for message in 0..500u32 {
            let key = format!("evt_{message}");
            // As the Worker runs it: the attempt estimated from the time since queueing,
            // delivery attempts taking 0..=30 s.
            let mut elapsed = 0u64;
            let mut waited = 0u64;
            for n in 1..=retries {
                elapsed += u64::from((message * 7 + n * 13) % 31);
                let attempt = p.attempt_from_elapsed(elapsed);
                assert!(attempt >= n, "retry {n} estimated as {attempt}");
                let delay = p.delay_after(elapsed, &key);
                assert!(delay >= p.min_delay_secs(n));
                assert!(delay <= QUEUE_MAX_DELAY_SECS);
                elapsed += u64::from(delay);
                waited += u64::from(delay);
            }
            assert!(waited >= STRIPE_RETRY_WINDOW_SECS, "{key}: {waited}");
        }
    }

    #[test]
    fn the_estimate_is_exact_while_the_delays_double() {
        let p = RetryPolicy::DEFAULT;
        assert_eq!(p.attempt_from_elapsed(0), 1);
        assert_eq!(p.attempt_from_elapsed(7), 1);
        // Retry 1 waits 8..=10 s; retry 2 is due from 8 s on.
        assert_eq!(p.attempt_from_elapsed(8), 2);
        assert_eq!(p.attempt_from_elapsed(10), 2);
        for seed in 0..200u64 {
            let mut elapsed = 0u64;
            for n in 1..=13 {
                assert_eq!(p.attempt_from_elapsed(elapsed), n, "seed {seed}");
                elapsed += u64::from(p.delay_secs(n, seed * 31 + u64::from(n)));
            }
        }
        assert_eq!(p.attempt_from_elapsed(u64::MAX), u32::MAX);
    }

    #[test]
    fn nominal_delays_never_decrease_and_the_cap_holds() {
        for policy in [
            RetryPolicy::DEFAULT,
            RetryPolicy {
                base_secs: 0,
                max_secs: 0,
            },
            RetryPolicy {
                base_secs: 1,
                max_secs: 1,
            },
            RetryPolicy {
                base_secs: 3,
                max_secs: 100,
            },
            RetryPolicy {
                base_secs: 10,
                max_secs: 3600,
            },
            RetryPolicy {
                base_secs: 5000,
                max_secs: 60,
            },
            RetryPolicy {
                base_secs: u32::MAX,
                max_secs: u32::MAX,
            },
        ] {
            let cap = policy.max_secs.clamp(1, QUEUE_MAX_DELAY_SECS);
            assert_eq!(policy.cap_secs(), cap);
            let mut previous = 0;
            for attempt in 0..=100 {
                let nominal = policy.nominal_delay_secs(attempt);
                assert!(nominal >= previous, "{policy:?} {attempt}");
                previous = nominal;
                for seed in (0..64).chain([u64::MAX, u64::MAX / 3]) {
                    let delay = policy.delay_secs(attempt, seed);
                    assert!((1..=cap).contains(&delay), "{policy:?} {attempt} {seed}");
                    assert!(delay >= policy.min_delay_secs(attempt));
                    assert!(delay <= nominal);
                }
            }
            assert_eq!(policy.nominal_delay_secs(u32::MAX), cap);
        }
        // RETRY_MAX_SECONDS above the queue's limit is held to it.
        let p = RetryPolicy {
            base_secs: 10,
            max_secs: 100_000,
        };
        assert_eq!(p.delay_secs(50, 1), p.delay_secs(50, 1));
        assert!(p.delay_secs(50, 1) <= QUEUE_MAX_DELAY_SECS);
    }

    #[test]
    fn jitter_spreads_and_is_deterministic() {
        let p = RetryPolicy::DEFAULT;
        assert_eq!(jitter_seed("evt_1", 3), jitter_seed("evt_1", 3));
        assert_ne!(jitter_seed("evt_1", 3), jitter_seed("evt_1", 4));
        assert_ne!(jitter_seed("evt_1", 3), jitter_seed("evt_2", 3));
        // A thousand messages retried at the cap: delays all over 34_560 ..= 43_200.
        let delays: std::collections::BTreeSet<u32> = (0..1000)
            .map(|i| p.delay_secs(20, jitter_seed(&format!("evt_{i}"), 20)))
            .collect();
        assert!(delays.len() > 800, "{}", delays.len());
        assert_eq!(*delays.first().unwrap() / 1000, 34);
        assert_eq!(*delays.last().unwrap() / 1000, 43);
        // Small delays have no room to jitter below 1 s.
        let tiny = RetryPolicy {
            base_secs: 1,
            max_secs: 4,
        };
        assert!((0..100).all(|s| tiny.delay_secs(1, s) == 1));
    }

    #[test]
    fn attempts_for_edges() {
        let p = RetryPolicy::DEFAULT;
        assert_eq!(p.attempts_for(0), 0);
        assert_eq!(p.attempts_for(1), 1);
        assert_eq!(p.attempts_for(8), 1);
        assert_eq!(p.attempts_for(9), 2);
        assert_eq!(p.min_window_secs(0), 0);
        let flat = RetryPolicy {
            base_secs: 60,
            max_secs: 60,
        };
        assert_eq!(flat.attempts_for(3600), 75); // 48 s each at the lower bound.
        assert_eq!(flat.min_window_secs(75), 3600);
        let tiny = RetryPolicy {
            base_secs: 1,
            max_secs: 1,
        };
        assert_eq!(tiny.attempts_for(STRIPE_RETRY_WINDOW_SECS), 259_200);
        assert_eq!(tiny.attempts_for(u64::MAX), u32::MAX);
    }

    proptest::proptest! {
        #[test]
        fn policy_properties(
            base in 0u32..200_000,
            max in 0u32..200_000,
            attempt in 0u32..200,
            seed in proptest::prelude::any::<u64>(),
            window in 0u64..(8 * DAY),
        ) {
            let p = RetryPolicy { base_secs: base, max_secs: max };
            let cap = max.clamp(1, QUEUE_MAX_DELAY_SECS);
            let delay = p.delay_secs(attempt, seed);
            proptest::prop_assert!(delay >= 1 && delay <= cap);
            proptest::prop_assert!(delay >= p.min_delay_secs(attempt));
            proptest::prop_assert!(delay <= p.nominal_delay_secs(attempt));
            proptest::prop_assert!(p.nominal_delay_secs(attempt) <= p.nominal_delay_secs(attempt + 1));
            proptest::prop_assert!(p.min_delay_secs(attempt) <= p.min_delay_secs(attempt + 1));
            // attempts_for is the fewest retries covering the window at the lower bound.
            let k = p.attempts_for(window);
            proptest::prop_assert!(p.min_window_secs(k) >= window);
            if k > 0 {
                proptest::prop_assert!(p.min_window_secs(k - 1) < window);
            }
            // The estimate never undercounts, whatever the jitter and the processing time.
            let mut elapsed = 0u64;
            for n in 1..=k.min(300) {
                elapsed += seed.rotate_left(n) % 40;
                let a = p.attempt_from_elapsed(elapsed);
                proptest::prop_assert!(a >= n);
                elapsed += u64::from(p.delay_secs(a, seed ^ u64::from(n)));
            }
            if k <= 300 {
                proptest::prop_assert!(elapsed >= window);
            }
        }
    }

    fn salesforce_body() -> String {
        use crate::mapping::salesforce::{request_for, SalesforceConfig};
        use crate::mapping::View;
        let record = normalize_json(
            br#"{"id":"evt_1","type":"checkout.session.completed","created":1735689121,"data":{"object":{"id":"cs_1","object":"checkout.session","status":"complete","payment_status":"paid","amount_total":2198,"currency":"usd","customer":"cus_1","customer_details":{"email":"jenny@example.com","name":"Jenny Rosen","phone":"+15555550100"},"payment_intent":"pi_1","client_reference_id":"1001"}}}"#,
            &NormalizeOptions::default(),
        )
        .unwrap();
        request_for(&View::new(&record, None), &SalesforceConfig::default()).unwrap()
    }

    #[test]
    fn redacts_a_record() {
        let record = normalize_json(
            br#"{"id":"evt_1","type":"checkout.session.completed","created":1,"data":{"object":{"id":"cs_1","object":"checkout.session","status":"complete","payment_status":"paid","amount_total":2198,"currency":"usd","customer":"cus_1","customer_details":{"email":"jenny@example.com","name":"Jenny Rosen"}}}}"#,
            &NormalizeOptions::default(),
        )
        .unwrap();
        let body = serde_json::to_string(&record).unwrap();
        assert!(body.contains("jenny@example.com") && body.contains("Jenny Rosen"));
        let redacted = redact_personal(&body);
        assert!(!redacted.contains("jenny@example.com"), "{redacted}");
        assert!(!redacted.contains("Jenny"), "{redacted}");
        let v: serde_json::Value = serde_json::from_str(&redacted).unwrap();
        assert!(v.get("customer_email").is_none() && v.get("customer_name").is_none());
        assert_eq!(v["customer_id"], "cus_1");
        assert_eq!(v["amount"], "21.98");
        assert_eq!(v["event_id"], "evt_1");
        // Nothing else changes, in the same order.
        let mut expected: serde_json::Value = serde_json::from_str(&body).unwrap();
        let map = expected.as_object_mut().unwrap();
        map.remove("customer_email");
        map.remove("customer_name");
        assert_eq!(v, expected);
        assert!(redacted.starts_with(r#"{"event_id":"evt_1","event_type":"#));
    }

    #[test]
    fn redacts_a_salesforce_composite_request_keeping_exact_numbers() {
        let body = salesforce_body();
        assert!(body.contains("Jenny"), "{body}");
        let redacted = redact_personal(&body);
        for gone in [
            "Jenny",
            "Rosen",
            "jenny@example.com",
            r#""Name""#,
            "FirstName",
            "LastName",
            "Email",
        ] {
            assert!(!redacted.contains(gone), "{gone} in {redacted}");
        }
        // Exact decimal numbers are kept as written.
        assert!(redacted.contains(r#""Amount__c":21.98"#), "{redacted}");
        let v: serde_json::Value = serde_json::from_str(&redacted).unwrap();
        let reqs = v["compositeRequest"].as_array().unwrap();
        assert_eq!(reqs.len(), 3);
        assert_eq!(reqs[0]["referenceId"], "account");
        assert_eq!(
            reqs[0]["url"],
            "/services/data/v60.0/sobjects/Account/Stripe_Customer_Id__c/cus_1"
        );
        assert_eq!(reqs[1]["body"]["AccountId"], "@{account.id}");
        assert_eq!(reqs[2]["body"]["Status__c"], "paid");
        assert_eq!(v["allOrNone"], true);
    }

    #[test]
    fn redacts_at_any_depth_and_refuses_what_is_not_json() {
        let forward = r#"{"order_ref":"1001","sequence":3,"event_ids":["evt_1","evt_2"],
            "state":{"order_ref":"1001","customer_id":"cus_1","customer_email":"a@b.c",
            "nested":[{"Phone":"+1","phone":"+2","email":"x@y","name":"X","kept":1.50}]},
            "mapping":{"customer":{"Name":"A","FirstName":"B","LastName":"C","Email":"d@e"},"total":1e3}}"#;
        assert_eq!(
            redact_personal(forward),
            r#"{"order_ref":"1001","sequence":3,"event_ids":["evt_1","evt_2"],"state":{"order_ref":"1001","customer_id":"cus_1","nested":[{"kept":1.50}]},"mapping":{"customer":{},"total":1e3}}"#
        );
        // Only keys go: a value that happens to be "name" stays.
        assert_eq!(
            redact_personal(r#"[{"field":"name","name":"Jenny"}]"#),
            r#"[{"field":"name"}]"#
        );
        // Escaped keys are compared unescaped and written back escaped.
        assert_eq!(
            redact_personal(r#"{"n\u0061me":"J","a\"b":"\u00e9"}"#),
            r#"{"a\"b":"\u00e9"}"#
        );
        for not_json in [
            "",
            "name=Jenny",
            "{\"name\":",
            "{} {}",
            "\"jenny@example.com\"",
            "42",
        ] {
            assert_eq!(redact_personal(not_json), NOT_KEPT, "{not_json:?}");
        }
        assert_eq!(redact_personal(" {} "), "{}");
        assert_eq!(redact_personal("[]"), "[]");
    }

    #[test]
    fn downstream_urls() {
        for ok in [
            "https://erp.example.com/hooks/stripe",
            "https://erp.example.com",
            "HTTPS://erp.example.com:8443/x?y=1#z",
            "https://[2001:db8::1]:443/",
            "http://127.0.0.1:8787/hook",
            "http://127.5.6.7/",
            "http://localhost",
            "http://LocalHost:3000/",
            "http://[::1]:8080/",
            "http://[0:0:0:0:0:0:0:1]/",
            "http://localhost\\@evil.example", // fetch reads the host as localhost
        ] {
            assert_eq!(check_downstream_url(ok), Ok(()), "{ok}");
        }
        let scheme = "must be an https:// URL (http:// only to a loopback host: 127.0.0.0/8, localhost or [::1])";
        let userinfo = "must not contain user:password@ (credentials go in a header, not the URL)";
        for (bad, rule) in [
            ("http://erp.example.com/hook", scheme),
            ("http://10.0.0.1/", scheme),
            ("http://128.0.0.1/", scheme),
            ("http://localhost.evil.example/", scheme),
            ("http://127.0.0.1.evil.example/", scheme),
            ("http://[::ffff:127.0.0.1]/", scheme),
            ("http://127.1/", scheme),
            ("ftp://erp.example.com/", scheme),
            ("erp.example.com/hook", scheme),
            ("https:erp.example.com", scheme),
            ("javascript://alert(1)", scheme),
            ("http://localhost:1@evil.example/", userinfo),
            ("https://user:secret@erp.example.com/", userinfo),
            ("https://@erp.example.com/", userinfo),
            ("https:///path", "must name a host"),
            ("https://", "must name a host"),
            ("https://:443/", "must name a host"),
            ("https://[::1/", "must name a valid host"),
            ("https://[nope]/", "must name a valid host"),
            ("https://a:b:c/", "must name a valid host"),
            ("https://[::1]x/", "must name a valid host"),
            (
                "https://erp.example.com:/",
                "must have a port from 1 to 65535",
            ),
            (
                "https://erp.example.com:0/",
                "must have a port from 1 to 65535",
            ),
            (
                "https://erp.example.com:65536/",
                "must have a port from 1 to 65535",
            ),
            (
                "https://erp.example.com:+80/",
                "must have a port from 1 to 65535",
            ),
            (
                "https://erp.example.com/a b",
                "must not contain spaces or control characters",
            ),
            (
                " https://erp.example.com",
                "must not contain spaces or control characters",
            ),
            (
                "https://erp.example.com\n",
                "must not contain spaces or control characters",
            ),
        ] {
            let err = check_downstream_url(bad).unwrap_err();
            assert_eq!(err, rule, "{bad}");
            assert!(!err.contains("example"), "{err}");
        }
    }

    #[test]
    fn states_round_trip() {
        let e = DedupEntry {
            state: DeliveryState::DeadLettered,
            event_type: "x".into(),
            at_ms: 5,
            last_error: Some("HTTP 500".into()),
        };
        let json = serde_json::to_string(&e).unwrap();
        assert!(json.contains(r#""state":"dead_lettered""#));
        assert_eq!(serde_json::from_str::<DedupEntry>(&json).unwrap(), e);
        assert!(is_delivered(204) && !is_delivered(302) && !is_delivered(500));
        assert_eq!(dedup_key("evt_1"), "evt:evt_1");
    }
}
