//! A JSON-RPC proxy on loopback that forwards to a real node but answers
//! some requests badly, as real providers do: HTTP 429 and 503, no answer,
//! a cut-off body, an empty log list where there are logs, a refusal of
//! a log range as too large, a batch answered out of order, a result
//! altered (a lying node behind an honest signer), or a slow answer. It can
//! also sign what it passes on as a provider's sidecar does (`cairn-answer`).

use std::{
    collections::HashMap,
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use alloy::transports::http::reqwest;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
};

/// What the proxy does with one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Fault {
    /// Forward it and return the node's answer.
    Pass,
    /// Answer with this HTTP status and no JSON.
    Status(u16),
    /// Hold the connection open this long without answering.
    Stall(Duration),
    /// Wait this long, then forward it (a slow node).
    Delay(Duration),
    /// Forward it and answer with this text as its `cairn-answer` header
    /// (a sidecar's signature gone wrong).
    AnswerHeader(&'static str),
    /// Forward it, then send only the first half of the node's body.
    Truncate,
    /// Answer `eth_getLogs` with an empty list, whatever the node has.
    EmptyLogs,
    /// Refuse the request with the JSON-RPC error providers give for a log
    /// query over too many blocks or results (code -32005).
    TooManyResults,
    /// Forward it, then change the node's `result` so that it stays well
    /// formed but is wrong (see [`alter_result`]); in a batch, every
    /// answer's. An error answer is left as it is.
    AlterResult,
    /// Forward a batch and return the node's answers in reverse order (as
    /// JSON-RPC allows); a single call passes unchanged.
    ReverseBatch,
}

/// Makes a JSON-RPC result wrong but plausible: a string ending in a hex
/// digit gets another last digit (`0x0` ↔ `0x1`, otherwise the last digit
/// becomes `0`, or `1` if it was `0`), `0x` becomes `0x00`, a number grows
/// by one, a boolean flips, an array or object has its first alterable
/// element (objects: in key order) altered. Returns false when nothing
/// could be changed (`null`, or no such value inside).
pub fn alter_result(value: &mut serde_json::Value) -> bool {
    use serde_json::Value;
    match value {
        Value::String(text) if text == "0x" => {
            text.push_str("00");
            true
        }
        Value::String(text) => match text.pop() {
            Some(last) if last.is_ascii_hexdigit() => {
                text.push(if last == '0' { '1' } else { '0' });
                true
            }
            Some(last) => {
                text.push(last);
                false
            }
            None => false,
        },
        Value::Number(number) => match number.as_u64() {
            Some(n) => {
                *value = Value::from(n.wrapping_add(1));
                true
            }
            None => false,
        },
        Value::Bool(flag) => {
            *flag = !*flag;
            true
        }
        Value::Array(items) => items.iter_mut().any(alter_result),
        Value::Object(map) => map.values_mut().any(alter_result),
        Value::Null => false,
    }
}

type Plan = dyn Fn(&str, &serde_json::Value, u64) -> Fault + Send + Sync;

/// A running proxy; stops when dropped.
pub struct FaultyRpc {
    address: SocketAddr,
    injected: Arc<Mutex<HashMap<Fault, u64>>>,
    counters: Arc<Mutex<HashMap<String, u64>>>,
    task: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for FaultyRpc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FaultyRpc").field("address", &self.address).finish_non_exhaustive()
    }
}

impl Drop for FaultyRpc {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FaultyRpc {
    /// Proxies to `upstream`; `plan(method, n)` picks the fault for the n-th
    /// request (from 0) of each JSON-RPC method.
    pub async fn start(
        upstream: String,
        plan: impl Fn(&str, u64) -> Fault + Send + Sync + 'static,
    ) -> Self {
        Self::start_with_params(upstream, move |method, _, n| plan(method, n)).await
    }

    /// As [`FaultyRpc::start`], with the request's `params` passed to `plan`
    /// too (a log range's blocks, say).
    pub async fn start_with_params(
        upstream: String,
        plan: impl Fn(&str, &serde_json::Value, u64) -> Fault + Send + Sync + 'static,
    ) -> Self {
        Self::start_inner(upstream, Arc::new(plan), None).await
    }

