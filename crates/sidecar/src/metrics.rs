//! Counters in Prometheus' text format, written by hand as the service and
//! the indexer do (the workspace has no metrics crate).

use std::{
    collections::{BTreeMap, HashSet},
    fmt::Write as _,
    sync::{
        Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use crate::tip::Tip;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 12] =
    [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];

/// Method names are chosen by clients: past this many distinct ones, new
/// names are counted as `other`, so no client can grow the label set
/// without bound.
const MAX_METHODS: usize = 256;

#[derive(Debug, Default)]
struct Histogram {
    buckets: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

#[derive(Debug, Default)]
pub(crate) struct Metrics {
    /// (method, outcome) → calls.
    requests: Mutex<BTreeMap<(String, &'static str), u64>>,
    methods: Mutex<HashSet<String>>,
    /// (call, outcome) → latency of upstream requests.
    upstream: Mutex<BTreeMap<(&'static str, &'static str), Histogram>>,
    signed: AtomicU64,
}

fn plausible_method(method: &str) -> bool {
    (1..=64).contains(&method.len())
        && method.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

impl Metrics {
    /// The label a method is counted under.
    fn method_label(&self, method: &str) -> String {
        if !plausible_method(method) {
            return "other".into();
        }
        let mut methods = self.methods.lock().unwrap_or_else(|e| e.into_inner());
        if methods.contains(method) {
            return method.to_owned();
        }
        if methods.len() < MAX_METHODS {
            methods.insert(method.to_owned());
            return method.to_owned();
        }
        "other".into()
    }

    /// One JSON-RPC call answered; `method` is `none` for bodies that
    /// never got as far as naming one.
    pub(crate) fn request(&self, method: &str, outcome: &'static str) {
        let label = if method == "none" { "none".to_owned() } else { self.method_label(method) };
        let mut requests = self.requests.lock().unwrap_or_else(|e| e.into_inner());
        *requests.entry((label, outcome)).or_default() += 1;
    }

    pub(crate) fn signed(&self) {
        self.signed.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn upstream(&self, call: &'static str, outcome: &'static str, elapsed: Duration) {
        let mut upstream = self.upstream.lock().unwrap_or_else(|e| e.into_inner());
        let histogram = upstream.entry((call, outcome)).or_default();
        let seconds = elapsed.as_secs_f64();
        for (bucket, bound) in histogram.buckets.iter_mut().zip(BUCKETS) {
            if seconds <= bound {
                *bucket += 1;
            }
        }
        histogram.count += 1;
        histogram.sum += seconds;
    }

    pub(crate) fn render(&self, chain: &cairn_core::ChainId, tip: Option<Tip>, up: bool) -> String {
        let mut out = String::new();
        out.push_str(
            "# HELP cairn_sidecar_requests_total JSON-RPC calls answered, by method and outcome.\n\
             # TYPE cairn_sidecar_requests_total counter\n",
        );
        for ((method, outcome), count) in
            self.requests.lock().unwrap_or_else(|e| e.into_inner()).iter()
        {
            let _ = writeln!(
                out,
                "cairn_sidecar_requests_total{{chain=\"{chain}\",method=\"{method}\",outcome=\"{outcome}\"}} {count}"
            );
        }
        let _ = writeln!(
            out,
            "# HELP cairn_sidecar_signed_answers_total Answers signed with the operator key.\n\
             # TYPE cairn_sidecar_signed_answers_total counter\n\
             cairn_sidecar_signed_answers_total{{chain=\"{chain}\"}} {}",
            self.signed.load(Ordering::Relaxed)
        );
        out.push_str(
            "# HELP cairn_sidecar_upstream_duration_seconds Time the node took to answer, by call (forward: a client's request; sidecar: tip and chain reads) and outcome.\n\
             # TYPE cairn_sidecar_upstream_duration_seconds histogram\n",
        );
        for ((call, outcome), histogram) in
            self.upstream.lock().unwrap_or_else(|e| e.into_inner()).iter()
        {
            let labels = format!("chain=\"{chain}\",call=\"{call}\",outcome=\"{outcome}\"");
            for (bound, count) in BUCKETS.iter().zip(histogram.buckets) {
                let _ = writeln!(
                    out,
                    "cairn_sidecar_upstream_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {count}"
                );
            }
            let _ = writeln!(
                out,
                "cairn_sidecar_upstream_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}\n\
                 cairn_sidecar_upstream_duration_seconds_sum{{{labels}}} {}\n\
                 cairn_sidecar_upstream_duration_seconds_count{{{labels}}} {}",
                histogram.count, histogram.sum, histogram.count
            );
        }
        let _ = writeln!(
            out,
            "# HELP cairn_sidecar_tip_block The newest block the node reported.\n\
             # TYPE cairn_sidecar_tip_block gauge\n\
             cairn_sidecar_tip_block{{chain=\"{chain}\"}} {}\n\
             # HELP cairn_sidecar_upstream_up 1 while /cairn/health answers 200.\n\
             # TYPE cairn_sidecar_upstream_up gauge\n\
             cairn_sidecar_upstream_up{{chain=\"{chain}\"}} {}",
            tip.map_or(0, |t| t.number),
            u8::from(up)
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn method_labels_stop_growing_at_the_cap() {
        let metrics = Metrics::default();
        for i in 0..MAX_METHODS + 50 {
            metrics.request(&format!("eth_m{i}"), "ok");
        }
        metrics.request("eth_m0", "ok");
        let requests = metrics.requests.lock().unwrap();
        assert_eq!(requests.len(), MAX_METHODS + 1, "the cap plus `other`");
        assert_eq!(requests[&("other".to_owned(), "ok")], 50);
        assert_eq!(requests[&("eth_m0".to_owned(), "ok")], 2, "a known name keeps its label");
    }
}
