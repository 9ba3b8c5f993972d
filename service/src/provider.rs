//! `cairn provider …`: a provider's transactions against the registry.

use alloy::{
    network::EthereumWallet,
    primitives::{Address, B256, U256},
    providers::{DynProvider, Provider, ProviderBuilder},
    rpc::types::TransactionReceipt,
};
use cairn_bindings::{Deployment, DevToken, Registry, Registry::RegistryErrors};
use cairn_config::Config;

use crate::{
    CliError,
    cli::{
        AddEndpointArgs, ChainKeyArgs, ProviderCommand, ProviderServeArgs, RegisterArgs,
        RemoveEndpointArgs, UnbondArgs,
    },
};

/// Environment variable read when no `--key-file` is given.
pub(crate) const PROVIDER_KEY_VAR: &str = "CAIRN_PROVIDER_KEY";

/// A key connected to the deployment's chain, checked to be the chain the
/// deployment file was written for; shared by the provider and payer commands.
pub(crate) struct Session {
    pub(crate) signer: Address,
    pub(crate) rpc: DynProvider,
    pub(crate) deployment: Deployment,
}

impl Session {
    fn registry(&self) -> Registry::RegistryInstance<&DynProvider> {
        Registry::new(self.deployment.registry, &self.rpc)
    }
}

pub(crate) async fn provider(config: &Config, command: &ProviderCommand) -> Result<(), CliError> {
    match command {
        ProviderCommand::Register(args) => register(config, args).await,
        ProviderCommand::AddEndpoint(args) => add_endpoint(config, args).await,
        ProviderCommand::RemoveEndpoint(args) => remove_endpoint(config, args).await,
        ProviderCommand::Unbond(args) => unbond(config, args).await,
        ProviderCommand::Withdraw(args) => withdraw(config, args).await,
        ProviderCommand::Serve(args) => serve(args).await,
    }
}

/// `cairn provider serve`: everything but argument handling is in
/// `cairn-sidecar`.
async fn serve(args: &ProviderServeArgs) -> Result<(), CliError> {
    let secret = crate::load_secret(args.key_file.as_deref(), PROVIDER_KEY_VAR, "operator")?;
    let signer = cairn_signer::LocalSigner::from_bytes(&secret)?;
    let non_zero = |flag: &'static str, value: u64| {
        if value == 0 {
            Err(CliError::BadArgument { flag, message: "must be above zero".into() })
        } else {
            Ok(std::time::Duration::from_millis(value))
        }
    };
    let timeout = non_zero("--upstream-timeout-ms", args.upstream_timeout_ms)?;
    let poll = non_zero("--tip-poll-ms", args.tip_poll_ms)?;
    let mut config = cairn_sidecar::SidecarConfig::new(
        args.upstream.clone(),
        args.chain.clone(),
        std::sync::Arc::new(signer),
    )
    .with_tip_poll_interval(poll);
    config.upstream_ws = args.upstream_ws.clone();
    config.listen = args.listen;
    config.max_request_bytes = args.max_request_bytes;
    config.max_response_bytes = args.max_response_bytes;
    config.max_batch = args.max_batch;
    config.upstream_timeout = timeout;
    eprintln!(
        "cairn provider serve: signing answers for chain {} as operator {}",
        args.chain,
        cairn_signer::Signer::address(config.signer.as_ref()),
    );
    cairn_sidecar::run(config).await?;
    Ok(())
}

async fn connect(config: &Config, args: &ChainKeyArgs) -> Result<Session, CliError> {
    let signer = crate::load_signer(args.key_file.as_deref(), PROVIDER_KEY_VAR, "provider")?;
    connect_as(config, signer, args.rpc.as_deref()).await
}

/// Connects `signer` and checks the node serves the configured chain that
/// the deployment file was written for.
pub(crate) async fn connect_as(
    config: &Config,
    signer: alloy::signers::local::PrivateKeySigner,
    rpc_flag: Option<&str>,
) -> Result<Session, CliError> {
    let address = signer.address();
    let deployment = crate::read_deployment(config)?;
    let url = crate::rpc_url(config, rpc_flag)?;
    let rpc = ProviderBuilder::new()
        .wallet(EthereumWallet::from(signer))
        .connect_http(url.clone())
        .erased();
    let chain_id = rpc
        .get_chain_id()
        .await
        .map_err(|e| CliError::Unreachable { url: url.to_string(), message: e.to_string() })?;
    if chain_id != config.evm.chain_id || chain_id != deployment.chain_id {
        return Err(CliError::WrongChain {
            url: url.to_string(),
            expected: deployment.chain_id,
            actual: chain_id,
        });
    }
    Ok(Session { signer: address, rpc, deployment })
}

