//! The HTTP service: `app(state)` builds the router, `serve` runs it.

mod auth;
mod batches;
mod discovery;
mod evidence;
pub(crate) mod extract;
mod gateway;
mod intents;
mod limits;
mod ops;
pub mod problem;
mod providers;
mod signer;
mod slashes;
mod status;
mod usage;
mod wallet;

use std::{net::SocketAddr, sync::Arc, time::Duration};

use alloy::{
    primitives::{Address, U256},
    providers::DynProvider,
};
use axum::{Router, extract::DefaultBodyLimit, middleware};
use cairn_auth::JwtKey;
use cairn_config::{AuthConfig, GatewayConfig, PricingConfig, ServiceConfig};
use cairn_store::Store;
use tower_http::cors::{AllowOrigin, Any, CorsLayer};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

pub use auth::{
    MeResponse, NonceRequest, NonceResponse, SessionResponse, SiweRequest, SiwsRequest,
};
pub use batches::{BatchList, BatchView, UploadView};
pub use discovery::{
    ChainSummary, ChainsResponse, EndpointView, Metadata, OnChainRef, ProviderDetail, ProviderList,
    ProviderView, RankReason, RankedService, RegistrySummary, ServiceList,
};
pub use evidence::{EvidenceList, EvidenceSummary};
pub use gateway::{GatewayChainView, GatewayEndpointView, GatewayStatsView};
pub use intents::{
    BatchSubmissionResponse, Inclusion, IntentReceipt, IntentResult, IntentSubmission, IntentView,
    MAX_INTENTS_PER_REQUEST, SignedDomain,
};
pub use limits::ClientAddr;
pub use ops::{Health, Readiness};
pub use problem::{ApiError, Problem};
pub use providers::MetadataUpdate;
pub use signer::{PartyView, SessionView, SignerSetup, SignerView};
pub use slashes::{SlashList, SlashView};
pub use usage::{ClassUsage, ProviderUsage, SettlementDomainView, UsageResponse};

/// An EVM chain whose registry this service serves, and the node it asks
/// about contract wallets.
#[derive(Debug, Clone)]
pub struct EvmChain {
    pub chain_id: u64,
    pub registry: Address,
    pub settlement: Address,
    /// The registry's minimum stake: providers below it are not ranked.
    pub min_stake: U256,
    pub rpc: DynProvider,
    /// Most (account, asset) pairs one batch may touch (`settlement.max_deltas`):
    /// acceptance keeps every batch small enough for one `settleBatch`.
    pub max_batch_deltas: usize,
}

impl EvmChain {
    /// CAIP-2 id.
    pub fn caip2(&self) -> String {
        format!("eip155:{}", self.chain_id)
    }
}

/// Everything a request handler reaches; cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState(Arc<Inner>);

#[derive(Debug)]
pub struct Inner {
    pub store: Store,
    pub jwt: JwtKey,
    pub auth: AuthConfig,
    pub service: ServiceConfig,
    pub chains: Vec<EvmChain>,
    discovery: discovery::DiscoveryCache,
    assets: intents::AssetCache,
    limiter: limits::RateLimiter,
    metrics: limits::HttpMetrics,
    /// The JSON-RPC gateway over discovery's endpoints, unless disabled.
    gateway: Option<cairn_gateway::Gateway>,
    /// What metered calls cost (`gateway.pricing`), and the asset, when it
    /// is a valid address.
    usage_pricing: PricingConfig,
    usage_asset: Option<Address>,
    /// The slash order signer, once `cairn serve` has built it.
    slash_signer: std::sync::OnceLock<signer::SignerSetup>,
    /// The batch commitment signer, likewise.
    settlement_signer: std::sync::OnceLock<signer::SignerSetup>,
}

