//! Closing the open batch of intents: the intents accepted into it are
//! netted (`cairn_core::netting::ClosedBatch::assemble`) and the result is
//! recorded, with the next batch opened, in one transaction.

use alloy_primitives::B256;
use cairn_core::netting::{BatchIntent, BatchPolicy, ClosedBatch};
use sqlx::Row;

use crate::{Store, StoreError, hash_text, intents::lock_open_batch, parse_amount, parse_hash};

/// Why the open batch was not closed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CloseOutcome {
    Closed(Box<ClosedBatch>),
    /// The policy says wait (`pending` intents since `window_start`).
    NotYet {
        batch_id: u64,
        pending: usize,
    },
    /// The previous batch is not settled on chain yet; its commitment digest
    /// is the next batch's `prevHash`, and batch ids must stay contiguous.
    AwaitingSettlement {
        batch_id: u64,
    },
}

impl Store {
    /// Closes the open batch if `policy` allows at `now`.
    pub async fn close_open_batch(
        &self,
        chain: &str,
        policy: &BatchPolicy,
        now: i64,
    ) -> Result<CloseOutcome, StoreError> {
        let mut tx = self.pool.begin().await?;
        // The same row every acceptance locks: no intent can join the batch
        // while it closes.
        let batch_id = lock_open_batch(&mut tx, chain, 0, now).await?;
        let window_start: i64 =
            sqlx::query("SELECT window_start FROM batch_state WHERE chain = $1")
                .bind(chain.to_owned())
                .fetch_one(&mut *tx)
                .await?
                .try_get(0)?;
        let prev_hash = if batch_id == 1 {
            Some(B256::ZERO)
        } else {
            sqlx::query("SELECT commitment_hash FROM batches WHERE chain = $1 AND batch_id = $2")
                .bind(chain.to_owned())
                .bind(batch_id as i64 - 1)
                .fetch_optional(&mut *tx)
                .await?
                .map(|r| parse_hash(&r.try_get::<String, _>(0)?))
                .transpose()?
        };
        let Some(prev_hash) = prev_hash else {
            tx.rollback().await?;
            return Ok(CloseOutcome::AwaitingSettlement { batch_id: batch_id - 1 });
        };

        let rows = sqlx::query(
            "SELECT intent_hash, payer, payee, asset, amount FROM intents \
             WHERE chain = $1 AND batch_id = $2",
        )
        .bind(chain.to_owned())
        .bind(batch_id as i64)
        .fetch_all(&mut *tx)
        .await?;
        let window_start = u64::try_from(window_start).unwrap_or(0);
        let now_secs = u64::try_from(now).unwrap_or(0);
        if !policy.should_close(rows.len(), window_start, now_secs) {
            tx.rollback().await?;
            return Ok(CloseOutcome::NotYet { batch_id, pending: rows.len() });
        }
        let address = |text: String| text.parse().map_err(|_| StoreError::Corrupt(text));
        let mut intents = Vec::with_capacity(rows.len());
        for row in &rows {
            let amount_text: String = row.try_get(4)?;
            let amount = u128::try_from(parse_amount(&amount_text)?)
                .map_err(|_| StoreError::Corrupt(amount_text.clone()))?;
            intents.push(BatchIntent {
                digest: parse_hash(&row.try_get::<String, _>(0)?)?,
                payer: address(row.try_get(1)?)?,
                payee: address(row.try_get(2)?)?,
                asset: address(row.try_get(3)?)?,
                amount,
            });
        }
        let closed = ClosedBatch::assemble(batch_id, prev_hash, window_start, now_secs, intents)
            .expect("the policy never closes an empty batch");
        let body =
            serde_json::to_string(&closed).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        sqlx::query(
            "INSERT INTO closed_batches (chain, batch_id, prev_hash, intents_root, deltas_root, \
             intent_count, delta_count, body, stage, closed_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(chain.to_owned())
        .bind(batch_id as i64)
        .bind(hash_text(&prev_hash))
        .bind(hash_text(&closed.body.intents_root))
        .bind(hash_text(&closed.body.deltas_root))
        .bind(i64::from(closed.body.intent_count))
        .bind(i64::from(closed.body.delta_count))
        .bind(body)
        .bind("closed".to_owned())
        .bind(now)
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE intents SET status = 'closed' WHERE chain = $1 AND batch_id = $2")
            .bind(chain.to_owned())
            .bind(batch_id as i64)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "UPDATE batch_state SET open_batch = $1, window_start = $2, accepted = 0 WHERE chain = $3",
        )
        .bind(batch_id as i64 + 1)
        .bind(now)
        .bind(chain.to_owned())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(CloseOutcome::Closed(Box::new(closed)))
    }

    /// A closed batch and its stage (`closed` until its receipt is written).
    pub async fn closed_batch(
        &self,
        chain: &str,
        batch_id: u64,
    ) -> Result<Option<(ClosedBatch, String)>, StoreError> {
        let row = sqlx::query(
            "SELECT body, stage FROM closed_batches WHERE chain = $1 AND batch_id = $2",
        )
        .bind(chain.to_owned())
        .bind(batch_id as i64)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            let body: String = r.try_get(0)?;
            let batch =
                serde_json::from_str(&body).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            Ok((batch, r.try_get(1)?))
        })
        .transpose()
    }
}
