//! Metering: calls of a signed-in payer are counted per provider that
//! served them and per price class, in memory until a flush hands them to
//! the sink; anonymous calls, refused calls and failed attempts count for
//! nobody.

use std::sync::Arc;

use axum::{Router, extract::Request, middleware::Next};
use cairn_gateway::{
    Gateway, MemoryEvidence, MemoryUsage, MethodClass, Payer, StaticEndpoints, UsageKey,
};
use cairn_test_utils::{DEV_KEY_1, DEV_KEY_2, address_of, anvil, free_port};
use serde_json::{Value, json};

use crate::support::{CHAIN, Served, config, endpoint};

const WALLET: &str = "eip155:31337:0x00000000000000000000000000000000000000aa";

/// Marks requests carrying `x-test-payer` as made for that wallet, the
/// way the service does for a live session.
async fn payer_from_header(mut request: Request, next: Next) -> axum::response::Response {
    if let Some(wallet) = request.headers().get("x-test-payer").and_then(|v| v.to_str().ok()) {
        let payer = Payer(wallet.to_owned());
        request.extensions_mut().insert(payer);
    }
    next.run(request).await
}

async fn metered(
    config: cairn_config::GatewayConfig,
    endpoints: Vec<cairn_gateway::Endpoint>,
) -> (Served, Gateway, Arc<MemoryUsage>) {
    let usage = Arc::new(MemoryUsage::default());
    let gateway = Gateway::with_sinks(
        config,
        Arc::new(StaticEndpoints::new(CHAIN, endpoints)),
        Arc::new(MemoryEvidence::default()),
        usage.clone(),
    );
    let router: Router =
        gateway.clone().router().layer(axum::middleware::from_fn(payer_from_header));
    (Served::start(router).await, gateway, usage)
}

async fn post_as(gateway: &Served, payer: Option<&str>, body: &Value) -> Value {
    let mut request =
        reqwest::Client::new().post(format!("{}/v1/rpc/{CHAIN}", gateway.url())).json(body);
    if let Some(payer) = payer {
        request = request.header("x-test-payer", payer);
    }
    let response = request.send().await.expect("gateway answers");
    assert_eq!(response.status(), 200);
    response.json().await.expect("JSON")
}

fn calls(usage: &MemoryUsage, provider: &str, class: MethodClass) -> u64 {
    let key =
        UsageKey { wallet: WALLET.into(), chain: CHAIN.into(), provider: provider.into(), class };
    usage.totals().get(&key).map_or(0, |c| c.calls)
}

#[tokio::test]
async fn a_payers_calls_are_counted_per_provider_and_class_and_flushed_in_batches() {
    let node = anvil();
    let mut config = config();
    // Long enough that only the explicit flush below writes.
    config.metering.flush_ms = 600_000;
    config.quorum.methods.clear();
    let only = endpoint(node.endpoint(), address_of(DEV_KEY_1));
    let provider = only.provider.clone();
    let (served, gateway, usage) = metered(config, vec![only]).await;

    for id in 0..5 {
        let answer = post_as(
            &served,
            Some(WALLET),
            &json!({"jsonrpc": "2.0", "id": id, "method": "eth_blockNumber"}),
        )
        .await;
        assert!(answer["result"].is_string(), "{answer}");
    }
    // A batch counts each call; eth_call is heavy.
    let batch = json!([
        {"jsonrpc": "2.0", "id": 1, "method": "eth_call",
         "params": [{"to": format!("{:#x}", address_of(DEV_KEY_2)), "data": "0x"}, "latest"]},
        {"jsonrpc": "2.0", "id": 2, "method": "eth_chainId"},
    ]);
    let answers = post_as(&served, Some(WALLET), &batch).await;
    assert_eq!(answers.as_array().map(Vec::len), Some(2), "{answers}");
    // Refused before any provider was asked: nobody served it.
    let refused = post_as(
        &served,
        Some(WALLET),
        &json!({"jsonrpc": "2.0", "id": 9, "method": "eth_sendTransaction"}),
    )
    .await;
    assert!(refused["error"].is_object(), "{refused}");
    // Anonymous: answered, but not for any wallet.
    for id in 0..3 {
        post_as(&served, None, &json!({"jsonrpc": "2.0", "id": id, "method": "eth_chainId"})).await;
    }

    assert!(usage.totals().is_empty(), "nothing is written before a flush");
    gateway.flush_usage().await.unwrap();
    assert_eq!(calls(&usage, &provider, MethodClass::Read), 6);
    assert_eq!(calls(&usage, &provider, MethodClass::Heavy), 1);
    assert_eq!(calls(&usage, &provider, MethodClass::Write), 0);
    let totals = usage.totals();
    assert_eq!(totals.len(), 2, "one wallet, one provider, two classes: {totals:?}");
    let count = totals.values().next().unwrap();
    assert!(count.first_seen <= count.last_seen && count.first_seen > 1_700_000_000);

    // A second flush adds only what came since.
    post_as(&served, Some(WALLET), &json!({"jsonrpc": "2.0", "id": 1, "method": "eth_chainId"}))
        .await;
    gateway.flush_usage().await.unwrap();
    gateway.flush_usage().await.unwrap();
    assert_eq!(calls(&usage, &provider, MethodClass::Read), 7);
}

