#![doc = include_str!("../README.md")]

mod batches;
mod derived;
pub mod events;
mod evidence;
mod health;
mod intents;
mod sessions;
mod slash_orders;
mod table;
mod usage;
mod write_tx;

use std::{collections::BTreeMap, path::Path, str::FromStr, sync::Arc, time::Duration};

use alloy_primitives::{B256, U256};
use sqlx::{
    Any, AnyPool, Row,
    any::{AnyPoolOptions, install_default_drivers},
    migrate::{Migration, MigrationSource, Migrator},
};

pub use batches::{
    BatchStatus, CloseOutcome, Leadership, OutboxEntry, OutboxUpdate, PendingSubmission,
    ReceiptRecord, SettlementTx, UploadStatus,
};
pub use events::{Account, BlockBatch, BlockRecord, ChainEvent, Cursor, EventRecord};
pub use evidence::{EvidenceFilter, EvidenceRow};
pub use health::EndpointHealth;
pub use intents::{Acceptance, IntentRecord, NewIntent};
pub use sessions::{ConsumeOutcome, NonceRecord, ProviderMetadata, SessionRecord};
pub use slash_orders::{SlashOrderFilter, SlashOrderRow, stage as slash_stage};
use table::Row as TableRow;
pub use usage::UsageRow;
use write_tx::{WriteTx, with_conn};

/// File the embedded store uses inside the data directory.
pub const SQLITE_FILE: &str = "cairn.db";

/// Migrations both backends run.
static SHARED_MIGRATIONS: Migrator = sqlx::migrate!("./migrations");
/// Migrations only SQLite runs: storage choices PostgreSQL's DDL cannot
/// express (`WITHOUT ROWID`). Their versions share one sequence with the
/// shared ones, so the two sets interleave in one order.
static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/sqlite");

/// The migrations `backend` runs, in version order.
#[derive(Debug)]
struct BackendMigrations(Vec<Migration>);

impl BackendMigrations {
    fn of(backend: Backend) -> Result<Self, StoreError> {
        let mut migrations: Vec<Migration> = SHARED_MIGRATIONS.iter().cloned().collect();
        if backend == Backend::Sqlite {
            migrations.extend(SQLITE_MIGRATIONS.iter().cloned());
        }
        migrations.sort_by_key(|m| m.version);
        if let Some(pair) = migrations.windows(2).find(|pair| pair[0].version == pair[1].version) {
            return Err(StoreError::Migrate(sqlx::migrate::MigrateError::Source(
                format!("two migrations have version {}", pair[0].version).into(),
            )));
        }
        Ok(Self(migrations))
    }
}

impl<'s> MigrationSource<'s> for BackendMigrations {
    fn resolve(
        self,
    ) -> std::pin::Pin<
        Box<
            dyn std::future::Future<Output = Result<Vec<Migration>, sqlx::error::BoxDynError>>
                + Send
                + 's,
        >,
    > {
        Box::pin(async move { Ok(self.0) })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("unsupported store URL `{0}`: use sqlite://PATH or postgres://…")]
    UnsupportedUrl(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("batch for {chain} starts at block {got}, but the cursor expects {expected}")]
    NotContiguous { chain: String, expected: u64, got: u64 },
    #[error("block {number} of {chain} does not build on the stored block {parent} (a reorg)")]
    ParentMismatch { chain: String, number: u64, parent: B256 },
    #[error("cannot roll {chain} back to block {fork}: {reason}")]
    Rollback { chain: String, fork: u64, reason: String },
    #[error("event at block {block}, log {log} refers to {what}, which the store does not hold")]
    Inconsistent { block: u64, log: u64, what: String },
    #[error("{table} row {key} is written twice, which the contracts rule out")]
    WrittenTwice { table: &'static str, key: String },
    #[error("a row of {table} does not match its columns at {column}")]
    ColumnMismatch { table: &'static str, column: &'static str },
    #[error("stored value `{0}` is not a valid amount or hash")]
    Corrupt(String),
    #[error("the batch's intents cannot be netted: {0}")]
    Netting(String),
    #[error("internal error in the store: {0}")]
    Internal(&'static str),
    #[error("{0}")]
    Backup(String),
}

/// The SQL texts of a bulk write of `rows` rows in statements of up to
/// `per_statement`: one for the full statements and one for the remainder,
/// each built only if a statement uses it (a one-row write at the tip
/// builds one short text, not a 512-row one).
pub(crate) struct BulkTexts {
    full_len: usize,
    full: String,
    last: String,
}

impl BulkTexts {
    pub(crate) fn new(rows: usize, per_statement: usize, sql: impl Fn(usize) -> String) -> Self {
        let full_len = per_statement.min(rows);
        let last = if rows > per_statement && !rows.is_multiple_of(per_statement) {
            sql(rows % per_statement)
        } else {
            String::new()
        };
        Self { full_len, full: sql(full_len), last }
    }

    /// The text for a statement of `rows` rows.
    pub(crate) fn for_rows(&self, rows: usize) -> &str {
        if rows == self.full_len { &self.full } else { &self.last }
    }
}

/// A statement of driver `DB` with its arguments bound, ready to run.
pub(crate) type Statement<'q, DB> =
    sqlx::query::Query<'q, DB, <DB as sqlx::Database>::Arguments<'q>>;

/// Runs `statements` in order on `conn`, each next one built (bound) while
/// the database runs the one before, so our work and the engine's overlap
/// instead of taking turns.
pub(crate) async fn execute_overlapped<'q, DB, C>(
    conn: &mut C,
    mut statements: impl Iterator<Item = Result<Statement<'q, DB>, StoreError>>,
) -> Result<(), StoreError>
where
    DB: sqlx::Database,
    for<'c> &'c mut C: sqlx::Executor<'c, Database = DB>,
    <DB as sqlx::Database>::Arguments<'q>: sqlx::IntoArguments<'q, DB>,
{
    let mut current = statements.next().transpose()?;
    while let Some(statement) = current {
        let (done, next) =
            tokio::join!(statement.execute(&mut *conn), async { statements.next().transpose() });
        done?;
        current = next?;
    }
    Ok(())
}

impl Backend {
    /// Most parameters one bulk statement binds (both engines allow 32,766
    /// or more).
    pub(crate) fn max_parameters(self) -> usize {
        match self {
            Self::Sqlite => 30_000,
            Self::Postgres => 30_000,
        }
    }

