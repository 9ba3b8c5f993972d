//! The configuration tree. Every field has a default that points only at this
//! machine, so a process started with no file and no environment talks to
//! nothing beyond loopback.

use std::{net::SocketAddr, path::PathBuf};

use serde::{Deserialize, Serialize};
use url::Url;

use crate::parse;

/// Everything a Cairn process can be configured with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Where the embedded store, deployment files and local keys live.
    pub data_dir: PathBuf,
    pub log: LogConfig,
    pub service: ServiceConfig,
    pub store: StoreConfig,
    pub evm: EvmConfig,
    pub indexer: IndexerConfig,
    pub auth: AuthConfig,
    pub client: ClientConfig,
    pub settlement: SettlementConfig,
    pub arweave: ArweaveConfig,
    pub gateway: GatewayConfig,
    pub prober: ProberConfig,
    pub slashing: SlashingConfig,
    pub threshold: ThresholdConfig,
    pub icp: IcpConfig,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from(".cairn"),
            log: LogConfig::default(),
            service: ServiceConfig::default(),
            store: StoreConfig::default(),
            evm: EvmConfig::default(),
            indexer: IndexerConfig::default(),
            auth: AuthConfig::default(),
            client: ClientConfig::default(),
            settlement: SettlementConfig::default(),
            arweave: ArweaveConfig::default(),
            gateway: GatewayConfig::default(),
            prober: ProberConfig::default(),
            slashing: SlashingConfig::default(),
            threshold: ThresholdConfig::default(),
            icp: IcpConfig::default(),
        }
    }
}

/// How the indexer reads the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IndexerConfig {
    /// Largest block range asked of `eth_getLogs`; the range shrinks on
    /// "too many results" and timeouts and grows back on success.
    pub max_range_blocks: u64,
    /// Events one backfill range aims at; the range is sized from the event
    /// density of the last one, which bounds the indexer's memory.
    pub target_events_per_range: u64,
    /// Pause between polls once the indexer has caught up with the head.
    pub poll_interval_ms: u64,
    /// Upper bound on one RPC request.
    pub request_timeout_ms: u64,
    /// Attempts per request across the RPC URLs before giving up.
    pub rpc_attempts: u32,
    /// First retry delay; doubles per attempt up to `backoff_max_ms`.
    pub backoff_initial_ms: u64,
    pub backoff_max_ms: u64,
    /// Consecutive failures after which a URL is skipped for `breaker_cooldown_ms`.
    pub breaker_threshold: u32,
    pub breaker_cooldown_ms: u64,
    /// Check every log answer against the contracts' `stateEventCount` at the
    /// range's last block. Needs the node to serve state at that block (an
    /// archive node for old ranges); turn off only for nodes that cannot.
    pub verify_counts: bool,
    /// Where `cairn index` serves Prometheus metrics (`GET /metrics`).
    #[serde(deserialize_with = "parse::from_str")]
    pub metrics_listen: SocketAddr,
}

