//! Tests of the bindings and the deployer against a real anvil.

mod differential;
mod end_to_end;

use alloy::{
    node_bindings::AnvilInstance,
    primitives::Address,
    providers::{DynProvider, Provider, ProviderBuilder},
    signers::local::PrivateKeySigner,
};
use cairn_bindings::{DeployParams, Deployment, deploy};
use cairn_test_utils::{DEV_KEY_0, anvil};

pub(crate) const UNBONDING: u64 = 7 * 24 * 3600;
pub(crate) const MIN_STAKE: u128 = 100_000_000_000_000_000_000;

/// A provider that signs with `key`.
pub(crate) fn wallet(anvil: &AnvilInstance, key: &str) -> DynProvider {
    let signer: PrivateKeySigner = key.parse().expect("dev key");
    ProviderBuilder::new().wallet(signer).connect_http(anvil.endpoint_url()).erased()
}

pub(crate) fn address_of(key: &str) -> Address {
    key.parse::<PrivateKeySigner>().expect("dev key").address()
}

/// A fresh anvil with Cairn deployed by dev key 0, which also signs slashes
/// and batches.
pub(crate) async fn deployed() -> (AnvilInstance, DynProvider, Deployment) {
    let anvil = anvil();
    let provider = wallet(&anvil, DEV_KEY_0);
    let deployer = address_of(DEV_KEY_0);
    let params = DeployParams {
        stake_token: None,
        min_stake: MIN_STAKE,
        unbonding_period: UNBONDING,
        max_services_per_provider: 8,
        owner: None,
        slasher: deployer,
        treasury: Some(Address::repeat_byte(0x7e)),
        settlement_signer: deployer,
        withdrawal_delay: 3600,
        extra_assets: vec![],
    };
    let deployment = deploy(&provider, deployer, &params).await.expect("deploys");
    (anvil, provider, deployment)
}
