//! `cairn deploy evm`.

use std::str::FromStr;

use alloy::{
    primitives::Address,
    providers::{Provider, ProviderBuilder},
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

pub(crate) async fn deploy_evm(config: &Config, args: &DeployEvmArgs) -> Result<(), CliError> {
    let rpc_url = crate::rpc_url(config, args.rpc.as_deref())?;
    let rpc = rpc_url.to_string();
    let stake_token = address("--stake-token", &args.stake_token)?;
    if stake_token.is_none() && !args.dev_token {
        return Err(CliError::BadArgument {
            flag: "--stake-token",
            message:
                "name the stake token with --stake-token ADDRESS, or deploy one with --dev-token"
                    .into(),
        });
    }
    let signer = crate::load_signer(args.key_file.as_deref(), DEPLOYER_KEY_VAR, "deployer")?;
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