    /// As [`FaultyRpc::start`], signing every answer it passes on with
    /// `key` (hex) for `chain` (CAIP-2) in a `cairn-answer` header, as a
    /// provider's sidecar does.
    pub async fn start_signing(
        upstream: String,
        chain: &str,
        key: &str,
        plan: impl Fn(&str, u64) -> Fault + Send + Sync + 'static,
    ) -> Self {
        let signer = AnswerSigner {
            chain: chain.parse().expect("a CAIP-2 chain"),
            key: key.parse().expect("a hex private key"),
        };
        let plan: Arc<Plan> =
            Arc::new(move |method: &str, _: &serde_json::Value, n| plan(method, n));
        Self::start_inner(upstream, plan, Some(Arc::new(signer))).await
    }

    async fn start_inner(
        upstream: String,
        plan: Arc<Plan>,
        signer: Option<Arc<AnswerSigner>>,
    ) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind loopback");
        let address = listener.local_addr().expect("local address");
        let injected = Arc::new(Mutex::new(HashMap::new()));
        let counters = Arc::new(Mutex::new(HashMap::<String, u64>::new()));
        let client = reqwest::Client::new();
        let task = {
            let injected = injected.clone();
            let counters = counters.clone();
            tokio::spawn(async move {
                while let Ok((stream, _)) = listener.accept().await {
                    let (plan, counters, injected, client, upstream, signer) = (
                        plan.clone(),
                        counters.clone(),
                        injected.clone(),
                        client.clone(),
                        upstream.clone(),
                        signer.clone(),
                    );
                    tokio::spawn(async move {
                        let faults =
                            Faults { plan: &*plan, counters: &counters, injected: &injected };
                        let _ = serve(stream, &upstream, &client, faults, signer.as_deref()).await;
                    });
                }
            })
        };
        Self { address, injected, counters, task }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// Requests received, of every method.
    pub fn requests(&self) -> u64 {
        self.counters.lock().expect("lock").values().sum()
    }

    /// Requests received for `method` (`batch` for batches).
    pub fn requests_of(&self, method: &str) -> u64 {
        self.counters.lock().expect("lock").get(method).copied().unwrap_or(0)
    }

    /// How many times `fault` was applied.
    pub fn injected(&self, fault: Fault) -> u64 {
        self.injected.lock().expect("lock").get(&fault).copied().unwrap_or(0)
    }
}

async fn read_request(stream: &mut TcpStream) -> std::io::Result<Vec<u8>> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buffer.extend_from_slice(&chunk[..n]);
        if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buffer[..end]).to_ascii_lowercase();
            let length = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            let body_start = end + 4;
            while buffer.len() < body_start + length {
                let n = stream.read(&mut chunk).await?;
                if n == 0 {
                    return Err(std::io::ErrorKind::UnexpectedEof.into());
                }
                buffer.extend_from_slice(&chunk[..n]);
            }
            return Ok(buffer[body_start..body_start + length].to_vec());
        }
    }
}

/// A whole JSON-RPC answer with status 200.
async fn respond_json(stream: &mut TcpStream, answer: &serde_json::Value) -> std::io::Result<()> {
    let bytes = serde_json::to_vec(answer).expect("json");
    respond(stream, 200, &bytes, bytes.len()).await
}

async fn respond(
    stream: &mut TcpStream,
    status: u16,
    body: &[u8],
    declared: usize,
) -> std::io::Result<()> {
    respond_with(stream, status, body, declared, None).await
}

async fn respond_with(
    stream: &mut TcpStream,
    status: u16,
    body: &[u8],
    declared: usize,
    answer_header: Option<String>,
) -> std::io::Result<()> {
    let extra = answer_header.map(|h| format!("cairn-answer: {h}\r\n")).unwrap_or_default();
    let head = format!(
        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {declared}\r\n{extra}connection: close\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body).await?;
    stream.shutdown().await
}

/// The plan and its bookkeeping.
struct Faults<'a> {
    plan: &'a Plan,
    counters: &'a Mutex<HashMap<String, u64>>,
    injected: &'a Mutex<HashMap<Fault, u64>>,
}