    /// Rows per bulk statement of `columns` columns: small enough that the
    /// next statement is built while this one runs, and that each full
    /// statement has one text the engine prepares once.
    pub(crate) fn rows_per_statement(self, columns: usize) -> usize {
        (self.max_parameters() / columns.max(1)).clamp(1, 512)
    }

    /// `(…), (…), …`: `rows` groups of `columns` placeholders for a
    /// multi-row `VALUES`. SQLite gets anonymous `?` bound by position: a
    /// `$n` it looks up by name, at a cost that grows with the square of the
    /// parameter count. PostgreSQL wants `$n`.
    pub(crate) fn value_rows(self, rows: usize, columns: usize) -> String {
        let mut sql = String::with_capacity(rows * columns * 6);
        for row in 0..rows {
            sql.push_str(if row == 0 { "(" } else { ", (" });
            for column in 0..columns {
                if column > 0 {
                    sql.push_str(", ");
                }
                match self {
                    Self::Sqlite => sql.push('?'),
                    Self::Postgres => {
                        use std::fmt::Write as _;
                        let _ = write!(sql, "${}", row * columns + column + 1);
                    }
                }
            }
            sql.push(')');
        }
        sql
    }
}

impl Store {
    /// A transaction that writes chain state: through the native driver on
    /// PostgreSQL (for `COPY`), else as [`Store::begin_write`].
    pub(crate) async fn begin_chain_write(&self) -> Result<WriteTx, StoreError> {
        Ok(match &self.pg_pool {
            Some(pg) => WriteTx::Postgres(pg.begin().await?),
            None => WriteTx::Sqlite(self.begin_write().await?),
        })
    }

    /// A transaction that will write. On SQLite it takes the write lock at
    /// `BEGIN` (`IMMEDIATE`): a deferred transaction that reads first and
    /// then writes fails at once with `SQLITE_BUSY` when another connection
    /// wrote in between, without waiting out the busy timeout.
    pub(crate) async fn begin_write(
        &self,
    ) -> Result<sqlx::Transaction<'static, sqlx::Any>, StoreError> {
        Ok(match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        })
    }
}

impl StoreError {
    /// Whether trying again later may succeed: the database was busy or
    /// locked by another writer past the busy timeout, a transaction lost a
    /// serialization or deadlock race, or the connection failed. Nothing was
    /// written by the failed transaction.
    pub fn is_transient(&self) -> bool {
        let Self::Database(error) = self else {
            return false;
        };
        match error {
            sqlx::Error::Database(db) => matches!(
                db.code().as_deref(),
                // SQLite: SQLITE_BUSY, SQLITE_LOCKED (and extended codes).
                Some("5" | "6" | "261" | "262" | "517" | "773")
                // PostgreSQL: serialization failure, deadlock, lock timeout,
                // too many connections, admin shutdown, cannot connect now.
                | Some("40001" | "40P01" | "55P03" | "53300" | "57P01" | "57P03")
            ),
            sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed => true,
            _ => false,
        }
    }
}

