//! Rounds over the endpoints registered in a store: who is probed, the
//! cross-check, tip lag, probation, and the rows both backends keep.

use std::time::Duration;

use alloy_primitives::{Address, B256, U256};
use cairn_config::ProberConfig;
use cairn_prober::{Prober, Registry, Settings};
use cairn_store::{ChainEvent, Store};
use cairn_test_utils::{
    DEV_KEY_1, DEV_KEY_2, DEV_KEY_3, Fault, FaultyRpc, address_of, anvil, free_port, index_event,
};
use serde_json::json;

use crate::rpc;

const REGISTRY: &str = "eip155:31337";
const MIN_STAKE: u64 = 100;

fn provider(n: u8) -> Address {
    Address::with_last_byte(n)
}

async fn register(store: &Store, n: u8, operator: Address, stake: u64) {
    let event = ChainEvent::ProviderRegistered {
        provider: format!("{:#x}", provider(n)),
        operator: format!("{operator:#x}"),
        stake: U256::from(stake),
    };
    index_event(store, REGISTRY, event).await;
}

async fn add_endpoint(store: &Store, n: u8, id: u8, kind: &str, url: &str) -> B256 {
    let service_id = B256::with_last_byte(id);
    let event = ChainEvent::ServiceAdded {
        service_id,
        provider: format!("{:#x}", provider(n)),
        service_chain: REGISTRY.into(),
        service_kind: kind.into(),
        url: url.into(),
        metadata_hash: B256::ZERO,
    };
    index_event(store, REGISTRY, event).await;
    service_id
}

fn settings() -> Settings {
    Settings::from_config(&ProberConfig {
        jitter_ms: 0,
        timeout_ms: 2_000,
        probation_after_failures: 2,
        probation_exit_successes: 2,
        cross_check_depth: 2,
        ..ProberConfig::default()
    })
    .unwrap()
}

/// The endpoints of one test: what each should measure.
struct Endpoints {
    honest: B256,
    signed: B256,
    slow: B256,
    forked: B256,
    dead: B256,
    behind: B256,
}

async fn endpoints(store: &Store, urls: &Urls) -> Endpoints {
    for (n, operator, stake) in [
        (1, address_of(DEV_KEY_1), 500),
        (2, address_of(DEV_KEY_2), 500),
        (3, address_of(DEV_KEY_3), 500),
        (4, address_of(DEV_KEY_1), 500),
        (5, address_of(DEV_KEY_1), 500),
        (6, address_of(DEV_KEY_1), 500),
        (7, address_of(DEV_KEY_1), MIN_STAKE - 1),
    ] {
        register(store, n, operator, stake).await;
    }
    let out = Endpoints {
        honest: add_endpoint(store, 1, 1, "rpc", &urls.honest).await,
        signed: add_endpoint(store, 2, 2, "rpc", &urls.signed).await,
        slow: add_endpoint(store, 3, 3, "archive", &urls.slow).await,
        forked: add_endpoint(store, 4, 4, "rpc", &urls.forked).await,
        dead: add_endpoint(store, 5, 5, "rpc", &urls.dead).await,
        behind: add_endpoint(store, 6, 6, "rpc", &urls.behind).await,
    };
    // Not probed: a WebSocket URL, a kind that is not JSON-RPC, a provider
    // below the minimum stake.
    add_endpoint(store, 1, 10, "rpc", "wss://p1.example").await;
    add_endpoint(store, 1, 11, "ipfs", &urls.honest).await;
    add_endpoint(store, 7, 12, "rpc", &urls.honest).await;
    out
}

