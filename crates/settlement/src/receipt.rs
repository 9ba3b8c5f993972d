//! A closed batch's receipt: an ANS-104 data item carrying everything the
//! batch commits to, signed through a `Signer`, and the commitment that
//! names it, signed as a typed request (`RequestSigner`) so that threshold
//! parties can check the batch before they sign.

use alloy_primitives::B256;
use alloy_sol_types::{Eip712Domain, SolStruct};
use cairn_arweave::{DataItem, ItemError, Tag, UnsignedItem};
use cairn_core::{
    eip712::{BatchCommitment, PaymentIntent},
    intent::SignedIntent,
    netting::ClosedBatch,
};
use cairn_signer::{RequestSigner, SignedCommitment, Signer, SigningRequest};
use cairn_store::{Store, StoreError};
use serde::{Deserialize, Serialize};

/// Value of the `App-Name` tag on every Cairn receipt.
pub const APP_NAME: &str = "Cairn";
/// Version of the receipt's JSON layout (`Receipt-Version` tag).
pub const RECEIPT_VERSION: &str = "1";

#[derive(Debug, thiserror::Error)]
pub enum ReceiptError {
    #[error("cannot sign the receipt: {0}")]
    Item(#[from] ItemError),
    #[error("cannot sign the commitment: {0}")]
    Signer(#[from] cairn_signer::SignerError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot encode the receipt: {0}")]
    Encode(#[from] serde_json::Error),
    #[error("batch {batch_id} holds {closed} intents but the store has {stored} for it")]
    IntentsMissing { batch_id: u64, closed: usize, stored: usize },
    #[error("the settlement domain names no {0}")]
    Domain(&'static str),
    #[error("batch {batch_id}'s recorded commitment does not parse: {reason}")]
    CorruptCommitment { batch_id: u64, reason: String },
}

/// What a receipt's data holds (JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiptBody {
    pub version: String,
    /// CAIP-2 chain of the settlement contract.
    pub chain: String,
    pub settlement: alloy_primitives::Address,
    pub batch: ClosedBatch,
    /// Every intent of the batch as its payer signed it, in the order of
    /// `batch.intents`: anyone can check each payment was authorised.
    pub signed_intents: Vec<SignedIntent>,
    /// Set when the batch's intents were too large for the receipt: they
    /// are in a separate item, and `batch.intents` and `signed_intents` are
    /// empty here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intents_item: Option<IntentsPointer>,
}

/// Where a large batch's intents are: an item of their own, named by id and
/// by the hash of its data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IntentsPointer {
    /// ANS-104 id (base64url).
    pub item_id: String,
    /// sha256 of the item's data.
    pub sha256: B256,
    pub intent_count: u64,
}

/// The data of a batch's separate intents item (JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IntentsBody {
    pub batch_id: u64,
    pub intents: Vec<cairn_core::netting::BatchIntent>,
    pub signed_intents: Vec<SignedIntent>,
}

/// Largest receipt (its JSON data) that carries its intents inline.
pub const DEFAULT_MAX_RECEIPT_BYTES: usize = 4 * 1024 * 1024;

/// A receipt and the commitment that names it.
#[derive(Debug, Clone)]
pub struct WrittenReceipt {
    pub item: DataItem,
    pub commitment: BatchCommitment,
    /// EIP-712 digest of the commitment: the next batch's `prevHash`.
    pub commitment_hash: B256,
    /// The settlement signer's signature over the commitment.
    pub commitment_signature: [u8; 65],
    /// The intents, when they did not fit in the receipt.
    pub intents_item: Option<DataItem>,
}

fn hex(hash: &B256) -> String {
    format!("{hash:#x}")
}

/// The tags every item of a batch's receipt carries, naming what it is.
fn common_tags(kind: &str, chain: &str, domain: &Eip712Domain, batch: &ClosedBatch) -> Vec<Tag> {
    let settlement = domain.verifying_contract.unwrap_or_default();
    vec![
        Tag::new("App-Name", APP_NAME),
        Tag::new("Receipt-Version", RECEIPT_VERSION),
        Tag::new("Content-Type", "application/json"),
        Tag::new("Type", kind),
        Tag::new("Chain", chain),
        Tag::new("Settlement", format!("{settlement:#x}")),
        Tag::new("Batch-Id", batch.body.batch_id.to_string()),
    ]
}

/// Builds and signs the receipt of `batch` and the commitment naming it.
/// A receipt whose data would exceed `max_receipt_bytes` carries its
/// intents in a second item instead, named by id and content hash. The same
/// inputs always give the same bytes. `previous` is the signed commitment of
/// the batch before, which a threshold party that missed it needs.
#[allow(clippy::too_many_arguments)]
pub async fn build_receipt(
    chain: &str,
    domain: &Eip712Domain,
    batch: &ClosedBatch,
    signed_intents: &[SignedIntent],
    receipt_signer: &dyn Signer,
    settlement_signer: &dyn RequestSigner,
    previous: Option<SignedCommitment>,
    max_receipt_bytes: usize,
) -> Result<WrittenReceipt, ReceiptError> {
    let settlement = domain.verifying_contract.ok_or(ReceiptError::Domain("verifying contract"))?;
    let chain_id = domain
        .chain_id
        .and_then(|id| u64::try_from(id).ok())
        .ok_or(ReceiptError::Domain("chain id that fits 64 bits"))?;
    let mut body = ReceiptBody {
        version: RECEIPT_VERSION.to_owned(),
        chain: chain.to_owned(),
        settlement,
        batch: batch.clone(),
        signed_intents: signed_intents.to_vec(),
        intents_item: None,
    };
    let mut data = serde_json::to_vec(&body)?;
    let mut intents_item = None;
    if data.len() > max_receipt_bytes {
        let intents = IntentsBody {
            batch_id: batch.body.batch_id,
            intents: std::mem::take(&mut body.batch.intents),
            signed_intents: std::mem::take(&mut body.signed_intents),
        };
        let intents_data = serde_json::to_vec(&intents)?;
        let sha256 = B256::from_slice(&<sha2::Sha256 as sha2::Digest>::digest(&intents_data));
        let mut tags = common_tags("batch-intents", chain, domain, batch);
        tags.extend([
            Tag::new("Intents-Root", hex(&batch.body.intents_root)),
            Tag::new("Content-SHA256", hex(&sha256)),
        ]);
        let item = UnsignedItem { data: intents_data, tags, target: None, anchor: None }
            .sign_ethereum(receipt_signer)
            .await?;
        body.intents_item = Some(IntentsPointer {
            item_id: item.id_base64url(),
            sha256,
            intent_count: intents.intents.len() as u64,
        });
        intents_item = Some(item);
        data = serde_json::to_vec(&body)?;
    }
    let mut tags = common_tags("batch-receipt", chain, domain, batch);
    tags.extend([
        Tag::new("Prev-Hash", hex(&batch.body.prev_hash)),
        Tag::new("Intents-Root", hex(&batch.body.intents_root)),
        Tag::new("Deltas-Root", hex(&batch.body.deltas_root)),
    ]);
    let item = UnsignedItem { data, tags, target: None, anchor: None }
        .sign_ethereum(receipt_signer)
        .await?;
    let commitment = batch.body.commit(B256::from(item.id()));
    let commitment_hash = commitment.eip712_signing_hash(domain);
    let request = SigningRequest::BatchCommitment {
        chain_id,
        settlement,
        commitment,
        batch: batch.clone(),
        previous: previous.map(Box::new),
    };
    let commitment_signature = settlement_signer.sign_request(&request).await?.to_bytes();
    let SigningRequest::BatchCommitment { commitment, .. } = request else { unreachable!() };
    Ok(WrittenReceipt { item, commitment, commitment_hash, commitment_signature, intents_item })
}

/// The intents of batch `batch_id` as their payers signed them, in the
/// order of the closed batch's intents.
pub async fn signed_intents(
    store: &Store,
    chain: &str,
    batch_id: u64,
) -> Result<Vec<SignedIntent>, StoreError> {
    Ok(store
        .batch_intents(chain, batch_id)
        .await?
        .into_iter()
        .map(|stored| SignedIntent {
            intent: PaymentIntent {
                payer: stored.payer,
                payee: stored.payee,
                asset: stored.asset,
                amount: stored.amount,
                nonce: stored.nonce,
                validUntil: stored.valid_until,
            },
            signature: stored.signature,
        })
        .collect())
}

/// Builds the receipt of the closed batch `batch_id` and records it in the
/// outbox with the batch's new stage, in one transaction. A batch whose
/// receipt is already written is left as it is and its record returned.
pub async fn write_receipt(
    store: &Store,
    chain: &str,
    domain: &Eip712Domain,
    batch_id: u64,
    receipt_signer: &dyn Signer,
    settlement_signer: &dyn RequestSigner,
    max_receipt_bytes: usize,
) -> Result<Option<WrittenReceipt>, ReceiptError> {
    let Some((batch, _stage)) = store.closed_batch(chain, batch_id).await? else {
        return Ok(None);
    };
    let signed = signed_intents(store, chain, batch_id).await?;
    if signed.len() != batch.intents.len() {
        return Err(ReceiptError::IntentsMissing {
            batch_id,
            closed: batch.intents.len(),
            stored: signed.len(),
        });
    }
    let previous = previous_commitment(store, chain, batch_id).await?;
    let written = build_receipt(
        chain,
        domain,
        &batch,
        &signed,
        receipt_signer,
        settlement_signer,
        previous,
        max_receipt_bytes,
    )
    .await?;
    record_written(store, chain, batch_id, &written).await?;
    Ok(Some(written))
}

/// The recorded commitment and signature of the batch before `batch_id`,
/// if this store wrote it.
async fn previous_commitment(
    store: &Store,
    chain: &str,
    batch_id: u64,
) -> Result<Option<SignedCommitment>, ReceiptError> {
    let Some(previous_id) = batch_id.checked_sub(1).filter(|id| *id > 0) else {
        return Ok(None);
    };
    let Some((json, signature)) = store.batch_commitment(chain, previous_id).await? else {
        return Ok(None);
    };
    let corrupt =
        |reason: String| ReceiptError::CorruptCommitment { batch_id: previous_id, reason };
    Ok(Some(SignedCommitment {
        commitment: serde_json::from_str(&json).map_err(|e| corrupt(e.to_string()))?,
        signature: cairn_signer::Signature::from_bytes(&signature)
            .map_err(|e| corrupt(e.to_string()))?,
    }))
}

/// Records a built receipt (and its intents item, if any) in the outbox with
/// the batch's new stage, in one transaction.
pub async fn record_written(
    store: &Store,
    chain: &str,
    batch_id: u64,
    written: &WrittenReceipt,
) -> Result<(), ReceiptError> {
    store
        .record_receipt(
            chain,
            batch_id,
            &cairn_store::ReceiptRecord {
                item_id: written.item.id_base64url(),
                item: written.item.encode(),
                commitment: serde_json::to_string(&written.commitment)?,
                commitment_hash: written.commitment_hash,
                commitment_signature: written.commitment_signature,
                attachments: written
                    .intents_item
                    .iter()
                    .map(|item| (item.id_base64url(), item.encode()))
                    .collect(),
            },
        )
        .await?;
    Ok(())
}
