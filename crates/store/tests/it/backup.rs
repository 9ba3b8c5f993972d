//! `Store::backup_to`: the embedded store copied as of one instant, while
//! it stays open and in use; PostgreSQL is left to its own tools.

use alloy::signers::local::PrivateKeySigner;
use cairn_store::{EvidenceFilter, Store, StoreError};
use cairn_test_utils::{
    DEV_KEY_1, DEV_KEY_2,
    evidence::{agreeing_answers, conflicting_answers},
    stores,
};

fn key(hex: &str) -> PrivateKeySigner {
    hex.parse().unwrap()
}

async fn evidence_hashes(store: &Store) -> Vec<String> {
    let filter = EvidenceFilter { limit: 100, ..EvidenceFilter::default() };
    let rows = store.list_evidence(&filter).await.unwrap();
    rows.into_iter().map(|row| format!("{:#x}", row.hash)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_holds_what_was_written_before_it_and_nothing_after() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_configured(None, dir.path()).await.unwrap();
    let before = conflicting_answers(&key(DEV_KEY_1));
    assert!(store.put_evidence(&before, 1).await.unwrap());
    let copy = dir.path().join("backup.db");
    store.backup_to(&copy).await.unwrap();
    assert!(store.put_evidence(&conflicting_answers(&key(DEV_KEY_2)), 2).await.unwrap());

    let restored = Store::open(&format!("sqlite://{}", copy.display())).await.unwrap();
    assert_eq!(evidence_hashes(&restored).await, [format!("{:#x}", before.hash())]);
    assert_eq!(evidence_hashes(&store).await.len(), 2, "the live store goes on");
    // The copy is a store like any other: it takes writes and migrations.
    assert!(restored.put_evidence(&agreeing_answers(&key(DEV_KEY_1)), 3).await.unwrap());

    // Never over an existing file, whatever it holds.
    match store.backup_to(&copy).await {
        Err(StoreError::Backup(reason)) => assert!(reason.contains("exists"), "{reason}"),
        other => panic!("expected a refusal, got {other:?}"),
    }
    restored.close().await;
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_store_is_not_copied_by_backup_to() {
    let stores = stores().await;
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("backup.db");
    match stores.postgres.backup_to(&copy).await {
        Err(StoreError::Backup(reason)) => assert!(reason.contains("pg_dump"), "{reason}"),
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert!(!copy.exists());
    stores.cleanup().await;
}
