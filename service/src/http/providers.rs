//! What a provider's operator manages off chain: metadata attached to its
//! registration. Only the operator recorded on chain may write it.

use axum::{
    Json,
    extract::{Path, State},
    http::StatusCode,
};
use cairn_store::ProviderMetadata;
use serde::Deserialize;
use utoipa::ToSchema;

use super::{
    AppState,
    discovery::{ProviderView, parse_provider_id},
    extract::{ApiJson, AuthSession},
    now,
    problem::{ApiError, Problem},
};

const MAX_REGION: usize = 64;
const MAX_DESCRIPTION: usize = 1024;
const MAX_CONTACT: usize = 256;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MetadataUpdate {
    /// Where the endpoints run, e.g. `eu-west`.
    pub region: Option<String>,
    pub description: Option<String>,
    /// How to reach the operator (e-mail, URL).
    pub contact: Option<String>,
}

fn check_field(name: &str, value: &Option<String>, max: usize) -> Result<(), ApiError> {
    let Some(value) = value else { return Ok(()) };
    if value.chars().count() > max {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_metadata",
            format!("`{name}` is longer than {max} characters"),
        ));
    }
    if value.chars().any(|c| c.is_control() && c != '\n') {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_metadata",
            format!("`{name}` contains control characters"),
        ));
    }
    Ok(())
}

/// Replaces the metadata of a provider. The session's account must be the
/// provider's operator on the provider's registry chain.
#[utoipa::path(
    put, path = "/v1/providers/{id}/metadata", tag = "providers",
    params(("id" = String, Path, description = "CAIP-10 id of the provider")),
    request_body = MetadataUpdate,
    responses(
        (status = 200, description = "The provider with its new metadata", body = ProviderView),
        (status = 401, description = "No valid session", body = Problem),
        (status = 403, description = "Not this provider's operator", body = Problem),
        (status = 404, description = "No such provider", body = Problem),
        (status = 422, description = "Invalid metadata", body = Problem),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn set_metadata(
    State(state): State<AppState>,
    Path(id): Path<String>,
    session: AuthSession,
    ApiJson(update): ApiJson<MetadataUpdate>,
) -> Result<Json<ProviderView>, ApiError> {
    let (chain, address) = parse_provider_id(&id)?;
    check_field("region", &update.region, MAX_REGION)?;
    check_field("description", &update.description, MAX_DESCRIPTION)?;
    check_field("contact", &update.contact, MAX_CONTACT)?;
    // Read the store, not the cache: authorization must see the operator as
    // indexed now, not as it was a second ago.
    state.invalidate_discovery();
    let snapshot = state.snapshot().await?;
    let provider = snapshot
        .provider(&chain, &address)
        .ok_or_else(|| ApiError::not_found("provider_not_found", format!("no provider `{id}`")))?;
    let operator_account = format!("{chain}:{}", provider.operator);
    if !session.account.eq_ignore_ascii_case(&operator_account) {
        return Err(ApiError::forbidden(
            "not_provider_operator",
            format!("only the operator {} may change this provider's metadata", provider.operator),
        ));
    }
    state
        .store
        .set_provider_metadata(
            &chain,
            &address,
            &ProviderMetadata {
                region: update.region,
                description: update.description,
                contact: update.contact,
                updated_by: session.account,
                updated_at: now(),
            },
        )
        .await?;
    state.invalidate_discovery();
    let snapshot = state.snapshot().await?;
    let updated = snapshot
        .provider(&chain, &address)
        .cloned()
        .ok_or_else(|| ApiError::not_found("provider_not_found", format!("no provider `{id}`")))?;
    Ok(Json(updated))
}
