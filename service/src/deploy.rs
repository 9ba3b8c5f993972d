//! `cairn deploy evm`.

use std::str::FromStr;

use alloy::{
    primitives::Address,
    providers::{Provider, ProviderBuilder},
    signers::local::PrivateKeySigner,
};
use cairn_bindings::{DeployParams, deploy};
use cairn_config::Config;

use crate::{CliError, cli::DeployEvmArgs};

/// Variable holding the deployer key when no `--key-file` is given.
pub(crate) const DEPLOYER_KEY_VAR: &str = "CAIRN_DEPLOYER_KEY";

fn address(flag: &'static str, text: &Option<String>) -> Result<Option<Address>, CliError> {
    text.as_deref()
        .map(|t| {
            Address::from_str(t).map_err(|_| CliError::BadArgument {
                flag,
                message: format!("`{t}` is not an address"),
            })
        })
        .transpose()
}

fn deployer_key(args: &DeployEvmArgs) -> Result<PrivateKeySigner, CliError> {
    let secret = match (&args.key_file, std::env::var(DEPLOYER_KEY_VAR)) {
        (Some(path), _) => cairn_signer::read_key_file(path)?,
        (None, Ok(hex)) => cairn_signer::parse_key_hex(&hex)?,
        (None, Err(_)) => {
            return Err(CliError::BadArgument {
                flag: "--key-file",
                message: format!("no deployer key: give --key-file PATH or set {DEPLOYER_KEY_VAR}"),
            });
        }
    };
    PrivateKeySigner::from_bytes(&secret.into())
        .map_err(|e| CliError::Signer(cairn_signer::SignerError::InvalidKey(e.to_string())))
}

pub(crate) async fn deploy_evm(config: &Config, args: &DeployEvmArgs) -> Result<(), CliError> {
    let rpc = match &args.rpc {
        Some(url) => url.clone(),
        None => config.evm.rpc_urls[0].to_string(),
    };
    let rpc_url = rpc.parse().map_err(|_| CliError::BadArgument {
        flag: "--rpc",
        message: format!("`{rpc}` is not a URL"),
    })?;
    let stake_token = address("--stake-token", &args.stake_token)?;
    if stake_token.is_none() && !args.dev_token {
        return Err(CliError::BadArgument {
            flag: "--stake-token",
            message:
                "name the stake token with --stake-token ADDRESS, or deploy one with --dev-token"
                    .into(),
        });
    }
    let signer = deployer_key(args)?;
    let deployer = signer.address();
    let provider = ProviderBuilder::new().wallet(signer).connect_http(rpc_url);

    let chain_id = provider
        .get_chain_id()
        .await
        .map_err(|e| CliError::Unreachable { url: rpc.clone(), message: e.to_string() })?;
    if chain_id != config.evm.chain_id {
        return Err(CliError::WrongChain {
            url: rpc,
            expected: config.evm.chain_id,
            actual: chain_id,
        });
    }

    let extra_assets = args
        .extra_assets
        .iter()
        .map(|a| address("--extra-asset", &Some(a.clone())).map(|o| o.expect("given")))
        .collect::<Result<Vec<_>, _>>()?;
    let params = DeployParams {
        stake_token,
        min_stake: args.min_stake,
        unbonding_period: args.unbonding_period,
        max_services_per_provider: args.max_services,
        owner: address("--owner", &args.owner)?,
        slasher: address("--slasher", &args.slasher)?.unwrap_or(deployer),
        treasury: address("--treasury", &args.treasury)?,
        settlement_signer: address("--settlement-signer", &args.settlement_signer)?
            .unwrap_or(deployer),
        withdrawal_delay: args.withdrawal_delay,
        extra_assets,
    };
    eprintln!("deploying to {rpc} (chain {chain_id}) from {deployer}");
    let deployment = deploy(&provider, deployer, &params).await?;
    let out = args.out.clone().unwrap_or_else(|| config.deployment_path());
    deployment.write(&out)?;
    println!("registry    {}", deployment.registry);
    println!("settlement  {}", deployment.settlement);
    println!(
        "stake token {}{}",
        deployment.stake_token,
        if deployment.dev_token { " (DevToken)" } else { "" }
    );
    println!("deployment  {}", out.display());
    Ok(())
}
