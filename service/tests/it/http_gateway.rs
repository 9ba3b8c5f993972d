//! The gateway as the service mounts it: JSON-RPC routed to the endpoints
//! registered on chain, and the evidence API with `cairn evidence verify`.

use alloy::{
    primitives::B256,
    signers::{SignerSync, local::PrivateKeySigner},
};
use axum::{
    body::Body,
    http::{Request, StatusCode, header},
};
use cairn_bindings::Registry;
use cairn_core::{
    ChainId,
    answer::{AnswerClaim, AnswerHeader},
    evidence::{EVIDENCE_VERSION, Evidence, EvidenceKind, SignedAnswer},
};
use cairn_service::http::app;
use cairn_test_utils::{
    DEV_KEY_1, DEV_KEY_2, DEV_KEY_3, Fault, FaultyRpc, Mined, address_of, wallet,
};
use serde_json::{Value, json};

use crate::{
    cairn, stderr, stdout,
    support::{Chain, get, p1, p2, send, service_config},
};

fn rpc(path: &str, body: &Value) -> Request<Body> {
    Request::post(path)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(serde_json::to_vec(body).unwrap()))
        .unwrap()
}

/// One answer to `eth_getBalance` signed by `key` at block 7.
fn signed(key: &str, result: &str) -> SignedAnswer {
    let chain: ChainId = "eip155:31337".parse().unwrap();
    let request =
        json!({"jsonrpc": "2.0", "id": 1, "method": "eth_getBalance", "params": ["0x01", "0x7"]});
    let response = json!({"jsonrpc": "2.0", "id": 1, "result": result});
    let hash = B256::repeat_byte(0x77);
    let claim = AnswerClaim::new(chain.clone(), &request, &response, 7, hash).unwrap();
    let signer: PrivateKeySigner = key.parse().unwrap();
    let signature = signer.sign_hash_sync(&claim.digest()).unwrap().as_bytes();
    let header = AnswerHeader { chain, block_number: 7, block_hash: hash, signature }.render();
    SignedAnswer { operator: signer.address(), endpoint: None, request, response, header }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_rpc_reaches_registered_endpoints_and_evidence_is_served_and_verifies() {
    let chain = Chain::with_providers().await;
    let proxy = FaultyRpc::start(chain.rpc(), |_, _| Fault::Pass).await;
    let registry = chain.deployment.registry;
    // Both providers serve the test chain itself: P1 directly, P2 (through
    // its operator) behind a proxy that counts what reaches it.
    Registry::new(registry, wallet(&chain.rpc(), DEV_KEY_1))
        .addService(p1(), "eip155:31337".into(), "rpc".into(), chain.rpc(), B256::ZERO)
        .mined()
        .await;
    Registry::new(registry, wallet(&chain.rpc(), DEV_KEY_3))
        .addService(p2(), "eip155:31337".into(), "rpc".into(), proxy.url(), B256::ZERO)
        .mined()
        .await;
    let stores = cairn_test_utils::stores().await;
    chain.index_into(&stores.sqlite).await;
    let app = app(chain.state(&stores.sqlite, service_config()));

    let account = format!("{:#x}", address_of(DEV_KEY_2));
    let call = json!({"jsonrpc": "2.0", "id": 4, "method": "eth_getBalance", "params": [account, "latest"]});
    let answer = send(&app, rpc("/v1/rpc/eip155:31337", &call)).await;
    assert_eq!(answer.status, StatusCode::OK);
    let direct = chain.evm_chain().rpc;
    let balance =
        alloy::providers::Provider::get_balance(&direct, address_of(DEV_KEY_2)).await.unwrap();
    assert_eq!(answer.body["result"], format!("{balance:#x}"), "{:?}", answer);
    assert_eq!(answer.body["id"], 4);
    assert!(proxy.requests() > 0, "the quorum asked both providers");

    let status = get(&app, "/v1/rpc/status").await;
    assert_eq!(status.body["chains"][0]["endpoints"].as_array().unwrap().len(), 2, "{status:?}");
    let metrics = send(&app, Request::get("/metrics").body(Body::empty()).unwrap()).await;
    let text = metrics.body.as_str().map(str::to_owned).unwrap_or_else(|| metrics.body.to_string());
    assert!(
        text.contains("cairn_gateway_calls_total"),
        "the service's /metrics has the gateway's: {text}"
    );
    let undocumented = cairn_test_utils::undocumented_metrics(&text);
    assert!(undocumented.is_empty(), "not in docs/operations.md: {undocumented:?}");
    let unknown = send(&app, rpc("/v1/rpc/eip155:999", &call)).await;
    assert_eq!((unknown.status, unknown.code()), (StatusCode::NOT_FOUND, "unknown_chain"));
    let refused = send(
        &app,
        rpc(
            "/v1/rpc/eip155:31337",
            &json!({"jsonrpc": "2.0", "id": 1, "method": "eth_sendTransaction"}),
        ),
    )
    .await;
    assert_eq!(refused.body["error"]["code"], cairn_gateway::rpc::METHOD_NOT_ALLOWED);

    // A record as the gateway stores it, then read back and verified by the CLI.
    let evidence = Evidence {
        version: EVIDENCE_VERSION,
        chain: "eip155:31337".parse().unwrap(),
        kind: EvidenceKind::QuorumMismatch { k: 2 },
        accused: address_of(DEV_KEY_3),
        ignored_fields: vec![],
        answers: vec![signed(DEV_KEY_3, "0x5"), signed(DEV_KEY_1, "0x6"), signed(DEV_KEY_2, "0x6")],
    };
    assert!(stores.sqlite.put_evidence(&evidence, 1_000).await.unwrap());
    let list = get(&app, "/v1/evidence?chain=eip155:31337").await;
    assert_eq!(list.status, StatusCode::OK);
    let hash = format!("{:#x}", evidence.hash());
    assert_eq!(list.body["items"][0]["hash"], hash.as_str());
    assert_eq!(list.body["items"][0]["accused"], format!("{:#x}", address_of(DEV_KEY_3)));
    assert_eq!(list.body["items"][0]["block_number"], 7);
    let one = get(&app, &format!("/v1/evidence/{hash}")).await;
    assert_eq!(one.status, StatusCode::OK);
    let missing = get(&app, &format!("/v1/evidence/0x{}", "00".repeat(32))).await;
    assert_eq!((missing.status, missing.code()), (StatusCode::NOT_FOUND, "evidence_not_found"));
    let bad = get(&app, "/v1/evidence/xyz").await;
    assert_eq!((bad.status, bad.code()), (StatusCode::BAD_REQUEST, "invalid_hash"));

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("evidence.json");
    std::fs::write(&file, serde_json::to_vec_pretty(&one.body).unwrap()).unwrap();
    let out = cairn(&["evidence", "verify", file.to_str().unwrap()], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("VALID"), "{text}");
    assert!(text.contains(&address_of(DEV_KEY_3).to_string()), "{text}");
    assert!(text.contains("block: 7"), "{text}");

    // The accused's answer swapped for a quorum member's: the signature no
    // longer matches the operator named, and the CLI says so.
    let mut tampered = one.body.clone();
    tampered["answers"][0]["response"]["result"] = json!("0x6");
    std::fs::write(&file, serde_json::to_vec(&tampered).unwrap()).unwrap();
    let out = cairn(&["evidence", "verify", file.to_str().unwrap()], &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(stderr(&out).contains("does not verify"), "{}", stderr(&out));
    stores.cleanup().await;
}
