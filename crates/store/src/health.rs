//! What the prober measured of each registered endpoint, and the reputation
//! it earned: one row per endpoint, shared by every replica (migration 12).

use alloy_primitives::B256;
use sqlx::Row;

use crate::{Account, Backend, Store, StoreError, hash_text, parse_hash};

/// One endpoint's measured health and reputation state.
#[derive(Debug, Clone, PartialEq)]
pub struct EndpointHealth {
    /// Registry chain (CAIP-2) the endpoint is registered on.
    pub chain: String,
    pub service_id: B256,
    /// CAIP-2 chain the endpoint serves.
    pub service_chain: String,
    pub provider: Account,
    pub url: String,
    pub probes: u64,
    pub successes: u64,
    pub consecutive_failures: u64,
    pub consecutive_successes: u64,
    /// Exponentially decayed sum of successes (each counts 1 when made).
    pub success_weight: f64,
    /// Exponentially decayed count of probes; `success_weight /
    /// total_weight` is the reputation score.
    pub total_weight: f64,
    pub probation: bool,
    /// Whether the last probe's answers were signed by the registered
    /// operator; `None` when they carried no signature at all.
    pub verified: Option<bool>,
    pub latency_ms: Option<u64>,
    pub tip: Option<u64>,
    pub tip_hash: Option<B256>,
    /// Blocks behind the best tip seen across the chain's endpoints.
    pub tip_lag: Option<u64>,
    /// Kind of the last probe's failure (`timeout`, `connect`, …), `None`
    /// when it succeeded.
    pub last_error_kind: Option<String>,
    pub last_error: Option<String>,
    /// Unix milliseconds.
    pub last_probe_at: i64,
    pub last_success_at: Option<i64>,
}

const COLUMNS: &str = "chain, service_id, service_chain, provider, url, probes, successes, \
    consecutive_failures, consecutive_successes, success_weight, total_weight, probation, \
    verified, latency_ms, tip, tip_hash, tip_lag, last_error_kind, last_error, last_probe_at, \
    last_success_at";

/// Counters are `BIGINT`: anything past `i64::MAX` is stored as that.
fn int(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

fn count(value: i64) -> Result<u64, StoreError> {
    u64::try_from(value).map_err(|_| StoreError::Corrupt(value.to_string()))
}

fn decode(row: &sqlx::any::AnyRow) -> Result<EndpointHealth, StoreError> {
    let optional_count = |index: usize| -> Result<Option<u64>, StoreError> {
        row.try_get::<Option<i64>, _>(index)?.map(count).transpose()
    };
    Ok(EndpointHealth {
        chain: row.try_get(0)?,
        service_id: parse_hash(&row.try_get::<String, _>(1)?)?,
        service_chain: row.try_get(2)?,
        provider: row.try_get(3)?,
        url: row.try_get(4)?,
        probes: count(row.try_get(5)?)?,
        successes: count(row.try_get(6)?)?,
        consecutive_failures: count(row.try_get(7)?)?,
        consecutive_successes: count(row.try_get(8)?)?,
        success_weight: row.try_get(9)?,
        total_weight: row.try_get(10)?,
        probation: row.try_get::<i64, _>(11)? != 0,
        verified: row.try_get::<Option<i64>, _>(12)?.map(|v| v != 0),
        latency_ms: optional_count(13)?,
        tip: optional_count(14)?,
        tip_hash: row.try_get::<Option<String>, _>(15)?.as_deref().map(parse_hash).transpose()?,
        tip_lag: optional_count(16)?,
        last_error_kind: row.try_get(17)?,
        last_error: row.try_get(18)?,
        last_probe_at: row.try_get(19)?,
        last_success_at: row.try_get(20)?,
    })
}

fn upsert_sql() -> String {
    let placeholders: Vec<String> = (1..=21).map(|n| format!("${n}")).collect();
    format!(
        "INSERT INTO endpoint_health ({COLUMNS}) VALUES ({}) \
         ON CONFLICT (chain, service_id) DO UPDATE SET service_chain = excluded.service_chain, \
         provider = excluded.provider, url = excluded.url, probes = excluded.probes, \
         successes = excluded.successes, consecutive_failures = excluded.consecutive_failures, \
         consecutive_successes = excluded.consecutive_successes, \
         success_weight = excluded.success_weight, total_weight = excluded.total_weight, \
         probation = excluded.probation, verified = excluded.verified, \
         latency_ms = excluded.latency_ms, tip = excluded.tip, tip_hash = excluded.tip_hash, \
         tip_lag = excluded.tip_lag, last_error_kind = excluded.last_error_kind, \
         last_error = excluded.last_error, last_probe_at = excluded.last_probe_at, \
         last_success_at = excluded.last_success_at",
        placeholders.join(", ")
    )
}

async fn write<'e, E>(executor: E, health: &EndpointHealth) -> Result<(), StoreError>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    // A NaN or infinite weight would make every later score NaN, and
    // PostgreSQL and SQLite disagree on storing them at all.
    if !(health.success_weight.is_finite() && health.total_weight.is_finite()) {
        return Err(StoreError::Internal("an endpoint's reputation weights must be finite"));
    }
    sqlx::query(&upsert_sql())
        .bind(health.chain.clone())
        .bind(hash_text(&health.service_id))
        .bind(health.service_chain.clone())
        .bind(health.provider.clone())
        .bind(health.url.clone())
        .bind(int(health.probes))
        .bind(int(health.successes))
        .bind(int(health.consecutive_failures))
        .bind(int(health.consecutive_successes))
        .bind(health.success_weight)
        .bind(health.total_weight)
        .bind(i64::from(health.probation))
        .bind(health.verified.map(i64::from))
        .bind(health.latency_ms.map(int))
        .bind(health.tip.map(int))
        .bind(health.tip_hash.as_ref().map(hash_text))
        .bind(health.tip_lag.map(int))
        .bind(health.last_error_kind.clone())
        .bind(health.last_error.clone())
        .bind(health.last_probe_at)
        .bind(health.last_success_at)
        .execute(executor)
        .await?;
    Ok(())
}