struct Urls {
    honest: String,
    signed: String,
    slow: String,
    forked: String,
    dead: String,
    behind: String,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rounds_record_what_each_endpoint_did_on_both_backends() {
    let main = anvil();
    rpc(&main.endpoint(), "anvil_mine", json!([5])).await;
    // Another history of the same chain id and height: its blocks differ.
    let fork = anvil();
    rpc(&fork.endpoint(), "evm_increaseTime", json!([1_000])).await;
    rpc(&fork.endpoint(), "anvil_mine", json!([5])).await;
    let behind = anvil();
    rpc(&behind.endpoint(), "anvil_mine", json!([2])).await;
    let sidecar =
        FaultyRpc::start_signing(main.endpoint(), REGISTRY, DEV_KEY_2, |_, _| Fault::Pass).await;
    let slow =
        FaultyRpc::start(main.endpoint(), |_, _| Fault::Delay(Duration::from_millis(300))).await;
    let urls = Urls {
        honest: main.endpoint(),
        signed: sidecar.url(),
        slow: slow.url(),
        forked: fork.endpoint(),
        dead: format!("http://127.0.0.1:{}", free_port()),
        behind: behind.endpoint(),
    };

    let stores = cairn_test_utils::stores().await;
    for store in stores.both() {
        let ids = endpoints(store, &urls).await;
        let registry = Registry { chain: REGISTRY.into(), min_stake: U256::from(MIN_STAKE) };
        let prober = Prober::new(store.clone(), vec![registry], settings());
        let targets = prober.targets().await.unwrap();
        assert_eq!(targets.len(), 6, "{targets:?}");

        let first = prober.round().await.unwrap();
        assert_eq!(first.len(), 6);
        let row =
            |id: B256| first.iter().find(|e| e.target.service_id == id).unwrap().health.clone();
        let honest = row(ids.honest);
        assert_eq!((honest.probes, honest.successes), (1, 1));
        assert_eq!((honest.tip, honest.tip_lag, honest.verified), (Some(5), Some(0), None));
        assert_eq!(honest.last_error_kind, None);
        assert!(!honest.probation);
        assert_eq!(row(ids.signed).verified, Some(true));
        assert!(row(ids.slow).latency_ms.unwrap() >= 300);
        let forked = row(ids.forked);
        assert_eq!(forked.last_error_kind.as_deref(), Some("hash_mismatch"), "{forked:?}");
        assert!(forked.last_error.as_deref().unwrap().contains("block 3"), "{forked:?}");
        assert_eq!(row(ids.dead).last_error_kind.as_deref(), Some("connect"));
        let late = row(ids.behind);
        assert_eq!((late.tip, late.tip_lag, late.last_error_kind), (Some(2), Some(3), None));

        // What the round returned is what the store holds.
        let stored = store.health(REGISTRY).await.unwrap();
        assert_eq!(stored.len(), 6);
        for entry in &first {
            assert!(stored.contains(&entry.health), "{:?}", entry.health);
        }
        assert_eq!(store.health_for_chain(REGISTRY).await.unwrap(), stored);

        // A second failure in a row puts the failing ones on probation.
        prober.round().await.unwrap();
        for (id, probation, successes) in [
            (ids.honest, false, 2),
            (ids.signed, false, 2),
            (ids.slow, false, 2),
            (ids.behind, false, 2),
            (ids.forked, true, 0),
            (ids.dead, true, 0),
        ] {
            let row = store.endpoint_health(REGISTRY, &id).await.unwrap().unwrap();
            assert_eq!(row.probes, 2);
            assert_eq!((row.probation, row.successes), (probation, successes), "{row:?}");
            let score = row.success_weight / row.total_weight;
            assert!((score - if probation { 0.0 } else { 1.0 }).abs() < 1e-9, "{row:?}");
        }
    }
    stores.cleanup().await;
}

#[test]
fn settings_below_their_minimum_are_refused() {
    for (config, key) in [
        (ProberConfig { timeout_ms: 0, ..ProberConfig::default() }, "timeout_ms"),
        (ProberConfig { half_life_secs: 0, ..ProberConfig::default() }, "half_life_secs"),
        (
            ProberConfig { probation_exit_successes: 0, ..ProberConfig::default() },
            "probation_exit_successes",
        ),
    ] {
        let error = Settings::from_config(&config).unwrap_err();
        assert!(error.to_string().contains(key), "{error}");
    }
    assert!(Settings::from_config(&ProberConfig::default()).is_ok());
}

/// A node that fails, goes on probation, and comes back: probation ends only
/// after the run of successes the policy asks for, and the score climbs
/// back without forgetting the outage.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recovered_endpoint_leaves_probation_after_a_run_of_successes() {
    let node = anvil();
    let stores = cairn_test_utils::stores().await;
    for store in stores.both() {
        // Down for the first two rounds, then up.
        let flaky = FaultyRpc::start(node.endpoint(), |method, n| {
            if method == "eth_chainId" && n < 2 { Fault::Status(503) } else { Fault::Pass }
        })
        .await;
        register(store, 1, address_of(DEV_KEY_1), 500).await;
        let id = add_endpoint(store, 1, 1, "rpc", &flaky.url()).await;
        let registry = Registry { chain: REGISTRY.into(), min_stake: U256::from(MIN_STAKE) };
        let prober = Prober::new(store.clone(), vec![registry], settings());
        let mut seen = Vec::new();
        for _ in 0..5 {
            prober.round().await.unwrap();
            let row = store.endpoint_health(REGISTRY, &id).await.unwrap().unwrap();
            seen.push((
                row.probation,
                row.last_error_kind.clone(),
                row.success_weight / row.total_weight,
            ));
        }
        let probation: Vec<bool> = seen.iter().map(|s| s.0).collect();
        assert_eq!(probation, [false, true, true, false, false], "{seen:?}");
        assert_eq!(seen[0].1.as_deref(), Some("http_status"));
        assert_eq!(seen[2].1, None, "up again in the third round");
        let scores: Vec<f64> = seen.iter().map(|s| s.2).collect();
        assert!(
            scores[1] == 0.0 && scores[2] > 0.0 && scores[3] > scores[2] && scores[4] > scores[3]
        );
        assert!(scores[4] < 1.0, "the outage still counts: {scores:?}");
    }
    stores.cleanup().await;
}
