//! The sidecar's view of the node's chain tip: read by a background poller,
//! so answering a request costs one upstream call, not two, and health
//! falls out of the same loop.

use std::{
    sync::{Arc, RwLock},
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use alloy_primitives::B256;
use serde_json::{Value, json};

use crate::upstream::{Upstream, parse_quantity};

/// A block the node reported as its tip.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tip {
    pub number: u64,
    pub hash: B256,
    /// When the sidecar first read this block as the tip.
    pub observed_at: SystemTime,
}

impl Tip {
    /// The `GET /cairn/tip` body.
    pub(crate) fn to_json(self, chain: &cairn_core::ChainId) -> Value {
        let observed_at =
            self.observed_at.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64);
        json!({
            "chain": chain.to_string(),
            "number": self.number,
            "hash": self.hash.to_string(),
            "observed_at": observed_at,
        })
    }
}

#[derive(Debug, Default)]
pub(crate) struct TipTracker {
    state: RwLock<TipState>,
}

#[derive(Debug, Default)]
struct TipState {
    tip: Option<Tip>,
    last_ok: Option<Instant>,
    /// The latest poll's failure; cleared by the next success.
    last_error: Option<String>,
}

pub(crate) enum Health {
    Ok,
    Unhealthy { reason: &'static str, detail: String },
}

impl TipTracker {
    pub(crate) fn current(&self) -> Option<Tip> {
        self.state.read().unwrap_or_else(|e| e.into_inner()).tip
    }

    pub(crate) fn last_ok_age(&self) -> Option<Duration> {
        self.state.read().unwrap_or_else(|e| e.into_inner()).last_ok.map(|t| t.elapsed())
    }

    /// Keeps a poll's result; returns whether it changed the node's state
    /// from answering to failing or back, which is what is worth a log line.
    pub(crate) fn record(&self, result: Result<(u64, B256), String>) -> bool {
        let mut state = self.state.write().unwrap_or_else(|e| e.into_inner());
        let was_failing = state.last_error.is_some();
        let failing = result.is_err();
        match result {
            Ok((number, hash)) => {
                // A reorg to another block at the same height is a new tip.
                if state.tip.is_none_or(|t| t.number != number || t.hash != hash) {
                    state.tip = Some(Tip { number, hash, observed_at: SystemTime::now() });
                }
                state.last_ok = Some(Instant::now());
                state.last_error = None;
            }
            Err(error) => state.last_error = Some(error),
        }
        was_failing != failing
    }

    /// Healthy while the latest poll succeeded and it is recent: a failed
    /// poll turns health off at once (a prober should know now), a poll
    /// that hangs turns it off after `stale_after`.
    pub(crate) fn health(&self, stale_after: Duration) -> Health {
        let state = self.state.read().unwrap_or_else(|e| e.into_inner());
        if let Some(error) = &state.last_error {
            return Health::Unhealthy { reason: "upstream_error", detail: error.clone() };
        }
        match state.last_ok {
            None => Health::Unhealthy {
                reason: "no_tip_yet",
                detail: "no block has been read from the upstream node yet".into(),
            },
            Some(at) if at.elapsed() > stale_after => Health::Unhealthy {
                reason: "stale",
                detail: format!(
                    "the upstream node last answered {} ms ago (limit {} ms)",
                    at.elapsed().as_millis(),
                    stale_after.as_millis()
                ),
            },
            Some(_) => Health::Ok,
        }
    }
}

/// The node's latest block: number and hash.
pub(crate) async fn fetch(upstream: &Upstream) -> Result<(u64, B256), String> {
    let block = upstream.call("eth_getBlockByNumber", json!(["latest", false])).await?;
    let number = block.get("number").and_then(Value::as_str).and_then(parse_quantity);
    let hash = block.get("hash").and_then(Value::as_str).and_then(|h| h.parse::<B256>().ok());
    match (number, hash) {
        (Some(number), Some(hash)) => Ok((number, hash)),
        _ => Err(format!("eth_getBlockByNumber: the latest block has no number and hash: {block}")),
    }
}

pub(crate) async fn poll(upstream: Upstream, tracker: Arc<TipTracker>, every: Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // The first tick fires at once; `connect` has just read the tip.
    tick.tick().await;
    loop {
        tick.tick().await;
        let result = fetch(&upstream).await;
        let error = result.as_ref().err().cloned();
        if tracker.record(result) {
            match error {
                Some(error) => tracing::warn!(%error, "the upstream node stopped answering"),
                None => tracing::info!("the upstream node answers again"),
            }
        }
    }
}
