//! The slashing pipeline's rows (`slash_orders`): what it pursues for each
//! piece of evidence on each registry deployment, and how far it got.

use alloy_primitives::{B256, U256};
use sqlx::Row;

use crate::{EvidenceRow, Store, StoreError, amount_text, parse_amount, parse_hash};

/// Stages a slash order passes through, in order. Every other stage name is
/// an end: `slashed`, or a reason nothing will be sent.
pub mod stage {
    /// Found in the evidence; the evidence receipt is not written yet.
    pub const PENDING: &str = "pending";
    /// The evidence receipt is in the outbox, not yet confirmed stored.
    pub const RECEIPT_WRITTEN: &str = "receipt_written";
    /// The receipt is stored; an order (nonce, deadline) is to be issued.
    pub const UPLOADED: &str = "uploaded";
    /// The order is recorded; the signer has not signed it yet.
    pub const ORDERED: &str = "ordered";
    /// Signed; `Registry.slash` is to be sent.
    pub const SIGNED: &str = "signed";
    /// Sent; waiting for the chain to apply it and the indexer to see it.
    pub const SUBMITTED: &str = "submitted";
    /// The indexer recorded the `Slashed` event of this order's nonce.
    pub const SLASHED: &str = "slashed";
    /// The signer looked at the order and refused it (`last_error` says why).
    pub const REFUSED: &str = "refused";
    /// The accused operator is no provider of this deployment.
    pub const NO_PROVIDER: &str = "no_provider";
    /// The provider has nothing left to slash.
    pub const NOTHING_TO_SLASH: &str = "nothing_to_slash";
    /// The provider is already being slashed (or was, within the window)
    /// for other evidence: one slash per provider per window.
    pub const COVERED: &str = "covered";
    /// The evidence does not verify, or the chain refused the order for a
    /// reason retrying does not change (`last_error` says which).
    pub const FAILED: &str = "failed";

    /// Stages the pipeline still has work in.
    pub const OPEN: [&str; 6] = [PENDING, RECEIPT_WRITTEN, UPLOADED, ORDERED, SIGNED, SUBMITTED];
}

/// One slash the pipeline pursues.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlashOrderRow {
    /// CAIP-2 id of the deployment the slash is sent to.
    pub chain: String,
    pub evidence_hash: B256,
    /// Lowercase hex addresses.
    pub provider: String,
    pub operator: String,
    /// The evidence's kind (`conflicting_answers`, `quorum_mismatch`).
    pub kind: String,
    /// `Slash.reason`.
    pub reason: u8,
    pub amount: U256,
    pub stage: String,
    /// The evidence receipt's ANS-104 id (base64url), once written.
    pub receipt_id: Option<String>,
    /// Orders issued so far; the current one is number `attempt`.
    pub attempt: u64,
    pub nonce: Option<U256>,
    /// Unix seconds.
    pub deadline: Option<u64>,
    pub signature: Option<[u8; 65]>,
    pub tx_hash: Option<B256>,
    pub last_error: Option<String>,
    pub next_attempt_at: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

impl SlashOrderRow {
    /// A new row at `pending` (or at an end stage such as `no_provider`)
    /// for `evidence` on `chain`.
    pub fn new(
        chain: &str,
        evidence: &EvidenceRow,
        provider: String,
        reason: u8,
        amount: U256,
        stage: &str,
        now: i64,
    ) -> Self {
        Self {
            chain: chain.to_owned(),
            evidence_hash: evidence.hash,
            provider,
            operator: evidence.accused.clone(),
            kind: evidence.kind.clone(),
            reason,
            amount,
            stage: stage.to_owned(),
            receipt_id: None,
            attempt: 0,
            nonce: None,
            deadline: None,
            signature: None,
            tx_hash: None,
            last_error: None,
            next_attempt_at: now,
            created_at: now,
            updated_at: now,
        }
    }

    pub fn is_open(&self) -> bool {
        stage::OPEN.contains(&self.stage.as_str())
    }
}

/// Which rows [`Store::slash_orders`] returns, newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SlashOrderFilter {
    pub chain: Option<String>,
    /// Lowercase hex address.
    pub provider: Option<String>,
    pub stage: Option<String>,
    pub limit: u32,
}

const COLUMNS: &str = "chain, evidence_hash, provider, operator, kind, reason, amount, stage, \
     receipt_id, attempt, nonce, deadline, signature, tx_hash, last_error, next_attempt_at, \
     created_at, updated_at";

