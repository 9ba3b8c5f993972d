//! Bodies the sidecar refuses itself: each gets a JSON-RPC error with a
//! documented code, no signature, and never reaches the node.

use cairn_sidecar::codes;
use cairn_test_utils::{Fault, FaultyRpc, anvil};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::{ANVIL_CHAIN, config, post, post_bytes, serve};

/// Requests that reached the node, other than the sidecar's own reads.
fn forwarded(proxy: &FaultyRpc) -> u64 {
    proxy.requests() - proxy.requests_of("eth_getBlockByNumber") - proxy.requests_of("eth_chainId")
}

#[tokio::test]
async fn bad_bodies_are_refused_with_their_codes_before_the_node_sees_them() {
    let anvil = anvil();
    let proxy = FaultyRpc::start(anvil.endpoint(), |_, _| Fault::Pass).await;
    let mut config = config(&proxy.url(), ANVIL_CHAIN);
    config.max_request_bytes = 1024;
    config.max_batch = 3;
    let sidecar = serve(config).await;
    let call = |id: u64| json!({"jsonrpc": "2.0", "id": id, "method": "eth_blockNumber"});

    let cases: Vec<(&str, Vec<u8>, u16, i64)> = vec![
        ("not JSON", b"eth_blockNumber please".to_vec(), 400, codes::PARSE_ERROR),
        ("cut-off JSON", br#"{"jsonrpc":"2.0","id":1,"method""#.to_vec(), 400, codes::PARSE_ERROR),
        ("empty batch", b"[]".to_vec(), 400, codes::INVALID_REQUEST),
        ("a number", b"42".to_vec(), 400, codes::INVALID_REQUEST),
        ("no method", br#"{"jsonrpc":"2.0","id":1}"#.to_vec(), 400, codes::INVALID_REQUEST),
        (
            "a notification",
            br#"{"jsonrpc":"2.0","method":"eth_blockNumber"}"#.to_vec(),
            400,
            codes::INVALID_REQUEST,
        ),
        (
            "a notification in a batch",
            json!([call(1), {"jsonrpc": "2.0", "method": "eth_chainId"}]).to_string().into_bytes(),
            400,
            codes::INVALID_REQUEST,
        ),
        (
            "ids repeated in a batch",
            json!([call(1), call(1)]).to_string().into_bytes(),
            400,
            codes::INVALID_REQUEST,
        ),
        (
            "a batch over the limit",
            json!([call(1), call(2), call(3), call(4)]).to_string().into_bytes(),
            413,
            codes::BATCH_TOO_LARGE,
        ),
        (
            "a body over the size limit",
            json!({"jsonrpc": "2.0", "id": 1, "method": "eth_call", "params": ["x".repeat(2000)]})
                .to_string()
                .into_bytes(),
            413,
            codes::REQUEST_TOO_LARGE,
        ),
    ];
    for (what, body, status, code) in cases {
        let answer = post_bytes(&sidecar.url, body).await;
        assert_eq!(answer.status, status, "{what}: {answer:?}");
        assert_eq!(answer.refusal_code(), code, "{what}: {answer:?}");
        assert!(answer.body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
    assert_eq!(forwarded(&proxy), 0, "a refused body reached the node");

    // The limits leave room for what is allowed.
    let answer = post(&sidecar.url, &json!([call(1), call(2), call(3)])).await;
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(forwarded(&proxy), 1);
}

#[tokio::test]
async fn a_chunked_body_over_the_limit_is_cut_off_without_a_declared_length() {
    let anvil = anvil();
    let mut config = config(&anvil.endpoint(), ANVIL_CHAIN);
    config.max_request_bytes = 1024;
    let sidecar = serve(config).await;
    let address = sidecar.url.trim_start_matches("http://").to_owned();
    let mut stream = tokio::net::TcpStream::connect(&address).await.expect("connect");
    let chunk = format!(
        r#"{{"jsonrpc":"2.0","id":1,"method":"eth_call","params":["{}"]}}"#,
        "y".repeat(4000)
    );
    let request = format!(
        "POST / HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\n\
         Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n{:x}\r\n{chunk}\r\n0\r\n\r\n",
        chunk.len()
    );
    stream.write_all(request.as_bytes()).await.expect("send");
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response).await;
    let response = String::from_utf8_lossy(&response);
    assert!(response.starts_with("HTTP/1.1 413"), "{response}");
    assert!(response.contains(&codes::REQUEST_TOO_LARGE.to_string()), "{response}");
}
