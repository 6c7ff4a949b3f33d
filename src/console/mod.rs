//! The operator console's pure parts (the Worker serves it; see README "The operator console"):
//! the signed, expiring session and its CSRF token ([`session`]), the hourly counters of what
//! the Worker received and delivered ([`stats`]), each order's timeline of Stripe events and
//! forwards and the customer index for search ([`timeline`]), and the amounts of an order shown
//! in the currency's decimals ([`view`]). No I/O and no clock: callers pass the time.

pub mod session;
pub mod stats;
pub mod timeline;
pub mod view;
