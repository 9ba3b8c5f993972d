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
        let mut tx = self.begin_write().await?;
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
        let mut pairs = std::collections::HashSet::new();
        for row in &rows {
            let (payer, payee, asset): (String, String, String) =
                (row.try_get(1)?, row.try_get(2)?, row.try_get(3)?);
            pairs.insert((payer, asset.clone()));
            pairs.insert((payee, asset));
        }
        if !policy.should_close(rows.len(), pairs.len(), window_start, now_secs) {
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
            .map_err(|e| StoreError::Netting(e.to_string()))?;
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

/// A batch's signed receipt and commitment, as the outbox keeps them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptRecord {
    /// ANS-104 id, base64url.
    pub item_id: String,
    /// The encoded data item.
    pub item: Vec<u8>,
    /// The commitment naming the item (JSON).
    pub commitment: String,
    pub commitment_hash: B256,
    pub commitment_signature: [u8; 65],
    /// Further items the receipt points to (id, encoded item), stored with
    /// it: the batch is uploaded only once all of them are.
    pub attachments: Vec<(String, Vec<u8>)>,
}

const OUTBOX_COLUMNS: &str = "item_id, kind, payload, state, attempts, tx_id, gateway, last_error, next_attempt_at, updated_at";

fn outbox_entry(row: &sqlx::any::AnyRow) -> Result<OutboxEntry, StoreError> {
    use base64::Engine as _;
    let payload: String = row.try_get(2)?;
    Ok(OutboxEntry {
        item_id: row.try_get(0)?,
        kind: row.try_get(1)?,
        payload: base64::engine::general_purpose::STANDARD
            .decode(&payload)
            .map_err(|_| StoreError::Corrupt("outbox payload".into()))?,
        state: row.try_get(3)?,
        attempts: row.try_get::<i64, _>(4)? as u64,
        tx_id: row.try_get(5)?,
        gateway: row.try_get(6)?,
        last_error: row.try_get(7)?,
        next_attempt_at: row.try_get(8)?,
        updated_at: row.try_get(9)?,
    })
}

/// An outbox entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxEntry {
    pub item_id: String,
    pub kind: String,
    pub payload: Vec<u8>,
    /// `pending` (to post), `posted` (to read back) or `confirmed`.
    pub state: String,
    pub attempts: u64,
    /// The Arweave transaction that carried the item, once posted.
    pub tx_id: Option<String>,
    /// The bundler or gateway it was last posted to; once confirmed, the
    /// gateway it was read back from.
    pub gateway: Option<String>,
    pub last_error: Option<String>,
    pub next_attempt_at: i64,
    pub updated_at: i64,
}

/// One attempt's outcome for an outbox entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutboxUpdate<'a> {
    /// `pending`, `posted` or `confirmed`.
    pub state: &'a str,
    /// Set when posted; kept otherwise.
    pub tx_id: Option<&'a str>,
    /// Set when posted; kept otherwise.
    pub gateway: Option<&'a str>,
    /// Why the attempt failed, if it did.
    pub error: Option<&'a str>,
    pub next_attempt_at: i64,
}

