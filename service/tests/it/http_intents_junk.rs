//! Junk costs no chain calls: a body of 1,000 intents that are unsigned,
//! badly signed or signed by someone other than the payer is refused
//! without one RPC request, even when each names a new asset; only an intent
//! whose payer signed it makes the service ask the chain about its asset.

use alloy::primitives::{Address, U256};
use axum::http::StatusCode;
use cairn_core::eip712::{PaymentIntent, settlement_domain};
use cairn_service::http::app;
use cairn_test_utils::{DEV_KEY_1, DEV_KEY_2, DEV_KEY_3, Fault, FaultyRpc, address_of, wallet};
use serde_json::json;

use crate::support::{Chain, TOKEN, post, service_config, signed_intent};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_junk_makes_no_rpc_call() {
    let chain = Chain::with_providers().await;
    let counting = FaultyRpc::start(chain.rpc(), |_, _| Fault::Pass).await;
    let stores = cairn_test_utils::stores().await;
    let store = &stores.both()[0];
    let mut evm = chain.evm_chain();
    evm.rpc = wallet(&counting.url(), cairn_test_utils::DEV_KEY_0);
    let state = cairn_service::http::AppState::new(
        (*store).clone(),
        crate::support::jwt_key(),
        crate::support::auth_config(),
        service_config(),
        vec![evm],
    );
    let app = app(state);
    let domain = settlement_domain(31337, chain.deployment.settlement);
    let valid_until =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
            + 3600;
    let intent = |n: u64| PaymentIntent {
        payer: address_of(DEV_KEY_1),
        payee: address_of(DEV_KEY_3),
        asset: Address::from_word(alloy::primitives::keccak256(n.to_be_bytes())),
        amount: U256::from(TOKEN),
        nonce: U256::from(n),
        validUntil: valid_until,
    };

    let wrong_signer = signed_intent(DEV_KEY_2, &intent(0), &domain).await;
    let mut junk = Vec::new();
    for n in 0..1_000u64 {
        let signature = match n % 3 {
            // 65 bytes that recover to nobody in particular.
            0 => format!("0x{}1b", "ab".repeat(64)),
            // Well formed, but another key's signature over another intent.
            1 => wrong_signer.clone(),
            // Not a signature at all.
            _ => "0x00".to_owned(),
        };
        junk.push(json!({ "intent": intent(n), "signature": signature }));
    }
    let before = counting.requests();
    let answer = post(&app, "/v1/intents", json!({ "intents": junk })).await;
    assert_eq!(answer.status, StatusCode::OK, "{answer:?}");
    assert_eq!(answer.body["accepted"], 0, "{answer:?}");
    assert_eq!(answer.body["refused"], 1_000);
    assert_eq!(counting.requests() - before, 0, "refusing unsigned junk called the chain");

    // A signed intent for an unknown asset is the one case that asks.
    let signed = intent(5_000);
    let body =
        json!({ "intent": signed, "signature": signed_intent(DEV_KEY_1, &signed, &domain).await });
    let answer = post(&app, "/v1/intents", body).await;
    assert_eq!(
        (answer.status, answer.code()),
        (StatusCode::UNPROCESSABLE_ENTITY, "asset_not_allowed")
    );
    assert_eq!(counting.requests() - before, 1, "one eth_call for the signed intent's asset");
    stores.cleanup().await;
}
