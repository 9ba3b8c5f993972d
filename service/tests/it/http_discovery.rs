//! Discovery over a real anvil history indexed into each backend.

use axum::http::StatusCode;
use serde_json::Value;

use crate::support::{Chain, TOKEN, apps, get, p1, p2};

fn provider_id(address: alloy::primitives::Address) -> String {
    format!("eip155:31337:{}", address.to_checksum(None))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovery_answers_from_the_indexed_registry_on_both_backends() {
    let chain = Chain::with_providers().await;
    let (stores, apps) = apps(&chain).await;
    for (backend, app) in &apps {
        chains_are_summarised(app, &chain, backend).await;
        services_are_ranked_with_reasons(app, &chain, backend).await;
        pages_follow_cursors(app, backend).await;
        providers_are_listed_and_found(app, backend).await;
    }
    stores.cleanup().await;
}

async fn chains_are_summarised(app: &axum::Router, chain: &Chain, backend: &str) {
    let answer = get(app, "/v1/chains").await;
    assert_eq!(answer.status, StatusCode::OK, "{backend}: {answer:?}");
    let chains = answer.body["chains"].as_array().unwrap();
    assert_eq!(chains.len(), 2, "{backend}: {answer:?}");
    assert_eq!(chains[0]["chain"], "eip155:1");
    assert_eq!(chains[0]["kinds"], serde_json::json!({ "archive": 1, "rpc": 3 }));
    assert_eq!(chains[0]["providers"], 2);
    assert_eq!(chains[1]["chain"], "eip155:10");
    assert_eq!(chains[1]["providers"], 1);
    let registry = &answer.body["registries"][0];
    assert_eq!(registry["chain"], "eip155:31337");
    assert_eq!(registry["registry"], format!("{:#x}", chain.deployment.registry));
    assert!(registry["indexed_block"].as_u64().unwrap() > chain.deployment.start_block);
}

async fn services_are_ranked_with_reasons(app: &axum::Router, chain: &Chain, backend: &str) {
    let answer = get(app, "/v1/services?chain=eip155:1&kind=rpc").await;
    assert_eq!(answer.status, StatusCode::OK, "{backend}: {answer:?}");
    let items = answer.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 3, "{backend}");
    // P2 holds less stake (100 vs 150) but P1 was slashed once, which
    // halves its reputation: 0.4 × 0.5 = 0.2 beats 0.6 × 0.5 × 0.5 = 0.15.
    assert_eq!(items[0]["provider"], provider_id(p2()), "{backend}: {answer:?}");
    assert_eq!(items[0]["url"], "https://p2.example/");
    assert_eq!(items[0]["rank"], 1);
    let why = &items[0]["why"];
    assert!((why["stake_share"].as_f64().unwrap() - 0.4).abs() < 1e-9, "{why}");
    assert!((why["score"].as_f64().unwrap() - 0.2).abs() < 1e-9, "{why}");
    assert_eq!(why["health"], "unknown");
    assert_eq!(why["slashes"], 0);
    for item in &items[1..] {
        assert_eq!(item["provider"], provider_id(p1()));
        assert_eq!(item["why"]["slashes"], 1);
        assert!((item["why"]["score"].as_f64().unwrap() - 0.15).abs() < 1e-9);
        assert!(item["why"]["summary"].as_str().unwrap().contains("slashed once"));
    }
    assert_eq!(items[1]["rank"], 2);
    assert_eq!(items[2]["rank"], 3);
    for item in items {
        let record = &item["record"];
        assert_eq!(record["contract"], format!("{:#x}", chain.deployment.registry));
        assert_eq!(record["tx_hash"].as_str().unwrap().len(), 66);
        assert!(record["block"].as_u64().unwrap() > 0);
    }

    let all_kinds = get(app, "/v1/services?chain=eip155:1").await;
    assert_eq!(all_kinds.body["items"].as_array().unwrap().len(), 4, "{backend}");
    let optimism = get(app, "/v1/services?chain=eip155:10&kind=rpc").await;
    assert_eq!(optimism.body["items"][0]["url"], "https://p1-op.example");
    let nothing = get(app, "/v1/services?chain=eip155:999").await;
    assert_eq!(nothing.body["items"], Value::Array(vec![]));
    let only_p1 =
        get(app, &format!("/v1/services?chain=eip155:1&provider={}", provider_id(p1()))).await;
    assert_eq!(only_p1.body["items"].as_array().unwrap().len(), 2, "{backend}: {only_p1:?}");

    let missing = get(app, "/v1/services?kind=rpc").await;
    assert_eq!((missing.status, missing.code()), (StatusCode::BAD_REQUEST, "missing_parameter"));
}

