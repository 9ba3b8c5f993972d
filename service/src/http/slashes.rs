//! The slashing pipeline's orders, each with links to its evidence and
//! evidence receipt (`crates/slasher`).

use axum::{Json, extract::State};
use cairn_store::{SlashOrderFilter, SlashOrderRow, slash_stage};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{
    AppState,
    extract::ApiQuery,
    problem::{ApiError, Problem},
};

pub(crate) const DEFAULT_PAGE: u32 = 50;
const MAX_PAGE: u32 = 200;

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SlashView {
    /// CAIP-2 chain of the registry deployment the slash goes to.
    pub chain: String,
    /// The evidence the slash rests on.
    pub evidence_hash: String,
    /// `/v1/evidence/{hash}`: the whole record, for `cairn evidence verify`.
    pub evidence_url: String,
    /// Empty when the accused operator is no provider of this deployment.
    pub provider: String,
    pub operator: String,
    /// `conflicting_answers` or `quorum_mismatch`.
    pub kind: String,
    /// `Slash.reason`: 1 conflicting answers, 2 quorum mismatch.
    pub reason: u8,
    /// Stake token base units (decimal string).
    pub amount: String,
    /// `pending`, `receipt_written`, `uploaded`, `ordered`, `signed`,
    /// `submitted`, `slashed`; or an end without a slash: `refused`,
    /// `no_provider`, `nothing_to_slash`, `covered`, `failed`.
    pub stage: String,
    /// ANS-104 id (base64url) of the evidence receipt; `Slash.receiptId`.
    pub receipt_id: Option<String>,
    /// Where the receipt was read back, once stored.
    pub receipt_url: Option<String>,
    /// Orders issued before the current one (each after the previous expired).
    pub attempt: u64,
    /// The current order's nonce (decimal string) and deadline (Unix seconds).
    pub nonce: Option<String>,
    pub deadline: Option<u64>,
    /// The `Registry.slash` transaction, once sent.
    pub tx_hash: Option<String>,
    /// Why the last step did not move it, or why it ended without a slash.
    pub last_error: Option<String>,
    /// Unix seconds.
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SlashList {
    pub items: Vec<SlashView>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub(crate) struct SlashQuery {
    /// CAIP-2 chain of the deployment.
    chain: Option<String>,
    /// Provider address.
    provider: Option<String>,
    /// One stage (see `stage` in the response).
    stage: Option<String>,
    /// Page size, 1 to 200 (default 50).
    limit: Option<u32>,
}

const STAGES: [&str; 12] = [
    slash_stage::PENDING,
    slash_stage::RECEIPT_WRITTEN,
    slash_stage::UPLOADED,
    slash_stage::ORDERED,
    slash_stage::SIGNED,
    slash_stage::SUBMITTED,
    slash_stage::SLASHED,
    slash_stage::REFUSED,
    slash_stage::NO_PROVIDER,
    slash_stage::NOTHING_TO_SLASH,
    slash_stage::COVERED,
    slash_stage::FAILED,
];

/// Slash orders, newest first: every piece of evidence the pipeline
/// picked up, where it stands, and what it links to.
#[utoipa::path(
    get, path = "/v1/slashes", tag = "discovery",
    params(SlashQuery),
    responses(
        (status = 200, description = "Slash orders", body = SlashList),
        (status = 400, description = "Bad query", body = Problem),
    )
)]
pub(crate) async fn list(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<SlashQuery>,
) -> Result<Json<SlashList>, ApiError> {
    let limit = query.limit.unwrap_or(DEFAULT_PAGE);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(ApiError::bad_request(
            "invalid_query",
            format!("limit must be between 1 and {MAX_PAGE}"),
        ));
    }
    if let Some(stage) = &query.stage
        && !STAGES.contains(&stage.as_str())
    {
        return Err(ApiError::bad_request(
            "invalid_query",
            format!("stage must be one of {}", STAGES.join(", ")),
        ));
    }
    let provider = query
        .provider
        .as_deref()
        .map(|p| {
            p.parse::<alloy::primitives::Address>().map(|a| format!("{a:#x}")).map_err(|_| {
                ApiError::bad_request("invalid_query", "provider must be a 0x address")
            })
        })
        .transpose()?;
    let filter = SlashOrderFilter { chain: query.chain, provider, stage: query.stage, limit };
    Ok(Json(slash_list(&state, &filter).await?))
}

/// The slash orders `filter` selects, as `GET /v1/slashes` and the status
/// page show them.
pub(crate) async fn slash_list(
    state: &AppState,
    filter: &SlashOrderFilter,
) -> Result<SlashList, ApiError> {
    let rows = state.store.slash_orders(filter).await?;
    let mut items = Vec::with_capacity(rows.len());
    for row in rows {
        let receipt_url = match &row.receipt_id {
            Some(id) => state
                .store
                .outbox_entry(id)
                .await?
                .filter(|entry| entry.state == "confirmed")
                .and_then(|entry| entry.gateway)
                .map(|gateway| format!("{}/{id}", gateway.trim_end_matches('/'))),
            None => None,
        };
        items.push(view(row, receipt_url));
    }
    Ok(SlashList { items })
}

fn view(row: SlashOrderRow, receipt_url: Option<String>) -> SlashView {
    let evidence_hash = format!("{:#x}", row.evidence_hash);
    SlashView {
        chain: row.chain,
        evidence_url: format!("/v1/evidence/{evidence_hash}"),
        evidence_hash,
        provider: row.provider,
        operator: row.operator,
        kind: row.kind,
        reason: row.reason,
        amount: row.amount.to_string(),
        stage: row.stage,
        receipt_id: row.receipt_id,
        receipt_url,
        attempt: row.attempt,
        nonce: row.nonce.map(|n| n.to_string()),
        deadline: row.deadline,
        tx_hash: row.tx_hash.map(|h| format!("{h:#x}")),
        last_error: row.last_error,
        created_at: row.created_at,
        updated_at: row.updated_at,
    }
}
