//! Metered gateway usage (migration 14): calls per (wallet, served chain,
//! provider, method class), and what a wallet has paid providers in
//! accepted intents, so `GET /v1/usage` can tell what is still owed.

use std::collections::BTreeMap;

use alloy_primitives::{Address, U256};
use sqlx::Row;

use crate::{Store, StoreError, parse_amount};

/// Calls counted under one key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageRow {
    /// CAIP-10 account of the signed-in wallet.
    pub wallet: String,
    /// CAIP-2 chain the calls were served on.
    pub chain: String,
    /// CAIP-10 id of the provider that served them.
    pub provider: String,
    /// `read`, `heavy` or `write`.
    pub class: String,
    pub calls: u64,
    /// Unix seconds.
    pub first_seen: i64,
    pub last_seen: i64,
}

const COLUMNS: usize = 7;
/// Rows per statement. A flush holds a few keys per active wallet, so
/// most take one statement.
const CHUNK: usize = 256;

fn count(calls: u64) -> i64 {
    i64::try_from(calls).unwrap_or(i64::MAX)
}

impl Store {
    /// Adds `rows` to what is stored, in one transaction: calls add up,
    /// `first_seen` keeps the earliest and `last_seen` the latest. Each key
    /// may appear once in `rows`.
    pub async fn add_usage(&self, rows: &[UsageRow]) -> Result<(), StoreError> {
        if rows.is_empty() {
            return Ok(());
        }
        let mut tx = self.begin_write().await?;
        for chunk in rows.chunks(CHUNK) {
            let sql = format!(
                "INSERT INTO rpc_usage (wallet, chain, provider, class, calls, first_seen, last_seen) \
                 VALUES {} ON CONFLICT (wallet, chain, provider, class) DO UPDATE SET \
                 calls = rpc_usage.calls + excluded.calls, \
                 first_seen = CASE WHEN excluded.first_seen < rpc_usage.first_seen \
                     THEN excluded.first_seen ELSE rpc_usage.first_seen END, \
                 last_seen = CASE WHEN excluded.last_seen > rpc_usage.last_seen \
                     THEN excluded.last_seen ELSE rpc_usage.last_seen END",
                self.backend.value_rows(chunk.len(), COLUMNS)
            );
            let mut query = sqlx::query(&sql);
            for row in chunk {
                query = query
                    .bind(row.wallet.clone())
                    .bind(row.chain.clone())
                    .bind(row.provider.clone())
                    .bind(row.class.clone())
                    .bind(count(row.calls))
                    .bind(row.first_seen)
                    .bind(row.last_seen);
            }
            query.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Everything counted for `wallet`, by provider, chain and class.
    pub async fn usage(&self, wallet: &str) -> Result<Vec<UsageRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT wallet, chain, provider, class, calls, first_seen, last_seen FROM rpc_usage \
             WHERE wallet = $1 ORDER BY provider, chain, class",
        )
        .bind(wallet.to_owned())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(UsageRow {
                    wallet: r.try_get(0)?,
                    chain: r.try_get(1)?,
                    provider: r.try_get(2)?,
                    class: r.try_get(3)?,
                    calls: u64::try_from(r.try_get::<i64, _>(4)?).unwrap_or(0),
                    first_seen: r.try_get(5)?,
                    last_seen: r.try_get(6)?,
                })
            })
            .collect()
    }

    /// What `payer` has paid in `asset` on `chain` (the settlement's
    /// registry chain), per payee: the sum of its accepted intents, settled
    /// or not.
    pub async fn paid_by(
        &self,
        chain: &str,
        payer: &Address,
        asset: &Address,
    ) -> Result<BTreeMap<Address, U256>, StoreError> {
        let rows = sqlx::query(
            "SELECT payee, amount FROM intents WHERE chain = $1 AND payer = $2 AND asset = $3",
        )
        .bind(chain.to_owned())
        .bind(format!("{payer:#x}"))
        .bind(format!("{asset:#x}"))
        .fetch_all(&self.pool)
        .await?;
        let mut paid: BTreeMap<Address, U256> = BTreeMap::new();
        for row in &rows {
            let payee_text: String = row.try_get(0)?;
            let payee: Address =
                payee_text.parse().map_err(|_| StoreError::Corrupt(payee_text.clone()))?;
            let amount = parse_amount(&row.try_get::<String, _>(1)?)?;
            let total = paid.entry(payee).or_default();
            *total = total.saturating_add(amount);
        }
        Ok(paid)
    }
}
