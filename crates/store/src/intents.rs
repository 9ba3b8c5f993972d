//! Accepted payment intents and what they hold back of their payers'
//! deposits. Acceptance is one transaction per submission: the batch row
//! and each payer's reservation row are locked before anything is read, so
//! concurrent submissions (from any number of service replicas) can never
//! reserve more than a payer's indexed balance, never reuse a nonce, and
//! always land in the batch their acceptance names.

use std::collections::{BTreeMap, HashMap, HashSet};

use alloy_primitives::{Address, B256, U256};
use sqlx::{Any, Row, Transaction};

use crate::{Store, StoreError, amount_text, hash_text, parse_amount, parse_hash};

/// Rows per multi-row insert: 12 parameters each, under SQLite's 240 per
/// statement that the store keeps to (see `table.rs`).
const INSERT_CHUNK: usize = 18;

/// An intent whose signature the caller has verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewIntent {
    /// EIP-712 digest under the settlement domain.
    pub hash: B256,
    pub payer: Address,
    pub payee: Address,
    pub asset: Address,
    pub amount: U256,
    pub nonce: U256,
    pub valid_until: u64,
    pub signature: [u8; 65],
}

impl NewIntent {
    /// `intent`, whose digest is `hash`, as signed with `signature`.
    pub fn new(
        hash: B256,
        intent: &cairn_core::eip712::PaymentIntent,
        signature: [u8; 65],
    ) -> Self {
        Self {
            hash,
            payer: intent.payer,
            payee: intent.payee,
            asset: intent.asset,
            amount: intent.amount,
            nonce: intent.nonce,
            valid_until: intent.validUntil,
            signature,
        }
    }
}

/// What became of one submitted intent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Acceptance {
    /// Reserved; it will settle in this batch.
    Accepted { batch_id: u64 },
    /// This exact intent was accepted before.
    Duplicate { batch_id: u64 },
    /// Another intent of this payer already uses the nonce.
    NonceUsed,
    /// The open batch has no room for the deltas this intent would add; it
    /// closes early, and the intent is welcome in the next one.
    BatchFull,
    /// The payer's deposit, less what is reserved and what is announced for
    /// withdrawal, does not cover it.
    InsufficientBalance { available: U256 },
}

/// An accepted intent and where it stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntentRecord {
    pub intent: NewIntent,
    pub batch_id: u64,
    /// `accepted` until its batch closes, then `closed`.
    pub status: String,
    pub accepted_at: i64,
}

const INTENT_COLUMNS: &str =
    "intent_hash, payer, payee, asset, amount, nonce, valid_until, signature";

fn new_intent(r: &sqlx::any::AnyRow) -> Result<NewIntent, StoreError> {
    Ok(NewIntent {
        hash: parse_hash(&r.try_get::<String, _>(0)?)?,
        payer: parse_address(&r.try_get::<String, _>(1)?)?,
        payee: parse_address(&r.try_get::<String, _>(2)?)?,
        asset: parse_address(&r.try_get::<String, _>(3)?)?,
        amount: parse_amount(&r.try_get::<String, _>(4)?)?,
        nonce: parse_amount(&r.try_get::<String, _>(5)?)?,
        valid_until: r.try_get::<i64, _>(6)? as u64,
        signature: crate::parse_signature(&r.try_get::<String, _>(7)?)?,
    })
}

fn account(address: &Address) -> String {
    format!("{address:#x}")
}

fn parse_address(text: &str) -> Result<Address, StoreError> {
    text.parse().map_err(|_| StoreError::Corrupt(text.to_owned()))
}

struct PayerFunds {
    /// Reserved in the open batch (the row this acceptance updates).
    reserved: U256,
    available: U256,
    changed: bool,
}

impl Store {
    /// Accepts what can be accepted of `intents`, in order, in one
    /// transaction. Signatures, expiry and the other stateless checks are the
    /// caller's; this decides duplicates, nonces and balances.
    pub async fn accept_intents(
        &self,
        chain: &str,
        intents: &[NewIntent],
        now: i64,
    ) -> Result<Vec<Acceptance>, StoreError> {
        self.accept_intents_within(chain, intents, now, usize::MAX).await
    }

