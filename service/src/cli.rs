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
    /// Not yet available in this build: run `scripts/dev` from the repository instead.
    Dev,
    /// Run the HTTP service: sign-in, discovery, gateway and settlement API.
    Serve,
    /// Follow the registry and settlement contracts into the store.
    Index(IndexArgs),
    /// Deploy the Cairn contracts.
    #[command(subcommand)]
    Deploy(DeployCommand),
    /// Register and operate a provider.
    #[command(subcommand)]
    Provider(ProviderCommand),
    /// Pay for services: deposit into the settlement vault, withdraw, sign intents.
    #[command(subcommand)]
    Pay(PayCommand),
    /// List the ranked endpoints serving a chain.
    Discover(DiscoverArgs),
    /// Sign in with an Ethereum key (SIWE) and print a session token.
    Login(LoginArgs),
    /// Check a settled batch against its Arweave receipt and the chain.
    VerifyBatch(VerifyBatchArgs),
    /// Check evidence records against providers, offline.
    #[command(subcommand)]
    Evidence(EvidenceCommand),
    /// Follow the slashing pipeline: evidence, receipts, orders, transactions.
    #[command(subcommand)]
    Slash(SlashCommand),
    /// Inspect the configuration this command line resolves to.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Look after the store: back up the embedded SQLite file.
    #[command(subcommand)]
    Store(StoreCommand),
    /// Threshold ECDSA: set up a t-of-n group, run a party, generate the key, sign typed requests.
    #[command(subcommand)]
    Signer(SignerCommand),
}

#[derive(Debug, Subcommand)]
pub enum SignerCommand {
    /// Write identity keys and configs for a t-of-n group of parties on loopback.
    Init(SignerInitArgs),
    /// Run one party: hold its share, check requests against its policy, sign with the others.
    Party(SignerPartyArgs),
    /// Distributed key generation between the running parties (no dealer); prints and writes the group key.
    Keygen(SignerKeygenArgs),
    /// Ask the parties to sign a typed request (JSON file); prints the signature.
    Sign(SignerSignArgs),
}

#[derive(Debug, Args)]
pub struct SignerInitArgs {
    /// Directory for the group's files (identity keys, party-<i>.toml, group.toml).
    #[arg(long, value_name = "DIR")]
    pub dir: PathBuf,
    /// Number of parties.
    #[arg(long, default_value_t = 3)]
    pub parties: u16,
    /// How many parties must sign.
    #[arg(long, default_value_t = 2)]
    pub threshold: u16,
    /// Party i listens on 127.0.0.1:(base-port + i).
    #[arg(long, default_value_t = 7400)]
    pub base_port: u16,
    /// Directory with pregenerated primes-<i>.json for keygen (copied, mode 600).
    #[arg(long, value_name = "DIR")]
    pub primes_dir: Option<PathBuf>,
    /// Session timeout in milliseconds.
    #[arg(long, default_value_t = 20_000)]
    pub session_timeout_ms: u64,
}

#[derive(Debug, Args)]
pub struct SignerPartyArgs {
    /// The party's config (TOML), as `cairn signer init` writes it.
    #[arg(value_name = "PARTY_TOML")]
    pub party: PathBuf,
}

#[derive(Debug, Args)]
pub struct SignerKeygenArgs {
    /// The group config (group.toml).
    #[arg(long, value_name = "PATH")]
    pub group: PathBuf,
    /// Where to write the group key (JSON: public key, address, t, n).
    #[arg(long, value_name = "PATH")]
    pub out: PathBuf,
}

#[derive(Debug, Args)]
pub struct SignerSignArgs {
    /// The group config (group.toml).
    #[arg(long, value_name = "PATH")]
    pub group: PathBuf,
    /// The group key written by keygen.
    #[arg(long, value_name = "PATH")]
    pub group_key: PathBuf,
    /// The typed request (JSON: `{"slash": {...}}` or `{"batch_commitment": {...}}`).
    #[arg(long, value_name = "PATH")]
    pub request: PathBuf,
}

#[derive(Debug, Subcommand)]
pub enum DeployCommand {
    /// Deploy Registry and Settlement to an EVM chain and write the deployment file.
    Evm(Box<DeployEvmArgs>),
}

