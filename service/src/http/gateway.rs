//! The service's side of the JSON-RPC gateway (`cairn_gateway`): endpoints
//! from the discovery snapshot, evidence and metered usage into the store,
//! the signed-in wallet of each request for metering. The routing,
//! breakers, hedging and quorum live in the gateway crate.

use std::sync::Weak;

use axum::{extract::Request, middleware::Next, response::Response};
use cairn_core::evidence::Evidence;
use cairn_gateway::{
    BoxFuture, Endpoint, EndpointSource, EvidenceSink, Payer, SourceError, UsageCount, UsageKey,
    UsageSink,
};
use cairn_store::{Store, UsageRow};

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