    /// As [`Store::accept_intents`], keeping the open batch to at most
    /// `max_deltas` (account, asset) pairs, the most deltas it can net to:
    /// an intent that would add more is `BatchFull`.
    pub async fn accept_intents_within(
        &self,
        chain: &str,
        intents: &[NewIntent],
        now: i64,
        max_deltas: usize,
    ) -> Result<Vec<Acceptance>, StoreError> {
        let mut tx = self.begin_write().await?;
        let batch_id = lock_open_batch(&mut tx, chain, intents.len(), now).await?;
        let mut pairs = if max_deltas == usize::MAX {
            HashSet::new()
        } else {
            open_batch_pairs(&mut tx, chain, batch_id).await?
        };

        let mut funds: BTreeMap<(Address, Address), PayerFunds> = BTreeMap::new();
        for intent in intents {
            if let std::collections::btree_map::Entry::Vacant(slot) =
                funds.entry((intent.payer, intent.asset))
            {
                slot.insert(
                    lock_funds(&mut tx, chain, &intent.payer, &intent.asset, batch_id).await?,
                );
            }
        }

        let known = existing_hashes(&mut tx, chain, intents).await?;
        let mut nonces_taken = taken_nonces(&mut tx, chain, intents).await?;
        let mut outcomes = Vec::with_capacity(intents.len());
        let mut accepted = Vec::new();
        let mut hashes_here: HashSet<B256> = HashSet::new();
        for intent in intents {
            if let Some(batch) = known.get(&intent.hash) {
                outcomes.push(Acceptance::Duplicate { batch_id: *batch });
                continue;
            }
            if hashes_here.contains(&intent.hash) {
                outcomes.push(Acceptance::Duplicate { batch_id });
                continue;
            }
            if nonces_taken.contains(&(intent.payer, intent.nonce)) {
                outcomes.push(Acceptance::NonceUsed);
                continue;
            }
            let payer_pair = (account(&intent.payer), account(&intent.asset));
            let payee_pair = (account(&intent.payee), account(&intent.asset));
            let adds = usize::from(!pairs.contains(&payer_pair))
                + usize::from(!pairs.contains(&payee_pair));
            if pairs.len().saturating_add(adds) > max_deltas {
                outcomes.push(Acceptance::BatchFull);
                continue;
            }
            let payer = funds.get_mut(&(intent.payer, intent.asset)).expect("loaded above");
            if intent.amount > payer.available {
                outcomes.push(Acceptance::InsufficientBalance { available: payer.available });
                continue;
            }
            payer.available -= intent.amount;
            payer.reserved += intent.amount;
            payer.changed = true;
            if max_deltas != usize::MAX {
                pairs.insert(payer_pair);
                pairs.insert(payee_pair);
            }
            nonces_taken.insert((intent.payer, intent.nonce));
            hashes_here.insert(intent.hash);
            accepted.push(intent);
            outcomes.push(Acceptance::Accepted { batch_id });
        }

        for chunk in accepted.chunks(INSERT_CHUNK) {
            insert_intents(&mut tx, chain, chunk, batch_id, now).await?;
        }
        for ((payer, asset), state) in &funds {
            if state.changed {
                sqlx::query(
                    "INSERT INTO reservations (chain, payer, asset, batch_id, reserved) \
                     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (chain, payer, asset, batch_id) \
                     DO UPDATE SET reserved = excluded.reserved",
                )
                .bind(chain.to_owned())
                .bind(account(payer))
                .bind(account(asset))
                .bind(batch_id as i64)
                .bind(amount_text(&state.reserved))
                .execute(&mut *tx)
                .await?;
            }
        }
        tx.commit().await?;
        Ok(outcomes)
    }

    pub async fn intent(
        &self,
        chain: &str,
        hash: &B256,
    ) -> Result<Option<IntentRecord>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {INTENT_COLUMNS}, batch_id, status, accepted_at FROM intents \
             WHERE chain = $1 AND intent_hash = $2"
        ))
        .bind(chain.to_owned())
        .bind(hash_text(hash))
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            Ok(IntentRecord {
                intent: new_intent(&r)?,
                batch_id: r.try_get::<i64, _>(8)? as u64,
                status: r.try_get(9)?,
                accepted_at: r.try_get(10)?,
            })
        })
        .transpose()
    }

    /// The intents of batch `batch_id`, with their signatures, in digest
    /// order (the order of the closed batch's intents).
    pub async fn batch_intents(
        &self,
        chain: &str,
        batch_id: u64,
    ) -> Result<Vec<NewIntent>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {INTENT_COLUMNS} FROM intents WHERE chain = $1 AND batch_id = $2 \
             ORDER BY intent_hash"
        ))
        .bind(chain.to_owned())
        .bind(batch_id as i64)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(new_intent).collect()
    }

    /// What accepted intents of batches not yet settled hold back of
    /// `payer`'s `asset`.
    pub async fn reserved(
        &self,
        chain: &str,
        payer: &Address,
        asset: &Address,
    ) -> Result<U256, StoreError> {
        unsettled_reservations(&self.pool, chain, &account(payer), &account(asset)).await
    }

    /// The batch new intents of `chain` fall in now.
    pub async fn open_batch(&self, chain: &str) -> Result<u64, StoreError> {
        let row = sqlx::query("SELECT open_batch FROM batch_state WHERE chain = $1")
            .bind(chain.to_owned())
            .fetch_optional(&self.pool)
            .await?;
        match row {
            Some(r) => Ok(r.try_get::<i64, _>(0)? as u64),
            None => Ok(self.last_batch_id(chain).await? + 1),
        }
    }
}

