//! The pipeline driven one step at a time by a fresh `Pipeline` each time
//! (a restart between every two steps), over two batches on anvil: ids stay
//! contiguous, nothing settles twice, every payee is paid exactly.

use alloy::providers::Provider;
use alloy_primitives::{Address, U256};
use alloy_sol_types::SolStruct;
use cairn_bindings::Settlement;
use cairn_core::{
    eip712::{PaymentIntent, settlement_domain},
    netting::BatchPolicy,
};
use cairn_settlement::{Pipeline, Step, Submitted};
use cairn_signer::SigningRequest;
use cairn_store::{Acceptance, NewIntent};
use cairn_test_utils::{DEV_KEY_1, DEV_KEY_2, address_of, arlocal, stores};

const TOKEN: u128 = 1_000_000_000_000_000_000;
const CHAIN: &str = "eip155:31337";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarted_steps_settle_contiguous_batches_once_on_both_backends() {
    let stores = stores().await;
    for store in stores.both() {
        let node = arlocal();
        let crate::Funded { anvil, deployer, deployment } =
            crate::funded(store, &[DEV_KEY_1, DEV_KEY_2], 100 * TOKEN).await;
        let asset = deployment.stake_token;
        let index = || crate::index(store, &anvil, &deployment);
        let domain = settlement_domain(31337, deployment.settlement);
        let pipeline = || {
            crate::pipeline(
                store,
                &anvil,
                &deployment,
                BatchPolicy {
                    min_intents: 1,
                    max_intents: 1_000,
                    window_seconds: 0,
                    max_deltas: 1_000,
                },
            )
        };
        let payee = Address::repeat_byte(0x77);
        let accept = |nonces: std::ops::Range<u64>| {
            let intents: Vec<NewIntent> = nonces
                .map(|n| {
                    let intent = PaymentIntent {
                        payer: address_of(if n % 2 == 0 { DEV_KEY_1 } else { DEV_KEY_2 }),
                        payee,
                        asset,
                        amount: U256::from(TOKEN),
                        nonce: U256::from(n),
                        validUntil: u64::MAX,
                    };
                    crate::stored_intent(&intent, &domain, [0; 65])
                })
                .collect::<Vec<_>>();
            let store = store.clone();
            async move { store.accept_intents(CHAIN, &intents, 10).await.unwrap() }
        };

        // Batch 1: close, receipt, submit, each by a new pipeline.
        assert!(accept(0..10).await.iter().all(|a| *a == Acceptance::Accepted { batch_id: 1 }));
        assert_eq!(pipeline().step(20).await.unwrap(), Step::Closed(1));
        // Intents arriving now wait for batch 2.
        assert!(accept(10..16).await.iter().all(|a| *a == Acceptance::Accepted { batch_id: 2 }));
        assert_eq!(pipeline().step(21).await.unwrap(), Step::ReceiptWritten(1));
        // Nothing is sent before the receipt reads back from Arweave.
        assert!(
            matches!(pipeline().step(22).await.unwrap(), Step::Idle(why) if why.contains("upload"))
        );
        crate::store_receipts(store, &node).await;
        assert!(matches!(
            pipeline().step(23).await.unwrap(),
            Step::Submitted(1, Submitted::Sent { .. })
        ));
        // Restarted before the indexer saw the settlement: found, not resent
        // (anvil mines on its own time; until then the transaction waits).
        let step = until_mined(pipeline, 24).await;
        assert!(matches!(step, Step::Submitted(1, Submitted::Mined { .. })), "{step:?}");
        index().await;

        // Batch 2 follows, chained to batch 1, and its signing request
        // carries batch 1's recorded commitment and signature (what a
        // threshold party that missed batch 1 checks instead).
        assert_eq!(pipeline().step(30).await.unwrap(), Step::Closed(2));
        let recorder = std::sync::Arc::new(crate::RecordingSigner::dev());
        let mut recording = pipeline();
        recording.settlement_signer = recorder.clone();
        assert_eq!(recording.step(31).await.unwrap(), Step::ReceiptWritten(2));
        let (json, signature) = store.batch_commitment(CHAIN, 1).await.unwrap().unwrap();
        match recorder.requests().as_slice() {
            [SigningRequest::BatchCommitment { commitment, previous: Some(previous), .. }] => {
                assert_eq!(commitment.batchId, 2);
                assert_eq!(previous.commitment, serde_json::from_str(&json).unwrap());
                assert_eq!(previous.signature.to_bytes(), signature);
                assert_eq!(commitment.prevHash, previous.commitment.eip712_signing_hash(&domain));
            }
            other => panic!("expected batch 2's request with batch 1 before it: {other:?}"),
        }
        crate::store_receipts(store, &node).await;
        assert!(matches!(
            pipeline().step(32).await.unwrap(),
            Step::Submitted(2, Submitted::Sent { .. })
        ));
        let step = until_mined(pipeline, 33).await;
        assert!(matches!(step, Step::Submitted(2, Submitted::Mined { .. })), "{step:?}");
        index().await;
        assert!(matches!(pipeline().step(40).await.unwrap(), Step::Idle(_)), "nothing left");

        let vault = Settlement::new(deployment.settlement, &deployer);
        assert_eq!(vault.lastBatchId().call().await.unwrap(), 2);
        assert_eq!(
            vault.balanceOf(payee, asset).call().await.unwrap(),
            U256::from(16 * TOKEN),
            "paid once per intent"
        );
        for key in [DEV_KEY_1, DEV_KEY_2] {
            assert_eq!(
                vault.balanceOf(address_of(key), asset).call().await.unwrap(),
                U256::from(92 * TOKEN)
            );
            assert_eq!(store.reserved(CHAIN, &address_of(key), &asset).await.unwrap(), U256::ZERO);
        }
        assert!(deployer.get_block_number().await.unwrap() > 0);
    }
    stores.cleanup().await;
}

/// Steps a fresh pipeline until its transaction is no longer waiting to be
/// mined (anvil mines on its own time).
async fn until_mined(pipeline: impl Fn() -> Pipeline, now: i64) -> Step {
    loop {
        let step = pipeline().step(now).await.unwrap();
        if !matches!(step, Step::Submitted(_, Submitted::Waiting { .. })) {
            return step;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}