async fn pages_follow_cursors(app: &axum::Router, backend: &str) {
    let mut seen = Vec::new();
    let mut uri = "/v1/services?chain=eip155:1&limit=1".to_owned();
    loop {
        let answer = get(app, &uri).await;
        assert_eq!(answer.status, StatusCode::OK, "{backend}: {answer:?}");
        let items = answer.body["items"].as_array().unwrap();
        assert_eq!(items.len(), 1);
        seen.push(items[0]["service_id"].as_str().unwrap().to_owned());
        match answer.body["next_cursor"].as_str() {
            Some(cursor) => uri = format!("/v1/services?chain=eip155:1&limit=1&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(seen.len(), 4, "{backend}: every endpoint once");
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 4, "{backend}: no endpoint twice");

    for (uri, code) in [
        ("/v1/services?chain=eip155:1&limit=0", "invalid_query"),
        ("/v1/services?chain=eip155:1&limit=201", "invalid_query"),
        ("/v1/services?chain=eip155:1&limit=x", "invalid_query"),
        ("/v1/services?chain=eip155:1&cursor=bogus", "invalid_cursor"),
        ("/v1/services?chain=eip155:1&colour=red", "invalid_query"),
        ("/v1/providers?status=asleep", "invalid_query"),
        ("/v1/services?chain=bad", "invalid_chain"),
        ("/v1/services?chain=eip155:", "invalid_chain"),
        ("/v1/providers?chain=bad", "invalid_chain"),
    ] {
        let answer = get(app, uri).await;
        assert_eq!((answer.status, answer.code()), (StatusCode::BAD_REQUEST, code), "{uri}");
    }
}

async fn providers_are_listed_and_found(app: &axum::Router, backend: &str) {
    let answer = get(app, "/v1/providers").await;
    assert_eq!(answer.status, StatusCode::OK, "{backend}: {answer:?}");
    let items = answer.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    let p1_view = items.iter().find(|p| p["id"] == provider_id(p1())).unwrap();
    assert_eq!(p1_view["stake"], (150 * TOKEN).to_string());
    assert_eq!(p1_view["slashes"], 1);
    assert_eq!(p1_view["slashed_total"], (150 * TOKEN).to_string());
    assert_eq!(p1_view["status"], "active");
    assert_eq!(p1_view["services"], 3);
    let p2_view = items.iter().find(|p| p["id"] == provider_id(p2())).unwrap();
    assert_eq!(
        p2_view["operator"],
        cairn_test_utils::address_of(cairn_test_utils::DEV_KEY_3).to_checksum(None)
    );

    let one = get(app, &format!("/v1/providers/{}", provider_id(p2()))).await;
    assert_eq!(one.status, StatusCode::OK, "{one:?}");
    assert_eq!(one.body["endpoints"].as_array().unwrap().len(), 2);
    // Ids are accepted in any letter case.
    let lower = get(app, &format!("/v1/providers/eip155:31337:{:#x}", p2())).await;
    assert_eq!(lower.body["id"], provider_id(p2()));

    let unknown =
        get(app, "/v1/providers/eip155:31337:0x0000000000000000000000000000000000000001").await;
    assert_eq!((unknown.status, unknown.code()), (StatusCode::NOT_FOUND, "provider_not_found"));
    let other_chain = get(app, &format!("/v1/providers/eip155:1:{:#x}", p2())).await;
    assert_eq!(other_chain.code(), "provider_not_found");
    for bad in [
        "nope",
        "eip155:31337:0x12",
        "solana:abc:xyz",
        "eip155::0x0000000000000000000000000000000000000001",
    ] {
        let answer = get(app, &format!("/v1/providers/{bad}")).await;
        assert_eq!(
            (answer.status, answer.code()),
            (StatusCode::BAD_REQUEST, "invalid_account_id"),
            "{bad}"
        );
    }
}
