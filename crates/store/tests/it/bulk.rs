//! Bulk writes below finality: many statements per table, built while the
//! one before runs, and the SQLite log copied into the database beside them.

use alloy_primitives::U256;
use cairn_store::{BlockBatch, BlockRecord, ChainEvent, EventRecord, Store};
use cairn_test_utils::{
    history::{seeded_account as account, seeded_hash as hash, settled_blocks},
    stores as backends,
};

const CHAIN: &str = "eip155:31337";

#[tokio::test]
async fn bulk_writes_split_over_many_statements_equal_row_by_row_writes() {
    let row_by_row = backends().await;
    let bulk = backends().await;
    // 3 blocks of 700 balance changes: 2,103 events and 2,100 deltas, several
    // full statements and a partial one each; the 700 balances are written
    // three times over, only the last image kept.
    let history = |finalized| settled_blocks(1, 3, 700, finalized);
    for (one_by_one, in_bulk) in row_by_row.both().into_iter().zip(bulk.both()) {
        one_by_one.apply(CHAIN, &history(0)).await.unwrap();
        in_bulk.apply(CHAIN, &history(3)).await.unwrap();
        let dump = in_bulk.dump(CHAIN).await.unwrap();
        assert_eq!(dump, one_by_one.dump(CHAIN).await.unwrap());
        assert_eq!(dump["events"].len(), 2_103);
        assert_eq!(dump["deltas"].len(), 2_100);
        assert_eq!(dump["balances"].len(), 700);
        assert_eq!(dump["batches"].len(), 3);
        let last_balance = &dump["balances"].iter().find(|b| b["account"] == account(5)).unwrap();
        assert_eq!(
            last_balance["balance"],
            cairn_store::amount_text(&U256::from(3 * 10_000 + 5)),
            "the last block's balance wins"
        );
    }
    row_by_row.cleanup().await;
    bulk.cleanup().await;
}

