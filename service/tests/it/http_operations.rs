//! The operations surface: the OpenAPI document lists exactly the routes
//! served, probes tell the truth about dependencies, metrics count what was
//! served, CORS follows the configuration, and slow requests time out.

use std::collections::BTreeSet;

use axum::{
    body::Body,
    http::{Method, Request, StatusCode, header},
};
use cairn_service::http::{AppState, app, openapi};
use cairn_test_utils::{Fault, FaultyRpc};

use crate::support::{Chain, auth_config, get, jwt_key, send, service_config};

/// Every route the service answers, by method and path template.
const ROUTES: &[(&str, &str)] = &[
    ("get", "/"),
    ("get", "/healthz"),
    ("get", "/metrics"),
    ("get", "/openapi.json"),
    ("get", "/readyz"),
    ("get", "/v1/batches"),
    ("get", "/v1/batches/{id}"),
    ("get", "/v1/chains"),
    ("get", "/v1/evidence"),
    ("get", "/v1/evidence/{hash}"),
    ("get", "/v1/gateway/stats"),
    ("get", "/v1/signer"),
    ("get", "/v1/slashes"),
    ("get", "/v1/intents/{hash}"),
    ("get", "/v1/me"),
    ("get", "/v1/providers"),
    ("get", "/v1/providers/{id}"),
    ("get", "/v1/services"),
    ("get", "/v1/usage"),
    ("post", "/v1/auth/logout"),
    ("post", "/v1/auth/nonce"),
    ("post", "/v1/auth/siwe"),
    ("post", "/v1/auth/siws"),
    ("post", "/v1/intents"),
    ("put", "/v1/providers/{id}/metadata"),
];

fn documented(doc: &serde_json::Value) -> BTreeSet<(String, String)> {
    let mut routes = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("path item").keys() {
            routes.insert((method.clone(), path.clone()));
        }
    }
    routes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_lists_every_route_and_each_is_served() {
    let chain = Chain::with_providers().await;
    let stores = cairn_test_utils::stores().await;
    let app = app(chain.state(&stores.sqlite, service_config()));

    let served = get(&app, "/openapi.json").await;
    assert_eq!(served.status, StatusCode::OK);
    assert_eq!(served.body["openapi"].as_str().map(|v| &v[..2]), Some("3."));
    let expected: BTreeSet<(String, String)> =
        ROUTES.iter().map(|(m, p)| ((*m).to_owned(), (*p).to_owned())).collect();
    assert_eq!(documented(&served.body), expected, "documented routes");
    assert_eq!(
        documented(&serde_json::to_value(openapi()).unwrap()),
        expected,
        "openapi() is what /openapi.json serves"
    );
    assert!(served.body["components"]["schemas"]["Problem"].is_object());
    assert!(served.body["components"]["securitySchemes"]["bearer"].is_object());

    // Each documented route is routed: whatever it answers, it is not the
    // router's "no such route" or "wrong method".
    for (method, path) in &expected {
        let uri = path
            .replace("{id}", "eip155:31337:0x0000000000000000000000000000000000000001")
            .replace("{hash}", &format!("0x{}", "ab".repeat(32)));
        let request = Request::builder()
            .method(Method::from_bytes(method.to_uppercase().as_bytes()).unwrap())
            .uri(&uri)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from("{}"))
            .unwrap();
        let answer = send(&app, request).await;
        assert!(
            answer.status != StatusCode::METHOD_NOT_ALLOWED && answer.code() != "route_not_found",
            "{method} {uri}: {answer:?}"
        );
    }
    stores.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probes_metrics_cors_and_timeouts() {
    let chain = Chain::with_providers().await;
    let stores = cairn_test_utils::stores().await;
    let mut config = service_config();
    config.cors_allowed_origins = vec!["https://app.example".into()];
    let app = app(chain.state(&stores.postgres, config.clone()));

    assert_eq!(get(&app, "/healthz").await.body["status"], "ok");
    let ready = get(&app, "/readyz").await;
    assert_eq!(ready.status, StatusCode::OK, "{ready:?}");
    assert_eq!(ready.body["rpc"]["eip155:31337"], "ok");

    get(&app, "/v1/chains").await;
    get(&app, "/v1/chains").await;
    get(&app, "/v1/nowhere").await;
    let metrics = get(&app, "/metrics").await;
    let text = metrics.body.as_str().unwrap();
    assert!(
        text.contains(
            r#"cairn_http_requests_total{method="GET",route="/v1/chains",status="200"} 2"#
        ),
        "{text}"
    );
    assert!(text.contains(r#"route="unmatched",status="404""#), "{text}");
    let undocumented = cairn_test_utils::undocumented_metrics(text);
    assert!(undocumented.is_empty(), "not in docs/operations.md: {undocumented:?}");
    assert!(text.contains("cairn_http_request_duration_seconds_bucket"), "{text}");

    let preflight = |origin: &str| {
        Request::builder()
            .method(Method::OPTIONS)
            .uri("/v1/services")
            .header(header::ORIGIN, origin)
            .header(header::ACCESS_CONTROL_REQUEST_METHOD, "GET")
            .body(Body::empty())
            .unwrap()
    };
    let allowed = send(&app, preflight("https://app.example")).await;
    assert_eq!(
        allowed.headers.get(header::ACCESS_CONTROL_ALLOW_ORIGIN).map(|v| v.to_str().unwrap()),
        Some("https://app.example")
    );
    let refused = send(&app, preflight("https://evil.example")).await;
    assert!(refused.headers.get(header::ACCESS_CONTROL_ALLOW_ORIGIN).is_none());
    let no_cors = app_with(chain.state(&stores.postgres, service_config()));
    let answer = send(&no_cors, preflight("https://app.example")).await;
    assert!(
        answer.headers.get(header::ACCESS_CONTROL_ALLOW_ORIGIN).is_none(),
        "CORS off by default"
    );

    // A node that stalls: readiness says so, and a request bounded by the
    // request timeout is cut off with a problem document.
    let stalled =
        FaultyRpc::start(chain.rpc(), |_, _| Fault::Stall(std::time::Duration::from_secs(30)))
            .await;
    let mut evm = chain.evm_chain();
    evm.rpc = alloy::providers::Provider::erased(
        alloy::providers::ProviderBuilder::new().connect_http(stalled.url().parse().unwrap()),
    );
    let state = |timeout_ms| {
        let mut config = service_config();
        config.request_timeout_ms = timeout_ms;
        AppState::new(stores.postgres.clone(), jwt_key(), auth_config(), config, vec![evm.clone()])
    };
    let not_ready = get(&app_with(state(10_000)), "/readyz").await;
    assert_eq!(not_ready.status, StatusCode::SERVICE_UNAVAILABLE, "{not_ready:?}");
    assert_eq!(not_ready.code(), "not_ready");
    assert_eq!(not_ready.body["rpc"]["eip155:31337"], "timed out");
    assert_eq!(not_ready.body["store"], "ok");
    let timed_out = get(&app_with(state(200)), "/readyz").await;
    assert_eq!(
        (timed_out.status, timed_out.code()),
        (StatusCode::SERVICE_UNAVAILABLE, "request_timeout")
    );

    stores.cleanup().await;
}

fn app_with(state: AppState) -> axum::Router {
    app(state)
}
