use alloy_primitives::{B256, I256, U256, keccak256};
use cairn_store::{BlockBatch, BlockRecord, ChainEvent, EventRecord, Store, StoreError};

use cairn_test_utils::stores as backends;

const CHAIN: &str = "eip155:31337";

/// Blocks of the chain; fork 0 is the original, and forks part after block 6.
fn block(number: u64, fork: u64) -> BlockRecord {
    let hash = |n: u64| {
        let branch = if n > 6 { fork } else { 0 };
        if n == 0 {
            B256::ZERO
        } else {
            keccak256([n.to_be_bytes(), branch.to_be_bytes()].concat())
        }
    };
    BlockRecord {
        number,
        hash: hash(number),
        parent_hash: hash(number - 1),
        time: 1_000 + number * 12,
    }
}

fn account(n: u8) -> String {
    format!("0x{}", hex_of(n))
}

fn hex_of(n: u8) -> String {
    format!("{n:02x}").repeat(20)
}

fn event(number: u64, fork: u64, log_index: u64, event: ChainEvent) -> EventRecord {
    EventRecord {
        block_number: number,
        log_index,
        block_hash: block(number, fork).hash,
        tx_hash: format!("0x{:064x}", number * 100 + log_index),
        contract: account(0xee),
        event,
    }
}

fn ether(n: u64) -> U256 {
    U256::from(n) * U256::from(10u64).pow(U256::from(18))
}

/// The events of block `number` on `fork`: registrations, endpoints, an
/// unbond, a slash, deposits and a batch, spread so a reorg at 6 undoes
/// some of each.
fn events_of(number: u64, fork: u64) -> Vec<EventRecord> {
    let p1 = account(1);
    let p2 = account(2);
    let usd = account(0xa0);
    let e = |i, ev| event(number, fork, i, ev);
    match (number, fork) {
        (1, _) => vec![
            e(
                0,
                ChainEvent::ProviderRegistered {
                    provider: p1.clone(),
                    operator: account(11),
                    stake: ether(500),
                },
            ),
            e(
                1,
                ChainEvent::Deposited {
                    account: account(5),
                    asset: usd.clone(),
                    amount: ether(100),
                    balance: ether(100),
                },
            ),
        ],
        (2, _) => vec![e(
            0,
            ChainEvent::ServiceAdded {
                service_id: keccak256("svc-1"),
                provider: p1.clone(),
                service_chain: "eip155:1".into(),
                service_kind: "rpc".into(),
                url: "https://a.example".into(),
                metadata_hash: B256::ZERO,
            },
        )],
        (4, _) => vec![e(
            0,
            ChainEvent::ProviderRegistered {
                provider: p2.clone(),
                operator: account(12),
                stake: ether(200),
            },
        )],
        (7, 0) => vec![
            e(
                0,
                ChainEvent::StakeAdded {
                    provider: p1.clone(),
                    amount: ether(50),
                    stake: ether(550),
                },
            ),
            e(
                1,
                ChainEvent::UnbondStarted {
                    provider: p2.clone(),
                    amount: ether(200),
                    stake: U256::ZERO,
                    unbonding: ether(200),
                    release_at: 99,
                },
            ),
            e(
                2,
                ChainEvent::ServiceRemoved { service_id: keccak256("svc-1"), provider: p1.clone() },
            ),
        ],
        (8, 0) => vec![
            e(
                0,
                ChainEvent::Slashed {
                    provider: p1.clone(),
                    nonce: U256::from(1),
                    amount: ether(10),
                    reason: 2,
                    evidence_hash: keccak256("e"),
                    receipt_id: keccak256("r"),
                    stake: ether(540),
                    unbonding: U256::ZERO,
                },
            ),
            e(
                1,
                ChainEvent::BalanceChanged {
                    batch_id: 1,
                    account: account(5),
                    asset: usd.clone(),
                    delta: I256::try_from(-5i64).unwrap(),
                    balance: ether(100) - U256::from(5),
                },
            ),
            e(
                2,
                ChainEvent::BalanceChanged {
                    batch_id: 1,
                    account: account(6),
                    asset: usd.clone(),
                    delta: I256::try_from(5i64).unwrap(),
                    balance: U256::from(5),
                },
            ),
            e(
                3,
                ChainEvent::BatchSettled {
                    batch_id: 1,
                    commitment_hash: keccak256("c1"),
                    intents_root: keccak256("i1"),
                    deltas_root: keccak256("d1"),
                    receipt_id: keccak256("r1"),
                    window_start: 0,
                    window_end: 30,
                    intent_count: 3,
                    delta_count: 2,
                },
            ),
        ],
        (9, 0) => vec![e(
            0,
            ChainEvent::Withdrawn { provider: p2.clone(), amount: ether(200), exited: true },
        )],
        (7, 1) => {
            vec![e(0, ChainEvent::OperatorChanged { provider: p1.clone(), operator: account(13) })]
        }
        (8, 1) => vec![e(
            0,
            ChainEvent::WithdrawalRequested {
                account: account(5),
                asset: usd.clone(),
                amount: ether(40),
                ready_at: 500,
            },
        )],
        (9, 1) => vec![e(
            0,
            ChainEvent::BalanceWithdrawn {
                account: account(5),
                asset: usd.clone(),
                amount: ether(40),
                balance: ether(60),
            },
        )],
        _ => vec![],
    }
}

