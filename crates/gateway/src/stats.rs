//! What the gateway has seen, as plain data: `/v1/rpc/status` serves it,
//! and a service can render or re-serve it without reaching into the
//! gateway's internals.

use std::{collections::BTreeMap, sync::atomic::Ordering};

use alloy_primitives::Address;
use serde::Serialize;

use crate::{BreakerState, Gateway};

/// Every endpoint the gateway has used, by chain, and its counters.
#[derive(Debug, Clone, Serialize)]
pub struct GatewayStats {
    pub chains: Vec<ChainStats>,
    /// The gateway-wide counters (`requests`, `calls`, `failures`, …) by name.
    pub counters: BTreeMap<String, u64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ChainStats {
    pub chain: String,
    pub endpoints: Vec<EndpointStats>,
}

#[derive(Debug, Clone, Serialize)]
pub struct EndpointStats {
    pub url: String,
    pub provider: String,
    pub operator: Address,
    pub weight: f64,
    pub breaker: BreakerState,
    pub breaker_opened: u64,
    pub attempts: u64,
    pub failures: u64,
    /// Failed attempts by kind: `timeout`, `connect`, `status`, `bad_body`,
    /// `limited`, `bad_signature`, `unsigned`.
    pub failures_by_kind: BTreeMap<String, u64>,
    pub disagreements: u64,
    pub in_flight: u32,
    pub p95_ms: Option<f64>,
    pub last_failure: Option<String>,
}

impl Gateway {
    /// A snapshot of every endpoint's state and the gateway's counters.
    pub fn stats(&self) -> GatewayStats {
        let chains = self
            .all_states()
            .into_iter()
            .map(|(chain, states)| ChainStats {
                chain,
                endpoints: states
                    .iter()
                    .map(|state| {
                        let endpoint = state.endpoint();
                        EndpointStats {
                            url: endpoint.url,
                            provider: endpoint.provider,
                            operator: endpoint.operator,
                            weight: endpoint.weight,
                            breaker: state.breaker.state(),
                            breaker_opened: state.breaker.times_opened(),
                            attempts: state.attempts.load(Ordering::Relaxed),
                            failures: state.failures.load(Ordering::Relaxed),
                            failures_by_kind: state
                                .failures_by_kind
                                .lock()
                                .unwrap_or_else(|e| e.into_inner())
                                .iter()
                                .map(|(kind, n)| ((*kind).to_owned(), *n))
                                .collect(),
                            disagreements: state.disagreements.load(Ordering::Relaxed),
                            in_flight: state.in_flight.load(Ordering::Relaxed),
                            p95_ms: state.latencies.quantile(0.95).map(|d| d.as_secs_f64() * 1e3),
                            last_failure: state
                                .last_failure
                                .lock()
                                .unwrap_or_else(|e| e.into_inner())
                                .clone(),
                        }
                    })
                    .collect(),
            })
            .collect();
        let counters = self
            .0
            .metrics
            .snapshot()
            .into_iter()
            .map(|(name, _, value)| (name.to_owned(), value))
            .collect();
        GatewayStats { chains, counters }
    }
}
