//! The canister's signing path (policy checks, digest rebuild, low-s, v by
//! recovery) produces signatures the deployed contracts accept: the ECDSA
//! step is a local key behind `EcdsaSigner`, everything else is the code the
//! wasm build runs.

use alloy::primitives::{Address, B256, U256, keccak256};
use cairn_bindings::{Registry, Settlement};
use cairn_registry_canister::{
    ethereum_address, sign_batch, sign_slash,
    signer::{batch_digest, slash_digest},
    types::{BatchRequest, SlashRequest},
};
use cairn_test_utils::{DEV_KEY_1, Mined, address_of, anvil, deploy_dev, fund_dev_token, wallet};

use crate::{LocalKey, TestEnv, buf, canister, service};

const TOKEN: u128 = 1_000_000_000_000_000_000;
const MIN_STAKE: u128 = 100 * TOKEN;

fn unix_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
}

#[tokio::test]
async fn canister_signatures_are_accepted_by_registry_slash_and_settle_batch() {
    let anvil = anvil();
    let rpc = anvil.endpoint();
    let (owner, deployment) = deploy_dev(&rpc, MIN_STAKE, 7 * 24 * 3600, 3600).await;

    let (state, _) = canister();
    let env = TestEnv::new();
    env.now.set(unix_now());
    let env = env.as_caller(service());
    let key = LocalKey::new();
    // The contracts trust the canister's key, as a deployment would after
    // reading `ethereum_address()`.
    let canister_address = Address::from_slice(&ethereum_address(&state, &key).await.unwrap());
    assert_ne!(canister_address, deployment.deployer);
    let registry = Registry::new(deployment.registry, &owner);
    registry.setSlasher(canister_address).mined().await;
    let vault = Settlement::new(deployment.settlement, &owner);
    vault.setSettlementSigner(canister_address).mined().await;

    // --- a registered provider, slashed by a canister signature
    let provider = address_of(DEV_KEY_1);
    fund_dev_token(
        &rpc,
        DEV_KEY_1,
        deployment.stake_token,
        U256::from(2 * MIN_STAKE),
        &[deployment.registry],
    )
    .await;
    Registry::new(deployment.registry, wallet(&rpc, DEV_KEY_1))
        .register(provider, U256::from(2 * MIN_STAKE))
        .mined()
        .await;
    let mut req = SlashRequest {
        chain_id: anvil.chain_id(),
        registry: buf(deployment.registry.as_slice()),
        provider: buf(provider.as_slice()),
        amount: 500,
        reason: 1,
        evidence_hash: buf(keccak256("conflicting answers").as_slice()),
        receipt_id: buf(keccak256("receipt").as_slice()),
        nonce: 42,
        deadline: unix_now() + 3600,
        digest: buf(&[0; 32]),
    };
    let (slash, digest) = slash_digest(&req).unwrap();
    assert_eq!(registry.hashSlash(Registry::Slash::from(&slash)).call().await.unwrap(), digest);
    req.digest = buf(digest.as_slice());
    // The threshold protocol may hand back either s; take the harder one.
    key.high_s.set(true);
    let signed = sign_slash(&state, env, &key, req).await.unwrap();
    registry.slash(Registry::Slash::from(&slash), signed.signature.to_vec().into()).mined().await;
    let info = registry.providerOf(provider).call().await.unwrap();
    assert_eq!(info.stake, 2 * MIN_STAKE - 500);

    // --- two chained batch commitments signed by the canister settle
    let empty_root = vault.deltasRootOf(vec![]).call().await.unwrap();
    let mut prev = B256::ZERO;
    for batch_id in 1..=2u64 {
        key.high_s.set(batch_id == 2);
        let mut req = BatchRequest {
            chain_id: anvil.chain_id(),
            settlement: buf(deployment.settlement.as_slice()),
            batch_id,
            prev_hash: buf(prev.as_slice()),
            window_start: 100 * batch_id,
            window_end: 100 * batch_id + 60,
            intents_root: buf(keccak256("no intents").as_slice()),
            deltas_root: buf(empty_root.as_slice()),
            intent_count: 0,
            delta_count: 0,
            receipt_id: buf(keccak256(format!("receipt {batch_id}")).as_slice()),
            digest: buf(&[0; 32]),
        };
        let (commitment, digest) = batch_digest(&req).unwrap();
        req.digest = buf(digest.as_slice());
        let signed = sign_batch(&state, env, &key, req).await.unwrap();
        vault
            .settleBatch(
                Settlement::BatchCommitment::from(&commitment),
                vec![],
                signed.signature.to_vec().into(),
            )
            .mined()
            .await;
        assert_eq!(vault.lastBatchId().call().await.unwrap(), batch_id);
        assert_eq!(vault.lastCommitmentHash().call().await.unwrap(), digest);
        prev = digest;
    }
}
