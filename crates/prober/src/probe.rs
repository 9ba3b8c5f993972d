//! One probe of one EVM endpoint: `eth_chainId` must name the chain the
//! endpoint is registered for, `eth_getBlockByNumber("latest")` gives its
//! tip, and every answer that carries a `cairn-answer` header must be
//! signed by the provider's registered operator.

use std::time::{Duration, Instant};

use alloy_primitives::{Address, B256};
use cairn_core::{
    ChainId,
    answer::{ANSWER_HEADER, AnswerHeader},
};
use serde_json::{Value, json};

/// Largest answer body read; a block header with transaction hashes is far
/// below it, and an endpoint cannot make the prober buffer more.
const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;
/// Longest error text kept per probe.
const MAX_MESSAGE_CHARS: usize = 200;

/// What kind of failure a probe met. The names are stable: they are
/// stored and shown by discovery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// No answer within the timeout.
    Timeout,
    /// No connection (refused, DNS, TLS).
    Connect,
    /// An HTTP status other than 2xx.
    HttpStatus,
    /// A JSON-RPC error object instead of a result.
    JsonRpc,
    /// `eth_chainId` names another chain than the registration.
    WrongChain,
    /// An answer that is not the JSON-RPC answer asked for.
    BadBody,
    /// A `cairn-answer` header that is malformed or not signed by the
    /// registered operator.
    BadSignature,
    /// A block hash that disagrees with the majority of the chain's
    /// endpoints at the same height.
    HashMismatch,
}

impl ErrorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Timeout => "timeout",
            Self::Connect => "connect",
            Self::HttpStatus => "http_status",
            Self::JsonRpc => "json_rpc",
            Self::WrongChain => "wrong_chain",
            Self::BadBody => "bad_body",
            Self::BadSignature => "bad_signature",
            Self::HashMismatch => "hash_mismatch",
        }
    }
}

impl std::fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A failed probe: its kind and what happened, in a line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind}: {message}")]
pub struct ProbeFailure {
    pub kind: ErrorKind,
    pub message: String,
}

impl ProbeFailure {
    pub(crate) fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        let mut message: String = message.into();
        if let Some((cut, _)) = message.char_indices().nth(MAX_MESSAGE_CHARS) {
            message.truncate(cut);
        }
        Self { kind, message }
    }
}

/// An endpoint to probe, from the registry rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Registry chain (CAIP-2) the endpoint is registered on.
    pub registry_chain: String,
    pub service_id: B256,
    /// The chain it serves.
    pub chain: ChainId,
    pub provider: String,
    /// The provider's operator: the key its sidecar signs answers with.
    pub operator: Address,
    pub url: String,
}

/// What a successful probe saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observed {
    pub tip: u64,
    pub tip_hash: B256,
    /// `Some(true)` when every answer was signed by the operator, `Some(false)`
    /// when only some were signed, `None` when none carried a signature.
    pub verified: Option<bool>,
}

/// One probe's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probed {
    /// The slowest of the probe's requests, when every request was answered.
    pub latency_ms: Option<u64>,
    pub outcome: Result<Observed, ProbeFailure>,
    /// Whether the answers carried valid signatures, also for a failure
    /// after them (wrong chain); `Some(false)` for a bad signature.
    pub verified: Option<bool>,
}

/// Talks JSON-RPC to endpoints for the prober.
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    timeout: Duration,
}

/// One answered call.
struct Answer {
    result: Value,
    /// `None` without a header; `Some(Err)` for one that does not verify.
    signed: Option<Result<(), ProbeFailure>>,
    elapsed: Duration,
}

impl Client {
    pub fn new(timeout: Duration) -> Self {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            // A redirect is not something a registered RPC URL does.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_default();
        Self { http, timeout }
    }

