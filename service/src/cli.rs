//! The `cairn` command line. Each subcommand's help is its documentation;
//! `docs/cli.md` collects them.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Cairn: a staked registry of RPC and service endpoints, with discovery,
/// a failover gateway, slashing and batched settlement.
#[derive(Debug, Parser)]
#[command(name = "cairn", version, propagate_version = true, max_term_width = 100)]
pub struct Cli {
    /// Configuration file (TOML). Defaults to `./cairn.toml` when it exists;
    /// `CAIRN_*` environment variables override its keys.
    #[arg(long, global = true, env = cairn_config::CONFIG_FILE_VAR, value_name = "PATH")]
    pub config: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the whole system locally: anvil with the contracts, indexer, service, local signer.
    Dev,
    /// Run the HTTP service: sign-in, discovery, gateway and settlement API.
    Serve,
    /// Follow the registry and settlement contracts into the store.
    Index,
    /// Deploy the Cairn contracts.
    #[command(subcommand)]
    Deploy(DeployCommand),
    /// Register and operate a provider.
    #[command(subcommand)]
    Provider(ProviderCommand),
    /// List the ranked endpoints serving a chain.
    Discover(DiscoverArgs),
    /// Sign in with an Ethereum key (SIWE) and print a session token.
    Login,
    /// Check a settled batch against its Arweave receipt and the chain.
    VerifyBatch(VerifyBatchArgs),
    /// Inspect the configuration this command line resolves to.
    #[command(subcommand)]
    Config(ConfigCommand),
}

#[derive(Debug, Subcommand)]
pub enum DeployCommand {
    /// Deploy Registry and Settlement to an EVM chain and write the deployment file.
    Evm,
}

#[derive(Debug, Subcommand)]
pub enum ProviderCommand {
    /// Stake and register as a provider.
    Register,
    /// Add a service endpoint to your registration.
    AddEndpoint,
    /// Remove one of your service endpoints.
    RemoveEndpoint,
    /// Start the unbonding delay for your stake.
    Unbond,
    /// Withdraw stake whose unbonding delay has passed.
    Withdraw,
    /// Run the signing proxy in front of your node.
    Serve,
}

#[derive(Debug, Args)]
pub struct DiscoverArgs {
    /// Chain as CAIP-2, for example `eip155:1`.
    pub chain: String,
    /// Kind of service.
    #[arg(long, default_value = "rpc")]
    pub kind: String,
}

#[derive(Debug, Args)]
pub struct VerifyBatchArgs {
    /// Batch id.
    pub id: u64,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print the effective configuration as TOML (defaults, file and environment merged).
    Show,
    /// Load and validate the configuration; print where it came from.
    Check,
}

impl Command {
    /// The command as a user typed it, for messages.
    pub fn display_name(&self) -> &'static str {
        match self {
            Self::Dev => "cairn dev",
            Self::Serve => "cairn serve",
            Self::Index => "cairn index",
            Self::Deploy(DeployCommand::Evm) => "cairn deploy evm",
            Self::Provider(p) => match p {
                ProviderCommand::Register => "cairn provider register",
                ProviderCommand::AddEndpoint => "cairn provider add-endpoint",
                ProviderCommand::RemoveEndpoint => "cairn provider remove-endpoint",
                ProviderCommand::Unbond => "cairn provider unbond",
                ProviderCommand::Withdraw => "cairn provider withdraw",
                ProviderCommand::Serve => "cairn provider serve",
            },
            Self::Discover(_) => "cairn discover",
            Self::Login => "cairn login",
            Self::VerifyBatch(_) => "cairn verify-batch",
            Self::Config(ConfigCommand::Show) => "cairn config show",
            Self::Config(ConfigCommand::Check) => "cairn config check",
        }
    }
}