/// The deployer's key comes from `--key-file` or `CAIRN_DEPLOYER_KEY`, never
/// from a flag's value, so it stays out of shell history and process lists.
#[derive(Debug, Args)]
pub struct DeployEvmArgs {
    /// JSON-RPC endpoint; defaults to the first of `evm.rpc_urls`.
    #[arg(long, value_name = "URL")]
    pub rpc: Option<String>,
    /// File holding the deployer's private key in hex (mode 600).
    #[arg(long, value_name = "PATH")]
    pub key_file: Option<PathBuf>,
    /// ERC-20 used for stake and settlement.
    #[arg(long, value_name = "ADDRESS", conflicts_with = "dev_token")]
    pub stake_token: Option<String>,
    /// Deploy a freely mintable DevToken as the stake token (local chains only).
    #[arg(long)]
    pub dev_token: bool,
    /// Least stake a provider must hold, in the token's smallest unit.
    #[arg(long, default_value = "100000000000000000000", value_name = "AMOUNT")]
    pub min_stake: u128,
    /// Seconds between unbond and withdraw.
    #[arg(long, default_value_t = 7 * 24 * 3600, value_name = "SECONDS")]
    pub unbonding_period: u64,
    /// Most endpoints one provider may register.
    #[arg(long, default_value_t = 32, value_name = "N")]
    pub max_services: u32,
    /// Owner of both contracts (default: the deployer).
    #[arg(long, value_name = "ADDRESS")]
    pub owner: Option<String>,
    /// Address whose signatures slash (default: the deployer).
    #[arg(long, value_name = "ADDRESS")]
    pub slasher: Option<String>,
    /// Receiver of slashed stake (default: the owner).
    #[arg(long, value_name = "ADDRESS")]
    pub treasury: Option<String>,
    /// Address whose signatures settle batches (default: the deployer).
    #[arg(long, value_name = "ADDRESS")]
    pub settlement_signer: Option<String>,
    /// Seconds a payer's withdrawal waits.
    #[arg(long, default_value_t = 24 * 3600, value_name = "SECONDS")]
    pub withdrawal_delay: u64,
    /// Further ERC-20 the vault settles (repeatable).
    #[arg(long = "extra-asset", value_name = "ADDRESS")]
    pub extra_assets: Vec<String>,
    /// Where to write the deployment file (default: `evm.deployment_file` in `data_dir`).
    #[arg(long, value_name = "PATH")]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum ProviderCommand {
    /// Stake and register as a provider (approves the stake token first if needed).
    Register(RegisterArgs),
    /// Add a service endpoint to a registration (as its operator).
    AddEndpoint(AddEndpointArgs),
    /// Remove one of a registration's endpoints (as its operator).
    RemoveEndpoint(RemoveEndpointArgs),
    /// Start the unbonding delay for part or all of your stake.
    Unbond(UnbondArgs),
    /// Withdraw stake whose unbonding delay has passed.
    Withdraw(ChainKeyArgs),
    /// Run the signing proxy in front of your node: forwards JSON-RPC, signs every answer.
    Serve(Box<ProviderServeArgs>),
}

/// The operator key signs every answer. It comes from `--key-file` or
/// `CAIRN_PROVIDER_KEY`, never from a flag's value.
#[derive(Debug, Args)]
pub struct ProviderServeArgs {
    /// The node's JSON-RPC endpoint (http or https).
    #[arg(long, value_name = "URL")]
    pub upstream: url::Url,
    /// The node's WebSocket endpoint (ws or wss), if it has one: clients' WebSockets
    /// (`eth_subscribe`) are passed through to it.
    #[arg(long, value_name = "URL")]
    pub upstream_ws: Option<url::Url>,
    /// Address to listen on (loopback by default; a public endpoint needs e.g. 0.0.0.0:8645).
    #[arg(long, value_name = "ADDR", default_value_t = cairn_sidecar::DEFAULT_LISTEN)]
    pub listen: std::net::SocketAddr,
    /// CAIP-2 chain the node must serve, for example `eip155:1`; startup refuses a node on another.
    #[arg(long, value_name = "CAIP-2")]
    pub chain: cairn_core::ChainId,
    /// File holding the operator's private key in hex (mode 600).
    #[arg(long, value_name = "PATH")]
    pub key_file: Option<PathBuf>,
    /// Largest request body accepted, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = cairn_sidecar::DEFAULT_MAX_REQUEST_BYTES)]
    pub max_request_bytes: usize,
    /// Largest node answer relayed, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = cairn_sidecar::DEFAULT_MAX_RESPONSE_BYTES)]
    pub max_response_bytes: usize,
    /// Most calls in one batch.
    #[arg(long, value_name = "N", default_value_t = cairn_sidecar::DEFAULT_MAX_BATCH)]
    pub max_batch: usize,
    /// How long the node may take to answer, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = cairn_sidecar::DEFAULT_UPSTREAM_TIMEOUT.as_millis() as u64)]
    pub upstream_timeout_ms: u64,
    /// How often the node's tip is read, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = cairn_sidecar::DEFAULT_TIP_POLL_INTERVAL.as_millis() as u64)]
    pub tip_poll_ms: u64,
}