fn batch(from: u64, to: u64, fork: u64, finalized: u64) -> BlockBatch {
    BlockBatch {
        first_block: from,
        last: block(to, fork),
        headers: (from..=to).map(|n| block(n, fork)).collect(),
        events: (from..=to).flat_map(|n| events_of(n, fork)).collect(),
        finalized_block: finalized,
    }
}

#[tokio::test]
async fn both_backends_index_the_same_history_to_the_same_state() {
    let stores = backends().await;
    for store in stores.both() {
        store.apply(CHAIN, &batch(1, 5, 0, 0)).await.unwrap();
        store.apply(CHAIN, &batch(6, 9, 0, 3)).await.unwrap();
        let cursor = store.cursor(CHAIN).await.unwrap().unwrap();
        assert_eq!(
            (cursor.block_number, cursor.block_hash, cursor.finalized_block),
            (9, block(9, 0).hash, 3)
        );
        let providers = store.providers(CHAIN).await.unwrap();
        assert_eq!(providers.len(), 1, "p2 exited");
        assert_eq!(providers[0].stake, ether(540));
        assert!(store.services(CHAIN).await.unwrap().is_empty(), "svc-1 removed");
        assert_eq!(store.balance(CHAIN, &account(6), &account(0xa0)).await.unwrap(), U256::from(5));
        assert_eq!(store.last_batch_id(CHAIN).await.unwrap(), 1);
    }
    let sqlite = stores.sqlite.dump(CHAIN).await.unwrap();
    let postgres = stores.postgres.dump(CHAIN).await.unwrap();
    assert_eq!(sqlite, postgres);
    assert_eq!(sqlite["events"].len(), 12);
    stores.cleanup().await;
}

#[tokio::test]
async fn a_reorg_rolls_back_to_the_fork_and_the_new_branch_equals_a_clean_index() {
    let stores = backends().await;
    let clean = backends().await;
    for (store, reference) in stores.both().into_iter().zip(clean.both()) {
        store.apply(CHAIN, &batch(1, 9, 0, 2)).await.unwrap();
        // Blocks 7..9 are replaced: the new block 7 names a different parent chain.
        let err = store.apply(CHAIN, &batch(10, 10, 1, 2)).await.unwrap_err();
        assert!(matches!(err, StoreError::ParentMismatch { number: 10, .. }), "{err}");
        let cursor = store.rollback_to(CHAIN, 6).await.unwrap();
        assert_eq!((cursor.block_number, cursor.block_hash), (6, block(6, 0).hash));
        store.apply(CHAIN, &batch(7, 9, 1, 2)).await.unwrap();

        reference.apply(CHAIN, &batch(1, 6, 0, 2)).await.unwrap();
        reference.apply(CHAIN, &batch(7, 9, 1, 2)).await.unwrap();
        assert_eq!(store.dump(CHAIN).await.unwrap(), reference.dump(CHAIN).await.unwrap());
        let providers = store.providers(CHAIN).await.unwrap();
        assert_eq!(providers.len(), 2, "p2's exit was on the abandoned branch");
        assert_eq!(providers[0].operator, account(13));
        assert_eq!(
            providers[0].stake,
            ether(500),
            "stake added and slashed only on the abandoned branch"
        );
        assert_eq!(store.services(CHAIN).await.unwrap().len(), 1, "svc-1 is back");
        assert_eq!(
            store.last_batch_id(CHAIN).await.unwrap(),
            0,
            "batch 1 was on the abandoned branch"
        );
        assert_eq!(store.balance(CHAIN, &account(5), &account(0xa0)).await.unwrap(), ether(60));
    }
    stores.cleanup().await;
    clean.cleanup().await;
}

