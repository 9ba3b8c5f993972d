use alloy_primitives::{B256, keccak256};
use cairn_core::netting::{BatchIntent, BatchPolicy, ClosedBatch};
use cairn_store::{Acceptance, ChainEvent, CloseOutcome, OutboxUpdate, ReceiptRecord, Store};
use cairn_test_utils::stores as backends;

use crate::intents::{CHAIN, deposit, intent};

const CLOSE_AT_THREE: BatchPolicy =
    BatchPolicy { min_intents: 1, max_intents: 3, window_seconds: 3600, max_deltas: 1_000 };

/// Indexes `BatchSettled` for `batch_id` in the block after the cursor.
async fn settled(store: &Store, batch_id: u64, commitment: B256) {
    let event = ChainEvent::BatchSettled {
        batch_id,
        commitment_hash: commitment,
        intents_root: B256::ZERO,
        deltas_root: B256::ZERO,
        receipt_id: B256::ZERO,
        window_start: 0,
        window_end: 0,
        intent_count: 0,
        delta_count: 0,
    };
    cairn_test_utils::index_event(store, CHAIN, event).await;
}

async fn batches_close_whole_and_in_order(store: &Store) {
    deposit(store, &[(1, 1_000), (2, 1_000)]).await;
    let first: Vec<_> = (1..=5).map(|n| intent(1 + (n % 2) as u8, n, 10 * n)).collect();
    let accepted = store.accept_intents(CHAIN, &first, 100).await.unwrap();
    assert!(accepted.iter().all(|a| *a == Acceptance::Accepted { batch_id: 1 }));

    let wait =
        BatchPolicy { min_intents: 10, max_intents: 100, window_seconds: 60, max_deltas: 1_000 };
    assert_eq!(
        store.close_open_batch(CHAIN, &wait, 120).await.unwrap(),
        CloseOutcome::NotYet { batch_id: 1, pending: 5 }
    );

    // max_intents triggers a close; the batch takes every intent it holds.
    let CloseOutcome::Closed(batch) =
        store.close_open_batch(CHAIN, &CLOSE_AT_THREE, 130).await.unwrap()
    else {
        panic!("batch 1 closes");
    };
    let expected = ClosedBatch::assemble(
        1,
        B256::ZERO,
        100,
        130,
        first
            .iter()
            .map(|i| BatchIntent {
                digest: i.hash,
                payer: i.payer,
                payee: i.payee,
                asset: i.asset,
                amount: u128::try_from(i.amount).unwrap(),
            })
            .collect(),
    )
    .unwrap();
    assert_eq!(*batch, expected);
    assert_eq!(store.closed_batch(CHAIN, 1).await.unwrap(), Some((expected, "closed".to_owned())));
    assert_eq!(store.intent(CHAIN, &first[0].hash).await.unwrap().unwrap().status, "closed");

    // New intents fall in batch 2, which waits for batch 1 on chain.
    let later = store
        .accept_intents(CHAIN, &[intent(1, 50, 1), intent(2, 51, 1), intent(1, 52, 1)], 140)
        .await
        .unwrap();
    assert_eq!(later[0], Acceptance::Accepted { batch_id: 2 });
    assert_eq!(
        store.close_open_batch(CHAIN, &CLOSE_AT_THREE, 150).await.unwrap(),
        CloseOutcome::AwaitingSettlement { batch_id: 1 }
    );
    let payer = alloy_primitives::Address::repeat_byte(1);
    let asset = alloy_primitives::Address::repeat_byte(0xa0);
    let reserved = |n: u64| alloy_primitives::U256::from(n);
    assert_eq!(
        store.reserved(CHAIN, &payer, &asset).await.unwrap(),
        reserved(62),
        "20 + 40 + 1 + 1"
    );
    let commitment = keccak256("commitment 1");
    settled(store, 1, commitment).await;
    // Settled on chain: batch 1's reservations stop counting (the balance
    // now carries it); a reorg that undoes the settlement brings them back.
    assert_eq!(store.reserved(CHAIN, &payer, &asset).await.unwrap(), reserved(2));
    store.rollback_to(CHAIN, 1).await.unwrap();
    assert_eq!(store.reserved(CHAIN, &payer, &asset).await.unwrap(), reserved(62));
    settled(store, 1, commitment).await;
    let CloseOutcome::Closed(second) =
        store.close_open_batch(CHAIN, &CLOSE_AT_THREE, 160).await.unwrap()
    else {
        panic!("batch 2 closes once batch 1 is settled");
    };
    assert_eq!(
        (second.body.batch_id, second.body.prev_hash, second.body.intent_count),
        (2, commitment, 3)
    );
    assert_eq!(second.body.window_start, 130, "the window opened when batch 1 closed");
}