impl Default for IndexerConfig {
    fn default() -> Self {
        Self {
            max_range_blocks: 2_000,
            target_events_per_range: 5_000,
            poll_interval_ms: 1_000,
            request_timeout_ms: 10_000,
            rpc_attempts: 6,
            backoff_initial_ms: 200,
            backoff_max_ms: 10_000,
            breaker_threshold: 3,
            breaker_cooldown_ms: 30_000,
            verify_counts: true,
            metrics_listen: SocketAddr::from(([127, 0, 0, 1], 9101)),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per event, for log shippers.
    Json,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// A `tracing` filter directive such as `info,cairn_indexer=debug`.
    pub filter: String,
    pub format: LogFormat,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self { filter: "info".to_owned(), format: LogFormat::Text }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServiceConfig {
    /// Address the HTTP service binds to.
    #[serde(deserialize_with = "parse::from_str")]
    pub listen: SocketAddr,
    /// Upper bound on one request, headers to last byte of the answer.
    pub request_timeout_ms: u64,
    /// Largest request body accepted.
    pub max_body_bytes: u64,
    /// Origins browsers may call the API from (`https://app.example`), or
    /// `["*"]` for any. Empty: no CORS headers, so only same-origin pages.
    pub cors_allowed_origins: Vec<String>,
    /// Peers whose `X-Forwarded-For` is believed (load balancers, as IP
    /// addresses or CIDR blocks). From anyone else the header is ignored and
    /// the connection's address is the client's.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// How long a discovery answer may be served from memory before the
    /// store is read again.
    pub discovery_cache_ms: u64,
    /// How far back evidence recorded against a provider's operator
    /// lowers the reputation its endpoints rank by; older records no
    /// longer count (the slashes they led to do).
    pub evidence_window_secs: u64,
    pub rate_limit: RateLimitConfig,
}

impl Default for ServiceConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            request_timeout_ms: 10_000,
            max_body_bytes: 1024 * 1024,
            cors_allowed_origins: Vec::new(),
            trusted_proxies: Vec::new(),
            discovery_cache_ms: 1_000,
            evidence_window_secs: 7 * 24 * 3_600,
            rate_limit: RateLimitConfig::default(),
        }
    }
}

/// Token buckets: a client may make `burst` requests at once and
/// `per_second` on average. Signed-in wallets are limited per account,
/// everyone else per client address. 0 turns a limit off.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RateLimitConfig {
    pub anonymous_per_second: u32,
    pub anonymous_burst: u32,
    pub wallet_per_second: u32,
    pub wallet_burst: u32,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        Self {
            anonymous_per_second: 20,
            anonymous_burst: 100,
            wallet_per_second: 50,
            wallet_burst: 200,
        }
    }
}

