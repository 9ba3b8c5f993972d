//! Evidence records against providers, as the gateway stored them.

use axum::{
    Json,
    extract::{Path, State},
};
use cairn_core::evidence::Evidence;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{
    AppState,
    extract::ApiQuery,
    problem::{ApiError, Problem},
};

const DEFAULT_PAGE: u32 = 50;
const MAX_PAGE: u32 = 200;

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct EvidenceSummary {
    /// keccak256 of the record's canonical JSON; `GET /v1/evidence/{hash}`.
    pub hash: String,
    pub chain: String,
    /// `conflicting_answers` or `quorum_mismatch`.
    pub kind: String,
    /// The operator the evidence is against.
    pub accused: String,
    pub block_number: u64,
    /// Unix seconds.
    pub recorded_at: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct EvidenceList {
    pub items: Vec<EvidenceSummary>,
    /// Pass as `before` for the next page; absent on the last.
    pub next_before: Option<i64>,
}

/// An evidence record as `cairn_core::evidence::Evidence` writes it (the
/// shape `cairn evidence verify` reads); for the API description only.
#[derive(Debug, Serialize, ToSchema)]
#[allow(dead_code)]
pub(crate) struct EvidenceRecord {
    /// Format version, 1.
    version: u8,
    /// CAIP-2 chain the answers are about.
    chain: String,
    /// `conflicting_answers` or `quorum_mismatch`.
    kind: String,
    /// For `quorum_mismatch`: how many distinct other operators must agree.
    k: Option<u32>,
    /// The operator the evidence is against.
    accused: String,
    /// Response fields left out of the comparison.
    ignored_fields: Vec<String>,
    answers: Vec<EvidenceAnswer>,
}

/// One signed answer as the gateway received it.
#[derive(Debug, Serialize, ToSchema)]
#[allow(dead_code)]
pub(crate) struct EvidenceAnswer {
    /// The operator the answer is attributed to.
    operator: String,
    /// Where it came from, for people.
    endpoint: Option<String>,
    /// The JSON-RPC call as sent.
    #[schema(value_type = Object)]
    request: serde_json::Value,
    /// The JSON-RPC answer as received.
    #[schema(value_type = Object)]
    response: serde_json::Value,
    /// The `cairn-answer` header: `v1; chain=…; block=…; hash=…; sig=…`.
    header: String,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub(crate) struct EvidenceQuery {
    /// CAIP-2 chain.
    chain: Option<String>,
    /// Operator address.
    accused: Option<String>,
    /// Only records older than this (Unix seconds).
    before: Option<i64>,
    /// Page size, 1 to 200 (default 50).
    limit: Option<u32>,
}

/// Evidence records, newest first.
#[utoipa::path(
    get, path = "/v1/evidence", tag = "discovery",
    params(EvidenceQuery),
    responses(
        (status = 200, description = "A page of evidence records", body = EvidenceList),
        (status = 400, description = "Bad query", body = Problem),
    )
)]
pub(crate) async fn list(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<EvidenceQuery>,
) -> Result<Json<EvidenceList>, ApiError> {
    let limit = query.limit.unwrap_or(DEFAULT_PAGE);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(ApiError::bad_request(
            "invalid_query",
            format!("limit must be between 1 and {MAX_PAGE}"),
        ));
    }
    let accused = query
        .accused
        .as_deref()
        .map(|a| {
            a.parse::<alloy::primitives::Address>()
                .map(|a| format!("{a:#x}"))
                .map_err(|_| ApiError::bad_request("invalid_query", "accused must be a 0x address"))
        })
        .transpose()?;
    let rows = state
        .store
        .list_evidence(&cairn_store::EvidenceFilter {
            chain: query.chain,
            accused,
            before: query.before,
            limit,
        })
        .await?;
    let next_before =
        (rows.len() == limit as usize).then(|| rows.last().map(|r| r.recorded_at)).flatten();
    let items = rows
        .into_iter()
        .map(|r| EvidenceSummary {
            hash: format!("{:#x}", r.hash),
            chain: r.chain,
            kind: r.kind,
            accused: r.accused,
            block_number: r.block_number,
            recorded_at: r.recorded_at,
        })
        .collect();
    Ok(Json(EvidenceList { items, next_before }))
}

/// One evidence record, whole: save it and run `cairn evidence verify FILE`.
#[utoipa::path(
    get, path = "/v1/evidence/{hash}", tag = "discovery",
    params(("hash" = String, Path, description = "0x and 64 hex digits")),
    responses(
        (status = 200, description = "The record (cairn_core::evidence::Evidence as JSON)", body = EvidenceRecord),
        (status = 400, description = "Not a hash", body = Problem),
        (status = 404, description = "No such record", body = Problem),
    )
)]
pub(crate) async fn record(
    State(state): State<AppState>,
    Path(hash): Path<String>,
) -> Result<Json<Evidence>, ApiError> {
    let parsed: alloy::primitives::B256 = hash.parse().map_err(|_| {
        ApiError::bad_request("invalid_hash", format!("`{hash}` is not 0x and 64 hex digits"))
    })?;
    let row = state.store.evidence(&parsed).await?.ok_or_else(|| {
        ApiError::not_found("evidence_not_found", format!("no evidence record {hash}"))
    })?;
    Ok(Json(row.evidence))
}