pub(crate) fn address_arg(
    flag: &'static str,
    text: Option<&str>,
    default: Address,
) -> Result<Address, CliError> {
    match text {
        None => Ok(default),
        Some(text) => text.parse().map_err(|_| CliError::BadArgument {
            flag,
            message: format!("`{text}` is not an address (0x and 40 hex digits)"),
        }),
    }
}

/// What the registry's custom errors mean, in words a provider can act on.
fn explain(error: &RegistryErrors) -> String {
    match error {
        RegistryErrors::StakeBelowMinimum(e) => {
            format!("insufficient stake: {} is below the registry minimum {}", e.stake, e.minimum)
        }
        RegistryErrors::AlreadyRegistered(_) => "this address is already registered".into(),
        RegistryErrors::NotRegistered(_) => "the provider is not registered".into(),
        RegistryErrors::NotOperator(_) => "the key is not this provider's operator".into(),
        RegistryErrors::InvalidEndpoint(e) => format!("invalid endpoint: {}", e.reason),
        RegistryErrors::ServiceExists(e) => {
            format!("endpoint {} is already registered", e.serviceId)
        }
        RegistryErrors::UnknownService(e) => {
            format!("no endpoint {} for this provider", e.serviceId)
        }
        RegistryErrors::TooManyServices(e) => {
            format!("a provider may list at most {} endpoints", e.maximum)
        }
        RegistryErrors::UnbondExceedsStake(e) => {
            format!("cannot unbond {}: the stake is {}", e.requested, e.stake)
        }
        RegistryErrors::UnbondLeavesBelowMinimum(e) => format!(
            "insufficient stake: unbonding leaves {}, below the minimum {} (unbond everything to exit)",
            e.remaining, e.minimum
        ),
        RegistryErrors::NothingUnbonding(_) => "nothing is unbonding".into(),
        RegistryErrors::StillUnbonding(e) => {
            format!("still unbonding: withdrawable at {} (now {})", e.releaseAt, e.now_)
        }
        RegistryErrors::ZeroAmount(_) => "the amount must be above zero".into(),
        RegistryErrors::ZeroAddress(_) => "the address must not be zero".into(),
        other => format!("{other:?}"),
    }
}

async fn send<P: Provider, D: alloy::contract::CallDecoder>(
    action: &'static str,
    call: alloy::contract::CallBuilder<P, D>,
) -> Result<TransactionReceipt, CliError> {
    send_explained(action, call, explain).await
}

/// Sends a transaction and waits for it; a revert with one of the
/// contract's custom errors `E` is told in words by `explain`.
pub(crate) async fn send_explained<P: Provider, D: alloy::contract::CallDecoder, E>(
    action: &'static str,
    call: alloy::contract::CallBuilder<P, D>,
    explain: fn(&E) -> String,
) -> Result<TransactionReceipt, CliError>
where
    E: alloy::sol_types::SolInterface,
{
    let rejected = |reason: String| CliError::Rejected { action, reason };
    let pending = match call.send().await {
        Ok(pending) => pending,
        Err(error) => {
            return Err(match error.as_decoded_interface_error::<E>() {
                Some(decoded) => rejected(explain(&decoded)),
                None => rejected(error.to_string()),
            });
        }
    };
    let receipt = pending.get_receipt().await.map_err(|e| rejected(e.to_string()))?;
    if !receipt.status() {
        return Err(rejected(format!("transaction {} reverted", receipt.transaction_hash)));
    }
    Ok(receipt)
}

pub(crate) fn mined(receipt: &TransactionReceipt) -> String {
    format!("tx {}, block {}", receipt.transaction_hash, receipt.block_number.unwrap_or_default())
}

