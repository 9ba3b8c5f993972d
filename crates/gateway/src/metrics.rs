//! Counters the gateway keeps, served as JSON (`/v1/rpc/status`) and in
//! the Prometheus text format (`/v1/rpc/metrics`).

use std::sync::atomic::{AtomicU64, Ordering};

macro_rules! counters {
    ($($name:ident: $help:literal),* $(,)?) => {
        #[derive(Debug, Default)]
        pub(crate) struct Metrics {
            $(pub(crate) $name: AtomicU64,)*
        }

        impl Metrics {
            pub(crate) fn snapshot(&self) -> Vec<(&'static str, &'static str, u64)> {
                vec![$((stringify!($name), $help, self.$name.load(Ordering::Relaxed)),)*]
            }
        }
    };
}

counters! {
    requests: "HTTP requests to the gateway",
    calls: "JSON-RPC calls (a batch counts each)",
    rejected: "calls refused for bad input (parse, invalid, not allowed, batch too large)",
    attempts: "upstream attempts",
    failures: "upstream attempts that failed",
    retries: "attempts made after a failure",
    retries_denied: "retries the retry budget refused",
    hedges: "second requests sent because the first was slower than its p95",
    hedge_wins: "hedged requests answered first",
    writes: "write calls fanned out",
    quorum_calls: "calls answered by k-of-n agreement",
    quorum_degraded: "quorum calls answered by fewer than k agreeing endpoints",
    quorum_mismatches: "quorum calls where an endpoint disagreed with the quorum",
    no_quorum: "quorum calls where no k endpoints agreed",
    evidence_stored: "evidence records handed to the sink",
    evidence_failed: "evidence records the sink did not take",
    no_endpoint: "calls no endpoint answered",
    metered_calls: "answered calls of signed-in wallets counted for a provider",
    usage_flushes: "batches of usage counts written",
    usage_flushes_failed: "batches of usage counts the sink did not take (kept for the next flush)",
    usage_dropped: "usage counts dropped because too many were waiting for a failing sink",
}

pub(crate) fn add(counter: &AtomicU64, n: u64) {
    counter.fetch_add(n, Ordering::Relaxed);
}
