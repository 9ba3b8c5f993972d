//! Conformance on anvil: a threshold signature over a typed request is what
//! `Registry.slash` and `Settlement.settleBatch` accept, and nothing else is.

use alloy_primitives::{Address, B256, U256, keccak256};
use cairn_bindings::{DeployParams, Registry, Settlement};
use cairn_core::{
    eip712::{PaymentIntent, settlement_domain, signing_hash},
    netting::{BatchPolicy, Ledger},
};
use cairn_test_utils::{
    DEV_KEY_0, DEV_KEY_1, DEV_KEY_3, DEV_TREASURY, Mined, address_of, anvil, fund_dev_token, wallet,
};
use cairn_threshold::{Policy, SigningRequest, ThresholdError};

use crate::support::{group, operator, slash};

const TOKEN: u128 = 1_000_000_000_000_000_000;

#[tokio::test(flavor = "multi_thread")]
async fn threshold_signatures_are_accepted_on_chain_and_only_for_the_message_signed() {
    let (_dir, _parties, signer) =
        group(2, 3, Policy { max_slashes_per_provider: 10, ..Policy::default() }).await;
    let group_address = signer.group_key().address;
    let node = anvil();
    let rpc = node.endpoint();
    let chain_id = node.chain_id();
    let deployer = wallet(&rpc, DEV_KEY_0);
    let params = DeployParams {
        stake_token: None,
        min_stake: 100 * TOKEN,
        unbonding_period: 3600,
        max_services_per_provider: 8,
        owner: None,
        slasher: group_address,
        treasury: Some(DEV_TREASURY),
        settlement_signer: group_address,
        withdrawal_delay: 3600,
        extra_assets: vec![],
    };
    let deployment =
        cairn_bindings::deploy(&deployer, address_of(DEV_KEY_0), &params).await.unwrap();

    // --- a provider whose operator is the one the evidence accuses
    let provider = address_of(DEV_KEY_1);
    fund_dev_token(
        &rpc,
        DEV_KEY_1,
        deployment.stake_token,
        U256::from(1_000 * TOKEN),
        &[deployment.registry],
    )
    .await;
    let as_provider = wallet(&rpc, DEV_KEY_1);
    let registry = Registry::new(deployment.registry, &as_provider);
    registry.register(operator().address(), U256::from(200 * TOKEN)).mined().await;

    let request = slash(1, provider, chain_id, deployment.registry);
    let SigningRequest::Slash { order, .. } = &request else { unreachable!() };
    let signature = signer.sign_request(&request).await.unwrap();
    let bytes = || signature.to_bytes().to_vec().into();
    // Refusals are checked with `eth_call`: a transaction that fails
    // estimation would still take a nonce from the wallet's cache.

    // Any changed field, and the signature no longer recovers to the slasher.
    let mut changed = Registry::Slash::from(order);
    changed.amount += U256::from(1);
    assert!(registry.slash(changed, bytes()).call().await.is_err(), "amount changed");
    let mut changed = Registry::Slash::from(order);
    changed.receiptId = B256::repeat_byte(1);
    assert!(registry.slash(changed, bytes()).call().await.is_err(), "receipt id changed");
    let mut changed = Registry::Slash::from(order);
    changed.provider = Address::repeat_byte(9);
    assert!(registry.slash(changed, bytes()).call().await.is_err(), "provider changed");

    registry.slash(Registry::Slash::from(order), bytes()).mined().await;
    assert_eq!(registry.providerOf(provider).call().await.unwrap().stake, 200 * TOKEN - TOKEN);
    // The same order again: the contract refuses the nonce, the parties refuse to sign it.
    assert!(
        registry.slash(Registry::Slash::from(order), bytes()).call().await.is_err(),
        "replayed"
    );
    match signer.sign_request(&slash(1, provider, chain_id, deployment.registry)).await {
        Err(ThresholdError::Refused { reason, .. }) => {
            assert!(reason.contains("nonce 1"), "{reason}")
        }
        other => panic!("a reused nonce must be refused, got {other:?}"),
    }

    // Signed for another chain or another contract: valid signatures, wrong domain.
    for (other_chain, other_registry) in
        [(chain_id + 1, deployment.registry), (chain_id, deployment.settlement)]
    {
        let request = slash(2, provider, other_chain, other_registry);
        let SigningRequest::Slash { order, .. } = &request else { unreachable!() };
        let signature = signer.sign_request(&request).await.unwrap();
        let sent = registry
            .slash(Registry::Slash::from(order), signature.to_bytes().to_vec().into())
            .call()
            .await;
        assert!(sent.is_err(), "signed for chain {other_chain} at {other_registry}");
    }

    // --- a batch: one payer deposits, pays two payees
    let payer = address_of(DEV_KEY_3);
    fund_dev_token(
        &rpc,
        DEV_KEY_3,
        deployment.stake_token,
        U256::from(100 * TOKEN),
        &[deployment.settlement],
    )
    .await;
    Settlement::new(deployment.settlement, wallet(&rpc, DEV_KEY_3))
        .deposit(deployment.stake_token, U256::from(50 * TOKEN))
        .mined()
        .await;
    let domain = settlement_domain(chain_id, deployment.settlement);
    let mut ledger = Ledger::new(
        BatchPolicy { min_intents: 1, max_intents: 100, window_seconds: 60, max_deltas: 1_000 },
        vec![deployment.stake_token],
        1,
        0,
    );
    ledger.deposit(payer, deployment.stake_token, 50 * TOKEN).unwrap();
    for (nonce, payee) in [(1u64, Address::repeat_byte(0xa1)), (2, Address::repeat_byte(0xa2))] {
        let intent = PaymentIntent {
            payer,
            payee,
            asset: deployment.stake_token,
            amount: U256::from(TOKEN),
            nonce: U256::from(nonce),
            validUntil: u64::MAX,
        };
        ledger.accept(&intent, signing_hash(&intent, &domain), 0).unwrap();
    }
    let batch = ledger.close_batch(B256::ZERO, 10).unwrap().clone();
    let commitment = batch.body.commit(keccak256("batch receipt"));
    let request = SigningRequest::BatchCommitment {
        chain_id,
        settlement: deployment.settlement,
        commitment: commitment.clone(),
        batch: batch.clone(),
        previous: None,
    };
    let signature = signer.sign_request(&request).await.unwrap();
    let vault = Settlement::new(deployment.settlement, &deployer);
    let deltas = || batch.deltas.iter().map(Settlement::Delta::from).collect::<Vec<_>>();
    let mut changed = Settlement::BatchCommitment::from(&commitment);
    changed.windowEnd += 1;
    assert!(
        vault
            .settleBatch(changed, deltas(), signature.to_bytes().to_vec().into())
            .call()
            .await
            .is_err(),
        "window changed"
    );
    vault
        .settleBatch(
            Settlement::BatchCommitment::from(&commitment),
            deltas(),
            signature.to_bytes().to_vec().into(),
        )
        .mined()
        .await;
    assert_eq!(vault.lastBatchId().call().await.unwrap(), 1);
    assert_eq!(
        vault.balanceOf(Address::repeat_byte(0xa1), deployment.stake_token).call().await.unwrap(),
        U256::from(TOKEN)
    );
}