fn read_row(row: &sqlx::any::AnyRow) -> Result<SlashOrderRow, StoreError> {
    let optional_hash = |text: Option<String>| text.as_deref().map(parse_hash).transpose();
    Ok(SlashOrderRow {
        chain: row.try_get(0)?,
        evidence_hash: parse_hash(&row.try_get::<String, _>(1)?)?,
        provider: row.try_get(2)?,
        operator: row.try_get(3)?,
        kind: row.try_get(4)?,
        reason: u8::try_from(row.try_get::<i64, _>(5)?)
            .map_err(|_| StoreError::Corrupt("slash reason".into()))?,
        amount: parse_amount(&row.try_get::<String, _>(6)?)?,
        stage: row.try_get(7)?,
        receipt_id: row.try_get(8)?,
        attempt: u64::try_from(row.try_get::<i64, _>(9)?).unwrap_or(0),
        nonce: row.try_get::<Option<String>, _>(10)?.as_deref().map(parse_amount).transpose()?,
        deadline: row.try_get::<Option<i64>, _>(11)?.map(|d| u64::try_from(d).unwrap_or(0)),
        signature: row
            .try_get::<Option<String>, _>(12)?
            .as_deref()
            .map(crate::parse_signature)
            .transpose()?,
        tx_hash: optional_hash(row.try_get(13)?)?,
        last_error: row.try_get(14)?,
        next_attempt_at: row.try_get(15)?,
        created_at: row.try_get(16)?,
        updated_at: row.try_get(17)?,
    })
}

fn sql_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

