//! What the Worker counts for the console: per hour, the webhooks it received by outcome and
//! the delivery attempts by result, kept [`RETENTION_HOURS`]; and the retry backlog (forwards
//! whose last attempt failed and that are neither delivered nor dead-lettered yet).

use serde::{Deserialize, Serialize};

pub const HOUR_MS: u64 = 3_600_000;
/// Hourly buckets are kept 7 days.
pub const RETENTION_HOURS: u64 = 7 * 24;

/// Webhooks received, by what the Worker answered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Received {
    pub accepted: u64,
    pub duplicate: u64,
    pub ignored: u64,
    pub unreadable: u64,
    /// 4xx: bad signature, malformed envelope, too large, wrong method.
    pub refused: u64,
    /// 5xx: configuration or storage failures (Stripe retries them).
    pub failed: u64,
}

/// Delivery attempts of forwards, by result.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Deliveries {
    pub delivered: u64,
    /// Attempts that failed and will be retried.
    pub retried: u64,
    pub dead_lettered: u64,
    pub replayed: u64,
}

/// One hour's counts; `hour` is the Unix time (ms) the hour starts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Bucket {
    pub hour: u64,
    pub received: Received,
    pub deliveries: Deliveries,
}

/// What one request or one queue batch adds: counts, and the forwards that entered or left
/// the retry backlog.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Tally {
    pub at_ms: u64,
    pub received: Received,
    pub deliveries: Deliveries,
    /// Forwards whose attempt failed (now retrying).
    pub retrying: Vec<String>,
    /// Forwards delivered or dead-lettered (out of the backlog).
    pub settled: Vec<String>,
}

impl Tally {
    /// One webhook answer (`status`, `outcome` as the Worker logs them).
    pub fn webhook(at_ms: u64, status: u16, outcome: &str) -> Tally {
        Tally {
            at_ms,
            received: Received::of(status, outcome),
            ..Tally::default()
        }
    }

    /// A batch of delivery attempts: each forward's event id and whether it was delivered
    /// (a failed one is retried, so it enters the backlog).
    pub fn deliveries(at_ms: u64, attempts: impl IntoIterator<Item = (String, bool)>) -> Tally {
        let mut tally = Tally {
            at_ms,
            ..Tally::default()
        };
        for (id, delivered) in attempts {
            if delivered {
                tally.deliveries.delivered += 1;
                tally.settled.push(id);
            } else {
                tally.deliveries.retried += 1;
                tally.retrying.push(id);
            }
        }
        tally
    }

    /// A batch of dead letters: each forward's event id and whether it was kept (a kept one
    /// leaves the backlog; one not kept comes again).
    pub fn dead_letters(at_ms: u64, letters: impl IntoIterator<Item = (String, bool)>) -> Tally {
        let mut tally = Tally {
            at_ms,
            ..Tally::default()
        };
        for (id, _) in letters.into_iter().filter(|(_, kept)| *kept) {
            tally.deliveries.dead_lettered += 1;
            tally.settled.push(id);
        }
        tally
    }

    /// Dead letters queued again for delivery.
    pub fn replayed(at_ms: u64, replayed: u64) -> Tally {
        let mut tally = Tally {
            at_ms,
            ..Tally::default()
        };
        tally.deliveries.replayed = replayed;
        tally
    }

    pub fn is_empty(&self) -> bool {
        self.received == Received::default()
            && self.deliveries == Deliveries::default()
            && self.retrying.is_empty()
            && self.settled.is_empty()
    }
}

impl Received {
    /// The count of one webhook answer (`status`, `outcome` as the Worker logs them).
    pub fn of(status: u16, outcome: &str) -> Received {
        let mut r = Received::default();
        let slot = match (status, outcome) {
            (200..=299, "duplicate") => &mut r.duplicate,
            (200..=299, "ignored") => &mut r.ignored,
            (200..=299, "unreadable") => &mut r.unreadable,
            (200..=299, _) => &mut r.accepted,
            (500.., _) => &mut r.failed,
            _ => &mut r.refused,
        };
        *slot = 1;
        r
    }

    fn add(&mut self, o: &Received) {
        let pairs = [
            (&mut self.accepted, o.accepted),
            (&mut self.duplicate, o.duplicate),
            (&mut self.ignored, o.ignored),
            (&mut self.unreadable, o.unreadable),
            (&mut self.refused, o.refused),
            (&mut self.failed, o.failed),
        ];
        for (into, n) in pairs {
            *into = into.saturating_add(n);
        }
    }
}

impl Deliveries {
    fn add(&mut self, o: &Deliveries) {
        let pairs = [
            (&mut self.delivered, o.delivered),
            (&mut self.retried, o.retried),
            (&mut self.dead_lettered, o.dead_lettered),
            (&mut self.replayed, o.replayed),
        ];
        for (into, n) in pairs {
            *into = into.saturating_add(n);
        }
    }
}

/// The start of the hour `at_ms` falls in.
pub fn hour_of(at_ms: u64) -> u64 {
    at_ms - at_ms % HOUR_MS
}

/// The storage key of an hour's bucket (zero-padded, so keys sort by time).
pub fn bucket_key(hour: u64) -> String {
    format!("h:{:015}", hour)
}

