//! The registry takes any bytes as an endpoint's chain. An endpoint whose
//! chain holds a NUL byte (which PostgreSQL cannot store as text) or is not
//! CAIP-2 is recorded as a rejected event with its reason, and the indexer
//! goes on: the endpoints after it are indexed, on both backends alike.

use alloy::primitives::{B256, U256};
use cairn_bindings::Registry;
use cairn_test_utils::{DEV_KEY_1, Mined, stores};

use crate::{CHAIN, address_of, chain, wallet};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endpoint_the_store_cannot_hold_is_rejected_and_indexing_goes_on() {
    let chain = chain().await;
    chain.fund(DEV_KEY_1, 10_000).await;
    let me = address_of(DEV_KEY_1);
    let registry = Registry::new(chain.deployment.registry, wallet(&chain.anvil, DEV_KEY_1));
    registry.register(me, U256::from(1_000)).mined().await;
    for (chain_id, url) in [
        ("eip155:1\0", "https://nul.example"),
        ("not a chain", "https://bad.example"),
        ("eip155:1", "https://good.example"),
    ] {
        registry
            .addService(me, chain_id.into(), "rpc".into(), url.into(), B256::ZERO)
            .mined()
            .await;
    }

    let stores = stores().await;
    for store in stores.both() {
        chain.indexer(store, 0, 100).catch_up().await.expect("indexing goes on past them");
        let services = store.services(CHAIN).await.unwrap();
        let urls: Vec<&str> = services.iter().map(|s| s.url.as_str()).collect();
        assert_eq!(urls, ["https://good.example"], "{:?}", store.backend());
        let dump = store.dump(CHAIN).await.unwrap();
        let rejected: Vec<String> = dump["events"]
            .iter()
            .filter(|e| e[5] == "Rejected")
            .map(|e| e[6].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(rejected.len(), 2, "{:?}: {rejected:?}", store.backend());
        assert!(rejected[0].contains("is not a CAIP-2 chain id"), "{}", rejected[0]);
        assert!(!rejected[0].contains('\0'), "the reason holds the NUL escaped");
        // Every event the contract counted is in the log.
        let counted = cairn_bindings::Registry::new(chain.deployment.registry, &chain.deployer)
            .stateEventCount()
            .call()
            .await
            .unwrap();
        let registry_address = format!("{:#x}", chain.deployment.registry);
        assert_eq!(
            U256::from(store.event_count(CHAIN, &registry_address).await.unwrap()),
            counted,
            "{:?}",
            store.backend()
        );
    }
    assert_eq!(
        stores.sqlite.dump(CHAIN).await.unwrap(),
        stores.postgres.dump(CHAIN).await.unwrap(),
        "both backends hold the same"
    );
    stores.cleanup().await;
}