    /// Probes `target` once.
    pub async fn probe(&self, target: &Target) -> Probed {
        let mut slowest = Duration::ZERO;
        let mut signatures = Vec::new();
        let outcome = async {
            let protocol = Protocol::of(&target.chain).ok_or_else(|| {
                ProbeFailure::new(ErrorKind::WrongChain, format!("{} is not probed", target.chain))
            })?;
            let (method, params) = protocol.identity_call();
            let identity = self.call(target, method, params).await?;
            slowest = slowest.max(identity.elapsed);
            signatures.push(identity.signed.clone());
            if let Some(Err(failure)) = identity.signed {
                return Err(failure);
            }
            protocol.check_identity(&identity.result, &target.chain)?;
            let (method, params) = protocol.tip_call();
            let tip = self.call(target, method, params).await?;
            slowest = slowest.max(tip.elapsed);
            signatures.push(tip.signed.clone());
            if let Some(Err(failure)) = tip.signed {
                return Err(failure);
            }
            protocol.tip(&tip.result).ok_or_else(|| bad_body(method, &tip.result))
        }
        .await;
        let verified = verified(&signatures);
        let answered = match &outcome {
            Ok(_) => true,
            Err(failure) => !matches!(
                failure.kind,
                ErrorKind::Timeout | ErrorKind::Connect | ErrorKind::HttpStatus
            ),
        };
        Probed {
            latency_ms: answered.then(|| u64::try_from(slowest.as_millis()).unwrap_or(u64::MAX)),
            outcome: outcome.map(|(tip, tip_hash)| Observed { tip, tip_hash, verified }),
            verified,
        }
    }

    /// The hash of block (EVM) or slot (Solana) `number` as `target` has it.
    pub async fn block_hash(&self, target: &Target, number: u64) -> Result<B256, ProbeFailure> {
        let protocol = Protocol::of(&target.chain).ok_or_else(|| {
            ProbeFailure::new(ErrorKind::WrongChain, format!("{} is not probed", target.chain))
        })?;
        let (method, params) = protocol.block_call(number);
        let answer = self.call(target, method, params).await?;
        if let Some(Err(failure)) = answer.signed {
            return Err(failure);
        }
        protocol
            .block_hash(&answer.result, number)
            .ok_or_else(|| bad_body(&format!("block {number}"), &answer.result))
    }

    async fn call(
        &self,
        target: &Target,
        method: &str,
        params: Value,
    ) -> Result<Answer, ProbeFailure> {
        let request = json!({ "jsonrpc": "2.0", "id": 1, "method": method, "params": params });
        let started = Instant::now();
        // reqwest's own timeout covers the body too; this one also covers
        // a body read slowly in many small chunks.
        let sent = tokio::time::timeout(self.timeout, async {
            let response = self
                .http
                .post(&target.url)
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(request.to_string())
                .send()
                .await
                .map_err(transport)?;
            let status = response.status();
            if !status.is_success() {
                return Err(ProbeFailure::new(
                    ErrorKind::HttpStatus,
                    format!("{method} answered HTTP {}", status.as_u16()),
                ));
            }
            let header = response
                .headers()
                .get(ANSWER_HEADER)
                .map(|v| v.to_str().map(str::to_owned).map_err(|_| ()));
            let body = read_capped(response).await?;
            Ok((header, body))
        })
        .await;
        let (header, body) = match sent {
            Ok(result) => result?,
            Err(_) => {
                return Err(ProbeFailure::new(
                    ErrorKind::Timeout,
                    format!("{method}: no answer within {} ms", self.timeout.as_millis()),
                ));
            }
        };
        let elapsed = started.elapsed();
        let response: Value = serde_json::from_slice(&body).map_err(|e| {
            ProbeFailure::new(ErrorKind::BadBody, format!("{method}: not JSON ({e})"))
        })?;
        let signed = header.map(|header| {
            let text = header.map_err(|()| {
                ProbeFailure::new(ErrorKind::BadSignature, "cairn-answer header is not text")
            })?;
            let parsed = AnswerHeader::parse(&text).map_err(|e| {
                ProbeFailure::new(ErrorKind::BadSignature, format!("{method}: {e}"))
            })?;
            let signer = parsed.signer(&target.chain, &request, &response).map_err(|e| {
                ProbeFailure::new(ErrorKind::BadSignature, format!("{method}: {e}"))
            })?;
            if signer != target.operator {
                return Err(ProbeFailure::new(
                    ErrorKind::BadSignature,
                    format!(
                        "{method} answer signed by {signer}, the registered operator is {}",
                        target.operator
                    ),
                ));
            }
            Ok(())
        });
        // An answer to another request (or to none) is not this one's.
        if response.get("id") != Some(&json!(1)) {
            return Err(ProbeFailure::new(
                ErrorKind::BadBody,
                format!("{method}: the answer's id is not the request's"),
            ));
        }
        if let Some(error) = response.get("error").filter(|e| !e.is_null()) {
            let code = error.get("code").and_then(Value::as_i64).unwrap_or_default();
            let message = error.get("message").and_then(Value::as_str).unwrap_or_default();
            // A bad signature over an error is worse than the error.
            if let Some(Err(failure)) = signed {
                return Err(failure);
            }
            return Err(ProbeFailure::new(
                ErrorKind::JsonRpc,
                format!("{method}: error {code}: {message}"),
            ));
        }
        let result = response
            .get("result")
            .cloned()
            .ok_or_else(|| ProbeFailure::new(ErrorKind::BadBody, format!("{method}: no result")))?;
        Ok(Answer { result, signed, elapsed })
    }
}

