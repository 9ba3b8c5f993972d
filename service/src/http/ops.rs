//! Liveness, readiness, metrics and the OpenAPI document.

use std::{sync::Arc, time::Duration};

use alloy::providers::Provider;
use axum::{
    Extension, Json,
    extract::State,
    http::{StatusCode, header},
    response::IntoResponse,
};
use serde::Serialize;
use utoipa::ToSchema;

use super::{
    AppState,
    problem::{ApiError, Problem},
};

#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    pub status: &'static str,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Readiness {
    /// `ready`.
    pub status: &'static str,
    pub store: String,
    /// Per registry chain: `ok`, or why its RPC cannot be used.
    pub rpc: std::collections::BTreeMap<String, String>,
}

/// The process is up.
#[utoipa::path(
    get, path = "/healthz", tag = "operations",
    responses((status = 200, description = "Alive", body = Health))
)]
pub(crate) async fn healthz() -> Json<Health> {
    Json(Health { status: "ok" })
}

const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// The store answers and every chain's RPC reports the expected chain id.
#[utoipa::path(
    get, path = "/readyz", tag = "operations",
    responses(
        (status = 200, description = "Ready", body = Readiness),
        (status = 503, description = "A dependency is down (problem document with `store` and `rpc` members)", body = Problem),
    )
)]
pub(crate) async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    let store = match tokio::time::timeout(PROBE_TIMEOUT, state.store.ping()).await {
        Ok(Ok(())) => "ok".to_owned(),
        Ok(Err(e)) => e.to_string(),
        Err(_) => "timed out".to_owned(),
    };
    let mut rpc = std::collections::BTreeMap::new();
    for chain in &state.chains {
        let status = match tokio::time::timeout(PROBE_TIMEOUT, chain.rpc.get_chain_id()).await {
            Ok(Ok(id)) if id == chain.chain_id => "ok".to_owned(),
            Ok(Ok(id)) => format!("serves chain {id}, expected {}", chain.chain_id),
            Ok(Err(e)) => format!("unreachable: {e}"),
            Err(_) => "timed out".to_owned(),
        };
        rpc.insert(chain.caip2(), status);
    }
    if store == "ok" && rpc.values().all(|s| s == "ok") {
        return (StatusCode::OK, Json(Readiness { status: "ready", store, rpc })).into_response();
    }
    // Not ready is an error answer like any other (a problem document), with
    // what is down as extension members.
    let problem = ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "not_ready",
        "a dependency of the service is not available",
    )
    .problem();
    let mut body = serde_json::to_value(problem).unwrap_or_default();
    body["store"] = serde_json::Value::String(store);
    body["rpc"] = serde_json::to_value(rpc).unwrap_or_default();
    let mut response = (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("application/problem+json"),
    );
    response
}

/// Prometheus metrics (text exposition format).
#[utoipa::path(
    get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "Metrics", body = String, content_type = "text/plain"))
)]
pub(crate) async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let mut text = state.render_metrics();
    if let Some(gateway) = &state.gateway {
        text.push_str(&gateway.prometheus_text());
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text)
}

/// This document.
#[utoipa::path(
    get, path = "/openapi.json", tag = "operations",
    responses((status = 200, description = "The OpenAPI 3.1 document", content_type = "application/json"))
)]
pub(crate) async fn openapi_json(
    Extension(doc): Extension<Arc<utoipa::openapi::OpenApi>>,
) -> impl IntoResponse {
    Json(doc.as_ref().clone())
}

pub(crate) async fn route_not_found() -> ApiError {
    ApiError::not_found("route_not_found", "no such route; GET /openapi.json lists them")
}

pub(crate) async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this route does not accept that method",
    )
}
