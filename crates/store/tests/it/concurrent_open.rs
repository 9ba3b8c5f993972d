use cairn_store::Store;

/// Processes started together (indexer and service) open one new SQLite
/// file at once; each must end up with a migrated store.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_openers_of_a_new_sqlite_file_all_succeed() {
    for round in 0..10 {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("race.db").display());
        let openers: Vec<_> = (0..6)
            .map(|_| {
                let url = url.clone();
                tokio::spawn(async move { Store::open(&url).await })
            })
            .collect();
        for opener in openers {
            let store = opener.await.unwrap().unwrap_or_else(|e| panic!("round {round}: {e}"));
            assert_eq!(store.cursor("eip155:1").await.unwrap(), None);
            store.close().await;
        }
    }
}