/// How a chain's nodes are asked who they are and where their tip is.
/// EVM chains answer `eth_chainId` and `eth_getBlockByNumber`; Solana
/// clusters `getGenesisHash` (a CAIP-2 `solana:` reference is the first 32
/// characters of it), `getLatestBlockhash` (tip slot and a recent hash) and
/// `getBlock` for the cross-check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Evm,
    Solana,
}

impl Protocol {
    /// The protocol of `chain`, if it is one the prober speaks.
    pub fn of(chain: &ChainId) -> Option<Self> {
        match chain.namespace() {
            "eip155" if chain.evm_chain_id().is_some() => Some(Self::Evm),
            "solana" => Some(Self::Solana),
            _ => None,
        }
    }

    fn identity_call(self) -> (&'static str, Value) {
        match self {
            Self::Evm => ("eth_chainId", json!([])),
            Self::Solana => ("getGenesisHash", json!([])),
        }
    }

    /// Whether `result` (of [`Protocol::identity_call`]) names `chain`.
    pub fn check_identity(self, result: &Value, chain: &ChainId) -> Result<(), ProbeFailure> {
        match self {
            Self::Evm => {
                let reported = quantity(result).ok_or_else(|| bad_body("eth_chainId", result))?;
                if Some(reported) != chain.evm_chain_id() {
                    return Err(ProbeFailure::new(
                        ErrorKind::WrongChain,
                        format!("eth_chainId is {reported}, registered for {chain}"),
                    ));
                }
            }
            Self::Solana => {
                let genesis = result
                    .as_str()
                    .filter(|g| bs58::decode(g).into_vec().is_ok_and(|b| b.len() == 32))
                    .ok_or_else(|| bad_body("getGenesisHash", result))?;
                if !genesis.starts_with(chain.reference()) {
                    return Err(ProbeFailure::new(
                        ErrorKind::WrongChain,
                        format!("genesis hash is {genesis}, registered for {chain}"),
                    ));
                }
            }
        }
        Ok(())
    }

    fn tip_call(self) -> (&'static str, Value) {
        match self {
            Self::Evm => ("eth_getBlockByNumber", json!(["latest", false])),
            Self::Solana => ("getLatestBlockhash", json!([{ "commitment": "confirmed" }])),
        }
    }

    /// Tip number and hash from a [`Protocol::tip_call`] result.
    pub fn tip(self, result: &Value) -> Option<(u64, B256)> {
        match self {
            Self::Evm => number_and_hash(result),
            Self::Solana => {
                let slot = result.get("context")?.get("slot")?.as_u64()?;
                let hash = base58_hash(result.get("value")?.get("blockhash")?)?;
                Some((slot, hash))
            }
        }
    }

