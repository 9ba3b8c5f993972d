//! Signed JSON-RPC answers: the bytes a provider's sidecar signs for every
//! answer it serves, so that a wrong answer is portable proof against the
//! operator who signed it.
//!
//! What is signed is a digest over the chain, the request and the response
//! in a canonical form, and the chain tip the sidecar served from:
//!
//! ```text
//! keccak256( "cairn:answer:v1"
//!          ‖ len(chain) as one byte ‖ CAIP-2 chain
//!          ‖ keccak256(canonical request)
//!          ‖ keccak256(canonical response)
//!          ‖ served block number, 8 bytes big-endian
//!          ‖ served block hash, 32 bytes )
//! ```
//!
//! The canonical forms drop what differs between hops of one call (the
//! JSON-RPC `id`, the `jsonrpc` tag, whitespace, key order), so the request
//! the gateway forwards and the response the client receives hash the same
//! at every hop. See [`canonical_json`] for the exact rules; the Solana
//! program, the canister and the threshold parties rebuild the same bytes
//! from this module.

use alloy_primitives::{Address, B256, hex, keccak256};
use serde_json::{Map, Number, Value};

use crate::{ChainId, signature};

/// Domain tag in front of every answer digest: an answer signature can never
/// be mistaken for a signature over anything else the operator key signs.
pub const ANSWER_DOMAIN_TAG: &[u8] = b"cairn:answer:v1";

/// HTTP header carrying an [`AnswerHeader`] on every answer a sidecar serves.
pub const ANSWER_HEADER: &str = "cairn-answer";

/// Why a request, a response or an answer header does not fit the format.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnswerError {
    #[error(
        "a JSON-RPC request must be an object with a string `method`, or a non-empty array of them"
    )]
    NotRequest,
    #[error(
        "a JSON-RPC response must be an object with exactly one of `result` and `error`, or an array of them"
    )]
    NotResponse,
    #[error("a batch's responses must answer its requests one to one (request {0} has no answer)")]
    BatchMismatch(usize),
    #[error(
        "JSON-RPC notifications (requests without an `id`) are not answered, so cannot be signed"
    )]
    Notification,
    #[error("answer header is malformed: {0}")]
    Header(&'static str),
    #[error("answer header names chain {found}, expected {expected}")]
    WrongChain { expected: String, found: String },
    #[error("answer signature: {0}")]
    Signature(#[from] signature::SignatureError),
}

/// Writes `value` in Cairn's canonical JSON:
/// - no whitespace; object keys sorted by their UTF-8 bytes, each once;
/// - strings escaped as JSON requires and no further: `"` and `\` by a
///   backslash, `\b \f \n \r \t` by their short forms, other characters
///   below U+0020 as `\u00xx` (lowercase hex), everything else as UTF-8;
/// - integers that fit `u64` or `i64` in decimal; any other number as the
///   shortest decimal that reads back as the same IEEE-754 double, with a
///   `.0` or an exponent (`1e300`) so it stays a float. Numbers are taken by
///   value, never by their text, so two builds of the parser that keep
///   number texts differently still agree.
pub fn canonical_json(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(number) => write_number(number, out),
        Value::String(text) => write_string(text, out),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                canonical_json(item, out);
            }
            out.push(b']');
        }
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            out.push(b'{');
            for (i, (key, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_string(key, out);
                out.push(b':');
                canonical_json(item, out);
            }
            out.push(b'}');
        }
    }
}

fn write_number(number: &Number, out: &mut Vec<u8>) {
    if let Some(n) = number.as_u64() {
        out.extend_from_slice(n.to_string().as_bytes());
    } else if let Some(n) = number.as_i64() {
        out.extend_from_slice(n.to_string().as_bytes());
    } else {
        // serde_json refuses non-finite numbers when it parses, so every
        // float here is finite; `{:?}` prints the shortest round-trip form.
        let float = number.as_f64().unwrap_or(0.0);
        out.extend_from_slice(format!("{float:?}").as_bytes());
    }
}

