//! WebSocket pass-through (`GET /` with an upgrade), for `eth_subscribe`
//! when the node has a WebSocket endpoint (`--upstream-ws`).
//!
//! Each client connection gets a connection of its own to the node. The
//! answer to every call is signed as over HTTP; the signature travels in
//! the answer's [`crate::WS_ANSWER_FIELD`] member (a frame has no headers),
//! which the canonical response leaves out, so it verifies as the header
//! does. Subscription pushes (`eth_subscription`) are relayed unsigned:
//! they answer no request, and signing them under any one request would
//! make two honest pushes in one block (two logs, say) look like two
//! conflicting answers. A client that needs proof of a push reads it again
//! with a call, which is signed.

use std::{collections::HashMap, time::Duration};

use axum::{
    Json,
    extract::{
        State, WebSocketUpgrade,
        ws::{CloseFrame, Message, WebSocket, rejection::WebSocketUpgradeRejection},
    },
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};
use cairn_core::ChainId;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message as NodeMessage;

use crate::{
    SidecarError, SidecarState, WS_ANSWER_FIELD,
    error::{Refusal, Refused, shown},
    proxy::{check_request, id_of, sign},
    upstream::parse_quantity,
};

type NodeSocket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// WebSocket close code for "the server cannot go on" (RFC 6455, 1011).
const INTERNAL_ERROR: u16 = 1011;

/// Calls one connection may have waiting for the node; each is held until
/// its answer is signed, so a client cannot make the sidecar hold more.
const MAX_PENDING: usize = 1024;

async fn connect(url: &url::Url) -> Result<NodeSocket, String> {
    tokio_tungstenite::connect_async(url.as_str())
        .await
        .map(|(socket, _)| socket)
        .map_err(|e| e.to_string())
}

