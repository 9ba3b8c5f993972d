//! Each backend runs the shared migrations and its own, in one version
//! order; a store made before a backend's own migration keeps its rows
//! through it.

use cairn_store::Store;
use cairn_test_utils::{history::settled_blocks, stores as backends};
use sqlx::{Connection, SqliteConnection};

const CHAIN: &str = "eip155:31337";

async fn applied_versions(store_url: &str) -> Vec<i64> {
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(store_url).await.unwrap();
    sqlx::query_scalar("SELECT version FROM _sqlx_migrations ORDER BY version")
        .fetch_all(&mut conn)
        .await
        .unwrap()
}

#[tokio::test]
async fn only_sqlite_runs_the_sqlite_migrations() {
    let stores = backends().await;
    let sqlite = applied_versions(&stores.sqlite_url()).await;
    let postgres = applied_versions(&stores.postgres_url()).await;
    assert!(sqlite.contains(&10), "SQLite ran its own migration 10: {sqlite:?}");
    assert!(!postgres.contains(&10), "PostgreSQL did not: {postgres:?}");
    assert_eq!(
        sqlite.iter().filter(|v| **v != 10).collect::<Vec<_>>(),
        postgres.iter().collect::<Vec<_>>(),
        "both ran every shared migration"
    );
    stores.cleanup().await;
}

#[tokio::test]
async fn a_new_sqlite_file_has_large_pages_and_a_key_ordered_deltas_table() {
    let dir = tempfile::tempdir().unwrap();
    let _store = Store::open_configured(None, dir.path()).await.unwrap();
    let url = format!("sqlite://{}", dir.path().join(cairn_store::SQLITE_FILE).display());
    let mut conn = SqliteConnection::connect(&url).await.unwrap();
    let page: i64 = sqlx::query_scalar("PRAGMA page_size").fetch_one(&mut conn).await.unwrap();
    assert_eq!(page, 16_384);
    let ddl: String = sqlx::query_scalar("SELECT sql FROM sqlite_master WHERE name = 'deltas'")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert!(ddl.contains("WITHOUT ROWID"), "{ddl}");
}

/// A file made before migration 10 (the shared migrations alone) keeps
/// every delta when the store next opens it.
#[tokio::test]
async fn deltas_written_before_the_sqlite_migration_survive_it() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("old.db").display());
    let mut conn = SqliteConnection::connect(&url).await.unwrap();
    sqlx::query("PRAGMA journal_mode = WAL").execute(&mut conn).await.unwrap();
    sqlx::migrate!("./migrations").run(&mut conn).await.unwrap();
    for (batch, account, amount) in [(1, "0xaa", "-3"), (1, "0xbb", "3"), (2, "0xaa", "7")] {
        sqlx::query(
            "INSERT INTO deltas (chain, batch_id, account, asset, amount) VALUES (?, ?, ?, '0xcc', ?)",
        )
        .bind(CHAIN)
        .bind(batch)
        .bind(account)
        .bind(amount)
        .execute(&mut conn)
        .await
        .unwrap();
    }
    conn.close().await.unwrap();

    let store = Store::open(&url).await.unwrap();
    let deltas: Vec<(i64, String, String)> = store.dump(CHAIN).await.unwrap()["deltas"]
        .iter()
        .map(|d| {
            (
                d["batch_id"].as_i64().unwrap(),
                d["account"].as_str().unwrap().to_owned(),
                d["amount"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        deltas,
        [
            (1, "0xaa".into(), "-3".into()),
            (1, "0xbb".into(), "3".into()),
            (2, "0xaa".into(), "7".into())
        ]
    );
    // And the migrated table takes new batches as a new one does.
    store.apply(CHAIN, &settled_blocks(1, 1, 5, 1)).await.unwrap();
    assert_eq!(store.dump(CHAIN).await.unwrap()["deltas"].len(), 3 + 5);
}
