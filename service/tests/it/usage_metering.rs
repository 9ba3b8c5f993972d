//! Metering end to end: a provider registered on anvil behind a real
//! `cairn provider serve` (its own process), a signed-in wallet calling
//! through `POST /v1/rpc/{caip2}`, `GET /v1/usage` counting those calls
//! against that provider, and `cairn_client::Client::pay_usage` (then
//! `cairn pay usage`) turning what is owed into accepted payment intents.

use std::time::Duration;

use alloy::primitives::U256;
use axum::http::StatusCode;
use cairn_config::GatewayConfig;
use cairn_service::http::{AppState, app, serve};
use cairn_test_utils::{
    DEV_KEY_1, DEV_KEY_2, DEV_KEY_3, address_of, anvil, deploy_dev, free_port, register_provider,
};
use serde_json::{Value, json};

use crate::{
    stderr, stdout,
    support::{
        Chain, MIN_STAKE, TOKEN, auth_config, get, get_with_token, json_request, jwt_key, send,
        service_config, sign_in,
    },
};

const CHAIN: &str = "eip155:31337";
const READ_PRICE: u64 = 3;
const HEAVY_PRICE: u64 = 10;

/// `cairn provider serve` in front of `node`, signing as dev key 1.
struct Sidecar {
    url: String,
    _process: crate::Running,
}

async fn sidecar(dir: &std::path::Path, node: &str) -> Sidecar {
    let listen = format!("127.0.0.1:{}", free_port());
    let process = crate::spawn_cairn(
        dir,
        &["provider", "serve", "--upstream", node, "--listen", &listen, "--chain", CHAIN],
        &[("CAIRN_PROVIDER_KEY", DEV_KEY_1)],
    );
    let url = format!("http://{listen}/");
    let health = format!("{url}cairn/health");
    tokio::task::spawn_blocking(move || {
        let http = reqwest::blocking::Client::new();
        crate::wait_for("the sidecar to be healthy", || {
            http.get(&health).send().is_ok_and(|r| r.status() == 200)
        });
    })
    .await
    .unwrap();
    Sidecar { url, _process: process }
}

fn gateway_config(chain: &Chain) -> GatewayConfig {
    let mut config = GatewayConfig::default();
    config.hedging.enabled = false;
    config.pricing.asset = Some(format!("{:#x}", chain.deployment.stake_token));
    config.pricing.read = READ_PRICE;
    config.pricing.heavy = HEAVY_PRICE;
    config
}

async fn rpc_as(router: &axum::Router, token: Option<&str>, call: Value) -> Value {
    let answer =
        send(router, json_request("POST", &format!("/v1/rpc/{CHAIN}"), &call, token)).await;
    assert_eq!(answer.status, StatusCode::OK, "{answer:?}");
    assert!(answer.body["result"].is_string(), "answered: {answer:?}");
    answer.body
}