impl Store {
    /// Writes `health` over whatever the store held for its endpoint.
    pub async fn put_health(&self, health: &EndpointHealth) -> Result<(), StoreError> {
        write(&self.pool, health).await
    }

    /// Reads an endpoint's row, lets `update` compute the next one and
    /// writes it, in one transaction. On PostgreSQL the row is locked for
    /// the transaction and on SQLite the write transaction is taken up
    /// front, so two replicas probing one endpoint at once both count.
    pub async fn update_health(
        &self,
        chain: &str,
        service_id: &B256,
        update: impl FnOnce(Option<EndpointHealth>) -> EndpointHealth,
    ) -> Result<EndpointHealth, StoreError> {
        let lock = match self.backend {
            Backend::Postgres => " FOR UPDATE",
            Backend::Sqlite => "",
        };
        let mut tx = self.begin_write().await?;
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM endpoint_health WHERE chain = $1 AND service_id = $2{lock}"
        ))
        .bind(chain.to_owned())
        .bind(hash_text(service_id))
        .fetch_optional(&mut *tx)
        .await?;
        let next = update(row.as_ref().map(decode).transpose()?);
        if next.chain != chain || next.service_id != *service_id {
            return Err(StoreError::Internal("an endpoint health update changed its key"));
        }
        write(&mut *tx, &next).await?;
        tx.commit().await?;
        Ok(next)
    }

    /// One endpoint's row, if it has been probed.
    pub async fn endpoint_health(
        &self,
        chain: &str,
        service_id: &B256,
    ) -> Result<Option<EndpointHealth>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM endpoint_health WHERE chain = $1 AND service_id = $2"
        ))
        .bind(chain.to_owned())
        .bind(hash_text(service_id))
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(decode).transpose()
    }

    /// Every probed endpoint registered on registry chain `chain`, by
    /// service id (what discovery joins with the registered endpoints).
    pub async fn health(&self, chain: &str) -> Result<Vec<EndpointHealth>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM endpoint_health WHERE chain = $1 ORDER BY service_id"
        ))
        .bind(chain.to_owned())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(decode).collect()
    }

    /// Every probed endpoint serving `service_chain` (CAIP-2), whichever
    /// registry it is registered on, by registry chain and service id: what
    /// a router weighing the endpoints of one chain reads.
    pub async fn health_for_chain(
        &self,
        service_chain: &str,
    ) -> Result<Vec<EndpointHealth>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM endpoint_health WHERE service_chain = $1 \
             ORDER BY chain, service_id"
        ))
        .bind(service_chain.to_owned())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(decode).collect()
    }
}
