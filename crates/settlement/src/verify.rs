//! Checking a settled batch from the outside: what the chain recorded, the
//! receipt Arweave serves under the id the chain names, and the intents in
//! that receipt must all agree. Needs nothing of Cairn's own store.

use alloy::{
    primitives::{Address, B256, U256},
    providers::Provider,
    rpc::types::{Filter, Log},
    sol_types::SolEvent,
};
use alloy_sol_types::SolStruct;
use cairn_arweave::{DataItem, base64url};
use cairn_bindings::Settlement;
use cairn_core::{eip712::settlement_domain, intent::verify_intents, netting::ClosedBatch};

use crate::{
    Gateway,
    receipt::{IntentsBody, IntentsPointer, ReceiptBody},
};

/// One thing checked and what was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    pub name: &'static str,
    pub passed: bool,
    pub detail: String,
}

/// Everything `verify_batch` found about one batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchVerification {
    pub batch_id: u64,
    pub settled_tx: B256,
    pub settled_block: u64,
    /// base64url, as Arweave names it.
    pub receipt_id: String,
    /// Where the receipt was read.
    pub receipt_url: String,
    pub checks: Vec<Check>,
}

impl BatchVerification {
    pub fn passed(&self) -> bool {
        self.checks.iter().all(|c| c.passed)
    }
}

/// Why a batch could not be checked at all (as opposed to a check failing).
#[derive(Debug, thiserror::Error)]
pub enum VerifyBatchError {
    #[error("RPC error: {0}")]
    Rpc(String),
    #[error("batch {0} is not settled on chain (no BatchSettled event)")]
    NotSettled(u64),
    #[error("no gateway serves receipt {id}: {errors}")]
    ReceiptUnavailable { id: String, errors: String },
}

fn rpc(error: impl std::fmt::Display) -> VerifyBatchError {
    VerifyBatchError::Rpc(error.to_string())
}

/// The contract's `BatchSettled` event for `batch_id`, if any.
async fn settled_event<P: Provider>(
    rpc_provider: &P,
    settlement: Address,
    from_block: u64,
    batch_id: u64,
) -> Result<Option<(Settlement::BatchSettled, Log)>, VerifyBatchError> {
    let filter = Filter::new()
        .address(settlement)
        .event_signature(Settlement::BatchSettled::SIGNATURE_HASH)
        .topic1(B256::from(U256::from(batch_id)))
        .from_block(from_block);
    let logs = rpc_provider.get_logs(&filter).await.map_err(rpc)?;
    let Some(log) = logs.into_iter().next_back() else {
        return Ok(None);
    };
    let event = Settlement::BatchSettled::decode_log(&log.inner).map_err(rpc)?.data;
    Ok(Some((event, log)))
}

fn check(name: &'static str, passed: bool, detail: impl Into<String>) -> Check {
    Check { name, passed, detail: detail.into() }
}

/// Checks settled batch `batch_id` of the settlement contract at
/// `settlement` on chain `chain_id` against its receipt, read from the first
/// of `gateways` that serves it.
pub async fn verify_batch<P: Provider>(
    rpc_provider: &P,
    chain_id: u64,
    settlement: Address,
    from_block: u64,
    gateways: &[Gateway],
    batch_id: u64,
) -> Result<BatchVerification, VerifyBatchError> {
    let (event, log) = settled_event(rpc_provider, settlement, from_block, batch_id)
        .await?
        .ok_or(VerifyBatchError::NotSettled(batch_id))?;
    let receipt_id = base64url(event.receiptId.as_slice());
    let mut errors = Vec::new();
    let mut fetched = None;
    for gateway in gateways {
        match gateway.fetch_item(&receipt_id).await {
            Ok(item) => {
                fetched = Some((item, gateway.item_url(&receipt_id)));
                break;
            }
            Err(error) => errors.push(error.to_string()),
        }
    }
    let (item, receipt_url) = fetched.ok_or_else(|| VerifyBatchError::ReceiptUnavailable {
        id: receipt_id.clone(),
        errors: errors.join("; "),
    })?;
    let mut checks = Vec::new();
    receipt_checks(&item, &event, &mut checks);
    if let Some(mut body) = body_checks(&item, chain_id, settlement, batch_id, &mut checks) {
        if let Some(pointer) = body.intents_item.clone() {
            let check = fetch_intents(gateways, &pointer, &item, batch_id, &mut body).await;
            checks.push(check);
        }
        content_checks(&body, &event, chain_id, settlement, &mut checks);
        if batch_id > 1 {
            let previous =
                settled_event(rpc_provider, settlement, from_block, batch_id - 1).await?;
            let expected = previous.map(|(e, _)| e.commitmentHash);
            checks.push(check(
                "chained",
                expected == Some(body.batch.body.prev_hash),
                match expected {
                    Some(hash) => format!(
                        "prevHash {} {} batch {}'s commitment {hash}",
                        body.batch.body.prev_hash,
                        if hash == body.batch.body.prev_hash { "is" } else { "is not" },
                        batch_id - 1
                    ),
                    None => format!("batch {} is not settled", batch_id - 1),
                },
            ));
        }
    }
    Ok(BatchVerification {
        batch_id,
        settled_tx: log.transaction_hash.unwrap_or_default(),
        settled_block: log.block_number.unwrap_or_default(),
        receipt_id,
        receipt_url,
        checks,
    })
}

