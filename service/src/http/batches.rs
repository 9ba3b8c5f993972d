//! Closed batches and where each stands.

use axum::{
    Json,
    extract::{Path, State},
};
use cairn_store::BatchStatus;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{
    AppState,
    extract::ApiQuery,
    problem::{ApiError, Problem},
};

pub(crate) const DEFAULT_PAGE: u64 = 50;
const MAX_PAGE: u64 = 200;

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct BatchView {
    /// CAIP-2 chain of the settlement contract.
    pub chain: String,
    pub batch_id: u64,
    /// `closed` → `receipt_written` → `uploaded` (the receipt reads back
    /// from Arweave) → `submitted` (settlement transaction sent) → `settled`
    /// (its `BatchSettled` is indexed).
    pub stage: String,
    pub intent_count: u64,
    pub delta_count: u64,
    pub intents_root: String,
    pub deltas_root: String,
    /// Unix seconds.
    pub closed_at: i64,
    /// ANS-104 id of the receipt (base64url), once written.
    pub receipt_id: Option<String>,
    pub commitment_hash: Option<String>,
    /// The receipt's upload, once the receipt is written.
    pub upload: Option<UploadView>,
    /// The `settleBatch` transaction last sent (a fee bump replaces it).
    pub submitted_tx: Option<String>,
    /// The `settleBatch` transaction, once indexed.
    pub settled_tx: Option<String>,
    pub settled_block: Option<u64>,
}

/// Where a receipt's upload to Arweave stands.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct UploadView {
    /// `pending` (to post), `posted` (to read back), `confirmed` (read back
    /// and checked: id, signature, owner, tags, data).
    pub state: String,
    pub attempts: u64,
    /// The Arweave transaction carrying the receipt's bundle.
    pub arweave_tx: Option<String>,
    /// The bundler or gateway it was posted to; once confirmed, the gateway
    /// it was read back from.
    pub gateway: Option<String>,
    /// Where the receipt's data is served, once confirmed.
    pub url: Option<String>,
    /// Why the last attempt failed, if it did.
    pub last_error: Option<String>,
    /// Unix seconds of the next attempt, while not confirmed.
    pub next_attempt_at: Option<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct BatchList {
    pub items: Vec<BatchView>,
    /// Pass as `before` for the next (older) page.
    pub next_before: Option<u64>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub(crate) struct BatchQuery {
    /// Only batches with a smaller id (for paging back).
    before: Option<u64>,
    /// Page size, 1 to 200 (default 50).
    limit: Option<u64>,
}

fn view(chain: &str, status: BatchStatus) -> BatchView {
    BatchView {
        chain: chain.to_owned(),
        batch_id: status.batch_id,
        stage: status.stage,
        intent_count: status.intent_count,
        delta_count: status.delta_count,
        intents_root: format!("{:#x}", status.intents_root),
        deltas_root: format!("{:#x}", status.deltas_root),
        closed_at: status.closed_at,
        receipt_id: status.receipt_id.clone(),
        commitment_hash: status.commitment_hash.map(|h| format!("{h:#x}")),
        upload: status.upload.map(|upload| UploadView {
            url: upload
                .gateway
                .as_ref()
                .zip(status.receipt_id.as_ref())
                .filter(|_| upload.state == "confirmed")
                .map(|(gateway, id)| format!("{}/{id}", gateway.trim_end_matches('/'))),
            next_attempt_at: (upload.state != "confirmed").then_some(upload.next_attempt_at),
            state: upload.state,
            attempts: upload.attempts,
            arweave_tx: upload.tx_id,
            gateway: upload.gateway,
            last_error: upload.last_error,
        }),
        submitted_tx: status.submitted_tx,
        settled_tx: status.settled_tx,
        settled_block: status.settled_block,
    }
}

fn settlement_chain(state: &AppState) -> Result<String, ApiError> {
    state.chains.first().map(|c| c.caip2()).ok_or_else(|| {
        ApiError::new(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            "no_settlement_chain",
            "no settlement chain is configured",
        )
    })
}

/// Closed batches, newest first.
#[utoipa::path(
    get, path = "/v1/batches", tag = "settlement",
    params(BatchQuery),
    responses(
        (status = 200, description = "A page of batches", body = BatchList),
        (status = 400, description = "Bad query", body = Problem),
    )
)]
pub(crate) async fn batches(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<BatchQuery>,
) -> Result<Json<BatchList>, ApiError> {
    let limit = query.limit.unwrap_or(DEFAULT_PAGE);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(ApiError::bad_request(
            "invalid_query",
            format!("limit must be between 1 and {MAX_PAGE}"),
        ));
    }
    Ok(Json(batch_page(&state, query.before, limit).await?))
}

/// A page of batches, newest first, as `GET /v1/batches` and the status
/// page show them.
pub(crate) async fn batch_page(
    state: &AppState,
    before: Option<u64>,
    limit: u64,
) -> Result<BatchList, ApiError> {
    let chain = settlement_chain(state)?;
    let statuses = state.store.batch_statuses(&chain, before, limit).await?;
    let next_before =
        (statuses.len() as u64 == limit).then(|| statuses.last().map(|s| s.batch_id)).flatten();
    Ok(BatchList { items: statuses.into_iter().map(|s| view(&chain, s)).collect(), next_before })
}

/// One batch: its stage, roots, receipt and settlement transaction.
#[utoipa::path(
    get, path = "/v1/batches/{id}", tag = "settlement",
    params(("id" = u64, Path, description = "Batch id")),
    responses(
        (status = 200, description = "The batch", body = BatchView),
        (status = 400, description = "Not a batch id", body = Problem),
        (status = 404, description = "No such closed batch", body = Problem),
    )
)]
pub(crate) async fn batch(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<BatchView>, ApiError> {
    let id: u64 = id.parse().map_err(|_| {
        ApiError::bad_request("invalid_batch_id", "a batch id is a positive integer")
    })?;
    let chain = settlement_chain(&state)?;
    let mut statuses = state.store.batch_statuses(&chain, Some(id.saturating_add(1)), 1).await?;
    match statuses.pop() {
        Some(status) if status.batch_id == id => Ok(Json(view(&chain, status))),
        _ => Err(ApiError::not_found("batch_not_found", format!("no closed batch {id}"))),
    }
}
