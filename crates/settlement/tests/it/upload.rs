//! Receipts reach a real local gateway (arlocal) as a bundle inside a signed
//! L1 transaction, and are confirmed only by reading them back.

use cairn_arweave::{Tag, UnsignedItem, transaction::Wallet};
use cairn_settlement::{Gateway, UploadError};
use cairn_signer::LocalSigner;
use cairn_test_utils::{DEV_KEY_0, arlocal};

const WALLET: &str = include_str!("../../../arweave/fixtures/test-wallet.json");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bundled_receipts_read_back_from_arlocal() {
    let node = arlocal();
    let wallet = Wallet::from_jwk(WALLET).unwrap();
    node.mint(&wallet.address(), 1_000_000_000_000_000);
    let gateway = Gateway::new(node.url().parse().unwrap());

    let signer = LocalSigner::from_hex(DEV_KEY_0).unwrap();
    let mut items = Vec::new();
    for n in 1..=3u8 {
        let item = UnsignedItem {
            data: format!("{{\"batch\":{n}}}").into_bytes(),
            tags: vec![Tag::new("App-Name", "Cairn"), Tag::new("Batch-Id", n.to_string())],
            ..Default::default()
        }
        .sign_ethereum(&signer)
        .await
        .unwrap();
        items.push(item);
    }

    let tx = gateway.post_bundle(&wallet, &items).await.unwrap();
    assert_eq!(tx.len(), 43, "a base64url transaction id: {tx}");
    node.mine();
    for item in &items {
        gateway.confirm(item).await.unwrap_or_else(|e| panic!("{}: {e}", item.id_base64url()));
    }

    // An item that was never posted is not confirmed.
    let stray = UnsignedItem { data: b"never posted".to_vec(), ..Default::default() }
        .sign_ethereum(&signer)
        .await
        .unwrap();
    assert!(matches!(gateway.confirm(&stray).await, Err(UploadError::NotYetVisible { .. })));
}
