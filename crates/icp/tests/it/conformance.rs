//! Conformance on anvil: a signature the registry canister's signing path
//! produces, asked for through `IcpSigner`, is what `Registry.slash` and
//! `Settlement.settleBatch` accept, and only for the message signed.

use alloy_primitives::{Address, B256, U256, keccak256};
use cairn_bindings::{DeployParams, Registry, Settlement};
use cairn_core::{
    eip712::{PaymentIntent, settlement_domain, signing_hash},
    netting::{BatchPolicy, Ledger},
};
use cairn_icp::IcpSigner;
use cairn_signer::{RequestSigner, SigningRequest};
use cairn_test_utils::{
    DEV_KEY_0, DEV_KEY_1, DEV_KEY_3, DEV_TREASURY, Mined, address_of, anvil, fund_dev_token, wallet,
};

use crate::support::{TOKEN, install, operator, slash};

#[tokio::test(flavor = "multi_thread")]
async fn canister_signatures_are_accepted_on_chain_and_only_for_the_message_signed() {
    let (_canister, as_service) = install();
    let signer = IcpSigner::connect(as_service).await.unwrap();
    let canister_address = RequestSigner::address(&signer);

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
        slasher: canister_address,
        treasury: Some(DEV_TREASURY),
        settlement_signer: canister_address,
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
    let registry = Registry::new(deployment.registry, wallet(&rpc, DEV_KEY_1));
    registry.register(operator().address(), U256::from(200 * TOKEN)).mined().await;

    let request = slash(1, TOKEN, provider, chain_id, deployment.registry);
    let SigningRequest::Slash { order, .. } = &request else { unreachable!() };
    let signature = signer.sign_request(&request).await.unwrap();
    let bytes = || signature.to_bytes().to_vec().into();
    // Refusals are checked with `eth_call`: a transaction that fails
    // estimation would still take a nonce from the wallet's cache.
    let mut changed = Registry::Slash::from(order);
    changed.amount += U256::from(1);
    assert!(registry.slash(changed, bytes()).call().await.is_err(), "amount changed");
    let mut changed = Registry::Slash::from(order);
    changed.nonce += U256::from(1);
    assert!(registry.slash(changed, bytes()).call().await.is_err(), "nonce changed");
    let mut changed = Registry::Slash::from(order);
    changed.provider = Address::repeat_byte(9);
    assert!(registry.slash(changed, bytes()).call().await.is_err(), "provider changed");

    registry.slash(Registry::Slash::from(order), bytes()).mined().await;
    assert_eq!(registry.providerOf(provider).call().await.unwrap().stake, 200 * TOKEN - TOKEN);
    assert!(
        registry.slash(Registry::Slash::from(order), bytes()).call().await.is_err(),
        "replayed on chain"
    );

    // Signed for another registry address: a valid canister signature, but
    // under another domain, so this registry refuses it.
    let request = slash(2, TOKEN, provider, chain_id, deployment.settlement);
    let SigningRequest::Slash { order, .. } = &request else { unreachable!() };
    let signature = signer.sign_request(&request).await.unwrap();
    let sent = registry
        .slash(Registry::Slash::from(order), signature.to_bytes().to_vec().into())
        .call()
        .await;
    assert!(sent.is_err(), "signed for the settlement contract's domain");

    // --- two chained batches: one payer deposits, pays two payees
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
    let vault = Settlement::new(deployment.settlement, &deployer);
    let mut prev_hash = B256::ZERO;
    for (batch_number, payee) in
        [(1u64, Address::repeat_byte(0xa1)), (2, Address::repeat_byte(0xa2))]
    {
        let intent = PaymentIntent {
            payer,
            payee,
            asset: deployment.stake_token,
            amount: U256::from(TOKEN),
            nonce: U256::from(batch_number),
            validUntil: u64::MAX,
        };
        ledger.accept(&intent, signing_hash(&intent, &domain), batch_number * 100).unwrap();
        let batch = ledger.close_batch(prev_hash, batch_number * 100 + 10).unwrap().clone();
        let commitment = batch.body.commit(keccak256(format!("batch receipt {batch_number}")));
        assert_eq!(commitment.batchId, batch_number);
        let request = SigningRequest::BatchCommitment {
            chain_id,
            settlement: deployment.settlement,
            commitment: commitment.clone(),
            batch: batch.clone(),
            previous: None,
        };
        let signature = signer.sign_request(&request).await.unwrap();
        let deltas = || batch.deltas.iter().map(Settlement::Delta::from).collect::<Vec<_>>();
        let sig = || signature.to_bytes().to_vec().into();
        let mut changed = Settlement::BatchCommitment::from(&commitment);
        changed.windowEnd += 1;
        assert!(
            vault.settleBatch(changed, deltas(), sig()).call().await.is_err(),
            "window changed"
        );
        let mut changed = Settlement::BatchCommitment::from(&commitment);
        changed.receiptId = B256::repeat_byte(7);
        assert!(
            vault.settleBatch(changed, deltas(), sig()).call().await.is_err(),
            "receipt changed"
        );
        vault
            .settleBatch(Settlement::BatchCommitment::from(&commitment), deltas(), sig())
            .mined()
            .await;
        assert_eq!(vault.lastBatchId().call().await.unwrap(), batch_number);
        ledger.settle(batch_number).unwrap();
        prev_hash = request.digest();
    }
    for payee in [Address::repeat_byte(0xa1), Address::repeat_byte(0xa2)] {
        assert_eq!(
            vault.balanceOf(payee, deployment.stake_token).call().await.unwrap(),
            U256::from(TOKEN)
        );
    }
}