/// Locks the chain's batch row (creating it after the last settled batch)
/// and returns the open batch.
/// The (account, asset) pairs the open batch's intents touch.
pub(crate) async fn open_batch_pairs(
    tx: &mut Transaction<'static, Any>,
    chain: &str,
    batch_id: u64,
) -> Result<HashSet<(String, String)>, StoreError> {
    let rows = sqlx::query(
        "SELECT payer, asset FROM intents WHERE chain = $1 AND batch_id = $2 \
         UNION SELECT payee, asset FROM intents WHERE chain = $1 AND batch_id = $2",
    )
    .bind(chain.to_owned())
    .bind(batch_id as i64)
    .fetch_all(&mut **tx)
    .await?;
    rows.iter().map(|r| Ok((r.try_get::<String, _>(0)?, r.try_get::<String, _>(1)?))).collect()
}

pub(crate) async fn lock_open_batch(
    tx: &mut Transaction<'static, Any>,
    chain: &str,
    count: usize,
    now: i64,
) -> Result<u64, StoreError> {
    sqlx::query(
        "INSERT INTO batch_state (chain, open_batch, window_start, accepted) \
         SELECT $1, COALESCE(MAX(batch_id), 0) + 1, $2, 0 FROM batches WHERE chain = $1 \
         ON CONFLICT (chain) DO NOTHING",
    )
    .bind(chain.to_owned())
    .bind(now)
    .execute(&mut **tx)
    .await?;
    sqlx::query("UPDATE batch_state SET accepted = accepted + $1 WHERE chain = $2")
        .bind(count as i64)
        .bind(chain.to_owned())
        .execute(&mut **tx)
        .await?;
    let row = sqlx::query("SELECT open_batch FROM batch_state WHERE chain = $1")
        .bind(chain.to_owned())
        .fetch_one(&mut **tx)
        .await?;
    Ok(row.try_get::<i64, _>(0)? as u64)
}

/// Reads what the payer may still spend: its indexed balance, less what
/// intents of batches not yet settled hold, less announced withdrawals. The
/// caller holds the batch row, which serialises acceptances.
async fn lock_funds(
    tx: &mut Transaction<'static, Any>,
    chain: &str,
    payer: &Address,
    asset: &Address,
    open_batch: u64,
) -> Result<PayerFunds, StoreError> {
    let (payer_text, asset_text) = (account(payer), account(asset));
    let unsettled = unsettled_reservations(&mut **tx, chain, &payer_text, &asset_text).await?;
    let open = sqlx::query(
        "SELECT reserved FROM reservations          WHERE chain = $1 AND payer = $2 AND asset = $3 AND batch_id = $4",
    )
    .bind(chain.to_owned())
    .bind(payer_text.clone())
    .bind(asset_text.clone())
    .bind(open_batch as i64)
    .fetch_optional(&mut **tx)
    .await?
    .map_or(Ok(U256::ZERO), |r| parse_amount(&r.try_get::<String, _>(0)?))?;
    let balance =
        crate::account_amount(&mut **tx, crate::BALANCE_SQL, chain, &payer_text, &asset_text)
            .await?;
    let withdrawing =
        crate::account_amount(&mut **tx, crate::WITHDRAWING_SQL, chain, &payer_text, &asset_text)
            .await?;
    let available = balance.saturating_sub(unsettled).saturating_sub(withdrawing);
    Ok(PayerFunds { reserved: open, available, changed: false })
}

