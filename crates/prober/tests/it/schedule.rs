//! `Prober::run`: rounds repeat every interval, and shutdown is not held
//! up by a probe waiting for a silent endpoint.

use std::time::{Duration, Instant};

use alloy_primitives::{B256, U256};
use cairn_config::ProberConfig;
use cairn_prober::{Prober, Registry, Settings};
use cairn_store::ChainEvent;
use cairn_test_utils::{DEV_KEY_1, Fault, FaultyRpc, address_of, anvil, index_event};

const REGISTRY: &str = "eip155:31337";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rounds_repeat_until_shutdown_even_mid_probe() {
    let node = anvil();
    let silent = FaultyRpc::start(node.endpoint(), |method, n| {
        // Answers the first round, then goes silent.
        if method == "eth_chainId" && n > 0 {
            Fault::Stall(Duration::from_secs(60))
        } else {
            Fault::Pass
        }
    })
    .await;
    let stores = cairn_test_utils::stores().await;
    let store = &stores.sqlite;
    let provider = format!("{:#x}", alloy_primitives::Address::with_last_byte(1));
    let registered = ChainEvent::ProviderRegistered {
        provider: provider.clone(),
        operator: format!("{:#x}", address_of(DEV_KEY_1)),
        stake: U256::from(1),
    };
    index_event(store, REGISTRY, registered).await;
    for (id, url) in [(1, node.endpoint()), (2, silent.url())] {
        let added = ChainEvent::ServiceAdded {
            service_id: B256::with_last_byte(id),
            provider: provider.clone(),
            service_chain: REGISTRY.into(),
            service_kind: "rpc".into(),
            url,
            metadata_hash: B256::ZERO,
        };
        index_event(store, REGISTRY, added).await;
    }
    let settings = Settings::from_config(&ProberConfig {
        interval_ms: 50,
        jitter_ms: 20,
        timeout_ms: 60_000,
        ..ProberConfig::default()
    })
    .unwrap();
    let registry = Registry { chain: REGISTRY.into(), min_stake: U256::from(1) };
    let prober = Prober::new(store.clone(), vec![registry], settings);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(prober.run(async {
        let _ = stopped.await;
    }));

    // The first round finishes; the second waits on the silent endpoint.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let probed = store.endpoint_health(REGISTRY, &B256::with_last_byte(1)).await.unwrap();
        if probed.is_some_and(|h| h.probes >= 1) {
            break;
        }
        assert!(Instant::now() < deadline, "no round finished");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(silent.injected(Fault::Stall(Duration::from_secs(60))) >= 1, "a later round ran");

    let asked = Instant::now();
    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(2), running)
        .await
        .expect("shutdown does not wait for the stalled probe")
        .unwrap();
    assert!(asked.elapsed() < Duration::from_secs(2));
    // The interrupted round recorded nothing half done.
    let first = store.endpoint_health(REGISTRY, &B256::with_last_byte(1)).await.unwrap().unwrap();
    assert_eq!(first.probes, 1, "{first:?}");
    stores.cleanup().await;
}
