//! The evidence receipt: the evidence record as an ANS-104 data item, whose
//! id the slash order commits to (`Slash.receiptId`), so anyone holding the
//! order can fetch what justified it from Arweave and verify it offline.

use alloy::primitives::{Address, B256};
use cairn_arweave::{DataItem, ItemError, Tag, UnsignedItem};
use cairn_core::evidence::Evidence;
use cairn_signer::Signer;

/// The `Type` tag of an evidence receipt.
pub const EVIDENCE_RECEIPT_TYPE: &str = "slash-evidence";

/// Signs `evidence` as a data item. Its data is the record's JSON, exactly
/// what `cairn evidence verify` reads; the tags name what it is about so a
/// GraphQL query by provider or evidence hash finds it. The same inputs give
/// the same item (RFC 6979 signatures), so a retry writes the same id.
pub async fn evidence_receipt(
    evidence: &Evidence,
    chain: &str,
    registry: Address,
    provider: &str,
    signer: &dyn Signer,
) -> Result<DataItem, ItemError> {
    let data = serde_json::to_vec_pretty(evidence).expect("evidence serialises");
    let tags = vec![
        Tag::new("App-Name", cairn_settlement::receipt::APP_NAME),
        Tag::new("Content-Type", "application/json"),
        Tag::new("Type", EVIDENCE_RECEIPT_TYPE),
        Tag::new("Chain", chain),
        Tag::new("Registry", format!("{registry:#x}")),
        Tag::new("Provider", provider),
        Tag::new("Accused", format!("{:#x}", evidence.accused)),
        Tag::new("Evidence-Chain", evidence.chain.to_string()),
        Tag::new("Evidence-Hash", format!("{:#x}", evidence.hash())),
    ];
    UnsignedItem { data, tags, target: None, anchor: None }.sign_ethereum(signer).await
}

/// `Slash.receiptId`: the item id's 32 bytes.
pub(crate) fn receipt_id_bytes(item_id: &str) -> Option<B256> {
    let bytes = cairn_arweave::from_base64url(item_id)?;
    (bytes.len() == 32).then(|| B256::from_slice(&bytes))
}
