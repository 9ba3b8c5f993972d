//! The service's side of the JSON-RPC gateway (`cairn_gateway`): endpoints
//! from the discovery snapshot, evidence and metered usage into the store,
//! the signed-in wallet of each request for metering. The routing,
//! breakers, hedging and quorum live in the gateway crate.

use std::{collections::BTreeMap, sync::Weak};

use axum::{
    Json,
    extract::{Request, State},
    middleware::Next,
    response::Response,
};
use cairn_core::evidence::Evidence;
use cairn_gateway::{
    BoxFuture, BreakerState, Endpoint, EndpointSource, EvidenceSink, Payer, SourceError,
    UsageCount, UsageKey, UsageSink,
};
use cairn_store::{Store, UsageRow};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{AppState, Inner, extract::Checked, now};

/// Ranked `rpc` endpoints of active providers, as discovery serves them.
/// Holds the state weakly: the state owns the gateway that owns this.
pub(crate) struct DiscoverySource(pub(crate) Weak<Inner>);

impl EndpointSource for DiscoverySource {
    fn endpoints<'a>(
        &'a self,
        chain: &'a str,
    ) -> BoxFuture<'a, Result<Option<Vec<Endpoint>>, SourceError>> {
        Box::pin(async move {
            let inner =
                self.0.upgrade().ok_or_else(|| SourceError("the service stopped".into()))?;
            let snapshot =
                AppState(inner).snapshot().await.map_err(|e| SourceError(e.to_string()))?;
            let endpoints = snapshot.gateway_endpoints(chain);
            Ok((!endpoints.is_empty()).then_some(endpoints))
        })
    }
}

/// Evidence the gateway found, stored for `GET /v1/evidence`.
#[derive(Debug)]
pub(crate) struct StoreEvidence(pub(crate) Store);

impl EvidenceSink for StoreEvidence {
    fn put<'a>(&'a self, evidence: &'a Evidence) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            self.0.put_evidence(evidence, now()).await.map(|_| ()).map_err(|e| e.to_string())
        })
    }
}

/// Metered usage the gateway counted, added to the store's totals.
#[derive(Debug)]
pub(crate) struct StoreUsage(pub(crate) Store);

impl UsageSink for StoreUsage {
    fn record<'a>(
        &'a self,
        usage: &'a [(UsageKey, UsageCount)],
    ) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            let rows: Vec<UsageRow> = usage
                .iter()
                .map(|(key, count)| UsageRow {
                    wallet: key.wallet.clone(),
                    chain: key.chain.clone(),
                    provider: key.provider.clone(),
                    class: key.class.as_str().to_owned(),
                    calls: count.calls,
                    first_seen: count.first_seen,
                    last_seen: count.last_seen,
                })
                .collect();
            self.0.add_usage(&rows).await.map_err(|e| e.to_string())
        })
    }
}

/// Names the signed-in wallet of a gateway request, for metering. Runs
/// inside the rate limiter, which has checked the bearer token already; a
/// revoked, expired or forged token makes the request anonymous, as it
/// does for the limits.
pub(crate) async fn payer(mut request: Request, next: Next) -> Response {
    let account = match request.extensions().get::<Checked>() {
        Some(Checked(Ok(session))) => Some(session.account.clone()),
        _ => None,
    };
    if let Some(account) = account {
        request.extensions_mut().insert(Payer(account));
    }
    next.run(request).await
}

/// The gateway's traffic and errors: what `/v1/rpc/status` serves, with a
/// schema, and present (`enabled: false`) when the gateway is off.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct GatewayStatsView {
    /// `gateway.enabled`.
    pub enabled: bool,
    pub chains: Vec<GatewayChainView>,
    /// Gateway-wide counters by name (`requests`, `calls`, `rejected`,
    /// `attempts`, `failures`, `retries`, `hedges`, `no_endpoint`, …); their
    /// meanings are those of the `cairn_gateway_*_total` metrics.
    pub counters: BTreeMap<String, u64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct GatewayChainView {
    /// CAIP-2 chain.
    pub chain: String,
    /// Endpoints the gateway has routed to, by URL.
    pub endpoints: Vec<GatewayEndpointView>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct GatewayEndpointView {
    pub url: String,
    /// CAIP-10 id of the provider.
    pub provider: String,
    pub operator: String,
    /// Routing weight discovery gave the endpoint.
    pub weight: f64,
    /// `closed`, `half_open` or `open`.
    pub breaker: String,
    /// Times the breaker opened.
    pub breaker_opened: u64,
    /// Upstream attempts (requests sent to this endpoint).
    pub attempts: u64,
    /// Attempts that failed.
    pub failures: u64,
    /// Failed attempts by kind: `timeout`, `connect`, `status`, `bad_body`,
    /// `limited`, `bad_signature`, `unsigned`.
    pub failures_by_kind: BTreeMap<String, u64>,
    /// Quorum calls this endpoint answered against the quorum.
    pub disagreements: u64,
    pub in_flight: u32,
    /// 95th percentile latency of its answers, once it has some.
    pub p95_ms: Option<f64>,
    /// `kind: message` of the last failed attempt.
    pub last_failure: Option<String>,
}

/// The gateway's state as the JSON twin and the status page show it.
pub(crate) fn gateway_stats(state: &AppState) -> GatewayStatsView {
    let Some(gateway) = &state.gateway else {
        return GatewayStatsView { enabled: false, chains: Vec::new(), counters: BTreeMap::new() };
    };
    let stats = gateway.stats();
    GatewayStatsView {
        enabled: true,
        chains: stats
            .chains
            .into_iter()
            .map(|chain| GatewayChainView {
                chain: chain.chain,
                endpoints: chain
                    .endpoints
                    .into_iter()
                    .map(|e| GatewayEndpointView {
                        url: e.url,
                        provider: e.provider,
                        operator: format!("{:#x}", e.operator),
                        weight: e.weight,
                        breaker: match e.breaker {
                            BreakerState::Closed => "closed",
                            BreakerState::HalfOpen => "half_open",
                            BreakerState::Open => "open",
                        }
                        .to_owned(),
                        breaker_opened: e.breaker_opened,
                        attempts: e.attempts,
                        failures: e.failures,
                        failures_by_kind: e.failures_by_kind,
                        disagreements: e.disagreements,
                        in_flight: e.in_flight,
                        p95_ms: e.p95_ms,
                        last_failure: e.last_failure,
                    })
                    .collect(),
            })
            .collect(),
        counters: stats.counters,
    }
}

/// The gateway's traffic and errors per chain and endpoint, and its
/// counters.
#[utoipa::path(
    get, path = "/v1/gateway/stats", tag = "operations",
    responses((status = 200, description = "Gateway counters and endpoint states", body = GatewayStatsView))
)]
pub(crate) async fn stats(State(state): State<AppState>) -> Json<GatewayStatsView> {
    Json(gateway_stats(&state))
}