fn write_string(text: &str, out: &mut Vec<u8>) {
    out.push(b'"');
    for ch in text.chars() {
        match ch {
            '"' => out.extend_from_slice(b"\\\""),
            '\\' => out.extend_from_slice(b"\\\\"),
            '\u{08}' => out.extend_from_slice(b"\\b"),
            '\u{0c}' => out.extend_from_slice(b"\\f"),
            '\n' => out.extend_from_slice(b"\\n"),
            '\r' => out.extend_from_slice(b"\\r"),
            '\t' => out.extend_from_slice(b"\\t"),
            c if (c as u32) < 0x20 => {
                out.extend_from_slice(format!("\\u{:04x}", c as u32).as_bytes());
            }
            c => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
    out.push(b'"');
}

fn canonical_bytes(value: &Value) -> Vec<u8> {
    let mut out = Vec::with_capacity(128);
    canonical_json(value, &mut out);
    out
}

/// The part of one call that means the same at every hop: `method` and, when
/// present, `params`.
fn call_core(call: &Value) -> Result<Value, AnswerError> {
    let object = call.as_object().ok_or(AnswerError::NotRequest)?;
    let method = object.get("method").filter(|m| m.is_string()).ok_or(AnswerError::NotRequest)?;
    if object.get("id").is_none_or(Value::is_null) {
        return Err(AnswerError::Notification);
    }
    let mut core = Map::new();
    core.insert("method".into(), method.clone());
    if let Some(params) = object.get("params") {
        core.insert("params".into(), params.clone());
    }
    Ok(Value::Object(core))
}

/// The part of one answer that means the same at every hop: `result`, or
/// `error` as the node gave it.
fn answer_core(answer: &Value) -> Result<Value, AnswerError> {
    let object = answer.as_object().ok_or(AnswerError::NotResponse)?;
    let core = match (object.get("result"), object.get("error")) {
        (Some(result), None) => ("result", result),
        (None, Some(error)) if error.is_object() => ("error", error),
        _ => return Err(AnswerError::NotResponse),
    };
    let mut map = Map::new();
    map.insert(core.0.into(), core.1.clone());
    Ok(Value::Object(map))
}

/// The canonical bytes of a request: one call as `{"method":…,"params":…}`,
/// a batch as the array of its calls in the order sent.
pub fn canonical_request(request: &Value) -> Result<Vec<u8>, AnswerError> {
    match request {
        Value::Array(calls) if !calls.is_empty() => {
            let cores = calls.iter().map(call_core).collect::<Result<Vec<_>, _>>()?;
            Ok(canonical_bytes(&Value::Array(cores)))
        }
        Value::Array(_) => Err(AnswerError::NotRequest),
        call => Ok(canonical_bytes(&call_core(call)?)),
    }
}

/// The canonical bytes of a response: one answer as `{"result":…}` or
/// `{"error":…}`, a batch as the array of its answers in the order of the
/// calls (see [`order_batch_response`]).
pub fn canonical_response(response: &Value) -> Result<Vec<u8>, AnswerError> {
    match response {
        Value::Array(answers) => {
            let cores = answers.iter().map(answer_core).collect::<Result<Vec<_>, _>>()?;
            Ok(canonical_bytes(&Value::Array(cores)))
        }
        answer => Ok(canonical_bytes(&answer_core(answer)?)),
    }
}

/// A node may answer a batch in any order; a signed batch answer lists its
/// answers in the order of the calls, matched by `id`, so that verifiers
/// need not repeat the matching. Each call must have exactly one answer.
pub fn order_batch_response(
    calls: &[Value],
    answers: Vec<Value>,
) -> Result<Vec<Value>, AnswerError> {
    let mut answers: Vec<Option<Value>> = answers.into_iter().map(Some).collect();
    let mut ordered = Vec::with_capacity(calls.len());
    for (i, call) in calls.iter().enumerate() {
        let id = call.get("id").filter(|id| !id.is_null()).ok_or(AnswerError::Notification)?;
        let slot = answers
            .iter_mut()
            .find(|answer| answer.as_ref().and_then(|a| a.get("id")) == Some(id))
            .ok_or(AnswerError::BatchMismatch(i))?;
        ordered.push(slot.take().ok_or(AnswerError::BatchMismatch(i))?);
    }
    if answers.iter().any(Option::is_some) {
        return Err(AnswerError::NotResponse);
    }
    Ok(ordered)
}

/// Everything an answer signature covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnswerClaim {
    pub chain: ChainId,
    pub request_hash: B256,
    pub response_hash: B256,
    pub block_number: u64,
    pub block_hash: B256,
}

impl AnswerClaim {
    pub fn new(
        chain: ChainId,
        request: &Value,
        response: &Value,
        block_number: u64,
        block_hash: B256,
    ) -> Result<Self, AnswerError> {
        Ok(Self {
            chain,
            request_hash: keccak256(canonical_request(request)?),
            response_hash: keccak256(canonical_response(response)?),
            block_number,
            block_hash,
        })
    }

    /// The digest the operator key signs.
    pub fn digest(&self) -> B256 {
        let chain = self.chain.to_string();
        // CAIP-2 ids are at most 8 + 1 + 32 bytes, so one length byte holds
        // any of them and keeps the encoding unambiguous.
        let mut bytes = Vec::with_capacity(ANSWER_DOMAIN_TAG.len() + 1 + chain.len() + 104);
        bytes.extend_from_slice(ANSWER_DOMAIN_TAG);
        bytes.push(chain.len() as u8);
        bytes.extend_from_slice(chain.as_bytes());
        bytes.extend_from_slice(self.request_hash.as_slice());
        bytes.extend_from_slice(self.response_hash.as_slice());
        bytes.extend_from_slice(&self.block_number.to_be_bytes());
        bytes.extend_from_slice(self.block_hash.as_slice());
        keccak256(bytes)
    }
}

/// The `cairn-answer` header: which tip the answer was served from and the
/// operator's signature over the [`AnswerClaim`]. Written as
/// `v1; chain=<CAIP-2>; block=<decimal>; hash=0x<64 hex>; sig=0x<130 hex>`,
/// fields in that order; anything else is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnswerHeader {
    pub chain: ChainId,
    pub block_number: u64,
    pub block_hash: B256,
    /// `r ‖ s ‖ v`, low `s`, `v` 27 or 28.
    pub signature: [u8; 65],
}

