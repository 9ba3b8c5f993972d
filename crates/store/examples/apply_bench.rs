//! Throughput of `Store::apply` alone, on the dense history the indexer
//! benchmark replays (per block one settled batch of 100 balance changes),
//! written in final ranges of 49 blocks as a backfill writes them. No node
//! is involved, so this isolates the store's cost per event.
//!
//!   cargo run --release -p cairn-store --example apply_bench [RANGES] [sqlite|postgres]

use std::time::Instant;

use alloy_primitives::{Address, B256, I256, U256, keccak256};
use cairn_store::{BlockBatch, BlockRecord, ChainEvent, EventRecord, Store};

const CHAIN: &str = "eip155:31337";
const BLOCKS_PER_RANGE: u64 = 49;
const DELTAS_PER_BATCH: u64 = 100;

fn hash(seed: u64) -> B256 {
    keccak256(seed.to_be_bytes())
}

fn account(seed: u64) -> String {
    format!("{:#x}", Address::from_slice(&hash(seed)[12..]))
}

fn range(first: u64) -> BlockBatch {
    let settlement = account(u64::MAX);
    let asset = account(u64::MAX - 1);
    let mut events = Vec::new();
    for block in first..first + BLOCKS_PER_RANGE {
        let tx_hash = format!("{:#x}", hash(block << 20));
        let mut log_index = 0;
        let mut push = |event| {
            events.push(EventRecord {
                block_number: block,
                log_index,
                block_hash: hash(block),
                tx_hash: tx_hash.clone(),
                contract: settlement.clone(),
                event,
            });
            log_index += 1;
        };
        for payee in 0..DELTAS_PER_BATCH {
            push(ChainEvent::BalanceChanged {
                batch_id: block,
                account: account(payee),
                asset: asset.clone(),
                delta: I256::ONE,
                balance: U256::from(block * 1_000 + payee),
            });
        }
        push(ChainEvent::BatchSettled {
            batch_id: block,
            commitment_hash: hash(block + 1),
            intents_root: hash(block + 2),
            deltas_root: hash(block + 3),
            receipt_id: hash(block + 4),
            window_start: block,
            window_end: block,
            intent_count: 100,
            delta_count: DELTAS_PER_BATCH as u32,
        });
    }
    let last = first + BLOCKS_PER_RANGE - 1;
    let last_record =
        BlockRecord { number: last, hash: hash(last), parent_hash: hash(last - 1), time: last };
    BlockBatch {
        first_block: first,
        last: last_record,
        headers: vec![last_record],
        events,
        // Every range is final: the bulk path a backfill takes.
        finalized_block: u64::MAX / 2,
    }
}

async fn run(name: &str, store: &Store, ranges: u64) {
    let batches: Vec<BlockBatch> = (0..ranges).map(|r| range(1 + r * BLOCKS_PER_RANGE)).collect();
    let events: usize = batches.iter().map(|b| b.events.len()).sum();
    let started = Instant::now();
    for batch in &batches {
        store.apply(CHAIN, batch).await.expect("the range applies");
    }
    let elapsed = started.elapsed();
    // A fast store that dropped rows would be no result: check what landed.
    let dump = store.dump(CHAIN).await.expect("the store dumps");
    assert_eq!(dump["events"].len(), events, "every event is stored");
    assert_eq!(
        dump["deltas"].len() as u64,
        ranges * BLOCKS_PER_RANGE * DELTAS_PER_BATCH,
        "every delta is stored"
    );
    assert_eq!(dump["balances"].len() as u64, DELTAS_PER_BATCH, "one balance per payee");
    println!(
        "{name}: {events} events in {elapsed:.2?} = {:.0} events/s ({:.2} µs/event)",
        events as f64 / elapsed.as_secs_f64(),
        elapsed.as_secs_f64() * 1e6 / events as f64
    );
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let ranges: u64 = args.next().map_or(20, |a| a.parse().expect("RANGES is a number"));
    let only = args.next();
    let wants = |name: &str| only.as_deref().is_none_or(|o| o == name);
    if wants("sqlite") {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("bench.db").display());
        run("SQLite", &Store::open(&url).await.unwrap(), ranges).await;
    }
    if wants("postgres") {
        let stores = cairn_test_utils::stores().await;
        run("PostgreSQL", &stores.postgres, ranges).await;
        stores.cleanup().await;
    }
}
