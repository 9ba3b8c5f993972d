//! With a WebSocket URL the indexer reads over it and wakes on each new
//! head instead of waiting out its poll interval: here the poll interval is
//! ten minutes, so a deposit reaches the store only through the
//! subscription. On both backends.

use std::{sync::Arc, time::Duration};

use alloy::primitives::U256;
use cairn_config::IndexerConfig;
use cairn_indexer::{Indexer, Metrics};
use cairn_test_utils::{DEV_KEY_1, deposit_dev, stores};

use crate::{CHAIN, address_of, chain};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_heads_over_websocket_wake_the_tip_on_both_backends() {
    let stores = stores().await;
    for store in stores.both() {
        let chain = chain().await;
        let ws_url: url::Url = chain.anvil.ws_endpoint().parse().unwrap();
        let settings = chain
            .settings(0, IndexerConfig { poll_interval_ms: 600_000, ..IndexerConfig::default() });
        let metrics = Arc::new(Metrics::default());
        let mut indexer = Indexer::new(store.clone(), &[ws_url], settings, metrics.clone());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let running = tokio::spawn(async move {
            indexer
                .run(async {
                    let _ = stopped.await;
                })
                .await
        });

        // Caught up over the socket, then idle for the next ten minutes.
        let head = chain.head().await;
        wait_until(|| async {
            store.cursor(CHAIN).await.unwrap().is_some_and(|c| c.block_number >= head)
        })
        .await;
        assert!(metrics.ws_subscriptions.load(std::sync::atomic::Ordering::Relaxed) >= 1);

        deposit_dev(&chain.anvil.endpoint(), &chain.deployment, DEV_KEY_1, U256::from(5u64)).await;
        let (account, asset) = (
            format!("{:#x}", address_of(DEV_KEY_1)),
            format!("{:#x}", chain.deployment.stake_token),
        );
        wait_until(|| async {
            store.balance(CHAIN, &account, &asset).await.unwrap() == U256::from(5u64)
        })
        .await;
        assert!(metrics.ws_heads.load(std::sync::atomic::Ordering::Relaxed) >= 1);
        assert!(metrics.render(CHAIN).contains("cairn_indexer_ws_heads_total"));

        let _ = stop.send(());
        running.await.unwrap().unwrap();
    }
    stores.cleanup().await;
}

/// Polls `done` for up to 30 s (far below the indexer's poll interval).
async fn wait_until<F, Fut>(mut done: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..300 {
        if done().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("not reached within 30 s");
}
