//! Tests of the bindings and the deployer against a real anvil.

mod differential;
mod end_to_end;

use alloy::{node_bindings::AnvilInstance, providers::DynProvider};
use cairn_bindings::Deployment;
pub(crate) use cairn_test_utils::address_of;
use cairn_test_utils::{anvil, deploy_dev};

pub(crate) const UNBONDING: u64 = 7 * 24 * 3600;
pub(crate) const MIN_STAKE: u128 = 100_000_000_000_000_000_000;

/// A provider that signs with `key`.
pub(crate) fn wallet(anvil: &AnvilInstance, key: &str) -> DynProvider {
    cairn_test_utils::wallet(&anvil.endpoint(), key)
}

/// A fresh anvil with Cairn deployed by dev key 0, which also signs slashes
/// and batches.
pub(crate) async fn deployed() -> (AnvilInstance, DynProvider, Deployment) {
    let anvil = anvil();
    let (provider, deployment) = deploy_dev(&anvil.endpoint(), MIN_STAKE, UNBONDING, 3600).await;
    (anvil, provider, deployment)
}
