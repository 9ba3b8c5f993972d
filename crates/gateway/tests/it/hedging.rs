use std::time::{Duration, Instant};

use cairn_test_utils::{DEV_KEY_1, DEV_KEY_2, Fault, FaultyRpc, address_of, anvil};
use serde_json::json;

use crate::support::{config, endpoint, gateway, post, status};

async fn slow_and_fast(hedging: bool) -> (Duration, serde_json::Value) {
    let node = anvil();
    let slow =
        FaultyRpc::start(node.endpoint(), |_, _| Fault::Delay(Duration::from_millis(600))).await;
    let fast = FaultyRpc::start(node.endpoint(), |_, _| Fault::Pass).await;
    let mut config = config();
    config.hedging.enabled = hedging;
    config.hedging.initial_delay_ms = 50;
    // The slow endpoint weighs so much more that it is always tried first.
    let mut preferred = endpoint(slow.url(), address_of(DEV_KEY_1));
    preferred.weight = 1e9;
    let mut other = endpoint(fast.url(), address_of(DEV_KEY_2));
    other.weight = 1e-6;
    let (gateway, _) = gateway(config, vec![preferred, other]).await;
    let started = Instant::now();
    for id in 0..3 {
        let answer =
            post(&gateway, &json!({"jsonrpc": "2.0", "id": id, "method": "eth_blockNumber"})).await;
        assert_eq!(answer["result"], "0x0");
    }
    (started.elapsed(), status(&gateway).await["counters"].clone())
}

#[tokio::test]
async fn a_slow_read_is_hedged_to_another_endpoint() {
    let (elapsed, counters) = slow_and_fast(true).await;
    assert!(elapsed < Duration::from_millis(1_200), "three hedged reads took {elapsed:?}");
    assert_eq!(counters["hedges"], 3);
    assert_eq!(counters["hedge_wins"], 3);
}

#[tokio::test]
async fn without_hedging_the_slow_endpoint_sets_the_pace() {
    let (elapsed, counters) = slow_and_fast(false).await;
    assert!(elapsed >= Duration::from_millis(1_800), "three unhedged reads took {elapsed:?}");
    assert_eq!(counters["hedges"], 0);
}

/// The hedge waits for the endpoint's own p95, learnt from its answers:
/// after ten quick answers the slow ones are hedged within milliseconds,
/// not after the 5 s the gateway would wait before it knew the endpoint.
#[tokio::test]
async fn the_hedge_fires_after_the_observed_p95() {
    let node = anvil();
    let turns_slow = FaultyRpc::start(node.endpoint(), |_, n| {
        if n < 10 { Fault::Pass } else { Fault::Delay(Duration::from_secs(3)) }
    })
    .await;
    let fast = FaultyRpc::start(node.endpoint(), |_, _| Fault::Pass).await;
    let mut config = config();
    config.hedging.enabled = true;
    config.hedging.min_samples = 10;
    config.hedging.initial_delay_ms = 5_000;
    let mut preferred = endpoint(turns_slow.url(), address_of(DEV_KEY_1));
    preferred.weight = 1e9;
    let mut other = endpoint(fast.url(), address_of(DEV_KEY_2));
    other.weight = 1e-6;
    let (gateway, _) = gateway(config, vec![preferred, other]).await;
    let call = json!({"jsonrpc": "2.0", "id": 1, "method": "eth_chainId"});
    for _ in 0..10 {
        assert_eq!(post(&gateway, &call).await["result"], "0x7a69");
    }
    assert_eq!(fast.requests(), 0, "quick answers are not hedged");
    let started = Instant::now();
    for _ in 0..3 {
        assert_eq!(post(&gateway, &call).await["result"], "0x7a69");
    }
    assert!(started.elapsed() < Duration::from_secs(1), "took {:?}", started.elapsed());
    assert_eq!(fast.requests(), 3);
    assert_eq!(status(&gateway).await["counters"]["hedge_wins"], 3);
}