/// Acceptances racing a close: every intent lands in exactly the batch its
/// acceptance named.
async fn no_intent_is_stranded_by_a_racing_close(store: &Store) {
    cairn_test_utils::index_deposit(
        store,
        CHAIN,
        alloy_primitives::Address::repeat_byte(3),
        alloy_primitives::Address::repeat_byte(0xa0),
        alloy_primitives::U256::from(1_000_000),
    )
    .await;
    // Batch 2 (closed above) settles, so batch 3 may close during the race.
    settled(store, 2, keccak256("commitment 2")).await;
    let mut tasks = Vec::new();
    for worker in 0..6u64 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let batch: Vec<_> =
                (0..10u64).map(|n| intent(3, 1_000 + worker * 100 + n, 1)).collect();
            let outcomes = store.accept_intents(CHAIN, &batch, 200).await.unwrap();
            batch.into_iter().zip(outcomes).collect::<Vec<_>>()
        }));
    }
    let closer = {
        let store = store.clone();
        tokio::spawn(async move {
            let policy = BatchPolicy {
                min_intents: 1,
                max_intents: 1,
                window_seconds: 0,
                max_deltas: 1_000,
            };
            let mut closed = Vec::new();
            for _ in 0..20 {
                if let CloseOutcome::Closed(batch) =
                    store.close_open_batch(CHAIN, &policy, 210).await.unwrap()
                {
                    closed.push(*batch);
                }
                tokio::task::yield_now().await;
            }
            closed
        })
    };
    let mut named = Vec::new();
    for task in tasks {
        named.extend(task.await.unwrap());
    }
    let mut closed = closer.await.unwrap();
    if closed.is_empty() {
        // The closer ran before any acceptance; close now.
        let policy =
            BatchPolicy { min_intents: 1, max_intents: 1, window_seconds: 0, max_deltas: 1_000 };
        let CloseOutcome::Closed(batch) =
            store.close_open_batch(CHAIN, &policy, 220).await.unwrap()
        else {
            panic!("batch 3 closes");
        };
        closed.push(*batch);
    }
    // One batch closes; the next waits for it to settle.
    assert_eq!(closed.len(), 1);
    assert_eq!(closed[0].body.batch_id, 3);
    for (intent, outcome) in named {
        let Acceptance::Accepted { batch_id } = outcome else { panic!("{outcome:?}") };
        let in_closed = closed.iter().any(|b| b.intents.iter().any(|i| i.digest == intent.hash));
        let record = store.intent(CHAIN, &intent.hash).await.unwrap().unwrap();
        assert_eq!(record.batch_id, batch_id);
        match closed.iter().find(|b| b.body.batch_id == batch_id) {
            Some(_) => {
                assert!(in_closed && record.status == "closed", "intent of a closed batch left out")
            }
            None => assert!(!in_closed && record.status == "accepted"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_open_batch_closes_whole_on_both_backends() {
    let stores = backends().await;
    for store in stores.both() {
        batches_close_whole_and_in_order(store).await;
        no_intent_is_stranded_by_a_racing_close(store).await;
    }
    stores.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_leader_per_role_on_postgres_and_the_lock_goes_with_it() {
    let stores = backends().await;
    let leader = stores.postgres.try_lead("eip155:31337").await.unwrap();
    assert!(leader.is_some(), "the first candidate leads");
    assert!(stores.postgres.try_lead("eip155:31337").await.unwrap().is_none(), "a second does not");
    assert!(
        stores.postgres.try_lead("eip155:10").await.unwrap().is_some(),
        "another chain has its own"
    );
    drop(leader);
    // The dropped session closes in the background; the role frees up.
    let mut again = None;
    for _ in 0..50 {
        again = stores.postgres.try_lead("eip155:31337").await.unwrap();
        if again.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(again.is_some(), "the role is free once its holder is gone");
    let mut sqlite = stores.sqlite.try_lead("eip155:31337").await.unwrap().unwrap();
    assert!(sqlite.still_held().await, "the one SQLite process keeps its role");

    // The server ends the leader's session: the holder notices, and another
    // candidate can lead.
    let mut held = again.unwrap();
    assert!(held.still_held().await);
    let pid = held.session_pid().await.unwrap();
    let other = stores.postgres.try_lead("eip155:1").await.unwrap();
    assert!(other.is_some());
    sqlx_terminate(&stores.postgres_url(), pid).await;
    assert!(!held.still_held().await, "a terminated session no longer holds the role");
    let mut taken = None;
    for _ in 0..50 {
        taken = stores.postgres.try_lead("eip155:31337").await.unwrap();
        if taken.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(taken.is_some(), "the role passes on");
    drop((taken, other));
    stores.cleanup().await;
}

/// A receipt and the items it points to enter the outbox together; the
/// batch is uploaded only when all of them are confirmed, whichever order
/// the confirmations come in.
async fn a_batch_is_uploaded_once_every_item_of_its_receipt_is(store: &Store) {
    deposit(store, &[(1, 1_000)]).await;
    store.accept_intents(CHAIN, &[intent(1, 1, 10)], 100).await.unwrap();
    let CloseOutcome::Closed(_) =
        store.close_open_batch(CHAIN, &CLOSE_AT_THREE, 4_000).await.unwrap()
    else {
        panic!("the window has passed");
    };
    let record = ReceiptRecord {
        item_id: "receipt".into(),
        item: b"receipt bytes".to_vec(),
        commitment: "{}".into(),
        commitment_hash: B256::repeat_byte(7),
        commitment_signature: [1; 65],
        attachments: vec![("intents".into(), b"intents bytes".to_vec())],
    };
    store.record_receipt(CHAIN, 1, &record).await.unwrap();
    let due = store.due_outbox(i64::MAX / 2, 10).await.unwrap();
    let mut ids: Vec<&str> = due.iter().map(|e| e.item_id.as_str()).collect();
    ids.sort_unstable();
    assert_eq!(ids, ["intents", "receipt"]);
    let stage = || async { store.closed_batch(CHAIN, 1).await.unwrap().unwrap().1 };
    let confirmed = |next_attempt_at| OutboxUpdate {
        state: "confirmed",
        tx_id: None,
        gateway: Some("http://gateway/"),
        error: None,
        next_attempt_at,
    };
    store.update_outbox("receipt", &confirmed(1)).await.unwrap();
    assert_eq!(stage().await, "receipt_written", "its intents item is not stored yet");
    store.update_outbox("intents", &confirmed(2)).await.unwrap();
    assert_eq!(stage().await, "uploaded");
    assert!(store.due_outbox(i64::MAX / 2, 10).await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_are_uploaded_with_all_their_items_on_both_backends() {
    let stores = backends().await;
    for store in stores.both() {
        a_batch_is_uploaded_once_every_item_of_its_receipt_is(store).await;
    }
    stores.cleanup().await;
}

/// Ends PostgreSQL backend `pid` from a connection of its own, as an
/// administrator or a server restart would.
async fn sqlx_terminate(url: &str, pid: i32) {
    use sqlx::Connection as _;
    let mut admin = sqlx::AnyConnection::connect(url).await.unwrap();
    sqlx::query("SELECT pg_terminate_backend($1)").bind(pid).execute(&mut admin).await.unwrap();
    admin.close().await.unwrap();
}

/// A window with more payers than one batch has deltas for: the open batch
/// takes intents until another might not fit, refuses the rest as
/// `BatchFull`, closes at once (long before its window ends), and the
/// refused intents land in the next batch.
async fn more_payers_than_the_delta_cap_spill_into_the_next_batch(store: &Store) {
    deposit(store, &(1..=8).map(|payer| (payer, 100)).collect::<Vec<_>>()).await;
    let capped =
        BatchPolicy { min_intents: 1, max_intents: 100, window_seconds: 3600, max_deltas: 6 };
    let intents: Vec<_> = (1..=8).map(|payer| intent(payer, 1, 10)).collect();
    let outcomes =
        store.accept_intents_within(CHAIN, &intents, 100, capped.max_deltas).await.unwrap();
    // Five payers and the one payee fill six pairs.
    assert_eq!(&outcomes[..5], vec![Acceptance::Accepted { batch_id: 1 }; 5].as_slice());
    assert_eq!(&outcomes[5..], vec![Acceptance::BatchFull; 3].as_slice());
    let CloseOutcome::Closed(batch) = store.close_open_batch(CHAIN, &capped, 101).await.unwrap()
    else {
        panic!("the capped batch closes before its window");
    };
    assert!(batch.deltas.len() <= capped.max_deltas, "{} deltas", batch.deltas.len());
    assert_eq!(batch.intents.len(), 5);
    let again =
        store.accept_intents_within(CHAIN, &intents[5..], 102, capped.max_deltas).await.unwrap();
    assert_eq!(again, vec![Acceptance::Accepted { batch_id: 2 }; 3]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_window_spills_into_the_next_batch_on_both_backends() {
    let stores = backends().await;
    for store in stores.both() {
        more_payers_than_the_delta_cap_spill_into_the_next_batch(store).await;
    }
    stores.cleanup().await;
}
