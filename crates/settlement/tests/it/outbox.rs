//! The outbox drains to arlocal: posted through the first gateway that takes
//! it, confirmed only by reading back, retried with backoff while the
//! gateway is down or the item is not yet visible. On both backends.

use cairn_arweave::transaction::Wallet;
use cairn_core::eip712::settlement_domain;
use cairn_settlement::{DrainReport, Gateway, Uploader, write_receipt};
use cairn_signer::LocalSigner;
use cairn_test_utils::{DEV_KEY_0, arlocal, stores};

use crate::receipt::closed_batch;

const WALLET: &str = include_str!("../../../arweave/fixtures/test-wallet.json");
const CHAIN: &str = "eip155:31337";

fn dead_gateway() -> Gateway {
    let port = cairn_test_utils::free_port();
    Gateway::new(format!("http://127.0.0.1:{port}/").parse().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_outbox_drains_only_to_confirmed_reads_on_both_backends() {
    let node = arlocal();
    let wallet = Wallet::from_jwk(WALLET).unwrap();
    node.mint(&wallet.address(), 1_000_000_000_000_000);
    let stores = stores().await;
    let key = LocalSigner::from_hex(DEV_KEY_0).unwrap();
    for (index, store) in stores.both().into_iter().enumerate() {
        // One gateway serves both backends: a different settlement address
        // per backend gives each its own receipt.
        let domain =
            settlement_domain(31337, alloy_primitives::Address::repeat_byte(0x5e + index as u8));
        closed_batch(store).await;
        let receipt = write_receipt(
            store,
            CHAIN,
            &domain,
            1,
            &key,
            &key,
            cairn_settlement::receipt::DEFAULT_MAX_RECEIPT_BYTES,
        )
        .await
        .unwrap()
        .unwrap();
        let id = receipt.item.id_base64url();
        let t =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
                as i64
                + 1;
        let uploader = |gateways: Vec<Gateway>| Uploader {
            store: store.clone(),
            bundlers: Vec::new(),
            gateways,
            wallet: Wallet::from_jwk(WALLET).unwrap(),
            initial_backoff_secs: 2,
            max_backoff_secs: 60,
            confirm_attempts: 5,
        };

        // The gateway is down: the item stays pending, with the reason, and
        // waits out a backoff.
        let down = uploader(vec![dead_gateway()]);
        assert_eq!(
            down.drain_once(t).await.unwrap(),
            DrainReport { retrying: 1, ..Default::default() }
        );
        let entry = store.outbox_entry(&id).await.unwrap().unwrap();
        assert_eq!((entry.state.as_str(), entry.attempts), ("pending", 1));
        assert_eq!(down.drain_once(t + 1).await.unwrap(), DrainReport::default(), "backing off");

        // Back up (as the second gateway): posted, but not yet confirmed.
        let up = uploader(vec![dead_gateway(), Gateway::new(node.url().parse().unwrap())]);
        assert_eq!(
            up.drain_once(t + 10).await.unwrap(),
            DrainReport { posted: 1, ..Default::default() }
        );
        let up = uploader(vec![Gateway::new(node.url().parse().unwrap())]);
        assert_eq!(
            up.drain_once(t + 10).await.unwrap(),
            DrainReport { retrying: 1, ..Default::default() },
            "not mined yet"
        );
        assert_eq!(store.outbox_entry(&id).await.unwrap().unwrap().state, "posted");

        node.mine();
        assert_eq!(
            up.drain_once(t + 100).await.unwrap(),
            DrainReport { confirmed: 1, ..Default::default() }
        );
        assert_eq!(store.outbox_entry(&id).await.unwrap().unwrap().state, "confirmed");
        assert_eq!(up.drain_once(t + 1_000).await.unwrap(), DrainReport::default(), "nothing left");
        up.gateways[0].confirm(&receipt.item).await.unwrap();
    }
    stores.cleanup().await;
}