impl Store {
    /// Records a closed batch's receipt: the batch moves to
    /// `receipt_written` and the item enters the outbox, together. Recording
    /// the same receipt again changes nothing; a different one for a batch
    /// that has one is refused.
    pub async fn record_receipt(
        &self,
        chain: &str,
        batch_id: u64,
        receipt: &ReceiptRecord,
    ) -> Result<(), StoreError> {
        let now = crate::now_secs();
        let mut tx = self.begin_write().await?;
        let updated = sqlx::query(
            "UPDATE closed_batches SET stage = 'receipt_written', receipt_id = $1, commitment = $2, \
             commitment_hash = $3, commitment_signature = $4 \
             WHERE chain = $5 AND batch_id = $6 AND stage = 'closed'",
        )
        .bind(receipt.item_id.clone())
        .bind(receipt.commitment.clone())
        .bind(hash_text(&receipt.commitment_hash))
        .bind(crate::signature_text(&receipt.commitment_signature))
        .bind(chain.to_owned())
        .bind(batch_id as i64)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if updated == 0 {
            let existing: Option<Option<String>> = sqlx::query(
                "SELECT receipt_id FROM closed_batches WHERE chain = $1 AND batch_id = $2",
            )
            .bind(chain.to_owned())
            .bind(batch_id as i64)
            .fetch_optional(&mut *tx)
            .await?
            .map(|r| r.try_get(0))
            .transpose()?;
            tx.rollback().await?;
            return match existing {
                Some(Some(id)) if id == receipt.item_id => Ok(()),
                Some(Some(id)) => Err(StoreError::Inconsistent {
                    block: batch_id,
                    log: 0,
                    what: format!("a second receipt for batch {batch_id} (it has {id})"),
                }),
                _ => Err(StoreError::Inconsistent {
                    block: batch_id,
                    log: 0,
                    what: format!("batch {batch_id}, which is not closed"),
                }),
            };
        }
        use base64::Engine as _;
        let attachments = receipt.attachments.iter().map(|(id, item)| (id, item, "batch-intents"));
        for (item_id, item, kind) in
            std::iter::once((&receipt.item_id, &receipt.item, "batch-receipt")).chain(attachments)
        {
            sqlx::query(
                "INSERT INTO outbox (item_id, kind, payload, state, attempts, next_attempt_at, \
                 last_error, created_at, updated_at, receipt_id) \
                 VALUES ($1, $2, $3, 'pending', 0, $4, NULL, $4, $4, $5)",
            )
            .bind(item_id.clone())
            .bind(kind.to_owned())
            .bind(base64::engine::general_purpose::STANDARD.encode(item))
            .bind(now)
            .bind(receipt.item_id.clone())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn outbox_entry(&self, item_id: &str) -> Result<Option<OutboxEntry>, StoreError> {
        let row = sqlx::query(&format!("SELECT {OUTBOX_COLUMNS} FROM outbox WHERE item_id = $1"))
            .bind(item_id.to_owned())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(outbox_entry).transpose()
    }

    /// The receipt id and commitment digest recorded for a batch, if any.
    pub async fn batch_receipt(
        &self,
        chain: &str,
        batch_id: u64,
    ) -> Result<Option<(String, B256)>, StoreError> {
        let row = sqlx::query(
            "SELECT receipt_id, commitment_hash FROM closed_batches \
             WHERE chain = $1 AND batch_id = $2 AND receipt_id IS NOT NULL",
        )
        .bind(chain.to_owned())
        .bind(batch_id as i64)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| Ok((r.try_get(0)?, parse_hash(&r.try_get::<String, _>(1)?)?))).transpose()
    }
}

/// Where a closed batch stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchStatus {
    pub batch_id: u64,
    /// `closed`, `receipt_written`, `uploaded` (the receipt reads back from
    /// Arweave), `submitted` (the settlement transaction is sent), or
    /// `settled` once the chain's `BatchSettled` is indexed.
    pub stage: String,
    pub intent_count: u64,
    pub delta_count: u64,
    pub intents_root: B256,
    pub deltas_root: B256,
    pub closed_at: i64,
    pub receipt_id: Option<String>,
    pub commitment_hash: Option<B256>,
    /// The receipt's way onto Arweave, once it is written.
    pub upload: Option<UploadStatus>,
    /// The settlement transaction last sent (it may be replaced by a bump).
    pub submitted_tx: Option<String>,
    pub settled_tx: Option<String>,
    pub settled_block: Option<u64>,
}

/// A receipt's upload, as the outbox has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadStatus {
    pub state: String,
    pub attempts: u64,
    pub tx_id: Option<String>,
    pub gateway: Option<String>,
    pub last_error: Option<String>,
    pub next_attempt_at: i64,
}

