//! A party's own rules for what it signs, and its small record of what it
//! has signed (used nonces, slashes per provider, the last batch).

use std::{
    collections::{BTreeMap, BTreeSet},
    path::{Path, PathBuf},
};

use alloy_primitives::{Address, B256, I256, U256};
use cairn_core::netting::ClosedBatch;
use serde::{Deserialize, Serialize};

use cairn_signer::{SignedCommitment, SigningRequest};

use crate::{ThresholdError, share::write_private_file};

/// Limits a party applies before joining a session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// The largest slash amount (token base units) this party signs.
    pub max_slash_amount: U256,
    /// How many slashes of one provider this party signs per window.
    #[serde(default = "default_per_window")]
    pub max_slashes_per_provider: u32,
    #[serde(default = "default_window")]
    pub rate_window_seconds: u64,
    /// A deadline further ahead than this is refused: a long-lived order is
    /// one that can be held back and used at a worse time.
    #[serde(default = "default_deadline")]
    pub max_deadline_seconds: u64,
}

fn default_per_window() -> u32 {
    1
}
fn default_window() -> u64 {
    86_400
}
fn default_deadline() -> u64 {
    3_600
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            max_slash_amount: U256::from(10u128.pow(21)),
            max_slashes_per_provider: default_per_window(),
            rate_window_seconds: default_window(),
            max_deadline_seconds: default_deadline(),
        }
    }
}

/// What the party has signed, kept in its own file so a restart cannot
/// make it sign a nonce twice.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyRecord {
    /// `chain_id:registry:nonce` of every slash signed.
    pub slash_nonces: BTreeSet<String>,
    /// The digest signed under each of those nonces: the same order asked
    /// for again (a coordinator that crashed before it kept the signature)
    /// is signed again, since its signature adds nothing the first did not.
    #[serde(default)]
    pub slash_digests: BTreeMap<String, B256>,
    /// Unix times of the slashes signed, per `chain_id:registry:provider`.
    pub slashes: BTreeMap<String, Vec<u64>>,
    /// Last batch signed per `chain_id:settlement`: its id and EIP-712 digest.
    pub batches: BTreeMap<String, (u64, B256)>,
    #[serde(skip)]
    path: Option<PathBuf>,
}

impl PolicyRecord {
    /// Reads the record at `path`, or an empty one when the file does not exist yet.
    pub fn open(path: &Path) -> Result<Self, ThresholdError> {
        let mut record: Self = match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| ThresholdError::Malformed {
                path: path.to_owned(),
                reason: e.to_string(),
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Self::default(),
            Err(source) => return Err(ThresholdError::File { path: path.to_owned(), source }),
        };
        record.path = Some(path.to_owned());
        Ok(record)
    }

    fn save(&self) -> Result<(), ThresholdError> {
        if let Some(path) = &self.path {
            let bytes = serde_json::to_vec_pretty(self).expect("record serialises");
            write_private_file(path, &bytes)?;
        }
        Ok(())
    }
}

