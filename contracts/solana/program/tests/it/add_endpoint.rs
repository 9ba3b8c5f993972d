use cairn_core::id::{ChainId, ServiceId};
use cairn_solana_interface::{
    CairnError, ID, digest::service_id, endpoint_address, event::Event, instruction as ix,
    state::Endpoint,
};
use solana_sdk::signature::Signer;

use crate::common::Env;

const CHAIN: &str = "solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp";
const URL: &str = "https://rpc.example.org";

#[tokio::test]
async fn the_operator_adds_an_endpoint_under_the_core_service_id() {
    let mut env = Env::initialized().await;
    let s = env.registered(2_000).await;
    let provider = s.key.pubkey();
    let i = ix::add_endpoint(&ID, &s.operator.pubkey(), &provider, CHAIN, "json-rpc", URL, [9; 32]);
    let out = env.send(&[i], &[&s.operator]).await;
    out.ok();
    let id = service_id(&provider, CHAIN, "json-rpc", URL);
    let core_id = ServiceId::compute(
        &provider.to_bytes(),
        &CHAIN.parse::<ChainId>().unwrap(),
        "json-rpc",
        URL,
    );
    assert_eq!(id, core_id.0.0);
    assert_eq!(
        out.events,
        vec![Event::EndpointAdded {
            provider,
            service_id: id,
            chain: CHAIN.into(),
            kind: "json-rpc".into(),
            url: URL.into(),
            metadata_hash: [9; 32],
        }]
    );
    let account = env
        .ctx
        .banks_client
        .get_account(endpoint_address(&ID, &provider, &id).0)
        .await
        .unwrap()
        .unwrap();
    let e = Endpoint::unpack(&account.data).unwrap();
    assert_eq!((e.url.as_str(), e.provider), (URL, provider));
    assert_eq!(env.provider(&provider).await.unwrap().endpoint_count, 1);
}

#[tokio::test]
async fn the_provider_key_is_not_the_operator() {
    let mut env = Env::initialized().await;
    let s = env.registered(2_000).await;
    let provider = s.key.pubkey();
    let i = ix::add_endpoint(&ID, &provider, &provider, CHAIN, "json-rpc", URL, [0; 32]);
    env.send(&[i], &[&s.key]).await.err(CairnError::NotOperator);
}

#[tokio::test]
async fn add_without_the_operator_signature_is_rejected() {
    let mut env = Env::initialized().await;
    let s = env.registered(2_000).await;
    let mut i = ix::add_endpoint(
        &ID,
        &s.operator.pubkey(),
        &s.key.pubkey(),
        CHAIN,
        "json-rpc",
        URL,
        [0; 32],
    );
    i.accounts[0].is_signer = false;
    env.send(&[i], &[]).await.err(CairnError::MissingSigner);
}

#[tokio::test]
async fn invalid_records_are_rejected() {
    let mut env = Env::initialized().await;
    let s = env.registered(2_000).await;
    for (chain, kind, url) in [
        (CHAIN, "json-rpc", "ftp://rpc.example.org"),
        (CHAIN, "JSON", URL),
        ("solana", "json-rpc", URL),
        (CHAIN, "json-rpc", "https://"),
    ] {
        let i =
            ix::add_endpoint(&ID, &s.operator.pubkey(), &s.key.pubkey(), chain, kind, url, [0; 32]);
        env.send(&[i], &[&s.operator]).await.err(CairnError::InvalidEndpoint);
    }
}

#[tokio::test]
async fn adding_the_same_endpoint_twice_is_rejected() {
    let mut env = Env::initialized().await;
    let s = env.registered(2_000).await;
    let i = ix::add_endpoint(
        &ID,
        &s.operator.pubkey(),
        &s.key.pubkey(),
        CHAIN,
        "json-rpc",
        URL,
        [0; 32],
    );
    env.send(std::slice::from_ref(&i), &[&s.operator]).await.ok();
    env.send(&[i], &[&s.operator]).await.err(CairnError::AlreadyInitialized);
    assert_eq!(env.provider(&s.key.pubkey()).await.unwrap().endpoint_count, 1);
}

#[tokio::test]
async fn an_endpoint_account_for_another_record_is_rejected() {
    let mut env = Env::initialized().await;
    let s = env.registered(2_000).await;
    let mut i = ix::add_endpoint(
        &ID,
        &s.operator.pubkey(),
        &s.key.pubkey(),
        CHAIN,
        "json-rpc",
        URL,
        [0; 32],
    );
    let other = service_id(&s.key.pubkey(), CHAIN, "json-rpc", "https://other.example.org");
    i.accounts[2].pubkey = endpoint_address(&ID, &s.key.pubkey(), &other).0;
    env.send(&[i], &[&s.operator]).await.err(CairnError::WrongAddress);
}