    fn block_call(self, number: u64) -> (&'static str, Value) {
        match self {
            Self::Evm => ("eth_getBlockByNumber", json!([format!("{number:#x}"), false])),
            Self::Solana => (
                "getBlock",
                json!([number, {
                    "commitment": "confirmed",
                    "transactionDetails": "none",
                    "rewards": false,
                    "maxSupportedTransactionVersion": 0,
                }]),
            ),
        }
    }

    /// The hash in a [`Protocol::block_call`] result for block `number`.
    pub fn block_hash(self, result: &Value, number: u64) -> Option<B256> {
        match self {
            Self::Evm => number_and_hash(result).filter(|(n, _)| *n == number).map(|(_, h)| h),
            // `getBlock` does not repeat the slot asked for.
            Self::Solana => base58_hash(result.get("blockhash")?),
        }
    }
}

fn base58_hash(value: &Value) -> Option<B256> {
    let bytes = bs58::decode(value.as_str()?).into_vec().ok()?;
    Some(B256::from(<[u8; 32]>::try_from(bytes.as_slice()).ok()?))
}

fn transport(error: reqwest::Error) -> ProbeFailure {
    let kind = if error.is_timeout() {
        ErrorKind::Timeout
    } else if error.is_connect() || error.is_request() || error.is_builder() {
        ErrorKind::Connect
    } else {
        ErrorKind::BadBody
    };
    // reqwest's text names the URL first; the source says what happened.
    let mut message = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(inner) = source {
        message = format!("{message}: {inner}");
        source = inner.source();
    }
    ProbeFailure::new(kind, message)
}