/// One async API over SQLite and PostgreSQL.
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    /// PostgreSQL only: native connections for the transactions that write
    /// chain state (see `write_tx`).
    pg_pool: Option<sqlx::PgPool>,
    backend: Backend,
    /// SQLite only: copies the write-ahead log into the database file in
    /// the background. Stops with the last clone of the store.
    _checkpointer: Option<Arc<Checkpointer>>,
}

/// How often the background checkpointer runs.
const CHECKPOINT_INTERVAL: Duration = Duration::from_millis(100);

/// Page size of a new SQLite file (SQLite's default is 4 KiB). A backfill
/// writes the log a page at a time and copies it back a page at a time:
/// with 16 KiB pages it makes a quarter of the system calls and page
/// headers for the same rows, which took about a tenth off the store's
/// time per event (`apply_bench`). A file keeps the size it was made with.
const SQLITE_PAGE_BYTES: u32 = 16_384;

/// Size the write-ahead log may reach before a writer checkpoints it
/// itself (SQLite's default is 1,000 pages). While a writer commits without a
/// pause, as a backfill does, a passive checkpoint never finds the log
/// wholly copied at the moment a write begins, so the log is not restarted
/// and grows; at this size (256 MiB) the writer copies what is left and
/// restarts it. Between bursts of writing the background checkpointer
/// catches up and the next write restarts the log.
const WRITER_CHECKPOINT_BYTES: u64 = 256 << 20;

/// Size a restarted log is cut back to.
const WAL_KEPT_BYTES: u64 = 64 << 20;

/// SQLite page cache per connection, in KiB: above the pages one backfill
/// range dirties, so a transaction never spills to the log before it commits.
const SQLITE_CACHE_KIB: u32 = 16_384;

#[derive(Debug)]
struct Checkpointer(tokio::task::JoinHandle<()>);

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Checkpointer {
    /// With SQLite's default every thousandth log page makes the committing
    /// writer copy the log into the database, in its own commit; a
    /// backfill's writer thread spent a quarter of its time there. A passive checkpoint from
    /// another connection does the same copy beside the writer without
    /// blocking it or any reader.
    fn start(pool: AnyPool) -> Self {
        Self(tokio::spawn(async move {
            while !pool.is_closed() {
                tokio::time::sleep(CHECKPOINT_INTERVAL).await;
                if let Err(error) =
                    sqlx::query("PRAGMA wal_checkpoint(PASSIVE)").execute(&pool).await
                {
                    tracing::debug!(%error, "background checkpoint failed; retrying");
                }
            }
        }))
    }
}

/// A 256-bit amount as stored: 78 decimal digits, zero-padded, so text order
/// is numeric order.
///
/// Written out by hand because a backfill writes one or two per event:
/// through `format!` (ruint's `Display`, then padding) each took about 5,000
/// instructions, a fifth of the store's own work per event; here it is five
/// divisions by 10^19 and fixed-width digits.
pub fn amount_text(amount: &U256) -> String {
    /// Digits of `U256::MAX`.
    const DIGITS: usize = 78;
    /// Digits of the largest power of ten a `u64` holds.
    const CHUNK_DIGITS: usize = 19;
    const CHUNK: u64 = 10u64.pow(CHUNK_DIGITS as u32);
    const WIDTH: usize = CHUNK_DIGITS * DIGITS.div_ceil(CHUNK_DIGITS);
    let mut digits = [b'0'; WIDTH];
    // Least significant chunk first, each filled from its right end.
    for (chunk, mut part) in amount.to_base_le(CHUNK).enumerate() {
        let end = WIDTH - CHUNK_DIGITS * chunk;
        for digit in digits[end - CHUNK_DIGITS..end].iter_mut().rev() {
            *digit = b'0' + (part % 10) as u8;
            part /= 10;
        }
    }
    String::from_utf8(digits[WIDTH - DIGITS..].to_vec()).expect("decimal digits are ASCII")
}

pub fn parse_amount(text: &str) -> Result<U256, StoreError> {
    U256::from_str_radix(text, 10).map_err(|_| StoreError::Corrupt(text.to_owned()))
}

pub fn hash_text(hash: &B256) -> String {
    alloy_primitives::hex::encode_prefixed(hash)
}

/// A 65-byte ECDSA signature (`r ‖ s ‖ v`) as stored: hex without `0x`.
pub fn signature_text(signature: &[u8; 65]) -> String {
    alloy_primitives::hex::encode(signature)
}

