//! Tests of cairn-arweave, one module per behaviour.

mod arbundles_vectors;
mod bundles;
mod chunks;
mod decoder_fuzz;
mod malformed_items;
mod transactions;

use cairn_arweave::{DataItem, Tag, UnsignedItem};

/// A signed type-3 item with tags, target and anchor, for mutation tests.
pub(crate) async fn sample_item() -> DataItem {
    let signer = cairn_signer::LocalSigner::from_hex(&"42".repeat(32)).unwrap();
    UnsignedItem {
        data: b"{\"batch\":7}".to_vec(),
        tags: vec![Tag::new("App-Name", "Cairn"), Tag::new("Batch-Id", "7")],
        target: Some([3; 32]),
        anchor: Some([4; 32]),
    }
    .sign_ethereum(&signer)
    .await
    .unwrap()
}