fn class<'a>(provider: &'a Value, name: &str) -> Option<&'a Value> {
    provider["classes"].as_array()?.iter().find(|c| c["class"] == name)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metered_calls_are_shown_paid_for_and_not_paid_twice_on_both_backends() {
    let node = anvil();
    let dir = tempfile::tempdir().unwrap();
    let served_by = sidecar(dir.path(), &node.endpoint()).await;
    let rpc = node.endpoint();
    let (_, deployment) = deploy_dev(&rpc, MIN_STAKE, 3600, 3600).await;
    register_provider(
        &rpc,
        &deployment,
        DEV_KEY_1,
        DEV_KEY_1,
        U256::from(MIN_STAKE),
        &[(CHAIN, &served_by.url)],
    )
    .await;
    let chain = Chain { anvil: node, deployment };
    // The wallet's deposit, which its intents spend.
    chain.deposit(DEV_KEY_2, 10 * TOKEN).await;
    let provider_id = format!("{CHAIN}:{}", address_of(DEV_KEY_1).to_checksum(None));
    let stores = cairn_test_utils::stores().await;
    for store in stores.both() {
        chain.index_into(store).await;
        let state = AppState::with_gateway(
            store.clone(),
            jwt_key(),
            auth_config(),
            service_config(),
            vec![chain.evm_chain()],
            gateway_config(&chain),
        );
        let router = app(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base: url::Url = format!("http://{}/", listener.local_addr().unwrap()).parse().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(serve(listener, state.clone(), async {
            let _ = stopped.await;
        }));

        let token = sign_in(&router, DEV_KEY_2).await;
        let balance_of = format!("{:#x}", address_of(DEV_KEY_2));
        for id in 0..5 {
            rpc_as(
                &router,
                Some(&token),
                json!({"jsonrpc": "2.0", "id": id, "method": "eth_blockNumber"}),
            )
            .await;
        }
        for id in 0..2 {
            rpc_as(
                &router,
                Some(&token),
                json!({"jsonrpc": "2.0", "id": id, "method": "eth_call",
                       "params": [{"to": balance_of, "data": "0x"}, "latest"]}),
            )
            .await;
        }
        // Anonymous calls, and one with a forged token: served, counted for nobody.
        for id in 0..3 {
            rpc_as(&router, None, json!({"jsonrpc": "2.0", "id": id, "method": "eth_chainId"}))
                .await;
        }
        rpc_as(
            &router,
            Some("not-a-token"),
            json!({"jsonrpc": "2.0", "id": 1, "method": "eth_chainId"}),
        )
        .await;

        let anonymous = get(&router, "/v1/usage").await;
        assert_eq!(
            (anonymous.status, anonymous.code()),
            (StatusCode::UNAUTHORIZED, "missing_token"),
            "{anonymous:?}"
        );
        let usage = get_with_token(&router, "/v1/usage", &token).await;
        assert_eq!(usage.status, StatusCode::OK, "{usage:?}");
        let body = &usage.body;
        assert_eq!(
            body["wallet"],
            format!("eip155:31337:{}", address_of(DEV_KEY_2).to_checksum(None))
        );
        assert_eq!(body["asset"], chain.deployment.stake_token.to_checksum(None));
        let providers = body["providers"].as_array().unwrap();
        assert_eq!(providers.len(), 1, "one provider served every call: {body}");
        let provider = &providers[0];
        assert_eq!(provider["provider"], provider_id);
        assert_eq!(provider["payee"], address_of(DEV_KEY_1).to_checksum(None));
        assert_eq!(provider["settlement"]["chain_id"], 31337);
        let read = class(provider, "read").expect("read calls");
        assert_eq!(read["calls"], 5, "only the wallet's own calls: {body}");
        assert_eq!(read["chain"], CHAIN);
        assert_eq!(read["price_per_call"], READ_PRICE.to_string());
        let heavy = class(provider, "heavy").expect("heavy calls");
        assert_eq!(heavy["calls"], 2, "{body}");
        assert!(class(provider, "write").is_none());
        let owed = 5 * READ_PRICE + 2 * HEAVY_PRICE;
        assert_eq!(provider["owed"], owed.to_string());
        assert_eq!(provider["paid"], "0");
        assert_eq!(provider["unpaid"], owed.to_string());
        assert_eq!(body["unpaid"], owed.to_string());

        // Another wallet has used nothing.
        let other = sign_in(&router, DEV_KEY_3).await;
        let theirs = get_with_token(&router, "/v1/usage", &other).await;
        assert_eq!(theirs.body["providers"], json!([]), "{theirs:?}");
        assert_eq!(theirs.body["unpaid"], "0");

        let client = cairn_client::Client::builder().timeout(Duration::from_secs(10)).build();
        let wrong = cairn_signer::LocalSigner::from_hex(DEV_KEY_3).unwrap();
        let refused = client.pay_usage(&base, &token, &wrong, Duration::from_secs(600)).await;
        let refused = refused.expect_err("another key cannot pay for this wallet");
        assert!(refused.paid.is_empty());
        assert!(
            matches!(refused.error, cairn_client::PayUsageError::WrongSigner { .. }),
            "{refused}"
        );
        let unchanged = get_with_token(&router, "/v1/usage", &token).await;
        assert_eq!(unchanged.body["providers"][0]["paid"], "0", "nothing was sent");

        let payer = cairn_signer::LocalSigner::from_hex(DEV_KEY_2).unwrap();
        let paid = client.pay_usage(&base, &token, &payer, Duration::from_secs(600)).await.unwrap();
        assert_eq!(paid.len(), 1, "{paid:?}");
        assert_eq!(paid[0].provider, provider_id);
        assert_eq!(paid[0].payee, address_of(DEV_KEY_1));
        assert_eq!(paid[0].asset, chain.deployment.stake_token);
        assert_eq!(paid[0].amount, U256::from(owed));
        let hash: alloy::primitives::B256 = paid[0].intent_hash.parse().unwrap();
        let record = store.intent(CHAIN, &hash).await.unwrap().expect("the intent was accepted");
        assert_eq!(record.intent.payer, address_of(DEV_KEY_2));
        assert_eq!(record.intent.amount, U256::from(owed));

        let after = get_with_token(&router, "/v1/usage", &token).await;
        let provider = &after.body["providers"][0];
        assert_eq!(provider["paid"], owed.to_string(), "{:?}", after);
        assert_eq!(provider["unpaid"], "0");
        assert_eq!(after.body["unpaid"], "0");
        let again =
            client.pay_usage(&base, &token, &payer, Duration::from_secs(600)).await.unwrap();
        assert!(again.is_empty(), "nothing was left to pay: {again:?}");

        // More calls, paid from the command line.
        for id in 0..4 {
            rpc_as(
                &router,
                Some(&token),
                json!({"jsonrpc": "2.0", "id": id, "method": "eth_blockNumber"}),
            )
            .await;
        }
        let base_text = base.to_string();
        let cli = |args: &'static [&'static str]| {
            let mut all = vec!["pay", "usage", "--service", base_text.as_str()];
            all.extend_from_slice(args);
            let env = [("CAIRN_PAYER_KEY", DEV_KEY_2), ("CAIRN_SESSION_TOKEN", token.as_str())];
            let (all, env): (Vec<String>, Vec<(String, String)>) = (
                all.iter().map(|s| (*s).to_owned()).collect(),
                env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
            );
            tokio::task::spawn_blocking(move || {
                let args: Vec<&str> = all.iter().map(String::as_str).collect();
                let env: Vec<(&str, &str)> =
                    env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                crate::cairn(&args, &env)
            })
        };
        let out = cli(&[]).await.unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        let printed = stdout(&out);
        assert!(
            printed.contains(&format!("paid {} of", 4 * READ_PRICE)),
            "pays only the new calls: {printed}"
        );
        assert!(printed.contains(&provider_id), "{printed}");
        let out = cli(&[]).await.unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(stdout(&out).contains("nothing unpaid"), "{}", stdout(&out));
        let settled = get_with_token(&router, "/v1/usage", &token).await;
        assert_eq!(settled.body["providers"][0]["unpaid"], "0");
        assert_eq!(settled.body["providers"][0]["paid"], (owed + 4 * READ_PRICE).to_string());

        let _ = stop.send(());
        server.await.unwrap().unwrap();
    }
    stores.cleanup().await;
}