pub fn parse_signature(text: &str) -> Result<[u8; 65], StoreError> {
    alloy_primitives::hex::decode(text)
        .ok()
        .and_then(|bytes| bytes.try_into().ok())
        .ok_or_else(|| StoreError::Corrupt(text.to_owned()))
}

pub fn parse_hash(text: &str) -> Result<B256, StoreError> {
    B256::from_str(text).map_err(|_| StoreError::Corrupt(text.to_owned()))
}

/// Sets SQLite's journal mode and runs the migrations. PostgreSQL
/// serialises concurrent migrators with an advisory lock; SQLite has none,
/// so two processes opening one new file at once (`cairn index` and `cairn
/// serve` started together) can race: switching to WAL needs the file to
/// itself ("database is locked"), and two migrators can apply the same
/// migration. Each migration is one transaction, so the loser's is rolled
/// back whole; doing it all again skips what the winner applied.
async fn prepare(pool: &AnyPool, backend: Backend) -> Result<(), StoreError> {
    const ATTEMPTS: u32 = 20;
    let mut attempt = 1;
    loop {
        let result = async {
            if backend == Backend::Sqlite {
                // WAL lets readers run beside the writer; the mode is stored
                // in the file.
                sqlx::query("PRAGMA journal_mode = WAL").execute(pool).await?;
            }
            Migrator::new(BackendMigrations::of(backend)?).await?.run(pool).await?;
            Ok::<(), StoreError>(())
        }
        .await;
        match result {
            Ok(()) => return Ok(()),
            Err(error) if backend == Backend::Sqlite && attempt < ATTEMPTS => {
                tracing::debug!(%error, attempt, "opening raced another process; retrying");
                tokio::time::sleep(Duration::from_millis(50 * u64::from(attempt))).await;
                attempt += 1;
            }
            Err(error) => return Err(error),
        }
    }
}

fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

