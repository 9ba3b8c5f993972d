//! Startup refuses a node it must not sign for.

use cairn_sidecar::{SidecarError, SidecarState};
use cairn_test_utils::{anvil, free_port};

use crate::support::{ANVIL_CHAIN, config};

#[tokio::test]
async fn a_node_on_another_chain_is_refused_at_startup() {
    let anvil = anvil();
    let error = SidecarState::connect(config(&anvil.endpoint(), "eip155:1"))
        .await
        .expect_err("anvil serves 31337, not 1");
    match &error {
        SidecarError::WrongChain { expected, actual, .. } => {
            assert_eq!(expected.to_string(), "eip155:1");
            assert_eq!(actual.to_string(), ANVIL_CHAIN);
        }
        other => panic!("expected WrongChain, got {other:?}"),
    }
    let message = error.to_string();
    assert!(message.contains("eip155:1") && message.contains(ANVIL_CHAIN), "{message}");

    // `run` checks before it listens.
    let mut config = config(&anvil.endpoint(), "eip155:10");
    let port = free_port();
    config.listen = ([127, 0, 0, 1], port).into();
    let error = cairn_sidecar::run(config).await.expect_err("wrong chain");
    assert!(matches!(error, SidecarError::WrongChain { .. }), "{error:?}");
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err(), "nothing listens");
}

#[tokio::test]
async fn a_node_that_cannot_be_asked_is_refused_at_startup() {
    let url = format!("http://127.0.0.1:{}", free_port());
    let error = SidecarState::connect(config(&url, ANVIL_CHAIN)).await.expect_err("nothing there");
    assert!(matches!(error, SidecarError::Unreachable { .. }), "{error:?}");
    assert!(error.to_string().contains("eth_chainId"), "{error}");
}

#[tokio::test]
async fn chains_and_schemes_the_sidecar_cannot_serve_are_refused() {
    let anvil = anvil();
    let solana = "solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp";
    let error =
        SidecarState::connect(config(&anvil.endpoint(), solana)).await.expect_err("EVM only");
    assert!(matches!(error, SidecarError::UnsupportedChain(_)), "{error:?}");

    let ws = anvil.endpoint().replace("http://", "ws://");
    let error = SidecarState::connect(config(&ws, ANVIL_CHAIN)).await.expect_err("http only");
    assert!(matches!(error, SidecarError::UpstreamScheme(_)), "{error:?}");
}