async fn register(config: &Config, args: &RegisterArgs) -> Result<(), CliError> {
    let session = connect(config, &args.chain).await?;
    let operator = address_arg("--operator", args.operator.as_deref(), session.signer)?;
    let registry = session.registry();
    let stake = U256::from(args.stake);
    let minimum = U256::from(registry.minStake().call().await.map_err(unreachable)?);
    if stake < minimum {
        return Err(CliError::Rejected {
            action: "register",
            reason: format!("insufficient stake: {stake} is below the registry minimum {minimum}"),
        });
    }
    // Before any transaction: a registered provider would otherwise pay for
    // an `approve` only to see `register` revert.
    let existing = registry.providerOf(session.signer).call().await.map_err(unreachable)?;
    if existing.registered {
        return Err(CliError::Rejected {
            action: "register",
            reason: format!(
                "{} is already registered (operator {}, stake {}); use add-endpoint to list endpoints",
                session.signer, existing.operator, existing.stake
            ),
        });
    }
    let token = DevToken::new(session.deployment.stake_token, &session.rpc);
    let balance = token.balanceOf(session.signer).call().await.map_err(unreachable)?;
    if balance < stake {
        return Err(CliError::Rejected {
            action: "register",
            reason: format!(
                "insufficient balance: {} holds {balance} of the stake token {}, needs {stake}",
                session.signer, session.deployment.stake_token
            ),
        });
    }
    let allowance = token
        .allowance(session.signer, session.deployment.registry)
        .call()
        .await
        .map_err(unreachable)?;
    if allowance < stake {
        let receipt = send("approve", token.approve(session.deployment.registry, stake)).await?;
        eprintln!("approved the registry to take {stake} ({})", mined(&receipt));
    }
    let receipt = send("register", registry.register(operator, stake)).await?;
    println!(
        "registered provider {} with operator {operator} and stake {stake} ({})",
        session.signer,
        mined(&receipt)
    );
    Ok(())
}

async fn add_endpoint(config: &Config, args: &AddEndpointArgs) -> Result<(), CliError> {
    let session = connect(config, &args.chain).await?;
    let provider = address_arg("--provider", args.provider.as_deref(), session.signer)?;
    let metadata_hash = match &args.metadata_hash {
        None => B256::ZERO,
        Some(text) => text.parse().map_err(|_| CliError::BadArgument {
            flag: "--metadata-hash",
            message: format!("`{text}` is not 32 bytes of hex"),
        })?,
    };
    args.service_chain
        .parse::<cairn_core::ChainId>()
        .map_err(|e| CliError::BadArgument { flag: "--chain", message: e.to_string() })?;
    let registry = session.registry();
    let receipt = send(
        "add-endpoint",
        registry.addService(
            provider,
            args.service_chain.clone(),
            args.kind.clone(),
            args.url.clone(),
            metadata_hash,
        ),
    )
    .await?;
    let service_id = receipt
        .decoded_log::<Registry::ServiceAdded>()
        .map(|log| log.data.serviceId)
        .unwrap_or_default();
    println!(
        "added endpoint {service_id} ({} {} {}) ({})",
        args.service_chain,
        args.kind,
        args.url,
        mined(&receipt)
    );
    Ok(())
}

async fn remove_endpoint(config: &Config, args: &RemoveEndpointArgs) -> Result<(), CliError> {
    let session = connect(config, &args.chain).await?;
    let provider = address_arg("--provider", args.provider.as_deref(), session.signer)?;
    let service_id: B256 = args.service_id.parse().map_err(|_| CliError::BadArgument {
        flag: "--service-id",
        message: format!("`{}` is not 32 bytes of hex", args.service_id),
    })?;
    let receipt =
        send("remove-endpoint", session.registry().removeService(provider, service_id)).await?;
    println!("removed endpoint {service_id} ({})", mined(&receipt));
    Ok(())
}

async fn unbond(config: &Config, args: &UnbondArgs) -> Result<(), CliError> {
    let session = connect(config, &args.chain).await?;
    let receipt = send("unbond", session.registry().unbond(U256::from(args.amount))).await?;
    let release = receipt
        .decoded_log::<Registry::UnbondStarted>()
        .map(|log| log.data.releaseAt)
        .unwrap_or_default();
    println!(
        "unbonding {}; withdrawable from unix time {release} ({})",
        args.amount,
        mined(&receipt)
    );
    Ok(())
}

async fn withdraw(config: &Config, args: &ChainKeyArgs) -> Result<(), CliError> {
    let session = connect(config, args).await?;
    let receipt = send("withdraw", session.registry().withdraw()).await?;
    let (amount, exited) = receipt
        .decoded_log::<Registry::Withdrawn>()
        .map(|log| (log.data.amount, log.data.exited))
        .unwrap_or_default();
    let note = if exited { "; the provider has left the registry" } else { "" };
    println!("withdrew {amount}{note} ({})", mined(&receipt));
    Ok(())
}

fn unreachable(error: impl std::fmt::Display) -> CliError {
    CliError::Rejected { action: "read the registry", reason: error.to_string() }
}
