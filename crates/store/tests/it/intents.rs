use alloy_primitives::{Address, B256, U256, keccak256};
use cairn_store::{Acceptance, BlockBatch, BlockRecord, ChainEvent, EventRecord, NewIntent, Store};
use cairn_test_utils::stores as backends;

pub(crate) const CHAIN: &str = "eip155:31337";

fn address(n: u8) -> Address {
    Address::repeat_byte(n)
}

/// Indexes deposits of `amount` of asset 0xa0 for each payer, in block 1.
pub(crate) async fn deposit(store: &Store, payers: &[(u8, u64)]) {
    let block = BlockRecord { number: 1, hash: keccak256("b1"), parent_hash: B256::ZERO, time: 12 };
    let events = payers
        .iter()
        .enumerate()
        .map(|(i, (payer, amount))| EventRecord {
            block_number: 1,
            log_index: i as u64,
            block_hash: block.hash,
            tx_hash: format!("0x{:064x}", i),
            contract: format!("{:#x}", address(0xee)),
            event: ChainEvent::Deposited {
                account: format!("{:#x}", address(*payer)),
                asset: format!("{:#x}", address(0xa0)),
                amount: U256::from(*amount),
                balance: U256::from(*amount),
            },
        })
        .collect();
    store
        .apply(
            CHAIN,
            &BlockBatch {
                first_block: 1,
                last: block,
                headers: vec![block],
                events,
                finalized_block: 0,
            },
        )
        .await
        .unwrap();
}

pub(crate) fn intent(payer: u8, nonce: u64, amount: u64) -> NewIntent {
    NewIntent {
        hash: keccak256(
            [payer.to_be_bytes().as_slice(), &nonce.to_be_bytes(), &amount.to_be_bytes()].concat(),
        ),
        payer: address(payer),
        payee: address(0x50),
        asset: address(0xa0),
        amount: U256::from(amount),
        nonce: U256::from(nonce),
        valid_until: 2_000_000_000,
        signature: [7; 65],
    }
}

async fn acceptance_checks_duplicates_nonces_and_balances(store: &Store) {
    deposit(store, &[(1, 100), (2, 50)]).await;
    let outcomes = store
        .accept_intents(
            CHAIN,
            &[
                intent(1, 1, 60),
                intent(1, 2, 30),
                intent(1, 3, 20), // 60 + 30 + 20 > 100
                intent(1, 2, 5),  // nonce 2 used just above
                intent(1, 1, 60), // the first one again, in the same submission
                intent(2, 1, 50),
                intent(3, 1, 1), // no deposit at all
            ],
            1_000,
        )
        .await
        .unwrap();
    assert_eq!(
        outcomes,
        vec![
            Acceptance::Accepted { batch_id: 1 },
            Acceptance::Accepted { batch_id: 1 },
            Acceptance::InsufficientBalance { available: U256::from(10) },
            Acceptance::NonceUsed,
            Acceptance::Duplicate { batch_id: 1 },
            Acceptance::Accepted { batch_id: 1 },
            Acceptance::InsufficientBalance { available: U256::ZERO },
        ]
    );
    assert_eq!(store.reserved(CHAIN, &address(1), &address(0xa0)).await.unwrap(), U256::from(90));
    assert_eq!(store.reserved(CHAIN, &address(2), &address(0xa0)).await.unwrap(), U256::from(50));

    // A later submission sees what the first reserved, and replays are named.
    let later = store
        .accept_intents(CHAIN, &[intent(1, 1, 60), intent(1, 4, 10), intent(1, 5, 1)], 1_001)
        .await
        .unwrap();
    assert_eq!(
        later,
        vec![
            Acceptance::Duplicate { batch_id: 1 },
            Acceptance::Accepted { batch_id: 1 },
            Acceptance::InsufficientBalance { available: U256::ZERO },
        ]
    );
    let record = store.intent(CHAIN, &intent(1, 4, 10).hash).await.unwrap().unwrap();
    assert_eq!(
        (record.intent.amount, record.batch_id, record.status.as_str()),
        (U256::from(10), 1, "accepted")
    );
    assert_eq!(record.intent, intent(1, 4, 10));
    assert_eq!(store.intent(CHAIN, &B256::ZERO).await.unwrap(), None);
    assert_eq!(store.open_batch(CHAIN).await.unwrap(), 1);
}

/// Many submissions racing for one payer's deposit never reserve more than
/// it holds, and every nonce is taken once.
async fn concurrent_submissions_never_overdraw(store: &Store) {
    cairn_test_utils::index_deposit(store, CHAIN, address(9), address(0xa0), U256::from(100)).await;
    let mut tasks = Vec::new();
    for worker in 0..8u64 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            // Every worker tries the same nonces 100..120, 7 units each.
            let batch: Vec<NewIntent> = (100u64..120)
                .map(|n| NewIntent {
                    hash: keccak256([worker.to_be_bytes(), n.to_be_bytes()].concat()),
                    ..intent(9, n, 7)
                })
                .collect();
            store.accept_intents(CHAIN, &batch, 2_000).await.unwrap()
        }));
    }
    let mut accepted = 0u64;
    for task in tasks {
        accepted +=
            task.await.unwrap().iter().filter(|o| matches!(o, Acceptance::Accepted { .. })).count()
                as u64;
    }
    // 100 deposited / 7 per intent = 14 intents at most, each nonce once.
    assert_eq!(accepted, 14);
    assert_eq!(store.reserved(CHAIN, &address(9), &address(0xa0)).await.unwrap(), U256::from(98));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn intents_are_reserved_against_indexed_deposits_on_both_backends() {
    let stores = backends().await;
    for store in stores.both() {
        acceptance_checks_duplicates_nonces_and_balances(store).await;
        concurrent_submissions_never_overdraw(store).await;
    }
    stores.cleanup().await;
}