impl Store {
    /// Evidence with no slash order yet for deployment `chain`, oldest first.
    pub async fn unpursued_evidence(
        &self,
        chain: &str,
        limit: u32,
    ) -> Result<Vec<EvidenceRow>, StoreError> {
        let hashes: Vec<String> = sqlx::query(
            "SELECT e.hash FROM evidence e WHERE NOT EXISTS \
             (SELECT 1 FROM slash_orders s WHERE s.chain = $1 AND s.evidence_hash = e.hash) \
             ORDER BY e.recorded_at, e.hash LIMIT $2",
        )
        .bind(chain.to_owned())
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| r.try_get(0))
        .collect::<Result<_, _>>()?;
        let mut rows = Vec::with_capacity(hashes.len());
        for hash in hashes {
            if let Some(row) = self.evidence(&parse_hash(&hash)?).await? {
                rows.push(row);
            }
        }
        Ok(rows)
    }

    /// Inserts `order`; false (and nothing changed) when the evidence
    /// already has an order on its chain.
    pub async fn create_slash_order(&self, order: &SlashOrderRow) -> Result<bool, StoreError> {
        let inserted = sqlx::query(&format!(
            "INSERT INTO slash_orders ({COLUMNS}) VALUES \
             ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18) \
             ON CONFLICT (chain, evidence_hash) DO NOTHING"
        ))
        .bind(order.chain.clone())
        .bind(format!("{:#x}", order.evidence_hash))
        .bind(order.provider.clone())
        .bind(order.operator.clone())
        .bind(order.kind.clone())
        .bind(i64::from(order.reason))
        .bind(amount_text(&order.amount))
        .bind(order.stage.clone())
        .bind(order.receipt_id.clone())
        .bind(sql_i64(order.attempt))
        .bind(order.nonce.as_ref().map(amount_text))
        .bind(order.deadline.map(sql_i64))
        .bind(order.signature.as_ref().map(crate::signature_text))
        .bind(order.tx_hash.as_ref().map(|h| format!("{h:#x}")))
        .bind(order.last_error.clone())
        .bind(order.next_attempt_at)
        .bind(order.created_at)
        .bind(order.updated_at)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(inserted == 1)
    }

    pub async fn slash_order(
        &self,
        chain: &str,
        evidence_hash: &B256,
    ) -> Result<Option<SlashOrderRow>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM slash_orders WHERE chain = $1 AND evidence_hash = $2"
        ))
        .bind(chain.to_owned())
        .bind(format!("{evidence_hash:#x}"))
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(read_row).transpose()
    }

    /// Open orders of `chain` whose next attempt is due at `now`, oldest first.
    pub async fn due_slash_orders(
        &self,
        chain: &str,
        now: i64,
        limit: u32,
    ) -> Result<Vec<SlashOrderRow>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM slash_orders WHERE chain = $1 AND next_attempt_at <= $2 \
             AND stage IN ('{}') ORDER BY created_at, evidence_hash LIMIT $3",
            stage::OPEN.join("', '")
        ))
        .bind(chain.to_owned())
        .bind(now)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(read_row).collect()
    }

    /// Writes `order` over its row if the row is still at `from_stage`;
    /// false (and nothing written) when another writer moved it first.
    pub async fn save_slash_order(
        &self,
        from_stage: &str,
        order: &SlashOrderRow,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let saved = save(&mut tx, from_stage, order).await?;
        tx.commit().await?;
        Ok(saved)
    }

    /// Moves `order` (at `pending`) to `receipt_written` with its evidence
    /// receipt `item_id`, and puts the encoded item in the outbox, together.
    pub async fn record_slash_receipt(
        &self,
        order: &SlashOrderRow,
        item_id: &str,
        item: &[u8],
    ) -> Result<bool, StoreError> {
        use base64::Engine as _;
        let now = crate::now_secs();
        let mut tx = self.begin_write().await?;
        let mut next = order.clone();
        next.stage = stage::RECEIPT_WRITTEN.to_owned();
        next.receipt_id = Some(item_id.to_owned());
        next.last_error = None;
        next.next_attempt_at = now;
        if !save(&mut tx, stage::PENDING, &next).await? {
            tx.rollback().await?;
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO outbox (item_id, kind, payload, state, attempts, next_attempt_at, \
             last_error, created_at, updated_at, receipt_id) \
             VALUES ($1, 'evidence-receipt', $2, 'pending', 0, $3, NULL, $3, $3, $1) \
             ON CONFLICT (item_id) DO NOTHING",
        )
        .bind(item_id.to_owned())
        .bind(base64::engine::general_purpose::STANDARD.encode(item))
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// The newest order for `provider` on `chain` created at or after
    /// `since` that is open or slashed, if any.
    pub async fn recent_slash_order(
        &self,
        chain: &str,
        provider: &str,
        since: i64,
    ) -> Result<Option<SlashOrderRow>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM slash_orders WHERE chain = $1 AND provider = $2 \
             AND created_at >= $3 AND stage IN ('{}', '{}') ORDER BY created_at DESC LIMIT 1",
            stage::OPEN.join("', '"),
            stage::SLASHED
        ))
        .bind(chain.to_owned())
        .bind(provider.to_owned())
        .bind(since)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(read_row).transpose()
    }

    /// Slash orders, newest first.
    pub async fn slash_orders(
        &self,
        filter: &SlashOrderFilter,
    ) -> Result<Vec<SlashOrderRow>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM slash_orders WHERE ($1 = '' OR chain = $1) \
             AND ($2 = '' OR provider = $2) AND ($3 = '' OR stage = $3) \
             ORDER BY created_at DESC, evidence_hash LIMIT $4"
        ))
        .bind(filter.chain.clone().unwrap_or_default())
        .bind(filter.provider.clone().unwrap_or_default())
        .bind(filter.stage.clone().unwrap_or_default())
        .bind(i64::from(filter.limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(read_row).collect()
    }

    /// Whether the indexer recorded a `Slashed` event with `nonce` on `chain`.
    pub async fn slash_indexed(&self, chain: &str, nonce: &U256) -> Result<bool, StoreError> {
        let row = sqlx::query("SELECT 1 FROM slashes WHERE chain = $1 AND nonce = $2")
            .bind(chain.to_owned())
            .bind(amount_text(nonce))
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.is_some())
    }
}

async fn save(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    from_stage: &str,
    order: &SlashOrderRow,
) -> Result<bool, StoreError> {
    let updated = sqlx::query(
        "UPDATE slash_orders SET stage = $1, amount = $2, receipt_id = $3, attempt = $4, \
         nonce = $5, deadline = $6, signature = $7, tx_hash = $8, last_error = $9, \
         next_attempt_at = $10, updated_at = $11 \
         WHERE chain = $12 AND evidence_hash = $13 AND stage = $14",
    )
    .bind(order.stage.clone())
    .bind(amount_text(&order.amount))
    .bind(order.receipt_id.clone())
    .bind(sql_i64(order.attempt))
    .bind(order.nonce.as_ref().map(amount_text))
    .bind(order.deadline.map(sql_i64))
    .bind(order.signature.as_ref().map(crate::signature_text))
    .bind(order.tx_hash.as_ref().map(|h| format!("{h:#x}")))
    .bind(order.last_error.clone())
    .bind(order.next_attempt_at)
    .bind(crate::now_secs())
    .bind(order.chain.clone())
    .bind(format!("{:#x}", order.evidence_hash))
    .bind(from_stage.to_owned())
    .execute(&mut **tx)
    .await?
    .rows_affected();
    Ok(updated == 1)
}