impl Store {
    /// Closed batches, newest first, below `before` (exclusive) if given.
    pub async fn batch_statuses(
        &self,
        chain: &str,
        before: Option<u64>,
        limit: u64,
    ) -> Result<Vec<BatchStatus>, StoreError> {
        let rows = sqlx::query(
            "SELECT c.batch_id, c.stage, c.intent_count, c.delta_count, c.intents_root, \
             c.deltas_root, c.closed_at, c.receipt_id, c.commitment_hash, b.tx_hash, b.block_number, \
             c.settle_tx, o.state, o.attempts, o.tx_id, o.gateway, o.last_error, o.next_attempt_at \
             FROM closed_batches c LEFT JOIN batches b ON b.chain = c.chain AND b.batch_id = c.batch_id \
             LEFT JOIN outbox o ON o.item_id = c.receipt_id \
             WHERE c.chain = $1 AND c.batch_id < $2 ORDER BY c.batch_id DESC LIMIT $3",
        )
        .bind(chain.to_owned())
        .bind(before.map_or(i64::MAX, |b| b as i64))
        .bind(limit as i64)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let settled_tx: Option<String> = r.try_get(9)?;
                let stage: String = r.try_get(1)?;
                let upload = match r.try_get::<Option<String>, _>(12)? {
                    Some(state) => Some(UploadStatus {
                        state,
                        attempts: r.try_get::<i64, _>(13)? as u64,
                        tx_id: r.try_get(14)?,
                        gateway: r.try_get(15)?,
                        last_error: r.try_get(16)?,
                        next_attempt_at: r.try_get(17)?,
                    }),
                    None => None,
                };
                Ok(BatchStatus {
                    batch_id: r.try_get::<i64, _>(0)? as u64,
                    stage: if settled_tx.is_some() { "settled".to_owned() } else { stage },
                    intent_count: r.try_get::<i64, _>(2)? as u64,
                    delta_count: r.try_get::<i64, _>(3)? as u64,
                    intents_root: parse_hash(&r.try_get::<String, _>(4)?)?,
                    deltas_root: parse_hash(&r.try_get::<String, _>(5)?)?,
                    closed_at: r.try_get(6)?,
                    receipt_id: r.try_get(7)?,
                    commitment_hash: r
                        .try_get::<Option<String>, _>(8)?
                        .map(|h| parse_hash(&h))
                        .transpose()?,
                    upload,
                    submitted_tx: r.try_get(11)?,
                    settled_tx,
                    settled_block: r.try_get::<Option<i64>, _>(10)?.map(|b| b as u64),
                })
            })
            .collect()
    }
}

/// What the submitter needs of a batch whose receipt is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingSubmission {
    pub batch: ClosedBatch,
    /// The commitment (JSON, as recorded with the receipt).
    pub commitment: String,
    pub commitment_hash: B256,
    pub commitment_signature: [u8; 65],
    /// The settlement transaction already signed for it, if any.
    pub sent: Option<SettlementTx>,
}

/// A signed settlement transaction, recorded before it is broadcast.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettlementTx {
    pub hash: B256,
    /// The signed transaction (EIP-2718 bytes).
    pub raw: Vec<u8>,
    pub nonce: u64,
    pub max_fee_per_gas: u128,
    pub max_priority_fee_per_gas: u128,
    pub sent_at: i64,
}