async fn read_capped(mut response: reqwest::Response) -> Result<Vec<u8>, ProbeFailure> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(transport)? {
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(ProbeFailure::new(
                ErrorKind::BadBody,
                format!("answer larger than {MAX_BODY_BYTES} bytes"),
            ));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

fn bad_body(what: &str, result: &Value) -> ProbeFailure {
    let mut shown = result.to_string();
    if let Some((cut, _)) = shown.char_indices().nth(80) {
        shown.truncate(cut);
        shown.push('…');
    }
    ProbeFailure::new(ErrorKind::BadBody, format!("{what} answer is not what was asked: {shown}"))
}

/// A JSON-RPC quantity: `0x` and hex digits without leading zeros.
fn quantity(value: &Value) -> Option<u64> {
    let digits = value.as_str()?.strip_prefix("0x")?;
    if digits.is_empty() || digits.len() > 16 || (digits.len() > 1 && digits.starts_with('0')) {
        return None;
    }
    u64::from_str_radix(digits, 16).ok()
}

fn number_and_hash(block: &Value) -> Option<(u64, B256)> {
    let number = quantity(block.get("number")?)?;
    let hash = block.get("hash")?.as_str()?.parse::<B256>().ok()?;
    Some((number, hash))
}

/// Whether a probe's answers were all, partly or not at all signed (the
/// bad ones are failures of their own).
fn verified(signatures: &[Option<Result<(), ProbeFailure>>]) -> Option<bool> {
    if signatures.iter().any(|s| matches!(s, Some(Err(_)))) {
        return Some(false);
    }
    let signed = signatures.iter().filter(|s| s.is_some()).count();
    match signed {
        0 => None,
        n => Some(n == signatures.len()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_are_strict() {
        assert_eq!(quantity(&json!("0x7a69")), Some(31337));
        assert_eq!(quantity(&json!("0x0")), Some(0));
        for bad in [json!("0x"), json!("7a69"), json!("0x07"), json!(5), json!("0xzz"), json!(null)]
        {
            assert_eq!(quantity(&bad), None, "{bad}");
        }
        assert_eq!(quantity(&json!("0x10000000000000000")), None, "above u64");
    }

    #[test]
    fn blocks_need_a_number_and_a_hash() {
        let hash = format!("0x{}", "ab".repeat(32));
        assert_eq!(
            number_and_hash(&json!({ "number": "0x10", "hash": hash })),
            Some((16, B256::repeat_byte(0xab)))
        );
        assert_eq!(number_and_hash(&json!({ "number": "0x10" })), None);
        assert_eq!(number_and_hash(&json!({ "number": "0x10", "hash": "0x12" })), None);
        assert_eq!(number_and_hash(&Value::Null), None, "a node without blocks answers null");
    }

    #[test]
    fn solana_clusters_are_named_by_their_genesis_hash() {
        let mainnet: ChainId = "solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp".parse().unwrap();
        let genesis = json!("5eykt4UsFv8P8NJdTREpY1vzqKqZKvdpKuc147dw2N9d");
        assert_eq!(Protocol::of(&mainnet), Some(Protocol::Solana));
        assert_eq!(Protocol::Solana.check_identity(&genesis, &mainnet), Ok(()));
        let devnet = json!("EtWTRABZaYq6iMfeYKouRu166VU2xqa1wcaWoxPkrZBG");
        let failure = Protocol::Solana.check_identity(&devnet, &mainnet).unwrap_err();
        assert_eq!(failure.kind, ErrorKind::WrongChain);
        let garbage = Protocol::Solana.check_identity(&json!("not base58 0OIl"), &mainnet);
        assert_eq!(garbage.unwrap_err().kind, ErrorKind::BadBody);
        let cosmos: ChainId = "cosmos:cosmoshub-4".parse().unwrap();
        assert_eq!(Protocol::of(&cosmos), None);
    }

    #[test]
    fn solana_tips_and_blocks_come_from_their_answers() {
        // As `getLatestBlockhash` and `getBlock` answer (Solana's RPC docs).
        let latest = json!({
            "context": { "slot": 2792 },
            "value": {
                "blockhash": "EkSnNWid2cvwEVnVx9aBqawnmiCNiDgp3gUdkDPTKN1N",
                "lastValidBlockHeight": 3090
            }
        });
        let (slot, hash) = Protocol::Solana.tip(&latest).unwrap();
        assert_eq!(slot, 2792);
        assert_eq!(
            bs58::encode(hash.as_slice()).into_string(),
            "EkSnNWid2cvwEVnVx9aBqawnmiCNiDgp3gUdkDPTKN1N"
        );
        assert_eq!(Protocol::Solana.tip(&json!({ "value": {} })), None);
        let block = json!({
            "blockHeight": 428,
            "blockTime": null,
            "blockhash": "3Eq21vXNB5s86c62bVuUfTeaMif1N2kUqRPBmGRJhyTA",
            "parentSlot": 429,
            "previousBlockhash": "mfcyqEXB3DnHXki6KjjmZck6YjmZLvpAByy2fj4nh6B"
        });
        assert!(Protocol::Solana.block_hash(&block, 430).is_some());
        assert_eq!(Protocol::Solana.block_hash(&json!({ "blockhash": "short" }), 430), None);
    }

    #[test]
    fn verification_needs_every_answer_signed() {
        let ok = Some(Ok(()));
        let bad = Some(Err(ProbeFailure::new(ErrorKind::BadSignature, "x")));
        assert_eq!(verified(&[None, None]), None);
        assert_eq!(verified(&[ok.clone(), ok.clone()]), Some(true));
        assert_eq!(verified(&[ok.clone(), None]), Some(false));
        assert_eq!(verified(&[ok, bad]), Some(false));
    }

    #[test]
    fn messages_are_bounded() {
        let long = ProbeFailure::new(ErrorKind::BadBody, "é".repeat(500));
        assert_eq!(long.message.chars().count(), MAX_MESSAGE_CHARS);
        assert_eq!(long.to_string(), format!("bad_body: {}", "é".repeat(MAX_MESSAGE_CHARS)));
    }
}