#[tokio::test]
async fn rollback_cannot_cross_finality_or_unknown_headers() {
    let stores = backends().await;
    for store in stores.both() {
        assert!(
            matches!(store.rollback_to(CHAIN, 0).await, Err(StoreError::Rollback { .. })),
            "nothing indexed"
        );
        store.apply(CHAIN, &batch(1, 9, 0, 5)).await.unwrap();
        let err = store.rollback_to(CHAIN, 4).await.unwrap_err();
        assert!(err.to_string().contains("final"), "{err}");
        let before = store.dump(CHAIN).await.unwrap();
        assert_eq!(
            store.rollback_to(CHAIN, 9).await.unwrap().block_number,
            9,
            "rolling back to the tip is a no-op"
        );
        assert_eq!(store.dump(CHAIN).await.unwrap(), before);
    }
    stores.cleanup().await;
}

#[tokio::test]
async fn a_batch_must_continue_the_cursor() {
    let stores = backends().await;
    for store in stores.both() {
        store.apply(CHAIN, &batch(1, 3, 0, 0)).await.unwrap();
        let gap = store.apply(CHAIN, &batch(5, 6, 0, 0)).await.unwrap_err();
        assert!(matches!(gap, StoreError::NotContiguous { expected: 4, got: 5, .. }), "{gap}");
        let replay = store.apply(CHAIN, &batch(3, 4, 0, 0)).await.unwrap_err();
        assert!(
            matches!(replay, StoreError::NotContiguous { expected: 4, got: 3, .. }),
            "{replay}"
        );
    }
    stores.cleanup().await;
}

#[tokio::test]
async fn a_failing_batch_leaves_nothing_behind() {
    let stores = backends().await;
    for store in stores.both() {
        store.apply(CHAIN, &batch(1, 3, 0, 0)).await.unwrap();
        let before = store.dump(CHAIN).await.unwrap();
        let cursor = store.cursor(CHAIN).await.unwrap();
        let mut bad = batch(4, 5, 0, 0);
        // Stake for a provider that never registered: the batch is refused
        // after its first event was already written inside the transaction.
        bad.events.push(event(
            5,
            0,
            9,
            ChainEvent::StakeAdded {
                provider: account(77),
                amount: U256::from(1),
                stake: U256::from(1),
            },
        ));
        let err = store.apply(CHAIN, &bad).await.unwrap_err();
        assert!(matches!(err, StoreError::Inconsistent { block: 5, log: 9, .. }), "{err}");
        assert_eq!(
            store.dump(CHAIN).await.unwrap(),
            before,
            "no event or row of the failed batch remains"
        );
        assert_eq!(store.cursor(CHAIN).await.unwrap(), cursor, "cursor unchanged");
    }
    stores.cleanup().await;
}

#[tokio::test]
async fn the_embedded_default_is_a_sqlite_file_in_the_data_dir() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_configured(None, dir.path()).await.unwrap();
    assert_eq!(store.backend(), cairn_store::Backend::Sqlite);
    store.apply(CHAIN, &batch(1, 1, 0, 0)).await.unwrap();
    store.close().await;
    assert!(dir.path().join(cairn_store::SQLITE_FILE).exists());
    let reopened = Store::open_configured(None, dir.path()).await.unwrap();
    assert_eq!(
        reopened.cursor(CHAIN).await.unwrap().unwrap().block_number,
        1,
        "state survives a reopen"
    );
    assert!(matches!(Store::open("mysql://x").await, Err(StoreError::UnsupportedUrl(_))));
}

/// Batches wholly below finality are written in bulk; the result must be
/// the same rows as writing them one by one.
#[tokio::test]
async fn bulk_writes_below_finality_equal_row_by_row_writes() {
    let stores = backends().await;
    let bulk = backends().await;
    for (row_by_row, in_bulk) in stores.both().into_iter().zip(bulk.both()) {
        row_by_row.apply(CHAIN, &batch(1, 9, 0, 0)).await.unwrap();
        in_bulk.apply(CHAIN, &batch(1, 9, 0, 9)).await.unwrap();
        assert_eq!(row_by_row.dump(CHAIN).await.unwrap(), in_bulk.dump(CHAIN).await.unwrap());
        assert_eq!(
            row_by_row.event_count(CHAIN, &account(0xee)).await.unwrap(),
            in_bulk.event_count(CHAIN, &account(0xee)).await.unwrap()
        );
        assert_eq!(in_bulk.event_count(CHAIN, &account(0xee)).await.unwrap(), 12);
    }
    stores.cleanup().await;
    bulk.cleanup().await;
}