async fn serve(
    mut stream: TcpStream,
    upstream: &str,
    client: &reqwest::Client,
    Faults { plan, counters, injected }: Faults<'_>,
    signer: Option<&AnswerSigner>,
) -> std::io::Result<()> {
    let body = read_request(&mut stream).await?;
    let request: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    let method = request.get("method").and_then(|m| m.as_str()).unwrap_or("batch").to_owned();
    let n = {
        let mut counters = counters.lock().expect("lock");
        let counter = counters.entry(method.clone()).or_default();
        *counter += 1;
        *counter - 1
    };
    let params = request.get("params").cloned().unwrap_or_default();
    let fault = match plan(&method, &params, n) {
        Fault::EmptyLogs if method != "eth_getLogs" => Fault::Pass,
        Fault::ReverseBatch if method != "batch" => Fault::Pass,
        other => other,
    };
    if fault != Fault::Pass {
        *injected.lock().expect("lock").entry(fault).or_default() += 1;
    }
    match fault {
        Fault::Status(code) => respond(&mut stream, code, b"", 0).await,
        Fault::Stall(duration) => {
            tokio::time::sleep(duration).await;
            Ok(())
        }
        Fault::Delay(duration) => {
            tokio::time::sleep(duration).await;
            let answer = forward(client, upstream, body.clone()).await?;
            let header = signer.and_then(|s| s.header(&body, &answer));
            respond_with(&mut stream, 200, &answer, answer.len(), header).await
        }
        Fault::TooManyResults => {
            let answer = serde_json::json!({
                "jsonrpc": "2.0",
                "id": request["id"],
                "error": {"code": -32005, "message": "query returned more than 10000 results"},
            });
            respond_json(&mut stream, &answer).await
        }
        Fault::EmptyLogs => {
            let answer = serde_json::json!({"jsonrpc": "2.0", "id": request["id"], "result": []});
            respond_json(&mut stream, &answer).await
        }
        Fault::AnswerHeader(text) => {
            let answer = forward(client, upstream, body).await?;
            respond_with(&mut stream, 200, &answer, answer.len(), Some(text.to_owned())).await
        }
        Fault::Pass | Fault::Truncate | Fault::AlterResult | Fault::ReverseBatch => {
            let answer = forward(client, upstream, body.clone()).await?;
            match fault {
                Fault::Truncate => {
                    let half = &answer[..answer.len() / 2];
                    respond(&mut stream, 200, half, half.len()).await
                }
                Fault::AlterResult | Fault::ReverseBatch => {
                    let mut value: serde_json::Value =
                        serde_json::from_slice(&answer).map_err(std::io::Error::other)?;
                    match (&mut value, fault) {
                        (serde_json::Value::Array(answers), Fault::ReverseBatch) => {
                            answers.reverse()
                        }
                        (serde_json::Value::Array(answers), _) => {
                            for answer in answers {
                                if let Some(result) = answer.get_mut("result") {
                                    alter_result(result);
                                }
                            }
                        }
                        (single, _) => {
                            if let Some(result) = single.get_mut("result") {
                                alter_result(result);
                            }
                        }
                    }
                    respond_json(&mut stream, &value).await
                }
                _ => {
                    let header = signer.and_then(|s| s.header(&body, &answer));
                    respond_with(&mut stream, 200, &answer, answer.len(), header).await
                }
            }
        }
    }
}

async fn forward(
    client: &reqwest::Client,
    upstream: &str,
    body: Vec<u8>,
) -> std::io::Result<Vec<u8>> {
    client
        .post(upstream)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .map_err(std::io::Error::other)?
        .bytes()
        .await
        .map(|b| b.to_vec())
        .map_err(std::io::Error::other)
}

/// Signs the answers it passes on as a Cairn sidecar does (`cairn-answer`),
/// from a fixed served block (0, zero hash): enough for a prober, which
/// checks who signed, not which tip.
struct AnswerSigner {
    chain: cairn_core::ChainId,
    key: alloy::signers::local::PrivateKeySigner,
}

impl AnswerSigner {
    fn header(&self, request: &[u8], answer: &[u8]) -> Option<String> {
        use alloy::signers::SignerSync;
        let request: serde_json::Value = serde_json::from_slice(request).ok()?;
        let answer: serde_json::Value = serde_json::from_slice(answer).ok()?;
        let claim = cairn_core::answer::AnswerClaim::new(
            self.chain.clone(),
            &request,
            &answer,
            0,
            alloy::primitives::B256::ZERO,
        )
        .ok()?;
        let signature = self.key.sign_hash_sync(&claim.digest()).ok()?;
        let header = cairn_core::answer::AnswerHeader {
            chain: self.chain.clone(),
            block_number: 0,
            block_hash: alloy::primitives::B256::ZERO,
            signature: signature.as_bytes(),
        };
        Some(header.render())
    }
}
