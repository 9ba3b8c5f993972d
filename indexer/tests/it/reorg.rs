//! Reorgs made with anvil snapshots: after the chain drops blocks the store
//! already holds and grows a different, longer branch, the store must equal
//! a clean index of the canonical chain — on both backends, for a reorg
//! deeper than one block.

use alloy::{
    primitives::{B256, U256},
    providers::Provider,
};
use cairn_bindings::{Registry, Settlement};
use cairn_indexer::Step;
use cairn_test_utils::{DEV_KEY_1, DEV_KEY_2, Mined, stores};

use crate::{CHAIN, address_of, chain, wallet};

#[tokio::test]
async fn a_multi_block_reorg_ends_equal_to_a_clean_index() {
    let chain = chain().await;
    let d = chain.deployment.clone();
    let p1 = address_of(DEV_KEY_1);
    chain.fund(DEV_KEY_1, 10_000).await;
    chain.fund(DEV_KEY_2, 10_000).await;
    let as_p1 = Registry::new(d.registry, wallet(&chain.anvil, DEV_KEY_1));
    as_p1.register(p1, U256::from(500)).mined().await;

    let stores = stores().await;
    // Finality depth 20: every block stays reorgable.
    let mut indexers: Vec<_> = stores.both().iter().map(|s| chain.indexer(s, 20, 50)).collect();
    for indexer in &mut indexers {
        indexer.catch_up().await.unwrap();
    }

    let snapshot: U256 = chain.deployer.raw_request("evm_snapshot".into(), ()).await.unwrap();
    let fork = chain.head().await;
    // The branch that will be dropped: an endpoint, more stake, a deposit.
    as_p1
        .addService(p1, "eip155:1".into(), "rpc".into(), "https://old.example".into(), B256::ZERO)
        .mined()
        .await;
    as_p1.addStake(U256::from(50)).mined().await;
    Settlement::new(d.settlement, wallet(&chain.anvil, DEV_KEY_1))
        .deposit(d.stake_token, U256::from(70))
        .mined()
        .await;
    for indexer in &mut indexers {
        indexer.catch_up().await.unwrap();
    }
    for store in stores.both() {
        assert_eq!(store.services(CHAIN).await.unwrap().len(), 1, "old branch indexed");
    }

    let reverted: bool =
        chain.deployer.raw_request("evm_revert".into(), (snapshot,)).await.unwrap();
    assert!(reverted);
    // The new branch: another operator, another endpoint, another payer,
    // and two more blocks than the old one. A fresh provider: the old one
    // caches nonces from the dropped branch.
    let as_p1 = Registry::new(d.registry, wallet(&chain.anvil, DEV_KEY_1));
    as_p1.setOperator(address_of(DEV_KEY_2)).mined().await;
    let as_operator = Registry::new(d.registry, wallet(&chain.anvil, DEV_KEY_2));
    as_operator
        .addService(p1, "eip155:10".into(), "rpc".into(), "https://new.example".into(), B256::ZERO)
        .mined()
        .await;
    Settlement::new(d.settlement, wallet(&chain.anvil, DEV_KEY_2))
        .deposit(d.stake_token, U256::from(90))
        .mined()
        .await;
    let _: serde_json::Value = chain.deployer.raw_request("anvil_mine".into(), (2,)).await.unwrap();
    assert!(chain.head().await > fork + 3);

    for (indexer, store) in indexers.iter_mut().zip(stores.both()) {
        let mut saw_reorg = None;
        loop {
            match indexer.step().await.unwrap() {
                Step::Reorg { fork } => saw_reorg = Some(fork),
                Step::Idle { .. } => break,
                _ => {}
            }
        }
        assert_eq!(saw_reorg, Some(fork), "rolled back to the last common block");
        assert_eq!(indexer.metrics().reorgs.load(std::sync::atomic::Ordering::Relaxed), 1);

        let clean_stores = cairn_test_utils::stores().await;
        let clean = if store.backend() == cairn_store::Backend::Sqlite {
            &clean_stores.sqlite
        } else {
            &clean_stores.postgres
        };
        chain.indexer(clean, 20, 50).catch_up().await.unwrap();
        assert_eq!(
            store.dump(CHAIN).await.unwrap(),
            clean.dump(CHAIN).await.unwrap(),
            "{:?}",
            store.backend()
        );
        let services = store.services(CHAIN).await.unwrap();
        assert_eq!(services.len(), 1);
        assert_eq!(services[0].url, "https://new.example");
        let providers = store.providers(CHAIN).await.unwrap();
        assert_eq!(providers[0].operator, format!("{:#x}", address_of(DEV_KEY_2)));
        assert_eq!(providers[0].stake, U256::from(500), "the old branch's stake is gone");
        let token = format!("{:#x}", d.stake_token);
        assert_eq!(store.balance(CHAIN, &format!("{p1:#x}"), &token).await.unwrap(), U256::ZERO);
        assert_eq!(
            store.balance(CHAIN, &format!("{:#x}", address_of(DEV_KEY_2)), &token).await.unwrap(),
            U256::from(90)
        );
        clean_stores.cleanup().await;
    }
    stores.cleanup().await;
}
