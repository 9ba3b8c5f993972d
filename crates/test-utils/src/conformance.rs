//! The on-anvil conformance every `RequestSigner` backend passes (the local
//! key, the threshold group, the ICP canister): its signatures are what
//! `Registry.slash` and `Settlement.settleBatch` accept, and nothing else —
//! not with any field changed, not on another chain or contract, not twice.

use alloy::{
    node_bindings::AnvilInstance,
    primitives::{Address, B256, U256, keccak256},
    signers::local::PrivateKeySigner,
};
use cairn_bindings::{DeployParams, Deployment, Registry, Settlement};
use cairn_core::{
    eip712::{PaymentIntent, Slash, settlement_domain, signing_hash},
    netting::{BatchPolicy, Ledger},
};
use cairn_signer::{RequestSigner, SigningRequest};

use crate::{
    DEV_KEY_0, DEV_KEY_1, DEV_KEY_3, DEV_TREASURY, Mined, address_of, anvil,
    evidence::conflicting_answers, fund_dev_token, wallet,
};

const TOKEN: u128 = 1_000_000_000_000_000_000;

/// The operator the conformance evidence accuses.
pub fn evidence_operator() -> PrivateKeySigner {
    PrivateKeySigner::from_slice(&[0x42; 32]).expect("a valid key")
}

/// Unix seconds now.
pub fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// A slash of `amount` of `provider` at `registry` on `chain_id`, backed by
/// conflicting answers of [`evidence_operator`], due in ten minutes.
pub fn slash_request(
    nonce: u64,
    amount: u128,
    provider: Address,
    chain_id: u64,
    registry: Address,
) -> SigningRequest {
    let evidence = conflicting_answers(&evidence_operator());
    SigningRequest::Slash {
        chain_id,
        registry,
        order: Slash {
            provider,
            amount: U256::from(amount),
            reason: 1,
            evidenceHash: evidence.hash(),
            receiptId: B256::repeat_byte(0xab),
            nonce: U256::from(nonce),
            deadline: now() + 600,
        },
        operator: evidence_operator().address(),
        evidence,
    }
}

/// What the run left behind, for checks of the backend's own (a backend
/// asked for a nonce it signed already, say).
#[derive(Debug)]
pub struct Conformance {
    pub node: AnvilInstance,
    pub deployment: Deployment,
    /// The provider slashed with nonce 1 (nonces 2 and 3 are signed too).
    pub provider: Address,
    pub chain_id: u64,
}

