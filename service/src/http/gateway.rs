//! The service's side of the JSON-RPC gateway (`cairn_gateway`): endpoints
//! from the discovery snapshot, evidence into the store. The routing,
//! breakers, hedging and quorum live in the gateway crate.

use std::sync::Weak;

use cairn_core::evidence::Evidence;
use cairn_gateway::{BoxFuture, Endpoint, EndpointSource, EvidenceSink, SourceError};
use cairn_store::Store;

use super::{AppState, Inner, now};

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
