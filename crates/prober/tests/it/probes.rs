//! One probe of each kind of endpoint, and how its failure is classified.

use std::time::Duration;

use alloy_primitives::Address;
use cairn_prober::ErrorKind;
use cairn_test_utils::{DEV_KEY_1, DEV_KEY_2, Fault, FaultyRpc, address_of, anvil, free_port};

use crate::{client, rpc, target};

const ANVIL: &str = "eip155:31337";

fn operator() -> Address {
    address_of(DEV_KEY_1)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_healthy_node_reports_its_tip() {
    let node = anvil();
    rpc(&node.endpoint(), "anvil_mine", serde_json::json!([3])).await;
    let probed = client(3_000).probe(&target(&node.endpoint(), ANVIL, operator())).await;
    let seen = probed.outcome.expect("a healthy node passes");
    assert_eq!(seen.tip, 3);
    let block =
        rpc(&node.endpoint(), "eth_getBlockByNumber", serde_json::json!(["0x3", false])).await;
    assert_eq!(format!("{:#x}", seen.tip_hash), block["hash"].as_str().unwrap());
    assert_eq!(seen.verified, None, "anvil signs nothing");
    assert!(probed.latency_ms.unwrap() < 2_000);
}

#[tokio::test]
async fn a_dead_port_is_a_connect_failure() {
    let url = format!("http://127.0.0.1:{}", free_port());
    let probed = client(2_000).probe(&target(&url, ANVIL, operator())).await;
    let failure = probed.outcome.unwrap_err();
    assert_eq!(failure.kind, ErrorKind::Connect, "{failure}");
    assert_eq!(probed.latency_ms, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_on_another_chain_is_refused() {
    let node = anvil();
    let probed = client(3_000).probe(&target(&node.endpoint(), "eip155:1", operator())).await;
    let failure = probed.outcome.unwrap_err();
    assert_eq!(failure.kind, ErrorKind::WrongChain);
    assert!(failure.message.contains("31337"), "{failure}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_answers_are_measured_and_silent_ones_time_out() {
    let node = anvil();
    let slow =
        FaultyRpc::start(node.endpoint(), |_, _| Fault::Delay(Duration::from_millis(400))).await;
    let probed = client(3_000).probe(&target(&slow.url(), ANVIL, operator())).await;
    assert!(probed.outcome.is_ok(), "{:?}", probed.outcome);
    assert!(probed.latency_ms.unwrap() >= 400, "{probed:?}");

    let silent =
        FaultyRpc::start(node.endpoint(), |_, _| Fault::Stall(Duration::from_secs(30))).await;
    let started = std::time::Instant::now();
    let probed = client(300).probe(&target(&silent.url(), ANVIL, operator())).await;
    assert_eq!(probed.outcome.unwrap_err().kind, ErrorKind::Timeout);
    assert!(started.elapsed() < Duration::from_secs(5), "the timeout bounds the probe");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_answers_are_classified_by_kind() {
    let node = anvil();
    let cases = [
        (Fault::Status(503), ErrorKind::HttpStatus),
        (Fault::TooManyResults, ErrorKind::JsonRpc),
        (Fault::Truncate, ErrorKind::BadBody),
    ];
    for (fault, kind) in cases {
        // The chain id passes; the block request meets the fault.
        let proxy = FaultyRpc::start(node.endpoint(), move |method, _| {
            if method == "eth_getBlockByNumber" { fault } else { Fault::Pass }
        })
        .await;
        let probed = client(3_000).probe(&target(&proxy.url(), ANVIL, operator())).await;
        let failure = probed.outcome.unwrap_err();
        assert_eq!(failure.kind, kind, "{fault:?}: {failure}");
        assert_eq!(proxy.injected(fault), 1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_signed_by_the_operator_verify_and_others_fail() {
    let node = anvil();
    let sidecar =
        FaultyRpc::start_signing(node.endpoint(), ANVIL, DEV_KEY_1, |_, _| Fault::Pass).await;
    let probed = client(3_000).probe(&target(&sidecar.url(), ANVIL, operator())).await;
    assert_eq!(probed.outcome.as_ref().map(|s| s.verified), Ok(Some(true)), "{probed:?}");
    assert_eq!(probed.verified, Some(true));

    let impostor =
        FaultyRpc::start_signing(node.endpoint(), ANVIL, DEV_KEY_2, |_, _| Fault::Pass).await;
    let probed = client(3_000).probe(&target(&impostor.url(), ANVIL, operator())).await;
    let failure = probed.outcome.unwrap_err();
    assert_eq!(failure.kind, ErrorKind::BadSignature);
    assert!(failure.message.contains(&address_of(DEV_KEY_2).to_string()), "{failure}");
    assert_eq!(probed.verified, Some(false));

    // A header that is not one is refused, not ignored.
    let garbled =
        FaultyRpc::start(node.endpoint(), |_, _| Fault::AnswerHeader("v1; sig=0x00")).await;
    let probed = client(3_000).probe(&target(&garbled.url(), ANVIL, operator())).await;
    let failure = probed.outcome.unwrap_err();
    assert_eq!(failure.kind, ErrorKind::BadSignature, "{failure}");
    assert!(failure.message.contains("malformed"), "{failure}");

    // A signature made for another chain does not count for this one.
    let elsewhere =
        FaultyRpc::start_signing(node.endpoint(), "eip155:5", DEV_KEY_1, |_, _| Fault::Pass).await;
    let probed = client(3_000).probe(&target(&elsewhere.url(), ANVIL, operator())).await;
    assert_eq!(probed.outcome.unwrap_err().kind, ErrorKind::BadSignature);
}