/// Deploys with `signer` as slasher and settlement signer, then: a slash
/// signed through it is refused with its amount, nonce, receipt or provider
/// changed, accepted as signed, refused again; a slash signed for another
/// chain or contract is refused; two chained batches are refused with their
/// window or receipt changed and accepted as signed, paying their payees.
pub async fn signatures_are_accepted_on_chain_and_only_for_the_message_signed(
    signer: &dyn RequestSigner,
) -> Conformance {
    let signer_address = signer.address();
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
        slasher: signer_address,
        treasury: Some(DEV_TREASURY),
        settlement_signer: signer_address,
        withdrawal_delay: 3600,
        extra_assets: vec![],
    };
    let deployment = cairn_bindings::deploy(&deployer, address_of(DEV_KEY_0), &params)
        .await
        .expect("the contracts deploy");

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
    registry.register(evidence_operator().address(), U256::from(200 * TOKEN)).mined().await;

    let request = slash_request(1, TOKEN, provider, chain_id, deployment.registry);
    let SigningRequest::Slash { order, .. } = &request else { unreachable!() };
    let signature = signer.sign_request(&request).await.expect("the slash is signed");
    let bytes = || signature.to_bytes().to_vec().into();
    // Refusals are checked with `eth_call`: a transaction that fails
    // estimation would still take a nonce from the wallet's cache.
    let refused = |changed: Registry::Slash, what: &str| {
        let call = registry.slash(changed, bytes());
        let what = what.to_owned();
        async move { assert!(call.call().await.is_err(), "accepted with the {what} changed") }
    };
    let mut changed = Registry::Slash::from(order);
    changed.amount += U256::from(1);
    refused(changed, "amount").await;
    let mut changed = Registry::Slash::from(order);
    changed.nonce += U256::from(1);
    refused(changed, "nonce").await;
    let mut changed = Registry::Slash::from(order);
    changed.receiptId = B256::repeat_byte(1);
    refused(changed, "receipt id").await;
    let mut changed = Registry::Slash::from(order);
    changed.provider = Address::repeat_byte(9);
    refused(changed, "provider").await;

    registry.slash(Registry::Slash::from(order), bytes()).mined().await;
    let stake = registry.providerOf(provider).call().await.expect("providerOf").stake;
    assert_eq!(stake, 200 * TOKEN - TOKEN, "the slash took its amount");
    assert!(
        registry.slash(Registry::Slash::from(order), bytes()).call().await.is_err(),
        "replayed on chain"
    );

    // Signed for another chain or another contract: valid signatures under
    // another domain, which this registry refuses.
    let elsewhere = [(chain_id + 1, deployment.registry), (chain_id, deployment.settlement)];
    for (nonce, (other_chain, other_registry)) in (2u64..).zip(elsewhere) {
        let request = slash_request(nonce, TOKEN, provider, other_chain, other_registry);
        let SigningRequest::Slash { order, .. } = &request else { unreachable!() };
        let signature = signer.sign_request(&request).await.expect("the slash is signed");
        let sent = registry
            .slash(Registry::Slash::from(order), signature.to_bytes().to_vec().into())
            .call()
            .await;
        assert!(sent.is_err(), "signed for chain {other_chain} at {other_registry}");
    }

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
    ledger.deposit(payer, deployment.stake_token, 50 * TOKEN).expect("deposit");
    let vault = Settlement::new(deployment.settlement, &deployer);
    let mut previous: Option<cairn_signer::SignedCommitment> = None;
    let payees = [Address::repeat_byte(0xa1), Address::repeat_byte(0xa2)];
    for (batch_id, payee) in (1u64..).zip(payees) {
        let intent = PaymentIntent {
            payer,
            payee,
            asset: deployment.stake_token,
            amount: U256::from(TOKEN),
            nonce: U256::from(batch_id),
            validUntil: u64::MAX,
        };
        ledger.accept(&intent, signing_hash(&intent, &domain), batch_id * 100).expect("accepted");
        let prev_hash =
            previous.as_ref().map_or(B256::ZERO, |p| signing_hash(&p.commitment, &domain));
        let batch = ledger.close_batch(prev_hash, batch_id * 100 + 10).expect("closes").clone();
        let commitment = batch.body.commit(keccak256(format!("batch receipt {batch_id}")));
        let request = SigningRequest::BatchCommitment {
            chain_id,
            settlement: deployment.settlement,
            commitment: commitment.clone(),
            batch: batch.clone(),
            previous: previous.take().map(Box::new),
        };
        let signature = signer.sign_request(&request).await.expect("the batch is signed");
        let deltas = || batch.deltas.iter().map(Settlement::Delta::from).collect::<Vec<_>>();
        let sig = || signature.to_bytes().to_vec().into();
        let mut changed = Settlement::BatchCommitment::from(&commitment);
        changed.windowEnd += 1;
        assert!(
            vault.settleBatch(changed, deltas(), sig()).call().await.is_err(),
            "batch {batch_id} accepted with its window changed"
        );
        let mut changed = Settlement::BatchCommitment::from(&commitment);
        changed.receiptId = B256::repeat_byte(7);
        assert!(
            vault.settleBatch(changed, deltas(), sig()).call().await.is_err(),
            "batch {batch_id} accepted with its receipt changed"
        );
        vault
            .settleBatch(Settlement::BatchCommitment::from(&commitment), deltas(), sig())
            .mined()
            .await;
        assert_eq!(vault.lastBatchId().call().await.expect("lastBatchId"), batch_id);
        ledger.settle(batch_id).expect("settles in the model");
        previous = Some(cairn_signer::SignedCommitment { commitment, signature });
    }
    for payee in payees {
        let balance = vault.balanceOf(payee, deployment.stake_token).call().await.expect("balance");
        assert_eq!(balance, U256::from(TOKEN), "payee {payee}");
    }
    Conformance { node, deployment, provider, chain_id }
}