/// Refuses a WebSocket endpoint on another chain than `chain`, as the HTTP
/// upstream is refused.
pub(crate) async fn check_chain(
    url: &url::Url,
    chain: &ChainId,
    timeout: Duration,
) -> Result<(), SidecarError> {
    let unreachable = |message: String| SidecarError::Unreachable { url: shown(url), message };
    let expected =
        chain.evm_chain_id().ok_or_else(|| SidecarError::UnsupportedChain(chain.clone()))?;
    let ask = async {
        let mut socket = connect(url).await?;
        let request = json!({"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []});
        socket.send(NodeMessage::text(request.to_string())).await.map_err(|e| e.to_string())?;
        while let Some(message) = socket.next().await {
            if let NodeMessage::Text(text) = message.map_err(|e| e.to_string())? {
                let answer: Value = serde_json::from_str(text.as_str())
                    .map_err(|e| format!("eth_chainId: the answer is not JSON ({e})"))?;
                if answer.get("id") == Some(&json!(1)) {
                    let _ = socket.close(None).await;
                    return Ok(answer);
                }
            }
        }
        Err("the node closed the WebSocket before answering eth_chainId".to_owned())
    };
    let answer = tokio::time::timeout(timeout, ask)
        .await
        .map_err(|_| unreachable("eth_chainId: no answer in time".into()))?
        .map_err(unreachable)?;
    let actual =
        answer.get("result").and_then(Value::as_str).and_then(parse_quantity).ok_or_else(|| {
            SidecarError::BadUpstreamAnswer {
                url: shown(url),
                method: "eth_chainId",
                message: format!("{answer} has no hex quantity as its result"),
            }
        })?;
    if actual != expected {
        return Err(SidecarError::WrongChain {
            url: shown(url),
            expected: chain.clone(),
            actual: ChainId::eip155(actual),
        });
    }
    Ok(())
}

pub(crate) async fn upgrade(
    State(state): State<SidecarState>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let Ok(upgrade) = upgrade else {
        return (
            StatusCode::METHOD_NOT_ALLOWED,
            [(header::ALLOW, "POST")],
            Json(json!({
                "reason": "post_json_rpc",
                "detail": "POST JSON-RPC requests to this URL, or open a WebSocket",
            })),
        )
            .into_response();
    };
    let Some(url) = state.0.config.upstream_ws.clone() else {
        return (
            StatusCode::NOT_IMPLEMENTED,
            Json(json!({
                "reason": "no_websocket_upstream",
                "detail": "this sidecar has no WebSocket upstream (--upstream-ws)",
            })),
        )
            .into_response();
    };
    let limit = state.0.config.max_request_bytes;
    upgrade
        .max_message_size(limit)
        .max_frame_size(limit)
        .on_upgrade(move |socket| session(state, url, socket))
}

fn close(reason: &'static str) -> Message {
    Message::Close(Some(CloseFrame { code: INTERNAL_ERROR, reason: reason.into() }))
}

async fn session(state: SidecarState, url: url::Url, mut client: WebSocket) {
    let node = match connect(&url).await {
        Ok(node) => node,
        Err(error) => {
            tracing::warn!(%error, "cannot open the upstream WebSocket");
            let _ = client.send(close("upstream node unavailable")).await;
            return;
        }
    };
    let (mut to_node, mut from_node) = node.split();
    // Calls sent and not yet answered, by id: their answers get signed.
    let mut pending: HashMap<String, Value> = HashMap::new();
    loop {
        tokio::select! {
            message = client.recv() => {
                let text = match message {
                    Some(Ok(Message::Text(text))) => text,
                    Some(Ok(Message::Binary(_))) => {
                        let refusal = Refusal::Parse("binary frames are not JSON-RPC text".into());
                        let refused = Refused { id: Value::Null, refusal };
                        state.0.metrics.request("none", refused.refusal.reason());
                        if client.send(Message::text(refused.body().to_string())).await.is_err() {
                            break;
                        }
                        continue;
                    }
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                    _ => break,
                };
                match admit(&state, text.as_str(), &pending) {
                    Ok((key, request)) => {
                        if to_node.send(NodeMessage::text(text.as_str())).await.is_err() {
                            let _ = client.send(close("upstream node closed the connection")).await;
                            break;
                        }
                        pending.insert(key, request);
                    }
                    Err((refused, method)) => {
                        state.0.metrics.request(&method, refused.refusal.reason());
                        if client.send(Message::text(refused.body().to_string())).await.is_err() {
                            break;
                        }
                    }
                }
            }
            message = from_node.next() => {
                let text = match message {
                    Some(Ok(NodeMessage::Text(text))) => text,
                    Some(Ok(NodeMessage::Close(_))) | Some(Err(_)) | None => {
                        let _ = client.send(close("upstream node closed the connection")).await;
                        break;
                    }
                    Some(Ok(_)) => continue,
                };
                let out = relay(&state, text.as_str(), &mut pending).await;
                if client.send(Message::text(out)).await.is_err() {
                    break;
                }
            }
        }
    }
    let _ = to_node.close().await;
}

/// Checks a client's frame before the node sees it; a call goes in
/// `pending` under its id.
fn admit(
    state: &SidecarState,
    text: &str,
    pending: &HashMap<String, Value>,
) -> Result<(String, Value), (Refused, String)> {
    let request: Value = serde_json::from_str(text).map_err(|e| {
        (Refused { id: Value::Null, refusal: Refusal::Parse(e.to_string()) }, "none".to_owned())
    })?;
    let id = id_of(&request);
    let method = request.get("method").and_then(Value::as_str).unwrap_or("none").to_owned();
    let refuse = |refusal| (Refused { id: id.clone(), refusal }, method.clone());
    if request.is_array() {
        return Err(refuse(Refusal::Invalid(
            "batches are served over HTTP; send calls one at a time on a WebSocket".into(),
        )));
    }
    check_request(&state.0.config, &request).map_err(refuse)?;
    if pending.len() >= MAX_PENDING {
        return Err(refuse(Refusal::Invalid(format!(
            "{MAX_PENDING} calls are already waiting for their answers on this connection"
        ))));
    }
    let key = id.to_string();
    if pending.contains_key(&key) {
        return Err(refuse(Refusal::Invalid(
            "a call with this id is still waiting for its answer".into(),
        )));
    }
    Ok((key, request))
}

/// A frame from the node as the client gets it: an answer to a pending
/// call signed, anything else as it came.
async fn relay(state: &SidecarState, text: &str, pending: &mut HashMap<String, Value>) -> String {
    let Ok(mut answer) = serde_json::from_str::<Value>(text) else {
        return text.to_owned();
    };
    let request = match answer.get("id") {
        Some(id) if !id.is_null() => pending.remove(&id.to_string()),
        _ => None,
    };
    let Some(request) = request else {
        return text.to_owned();
    };
    let method = request.get("method").and_then(Value::as_str).unwrap_or("none");
    let outcome = if answer.get("error").is_some() { "rpc_error" } else { "ok" };
    match sign(state, &request, &answer).await {
        Ok(header) => {
            state.0.metrics.request(method, outcome);
            if let Value::Object(fields) = &mut answer {
                fields.insert(WS_ANSWER_FIELD.to_owned(), Value::String(header));
            }
            answer.to_string()
        }
        Err(refusal) => {
            state.0.metrics.request(method, refusal.reason());
            Refused { id: id_of(&request), refusal }.body().to_string()
        }
    }
}
