//! Deltas, batches and slashes are written once (the contracts rule out a
//! second write); they are inserted without a conflict clause, and a history
//! that writes one twice fails its range instead of overwriting it.

use alloy_primitives::I256;
use cairn_store::{BlockBatch, ChainEvent, StoreError};
use cairn_test_utils::{history::settled_blocks, stores as backends};

const CHAIN: &str = "eip155:31337";

/// Blocks 1..=2 where block 2's batch changes payee 0 twice.
fn delta_written_twice(finalized: u64) -> BlockBatch {
    let mut batch = settled_blocks(1, 2, 3, finalized);
    let again = batch
        .events
        .iter()
        .position(|r| r.block_number == 2 && matches!(r.event, ChainEvent::BalanceChanged { .. }))
        .unwrap();
    let mut twice = batch.events[again].clone();
    if let ChainEvent::BalanceChanged { delta, .. } = &mut twice.event {
        *delta = I256::try_from(99).unwrap();
    }
    // Last in the block, after the batch's own events.
    twice.log_index = 100;
    let end = batch.events.iter().rposition(|r| r.block_number == 2).unwrap();
    batch.events.insert(end + 1, twice);
    batch
}

#[tokio::test]
async fn a_delta_written_twice_fails_its_range_in_bulk_and_at_the_tip() {
    let stores = backends().await;
    for store in stores.both() {
        for finalized in [2, 0] {
            let error = store.apply(CHAIN, &delta_written_twice(finalized)).await.unwrap_err();
            let bulk = finalized == 2;
            match &error {
                StoreError::WrittenTwice { table, .. } if bulk => assert_eq!(*table, "deltas"),
                // Row by row the engine refuses the second insert itself.
                StoreError::Database(_) if !bulk => {}
                other => panic!("finalized {finalized}: {other:?}"),
            }
            assert_eq!(store.cursor(CHAIN).await.unwrap(), None, "nothing of the range stays");
            assert!(store.dump(CHAIN).await.unwrap()["deltas"].is_empty());
        }
    }
    stores.cleanup().await;
}

/// A batch id settled in one range and again in a later one: the second
/// range's insert meets the stored row and fails, leaving the first as it was.
#[tokio::test]
async fn a_batch_settled_again_in_a_later_range_fails_that_range() {
    let stores = backends().await;
    for store in stores.both() {
        store.apply(CHAIN, &settled_blocks(1, 2, 3, 2)).await.unwrap();
        let before = store.dump(CHAIN).await.unwrap();
        let mut again = settled_blocks(3, 3, 3, 3);
        for record in &mut again.events {
            match &mut record.event {
                ChainEvent::BalanceChanged { batch_id, .. }
                | ChainEvent::BatchSettled { batch_id, .. } => *batch_id = 2,
                _ => {}
            }
        }
        let error = store.apply(CHAIN, &again).await.unwrap_err();
        assert!(matches!(error, StoreError::Database(_)), "{error:?}");
        assert_eq!(store.dump(CHAIN).await.unwrap(), before);
        assert_eq!(store.cursor(CHAIN).await.unwrap().unwrap().block_number, 2);
    }
    stores.cleanup().await;
}
