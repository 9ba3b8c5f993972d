//! Signed payment intents: verified here, reserved in the store, answered
//! with the batch they will settle in.

use std::{
    collections::HashMap,
    num::NonZeroUsize,
    sync::Mutex,
    time::{Duration, Instant},
};

use alloy::primitives::{Address, B256};
use axum::{
    Json,
    extract::{Path, State},
    http::StatusCode,
};
use cairn_bindings::Settlement;
use cairn_core::{
    eip712::{PaymentIntent, settlement_domain},
    intent::{SignedIntent, VerifyError, verify_intents},
    signature::SignatureError,
};
use cairn_store::{Acceptance, NewIntent};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{
    AppState, EvmChain, now,
    problem::{ApiError, Problem},
};

/// Most intents one request may carry.
pub const MAX_INTENTS_PER_REQUEST: usize = 1_000;
/// How long an asset's allow-listing is trusted before asking the chain again.
const ASSET_TTL: Duration = Duration::from_secs(60);
/// Most assets whose allow-listing is remembered at once.
const MAX_CACHED_ASSETS: usize = 256;

/// The EIP-712 domain a client signed under, when it says so: lets a
/// mismatch be named instead of surfacing as a wrong signer.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignedDomain {
    pub chain_id: u64,
    #[schema(value_type = String)]
    pub verifying_contract: Address,
}

/// A payment intent as sent: the fields of the EIP-712 `PaymentIntent`
/// the payer signed. Amounts and nonces are strings (decimal, or `0x` hex)
/// because a JSON number loses precision above 2^53 in most clients; a
/// number is refused rather than read.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IntentFields {
    #[schema(value_type = String, example = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8")]
    pub payer: Address,
    #[schema(value_type = String)]
    pub payee: Address,
    /// ERC-20 contract of the payment asset.
    #[schema(value_type = String)]
    pub asset: Address,
    /// In the asset's smallest unit.
    #[schema(value_type = String, example = "1000000000000000000")]
    pub amount: UintString,
    /// Used once per payer.
    #[schema(value_type = String, example = "1")]
    pub nonce: UintString,
    /// Unix seconds after which the intent is void.
    #[serde(rename = "validUntil")]
    pub valid_until: u64,
}

impl From<IntentFields> for PaymentIntent {
    fn from(fields: IntentFields) -> Self {
        Self {
            payer: fields.payer,
            payee: fields.payee,
            asset: fields.asset,
            amount: fields.amount.0,
            nonce: fields.nonce.0,
            validUntil: fields.valid_until,
        }
    }
}

/// A 256-bit unsigned integer written as a JSON string, decimal or `0x`
/// hex; JSON numbers are refused.
#[derive(Debug, Clone, Copy)]
pub struct UintString(pub alloy::primitives::U256);

impl<'de> Deserialize<'de> for UintString {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = UintString;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an unsigned integer as a string, decimal or 0x hex")
            }
            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<UintString, E> {
                let parsed = match text.strip_prefix("0x") {
                    Some(hex) if !hex.is_empty() && hex.len() <= 64 => {
                        alloy::primitives::U256::from_str_radix(hex, 16).ok()
                    }
                    Some(_) => None,
                    None if !text.is_empty()
                        && text.len() <= 78
                        && text.bytes().all(|b| b.is_ascii_digit()) =>
                    {
                        alloy::primitives::U256::from_str_radix(text, 10).ok()
                    }
                    None => None,
                };
                parsed.map(UintString).ok_or_else(|| {
                    E::custom(format!(
                        "`{text}` is not an unsigned 256-bit integer (decimal or 0x hex)"
                    ))
                })
            }
            fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<UintString, E> {
                Err(number_refused())
            }
            fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<UintString, E> {
                Err(number_refused())
            }
            fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<UintString, E> {
                Err(number_refused())
            }
        }
        fn number_refused<E: serde::de::Error>() -> E {
            E::custom(
                "write amounts and nonces as strings (\"1000\"): a JSON number loses precision above 2^53",
            )
        }
        deserializer.deserialize_any(Visitor)
    }
}