/// Checks `request` against `policy` and the record; when it passes, the
/// record is updated and saved *before* the party joins, so a crash between
/// joining and finishing errs on the side of never signing twice. `group`
/// is the group key's address: what a previous commitment must be signed by.
pub fn check_request(
    request: &SigningRequest,
    policy: &Policy,
    record: &mut PolicyRecord,
    group: Address,
    now: u64,
) -> Result<(), String> {
    match request {
        SigningRequest::Slash { chain_id, registry, order, operator, evidence } => {
            let verdict =
                evidence.verify().map_err(|e| format!("evidence does not verify: {e}"))?;
            if verdict.accused != *operator {
                return Err(format!(
                    "the evidence accuses {}, not the provider's operator {operator}",
                    verdict.accused
                ));
            }
            if order.evidenceHash != evidence.hash() {
                return Err(format!(
                    "evidence hash {} is not the hash of the evidence given ({})",
                    order.evidenceHash,
                    evidence.hash()
                ));
            }
            if order.amount.is_zero() || order.amount > policy.max_slash_amount {
                return Err(format!(
                    "amount {} is outside this party's limit (1..={})",
                    order.amount, policy.max_slash_amount
                ));
            }
            if order.deadline <= now {
                return Err(format!("deadline {} has passed (now {now})", order.deadline));
            }
            if order.deadline > now + policy.max_deadline_seconds {
                return Err(format!(
                    "deadline {} is more than {} s ahead",
                    order.deadline, policy.max_deadline_seconds
                ));
            }
            let nonce_key = format!("{chain_id}:{registry}:{}", order.nonce);
            if record.slash_nonces.contains(&nonce_key) {
                if record.slash_digests.get(&nonce_key) == Some(&request.digest()) {
                    return Ok(());
                }
                return Err(format!("nonce {} was already signed", order.nonce));
            }
            let provider_key = format!("{chain_id}:{registry}:{}", order.provider);
            let recent = record
                .slashes
                .get(&provider_key)
                .map(|times| {
                    times
                        .iter()
                        .filter(|t| now.saturating_sub(**t) < policy.rate_window_seconds)
                        .count()
                })
                .unwrap_or(0);
            if recent >= policy.max_slashes_per_provider as usize {
                return Err(format!(
                    "provider {} was slashed {recent} time(s) in the last {} s (limit {})",
                    order.provider, policy.rate_window_seconds, policy.max_slashes_per_provider
                ));
            }
            record.slash_digests.insert(nonce_key.clone(), request.digest());
            record.slash_nonces.insert(nonce_key);
            let times = record.slashes.entry(provider_key).or_default();
            times.retain(|t| now.saturating_sub(*t) < policy.rate_window_seconds);
            times.push(now);
        }
        SigningRequest::BatchCommitment { chain_id, settlement, commitment, batch, previous } => {
            check_batch(batch)?;
            if *commitment != batch.body.commit(commitment.receiptId) {
                return Err("the commitment does not match the batch it is given with".into());
            }
            let key = format!("{chain_id}:{settlement}");
            let digest = request.digest();
            match record.batches.get(&key) {
                // The same commitment again: a coordinator that crashed
                // before it kept the signature asks once more; signing it
                // twice gives nothing a second batch could use.
                Some((last_id, last_digest))
                    if commitment.batchId == *last_id && digest == *last_digest =>
                {
                    return Ok(());
                }
                Some((last_id, last_digest)) if commitment.batchId == last_id + 1 => {
                    if commitment.prevHash != *last_digest {
                        return Err(format!(
                            "prevHash {} is not the digest of batch {last_id} ({last_digest})",
                            commitment.prevHash
                        ));
                    }
                }
                Some((last_id, _)) if commitment.batchId <= *last_id => {
                    return Err(format!(
                        "batch {} does not follow batch {last_id}, the last one this party signed",
                        commitment.batchId
                    ));
                }
                // Batches this party was left out of (or, for a new party,
                // all before this one): the group's signature over the one
                // this chains to stands for the parties that checked them.
                _ if commitment.batchId > 1 => {
                    check_previous(*chain_id, *settlement, commitment, previous.as_deref(), group)
                        .map_err(|reason| match record.batches.get(&key) {
                            Some((last_id, _)) => format!(
                                "batch {} does not follow batch {last_id}, the last one this \
                                 party signed, and {reason}",
                                commitment.batchId
                            ),
                            None => reason,
                        })?;
                }
                _ => {
                    if commitment.prevHash != B256::ZERO {
                        return Err(format!(
                            "batch {} is the first but its prevHash is {}, not zero",
                            commitment.batchId, commitment.prevHash
                        ));
                    }
                }
            }
            record.batches.insert(key, (commitment.batchId, digest));
        }
    }
    record.save().map_err(|e| format!("cannot save the party's record: {e}"))
}

/// `previous` is batch `commitment.batchId − 1`, signed by the group, and
/// `commitment` chains to it.
fn check_previous(
    chain_id: u64,
    settlement: Address,
    commitment: &cairn_core::eip712::BatchCommitment,
    previous: Option<&SignedCommitment>,
    group: Address,
) -> Result<(), String> {
    let Some(previous) = previous else {
        return Err(format!(
            "the request does not carry batch {}'s signed commitment to chain to",
            commitment.batchId - 1
        ));
    };
    if previous.commitment.batchId + 1 != commitment.batchId {
        return Err(format!(
            "the commitment given as the previous one is batch {}, not {}",
            previous.commitment.batchId,
            commitment.batchId - 1
        ));
    }
    let digest = cairn_core::eip712::signing_hash(
        &previous.commitment,
        &cairn_core::eip712::settlement_domain(chain_id, settlement),
    );
    if commitment.prevHash != digest {
        return Err(format!(
            "prevHash {} is not the digest of batch {} ({digest})",
            commitment.prevHash, previous.commitment.batchId
        ));
    }
    let signer = previous
        .signature
        .recover(digest)
        .map_err(|e| format!("batch {}'s signature: {e}", previous.commitment.batchId))?;
    if signer != group {
        return Err(format!(
            "batch {}'s commitment is signed by {signer}, not by this group's key {group}",
            previous.commitment.batchId
        ));
    }
    Ok(())
}

/// The batch's roots and deltas must be what its intents net to, and the
/// deltas of every asset must sum to zero.
fn check_batch(batch: &ClosedBatch) -> Result<(), String> {
    let body = &batch.body;
    let rebuilt = ClosedBatch::assemble(
        body.batch_id,
        body.prev_hash,
        body.window_start,
        body.window_end,
        batch.intents.clone(),
    )
    .map_err(|e| format!("the batch's intents do not assemble: {e}"))?;
    let mut sums: BTreeMap<Address, I256> = BTreeMap::new();
    for delta in &batch.deltas {
        let sum = sums.entry(delta.asset).or_default();
        *sum = sum
            .checked_add(delta.amount)
            .ok_or_else(|| format!("deltas of asset {} overflow", delta.asset))?;
    }
    if let Some((asset, sum)) = sums.iter().find(|(_, sum)| !sum.is_zero()) {
        return Err(format!("deltas of asset {asset} sum to {sum}, not zero"));
    }
    if rebuilt.deltas != batch.deltas {
        return Err("the deltas are not the netting of the batch's intents".into());
    }
    if rebuilt.body != batch.body {
        return Err("the batch's roots or counts do not match its intents".into());
    }
    Ok(())
}