/// The key signs transactions. It comes from `--key-file` or
/// `CAIRN_PROVIDER_KEY`, never from a flag's value.
#[derive(Debug, Args)]
pub struct ChainKeyArgs {
    /// File holding the private key in hex (mode 600).
    #[arg(long, value_name = "PATH")]
    pub key_file: Option<PathBuf>,
    /// JSON-RPC endpoint; defaults to the first of `evm.rpc_urls`.
    #[arg(long, value_name = "URL")]
    pub rpc: Option<String>,
}

#[derive(Debug, Args)]
pub struct RegisterArgs {
    #[command(flatten)]
    pub chain: ChainKeyArgs,
    /// Stake to bond, in the stake token's smallest unit; at least the registry minimum.
    #[arg(long, value_name = "AMOUNT")]
    pub stake: u128,
    /// Address allowed to manage endpoints (default: the key's own address).
    #[arg(long, value_name = "ADDRESS")]
    pub operator: Option<String>,
}

#[derive(Debug, Args)]
pub struct AddEndpointArgs {
    #[command(flatten)]
    pub chain: ChainKeyArgs,
    /// Provider the endpoint belongs to (default: the key's own address).
    #[arg(long, value_name = "ADDRESS")]
    pub provider: Option<String>,
    /// CAIP-2 chain the endpoint serves, for example `eip155:1`.
    #[arg(long = "chain", value_name = "CAIP-2")]
    pub service_chain: String,
    /// Kind of service: lowercase letters, digits and `-`.
    #[arg(long, default_value = "rpc")]
    pub kind: String,
    /// The endpoint: http(s):// or ws(s)://.
    #[arg(long)]
    pub url: String,
    /// Hash of off-chain metadata describing the endpoint (32 bytes hex).
    #[arg(long, value_name = "HASH")]
    pub metadata_hash: Option<String>,
}

#[derive(Debug, Args)]
pub struct RemoveEndpointArgs {
    #[command(flatten)]
    pub chain: ChainKeyArgs,
    /// Provider the endpoint belongs to (default: the key's own address).
    #[arg(long, value_name = "ADDRESS")]
    pub provider: Option<String>,
    /// The endpoint's service id, as `add-endpoint` printed it.
    #[arg(long, value_name = "HASH")]
    pub service_id: String,
}

#[derive(Debug, Args)]
pub struct UnbondArgs {
    #[command(flatten)]
    pub chain: ChainKeyArgs,
    /// Amount to unbond, in the stake token's smallest unit.
    #[arg(long, value_name = "AMOUNT")]
    pub amount: u128,
}

#[derive(Debug, Subcommand)]
pub enum PayCommand {
    /// Deposit into the settlement vault (approves the asset first if needed).
    Deposit(PayAmountArgs),
    /// Ask to withdraw part of a deposit, or complete a withdrawal whose delay has passed.
    Withdraw(PayWithdrawArgs),
    /// Show a deposit on chain: balance and any pending withdrawal.
    Balance(PayBalanceArgs),
    /// Sign a payment intent and submit it to a Cairn service.
    Intent(PayIntentArgs),
    /// Pay for metered RPC: one intent per provider the signed-in wallet still owes (GET /v1/usage).
    Usage(PayUsageArgs),
}

