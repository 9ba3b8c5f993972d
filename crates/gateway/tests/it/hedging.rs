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
