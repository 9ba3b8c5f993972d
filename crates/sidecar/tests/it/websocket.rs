//! WebSocket pass-through: calls are signed as over HTTP (in the answer's
//! `cairn_answer` member), subscription pushes are relayed, bad frames are
//! refused, and a WebSocket node on another chain is refused at startup.

use std::time::Duration;

use alloy::node_bindings::Anvil;
use cairn_core::answer::AnswerHeader;
use cairn_sidecar::{SidecarError, SidecarState, WS_ANSWER_FIELD, codes};
use cairn_test_utils::{anvil, anvil_path};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::{connect_async, tungstenite::Message};

use crate::support::{ANVIL_CHAIN, config, operator, quantity, rpc, serve};

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn call(socket: &mut Socket, request: &Value) -> Value {
    socket.send(Message::text(request.to_string())).await.expect("frame sent");
    next(socket).await
}

async fn next(socket: &mut Socket) -> Value {
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(10), socket.next())
            .await
            .expect("a frame within 10 s")
            .expect("the socket stays open")
            .expect("a good frame");
        if let Message::Text(text) = frame {
            return serde_json::from_str(text.as_str()).expect("JSON frame");
        }
    }
}

fn signer(request: &Value, answer: &Value) -> alloy::primitives::Address {
    let header = answer[WS_ANSWER_FIELD].as_str().unwrap_or_else(|| panic!("unsigned: {answer}"));
    AnswerHeader::parse(header)
        .unwrap()
        .signer(&ANVIL_CHAIN.parse().unwrap(), request, answer)
        .expect("the signature recovers")
}

#[tokio::test]
async fn calls_over_a_websocket_are_signed_and_subscriptions_are_relayed() {
    let anvil = anvil();
    let mut config = config(&anvil.endpoint(), ANVIL_CHAIN);
    config.upstream_ws = Some(anvil.ws_endpoint().parse().unwrap());
    let sidecar = serve(config).await;
    let (mut socket, _) =
        connect_async(sidecar.url.replace("http://", "ws://")).await.expect("WebSocket opens");

    let request = json!({"jsonrpc": "2.0", "id": 1, "method": "eth_blockNumber", "params": []});
    let answer = call(&mut socket, &request).await;
    assert_eq!(answer["id"], 1);
    assert_eq!(answer["result"], rpc(&anvil.endpoint(), "eth_blockNumber", json!([])).await);
    assert_eq!(signer(&request, &answer), operator());

    let subscribe =
        json!({"jsonrpc": "2.0", "id": "sub", "method": "eth_subscribe", "params": ["newHeads"]});
    let answer = call(&mut socket, &subscribe).await;
    let subscription = answer["result"].clone();
    assert!(subscription.is_string(), "{answer}");
    assert_eq!(signer(&subscribe, &answer), operator());

    let before = quantity(&rpc(&anvil.endpoint(), "eth_blockNumber", json!([])).await);
    rpc(&anvil.endpoint(), "anvil_mine", json!(["0x1"])).await;
    let push = next(&mut socket).await;
    assert_eq!(push["method"], "eth_subscription", "{push}");
    assert_eq!(push["params"]["subscription"], subscription);
    assert_eq!(quantity(&push["params"]["result"]["number"]), before + 1);
    assert!(push.get(WS_ANSWER_FIELD).is_none(), "pushes answer no request: {push}");

    for (frame, code) in [
        ("not json".to_owned(), codes::PARSE_ERROR),
        (json!([request.clone()]).to_string(), codes::INVALID_REQUEST),
        (json!({"jsonrpc": "2.0", "method": "eth_chainId"}).to_string(), codes::INVALID_REQUEST),
    ] {
        socket.send(Message::text(frame.clone())).await.unwrap();
        let answer = next(&mut socket).await;
        assert_eq!(answer["error"]["code"], code, "{frame}: {answer}");
        assert_eq!(answer["error"]["data"]["source"], "cairn-sidecar");
        assert!(answer.get(WS_ANSWER_FIELD).is_none());
    }
    // The connection still serves after the refusals.
    let answer = call(&mut socket, &request).await;
    assert_eq!(signer(&request, &answer), operator());
}

#[tokio::test]
async fn without_a_websocket_upstream_an_upgrade_is_refused() {
    let anvil = anvil();
    let sidecar = serve(config(&anvil.endpoint(), ANVIL_CHAIN)).await;
    match connect_async(sidecar.url.replace("http://", "ws://")).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 501);
        }
        other => panic!("expected HTTP 501, got {other:?}"),
    }
    let response = reqwest::get(&sidecar.url).await.unwrap();
    assert_eq!(response.status(), 405, "a plain GET is told to POST");
}

#[tokio::test]
async fn a_websocket_node_on_another_chain_is_refused_at_startup() {
    let anvil = anvil();
    let other = Anvil::new().path(anvil_path()).args(["--host", "127.0.0.1"]).chain_id(1).spawn();
    let mut config = config(&anvil.endpoint(), ANVIL_CHAIN);
    config.upstream_ws = Some(other.ws_endpoint().parse().unwrap());
    let error = SidecarState::connect(config).await.expect_err("the ws node serves chain 1");
    match error {
        SidecarError::WrongChain { actual, .. } => assert_eq!(actual.to_string(), "eip155:1"),
        other => panic!("expected WrongChain, got {other:?}"),
    }

    let mut config = crate::support::config(&anvil.endpoint(), ANVIL_CHAIN);
    config.upstream_ws = Some(anvil.endpoint().parse().unwrap());
    let error = SidecarState::connect(config).await.expect_err("http is not a WebSocket URL");
    assert!(matches!(error, SidecarError::UpstreamWsScheme(_)), "{error:?}");
}
