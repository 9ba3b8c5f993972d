#![doc = include_str!("../README.md")]

pub mod cli;
mod deploy;
mod discover;
mod evidence;
pub mod http;
mod index;
mod login;
mod pay;
mod provider;
pub mod serve;
mod signer;
mod signing;
mod slashing;
mod verify;

use std::path::{Path, PathBuf};

use cairn_config::{Config, ConfigError, LogFormat};
use cli::{Cli, Command, ConfigCommand, DeployCommand};

/// Process exit codes of the `cairn` binary.
pub mod exit {
    /// A runtime failure (chain unreachable, transaction reverted, …).
    pub const FAILURE: u8 = 1;
    /// Bad usage or bad configuration: fix the input and run again.
    pub const USAGE: u8 = 2;
    /// The command exists but this build does not provide it yet (sysexits `EX_UNAVAILABLE`).
    pub const UNAVAILABLE: u8 = 69;
    /// A backend is temporarily unavailable (too few signer parties): retry later (sysexits `EX_TEMPFAIL`).
    pub const TEMPFAIL: u8 = 75;
}

/// File looked for in the working directory when no `--config` is given.
pub const DEFAULT_CONFIG_FILE: &str = "cairn.toml";

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("invalid configuration: key `log.filter`: {message}")]
    LogFilter { message: String },
    #[error("`{command}` is not yet available in this build of cairn")]
    NotYetAvailable { command: &'static str },
    #[error("{flag}: {message}")]
    BadArgument { flag: &'static str, message: String },
    #[error(transparent)]
    Signer(#[from] cairn_signer::SignerError),
    #[error("cannot reach {url}: {message}")]
    Unreachable { url: String, message: String },
    #[error(
        "{url} serves chain {actual}, but the configuration expects chain {expected} (evm.chain_id)"
    )]
    WrongChain { url: String, expected: u64, actual: u64 },
    #[error(transparent)]
    Deploy(#[from] cairn_bindings::DeployError),
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
    #[error(transparent)]
    Store(#[from] cairn_store::StoreError),
    #[error(transparent)]
    Indexer(#[from] cairn_indexer::IndexerError),
    #[error("no deployment file at {path}: {hint}")]
    NoDeployment { path: std::path::PathBuf, hint: String },
    #[error("no endpoints of kind `{kind}` are registered for {chain}")]
    NoEndpoints { chain: String, kind: String },
    #[error("{action} refused: {reason}")]
    Rejected { action: &'static str, reason: String },
    #[error(transparent)]
    Client(#[from] cairn_client::ClientError),
    #[error("batch {batch_id} failed {failed} of its checks")]
    VerificationFailed { batch_id: u64, failed: usize },
    #[error(transparent)]
    Verify(#[from] cairn_settlement::VerifyBatchError),
    #[error("evidence {path} does not verify: {message}")]
    EvidenceInvalid { path: std::path::PathBuf, message: String },
    #[error(transparent)]
    Sidecar(#[from] cairn_sidecar::SidecarError),
    #[error(transparent)]
    Threshold(#[from] cairn_threshold::ThresholdError),
    #[error("cannot listen on {address}: {source}")]
    Listen {
        address: std::net::SocketAddr,
        #[source]
        source: std::io::Error,
    },
}

impl CliError {
    /// The usual cause of a missing deployment in a second shell is a dev
    /// stack whose files live in its own directory; say so rather than send
    /// the user to deploy again.
    pub(crate) fn no_deployment(path: std::path::PathBuf) -> Self {
        let dev_dir = std::env::var_os("CAIRN_DEV_DIR")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| std::path::PathBuf::from(".cairn/dev"));
        let env_file = dev_dir.join("env");
        let hint = if env_file.is_file() {
            format!(
                "a dev stack (scripts/dev) keeps its deployment in {}; run `source {}` in this shell first",
                dev_dir.display(),
                env_file.display()
            )
        } else {
            "run `cairn deploy evm` first, or set evm.deployment_file".to_owned()
        };
        Self::NoDeployment { path, hint }
    }

    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Config(_)
            | Self::LogFilter { .. }
            | Self::BadArgument { .. }
            | Self::Signer(_)
            | Self::NoDeployment { .. }
            | Self::Sidecar(
                cairn_sidecar::SidecarError::UpstreamScheme(_)
                | cairn_sidecar::SidecarError::UpstreamWsScheme(_)
                | cairn_sidecar::SidecarError::UnsupportedChain(_),
            ) => exit::USAGE,
            Self::NotYetAvailable { .. } => exit::UNAVAILABLE,
            Self::Threshold(e) => match e {
                cairn_threshold::ThresholdError::Unavailable(_) => exit::TEMPFAIL,
                cairn_threshold::ThresholdError::Config(_)
                | cairn_threshold::ThresholdError::Permissions { .. }
                | cairn_threshold::ThresholdError::Malformed { .. } => exit::USAGE,
                _ => exit::FAILURE,
            },
            Self::Unreachable { .. }
            | Self::WrongChain { .. }
            | Self::Deploy(_)
            | Self::Runtime(_)
            | Self::Store(_)
            | Self::Indexer(_)
            | Self::Rejected { .. }
            | Self::Client(_)
            | Self::VerificationFailed { .. }
            | Self::Verify(_)
            | Self::EvidenceInvalid { .. }
            | Self::Sidecar(_)
            | Self::Listen { .. }
            | Self::NoEndpoints { .. } => exit::FAILURE,
        }
    }
}

/// Runs one parsed command line.
pub fn run(cli: Cli) -> Result<(), CliError> {
    let config_file = resolve_config_file(cli.config.as_deref());
    let config = cairn_config::load_from_env(config_file.as_deref())?;
    init_tracing(&config)?;

    match cli.command {
        Command::Config(ConfigCommand::Show) => {
            print!("{}", config.to_toml());
            Ok(())
        }
        Command::Config(ConfigCommand::Check) => {
            match &config_file {
                Some(path) => {
                    println!("configuration ok: {} with environment overrides", path.display())
                }
                None => println!("configuration ok: built-in defaults with environment overrides"),
            }
            Ok(())
        }
        Command::Deploy(DeployCommand::Evm(args)) => block_on(deploy::deploy_evm(&config, &args))?,
        Command::Index(args) => block_on(index::index(&config, &args))?,
        Command::Serve => block_on(serve::serve(&config))?,
        Command::Provider(command) => block_on(provider::provider(&config, &command))?,
        Command::Pay(command) => block_on(pay::pay(&config, &command))?,
        Command::Discover(args) => block_on(discover::discover(&config, &args))?,
        Command::Login(args) => block_on(login::login(&config, &args))?,
        Command::VerifyBatch(args) => block_on(verify::verify_batch(&config, &args))?,
        Command::Evidence(cli::EvidenceCommand::Verify(args)) => evidence::verify(&args),
        Command::Slash(cli::SlashCommand::Status(args)) => {
            block_on(slashing::status(&config, &args))?
        }
        Command::Signer(command) => block_on(signer::signer(&command))?,
        Command::Store(cli::StoreCommand::Backup(args)) => block_on(store_backup(&config, &args))?,
        other => Err(CliError::NotYetAvailable { command: other.display_name() }),
    }
}

/// `cairn store backup`: the embedded store, copied as of one instant.
async fn store_backup(config: &Config, args: &cli::StoreBackupArgs) -> Result<(), CliError> {
    if config.store.url.is_some() {
        return Err(CliError::BadArgument {
            flag: "store.url",
            message: "the store is PostgreSQL: back it up with pg_dump (docs/operations.md)".into(),
        });
    }
    let store = cairn_store::Store::open_configured(None, &config.data_dir).await?;
    let copied = store.backup_to(&args.out).await;
    store.close().await;
    copied?;
    println!(
        "backed up {} to {}",
        config.data_dir.join(cairn_store::SQLITE_FILE).display(),
        args.out.display()
    );
    Ok(())
}

/// A signing key from `key_file` (mode 600 enforced) or, without one, from
/// the environment variable `env_var`; never from a flag's value.
pub(crate) fn load_signer(
    key_file: Option<&Path>,
    env_var: &str,
    role: &str,
) -> Result<alloy::signers::local::PrivateKeySigner, CliError> {
    let secret = load_secret(key_file, env_var, role)?;
    alloy::signers::local::PrivateKeySigner::from_bytes(&secret.into())
        .map_err(|e| CliError::Signer(cairn_signer::SignerError::InvalidKey(e.to_string())))
}

/// The secret behind [`load_signer`], for signers that are not alloy's.
pub(crate) fn load_secret(
    key_file: Option<&Path>,
    env_var: &str,
    role: &str,
) -> Result<[u8; 32], CliError> {
    Ok(match (key_file, std::env::var(env_var)) {
        (Some(path), _) => cairn_signer::read_key_file(path)?,
        (None, Ok(hex)) => cairn_signer::parse_key_hex(&hex)?,
        (None, Err(_)) => {
            return Err(CliError::BadArgument {
                flag: "--key-file",
                message: format!("no {role} key: give --key-file PATH or set {env_var}"),
            });
        }
    })
}

/// The RPC endpoint a command uses: `--rpc` if given, else the first of
/// `evm.rpc_urls`.
/// The deployment file every chain command starts from; missing, the error
/// says how to get one (or that a dev stack holds it).
pub(crate) fn read_deployment(config: &Config) -> Result<cairn_bindings::Deployment, CliError> {
    let path = config.deployment_path();
    if !path.exists() {
        return Err(CliError::no_deployment(path));
    }
    Ok(cairn_bindings::Deployment::read(&path)?)
}

/// The Cairn service a command talks to: `--service`, else the first of
/// `client.services`.
pub(crate) fn service_url(config: &Config, flag: Option<&str>) -> Result<url::Url, CliError> {
    match flag {
        Some(text) => text.parse().map_err(|_| CliError::BadArgument {
            flag: "--service",
            message: format!("`{text}` is not a URL"),
        }),
        None => config.client.services.first().cloned().ok_or_else(|| CliError::BadArgument {
            flag: "--service",
            message: "no service: give --service or set client.services".into(),
        }),
    }
}

pub(crate) fn rpc_url(config: &Config, flag: Option<&str>) -> Result<url::Url, CliError> {
    match flag {
        Some(text) => text.parse().map_err(|_| CliError::BadArgument {
            flag: "--rpc",
            message: format!("`{text}` is not a URL"),
        }),
        // Commands send requests one at a time: the first HTTP endpoint
        // serves them (WebSocket ones are for the indexer's subscriptions).
        None => config
            .evm
            .rpc_urls
            .iter()
            .find(|url| matches!(url.scheme(), "http" | "https"))
            .cloned()
            .ok_or_else(|| CliError::BadArgument {
                flag: "--rpc",
                message: "no http(s) RPC URL: give --rpc or add one to evm.rpc_urls".into(),
            }),
    }
}

fn block_on<F: std::future::Future>(future: F) -> Result<F::Output, CliError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(CliError::Runtime)?;
    Ok(runtime.block_on(future))
}

/// An explicit path is used as given (and must exist); otherwise
/// `./cairn.toml` is used only where it exists.
fn resolve_config_file(explicit: Option<&Path>) -> Option<PathBuf> {
    match explicit {
        Some(path) => Some(path.to_owned()),
        None => {
            let default = PathBuf::from(DEFAULT_CONFIG_FILE);
            default.is_file().then_some(default)
        }
    }
}

fn init_tracing(config: &Config) -> Result<(), CliError> {
    let filter = tracing_subscriber::EnvFilter::try_new(&config.log.filter)
        .map_err(|err| CliError::LogFilter { message: err.to_string() })?;
    // Colour only for a person at a terminal: log files and pipes get plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi);
    // A second initialisation (tests calling `run` twice) keeps the first.
    let _ = match config.log.format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
    Ok(())
}