impl Store {
    /// The oldest closed batch the chain has not settled, and its stage.
    pub async fn unfinished_batch(&self, chain: &str) -> Result<Option<(u64, String)>, StoreError> {
        let row = sqlx::query(
            "SELECT c.batch_id, c.stage FROM closed_batches c \
             WHERE c.chain = $1 AND NOT EXISTS \
             (SELECT 1 FROM batches b WHERE b.chain = c.chain AND b.batch_id = c.batch_id) \
             ORDER BY c.batch_id LIMIT 1",
        )
        .bind(chain.to_owned())
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| Ok((r.try_get::<i64, _>(0)? as u64, r.try_get(1)?))).transpose()
    }

    /// A closed batch's recorded commitment (JSON) and its signature, once
    /// its receipt is written.
    pub async fn batch_commitment(
        &self,
        chain: &str,
        batch_id: u64,
    ) -> Result<Option<(String, [u8; 65])>, StoreError> {
        let row = sqlx::query(
            "SELECT commitment, commitment_signature FROM closed_batches \
             WHERE chain = $1 AND batch_id = $2 AND commitment IS NOT NULL",
        )
        .bind(chain.to_owned())
        .bind(batch_id as i64)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| Ok((r.try_get(0)?, crate::parse_signature(&r.try_get::<String, _>(1)?)?)))
            .transpose()
    }

    pub async fn pending_submission(
        &self,
        chain: &str,
        batch_id: u64,
    ) -> Result<Option<PendingSubmission>, StoreError> {
        let row = sqlx::query(
            "SELECT body, commitment, commitment_hash, commitment_signature, settle_tx, \
             settle_raw, settle_nonce, settle_max_fee, settle_priority_fee, settle_sent_at \
             FROM closed_batches WHERE chain = $1 AND batch_id = $2 AND commitment IS NOT NULL",
        )
        .bind(chain.to_owned())
        .bind(batch_id as i64)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            let body: String = r.try_get(0)?;
            Ok(PendingSubmission {
                batch: serde_json::from_str(&body)
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?,
                commitment: r.try_get(1)?,
                commitment_hash: parse_hash(&r.try_get::<String, _>(2)?)?,
                commitment_signature: crate::parse_signature(&r.try_get::<String, _>(3)?)?,
                sent: settlement_tx(&r)?,
            })
        })
        .transpose()
    }

    /// Records the signed settlement transaction of an uploaded (or already
    /// submitted) batch before it is broadcast; a bump replaces the record.
    pub async fn record_settlement_tx(
        &self,
        chain: &str,
        batch_id: u64,
        sent: &SettlementTx,
    ) -> Result<(), StoreError> {
        let updated = sqlx::query(
            "UPDATE closed_batches SET stage = 'submitted', settle_tx = $1, settle_raw = $2, \
             settle_nonce = $3, settle_max_fee = $4, settle_priority_fee = $5, settle_sent_at = $6 \
             WHERE chain = $7 AND batch_id = $8 AND stage IN ('uploaded', 'submitted')",
        )
        .bind(hash_text(&sent.hash))
        .bind(alloy_primitives::hex::encode(&sent.raw))
        .bind(sent.nonce as i64)
        .bind(sent.max_fee_per_gas.to_string())
        .bind(sent.max_priority_fee_per_gas.to_string())
        .bind(sent.sent_at)
        .bind(chain.to_owned())
        .bind(batch_id as i64)
        .execute(&self.pool)
        .await?
        .rows_affected();
        if updated == 0 {
            return Err(StoreError::Inconsistent {
                block: batch_id,
                log: 0,
                what: format!(
                    "a settlement transaction for batch {batch_id}, whose receipt is not uploaded"
                ),
            });
        }
        Ok(())
    }
}

fn settlement_tx(row: &sqlx::any::AnyRow) -> Result<Option<SettlementTx>, StoreError> {
    let Some(hash) = row.try_get::<Option<String>, _>(4)? else {
        return Ok(None);
    };
    let corrupt = |what: &str| StoreError::Corrupt(format!("settlement transaction {what}"));
    let raw: String = row.try_get(5)?;
    let fee = |index: usize| -> Result<u128, StoreError> {
        row.try_get::<String, _>(index)?.parse().map_err(|_| corrupt("fee"))
    };
    Ok(Some(SettlementTx {
        hash: parse_hash(&hash)?,
        raw: alloy_primitives::hex::decode(raw).map_err(|_| corrupt("bytes"))?,
        nonce: row.try_get::<i64, _>(6)? as u64,
        max_fee_per_gas: fee(7)?,
        max_priority_fee_per_gas: fee(8)?,
        sent_at: row.try_get(9)?,
    }))
}