/// Without the background checkpointer nothing would reach the database
/// file here: the log stays far below the size at which a writer copies it.
#[tokio::test]
async fn the_background_checkpointer_copies_the_log_into_the_database_file() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_configured(None, dir.path()).await.unwrap();
    let file = dir.path().join(cairn_store::SQLITE_FILE);
    let size = || std::fs::metadata(&file).unwrap().len();
    // Let the checkpointer copy the migrations first.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let before = size();
    store.apply(CHAIN, &settled_blocks(1, 2, 1_000, 2)).await.unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while size() < before + 500_000 {
        assert!(
            std::time::Instant::now() < deadline,
            "the database file stayed at {} bytes (from {before}) with about 1.5 MB in the log",
            size()
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// A buffered range whose records read rows written by an earlier range:
/// what comes before the first such read is worked out beside the events
/// insert, the rest once the transaction is free; the result must not tell.
#[tokio::test]
async fn a_buffered_range_that_reads_earlier_rows_equals_row_by_row_writes() {
    let row_by_row = backends().await;
    let bulk = backends().await;
    let provider = account(1);
    let asset = account(2);
    let block = |number: u64, events: Vec<ChainEvent>, finalized| {
        let record =
            BlockRecord { number, hash: hash(number), parent_hash: hash(number - 1), time: number };
        BlockBatch {
            first_block: number,
            last: record,
            headers: vec![record],
            events: events
                .into_iter()
                .enumerate()
                .map(|(i, event)| EventRecord {
                    block_number: number,
                    log_index: i as u64,
                    block_hash: record.hash,
                    tx_hash: format!("{:#x}", hash(number << 32 | i as u64)),
                    contract: account(3),
                    event,
                })
                .collect(),
            finalized_block: finalized,
        }
    };
    let deposit = |who: u64, balance: u64| ChainEvent::Deposited {
        account: account(who),
        asset: asset.clone(),
        amount: U256::from(1),
        balance: U256::from(balance),
    };
    let registered = vec![ChainEvent::ProviderRegistered {
        provider: provider.clone(),
        operator: provider.clone(),
        stake: U256::from(100),
    }];
    // Two deposits need nothing read; the stake change reads the provider
    // registered a range before; the slash reads it again from the buffer.
    let later = vec![
        deposit(10, 1),
        deposit(11, 1),
        ChainEvent::StakeAdded {
            provider: provider.clone(),
            amount: U256::from(5),
            stake: U256::from(105),
        },
        deposit(10, 2),
        ChainEvent::Slashed {
            provider: provider.clone(),
            nonce: U256::from(1),
            amount: U256::from(5),
            reason: 1,
            evidence_hash: hash(7),
            receipt_id: hash(8),
            stake: U256::from(100),
            unbonding: U256::ZERO,
        },
    ];
    for (one_by_one, in_bulk) in row_by_row.both().into_iter().zip(bulk.both()) {
        one_by_one.apply(CHAIN, &block(1, registered.clone(), 0)).await.unwrap();
        one_by_one.apply(CHAIN, &block(2, later.clone(), 0)).await.unwrap();
        in_bulk.apply(CHAIN, &block(1, registered.clone(), 1)).await.unwrap();
        in_bulk.apply(CHAIN, &block(2, later.clone(), 2)).await.unwrap();
        let dump = in_bulk.dump(CHAIN).await.unwrap();
        assert_eq!(dump, one_by_one.dump(CHAIN).await.unwrap());
        assert_eq!(dump["providers"][0]["stake"], cairn_store::amount_text(&U256::from(100)));
        assert_eq!(dump["slashes"].len(), 1);
        assert_eq!(dump["balances"].len(), 2);
    }
    row_by_row.cleanup().await;
    bulk.cleanup().await;
}

/// A record that updates a row nobody wrote is refused in a buffered range
/// as in a row-by-row one, and the range leaves nothing behind.
#[tokio::test]
async fn a_buffered_range_refuses_an_update_of_an_unknown_row() {
    let stores = backends().await;
    for store in stores.both() {
        let mut range = settled_blocks(1, 1, 3, 1);
        range.events.insert(
            1,
            EventRecord {
                event: ChainEvent::StakeAdded {
                    provider: account(99),
                    amount: U256::from(1),
                    stake: U256::from(1),
                },
                ..range.events[0].clone()
            },
        );
        for (i, record) in range.events.iter_mut().enumerate() {
            record.log_index = i as u64;
        }
        let error = store.apply(CHAIN, &range).await.unwrap_err();
        assert!(
            matches!(error, cairn_store::StoreError::Inconsistent { block: 1, log: 1, .. }),
            "{error}"
        );
        assert!(store.cursor(CHAIN).await.unwrap().is_none());
        assert_eq!(store.event_count(CHAIN, &account(u64::MAX - 1)).await.unwrap(), 0);
    }
    stores.cleanup().await;
}

/// On PostgreSQL the bulk path sends rows through `COPY`'s text format, where
/// tabs, newlines, carriage returns and backslashes mean something: texts
/// holding them must come back exactly as the row-by-row `INSERT`s store them.
#[tokio::test]
async fn texts_with_the_copy_formats_special_characters_survive_bulk_writes() {
    let row_by_row = backends().await;
    let bulk = backends().await;
    let awkward = |n: u64| format!("0x\t{n}\\N\\.\n\r\\\\ ünï \"q\"");
    let history = |finalized| {
        let mut batch = settled_blocks(1, 2, 3, finalized);
        for (i, record) in batch.events.iter_mut().enumerate() {
            record.tx_hash = awkward(i as u64);
            if let ChainEvent::BalanceChanged { account, .. } = &mut record.event {
                *account = awkward(100 + i as u64);
            }
        }
        batch
    };
    for (one_by_one, in_bulk) in row_by_row.both().into_iter().zip(bulk.both()) {
        one_by_one.apply(CHAIN, &history(0)).await.unwrap();
        in_bulk.apply(CHAIN, &history(2)).await.unwrap();
        let dump = in_bulk.dump(CHAIN).await.unwrap();
        assert_eq!(dump, one_by_one.dump(CHAIN).await.unwrap(), "{:?}", in_bulk.backend());
        assert!(dump["deltas"].iter().any(|d| d["account"] == awkward(100)), "{dump:?}");
        assert_eq!(dump["events"][0][3], awkward(0));
        assert_eq!(dump["events"].len(), 8);
    }
    row_by_row.cleanup().await;
    bulk.cleanup().await;
}