impl Store {
    /// Opens (creating if needed) and migrates the store at `url`.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            return Err(StoreError::UnsupportedUrl(url.to_owned()));
        };
        let options = AnyPoolOptions::new().acquire_timeout(Duration::from_secs(30));
        let pool = match backend {
            Backend::Sqlite => {
                // One writer at a time is SQLite's rule; waiting for the lock
                // beats failing with "database is locked".
                options
                    .max_connections(4)
                    .after_connect(|conn, _| {
                        Box::pin(async move {
                            sqlx::query("PRAGMA busy_timeout = 10000").execute(&mut *conn).await?;
                            sqlx::query("PRAGMA synchronous = NORMAL").execute(&mut *conn).await?;
                            for pragma in [
                                // Takes effect only while the file is new.
                                format!("PRAGMA page_size = {SQLITE_PAGE_BYTES}"),
                                format!("PRAGMA cache_size = -{SQLITE_CACHE_KIB}"),
                                // Once checkpointed, a log grown past this is cut back.
                                format!("PRAGMA journal_size_limit = {WAL_KEPT_BYTES}"),
                            ] {
                                sqlx::query(&pragma).execute(&mut *conn).await?;
                            }
                            // SQLite counts the log in pages, whose size
                            // depends on when the file was made.
                            let page: i64 = sqlx::query_scalar("PRAGMA page_size")
                                .fetch_one(&mut *conn)
                                .await?;
                            let pages = WRITER_CHECKPOINT_BYTES / page.max(512) as u64;
                            sqlx::query(&format!("PRAGMA wal_autocheckpoint = {pages}"))
                                .execute(&mut *conn)
                                .await?;
                            Ok(())
                        })
                    })
                    .connect(url)
                    .await?
            }
            Backend::Postgres => options.max_connections(8).connect(url).await?,
        };
        prepare(&pool, backend).await?;
        let checkpointer =
            (backend == Backend::Sqlite).then(|| Arc::new(Checkpointer::start(pool.clone())));
        // One indexer writes a chain at a time; a second connection serves a
        // reorg's rollback or another chain beside it.
        let pg_pool = match backend {
            Backend::Postgres => Some(
                sqlx::postgres::PgPoolOptions::new()
                    .acquire_timeout(Duration::from_secs(30))
                    .max_connections(2)
                    .connect_lazy(url)?,
            ),
            Backend::Sqlite => None,
        };
        Ok(Self { pool, pg_pool, backend, _checkpointer: checkpointer })
    }

    /// Opens the configured store: `url` if given, else the embedded SQLite
    /// file in `data_dir`.
    pub async fn open_configured(url: Option<&str>, data_dir: &Path) -> Result<Self, StoreError> {
        match url {
            Some(url) => Self::open(url).await,
            None => {
                std::fs::create_dir_all(data_dir)
                    .map_err(|e| StoreError::Database(sqlx::Error::Io(e)))?;
                Self::open(&format!("sqlite://{}?mode=rwc", data_dir.join(SQLITE_FILE).display()))
                    .await
            }
        }
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Writes a consistent copy of the embedded store to `path` while
    /// readers and the writer go on (SQLite's `VACUUM INTO`: one read
    /// transaction, so the copy is the store as of one instant, with the
    /// write-ahead log folded in). The file must not exist yet. PostgreSQL
    /// is backed up with its own tools (`pg_dump`), which this refuses to
    /// stand in for.
    pub async fn backup_to(&self, path: &Path) -> Result<(), StoreError> {
        if self.backend != Backend::Sqlite {
            return Err(StoreError::Backup(
                "a PostgreSQL store is backed up with pg_dump (see docs/operations.md)".into(),
            ));
        }
        if path.exists() {
            return Err(StoreError::Backup(format!(
                "{} exists; a backup never overwrites a file",
                path.display()
            )));
        }
        let target = path
            .to_str()
            .ok_or_else(|| StoreError::Backup(format!("{} is not a UTF-8 path", path.display())))?;
        sqlx::query("VACUUM INTO $1").bind(target.to_owned()).execute(&self.pool).await?;
        Ok(())
    }

    pub async fn close(&self) {
        self.pool.close().await;
        if let Some(pg_pool) = &self.pg_pool {
            pg_pool.close().await;
        }
    }

    pub async fn cursor(&self, chain: &str) -> Result<Option<Cursor>, StoreError> {
        read_cursor(&self.pool, chain).await
    }

    /// The stored hash of block `number`, if that block is still kept.
    pub async fn block_hash(&self, chain: &str, number: u64) -> Result<Option<B256>, StoreError> {
        let row = sqlx::query(BLOCK_HASH_SQL)
            .bind(chain.to_owned())
            .bind(number as i64)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| parse_hash(&r.try_get::<String, _>(0)?)).transpose()
    }

    /// Writes a batch of blocks, their events, the derived state and the new
    /// cursor in one transaction: a crash leaves all of it or none.
    pub async fn apply(&self, chain: &str, batch: &BlockBatch) -> Result<Cursor, StoreError> {
        let mut tx = self.begin_chain_write().await?;
        let stored = read_cursor_in(&mut tx, chain).await?;
        let last = batch.last_block();
        if let Some(cursor) = stored {
            if batch.first_block != cursor.block_number + 1 {
                return Err(StoreError::NotContiguous {
                    chain: chain.to_owned(),
                    expected: cursor.block_number + 1,
                    got: batch.first_block,
                });
            }
            if let Some(first) = batch.headers.first().filter(|h| h.number == batch.first_block)
                && first.parent_hash != cursor.block_hash
            {
                return Err(StoreError::ParentMismatch {
                    chain: chain.to_owned(),
                    number: first.number,
                    parent: first.parent_hash,
                });
            }
        }
        let finalized = batch.finalized_block.max(stored.map_or(0, |c| c.finalized_block));
        let buffered = last.number <= finalized;
        let mut writer = derived::Writer::new(&mut tx, chain, finalized, buffered);
        writer.write(&batch.events).await?;
        writer.flush().await?;
        drop(writer);

        for header in &batch.headers {
            let (hash, parent) = (hash_text(&header.hash), hash_text(&header.parent_hash));
            with_conn!(&mut tx, |conn| {
                sqlx::query(
                    "INSERT INTO blocks (chain, block_number, block_hash, parent_hash, block_time) VALUES ($1, $2, $3, $4, $5) \
                     ON CONFLICT (chain, block_number) DO UPDATE SET block_hash = excluded.block_hash, \
                     parent_hash = excluded.parent_hash, block_time = excluded.block_time",
                )
                .bind(chain)
                .bind(header.number as i64)
                .bind(hash.as_str())
                .bind(parent.as_str())
                .bind(header.time as i64)
                .execute(&mut *conn)
                .await?;
            });
        }
        // Below finality nothing can be undone: drop what only a reorg needs.
        for sql in [
            "DELETE FROM undo_log WHERE chain = $1 AND block_number <= $2",
            "DELETE FROM blocks WHERE chain = $1 AND block_number < $2",
        ] {
            with_conn!(&mut tx, |conn| {
                sqlx::query(sql).bind(chain).bind(finalized as i64).execute(&mut *conn).await?;
            });
        }
        let cursor =
            Cursor { block_number: last.number, block_hash: last.hash, finalized_block: finalized };
        put_cursor(&mut tx, chain, &cursor).await?;
        tx.commit().await?;
        Ok(cursor)
    }

    /// Undoes every block above `fork` (a reorg): derived rows return to
    /// their images before those blocks, their events and headers go, and
    /// the cursor moves back to `fork`.
    pub async fn rollback_to(&self, chain: &str, fork: u64) -> Result<Cursor, StoreError> {
        let fail = |reason: String| StoreError::Rollback { chain: chain.to_owned(), fork, reason };
        let mut tx = self.begin_chain_write().await?;
        let cursor = read_cursor_in(&mut tx, chain)
            .await?
            .ok_or_else(|| fail("nothing is indexed".into()))?;
        if fork >= cursor.block_number {
            return Ok(cursor);
        }
        if fork < cursor.finalized_block {
            return Err(fail(format!("block {} is final", cursor.finalized_block)));
        }
        let fork_hash: Option<String> = with_conn!(&mut tx, |conn| {
            sqlx::query_scalar(BLOCK_HASH_SQL)
                .bind(chain)
                .bind(fork as i64)
                .fetch_optional(&mut *conn)
                .await?
        });
        let fork_hash = fork_hash.ok_or_else(|| fail("its header is not kept".into()))?;

        let undo: Vec<(String, String, Option<String>)> = with_conn!(&mut tx, |conn| {
            sqlx::query_as(
                "SELECT table_name, row_key, old_row FROM undo_log WHERE chain = $1 AND block_number > $2 ORDER BY seq DESC",
            )
            .bind(chain)
            .bind(fork as i64)
            .fetch_all(&mut *conn)
            .await?
        });
        for (table_name, row_key, old_row) in &undo {
            let table = table::by_name(table_name)
                .ok_or_else(|| fail("the undo log names an unknown table".into()))?;
            let key: TableRow =
                table.row_from_json(row_key, true).map_err(|e| fail(format!("undo key: {e}")))?;
            match old_row {
                Some(old) => {
                    let row: TableRow = table
                        .row_from_json(old, false)
                        .map_err(|e| fail(format!("undo row: {e}")))?;
                    table.put(&mut tx, &row).await?;
                }
                None => table.delete(&mut tx, &key).await?,
            }
        }
        let dropped: Vec<(String, i64)> = with_conn!(&mut tx, |conn| {
            sqlx::query_as(
                "SELECT contract, COUNT(*) FROM events WHERE chain = $1 AND block_number > $2 GROUP BY contract",
            )
            .bind(chain)
            .bind(fork as i64)
            .fetch_all(&mut *conn)
            .await?
        });
        for (contract, count) in &dropped {
            with_conn!(&mut tx, |conn| {
                sqlx::query(
                    "UPDATE event_counts SET events = events - $1 WHERE chain = $2 AND contract = $3",
                )
                .bind(*count)
                .bind(chain)
                .bind(contract.as_str())
                .execute(&mut *conn)
                .await?;
            });
        }
        for sql in [
            "DELETE FROM undo_log WHERE chain = $1 AND block_number > $2",
            "DELETE FROM events WHERE chain = $1 AND block_number > $2",
            "DELETE FROM blocks WHERE chain = $1 AND block_number > $2",
        ] {
            with_conn!(&mut tx, |conn| {
                sqlx::query(sql).bind(chain).bind(fork as i64).execute(&mut *conn).await?;
            });
        }
        let cursor = Cursor {
            block_number: fork,
            block_hash: parse_hash(&fork_hash)?,
            finalized_block: cursor.finalized_block,
        };
        put_cursor(&mut tx, chain, &cursor).await?;
        tx.commit().await?;
        Ok(cursor)
    }

    /// Every derived row and event of `chain`, as JSON in key order: two
    /// stores that index the same history dump equal.
    pub async fn dump(
        &self,
        chain: &str,
    ) -> Result<BTreeMap<String, Vec<serde_json::Value>>, StoreError> {
        let mut out = BTreeMap::new();
        let mut tx = self.begin_write().await?;
        for table in table::DERIVED {
            let sql = format!(
                "SELECT {} FROM {} WHERE chain = $1 ORDER BY {}",
                table.column_list(),
                table.name,
                table.key_list()
            );
            let rows = sqlx::query(&sql).bind(chain.to_owned()).fetch_all(&mut *tx).await?;
            let mut values = Vec::with_capacity(rows.len());
            for row in &rows {
                values.push(table.to_json(&table.decode(row)?));
            }
            out.insert(table.name.to_owned(), values);
        }
        let events = sqlx::query(
            "SELECT block_number, log_index, block_hash, tx_hash, contract, kind, body FROM events \
             WHERE chain = $1 ORDER BY block_number, log_index",
        )
        .bind(chain.to_owned())
        .fetch_all(&mut *tx)
        .await?;
        let mut values = Vec::with_capacity(events.len());
        for row in &events {
            values.push(serde_json::json!([
                row.try_get::<i64, _>(0)?,
                row.try_get::<i64, _>(1)?,
                row.try_get::<String, _>(2)?,
                row.try_get::<String, _>(3)?,
                row.try_get::<String, _>(4)?,
                row.try_get::<String, _>(5)?,
                row.try_get::<String, _>(6)?,
            ]));
        }
        out.insert("events".to_owned(), values);
        tx.commit().await?;
        Ok(out)
    }

    pub async fn providers(&self, chain: &str) -> Result<Vec<ProviderRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT provider, operator, stake, unbonding, release_at, registered_block, registered_tx \
             FROM providers WHERE chain = $1 ORDER BY provider",
        )
        .bind(chain.to_owned())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(ProviderRow {
                    provider: r.try_get(0)?,
                    operator: r.try_get(1)?,
                    stake: parse_amount(&r.try_get::<String, _>(2)?)?,
                    unbonding: parse_amount(&r.try_get::<String, _>(3)?)?,
                    release_at: r.try_get::<i64, _>(4)? as u64,
                    registered_block: r.try_get::<i64, _>(5)? as u64,
                    registered_tx: r.try_get(6)?,
                })
            })
            .collect()
    }

    pub async fn services(&self, chain: &str) -> Result<Vec<ServiceRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT service_id, provider, service_chain, kind, url, metadata_hash, added_block, added_tx \
             FROM services WHERE chain = $1 ORDER BY service_id",
        )
        .bind(chain.to_owned())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(ServiceRow {
                    service_id: parse_hash(&r.try_get::<String, _>(0)?)?,
                    provider: r.try_get(1)?,
                    service_chain: r.try_get(2)?,
                    kind: r.try_get(3)?,
                    url: r.try_get(4)?,
                    metadata_hash: parse_hash(&r.try_get::<String, _>(5)?)?,
                    added_block: r.try_get::<i64, _>(6)? as u64,
                    added_tx: r.try_get(7)?,
                })
            })
            .collect()
    }

    /// An account's settlement balance of `asset`, zero if never seen.
    pub async fn balance(
        &self,
        chain: &str,
        account: &str,
        asset: &str,
    ) -> Result<U256, StoreError> {
        account_amount(&self.pool, BALANCE_SQL, chain, account, asset).await
    }

    /// How many events of `contract` the store holds for `chain`.
    pub async fn event_count(&self, chain: &str, contract: &str) -> Result<u64, StoreError> {
        let row = sqlx::query("SELECT events FROM event_counts WHERE chain = $1 AND contract = $2")
            .bind(chain.to_owned())
            .bind(contract.to_owned())
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map_or(Ok(0), |r| r.try_get::<i64, _>(0))? as u64)
    }

    /// The highest settled batch id, 0 before the first.
    pub async fn last_batch_id(&self, chain: &str) -> Result<u64, StoreError> {
        let row = sqlx::query("SELECT MAX(batch_id) FROM batches WHERE chain = $1")
            .bind(chain.to_owned())
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get::<Option<i64>, _>(0)?.unwrap_or(0) as u64)
    }
}

