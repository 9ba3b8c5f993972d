use std::sync::Arc;

use alloy_primitives::Address;
use cairn_icp::{
    InProcessCanister, RegistryCanister,
    types::{InitArgs, SignPolicy},
};
use cairn_signer::SigningRequest;
use candid::Principal;
use k256::ecdsa::SigningKey;

pub(crate) const TOKEN: u128 = 1_000_000_000_000_000_000;
pub(crate) const MAX_SLASH: u128 = 10 * TOKEN;

pub(crate) fn canister_id() -> Principal {
    Principal::from_slice(&[0, 0, 0, 0, 0, 0, 0, 1, 1, 1])
}

pub(crate) fn controller() -> Principal {
    Principal::from_slice(&[0xc0; 29])
}

/// The Cairn service's identity, listed in `InitArgs.signers`.
pub(crate) fn service() -> Principal {
    Principal::from_slice(&[0x5e; 29])
}

pub(crate) fn stranger() -> Principal {
    Principal::from_slice(&[0x77; 29])
}

pub(crate) fn init_args() -> InitArgs {
    InitArgs {
        key_name: "dfx_test_key".into(),
        signers: vec![service()],
        policy: SignPolicy {
            max_slash_amount: MAX_SLASH,
            reasons: vec![1, 2, 3],
            max_slashes_per_window: 10,
            rate_window_secs: 3600,
            max_deadline_secs: 3600,
        },
        name_ttl_secs: 30 * 24 * 3600,
        stake_ledger: None,
    }
}

/// A freshly installed canister with its own key (not a dev key: nothing
/// else can sign as it), and a handle calling as the service identity.
pub(crate) fn install() -> (InProcessCanister, Arc<dyn RegistryCanister>) {
    let key = SigningKey::from_slice(&[0x3c; 32]).unwrap();
    let canister = InProcessCanister::install(canister_id(), controller(), init_args(), key)
        .expect("the in-process canister starts");
    let as_service: Arc<dyn RegistryCanister> = Arc::new(canister.as_caller(service()));
    (canister, as_service)
}

pub(crate) use cairn_test_utils::conformance::now;

/// A slash of `amount` of `provider`, backed by conflicting answers of `operator()`.
pub(crate) fn slash(
    nonce: u64,
    amount: u128,
    provider: Address,
    chain_id: u64,
    registry: Address,
) -> SigningRequest {
    cairn_test_utils::conformance::slash_request(nonce, amount, provider, chain_id, registry)
}

pub(crate) const REGISTRY: Address = Address::repeat_byte(0x11);
pub(crate) const PROVIDER: Address = Address::repeat_byte(0x22);
