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
}

impl Default for ServiceConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            request_timeout_ms: 10_000,
            max_body_bytes: 1024 * 1024,
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
