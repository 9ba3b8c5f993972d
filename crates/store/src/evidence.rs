//! Evidence records the gateway produced, kept whole (the JSON anyone can
//! verify offline) and indexed by chain, accused operator and time.

use alloy_primitives::B256;
use cairn_core::{
    answer::AnswerHeader,
    evidence::{Evidence, EvidenceKind},
};
use sqlx::Row;

use crate::{Store, StoreError};

/// A stored evidence record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvidenceRow {
    pub hash: B256,
    pub chain: String,
    /// `conflicting_answers` or `quorum_mismatch`.
    pub kind: String,
    /// The accused operator, lowercase hex.
    pub accused: String,
    /// The block the answers were served from.
    pub block_number: u64,
    /// Unix seconds.
    pub recorded_at: i64,
    pub evidence: Evidence,
}

/// Which records [`Store::list_evidence`] returns, newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EvidenceFilter {
    pub chain: Option<String>,
    /// Lowercase hex address.
    pub accused: Option<String>,
    /// Only records older than this (Unix seconds), to page back.
    pub before: Option<i64>,
    pub limit: u32,
}

fn kind_name(kind: &EvidenceKind) -> &'static str {
    match kind {
        EvidenceKind::ConflictingAnswers => "conflicting_answers",
        EvidenceKind::QuorumMismatch { .. } => "quorum_mismatch",
    }
}

const COLUMNS: &str = "hash, chain, kind, accused, block_number, record, recorded_at";

fn read_row(row: &sqlx::any::AnyRow) -> Result<EvidenceRow, StoreError> {
    let record: String = row.try_get(5)?;
    let evidence: Evidence =
        serde_json::from_str(&record).map_err(|_| StoreError::Corrupt(record.clone()))?;
    Ok(EvidenceRow {
        hash: crate::parse_hash(&row.try_get::<String, _>(0)?)?,
        chain: row.try_get(1)?,
        kind: row.try_get(2)?,
        accused: row.try_get(3)?,
        block_number: u64::try_from(row.try_get::<i64, _>(4)?).unwrap_or(0),
        recorded_at: row.try_get(6)?,
        evidence,
    })
}

impl Store {
    /// Stores `evidence` under its hash; false when it was stored before
    /// (the same record found twice is one record).
    pub async fn put_evidence(
        &self,
        evidence: &Evidence,
        recorded_at: i64,
    ) -> Result<bool, StoreError> {
        let record = serde_json::to_string(evidence)
            .map_err(|_| StoreError::Internal("evidence does not serialize"))?;
        let block = evidence
            .answers
            .first()
            .and_then(|a| AnswerHeader::parse(&a.header).ok())
            .map_or(0, |h| h.block_number);
        let inserted = sqlx::query(
            "INSERT INTO evidence (hash, chain, kind, accused, block_number, record, recorded_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (hash) DO NOTHING",
        )
        .bind(format!("{:#x}", evidence.hash()))
        .bind(evidence.chain.to_string())
        .bind(kind_name(&evidence.kind))
        .bind(format!("{:#x}", evidence.accused))
        .bind(i64::try_from(block).unwrap_or(i64::MAX))
        .bind(record)
        .bind(recorded_at)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(inserted == 1)
    }

    pub async fn evidence(&self, hash: &B256) -> Result<Option<EvidenceRow>, StoreError> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM evidence WHERE hash = $1"))
            .bind(format!("{hash:#x}"))
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(read_row).transpose()
    }

    /// Records per accused operator (lowercase hex) recorded at or after
    /// `since` (Unix seconds), on any chain: a lie signed on one chain
    /// says the same about the operator everywhere.
    pub async fn evidence_counts(
        &self,
        since: i64,
    ) -> Result<std::collections::BTreeMap<String, u64>, StoreError> {
        let rows = sqlx::query(
            "SELECT accused, COUNT(*) FROM evidence WHERE recorded_at >= $1 GROUP BY accused",
        )
        .bind(since)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get::<String, _>(0)?,
                    u64::try_from(r.try_get::<i64, _>(1)?).unwrap_or(0),
                ))
            })
            .collect()
    }

    pub async fn list_evidence(
        &self,
        filter: &EvidenceFilter,
    ) -> Result<Vec<EvidenceRow>, StoreError> {
        // An unset filter is the empty text, which matches every row, so
        // one SQL text serves every combination.
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM evidence \
             WHERE ($1 = '' OR chain = $1) AND ($2 = '' OR accused = $2) AND recorded_at < $3 \
             ORDER BY recorded_at DESC, hash LIMIT $4"
        ))
        .bind(filter.chain.clone().unwrap_or_default())
        .bind(filter.accused.clone().unwrap_or_default())
        .bind(filter.before.unwrap_or(i64::MAX))
        .bind(i64::from(filter.limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(read_row).collect()
    }
}
