//! The whole on-chain path through the bindings: a provider registers and
//! adds an endpoint, gets slashed by a locally signed attestation, and a
//! batch of signed intents netted by `cairn-core` settles.

use std::num::NonZeroUsize;

use alloy::primitives::{Address, B256, U256, keccak256};
use cairn_bindings::{DevToken, Registry, Settlement};
use cairn_core::{
    eip712::{PaymentIntent, Slash, registry_domain, settlement_domain, signing_hash},
    intent::{SignedIntent, verify_intents},
    netting::{BatchPolicy, Ledger},
};
use cairn_signer::{LocalSigner, Signer, sign_typed};
use cairn_test_utils::{DEV_KEY_0, DEV_KEY_1, DEV_KEY_2, DEV_KEY_3, Mined, fund_dev_token};

use crate::{MIN_STAKE, address_of, deployed, wallet};

const TOKEN: u128 = 1_000_000_000_000_000_000;

#[tokio::test]
async fn register_slash_and_settle_through_the_bindings() {
    let (anvil, deployer_provider, deployment) = deployed().await;
    let chain_id = anvil.chain_id();
    let written = std::env::temp_dir().join(format!("cairn-deployment-{}.json", anvil.port()));
    deployment.write(&written).unwrap();
    assert_eq!(cairn_bindings::Deployment::read(&written).unwrap(), deployment);
    std::fs::remove_file(&written).unwrap();

    // --- register and add an endpoint
    let provider_key = DEV_KEY_1;
    let provider_address = address_of(provider_key);
    let operator_address = address_of(DEV_KEY_2);
    let as_provider = wallet(&anvil, provider_key);
    let rpc = anvil.endpoint();
    let amount = U256::from(1_000 * TOKEN);
    fund_dev_token(&rpc, provider_key, deployment.stake_token, amount, &[deployment.registry])
        .await;
    let token = DevToken::new(deployment.stake_token, &as_provider);
    let registry = Registry::new(deployment.registry, &as_provider);
    let receipt = registry.register(operator_address, U256::from(MIN_STAKE * 2)).mined().await;
    assert!(receipt.status());
    let as_operator = Registry::new(deployment.registry, wallet(&anvil, DEV_KEY_2));
    as_operator
        .addService(
            provider_address,
            "eip155:1".into(),
            "rpc".into(),
            "https://rpc.example.org".into(),
            B256::ZERO,
        )
        .mined()
        .await;
    assert!(registry.isActive(provider_address).call().await.unwrap());
    assert_eq!(registry.serviceIdsOf(provider_address).call().await.unwrap().len(), 1);

    // --- slash with an attestation signed by the slasher key
    let slasher = LocalSigner::from_hex(DEV_KEY_0).unwrap();
    assert_eq!(slasher.address(), deployment.deployer);
    let slash = Slash {
        provider: provider_address,
        amount: U256::from(30 * TOKEN),
        reason: 1,
        evidenceHash: keccak256("conflicting answers"),
        receiptId: keccak256("receipt"),
        nonce: U256::from(1),
        deadline: u64::MAX,
    };
    let signature = sign_typed(&slasher, &slash, &registry_domain(chain_id, deployment.registry))
        .await
        .unwrap();
    let order = Registry::Slash::from(&slash);
    let receipt = registry.slash(order.clone(), signature.to_bytes().to_vec().into()).mined().await;
    assert!(receipt.status(), "anyone may submit a signed slash");
    let info = registry.providerOf(provider_address).call().await.unwrap();
    assert_eq!(info.stake, MIN_STAKE * 2 - 30 * TOKEN);
    assert_eq!(
        token.balanceOf(Address::repeat_byte(0x7e)).call().await.unwrap(),
        U256::from(30 * TOKEN),
        "treasury paid"
    );
    let replay = registry.slash(order, signature.to_bytes().to_vec().into()).send().await;
    assert!(replay.is_err(), "a replayed slash is refused at estimation");

    // --- settle a batch of signed intents netted by cairn-core
    let settlement_domain = settlement_domain(chain_id, deployment.settlement);
    let payer_keys = [DEV_KEY_1, DEV_KEY_3];
    for key in payer_keys {
        let payer = wallet(&anvil, key);
        let amount = U256::from(100 * TOKEN);
        fund_dev_token(&rpc, key, deployment.stake_token, amount, &[deployment.settlement]).await;
        Settlement::new(deployment.settlement, &payer)
            .deposit(deployment.stake_token, U256::from(50 * TOKEN))
            .mined()
            .await;
    }
    let payees: Vec<Address> = (1..=5u8).map(Address::repeat_byte).collect();
    let mut signed = Vec::new();
    for n in 0..40u64 {
        let key = payer_keys[(n % 2) as usize];
        let intent = PaymentIntent {
            payer: address_of(key),
            payee: payees[(n % 5) as usize],
            asset: deployment.stake_token,
            amount: U256::from(TOKEN / 10 * (1 + n % 3) as u128),
            nonce: U256::from(n),
            validUntil: u64::MAX,
        };
        let signer = LocalSigner::from_hex(key).unwrap();
        let sig = signer.sign_digest(signing_hash(&intent, &settlement_domain)).await.unwrap();
        signed.push(SignedIntent { intent, signature: sig.to_bytes() });
    }
    let policy =
        BatchPolicy { min_intents: 1, max_intents: 1_000, window_seconds: 60, max_deltas: 1_000 };
    let mut ledger = Ledger::new(policy, vec![deployment.stake_token], 1, 0);
    for key in payer_keys {
        ledger.deposit(address_of(key), deployment.stake_token, 50 * TOKEN).unwrap();
    }
    for (s, digest) in signed.iter().zip(verify_intents(
        &settlement_domain,
        &signed,
        NonZeroUsize::new(2).unwrap(),
    )) {
        ledger.accept(&s.intent, digest.unwrap(), 0).unwrap();
    }
    let batch = ledger.close_batch(B256::ZERO, 10).unwrap().clone();
    let commitment = batch.body.commit(keccak256("batch receipt"));
    let batch_signature = sign_typed(&slasher, &commitment, &settlement_domain).await.unwrap();
    let vault = Settlement::new(deployment.settlement, &deployer_provider);
    let receipt = vault
        .settleBatch(
            Settlement::BatchCommitment::from(&commitment),
            batch.deltas.iter().map(Settlement::Delta::from).collect(),
            batch_signature.to_bytes().to_vec().into(),
        )
        .mined()
        .await;
    assert!(receipt.status());
    ledger.settle(1).unwrap();
    assert_eq!(vault.lastBatchId().call().await.unwrap(), 1);
    assert_eq!(
        vault.lastCommitmentHash().call().await.unwrap(),
        signing_hash(&commitment, &settlement_domain),
        "the next batch must name this one"
    );
    for account in payer_keys.iter().map(|k| address_of(k)).chain(payees.iter().copied()) {
        let on_chain = vault.balanceOf(account, deployment.stake_token).call().await.unwrap();
        let off_chain = ledger.balance(&account, &deployment.stake_token).deposit;
        assert_eq!(on_chain, U256::from(off_chain), "balance of {account}");
    }
    let paid: u128 =
        payees.iter().map(|p| ledger.balance(p, &deployment.stake_token).deposit).sum();
    let promised: u128 = signed.iter().map(|s| s.intent.amount_u128().unwrap()).sum();
    assert_eq!(paid, promised, "every payee got the sum of its intents");
}