/// Held by the one process that closes and settles a chain's batches.
/// Dropping it gives the role up.
#[derive(Debug)]
pub struct Leadership {
    /// PostgreSQL: the session holding the advisory lock (closing it
    /// releases the lock). SQLite: nothing; one process owns the file.
    session: Option<sqlx::AnyConnection>,
}

impl Leadership {
    /// Whether the role is still held. On PostgreSQL the lock lives in its
    /// session: if the server closed it (restart, network cut, terminated
    /// backend), another replica may lead already, so this one must stop
    /// and ask again.
    pub async fn still_held(&mut self) -> bool {
        match &mut self.session {
            None => true,
            Some(session) => sqlx::query("SELECT 1").execute(&mut *session).await.is_ok(),
        }
    }

    /// The server process id of the session holding the lock (PostgreSQL).
    pub async fn session_pid(&mut self) -> Option<i32> {
        let session = self.session.as_mut()?;
        sqlx::query("SELECT pg_backend_pid()")
            .fetch_one(&mut *session)
            .await
            .ok()?
            .try_get::<i32, _>(0)
            .ok()
    }
}

impl Store {
    /// Tries to become the batch leader for `role` (e.g. the chain). On
    /// PostgreSQL an advisory lock held by a dedicated session, so exactly
    /// one of any number of replicas leads, and a crashed leader's lock goes
    /// with its connection. On SQLite the embedded store belongs to one
    /// process, which always leads.
    pub async fn try_lead(&self, role: &str) -> Result<Option<Leadership>, StoreError> {
        if self.backend == crate::Backend::Sqlite {
            return Ok(Some(Leadership { session: None }));
        }
        let key = i64::from_be_bytes(
            alloy_primitives::keccak256(format!("cairn-leader:{role}"))[..8]
                .try_into()
                .expect("8 bytes"),
        );
        let mut session = self.pool.acquire().await?.detach();
        let locked: bool = sqlx::query("SELECT pg_try_advisory_lock($1)")
            .bind(key)
            .fetch_one(&mut session)
            .await?
            .try_get(0)?;
        Ok(locked.then_some(Leadership { session: Some(session) }))
    }
}

impl Store {
    /// Outbox entries not yet confirmed whose next attempt is due at `now`,
    /// oldest first.
    pub async fn due_outbox(&self, now: i64, limit: u64) -> Result<Vec<OutboxEntry>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {OUTBOX_COLUMNS} FROM outbox WHERE state <> 'confirmed' \
             AND next_attempt_at <= $1 ORDER BY created_at, item_id LIMIT $2"
        ))
        .bind(now)
        .bind(limit as i64)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(outbox_entry).collect()
    }

    /// Records one attempt on an outbox entry. Confirming a batch receipt
    /// moves its batch to `uploaded` in the same transaction: only a stored
    /// receipt lets the batch settle.
    pub async fn update_outbox(
        &self,
        item_id: &str,
        update: &OutboxUpdate<'_>,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "UPDATE outbox SET state = $1, tx_id = COALESCE($2, tx_id), \
             gateway = COALESCE($3, gateway), last_error = $4, attempts = attempts + 1, \
             next_attempt_at = $5, updated_at = $6 WHERE item_id = $7",
        )
        .bind(update.state.to_owned())
        .bind(update.tx_id.map(str::to_owned))
        .bind(update.gateway.map(str::to_owned))
        .bind(update.error.map(str::to_owned))
        .bind(update.next_attempt_at)
        .bind(crate::now_secs())
        .bind(item_id.to_owned())
        .execute(&mut *tx)
        .await?;
        if update.state == "confirmed" {
            // The batch is uploaded once its receipt and every item the
            // receipt points to are confirmed.
            sqlx::query(
                "UPDATE closed_batches SET stage = 'uploaded' \
                 WHERE stage = 'receipt_written' \
                 AND receipt_id = (SELECT COALESCE(receipt_id, item_id) FROM outbox WHERE item_id = $1) \
                 AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.receipt_id = closed_batches.receipt_id \
                 AND o.state <> 'confirmed')",
            )
            .bind(item_id.to_owned())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