/// A large batch's intents, from the item its receipt points to: it must be
/// the item named (its id), hold the data named (its sha256), and be signed
/// by the receipt's own signer. On success they are put into `body`.
async fn fetch_intents(
    gateways: &[Gateway],
    pointer: &IntentsPointer,
    receipt: &DataItem,
    batch_id: u64,
    body: &mut ReceiptBody,
) -> Check {
    let mut errors = Vec::new();
    for gateway in gateways {
        let item = match gateway.fetch_item(&pointer.item_id).await {
            Ok(item) => item,
            Err(error) => {
                errors.push(error.to_string());
                continue;
            }
        };
        let digest = B256::from_slice(&<sha2::Sha256 as sha2::Digest>::digest(item.data()));
        let problem = if item.id_base64url() != pointer.item_id {
            Some("its signature does not hash to the id named".to_owned())
        } else if item.verify().is_err() {
            Some("its signature does not verify".to_owned())
        } else if item.owner() != receipt.owner() {
            Some("it is signed by another key than the receipt".to_owned())
        } else if digest != pointer.sha256 {
            Some(format!("its data hashes to {digest}, not {}", pointer.sha256))
        } else {
            match serde_json::from_slice::<IntentsBody>(item.data()) {
                Ok(intents)
                    if intents.batch_id == batch_id
                        && intents.intents.len() as u64 == pointer.intent_count =>
                {
                    body.batch.intents = intents.intents;
                    body.signed_intents = intents.signed_intents;
                    None
                }
                Ok(_) => Some("it holds another batch's intents or another count".to_owned()),
                Err(error) => Some(format!("not a Cairn intents item: {error}")),
            }
        };
        return match problem {
            None => check(
                "intents item",
                true,
                format!(
                    "{} intents from {} (sha256 {})",
                    pointer.intent_count,
                    gateway.item_url(&pointer.item_id),
                    pointer.sha256
                ),
            ),
            Some(problem) => {
                check("intents item", false, format!("{}: {problem}", pointer.item_id))
            }
        };
    }
    check(
        "intents item",
        false,
        format!("no gateway serves {}: {}", pointer.item_id, errors.join("; ")),
    )
}

/// The item is the one the chain names, and its signature verifies. Who
/// signed it is not checked: the item's id is the hash of its signature,
/// which covers its owner, data and tags, and the commitment the settlement
/// signer signed names that id, so the chain binds every byte of it. (With
/// a threshold settlement signer the receipt's owner is the service's key.)
fn receipt_checks(item: &DataItem, event: &Settlement::BatchSettled, checks: &mut Vec<Check>) {
    let id = B256::from(item.id());
    checks.push(check(
        "receipt id",
        id == event.receiptId,
        format!("sha256 of the served signature is {id}; the chain recorded {}", event.receiptId),
    ));
    let verified = item.verify();
    let owner = alloy::primitives::keccak256(item.owner().get(1..).unwrap_or_default());
    let owner = Address::from_slice(&owner[12..]);
    checks.push(check(
        "receipt signature",
        verified.is_ok(),
        match &verified {
            Ok(()) => format!("the ANS-104 signature verifies against its owner {owner}"),
            Err(error) => error.to_string(),
        },
    ));
}