/// Wallet sign-in (SIWE and SIWS) and sessions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    /// Sites that may ask wallets to sign in here: the domain a message
    /// names, and the URIs (prefixes) it may carry for that domain.
    pub domains: Vec<AuthDomain>,
    /// Statement put into the sign-in messages this service issues.
    pub statement: String,
    /// How long an issued nonce may be used.
    pub nonce_ttl_secs: u64,
    /// Tolerance for wallet clocks ahead of ours (`Issued At` in the future).
    pub max_clock_skew_secs: u64,
    pub session_ttl_secs: u64,
    /// File holding the session-signing secret (at least 32 bytes, mode
    /// 600). Unset: `session.key` in `data_dir`, created on first start.
    /// Replicas behind one load balancer must share it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_key_file: Option<PathBuf>,
    /// `iss` of session tokens.
    pub issuer: String,
    /// CAIP-2 chain Solana sign-ins name (`Chain ID` of SIWS messages).
    pub solana_chain: String,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            domains: vec![
                AuthDomain {
                    domain: "127.0.0.1:8080".to_owned(),
                    uris: vec!["http://127.0.0.1:8080/".to_owned()],
                },
                AuthDomain {
                    domain: "localhost:8080".to_owned(),
                    uris: vec!["http://localhost:8080/".to_owned()],
                },
            ],
            statement: "Sign in to Cairn.".to_owned(),
            nonce_ttl_secs: 600,
            max_clock_skew_secs: 60,
            session_ttl_secs: 24 * 3600,
            session_key_file: None,
            issuer: "cairn".to_owned(),
            solana_chain: "solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp".to_owned(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthDomain {
    pub domain: String,
    pub uris: Vec<String>,
}

/// How `cairn discover`, `cairn login` and the client crate find Cairn.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClientConfig {
    /// Cairn services asked, in order.
    pub services: Vec<url::Url>,
    /// How long resolved endpoints are reused.
    pub cache_ttl_ms: u64,
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            services: vec![url::Url::parse("http://127.0.0.1:8080/").expect("literal URL")],
            cache_ttl_ms: 30_000,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct StoreConfig {
    /// `sqlite://…` or `postgres://…`. Unset means a SQLite file inside
    /// `data_dir`, which is what a single machine wants.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EvmConfig {
    /// EIP-155 chain id the RPC endpoints must report.
    pub chain_id: u64,
    /// JSON-RPC endpoints, tried in order with failover.
    #[serde(deserialize_with = "parse::rpc_urls")]
    pub rpc_urls: Vec<Url>,
    /// Blocks behind the head after which a block is treated as final.
    pub finality_depth: u64,
    /// File the deployer writes contract addresses to; relative paths are
    /// inside `data_dir`.
    pub deployment_file: PathBuf,
}

impl Default for EvmConfig {
    fn default() -> Self {
        Self {
            chain_id: 31337,
            rpc_urls: vec![Url::parse("http://127.0.0.1:8545").expect("literal URL is valid")],
            finality_depth: 12,
            deployment_file: PathBuf::from("deployment.json"),
        }
    }
}

impl Config {
    /// Path of the deployment file with `data_dir` applied.
    pub fn deployment_path(&self) -> PathBuf {
        self.data_dir.join(&self.evm.deployment_file)
    }
}

/// The batcher `cairn serve` runs: when batches close and whether they
/// settle on chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SettlementConfig {
    /// Run the batcher in this process (it takes the batch leader role for
    /// the chain; other replicas wait).
    pub enabled: bool,
    /// Close once this many intents are waiting…
    pub max_intents: usize,
    /// …or once `window_seconds` have passed with at least `min_intents`.
    pub min_intents: usize,
    pub window_seconds: u64,
    /// …or when another intent might add more deltas than this: a batch
    /// never grows past what one `settleBatch` transaction settles.
    pub max_deltas: usize,
    /// Send `settleBatch`; off, batches stop once their receipt is stored.
    pub onchain: bool,
    /// Who signs batch commitments: `local` (`signer_key_file`),
    /// `threshold` (the `cairn signer party` processes of `[threshold]`) or
    /// `icp` (the registry canister of `[icp]`).
    /// It must be the contract's settlement signer.
    pub signer: SignerKind,
    /// Key that signs receipts (their ANS-104 owner), sends `settleBatch`
    /// and, with `signer = "local"`, signs commitments (hex, mode 600).
    /// Unset: `settlement.key` in `data_dir`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signer_key_file: Option<PathBuf>,
    /// Pause between batcher steps when there is nothing to do.
    pub tick_ms: u64,
    /// Seconds a settlement transaction may wait unmined before it is
    /// replaced at the same nonce with higher fees.
    pub bump_after_secs: u64,
    /// Percent added to both fees on such a replacement (nodes want ≥ 10).
    pub bump_percent: u64,
    /// A receipt whose JSON would be larger carries its batch's intents in
    /// a second Arweave item, named in the receipt by id and sha256.
    pub max_receipt_bytes: usize,
}

impl Default for SettlementConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            max_intents: 10_000,
            min_intents: 1,
            window_seconds: 60,
            max_deltas: 1_000,
            onchain: true,
            signer: SignerKind::Local,
            signer_key_file: None,
            tick_ms: 1_000,
            bump_after_secs: 60,
            bump_percent: 25,
            max_receipt_bytes: 4 * 1024 * 1024,
        }
    }
}

