//! Endpoint health rows on both backends: written, read back field for
//! field, selected by registry and by served chain, and updated in one
//! transaction so concurrent probes of one endpoint all count.

use alloy_primitives::B256;
use cairn_store::{EndpointHealth, Store};
use cairn_test_utils::stores as backends;

const REGISTRY: &str = "eip155:31337";

fn probed(service: u8, service_chain: &str) -> EndpointHealth {
    EndpointHealth {
        chain: REGISTRY.into(),
        service_id: B256::repeat_byte(service),
        service_chain: service_chain.into(),
        provider: "0x70997970c51812dc3a010c7d01b50e0d17dc79c8".into(),
        url: format!("http://127.0.0.1:{}", 8000 + u16::from(service)),
        probes: 7,
        successes: 5,
        consecutive_failures: 2,
        consecutive_successes: 0,
        success_weight: 4.25,
        total_weight: 6.5,
        probation: true,
        verified: Some(false),
        latency_ms: Some(12),
        tip: Some(1_234),
        tip_hash: Some(B256::repeat_byte(0xab)),
        tip_lag: Some(3),
        last_error_kind: Some("timeout".into()),
        last_error: Some("no answer within 300 ms".into()),
        last_probe_at: 1_764_000_000_123,
        last_success_at: Some(1_764_000_000_000),
    }
}

fn never_answered(service: u8) -> EndpointHealth {
    EndpointHealth {
        probes: 1,
        successes: 0,
        success_weight: 0.0,
        total_weight: 1.0,
        probation: false,
        verified: None,
        latency_ms: None,
        tip: None,
        tip_hash: None,
        tip_lag: None,
        last_success_at: None,
        ..probed(service, "eip155:1")
    }
}

async fn rows_read_back_as_written(store: &Store) {
    let a = probed(1, "eip155:1");
    let b = never_answered(2);
    let c = probed(3, "eip155:10");
    for row in [&a, &b, &c] {
        store.put_health(row).await.unwrap();
    }
    assert_eq!(store.endpoint_health(REGISTRY, &a.service_id).await.unwrap(), Some(a.clone()));
    assert_eq!(store.endpoint_health(REGISTRY, &b.service_id).await.unwrap(), Some(b.clone()));
    assert_eq!(store.endpoint_health("eip155:1", &a.service_id).await.unwrap(), None);
    assert_eq!(store.health(REGISTRY).await.unwrap(), vec![a.clone(), b.clone(), c.clone()]);
    assert!(store.health("eip155:5").await.unwrap().is_empty());
    assert_eq!(store.health_for_chain("eip155:1").await.unwrap(), vec![a.clone(), b.clone()]);
    assert_eq!(store.health_for_chain("eip155:10").await.unwrap(), vec![c.clone()]);

    // A second write replaces every field.
    let recovered = EndpointHealth {
        probes: 8,
        consecutive_failures: 0,
        consecutive_successes: 1,
        probation: false,
        verified: Some(true),
        last_error_kind: None,
        last_error: None,
        ..a.clone()
    };
    store.put_health(&recovered).await.unwrap();
    assert_eq!(store.endpoint_health(REGISTRY, &a.service_id).await.unwrap(), Some(recovered));

    let broken = EndpointHealth { total_weight: f64::NAN, ..c.clone() };
    assert!(store.put_health(&broken).await.is_err(), "a NaN weight is refused");
    assert_eq!(store.endpoint_health(REGISTRY, &c.service_id).await.unwrap(), Some(c));
}

async fn updates_see_the_row_before_them(store: &Store) {
    let id = B256::repeat_byte(9);
    let first = store
        .update_health(REGISTRY, &id, |old| {
            assert_eq!(old, None, "nothing stored yet");
            EndpointHealth { service_id: id, ..never_answered(9) }
        })
        .await
        .unwrap();
    assert_eq!(first.probes, 1);
    // Concurrent updates are serialised: each sees the one before it.
    let mut updates = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let store = store.clone();
        updates.spawn(async move {
            store
                .update_health(REGISTRY, &id, |old| {
                    let old = old.expect("the first update wrote a row");
                    EndpointHealth { probes: old.probes + 1, ..old }
                })
                .await
        });
    }
    while let Some(result) = updates.join_next().await {
        result.unwrap().unwrap();
    }
    let stored = store.endpoint_health(REGISTRY, &id).await.unwrap().unwrap();
    assert_eq!(stored.probes, 9, "no update was lost");

    let moved = store
        .update_health(REGISTRY, &id, |old| EndpointHealth {
            service_id: B256::repeat_byte(10),
            ..old.unwrap()
        })
        .await;
    assert!(moved.is_err(), "an update may not change the key");
    assert_eq!(store.endpoint_health(REGISTRY, &id).await.unwrap().unwrap().probes, 9);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endpoint_health_on_both_backends() {
    let stores = backends().await;
    for store in stores.both() {
        rows_read_back_as_written(store).await;
        updates_see_the_row_before_them(store).await;
    }
    stores.cleanup().await;
}