impl std::ops::Deref for AppState {
    type Target = Inner;

    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl AppState {
    pub fn new(
        store: Store,
        jwt: JwtKey,
        auth: AuthConfig,
        service: ServiceConfig,
        chains: Vec<EvmChain>,
    ) -> Self {
        Self::with_gateway(store, jwt, auth, service, chains, GatewayConfig::default())
    }

    /// As [`AppState::new`], with the gateway configured (`gateway.enabled
    /// = false` mounts none).
    pub fn with_gateway(
        store: Store,
        jwt: JwtKey,
        auth: AuthConfig,
        service: ServiceConfig,
        chains: Vec<EvmChain>,
        gateway: GatewayConfig,
    ) -> Self {
        let discovery =
            discovery::DiscoveryCache::new(Duration::from_millis(service.discovery_cache_ms));
        let limiter = limits::RateLimiter::new(&service.rate_limit);
        let usage_pricing = gateway.pricing.clone();
        let usage_asset = usage_pricing.asset.as_deref().and_then(|a| a.parse().ok());
        Self(Arc::new_cyclic(|inner| {
            let gateway = gateway.enabled.then(|| {
                cairn_gateway::Gateway::with_sinks(
                    gateway,
                    Arc::new(gateway::DiscoverySource(inner.clone())),
                    Arc::new(gateway::StoreEvidence(store.clone())),
                    Arc::new(gateway::StoreUsage(store.clone())),
                )
            });
            Inner {
                store,
                jwt,
                auth,
                service,
                chains,
                discovery,
                assets: intents::AssetCache::default(),
                limiter,
                metrics: limits::HttpMetrics::default(),
                gateway,
                usage_pricing,
                usage_asset,
                slash_signer: std::sync::OnceLock::new(),
                settlement_signer: std::sync::OnceLock::new(),
            }
        }))
    }

    pub(crate) fn chain(&self, caip2: &str) -> Option<&EvmChain> {
        self.chains.iter().find(|c| c.caip2() == caip2)
    }

    /// Names the slash order signer for `GET /v1/signer` and the status
    /// page; the first call wins.
    pub fn set_slash_signer(&self, setup: SignerSetup) {
        let _ = self.slash_signer.set(setup);
    }

    /// Names the batch commitment signer, likewise.
    pub fn set_settlement_signer(&self, setup: SignerSetup) {
        let _ = self.settlement_signer.set(setup);
    }

    /// Writes the gateway's metered usage still held in memory, as the
    /// service stops.
    pub async fn flush_usage(&self) {
        if let Some(gateway) = &self.gateway
            && let Err(error) = gateway.flush_usage().await
        {
            tracing::error!(%error, "metered usage could not be written; it is lost");
        }
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Cairn",
        description = "Staked endpoint registry: wallet sign-in, discovery of ranked endpoints, provider metadata."
    ),
    tags(
        (name = "auth", description = "Wallet sign-in (SIWE, SIWS) and sessions"),
        (name = "discovery", description = "Chains, providers and ranked endpoints"),
        (name = "providers", description = "What provider operators manage"),
        (name = "settlement", description = "Signed payment intents, netted into batches"),
        (name = "operations", description = "Health, readiness, metrics, this document"),
    ),
    components(schemas(Problem))
)]
struct ApiDoc;