/// The slashing pipeline `cairn serve` runs: evidence the gateway stored
/// becomes an evidence receipt on Arweave, a signed `Slash` order and a
/// `Registry.slash` transaction (crates/slasher).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SlashingConfig {
    /// Run the pipeline in this process (it takes the slasher role for the
    /// chain; other replicas wait).
    pub enabled: bool,
    /// Who signs orders: `local` (one key, `key_file`), `threshold` (the
    /// `cairn signer party` processes of `[threshold]`) or `icp` (the
    /// registry canister of `[icp]`). It must be the registry's slasher.
    pub signer: SignerKind,
    /// Local slasher key (hex, mode 600). Unset: the settlement signer key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_file: Option<PathBuf>,
    /// Account that sends `Registry.slash` and pays its gas (hex key, mode
    /// 600). Unset: the settlement signer key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sender_key_file: Option<PathBuf>,
    /// Stake token base units taken per piece of evidence, by kind (decimal
    /// strings), capped at what the provider has at stake.
    pub conflicting_answers_amount: String,
    pub quorum_mismatch_amount: String,
    /// How long a signed order stays valid.
    pub deadline_secs: u64,
    /// At most one slash per provider within this window; later evidence is
    /// recorded as covered.
    pub provider_window_secs: u64,
    /// Pause before a failed step is tried again.
    pub retry_secs: u64,
    /// Pause between steps when nothing moved.
    pub tick_ms: u64,
}

/// Who signs slash orders or batch commitments.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignerKind {
    /// One key in this process.
    #[default]
    Local,
    /// A t-of-n group of `cairn signer party` processes (`[threshold]`).
    Threshold,
    /// The ICP registry canister's policy signer (`[icp]`), which signs with
    /// the subnet's threshold ECDSA key.
    Icp,
}

/// The ICP registry canister the service asks to sign, when
/// `slashing.signer` or `settlement.signer` is `icp`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IcpConfig {
    /// The replica or boundary node (`http://127.0.0.1:4943` for a local
    /// replica, `https://icp-api.io` for mainnet).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replica_url: Option<Url>,
    /// The registry canister's principal, as text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub canister_id: Option<String>,
    /// The service's secp256k1 identity (PEM, mode 600): the canister must
    /// list its principal among its signers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identity_file: Option<PathBuf>,
    /// Fetch the replica's root key at start: for a local replica only (on
    /// mainnet the key is built in, and fetching it would trust the network).
    pub fetch_root_key: bool,
    /// Upper bound on one canister call, an update's polling included.
    pub timeout_ms: u64,
}

impl Default for IcpConfig {
    fn default() -> Self {
        Self {
            replica_url: None,
            canister_id: None,
            identity_file: None,
            fetch_root_key: false,
            timeout_ms: 30_000,
        }
    }
}

/// The threshold signer group the service asks to sign, when
/// `slashing.signer` or `settlement.signer` is `threshold`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ThresholdConfig {
    /// The group (`group.toml` from `cairn signer init`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group_file: Option<PathBuf>,
    /// The group key `cairn signer keygen` wrote.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group_key_file: Option<PathBuf>,
}

impl Default for SlashingConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            signer: SignerKind::Local,
            key_file: None,
            sender_key_file: None,
            conflicting_answers_amount: "10000000000000000000".into(),
            quorum_mismatch_amount: "5000000000000000000".into(),
            deadline_secs: 600,
            provider_window_secs: 86_400,
            retry_secs: 5,
            tick_ms: 1_000,
        }
    }
}

/// Where batch receipts are stored: the uploader posts each through the
/// first gateway that takes it and counts it stored only once it reads
/// back. A batch settles on chain only after its receipt is stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ArweaveConfig {
    /// Bundling services with the Turbo-compatible upload API
    /// (`POST /v1/tx` with the raw data item), tried in order before any
    /// gateway, e.g. `https://upload.ardrive.io/`.
    pub bundlers: Vec<Url>,
    /// Arweave gateways, tried in order for what no bundler took, and read
    /// to confirm every upload (`http://127.0.0.1:1984/` for a local
    /// arlocal).
    pub gateways: Vec<Url>,
    /// JWK wallet (RSA) that signs and pays for the upload transactions;
    /// unset: `arweave-wallet.json` in `data_dir`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wallet_file: Option<PathBuf>,
    /// First retry delay after a failed upload; it doubles per attempt…
    pub initial_backoff_secs: u64,
    /// …up to this.
    pub max_backoff_secs: u64,
    /// Failed read-backs of a posted item before it is posted again.
    pub confirm_attempts: u64,
}