fn body_checks(
    item: &DataItem,
    chain_id: u64,
    settlement: Address,
    batch_id: u64,
    checks: &mut Vec<Check>,
) -> Option<ReceiptBody> {
    let body: ReceiptBody = match serde_json::from_slice(item.data()) {
        Ok(body) => body,
        Err(error) => {
            checks.push(check("receipt body", false, format!("not a Cairn receipt: {error}")));
            return None;
        }
    };
    let chain = format!("eip155:{chain_id}");
    let tag = |name: &str| item.tag(name).map(|v| String::from_utf8_lossy(v).into_owned());
    let tags_agree = tag("Batch-Id") == Some(batch_id.to_string())
        && tag("Chain").as_deref() == Some(chain.as_str())
        && tag("Intents-Root") == Some(format!("{:#x}", body.batch.body.intents_root))
        && tag("Deltas-Root") == Some(format!("{:#x}", body.batch.body.deltas_root));
    let names_this_batch = body.chain == chain
        && body.settlement == settlement
        && body.batch.body.batch_id == batch_id
        && tags_agree;
    checks.push(check(
        "receipt body",
        names_this_batch,
        format!(
            "receipt v{} for {} {} batch {}; tags {}",
            body.version,
            body.chain,
            body.settlement,
            body.batch.body.batch_id,
            if tags_agree { "agree" } else { "disagree" }
        ),
    ));
    Some(body)
}

/// The intents are signed by their payers, net to the deltas, and the
/// commitment over them is the one the chain accepted.
fn content_checks(
    body: &ReceiptBody,
    event: &Settlement::BatchSettled,
    chain_id: u64,
    settlement: Address,
    checks: &mut Vec<Check>,
) {
    let domain = settlement_domain(chain_id, settlement);
    let batch = &body.batch;
    let threads = std::thread::available_parallelism().unwrap_or(std::num::NonZeroUsize::MIN);
    let verified = verify_intents(&domain, &body.signed_intents, threads);
    let mut bad = Vec::new();
    for (index, (result, signed)) in verified.iter().zip(&body.signed_intents).enumerate() {
        let listed = batch.intents.get(index);
        let matches = match (result, listed) {
            (Ok(digest), Some(listed)) => {
                *digest == listed.digest
                    && signed.intent.payer == listed.payer
                    && signed.intent.payee == listed.payee
                    && signed.intent.asset == listed.asset
                    && signed.intent.amount == U256::from(listed.amount)
            }
            _ => false,
        };
        if !matches {
            bad.push(index);
        }
    }
    let count_matches = body.signed_intents.len() == batch.intents.len();
    checks.push(check(
        "intent signatures",
        bad.is_empty() && count_matches,
        if bad.is_empty() && count_matches {
            format!("all {} intents are signed by their payers", batch.intents.len())
        } else {
            format!(
                "{} of {} signed intents fail or differ from the batch's list (first at index {:?}); the batch lists {}",
                bad.len(),
                body.signed_intents.len(),
                bad.first(),
                batch.intents.len()
            )
        },
    ));
    let rebuilt = ClosedBatch::assemble(
        batch.body.batch_id,
        batch.body.prev_hash,
        batch.body.window_start,
        batch.body.window_end,
        batch.intents.clone(),
    );
    checks.push(check(
        "netting",
        rebuilt.as_ref().ok() == Some(batch),
        if rebuilt.as_ref().ok() == Some(batch) {
            format!(
                "{} intents net to the {} deltas; both roots rebuild",
                batch.intents.len(),
                batch.deltas.len()
            )
        } else {
            "the intents do not net to the receipt's deltas and roots".to_owned()
        },
    ));
    let commitment = batch.body.commit(event.receiptId);
    let hash = commitment.eip712_signing_hash(&domain);
    let fields_agree = event.intentsRoot == batch.body.intents_root
        && event.deltasRoot == batch.body.deltas_root
        && event.intentCount == batch.body.intent_count
        && event.deltaCount == batch.body.delta_count
        && event.windowStart == batch.body.window_start
        && event.windowEnd == batch.body.window_end;
    checks.push(check(
        "commitment",
        hash == event.commitmentHash && fields_agree,
        format!(
            "the receipt's commitment hashes to {hash}; the chain settled {}{}",
            event.commitmentHash,
            if fields_agree { "" } else { "; roots, counts or window differ" }
        ),
    ));
}
