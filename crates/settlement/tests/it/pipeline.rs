//! The settlement path on a real chain: deposits on anvil are indexed,
//! intents are reserved against them, the batch closes, its receipt and
//! commitment are written, the receipt is stored on arlocal, `settleBatch`
//! runs, and the indexed settlement
//! releases the reservations, on both backends.

use alloy::providers::Provider;
use alloy_primitives::{Address, B256, U256};
use cairn_bindings::Settlement;
use cairn_core::{
    eip712::{PaymentIntent, settlement_domain},
    netting::BatchPolicy,
};
use cairn_settlement::{SubmitError, Submitted, write_receipt};
use cairn_signer::LocalSigner;
use cairn_store::{Acceptance, CloseOutcome, NewIntent};
use cairn_test_utils::{DEV_KEY_0, DEV_KEY_1, DEV_KEY_2, DEV_KEY_3, address_of, arlocal, stores};

const TOKEN: u128 = 1_000_000_000_000_000_000;
const CHAIN: &str = "eip155:31337";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_settles_on_chain_once_and_releases_its_reservations_on_both_backends() {
    let stores = stores().await;
    for store in stores.both() {
        // Both backends settle identical batches: one gateway each.
        let node = arlocal();
        let payers = [DEV_KEY_1, DEV_KEY_2, DEV_KEY_3];
        let crate::Funded { anvil, deployer, deployment } =
            crate::funded(store, &payers, 1_000 * TOKEN).await;
        let asset = deployment.stake_token;

        let domain = settlement_domain(31337, deployment.settlement);
        let payees: Vec<Address> = (0..5u8).map(|i| Address::repeat_byte(0x60 + i)).collect();
        let intents: Vec<NewIntent> = (0..60u64)
            .map(|n| {
                let intent = PaymentIntent {
                    payer: address_of(payers[(n % 3) as usize]),
                    payee: payees[(n % 5) as usize],
                    asset,
                    amount: U256::from(TOKEN / 100 * u128::from(n + 1)),
                    nonce: U256::from(n),
                    validUntil: u64::MAX,
                };
                crate::stored_intent(&intent, &domain, [0; 65])
            })
            .collect();
        let accepted = store.accept_intents(CHAIN, &intents, 1_000).await.unwrap();
        assert!(accepted.iter().all(|a| *a == Acceptance::Accepted { batch_id: 1 }));

        let policy =
            BatchPolicy { min_intents: 1, max_intents: 50, window_seconds: 60, max_deltas: 1_000 };
        let CloseOutcome::Closed(_) = store.close_open_batch(CHAIN, &policy, 1_010).await.unwrap()
        else {
            panic!("60 intents reach max_intents");
        };
        let key = LocalSigner::from_hex(DEV_KEY_0).unwrap();
        let written = write_receipt(
            store,
            CHAIN,
            &domain,
            1,
            &key,
            &key,
            cairn_settlement::receipt::DEFAULT_MAX_RECEIPT_BYTES,
        )
        .await
        .unwrap()
        .unwrap();

        // Not stored on Arweave yet: no transaction may be recorded.
        let pending = store.pending_submission(CHAIN, 1).await.unwrap().unwrap();
        let submitter = crate::submitter(&anvil, &deployment);
        let early = submitter.advance(store, CHAIN, 1, &pending, 1_020).await;
        assert!(matches!(early, Err(SubmitError::Store(_))), "{early:?}");
        crate::store_receipts(store, &node).await;

        let next_nonce = deployer.get_transaction_count(address_of(DEV_KEY_0)).await.unwrap();
        let sent = submitter.advance(store, CHAIN, 1, &pending, 1_030).await.unwrap();
        let Submitted::Sent { tx_hash, nonce } = sent else { panic!("{sent:?}") };
        assert_eq!(nonce, next_nonce);
        while deployer.get_transaction_receipt(tx_hash).await.unwrap().is_none() {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        // After a crash the submitter runs again: it finds its mined
        // transaction and sends nothing.
        let pending = store.pending_submission(CHAIN, 1).await.unwrap().unwrap();
        assert_eq!(pending.sent.as_ref().map(|s| s.hash), Some(tx_hash));
        let again = submitter.advance(store, CHAIN, 1, &pending, 1_040).await.unwrap();
        assert!(matches!(again, Submitted::Mined { tx_hash: mined, .. } if mined == tx_hash));
        let mut forged = pending.clone();
        forged.commitment_hash = B256::repeat_byte(2);
        let conflict = submitter.advance(store, CHAIN, 1, &forged, 1_050).await;
        assert!(matches!(conflict, Err(SubmitError::Conflict { batch_id: 1, .. })), "{conflict:?}");
        let gap = submitter.advance(store, CHAIN, 3, &pending, 1_060).await;
        assert!(matches!(gap, Err(SubmitError::Gap { batch_id: 3, last_settled: 1 })), "{gap:?}");

        // Indexed: the batch is settled and its reservations no longer count.
        crate::index(store, &anvil, &deployment).await;
        assert_eq!(store.last_batch_id(CHAIN).await.unwrap(), 1);
        let vault = Settlement::new(deployment.settlement, &deployer);
        assert_eq!(vault.lastCommitmentHash().call().await.unwrap(), written.commitment_hash);
        for key in payers {
            let payer = address_of(key);
            assert_eq!(store.reserved(CHAIN, &payer, &asset).await.unwrap(), U256::ZERO);
            let paid: U256 = intents.iter().filter(|i| i.payer == payer).map(|i| i.amount).sum();
            let on_chain = vault.balanceOf(payer, asset).call().await.unwrap();
            assert_eq!(on_chain, U256::from(1_000 * TOKEN) - paid);
            assert_eq!(
                store.balance(CHAIN, &format!("{payer:#x}"), &format!("{asset:#x}")).await.unwrap(),
                on_chain
            );
        }
        for payee in &payees {
            let owed: U256 = intents.iter().filter(|i| i.payee == *payee).map(|i| i.amount).sum();
            assert_eq!(vault.balanceOf(*payee, asset).call().await.unwrap(), owed, "payee {payee}");
        }
        assert!(deployer.get_block_number().await.unwrap() > 0);
    }
    stores.cleanup().await;
}