impl AnswerHeader {
    pub fn render(&self) -> String {
        format!(
            "v1; chain={}; block={}; hash={}; sig=0x{}",
            self.chain,
            self.block_number,
            self.block_hash,
            hex::encode(self.signature)
        )
    }

    pub fn parse(text: &str) -> Result<Self, AnswerError> {
        let mut fields = text.split("; ");
        let mut field = |name: &'static str| {
            fields
                .next()
                .and_then(|f| f.strip_prefix(name))
                .ok_or(AnswerError::Header("expected v1; chain=…; block=…; hash=…; sig=…"))
        };
        field("v1")?.is_empty().then_some(()).ok_or(AnswerError::Header("unknown version"))?;
        let chain: ChainId =
            field("chain=")?.parse().map_err(|_| AnswerError::Header("chain is not CAIP-2"))?;
        let block = field("block=")?;
        // Decimal digits only: `+1` or `01` would give one header two texts.
        if block.is_empty()
            || !block.bytes().all(|b| b.is_ascii_digit())
            || (block.len() > 1 && block.starts_with('0'))
        {
            return Err(AnswerError::Header("block is not a decimal number"));
        }
        let block_number =
            block.parse().map_err(|_| AnswerError::Header("block is out of range"))?;
        let block_hash = parse_hex::<32>(field("hash=")?)
            .ok_or(AnswerError::Header("hash is not 0x and 64 hex digits"))?;
        let signature = parse_hex::<65>(field("sig=")?)
            .ok_or(AnswerError::Header("sig is not 0x and 130 hex digits"))?;
        if fields.next().is_some() {
            return Err(AnswerError::Header("unexpected field after sig"));
        }
        Ok(Self { chain, block_number, block_hash: B256::from(block_hash), signature })
    }

    /// The claim this header signs for `request` and `response`.
    pub fn claim(&self, request: &Value, response: &Value) -> Result<AnswerClaim, AnswerError> {
        AnswerClaim::new(self.chain.clone(), request, response, self.block_number, self.block_hash)
    }

    /// The operator that signed `response` to `request` on `expected_chain`.
    pub fn signer(
        &self,
        expected_chain: &ChainId,
        request: &Value,
        response: &Value,
    ) -> Result<Address, AnswerError> {
        if &self.chain != expected_chain {
            return Err(AnswerError::WrongChain {
                expected: expected_chain.to_string(),
                found: self.chain.to_string(),
            });
        }
        let digest = self.claim(request, response)?.digest();
        Ok(signature::recover_address(&digest, &self.signature)?)
    }
}

fn parse_hex<const N: usize>(text: &str) -> Option<[u8; N]> {
    let digits = text.strip_prefix("0x")?;
    if digits.len() != 2 * N || digits.bytes().any(|b| b.is_ascii_uppercase()) {
        return None;
    }
    let mut out = [0u8; N];
    hex::decode_to_slice(digits, &mut out).ok()?;
    Some(out)
}
