//! Synthetic chain histories for the store's tests and benchmarks: dense
//! settlement blocks without a node behind them.

use alloy::primitives::{Address, B256, I256, U256, keccak256};
use cairn_store::{BlockBatch, BlockRecord, ChainEvent, EventRecord};

/// A hash that stands for `seed` (block hashes, roots, receipt ids).
pub fn seeded_hash(seed: u64) -> B256 {
    keccak256(seed.to_be_bytes())
}

/// An account address that stands for `seed`, as the store writes it.
pub fn seeded_account(seed: u64) -> String {
    format!("{:#x}", Address::from_slice(&seeded_hash(seed)[12..]))
}

/// Blocks `first..=last`, each settling one batch that changes the balance of
/// `payees` accounts (seeds `0..payees`) in one asset: `payees + 1` events
/// per block. Account `p` ends block `b` at balance `b * 10_000 + p`.
pub fn settled_blocks(first: u64, last: u64, payees: u64, finalized: u64) -> BlockBatch {
    let asset = seeded_account(u64::MAX);
    let vault = seeded_account(u64::MAX - 1);
    let mut events = Vec::new();
    for block in first..=last {
        let event = |log_index, event| EventRecord {
            block_number: block,
            log_index,
            block_hash: seeded_hash(block),
            tx_hash: format!("{:#x}", seeded_hash(block << 32)),
            contract: vault.clone(),
            event,
        };
        for payee in 0..payees {
            events.push(event(
                payee,
                ChainEvent::BalanceChanged {
                    batch_id: block,
                    account: seeded_account(payee),
                    asset: asset.clone(),
                    delta: I256::try_from(payee as i64 - 7).expect("small"),
                    balance: U256::from(block * 10_000 + payee),
                },
            ));
        }
        events.push(event(
            payees,
            ChainEvent::BatchSettled {
                batch_id: block,
                commitment_hash: seeded_hash(block + 1),
                intents_root: seeded_hash(block + 2),
                deltas_root: seeded_hash(block + 3),
                receipt_id: seeded_hash(block + 4),
                window_start: block,
                window_end: block,
                intent_count: payees as u32,
                delta_count: payees as u32,
            },
        ));
    }
    let record = |n: u64| BlockRecord {
        number: n,
        hash: seeded_hash(n),
        parent_hash: seeded_hash(n - 1),
        time: n,
    };
    BlockBatch {
        first_block: first,
        last: record(last),
        headers: (first..=last).map(record).collect(),
        events,
        finalized_block: finalized,
    }
}