/// An account's settlement balance of an asset.
pub(crate) const BALANCE_SQL: &str =
    "SELECT balance FROM balances WHERE chain = $1 AND account = $2 AND asset = $3";
/// What an account has announced for withdrawal of an asset.
pub(crate) const WITHDRAWING_SQL: &str =
    "SELECT amount FROM pending_withdrawals WHERE chain = $1 AND account = $2 AND asset = $3";

/// The amount `sql` (bound to chain, account, asset) reads, zero without a row.
pub(crate) async fn account_amount<'e, E>(
    executor: E,
    sql: &'static str,
    chain: &str,
    account: &str,
    asset: &str,
) -> Result<U256, StoreError>
where
    E: sqlx::Executor<'e, Database = Any>,
{
    sqlx::query(sql)
        .bind(chain.to_owned())
        .bind(account.to_owned())
        .bind(asset.to_owned())
        .fetch_optional(executor)
        .await?
        .map_or(Ok(U256::ZERO), |r| parse_amount(&r.try_get::<String, _>(0)?))
}

/// The stored hash of a kept block, by chain and number.
const BLOCK_HASH_SQL: &str = "SELECT block_hash FROM blocks WHERE chain = $1 AND block_number = $2";

const CURSOR_SQL: &str =
    "SELECT block_number, block_hash, finalized_block FROM cursors WHERE chain = $1";

