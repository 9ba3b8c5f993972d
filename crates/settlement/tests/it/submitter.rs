//! The submitter sees its transaction through what a real node does to it,
//! on anvil with automine off: it waits, replaces a transaction that waits
//! too long with higher fees at the same nonce, re-broadcasts one the node
//! dropped, re-signs at the next nonce when its own was taken by another
//! transaction or left behind a gap, and in the end the batch settles once.

use alloy::providers::Provider;
use alloy_primitives::{Address, U256};
use cairn_bindings::Settlement;
use cairn_core::{
    eip712::{PaymentIntent, settlement_domain},
    netting::BatchPolicy,
};
use cairn_settlement::{Step, Submitted};
use cairn_store::NewIntent;
use cairn_test_utils::{DEV_KEY_0, DEV_KEY_1, address_of, arlocal, stores};

const TOKEN: u128 = 1_000_000_000_000_000_000;
const CHAIN: &str = "eip155:31337";

async fn anvil_call(rpc: &impl Provider, method: &'static str, params: serde_json::Value) {
    let _: serde_json::Value = rpc.raw_request(method.into(), params).await.expect(method);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stuck_dropped_and_displaced_settlements_are_seen_through_once() {
    let stores = stores().await;
    let store = &stores.sqlite;
    let node = arlocal();
    let crate::Funded { anvil, deployer, deployment } =
        crate::funded(store, &[DEV_KEY_1], 100 * TOKEN).await;
    let asset = deployment.stake_token;
    let domain = settlement_domain(31337, deployment.settlement);
    let payee = Address::repeat_byte(0x42);
    let intents: Vec<NewIntent> = (0..4u64)
        .map(|n| {
            let intent = PaymentIntent {
                payer: address_of(DEV_KEY_1),
                payee,
                asset,
                amount: U256::from(TOKEN),
                nonce: U256::from(n),
                validUntil: u64::MAX,
            };
            crate::stored_intent(&intent, &domain, [0; 65])
        })
        .collect();
    store.accept_intents(CHAIN, &intents, 10).await.unwrap();
    let mut pipeline = crate::pipeline(
        store,
        &anvil,
        &deployment,
        BatchPolicy { min_intents: 1, max_intents: 100, window_seconds: 0, max_deltas: 1_000 },
    );
    if let Some(submitter) = pipeline.submitter.as_mut() {
        submitter.fees.bump_after_secs = 60;
    }
    assert_eq!(pipeline.step(20).await.unwrap(), Step::Closed(1));
    assert_eq!(pipeline.step(21).await.unwrap(), Step::ReceiptWritten(1));
    crate::store_receipts(store, &node).await;

    anvil_call(&deployer, "evm_setAutomine", serde_json::json!([false])).await;
    let settler = address_of(DEV_KEY_0);
    let first_nonce = deployer.get_transaction_count(settler).await.unwrap();
    let sent = |step: Step| match step {
        Step::Submitted(1, submitted) => submitted,
        other => panic!("expected a submission step, got {other:?}"),
    };
    let recorded = || async { store.pending_submission(CHAIN, 1).await.unwrap().unwrap().sent };

    // Sent, then waiting in the pool.
    let Submitted::Sent { tx_hash: first, nonce } = sent(pipeline.step(100).await.unwrap()) else {
        panic!("the first step sends")
    };
    assert_eq!(nonce, first_nonce);
    assert_eq!(sent(pipeline.step(101).await.unwrap()), Submitted::Waiting { tx_hash: first });

    // Waited past the bump: replaced at the same nonce with higher fees.
    let before = recorded().await.unwrap();
    let Submitted::Bumped { tx_hash: bumped, nonce, max_fee_per_gas } =
        sent(pipeline.step(160).await.unwrap())
    else {
        panic!("a stuck transaction is bumped")
    };
    assert_eq!(nonce, first_nonce);
    assert_ne!(bumped, first);
    assert!(max_fee_per_gas > before.max_fee_per_gas * 5 / 4, "{max_fee_per_gas} vs {before:?}");
    let after = recorded().await.unwrap();
    assert!(after.max_priority_fee_per_gas > before.max_priority_fee_per_gas);
    assert_eq!(after.hash, bumped);

    // The node forgets it: the same bytes go out again.
    anvil_call(&deployer, "anvil_dropTransaction", serde_json::json!([bumped])).await;
    assert!(deployer.get_transaction_by_hash(bumped).await.unwrap().is_none());
    assert_eq!(sent(pipeline.step(161).await.unwrap()), Submitted::Rebroadcast { tx_hash: bumped });
    assert!(deployer.get_transaction_by_hash(bumped).await.unwrap().is_some());

    // Another transaction from the same account takes the nonce (it pays
    // more, so it replaces ours in the pool) and is mined: ours can never
    // be, so the submitter signs again at the next nonce.
    let other = alloy::rpc::types::TransactionRequest::default()
        .from(settler)
        .to(Address::repeat_byte(0x99))
        .value(U256::from(1))
        .nonce(first_nonce)
        .gas_limit(21_000)
        .max_fee_per_gas(after.max_fee_per_gas * 2)
        .max_priority_fee_per_gas(after.max_priority_fee_per_gas * 2);
    let _ = deployer.send_transaction(other).await.unwrap();
    anvil_call(&deployer, "evm_mine", serde_json::json!([])).await;
    assert!(deployer.get_transaction_receipt(bumped).await.unwrap().is_none());
    let Submitted::Sent { tx_hash: resent, nonce } = sent(pipeline.step(162).await.unwrap()) else {
        panic!("a displaced transaction is signed again")
    };
    assert_eq!(nonce, first_nonce + 1);

    // A gap: the chain goes back to before the nonce was taken (a node
    // restarted from an older state); ours now waits behind a nonce no one
    // will send. The submitter fills it itself.
    anvil_call(
        &deployer,
        "anvil_setNonce",
        serde_json::json!([settler, format!("{first_nonce:#x}")]),
    )
    .await;
    let Submitted::Sent { tx_hash: filled, nonce } = sent(pipeline.step(163).await.unwrap()) else {
        panic!("a gap is filled")
    };
    assert_eq!(nonce, first_nonce);
    assert_ne!(filled, resent);

    // Mined: the batch is settled exactly once; the displaced transaction
    // behind it (if it is ever mined) reverts.
    anvil_call(&deployer, "evm_mine", serde_json::json!([])).await;
    anvil_call(&deployer, "evm_mine", serde_json::json!([])).await;
    assert!(matches!(
        sent(pipeline.step(164).await.unwrap()),
        Submitted::Mined { tx_hash, .. } if tx_hash == filled
    ));
    let vault = Settlement::new(deployment.settlement, &deployer);
    assert_eq!(vault.lastBatchId().call().await.unwrap(), 1);
    assert_eq!(vault.balanceOf(payee, asset).call().await.unwrap(), U256::from(4 * TOKEN));
    stores.cleanup().await;
}
