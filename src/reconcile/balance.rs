//! Balance summary for an interval, from balance transactions.