/// A cursor row as stored: block number, block hash, finalized block.
type CursorRow = (i64, String, i64);

fn cursor_from_row(
    (block_number, block_hash, finalized_block): CursorRow,
) -> Result<Cursor, StoreError> {
    Ok(Cursor {
        block_number: block_number as u64,
        block_hash: parse_hash(&block_hash)?,
        finalized_block: finalized_block as u64,
    })
}

async fn read_cursor<'e, E>(executor: E, chain: &str) -> Result<Option<Cursor>, StoreError>
where
    E: sqlx::Executor<'e, Database = Any>,
{
    let row: Option<CursorRow> =
        sqlx::query_as(CURSOR_SQL).bind(chain).fetch_optional(executor).await?;
    row.map(cursor_from_row).transpose()
}

/// [`read_cursor`] inside a transaction that writes chain state.
async fn read_cursor_in(tx: &mut WriteTx, chain: &str) -> Result<Option<Cursor>, StoreError> {
    let row: Option<CursorRow> = with_conn!(tx, |conn| {
        sqlx::query_as(CURSOR_SQL).bind(chain).fetch_optional(&mut *conn).await?
    });
    row.map(cursor_from_row).transpose()
}

async fn put_cursor(tx: &mut WriteTx, chain: &str, cursor: &Cursor) -> Result<(), StoreError> {
    let hash = hash_text(&cursor.block_hash);
    with_conn!(tx, |conn| {
        sqlx::query(
            "INSERT INTO cursors (chain, block_number, block_hash, finalized_block, updated_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (chain) DO UPDATE SET block_number = excluded.block_number, block_hash = excluded.block_hash, \
             finalized_block = excluded.finalized_block, updated_at = excluded.updated_at",
        )
        .bind(chain)
        .bind(cursor.block_number as i64)
        .bind(hash.as_str())
        .bind(cursor.finalized_block as i64)
        .bind(now_secs())
        .execute(&mut *conn)
        .await?;
    });
    Ok(())
}