/// Whether a bucket is older than the retention at `now_ms`.
pub fn is_expired(hour: u64, now_ms: u64) -> bool {
    hour.saturating_add(RETENTION_HOURS.saturating_mul(HOUR_MS)) <= hour_of(now_ms)
}

impl Bucket {
    pub fn new(hour: u64) -> Bucket {
        Bucket {
            hour,
            ..Bucket::default()
        }
    }

    pub fn add(&mut self, tally: &Tally) {
        self.received.add(&tally.received);
        self.deliveries.add(&tally.deliveries);
    }
}

/// The overview of the last `hours` hours at `now_ms`: one bucket per hour, oldest first, the
/// hours without a bucket counted as zero, and the totals.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Overview {
    pub hours: Vec<Bucket>,
    pub totals: Bucket,
}

pub fn overview(stored: &[Bucket], now_ms: u64, hours: u64) -> Overview {
    let hours = hours.clamp(1, RETENTION_HOURS);
    let last = hour_of(now_ms);
    let first = last.saturating_sub((hours - 1).saturating_mul(HOUR_MS));
    let mut out = Overview::default();
    let mut hour = first;
    while hour <= last {
        let mut bucket = Bucket::new(hour);
        for b in stored.iter().filter(|b| b.hour == hour) {
            bucket.received.add(&b.received);
            bucket.deliveries.add(&b.deliveries);
        }
        out.totals.received.add(&bucket.received);
        out.totals.deliveries.add(&bucket.deliveries);
        out.hours.push(bucket);
        hour = hour.saturating_add(HOUR_MS);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tallies_of_batches_count_each_forward_once() {
        let ids = |n: usize| (0..n).map(|i| format!("evt_{i}"));
        let t = Tally::deliveries(5, ids(3).zip([true, false, true]));
        assert_eq!((t.deliveries.delivered, t.deliveries.retried), (2, 1));
        assert_eq!((t.settled.len(), t.retrying.len()), (2, 1));
        let t = Tally::dead_letters(5, ids(3).zip([true, false, true]));
        assert_eq!((t.deliveries.dead_lettered, t.settled.len()), (2, 2));
        assert!(t.retrying.is_empty());
        assert_eq!(Tally::replayed(5, 4).deliveries.replayed, 4);
        assert_eq!(Tally::webhook(5, 200, "duplicate").received.duplicate, 1);
        assert!(Tally::replayed(5, 0).is_empty());
    }

    const T: u64 = 1_800_000_000_000; // an exact hour

    #[test]
    fn answers_are_counted_by_outcome() {
        assert_eq!(Received::of(200, "accepted").accepted, 1);
        assert_eq!(Received::of(200, "duplicate").duplicate, 1);
        assert_eq!(Received::of(200, "ignored").ignored, 1);
        assert_eq!(Received::of(200, "unreadable").unreadable, 1);
        assert_eq!(Received::of(400, "bad_signature").refused, 1);
        assert_eq!(Received::of(413, "payload_too_large").refused, 1);
        assert_eq!(Received::of(503, "book_unavailable").failed, 1);
        assert_eq!(Received::of(503, "book_unavailable").accepted, 0);
    }

    #[test]
    fn hours_and_keys() {
        assert_eq!(hour_of(T + 1), T);
        assert_eq!(hour_of(T + HOUR_MS - 1), T);
        assert!(bucket_key(T) < bucket_key(T + HOUR_MS));
        assert!(
            bucket_key(9 * HOUR_MS) < bucket_key(T),
            "padded: sorts by time"
        );
        assert!(!is_expired(T, T + (RETENTION_HOURS - 1) * HOUR_MS));
        assert!(is_expired(T, T + RETENTION_HOURS * HOUR_MS));
    }

    #[test]
    fn the_overview_fills_empty_hours_and_sums() {
        let mut a = Bucket::new(T - HOUR_MS);
        a.add(&Tally {
            received: Received {
                accepted: 3,
                refused: 1,
                ..Received::default()
            },
            ..Tally::default()
        });
        let mut b = Bucket::new(T);
        b.add(&Tally {
            received: Received {
                duplicate: 2,
                ..Received::default()
            },
            deliveries: Deliveries {
                delivered: 4,
                retried: 1,
                ..Deliveries::default()
            },
            ..Tally::default()
        });
        let old = Bucket::new(T - 100 * HOUR_MS);
        let o = overview(&[b, old, a], T + 5, 3);
        assert_eq!(
            o.hours.iter().map(|h| h.hour).collect::<Vec<_>>(),
            vec![T - 2 * HOUR_MS, T - HOUR_MS, T]
        );
        assert_eq!(o.hours[0].received, Received::default());
        assert_eq!(o.hours[1].received.accepted, 3);
        assert_eq!(o.totals.received.accepted, 3);
        assert_eq!(o.totals.received.refused, 1);
        assert_eq!(o.totals.received.duplicate, 2);
        assert_eq!(o.totals.deliveries.delivered, 4);
        assert_eq!(overview(&[], T, 10_000).hours.len() as u64, RETENTION_HOURS);
        assert_eq!(overview(&[], T, 0).hours.len(), 1);
    }

    #[test]
    fn counts_saturate() {
        let mut b = Bucket::new(T);
        b.received.accepted = u64::MAX;
        b.add(&Tally {
            received: Received::of(200, "accepted"),
            ..Tally::default()
        });
        assert_eq!(b.received.accepted, u64::MAX);
    }
}
