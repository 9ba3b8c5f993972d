//! Deploys Registry and Settlement (and, on local chains, a dev token) and
//! records where they are in a deployment file the service and the indexer
//! read.

use std::path::Path;

use alloy::{
    primitives::{Address, B256},
    providers::Provider,
};
use serde::{Deserialize, Serialize};

use crate::{DevToken, Registry, Settlement};

/// What to deploy. Addresses left `None` default to the deployer.
#[derive(Debug, Clone)]
pub struct DeployParams {
    /// Stake and settlement asset; `None` deploys a `DevToken` (local chains only).
    pub stake_token: Option<Address>,
    pub min_stake: u128,
    pub unbonding_period: u64,
    pub max_services_per_provider: u32,
    pub owner: Option<Address>,
    /// Address whose signatures slash: the threshold key's address.
    pub slasher: Address,
    pub treasury: Option<Address>,
    /// Address whose signatures settle batches.
    pub settlement_signer: Address,
    pub withdrawal_delay: u64,
    /// Assets the vault settles, besides the stake token.
    pub extra_assets: Vec<Address>,
}

/// Where the contracts are: written by the deployer, read by every process.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deployment {
    pub chain_id: u64,
    pub registry: Address,
    pub settlement: Address,
    pub stake_token: Address,
    /// Whether `stake_token` is a `DevToken` this deployment created.
    pub dev_token: bool,
    pub deployer: Address,
    pub owner: Address,
    /// Block of the first deployment transaction: where indexing starts.
    pub start_block: u64,
    pub registry_tx: B256,
    pub settlement_tx: B256,
}

#[derive(Debug, thiserror::Error)]
pub enum DeployError {
    #[error("RPC error while {step}: {message}")]
    Rpc { step: &'static str, message: String },
    #[error("{step} was mined but reverted (transaction {tx})")]
    Reverted { step: &'static str, tx: B256 },
    #[error("deployment file {path}: {message}")]
    File { path: String, message: String },
}

fn rpc(step: &'static str) -> impl Fn(String) -> DeployError {
    move |message| DeployError::Rpc { step, message }
}

/// Sends a call and waits for its receipt; a revert is an error.
macro_rules! send {
    ($step:literal, $call:expr) => {{
        let receipt = $call
            .send()
            .await
            .map_err(|e| rpc($step)(e.to_string()))?
            .get_receipt()
            .await
            .map_err(|e| rpc($step)(e.to_string()))?;
        if !receipt.status() {
            return Err(DeployError::Reverted { step: $step, tx: receipt.transaction_hash });
        }
        receipt
    }};
}

/// Deploys everything with `provider`'s default sender as the deployer.
pub async fn deploy<P: Provider + Clone>(
    provider: &P,
    deployer: Address,
    params: &DeployParams,
) -> Result<Deployment, DeployError> {
    let chain_id =
        provider.get_chain_id().await.map_err(|e| rpc("reading the chain id")(e.to_string()))?;
    let start_block = provider
        .get_block_number()
        .await
        .map_err(|e| rpc("reading the block number")(e.to_string()))?
        + 1;
    let owner = params.owner.unwrap_or(deployer);
    let treasury = params.treasury.unwrap_or(owner);

    let (stake_token, dev_token) = match params.stake_token {
        Some(token) => (token, false),
        None => {
            let token = DevToken::deploy(provider.clone())
                .await
                .map_err(|e| rpc("deploying DevToken")(e.to_string()))?;
            tracing::info!(address = %token.address(), "deployed DevToken");
            (*token.address(), true)
        }
    };

    let registry_deploy = Registry::deploy_builder(
        provider.clone(),
        stake_token,
        params.min_stake,
        params.unbonding_period,
        params.max_services_per_provider,
        owner,
        params.slasher,
        treasury,
    );
    let registry_receipt = send!("deploying Registry", registry_deploy);
    let registry = registry_receipt
        .contract_address
        .ok_or_else(|| rpc("deploying Registry")("receipt has no contract address".into()))?;
    tracing::info!(%registry, "deployed Registry");

    // The vault is owned by the deployer until its assets are allowed, then
    // handed to the owner, who must accept (two-step ownership).
    let settlement_deploy = Settlement::deploy_builder(
        provider.clone(),
        deployer,
        params.settlement_signer,
        params.withdrawal_delay,
    );
    let settlement_receipt = send!("deploying Settlement", settlement_deploy);
    let settlement_address = settlement_receipt
        .contract_address
        .ok_or_else(|| rpc("deploying Settlement")("receipt has no contract address".into()))?;
    tracing::info!(settlement = %settlement_address, "deployed Settlement");
    let settlement = Settlement::new(settlement_address, provider.clone());
    for asset in std::iter::once(stake_token).chain(params.extra_assets.iter().copied()) {
        send!("allowing a settlement asset", settlement.setAssetAllowed(asset, true));
    }
    if owner != deployer {
        send!("offering Settlement ownership", settlement.transferOwnership(owner));
        tracing::info!(%owner, "Settlement ownership offered; the owner must call acceptOwnership");
    }

    Ok(Deployment {
        chain_id,
        registry,
        settlement: settlement_address,
        stake_token,
        dev_token,
        deployer,
        owner,
        start_block,
        registry_tx: registry_receipt.transaction_hash,
        settlement_tx: settlement_receipt.transaction_hash,
    })
}

impl Deployment {
    /// Writes the file atomically (temporary file, then rename), so a reader
    /// never sees half of it.
    pub fn write(&self, path: &Path) -> Result<(), DeployError> {
        let fail =
            |message: String| DeployError::File { path: path.display().to_string(), message };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| fail(e.to_string()))?;
        }
        let text = serde_json::to_string_pretty(self).map_err(|e| fail(e.to_string()))?;
        let tmp = path.with_extension("json.tmp");
        std::fs::write(&tmp, text + "\n").map_err(|e| fail(e.to_string()))?;
        std::fs::rename(&tmp, path).map_err(|e| fail(e.to_string()))
    }

    pub fn read(path: &Path) -> Result<Self, DeployError> {
        let fail =
            |message: String| DeployError::File { path: path.display().to_string(), message };
        let text = std::fs::read_to_string(path).map_err(|e| fail(e.to_string()))?;
        serde_json::from_str(&text).map_err(|e| fail(e.to_string()))
    }
}
