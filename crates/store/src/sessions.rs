//! What the service keeps for sign-in: nonces (single use, expiring) and
//! sessions (revocable), and the metadata operators attach to providers.

use sqlx::Row;

use crate::{Account, Store, StoreError};

/// A sign-in nonce as issued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NonceRecord {
    pub nonce: String,
    /// The sign-in domain it was issued for.
    pub domain: String,
    pub issued_at: i64,
    pub expires_at: i64,
    pub consumed_at: Option<i64>,
    /// The Sign In With Solana input issued with it, as JSON.
    pub siws_input: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    pub session_id: String,
    /// CAIP-10 account.
    pub account: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub revoked_at: Option<i64>,
}

/// Why a nonce could not be consumed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsumeOutcome {
    /// The nonce is now used and the session exists.
    Consumed,
    /// Another request used it first, or it expired meanwhile.
    AlreadyUsed,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProviderMetadata {
    pub region: Option<String>,
    pub description: Option<String>,
    pub contact: Option<String>,
    pub updated_by: String,
    pub updated_at: i64,
}

impl Store {
    pub async fn insert_nonce(&self, record: &NonceRecord) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO auth_nonces (nonce, domain, issued_at, expires_at, consumed_at, siws_input) \
             VALUES ($1, $2, $3, $4, NULL, $5)",
        )
        .bind(record.nonce.clone())
        .bind(record.domain.clone())
        .bind(record.issued_at)
        .bind(record.expires_at)
        .bind(record.siws_input.clone())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn nonce(&self, nonce: &str) -> Result<Option<NonceRecord>, StoreError> {
        let row = sqlx::query(
            "SELECT nonce, domain, issued_at, expires_at, consumed_at, siws_input \
             FROM auth_nonces WHERE nonce = $1",
        )
        .bind(nonce.to_owned())
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            Ok(NonceRecord {
                nonce: r.try_get(0)?,
                domain: r.try_get(1)?,
                issued_at: r.try_get(2)?,
                expires_at: r.try_get(3)?,
                consumed_at: r.try_get(4)?,
                siws_input: r.try_get(5)?,
            })
        })
        .transpose()
    }

    /// Marks `nonce` used and opens `session`, in one transaction, only if
    /// the nonce is unused and unexpired at `now`. Of two requests racing
    /// with one nonce, exactly one gets `Consumed`.
    pub async fn consume_nonce_and_open_session(
        &self,
        nonce: &str,
        now: i64,
        session: &SessionRecord,
    ) -> Result<ConsumeOutcome, StoreError> {
        let mut tx = self.begin_write().await?;
        let consumed = sqlx::query(
            "UPDATE auth_nonces SET consumed_at = $1 \
             WHERE nonce = $2 AND consumed_at IS NULL AND expires_at > $1",
        )
        .bind(now)
        .bind(nonce.to_owned())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if consumed != 1 {
            tx.rollback().await?;
            return Ok(ConsumeOutcome::AlreadyUsed);
        }
        sqlx::query(
            "INSERT INTO sessions (session_id, account, created_at, expires_at, revoked_at) \
             VALUES ($1, $2, $3, $4, NULL)",
        )
        .bind(session.session_id.clone())
        .bind(session.account.clone())
        .bind(session.created_at)
        .bind(session.expires_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(ConsumeOutcome::Consumed)
    }

    /// Deletes nonces that expired before `now`; returns how many.
    pub async fn prune_nonces(&self, now: i64) -> Result<u64, StoreError> {
        Ok(sqlx::query("DELETE FROM auth_nonces WHERE expires_at <= $1")
            .bind(now)
            .execute(&self.pool)
            .await?
            .rows_affected())
    }

    pub async fn session(&self, session_id: &str) -> Result<Option<SessionRecord>, StoreError> {
        let row = sqlx::query(
            "SELECT session_id, account, created_at, expires_at, revoked_at \
             FROM sessions WHERE session_id = $1",
        )
        .bind(session_id.to_owned())
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            Ok(SessionRecord {
                session_id: r.try_get(0)?,
                account: r.try_get(1)?,
                created_at: r.try_get(2)?,
                expires_at: r.try_get(3)?,
                revoked_at: r.try_get(4)?,
            })
        })
        .transpose()
    }

    /// Revokes an open session; false when it was unknown or already revoked.
    pub async fn revoke_session(&self, session_id: &str, now: i64) -> Result<bool, StoreError> {
        Ok(sqlx::query(
            "UPDATE sessions SET revoked_at = $1 WHERE session_id = $2 AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(session_id.to_owned())
        .execute(&self.pool)
        .await?
        .rows_affected()
            == 1)
    }

    pub async fn set_provider_metadata(
        &self,
        chain: &str,
        provider: &str,
        metadata: &ProviderMetadata,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO provider_metadata \
             (chain, provider, region, description, contact, updated_by, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (chain, provider) DO UPDATE SET region = excluded.region, \
             description = excluded.description, contact = excluded.contact, \
             updated_by = excluded.updated_by, updated_at = excluded.updated_at",
        )
        .bind(chain.to_owned())
        .bind(provider.to_owned())
        .bind(metadata.region.clone())
        .bind(metadata.description.clone())
        .bind(metadata.contact.clone())
        .bind(metadata.updated_by.clone())
        .bind(metadata.updated_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Every provider's metadata on `chain`.
    pub async fn provider_metadata(
        &self,
        chain: &str,
    ) -> Result<Vec<(Account, ProviderMetadata)>, StoreError> {
        let rows = sqlx::query(
            "SELECT provider, region, description, contact, updated_by, updated_at \
             FROM provider_metadata WHERE chain = $1 ORDER BY provider",
        )
        .bind(chain.to_owned())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get(0)?,
                    ProviderMetadata {
                        region: r.try_get(1)?,
                        description: r.try_get(2)?,
                        contact: r.try_get(3)?,
                        updated_by: r.try_get(4)?,
                        updated_at: r.try_get(5)?,
                    },
                ))
            })
            .collect()
    }

    /// Slash count and total slashed per provider on `chain`.
    pub async fn slash_summary(
        &self,
        chain: &str,
    ) -> Result<Vec<(Account, u64, alloy_primitives::U256)>, StoreError> {
        let rows = sqlx::query("SELECT provider, amount FROM slashes WHERE chain = $1")
            .bind(chain.to_owned())
            .fetch_all(&self.pool)
            .await?;
        let mut summary: std::collections::BTreeMap<String, (u64, alloy_primitives::U256)> =
            Default::default();
        for row in &rows {
            let amount = crate::parse_amount(&row.try_get::<String, _>(1)?)?;
            let entry = summary.entry(row.try_get(0)?).or_default();
            entry.0 += 1;
            entry.1 += amount;
        }
        Ok(summary.into_iter().map(|(p, (n, total))| (p, n, total)).collect())
    }

    /// Cheap check that the store answers (for readiness probes).
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }
}
