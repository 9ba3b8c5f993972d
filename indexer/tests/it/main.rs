//! The indexer against a real anvil and both store backends.

mod faults;
mod rejected_events;
mod reorg;
mod scripted_history;
mod websocket;

use std::sync::Arc;

use alloy::{
    node_bindings::AnvilInstance,
    primitives::U256,
    providers::{DynProvider, Provider},
};
use cairn_bindings::Deployment;
use cairn_config::IndexerConfig;
use cairn_indexer::{Contracts, Indexer, IndexerSettings, Metrics};
use cairn_store::Store;
pub(crate) use cairn_test_utils::address_of;
use cairn_test_utils::{anvil, deploy_dev};

pub(crate) const CHAIN: &str = "eip155:31337";
pub(crate) const UNBONDING: u64 = 3_600;
pub(crate) const MIN_STAKE: u128 = 100;

pub(crate) fn wallet(anvil: &AnvilInstance, key: &str) -> DynProvider {
    cairn_test_utils::wallet(&anvil.endpoint(), key)
}

pub(crate) struct Chain {
    pub(crate) anvil: AnvilInstance,
    pub(crate) deployer: DynProvider,
    pub(crate) deployment: Deployment,
}

/// Anvil with Cairn deployed by dev key 0 (also slasher and settlement signer).
pub(crate) async fn chain() -> Chain {
    let anvil = anvil();
    let (deployer, deployment) = deploy_dev(&anvil.endpoint(), MIN_STAKE, UNBONDING, 60).await;
    Chain { anvil, deployer, deployment }
}

impl Chain {
    pub(crate) fn indexer(
        &self,
        store: &Store,
        finality_depth: u64,
        max_range_blocks: u64,
    ) -> Indexer {
        let tuning = IndexerConfig {
            max_range_blocks,
            poll_interval_ms: 10,
            backoff_initial_ms: 5,
            backoff_max_ms: 20,
            ..IndexerConfig::default()
        };
        Indexer::new(
            store.clone(),
            &[self.anvil.endpoint_url()],
            self.settings(finality_depth, tuning),
            Arc::new(Metrics::default()),
        )
    }

    /// Settings for indexing this chain's deployment.
    pub(crate) fn settings(&self, finality_depth: u64, tuning: IndexerConfig) -> IndexerSettings {
        IndexerSettings {
            chain: CHAIN.into(),
            contracts: Contracts {
                registry: self.deployment.registry,
                settlement: self.deployment.settlement,
            },
            start_block: self.deployment.start_block,
            finality_depth,
            tuning,
        }
    }

    /// Mints dev tokens to `key`'s account and approves both contracts.
    pub(crate) async fn fund(&self, key: &str, amount: u128) {
        let spenders = [self.deployment.registry, self.deployment.settlement];
        let token = self.deployment.stake_token;
        cairn_test_utils::fund_dev_token(
            &self.anvil.endpoint(),
            key,
            token,
            U256::from(amount),
            &spenders,
        )
        .await;
    }

    pub(crate) async fn head(&self) -> u64 {
        self.deployer.get_block_number().await.unwrap()
    }
}