impl Default for ArweaveConfig {
    fn default() -> Self {
        Self {
            bundlers: Vec::new(),
            gateways: Vec::new(),
            wallet_file: None,
            initial_backoff_secs: 1,
            max_backoff_secs: 300,
            confirm_attempts: 30,
        }
    }
}

/// The JSON-RPC gateway `cairn serve` mounts at `/v1/rpc/{chain}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GatewayConfig {
    /// Mount the gateway at all.
    pub enabled: bool,
    /// Methods clients may call; anything else is refused (JSON-RPC -32601).
    pub allowed_methods: Vec<String>,
    /// Methods that change state: sent to `write_fanout` endpoints at once
    /// and never retried.
    pub write_methods: Vec<String>,
    /// Endpoints a write goes to at once.
    pub write_fanout: u32,
    /// Calls in one batch.
    pub max_batch: u32,
    /// Bytes in one request body.
    pub max_body_bytes: u64,
    /// Upper bound on one upstream attempt.
    pub attempt_timeout_ms: u64,
    /// Endpoints one read may be tried on (the first try included).
    pub max_attempts: u32,
    /// Retries allowed per 100 requests, over time (a budget, so a failing
    /// chain does not multiply its own load).
    pub retry_budget_percent: u32,
    /// Retries the budget holds in reserve for quiet periods.
    pub retry_budget_reserve: u32,
    /// Consecutive failures that open an endpoint's breaker.
    pub breaker_failures: u32,
    /// How long an open breaker refuses calls before one trial (half-open).
    pub breaker_open_ms: u64,
    pub hedging: HedgingConfig,
    pub quorum: QuorumConfig,
    /// Refuse answers without a valid `cairn-answer` signature from the
    /// endpoint's operator (a wrong signature is always refused).
    pub require_signed: bool,
    pub metering: MeteringConfig,
    pub pricing: PricingConfig,
}

impl Default for GatewayConfig {
    fn default() -> Self {
        let methods = [
            "eth_blockNumber",
            "eth_chainId",
            "net_version",
            "web3_clientVersion",
            "eth_syncing",
            "eth_gasPrice",
            "eth_maxPriorityFeePerGas",
            "eth_blobBaseFee",
            "eth_feeHistory",
            "eth_getBalance",
            "eth_getCode",
            "eth_getStorageAt",
            "eth_getTransactionCount",
            "eth_call",
            "eth_estimateGas",
            "eth_createAccessList",
            "eth_getBlockByNumber",
            "eth_getBlockByHash",
            "eth_getBlockReceipts",
            "eth_getBlockTransactionCountByNumber",
            "eth_getBlockTransactionCountByHash",
            "eth_getTransactionByHash",
            "eth_getTransactionByBlockNumberAndIndex",
            "eth_getTransactionByBlockHashAndIndex",
            "eth_getTransactionReceipt",
            "eth_getLogs",
            "eth_getProof",
            "eth_sendRawTransaction",
        ];
        Self {
            enabled: true,
            allowed_methods: methods.iter().map(|m| (*m).to_owned()).collect(),
            write_methods: vec!["eth_sendRawTransaction".to_owned()],
            write_fanout: 3,
            max_batch: 50,
            max_body_bytes: 512 * 1024,
            attempt_timeout_ms: 5_000,
            max_attempts: 3,
            retry_budget_percent: 20,
            retry_budget_reserve: 10,
            breaker_failures: 5,
            breaker_open_ms: 10_000,
            hedging: HedgingConfig::default(),
            quorum: QuorumConfig::default(),
            require_signed: false,
            metering: MeteringConfig::default(),
            pricing: PricingConfig::default(),
        }
    }
}

/// Counting what signed-in wallets call through the gateway: counts are
/// kept in memory and written to the store in batches, so an answer never
/// waits for the database.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MeteringConfig {
    pub enabled: bool,
    /// Pause between two writes of the counts gathered meanwhile.
    pub flush_ms: u64,
    /// Methods of the `heavy` class (priced as such); writes are the
    /// `write_methods`, everything else is `read`.
    pub heavy_methods: Vec<String>,
}