impl BlockBatch {
    /// The batch's last block: the one the cursor moves to.
    pub fn last_block(&self) -> BlockRecord {
        self.last
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderRow {
    pub provider: Account,
    pub operator: Account,
    pub stake: U256,
    pub unbonding: U256,
    pub release_at: u64,
    pub registered_block: u64,
    pub registered_tx: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceRow {
    pub service_id: B256,
    pub provider: Account,
    pub service_chain: String,
    pub kind: String,
    pub url: String,
    pub metadata_hash: B256,
    pub added_block: u64,
    pub added_tx: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_78_digit_zero_padded_decimals_in_numeric_order() {
        assert_eq!(amount_text(&U256::ZERO), "0".repeat(78));
        assert_eq!(amount_text(&U256::from(42)), format!("{}42", "0".repeat(76)));
        assert_eq!(amount_text(&U256::MAX), U256::MAX.to_string());
        assert_eq!(amount_text(&U256::MAX).len(), 78);
        let amounts = [U256::ZERO, U256::from(9), U256::from(10), U256::from(1) << 200, U256::MAX];
        for amount in amounts {
            assert_eq!(amount_text(&amount), format!("{amount:078}"));
        }
        // Every chunk boundary of the hand-written digits, and values that
        // fill each chunk: 10^k - 1, 10^k, 10^k + 1 for every k, and a
        // value with every digit set.
        for k in 0..78 {
            let power = U256::from(10).pow(U256::from(k));
            for amount in [power - U256::from(1), power, power + U256::from(1)] {
                assert_eq!(amount_text(&amount), format!("{amount:078}"), "10^{k}");
            }
        }
        let mixed = U256::from_str_radix(&"1234567890".repeat(7), 10).unwrap();
        assert_eq!(amount_text(&mixed), format!("{mixed:078}"));
        for pair in amounts.windows(2) {
            assert!(amount_text(&pair[0]) < amount_text(&pair[1]), "{pair:?}");
            assert_eq!(parse_amount(&amount_text(&pair[1])).unwrap(), pair[1]);
        }
    }

    #[test]
    fn hashes_are_prefixed_lowercase_hex() {
        let hash = B256::repeat_byte(0xab);
        assert_eq!(hash_text(&hash), format!("0x{}", "ab".repeat(32)));
        assert_eq!(parse_hash(&hash_text(&hash)).unwrap(), hash);
    }
}
