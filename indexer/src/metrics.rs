//! Counters the indexer keeps, rendered in Prometheus' text format.

use std::{
    collections::BTreeMap,
    fmt::Write as _,
    sync::{
        Mutex,
        atomic::{AtomicU64, Ordering},
    },
};

#[derive(Debug, Default)]
pub struct Metrics {
    pub events: AtomicU64,
    pub blocks: AtomicU64,
    pub reorgs: AtomicU64,
    pub head: AtomicU64,
    pub indexed_block: AtomicU64,
    /// New-head notifications received over WebSocket.
    pub ws_heads: AtomicU64,
    /// WebSocket subscriptions (re)established.
    pub ws_subscriptions: AtomicU64,
    /// Steps that failed for a passing reason and were retried.
    pub step_retries: AtomicU64,
    rpc_errors: Mutex<BTreeMap<&'static str, u64>>,
}

impl Metrics {
    pub fn rpc_error(&self, kind: &'static str) {
        *self.rpc_errors.lock().expect("metrics lock").entry(kind).or_default() += 1;
    }

    pub fn rpc_errors(&self, kind: &str) -> u64 {
        self.rpc_errors.lock().expect("metrics lock").get(kind).copied().unwrap_or(0)
    }

    /// Blocks between the chain head and the last indexed block.
    pub fn head_lag(&self) -> u64 {
        self.head.load(Ordering::Relaxed).saturating_sub(self.indexed_block.load(Ordering::Relaxed))
    }

    pub fn render(&self, chain: &str) -> String {
        let mut out = String::new();
        let counters = [
            (
                "cairn_indexer_events_total",
                "Events written to the store.",
                self.events.load(Ordering::Relaxed),
            ),
            ("cairn_indexer_blocks_total", "Blocks indexed.", self.blocks.load(Ordering::Relaxed)),
            (
                "cairn_indexer_reorgs_total",
                "Reorgs rolled back.",
                self.reorgs.load(Ordering::Relaxed),
            ),
            (
                "cairn_indexer_ws_heads_total",
                "New-head notifications received over WebSocket.",
                self.ws_heads.load(Ordering::Relaxed),
            ),
            (
                "cairn_indexer_ws_subscriptions_total",
                "WebSocket new-head subscriptions established.",
                self.ws_subscriptions.load(Ordering::Relaxed),
            ),
            (
                "cairn_indexer_step_retries_total",
                "Steps that failed for a passing reason (all RPC URLs failing, store busy) and were retried.",
                self.step_retries.load(Ordering::Relaxed),
            ),
        ];
        for (name, help, value) in counters {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name}{{chain=\"{chain}\"}} {value}"
            );
        }
        let _ = writeln!(
            out,
            "# HELP cairn_indexer_head_lag_blocks Blocks between the chain head and the indexed block.\n\
             # TYPE cairn_indexer_head_lag_blocks gauge\ncairn_indexer_head_lag_blocks{{chain=\"{chain}\"}} {}",
            self.head_lag()
        );
        let _ = writeln!(
            out,
            "# HELP cairn_indexer_rpc_errors_total RPC failures by kind.\n# TYPE cairn_indexer_rpc_errors_total counter"
        );
        for (kind, count) in self.rpc_errors.lock().expect("metrics lock").iter() {
            let _ = writeln!(
                out,
                "cairn_indexer_rpc_errors_total{{chain=\"{chain}\",kind=\"{kind}\"}} {count}"
            );
        }
        out
    }
}
