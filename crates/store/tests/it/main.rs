//! The store's behaviour, run against both backends: a SQLite file and a
//! fresh PostgreSQL database at 127.0.0.1:5432.

mod apply_and_rollback;

use cairn_store::Store;

/// Both backends, fresh. The Postgres database is dropped when the guard
/// goes; set CAIRN_TEST_POSTGRES to use another server.
pub(crate) struct Backends {
    pub(crate) sqlite: Store,
    pub(crate) postgres: Store,
    _dir: tempfile::TempDir,
    admin_url: String,
    database: String,
}

pub(crate) async fn backends() -> Backends {
    let dir = tempfile::tempdir().unwrap();
    let sqlite =
        Store::open(&format!("sqlite://{}?mode=rwc", dir.path().join("test.db").display()))
            .await
            .unwrap();
    let server = std::env::var("CAIRN_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into());
    let admin_url = format!("{server}/postgres");
    let database = format!(
        "cairn_test_{}_{}",
        std::process::id(),
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos()
            % 1_000_000_000
    );
    sqlx::any::install_default_drivers();
    let admin = sqlx::AnyPool::connect(&admin_url).await.expect("PostgreSQL at 127.0.0.1:5432");
    sqlx::query(&format!("CREATE DATABASE {database}")).execute(&admin).await.unwrap();
    admin.close().await;
    let postgres = Store::open(&format!("{server}/{database}")).await.unwrap();
    Backends { sqlite, postgres, _dir: dir, admin_url, database }
}

impl Backends {
    pub(crate) fn both(&self) -> [&Store; 2] {
        [&self.sqlite, &self.postgres]
    }

    pub(crate) async fn drop_postgres(self) {
        self.postgres.close().await;
        let admin = sqlx::AnyPool::connect(&self.admin_url).await.unwrap();
        sqlx::query(&format!("DROP DATABASE IF EXISTS {}", self.database))
            .execute(&admin)
            .await
            .unwrap();
        admin.close().await;
    }
}