fn intent_from_fields<'de, D: serde::Deserializer<'de>>(d: D) -> Result<PaymentIntent, D::Error> {
    IntentFields::deserialize(d).map(PaymentIntent::from)
}

fn optional_intent_from_fields<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<PaymentIntent>, D::Error> {
    Option::<IntentFields>::deserialize(d).map(|fields| fields.map(PaymentIntent::from))
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IntentSubmission {
    /// The intent as signed.
    #[serde(deserialize_with = "intent_from_fields")]
    #[schema(value_type = IntentFields)]
    pub intent: PaymentIntent,
    /// The payer's EIP-712 signature, `0x` + 65 bytes hex.
    pub signature: String,
    #[serde(default)]
    pub domain: Option<SignedDomain>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct IntentReceipt {
    pub intent_hash: String,
    /// The batch it will settle in.
    pub batch_id: u64,
    pub status: String,
    /// True when this exact intent had been accepted before.
    pub duplicate: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct IntentResult {
    pub index: usize,
    #[serde(flatten)]
    pub receipt: Option<IntentReceipt>,
    /// Refusal code, as in a problem document.
    pub code: Option<String>,
    pub detail: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct BatchSubmissionResponse {
    pub accepted: usize,
    pub refused: usize,
    pub results: Vec<IntentResult>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct IntentView {
    pub intent_hash: String,
    pub payer: String,
    pub payee: String,
    pub asset: String,
    pub amount: String,
    pub nonce: String,
    pub valid_until: u64,
    pub batch_id: u64,
    pub status: String,
    pub accepted_at: i64,
    /// Once the batch is closed: the intent's inclusion in its intents root.
    pub inclusion: Option<Inclusion>,
}

/// A Merkle inclusion proof of an intent in its batch's intents root
/// (leaf = `keccak256(0x00 ‖ digest)`, node = `keccak256(0x01 ‖ left ‖ right)`,
/// an odd node carried up).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Inclusion {
    pub intents_root: String,
    pub leaf: String,
    pub index: u64,
    pub leaf_count: u64,
    pub siblings: Vec<String>,
}

/// Allow-listed assets per settlement contract, as last read from the chain.
#[derive(Debug, Default)]
pub(crate) struct AssetCache(Mutex<HashMap<Address, (bool, Instant)>>);

fn refusal(status: StatusCode, code: &'static str, detail: impl Into<String>) -> ApiError {
    ApiError::new(status, code, detail)
}

fn unprocessable(code: &'static str, detail: impl Into<String>) -> ApiError {
    refusal(StatusCode::UNPROCESSABLE_ENTITY, code, detail)
}

impl AppState {
    async fn asset_allowed(&self, chain: &EvmChain, asset: Address) -> Result<bool, ApiError> {
        if let Some((allowed, at)) =
            self.assets.0.lock().unwrap_or_else(|e| e.into_inner()).get(&asset).copied()
            && at.elapsed() < ASSET_TTL
        {
            return Ok(allowed);
        }
        let allowed = Settlement::new(chain.settlement, &chain.rpc)
            .assetAllowed(asset)
            .call()
            .await
            .map_err(|e| {
                tracing::warn!(error = %e, "cannot read the settlement asset list");
                ApiError::new(
                    StatusCode::BAD_GATEWAY,
                    "rpc_unavailable",
                    "the chain's RPC endpoint did not answer",
                )
            })?;
        let mut cache = self.assets.0.lock().unwrap_or_else(|e| e.into_inner());
        // Signed intents name assets at will: the cache keeps what is fresh
        // and never grows past its bound.
        if cache.len() >= MAX_CACHED_ASSETS {
            cache.retain(|_, (_, at)| at.elapsed() < ASSET_TTL);
            if cache.len() >= MAX_CACHED_ASSETS {
                cache.clear();
            }
        }
        cache.insert(asset, (allowed, Instant::now()));
        Ok(allowed)
    }
}

/// The checks that need neither the store nor a signature.
fn check_intent(
    chain: &EvmChain,
    submission: &IntentSubmission,
    now: u64,
) -> Result<[u8; 65], ApiError> {
    if let Some(domain) = &submission.domain {
        if domain.chain_id != chain.chain_id {
            return Err(unprocessable(
                "wrong_chain",
                format!(
                    "signed for chain {}, this service settles on {}",
                    domain.chain_id, chain.chain_id
                ),
            ));
        }
        if domain.verifying_contract != chain.settlement {
            return Err(unprocessable(
                "wrong_contract",
                format!(
                    "signed for contract {}, the settlement contract is {}",
                    domain.verifying_contract, chain.settlement
                ),
            ));
        }
    }
    let intent = &submission.intent;
    if intent.amount.is_zero() {
        return Err(unprocessable("zero_amount", "the amount must be above zero"));
    }
    if intent.payer == intent.payee {
        return Err(unprocessable("payer_is_payee", "payer and payee are the same account"));
    }
    if intent.validUntil <= now {
        return Err(unprocessable(
            "intent_expired",
            format!("the intent expired at {}", intent.validUntil),
        ));
    }
    let digits = submission.signature.strip_prefix("0x").ok_or_else(|| {
        refusal(
            StatusCode::BAD_REQUEST,
            "bad_signature_encoding",
            "the signature must be 0x-prefixed hex",
        )
    })?;
    alloy::hex::decode(digits).ok().and_then(|bytes| <[u8; 65]>::try_from(bytes).ok()).ok_or_else(
        || {
            refusal(
                StatusCode::BAD_REQUEST,
                "bad_signature_encoding",
                "the signature must be 65 bytes of hex",
            )
        },
    )
}

fn signature_refusal(error: VerifyError) -> ApiError {
    match error {
        VerifyError::NotPayer { .. } => unprocessable("signature_mismatch", error.to_string()),
        VerifyError::Signature(SignatureError::HighS) => {
            unprocessable("signature_malleable", error.to_string())
        }
        VerifyError::Signature(_) => {
            refusal(StatusCode::BAD_REQUEST, "bad_signature_encoding", error.to_string())
        }
    }
}

fn acceptance_outcome(hash: B256, outcome: Acceptance) -> Result<IntentReceipt, ApiError> {
    let receipt = |batch_id, duplicate| IntentReceipt {
        intent_hash: format!("{hash:#x}"),
        batch_id,
        status: "accepted".to_owned(),
        duplicate,
    };
    match outcome {
        Acceptance::Accepted { batch_id } => Ok(receipt(batch_id, false)),
        Acceptance::Duplicate { batch_id } => Ok(receipt(batch_id, true)),
        Acceptance::NonceUsed => Err(refusal(
            StatusCode::CONFLICT,
            "nonce_used",
            "another intent of this payer already uses this nonce",
        )),
        Acceptance::BatchFull => {
            let mut error = refusal(
                StatusCode::SERVICE_UNAVAILABLE,
                "batch_full",
                "the open batch has no room for this intent's deltas; it is closing, send the intent again",
            );
            error.retry_after = Some(1);
            Err(error)
        }
        Acceptance::InsufficientBalance { available } => Err(unprocessable(
            "insufficient_balance",
            format!(
                "the payer can spend {available} of this asset (deposit less reserved and announced withdrawals)"
            ),
        )),
    }
}

/// Verifies and reserves a submission; one result per intent, in order.
async fn process(
    state: &AppState,
    chain: &EvmChain,
    submissions: Vec<IntentSubmission>,
) -> Result<Vec<Result<IntentReceipt, ApiError>>, ApiError> {
    let now = now();
    let mut results: Vec<Option<Result<IntentReceipt, ApiError>>> = vec![None; submissions.len()];
    let mut signed = Vec::new();
    let mut positions = Vec::new();
    // Shape, then signature, then the chain: an unsigned or badly signed
    // body must not cost an RPC call per intent.
    for (i, submission) in submissions.iter().enumerate() {
        match check_intent(chain, submission, u64::try_from(now).unwrap_or(0)) {
            Ok(signature) => {
                signed.push(SignedIntent { intent: submission.intent.clone(), signature });
                positions.push(i);
            }
            Err(error) => results[i] = Some(Err(error)),
        }
    }
    // Recovery dominates the cost of an intent: spread it over the cores,
    // off the async workers.
    let domain = settlement_domain(chain.chain_id, chain.settlement);
    let threads = std::thread::available_parallelism().unwrap_or(NonZeroUsize::MIN);
    let (signed, verified) = tokio::task::spawn_blocking(move || {
        let verified = verify_intents(&domain, &signed, threads);
        (signed, verified)
    })
    .await
    .map_err(ApiError::internal)?;
    let mut to_store = Vec::new();
    let mut stored_positions = Vec::new();
    for ((signed, verified), position) in signed.into_iter().zip(verified).zip(positions) {
        match verified {
            Ok(_) if !state.asset_allowed(chain, signed.intent.asset).await? => {
                results[position] = Some(Err(unprocessable(
                    "asset_not_allowed",
                    format!("{} is not a settlement asset", signed.intent.asset),
                )));
            }
            Ok(hash) => {
                to_store.push(NewIntent::new(hash, &signed.intent, signed.signature));
                stored_positions.push(position);
            }
            Err(error) => results[position] = Some(Err(signature_refusal(error))),
        }
    }
    if !to_store.is_empty() {
        let outcomes = state
            .store
            .accept_intents_within(&chain.caip2(), &to_store, now, chain.max_batch_deltas)
            .await?;
        cairn_settlement::failpoint("after_reservation").await;
        for ((intent, outcome), position) in to_store.iter().zip(outcomes).zip(stored_positions) {
            results[position] = Some(acceptance_outcome(intent.hash, outcome));
        }
    }
    Ok(results.into_iter().map(|r| r.expect("every intent has a result")).collect())
}

/// Submits one signed payment intent, or many as `{"intents": [...]}`.
#[utoipa::path(
    post, path = "/v1/intents", tag = "settlement",
    request_body(content = SubmissionSchema, description = "One `IntentSubmission`, or `{\"intents\": [IntentSubmission, …]}` (at most 1,000)"),
    responses(
        (status = 200, description = "One intent: its receipt. Many: a result per intent", body = SubmissionAnswerSchema),
        (status = 400, description = "Malformed", body = Problem),
        (status = 409, description = "Nonce already used (one intent)", body = Problem),
        (status = 422, description = "Refused (one intent): expired, wrong chain or contract, bad signature, asset not allowed, payer = payee, zero amount, insufficient balance", body = Problem),
    )
)]
pub(crate) async fn submit(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
    body: Result<axum::body::Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<axum::response::Response, ApiError> {
    let body = body.map_err(super::extract::body_rejection)?;
    let is_json = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !is_json {
        return Err(refusal(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the body as application/json",
        ));
    }
    use axum::response::IntoResponse;
    let chain = state.chains.first().cloned().ok_or_else(|| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "no_settlement_chain",
            "no settlement chain is configured",
        )
    })?;
    let body: SubmissionBody = super::extract::parse_json(&body)?;
    let intents = match body {
        SubmissionBody { intents: Some(intents), intent: None, signature: None, domain: None } => {
            intents
        }
        SubmissionBody {
            intents: None,
            intent: Some(intent),
            signature: Some(signature),
            domain,
        } => {
            let submission = IntentSubmission { intent, signature, domain };
            let result =
                process(&state, &chain, vec![submission]).await?.pop().expect("one result");
            return Ok(Json(result?).into_response());
        }
        _ => {
            return Err(unprocessable(
                "invalid_body",
                "send {intent, signature, domain?} or {intents: [...]}",
            ));
        }
    };
    if intents.is_empty() || intents.len() > MAX_INTENTS_PER_REQUEST {
        return Err(refusal(
            StatusCode::BAD_REQUEST,
            "too_many_intents",
            format!("send 1 to {MAX_INTENTS_PER_REQUEST} intents per request"),
        ));
    }
    let results = process(&state, &chain, intents).await?;
    let results: Vec<IntentResult> = results
        .into_iter()
        .enumerate()
        .map(|(index, result)| match result {
            Ok(receipt) => IntentResult { index, receipt: Some(receipt), code: None, detail: None },
            Err(error) => IntentResult {
                index,
                receipt: None,
                code: Some(error.code.to_owned()),
                detail: Some(error.detail),
            },
        })
        .collect();
    let accepted = results.iter().filter(|r| r.receipt.is_some()).count();
    Ok(Json(BatchSubmissionResponse { accepted, refused: results.len() - accepted, results })
        .into_response())
}

/// The two shapes of `POST /v1/intents`, for the API document; the
/// handler reads them in one pass as [`SubmissionBody`].
#[derive(Deserialize, ToSchema)]
#[serde(untagged)]
#[allow(dead_code)]
pub(crate) enum SubmissionSchema {
    One(IntentSubmission),
    Many(IntentBatch),
}

/// Many intents in one request.
#[derive(Deserialize, ToSchema)]
#[allow(dead_code)]
pub(crate) struct IntentBatch {
    /// 1 to 1,000 submissions.
    intents: Vec<IntentSubmission>,
}

/// The answers of `POST /v1/intents`: a receipt for one intent, a result
/// per intent for many.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
#[allow(dead_code)]
pub(crate) enum SubmissionAnswerSchema {
    One(IntentReceipt),
    Many(BatchSubmissionResponse),
}

/// Either shape of a submission, read in one pass.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SubmissionBody {
    intents: Option<Vec<IntentSubmission>>,
    #[serde(default, deserialize_with = "optional_intent_from_fields")]
    intent: Option<PaymentIntent>,
    signature: Option<String>,
    domain: Option<SignedDomain>,
}