/// The payer's key comes from `--key-file` or `CAIRN_PAYER_KEY`, never from
/// a flag's value.
#[derive(Debug, Args)]
pub struct PayKeyArgs {
    /// File holding the payer's private key in hex (mode 600).
    #[arg(long, value_name = "PATH")]
    pub key_file: Option<PathBuf>,
    /// JSON-RPC endpoint; defaults to the first of `evm.rpc_urls`.
    #[arg(long, value_name = "URL")]
    pub rpc: Option<String>,
    /// Settlement asset (ERC-20); defaults to the deployment's stake token.
    #[arg(long, value_name = "ADDRESS")]
    pub asset: Option<String>,
}

#[derive(Debug, Args)]
pub struct PayAmountArgs {
    #[command(flatten)]
    pub key: PayKeyArgs,
    /// Amount in the asset's smallest unit (decimal or 0x hex).
    #[arg(long, value_name = "AMOUNT")]
    pub amount: alloy::primitives::U256,
}

#[derive(Debug, Args)]
pub struct PayWithdrawArgs {
    #[command(flatten)]
    pub key: PayKeyArgs,
    /// Amount to set aside for withdrawal; it leaves after the contract's withdrawal delay.
    #[arg(
        long,
        value_name = "AMOUNT",
        required_unless_present = "complete",
        conflicts_with = "complete"
    )]
    pub amount: Option<alloy::primitives::U256>,
    /// Complete the pending withdrawal once its delay has passed.
    #[arg(long)]
    pub complete: bool,
}

#[derive(Debug, Args)]
pub struct PayBalanceArgs {
    #[command(flatten)]
    pub key: PayKeyArgs,
    /// Account to show; defaults to the key's address (then no key is needed).
    #[arg(long, value_name = "ADDRESS")]
    pub account: Option<String>,
}

#[derive(Debug, Args)]
pub struct PayIntentArgs {
    #[command(flatten)]
    pub key: PayKeyArgs,
    /// Who is paid.
    #[arg(long, value_name = "ADDRESS")]
    pub to: String,
    /// Amount in the asset's smallest unit (decimal or 0x hex).
    #[arg(long, value_name = "AMOUNT")]
    pub amount: alloy::primitives::U256,
    /// Intent nonce, used once per payer; default: a random 64-bit number.
    #[arg(long, value_name = "N")]
    pub nonce: Option<alloy::primitives::U256>,
    /// Seconds the intent stays valid.
    #[arg(long, default_value_t = 3600, value_name = "SECONDS")]
    pub valid_for: u64,
    /// Cairn service to submit to; default: the first of `client.services`.
    #[arg(long, value_name = "URL")]
    pub service: Option<String>,
}

/// The session token comes from `--token-file` or `CAIRN_SESSION_TOKEN`
/// (what `cairn login` prints), never from a flag's value.
#[derive(Debug, Args)]
pub struct PayUsageArgs {
    /// File holding the payer's private key in hex (mode 600); else `CAIRN_PAYER_KEY`. It must be
    /// the signed-in wallet's.
    #[arg(long, value_name = "PATH")]
    pub key_file: Option<PathBuf>,
    /// File holding the session token; else `CAIRN_SESSION_TOKEN`.
    #[arg(long, value_name = "PATH")]
    pub token_file: Option<PathBuf>,
    /// Seconds the intents stay valid.
    #[arg(long, default_value_t = 3600, value_name = "SECONDS")]
    pub valid_for: u64,
    /// Cairn service whose gateway metered the calls; default: the first of `client.services`.
    #[arg(long, value_name = "URL")]
    pub service: Option<String>,
}

#[derive(Debug, Args)]
pub struct LoginArgs {
    /// File holding the wallet's private key in hex (mode 600); else `CAIRN_LOGIN_KEY`.
    #[arg(long, value_name = "PATH")]
    pub key_file: Option<PathBuf>,
    /// Cairn service to sign in to (default: the first of `client.services`).
    #[arg(long, value_name = "URL")]
    pub service: Option<String>,
    /// Sign-in domain (default: the service URL's host and port).
    #[arg(long)]
    pub domain: Option<String>,
}

#[derive(Debug, Args)]
pub struct IndexArgs {
    /// Catch up with the chain head, then exit (instead of following it).
    #[arg(long)]
    pub once: bool,
}

