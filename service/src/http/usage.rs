//! `GET /v1/usage`: what the signed-in wallet called through the gateway,
//! what that costs at the configured prices, and how much of it the
//! wallet's accepted payment intents already cover.

use std::collections::BTreeMap;

use alloy::primitives::{Address, U256};
use axum::{Json, extract::State, http::StatusCode};
use cairn_config::PricingConfig;
use cairn_gateway::MethodClass;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{
    AppState,
    discovery::parse_provider_id,
    extract::AuthSession,
    problem::{ApiError, Problem},
};

/// Calls of one method class served on one chain.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct ClassUsage {
    /// CAIP-2 chain the calls were served on.
    pub chain: String,
    /// `read`, `heavy` or `write` (see docs/api.md).
    pub class: String,
    pub calls: u64,
    /// In the asset's smallest unit, decimal.
    pub price_per_call: String,
    /// `calls × price_per_call`, decimal.
    pub owed: String,
    /// Unix seconds of the first and the last call counted.
    pub first_seen: i64,
    pub last_seen: i64,
}

/// The EIP-712 domain intents paying this provider are signed under.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct SettlementDomainView {
    pub chain_id: u64,
    /// The settlement contract.
    pub verifying_contract: String,
}

/// What the wallet owes one provider.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct ProviderUsage {
    /// CAIP-10 id of the provider (registry chain and address).
    pub provider: String,
    /// The account payment intents pay: the provider's address.
    pub payee: String,
    /// Absent when this service does not settle the provider's registry chain.
    pub settlement: Option<SettlementDomainView>,
    pub classes: Vec<ClassUsage>,
    /// Sum of the classes' `owed`, decimal.
    pub owed: String,
    /// Sum of the wallet's accepted payment intents to `payee` in `asset`
    /// (settled or not), decimal.
    pub paid: String,
    /// `owed − paid`, never below zero, decimal.
    pub unpaid: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct UsageResponse {
    /// The signed-in CAIP-10 account.
    pub wallet: String,
    /// ERC-20 contract prices and amounts are in.
    pub asset: String,
    pub providers: Vec<ProviderUsage>,
    /// Sums over the providers, decimal.
    pub owed: String,
    pub paid: String,
    pub unpaid: String,
}

pub(crate) fn price(pricing: &PricingConfig, class: MethodClass) -> U256 {
    U256::from(match class {
        MethodClass::Read => pricing.read,
        MethodClass::Heavy => pricing.heavy,
        MethodClass::Write => pricing.write,
    })
}

/// The EVM address of a CAIP-10 `eip155` account; None for other kinds.
fn evm_address(account: &str) -> Option<Address> {
    let (chain, address) = account.rsplit_once(':')?;
    chain.starts_with("eip155:").then(|| address.parse().ok()).flatten()
}

/// The signed-in wallet's metered calls per provider and class, priced, with
/// what its accepted intents already paid each provider.
#[utoipa::path(
    get, path = "/v1/usage", tag = "settlement",
    responses(
        (status = 200, description = "Usage, amounts owed, paid and unpaid per provider", body = UsageResponse),
        (status = 401, description = "No valid session", body = Problem),
        (status = 503, description = "No pricing asset is configured (`gateway.pricing.asset`)", body = Problem),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn usage(
    State(state): State<AppState>,
    session: AuthSession,
) -> Result<Json<UsageResponse>, ApiError> {
    let asset = state.usage_asset.ok_or_else(|| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "pricing_unconfigured",
            "this service has no pricing asset (gateway.pricing.asset)",
        )
    })?;
    // Counts still in this replica's memory are written first, so a wallet
    // sees the calls it just made (and pays for them).
    if let Some(gateway) = &state.gateway
        && let Err(error) = gateway.flush_usage().await
    {
        tracing::warn!(%error, "usage could not be written before reading it");
    }
    let rows = state.store.usage(&session.account).await?;
    let pricing = &state.usage_pricing;
    let payer = evm_address(&session.account);
    let mut by_provider: BTreeMap<String, Vec<ClassUsage>> = BTreeMap::new();
    let mut owed_by_provider: BTreeMap<String, U256> = BTreeMap::new();
    for row in rows {
        // A class this version no longer knows is not priced.
        let Some(class) = MethodClass::parse(&row.class) else { continue };
        let each = price(pricing, class);
        let owed = each.saturating_mul(U256::from(row.calls));
        let total = owed_by_provider.entry(row.provider.clone()).or_default();
        *total = total.saturating_add(owed);
        by_provider.entry(row.provider).or_default().push(ClassUsage {
            chain: row.chain,
            class: row.class,
            calls: row.calls,
            price_per_call: each.to_string(),
            owed: owed.to_string(),
            first_seen: row.first_seen,
            last_seen: row.last_seen,
        });
    }
    // Intents are per registry chain: read each chain's payments once.
    let mut paid_on: BTreeMap<String, BTreeMap<Address, U256>> = BTreeMap::new();
    let mut providers = Vec::new();
    let (mut owed_sum, mut paid_sum, mut unpaid_sum) = (U256::ZERO, U256::ZERO, U256::ZERO);
    for (provider, classes) in by_provider {
        let Ok((registry_chain, address)) = parse_provider_id(&provider) else { continue };
        let Ok(payee) = address.parse::<Address>() else { continue };
        let settled_by = state.chain(&registry_chain);
        let paid = match (payer, settled_by) {
            (Some(payer), Some(_)) => {
                if !paid_on.contains_key(&registry_chain) {
                    let paid = state.store.paid_by(&registry_chain, &payer, &asset).await?;
                    paid_on.insert(registry_chain.clone(), paid);
                }
                paid_on[&registry_chain].get(&payee).copied().unwrap_or_default()
            }
            _ => U256::ZERO,
        };
        let owed = owed_by_provider.get(&provider).copied().unwrap_or_default();
        let unpaid = owed.saturating_sub(paid);
        owed_sum = owed_sum.saturating_add(owed);
        paid_sum = paid_sum.saturating_add(paid);
        unpaid_sum = unpaid_sum.saturating_add(unpaid);
        providers.push(ProviderUsage {
            provider,
            payee: payee.to_checksum(None),
            settlement: settled_by.map(|chain| SettlementDomainView {
                chain_id: chain.chain_id,
                verifying_contract: chain.settlement.to_checksum(None),
            }),
            classes,
            owed: owed.to_string(),
            paid: paid.to_string(),
            unpaid: unpaid.to_string(),
        });
    }
    Ok(Json(UsageResponse {
        wallet: session.account,
        asset: asset.to_checksum(None),
        providers,
        owed: owed_sum.to_string(),
        paid: paid_sum.to_string(),
        unpaid: unpaid_sum.to_string(),
    }))
}