#[tokio::test]
async fn only_the_provider_that_answered_is_counted_and_the_flusher_runs_by_itself() {
    let node = anvil();
    let mut config = config();
    config.metering.flush_ms = 50;
    config.quorum.methods.clear();
    config.breaker_failures = 1;
    config.breaker_open_ms = 60_000;
    let mut dead = endpoint(format!("http://127.0.0.1:{}", free_port()), address_of(DEV_KEY_1));
    // Tried first, so the failed attempt happens.
    dead.weight = 1e9;
    let live = endpoint(node.endpoint(), address_of(DEV_KEY_2));
    let (dead_provider, live_provider) = (dead.provider.clone(), live.provider.clone());
    let (served, _gateway, usage) = metered(config, vec![dead, live]).await;
    for id in 0..4 {
        let answer = post_as(
            &served,
            Some(WALLET),
            &json!({"jsonrpc": "2.0", "id": id, "method": "eth_chainId"}),
        )
        .await;
        assert_eq!(answer["result"], "0x7a69", "{answer}");
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while calls(&usage, &live_provider, MethodClass::Read) < 4 {
        assert!(std::time::Instant::now() < deadline, "not flushed: {:?}", usage.totals());
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(calls(&usage, &live_provider, MethodClass::Read), 4);
    assert_eq!(calls(&usage, &dead_provider, MethodClass::Read), 0, "{:?}", usage.totals());
}

#[tokio::test]
async fn a_quorum_call_counts_for_every_provider_whose_answer_was_served() {
    let node = anvil();
    let mut config = config();
    config.metering.flush_ms = 600_000;
    config.quorum.k = 2;
    config.quorum.n = 2;
    let a = endpoint(node.endpoint(), address_of(DEV_KEY_1));
    // The same node behind a second URL, another operator.
    let proxy =
        cairn_test_utils::FaultyRpc::start(node.endpoint(), |_, _| cairn_test_utils::Fault::Pass)
            .await;
    let b = endpoint(proxy.url(), address_of(DEV_KEY_2));
    let (pa, pb) = (a.provider.clone(), b.provider.clone());
    let (served, gateway, usage) = metered(config, vec![a, b]).await;
    let answer = post_as(
        &served,
        Some(WALLET),
        &json!({"jsonrpc": "2.0", "id": 1, "method": "eth_getBalance",
                "params": [format!("{:#x}", address_of(DEV_KEY_1)), "latest"]}),
    )
    .await;
    assert!(answer["result"].is_string(), "{answer}");
    gateway.flush_usage().await.unwrap();
    assert_eq!(calls(&usage, &pa, MethodClass::Read), 1, "{:?}", usage.totals());
    assert_eq!(calls(&usage, &pb, MethodClass::Read), 1, "{:?}", usage.totals());
}

#[tokio::test]
async fn metering_off_counts_nothing() {
    let node = anvil();
    let mut config = config();
    config.metering.enabled = false;
    let (served, gateway, usage) =
        metered(config, vec![endpoint(node.endpoint(), address_of(DEV_KEY_1))]).await;
    post_as(&served, Some(WALLET), &json!({"jsonrpc": "2.0", "id": 1, "method": "eth_chainId"}))
        .await;
    gateway.flush_usage().await.unwrap();
    assert!(usage.totals().is_empty());
    assert_eq!(gateway.class_of("eth_sendRawTransaction"), MethodClass::Write);
    assert_eq!(gateway.class_of("eth_getLogs"), MethodClass::Heavy);
    assert_eq!(gateway.class_of("eth_blockNumber"), MethodClass::Read);
}