/// The API's routers (rate-limited `/v1` routes, operations routes) and
/// the OpenAPI document, built from the same handler annotations so one
/// cannot list a route the other lacks.
fn routers() -> (Router<AppState>, Router<AppState>, utoipa::openapi::OpenApi) {
    let api = OpenApiRouter::new()
        .routes(utoipa_axum::routes!(auth::issue_nonce))
        .routes(utoipa_axum::routes!(auth::sign_in_with_ethereum))
        .routes(utoipa_axum::routes!(auth::sign_in_with_solana))
        .routes(utoipa_axum::routes!(auth::logout))
        .routes(utoipa_axum::routes!(auth::me))
        .routes(utoipa_axum::routes!(discovery::chains))
        .routes(utoipa_axum::routes!(discovery::providers))
        .routes(utoipa_axum::routes!(discovery::provider))
        .routes(utoipa_axum::routes!(discovery::services))
        .routes(utoipa_axum::routes!(providers::set_metadata))
        .routes(utoipa_axum::routes!(intents::submit))
        .routes(utoipa_axum::routes!(intents::intent))
        .routes(utoipa_axum::routes!(batches::batches))
        .routes(utoipa_axum::routes!(batches::batch))
        .routes(utoipa_axum::routes!(evidence::list))
        .routes(utoipa_axum::routes!(evidence::record))
        .routes(utoipa_axum::routes!(slashes::list))
        .routes(utoipa_axum::routes!(usage::usage))
        .routes(utoipa_axum::routes!(gateway::stats))
        .routes(utoipa_axum::routes!(signer::signer));
    let operations = OpenApiRouter::new()
        .routes(utoipa_axum::routes!(ops::healthz))
        .routes(utoipa_axum::routes!(ops::readyz))
        .routes(utoipa_axum::routes!(ops::metrics))
        .routes(utoipa_axum::routes!(ops::openapi_json))
        .routes(utoipa_axum::routes!(status::page));
    let (api, api_doc) = api.split_for_parts();
    let (operations, operations_doc) = operations.split_for_parts();
    let mut doc = ApiDoc::openapi();
    doc.merge(api_doc);
    doc.merge(operations_doc);
    if let Some(components) = doc.components.as_mut() {
        components.add_security_scheme(
            "bearer",
            utoipa::openapi::security::SecurityScheme::Http(
                utoipa::openapi::security::HttpBuilder::new()
                    .scheme(utoipa::openapi::security::HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
    (api, operations, doc)
}

/// The OpenAPI document of every route `app` serves.
pub fn openapi() -> utoipa::openapi::OpenApi {
    routers().2
}

/// The whole service as a `Router`, ready to serve or to drive in-process.
pub fn app(state: AppState) -> Router {
    let (api, operations, doc) = routers();
    let doc = Arc::new(doc);
    let timeout = Duration::from_millis(state.service.request_timeout_ms);
    let body_limit = usize::try_from(state.service.max_body_bytes).unwrap_or(usize::MAX);
    let cors = cors_layer(&state.service.cors_allowed_origins);
    // Probes and scrapers are not rate-limited: an orchestrator polling
    // /readyz must never be told to back off.
    let api = api.layer(middleware::from_fn_with_state(state.clone(), limits::rate_limit));
    let mut router = Router::new().merge(api).merge(operations);
    if let Some(gateway) = &state.gateway {
        // The gateway's own router, limited per client like the rest of
        // `/v1`; its paths are routed to it whole. The payer layer sits
        // inside the limiter, which checks the session it reads.
        let rpc = gateway
            .clone()
            .router()
            .layer(middleware::from_fn(gateway::payer))
            .layer(middleware::from_fn_with_state(state.clone(), limits::rate_limit));
        for path in ["/v1/rpc/{chain}", "/v1/rpc/status", "/v1/rpc/metrics"] {
            router = router.route_service(path, rpc.clone());
        }
    }
    router
        .fallback(ops::route_not_found)
        .method_not_allowed_fallback(ops::method_not_allowed)
        .layer(axum::Extension(doc))
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(middleware::from_fn(move |request, next| limits::timeout(timeout, request, next)))
        .layer(middleware::from_fn_with_state(state.clone(), limits::client_address))
        .layer(middleware::from_fn_with_state(state.clone(), limits::record_metrics))
        .layer(cors)
        .with_state(state)
}

fn cors_layer(origins: &[String]) -> CorsLayer {
    let methods = [
        axum::http::Method::GET,
        axum::http::Method::POST,
        axum::http::Method::PUT,
        axum::http::Method::OPTIONS,
    ];
    let headers = [axum::http::header::AUTHORIZATION, axum::http::header::CONTENT_TYPE];
    if origins.iter().any(|o| o == "*") {
        return CorsLayer::new().allow_origin(Any).allow_methods(methods).allow_headers(headers);
    }
    let allowed: Vec<axum::http::HeaderValue> =
        origins.iter().filter_map(|o| o.parse().ok()).collect();
    if allowed.is_empty() {
        return CorsLayer::new();
    }
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(allowed))
        .allow_methods(methods)
        .allow_headers(headers)
}

/// Serves `app(state)` on `listener` until `shutdown` resolves, then lets
/// requests in flight finish.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let pruner = tokio::spawn(prune_nonces(state.clone()));
    let result =
        axum::serve(listener, app(state).into_make_service_with_connect_info::<SocketAddr>())
            .with_graceful_shutdown(shutdown)
            .await;
    pruner.abort();
    result
}

/// Expired nonces are useless; deleting them keeps the table small.
async fn prune_nonces(state: AppState) {
    let mut tick = tokio::time::interval(Duration::from_secs(60));
    loop {
        tick.tick().await;
        if let Err(error) = state.store.prune_nonces(now()).await {
            tracing::warn!(%error, "could not prune expired nonces");
        }
    }
}

pub(crate) fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}