#[derive(Debug, Args)]
pub struct DiscoverArgs {
    /// Chain as CAIP-2, for example `eip155:1`.
    pub chain: String,
    /// Kind of service.
    #[arg(long, default_value = "rpc")]
    pub kind: String,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct VerifyBatchArgs {
    /// Batch id.
    pub id: u64,
    /// Arweave gateway to read the receipt from (repeatable, tried in
    /// order); default: `arweave.gateways`.
    #[arg(long = "gateway", value_name = "URL")]
    pub gateways: Vec<url::Url>,
    /// JSON-RPC endpoint of the settlement chain; default: the first of
    /// `evm.rpc_urls`.
    #[arg(long, value_name = "URL")]
    pub rpc: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum EvidenceCommand {
    /// Rebuild every signed answer's bytes, recover each operator and print the verdict.
    Verify(EvidenceVerifyArgs),
}

#[derive(Debug, Args)]
pub struct EvidenceVerifyArgs {
    /// The record as JSON (as `GET /v1/evidence/{hash}` serves it).
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
}

#[derive(Debug, Subcommand)]
pub enum SlashCommand {
    /// List the slash orders a Cairn service pursues and the stage each has reached.
    Status(SlashStatusArgs),
}

#[derive(Debug, Args)]
pub struct SlashStatusArgs {
    /// Cairn service to ask; default: the first of `client.services`.
    #[arg(long, value_name = "URL")]
    pub service: Option<url::Url>,
    /// Only the orders against this provider.
    #[arg(long, value_name = "ADDRESS")]
    pub provider: Option<String>,
    /// Print the service's JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print the effective configuration as TOML (defaults, file and environment merged).
    Show,
    /// Load and validate the configuration; print where it came from.
    Check,
}

#[derive(Debug, Subcommand)]
pub enum StoreCommand {
    /// Write a consistent copy of the embedded SQLite store while the service and indexer run.
    Backup(StoreBackupArgs),
}

#[derive(Debug, clap::Args)]
pub struct StoreBackupArgs {
    /// File to write the copy to; it must not exist yet.
    #[arg(long, value_name = "FILE")]
    pub out: std::path::PathBuf,
}

impl Command {
    /// The command as a user typed it, for messages.
    pub fn display_name(&self) -> &'static str {
        match self {
            Self::Dev => "cairn dev",
            Self::Serve => "cairn serve",
            Self::Index(_) => "cairn index",
            Self::Deploy(DeployCommand::Evm(_)) => "cairn deploy evm",
            Self::Provider(p) => match p {
                ProviderCommand::Register(_) => "cairn provider register",
                ProviderCommand::AddEndpoint(_) => "cairn provider add-endpoint",
                ProviderCommand::RemoveEndpoint(_) => "cairn provider remove-endpoint",
                ProviderCommand::Unbond(_) => "cairn provider unbond",
                ProviderCommand::Withdraw(_) => "cairn provider withdraw",
                ProviderCommand::Serve(_) => "cairn provider serve",
            },
            Self::Pay(p) => match p {
                PayCommand::Deposit(_) => "cairn pay deposit",
                PayCommand::Withdraw(_) => "cairn pay withdraw",
                PayCommand::Balance(_) => "cairn pay balance",
                PayCommand::Intent(_) => "cairn pay intent",
                PayCommand::Usage(_) => "cairn pay usage",
            },
            Self::Discover(_) => "cairn discover",
            Self::Login(_) => "cairn login",
            Self::VerifyBatch(_) => "cairn verify-batch",
            Self::Evidence(EvidenceCommand::Verify(_)) => "cairn evidence verify",
            Self::Slash(SlashCommand::Status(_)) => "cairn slash status",
            Self::Config(ConfigCommand::Show) => "cairn config show",
            Self::Config(ConfigCommand::Check) => "cairn config check",
            Self::Store(StoreCommand::Backup(_)) => "cairn store backup",
            Self::Signer(s) => match s {
                SignerCommand::Init(_) => "cairn signer init",
                SignerCommand::Party(_) => "cairn signer party",
                SignerCommand::Keygen(_) => "cairn signer keygen",
                SignerCommand::Sign(_) => "cairn signer sign",
            },
        }
    }
}
