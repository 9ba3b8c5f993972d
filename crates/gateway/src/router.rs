//! The HTTP face: `POST /v1/rpc/{chain}`, `GET /v1/rpc/status`,
//! `GET /v1/rpc/metrics`.

use std::{str::FromStr, sync::Arc};

use axum::{
    Json, Router,
    body::Body,
    extract::{Request, State},
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use cairn_core::ChainId;
use serde_json::{Value, json};

use crate::{
    gateway::{Gateway, breaker_state},
    metering::Payer,
    metrics::add,
    rpc::{self, Problem},
};

impl Gateway {
    /// The gateway's routes, ready to merge into a service or serve alone.
    pub fn router(self) -> Router {
        Router::new()
            .route("/v1/rpc/status", get(status))
            .route("/v1/rpc/metrics", get(metrics))
            .route("/v1/rpc/{chain}", post(rpc_call))
            .with_state(self)
    }
}

fn json_response(value: &Value) -> Response {
    let mut response = (StatusCode::OK, Json(value)).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

async fn rpc_call(State(gateway): State<Gateway>, request: Request) -> Result<Response, Problem> {
    add(&gateway.0.metrics.requests, 1);
    // Read from the path itself, not a `Path` extractor: a router that
    // mounts this one with `route_service` adds its own path parameters.
    let chain = request
        .uri()
        .path()
        .rsplit('/')
        .next()
        .map(|c| c.replace("%3A", ":").replace("%3a", ":"))
        .unwrap_or_default();
    let unknown = || {
        Problem::new(
            StatusCode::NOT_FOUND,
            "unknown_chain",
            format!("no endpoints serve `{chain}` (a CAIP-2 id such as eip155:1)"),
        )
    };
    let chain_id = ChainId::from_str(&chain).map_err(|_| unknown())?;
    let endpoints = gateway.source().endpoints(&chain).await.map_err(|error| {
        tracing::error!(%error, "endpoint source failed");
        Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "source_unavailable",
            "endpoints are not known now",
        )
    })?;
    let Some(endpoints) = endpoints.filter(|e| !e.is_empty()) else { return Err(unknown()) };
    let payer = request.extensions().get::<Payer>().cloned().map(Arc::new);
    let limit = usize::try_from(gateway.0.config.max_body_bytes).unwrap_or(usize::MAX);
    let body = axum::body::to_bytes(request.into_body(), limit).await.map_err(|_| {
        Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            format!("the request body is larger than {limit} bytes"),
        )
    })?;
    let Ok(parsed) = serde_json::from_slice::<Value>(&body) else {
        add(&gateway.0.metrics.rejected, 1);
        return Ok(json_response(&rpc::error(
            Value::Null,
            rpc::PARSE_ERROR,
            "parse error: the body is not JSON",
            None,
        )));
    };
    let states = Arc::new(gateway.states(&chain, &endpoints));
    let reply = match parsed {
        Value::Array(calls) if calls.is_empty() => {
            add(&gateway.0.metrics.rejected, 1);
            rpc::error(Value::Null, rpc::INVALID_REQUEST, "an empty batch is not a request", None)
        }
        Value::Array(calls) if calls.len() > gateway.0.config.max_batch as usize => {
            add(&gateway.0.metrics.rejected, 1);
            rpc::error(
                Value::Null,
                rpc::BATCH_TOO_LARGE,
                format!("a batch may hold at most {} calls", gateway.0.config.max_batch),
                Some(json!({ "max_batch": gateway.0.config.max_batch, "calls": calls.len() })),
            )
        }
        Value::Array(calls) => {
            // Each call of a batch is served on its own: an endpoint signs
            // a whole batch, so only single calls make portable evidence.
            let mut tasks = tokio::task::JoinSet::new();
            let count = calls.len();
            for (index, call) in calls.into_iter().enumerate() {
                let (gateway, chain_id, states, payer) =
                    (gateway.clone(), chain_id.clone(), states.clone(), payer.clone());
                tasks.spawn(async move {
                    (index, gateway.call(&chain_id, &states, call, payer.as_deref()).await)
                });
            }
            let mut replies: Vec<Option<Value>> = vec![None; count];
            while let Some(joined) = tasks.join_next().await {
                if let Ok((index, reply)) = joined {
                    replies[index] = Some(reply);
                }
            }
            Value::Array(
                replies
                    .into_iter()
                    .map(|r| {
                        r.unwrap_or_else(|| {
                            rpc::error(Value::Null, rpc::NO_ENDPOINT, "internal error", None)
                        })
                    })
                    .collect(),
            )
        }
        call => gateway.call(&chain_id, &states, call, payer.as_deref()).await,
    };
    Ok(json_response(&reply))
}

async fn status(State(gateway): State<Gateway>) -> Response {
    match serde_json::to_value(gateway.stats()) {
        Ok(value) => json_response(&value),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

impl Gateway {
    /// The gateway's metrics in the Prometheus text format, for a service
    /// to append to its own `/metrics`.
    pub fn prometheus_text(&self) -> String {
        let gateway = self;
        let mut text = String::new();
        for (name, help, value) in gateway.0.metrics.snapshot() {
            text.push_str(&format!(
            "# HELP cairn_gateway_{name}_total {help}\n# TYPE cairn_gateway_{name}_total counter\ncairn_gateway_{name}_total {value}\n"
        ));
        }
        text.push_str("# HELP cairn_gateway_breaker_state Circuit breaker per endpoint: 0 closed, 1 half-open, 2 open\n# TYPE cairn_gateway_breaker_state gauge\n");
        let all = gateway.all_states();
        for (chain, states) in &all {
            for state in states {
                text.push_str(&format!(
                    "cairn_gateway_breaker_state{{chain=\"{chain}\",url=\"{}\"}} {}\n",
                    state.endpoint().url.replace('"', "%22"),
                    breaker_state(state).gauge()
                ));
            }
        }
        text.push_str("# HELP cairn_gateway_endpoint_failures_total Failed attempts per endpoint\n# TYPE cairn_gateway_endpoint_failures_total counter\n");
        for (chain, states) in &all {
            for state in states {
                text.push_str(&format!(
                    "cairn_gateway_endpoint_failures_total{{chain=\"{chain}\",url=\"{}\"}} {}\n",
                    state.endpoint().url.replace('"', "%22"),
                    state.failures.load(std::sync::atomic::Ordering::Relaxed)
                ));
            }
        }
        text
    }
}

async fn metrics(State(gateway): State<Gateway>) -> Response {
    let text = gateway.prometheus_text();
    Response::builder()
        .header(header::CONTENT_TYPE, "text/plain; version=0.0.4")
        .body(Body::from(text))
        .unwrap_or_default()
}