/// Σ reserved by the payer's intents in batches the chain has not settled.
async fn unsettled_reservations<'e, E>(
    executor: E,
    chain: &str,
    payer: &str,
    asset: &str,
) -> Result<U256, StoreError>
where
    E: sqlx::Executor<'e, Database = Any>,
{
    let rows = sqlx::query(
        "SELECT reserved FROM reservations WHERE chain = $1 AND payer = $2 AND asset = $3          AND batch_id > (SELECT COALESCE(MAX(batch_id), 0) FROM batches WHERE chain = $1)",
    )
    .bind(chain.to_owned())
    .bind(payer.to_owned())
    .bind(asset.to_owned())
    .fetch_all(executor)
    .await?;
    rows.iter().try_fold(U256::ZERO, |sum, r| Ok(sum + parse_amount(&r.try_get::<String, _>(0)?)?))
}

/// Parameters per `IN (…)` lookup, under SQLite's limit with room for the
/// fixed ones.
const LOOKUP_CHUNK: usize = 200;

fn placeholders(first: usize, count: usize) -> String {
    (first..first + count).map(|n| format!("${n}")).collect::<Vec<_>>().join(", ")
}

/// Which of the submitted intents were accepted before, and into which batch.
async fn existing_hashes(
    tx: &mut Transaction<'static, Any>,
    chain: &str,
    intents: &[NewIntent],
) -> Result<HashMap<B256, u64>, StoreError> {
    let mut known = HashMap::new();
    for chunk in intents.chunks(LOOKUP_CHUNK) {
        let sql = format!(
            "SELECT intent_hash, batch_id FROM intents WHERE chain = $1 AND intent_hash IN ({})",
            placeholders(2, chunk.len())
        );
        // Not a prepared statement: PostgreSQL would keep the generic plan it
        // made while the table was nearly empty (a scan per listed hash),
        // and lookups would slow down as the table grows.
        let mut query = sqlx::query(&sql).persistent(false).bind(chain.to_owned());
        for intent in chunk {
            query = query.bind(hash_text(&intent.hash));
        }
        for row in query.fetch_all(&mut **tx).await? {
            known.insert(
                parse_hash(&row.try_get::<String, _>(0)?)?,
                row.try_get::<i64, _>(1)? as u64,
            );
        }
    }
    Ok(known)
}

/// Which (payer, nonce) pairs of the submission are already taken.
async fn taken_nonces(
    tx: &mut Transaction<'static, Any>,
    chain: &str,
    intents: &[NewIntent],
) -> Result<HashSet<(Address, U256)>, StoreError> {
    let mut by_payer: BTreeMap<Address, Vec<U256>> = BTreeMap::new();
    for intent in intents {
        by_payer.entry(intent.payer).or_default().push(intent.nonce);
    }
    let mut taken = HashSet::new();
    for (payer, nonces) in by_payer {
        for chunk in nonces.chunks(LOOKUP_CHUNK) {
            let sql = format!(
                "SELECT nonce FROM intents WHERE chain = $1 AND payer = $2 AND nonce IN ({})",
                placeholders(3, chunk.len())
            );
            // Planned per use, as the hash lookup above.
            let mut query =
                sqlx::query(&sql).persistent(false).bind(chain.to_owned()).bind(account(&payer));
            for nonce in chunk {
                query = query.bind(amount_text(nonce));
            }
            for row in query.fetch_all(&mut **tx).await? {
                taken.insert((payer, parse_amount(&row.try_get::<String, _>(0)?)?));
            }
        }
    }
    Ok(taken)
}

async fn insert_intents(
    tx: &mut Transaction<'static, Any>,
    chain: &str,
    intents: &[&NewIntent],
    batch_id: u64,
    now: i64,
) -> Result<(), StoreError> {
    let mut sql = String::from(
        "INSERT INTO intents (chain, intent_hash, payer, payee, asset, amount, nonce, valid_until, \
         signature, batch_id, status, accepted_at) VALUES ",
    );
    for i in 0..intents.len() {
        let base = i * 12;
        if i > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        for column in 1..=12 {
            if column > 1 {
                sql.push_str(", ");
            }
            sql.push_str(&format!("${}", base + column));
        }
        sql.push(')');
    }
    let mut query = sqlx::query(&sql);
    for intent in intents {
        query = query
            .bind(chain.to_owned())
            .bind(hash_text(&intent.hash))
            .bind(account(&intent.payer))
            .bind(account(&intent.payee))
            .bind(account(&intent.asset))
            .bind(amount_text(&intent.amount))
            .bind(amount_text(&intent.nonce))
            .bind(intent.valid_until as i64)
            .bind(crate::signature_text(&intent.signature))
            .bind(batch_id as i64)
            .bind("accepted".to_owned())
            .bind(now);
    }
    query.execute(&mut **tx).await?;
    Ok(())
}