/// An accepted intent and where it stands.
#[utoipa::path(
    get, path = "/v1/intents/{hash}", tag = "settlement",
    params(("hash" = String, Path, description = "The intent's EIP-712 digest")),
    responses(
        (status = 200, description = "The intent, with its inclusion proof once its batch is closed", body = IntentView),
        (status = 400, description = "Not a hash", body = Problem),
        (status = 404, description = "No such intent", body = Problem),
    )
)]
pub(crate) async fn intent(
    State(state): State<AppState>,
    Path(hash): Path<String>,
) -> Result<Json<IntentView>, ApiError> {
    let hash: B256 = hash.parse().map_err(|_| {
        ApiError::bad_request("invalid_hash", "the intent hash must be 0x and 64 hex digits")
    })?;
    for chain in &state.chains {
        if let Some(record) = state.store.intent(&chain.caip2(), &hash).await? {
            let intent = &record.intent;
            let inclusion = match record.status.as_str() {
                "accepted" => None,
                _ => inclusion(&state, &chain.caip2(), record.batch_id, &intent.hash).await?,
            };
            return Ok(Json(IntentView {
                intent_hash: format!("{:#x}", intent.hash),
                payer: intent.payer.to_checksum(None),
                payee: intent.payee.to_checksum(None),
                asset: intent.asset.to_checksum(None),
                amount: intent.amount.to_string(),
                nonce: intent.nonce.to_string(),
                valid_until: intent.valid_until,
                batch_id: record.batch_id,
                status: record.status,
                accepted_at: record.accepted_at,
                inclusion,
            }));
        }
    }
    Err(ApiError::not_found("intent_not_found", "no intent with that hash was accepted here"))
}

/// The intent's proof against its closed batch's intents root.
async fn inclusion(
    state: &AppState,
    chain: &str,
    batch_id: u64,
    digest: &B256,
) -> Result<Option<Inclusion>, ApiError> {
    let Some((batch, _)) = state.store.closed_batch(chain, batch_id).await? else {
        return Ok(None);
    };
    // Intents are sorted by digest in a closed batch.
    let Ok(index) = batch.intents.binary_search_by_key(digest, |i| i.digest) else {
        return Err(ApiError::internal(format!(
            "intent {digest} missing from closed batch {batch_id}"
        )));
    };
    let tree = batch.intents_tree();
    let proof = tree.proof(index).ok_or_else(|| ApiError::internal("proof index out of range"))?;
    Ok(Some(Inclusion {
        intents_root: format!("{:#x}", batch.body.intents_root),
        leaf: format!("{:#x}", cairn_core::netting::ClosedBatch::intent_leaf(digest)),
        index: proof.index,
        leaf_count: proof.leaf_count,
        siblings: proof.siblings.iter().map(|s| format!("{s:#x}")).collect(),
    }))
}