impl Default for MeteringConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            flush_ms: 1_000,
            heavy_methods: ["eth_call", "eth_estimateGas", "eth_getLogs"]
                .iter()
                .map(|m| (*m).to_owned())
                .collect(),
        }
    }
}

/// What one call of each method class costs, in the smallest unit of
/// `asset`, for `GET /v1/usage`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PricingConfig {
    /// ERC-20 contract calls are priced in (a settlement asset). Unset:
    /// the deployment's stake token.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub asset: Option<String>,
    pub read: u64,
    pub heavy: u64,
    pub write: u64,
}

impl Default for PricingConfig {
    fn default() -> Self {
        // For an 18-decimal token: a millionth of a token per read, five
        // per heavy call, twenty per transaction sent.
        Self {
            asset: None,
            read: 1_000_000_000_000,
            heavy: 5_000_000_000_000,
            write: 20_000_000_000_000,
        }
    }
}

/// A read still unanswered after the endpoint's observed p95 latency is
/// sent to a second endpoint too; the first answer wins.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HedgingConfig {
    pub enabled: bool,
    /// Answers an endpoint must have given before its p95 is trusted;
    /// until then `initial_delay_ms` is used.
    pub min_samples: u32,
    pub initial_delay_ms: u64,
    /// The hedge never fires sooner than this.
    pub min_delay_ms: u64,
}

impl Default for HedgingConfig {
    fn default() -> Self {
        Self { enabled: true, min_samples: 20, initial_delay_ms: 250, min_delay_ms: 5 }
    }
}

/// k-of-n agreement: calls to `methods` go to `n` endpoints of distinct
/// operators and are answered only with a response `k` of them agree on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct QuorumConfig {
    pub k: u32,
    pub n: u32,
    /// Method → response fields (object keys, at any depth) left out of the
    /// comparison, because honest nodes may answer them differently.
    pub methods: std::collections::BTreeMap<String, Vec<String>>,
}

impl Default for QuorumConfig {
    fn default() -> Self {
        let methods = ["eth_getBalance", "eth_call", "eth_getTransactionReceipt", "eth_getLogs"];
        Self {
            k: 2,
            n: 3,
            methods: methods.iter().map(|m| ((*m).to_owned(), Vec::new())).collect(),
        }
    }
}

/// The prober `cairn serve` runs: how often every active endpoint is
/// checked, and how its answers turn into a reputation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProberConfig {
    /// Run the prober in this process. Replicas sharing a store may all
    /// run it; their probes add up in one reputation per endpoint.
    pub enabled: bool,
    /// Pause between two rounds over every endpoint.
    pub interval_ms: u64,
    /// Each endpoint's probe in a round starts after a random delay of up
    /// to this much, so endpoints (and replicas) are not all asked at once.
    pub jitter_ms: u64,
    /// Upper bound on one probe request.
    pub timeout_ms: u64,
    /// Age at which a probe outcome counts half as much in the reputation
    /// score as one made now.
    pub half_life_secs: u64,
    /// Consecutive failed probes that put an endpoint on probation (ranked
    /// after every endpoint that is not).
    pub probation_after_failures: u64,
    /// Consecutive successful probes that take it off probation again.
    pub probation_exit_successes: u64,
    /// How many blocks below the best tip the cross-check compares block
    /// hashes between a chain's endpoints (0 compares the tip itself).
    pub cross_check_depth: u64,
    /// Probes in flight at once.
    pub max_concurrency: usize,
}

impl Default for ProberConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            interval_ms: 30_000,
            jitter_ms: 5_000,
            timeout_ms: 5_000,
            half_life_secs: 3_600,
            probation_after_failures: 3,
            probation_exit_successes: 5,
            cross_check_depth: 2,
            max_concurrency: 16,
        }
    }
}
