//! Sign-in that should work: SIWE with an account key, a deployed contract
//! wallet (ERC-1271) and an undeployed one (ERC-6492); SIWS; sessions until
//! logout; provider metadata written by the provider's operator.

use alloy::{primitives::B256, providers::Provider, sol_types::SolCall};
use axum::http::StatusCode;
use cairn_bindings::DevWalletFactory;
use cairn_test_utils::{DEV_KEY_1, DEV_KEY_2, DEV_KEY_3, Mined, address_of, wallet};
use serde_json::json;

use crate::support::{
    Chain, DOMAIN, apps, erc6492, get, get_with_token, hex0x, json_request, nonce, p2, post, send,
    sign_digest_hex, sign_in, sign_message, siwe_message, siws_body, siws_nonce, wallet_factory,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wallets_sign_in_and_operators_edit_their_metadata_on_both_backends() {
    let chain = Chain::with_providers().await;
    let factory = wallet_factory(&chain).await;
    let (stores, apps) = apps(&chain).await;
    for (index, (backend, app)) in apps.iter().enumerate() {
        account_key_session_until_logout(app, backend).await;
        bare_origin_uri_signs_in(app, backend).await;
        contract_wallets_sign_in(app, &chain, factory, index as u8, backend).await;
        solana_accounts_sign_in(app, backend).await;
        operators_edit_metadata(app, backend).await;
        one_nonce_two_concurrent_logins(app, backend).await;
    }
    stores.cleanup().await;
}

async fn account_key_session_until_logout(app: &axum::Router, backend: &str) {
    let token = sign_in(app, DEV_KEY_1).await;
    let me = get_with_token(app, "/v1/me", &token).await;
    assert_eq!(me.status, StatusCode::OK, "{backend}: {me:?}");
    assert_eq!(
        me.body["account"],
        format!("eip155:31337:{}", address_of(DEV_KEY_1).to_checksum(None))
    );
    let logout = send(app, json_request("POST", "/v1/auth/logout", &json!({}), Some(&token))).await;
    assert_eq!(logout.status, StatusCode::NO_CONTENT, "{backend}: {logout:?}");
    let after = get_with_token(app, "/v1/me", &token).await;
    assert_eq!((after.status, after.code()), (StatusCode::UNAUTHORIZED, "session_revoked"));
}

/// The allowed URI is `https://cairn.test/`; a wallet that writes the bare
/// origin, without the trailing slash, names the same place.
async fn bare_origin_uri_signs_in(app: &axum::Router, backend: &str) {
    let mut message = siwe_message(address_of(DEV_KEY_2), &nonce(app, DOMAIN).await);
    message.uri = format!("https://{DOMAIN}");
    let signature = sign_message(DEV_KEY_2, &message).await;
    let answer = post(
        app,
        "/v1/auth/siwe",
        json!({ "message": message.to_string(), "signature": signature }),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK, "{backend}: {answer:?}");

    // The message may be presented for ten minutes; the session it opens
    // lasts the configured session lifetime, not those ten minutes.
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
        as i64;
    let message_expires = message.expiration_time.as_ref().unwrap().unix();
    let session_expires = answer.body["expires_at"].as_i64().unwrap();
    let ttl = service_config_session_ttl();
    assert!(session_expires > message_expires, "{backend}: session capped by the message");
    assert!(
        (session_expires - (now + ttl)).abs() <= 60,
        "{backend}: {session_expires} vs now + {ttl}"
    );
}

fn service_config_session_ttl() -> i64 {
    cairn_config::AuthConfig::default().session_ttl_secs as i64
}

async fn contract_wallets_sign_in(
    app: &axum::Router,
    chain: &Chain,
    factory: alloy::primitives::Address,
    round: u8,
    backend: &str,
) {
    let deployer = wallet(&chain.rpc(), DEV_KEY_1);
    let factory_contract = DevWalletFactory::new(factory, &deployer);
    let owner = address_of(DEV_KEY_1);

    // Deployed wallet: ERC-1271.
    let salt = B256::repeat_byte(0x10 + round);
    factory_contract.deployWallet(owner, salt).mined().await;
    let deployed = factory_contract.addressOf(owner, salt).call().await.unwrap();
    let message = siwe_message(deployed, &nonce(app, DOMAIN).await);
    let signature = sign_digest_hex(DEV_KEY_1, message.eip191_hash()).await;
    let answer = post(
        app,
        "/v1/auth/siwe",
        json!({ "message": message.to_string(), "signature": hex0x(&signature) }),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK, "{backend} ERC-1271: {answer:?}");
    assert_eq!(answer.body["account"], format!("eip155:31337:{}", deployed.to_checksum(None)));

    // Not yet deployed: ERC-6492 wraps the factory call.
    let salt = B256::repeat_byte(0x20 + round);
    let counterfactual = factory_contract.addressOf(owner, salt).call().await.unwrap();
    let message = siwe_message(counterfactual, &nonce(app, DOMAIN).await);
    let inner = sign_digest_hex(DEV_KEY_1, message.eip191_hash()).await;
    let deploy_call = DevWalletFactory::deployWalletCall { owner, salt }.abi_encode();
    let answer = post(
        app,
        "/v1/auth/siwe",
        json!({
            "message": message.to_string(),
            "signature": hex0x(&erc6492(factory, deploy_call, inner)),
        }),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK, "{backend} ERC-6492: {answer:?}");
    let code = deployer.get_code_at(counterfactual).await.unwrap();
    assert!(code.is_empty(), "the check deploys nothing for real");
}

async fn solana_accounts_sign_in(app: &axum::Router, backend: &str) {
    let key = ed25519_dalek::SigningKey::from_bytes(&[9; 32]);
    let (nonce, input) = siws_nonce(app, json!({ "domain": DOMAIN })).await;
    assert_eq!(input.nonce.as_deref(), Some(nonce.as_str()));
    assert_eq!(input.domain, DOMAIN);
    let answer = post(app, "/v1/auth/siws", siws_body(&key, &nonce, &input)).await;
    assert_eq!(answer.status, StatusCode::OK, "{backend}: {answer:?}");
    let address = bs58::encode(key.verifying_key().as_bytes()).into_string();
    let token = answer.body["token"].as_str().unwrap();
    let me = get_with_token(app, "/v1/me", token).await;
    assert_eq!(me.body["account"], format!("solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp:{address}"));
}

async fn operators_edit_metadata(app: &axum::Router, backend: &str) {
    let id = format!("eip155:31337:{}", p2().to_checksum(None));
    let uri = format!("/v1/providers/{id}/metadata");
    let update =
        json!({ "region": "eu-west", "description": "archive nodes", "contact": "ops@p2.example" });

    // P2's operator is dev key 3.
    let operator = sign_in(app, DEV_KEY_3).await;
    let answer = send(app, json_request("PUT", &uri, &update, Some(&operator))).await;
    assert_eq!(answer.status, StatusCode::OK, "{backend}: {answer:?}");
    assert_eq!(answer.body["metadata"]["region"], "eu-west");
    let read = get(app, &format!("/v1/providers/{id}")).await;
    assert_eq!(read.body["metadata"]["contact"], "ops@p2.example", "{backend}: {read:?}");

    // Neither another provider nor P2's own (non-operator) key may.
    for key in [DEV_KEY_1, DEV_KEY_2] {
        let token = sign_in(app, key).await;
        let answer =
            send(app, json_request("PUT", &uri, &json!({ "region": "x" }), Some(&token))).await;
        assert_eq!(
            (answer.status, answer.code()),
            (StatusCode::FORBIDDEN, "not_provider_operator")
        );
    }
    let read = get(app, &format!("/v1/providers/{id}")).await;
    assert_eq!(read.body["metadata"]["region"], "eu-west", "unchanged by refused writes");
}

async fn one_nonce_two_concurrent_logins(app: &axum::Router, backend: &str) {
    for _ in 0..3 {
        let nonce = nonce(app, DOMAIN).await;
        let mut attempts = Vec::new();
        for key in [DEV_KEY_1, DEV_KEY_2] {
            let message = siwe_message(address_of(key), &nonce);
            let body = json!({ "message": message.to_string(), "signature": sign_message(key, &message).await });
            let app = app.clone();
            attempts.push(tokio::spawn(async move { post(&app, "/v1/auth/siwe", body).await }));
        }
        let mut outcomes = Vec::new();
        for attempt in attempts {
            let answer = attempt.await.unwrap();
            outcomes.push((answer.status, answer.code().to_owned()));
        }
        let wins = outcomes.iter().filter(|o| o.0 == StatusCode::OK).count();
        assert_eq!(wins, 1, "{backend}: {outcomes:?}");
        assert!(outcomes.iter().any(|o| o.1 == "nonce_used"), "{backend}: {outcomes:?}");
    }
}
